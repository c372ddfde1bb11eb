# A client that would edit the grader's own source so every check passes, or every
# classmate fails: it finds the grader from the launcher's path (its own command line) and
# its parent's working folder, and opens each .py file there for writing. It writes
# nothing (a file it could open, it could have changed: the count says so), so that a
# failure of containment in a test cannot break the checkout it runs from.
import os
import sys

folders = {os.path.dirname(os.path.abspath(sys.argv[0]))}
with open('/proc/self/cmdline', 'rb') as cmdline:
    for word in cmdline.read().split(b'\0'):
        if word.endswith(b'_launch.py'):
            folders.add(os.path.dirname(word.decode()))
try:
    cwd = os.readlink('/proc/%d/cwd' % os.getppid())
    folders.update({os.path.join(cwd, 'grader'), os.path.join(cwd, 'grader', 'checks')})
except OSError as error:
    print('cannot see the grader\'s folder: %s' % error, file=sys.stderr, flush=True)
edited = refused = 0
for folder in sorted(folders):
    try:
        names = os.listdir(folder)
    except OSError as error:
        print('cannot list %s: %s' % (folder, error), file=sys.stderr, flush=True)
        names = ['_launch.py', 'plugin.py', 'scoring.py', 'check_client.py']
    for name in names[:100]:
        path = os.path.join(folder, name)
        if not name.endswith('.py') or path == os.path.abspath(__file__):
            continue
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_APPEND))
            edited += 1
        except OSError:
            refused += 1
print('grader files it could edit: %d, refused: %d' % (edited, refused), file=sys.stderr,
      flush=True)
print('请输入聊天服务器IP', flush=True)
input()

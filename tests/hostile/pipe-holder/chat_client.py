# A client whose grandchild leaves the process group (setsid) and keeps the output pipes
# open for 100 s after the client itself has ended, so a reader waiting for their end
# would wait that long.
import os
import sys
import time

if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        print('holder %d keeps stdout and stderr open' % os.getpid(), flush=True)
        time.sleep(100)
    os._exit(0)
os.wait()
print('client gone, its pipes still held', file=sys.stderr, flush=True)

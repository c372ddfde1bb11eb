# A client that starts processes in a loop before doing anything else (bounded at 3000),
# saying how far it got every 64 children.
import os
import time

children = 0
for _ in range(3000):
    try:
        pid = os.fork()
    except OSError as error:
        print('fork failed after %d children: %s' % (children, error), flush=True)
        break
    if pid == 0:
        time.sleep(30)
        os._exit(0)
    children += 1
    if children % 64 == 0:
        print('%d children so far' % children, flush=True)
print('请输入聊天服务器IP', flush=True)
input()

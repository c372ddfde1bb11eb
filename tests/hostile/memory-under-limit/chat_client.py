# A client that holds (touches) memory just under the per-process address-space limit
# of the hardened run (1 GiB), then asks for more, then waits at the prompt.
import sys

MIB = 1024 * 1024
held = bytearray(768 * MIB)
for offset in range(0, len(held), 4096):
    held[offset] = 1
print('holding %d MiB' % (len(held) // MIB), file=sys.stderr, flush=True)
try:
    more = bytearray(512 * MIB)
    print('got 512 MiB more', file=sys.stderr, flush=True)
except MemoryError:
    print('MemoryError: no 512 MiB more', file=sys.stderr, flush=True)
print('请输入聊天服务器IP', flush=True)
input()

# A client that allocates 4 GiB before asking anything.
block = bytearray(4 * 1024 ** 3)
print('请输入聊天服务器IP', flush=True)
input()

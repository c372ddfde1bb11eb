# A client that writes a 1 GiB file beside itself before asking anything.
chunk = b'x' * (1024 * 1024)
with open('big.bin', 'wb') as big:
    for _ in range(1024):
        big.write(chunk)
print('请输入聊天服务器IP', flush=True)
input()

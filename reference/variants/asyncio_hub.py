# -*- coding: utf-8 -*-
"""聊天室服务器 (hub 模式), asyncio 版 / the chat-room server (hub mode) on asyncio

和 reference/chat_server.py 的 hub 模式界面完全一样 (同样的提示、同样的输出、同样的转发格式), 但每个客户端
不是一个线程, 而是一个协程 (coroutine): 所有协程都在同一个线程的事件循环 (event loop) 里轮流运行。
The same interface as the hub mode of reference/chat_server.py (same prompts, same output, same
relay format), but each client is served by a coroutine instead of a thread: every coroutine
takes turns on one event loop, in one thread.

运行 / run:  python reference/variants/asyncio_hub.py
只有 hub 模式: 选 p2p 时它会说明并退出 (p2p 请用 chat_server.py 或 selectors_server.py)。
Hub mode only: choosing p2p says so and exits (for p2p use chat_server.py or selectors_server.py).

和线程版本对照 / side by side with the threaded version
--------------------------------------------------------
::

    线程版 / threads                          asyncio
    threading.Thread(target=hub_msg_process)  asyncio.start_server(hub_msg_process, ...): 每个连接一个协程 / a coroutine per connection
    conn.recv(1024)  (阻塞这个线程 / blocks the thread)   await reader.read(1024)  (让出事件循环 / yields to the loop)
    conn.sendall(data)  (可能阻塞 / may block) writer.write(data)  (从不阻塞, 放进缓冲区 / never blocks: buffered)
    threading.Lock 保护 ip_client / guards it   不需要锁 / no lock needed

为什么不需要锁: 协程只在 await 处切换。hub_broadcast 和 hub_close_client 里没有 await, 所以转发一条消息
的过程中不会有别的协程插进来改 ip_client; writer.write() 一次把整条消息放进缓冲区, 两条消息的字节不会交错。
Why no lock: coroutines switch only at an await. hub_broadcast and hub_close_client contain no
await, so no other coroutine can change ip_client while a message is being relayed; and
writer.write() puts a whole message into the buffer in one step, so two messages never interleave.

不读数据的客户端 / clients that stop reading
--------------------------------------------
write() 从不阻塞: 内核收不下的字节留在这个连接的缓冲区里。缓冲区超过 OUT_BUFFER_LIMIT (和教师用的 hub
服务器一样 1 MiB) 的客户端已经不读了: 断开它, 像其他离开一样通知大家, 它不会拖住整个聊天室, 也不会吃光内存。
write() never blocks: what the kernel cannot take stays in the connection's buffer. A client whose
buffer goes over OUT_BUFFER_LIMIT (1 MiB, as the instructor's hub server) has stopped reading: it
is dropped and announced like any departure, so it neither stalls the room nor eats the memory.
"""
import asyncio
import codecs
import os
import signal
import socket
import sys

BUFFER_SIZE = 1024

#: 一个客户端的发送缓冲区最多这么多字节, 超过就断开它 / the most bytes one client's send buffer may hold before it is dropped
OUT_BUFFER_LIMIT = 1024 * 1024

#: 聊天室满了时, 新来的客户端读到这一行, 然后被断开 / what a newcomer reads when the room is full; then it is closed
ROOM_FULL = '聊天室已满(最多%d人), 请稍后再试'

#: 选了 p2p 时的说明 / what choosing p2p says
HUB_ONLY = ('这个版本只有 hub 模式; p2p 模式请运行 reference/chat_server.py 或 reference/variants/selectors_server.py\n'
            'this variant runs hub mode only; for p2p mode run reference/chat_server.py '
            'or reference/variants/selectors_server.py')


class Server:
    def __init__(self):
        self.server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # 127.0.0.1 只有本机能连; 要让局域网里别的电脑连进来, 改成本机的局域网地址 (见 chat_server.py 的 get_ip)
        # 127.0.0.1 accepts this machine only; for the LAN use this machine's address (see get_ip in chat_server.py)
        self.ip = '127.0.0.1'
        print('服务器IP: %s' % self.ip)
        self.port = self.set_port()
        if os.name == 'posix':
            # 服务器刚退出时端口还处于 TIME_WAIT, 这一行让它能立刻重新启动 / lets the server restart at once while the port is in TIME_WAIT
            self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.server.bind((self.ip, self.port))
        except OSError as error:
            sys.exit('无法使用端口 %d (cannot use port %d): %s' % (self.port, self.port, error))
        self.mode = self.get_mode()
        if self.mode != 'hub':
            self.server.close()
            sys.exit(HUB_ONLY)
        # 事件循环要求非阻塞的socket; 它自己处理等待 (Ctrl-C 也能打断) / the loop needs a non-blocking socket; it does the waiting (Ctrl-C works)
        self.server.setblocking(False)
        self.max_clients = self.set_max_clients()
        self.server.listen(self.max_clients)  # 只是等待队列的长度, 不是人数上限 / only the queue length, not a cap on clients
        self.ip_client = {}  # 地址 → StreamWriter / address → StreamWriter

    def set_port(self):
        """询问监听端口 / ask for the port to listen on."""
        print('请输入聊天服务器端口')
        port = input().strip()
        while not (port.isdigit() and 0 < int(port) < 65536):
            print('端口应是1到65535之间的整数 (a port is a whole number from 1 to 65535)')
            print('请输入聊天服务器端口')
            port = input().strip()
        return int(port)

    def get_mode(self):
        """询问工作模式 / ask for the mode: p2p or hub."""
        print('请输入服务器工作模式(p2p,hub)')
        mode = input().strip().lower()
        while mode not in ('p2p', 'hub'):
            print('请输入 p2p 或 hub (type p2p or hub)')
            print('请输入服务器工作模式(p2p,hub)')
            mode = input().strip().lower()
        return mode

    def set_max_clients(self):
        """询问最多允许多少个客户端 / ask how many clients may be online at once."""
        print('请输入最大允许连接的客户端数量')
        count = input().strip()
        while not (count.isdigit() and int(count) > 0):
            print('请输入一个正整数 (type a whole number above 0)')
            print('请输入最大允许连接的客户端数量')
            count = input().strip()
        return int(count)

    def run(self):
        asyncio.run(self.start_hub_listen())

    async def start_hub_listen(self):
        """不断接受新客户端, 每个客户端一个协程 / keep accepting clients, one coroutine each."""
        print('等待客户端的连接...')
        hub = await asyncio.start_server(self.hub_msg_process, sock=self.server,
                                         backlog=self.max_clients)
        stop_on_ctrl_c()
        async with hub:
            await hub.serve_forever()

    async def hub_msg_process(self, reader, writer):
        """一个客户端的协程: 接收它的消息, 转发给其他所有客户端 (不发回给它自己)。
        One client's coroutine: receive its messages and relay them to every other client (never back to it)."""
        addr = writer.get_extra_info('peername')[:2]  # ('127.0.0.1', 51234), 和 accept() 给的一样 / as accept() gives it
        if len(self.ip_client) >= self.max_clients:
            print('%s被拒绝: 聊天室已满' % str(addr))
            writer.write((ROOM_FULL % self.max_clients).encode('utf-8'))
            writer.close()  # 先发完缓冲区, 再关闭 / flushes the buffer first, then closes
            return
        self.ip_client[addr] = writer
        print('%s已成功连接!' % str(addr))
        decoder = codecs.getincrementaldecoder('utf-8')(errors='replace')
        try:
            while True:
                try:
                    data = await reader.read(BUFFER_SIZE)
                except OSError:
                    data = b''  # 连接被重置 / the connection was reset
                text = decoder.decode(data)
                if not data or text.strip() == 'q':
                    break
                if text:
                    self.hub_broadcast('%s : %s' % (str(addr), text), sender=addr)
        except asyncio.CancelledError:
            # 服务器正在停止 (Ctrl-C): 所有人都要断开了, 不用再通知谁; 安静地结束 (Python 3.11 会把
            # 被取消的连接协程当成错误打印出来)
            # the server is stopping (Ctrl-C): everyone is being cut off, nobody to tell; end
            # quietly (Python 3.11 would print a cancelled connection coroutine as an error)
            writer.close()
            return
        self.hub_close_client(addr)

    def hub_broadcast(self, text, sender):
        """把一条消息发给除了发送者以外的所有客户端 / send one message to every client but its sender.

        这里没有 await: 循环中 ip_client 不会被别的协程改动 / no await here: no other coroutine changes ip_client meanwhile.
        """
        data = text.encode('utf-8')
        not_reading = []
        for addr, writer in self.ip_client.items():
            if addr == sender or writer.is_closing():
                continue  # 发给已经断开的连接没有意义 / nothing to send to a closed connection
            writer.write(data)  # 不阻塞 / never blocks
            if writer.transport.get_write_buffer_size() > OUT_BUFFER_LIMIT:
                not_reading.append(addr)
        for addr in not_reading:  # 循环结束后再断开, 字典才不会在循环中变化 / after the loop, so the dict never changes under it
            self.hub_close_client(addr, abort=True)

    def hub_close_client(self, addr, abort=False):
        """关闭一个客户端, 通知其他人它离开了 / close one client and tell the others it has left.

        调用两次也没关系: 第二次它已经不在字典里了 / safe to call twice: the second call finds it gone.
        abort: 丢掉还没发出的字节立刻断开 (它已经不读了) / drop the unsent bytes and cut at once (it stopped reading).
        """
        writer = self.ip_client.pop(addr, None)
        if writer is None:
            return
        if abort:
            writer.transport.abort()
        else:
            writer.close()  # 发完缓冲区里的再关闭, 对方看到连接结束 / flushes, then closes: the peer sees the end
        print('%s已经离开了' % str(addr))
        self.hub_broadcast('%s已经离开了' % str(addr), sender=addr)


def stop_on_ctrl_c():
    """Ctrl-C 时取消正在运行的主协程, 让服务器在两个事件之间干净地停下。
    On Ctrl-C, cancel the running main coroutine, so the server stops cleanly between two events.

    没有这一步时 (Python 3.9, 3.10), Ctrl-C 的 KeyboardInterrupt 会在任何地方抛出, 也可能在某个客户端的协程
    中间, 然后打印一段 "Task exception was never retrieved"。Windows 的事件循环不支持 add_signal_handler:
    那里 Ctrl-C 照常抛出 KeyboardInterrupt, main() 接住它。
    Without it (Python 3.9, 3.10) Ctrl-C raises KeyboardInterrupt wherever the program happens
    to be, possibly in the middle of a client's coroutine, which then prints "Task exception was
    never retrieved". Windows' event loops have no add_signal_handler: there Ctrl-C raises
    KeyboardInterrupt as usual, and main() catches it.
    """
    try:
        asyncio.get_running_loop().add_signal_handler(signal.SIGINT, asyncio.current_task().cancel)
    except (NotImplementedError, RuntimeError):
        pass  # Windows, 或不在主线程 / Windows, or not the main thread


def main():
    try:
        Server().run()
    except (KeyboardInterrupt, asyncio.CancelledError):  # Ctrl-C (见 stop_on_ctrl_c / see stop_on_ctrl_c)
        print('已中断 (interrupted)')
    return 0


if __name__ == '__main__':
    sys.exit(main())

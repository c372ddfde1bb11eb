# -*- coding: utf-8 -*-
"""聊天服务器 / the chat server

两种工作模式 / two modes:
  p2p  一对一: 和一个客户端互相发消息 / one to one: chat with a single client
  hub  聊天室: 把每个客户端的消息转发给其他所有客户端 / chat room: relay each client's messages to all the others
运行 python chat_server.py, 按提示输入端口、模式和最大客户端数量。
Run python chat_server.py and answer the prompts: port, mode, most clients.
"""
### Reference solution. skeleton/chat_server.py is generated from this file by
### `python -m reference.make_skeleton`: edit here, never in skeleton/.
### Lines starting with ### never reach the skeleton; each BEGIN/END SOLUTION block
### becomes a TODO block with the task and hints written at its top.
import codecs
import os
import socket
import sys
import threading

BUFFER_SIZE = 1024


class Server:
    def __init__(self):
        ### BEGIN SOLUTION
        ### TODO: 初始化服务器socket
        ###       create the server socket (IPv4, TCP)
        ### 提示1: 和客户端一样: socket.socket(socket.AF_INET, socket.SOCK_STREAM), 保存在 self.server 里
        ###        as in the client: socket.socket(socket.AF_INET, socket.SOCK_STREAM), kept in self.server
        ### PLACEHOLDER: self.server = None
        self.server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ### END SOLUTION
        # 127.0.0.1 只有本机能连; 要让局域网里别的电脑连进来, 改用下面注释掉的那一行
        # 127.0.0.1 accepts this machine only; to let other computers on the LAN in, use the line commented out below
        self.ip = '127.0.0.1'
        # self.ip = self.get_ip()
        print('服务器IP: %s' % self.ip)
        self.port = self.set_port()
        ### BEGIN SOLUTION
        ### TODO: 把socket绑定到 (self.ip, self.port)
        ###       bind the socket to (self.ip, self.port)
        ### 提示1: bind() 只有一个参数: 元组 (IP, 端口)
        ###        bind() takes a single argument: the tuple (ip, port)
        ### 提示2: 端口被占用时 bind 会抛出 OSError: 打印原因再退出, 不要让程序带着没绑定的socket继续运行
        ###        bind raises OSError when the port is busy: print why and exit; never go on with an unbound socket
        ### PLACEHOLDER: pass
        if os.name == 'posix':
            # 服务器刚退出时端口还处于 TIME_WAIT, 这一行让它能立刻重新启动 (在 Windows 上这个选项的含义不同, 不要用)
            # lets the server restart at once while the old port is in TIME_WAIT (it means something else on Windows)
            self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.server.bind((self.ip, self.port))
        except OSError as error:
            sys.exit('无法使用端口 %d (cannot use port %d): %s' % (self.port, self.port, error))
        ### END SOLUTION
        self.mode = self.get_mode()
        ### BEGIN SOLUTION
        ### TODO: 给监听socket设置超时
        ###       set a timeout on the listening socket
        ### 提示1: settimeout(秒数): accept() 最多等这么久, 然后抛出 socket.timeout; 在循环里接住它再接着等
        ###        settimeout(seconds): accept() waits at most that long, then raises socket.timeout; catch it in a loop and wait again
        ### 提示2: 这样在 Windows 上按 Ctrl-C 也能停下服务器 (一直阻塞的 accept() 收不到 Ctrl-C)
        ###        that lets Ctrl-C stop the server on Windows too (an accept() blocked for good never sees Ctrl-C)
        ### PLACEHOLDER: pass
        self.server.settimeout(0.5)
        ### END SOLUTION
        self.max_clients = self.set_max_clients()
        ### BEGIN SOLUTION
        ### TODO: 开始监听
        ###       start listening
        ### 提示1: listen(n) 的 n 只是等待 accept 的队列长度, 不是同时在线的客户端上限: 上限要自己数
        ###        the n of listen(n) only sizes the queue of connections waiting for accept, it does not cap how many clients are online: count them yourself
        ### PLACEHOLDER: pass
        self.server.listen(self.max_clients)
        ### END SOLUTION
        if self.mode == 'p2p':
            self.start_p2p_listen()
        else:
            self.ip_client = {}
            self.start_hub_listen()

    def get_ip(self):
        """本机在局域网中的IPv4地址 (找不到时是127.0.0.1) / this machine's LAN IPv4 address (127.0.0.1 if none)."""
        try:
            addresses = socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
        except OSError:
            return '127.0.0.1'
        for address in addresses:
            ip = address[4][0]
            if not ip.startswith('127.'):  # 有的系统把主机名解析成 127.0.1.1 / some systems map the hostname to 127.0.1.1
                return ip
        return '127.0.0.1'

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

    # ---------------------------------------------------------------- p2p: 一对一 / one to one
    def start_p2p_listen(self):
        """等一个客户端连进来, 然后启动收发线程 / wait for one client, then start the send and receive threads."""
        ### BEGIN SOLUTION
        ### TODO: 接受一个客户端的连接, 启动 p2p_send_msg 和 p2p_recv_msg 两个线程
        ###       accept one client, then start a p2p_send_msg thread and a p2p_recv_msg thread
        ### 提示1: 先打印 等待客户端的连接... ; accept() 返回 (新的socket, 对方地址)
        ###        print 等待客户端的连接... first; accept() returns (a new socket, the peer's address)
        ### 提示2: 监听socket设了超时, accept() 会抛出 socket.timeout: 在循环里接住它再接着等
        ###        the listening socket has a timeout, so accept() raises socket.timeout: catch it in a loop and wait again
        ### 提示3: 连上后打印 str(地址) + '已成功连接!', 例如 ('127.0.0.1', 51234)已成功连接!
        ###        once connected print str(address) + '已成功连接!', e.g. ('127.0.0.1', 51234)已成功连接!
        ### 提示4: 发送线程等键盘输入, 设为守护线程 (daemon=True); 接收线程不是守护线程, 它结束时聊天就结束了
        ###        the send thread waits for the keyboard: make it a daemon (daemon=True); the receive thread is not one: the chat ends when it does
        print('等待客户端的连接...')
        while True:
            try:
                conn, addr = self.server.accept()
                break
            except socket.timeout:
                continue
        conn.settimeout(None)  # 新连接不继承监听socket的超时 / the connection must block, not time out
        self.server.close()  # 一对一: 不再接受别的客户端 / one to one: nobody else gets in
        print('%s已成功连接!' % str(addr))
        threading.Thread(target=self.p2p_send_msg, args=(conn,), daemon=True).start()
        threading.Thread(target=self.p2p_recv_msg, args=(conn, addr)).start()
        ### END SOLUTION

    def p2p_send_msg(self, conn):
        """把键盘输入的每一行发给客户端 / send every line typed on the keyboard to the client."""
        ### BEGIN SOLUTION
        ### TODO: 循环读取键盘输入, 发送给客户端
        ###       loop: read a line from the keyboard and send it to the client
        ### 提示1: 和客户端的 send_msg 一样: input(), encode('utf-8'), sendall
        ###        as the client's send_msg: input(), encode('utf-8'), sendall
        ### 提示2: 客户端离开后连接已关闭, sendall 会抛出 OSError: 用 try/except 接住, 安静地结束
        ###        once the client has left the connection is closed and sendall raises OSError: catch it and end quietly
        while True:
            try:
                msg = input()
            except EOFError:
                break  # 键盘输入已结束; 接收线程继续工作 / no more keyboard input; receiving goes on
            if not msg:
                continue
            try:
                conn.sendall(msg.encode('utf-8'))
            except OSError:
                break
        ### END SOLUTION

    def p2p_recv_msg(self, conn, addr):
        """接收并打印客户端的消息, 直到它离开 / receive and print the client's messages until it leaves."""
        ### BEGIN SOLUTION
        ### TODO: 循环接收客户端的消息并打印; 客户端离开时结束
        ###       loop: receive the client's messages and print them; stop when the client leaves
        ### 提示1: 打印格式: str(地址) + ' : ' + 消息, 例如 ('127.0.0.1', 51234) : 你好
        ###        print str(address) + ' : ' + text, e.g. ('127.0.0.1', 51234) : 你好
        ### 提示2: 收到 q 表示客户端要离开; 收到 b'' 表示它已经断开了: 两种情况都打印 str(地址) + '已退出聊天', 关闭连接, 结束循环
        ###        q means the client is leaving; b'' means it has gone already: either way print str(address) + '已退出聊天', close the connection and leave the loop
        ### 提示3: 汉字可能被拆到两次 recv 里: 用 codecs.getincrementaldecoder('utf-8')() 解码
        ###        a Chinese character may be split over two recv calls: decode with codecs.getincrementaldecoder('utf-8')()
        decoder = codecs.getincrementaldecoder('utf-8')(errors='replace')
        while True:
            try:
                data = conn.recv(BUFFER_SIZE)
            except OSError:
                data = b''  # 连接被重置, 和断开一样处理 / a reset counts as a disconnect
            text = decoder.decode(data)
            if not data or text.strip() == 'q':
                break
            if text:
                print('%s : %s' % (str(addr), text))
        print('%s已退出聊天' % str(addr))
        try:
            conn.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # 对方可能已经断开 / the peer may be gone already
        conn.close()
        ### END SOLUTION

    # ---------------------------------------------------------------- hub: 聊天室 / chat room
    def start_hub_listen(self):
        """不断接受新客户端, 每个客户端一个线程 / keep accepting clients, one thread each."""
        ### BEGIN SOLUTION
        ### TODO: 循环接受客户端的连接, 记到 self.ip_client 里, 每个客户端启动一个 hub_msg_process 线程
        ###       loop: accept clients, store each in self.ip_client, start one hub_msg_process thread per client
        ### 提示1: self.ip_client[地址] = socket; 别的线程也会读写这个字典, 用一把锁 (threading.Lock) 保护它
        ###        self.ip_client[address] = socket; other threads read and change this dict too: guard it with a lock (threading.Lock)
        ### 提示2: 线程创建后要调用 .start(), 否则它永远不会运行
        ###        call .start() on the thread you create, or it never runs
        ### 提示3: 在线人数达到 self.max_clients 时, 告诉新来的客户端聊天室已满, 然后关闭它的连接
        ###        when self.max_clients are online, tell a newcomer the room is full, then close its connection
        self.lock = threading.RLock()
        print('等待客户端的连接...')
        while True:
            try:
                conn, addr = self.server.accept()
            except socket.timeout:
                continue
            conn.settimeout(None)
            with self.lock:
                room_full = len(self.ip_client) >= self.max_clients
                if not room_full:
                    self.ip_client[addr] = conn
            if room_full:
                print('%s被拒绝: 聊天室已满' % str(addr))
                try:
                    conn.sendall(('聊天室已满(最多%d人), 请稍后再试' % self.max_clients).encode('utf-8'))
                except OSError:
                    pass
                conn.close()
                continue
            print('%s已成功连接!' % str(addr))
            threading.Thread(target=self.hub_msg_process, args=(conn, addr), daemon=True).start()
        ### END SOLUTION

    ### BEGIN SOLUTION
    ### TODO: (可选) 写一个方法, 把一条消息发给除了发送者以外的所有客户端; hub_msg_process 和 hub_close_client 都要用它
    ###       (optional) a method that sends one message to every client but its sender; hub_msg_process and hub_close_client both need it
    ### 提示1: 别的线程随时可能增删客户端: 在锁里遍历 self.ip_client (或者先复制一份), 否则会出现 dictionary changed size during iteration
    ###        other threads add and remove clients at any moment: iterate self.ip_client under the lock (or over a copy), or you get "dictionary changed size during iteration"
    ### 提示2: 给一个已经离开的客户端发送会抛出 OSError: 接住它, 关掉那个客户端, 继续发给其他人
    ###        sending to a client that has left raises OSError: catch it, close that client, and go on with the others
    ### PLACEHOLDER:
    def hub_broadcast(self, text, sender):
        data = text.encode('utf-8')
        failed = []
        # 整个发送过程都持有锁: 两个线程同时 sendall 给同一个客户端, 两条消息的字节会交错在一起
        # the lock is held for the whole send: two threads sendall-ing to one client would interleave their bytes
        with self.lock:
            for addr, conn in list(self.ip_client.items()):
                if addr == sender:
                    continue
                try:
                    conn.sendall(data)
                except OSError:
                    failed.append(addr)
            for addr in failed:
                self.hub_close_client(addr)
    ### END SOLUTION

    def hub_msg_process(self, conn, addr):
        """接收一个客户端的消息, 转发给其他所有客户端 / receive one client's messages and relay them to all the others."""
        ### BEGIN SOLUTION
        ### TODO: 循环接收这个客户端的消息, 转发给其他所有客户端 (不要发回给它自己)
        ###       loop: receive this client's messages and relay them to every other client (never back to it)
        ### 提示1: 转发格式: str(地址) + ' : ' + 消息, 例如 ('127.0.0.1', 51234) : 大家好
        ###        relay as str(address) + ' : ' + text, e.g. ('127.0.0.1', 51234) : 大家好
        ### 提示2: 收到 q 或者 b'' (对方断开) 时调用 self.hub_close_client(addr), 然后结束循环; 只判断 q 会在对方断开后无限转发空消息
        ###        on q or b'' (the peer has gone) call self.hub_close_client(addr) and leave the loop; testing only for q relays empty messages forever once the peer is gone
        decoder = codecs.getincrementaldecoder('utf-8')(errors='replace')
        while True:
            try:
                data = conn.recv(BUFFER_SIZE)
            except OSError:
                data = b''  # 连接被重置或已被关闭 / the connection was reset or closed
            text = decoder.decode(data)
            if not data or text.strip() == 'q':
                break
            if text:
                self.hub_broadcast('%s : %s' % (str(addr), text), sender=addr)
        self.hub_close_client(addr)
        ### END SOLUTION

    def hub_close_client(self, addr):
        """关闭一个客户端, 通知其他人它离开了 / close one client and tell the others it has left."""
        ### BEGIN SOLUTION
        ### TODO: 关闭这个客户端的socket, 从 self.ip_client 里删掉它, 告诉其他客户端 str(地址) + '已经离开了'
        ###       close this client's socket, delete it from self.ip_client, tell the others str(address) + '已经离开了'
        ### 提示1: 用参数 addr, 不要用别的循环里留下来的变量: 否则会关掉或宣布错的客户端
        ###        use the addr argument, not a variable left over from some loop: that closes or announces the wrong client
        ### 提示2: 两个线程可能同时关同一个客户端 (发送失败和接收结束): 第二次调用时它已经不在字典里了, 什么都不用做
        ###        two threads may close the same client (a failed send, an ended receive): the second call finds it gone and does nothing
        with self.lock:
            conn = self.ip_client.pop(addr, None)
        if conn is None:
            return  # 已经被别的线程关掉了 / another thread closed it already
        try:
            conn.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        conn.close()
        print('%s已经离开了' % str(addr))
        self.hub_broadcast('%s已经离开了' % str(addr), sender=addr)
        ### END SOLUTION


def run_until_chat_ends(start):
    """运行 start(), 等聊天结束 (所有非守护线程都结束) 后结束进程。
    Run start(), wait until the chat is over (every non-daemon thread has ended), then end the process.

    读键盘的守护线程可能还卡在 input() 里, 没有可移植的办法唤醒它, 所以用 os._exit 结束进程。
    A daemon thread may still be blocked in input(); nothing portable wakes it, so os._exit ends the process.
    """
    # 控制台显示不了的字符 (例如 GBK 控制台里的表情符号) 打印成 ?, 接收线程不会因此崩溃
    # A character the console cannot show (an emoji on a GBK console) prints as ?: no thread crashes on it
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors='replace')
        except (AttributeError, ValueError):
            pass  # 不是普通的文本流 (例如被IDE替换了) / not a plain text stream (an IDE replaced it)
    status = 0
    try:
        start()
        for thread in threading.enumerate():
            while thread is not threading.current_thread() and not thread.daemon and thread.is_alive():
                thread.join(0.5)  # 分段等待, Ctrl-C 才能打断 / wait in slices so Ctrl-C can interrupt
    except NotImplementedError as todo:
        print('还有TODO没有完成 (unfinished TODO): %s' % todo, file=sys.stderr)
        status = 1
    except KeyboardInterrupt:
        print('已中断 (interrupted)')
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


if __name__ == '__main__':
    run_until_chat_ends(Server)

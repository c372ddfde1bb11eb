# -*- coding: utf-8 -*-
"""聊天服务器 / the chat server

两种工作模式 / two modes:
  p2p  一对一: 和一个客户端互相发消息 / one to one: chat with a single client
  hub  聊天室: 把每个客户端的消息转发给其他所有客户端 / chat room: relay each client's messages to all the others
运行 python chat_server.py, 按提示输入端口、模式和最大客户端数量。
Run python chat_server.py and answer the prompts: port, mode, most clients.
"""
import codecs
import os
import socket
import sys
import threading

BUFFER_SIZE = 1024


class Server:
    def __init__(self):
        self.server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # 127.0.0.1 只有本机能连; 要让局域网里别的电脑连进来, 改用下面注释掉的那一行
        # 127.0.0.1 accepts this machine only; to let other computers on the LAN in, use the line commented out below
        self.ip = '127.0.0.1'
        # self.ip = self.get_ip()
        print('服务器IP: %s' % self.ip)
        self.port = self.set_port()
        if os.name == 'posix':
            # 服务器刚退出时端口还处于 TIME_WAIT, 这一行让它能立刻重新启动 (在 Windows 上这个选项的含义不同, 不要用)
            # lets the server restart at once while the old port is in TIME_WAIT (it means something else on Windows)
            self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.server.bind((self.ip, self.port))
        except OSError as error:
            sys.exit('无法使用端口 %d (cannot use port %d): %s' % (self.port, self.port, error))
        self.mode = self.get_mode()
        self.server.settimeout(0.5)
        self.max_clients = self.set_max_clients()
        self.server.listen(self.max_clients)
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

    def p2p_send_msg(self, conn):
        """把键盘输入的每一行发给客户端 / send every line typed on the keyboard to the client."""
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

    def p2p_recv_msg(self, conn, addr):
        """接收并打印客户端的消息, 直到它离开 / receive and print the client's messages until it leaves."""
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

    # ---------------------------------------------------------------- hub: 聊天室 / chat room
    def start_hub_listen(self):
        """不断接受新客户端, 每个客户端一个线程 / keep accepting clients, one thread each."""
        self.lock = threading.RLock()
        print('等待客户端的连接...')
        while True:
            try:
                conn, addr = self.server.accept()
            except socket.timeout:
                continue
            conn.settimeout(None)
            with self.lock:
                self.online = getattr(self, 'online', 0)
                room_full = self.online >= self.max_clients
                if not room_full:
                    self.online += 1
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

    def hub_msg_process(self, conn, addr):
        """接收一个客户端的消息, 转发给其他所有客户端 / receive one client's messages and relay them to all the others."""
        decoder = codecs.getincrementaldecoder('utf-8')(errors='replace')
        while True:
            try:
                data = conn.recv(BUFFER_SIZE)
            except OSError:
                data = b''  # 连接被重置或已被关闭 / the connection was reset or closed
            text = decoder.decode(data)
            if text.strip() == 'q':
                with self.lock:
                    self.online -= 1
                break
            if not data:
                break
            if text:
                self.hub_broadcast('%s : %s' % (str(addr), text), sender=addr)
        self.hub_close_client(addr)

    def hub_close_client(self, addr):
        """关闭一个客户端, 通知其他人它离开了 / close one client and tell the others it has left."""
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

# -*- coding: utf-8 -*-
"""聊天客户端 / the chat client

运行 python chat_client.py, 按提示输入服务器的IP和端口, 然后就可以聊天了; 输入 q 离开。
Run python chat_client.py, type the server's IP and port when asked, then chat; type q to leave.
"""
### Reference solution. skeleton/chat_client.py is generated from this file by
### `python -m reference.make_skeleton`: edit here, never in skeleton/.
### Lines starting with ### never reach the skeleton; each BEGIN/END SOLUTION block
### becomes a TODO block with the task and hints written at its top.
import codecs
import os
import socket
import sys
import threading

BUFFER_SIZE = 1024


class Client:
    def __init__(self):
        ### BEGIN SOLUTION
        ### TODO: 初始化客户端socket
        ###       create the client socket (IPv4, TCP)
        ### 提示1: socket.socket() 的两个参数: 地址族 socket.AF_INET (IPv4) 和类型 socket.SOCK_STREAM (TCP)
        ###        socket.socket() takes a family, socket.AF_INET (IPv4), and a type, socket.SOCK_STREAM (TCP)
        ### 提示2: 把它保存在 self.client 里, 后面的方法都要用它
        ###        keep it in self.client: the other methods all use it
        ### PLACEHOLDER: self.client = None
        self.client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ### END SOLUTION
        self.ip, self.port = self.set_ip_port()

    def set_ip_port(self):
        """询问服务器的IP和端口 / ask for the server's IP and port."""
        print('请输入聊天服务器IP')
        ip = input().strip()
        print('请输入聊天服务器端口')
        port = input().strip()
        while not (port.isdigit() and 0 < int(port) < 65536):
            print('端口应是1到65535之间的整数 (a port is a whole number from 1 to 65535)')
            print('请输入聊天服务器端口')
            port = input().strip()
        return ip, int(port)

    def start_connection(self):
        """连接服务器, 然后启动发送线程和接收线程 / connect, then start the send and receive threads."""
        ### BEGIN SOLUTION
        ### TODO: 连接聊天服务器
        ###       connect to the chat server at (self.ip, self.port)
        ### 提示1: self.client.connect() 只有一个参数: 元组 (IP, 端口)
        ###        self.client.connect() takes a single argument: the tuple (ip, port)
        ### 提示2: 服务器没开时 connect 会抛出 OSError (例如 ConnectionRefusedError): 打印原因再退出
        ###        connect raises OSError (ConnectionRefusedError, say) when no server listens: print why, then exit
        try:
            self.client.connect((self.ip, self.port))
        except OSError as error:
            sys.exit('无法连接到 %s:%d (cannot connect): %s' % (self.ip, self.port, error))
        ### END SOLUTION
        print('与%s连接建立成功,可以开始聊天了!(输入q断开连接)' % self.ip)
        # 发送线程在 input() 里等键盘, 聊天结束时它可能还卡在那里, 所以设为守护线程, 不必等它结束
        # the send thread waits for the keyboard in input() and may still be there when the chat
        # ends, so it is a daemon thread: nobody waits for it
        threading.Thread(target=self.send_msg, daemon=True).start()
        threading.Thread(target=self.recv_msg).start()

    def send_msg(self):
        """把键盘输入的每一行发给服务器 / send every line typed on the keyboard to the server."""
        ### BEGIN SOLUTION
        ### TODO: 循环读取键盘输入, 发送给服务器
        ###       loop: read a line from the keyboard and send it to the server
        ### 提示1: input() 读一行; encode('utf-8') 把它变成字节, 再用 sendall 发送
        ###        input() reads one line; encode('utf-8') turns it into bytes for sendall
        ### 提示2: 输入 q 时: 先把 q 发出去, 再关闭socket, 然后结束循环
        ###        on q: send it first, then close the socket, then leave the loop
        ### 提示3: close() 之前先调用 shutdown(socket.SHUT_RDWR): 在 Linux 上 (和 Windows 不同) 只有这样才能唤醒卡在 recv() 里的接收线程
        ###        call shutdown(socket.SHUT_RDWR) before close(): on Linux (unlike Windows) only that wakes the receive thread blocked in recv()
        ### 提示4: 服务器先断开时 sendall 会抛出 OSError: 捕获它, 结束循环
        ###        once the server has gone, sendall raises OSError: catch it and leave the loop
        while True:
            try:
                msg = input()
            except EOFError:  # 键盘输入已结束 (Ctrl-D / Ctrl-Z): 当作 q / end of input counts as q
                msg = 'q'
            if not msg:
                continue  # 空行不发送: 没有内容的 send 对方什么也收不到 / an empty send delivers nothing
            try:
                self.client.sendall(msg.encode('utf-8'))
            except OSError:
                break
            if msg.strip() == 'q':
                try:
                    self.client.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass  # 服务器可能已经断开 / the server may have gone already
                self.client.close()
                break
        ### END SOLUTION

    def recv_msg(self):
        """接收并打印服务器发来的消息 / receive and print what the server sends."""
        ### BEGIN SOLUTION
        ### TODO: 循环接收服务器发来的消息并打印
        ###       loop: receive what the server sends and print it
        ### 提示1: recv(BUFFER_SIZE) 最多收 BUFFER_SIZE 字节; 收到 b'' 说明对方关闭了连接, 必须结束循环
        ###        recv(BUFFER_SIZE) returns at most BUFFER_SIZE bytes; b'' means the peer closed: leave the loop
        ### 提示2: 一个汉字是3个字节, 可能被拆到两次 recv 里: 用 codecs.getincrementaldecoder('utf-8')() 来解码
        ###        a Chinese character is 3 bytes and may be split over two recv calls: decode with codecs.getincrementaldecoder('utf-8')()
        ### 提示3: socket被关闭后 recv 会抛出 OSError: 用 try/except 接住它, 然后结束循环
        ###        recv raises OSError once the socket is closed: catch it with try/except and leave the loop
        ### 提示4: 循环结束后打印 聊天已结束
        ###        print 聊天已结束 after the loop
        decoder = codecs.getincrementaldecoder('utf-8')(errors='replace')
        while True:
            try:
                data = self.client.recv(BUFFER_SIZE)
            except OSError:
                break  # send_msg 关闭了socket / send_msg closed the socket
            if not data:
                break  # 服务器关闭了连接 / the server closed the connection
            text = decoder.decode(data)
            if text:
                print('[%s:%d] %s' % (self.ip, self.port, text))
        self.client.close()
        print('聊天已结束')
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
    run_until_chat_ends(lambda: Client().start_connection())

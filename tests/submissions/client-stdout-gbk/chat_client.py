# -*- coding: utf-8 -*-
"""聊天客户端 / the chat client

运行 python chat_client.py, 按提示输入服务器的IP和端口, 然后就可以聊天了; 输入 q 离开。
Run python chat_client.py, type the server's IP and port when asked, then chat; type q to leave.
"""
import codecs
import io
import os
import socket
import sys
import threading

BUFFER_SIZE = 1024
sys.stdout = io.TextIOWrapper(sys.stdout.buffer, encoding='gbk', errors='replace', line_buffering=True)


class Client:
    def __init__(self):
        self.client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
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
        try:
            self.client.connect((self.ip, self.port))
        except OSError as error:
            sys.exit('无法连接到 %s:%d (cannot connect): %s' % (self.ip, self.port, error))
        print('与%s连接建立成功,可以开始聊天了!(输入q断开连接)' % self.ip)
        # 发送线程在 input() 里等键盘, 聊天结束时它可能还卡在那里, 所以设为守护线程, 不必等它结束
        # the send thread waits for the keyboard in input() and may still be there when the chat
        # ends, so it is a daemon thread: nobody waits for it
        threading.Thread(target=self.send_msg, daemon=True).start()
        threading.Thread(target=self.recv_msg).start()

    def send_msg(self):
        """把键盘输入的每一行发给服务器 / send every line typed on the keyboard to the server."""
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

    def recv_msg(self):
        """接收并打印服务器发来的消息 / receive and print what the server sends."""
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

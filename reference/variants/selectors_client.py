# -*- coding: utf-8 -*-
"""聊天客户端, 单线程版: 用 selectors 同时等键盘和socket / the chat client in one thread, with selectors

和 reference/chat_client.py 的界面完全一样 (同样的提示、同样的输出、同样的协议), 但没有发送线程和接收线程:
一个选择器 (selector) 同时等待 "socket 可读/可写" 和 "键盘有输入", 哪个先就绪就处理哪个。
The same interface as reference/chat_client.py (same prompts, same output, same wire protocol),
but with no send thread and no receive thread: one selector waits for "the socket is readable /
writable" and "a line was typed" at once, and handles whichever comes first.

运行 / run:  python reference/variants/selectors_client.py

工作原理 / theory of operation
------------------------------
::

    Console  键盘输入 → 一行一行的文本 / keyboard input → lines of text
    Outbox   等着发出去的消息, 每条消息一次 send() / messages waiting to go, one send() each
    Client   提示, 连接, 然后是选择器循环 / prompts, connect, then the selector loop:

        while 还在聊天 / still chatting:
            for 就绪的事件 / each ready event in selector.select(SELECT_SLICE):
                socket 可读 / readable  → recv → 解码并打印 / decode and print (b'' → 聊天结束 / the end)
                socket 可写 / writable  → 把 Outbox 里剩下的发出去 / send what waits in the Outbox
                键盘有输入 / console    → 每一行放进 Outbox; q → 发完后关闭 / q → close once sent

socket 设为非阻塞 (setblocking(False)): 发不完的字节留在 Outbox 里, 等选择器说 "可写" 再发, 所以一个不读数据
的服务器只会让键盘暂停, 不会让接收停下来。
The socket is non-blocking: bytes the kernel cannot take yet stay in the Outbox until the
selector says "writable", so a server that stops reading pauses the keyboard, never the receiving.

Windows 上的键盘 / the keyboard on Windows
-----------------------------------------
Windows 的 select() 只能等 socket, 不能等键盘 (标准输入)。所以这里这样分工:
On Windows select() watches sockets only, never the keyboard (stdin). So:

* POSIX (Linux, macOS): 选择器直接等标准输入的文件描述符 0, 用 os.read 读 (不用 input(): 它的缓冲区
  可能已经藏着下一行, 而选择器看不到缓冲区)。这里没有任何线程。用 SelectSelector: select() 接受任何文件描述符
  (终端、管道、用 < 重定向的文件), epoll 不接受普通文件。
  the selector watches file descriptor 0 itself, read with os.read (not input(): its buffer may
  already hold the next line, where the selector cannot see it). No thread at all. SelectSelector,
  because select() takes any descriptor (a terminal, a pipe, a file redirected with <) and epoll
  refuses plain files.
* Windows (STDIN_NEEDS_THREAD): 一个很小的守护线程只做一件事: 从键盘读一行, 写进一对本地socket
  (socket.socketpair()) 的一端; 选择器等另一端。聊天的全部逻辑 (发送、接收、q、结束) 仍然在选择器循环里。
  one small daemon thread does one thing only: read a line from the keyboard and write it into
  one end of a socketpair; the selector watches the other end. All the chat logic (sending,
  receiving, q, the end) still runs in the one selector loop.

为什么不在所有系统上都用这个线程? 这个版本要说明的就是 "不用线程也能全双工": 在能做到的系统上就不用。
Why not use that thread everywhere? The point of this variant is "full duplex without threads":
where the system allows it, there is none. (tests/test_variants.py checks both facts.)
那个线程可能还卡在读键盘里, 没有可移植的办法唤醒它, 所以它存在时用 os._exit 结束进程 (和参考答案一样)。
That thread may still be blocked reading the keyboard, and nothing portable wakes it, so when
it exists the process ends with os._exit (as the reference solution does).
"""
import codecs
import collections
import os
import selectors
import socket
import sys
import threading

BUFFER_SIZE = 1024

#: Windows 的 select() 不能等键盘: 用一个转发线程 / Windows' select() cannot watch the keyboard: forward it
STDIN_NEEDS_THREAD = os.name == 'nt'

#: select() 最多等这么久就返回一次, 这样 Windows 上 Ctrl-C 也能打断 (和参考答案里的 settimeout 一样)
#: select() returns at least this often, so Ctrl-C works on Windows too (the reference's settimeout)
SELECT_SLICE = 0.5

#: 等着发送的字节超过这么多时, 先不读键盘 (相当于阻塞的 sendall 让键盘等着)
#: while this many bytes wait to be sent, the keyboard is not read (as a blocking sendall would make it wait)
CONSOLE_BACKLOG = 64 * 1024

#: 一次从键盘 (或转发它的socket) 最多读这么多字节 / bytes read from the keyboard (or its forwarder) at once
CONSOLE_CHUNK = 4096


class Console:
    """键盘输入, 按行给出; 选择器可以等它 / keyboard input as lines, for a selector to watch.

    ``readline()`` 阻塞地读一行 (回答提示用); ``start()`` 返回给选择器等待的对象; 选择器说它就绪时
    ``read_ready()`` 返回新读到的完整行。``eof`` 表示键盘输入已结束 (Ctrl-D / Ctrl-Z, 或管道关闭)。
    ``readline()`` reads one line, blocking (for the prompts); ``start()`` returns what the
    selector should watch; when the selector says it is ready, ``read_ready()`` returns the
    complete lines read. ``eof`` is set once input has ended (Ctrl-D / Ctrl-Z, a closed pipe).

    Args:
        stream: 键盘 (默认 sys.stdin) / the keyboard (default sys.stdin).
        use_thread: 用转发线程 (Windows 默认如此) / forward through a thread (the default on Windows).
    """

    def __init__(self, stream=None, use_thread=STDIN_NEEDS_THREAD):
        self.stream = stream if stream is not None else sys.stdin
        self.use_thread = use_thread
        self.thread = None       # 转发线程 (只在 use_thread 时) / the forwarding thread (use_thread only)
        self.eof = False
        self._source = None      # 选择器等的对象 / what the selector watches
        self._lines = collections.deque()  # 读到了但还没交出去的完整行 / complete lines not handed out yet
        self._partial = ''       # 最后一个换行之后的文字 / text after the last newline
        # 转发线程发来的总是 UTF-8; 文件描述符上的字节用终端的编码 / the thread sends UTF-8; fd 0 has the console's encoding
        encoding = 'utf-8' if use_thread else (getattr(self.stream, 'encoding', None) or 'utf-8')
        self._decoder = codecs.getincrementaldecoder(encoding)(errors='replace')

    def readline(self):
        """阻塞地读一行 (不含换行符), 输入结束时抛出 EOFError, 和 input() 一样。
        Read one line (without its newline), blocking; EOFError once input has ended, as input()."""
        if self.use_thread:
            line = self.stream.readline()  # 线程还没启动, 这里只有我们在读 / the thread has not started: we are the only reader
            if not line:
                self.eof = True
                raise EOFError
            return line.rstrip('\r\n')
        while not self._lines:
            if self.eof:
                raise EOFError
            self._take(os.read(self.stream.fileno(), CONSOLE_CHUNK))
        return self._lines.popleft()

    def start(self):
        """开始聊天: 返回选择器要等待的对象 / the chat begins: return what the selector should watch."""
        if not self.use_thread:
            self._source = self.stream.fileno()
            return self._source
        reader, writer = socket.socketpair()
        reader.setblocking(False)
        self._source = reader
        self.thread = threading.Thread(target=self._forward_lines, args=(writer,), daemon=True,
                                       name='stdin forwarder')
        self.thread.start()
        return reader

    def _forward_lines(self, writer):
        """(转发线程, 只在 use_thread 时) 键盘的每一行 → socketpair; 输入结束时关闭它。
        (The forwarding thread, use_thread only.) Each keyboard line → the socketpair; closed at the end of input.

        这里不碰聊天的socket, 也不做任何判断: 发送、q 和结束都在选择器循环里处理。
        It never touches the chat socket and decides nothing: sending, q and the end are the selector loop's.
        """
        try:
            for line in iter(self.stream.readline, ''):
                writer.sendall(line.encode('utf-8'))
        except (OSError, ValueError):
            pass  # 聊天已经结束, socketpair 已关闭 / the chat is over and the socketpair closed
        finally:
            writer.close()  # 另一端读到 b'': 键盘输入结束 / the other end reads b'': input has ended

    def take_lines(self):
        """交出已经读到的完整行 (例如回答提示时多读到的) / hand out the complete lines already read
        (such as those read ahead while answering the prompts)."""
        lines = list(self._lines)
        self._lines.clear()
        return lines

    def read_ready(self):
        """选择器说可读时调用: 读一块, 返回其中的完整行 / call when the selector says readable:
        read one chunk, return the complete lines in it."""
        try:
            if self.use_thread:
                data = self._source.recv(CONSOLE_CHUNK)
            else:
                data = os.read(self._source, CONSOLE_CHUNK)
        except (BlockingIOError, InterruptedError):
            return []  # 其实还没有数据 / nothing there after all
        except OSError:
            data = b''
        self._take(data)
        return self.take_lines()

    def _take(self, data):
        """把读到的字节切成行; b'' 表示输入结束 / cut bytes into lines; b'' means the end of input."""
        if not data:
            self.eof = True
            text = self._decoder.decode(b'', final=True)
        else:
            text = self._decoder.decode(data)
        pieces = (self._partial + text).split('\n')
        self._partial = pieces.pop()
        self._lines.extend(piece.rstrip('\r') for piece in pieces)
        if self.eof and self._partial:
            self._lines.append(self._partial.rstrip('\r'))  # 没有换行的最后一行 / a last line with no newline
            self._partial = ''

    def close(self):
        if self.use_thread and self._source is not None:
            self._source.close()


class Outbox:
    """等着发给一个socket的消息, 先进先出 / messages waiting for one socket, first in first out.

    每条消息用它自己的 send() 发出 (就像阻塞版本里每行一次 sendall); 内核一次收不下的部分留到下次。
    Each message goes out in sends of its own (as the blocking version makes one sendall per
    line); what the kernel cannot take now waits for the next time.
    """

    def __init__(self):
        self.chunks = collections.deque()
        self.size = 0  # 还没发出的字节数 / bytes not sent yet

    def __len__(self):
        return self.size

    def push(self, data):
        if data:
            self.chunks.append(bytes(data))
            self.size += len(data)

    def flush(self, sock):
        """尽量发送, 不阻塞; 返回是否全部发完。对方断开时抛出 OSError。
        Send what the socket takes now, never blocking; True once everything went. OSError if the peer has gone."""
        while self.chunks:
            chunk = self.chunks[0]
            try:
                sent = sock.send(chunk)
            except (BlockingIOError, InterruptedError):
                return False  # 内核的发送缓冲区满了: 等 "可写" / the kernel's buffer is full: wait for "writable"
            self.size -= sent
            if sent < len(chunk):
                self.chunks[0] = chunk[sent:]
                return False
            self.chunks.popleft()
        return True

    def clear(self):
        self.chunks.clear()
        self.size = 0


class Client:
    def __init__(self, console=None):
        self.client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.console = console if console is not None else Console()
        self.ip, self.port = self.set_ip_port()
        self.outbox = Outbox()
        self.decoder = codecs.getincrementaldecoder('utf-8')(errors='replace')
        self.selector = None
        self.chatting = False
        self.leaving = False           # 已输入 q, 发完就关闭 / q was typed: close once it has gone
        self.console_source = None     # 选择器为键盘等的对象 / what the selector watches for the keyboard
        self.watching_console = False
        self.watched_events = 0        # 选择器对socket等的事件 / the events the selector waits for on the socket

    def set_ip_port(self):
        """询问服务器的IP和端口 / ask for the server's IP and port."""
        print('请输入聊天服务器IP')
        ip = self.console.readline().strip()
        print('请输入聊天服务器端口')
        port = self.console.readline().strip()
        while not (port.isdigit() and 0 < int(port) < 65536):
            print('端口应是1到65535之间的整数 (a port is a whole number from 1 to 65535)')
            print('请输入聊天服务器端口')
            port = self.console.readline().strip()
        return ip, int(port)

    def start_connection(self):
        """连接服务器, 然后在选择器循环里聊天 / connect, then chat in the selector loop."""
        try:
            self.client.connect((self.ip, self.port))  # 连接时阻塞没关系: 还没开始聊天 / blocking is fine: no chat yet
        except OSError as error:
            sys.exit('无法连接到 %s:%d (cannot connect): %s' % (self.ip, self.port, error))
        print('与%s连接建立成功,可以开始聊天了!(输入q断开连接)' % self.ip)
        self.chat()

    # ------------------------------------------------------------ 选择器循环 / the selector loop
    def chat(self):
        """聊天, 直到输入 q 或服务器断开 / chat until q is typed or the server closes."""
        self.client.setblocking(False)
        self.selector = selectors.SelectSelector()  # 为什么是 select(): 见模块说明 / why select(): see the module docstring
        self.watch_socket(selectors.EVENT_READ)
        self.console_source = self.console.start()
        self.chatting = True
        try:
            self.console_input(self.console.take_lines())  # 回答提示时多读到的行 / lines read ahead with the prompts
            while self.chatting:
                for key, events in self.selector.select(SELECT_SLICE):
                    key.data(events)  # 每个被等待的对象都带着它的处理函数 / each watched object carries its handler
                    if not self.chatting:
                        break
        finally:
            self.selector.close()
            self.console.close()
            try:
                self.client.shutdown(socket.SHUT_RDWR)  # 让服务器看到连接结束 / the server sees the end
            except OSError:
                pass  # 服务器可能已经断开 / the server may have gone already
            self.client.close()
        print('聊天已结束')

    def watch_socket(self, events):
        """让选择器等socket的这些事件 / make the selector wait for these events on the socket."""
        if events == self.watched_events:
            return
        if self.watched_events:
            self.selector.modify(self.client, events, self.on_socket)
        else:
            self.selector.register(self.client, events, self.on_socket)
        self.watched_events = events

    def update_console_watch(self):
        """键盘只在有必要读时才被等待 / watch the keyboard only while reading it makes sense."""
        wanted = (self.chatting and not self.leaving and not self.console.eof
                  and len(self.outbox) < CONSOLE_BACKLOG)
        if wanted and not self.watching_console:
            self.selector.register(self.console_source, selectors.EVENT_READ, self.on_console)
        elif not wanted and self.watching_console:
            self.selector.unregister(self.console_source)
        self.watching_console = wanted

    def on_socket(self, events):
        if events & selectors.EVENT_WRITE:
            self.flush()
        if self.chatting and events & selectors.EVENT_READ:
            self.recv_msg()

    def on_console(self, events):
        self.console_input(self.console.read_ready())

    def console_input(self, lines):
        """键盘输入了这些行 (输入也可能已结束) / these lines were typed (and input may have ended)."""
        self.send_typed_lines(lines)
        if self.chatting and self.console.eof and not self.leaving:
            # 键盘输入已结束 (Ctrl-D / Ctrl-Z): 当作 q, 和参考答案一样 / end of input counts as q, as in the reference
            self.send_typed_lines(['q'])
        self.update_console_watch()

    # ------------------------------------------------------------ 发送和接收 / sending and receiving
    def send_typed_lines(self, lines):
        """把键盘输入的行放进 Outbox 并尽量发出; q 之后的行不再发送。
        Queue the typed lines and send what can go now; nothing after q is sent."""
        for line in lines:
            if self.leaving:
                break
            if not line:
                continue  # 空行不发送: 没有内容的 send 对方什么也收不到 / an empty send delivers nothing
            self.outbox.push(line.encode('utf-8'))
            if line.strip() == 'q':
                self.leaving = True
        self.flush()

    def flush(self):
        """发出 Outbox 里能发的; q 发完后结束聊天 / send what the Outbox holds; after q has gone, end the chat."""
        try:
            done = self.outbox.flush(self.client)
        except OSError:
            self.chatting = False  # 服务器已经断开 / the server has gone
            return
        if done and self.leaving:
            self.chatting = False  # q 已发出: chat() 关闭socket / q has gone: chat() closes the socket
            return
        self.watch_socket(selectors.EVENT_READ | (0 if done else selectors.EVENT_WRITE))
        self.update_console_watch()

    def recv_msg(self):
        """socket 可读: 接收并打印 / the socket is readable: receive and print."""
        try:
            data = self.client.recv(BUFFER_SIZE)
        except (BlockingIOError, InterruptedError):
            return  # 其实还没有数据 / nothing there after all
        except OSError:
            data = b''  # 连接被重置, 和断开一样处理 / a reset counts as the end
        if not data:
            self.chatting = False  # 服务器关闭了连接 / the server closed the connection
            return
        text = self.decoder.decode(data)  # 被拆开的汉字等下一块补齐 / a split character waits for the next chunk
        if text:
            print('[%s:%d] %s' % (self.ip, self.port, text))


def main():
    """运行客户端, 返回退出状态 / run the client; return the exit status."""
    status = 0
    console = Console()
    try:
        Client(console).start_connection()
    except EOFError:
        print('键盘输入已结束 (no more input)', file=sys.stderr)
        status = 1
    except KeyboardInterrupt:
        print('已中断 (interrupted)')
    if console.thread is not None:
        # 转发线程可能还卡在读键盘里 (见模块说明) / the forwarder may still be blocked reading the keyboard (see above)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    return status


if __name__ == '__main__':
    sys.exit(main())

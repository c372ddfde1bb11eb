# -*- coding: utf-8 -*-
"""聊天服务器, 单线程版: p2p 和 hub 两种模式都在一个选择器循环里 / the chat server in one selector loop

和 reference/chat_server.py 的界面完全一样 (同样的提示、同样的输出、同样的协议), 但没有线程:
The same interface as reference/chat_server.py (same prompts, same output, same wire protocol),
but with no threads:

  p2p  一对一: 一个选择器同时等客户端的socket和键盘 / one to one: one selector watches the client's socket and the keyboard
  hub  聊天室: 一个选择器同时等监听socket和每一个客户端 / chat room: one selector watches the listening socket and every client

运行 / run:  python reference/variants/selectors_server.py

工作原理 / theory of operation
------------------------------
所有socket都是非阻塞的; 选择器 (selector) 说哪个就绪, 就处理哪个, 每个事件都很快处理完, 然后回到 select():
Every socket is non-blocking; whatever the selector says is ready gets handled, each event
quickly, and then it is back to select()::

    监听socket可读 / listening socket readable  → accept (hub: 满了就拒绝 / refuse when full)
    客户端可读 / a client readable               → recv → p2p: 打印 / print;  hub: 转发给其他人 / relay to the others
                                                  (q 或 b'' → 离开 / leave)
    客户端可写 / a client writable               → 发出它的 Outbox 里剩下的 / send what waits in its Outbox
    键盘 (只有 p2p) / the keyboard (p2p only)    → 每一行放进客户端的 Outbox / each line into the client's Outbox

线程版本需要锁, 因为几个线程同时读写 ip_client; 这里只有一个线程, 转发时字典不会被别人改动, 也不需要锁。
The threaded version needs a lock because several threads use ip_client at once; here there is
one thread, nobody changes the dict while a message is relayed, and no lock is needed.

发不出去的消息 / messages that cannot go yet
--------------------------------------------
每个客户端有自己的 Outbox: send() 不阻塞, 内核收不下的字节留在 Outbox 里, 等那个客户端 "可写" 时再发。
所以一个不读数据的客户端不会让聊天室停下来。Outbox 有上限 (OUT_BUFFER_LIMIT, 和教师用的 hub 服务器一样
1 MiB): 超过上限的客户端已经不读了, 它被断开并像其他离开一样通知大家。发送失败 (对方已经断开) 也一样处理。
这些断开都等当前事件处理完再做, 所以转发循环里字典不会变。
Each client has an Outbox of its own: send() never blocks, and the bytes the kernel cannot take
wait there until that client is writable, so a client that stops reading never stalls the room.
The Outbox is bounded (OUT_BUFFER_LIMIT, 1 MiB as the instructor's hub server): a client over
it has stopped reading and is dropped, announced like any other departure; so is a client whose
send fails (it has gone). Such drops are carried out after the current event, so the dict never
changes under a relay loop.

Windows 上的键盘 / the keyboard on Windows
-----------------------------------------
和 selectors_client.py 一样 (Console 类两边逐字相同, tests/test_variants.py 检查这一点): 在 POSIX 上选择器
直接等标准输入; Windows 的 select() 只能等 socket, 所以在 Windows 上 (而且只在 p2p 模式下, hub 不读键盘)
一个小的守护线程把键盘的每一行转发到一对本地socket里, 选择器等另一端。聊天的逻辑全都在选择器循环里。
As in selectors_client.py (the Console class is the same, word for word, in both; tests/
test_variants.py checks it): on POSIX the selector watches stdin itself; Windows' select()
watches sockets only, so on Windows (and in p2p mode only: the hub never reads the keyboard) a
small daemon thread forwards each keyboard line into a socketpair whose other end the selector
watches. All the chat logic is in the selector loop.
"""
import codecs
import collections
import functools
import os
import selectors
import socket
import sys
import threading

BUFFER_SIZE = 1024

#: Windows 的 select() 不能等键盘: 用一个转发线程 / Windows' select() cannot watch the keyboard: forward it
STDIN_NEEDS_THREAD = os.name == 'nt'

#: select() 最多等这么久就返回一次, 这样 Windows 上 Ctrl-C 也能打断 (参考答案用 settimeout 做到这一点)
#: select() returns at least this often, so Ctrl-C works on Windows too (the reference uses settimeout for that)
SELECT_SLICE = 0.5

#: 等着发给 p2p 客户端的字节超过这么多时, 先不读键盘 / while this many bytes wait for the p2p client, the keyboard is not read
CONSOLE_BACKLOG = 64 * 1024

#: 一次从键盘 (或转发它的socket) 最多读这么多字节 / bytes read from the keyboard (or its forwarder) at once
CONSOLE_CHUNK = 4096

#: hub: 一个客户端的 Outbox 最多这么多字节, 超过就断开它 (它已经不读了)
#: hub: the most bytes one client's Outbox may hold; over it the client is dropped (it has stopped reading)
OUT_BUFFER_LIMIT = 1024 * 1024

#: hub: 聊天室满了时, 新来的客户端读到这一行, 然后被断开 / hub: what a newcomer reads when the room is full; then it is closed
ROOM_FULL = '聊天室已满(最多%d人), 请稍后再试'


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


class Member:
    """hub 里的一个客户端 / one client in the hub."""

    def __init__(self, sock, addr):
        self.sock = sock
        self.addr = addr
        self.decoder = codecs.getincrementaldecoder('utf-8')(errors='replace')
        self.outbox = Outbox()
        self.events = selectors.EVENT_READ  # 选择器等它的事件 / the events the selector waits for on it
        self.handler = None  # 选择器就绪时调用的函数 / what the selector calls when it is ready


class Server:
    def __init__(self, console=None):
        self.server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.console = console if console is not None else Console()
        # 127.0.0.1 只有本机能连; 要让局域网里别的电脑连进来, 改用下面注释掉的那一行
        # 127.0.0.1 accepts this machine only; to let other computers on the LAN in, use the line commented out below
        self.ip = '127.0.0.1'
        # self.ip = self.get_ip()
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
        # 参考答案在这里给监听socket设超时; 这里它不阻塞, 由选择器告诉我们什么时候有人连进来 (select 的超时让 Ctrl-C 能打断)
        # the reference sets a timeout here; this socket does not block at all: the selector says
        # when someone connects (select()'s own timeout lets Ctrl-C in)
        self.server.setblocking(False)
        self.max_clients = self.set_max_clients()
        self.server.listen(self.max_clients)  # 只是等待队列的长度, 不是人数上限 / only the queue length, not a cap on clients
        self.selector = None
        self.running = False

    def run(self):
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
        port = self.console.readline().strip()
        while not (port.isdigit() and 0 < int(port) < 65536):
            print('端口应是1到65535之间的整数 (a port is a whole number from 1 to 65535)')
            print('请输入聊天服务器端口')
            port = self.console.readline().strip()
        return int(port)

    def get_mode(self):
        """询问工作模式 / ask for the mode: p2p or hub."""
        print('请输入服务器工作模式(p2p,hub)')
        mode = self.console.readline().strip().lower()
        while mode not in ('p2p', 'hub'):
            print('请输入 p2p 或 hub (type p2p or hub)')
            print('请输入服务器工作模式(p2p,hub)')
            mode = self.console.readline().strip().lower()
        return mode

    def set_max_clients(self):
        """询问最多允许多少个客户端 / ask how many clients may be online at once."""
        print('请输入最大允许连接的客户端数量')
        count = self.console.readline().strip()
        while not (count.isdigit() and int(count) > 0):
            print('请输入一个正整数 (type a whole number above 0)')
            print('请输入最大允许连接的客户端数量')
            count = self.console.readline().strip()
        return int(count)

    # ---------------------------------------------------------------- 选择器循环 / the selector loop
    def serve(self, after_each_event=None):
        """处理就绪的事件, 直到 self.running 变成 False / handle ready events until self.running is False.

        每个被等待的对象注册时都带着它的处理函数 (key.data), 用就绪的事件调用它。
        Everything watched carries its handler in key.data, called with the ready events.
        """
        self.running = True
        while self.running:
            for key, events in self.selector.select(SELECT_SLICE):
                key.data(events)
                if after_each_event is not None:
                    after_each_event()
                if not self.running:
                    break

    # ---------------------------------------------------------------- p2p: 一对一 / one to one
    def start_p2p_listen(self):
        """等一个客户端连进来, 然后和它聊天 / wait for one client, then chat with it."""
        print('等待客户端的连接...')
        # 为什么是 select(): 它能等任何文件描述符, 包括键盘 (见 selectors_client.py 的说明)
        # why select(): it watches any file descriptor, the keyboard too (see selectors_client.py)
        self.selector = selectors.SelectSelector()
        self.selector.register(self.server, selectors.EVENT_READ, self.p2p_accept)
        try:
            self.serve()  # 直到有人连进来 / until someone connects
            self.serve()  # 直到聊天结束 / until the chat ends
        finally:
            self.selector.close()
            self.console.close()

    def p2p_accept(self, events):
        try:
            conn, addr = self.server.accept()
        except (BlockingIOError, InterruptedError, ConnectionAbortedError):
            return  # 那个连接已经不在了 / that connection went away
        self.selector.unregister(self.server)
        self.server.close()  # 一对一: 不再接受别的客户端 / one to one: nobody else gets in
        conn.setblocking(False)
        self.conn, self.addr = conn, addr
        self.decoder = codecs.getincrementaldecoder('utf-8')(errors='replace')
        self.outbox = Outbox()
        self.conn_events = selectors.EVENT_READ
        self.watching_console = False
        print('%s已成功连接!' % str(addr))
        self.selector.register(conn, self.conn_events, self.p2p_on_client)
        self.console_source = self.console.start()
        self.p2p_send_msg(self.console.take_lines())  # 等连接时输入的行 / lines typed while waiting
        self.running = False  # 第一段 serve() 结束, 开始聊天 / the first serve() ends: the chat begins

    def p2p_on_client(self, events):
        if events & selectors.EVENT_WRITE:
            self.p2p_flush()
        if events & selectors.EVENT_READ:
            self.p2p_recv_msg()

    def p2p_on_console(self, events):
        self.p2p_send_msg(self.console.read_ready())

    def p2p_send_msg(self, lines):
        """键盘输入的行 → 客户端 / typed lines → the client."""
        for line in lines:
            if line:  # 空行不发送 / an empty line is not sent
                self.outbox.push(line.encode('utf-8'))
        self.p2p_flush()

    def p2p_flush(self):
        try:
            done = self.outbox.flush(self.conn)
        except OSError:
            # 客户端已经断开: 不再发送, 接收那边马上会读到连接结束 / the client has gone: stop sending; receiving sees the end next
            self.outbox.clear()
            self.console.eof = True
            done = True
        events = selectors.EVENT_READ | (0 if done else selectors.EVENT_WRITE)
        if events != self.conn_events:
            self.selector.modify(self.conn, events, self.p2p_on_client)
            self.conn_events = events
        # 键盘输入结束后接收继续 (和参考答案一样) / after the end of keyboard input, receiving goes on (as in the reference)
        wanted = not self.console.eof and len(self.outbox) < CONSOLE_BACKLOG
        if wanted != self.watching_console:
            if wanted:
                self.selector.register(self.console_source, selectors.EVENT_READ, self.p2p_on_console)
            else:
                self.selector.unregister(self.console_source)
            self.watching_console = wanted

    def p2p_recv_msg(self):
        """客户端可读: 接收并打印; q 或断开时结束 / the client is readable: receive and print; q or a disconnect ends it."""
        try:
            data = self.conn.recv(BUFFER_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b''  # 连接被重置, 和断开一样处理 / a reset counts as a disconnect
        text = self.decoder.decode(data)
        if data and text.strip() != 'q':
            if text:
                print('%s : %s' % (str(self.addr), text))
            return
        print('%s已退出聊天' % str(self.addr))
        self.selector.unregister(self.conn)
        try:
            self.conn.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # 对方可能已经断开 / the peer may be gone already
        self.conn.close()
        self.running = False

    # ---------------------------------------------------------------- hub: 聊天室 / chat room
    def start_hub_listen(self):
        """在一个选择器循环里接受客户端并转发消息 / accept clients and relay messages in one selector loop."""
        self.dropping = []  # 当前事件处理完后要断开的客户端 / clients to drop once the current event is handled
        self.selector = selectors.DefaultSelector()  # hub 不读键盘: 用系统最好的选择器 / no keyboard: the system's best selector
        self.selector.register(self.server, selectors.EVENT_READ, self.hub_accept)
        print('等待客户端的连接...')
        try:
            self.serve(after_each_event=self.hub_drop_pending)
        finally:
            self.selector.close()

    def hub_accept(self, events):
        try:
            conn, addr = self.server.accept()
        except (BlockingIOError, InterruptedError, ConnectionAbortedError):
            return
        conn.setblocking(False)
        if len(self.ip_client) >= self.max_clients:
            print('%s被拒绝: 聊天室已满' % str(addr))
            try:
                conn.send((ROOM_FULL % self.max_clients).encode('utf-8'))  # 新连接的缓冲区是空的 / a new connection's buffer is empty
            except OSError:
                pass
            conn.close()
            return
        member = Member(conn, addr)
        member.handler = functools.partial(self.hub_on_client, member)
        self.ip_client[addr] = member
        self.selector.register(conn, member.events, member.handler)
        print('%s已成功连接!' % str(addr))

    def hub_on_client(self, member, events):
        if self.ip_client.get(member.addr) is not member:
            return  # 这一轮里它已经被关掉了 (select() 的结果是之前算好的) / closed earlier in this round (select() answered before)
        if events & selectors.EVENT_WRITE:
            self.hub_flush(member)
        if events & selectors.EVENT_READ and member.addr not in self.dropping:
            self.hub_msg_process(member)

    def hub_msg_process(self, member):
        """一个客户端可读: 接收, 转发给其他所有人 (不发回给它自己) / one client is readable:
        receive and relay to every other client (never back to it)."""
        try:
            data = member.sock.recv(BUFFER_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b''  # 连接被重置 / the connection was reset
        text = member.decoder.decode(data)
        if not data or text.strip() == 'q':
            self.hub_close_client(member.addr)
        elif text:
            self.hub_broadcast('%s : %s' % (str(member.addr), text), sender=member.addr)

    def hub_broadcast(self, text, sender):
        """把一条消息放进除发送者以外每个客户端的 Outbox / put one message in every Outbox but the sender's."""
        data = text.encode('utf-8')
        for addr, member in self.ip_client.items():  # 单线程: 循环中字典不会变 / one thread: the dict cannot change meanwhile
            if addr != sender and addr not in self.dropping:
                member.outbox.push(data)
                self.hub_flush(member)

    def hub_flush(self, member):
        """发出这个客户端 Outbox 里能发的; 发送失败或超过上限就安排断开它。
        Send what this client's Outbox holds; a failed send or an Outbox over the limit schedules a drop."""
        try:
            done = member.outbox.flush(member.sock)
        except OSError:
            done = True  # 它已经断开了 / it has gone
            self.dropping.append(member.addr)
        if len(member.outbox) > OUT_BUFFER_LIMIT and member.addr not in self.dropping:
            self.dropping.append(member.addr)  # 它不读了 / it has stopped reading
        events = selectors.EVENT_READ | (0 if done else selectors.EVENT_WRITE)
        if events != member.events and member.addr not in self.dropping:
            self.selector.modify(member.sock, events, member.handler)
            member.events = events

    def hub_drop_pending(self):
        """断开当前事件中发现要断开的客户端 (通知别人时可能又发现新的)。
        Drop the clients found during the current event (announcing one may find more)."""
        while self.dropping:
            self.hub_close_client(self.dropping[0])
            del self.dropping[0]

    def hub_close_client(self, addr):
        """关闭一个客户端, 通知其他人它离开了 / close one client and tell the others it has left."""
        member = self.ip_client.pop(addr, None)
        if member is None:
            return  # 已经关掉了 / closed already
        self.selector.unregister(member.sock)
        try:
            member.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        member.sock.close()
        print('%s已经离开了' % str(addr))
        self.hub_broadcast('%s已经离开了' % str(addr), sender=addr)


def main():
    """运行服务器, 返回退出状态 / run the server; return the exit status."""
    status = 0
    console = Console()
    try:
        Server(console).run()
    except EOFError:
        print('键盘输入已结束 (no more input)', file=sys.stderr)
        status = 1
    except KeyboardInterrupt:
        print('已中断 (interrupted)')
    if console.thread is not None:
        # 转发线程可能还卡在读键盘里 (见 selectors_client.py) / the forwarder may still be blocked reading the keyboard
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    return status


if __name__ == '__main__':
    sys.exit(main())

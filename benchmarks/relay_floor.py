"""The Python floor: the least a hub written in Python can do on this machine.

The same question as ``relay_floor.c``, asked of Python: a single-threaded relay on a bare
``select.epoll`` loop that speaks the hub's wire format (join notice, ``<addr> : `` + the
bytes read, leave notice) with TCP_NODELAY and one ``send()`` per recipient per turn of
its loop (the turn's relays joined, like our hub), and nothing else: no asyncio, no room
cap, no buffering for slow readers, no logging beyond the "listening on" line the
benchmark waits for. It is not a server for a class (a client that stops reading blocks
it). Set beside ``relay_floor.c`` and ``classroom.hub_server`` it says how much of our
hub's latency is Python and how much is the machinery around it; given ``asyncio`` the
same relay runs on asyncio's event loop (sockets watched with ``add_reader``, no
transports), which says how much of that machinery is the loop itself::

    python -m benchmarks.hub_bench --rate 10 --no-ncat \\
        --hub-program python benchmarks/relay_floor.py [asyncio]

Arguments: the benchmark passes ``--host H --port P --quiet --max-clients N``; ``--host``
and ``--port`` are used. It stops on SIGINT or SIGTERM, or after ``--max-seconds``.
Linux only (epoll; with ``asyncio``, any POSIX system).
"""
import argparse
import asyncio
import select
import signal
import socket
import sys
import time

READ_SIZE = 256 * 1024


def send_rest(sock, data, sent):
    """Send what ``send()`` did not take; a full socket blocks the relay, as in the C floor."""
    try:
        sock.setblocking(True)
        sock.sendall(data[sent:])
        sock.setblocking(False)
    except OSError:
        pass  # the reader is gone; its end of stream comes through epoll


def relay_turn(order, batch):
    """Each client gets the turn's relays but its own, in one send (inline: the hot loop)."""
    single = len(batch) == 1
    source, data = batch[0]
    size = len(data)
    for sock in order:
        if single:
            if sock is source:
                continue
        else:
            data = b''.join([chunk for origin, chunk in batch if origin is not sock])
            if not data:
                continue
            size = len(data)
        try:
            sent = sock.send(data)
        except BlockingIOError:
            sent = 0
        except OSError:
            continue  # the reader is gone; its end of stream comes through epoll
        if sent != size:
            send_rest(sock, data, sent)


class Relay:
    """The floor's clients and what each event adds to the turn's batch of relays."""

    def __init__(self, listener):
        self.listener = listener
        self.clients = {}   # fd -> (socket, relay prefix, label)
        self.order = []     # sockets in join order

    def accept_all(self, batch, joined):
        """Accept every waiting connection; ``joined(sock)`` starts watching it."""
        for _ in range(4096):
            try:
                sock, address = self.listener.accept()
            except BlockingIOError:
                break
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            label = str(address[:2])
            self.clients[sock.fileno()] = (sock, (label + ' : ').encode(), label)
            batch.append((sock, (label + '加入了聊天室').encode()))
            self.order.append(sock)
            joined(sock)

    def read(self, fd, batch, left):
        """Read one client; ``left(fd)`` stops watching it if it is gone."""
        sock, prefix, label = self.clients[fd]
        try:
            data = sock.recv(READ_SIZE)
        except BlockingIOError:
            return
        except OSError:
            data = b''
        if not data or data.strip() == b'q':
            left(fd)
            del self.clients[fd]
            self.order.remove(sock)
            sock.close()
            batch.append((None, (label + '已经离开了').encode()))
            return
        if not data.isascii():
            data = data.decode('utf-8', 'replace').encode('utf-8')
        batch.append((sock, prefix + data))


def run_epoll(relay, deadline):
    """The floor itself: a bare ``select.epoll`` loop, one relay turn per poll."""
    stopping = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.append(True))
    poller = select.epoll()
    listening = relay.listener.fileno()
    poller.register(listening, select.EPOLLIN)
    joined = lambda sock: poller.register(sock.fileno(), select.EPOLLIN)  # noqa: E731
    while not stopping and time.monotonic() < deadline:
        try:
            events = poller.poll(1.0)
        except InterruptedError:
            continue
        batch = []
        for fd, _ in events:
            if fd == listening:
                relay.accept_all(batch, joined)
            else:
                relay.read(fd, batch, poller.unregister)
        if batch:
            relay_turn(relay.order, batch)


def run_asyncio(relay, deadline):
    """The same relay on asyncio's event loop (``add_reader``, no transports): what the
    loop itself costs. Each event's relays go out as it returns when it was the turn's
    last, else at the end of the turn, as in our hub."""
    loop = asyncio.new_event_loop()
    batch = []
    pending = []

    def flush():
        del pending[:]
        turn = batch[:]
        del batch[:]
        if turn:
            relay_turn(relay.order, turn)

    def handled():
        if batch and not pending:
            pending.append(True)
            if loop._ready:
                loop.call_soon(flush)
            else:
                flush()

    def on_read(fd):
        relay.read(fd, batch, loop.remove_reader)
        handled()

    def on_accept():
        relay.accept_all(batch, lambda sock: loop.add_reader(sock.fileno(), on_read,
                                                             sock.fileno()))
        handled()

    loop.add_reader(relay.listener.fileno(), on_accept)
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, loop.stop)
    loop.call_later(max(0.0, deadline - time.monotonic()), loop.stop)
    try:
        loop.run_forever()
    finally:
        loop.close()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--port', type=int, default=0)
    parser.add_argument('--quiet', action='store_true')
    parser.add_argument('--max-clients', type=int, default=0)
    parser.add_argument('--max-seconds', type=float, default=3600.0)
    parser.add_argument('loop', nargs='?', choices=('epoll', 'asyncio'), default='epoll',
                        help="the loop to relay on: bare epoll (default) or asyncio's")
    args = parser.parse_args(argv)

    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((args.host, args.port))
    listener.listen(4096)
    listener.setblocking(False)
    sys.stderr.write('relay_floor.py listening on %s:%d\n' % listener.getsockname()[:2])
    sys.stderr.flush()
    deadline = time.monotonic() + args.max_seconds
    (run_asyncio if args.loop == 'asyncio' else run_epoll)(Relay(listener), deadline)
    sys.stderr.write('relay_floor.py stopped\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())

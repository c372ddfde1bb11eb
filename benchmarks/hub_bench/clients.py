"""The generator's sockets: the text probe, then the load itself, every client in one
``selectors`` loop (connecting in waves, sending on schedule, reading everything, each
read's stream judged as it comes and each delivery's latency kept)."""

import array
import errno
import os
import re
import selectors
import socket
import struct
import time

from .common import LOOPBACK, MAX_TURNS
from .judge import (INFO, JOIN, OVERFLOW, RELAY, credit, expected_deliveries, mismatch,
                    overflow, sender_streams, split_stream, stray, unknown_sender)

#: One recv takes at most this much.
RECV_SIZE = 256 * 1024
#: The text probe's waits.
PROBE_TIMEOUT = 5.0
#: The chat ends early once nothing arrived for this long after the last send.
STALL_TIMEOUT = 10.0
#: How many mismatches the report quotes.
QUOTED_ERRORS = 5

PROBE_CHINESE = '你好, 世界'.encode('utf-8')
PROBE_INVALID = b'\xff\xfebad'

#: Linux's SO_TIMESTAMPNS (socket(7); Python has no name for it): the kernel stamps each
#: segment with the time it reached the socket, and recvmsg returns the stamp of the last
#: segment read as a struct timespec in CLOCK_REALTIME.
SO_TIMESTAMPNS = getattr(socket, 'SO_TIMESTAMPNS', 35)
STAMP = struct.Struct('@qq')
STAMP_SPACE = socket.CMSG_SPACE(STAMP.size) if hasattr(socket, 'CMSG_SPACE') else 0


# ------------------------------------------------------------------------- the text probe

def probe_text(port, wire):
    """Send Chinese and invalid UTF-8 through the server; return what arrived, and whether it
    is what the lab's spec says (byte-exact, and U+FFFD for the invalid bytes)."""
    listener = socket.create_connection((LOOPBACK, port), timeout=PROBE_TIMEOUT)
    talker = None
    try:
        if wire.self_announced:
            _read_until(listener, lambda got: got.count(b'\n') >= 2)   # its own announcement
        talker = socket.create_connection((LOOPBACK, port), timeout=PROBE_TIMEOUT)
        talker.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if wire.self_announced:
            _read_until(listener, lambda got: got.count(b'\n') >= 2)   # the talker's
            own = _read_until(talker, lambda got: got.count(b'\n') >= 2)
            key = int(re.search(rb'<user(\d+)>', own).group(1))
        else:
            _read_until(listener, lambda got: '加入了聊天室'.encode('utf-8') in got)
            key = talker.getsockname()[1]
        results = {}
        for name, sent, wanted in (
                ('chinese', PROBE_CHINESE, PROBE_CHINESE),
                ('invalid_utf8', PROBE_INVALID, '\ufffd\ufffdbad'.encode('utf-8'))):
            expected = wire.relay_of(key, wanted)
            talker.sendall(sent)
            got = _read_until(listener, lambda data: len(data) >= len(expected))
            results[name] = {'exact': got == expected,
                             'received': got.decode('utf-8', 'replace')}
        return results
    finally:
        for sock in (talker, listener):
            if sock is not None:
                sock.close()


def _read_until(sock, done):
    """Read from a blocking socket until ``done(bytes so far)``, its end, or the deadline."""
    got = b''
    deadline = time.monotonic() + PROBE_TIMEOUT
    for _ in range(MAX_TURNS):
        if done(got):
            break
        left = deadline - time.monotonic()
        if left <= 0:
            break
        sock.settimeout(left)
        try:
            chunk = sock.recv(RECV_SIZE)
        except socket.timeout:
            break
        if not chunk:
            break
        got += chunk
    return got


# ------------------------------------------------------------------------- the load

class Client:
    """One generator socket and what its stream has shown so far."""

    __slots__ = ('index', 'sock', 'port', 'reads', 'held', 'cur', 'setup', 'joins', 'infos',
                 'own_key', 'order', 'offsets', 'leaves', 'eof', 'stray')

    def __init__(self, index, sock, reads):
        self.index = index
        self.sock = sock
        self.port = sock.getsockname()[1]
        self.reads = reads
        self.held = b''
        self.cur = None         # index of the sender whose relay the stream is in, or None
        self.setup = True       # still connecting: only announcements may arrive
        self.joins = 0
        self.infos = 0
        self.own_key = None     # ncat's user number for this client
        self.order = None       # keys in join order (client 0 only)
        self.offsets = None     # per sender: bytes of its stream received (-1: corrupt)
        self.leaves = []        # (time, key) of departures announced
        self.eof = False
        self.stray = 0          # bytes that belong to no relay


class Load:
    """One chat session against one running server: connect, chat, judge."""

    def __init__(self, wire, port, args, stuck):
        self.wire = wire
        self.port = port
        self.args = args
        self.size = args.size
        self.stuck_count = stuck
        self.clients = []
        self.selector = selectors.DefaultSelector()
        self.errors = []
        self.latencies = array.array('d')
        self.arrival_latencies = array.array('d')
        self.arrival_keys = array.array('l')     # which message each arrival was
        self.stamped = self.unstamped = 0
        self.clock_offset = 0.0     # CLOCK_REALTIME - CLOCK_MONOTONIC, set when chatting
        self.delivered = 0
        self.relays = 0         # relay prefixes read while chatting (chunks relayed x readers)
        self.selects = self.recvs = 0
        # recv_into one buffer: recv(256 KiB) would map and unmap 256 KiB for every read,
        # which costs more than the read itself (~20 us against ~5 us measured here).
        self.read_view = memoryview(bytearray(RECV_SIZE))
        self.last_delivery = None

    # -- connecting --------------------------------------------------------------------

    def _open(self, index, reads):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if not reads:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        elif STAMP_SPACE:
            sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        sock.setblocking(False)
        error = sock.connect_ex((LOOPBACK, self.port))
        if error not in (0, errno.EINPROGRESS):
            sock.close()
            raise OSError(error, os.strerror(error))
        return sock

    def connect(self):
        """Connect every client in waves; returns ``(registered, seconds, worst wave seconds)``."""
        args = self.args
        total = args.clients + self.stuck_count
        wave = args.connect_wave or total
        deadline = time.monotonic() + args.connect_timeout
        started = time.monotonic()
        worst = 0.0
        # Clients that never read join last, in a wave of their own: every announcement
        # the readers wait for is made before, and ncat's order then ends with them.
        readers = list(range(1, args.clients))
        batches = [[(0, True)]] + [[(index, True) for index in readers[at:at + wave]]
                                   for at in range(0, len(readers), wave)]
        if self.stuck_count:
            batches.append([(index, False) for index in range(args.clients, total)])
        for batch in batches:
            wave_started = time.monotonic()
            for index, reads in batch:
                sock = self._open(index, reads)
                client = Client(index, sock, reads)
                self.clients.append(client)
                if reads:
                    self.selector.register(sock, selectors.EVENT_READ, client)
            if len(self.clients) == 1 and not self.wire.self_announced:
                # Our hub announces client 0 to nobody: the next wave's notices reaching it
                # prove it registered (with N = 1, being connected is all there is).
                continue
            if not self._run_until(self._all_registered, deadline):
                return self._registered_count(), time.monotonic() - started, worst
            worst = max(worst, time.monotonic() - wave_started)
        # Registered: now let every reader catch up with the announcements of later joins.
        self._run_until(self._quiet, deadline)
        return self._registered_count(), time.monotonic() - started, worst

    def _registered_keys(self):
        observer = self.clients[0]
        return observer.order or []

    def _registered_count(self):
        count = len(self._registered_keys())
        return count + (0 if self.wire.self_announced else 1)

    def _all_registered(self):
        if self.wire.self_announced:
            if len(self._registered_keys()) < len(self.clients):
                return False
            return all(c.own_key is not None for c in self.clients if c.reads)
        ports = set(self._registered_keys())
        return all(c.port in ports for c in self.clients[1:])

    def _quiet(self):
        """Every reader has every announcement made after its own join."""
        order = self._registered_keys()
        position = {key: at for at, key in enumerate(order)}
        for client in self.clients:
            if not client.reads:
                continue
            if self.wire.self_announced:
                at = position.get(client.own_key)
                if at is None:
                    return False
                if client.joins < len(order) - at or client.infos < client.joins:
                    return False
            else:
                at = -1 if client.index == 0 else position.get(client.port)
                if at is None or client.joins < len(order) - 1 - at:
                    return False
        return True

    # -- chatting ----------------------------------------------------------------------

    def prepare_chat(self, messages):
        args = self.args
        self.messages = messages
        self.senders = [c for c in self.clients if c.reads][:args.senders]
        self.streams = sender_streams(len(self.senders), messages, self.size)
        self.sent_at = [array.array('d', [0.0]) * messages for _ in self.senders]
        self.sent_pos = [0] * len(self.senders)
        # For --window: how many readers have each message, and how many of a sender's
        # messages, from its first on, have reached every other reader.
        self.arrivals = [array.array('l', [0]) * messages for _ in self.senders]
        self.acked = [0] * len(self.senders)
        self.window = 0 if args.rate else args.window
        if self.wire.self_announced:
            self.sender_of = {c.own_key: s for s, c in enumerate(self.senders)}
        else:
            self.sender_of = {c.port: s for s, c in enumerate(self.senders)}
        readers = [c for c in self.clients if c.reads]
        for client in readers:
            client.setup = False
            client.cur = None
            client.offsets = [0] * len(self.senders)
        self.expected = expected_deliveries(messages, len(self.senders), len(readers))
        self.fanout = len(readers) - 1
        # What a chat measures starts empty: a Load may chat again (hub_bench --versus).
        self.latencies = array.array('d')
        self.arrival_latencies = array.array('d')
        self.arrival_keys = array.array('l')
        self.delivered = 0
        self.last_delivery = None

    def chat(self):
        """Send every message and read until all arrived, the deadline, or a stall."""
        args = self.args
        rate = args.rate
        count = len(self.senders)
        self.clock_offset = clock_offset()
        started = time.monotonic()
        self.chat_started = started
        self.selects = self.recvs = 0
        deadline = started + args.timeout + (self.messages / rate if rate else 0.0)
        due = None
        if rate:
            due = [[started + (s / count + n) / rate for n in range(self.messages)]
                   for s in range(count)]
        total_bytes = self.messages * self.size
        blocked = [False] * count
        last_progress = started
        for _ in range(MAX_TURNS):
            now = time.monotonic()
            sending = any(pos < total_bytes for pos in self.sent_pos)
            if self.delivered >= self.expected or now > deadline:
                break
            if not sending and now - last_progress > STALL_TIMEOUT:
                break
            timeout = 0.05
            if sending:
                timeout = self._send_turn(due, blocked, now)
            before = self.delivered
            if args.spin:
                timeout = 0.0
            self._read_turn(min(timeout, max(0.0, deadline - now)))
            if self.delivered != before or sending:
                last_progress = time.monotonic()
        self.chat_ended = time.monotonic()

    def _send_turn(self, due, blocked, now):
        """Send what is due; returns how long the next select may wait."""
        size = self.size
        total = self.messages * size
        wait = 0.05
        for s, client in enumerate(self.senders):
            pos = self.sent_pos[s]
            if pos >= total:
                continue
            if due is None:
                # flat out: one message per sender per turn, interleaved with reading, and
                # with --window, only while fewer than that many are still on their way
                if self.window and pos // size - self.acked[s] >= self.window \
                        and pos % size == 0:
                    continue
                wait = 0.0 if not blocked[s] else min(wait, 0.001)
                blocked[s] = not self._send_one(s, client)
                continue
            times = due[s]
            blocked[s] = False
            for _ in range(self.messages):
                number = pos // size
                if number >= self.messages or times[number] > now:
                    break
                if not self._send_one(s, client):
                    blocked[s] = True
                    break
                pos = self.sent_pos[s]
            pos = self.sent_pos[s]
            if pos < total:
                number = pos // size
                wait = min(wait, 0.001 if blocked[s] else max(0.0, due[s][number] - now))
        return wait

    def _send_one(self, s, client):
        size = self.size
        pos = self.sent_pos[s]
        end = (pos // size + 1) * size
        stamp = time.monotonic()
        try:
            sent = client.sock.send(memoryview(self.streams[s])[pos:end])
        except BlockingIOError:
            return False
        pos += sent
        self.sent_pos[s] = pos
        if pos == end:
            self.sent_at[s][pos // size - 1] = stamp
        return True

    def _read_turn(self, timeout):
        """Read every socket that is ready, then judge what came: reading them all first
        keeps this generator's judging from delaying its reads, which would let the next
        message reach a socket before the last one was read and lend it the later stamp."""
        ready = self.selector.select(timeout)
        self.selects += 1
        self.recvs += len(ready)
        view = self.read_view
        stamping = bool(STAMP_SPACE) and not self.clients[0].setup
        reads = []
        for key, _ in ready:
            client = key.data
            arrived = None
            try:
                if stamping and client.reads:
                    size, arrived, _, _ = client.sock.recvmsg_into([view], STAMP_SPACE)
                else:
                    size = client.sock.recv_into(view)
                data = bytes(view[:size])
            except BlockingIOError:
                continue
            except OSError:
                data = b''
            reads.append((client, data, time.monotonic(), arrived))
        for client, data, now, arrived in reads:
            if not data:
                client.eof = True
                self.selector.unregister(client.sock)
                continue
            if arrived is not None:
                arrived = self._arrival(arrived)
            self._feed(client, data, now, arrived)

    def _arrival(self, ancillary):
        """The monotonic time the kernel stamped on the last segment read, or None."""
        for level, kind, data in ancillary:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= STAMP.size:
                seconds, nanoseconds = STAMP.unpack_from(data)
                self.stamped += 1
                return seconds + nanoseconds * 1e-9 - self.clock_offset
        self.unstamped += 1
        return None

    def _run_until(self, condition, deadline):
        for _ in range(MAX_TURNS):
            if condition():
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self._read_turn(min(left, 0.05))
        return False

    # -- judging the streams -------------------------------------------------------------

    def _feed(self, client, data, now, arrived=None):
        pieces, client.held = split_stream(self.wire, data, client.held)
        for piece in pieces:
            if isinstance(piece, bytes):
                self._content(client, piece, now, arrived)
                continue
            kind, key = piece
            if kind == RELAY:
                if client.setup:
                    client.cur = None
                    continue
                self.relays += 1
                client.cur = self.sender_of.get(key)
                if client.cur is None:
                    self._error(client, unknown_sender(key))
                continue
            if kind == OVERFLOW:
                self._error(client, overflow())
                continue
            client.cur = None
            if kind == JOIN:
                client.joins += 1
                if client.own_key is None:
                    client.own_key = key
                if client.index == 0:
                    if client.order is None:
                        client.order = []
                    client.order.append(key)
            elif kind == INFO:
                client.infos += 1
            elif not client.setup:
                client.leaves.append((now, key))

    def _content(self, client, chunk, now, arrived=None):
        sender = client.cur
        if sender is None:
            client.stray += len(chunk)
            self._error(client, stray(chunk))
            return
        offsets = client.offsets
        offset = offsets[sender]
        if offset < 0:
            return
        stream = self.streams[sender]
        end = offsets[sender] = credit(stream, offset, chunk)
        if end < 0:
            self._error(client, mismatch(sender, offset, chunk, stream))
            return
        size = self.size
        first, last = offset // size, end // size
        if last > first:
            sent_at = self.sent_at[sender]
            arrivals = self.arrivals[sender]
            append = self.latencies.append
            append_arrival = self.arrival_latencies.append
            append_key = self.arrival_keys.append
            base = sender * self.messages
            arrived = now if arrived is None else arrived
            for number in range(first, last):
                append(now - sent_at[number])
                append_arrival(arrived - sent_at[number])
                append_key(base + number)
                arrivals[number] += 1
            self.delivered += last - first
            self.last_delivery = now
            acked = self.acked[sender]
            if arrivals[acked] >= self.fanout:
                fanout = self.fanout
                for acked in range(acked, self.messages):
                    if arrivals[acked] < fanout:
                        break
                else:
                    acked = self.messages
                self.acked[sender] = acked

    def _error(self, client, what):
        if len(self.errors) < QUOTED_ERRORS:
            self.errors.append('client %d: %s' % (client.index, what))
        else:
            self.errors.append(None)

    def close(self):
        self.selector.close()
        for client in self.clients:
            client.sock.close()


def clock_offset():
    """CLOCK_REALTIME minus CLOCK_MONOTONIC, from the closest of a few paired readings."""
    best = None
    for _ in range(9):
        before = time.monotonic()
        real = time.time()
        after = time.monotonic()
        if best is None or after - before < best[0]:
            best = (after - before, real - (before + after) / 2.0)
    return best[1]

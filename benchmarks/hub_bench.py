"""Load generator for the classroom hub, run beside ``ncat --chat``: is ours better on every axis?

    python benchmarks/hub_bench.py                     # N=100, S=10, M=200, 64 B, flat out
    python benchmarks/hub_bench.py --clients 500
    python benchmarks/hub_bench.py --rate 10           # 10 messages/s per sender
    python benchmarks/hub_bench.py --clients 2000 --senders 1 --messages 1 --no-ncat
    python benchmarks/hub_bench.py --clients 501 --connect-wave 0 --senders 1 --messages 1
    python benchmarks/hub_bench.py --rate 10 --size 4096 --duration 30 --stuck 1

Setup (once per machine; the benchmark's, never the tests'): ``apt-get install -y ncat``
(Debian's ``ncat``, measured with 7.93). Without ncat the script says so and exits 2, unless
``--no-ncat`` runs our hub alone. Linux only: it reads ``/proc``.

One run, per server (ours: ``python -m reference.hub_server --host 127.0.0.1 --port 0 --quiet``,
its port read from its log; ncat: ``ncat -l 127.0.0.1 PORT --chat --max-conns K``):

1. **Text probe.** Two clients; one sends ``你好, 世界`` and then ``\\xff\\xfebad``; the other
   reports what arrived. The lab's spec wants the first byte-exact and the second as U+FFFD.
2. **Connect.** Client 0 connects, then the others in waves of ``--connect-wave`` (0: all at
   once). A wave is registered when client 0 has seen the server announce each of its
   clients (our join notice names the address; ncat's ``<announce> ... is connected as
   <userK>`` line counts), so no client is a "phantom" the server never saw. Then every
   client reads until it has every announcement made after its own join, so the streams
   hold nothing but relays from here on.
3. **Chat.** ``--senders`` S clients send ``--messages`` M messages of ``--size`` bytes each,
   one ``send()`` per message, flat out (``--rate 0``) or at ``--rate`` per sender, spread
   evenly; ``--duration`` sets M from the rate. Flat out, a sender has at most ``--window``
   messages on their way at once (default 1: the next goes as soon as the last one reached
   every other client, a chat going as fast as the server lets it); ``--window 0`` lets
   each sender pour all M into its socket, and the server then reads them in big chunks.
   Every client reads everything, all the time, in one ``selectors`` loop. ``--stuck K``
   runs each server twice, without and then with K more clients that never read.

Judging the streams: a message is ``[s.n]`` padded with ``-`` to its size, and holds neither
``(`` nor ``<``, which begin every relay prefix (ours ``('127.0.0.1', PORT) : ``, ncat's
``<userK> ``). Each receiver splits its stream at the prefixes and credits what follows
each one to that sender; the bytes credited to a sender must be exactly the sender's own
messages, concatenated, in order: that is "every message reached every other client
exactly once, in per-sender order, intact", however the server cut or joined the chunks.
ncat rewrites bytes >= 0x80 as octal escapes, so its completeness can only be judged on
these ASCII messages; the text probe shows what it does to Chinese.

Measured over the chat only (connecting is excluded): completeness; two latencies of each
delivery, p50/p99/max: *latency* runs from the sender's ``send()`` to the receiver's
``recv()`` returning here (one process, one clock), so it includes this generator working
through up to N ready sockets one after another, which N real students' machines would not;
*arrival* runs to the time the kernel stamped on the bytes as they reached the receiving
socket (``SO_TIMESTAMPNS``, the stamp of the last segment a read returned, so never early),
which is the server's share: read, relay, and the loopback hop, split into *pickup* (send
to the message's first arrival anywhere: the server waking, reading, writing once) and
*spread* (first arrival to each arrival: its walk over the recipients); deliveries/s; the
server's CPU (utime+stime from ``/proc/PID/stat``, in clock ticks, and the same from
``/proc/PID/task/*/schedstat`` in ns) per delivery; the server's peak RSS (``VmHWM``); this
generator's own CPU. A Python generator saturates its core before either server does, so
CPU per delivery is the fair comparison, and the server and the generator are pinned to
different cores (``taskset``) when there are two.

Before and after the runs, a probe times one small piece of work over and over for 2 s
and prints how much of that time the machine was slowed more than 4x (a virtual machine's
host taking its CPUs away), since a latency tail measured then is the machine's. During
each chat, the host's *steal* is read from ``/proc/stat``: the time the server's CPU
wanted to run while its host ran something else. A run whose steal reaches 1 % gets a
line saying its tail measures the host (no steal does not prove the host quiet, though:
see ``STEAL_WARNING_PCT``).
On a machine shared with other work, the latency tail measures the scheduler as much as
the servers: ``--nice -10`` or ``--realtime 10`` (root) give the servers and the generator
priority over that work, and ``--repeat R`` alternates R runs of each server and prints the
median of the ratios and each server's arrival p99 and CPU per delivery over its runs
(median, min, max) and each run's p99 beside its steal; ``--p99-target 3`` also counts
the runs at or under 3 ms.
``--hub-program`` measures another build of the hub in the same way.

Bounded: every wait has a deadline (``--timeout`` for the chat, ``--connect-timeout`` for
connecting, fixed ones for starting and stopping), every loop a count. Loopback only.
Prints a table and one JSON line (the last line of the output).
"""

import argparse
import array
import errno
import gc
import json
import os
import re
import resource
import selectors
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOOPBACK = '127.0.0.1'

#: One recv takes at most this much.
RECV_SIZE = 256 * 1024
#: Waiting for a server to listen, or to exit once told to.
START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0
#: The text probe's waits.
PROBE_TIMEOUT = 5.0
#: The chat ends early once nothing arrived for this long after the last send.
STALL_TIMEOUT = 10.0
#: Bytes held back as the start of a prefix: more means the stream is garbage.
MAX_HELD = 1024 * 1024
#: Hard cap on turns of any event loop here (each turn is bounded by a deadline too).
MAX_TURNS = 100 * 1000 * 1000
#: How many mismatches the report quotes.
QUOTED_ERRORS = 5
#: Extra ports ncat and our hub must allow beyond the clients (the probe's two, a margin).
SPARE_CLIENTS = 8

PROBE_CHINESE = '你好, 世界'.encode('utf-8')
PROBE_INVALID = b'\xff\xfebad'

JOIN, LEAVE, RELAY, INFO = 'join', 'leave', 'relay', 'info'

#: Linux's SO_TIMESTAMPNS (socket(7); Python has no name for it): the kernel stamps each
#: segment with the time it reached the socket, and recvmsg returns the stamp of the last
#: segment read as a struct timespec in CLOCK_REALTIME.
SO_TIMESTAMPNS = getattr(socket, 'SO_TIMESTAMPNS', 35)
STAMP = struct.Struct('@qq')
STAMP_SPACE = socket.CMSG_SPACE(STAMP.size) if hasattr(socket, 'CMSG_SPACE') else 0


def fail(message, status=2):
    sys.stderr.write('hub_bench: %s\n' % message)
    sys.exit(status)


# ------------------------------------------------------------------------- wire formats

class HubWire:
    """Our hub: ``('127.0.0.1', PORT) : text``, ``(...)加入了聊天室``, ``(...)已经离开了``."""

    name = 'hub'
    start = b'('
    token = re.compile(rb"\('127\.0\.0\.1', (\d+)\)( : |%s|%s)" % (
        '加入了聊天室'.encode('utf-8'), '已经离开了'.encode('utf-8')))
    kinds = {b' : ': RELAY, '加入了聊天室'.encode('utf-8'): JOIN,
             '已经离开了'.encode('utf-8'): LEAVE}
    #: A newcomer is not told of its own join; ncat tells everyone, the newcomer included.
    self_announced = False

    @classmethod
    def classify(cls, match):
        return cls.kinds[match.group(2)], int(match.group(1))

    @staticmethod
    def relay_of(key, text):
        return ("('127.0.0.1', %d) : " % key).encode('utf-8') + text


class NcatWire:
    """``ncat --chat``: ``<userK> text`` (K is its fd), and ``<announce> ...\\n`` lines."""

    name = 'ncat'
    start = b'<'
    # "<announce> <user5> is disconnected." holds "<user5> " too: not a relay prefix. (The
    # look-behind sits after the "<" so that the engine can skip ahead to each "<" fast.)
    token = re.compile(rb'<(?:(?<!<announce> <)user(\d+)> |announce> ([^\n]*)\n)')
    _joined = re.compile(rb'\S+ is connected as <user(\d+)>\.$')
    _left = re.compile(rb'<user(\d+)> is disconnected\.$')
    self_announced = True

    @classmethod
    def classify(cls, match):
        if match.group(1) is not None:
            return RELAY, int(match.group(1))
        line = match.group(2)
        found = cls._joined.match(line)
        if found:
            return JOIN, int(found.group(1))
        found = cls._left.match(line)
        if found:
            return LEAVE, int(found.group(1))
        return INFO, None          # "already connected: ..."

    @staticmethod
    def relay_of(key, text):
        return b'<user%d> ' % key + text


# ------------------------------------------------------------------------- the servers

def read_proc_cpu(pid):
    """``(ticks, ns)``: utime+stime from /proc/PID/stat, and the tasks' schedstat run time."""
    with open('/proc/%d/stat' % pid, 'rb') as stat:
        fields = stat.read().rsplit(b')', 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])   # utime, stime (fields 14 and 15)
    ns = 0
    try:
        for task in os.listdir('/proc/%d/task' % pid):
            with open('/proc/%d/task/%s/schedstat' % (pid, task), 'rb') as sched:
                ns += int(sched.read().split()[0])
    except OSError:
        ns = None
    return ticks, ns


def read_steal():
    """``{cpu: (steal ticks, all ticks)}`` from /proc/stat, per CPU and for all (``None``).

    Steal is time a virtual CPU wanted to run and its host ran something else: a message
    that reaches a server whose CPU is stolen waits, however fast the server is.
    """
    found = {}
    try:
        with open('/proc/stat') as stat:
            for line in stat:
                if not line.startswith('cpu'):
                    break
                name, *fields = line.split()
                ticks = [int(field) for field in fields[:8]]
                cpu = None if name == 'cpu' else int(name[3:])
                found[cpu] = (ticks[7] if len(ticks) > 7 else 0, sum(ticks))
    except (OSError, ValueError):
        return {}
    return found


def steal_pct(before, after, cpu):
    """Steal as a share of a CPU's time between two ``read_steal()`` readings."""
    if cpu not in before or cpu not in after:
        return None
    steal = after[cpu][0] - before[cpu][0]
    total = after[cpu][1] - before[cpu][1]
    return round(100.0 * steal / total, 2) if total > 0 else None


def read_proc_memory(pid):
    """``{'VmHWM': kB, 'VmRSS': kB}`` from /proc/PID/status."""
    found = {}
    with open('/proc/%d/status' % pid) as status:
        for line in status:
            key = line.split(':', 1)[0]
            if key in ('VmHWM', 'VmRSS'):
                found[key] = int(line.split()[1])
    return found


def cpu_plan(pin):
    """``(server cpu, generator cpu)`` for pinning, or ``(None, None)``."""
    if not pin or not hasattr(os, 'sched_getaffinity'):
        return None, None
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None, None
    return cpus[0], cpus[1]


class ServerProcess:
    """A server as a child process; a thread collects its stderr (a full pipe would stall it)."""

    def __init__(self, argv, server_cpu, niceness=0, realtime=0):
        if server_cpu is not None and shutil.which('taskset'):
            argv = ['taskset', '-c', str(server_cpu)] + argv
        self.argv = argv
        self.lines = []
        self._changed = threading.Condition()
        self.process = subprocess.Popen(argv, cwd=str(ROOT), stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if server_cpu is not None and not shutil.which('taskset'):
            os.sched_setaffinity(self.process.pid, {server_cpu})
        if niceness:
            os.setpriority(os.PRIO_PROCESS, self.process.pid, niceness)
        if realtime:
            os.sched_setscheduler(self.process.pid, os.SCHED_FIFO, os.sched_param(realtime))
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()

    @property
    def pid(self):
        return self.process.pid   # taskset execs the server: same pid

    def _read_stderr(self):
        for raw in self.process.stderr:
            with self._changed:
                self.lines.append(raw.decode('utf-8', 'replace').rstrip('\n'))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def wait_for_line(self, pattern, timeout):
        """The first stderr line matching ``pattern`` (a compiled regex), or None in time."""
        deadline = time.monotonic() + timeout
        with self._changed:
            for _ in range(MAX_TURNS):
                for line in self.lines:
                    if pattern.search(line):
                        return line
                left = deadline - time.monotonic()
                if left <= 0 or self.process.poll() is not None:
                    return None
                self._changed.wait(left)
        return None

    def stop(self, sig=signal.SIGINT):
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_TIMEOUT)
        self._reader.join(STOP_TIMEOUT)


LISTENING = re.compile(r'listening on [^ ]+:(\d+)')


def start_our_hub(max_clients, server_cpu, program=None, niceness=0, realtime=0):
    program = program or [sys.executable, '-m', 'reference.hub_server']
    server = ServerProcess(program + ['--host', LOOPBACK, '--port', '0', '--quiet',
                                      '--max-clients', str(max_clients)], server_cpu,
                           niceness, realtime)
    line = server.wait_for_line(LISTENING, START_TIMEOUT)
    if line is None:
        server.stop()
        fail('our hub did not log "listening on" within %.0f s; its stderr: %r'
             % (START_TIMEOUT, server.lines[-5:]), 1)
    return server, int(LISTENING.search(line).group(1))


def free_port():
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def is_listening(port):
    """True once /proc/net/tcp shows a LISTEN socket on 127.0.0.1:port (no probe connection:
    ncat would count it as a chat client)."""
    wanted = '0100007F:%04X' % port
    with open('/proc/net/tcp') as table:
        for line in table:
            fields = line.split()
            if len(fields) > 3 and fields[1] == wanted and fields[3] == '0A':
                return True
    return False


def start_ncat(max_clients, server_cpu, program=None, niceness=0, realtime=0):
    port = free_port()
    server = ServerProcess(['ncat', '-l', LOOPBACK, str(port), '--chat',
                            '--max-conns', str(max_clients)], server_cpu, niceness, realtime)
    deadline = time.monotonic() + START_TIMEOUT
    for _ in range(int(START_TIMEOUT / 0.01) + 1):
        if is_listening(port):
            return server, port
        if server.process.poll() is not None or time.monotonic() > deadline:
            break
        time.sleep(0.01)   # polling a table the kernel keeps; nothing to wait on instead
    server.stop(signal.SIGTERM)
    fail('ncat did not listen on %s:%d within %.0f s; its stderr: %r'
         % (LOOPBACK, port, START_TIMEOUT, server.lines[-5:]), 1)


TARGETS = {'hub': (HubWire, start_our_hub), 'ncat': (NcatWire, start_ncat)}


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
        self.streams = [b''.join(message_bytes(s, n, self.size) for n in range(messages))
                        for s in range(len(self.senders))]
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
        self.expected = messages * sum(len(readers) - (1 if c in self.senders else 0)
                                       for c in self.senders)
        self.fanout = len(readers) - 1

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
        if client.held:
            data = client.held + data
            client.held = b''
        wire = self.wire
        pos = 0
        for match in wire.token.finditer(data):
            begin = match.start()
            if begin > pos:
                self._content(client, data[pos:begin], now, arrived)
            kind, key = wire.classify(match)
            pos = match.end()
            if kind == RELAY:
                if client.setup:
                    client.cur = None
                    continue
                self.relays += 1
                client.cur = self.sender_of.get(key)
                if client.cur is None:
                    self._error(client, 'a relay from an unknown sender %r' % key)
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
        cut = data.find(wire.start, pos)
        if cut < 0:
            cut = len(data)
        elif len(data) - cut > MAX_HELD:
            self._error(client, 'more than %d bytes without a complete prefix' % MAX_HELD)
            cut = len(data)
        else:
            client.held = data[cut:]
        if cut > pos:
            self._content(client, data[pos:cut], now, arrived)

    def _content(self, client, chunk, now, arrived=None):
        sender = client.cur
        if sender is None:
            client.stray += len(chunk)
            self._error(client, 'bytes outside any relay: %r' % chunk[:80])
            return
        offsets = client.offsets
        offset = offsets[sender]
        if offset < 0:
            return
        if not self.streams[sender].startswith(chunk, offset):
            offsets[sender] = -1
            self._error(client, 'from sender %d at byte %d: %r is not what it sent (%r)' % (
                sender, offset, chunk[:60], self.streams[sender][offset:offset + 60]))
            return
        end = offset + len(chunk)
        offsets[sender] = end
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


def message_bytes(sender, number, size):
    head = b'[%d.%d]' % (sender, number)
    return head + b'-' * (size - len(head))


def percentile(ordered, fraction):
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def ms(seconds):
    return None if seconds is None else round(seconds * 1000.0, 3)


def arrival_parts(latencies, keys):
    """Arrival latency in two parts: *pickup*, from a message's send to its first arrival
    anywhere (the server noticing, reading and writing once), once per message; and
    *spread*, from that first arrival to each one (the server's walk over the recipients).
    """
    first = {}
    for latency, key in zip(latencies, keys):
        if latency < first.get(key, float('inf')):
            first[key] = latency
    spread = [latency - first[key] for latency, key in zip(latencies, keys)]
    return {'arrival_pickup_ms': latency_summary(first.values()),
            'arrival_spread_ms': latency_summary(spread)}


def latency_summary(values):
    """p50, p99, max and min of latencies in seconds, in milliseconds."""
    ordered = sorted(values)
    return {'p50': ms(percentile(ordered, 0.50)), 'p99': ms(percentile(ordered, 0.99)),
            'max': ms(ordered[-1] if ordered else None),
            'min': ms(ordered[0] if ordered else None)}


# ------------------------------------------------------------------------- the machine itself

#: A run whose server CPU had at least this share (%) of its time stolen by the host gets
#: a warning line. Measured here at --rate 10 (ours, the C and the Python floor): every
#: run from ~1 % of steal up (11) missed a 3 ms p99, and at 8-9 % it was 10-17 ms. Below, p99
#: still varied 1.2-3.8 ms: this VM is nested, and its host's host can slow it without
#: the guest seeing steal (the noise probe found 3-5 % of its time slowed 14-51x while
#: /proc/stat counted one tick of steal in 35 s), so no steal does not prove a quiet host.
STEAL_WARNING_PCT = 1.0

#: The noise probe: how long, how much work per chunk, what counts as a slowed chunk.
NOISE_SECONDS = 2.0
NOISE_WORK = 2000
NOISE_SLOW = 4.0


def _noise_chunk():
    total = 0
    for number in range(NOISE_WORK):
        total += number
    return total


def machine_noise(seconds=NOISE_SECONDS):
    """How steady this CPU is on its own: the same small piece of work (~60 us) timed over
    and over for ``seconds``, nothing else running in this benchmark. On a virtual machine
    whose host is busy, every process is slowed many times over for tens of milliseconds at
    a time, and any latency tail measured then is the machine's, not the server's. Returns
    the share of the time spent in chunks slower than ``NOISE_SLOW`` x the median, the
    worst slowdown, and how many such stretches (separated by 100 ms) there were."""
    chunks = []
    deadline = time.perf_counter() + seconds
    for _ in range(MAX_TURNS):
        started = time.perf_counter()
        if started > deadline:
            break
        _noise_chunk()
        chunks.append((started, time.perf_counter() - started))
    if len(chunks) < 10:
        return None
    median = statistics.median(took for _, took in chunks)
    slow = [(when, took) for when, took in chunks if took > NOISE_SLOW * median]
    stretches, last = 0, None
    for when, _ in slow:
        if last is None or when - last > 0.1:
            stretches += 1
        last = when
    return {'seconds': seconds, 'chunk_us': round(median * 1e6, 1),
            'slowed_time_pct': round(100.0 * sum(took for _, took in slow)
                                     / sum(took for _, took in chunks), 2),
            'worst_slowdown': round(max(took for _, took in chunks) / median, 1),
            'slowed_stretches': stretches}


# ------------------------------------------------------------------------- one measured run

def run_target(name, args, stuck):
    wire, start = TARGETS[name]
    max_clients = args.clients + stuck + SPARE_CLIENTS
    server_cpu = args.cpus[0]
    server, port = start(max_clients, server_cpu, args.hub_program if name == 'hub' else None,
                         args.nice, args.realtime)
    result = {'server': name, 'stuck_clients': stuck, 'port': port}
    load = None
    try:
        result['text'] = probe_text(port, wire)
        load = Load(wire, port, args, stuck)
        registered, seconds, worst = load.connect()
        total = args.clients + stuck
        result['registered'] = registered
        result['clients'] = total
        result['connect_s'] = round(seconds, 3)
        result['slowest_wave_s'] = round(worst, 3)
        if registered < total or not load._quiet():
            result['error'] = ('only %d of %d clients registered within %.0f s'
                               % (registered, total, args.connect_timeout))
            result['memory_kb'] = read_proc_memory(server.pid)
            return result
        messages = args.messages if not (args.rate and args.duration) else int(
            round(args.rate * args.duration))
        load.prepare_chat(messages)
        # No garbage collection while chatting: a full pass over the generator's objects
        # would stall it for milliseconds and show up as the server's latency. The chat
        # loop makes no reference cycles, and it is bounded.
        gc.collect()
        gc.disable()
        try:
            steal_before = read_steal()
            cpu_before = read_proc_cpu(server.pid)
            own_before = resource.getrusage(resource.RUSAGE_SELF)
            load.chat()
            cpu_after = read_proc_cpu(server.pid)
            own_after = resource.getrusage(resource.RUSAGE_SELF)
            steal_after = read_steal()
        finally:
            gc.enable()
        result['memory_kb'] = read_proc_memory(server.pid)
        result.update(summarise(load, messages, cpu_before, cpu_after, own_before, own_after))
        result['host_steal_pct'] = {
            'server_cpu': steal_pct(steal_before, steal_after, server_cpu),
            'all_cpus': steal_pct(steal_before, steal_after, None)}
        if stuck:
            result.update(stuck_report(load, server, wire))
    finally:
        if load is not None:
            load.close()
        server.stop(signal.SIGINT if name == 'hub' else signal.SIGTERM)
    result['server_log_tail'] = server.lines[-3:]
    return result


def summarise(load, messages, cpu_before, cpu_after, own_before, own_after):
    tick = os.sysconf('SC_CLK_TCK')
    delivered = load.delivered
    wall = load.chat_ended - load.chat_started
    busy = (load.last_delivery or load.chat_ended) - load.chat_started
    ticks = cpu_after[0] - cpu_before[0]
    ns = None if cpu_after[1] is None else cpu_after[1] - cpu_before[1]
    own = (own_after.ru_utime + own_after.ru_stime) - (own_before.ru_utime + own_before.ru_stime)
    errors = [error for error in load.errors if error is not None]
    return {
        'senders': len(load.senders),
        'messages_per_sender': messages,
        'message_bytes': load.size,
        'rate_per_sender': load.args.rate or 'flat out',
        'window': load.window or None,
        'expected_deliveries': load.expected,
        'delivered': delivered,
        'completeness_pct': round(100.0 * delivered / load.expected, 3) if load.expected else None,
        'corrupt_or_misordered': len(load.errors),
        'errors': errors,
        'latency_ms': latency_summary(load.latencies),
        'arrival_latency_ms': latency_summary(load.arrival_latencies),
        **arrival_parts(load.arrival_latencies, load.arrival_keys),
        'kernel_stamped_reads_pct': (
            round(100.0 * load.stamped / (load.stamped + load.unstamped), 2)
            if load.stamped + load.unstamped else None),
        'deliveries_per_s': round(delivered / busy) if busy > 0 else None,
        'messages_per_relayed_chunk': round(delivered / load.relays, 2) if load.relays else None,
        'chat_s': round(wall, 3),
        'server_cpu_s': round(ticks / tick, 3),
        'server_cpu_us_per_delivery': (
            round(1e6 * ticks / tick / delivered, 3) if delivered else None),
        'server_cpu_us_per_delivery_schedstat': (
            round(ns / 1000.0 / delivered, 3) if delivered and ns is not None else None),
        'generator_cpu_s': round(own, 3),
        'generator_busy_pct': round(100.0 * own / wall, 1) if wall > 0 else None,
        'generator_recvs_per_select': (
            round(load.recvs / load.selects, 2) if load.selects else None),
    }


def stuck_report(load, server, wire):
    observer = load.clients[0]
    if wire.self_announced:   # ncat's user numbers: the stuck ones joined last
        keys = observer.order[-load.stuck_count:]
    else:
        keys = [c.port for c in load.clients if not c.reads]
    seen = [when for when, key in observer.leaves if key in keys]
    dropped_lines = [line for line in server.lines if 'dropped' in line]
    return {'stuck_dropped_after_s': (round(min(seen) - load.chat_started, 3) if seen else None),
            'drop_log_lines': dropped_lines[:3]}


# ------------------------------------------------------------------------- report

def host_steal(result):
    """The host's steal during one run's chat, in % of the server's CPU (else of all CPUs)."""
    steal = result.get('host_steal_pct') or {}
    server = steal.get('server_cpu')
    return server if server is not None else steal.get('all_cpus')


ROWS = [
    ('registered', lambda r: '%s/%s in %.2f s' % (r.get('registered'), r.get('clients'),
                                                  r.get('connect_s', 0))),
    ('completeness %', lambda r: r.get('completeness_pct')),
    ('corrupt/misordered', lambda r: r.get('corrupt_or_misordered')),
    ('latency p50 ms', lambda r: r.get('latency_ms', {}).get('p50')),
    ('latency p99 ms', lambda r: r.get('latency_ms', {}).get('p99')),
    ('latency max ms', lambda r: r.get('latency_ms', {}).get('max')),
    ('arrival p50 ms', lambda r: r.get('arrival_latency_ms', {}).get('p50')),
    ('arrival p99 ms', lambda r: r.get('arrival_latency_ms', {}).get('p99')),
    ('arrival max ms', lambda r: r.get('arrival_latency_ms', {}).get('max')),
    ('  pickup p50/p99 ms', lambda r: '%s / %s' % (
        r.get('arrival_pickup_ms', {}).get('p50'), r.get('arrival_pickup_ms', {}).get('p99'))),
    ('  spread p50/p99 ms', lambda r: '%s / %s' % (
        r.get('arrival_spread_ms', {}).get('p50'), r.get('arrival_spread_ms', {}).get('p99'))),
    ('host steal % of server CPU', host_steal),
    ('deliveries/s', lambda r: r.get('deliveries_per_s')),
    ('messages per relayed chunk', lambda r: r.get('messages_per_relayed_chunk')),
    ('server CPU s', lambda r: r.get('server_cpu_s')),
    ('server CPU us/delivery', lambda r: r.get('server_cpu_us_per_delivery')),
    ('  (schedstat)', lambda r: r.get('server_cpu_us_per_delivery_schedstat')),
    ('server peak RSS MB', lambda r: round(r['memory_kb']['VmHWM'] / 1024.0, 1)
     if r.get('memory_kb', {}).get('VmHWM') else None),
    ('generator CPU s (busy %)', lambda r: '%s (%s)' % (r.get('generator_cpu_s'),
                                                        r.get('generator_busy_pct'))),
    ('Chinese byte-exact', lambda r: r.get('text', {}).get('chinese', {}).get('exact')),
    ('invalid UTF-8 -> U+FFFD', lambda r: r.get('text', {}).get('invalid_utf8', {}).get('exact')),
    ('stuck dropped after s', lambda r: r.get('stuck_dropped_after_s', '-')
     if r.get('stuck_clients') else '-'),
    ('error', lambda r: r.get('error', '')),
]


def ratio(ours, theirs, key):
    a, b = key(ours), key(theirs)
    if not isinstance(a, (int, float)) or not isinstance(b, (int, float)) or not b:
        return None
    return round(a / b, 3)


RATIOS = {
    'server_cpu_us_per_delivery': lambda r: r.get('server_cpu_us_per_delivery'),
    'server_cpu_us_per_delivery_schedstat':
        lambda r: r.get('server_cpu_us_per_delivery_schedstat'),
    'latency_p99': lambda r: r.get('latency_ms', {}).get('p99'),
    'latency_p50': lambda r: r.get('latency_ms', {}).get('p50'),
    'arrival_p99': lambda r: r.get('arrival_latency_ms', {}).get('p99'),
    'deliveries_per_s': lambda r: r.get('deliveries_per_s'),
    'peak_rss': lambda r: r.get('memory_kb', {}).get('VmHWM'),
}


def print_table(results):
    names = list(results)
    width = max(18, max(len(n) for n in names) + 2)
    print('%-26s' % '' + ''.join('%*s' % (width, n) for n in names))
    for label, get in ROWS:
        cells = []
        for name in names:
            try:
                value = get(results[name])
            except (KeyError, TypeError, ZeroDivisionError):
                value = None
            cells.append('%*s' % (width, '' if value is None else value))
        print('%-26s' % label + ''.join(cells))
    for error_list in (r.get('errors') for r in results.values()):
        for error in error_list or []:
            print('  ! %s' % error)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--clients', type=int, default=100,
                        help='N clients, all reading (default 100)')
    parser.add_argument('--senders', type=int, default=10, help='S of them send (default 10)')
    parser.add_argument('--messages', type=int, default=200, help='M messages each (default 200)')
    parser.add_argument('--size', type=int, default=64, help='bytes per message (default 64)')
    parser.add_argument('--rate', type=float, default=0.0,
                        help='messages/s per sender; 0 (default): flat out')
    parser.add_argument('--window', type=int, default=1,
                        help='flat out: messages per sender on their way at once (sent, not '
                             'yet received by every other client); 0: no limit, each sender '
                             'pours all M into its socket (default 1)')
    parser.add_argument('--duration', type=float, default=0.0,
                        help='with --rate: chat this many seconds (sets M = rate x duration)')
    parser.add_argument('--stuck', type=int, default=0,
                        help='also run with this many clients that never read (default 0)')
    parser.add_argument('--connect-wave', type=int, default=8,
                        help='clients connecting at once (0: all at once; default 8, since '
                             "ncat's listen backlog is 10)")
    parser.add_argument('--connect-timeout', type=float, default=60.0,
                        help='seconds to connect and register everyone (default 60)')
    parser.add_argument('--timeout', type=float, default=60.0,
                        help='seconds the chat may take beyond its schedule (default 60)')
    parser.add_argument('--no-ncat', action='store_true', help='run our hub alone')
    parser.add_argument('--ncat-only', action='store_true', help='run ncat alone')
    parser.add_argument('--hub-program', nargs='+', metavar='ARG',
                        help='run this instead of `python -m reference.hub_server` (it gets '
                             '--host, --port 0, --quiet and --max-clients, and must log '
                             '"listening on HOST:PORT" to stderr), e.g. a variant under test')
    parser.add_argument('--no-pin', action='store_true', help='do not pin to separate cores')
    parser.add_argument('--spin', action='store_true',
                        help='the generator polls its sockets without ever sleeping, so that '
                             'its own wake-up delay (long on a virtual machine) is not counted '
                             'as the server\'s latency; it then shows 100%% busy')
    parser.add_argument('--nice', type=int, default=0, metavar='N',
                        help='run both servers and the generator at this niceness (e.g. -10, '
                             'needs root), so that other work on a shared machine does not '
                             'preempt them and turn the latency tail into a measure of that')
    parser.add_argument('--realtime', type=int, default=0, metavar='PRIORITY',
                        help='run both servers and the generator under SCHED_FIFO at this '
                             'priority (1-99, needs root): on a machine busy with other work, '
                             'this measures the servers rather than the scheduler. Flat out, '
                             'they then hold two cores for the length of the run')
    parser.add_argument('--repeat', type=int, default=1, help='runs per server, alternating')
    parser.add_argument('--p99-target', type=float, metavar='MS',
                        help='with --repeat: count the runs whose arrival p99 is at most this')
    args = parser.parse_args(argv)
    if args.p99_target is not None and args.p99_target <= 0:
        fail('--p99-target must be a positive number of milliseconds')
    if not sys.platform.startswith('linux'):
        fail('Linux only (it reads /proc)')
    if not 1 <= args.senders <= args.clients or args.messages < 1 or not 1 <= args.repeat <= 20:
        fail('need 1 <= --senders <= --clients, --messages >= 1, 1 <= --repeat <= 20')
    if min(args.window, args.stuck, args.connect_wave, args.rate, args.duration) < 0:
        fail('--window, --stuck, --connect-wave, --rate and --duration cannot be negative')
    if args.size < len(message_bytes(args.senders, max(args.messages, 1) * 10, 0)) + 1:
        fail('--size %d is too small for the tags [s.n]' % args.size)
    if args.duration and not args.rate:
        fail('--duration needs --rate')
    if not args.no_ncat and shutil.which('ncat') is None:
        fail('ncat is not installed: `apt-get install -y ncat` (Debian/Ubuntu), '
             'or pass --no-ncat to run our hub alone')
    raise_fd_limit(args.clients + args.stuck + SPARE_CLIENTS + 64)
    if args.nice:
        os.setpriority(os.PRIO_PROCESS, 0, args.nice)
    if args.realtime:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(args.realtime))
    args.cpus = cpu_plan(not args.no_pin)     # before this process pins itself
    if args.cpus[1] is not None:
        os.sched_setaffinity(0, {args.cpus[1]})
    names = ([] if args.ncat_only else ['hub']) + ([] if args.no_ncat else ['ncat'])
    results = {}
    noise = {'before': machine_noise()}
    for number in range(args.repeat):
        for name in names:
            for stuck in ([0, args.stuck] if args.stuck else [0]):
                label = name + ('+stuck' if stuck else '') + (
                    '#%d' % (number + 1) if args.repeat > 1 else '')
                sys.stderr.write('hub_bench: running %s ...\n' % label)
                results[label] = run_target(name, args, stuck)
    noise['after'] = machine_noise()
    print_table(results)
    for when, probe in noise.items():
        if probe:
            print('machine noise %-6s %5.2f %% of %.0f s slowed > %.0fx (worst %.0fx, %d stretches)'
                  % (when, probe['slowed_time_pct'], probe['seconds'], NOISE_SLOW,
                     probe['worst_slowdown'], probe['slowed_stretches']))
    for label, result in results.items():
        steal = host_steal(result)
        if steal is not None and steal >= STEAL_WARNING_PCT:
            print("host steal: the host took %.2f %% of %s's CPU during the chat; its latency "
                  'tail measures the host as much as the server' % (steal, label))
    ratios = {}
    for label in results:
        if label.startswith('hub'):
            other = 'ncat' + label[3:]
            if other in results:
                ratios['%s/%s' % (label, other)] = {
                    key: ratio(results[label], results[other], get) for key, get in RATIOS.items()}
    if args.stuck:
        for name in names:
            if name in results and name + '+stuck' in results:
                ratios['%s+stuck/%s p99' % (name, name)] = ratio(
                    results[name + '+stuck'], results[name], RATIOS['latency_p99'])
    if args.repeat > 1:
        ratios['median'] = median_ratios(ratios)
    for key, value in ratios.items():
        print('ratio %s: %s' % (key, value))
    over_runs = {}
    if args.repeat > 1:
        for name in names:
            over_runs[name] = summary_over_runs(
                [result for label, result in results.items()
                 if label.split('#')[0] == name], args.p99_target)
            print('%s over %d runs: %s' % (name, args.repeat, over_runs[name]))
    print(json.dumps({'benchmark': 'hub_relay', 'python': sys.version.split()[0],
                      'params': vars(args), 'machine_noise': noise,
                      'results': results, 'ratios': ratios, 'over_runs': over_runs},
                     ensure_ascii=False))
    return 0


def summary_over_runs(runs, p99_target=None):
    """Median, min and max of one server's arrival p99, CPU per delivery and host steal
    over its runs, each run's p99 beside its steal, and with ``p99_target`` (ms) how many
    runs met it: a latency tail on a noisy machine is judged over runs, not from one."""
    summary = {}
    p99_steal = [(RATIOS['arrival_p99'](run), host_steal(run)) for run in runs]
    p99_steal = [(p99, steal) for p99, steal in p99_steal if p99 is not None]
    p99s = [p99 for p99, _ in p99_steal]
    cpus = [value for value in map(RATIOS['server_cpu_us_per_delivery'], runs)
            if value is not None]
    steals = [value for value in map(host_steal, runs) if value is not None]
    for key, values in (('arrival_p99_ms', p99s), ('cpu_us_per_delivery', cpus),
                        ('host_steal_pct', steals)):
        if values:
            summary[key] = {'median': round(statistics.median(values), 3),
                            'min': min(values), 'max': max(values)}
    summary['p99_ms_at_steal_pct'] = ['%g at %s' % pair for pair in p99_steal]
    if p99_target is not None:
        summary['runs_meeting_p99_target'] = '%d of %d (<= %g ms)' % (
            sum(value <= p99_target for value in p99s), len(p99s), p99_target)
    return summary


def median_ratios(ratios):
    """The median of each hub/ncat ratio over the repeated runs."""
    found = {}
    for label, values in ratios.items():
        if isinstance(values, dict) and '/ncat' in label and '+stuck' not in label:
            for key, value in values.items():
                if value is not None:
                    found.setdefault(key, []).append(value)
    return {key: round(statistics.median(values), 3) for key, values in found.items()}


def raise_fd_limit(needed):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= needed:
        return
    target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    if target < needed:
        fail('need %d file descriptors, the hard limit is %d (ulimit -Hn)' % (needed, hard))


if __name__ == '__main__':
    sys.exit(main())

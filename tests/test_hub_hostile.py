"""The hub against a student who tries things (issue 15): terminal injection, forged lines,
floods, one address taking the room, silence, bad addresses, running out of files.

Each attack is played with real sockets against the hub in-process on 127.0.0.1:0 (or, for
the file limit, as a child process), and each test ends with the room still working.
"""
import re
import socket
import sys
import threading
import time

import pytest

from grader import timeouts
from grader.peers import Peer, pump
from classroom import sanitize
from classroom.core import KEEPALIVE_IDLE, KEEPALIVE_INTERVAL, KEEPALIVE_PROBES
from classroom.hub_server import (
    IDLE_NOTICE, JOIN_NOTICE, LEAVE_NOTICE, NOT_ALLOWED_NOTICE, PER_ADDRESS_NOTICE,
    HubServer, serve_in_thread,
)
from tests.conftest import listening_port
from tests.test_hub_server import enter_room, joined, left, relay
from tests.test_sanitize import ATTACKS

try:
    import resource
except ImportError:
    resource = None


def prefix_of(peer):
    return relay(peer, '').encode('utf-8')


def still_chatting(speaker, listener, text='还在吗? still here?'):
    speaker.send(text)
    listener.wait_for(relay(speaker, text))


def from_address(ip, port, **options):
    """A Peer whose connection comes from ``ip`` (a loopback alias such as 127.0.0.2)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((ip, 0))
    except OSError as error:
        sock.close()
        pytest.skip('cannot use the loopback alias %s here: %s' % (ip, error))
    sock.settimeout(timeouts.SHORT)
    sock.connect(('127.0.0.1', port))
    return Peer(sock, 'client', options.get('filler'))


@pytest.fixture
def hub(log):
    with serve_in_thread(HubServer(port=0, log=log.append)) as running:
        yield running


# ---------------------------------------------------------------------------------------
# Terminal injection and forged lines


def test_no_escape_sequence_or_control_reaches_another_terminal(hub, peers):
    a, b = enter_room(hub, peers, 2)
    for name in sorted(ATTACKS):
        marker = '<end of %s>' % name
        a.send(ATTACKS[name])
        a.send(marker)
        b.wait_for(marker)
    text = b.received.decode('utf-8')
    obeyed = [hex(ord(c)) for c in text if c in sanitize.UNSAFE_CHARACTERS]
    assert obeyed == [], 'characters a terminal would obey reached b'
    assert '\\x1b]52;c;' in text and '\\x1b[6n' in text, 'shown as visible escapes'
    still_chatting(b, a)


FORGERIES = [
    "hi\n('127.0.0.1', 9999) : I am the teacher",
    "\r\x1b[2K('127.0.0.1', 9999) : I am the teacher",
    "ok\n{victim}已经离开了",
    "\n聊天室已满(最多200人), 请稍后再试",
    "\n\n\n('127.0.0.1', 1) : blank lines first",
    "a\u2028('127.0.0.1', 9999) : line separator",
    "a\x0b\x0c('127.0.0.1', 9999) : vertical tab",
]


def test_no_client_can_start_a_line_that_is_not_its_own(hub, peers):
    a, victim, b = enter_room(hub, peers, 3)
    before = len(b.received)
    for number, forgery in enumerate(FORGERIES, 1):
        a.send(forgery.format(victim=victim.addr))
        a.send('<done>')
        b.wait_for('<done>', count=number)
    stream = bytes(b.received[before:])
    # Wherever a line starts (after a newline, or at the start of a relay), a's prefix.
    for line in stream.split(b'\n'):
        if line:
            assert line.startswith(prefix_of(a)), line
    assert b'\r' not in stream
    assert ('%s : ok\n%s%s' % (a.addr, prefix_of(a).decode(), left(victim))).encode() in stream
    still_chatting(victim, b)


def test_chinese_and_emoji_on_several_lines_stay_byte_for_byte(hub, peers):
    a, b = enter_room(hub, peers, 2)
    text = '第一行 \U0001f600\n第二行 \U0001f468\u200d\U0001f469\u200d\U0001f467 中文'
    a.send(text)
    b.wait_for(prefix_of(a) + '第一行 \U0001f600\n'.encode('utf-8') + prefix_of(a)
               + '第二行 \U0001f468\u200d\U0001f469\u200d\U0001f467 中文'.encode('utf-8'))


@pytest.mark.slow
def test_a_mebibyte_message_keeps_one_prefix_even_when_its_reading_is_paused(peers):
    big = 1024 * 1024
    # 512 KiB/s after 128 KiB: the hub pauses reading it several times on the way.
    server = HubServer(port=0, read_rate=512 * 1024, read_burst=128 * 1024,
                       out_buffer_limit=4 * big)
    with serve_in_thread(server) as hub:
        a, b, c = enter_room(hub, peers, 3, filler=b'x')
        a.send(b'x' * (big - 3) + '完'.encode('utf-8'))
        pump([b, c], lambda peer: '完'.encode('utf-8') in peer.received, timeout=timeouts.LONG,
             what='1 MiB')
        for peer in (b, c):
            assert peer.filler_count == big - 3
            # One prefix, and one more after anything else broadcast in the middle of it
            # (a stray connection's join or departure, say): never one per read.
            tail = bytes(peer.received[peer.received.index(prefix_of(a)):])
            notices = tail.count(JOIN_NOTICE.format(addr='').encode('utf-8')) + tail.count(
                LEAVE_NOTICE.format(addr='').encode('utf-8'))
            assert tail.count(prefix_of(a)) == 1 + notices, tail[-300:]
        still_chatting(b, a)


def test_a_message_after_a_big_one_keeps_its_own_prefix(peers):
    with serve_in_thread(HubServer(port=0)) as hub:
        a, b = enter_room(hub, peers, 2, filler=b'x')
        a.send(b'x' * 8000)
        pump([b], lambda peer: peer.filler_count >= 8000, what='8000 x')
        a.send('hello')
        b.wait_for(relay(a, 'hello'))


# ---------------------------------------------------------------------------------------
# Floods: the hub reads less from the flooder


class TerminalReader(threading.Thread):
    """Reads at about ``rate`` bytes/s, as a terminal printing the chat would, and notes
    when each tagged message arrived. Pacing is the point here (it plays a slow reader),
    so it waits between reads; no test synchronises on it."""

    def __init__(self, peer, rate, until):
        super().__init__(daemon=True)
        self.peer, self.rate, self.until = peer, rate, until
        self.arrived = {}           # tag -> monotonic time it was first seen
        self.total = 0
        self.closed = False

    def run(self):
        sock = self.peer.sock
        sock.settimeout(timeouts.SOCKET)
        started = time.monotonic()
        tail = b''
        for _ in range(10 ** 6):
            now = time.monotonic()
            if now > self.until:
                return
            ahead = self.total / self.rate - (now - started)
            if ahead > 0:
                time.sleep(min(ahead, 0.05))
                continue
            try:
                data = sock.recv(16 * 1024)
            except socket.timeout:
                continue
            except OSError:
                data = b''
            if not data:
                self.closed = True
                return
            self.total += len(data)
            window = tail + data
            for tag in re.findall(rb'<normal (\d+)>', window):
                self.arrived.setdefault(int(tag), time.monotonic())
            tail = window[-32:]


@pytest.mark.slow
def test_a_flooder_for_six_seconds_leaves_a_terminal_speed_reader_connected(peers, log):
    flood_seconds = 6.0
    server = HubServer(port=0, log=log.append)      # the hub's defaults
    with serve_in_thread(server) as hub:
        flooder, normal, reader = enter_room(hub, peers, 3)
        until = time.monotonic() + flood_seconds
        terminal = TerminalReader(reader, rate=1024 * 1024, until=until + 1.0)
        terminal.start()
        stop = threading.Event()

        def flood():
            flooder.sock.settimeout(0.2)
            block = b'F' * 65536
            for _ in range(10 ** 6):
                if stop.is_set() or time.monotonic() > until:
                    return
                try:
                    flooder.sock.send(block)
                except socket.timeout:
                    continue            # the hub reads less from us: our sends wait
                except OSError:
                    return

        flooding = threading.Thread(target=flood, daemon=True)
        flooding.start()
        sent_at = {}
        for number in range(int(flood_seconds / 0.5)):
            sent_at[number] = time.monotonic()
            normal.send('<normal %d>' % number)
            stop.wait(0.5)              # a student typing every half second
        flooding.join(timeouts.SHORT)
        stop.set()
        terminal.join(timeouts.LONG)

        assert not terminal.closed, 'the reader was dropped: %r' % log[-3:]
        assert not any('dropped' in line for line in log), log
        late = {n: terminal.arrived.get(n, float('inf')) - sent_at[n] for n in sent_at}
        assert max(late.values()) < 1.0, 'normal messages took %s s' % late
        online = hub.call(hub.server.client_addresses)
        assert all(peer.address in online for peer in (flooder, normal, reader)), 'nobody left'
        still_chatting(normal, flooder)


@pytest.mark.slow
def test_the_hub_reads_less_from_a_client_over_its_rate_and_loses_nothing(peers):
    server = HubServer(port=0, read_rate=256 * 1024, read_burst=64 * 1024)
    with serve_in_thread(server) as hub:
        a, b = enter_room(hub, peers, 2, filler=b'x')
        size = 320 * 1024
        started = time.monotonic()
        a.send(b'x' * size + b'<end>')
        b.wait_for('<end>', timeout=timeouts.LONG)
        took = time.monotonic() - started
        assert b.filler_count == size
        # 64 KiB at once, then 256 KiB at 256 KiB/s: about a second, never much less.
        assert took > 0.9, 'read at %.0f KiB/s' % (size / took / 1024)


# ---------------------------------------------------------------------------------------
# Places: a cap per address, allow and deny, silence, keepalive


def test_max_per_address_refuses_the_surplus_while_another_address_gets_in(peers):
    log = []
    with serve_in_thread(HubServer(port=0, max_per_address=2, log=log.append)) as hub:
        a, b = enter_room(hub, peers, 2)
        surplus = peers.connect(hub.port)
        surplus.wait_for_eof()
        assert bytes(surplus.received) == PER_ADDRESS_NOTICE.format(
            max_per_address=2).encode('utf-8')
        assert '%s refused: too many from one address (2 online from 127.0.0.1, at most 2)' % (
            surplus.addr) in log
        other = from_address('127.0.0.2', hub.port)
        peers._peers.append(other)
        a.wait_for(joined(other))
        still_chatting(other, a)
        b.send('q')
        a.wait_for(left(b))
        again = peers.connect(hub.port)            # 127.0.0.1 has a place again
        a.wait_for(joined(again))


def test_deny_and_allow_lists(peers):
    log = []
    server = HubServer(port=0, allow=['127.0.0.0/30'], deny=['127.0.0.2'], log=log.append)
    with serve_in_thread(server) as hub:
        a = peers.connect(hub.port)
        for ip in ('127.0.0.2', '127.0.0.5'):      # denied; not in the allowed network
            outsider = from_address(ip, hub.port)
            peers._peers.append(outsider)
            outsider.wait_for_eof()
            assert bytes(outsider.received) == NOT_ALLOWED_NOTICE.encode('utf-8')
            assert '%s refused: address not allowed (--allow/--deny)' % outsider.addr in log
        insider = from_address('127.0.0.3', hub.port)
        peers._peers.append(insider)
        a.wait_for(joined(insider))
        still_chatting(insider, a)


def test_a_silent_client_is_told_and_closed_after_the_idle_timeout(peers):
    log = []
    with serve_in_thread(HubServer(port=0, idle_timeout=0.4, log=log.append)) as hub:
        talker, silent = enter_room(hub, peers, 2)
        joined_at = time.monotonic()
        for _ in range(6):                 # the talker talks, the silent one only listens
            talker.send('tick')
            silent.wait_for(relay(talker, 'tick'))
            threading.Event().wait(0.1)
        silent.wait_for_eof()
        gone_after = time.monotonic() - joined_at
        assert IDLE_NOTICE.format(seconds=0.4).encode('utf-8') in silent.received
        assert 0.4 <= gone_after < 0.4 + timeouts.SHORT
        assert any(line.startswith('%s left (idle: nothing sent for 0.4 s)' % silent.addr)
                   for line in log), log
        assert talker.address in hub.call(hub.server.client_addresses), 'the talker stays'


def test_no_idle_timeout_by_default():
    assert HubServer().idle_timeout is None


@pytest.mark.skipif(not hasattr(socket, 'TCP_KEEPIDLE'), reason='Linux keepalive options')
def test_every_client_gets_keepalive_of_about_two_minutes(hub, peers):
    a, b = enter_room(hub, peers, 2)

    def options():
        conn = next(conn for conn in hub.server.clients if conn.addr == a.address)
        sock = conn.transport.get_extra_info('socket')
        return [sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE)] + [
            sock.getsockopt(socket.IPPROTO_TCP, name)
            for name in (socket.TCP_KEEPIDLE, socket.TCP_KEEPINTVL, socket.TCP_KEEPCNT)]

    assert hub.call(options) == [1, KEEPALIVE_IDLE, KEEPALIVE_INTERVAL, KEEPALIVE_PROBES]
    assert 90 <= KEEPALIVE_IDLE + KEEPALIVE_INTERVAL * KEEPALIVE_PROBES <= 150


# ---------------------------------------------------------------------------------------
# Out of file descriptors

#: The child's limit on open files: stdio, the loop's own, the listener, a few clients.
FILE_LIMIT = 24

LIMITED_HUB = '''
import resource
import sys
resource.setrlimit(resource.RLIMIT_NOFILE, (%d, %d))
from classroom.hub_server import main
sys.exit(main(sys.argv[1:]))
''' % (FILE_LIMIT, FILE_LIMIT)


@pytest.mark.slow
@pytest.mark.skipif(resource is None or sys.platform != 'linux', reason='RLIMIT_NOFILE, Linux')
def test_out_of_files_is_logged_once_a_second_and_the_room_goes_on(spawn, crowd_sockets):
    server = spawn('-c', LIMITED_HUB, '--host', '127.0.0.1', '--port', '0', '--quiet',
                   '--max-per-ip', '0')
    port = listening_port(server)
    a = Peer.connect(port)
    b = Peer.connect(port)
    try:
        a.wait_for(joined(b))
        # Many more than the limit: the hub runs out of descriptors for newcomers.
        crowd_sockets(port, 3 * FILE_LIMIT)
        server.wait_for(OUT_OF_FILES, stream='stderr')
        watched = 3.0
        deadline = time.monotonic() + watched
        for number in range(1000):                # the room chats while newcomers pile up
            if time.monotonic() > deadline:
                break
            still_chatting(a, b, 'm%d' % number)
        lines = OUT_OF_FILES.findall(server.stderr.text)
        # The first line, then at most one a second (and one more for timing's sake).
        assert 1 <= len(lines) <= watched + 2, server.stderr.text[-2000:]
        # And the hub does not keep trying in a loop (asyncio's own accepts multiplied
        # their retries: 4,065 tries in the first second, 24,576 in the third).
        tries = [int(n) for n in TRIES.findall(server.stderr.text)]
        assert max(tries) <= 100, tries
        assert server.proc.poll() is None, 'the hub died'
        still_chatting(b, a, 'the hub is alive')
    finally:
        a.sock.close()
        b.sock.close()


OUT_OF_FILES = re.compile('cannot accept newcomers: .*Too many open files')
TRIES = re.compile(r'cannot accept newcomers: .*\(tried (\d+) times since the last line\)')


@pytest.fixture
def crowd_sockets():
    socks = []

    def connect(port, count):
        for _ in range(count):
            sock = socket.socket()
            sock.setblocking(False)
            sock.connect_ex(('127.0.0.1', port))
            socks.append(sock)

    yield connect
    for sock in socks:
        sock.close()

"""The hub under a whole class and under abuse: many clients, bursts, bad peers, bad bytes.

Each test runs the hub in-process on 127.0.0.1:0 and plays hundreds of clients from this
thread. Nothing sleeps: a test waits for the hub's own log lines (``... joined; N online``,
``... left (...)``) through :class:`RoomLog`, or for bytes at its peers through ``pump``,
each with a deadline. Every test ends the same way: the hub is still up, and a message
reaches every client that behaved.
"""
import os
import re
import selectors
import socket
import threading
import time

import pytest

from grader import timeouts
from grader.peers import Peer, pump
from classroom.hub_server import (
    FULL_NOTICE,
    JOIN_NOTICE,
    LEAVE_NOTICE,
    RELAY,
    HubServer,
    serve_in_thread,
)
from tests.conftest import ReadRecorder

try:
    import resource
except ImportError:  # Windows: no RLIMIT_NOFILE, and no per-process limit this low either
    resource = None

#: Deadline for a crowd to connect and be registered, or to leave (generous for a loaded CI).
CROWD = 20.0
#: The issue's bar for 500 clients connecting at once.
BURST_BAR = 2.0

_JOINED = re.compile(r"^(\(.*\)) joined; (\d+) online$")
_LEFT = re.compile(r"^(\(.*\)) left \((.*)\); (\d+) online$")
_REFUSED = re.compile(r"^(\(.*\)) refused: room full")

#: Every test here runs with both of the servers' ways of writing (see write_path).
pytestmark = pytest.mark.usefixtures('write_path')


class RoomLog:
    """A hub's ``log``: keeps every line and who is online, and lets a test wait for a state.

    Called on the hub's thread; waited on from the test's, through one Condition.
    """

    def __init__(self):
        self.lines = []
        self.online = set()      # labels, e.g. "('127.0.0.1', 51234)"
        self.joined = 0
        self.left = {}           # label -> reason
        self.refused = []
        self._changed = threading.Condition()

    def __call__(self, line):
        with self._changed:
            self.lines.append(line)
            joined, left, refused = _JOINED.match(line), _LEFT.match(line), _REFUSED.match(line)
            if joined:
                self.joined += 1
                self.online.add(joined.group(1))
            elif left:
                self.online.discard(left.group(1))
                self.left[left.group(1)] = left.group(2)
            elif refused:
                self.refused.append(refused.group(1))
            self._changed.notify_all()

    def wait_until(self, condition, what, timeout=CROWD):
        deadline = time.monotonic() + timeout
        with self._changed:
            while not condition():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError('waited %.1f s for %s; the hub has %d online, '
                                         'last lines: %r' % (timeout, what, len(self.online),
                                                             self.lines[-5:]))
                self._changed.wait(remaining)

    def wait_online(self, peers, timeout=CROWD):
        """Wait until exactly these peers are online (no more, no fewer, no phantom)."""
        wanted = {peer.addr for peer in peers}
        self.wait_until(lambda: self.online == wanted,
                        '%d given clients online, and nobody else' % len(wanted), timeout)


@pytest.fixture
def crowd():
    """``crowd.connect(port, count)`` connects many peers at once; all closed at teardown."""
    group = Crowd()
    yield group
    group.close_all()


class Crowd:
    def __init__(self):
        self.peers = []

    def connect(self, port, count, **options):
        """``count`` connections started together (non-blocking), then waited for."""
        socks = []
        try:
            for _ in range(count):
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                socks.append(sock)
                if options.get('receive_buffer'):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, options['receive_buffer'])
                sock.setblocking(False)
                sock.connect_ex(('127.0.0.1', port))
            _wait_connected(socks)
        except BaseException:
            for sock in socks:
                sock.close()
            raise
        peers = [Peer(sock, 'client', options.get('filler')) for sock in socks]
        for sock in socks:
            sock.setblocking(True)
            sock.settimeout(timeouts.SOCKET)
        self.peers.extend(peers)
        return peers

    def close_all(self):
        for peer in self.peers:
            peer.sock.close()
        del self.peers[:]


def _wait_connected(socks, timeout=CROWD):
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        for sock in socks:
            selector.register(sock, selectors.EVENT_WRITE)
        pending = len(socks)
        while pending:
            remaining = deadline - time.monotonic()
            assert remaining > 0, '%d of %d connections still pending after %.0f s' % (
                pending, len(socks), timeout)
            for key, _ in selector.select(remaining):
                error = key.fileobj.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                assert error == 0, 'a connection failed: %s' % os.strerror(error)
                selector.unregister(key.fileobj)
                pending -= 1


@pytest.fixture
def enough_fds():
    """``enough_fds(count)``: raise this process's soft limit on open files to ``count``
    (both ends of every connection live in this process), or skip if the hard limit is lower.

    Request it before ``crowd``, so that the crowd is closed before the limit comes back.
    """
    if resource is None:
        yield lambda count: None
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)

    def ensure(count):
        if soft != resource.RLIM_INFINITY and soft >= count:
            return
        if hard != resource.RLIM_INFINITY and hard < count:
            pytest.skip('needs %d open files, but the hard limit is %d (ulimit -Hn)'
                        % (count, hard))
        resource.setrlimit(resource.RLIMIT_NOFILE, (count, hard))

    yield ensure
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def relay(peer, text):
    return RELAY.format(addr=peer.addr, text=text).encode('utf-8')


def left(peer):
    return LEAVE_NOTICE.format(addr=peer.addr).encode('utf-8')


def everyone_hears(speaker, listeners, text, timeout=timeouts.LONG):
    """``speaker`` says ``text``; every listener must get it, and the speaker must not."""
    speaker.send(text)
    wanted = relay(speaker, text)
    pump(listeners, lambda peer: wanted in peer.received, timeout=timeout,
         what='%r from %r' % (text, speaker))


_PREFIX = re.compile(rb"\('127\.0\.0\.1', (\d+)\) : ")
_NOTICE = re.compile(rb"\('127\.0\.0\.1', \d+\)(?:%s|%s)" % (
    JOIN_NOTICE.format(addr='').encode('utf-8'), LEAVE_NOTICE.format(addr='').encode('utf-8')))


def text_by_sender(stream):
    """``{sender port: bytes}``: the relayed text of each sender, prefixes removed, in order.

    Only for streams whose texts never look like a prefix or a notice.
    """
    stream = _NOTICE.sub(b'', bytes(stream))
    found = {}
    prefixes = list(_PREFIX.finditer(stream))
    assert not prefixes or prefixes[0].start() == 0, 'bytes before the first relay: %r' % (
        stream[:80],)
    for index, prefix in enumerate(prefixes):
        end = prefixes[index + 1].start() if index + 1 < len(prefixes) else len(stream)
        port = int(prefix.group(1))
        found[port] = found.get(port, b'') + stream[prefix.end():end]
    return found


# ---------------------------------------------------------------------------------------
# Many clients


@pytest.mark.slow
def test_a_thousand_connections_are_held_and_all_hear_one_message(enough_fds, crowd):
    enough_fds(2 * 1000 + 100)
    room = RoomLog()
    with serve_in_thread(HubServer(port=0, max_clients=1000, log=room)) as hub:
        clients = []
        for _ in range(4):               # 4 bursts of 250
            clients += crowd.connect(hub.port, 250)
        room.wait_online(clients)
        assert hub.call(lambda: hub.server.client_count) == 1000
        everyone_hears(clients[0], clients[1:], 'hello, all 999 of you')
        everyone_hears(clients[-1], clients[:-1], '最后一个人说话了')


def test_five_hundred_clients_connecting_at_once_are_all_registered_quickly(enough_fds, crowd):
    """A whole class at the same second: no phantom connection (one the hub never saw)."""
    enough_fds(2 * 501 + 100)
    room = RoomLog()
    with serve_in_thread(HubServer(port=0, max_clients=600, log=room)) as hub:
        started = time.monotonic()
        clients = crowd.connect(hub.port, 500)
        room.wait_online(clients)
        took = time.monotonic() - started
        assert sorted(hub.call(hub.server.client_addresses)) == sorted(c.address for c in clients)
        assert took < BURST_BAR, 'registering 500 took %.2f s' % took
        everyone_hears(clients[123], clients[:123] + clients[124:], 'everyone here?')


def test_five_hundred_connect_disconnect_cycles_leave_nothing_behind(enough_fds, crowd, peers):
    enough_fds(2 * 60 + 100)
    room = RoomLog()
    with serve_in_thread(HubServer(port=0, log=room)) as hub:
        watcher = peers.connect(hub.port)
        room.wait_online([watcher])
        batch = 50
        for round_number in range(500 // batch):
            comers = crowd.connect(hub.port, batch)
            room.wait_online([watcher] + comers)
            for index, peer in enumerate(comers):
                if index % 2:
                    peer.reset()       # RST
                else:
                    peer.close()       # FIN
            room.wait_online([watcher])
            del crowd.peers[:]         # closed already
        assert room.joined == 1 + 500
        assert len(room.left) == 500
        assert hub.call(lambda: len(hub.server._connections)) == 1, 'a connection leaked'
        # The watcher heard each of them come and go.
        pump([watcher], lambda peer: peer.received.count(LEAVE_NOTICE.format(addr='').encode())
             >= 500, what='500 departures')
        late = peers.connect(hub.port)
        room.wait_online([watcher, late])
        everyone_hears(late, [watcher], 'still here')


# ---------------------------------------------------------------------------------------
# Bad peers


@pytest.mark.slow
def test_a_client_that_never_reads_is_dropped_and_the_others_get_everything(crowd, peers):
    room = RoomLog()
    limit = 256 * 1024
    message = 4096
    server = HubServer(port=0, out_buffer_limit=limit, send_buffer_size=64 * 1024, log=room)
    with serve_in_thread(server) as hub:
        readers = crowd.connect(hub.port, 20, filler=b'x')
        stuck = peers.connect(hub.port, receive_buffer=4096)
        room.wait_online(readers + [stuck])
        senders = readers[:4]
        # 4 senders x 80 messages of 4 KiB: 1.25 MiB for each reader, well over what the
        # kernel and `limit` hold for the one that never reads.
        rounds = 80
        for number in range(rounds):
            for index, sender in enumerate(senders):
                tag = b'<%d.%d>' % (index, number)
                sender.send(tag + b'x' * (message - len(tag)))
            # the readers keep up: each round is read before the next is sent
            pump(readers, lambda peer: peer.received.count(b'<') >= (number + 1) * 3
                 + (1 if peer not in senders else 0) * (number + 1), timeout=timeouts.LONG,
                 what='round %d' % number)
        room.wait_until(lambda: stuck.addr in room.left, 'the stuck client dropped')
        assert room.left[stuck.addr].startswith('dropped: stopped reading')
        pump(readers, lambda peer: left(stuck) in peer.received, timeout=timeouts.SHORT,
             what='the departure of the client that never reads')
        for peer in readers:
            tags = re.findall(rb'<(\d+)\.(\d+)>', bytes(peer.received))
            mine = senders.index(peer) if peer in senders else None
            for index in range(len(senders)):
                got = [int(n) for s, n in tags if int(s) == index]
                assert got == ([] if index == mine else list(range(rounds))), (
                    '%r: from sender %d got %s' % (peer, index, got[:10]))
            assert peer.filler_count == sum(message - len(b'<%d.%d>' % (s, n))
                                            for s in range(len(senders)) if s != mine
                                            for n in range(rounds))
        everyone_hears(readers[5], readers[:5] + readers[6:], 'after the drop')


def test_half_closed_clients_get_what_was_queued_then_leave(crowd, peers):
    """A client that shuts down its sending side (``shutdown(SHUT_WR)``) has left: it gets
    what was queued for it, then the end of the stream, and the others hear it left."""
    room = RoomLog()
    with serve_in_thread(HubServer(port=0, log=room)) as hub:
        stayers = crowd.connect(hub.port, 10)
        quitters = crowd.connect(hub.port, 10)
        room.wait_online(stayers + quitters)
        stayers[0].send('before you go')
        pump(quitters, lambda peer: relay(stayers[0], 'before you go') in peer.received,
             timeout=timeouts.SHORT, what='the message before they leave')
        for peer in quitters:
            peer.sock.shutdown(socket.SHUT_WR)
        room.wait_online(stayers)
        for peer in quitters:
            peer.wait_for_eof()
            assert room.left[peer.addr] == 'EOF'
        pump(stayers[1:], lambda peer: all(left(q) in peer.received for q in quitters),
             timeout=timeouts.SHORT, what='ten departures')
        everyone_hears(stayers[1], [stayers[0]] + stayers[2:], 'the rest of us')


def test_resets_and_instant_departures_while_others_connect_do_not_stop_the_hub(enough_fds,
                                                                              crowd):
    """Clients that vanish while the others are still connecting, with a RST or a FIN, some
    before the hub has even accepted them: the hub survives, counts nobody twice, and
    every client that stayed is registered and hears the room."""
    enough_fds(2 * 300 + 100)
    room = RoomLog()
    with serve_in_thread(HubServer(port=0, max_clients=400, log=room)) as hub:
        first = crowd.connect(hub.port, 1)
        stayers = []
        for _ in range(5):
            wave = crowd.connect(hub.port, 60)
            for index, peer in enumerate(wave):
                if index % 3 == 0:
                    peer.reset()            # RST, maybe before the hub saw it
                elif index % 3 == 1 and index % 2:
                    peer.close()            # FIN at once: half-open until the hub reads it
                else:
                    stayers.append(peer)
        everybody = first + stayers
        room.wait_online(everybody)
        assert len(room.online) == len(everybody)
        everyone_hears(stayers[0], first + stayers[1:], 'who is still here?')


def test_invalid_utf8_from_many_clients_is_relayed_as_replacement_characters(crowd):
    room = RoomLog()
    with serve_in_thread(HubServer(port=0, log=room)) as hub:
        clients = crowd.connect(hub.port, 12)
        room.wait_online(clients)
        talkers = clients[:6]
        sent = {peer.address[1]: b'' for peer in talkers}
        garbage = [b'\xff', b'\xfe\xfd', b'ok\xc3', b'\xa9 bien', b'\xe4\xbd', b'\xa0\xff',
                   '你好'.encode('utf-8'), b'\xed\xa0\x80', b'\xf0\x9f', b'\x98\x80 end']
        for chunk in garbage:
            for peer in talkers:
                peer.send(chunk)
                sent[peer.address[1]] += chunk
        for peer in talkers:
            peer.send(b'<done>')
            sent[peer.address[1]] += b'<done>'
        pump(clients, lambda peer: peer.received.count(b'<done>') >= (
            5 if peer in talkers else 6), what='every <done>')
        for peer in clients:
            by_sender = text_by_sender(peer.received)
            for port, raw in sent.items():
                if port == peer.address[1]:
                    assert port not in by_sender
                    continue
                # However TCP cut it, the text is what decoding the whole stream gives.
                assert by_sender[port].decode('utf-8') == raw.decode('utf-8', 'replace'), (
                    peer, by_sender[port])
        everyone_hears(clients[7], clients[:7] + clients[8:], '还好吗')


@pytest.mark.slow
def test_a_one_mebibyte_message_reaches_every_other_client_intact(crowd):
    room = RoomLog()
    big = 1024 * 1024
    # read_rate=0: all of it at once (tests/test_hub_hostile.py reads one at a limited rate)
    server = HubServer(port=0, out_buffer_limit=4 * big, log=room, read_rate=0)
    with serve_in_thread(server) as hub:
        clients = crowd.connect(hub.port, 20, filler=b'x')
        room.wait_online(clients)
        sender = clients[0]
        sender.send(b'x' * (big - 3) + '完'.encode('utf-8'))
        others = clients[1:]
        pump(others, lambda peer: peer.filler_count >= big - 3
             and '完'.encode('utf-8') in peer.received, what='1 MiB')
        for peer in others:
            assert peer.filler_count == big - 3
            # However many reads it took: the sender's prefix once, nothing else, nothing
            # lost (one more prefix after each notice a stray connection may cause).
            stream = bytes(peer.received)
            notices = len(_NOTICE.findall(stream[stream.index(relay(sender, '')):]))
            assert stream.count(relay(sender, '')) == 1 + notices, stream[:300]
            pieces = _NOTICE.sub(b'', stream).replace(relay(sender, ''), b'')
            assert pieces == '完'.encode('utf-8'), pieces[:100]
        everyone_hears(clients[1], [sender] + clients[2:], 'got it')


def test_one_byte_at_a_time_is_relayed_without_breaking_a_character(crowd):
    recorder = ReadRecorder()
    room = RoomLog()
    with serve_in_thread(HubServer(port=0, log=room, recorder=recorder)) as hub:
        clients = crowd.connect(hub.port, 5)
        room.wait_online(clients)
        sender = clients[0]
        text = '你好, 一个字节一个字节地发!'
        for byte in text.encode('utf-8'):
            sender.send(bytes([byte]))
            assert recorder.next_read(timeouts.SHORT) == bytes([byte])   # read on its own
        others = clients[1:]
        pump(others, lambda peer: text_by_sender(peer.received).get(sender.address[1], b'')
             == text.encode('utf-8'), timeout=timeouts.SHORT, what='the whole sentence')
        for peer in others:
            assert b'\xef\xbf\xbd' not in peer.received, 'a character was broken: U+FFFD'
            # one relay per character: a half character is held, never relayed on its own
            assert peer.received.count(relay(sender, '')) == len(text)
        everyone_hears(clients[2], [sender, clients[1]] + clients[3:], 'ok')


def test_max_clients_reached_refuses_politely_and_the_room_goes_on(crowd):
    room = RoomLog()
    with serve_in_thread(HubServer(port=0, max_clients=20, log=room)) as hub:
        clients = crowd.connect(hub.port, 30)
        room.wait_until(lambda: len(room.online) == 20 and len(room.refused) == 10,
                        '20 online and 10 refused')
        notice = FULL_NOTICE.format(max_clients=20).encode('utf-8')
        admitted = [peer for peer in clients if peer.addr in room.online]
        refused = [peer for peer in clients if peer.addr in room.refused]
        assert len(admitted) == 20 and len(refused) == 10
        for peer in refused:
            peer.wait_for_eof()
            assert bytes(peer.received) == notice
        everyone_hears(admitted[0], admitted[1:], 'twenty of us')
        admitted[1].send('q')
        room.wait_online([peer for peer in admitted if peer is not admitted[1]])
        again = crowd.connect(hub.port, 1)[0]
        room.wait_until(lambda: again.addr in room.online, 'a newcomer in the free place')
        everyone_hears(again, [peer for peer in admitted if peer is not admitted[1]], 'hi')

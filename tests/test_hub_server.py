"""The instructor hub server (the chat room), in-process on a free port, driven by real sockets."""
import asyncio
import concurrent.futures
import errno
import re
import socket
from collections import defaultdict

import pytest

from grader import timeouts
from grader.peers import drain, pump
from classroom.core import ClientConnection
from classroom.hub_server import (
    FULL_NOTICE,
    JOIN_NOTICE,
    LEAVE_NOTICE,
    QUIT,
    RELAY,
    HubServer,
    is_quit,
    serve_in_thread,
)
from tests.conftest import ReadRecorder

#: Every test here runs with both of the servers' ways of writing (see write_path).
pytestmark = pytest.mark.usefixtures('write_path')


def relay(peer, text):
    return RELAY.format(addr=peer.addr, text=text)


def joined(peer):
    return JOIN_NOTICE.format(addr=peer.addr)


def left(peer):
    return LEAVE_NOTICE.format(addr=peer.addr)


#: The fixed part of every departure notice, to count them.
LEFT = LEAVE_NOTICE.format(addr='').encode('utf-8')


@pytest.fixture
def hub(log):
    with serve_in_thread(HubServer(port=0, log=log.append)) as running:
        yield running


def enter_room(hub, peers, count, **options):
    """Connect ``count`` peers; return once the hub has counted every one of them.

    Each newcomer's join notice reaching the first peer proves the hub registered it.
    """
    first = peers.connect(hub.port, **options)
    room = [first]
    for _ in range(count - 1):
        newcomer = peers.connect(hub.port, **options)
        first.wait_for(joined(newcomer))
        room.append(newcomer)
    return room


def test_listens_on_the_port_it_reports(hub, peers):
    assert hub.port != 0
    assert hub.call(lambda: hub.server.client_count) == 0
    a, b = enter_room(hub, peers, 2)
    assert hub.call(hub.server.client_addresses) == [a.address, b.address]


def test_starting_on_a_busy_port_raises_in_the_caller(hub):
    with pytest.raises(OSError) as raised:
        serve_in_thread(HubServer(port=hub.port))
    assert raised.value.errno in (errno.EADDRINUSE, 10048)


def test_join_is_announced_to_the_others_but_not_to_the_newcomer(hub, peers):
    a, b = enter_room(hub, peers, 2)
    c = peers.connect(hub.port)
    a.wait_for(joined(c))
    b.wait_for(joined(c))
    c.assert_absent('加入了聊天室')


def test_relays_to_every_other_client_never_to_the_sender(hub, peers):
    a, b, c, d = enter_room(hub, peers, 4)
    a.send('hello')
    for other in (b, c, d):
        other.wait_for(relay(a, 'hello'))
    a.assert_absent('hello')

    c.send('你好, 世界')
    for other in (a, b, d):
        other.wait_for(relay(c, '你好, 世界'))
    c.assert_absent('你好')


@pytest.mark.parametrize('quit_chunk', ['q', ' q\n'])
def test_q_closes_the_sender_and_tells_the_others(hub, peers, log, quit_chunk):
    a, b, c = enter_room(hub, peers, 3)
    b.send(quit_chunk)
    b.wait_for_eof()
    for other in (a, c):
        other.wait_for(left(b))
        assert other.received.count(LEFT) == 1, 'only b left: %r' % other.received.decode()
    assert '%s left (q); 2 online' % b.addr in log

    a.send('还在吗')
    c.wait_for(relay(a, '还在吗'))
    a.assert_absent('还在吗')


@pytest.mark.parametrize('how', ['close', 'reset'])
def test_abrupt_departure_is_announced_and_the_room_goes_on(hub, peers, log, how):
    a, b, c = enter_room(hub, peers, 3)
    if how == 'close':
        # Unread input would turn close() into a RST (Linux): read c's join notice first.
        b.wait_for(joined(c))
        b.close()   # FIN without q
        reason = 'EOF'
    else:
        b.reset()   # RST
        reason = 'reset'
    for other in (a, c):
        other.wait_for(left(b))
        assert other.received.count(LEFT) == 1, 'only b left: %r' % other.received.decode()
    assert '%s left (%s); 2 online' % (b.addr, reason) in log

    c.send('after')
    a.wait_for(relay(c, 'after'))
    c.assert_absent('after')


def test_chinese_split_across_two_sends_is_relayed_intact(peers):
    recorder = ReadRecorder()
    with serve_in_thread(HubServer(port=0, recorder=recorder)) as hub:
        a, b = enter_room(hub, peers, 2)
        whole = '你好'.encode('utf-8')
        a.send(whole[:2])                  # the first two of the three bytes of 你
        assert recorder.next_read(timeouts.SHORT) == whole[:2]  # the hub has read them alone
        a.send(whole[2:])
        b.wait_for(relay(a, '你好'))
        assert '\ufffd' not in b.received.decode('utf-8')


def test_invalid_utf8_becomes_replacement_characters_and_the_room_goes_on(hub, peers):
    a, b = enter_room(hub, peers, 2)
    a.send(b'\xff\xfebad')
    b.wait_for(relay(a, '\ufffd\ufffdbad'))
    a.send('fine')
    b.wait_for(relay(a, 'fine'))


@pytest.mark.parametrize('text', [
    'q', ' q', 'q\n', '\tq \r\n', '\u3000q', 'q\u3000', '\x1cq\x1f', '\u00a0q\u2003',
    'qq', 'Q', 'a q', 'q!', '', '   ', '你q', 'q你', '\u3000', 'x' * 100 + 'q',
])
def test_is_quit_says_exactly_what_decoding_and_stripping_would(text):
    """The hub tells "q" from a message on the bytes; it must agree with str.strip()."""
    assert is_quit(text.encode('utf-8')) == (text.strip() == QUIT)


def test_a_relay_is_the_very_bytes_the_sender_sent(hub, peers):
    a, b = enter_room(hub, peers, 2)
    for data in (b'plain ascii ~', '汉字 and ASCII'.encode('utf-8'),
                 '\U0001f600 emoji'.encode('utf-8'), 'tab\tand \u200d joiner'.encode('utf-8')):
        a.send(data)
        b.wait_for(a.addr.encode('utf-8') + b' : ' + data)
    assert bytes(b.received).endswith('\u200d joiner'.encode('utf-8'))


def test_control_characters_are_relayed_as_visible_escapes(hub, peers):
    a, b = enter_room(hub, peers, 2)
    a.send(b'plain ascii \x00\x7f\x1b[2J')
    b.wait_for(relay(a, 'plain ascii \\x00\\x7f\\x1b[2J'))


def test_newcomer_beyond_max_clients_is_told_and_closed(peers):
    log = []
    with serve_in_thread(HubServer(port=0, max_clients=2, log=log.append)) as hub:
        a, b = enter_room(hub, peers, 2)
        late = peers.connect(hub.port)
        late.wait_for_eof()
        assert bytes(late.received) == FULL_NOTICE.format(max_clients=2).encode('utf-8')
        assert '%s refused: room full (2/2 online)' % late.addr in log
        a.assert_absent(late.addr)

        b.send('q')
        a.wait_for(left(b))
        again = peers.connect(hub.port)     # a place is free again
        a.wait_for(joined(again))


def test_client_that_stops_reading_is_dropped_and_the_room_goes_on(peers):
    log = []
    limit = 128 * 1024
    block = 16 * 1024
    # SO_SNDBUF pinned: otherwise Linux lets the kernel hold MiBs for the stuck client.
    server = HubServer(port=0, out_buffer_limit=limit, send_buffer_size=32 * 1024, log=log.append)
    with serve_in_thread(server) as hub:
        sender, reader = enter_room(hub, peers, 2, filler=b'x')
        stuck = peers.connect(hub.port, receive_buffer=4096)
        reader.wait_for(joined(stuck))
        # Blocks go one at a time, each read by `reader` before the next, so only the
        # stuck client can ever have more than `limit` bytes waiting. 64 blocks (1 MiB)
        # overflow any kernel buffering there may be.
        for number in range(1, 65):
            sender.send(b'x' * block)
            pump([reader], lambda peer: peer.filler_count >= number * block
                 or left(stuck).encode() in peer.received, timeout=timeouts.SHORT,
                 what='the %d-th block of x' % number)
            if left(stuck).encode() in reader.received:
                break
        reader.wait_for(left(stuck))
        assert any(line.startswith('%s left (dropped: stopped reading' % stuck.addr)
                   for line in log), log

        sender.send('still here')
        reader.wait_for(relay(sender, 'still here'))


def test_stopping_closes_clients_and_the_listening_socket(peers):
    hub = serve_in_thread(HubServer(port=0))
    with hub:
        a, b = enter_room(hub, peers, 2)
    a.wait_for_eof()
    b.wait_for_eof()
    assert LEFT not in b.received, 'stopping announces nobody'
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(('127.0.0.1', hub.port), timeout=timeouts.SOCKET).close()


def test_recorder_sees_each_chunk_read_and_each_chunk_queued(peers):
    records = []
    with serve_in_thread(HubServer(port=0, recorder=lambda *record: records.append(record))) as hub:
        a, b = enter_room(hub, peers, 2)
        a.send('hi')
        b.wait_for(relay(a, 'hi'))
        events = [(addr, direction, data) for _, addr, direction, data in records]
    assert events == [
        (a.address, 'send', joined(b).encode('utf-8')),
        (a.address, 'recv', b'hi'),
        (b.address, 'send', relay(a, 'hi').encode('utf-8')),
    ]
    stamps = [record[0] for record in records]
    assert stamps == sorted(stamps)


# ---------------------------------------------------------------------------------------
# Writing: one turn's bytes in order, straight to the socket or through the transport


def connection_of(hub, peer):
    """The hub's ClientConnection for ``peer`` (call it on the hub's thread)."""
    return next(conn for conn in hub.server.clients if conn.addr == peer.address)


def test_what_one_turn_queues_reaches_each_client_in_that_order(hub, peers):
    a, b, c = enter_room(hub, peers, 3)
    server = hub.server

    def mixed_turn():
        ca, cb = connection_of(hub, a), connection_of(hub, b)
        server.send_to_all(b'<1>')
        server.send_to(ca, b'<2>')
        server.send_to_all(b'<3>', exclude=cb)
        server.send_to(cb, b'<4>')
        server.send_to_all(b'<5>')

    def broadcasts_only():
        # a and b each skip some; c, after them in the room, skips none
        ca, cb = connection_of(hub, a), connection_of(hub, b)
        server.send_to_all(b'<6>', exclude=ca)
        server.send_to_all(b'<7>')
        server.send_to_all(b'<8>', exclude=cb)
        server.send_to_all(b'<9>', exclude=cb)

    def none_for_a():
        ca = connection_of(hub, a)
        server.send_to_all(b'<10>', exclude=ca)
        server.send_to_all(b'<11>', exclude=ca)

    for turn in (mixed_turn, broadcasts_only, none_for_a):
        hub.call(turn)
    hub.call(server.send_to_all, b'<end>')
    for peer in (a, b, c):
        peer.wait_for('<end>')
    assert bytes(a.received) == (joined(b) + joined(c)).encode() + b'<1><2><3><5><7><8><9><end>'
    assert bytes(b.received) == joined(c).encode() + b'<1><4><5><6><7><10><11><end>'
    assert bytes(c.received) == b'<1><3><5><6><7><8><9><10><11><end>'


def test_a_client_leaving_in_the_turn_of_a_broadcast_gets_it_before_the_close(hub, peers):
    a, b = enter_room(hub, peers, 2)
    server = hub.server

    def last_words_then_leave():
        ca = connection_of(hub, a)
        server.send_to_all(b'<last>')
        server.send_to_all(b'<not for a>', exclude=ca)
        server.disconnect(ca, QUIT)

    hub.call(last_words_then_leave)
    a.wait_for_eof()
    assert bytes(a.received) == joined(b).encode() + b'<last>'
    b.wait_for(left(a))
    assert bytes(b.received) == b'<last><not for a>' + left(a).encode()


class MadeUpTransport:
    """Enough of an asyncio transport to bring a made-up client into the room in the middle
    of a turn (no real connection can be made to arrive there); keeps what it is sent."""

    class _Socket:
        def setsockopt(self, *args):
            pass

    def __init__(self, protocol, peername):
        self.loop = asyncio.get_running_loop()
        self.protocol = protocol
        self.peername = peername
        self.written = bytearray()
        self.closing = False

    def get_extra_info(self, name):
        return {'socket': self._Socket(), 'peername': self.peername}.get(name)

    def write(self, data):
        self.written += data

    def get_write_buffer_size(self):
        return 0

    def is_closing(self):
        return self.closing

    def close(self):
        if not self.closing:
            self.closing = True
            self.loop.call_soon(self.protocol.connection_lost, None)

    abort = close


def test_a_newcomer_does_not_get_what_was_broadcast_in_its_turn_before_it_joined(hub, peers):
    a, b = enter_room(hub, peers, 2)
    newcomer_address = ('10.0.0.9', 9)

    def broadcast_then_join():
        hub.server.send_to_all(b'<before>')
        newcomer = ClientConnection(hub.server)
        newcomer.connection_made(MadeUpTransport(newcomer, newcomer_address))
        return newcomer

    newcomer = hub.call(broadcast_then_join)
    a.wait_for(JOIN_NOTICE.format(addr=newcomer_address))
    a.send('hi')
    b.wait_for(relay(a, 'hi'))   # the newcomer comes after b in the room: written by now
    assert hub.call(lambda: bytes(newcomer.transport.written)) == relay(a, 'hi').encode()
    assert bytes(a.received) == (joined(b) + '<before>' + JOIN_NOTICE.format(
        addr=newcomer_address)).encode()


def test_a_newcomer_keeps_the_order_of_what_others_were_sent_before_it_joined(hub, peers):
    # A broadcast, a single send, a broadcast that follows it into the outboxes, then a
    # join: moving the first broadcast into the outboxes must put it before the rest.
    a, b = enter_room(hub, peers, 2)
    server = hub.server

    def mixed_turn_then_join():
        server.send_to_all(b'<1>')
        server.send_to(connection_of(hub, a), b'<2>')
        server.send_to_all(b'<3>')
        newcomer = ClientConnection(server)
        newcomer.connection_made(MadeUpTransport(newcomer, ('10.0.0.9', 9)))
        return newcomer

    newcomer = hub.call(mixed_turn_then_join)
    notice = JOIN_NOTICE.format(addr=('10.0.0.9', 9))
    for peer in (a, b):
        peer.wait_for(notice)
    assert bytes(a.received) == (joined(b) + '<1><2><3>' + notice).encode()
    assert bytes(b.received) == ('<1><3>' + notice).encode()
    assert hub.call(lambda: bytes(newcomer.transport.written)) == b''


def in_a_turn_of_its_own(hub, func, *args):
    """``func(*args)`` on the hub's thread as the only event of a turn of its loop (not so
    with ``hub.call``, whose turn also drains the loop's wake-up pipe); returns its result."""
    done = concurrent.futures.Future()

    def alone():
        try:
            done.set_result(func(*args))
        except BaseException as error:   # handed to the test's thread, which raises it
            done.set_exception(error)

    hub.call(lambda: asyncio.get_running_loop().call_soon(alone))
    return done.result(timeouts.SHORT)


def test_a_message_read_alone_goes_out_before_the_loop_polls_again(hub, peers):
    if not isinstance(hub._loop, asyncio.SelectorEventLoop):
        pytest.skip('in_a_turn_of_its_own knows how a selector loop wakes up, not a proactor')
    a, b = enter_room(hub, peers, 2)
    server = hub.server

    def read(data, more_waiting):
        if more_waiting:
            asyncio.get_running_loop().call_soon(lambda: None)   # another event this turn
        server._data_received(connection_of(hub, a), data)
        return server._flush_pending

    assert in_a_turn_of_its_own(hub, read, b'<alone>', False) is False, (
        'the last event of a turn flushes as it returns')
    b.wait_for(relay(a, '<alone>'))
    assert in_a_turn_of_its_own(hub, read, b'<not alone>', True) is True, (
        'with more to come in the turn, the flush waits for the end of it')
    b.wait_for(relay(a, '<not alone>'))


def test_a_slow_reader_gets_every_byte_in_order_and_direct_writes_resume(peers, write_path):
    block = 4000
    messages = ['<%d>%s' % (number, 'x' * block) for number in range(40)]
    # Small kernel buffers: the slow reader's socket is full after a few KiB, so most of
    # these 160 kB wait in the transport (under the 1 MiB limit: slow is not stuck).
    server = HubServer(port=0, send_buffer_size=8 * 1024)
    with serve_in_thread(server) as hub:
        sender, reader = enter_room(hub, peers, 2, filler=b'x')
        slow = peers.connect(hub.port, receive_buffer=4096)
        reader.wait_for(joined(slow))
        for number, message in enumerate(messages, 1):
            sender.send(message)
            pump([reader], lambda peer: peer.filler_count >= number * block,
                 what='message %d' % number)

        def write_state():
            conn = connection_of(hub, slow)
            return (conn.transport.get_write_buffer_size(), conn.sock is not None,
                    conn.raw_socket is not None)

        backlog, direct, _ = hub.call(write_state)
        assert backlog > 0 and not direct, 'the transport holds what the socket could not take'
        # Messages of 4 kB sent back to back may be read as one message cut by TCP and
        # keep one prefix (classroom.sanitize.continues): the text must be all there, in
        # order, behind the sender's prefix, with nothing else in between.
        prefix = relay(sender, '').encode()
        text = ''.join(messages).encode()
        pump([slow], lambda peer: len(peer.received.replace(prefix, b'')) >= len(text),
             what='all 40 messages')
        assert bytes(slow.received).startswith(prefix)
        assert bytes(slow.received).replace(prefix, b'') == text

        sender.send('after')
        slow.wait_for(relay(sender, 'after'))
        backlog, direct, can_go_direct = hub.call(write_state)
        assert backlog == 0
        assert direct == can_go_direct, 'direct writes resume once the transport is empty'
        on_selector_loop = isinstance(hub._loop, asyncio.SelectorEventLoop)
        assert can_go_direct == (write_path == 'direct' and on_selector_loop)


# ---------------------------------------------------------------------------------------
# Acceptance: a full classroom

CLIENTS = 50
MESSAGES = 20
BIG = 1024 * 1024

_TAG = re.compile(rb'<m (\d+) (\d+)>')
_RELAY_PREFIX = re.compile(rb"\('127\.0\.0\.1', (\d+)\) : ")


def tags_by_sender(stream):
    """``{sender port: [(sender index, number), ...]}`` in stream order.

    Chunks may coalesce (``<m 3 4><m 3 5>`` after one prefix), so each tag is credited to
    the relay prefix before it.
    """
    found = defaultdict(list)
    prefixes = list(_RELAY_PREFIX.finditer(stream))
    first_tag = _TAG.search(stream)
    assert first_tag is None or (prefixes and prefixes[0].start() < first_tag.start()), (
        'a tag arrived without a relay prefix before it')
    for index, prefix in enumerate(prefixes):
        end = prefixes[index + 1].start() if index + 1 < len(prefixes) else len(stream)
        for tag in _TAG.finditer(stream, prefix.end(), end):
            found[int(prefix.group(1))].append((int(tag.group(1)), int(tag.group(2))))
    return found


@pytest.mark.slow
def test_a_class_of_fifty_chats_at_once(peers):
    """50 clients send 20 tagged messages each, all at once; one more client never reads.

    Every message must reach the 49 others exactly once, in its sender's order, and never
    come back to its sender; then invalid UTF-8 and two 1 MiB messages must not stop the
    room, the client that never reads must be dropped, and the rest must go on chatting.
    """
    log = []
    # Each reading client drains everything before a 1 MiB message is sent, so at most
    # one message (1 MiB and a few prefixes) ever waits for it: under the limit. The one
    # that never reads collects both big messages: over it, however the kernel buffers.
    server = HubServer(port=0, max_clients=CLIENTS + 1, out_buffer_limit=BIG * 3 // 2,
                       send_buffer_size=64 * 1024, log=log.append)
    with serve_in_thread(server) as hub:
        readers = [peers.connect(hub.port, filler=b'x') for _ in range(CLIENTS)]
        stuck = peers.connect(hub.port, receive_buffer=4096)
        readers[0].wait_for(joined(stuck))    # the last to join: everyone is in the room
        port_of = [peer.address[1] for peer in readers]

        for number in range(MESSAGES):
            for index, peer in enumerate(readers):
                peer.send('<m %d %d>' % (index, number))
            drain(readers)
        expected = (CLIENTS - 1) * MESSAGES
        pump(readers, lambda peer: peer.received.count(b'<m ') >= expected,
             what='%d tagged messages' % expected)

        for index, peer in enumerate(readers):
            tags = tags_by_sender(bytes(peer.received))
            assert port_of[index] not in tags, '%r got its own messages back' % peer
            for sender, port in enumerate(port_of):
                if sender != index:
                    assert tags[port] == [(sender, n) for n in range(MESSAGES)], (
                        '%r: from sender %d expected tags 0..%d once each, in order; got %s'
                        % (peer, sender, MESSAGES - 1, tags[port]))

        # Garbage and bulk do not stop the room.
        readers[0].send(b'\xff\xfebad')
        bad = relay(readers[0], '\ufffd\ufffdbad').encode('utf-8')
        pump(readers[1:], lambda peer: bad in peer.received, timeout=timeouts.SHORT,
             what='the relayed invalid UTF-8')
        for round_number in (1, 2):
            readers[1].send(b'x' * BIG)
            others = [peer for index, peer in enumerate(readers) if index != 1]
            pump(others, lambda peer: peer.filler_count >= round_number * BIG,
                 what='1 MiB message number %d' % round_number)
        pump(readers, lambda peer: left(stuck).encode() in peer.received,
             timeout=timeouts.SHORT, what='the departure of the client that never reads')
        assert any(line.startswith('%s left (dropped' % stuck.addr) for line in log)
        assert readers[1].filler_count == 0
        assert all(peer.filler_count == 2 * BIG for peer in others)

        readers[2].send('<after>')
        after = relay(readers[2], '<after>').encode('utf-8')
        pump([p for p in readers if p is not readers[2]], lambda peer: after in peer.received,
             timeout=timeouts.SHORT, what='a message after the bulk')
        assert hub.call(lambda: hub.server.client_count) == CLIENTS

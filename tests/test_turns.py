"""The hub's turn planning (classroom/turns.py), in memory: no sockets, no event loop running.

Two layers, in the style of h11's ``ConnectionPair``: first the pure functions of ``turns``
on tiny fake clients, then the real ``InstructorServer`` / ``HubServer`` of ``core`` played
against a fake loop and fake transports (``Room``), which keep every write in one log, so a
test sees the order of the writes across clients, which no socket shows.
"""
import random

import pytest

from classroom import turns
from classroom.core import ClientConnection, InstructorServer
from classroom.hub_server import JOIN_NOTICE, LEAVE_NOTICE, HubServer


class Client:
    """A client as ``turns`` sees it: something to compare by identity, with a name."""

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return self.name


@pytest.fixture
def abc():
    return Client('a'), Client('b'), Client('c')


def named(writes):
    """``[(client, data), ...]`` as ``[('a', b'...'), ...]``, easy to compare."""
    return [(client.name, data) for client, data in writes]


# ---------------------------------------------------------------------------------------
# The pure functions


def test_one_broadcast_skips_its_sender_and_is_one_bytes_object_for_all(abc):
    a, b, c = abc
    writes = turns.fan_out([a, b, c], [(b'<hi>', b)])
    assert named(writes) == [('a', b'<hi>'), ('c', b'<hi>')]
    assert writes[0][1] is writes[1][1]


def test_many_broadcasts_are_one_write_per_recipient_without_its_own(abc):
    a, b, c = abc
    broadcasts = [(b'<1>', a), (b'<2>', None), (b'<3>', b), (b'<4>', a)]
    assert named(turns.fan_out([a, b, c], broadcasts)) == [
        ('a', b'<2><3>'), ('b', b'<1><2><4>'), ('c', b'<1><2><3><4>')]


def test_a_recipient_with_nothing_due_gets_no_write(abc):
    a, b, c = abc
    assert named(turns.fan_out([a, b], [(b'<1>', a), (b'<2>', a)])) == [('b', b'<1><2>')]
    assert turns.fan_out([a, b, c], []) == []
    assert turns.fan_out([a, b, c], [(b'', None)]) == []


def test_a_departed_sender_s_broadcasts_still_reach_those_online(abc):
    a, b, c = abc
    gone = Client('gone')
    assert named(turns.fan_out([a, b], [(b'<1>', gone), (b'<2>', a)])) == [
        ('a', b'<1>'), ('b', b'<1><2>')]


def test_each_outbox_is_one_write_in_the_order_it_was_first_queued(abc):
    a, b, c = abc
    outboxes = [(c, [b'<1>']), (a, []), (b, [b'<2>', b'<3>'])]
    assert named(turns.outbox_writes(outboxes)) == [('c', b'<1>'), ('b', b'<2><3>')]
    assert turns.outbox_bytes([b'x']) == b'x' and turns.outbox_bytes([b'x', b'y']) == b'xy'


def test_end_of_turn_writes_broadcasts_in_join_order_then_outboxes_in_queue_order(abc):
    # This is the order the wire depends on: if the outboxes went first, or the recipients
    # were walked in another order, the list below would change.
    a, b, c = abc
    broadcasts = [(b'<1>', a), (b'<2>', None)]
    outboxes = [(c, [b'<3>']), (a, [b'<4>', b'<5>'])]
    assert named(turns.end_of_turn_writes([a, b, c], broadcasts, outboxes)) == [
        ('a', b'<2>'), ('b', b'<1><2>'), ('c', b'<1><2>'),
        ('c', b'<3>'), ('a', b'<4><5>')]


@pytest.mark.parametrize('recording, waiting, expected', [
    (False, False, False), (False, True, True), (True, False, True), (True, True, True)])
def test_a_broadcast_goes_into_the_outboxes_once_one_holds_bytes(recording, waiting, expected):
    assert turns.broadcast_goes_to_outboxes(recording, waiting) is expected


def test_a_join_moves_the_broadcasts_into_the_outboxes_of_those_online(abc):
    a, b, c = abc
    broadcasts = [(b'<1>', a), (b'<2>', None), (b'<3>', b)]
    assert named(turns.shares_before_a_join([a, b, c], broadcasts)) == [
        ('a', [b'<2>', b'<3>']), ('b', [b'<1>', b'<2>']), ('c', [b'<1>', b'<2>', b'<3>'])]
    assert turns.shares_before_a_join([a], [(b'<1>', a)]) == []


def test_a_leaver_gets_its_share_of_the_broadcasts_then_its_outbox_in_two_writes(abc):
    a, b, _ = abc
    broadcasts = [(b'<1>', None), (b'<2>', a), (b'<3>', b)]
    assert turns.leaving_writes(a, broadcasts, [b'<4>', b'<5>']) == [b'<1><3>', b'<4><5>']
    assert turns.leaving_writes(a, [(b'<2>', a)], []) == []
    assert turns.leaving_writes(a, [], [b'<4>']) == [b'<4>']


@pytest.mark.parametrize('online, marked, backlog, expected', [
    (True, False, 101, True),     # over the limit: marked
    (True, False, 100, False),    # at the limit is not over it
    (True, True, 500, False),     # marked once only
    (False, False, 500, False),   # leaving already: nothing to drop
])
def test_a_client_is_marked_for_dropping_once_when_it_goes_over_the_limit(online, marked, backlog,
                                                                          expected):
    assert bool(turns.goes_over_limit(online, marked, backlog, 100)) is expected


# ---------------------------------------------------------------------------------------
# The core performing the plan: a fake loop, fake transports, one log of every write


class FakeLoop:
    """``call_soon`` and asyncio's ``_ready`` queue, run by hand: ``end_turn()`` runs what
    the turn scheduled (and what that schedules), with a bound."""

    def __init__(self):
        self._ready = []

    def call_soon(self, callback, *args):
        self._ready.append((callback, args))

    def time(self):
        return 0.0   # the clock stands still: no client is ever throttled or idle here

    def end_turn(self):
        for _ in range(1000):
            if not self._ready:
                return
            callback, args = self._ready.pop(0)
            callback(*args)
        raise AssertionError('the turn never ended')


class FakeTransport:
    """Keeps what it is written in the room's log; ``stuck`` keeps it all waiting (a client
    that does not read), so the backlog grows by every write."""

    class _Socket:
        def setsockopt(self, *args):
            pass

    def __init__(self, room, protocol, port, stuck):
        self.room, self.protocol, self.port, self.stuck = room, protocol, port, stuck
        self.received = bytearray()
        self.backlog = 0
        self.closing = False

    def get_extra_info(self, name):
        return {'socket': self._Socket(), 'peername': ('10.0.0.1', self.port)}.get(name)

    def write(self, data):
        self.room.writes.append((self.port, bytes(data)))
        self.received += data
        if self.stuck:
            self.backlog += len(data)

    def get_write_buffer_size(self):
        return self.backlog

    def is_closing(self):
        return self.closing

    def close(self):
        self._end('close')

    def abort(self):
        self._end('abort')

    def _end(self, how):
        if not self.closing:
            self.closing = True
            self.room.writes.append((self.port, how))
            self.room.loop.call_soon(self.protocol.connection_lost, None)

    def pause_reading(self):
        pass

    def resume_reading(self):
        pass


class Room:
    """A server (``InstructorServer`` or a subclass) with clients on fake transports."""

    def __init__(self, server_class=InstructorServer, **options):
        self.loop = FakeLoop()
        self.log = []
        self.writes = []        # (port, bytes) per write, or (port, 'close' / 'abort')
        self.server = server_class(log=self.log.append, **options)
        self.server._loop = self.loop
        self._next_port = 1000

    def join(self, stuck=False):
        """A client connects (in the current turn); returns its connection."""
        self._next_port += 1
        conn = ClientConnection(self.server)
        conn.connection_made(FakeTransport(self, conn, self._next_port, stuck))
        return conn

    def end_turn(self):
        self.loop.end_turn()


def port(conn):
    return conn.addr[1]


def test_the_core_writes_a_turn_in_the_planned_order():
    room = Room()
    a, b, c = room.join(), room.join(), room.join()
    server = room.server
    server.send_to_all(b'<1>', exclude=a)
    server.send_to_all(b'<2>')
    server.send_to(c, b'<3>')
    server.send_to_all(b'<4>', exclude=b)    # after a single send: into the outboxes
    server.send_to(a, b'<5>')
    room.end_turn()
    assert room.writes == [
        (port(a), b'<2>'), (port(b), b'<1><2>'), (port(c), b'<1><2>'),
        (port(c), b'<3><4>'), (port(a), b'<4><5>')]


def test_a_newcomer_in_the_middle_of_a_turn_gets_only_what_follows_its_join():
    room = Room()
    a, b = room.join(), room.join()
    room.server.send_to_all(b'<before>')
    room.server.send_to(a, b'<single>')
    newcomer = room.join()
    room.server.send_to_all(b'<after>')
    room.end_turn()
    assert room.writes == [
        (port(a), b'<before><single><after>'), (port(b), b'<before><after>'),
        (port(newcomer), b'<after>')]


def test_a_graceful_leaver_gets_what_was_queued_for_it_then_its_close():
    room = Room()
    a, b = room.join(), room.join()
    room.server.send_to_all(b'<1>')
    room.server.send_to_all(b'<2>', exclude=b)
    room.server.disconnect(a, 'q')
    room.end_turn()
    assert room.writes == [(port(a), b'<1><2>'), (port(a), 'close'), (port(b), b'<1>')]


def test_a_client_over_its_limit_is_dropped_after_the_turn_s_writes_and_announced_next():
    room = Room(HubServer, out_buffer_limit=10)
    a, c, stuck = room.join(), room.join(), room.join(stuck=True)   # the last gets no notice
    room.end_turn()
    del room.writes[:]
    a.data_received(b'a long message')       # over 10 bytes, waiting for the stuck one
    writes, room.writes = room.writes, []
    relay = ('%s : a long message' % a.label).encode()
    # The read was the turn's last event, so it flushed as it returned: both writes, and
    # only then the drop.
    assert writes == [(port(c), relay), (port(stuck), relay), (port(stuck), 'abort')]
    room.end_turn()                           # the departure notice, a turn later
    notice = LEAVE_NOTICE.format(addr=stuck.label).encode()
    assert room.writes == [(port(a), notice), (port(c), notice)]
    assert any('left (dropped: stopped reading, over 10 bytes queued)' in line
               for line in room.log)


def test_the_hub_s_join_notices_follow_the_same_plan():
    room = Room(HubServer)
    a = room.join()
    b = room.join()
    room.end_turn()
    assert room.writes == [(port(a), JOIN_NOTICE.format(addr=b.label).encode())]


@pytest.mark.parametrize('seed', range(20))
@pytest.mark.parametrize('recording', [False, True], ids=['shared', 'recorded'])
def test_every_client_gets_exactly_what_it_was_sent_in_order_whatever_the_turn(seed, recording):
    """Random turns of single sends, broadcasts, joins and graceful departures: each client's
    stream is what an immediate write of every send would have given it."""
    rng = random.Random(seed)
    recorder = (lambda *record: None) if recording else None
    room = Room(recorder=recorder, max_clients=50)
    expected = {}
    online = []

    def join():
        conn = room.join()
        online.append(conn)
        expected[conn] = bytearray()

    for _ in range(3):
        join()
    for turn in range(25):
        for step in range(rng.randint(1, 6)):
            data = b'<%d.%d>' % (turn, step)
            choice = rng.random()
            if choice < 0.1 or len(online) < 2:
                join()
            elif choice < 0.2:
                leaver = online.pop(rng.randrange(len(online)))
                room.server.disconnect(leaver, 'q')
            elif choice < 0.55:
                target = rng.choice(online)
                room.server.send_to(target, data)
                expected[target] += data
            else:
                excluded = rng.choice(online + [None])
                room.server.send_to_all(data, exclude=excluded)
                for conn in online:
                    if conn is not excluded:
                        expected[conn] += data
        room.end_turn()
        for conn, stream in expected.items():
            assert bytes(conn.transport.received) == bytes(stream), (seed, turn, conn)

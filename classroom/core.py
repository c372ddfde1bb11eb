"""The server both classroom servers are made of: one asyncio server, two behaviours.

Theory of operation
===================

The echo server (port 10000) and the chat-room hub (port 10001) differ only in what they
do with a piece of text that arrived from a client. Everything else lives here::

    InstructorServer              listening socket, client registry, limits, logging,
      |                           wire recording, clean shutdown
      +-- EchoServer              (echo_server.py) answers each chunk to its sender
      +-- HubServer               (hub_server.py)  relays each chunk to every other client

    ClientConnection              one per accepted socket (an asyncio.BufferedProtocol);
                                  turns the transport's callbacks into the server's hooks

Around it: ``thread.py`` (``ServerThread`` / ``serve_in_thread``) runs a server on its own
event loop in a background thread, for synchronous callers (the grader, the tests, the
notebooks); ``cli.py`` (``run_cli``) is the command line both servers share.

A subclass overrides the hooks ``on_join``, ``on_text`` (or ``on_chunk``, the same text
as UTF-8 bytes) and ``on_leave`` (and, for flow control, ``on_write_paused`` /
``on_write_resumed``) and calls ``send_to``, ``send_to_all`` and ``disconnect``. Callers
use ``start``, ``close``, ``port`` and ``client_count``.

Why transports and callbacks rather than streams or threads
-----------------------------------------------------------
Every callback runs on the event loop's one thread, so the registry of clients needs no
lock and cannot change while a broadcast walks over it. Nothing here awaits in the middle
of handling an event, so no other event can slip in between.

One write per recipient per turn of the loop
--------------------------------------------
``send_to`` does not write: it appends the bytes to the client's *outbox*, and the first
append of a turn schedules one flush, which runs once the loop has handled every socket
that was ready in this turn (as the read returns, when it was the turn's only event; see
``_flush_now_or_at_end_of_turn``). ``send_to_all`` costs even less: it notes the
bytes and whom they skip, once for everybody. Which writes the flush then makes, and in
what order, is decided in ``turns.py`` (pure functions, its docstring says the rules):
this module keeps the queues, hands them to ``turns``, and performs the writes it returns,
each one that never blocks. Each recipient gets one sender's messages in the order
``data_received`` saw them (the order of the bytes on the sender's socket). A client
leaving gracefully gets its share of the queue first, and stopping the server flushes
everyone.

Straight to the socket
----------------------
A write goes to the client's socket itself (one ``send()``) while the transport holds
nothing for that client, and through ``transport.write()`` otherwise: what the socket
did not take, and everything after it, until the transport has sent it all. The order
is kept either way, and the relay loop stays short. With the broadcasts noted once per
turn and the flush described at ``_flush_now_or_at_end_of_turn``, this took the hub's CPU
per delivery at chat rate from 9.3-9.8 us to 7.8-8.5 us (benchmarks/hub_bench
--rate 10, runs alternating with the earlier hub). The proactor loop (Windows) does its
own writing, so there every write goes through the transport (``_direct_socket``).

Reading into one buffer
-----------------------
A plain ``asyncio.Protocol`` gets each read as a new ``bytes`` the transport allocated at
256 KiB and then shrank: memory the C library maps and unmaps for every read, which on a
virtual machine cost more than the read itself (page faults, TLB flushes; ~15 us a read
measured here). ``ClientConnection`` is a ``BufferedProtocol`` instead: every connection
reads into the server's one buffer, and only the bytes that arrived are copied out, so a
read of one chat message allocates one small object. The loop runs one callback at a
time, so the buffer is always free again before the next read.

Bytes, text, and the lab's lack of framing
------------------------------------------
The lab sends UTF-8 text with no framing: a ``recv`` may hold two messages or half of
one, and the servers treat each chunk they read as "a message", exactly as the students'
code does. Each client has its own incremental UTF-8 decoder, so a Chinese character cut
in two by TCP is completed by the next chunk instead of turning into U+FFFD; a chunk that
holds only the first bytes of a character decodes to ``''`` and is not answered or
relayed. Bytes that are not UTF-8 at all become U+FFFD (``errors='replace'``): a peer's
garbage is data, never a reason to stop. A chunk of plain ASCII with no character left
half-way before it (the common case) is already what decoding and re-encoding would give,
so it skips both and reaches ``on_chunk`` as the very bytes that were read; any other
chunk goes through the decoder and comes out re-encoded, valid UTF-8.

Clients that stop reading
-------------------------
What a client's socket cannot take at once waits in its transport's buffer. Each
client's buffer is bounded by ``out_buffer_limit``: a client over it has stopped reading,
and is dropped (its transport aborted), logged, and announced like any other departure,
so one stuck student cannot eat the server's memory or stall the room. The limit is
checked as bytes go into the transport, which happens only in a flush (or for a client
that is leaving already); a drop found then is carried out once that flush is finished,
so the departure notice it causes never nests inside another broadcast and no loop over
the registry ever sees the registry change. The kernel's own send buffer sits in front
of this limit; on Linux it grows to several MiB for a peer that does not read, so
``send_buffer_size`` (``SO_SNDBUF``) can pin it when detection must be prompt (the tests
do). The echo server adds flow control on top: while a client's answers wait, it stops
reading from that client (``on_write_paused``), so a client that sends without reading
slows only itself, and the limit is a backstop it never reaches in practice.

A fair share for every client
-----------------------------
A classroom holds a student who tries things. With ``read_rate`` (the hub's default), each
client has a token bucket: ``read_burst`` bytes at once, then ``read_rate`` a second. A
read never takes more than the bucket holds (``get_buffer`` offers less room), and a read
that empties it pauses reading from that client (``pause_reading``) until the bucket has
refilled: the kernel's buffers fill, the flooder's own ``send`` blocks, and nothing is
lost or slows anyone else, so readers at terminal speed never fall behind far enough to
be dropped. Newcomers are admitted by ``admission.refusal_reason`` (``allow``/``deny``
networks, ``max_clients``, ``max_per_address``) and refused with a notice that says why;
every client gets TCP keepalive (``enable_keepalive``: a laptop that vanished leaves
within about two minutes) and, with ``idle_timeout``, one sweep closes whoever has sent
nothing for that long. Out of file descriptors, the loop cannot accept newcomers: that is
logged at most once a second (``RESOURCE_LOG_INTERVAL``) and the clients online go on.

Leaving exactly once
--------------------
A client leaves by whichever comes first: ``q`` (hub), end of stream, reset, drop, or
the server stopping. ``disconnect`` is idempotent, so the departure is logged and
announced once however many of these happen.

Whose mistake
-------------
Everything a peer can do wrong (invalid UTF-8, a reset, not reading, connecting to a full
room) is an ordinary event: logged, survived. Mistakes of whoever starts the server (a
busy port, a port needing privileges, an unknown host) end the program with one line
that says what to do and exit status 1, never a traceback.
"""
import asyncio
import codecs
import errno
import socket
import sys
import time

from . import admission, turns

#: Bytes a client may have waiting in the server's buffer before it counts as not reading.
DEFAULT_OUT_BUFFER_LIMIT = 1024 * 1024

#: One read takes at most this much (asyncio's own read size); one buffer serves them all.
READ_SIZE = 256 * 1024
#: The least one read of a client over its rate takes (it then waits that much longer).
MIN_READ = 4096

#: Default cap on clients connected at once (a class or two; far below what the loop can carry).
DEFAULT_MAX_CLIENTS = 200

#: listen() backlog: a whole class connecting at the same second must not overflow the
#: queue of connections the kernel accepted for us but we have not picked up yet (an
#: overflow leaves "phantom" clients that think they are connected). The system caps it
#: (Linux: net.core.somaxconn, 4096 on current kernels).
LISTEN_BACKLOG = 4096

#: How long close() waits for connections to finish closing before it aborts them.
CLOSE_TIMEOUT = 2.0

#: TCP keepalive: a laptop that vanished (lid shut, Wi-Fi gone) sends no FIN and no RST;
#: after this long without a word from it the kernel starts probing, every
#: KEEPALIVE_INTERVAL, and gives up after KEEPALIVE_PROBES: it leaves within ~2 minutes.
KEEPALIVE_IDLE = 60
KEEPALIVE_INTERVAL = 10
KEEPALIVE_PROBES = 6

#: Out of file descriptors, newcomers cannot be accepted: the log says so at most this
#: often (seconds), with the count of failed accepts it left out, and accepting is tried
#: again after RESOURCE_RETRY.
RESOURCE_LOG_INTERVAL = 1.0
RESOURCE_RETRY = 0.5

#: Newcomers taken in per turn of the loop (the rest wait in the kernel's backlog).
ACCEPTS_PER_TURN = 256

_OUT_OF_FILES = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}

_new_utf8_decoder = codecs.getincrementaldecoder('utf-8')


def enable_keepalive(sock):
    """Turn on TCP keepalive with the timings above, as far as this system lets us set them.

    The one seam for the platforms' different options: Linux and Windows 10 (1709 and
    later) name them TCP_KEEPIDLE/INTVL/CNT, macOS names the first TCP_KEEPALIVE; where an
    option is missing the system's default applies (probing after 2 hours).
    """
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    idle = getattr(socket, 'TCP_KEEPIDLE', None) or getattr(socket, 'TCP_KEEPALIVE', None)
    for option, value in ((idle, KEEPALIVE_IDLE),
                          (getattr(socket, 'TCP_KEEPINTVL', None), KEEPALIVE_INTERVAL),
                          (getattr(socket, 'TCP_KEEPCNT', None), KEEPALIVE_PROBES)):
        if option is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, option, value)
            except OSError:
                pass   # an older system without this one: its default stays


def stderr_log(message):
    """Write one timestamped line to stderr and flush it at once (stderr may be a pipe)."""
    stamp = time.strftime('%Y-%m-%d %H:%M:%S')
    stream = sys.stderr
    if stream is None:  # pythonw on Windows has no stderr at all
        return
    stream.write('%s %s\n' % (stamp, message))
    stream.flush()


def _silent_log(message):
    """The default log of servers used as a library: say nothing."""


class ClientConnection(asyncio.BufferedProtocol):
    """One accepted connection, as the server sees it.

    Attributes a server hook may read:
        addr: ``(ip, port)`` of the peer.
        label: ``str(addr)``, the name the lab's messages use, e.g. ``('127.0.0.1', 51234)``.
        transport: the asyncio transport (write through ``server.send_to`` instead).
        online: True from the join until the client leaves.
    """

    def __init__(self, server):
        self.server = server
        self.addr = None
        self.label = None
        self.transport = None
        self.online = False
        self.over_limit = False
        self.outbox = []             # bytes queued this turn, written by the next flush
        self.raw_socket = None       # the socket itself, where the loop allows direct sends
        self.sock = None             # raw_socket while the transport holds nothing for us
        self.decoder = _new_utf8_decoder(errors='replace')
        self.half_character = False  # the decoder holds the first bytes of a character
        self.last_read = 0.0         # loop time of the last read (or of resuming to read)
        self.gap = 0.0               # seconds from the read before (or the resume) to this one
        self.tokens = 0.0            # bytes this client may still send at once (read_rate)
        self.throttled = False       # reading paused: it sent more than its share
        self.offered = READ_SIZE     # room the last read was given, and whether it filled it
        self.read_filled = False
        self.last_chunk_size = 0     # the hub's framing (sanitize.continues): the last chunk
        self.last_read_filled = False  # relayed, its read and whether it ended a line
        self.ended_line = True
        self.continued = False

    def __repr__(self):
        return '<ClientConnection %s%s>' % (self.label, '' if self.online else ' (gone)')

    # Each callback hands over to the server. Sends are queued for a flush, and only a flush
    # can find a client over its limit, so the flush carries out the drops (see "Clients
    # that stop reading" in the module docstring).

    def connection_made(self, transport):
        self.transport = transport
        self.server._connection_made(self)

    def get_buffer(self, sizehint):
        server = self.server
        buffer = server._read_buffer
        if server.read_rate:
            # No read takes more than the client may send now (see _spend), so the rate
            # holds however much it pours into its socket.
            allowance = int(self.tokens + (server._loop.time() - self.last_read) * server.read_rate)
            if allowance < READ_SIZE:
                buffer = buffer[:max(MIN_READ, allowance)]
        self.offered = len(buffer)
        return buffer

    def buffer_updated(self, nbytes):
        self.read_filled = nbytes >= self.offered
        self.data_received(bytes(self.server._read_buffer[:nbytes]))

    def data_received(self, data):
        self.server._data_received(self, data)

    def eof_received(self):
        self.server.disconnect(self, 'EOF')
        return False  # let the transport close its side too

    def connection_lost(self, exc):
        self.server._connection_lost(self, exc)

    def pause_writing(self):
        self.server.on_write_paused(self)

    def resume_writing(self):
        self.server.on_write_resumed(self)


class InstructorServer:
    """A TCP server for the lab's clients; subclasses say what to do with their text.

    Args:
        host: address to listen on; ``'0.0.0.0'`` lets every machine on the network in.
        port: port to listen on; 0 picks a free one (read ``.port`` after ``start()``).
        max_clients: clients connected at once; a newcomer beyond this gets
            ``refusal_notice()`` and is closed.
        out_buffer_limit: bytes that may wait in the server's buffer for one client; a
            client over it has stopped reading and is dropped.
        send_buffer_size: if given, ``SO_SNDBUF`` for accepted sockets, which bounds what the
            kernel holds for a client that does not read (None keeps the system's default).
        log: called with each log line (no timestamp, no newline); None logs nothing.
            The command line passes ``stderr_log``.
        quiet: leave routine joins and departures out of the log (starts, refusals, drops,
            errors and stops are still logged).
        recorder: if given, called as ``recorder(timestamp, addr, direction, data)`` for
            every chunk read from a client (``'recv'``) and every chunk queued for one
            (``'send'``, once per ``send_to`` and per recipient of ``send_to_all``);
            ``timestamp`` is ``time.monotonic()``, ``addr`` is ``(ip, port)``. It runs on
            the server's event loop thread: keep it quick and do not let it raise.
        max_per_address: clients from one IP address at once (0: no cap); a newcomer
            beyond it gets ``per_address_notice()`` and is closed, while others get in.
        allow, deny: networks (``'10.0.0.0/8'``, or ``ipaddress`` networks) a newcomer's
            address must be in (when ``allow`` lists any) and must not be in; others get
            ``not_allowed_notice()`` and are closed.
        idle_timeout: seconds a client may send nothing before it is told and closed
            (None: never).
        read_rate: bytes per second read from one client once its ``read_burst`` is used
            up; beyond it the server stops reading from that client for a while (the
            kernel then holds back its sends: nothing is lost, nobody else is slowed).
            None takes the class's ``READ_RATE``; 0 reads as fast as a client sends.
        read_burst: bytes a client may send at once before ``read_rate`` applies.
        keepalive: turn on TCP keepalive for every client (``enable_keepalive``).
    """

    #: Used in log lines, e.g. ``hub server listening on ...``.
    NAME = 'instructor server'
    #: Port of the command line; the class itself defaults to 0 (a free port).
    DEFAULT_PORT = 0
    #: Bytes per second read from one client (0: no limit), unless ``read_rate`` says.
    READ_RATE = 0
    #: Bytes one client may send at once before ``read_rate`` holds it back.
    READ_BURST = 256 * 1024

    def __init__(self, host='127.0.0.1', port=0, max_clients=DEFAULT_MAX_CLIENTS,
                 out_buffer_limit=DEFAULT_OUT_BUFFER_LIMIT, send_buffer_size=None,
                 log=None, quiet=False, recorder=None, max_per_address=0, allow=(),
                 deny=(), idle_timeout=None, read_rate=None, read_burst=None,
                 keepalive=True):
        if max_clients < 1:
            raise ValueError('max_clients must be at least 1, not %r' % (max_clients,))
        if out_buffer_limit < 1:
            raise ValueError('out_buffer_limit must be at least 1, not %r' % (out_buffer_limit,))
        if max_per_address < 0:
            raise ValueError('max_per_address must be 0 (no cap) or more, not %r'
                             % (max_per_address,))
        if idle_timeout is not None and idle_timeout <= 0:
            raise ValueError('idle_timeout must be positive (or None), not %r' % (idle_timeout,))
        self.read_rate = self.READ_RATE if read_rate is None else read_rate
        self.read_burst = self.READ_BURST if read_burst is None else read_burst
        if self.read_rate < 0 or self.read_burst < 1:
            raise ValueError('read_rate must be 0 or more and read_burst at least 1, not %r, %r'
                             % (self.read_rate, self.read_burst))
        self.max_per_address = max_per_address
        self.allow = admission.parse_networks([str(n) for n in allow])
        self.deny = admission.parse_networks([str(n) for n in deny])
        self.idle_timeout = idle_timeout
        self.keepalive = keepalive
        self._per_address = {}       # ip -> clients online from it
        self._idle_sweep = None      # the TimerHandle of the next idle sweep
        self._resource_log_at = None  # loop time of the last out-of-files line
        self._resource_errors = 0    # failed accepts since that line
        self.host = host
        self.port = port
        self.max_clients = max_clients
        self.out_buffer_limit = out_buffer_limit
        self.send_buffer_size = send_buffer_size
        self.quiet = quiet
        self._log = log if log is not None else _silent_log
        self._recorder = recorder
        self._listener = None        # the asyncio.Server once started
        self._loop = None
        self._stopping = False
        self._unflushed = []         # clients whose outbox holds bytes
        self._broadcasts = []        # (bytes, excluded client) queued this turn, in order
        self._flush_pending = False  # a flush is scheduled for the end of this turn
        self._reading = False        # in on_chunk: a flush it asks for waits for it to return
        self._clients = {}           # online ClientConnection -> None, in join order
        self._connections = set()    # every open connection, refused ones included
        self._all_closed = None      # asyncio.Event, set when _connections empties while stopping
        self._over_limit = []        # clients to drop once the current event is handled
        self._read_buffer = memoryview(bytearray(READ_SIZE))   # every read lands here

    # ---------------------------------------------------------------- for callers

    async def start(self):
        """Start listening; afterwards ``port`` is the bound port. Raises OSError if it cannot."""
        loop = self._loop = asyncio.get_running_loop()
        if loop.get_exception_handler() is None:   # a loop of our own (not someone's app)
            loop.set_exception_handler(self._loop_exception)
        self._listener = await self._listen()
        self.host, self.port = self._listener.sockets[0].getsockname()[:2]
        self._log('%s listening on %s:%d (at most %d clients%s)'
                  % (self.NAME, self.host, self.port, self.max_clients,
                     ', %d per address' % self.max_per_address if self.max_per_address else ''))
        if self.idle_timeout is not None:
            self._schedule_idle_sweep()

    async def _listen(self):
        """The listening sockets (an asyncio.Server), accepting newcomers.

        On a selector loop (Linux, macOS) the server makes its own accepts
        (``_accept_ready``): asyncio's accept loop, out of file descriptors, goes on trying
        once per connection waiting, up to the backlog, and schedules a retry for each
        failure, so the retries multiply: 4,065 failed accepts in the first second, 24,576
        in the third, measured here, until the loop does nothing else. Ours stops at the
        first failure and tries again RESOURCE_RETRY later, once. Elsewhere (Windows'
        proactor) asyncio accepts.
        """
        own = isinstance(self._loop, asyncio.SelectorEventLoop)
        listener = await self._loop.create_server(
            lambda: ClientConnection(self), self.host, self.port, backlog=LISTEN_BACKLOG,
            start_serving=not own)
        if own:
            raw = [getattr(sock, '_sock', None) for sock in listener.sockets]
            if all(isinstance(sock, socket.socket) for sock in raw):
                for sock in raw:
                    sock.listen(LISTEN_BACKLOG)
                    self._loop.add_reader(sock.fileno(), self._accept_ready, sock)
            else:   # a Python whose TransportSocket hides the socket: asyncio accepts
                await listener.start_serving()
        return listener

    def _accept_ready(self, sock):
        """Take in the newcomers waiting on ``sock`` (a bounded number per turn of the loop,
        so a crowd connecting at once cannot starve the clients online)."""
        for _ in range(ACCEPTS_PER_TURN):
            try:
                conn, _ = sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except ConnectionAbortedError:
                continue     # it gave up before we took it
            except OSError as error:
                if error.errno in _OUT_OF_FILES:
                    self._log_out_of_files(error)
                    self._pause_accepting(sock)
                else:
                    self._log('accepting a newcomer failed: %s' % (error,))
                return
            conn.setblocking(False)
            self._loop.create_task(self._take_in(conn))

    async def _take_in(self, conn):
        try:
            await self._loop.connect_accepted_socket(lambda: ClientConnection(self), conn)
        except OSError:       # reset before its transport was made: nobody to tell
            conn.close()

    def _pause_accepting(self, sock):
        self._loop.remove_reader(sock.fileno())
        self._loop.call_later(RESOURCE_RETRY, self._resume_accepting, sock)

    def _resume_accepting(self, sock):
        if not self._stopping and sock.fileno() != -1:
            self._loop.add_reader(sock.fileno(), self._accept_ready, sock)

    # What the event loop meets outside our callbacks. On Windows' proactor loop an OSError
    # in accept (a client that reset before it was taken in) closes the listening socket
    # for good (CPython gh-93821), and a client's reset is reported from the transport's
    # own callback with a traceback per client: a room must go on admitting newcomers, and
    # its log must not drown in what students' laptops do every minute.

    def _loop_exception(self, loop, context):
        error = context.get("exception")
        if (isinstance(error, OSError) and error.errno in _OUT_OF_FILES
                and "accept" in context.get("message", "")):
            self._log_out_of_files(error)
        elif context.get("message", "").startswith("Accept failed") and not self._stopping:
            loop.create_task(self._listen_again(error))
        elif isinstance(error, (ConnectionResetError, ConnectionAbortedError, BrokenPipeError)):
            self._log_routine("a connection was reset by its client (%s)" % error)
        else:
            loop.default_exception_handler(context)

    def _log_out_of_files(self, error):
        """One line a second at most while newcomers cannot be accepted for want of file
        descriptors (143,857 lines in 5 s before, one per failed accept); the clients
        online are served all along."""
        self._resource_errors += 1
        now = self._loop.time()
        if self._resource_log_at is not None and now - self._resource_log_at < RESOURCE_LOG_INTERVAL:
            return
        self._log('cannot accept newcomers: %s (tried %d times since the last line); '
                  'the %d clients online are still served; raise the limit on open files '
                  '(ulimit -n) or lower --max-clients'
                  % (error.strerror or error, self._resource_errors, len(self._clients)))
        self._resource_log_at = now
        self._resource_errors = 0

    async def _listen_again(self, error):
        """Listen again on the same address if the listening socket was closed under us."""
        if self._stopping or any(sock.fileno() != -1 for sock in self._listener.sockets):
            return  # still listening: the loop only reported the failure
        self._log("accepting failed (%s); listening again on %s:%d" % (error, self.host, self.port))
        try:
            self._listener = await self._listen()
        except OSError as again:
            self._log("could not listen again on %s:%d: %s" % (self.host, self.port, again))

    async def close(self):
        """Stop listening and close every connection; return the number closed."""
        if self._listener is None or self._stopping:
            return 0
        self._stopping = True
        self._listener.close()
        if self._idle_sweep is not None:
            self._idle_sweep.cancel()
        self._flush_outboxes()       # what was queued before the stop still goes out
        self._all_closed = asyncio.Event()
        count = len(self._connections)
        for conn in list(self._connections):
            # Nobody is told about these departures: everyone is leaving at once.
            conn.online = False
            conn.sock = conn.raw_socket = None
            # A client that is not reading would hold a graceful close open forever.
            self._close_transport(conn, abort=conn.transport.get_write_buffer_size() > 0)
        self._clients.clear()
        if self._connections:
            try:
                await asyncio.wait_for(self._all_closed.wait(), CLOSE_TIMEOUT)
            except asyncio.TimeoutError:
                for conn in list(self._connections):
                    conn.transport.abort()
        try:
            await asyncio.wait_for(self._listener.wait_closed(), CLOSE_TIMEOUT)
        except asyncio.TimeoutError:
            pass  # only the listening sockets were left, and they are closed already
        return count

    @property
    def client_count(self):
        """Clients online now (read it on the server's thread, e.g. through ServerThread.call)."""
        return len(self._clients)

    def client_addresses(self):
        """``(ip, port)`` of each client online, in the order they joined."""
        return [conn.addr for conn in self._clients]

    # ---------------------------------------------------------------- for subclasses

    def on_join(self, client):
        """A client joined (it is already counted in ``clients``)."""

    def on_chunk(self, client, data):
        """One chunk a client sent, as valid UTF-8 bytes (never empty).

        A character cut in two by TCP is completed from the next chunk, and bytes that are
        not UTF-8 are already U+FFFD. The default decodes it and calls ``on_text``; a
        server that only passes the bytes on can override this and skip the decoding.
        """
        self.on_text(client, data.decode('utf-8'))

    def on_text(self, client, text):
        """Text decoded from one chunk a client sent (never empty)."""

    def on_leave(self, client, reason):
        """A client left (it is no longer in ``clients``); not called while stopping."""

    def on_write_paused(self, client):
        """The client's buffer passed asyncio's high-water mark (the hub ignores this)."""

    def on_write_resumed(self, client):
        """The client's buffer drained below asyncio's low-water mark."""

    def refusal_notice(self):
        """What a newcomer reads when ``max_clients`` are already connected."""
        return 'server full (at most %d clients), try again later' % self.max_clients

    def per_address_notice(self):
        """What a newcomer reads when ``max_per_address`` clients from its address are in."""
        return ('too many connections from your address (at most %d), close one first'
                % self.max_per_address)

    def not_allowed_notice(self):
        """What a newcomer reads when its address is not allowed (``allow``/``deny``)."""
        return 'your address may not connect to this server'

    def idle_notice(self):
        """What a client reads before it is closed for ``idle_timeout`` seconds of silence."""
        return 'closed: nothing sent for %g s' % self.idle_timeout

    @property
    def clients(self):
        """The clients online, in the order they joined (do not change it)."""
        return self._clients

    def send_to(self, client, data):
        """Queue ``data`` (bytes) for ``client``; one call's bytes stay together on the wire.

        The bytes go out at the end of this turn of the event loop, after what was queued
        for the client before them. A client whose buffer goes over ``out_buffer_limit``
        is dropped after that, so callers may go on looping over ``clients``.
        """
        if not client.online:
            return
        # Recorded first, so that whoever reads the bytes finds them in the record already.
        self._record(client, 'send', data)
        if not client.outbox:
            self._unflushed.append(client)
            if not self._flush_pending:
                self._schedule_flush()
        client.outbox.append(data)

    def send_to_all(self, data, exclude=None):
        """``send_to`` every client online but ``exclude``: one bytes object shared by all."""
        if turns.broadcast_goes_to_outboxes(self._recorder is not None, bool(self._unflushed)):
            for client in self._clients:
                if client is not exclude:
                    self.send_to(client, data)
            return
        if not self._flush_pending:
            self._schedule_flush()
        self._broadcasts.append((data, exclude))

    def disconnect(self, client, reason, abort=False):
        """Make ``client`` leave (once): log it, close it, then call ``on_leave``.

        ``abort`` discards what is still queued for the client instead of sending it first.
        """
        if not client.online:
            return
        client.online = False
        del self._clients[client]
        self._forget_address(client.addr[0])
        if abort:
            del client.outbox[:]
        else:
            # What was queued before it left still goes out.
            for data in turns.leaving_writes(client, self._broadcasts, client.outbox):
                self._write(client, data)
            del client.outbox[:]
        client.sock = client.raw_socket = None
        self._close_transport(client, abort)
        self._log_routine('%s left (%s); %d online' % (client.label, reason, len(self._clients)),
                          routine=reason in ('q', 'EOF', 'reset'))
        self.on_leave(client, reason)

    # ---------------------------------------------------------------- events

    def _connection_made(self, conn):
        sock = conn.transport.get_extra_info('socket')
        peer = conn.transport.get_extra_info('peername')
        if self._stopping or sock is None or peer is None:
            conn.transport.abort()  # stopping, or the peer was gone before we looked
            return
        try:
            # Chat messages are small and interactive: send each at once, never batch.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.send_buffer_size is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.send_buffer_size)
            if self.keepalive:
                enable_keepalive(sock)
        except OSError:  # e.g. macOS refuses options on a socket its peer already reset
            conn.transport.abort()
            return
        self._connections.add(conn)
        conn.addr = (peer[0], peer[1])
        conn.label = str(conn.addr)
        ip = conn.addr[0]
        refused = admission.refusal_reason(
            ip, len(self._clients), self.max_clients, self._per_address.get(ip, 0),
            self.max_per_address, self.allow, self.deny)
        if refused is not None:
            self._refuse(conn, refused)
            return
        self._per_address[ip] = self._per_address.get(ip, 0) + 1
        conn.last_read = self._loop.time()
        conn.tokens = self.read_burst
        if self._broadcasts:
            self._queue_broadcasts()    # what was broadcast before it joined is not for it
        conn.raw_socket = conn.sock = self._direct_socket(sock)
        conn.online = True
        self._clients[conn] = None
        self._log_routine('%s joined; %d online' % (conn.label, len(self._clients)))
        self.on_join(conn)

    def _refuse(self, conn, reason):
        if reason == admission.FULL:
            notice = self.refusal_notice()
            detail = '(%d/%d online)' % (len(self._clients), self.max_clients)
        elif reason == admission.PER_ADDRESS:
            notice = self.per_address_notice()
            detail = '(%d online from %s, at most %d)' % (
                self._per_address.get(conn.addr[0], 0), conn.addr[0], self.max_per_address)
        else:
            notice = self.not_allowed_notice()
            detail = '(--allow/--deny)'
        notice = notice.encode('utf-8')
        self._record(conn, 'send', notice)
        conn.transport.write(notice)
        conn.transport.close()  # sends the notice first, then closes
        self._log('%s refused: %s %s' % (conn.label, reason, detail))

    def _forget_address(self, ip):
        count = self._per_address.get(ip, 0) - 1
        if count > 0:
            self._per_address[ip] = count
        else:
            self._per_address.pop(ip, None)

    def _data_received(self, conn, data):
        if self._recorder is not None:
            self._record(conn, 'recv', data)
        if not conn.online:
            return  # a refused client, or one that left in this same read
        now = self._loop.time()
        conn.gap = now - conn.last_read
        if self.read_rate:
            self._spend(conn, len(data), now)
        conn.last_read = now
        if conn.half_character or not data.isascii():
            # Completes a character from the last chunk, or holds one that is not ASCII
            # (or not UTF-8): decode, and give on_chunk valid UTF-8 (U+FFFD for garbage).
            decoder = conn.decoder
            text = decoder.decode(data)
            conn.half_character = bool(decoder.getstate()[0])
            if not text:
                return
            data = text.encode('utf-8')
        already_pending = self._flush_pending
        self._reading = True
        try:
            self.on_chunk(conn, data)
        finally:
            self._reading = False
            if self._flush_pending and not already_pending:   # this read asked for one
                self._flush_now_or_at_end_of_turn()

    def _connection_lost(self, conn, exc):
        self._connections.discard(conn)
        if conn.online:
            self.disconnect(conn, self._describe_loss(exc))
        if self._stopping and not self._connections and self._all_closed is not None:
            self._all_closed.set()

    # Fair share: a token bucket per client, refilled at read_rate up to read_burst. A read
    # that overdraws it pauses reading from that client until the debt is repaid: the
    # kernel's buffers fill, its sends block, and it alone slows down. Nothing is lost.

    def _spend(self, conn, nbytes, now):
        tokens = min(self.read_burst, conn.tokens + conn.gap * self.read_rate) - nbytes
        conn.tokens = tokens
        if tokens < 0 and not conn.throttled:
            conn.throttled = True
            conn.transport.pause_reading()
            self._loop.call_later(-tokens / self.read_rate, self._resume_reading, conn)

    def _resume_reading(self, conn):
        conn.throttled = False
        if not conn.online or conn.transport.is_closing():
            return
        conn.tokens = 0.0
        conn.last_read = self._loop.time()   # the gap to the next read counts from here
        conn.transport.resume_reading()

    # Silence: with idle_timeout, one sweep every quarter of it closes whoever has sent
    # nothing for that long (a timer per client would cost a reschedule per read).

    def _schedule_idle_sweep(self):
        self._idle_sweep = self._loop.call_later(max(0.05, self.idle_timeout / 4),
                                                 self._close_idle_clients)

    def _close_idle_clients(self):
        if self._stopping:
            return
        oldest = self._loop.time() - self.idle_timeout
        idle = [client for client in self._clients if client.last_read <= oldest]
        if idle:
            notice = self.idle_notice().encode('utf-8')
            for client in idle:
                self.send_to(client, notice)
                self.disconnect(client, 'idle: nothing sent for %g s' % self.idle_timeout)
        self._schedule_idle_sweep()

    @staticmethod
    def _describe_loss(exc):
        if exc is None:
            return 'EOF'
        if isinstance(exc, (ConnectionResetError, ConnectionAbortedError, BrokenPipeError)):
            return 'reset'
        return 'error: %s' % (exc,)

    def _drop_clients_over_limit(self):
        # In the order they were marked (turns.goes_over_limit), once the turn's writes are
        # made. Announcing one drop may push another client over its limit: the list grows
        # while we walk it, and each client can be on it only once.
        index = 0
        while index < len(self._over_limit):
            client = self._over_limit[index]
            index += 1
            self.disconnect(client, 'dropped: stopped reading, over %d bytes queued'
                            % self.out_buffer_limit, abort=True)
        del self._over_limit[:]

    # ---------------------------------------------------------------- writing

    def _schedule_flush(self):
        self._flush_pending = True
        if not self._reading:            # a read schedules its flush as it returns
            self._loop.call_soon(self._flush_at_end_of_turn)

    def _flush_now_or_at_end_of_turn(self):
        """Flush at once if the read that just ended was the last event of this turn of
        the loop, else at the end of the turn.

        A flush handed to ``call_soon`` runs only after the loop has polled its sockets
        once more, and at chat rate most turns bring a single message: waiting for that
        poll cost ~40 us before the first relay went out (our hub's pickup, from send to
        first arrival, went from 0.21-0.25 ms to 0.18-0.20 ms at p50; a C relay's is
        0.11 ms). Whether other events are still waiting in this turn is asyncio's own
        queue (``_ready``); where a loop has none, the flush waits for the end of the turn.
        """
        if not getattr(self._loop, '_ready', True):
            self._flush_at_end_of_turn()
        else:
            self._loop.call_soon(self._flush_at_end_of_turn)

    def _flush_at_end_of_turn(self):
        self._flush_pending = False
        self._flush_outboxes()
        if self._over_limit:
            self._drop_clients_over_limit()

    def _flush_outboxes(self):
        """Make every write this turn's queues call for (``turns.end_of_turn_writes``)."""
        broadcasts, self._broadcasts = self._broadcasts, []
        unflushed, self._unflushed = self._unflushed, []
        if not (broadcasts or unflushed):
            return
        writes = turns.end_of_turn_writes(self._clients, broadcasts,
                                          [(client, client.outbox) for client in unflushed])
        for client in unflushed:
            del client.outbox[:]
        self._perform(writes)

    def _queue_broadcasts(self):
        """Move this turn's broadcasts into the outboxes of those online now.

        For a newcomer, who must not get them: writing them at once instead would cost a
        ``send()`` per client per join when a whole class joins in one turn. They go before
        what an outbox holds already, which was queued after them (``turns``, rule 3).
        """
        broadcasts, self._broadcasts = self._broadcasts, []
        unflushed = self._unflushed
        for client, share in turns.shares_before_a_join(self._clients, broadcasts):
            outbox = client.outbox
            if not outbox:
                unflushed.append(client)
            outbox[:0] = share

    def _perform(self, writes):
        """Make ``writes`` (``(client, data)`` pairs), in order. The hot loop of a busy room."""
        for client, data in writes:
            # _write, inlined: without a call per recipient the walk over 99 of them took
            # 0.27 ms at p50 instead of 0.30 (hub_bench --rate 10, 5 runs alternating).
            sock = client.sock
            if sock is not None:
                try:
                    sent = sock.send(data)
                except OSError:
                    sent = 0
                if sent == len(data):
                    continue
                data = data[sent:]
            self._write_through_transport(client, data)

    def _write(self, client, data):
        """Write ``data`` to ``client`` now: to its socket while the transport holds nothing
        for it (see "Straight to the socket" above), else through the transport."""
        sock = client.sock
        if sock is not None:
            try:
                sent = sock.send(data)
            except OSError:      # full (EAGAIN) or broken: the transport sorts it out
                sent = 0
            if sent == len(data):
                return
            data = data[sent:]
        self._write_through_transport(client, data)

    def _write_through_transport(self, client, data):
        """``transport.write(data)``, and the transport then holds the client's writes until
        it has sent them all (keeping them in order); a client over its limit is marked."""
        client.sock = None
        transport = client.transport
        if transport.is_closing():
            return
        transport.write(data)
        backlog = transport.get_write_buffer_size()
        if backlog == 0:
            client.sock = client.raw_socket
        elif turns.goes_over_limit(client.online, client.over_limit, backlog,
                                   self.out_buffer_limit):
            client.over_limit = True
            self._over_limit.append(client)

    def _direct_socket(self, transport_socket):
        """The socket under asyncio's wrapper, if bytes may be sent to it directly, else None.

        Only on a selector event loop (Linux and macOS; Windows uses the proactor, whose
        transports must do all the writing), and only while the transport holds nothing
        for the client (``_write_through_transport`` sees to that). asyncio hides the
        socket's ``send`` behind a ``TransportSocket``; the socket itself is its ``_sock``
        (CPython 3.8 onwards). If a Python lacks it, every write goes through the transport.
        """
        if not isinstance(self._loop, asyncio.SelectorEventLoop):
            return None
        raw = getattr(transport_socket, '_sock', None)
        return raw if isinstance(raw, socket.socket) else None

    # ---------------------------------------------------------------- helpers

    def _close_transport(self, conn, abort):
        if abort:
            conn.transport.abort()
        elif not conn.transport.is_closing():
            conn.transport.close()

    def _record(self, conn, direction, data):
        if self._recorder is not None:
            self._recorder(time.monotonic(), conn.addr, direction, data)

    def _log_routine(self, message, routine=True):
        if not (routine and self.quiet):
            self._log(message)

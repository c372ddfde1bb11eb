"""Scripted socket peers: the other end of the wire for a program under test.

    Peer        one connected TCP socket on loopback, scripted by a test or a check
    Listener    a listening socket on 127.0.0.1:0, for programs that connect to *us*
    pump        drives many Peers from one thread (selectors) until each has what it needs
    drain       reads whatever has already arrived for some Peers, without waiting
    free_port   a port to *tell* a program that asks for one on stdin
    Ports       one run's free ports, from its port range if it has one

A Peer sends text as UTF-8 and keeps everything it receives as one accumulated byte
string: the lab's protocol has no framing, so a check matches on accumulated input, never
on one ``recv``. It also keeps a transcript of what it sent and received, with times: the
evidence shown when a wait fails.

Nothing here sleeps to let things settle: every wait ends as soon as the awaited bytes or
the end of the stream arrive, or fails at a deadline from :mod:`grader.timeouts` saying
what it waited for and what it got instead. Only :meth:`Peer.assert_absent` waits out its
time, as a check for absence must.
"""

import os
import random
import selectors
import socket
import struct
import time

from . import timeouts
from .process import WaitTimeout

LOOPBACK = "127.0.0.1"

#: One recv takes at most this much; big enough that a 1 MiB message needs only a few.
RECV_SIZE = 256 * 1024

#: A transcript entry keeps at most this many bytes of its chunk (head and tail).
TRANSCRIPT_CHUNK = 4096

#: The fixed words of a transcript, per language.
TRANSCRIPT_WORDS = {
    "en": {"head": "transcript of %r (last %d of %d events):", "sent": "sent", "recv": "recv",
           "end": "<end of stream>", "reset": "<reset>", "bytes": " (%d bytes)"},
    "zh": {"head": "%r 的记录 (最后 %d 条, 共 %d 条):", "sent": "发出", "recv": "收到",
           "end": "<连接结束>", "reset": "<连接被重置>", "bytes": " (%d 字节)"},
}


def free_port(host=LOOPBACK):
    """A port that was free a moment ago, chosen by the kernel (see Ports)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


class Ports:
    """Hands out ports for one run: a port that was free a moment ago, for a program that
    must be *told* its port (a student's server reads it on stdin). Where we own the
    listening socket we bind port 0 and keep it instead.

    Without a range (grader.settings.PortRange) the kernel picks one. With one (batch
    grading gives each parallel grader a range of its own, below the ephemeral ports, so
    two graders never tell two student servers the same port) the cursor starts at a
    random place, so that one grader does not hand out a port its predecessor in the same
    range used moments ago, and moves on from there. The cursor belongs to the run.
    """

    def __init__(self, port_range=None, host=LOOPBACK):
        self.range = port_range
        self.host = host
        self._next = None

    def free_port(self):
        if self.range is not None:
            start, end = self.range.start, self.range.end
            for _ in range(end - start + 1):
                port = self._next if self._next is not None else random.randint(start, end)
                self._next = start if port >= end else port + 1
                with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                    try:
                        probe.bind((self.host, port))
                        return port
                    except OSError:
                        continue
        return free_port(self.host)


def trimmed(data, limit=300):
    """``data`` (bytes or str) short enough for an assertion message: head ... tail."""
    text = data if isinstance(data, str) else bytes(data).decode("utf-8", "replace")
    if len(text) <= limit:
        return repr(text)
    half = limit // 2
    return "%r ... (%d characters left out) ... %r" % (text[:half], len(text) - limit, text[-half:])


def _as_bytes(message):
    return message.encode("utf-8") if isinstance(message, str) else bytes(message)


class Peer:
    """One end of a TCP connection: blocking socket, accumulated input, deadlines.

    Args:
        sock: a connected socket (see :meth:`connect` and :meth:`Listener.accept`).
        name: how failure messages call this peer.
        filler: a byte value (e.g. ``b'x'``) that is counted in ``filler_count`` and not
            kept, so a peer can take in megabytes of bulk and still search its input
            cheaply. Choose one that cannot occur in anything else the peer reads (no
            byte of a multi-byte UTF-8 character is ASCII).
    """

    def __init__(self, sock, name="peer", filler=None):
        self.sock = sock
        self.name = name
        self.sock.settimeout(timeouts.SOCKET)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        #: ``(ip, port)`` of this end, as the program under test sees us.
        self.address = tuple(sock.getsockname()[:2])
        #: How the lab's programs print this peer: ``str((ip, port))``.
        self.addr = str(self.address)
        self.received = bytearray()
        self.filler = filler
        self.filler_count = 0
        self.eof = False  # the other side closed (or reset) the connection
        self.transcript = []  # (monotonic time, "sent" | "recv", bytes (trimmed), length)

    @classmethod
    def connect(cls, port, host=LOOPBACK, name="client", receive_buffer=None, filler=None,
                timeout=timeouts.SHORT):
        """Connect to ``host:port``. ``receive_buffer`` sets ``SO_RCVBUF`` first (a small
        one makes a peer that does not read fill up quickly)."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            if receive_buffer is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
            sock.settimeout(timeout)
            sock.connect((host, port))
        except OSError:
            sock.close()
            raise
        return cls(sock, name, filler)

    def __repr__(self):
        return "<Peer %s %s>" % (self.name, self.addr)

    @property
    def text(self):
        """Everything received so far, decoded (invalid UTF-8 shows as U+FFFD)."""
        return self.received.decode("utf-8", "replace")

    def _record(self, direction, data):
        kept = data if len(data) <= TRANSCRIPT_CHUNK else (
            data[:TRANSCRIPT_CHUNK // 2] + data[-TRANSCRIPT_CHUNK // 2:])
        self.transcript.append((time.monotonic(), direction, bytes(kept), len(data)))

    # -- sending -------------------------------------------------------------------------
    def send(self, message):
        """Send ``message`` (str as UTF-8, or bytes) in one ``sendall``."""
        data = _as_bytes(message)
        self._record("sent", data)
        self.sock.sendall(data)

    def close(self):
        """Close politely (FIN, after any unsent data)."""
        self.transcript.append((time.monotonic(), "sent", b"", 0))
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()

    def reset(self):
        """Close abruptly: SO_LINGER 0 makes close() send RST instead of FIN."""
        self.transcript.append((time.monotonic(), "sent", b"", -1))
        linger = struct.pack("HH" if os.name == "nt" else "ii", 1, 0)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
        self.sock.close()

    # -- receiving -----------------------------------------------------------------------
    def receive_ready(self):
        """Take one chunk (blocking up to the socket's timeout; at once when a selector
        said it is ready)."""
        try:
            data = self.sock.recv(RECV_SIZE)
        except socket.timeout:
            raise  # nothing yet: the caller's deadline decides (a timeout is an OSError too)
        except OSError:  # a reset, or our own socket closed under us: the stream ended
            data = b""
        self._record("recv", data)
        if not data:
            self.eof = True
            return
        if self.filler is not None:
            fill = data.count(self.filler)
            self.filler_count += fill
            # Bulk chunks are all filler; replace() is slow, so call it only when needed.
            data = b"" if fill == len(data) else data.replace(self.filler, b"") if fill else data
        self.received += data

    def _receive_until(self, done, deadline):
        """Receive until ``done()``, EOF, or the deadline; returns ``done()``."""
        while not done() and not self.eof:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self.sock.settimeout(remaining)
            try:
                self.receive_ready()
            except socket.timeout:
                break
        self.sock.settimeout(timeouts.SOCKET)
        return done()

    def wait_for(self, expected, count=1, timeout=timeouts.SHORT):
        """Receive until ``expected`` has arrived ``count`` times in all.

        ``expected`` is text (matched as UTF-8), bytes, or a compiled regex (on ``text``).
        Returns the accumulated text; raises :class:`WaitTimeout` with the transcript.
        """
        if isinstance(expected, (str, bytes, bytearray)):
            needle = _as_bytes(expected)
            found = lambda: self.received.count(needle) >= count  # noqa: E731
            shown = needle.decode("utf-8", "replace")
        else:
            found = lambda: len(expected.findall(self.text)) >= count  # noqa: E731
            shown = expected.pattern
        if not self._receive_until(found, time.monotonic() + timeout):
            raise WaitTimeout("%r waited %.1f s for %r (%d time(s)) but %s.\n%s" % (
                self, timeout, shown, count,
                "the connection was closed" if self.eof else "it did not come",
                self.describe()))
        return self.text

    def wait_for_eof(self, timeout=timeouts.SHORT):
        """Receive until the other side closes the connection; returns the text received."""
        if not self._receive_until(lambda: self.eof, time.monotonic() + timeout):
            raise WaitTimeout("%r waited %.1f s for the connection to close, but it is still "
                              "open.\n%s" % (self, timeout, self.describe()))
        return self.text

    def assert_absent(self, unexpected, within=timeouts.ABSENCE):
        """Receive for ``within`` seconds and check ``unexpected`` never arrived."""
        needle = _as_bytes(unexpected)
        self._receive_until(lambda: needle in self.received, time.monotonic() + within)
        assert needle not in self.received, "%r should never receive %r, but did.\n%s" % (
            self, needle.decode("utf-8", "replace"), self.describe())

    def describe(self, entries=40, zero=None, lang="en"):
        """The end of the transcript, for a failure message; times are seconds since
        ``zero`` (a ``time.monotonic()`` value; default: the first event). ``lang`` ("zh"
        or "en") is the language of its fixed words."""
        words = TRANSCRIPT_WORDS["zh" if lang == "zh" else "en"]
        lines = [words["head"] % (self, min(entries, len(self.transcript)), len(self.transcript))]
        start = zero if zero is not None else self.transcript[0][0] if self.transcript else 0.0
        for stamp, direction, data, length in self.transcript[-entries:]:
            shown = (trimmed(data, 120) if length > 0 else words["end"] if length == 0
                     else words["reset"])
            size = words["bytes"] % length if length > len(data) else ""
            lines.append("  %+8.3fs %s %s%s" % (stamp - start, words[direction], shown, size))
        return "\n".join(lines)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.sock.close()


class Listener:
    """A listening socket on loopback port 0, for programs that connect to *us*."""

    def __init__(self, host=LOOPBACK):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((host, 0))
        self.sock.listen(16)
        self.host, self.port = self.sock.getsockname()[:2]

    def accept(self, name="server", timeout=timeouts.SHORT):
        """Wait for one connection and return it as a :class:`Peer`."""
        self.sock.settimeout(timeout)
        try:
            conn, _ = self.sock.accept()
        except (socket.timeout, BlockingIOError):  # BlockingIOError: timeout 0 and nobody there
            raise WaitTimeout("nobody connected to %s:%d within %.1f s"
                              % (self.host, self.port, timeout)) from None
        return Peer(conn, name)

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _selector_over(peers):
    """A selector watching every peer whose stream has not ended, each keyed to its Peer."""
    selector = selectors.DefaultSelector()
    for peer in peers:
        if not peer.eof:
            selector.register(peer.sock, selectors.EVENT_READ, peer)
    return selector


def pump(peers, is_done, timeout=timeouts.LONG, what="the expected messages"):
    """Read from all ``peers`` in this one thread until ``is_done(peer)`` holds for each.

    A peer is checked again only after it received something, so the check may scan the
    peer's input. Fails at the deadline naming the peers still waiting.
    """
    deadline = time.monotonic() + timeout
    waiting = {peer for peer in peers if not is_done(peer)}
    with _selector_over(peers) as selector:
        while waiting:
            remaining = deadline - time.monotonic()
            # Every peer still waited for has ended: nothing more can come (and select() on
            # Windows refuses to watch nothing, where Linux would sleep to the deadline).
            if remaining <= 0 or all(peer.eof for peer in waiting) or not selector.get_map():
                break
            for key, _ in selector.select(remaining):
                peer = key.data
                peer.receive_ready()
                if peer.eof:
                    selector.unregister(peer.sock)
                if peer in waiting and is_done(peer):
                    waiting.discard(peer)
    if waiting:
        example = min(waiting, key=peers.index)
        raise WaitTimeout(
            "%d of %d peers still lacked %s after %.1f s; e.g. %r (%s) has: %s"
            % (len(waiting), len(peers), what, timeout, example,
               "closed by the other side" if example.eof else "still connected",
               trimmed(example.received)))


def drain(peers):
    """Read whatever has already arrived for ``peers``, without waiting."""
    with _selector_over(peers) as selector:
        if selector.get_map():
            for key, _ in selector.select(0):
                key.data.receive_ready()

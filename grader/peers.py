"""Scripted socket peers: the other end of the wire for a program under test.

A :class:`Peer` wraps one connected TCP socket on loopback. It sends text as UTF-8, keeps
everything it receives as one accumulated, incrementally decoded text (the lab's protocol
has no framing, so a check matches on accumulated text, never on one ``recv``), and keeps
a transcript of every byte it sent and received with a timestamp: that transcript is the
evidence shown when a check fails.

Waits are event driven with deadlines from :mod:`grader.timeouts`: :meth:`Peer.expect`
returns as soon as the awaited text has arrived, :meth:`Peer.expect_eof` as soon as the
other side closed.
"""

import codecs
import socket
import time

from . import timeouts
from .process import WaitTimeout

LOOPBACK = "127.0.0.1"


def free_port(host=LOOPBACK):
    """A port that was free a moment ago, for programs that must be *told* a port.

    Where we own the listening socket we bind port 0 and keep it; a student's server asks
    for a port on stdin, so the kernel picks one here and we hand it over.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


class Peer:
    """One end of a TCP connection, scripted by a test or a check."""

    def __init__(self, sock, name="peer"):
        self.sock = sock
        self.name = name
        self.sock.settimeout(timeouts.SOCKET)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.address = sock.getsockname()
        self.transcript = []  # (monotonic time, "sent" | "recv", bytes)
        self.received = ""
        self.eof = False
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    # -- making one ----------------------------------------------------------------------
    @classmethod
    def connect(cls, port, host=LOOPBACK, name="client", timeout=timeouts.SHORT):
        return cls(socket.create_connection((host, port), timeout=timeout), name)

    # -- sending -------------------------------------------------------------------------
    def send(self, text):
        """Send text (or bytes) as one ``sendall``."""
        data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
        self.transcript.append((time.monotonic(), "sent", data))
        self.sock.sendall(data)

    def close(self):
        """Close politely (FIN)."""
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()

    def reset(self):
        """Close abruptly: SO_LINGER 0 makes the kernel send RST instead of FIN."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00" * 2)
        self.sock.close()

    # -- receiving -----------------------------------------------------------------------
    def _receive_once(self, deadline):
        """Receive one chunk, waiting until ``deadline`` at most. False once nothing more can come."""
        left = deadline - time.monotonic()
        if self.eof or left <= 0:
            return False
        self.sock.settimeout(min(left, timeouts.SOCKET))
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return True  # nothing yet; the caller checks the deadline
        except OSError:
            data = b""  # a reset is an end of stream too
        self.transcript.append((time.monotonic(), "recv", data))
        if not data:
            self.eof = True
            self.received += self._decoder.decode(b"", final=True)
            return False
        self.received += self._decoder.decode(data)
        return True

    def expect(self, pattern, timeout=timeouts.SHORT, count=1):
        """Wait until ``pattern`` (str or compiled regex) has arrived ``count`` times in all.

        Returns the accumulated text; raises :class:`WaitTimeout` with the transcript.
        """
        found = ((lambda: self.received.count(pattern) >= count) if isinstance(pattern, str)
                 else (lambda: len(pattern.findall(self.received)) >= count))
        deadline = time.monotonic() + timeout
        while not found():
            if not self._receive_once(deadline):
                raise WaitTimeout("%s waited for %r but %s.\n%s" % (
                    self.name, getattr(pattern, "pattern", pattern),
                    "the connection ended" if self.eof else "%.1f s passed" % timeout,
                    self.describe()))
        return self.received

    def expect_eof(self, timeout=timeouts.SHORT):
        """Wait until the other side has closed the connection."""
        deadline = time.monotonic() + timeout
        while self._receive_once(deadline):
            pass
        if not self.eof:
            raise WaitTimeout("%s waited for the connection to close, but after %.1f s it is "
                              "still open.\n%s" % (self.name, timeout, self.describe()))
        return self.received

    def collect(self, duration):
        """Receive whatever arrives for ``duration`` seconds (a wait for *absence*)."""
        deadline = time.monotonic() + duration
        while self._receive_once(deadline):
            pass
        return self.received

    def describe(self, limit=1500):
        """The transcript, trimmed, for a failure message."""
        lines = ["transcript of %s %s:" % (self.name, self.address)]
        start = self.transcript[0][0] if self.transcript else 0.0
        for stamp, direction, data in self.transcript[-40:]:
            shown = data.decode("utf-8", "replace") if data else "<EOF>"
            if len(shown) > 200:
                shown = shown[:100] + " ... " + shown[-100:]
            lines.append("  %+7.3fs %s %r" % (stamp - start, direction, shown))
        text = "\n".join(lines)
        return text if len(text) <= limit else text[:limit // 2] + "\n  ...\n" + text[-limit // 2:]

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
        except socket.timeout:
            raise WaitTimeout("nobody connected to %s:%d within %.1f s" % (self.host, self.port, timeout))
        return Peer(conn, name)

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def addr_text(peer):
    """How the lab prints a peer's address: ``str((ip, port))``."""
    return str(tuple(peer.address[:2]))

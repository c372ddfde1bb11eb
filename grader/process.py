"""Run a student's (or the reference's) Python file as a child process and watch it.

Theory of operation
-------------------
The program under test is started as ``python -u FILE`` with UTF-8 forced on its stdio,
so ``print`` reaches us at once and Chinese text survives a Windows console code page.
Two reader threads (portable: no ``select`` on pipes, which Windows lacks) drain stdout and
stderr as bytes, decode them incrementally, and append to a :class:`Capture`. A capture keeps
at most ``limit`` characters (head and tail), so a program that prints an empty message in a
loop costs us bounded memory and shows up as a *flood* rather than a hang.

Reads of stdin. A program run through the launcher with ``SOCKET_LAB_STDIN_SIGNAL=1`` in its
environment (grader.settings.launcher_env) writes :data:`STDIN_SENTINEL` to its stdout just before each read of stdin that
may wait (see "Reads of stdin, announced" in ``grader/_launch.py``). The stdout reader takes
every sentinel out of the bytes before decoding (one split across two reads included: the
end of a read that could begin a sentinel, and only that, is held back until the next read)
and records a *read request* at the position, in characters, the sentinel had in the text:
the program waited for a line having printed exactly what comes before it
(:attr:`Capture.read_requests`, :meth:`ChildProcess.wait_read`). The text is what the
program printed, byte for byte, minus the sentinels. Without the variable the output is
read as it comes, untouched.

Callers never sleep: they wait for an event with a deadline (:meth:`ChildProcess.wait_for`
a text to appear, :meth:`ChildProcess.wait_read` a read of stdin,
:meth:`ChildProcess.wait_exit` for the exit). Killing kills the whole
process tree; how that is done is the only platform-specific part and sits in
``grader/_sandbox.py`` (with the limits for untrusted code) and, for Windows' job objects,
``grader/_winjob.py``.
"""

import codecs
import collections
import os
import re
import subprocess
import sys
import threading
import time

from . import _launch_env, _sandbox, _winjob, timeouts

#: Characters of each stream kept in memory: the first half and the last half.
CAPTURE_LIMIT = 1024 * 1024

#: Arrival times kept per stream (one per chunk read; older ones are forgotten).
STAMPS_KEPT = 4096

#: Read requests kept per capture (older ones are forgotten; ``read_count`` counts them all).
READS_KEPT = 4096

#: After a child is killed, how long its output may take to end before whatever still
#: holds its pipes is killed too (grader/_sandbox.kill_pipe_holders). Reading what is left
#: in a pipe takes microseconds.
PIPES_GRACE = 0.5

#: Read size of the reader threads.
_READ_SIZE = 65536

#: In a child's environment, "1" asks the launcher to write the sentinel to stdout before
#: each read of stdin (both defined once, in grader/_launch_env.py).
STDIN_SIGNAL_ENV = _launch_env.STDIN_SIGNAL
STDIN_SENTINEL = _launch_env.STDIN_SENTINEL
START_SENTINEL = _launch_env.START_SENTINEL


class WaitTimeout(AssertionError):
    """An awaited text or exit did not happen before its deadline.

    It subclasses AssertionError so that, inside a pytest test, it reads as the test's
    failure, with a message that says what was awaited and what the stream held.
    """


class Capture:
    """The decoded text of one output stream, bounded to a head and a tail.

    ``text`` is what a reader sees: everything if it fits in ``limit`` characters, else the
    head, a marker saying how much was cut, and the tail. ``total_chars`` counts everything
    ever written, which is how a flood is recognised. Positions (``text_since``) count
    characters from the start of the stream, cut or not, so a waiter can scan only what is
    new instead of the whole capture on every wake-up.

    ``read_requests`` are the positions at which the program waited for a line of stdin
    (see the module docstring); ``read_count`` counts every one, kept or not, and
    :meth:`read_requests_since` hands a waiter the new ones.
    """

    def __init__(self, limit=CAPTURE_LIMIT, changed=None):
        """``changed``: the condition to notify on new text (a process's two streams share
        one, so that a wait can watch both)."""
        self._half = limit // 2
        self._head = []
        self._head_len = 0
        self._head_text = None  # cached "".join(self._head)
        self._tail = collections.deque()
        self._tail_len = 0
        self.total_chars = 0
        self.closed = False
        self.changed = changed if changed is not None else threading.Condition()
        # When text arrived: (position of its first character, time.monotonic()), one per
        # chunk read (a chunk is what the program printed at about the same moment).
        self._stamps = collections.deque(maxlen=STAMPS_KEPT)
        self._reads = collections.deque(maxlen=READS_KEPT)
        self.read_count = 0

    def append(self, chunk):
        with self.changed:
            self._stamps.append((self.total_chars, time.monotonic()))
            self.total_chars += len(chunk)
            room = self._half - self._head_len
            if room > 0:
                self._head.append(chunk[:room])
                self._head_len += len(chunk[:room])
                self._head_text = None
                chunk = chunk[room:]
            if chunk:
                self._tail.append(chunk)
                self._tail_len += len(chunk)
                # Keep at least half a limit of tail, dropping whole chunks from its front.
                while self._tail_len - len(self._tail[0]) >= self._half:
                    self._tail_len -= len(self._tail.popleft())
            self.changed.notify_all()

    def read_requested(self):
        """The program now waits for a line, having printed everything held so far."""
        with self.changed:
            self._reads.append(self.total_chars)
            self.read_count += 1
            self.changed.notify_all()

    @property
    def read_requests(self):
        """Positions of the read requests still kept (the last READS_KEPT), oldest first."""
        with self.changed:
            return list(self._reads)

    def read_requests_since(self, index):
        """``(positions, count)``: positions of the read requests numbered ``index`` on (from
        0, as far as they are still kept) and the number of requests so far."""
        with self.changed:
            first_kept = self.read_count - len(self._reads)
            skip = max(index, first_kept) - first_kept
            # Indexed from the end: a waiter that keeps up asks for the last few only.
            return [self._reads[i] for i in range(skip, len(self._reads))], self.read_count

    def close(self):
        with self.changed:
            self.closed = True
            self.changed.notify_all()

    def _head_joined(self):
        if self._head_text is None:
            self._head_text = "".join(self._head)
        return self._head_text

    def _tail_joined(self):
        tail = "".join(self._tail)
        return tail[-self._half:] if len(tail) > self._half else tail

    @property
    def cut_chars(self):
        return self.total_chars - self._head_len - min(self._tail_len, self._half)

    @property
    def text(self):
        with self.changed:
            head, tail = self._head_joined(), self._tail_joined()
            if self.cut_chars:
                return "%s\n[... %d characters cut ...]\n%s" % (head, self.cut_chars, tail)
            return head + tail

    def timed_lines(self, count=40):
        """The last ``count`` lines held, each as ``(time it arrived, line)``; the time is
        ``time.monotonic()`` of the chunk the line started in (None if not known)."""
        with self.changed:
            tail = self._tail_joined() if self.cut_chars else self._head_joined() + self._tail_joined()
            start = self.total_chars - len(tail)
            stamps = list(self._stamps)
        lines, position = [], start
        for line in tail.split("\n"):
            lines.append((position, line))
            position += len(line) + 1
        lines = lines[-count:]
        timed, index = [], 0
        for position, line in lines:
            while index + 1 < len(stamps) and stamps[index + 1][0] <= position:
                index += 1
            known = stamps and stamps[index][0] <= position
            timed.append((stamps[index][1] if known else None, line))
        return timed

    def text_since(self, position):
        """``(text, end)``: what was written from ``position`` on, as far as it is still
        held (a part lost in the cut is skipped), and the position of its end.

        Only the chunks needed are joined, so a waiter that keeps up copies only what is new.
        """
        with self.changed:
            parts = []
            if position < self._head_len:
                parts.append(self._head_joined()[position:])
                position = self._head_len
            wanted = min(self.total_chars - position, self._half)
            chunks, have = [], 0
            for chunk in reversed(self._tail):
                if have >= wanted:
                    break
                chunks.append(chunk)
                have += len(chunk)
            tail = "".join(reversed(chunks))
            parts.append(tail[len(tail) - wanted:] if wanted else "")
            return "".join(parts), self.total_chars


def _sentinel_start(data, sentinel):
    """How many bytes at the end of ``data`` could be the start of ``sentinel`` (0 mostly:
    the sentinel begins with a NUL byte, which text never holds)."""
    longest = min(len(sentinel) - 1, len(data))
    if data.find(sentinel[:1], len(data) - longest) < 0:
        return 0
    for size in range(longest, 0, -1):
        if data.endswith(sentinel[:size]):
            return size
    return 0


def split_sentinels(data, sentinel):
    """``(pieces, held)``: ``data`` cut at each ``sentinel`` (a read request follows every
    piece but the last) and the bytes at its end that may begin a sentinel, to be put in
    front of the next read's bytes."""
    pieces = data.split(sentinel)
    held = _sentinel_start(pieces[-1], sentinel)
    if held:
        pieces[-1], held = pieces[-1][:-held], pieces[-1][-held:]
    return pieces, held or b""


def _decode_into(capture, decoder, data):
    text = decoder.decode(data)
    if text:
        capture.append(text.replace("\r\n", "\n"))


def _pump(stream, capture, limit=None, on_flood=None, sentinel=None, on_sentinel=None):
    """Reader thread body: bytes from a pipe -> decoded text in a capture, until EOF.

    Once more than ``limit()`` characters have come, ``on_flood()`` is called (once). With a
    ``sentinel``, each one is taken out of the bytes and ``on_sentinel()`` called where it
    was (by default: recorded as a read request of the capture).
    """
    on_sentinel = on_sentinel or capture.read_requested
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    read = getattr(stream, "read1", stream.read)
    held = b""
    try:
        while True:
            data = read(_READ_SIZE)
            if not data:
                break
            if sentinel is None:
                _decode_into(capture, decoder, data)
            else:
                pieces, held = split_sentinels(held + data, sentinel)
                for index, piece in enumerate(pieces):
                    if index:
                        on_sentinel()
                    _decode_into(capture, decoder, piece)
            if limit is not None and on_flood is not None and capture.total_chars > limit():
                on_flood()
                on_flood = None
        _decode_into(capture, decoder, held)  # the start of a sentinel that never came
        tail = decoder.decode(b"", final=True)
        if tail:
            capture.append(tail)
    except (OSError, ValueError):
        pass  # the pipe was closed under us while killing the child
    finally:
        capture.close()


def child_env(extra=None):
    """The environment of a child: ours, with UTF-8 stdio forced and unbuffered output."""
    env = dict(os.environ)
    env.update({"PYTHONIOENCODING": "utf-8", "PYTHONUTF8": "1", "PYTHONUNBUFFERED": "1"})
    env.update(extra or {})
    return env


class _Counter:
    """Counts occurrences of a str across text fed in pieces (a match may straddle two
    pieces), or of a regex over all text fed so far."""

    def __init__(self, pattern):
        self.pattern = pattern
        self.count = 0
        self._carry = ""

    def feed(self, new):
        if not isinstance(self.pattern, str):
            self._carry += new
            self.count = len(self.pattern.findall(self._carry))
            return self.count
        text = self._carry + new
        self.count += text.count(self.pattern)
        # Carry over too little to hold a whole match, so that no match is counted twice.
        keep = len(self.pattern) - 1
        self._carry = text[max(0, len(text) - keep):] if keep else ""
        return self.count


class ChildProcess:
    """A Python program under test, with its stdin writable and its output captured.

    Use it as a context manager: on leaving, the process tree is killed and the pipes are
    closed whatever happened in between.

    Example::

        with ChildProcess(["reference/chat_client.py"]) as client:
            client.wait_for("请输入聊天服务器IP")
            client.write_line("127.0.0.1")
    """

    def __init__(self, args, cwd=None, env=None, python=None, launcher=None, flood_limit=None):
        """Start ``python -u [launcher] *args``.

        Args:
            launcher: a script that runs the program for us (the grader's ``_launch.py``);
                ``name`` still reports the program itself.
            flood_limit: characters on one stream after which the output counts as a
                flood: ``flooded`` is set and the process tree is killed at once, so a
                program printing in a tight loop costs bounded time as well as memory.

        With ``STDIN_SIGNAL_ENV: "1"`` in ``env`` (and the launcher, which acts on it),
        ``signals_reads`` is True and the stdout capture records the program's read
        requests (see the module docstring).
        """
        self.args = [python or sys.executable, "-u"] + [str(a) for a in args]
        if launcher is not None:
            self.args.insert(2, str(launcher))
        self._program_index = 3 if launcher is not None else 2
        self.flooded = None  # name of the stream that flooded
        self._flood_limit = flood_limit
        self._more_output = None  # allow_output's callable: characters allowed beyond the limit
        self.started_at = time.monotonic()
        environment = child_env(env)
        self.signals_reads = environment.get(STDIN_SIGNAL_ENV) == "1"
        self.proc = subprocess.Popen(
            self.args, cwd=cwd, env=environment,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            **_sandbox.spawn_options())
        # Windows: the tree in a job object, so a grandchild whose parent exited is killed
        # too, and everything ends if the grader is killed (None elsewhere).
        self._job = _winjob.contain(self.proc)
        either = threading.Condition()   # new text on stdout or stderr (wait_either)
        self.stdout = Capture(changed=either)
        self.stderr = Capture(changed=either)
        #: When the launcher said the program's own code starts (monotonic time; None until
        #: then, and always without the launcher's signals).
        self.launched_at = None
        sentinels = {"stdout": STDIN_SENTINEL if self.signals_reads else None,
                     "stderr": START_SENTINEL if self.signals_reads else None}
        on_sentinel = {"stdout": None, "stderr": self._on_launch}
        self._readers = [
            threading.Thread(target=_pump, daemon=True, args=(
                getattr(self.proc, name), getattr(self, name),
                None if flood_limit is None else self._output_limit,
                lambda name=name: self._flood(name), sentinels[name], on_sentinel[name]))
            for name in ("stdout", "stderr")]
        for reader in self._readers:
            reader.start()

    @property
    def name(self):
        """What was run, as a person would type it: ``chat_client.py``, ``-m classroom.hub_server``."""
        index = self._program_index
        return " ".join([os.path.basename(self.args[index])] + self.args[index + 1:])

    def allow_output(self, more):
        """Let the program print ``more()`` characters beyond the flood limit on each stream,
        ``more`` being asked afresh as output comes: for output a check makes the program
        rightly produce in proportion to what it sends it (a room logging each relay)."""
        self._more_output = more

    def _output_limit(self):
        more = self._more_output
        return self._flood_limit + (more() if more is not None else 0)

    def _flood(self, stream):
        self.flooded = stream
        self._kill_tree()

    def _kill_tree(self):
        if self._job is not None:
            self._job.terminate()  # first: it reaches grandchildren whose parent is gone
        _sandbox.kill_tree(self.proc)

    # -- input -------------------------------------------------------------------------
    def write_line(self, line):
        """Type one line on the child's stdin. Returns False if the child no longer reads."""
        try:
            self.proc.stdin.write(line.encode("utf-8") + b"\n")
            self.proc.stdin.flush()
            return True
        except (BrokenPipeError, OSError, ValueError):
            return False

    def close_stdin(self):
        try:
            self.proc.stdin.close()
        except OSError:
            pass

    # -- waiting -----------------------------------------------------------------------
    def wait_for(self, pattern, timeout=timeouts.SHORT, stream="stdout", count=1, since=0):
        """Wait until ``pattern`` (a str, or a compiled regex) occurs ``count`` times
        (in what was written from position ``since`` on).

        Returns the text of the stream at that moment. Raises :class:`WaitTimeout` if the
        deadline passes or the stream ends first, with the stream's text in the message.
        A str is searched incrementally (only new text on each wake-up), so waiting stays
        cheap while a program floods its output; a regex is searched over the whole text.
        """
        capture = getattr(self, stream)
        found = _Counter(pattern)
        deadline = time.monotonic() + timeout
        position = since
        with capture.changed:
            while True:
                new, position = capture.text_since(position)
                if found.feed(new) >= count:
                    return capture.text
                left = deadline - time.monotonic()
                if capture.closed or left <= 0:
                    why = "the stream ended" if capture.closed else "%.1f s passed" % timeout
                    raise WaitTimeout("waited for %r on %s of %s but %s.\n%s" % (
                        getattr(pattern, "pattern", pattern), stream, self.name, why,
                        self.describe()))
                capture.changed.wait(left)

    def wait_either(self, found, timeout):
        """Wait until ``found()`` is true (it reads the streams' text itself), both streams
        have ended, or ``timeout``; returns the last ``found()``."""
        deadline = time.monotonic() + timeout
        with self.stdout.changed:      # the condition both streams notify
            while True:
                if found():
                    return True
                left = deadline - time.monotonic()
                if left <= 0 or (self.stdout.closed and self.stderr.closed):
                    return found()
                self.stdout.changed.wait(left)

    def _on_launch(self):
        with self.stderr.changed:
            if self.launched_at is None:
                self.launched_at = time.monotonic()
            self.stderr.changed.notify_all()

    def wait_launched(self, timeout):
        """True once the launcher said the program's own code starts (at once without the
        launcher's signals: there is nothing to wait for); False if the program ended (its
        stderr closed) or ``timeout`` passed first."""
        if not self.signals_reads:
            return True
        capture = self.stderr
        deadline = time.monotonic() + timeout
        with capture.changed:
            while self.launched_at is None:
                left = deadline - time.monotonic()
                if left <= 0 or capture.closed:
                    return False
                capture.changed.wait(left)
        return True

    def wait_read(self, index=0, timeout=timeouts.SHORT):
        """Wait until the child has made read request number ``index`` (from 0: its first
        wait for a line of stdin); return its position in stdout (everything before it was
        printed before the program waited). Needs ``signals_reads``. Raises
        :class:`WaitTimeout` like :meth:`wait_for`."""
        capture = self.stdout
        deadline = time.monotonic() + timeout
        with capture.changed:
            while True:
                positions, count = capture.read_requests_since(index)
                if count > index and positions:
                    return positions[0]
                left = deadline - time.monotonic()
                if capture.closed or left <= 0 or count > index:
                    why = ("the stream ended" if capture.closed
                           else "it is no longer kept" if count > index
                           else "%.1f s passed" % timeout)
                    raise WaitTimeout("waited for read of stdin #%d by %s but %s.\n%s" % (
                        index, self.name, why, self.describe()))
                capture.changed.wait(left)

    def wait_exit(self, timeout=timeouts.EXIT):
        """Wait for the child to end; return its exit status, or None if it is still running."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def drain(self, timeout=timeouts.SHORT):
        """After the child ended, wait (at most ``timeout`` in all) until both reader
        threads have read everything."""
        deadline = time.monotonic() + timeout
        for reader in self._readers:
            reader.join(max(0.0, deadline - time.monotonic()))

    # -- ending ------------------------------------------------------------------------
    def kill(self):
        self._kill_tree()
        self.proc.wait(timeouts.EXIT)
        self.drain(PIPES_GRACE)
        if any(reader.is_alive() for reader in self._readers):
            # The child is dead but its output has not ended: a descendant that left its
            # process group (setsid, a double fork) holds the pipes, and the readers (and
            # close() below) would wait for it as long as it lives.
            _sandbox.kill_pipe_holders(self.proc.stdout, self.proc.stderr)
            self.drain()
        for pipe in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                pipe.close()
            except OSError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()

    def describe(self, tail_chars=2000):
        """A short account for failure messages: exit status and the end of each stream."""
        status = self.proc.poll()
        lines = ["exit status: %s" % ("still running" if status is None else status)]
        for name in ("stdout", "stderr"):
            text = getattr(self, name).text
            shown = text if len(text) <= tail_chars else "..." + text[-tail_chars:]
            lines.append("--- %s ---\n%s" % (name, shown.rstrip() or "(empty)"))
        return "\n".join(lines)


def has_traceback(text):
    """True if a Python traceback was printed (the child crashed somewhere)."""
    return re.search(r"^Traceback \(most recent call last\):", text, re.M) is not None

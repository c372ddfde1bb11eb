"""Run a student's (or the reference's) Python file as a child process and watch it.

Theory of operation
-------------------
The program under test is started as ``python -u FILE`` with UTF-8 forced on its stdio,
so ``print`` reaches us at once and Chinese text survives a Windows console code page.
Two reader threads (portable: no ``select`` on pipes, which Windows lacks) drain stdout and
stderr as bytes, decode them incrementally, and append to a :class:`Capture`. A capture keeps
at most ``limit`` characters (head and tail), so a program that prints an empty message in a
loop costs us bounded memory and shows up as a *flood* rather than a hang.

Callers never sleep: they wait for an event with a deadline (:meth:`ChildProcess.wait_for`
a text to appear, :meth:`ChildProcess.wait_exit` for the exit). Killing kills the whole
process tree; how that is done is the only platform-specific part and sits in
:func:`_spawn_options` and :func:`_kill_tree`.
"""

import codecs
import os
import re
import signal
import subprocess
import sys
import threading
import time

from . import timeouts

#: Characters of each stream kept in memory: the first half and the last half.
CAPTURE_LIMIT = 1024 * 1024

#: Read size of the reader threads.
_READ_SIZE = 65536


class WaitTimeout(AssertionError):
    """An awaited text or exit did not happen before its deadline.

    It subclasses AssertionError so that, inside a pytest test, it reads as the test's
    failure, with a message that says what was awaited and what the stream held.
    """


class Capture:
    """The decoded text of one output stream, bounded to a head and a tail.

    ``text`` is what a reader sees: everything if it fits in ``limit`` characters, else the
    head, a marker saying how much was cut, and the tail. ``total_chars`` counts everything
    ever written, which is how a flood is recognised.
    """

    def __init__(self, limit=CAPTURE_LIMIT):
        self._half = limit // 2
        self._head = []
        self._head_len = 0
        self._tail = ""
        self.total_chars = 0
        self.closed = False
        self.changed = threading.Condition()

    def append(self, chunk):
        with self.changed:
            self.total_chars += len(chunk)
            room = self._half - self._head_len
            if room > 0:
                self._head.append(chunk[:room])
                self._head_len += len(chunk[:room])
                chunk = chunk[room:]
            if chunk:
                self._tail = (self._tail + chunk)[-self._half:]
            self.changed.notify_all()

    def close(self):
        with self.changed:
            self.closed = True
            self.changed.notify_all()

    @property
    def cut_chars(self):
        return self.total_chars - self._head_len - len(self._tail)

    @property
    def text(self):
        with self.changed:
            head = "".join(self._head)
            if self.cut_chars:
                return "%s\n[... %d characters cut ...]\n%s" % (head, self.cut_chars, self._tail)
            return head + self._tail


def _pump(stream, capture):
    """Reader thread body: bytes from a pipe -> decoded text in a capture, until EOF."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    read = getattr(stream, "read1", stream.read)
    try:
        while True:
            data = read(_READ_SIZE)
            if not data:
                break
            text = decoder.decode(data)
            if text:
                capture.append(text.replace("\r\n", "\n"))
        tail = decoder.decode(b"", final=True)
        if tail:
            capture.append(tail)
    except (OSError, ValueError):
        pass  # the pipe was closed under us while killing the child
    finally:
        capture.close()


def _spawn_options():
    """Popen options that put the child in a group of its own, so the tree can be killed."""
    if os.name == "posix":
        return {"start_new_session": True}
    return {"creationflags": getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)}


def _kill_tree(proc):
    """Kill the child and everything it started. Portable fallback: kill the child alone."""
    if proc.poll() is not None and os.name != "posix":
        return
    if os.name == "posix":
        try:
            os.killpg(proc.pid, signal.SIGKILL)
            return
        except (ProcessLookupError, PermissionError):
            pass
    elif proc.poll() is None:
        subprocess.run(["taskkill", "/F", "/T", "/PID", str(proc.pid)],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    if proc.poll() is None:
        proc.kill()


def child_env(extra=None):
    """The environment of a child: ours, with UTF-8 stdio forced and unbuffered output."""
    env = dict(os.environ)
    env.update({"PYTHONIOENCODING": "utf-8", "PYTHONUTF8": "1", "PYTHONUNBUFFERED": "1"})
    env.update(extra or {})
    return env


class ChildProcess:
    """A Python program under test, with its stdin writable and its output captured.

    Use it as a context manager: on leaving, the process tree is killed and the pipes are
    closed whatever happened in between.

    Example::

        with ChildProcess(["reference/chat_client.py"]) as client:
            client.wait_for("请输入聊天服务器IP")
            client.write_line("127.0.0.1")
    """

    def __init__(self, args, cwd=None, env=None, python=None):
        self.args = [python or sys.executable, "-u"] + [str(a) for a in args]
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(
            self.args, cwd=cwd, env=child_env(env),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            **_spawn_options())
        self.stdout = Capture()
        self.stderr = Capture()
        self._readers = [
            threading.Thread(target=_pump, args=(self.proc.stdout, self.stdout), daemon=True),
            threading.Thread(target=_pump, args=(self.proc.stderr, self.stderr), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    @property
    def name(self):
        """What was run, as a person would type it: ``chat_client.py``, ``-m reference.hub_server``."""
        return " ".join([os.path.basename(self.args[2])] + self.args[3:])

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
    def wait_for(self, pattern, timeout=timeouts.SHORT, stream="stdout", count=1):
        """Wait until ``pattern`` (a str, or a compiled regex) occurs ``count`` times.

        Returns the text of the stream at that moment. Raises :class:`WaitTimeout` if the
        deadline passes or the stream ends first, with the stream's text in the message.
        """
        capture = getattr(self, stream)
        found = self._finder(pattern, count)
        deadline = time.monotonic() + timeout
        with capture.changed:
            while True:
                text = capture.text
                if found(text):
                    return text
                left = deadline - time.monotonic()
                if capture.closed or left <= 0:
                    why = "the stream ended" if capture.closed else "%.1f s passed" % timeout
                    raise WaitTimeout("waited for %r on %s of %s but %s.\n%s" % (
                        getattr(pattern, "pattern", pattern), stream, self.name, why,
                        self.describe()))
                capture.changed.wait(left)

    @staticmethod
    def _finder(pattern, count):
        if isinstance(pattern, str):
            return lambda text: text.count(pattern) >= count
        return lambda text: len(pattern.findall(text)) >= count

    def wait_exit(self, timeout=timeouts.EXIT):
        """Wait for the child to end; return its exit status, or None if it is still running."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def drain(self, timeout=timeouts.SHORT):
        """After the child ended, wait until both reader threads have read everything."""
        for reader in self._readers:
            reader.join(timeout)

    # -- ending ------------------------------------------------------------------------
    def kill(self):
        _kill_tree(self.proc)
        self.proc.wait(timeouts.EXIT)
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

"""The stage a check plays on: the student's programs, the grader's peers, and the evidence.

    Finding         a check's verdict that the student's code is wrong (an AssertionError
                    carrying a summary in both languages, what was expected and got, and
                    hint ids); ``fail(...)`` raises one
    StudentProgram  the student's file running through ``_launch.py``, with its prompts
                    answered as they appear (prompt-aware stdin) and its notes collected
    ClassroomServer an instructor server (echo or hub) running in this process on
                    127.0.0.1:0, telling us who joined and what it read
    Lab             one check's world: it starts all of the above, records what the grader
                    sent, and at the end of the check kills and closes every one of them

Theory of operation
-------------------
A check never sleeps. Every step waits for an event with a deadline: a prompt on stdout
(answered at once by a thread watching the output), a connection registered by a
classroom server, bytes at a peer, the student's process ending. When a wait fails, the
check raises a :class:`Finding` whose text says what was sent, expected and got; the
pytest plugin adds the transcripts, the end of the student's output and the hints.

A program that does not start (it spins, or waits for input the grader cannot answer)
would cost every check a full deadline. So the first such failure for a file and mode is
remembered and later checks that need the same start fail at once with the same finding.
"""

import collections
import json
import os
import re
import socket
import tempfile
import threading
import time
from pathlib import Path

from reference.echo_server import EchoServer
from reference.hub_server import HubServer
from reference._instructor import serve_in_thread

from . import timeouts
from .peers import Listener, Peer, free_port, trimmed
from .process import ChildProcess, WaitTimeout, has_traceback

LAUNCHER = Path(__file__).resolve().parent / "_launch.py"
LOOPBACK = "127.0.0.1"

#: Output beyond this many characters (on one stream) is a flood: the program is killed at
#: once and the check reports it. Honest output in any check is a few kilobytes.
FLOOD_KILL_CHARS = 4 * 1024 * 1024

#: Output growth that counts as a flood within one check's observation window (an empty
#: message printed in a loop passes this in milliseconds).
FLOOD_CHARS = 64 * 1024

#: Prompts of the lab's given code, recognised in the student's output, and what each asks.
#: Recognised by their core words so that a prompt moved into ``input('...')`` still counts.
PROMPTS = (
    ("ip", re.compile(r"请输入.{0,12}IP")),
    ("port", re.compile(r"请输入.{0,12}端口")),
    ("mode", re.compile(r"请输入.{0,12}模式")),
    ("max", re.compile(r"请输入.{0,12}(?:数量|人数|上限)")),
)
PROMPT_TEXT = {
    "ip": "请输入聊天服务器IP",
    "port": "请输入聊天服务器端口",
    "mode": "请输入服务器工作模式(p2p,hub)",
    "max": "请输入最大允许连接的客户端数量",
}
#: The order in which the given code asks.
EXPECTED_PROMPTS = {"client": ("ip", "port"), "server": ("port", "mode", "max")}

#: The Python that runs student code, if not this one (batch grading as root picks one that
#: the unprivileged sandbox user can read).
STUDENT_PYTHON_ENV = "SOCKET_LAB_STUDENT_PYTHON"

#: A start-up wait checks this often whether the student's program has already ended.
START_SLICE = 0.02

#: At most this many prompts are answered per program (a re-prompt loop ends here).
MAX_ANSWERS = 20


class Finding(AssertionError):
    """The student's code did something wrong (as opposed to a failure of the grader).

    Args:
        zh, en: one sentence saying what went wrong.
        expected, got: what should have happened and what did (text; trimmed by callers).
        hints: hint ids, most likely first (see grader.hints).
        details: detail text per hint id.
    """

    def __init__(self, zh, en, expected="", got="", hints=(), details=None):
        super().__init__(en)
        self.zh, self.en = zh, en
        self.expected, self.got = expected, got
        self.hints = list(hints)
        self.details = dict(details or {})


def fail(zh, en, expected="", got="", hints=(), details=None):
    raise Finding(zh, en, expected, got, hints, details)


# ------------------------------------------------------------------- the student's program

class StudentProgram:
    """A student's file running as a child process, prompts answered as they appear.

    ``answers`` maps a prompt kind (``ip``, ``port``, ``mode``, ``max``) to the reply. A
    watcher thread reads the output as it comes and types the reply to each prompt it
    recognises, so a program that reorders or drops prompts is still graded.
    """

    def __init__(self, path, role, answers, notes_path):
        self.path = Path(path).resolve()
        self.role = role  # "client" or "server"
        self.answers = {key: str(value) for key, value in answers.items()}
        self.asked = []  # prompt kinds in the order they were seen
        self.started = False  # it connected / accepted a connection
        self.typed = []  # every line typed, prompts' answers included
        self.notes_path = notes_path
        self._stdin_lock = threading.Lock()
        self.process = ChildProcess(
            [self.path], cwd=str(self.path.parent), launcher=LAUNCHER,
            python=os.environ.get(STUDENT_PYTHON_ENV) or None,
            env={"SOCKET_LAB_NOTES": str(notes_path)}, flood_limit=FLOOD_KILL_CHARS)
        self._watcher = threading.Thread(target=self._answer_prompts, daemon=True,
                                         name="prompts of %s" % self.path.name)
        self._watcher.start()

    # -- prompts ---------------------------------------------------------------------
    def _answer_prompts(self):
        capture = self.process.stdout
        pending, position = "", 0
        with capture.changed:
            while len(self.asked) < MAX_ANSWERS:
                new, position = capture.text_since(position)
                pending += new
                pending = self._answer_in(pending)
                if capture.closed:
                    return
                capture.changed.wait(timeouts.CHECK)

    def _answer_in(self, text):
        """Answer every prompt in ``text``; return what is left to look at later."""
        while True:
            found = [(m.start(), m.end(), kind) for kind, rx in PROMPTS for m in [rx.search(text)] if m]
            if not found:
                # Whole lines without a prompt are done with; keep a partial last line.
                return text[text.rfind("\n") + 1:]
            start, end, kind = min(found)
            self.asked.append(kind)
            self.type(self.answers.get(kind, LOOPBACK if kind == "ip" else ""))
            text = text[end:]
            if len(self.asked) >= MAX_ANSWERS:
                return ""

    def prompts_changed(self):
        """The given prompts this program never asked, or asked out of order (``""`` if
        none, or if the program never got far enough to tell)."""
        got_going = self.started or (not self.running and not has_traceback(self.stderr))
        if not got_going:
            return ""
        expected = EXPECTED_PROMPTS[self.role]
        seen = [kind for kind in self.asked if kind in expected]
        missing = [PROMPT_TEXT[kind] for kind in expected if kind not in seen]
        if missing and seen and not self.started and tuple(seen) == expected[:len(seen)]:
            return ""  # it asked in order and then stopped (an error): not a prompt problem
        if missing:
            return ", ".join(missing)
        first_seen = sorted(set(seen), key=seen.index)
        if tuple(first_seen) != expected:
            return "order / 顺序: " + " → ".join(PROMPT_TEXT[kind] for kind in first_seen)
        return ""

    # -- input and output --------------------------------------------------------------
    def type(self, line):
        """Type one line on the program's stdin."""
        with self._stdin_lock:
            self.typed.append(line)
            return self.process.write_line(line)

    @property
    def stdout(self):
        return self.process.stdout.text

    @property
    def stderr(self):
        return self.process.stderr.text

    def output_mark(self):
        """A position in stdout, for waits that look only at what comes after it."""
        return self.process.stdout.total_chars

    def output_size(self):
        return self.process.stdout.total_chars + self.process.stderr.total_chars

    def wait_output(self, pattern, timeout=timeouts.CHECK, since=0):
        """True once ``pattern`` (str or regex) appeared on stdout (after position
        ``since``, see ``output_mark``); False at the deadline or when the program ended
        without printing it."""
        try:
            self.process.wait_for(pattern, timeout, since=since)
            return True
        except WaitTimeout:
            return False

    def wait_exit(self, timeout=timeouts.EXIT_BAR):
        """The exit status once the program ended, or None if it still runs at the deadline."""
        status = self.process.wait_exit(timeout)
        if status is not None:
            self.process.drain()
        return status

    @property
    def running(self):
        return self.process.proc.poll() is None

    @property
    def flooded(self):
        return self.process.flooded

    def notes(self):
        """The launcher's notes: dicts with a ``kind`` (see ``_launch.py``)."""
        try:
            with open(self.notes_path, encoding="utf-8") as lines:
                return [json.loads(line) for line in lines if line.strip()]
        except (OSError, ValueError):
            return []

    def kill(self):
        self.process.kill()
        self._watcher.join(timeouts.CHECK)


# ------------------------------------------------------------------- classroom servers

class ClassroomServer:
    """An instructor server (echo or hub) on 127.0.0.1:0 in this process, observed.

    The grader's echo and hub peers run the instructor servers' own code, so what a student
    meets in the grader is what they meet in class.
    """

    def __init__(self, server_class):
        self._changed = threading.Condition()
        self.joined = []        # (ip, port) of each client that joined, in order
        self.read = {}          # (ip, port) -> bytes read from that client
        observer = self

        class Observed(server_class):
            def on_join(self, client):
                super().on_join(client)
                with observer._changed:
                    observer.joined.append(tuple(client.addr))
                    observer._changed.notify_all()

        self.log = []
        self.events = collections.deque(maxlen=200)  # (time, addr, "recv"|"sent", bytes)
        self.kind = server_class.NAME
        self.thread = serve_in_thread(Observed(
            host=LOOPBACK, port=0, log=self.log.append, recorder=self._record))
        self.port = self.thread.port

    def _record(self, timestamp, addr, direction, data):
        self.events.append((timestamp, tuple(addr), "recv" if direction == "recv" else "sent",
                            bytes(data[:200])))
        if direction == "recv":
            with self._changed:
                key = tuple(addr)
                self.read[key] = self.read.get(key, b"") + data
                self._changed.notify_all()

    def _wait(self, condition, timeout):
        deadline = time.monotonic() + timeout
        with self._changed:
            while not condition():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
            return True

    def wait_joined(self, count=1, timeout=timeouts.CHECK):
        return self._wait(lambda: len(self.joined) >= count, timeout)

    def wait_read(self, text, timeout=timeouts.CHECK):
        """True once ``text`` (as UTF-8) arrived from some client."""
        needle = text.encode("utf-8")
        return self._wait(lambda: any(needle in data for data in self.read.values()), timeout)

    def read_from(self, address):
        return self.read.get(tuple(address), b"")

    def describe(self, zero=None, entries=12):
        """The server's log and its last events; times are seconds since ``zero``."""
        events = list(self.events)[-entries:]
        start = zero if zero is not None else events[0][0] if events else 0.0
        lines = ["%s on %s:%d; log:" % (self.kind, LOOPBACK, self.port)]
        lines += ["  " + line for line in self.log[-6:]]
        lines += ["  %+8.3fs %s %-4s %s" % (stamp - start, address, direction, trimmed(data, 120))
                  for stamp, address, direction, data in events]
        return "\n".join(lines)

    def stop(self):
        self.thread.stop()


# ------------------------------------------------------------------------------ the lab

class Lab:
    """One check's world. ``Lab(config)`` is made by the ``lab`` fixture; ``close()`` ends
    every process, peer and server it started."""

    #: (path, role, mode) -> Finding: starts that already got stuck in an earlier check.
    stuck_starts = {}

    def __init__(self, client_path, server_path, workdir):
        self.client_path = Path(client_path)
        self.server_path = Path(server_path)
        self.workdir = Path(workdir)
        self.programs = []
        self.peers = []
        self.listeners = []
        self.servers = []
        self.sent = []  # what the grader did, as lines for the report
        self.started_at = time.monotonic()  # time zero of every transcript in the report

    def note(self, line):
        """Record one thing the grader did (typed a line, sent a message)."""
        self.sent.append(line)

    # -- starting things ------------------------------------------------------------------
    def _program(self, path, role, answers):
        notes = tempfile.NamedTemporaryFile(
            prefix="notes-", suffix=".jsonl", dir=str(self.workdir), delete=False)
        notes.close()
        program = StudentProgram(path, role, answers, notes.name)
        self.programs.append(program)
        return program

    def echo_server(self):
        server = ClassroomServer(EchoServer)
        self.servers.append(server)
        return server

    def hub_server(self):
        server = ClassroomServer(HubServer)
        self.servers.append(server)
        return server

    def listener(self):
        listener = Listener()
        self.listeners.append(listener)
        return listener

    def start_client(self, port):
        """The student's client, told to connect to 127.0.0.1:``port``."""
        self._check_not_stuck(self.client_path, "client")
        return self._program(self.client_path, "client", {"ip": LOOPBACK, "port": port})

    def client_joined(self, client, server, count=1):
        """Wait until the student's client has connected to a classroom server."""
        client.started = self._while_running(
            client, lambda slice_: server.wait_joined(count, slice_))
        if not client.started:
            self._start_failed(client, "client", zh="你的客户端没有连接到服务器。",
                               en="Your client did not connect to the server.",
                               expected="a connection to 127.0.0.1:%d" % server.port)

    def client_accepted(self, client, listener, name="server"):
        """Wait until the student's client connects to ``listener``; returns our Peer."""
        accepted = []

        def accept(slice_):
            try:
                accepted.append(listener.accept(name, timeout=slice_))
                return True
            except WaitTimeout:
                return False

        if not self._while_running(client, accept):
            self._start_failed(client, "client", zh="你的客户端没有连接到服务器。",
                               en="Your client did not connect to the server.",
                               expected="a connection to 127.0.0.1:%d" % listener.port)
        client.started = True
        self.peers.append(accepted[0])
        return accepted[0]

    def _while_running(self, program, attempt):
        """Call ``attempt(seconds)`` (a wait for an event, bounded by its argument) until it
        succeeds, the program ends, or the start deadline passes. Waiting in slices lets a
        program that ended early (a crash, an unfinished TODO) fail the check at once."""
        deadline = time.monotonic() + self._start_timeout(program)
        while True:
            left = deadline - time.monotonic()
            if attempt(max(0.0, min(START_SLICE, left))):
                return True
            if left <= 0 or not program.running:
                return attempt(0.0) if not program.running else False

    def start_server(self, mode, max_clients=10):
        """The student's server in ``mode`` on a free port. Returns (program, port)."""
        self._check_not_stuck(self.server_path, mode)
        port = free_port()
        program = self._program(self.server_path, "server",
                                {"port": port, "mode": mode, "max": max_clients})
        program.port, program.mode = port, mode
        return program

    def connect_to(self, server, name):
        """Connect a peer to a classroom server (it already listens)."""
        peer = Peer.connect(server.port, name=name)
        self.peers.append(peer)
        return peer

    def connect(self, server, name, filler=None):
        """Connect a peer to the student's server; retried (paced by the server's output)
        until it listens, for at most the start deadline."""
        deadline = time.monotonic() + self._start_timeout(server)
        while True:
            try:
                peer = Peer.connect(server.port, name=name, filler=filler)
                server.started = True
                self.peers.append(peer)
                return peer
            except (ConnectionRefusedError, socket.timeout, OSError):
                if not server.running or time.monotonic() >= deadline:
                    self._start_failed(server, server.mode,
                                       zh="连接不上你的服务器 (端口 %d)。" % server.port,
                                       en="Could not connect to your server (port %d)." % server.port,
                                       expected="your server accepts connections on 127.0.0.1:%d"
                                                % server.port)
                # Nothing tells us when listen() has happened: wait for the next output
                # of the program (it usually prints on the way) or a short tick.
                with server.process.stdout.changed:
                    server.process.stdout.changed.wait(0.02)

    def send(self, peer, text):
        """A peer sends ``text``; recorded for the report."""
        self.note("%s → %s" % (peer.name, text if len(text) < 120 else trimmed(text, 120)))
        peer.send(text)

    def type(self, program, line):
        self.note("typed on %s's stdin: %s" % (program.path.name, line))
        program.type(line)

    # -- stuck starts -----------------------------------------------------------------------
    def _start_timeout(self, program):
        return timeouts.CHECK

    def _check_not_stuck(self, path, mode):
        finding = (self.stuck_starts.get((str(path), mode))
                   or self.stuck_starts.get((str(path), None)))
        if finding is not None:
            raise Finding(finding.zh + " (在之前的检查中已经发生, 这一项不再等待)",
                          finding.en + " (This happened in an earlier check; not waited for again.)",
                          finding.expected, finding.got, finding.hints, finding.details)

    def _start_failed(self, program, mode, zh, en, expected=""):
        """Raise the finding for a program that never got to the point a check needed."""
        hints, details = ["not-connected"], {}
        if program.running:
            last = (program.stdout.strip().splitlines() or [""])[-1]
            if last and not any(rx.search(last) for _, rx in PROMPTS):
                # It printed something we did not recognise and waits: likely a question.
                hints = ["stdin-unanswered", "prompts-changed"]
                details["stdin-unanswered"] = trimmed(last, 80)
                details["prompts-changed"] = program.prompts_changed() or "?"
            else:  # silent, or its last prompt was answered: it is stuck in its own code
                hints = ["stuck-at-start"]
                details["stuck-at-start"] = "stdout: " + trimmed(last or "(nothing)", 80)
        else:
            changed = program.prompts_changed()
            if changed:
                hints.append("prompts-changed")
                details["prompts-changed"] = changed
        finding = Finding(zh, en, expected=expected, hints=hints, details=details,
                          got="process %s" % ("still running" if program.running
                                              else "ended with status %s" % program.process.proc.poll()))
        if program.running:
            # Stuck before the mode was asked: every mode would get stuck the same way.
            key_mode = mode if "mode" in program.asked or program.role == "client" else None
            self.stuck_starts[(str(program.path), key_mode)] = finding
        raise finding

    # -- the end --------------------------------------------------------------------------
    def close(self):
        for program in self.programs:
            program.kill()
        for peer in self.peers:
            peer.sock.close()
        for listener in self.listeners:
            listener.close()
        for server in self.servers:
            server.stop()


def relay_pattern(address):
    """A regex that finds ``address`` as the lab's programs print it, tolerantly:
    ``('127.0.0.1', 51234)``, ``127.0.0.1:51234`` or ``('127.0.0.1',51234)``."""
    ip, port = address[0], address[1]
    return re.compile(r"%s\W{1,4}%d(?!\d)" % (re.escape(ip), port))

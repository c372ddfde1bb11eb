"""The stage a check plays on: the student's programs, the grader's peers, and the evidence.

    Finding         a check's verdict that the student's code is wrong (an AssertionError
                    carrying a summary in both languages, what was expected and got, and
                    hint ids); ``fail(...)`` raises one
    StudentProgram  the student's file running through ``_launch.py``, each prompt answered
                    when the program reads its line (grader/prompts.py decides which prompt
                    a read answers) and its notes collected
    ClassroomServer an instructor server (echo or hub) running in this process on
                    127.0.0.1:0, telling us who joined and what it read
    Lab             one check's world: it starts all of the above, records what the grader
                    sent, and at the end of the check kills and closes every one of them

Theory of operation
-------------------
A check never sleeps. Every step waits for an event with a deadline: a read of stdin after a
prompt (answered at once by a thread watching the output), a connection registered by a
classroom server, bytes at a peer, the student's process ending. When a wait fails, the
check raises a :class:`Finding` whose text says what was sent, expected and got; the
pytest plugin adds the transcripts, the end of the student's output and the hints.

A program that does not start (it spins, or waits for input the grader cannot answer)
would cost every check a full deadline. So the first such failure for a file and mode is
remembered and later checks that need the same start fail at once with the same finding.
"""

import collections
import contextlib
import json
import re
import socket
import tempfile
import threading
import time
from pathlib import Path

from reference.echo_server import EchoServer
from reference.hub_server import HubServer
from reference._instructor import serve_in_thread

from . import _sandbox, timeouts
from .peers import TRANSCRIPT_WORDS, Listener, Peer, Ports, drain, trimmed
from .process import ChildProcess, WaitTimeout, has_traceback
from .settings import RunSettings, launcher_env
from . import prompts
from .prompts import EXPECTED_PROMPTS

LAUNCHER = Path(__file__).resolve().parent / "_launch.py"
LOOPBACK = "127.0.0.1"

#: Output beyond this many characters (on one stream) is a flood: the program is killed at
#: once and the check reports it. Honest output in any check is a few kilobytes.
FLOOD_KILL_CHARS = 4 * 1024 * 1024

#: Output growth that counts as a flood within one check's observation window (an empty
#: message printed in a loop passes this in milliseconds).
FLOOD_CHARS = 64 * 1024

#: A start-up wait checks this often whether the student's program has already ended.
START_SLICE = 0.02

#: A newcomer whose connection was reset before the room took it in is connected again at
#: most this many times in all (see Lab.join).
JOIN_ATTEMPTS = 3

#: How long a join waits for the server's threads to be blocked again, and how often it
#: looks (Lab.join, Linux only).
SETTLE_WAIT = 0.25
SETTLE_POLL = 0.001

#: At most this many prompts are answered per program (a re-prompt loop ends here).
MAX_ANSWERS = 20


class Finding(AssertionError):
    """The student's code did something wrong (as opposed to a failure of the grader).

    Args:
        zh, en: one sentence saying what went wrong.
        expected, got: what should have happened and what did: a ``(zh, en)`` pair made
            with :func:`say`, or a plain str for data that reads the same in both
            languages (the repr of bytes received, say); trimmed by callers.
        hints: hint ids, most likely first (see grader.hints).
        details: detail text per hint id.
        start: True when the program never got to the point the check needed (it ended
            or got stuck at start-up): one such cause fails many checks the same way.
    """

    def __init__(self, zh, en, expected="", got="", hints=(), details=None, start=False):
        super().__init__(en)
        self.zh, self.en = zh, en
        self.expected, self.got = expected, got
        self.hints = list(hints)
        self.details = dict(details or {})
        self.start = start

    def summary(self, lang):
        return self.zh if lang == "zh" else self.en

    def text(self, name, lang):
        """``expected`` or ``got`` in ``lang``."""
        return in_lang(getattr(self, name), lang)


#: What a student's program causes when it is wrong: a Finding or a missed wait (both
#: AssertionErrors), or a connection it broke. Anything else in a check is the grader's.
STUDENT_FAILURES = (AssertionError, ConnectionError)


def say(zh, en):
    """A text in both languages, for ``expected`` and ``got``."""
    return (zh, en)


def in_lang(value, lang):
    """``value`` in ``lang``: a ``say(zh, en)`` pair picks one, a str is the same in both."""
    if isinstance(value, tuple):
        return value[0] if lang == "zh" else value[1]
    return value


def fail(zh, en, expected="", got="", hints=(), details=None):
    raise Finding(zh, en, expected, got, hints, details)


# ------------------------------------------------------------------- the student's program

class StudentProgram:
    """A student's file running as a child process, each prompt answered when it is read.

    ``answers`` maps a prompt kind (``ip``, ``port``, ``mode``, ``max``) to the reply. The
    launcher announces every read of stdin in the output (``SOCKET_LAB_STDIN_SIGNAL``); a
    watcher thread follows the output and, at each read, types the reply to the last prompt
    printed since the previous read (grader/prompts.py). So a program that reorders or
    drops prompts is still graded, and one that prints a prompt it never reads (the course
    framework's IP prompt) gets no answer it would take for the next one.

    ``seen``: prompt kinds printed, in order (read or not); ``asked``: those answered, in
    order; ``typed``: every line typed, answers and chat lines.
    """

    def __init__(self, path, role, answers, notes_path, settings=None):
        self.path = Path(path).resolve()
        self.role = role  # "client" or "server"
        self.answers = {key: str(value) for key, value in answers.items()}
        self.seen = []  # prompt kinds printed, in order, read or not
        self.asked = []  # prompt kinds answered, in order
        self.started = False  # it connected / accepted a connection
        self.typed = []  # every line typed, prompts' answers included
        self.notes_path = notes_path
        self._stdin_lock = threading.Lock()
        settings = settings or RunSettings(client=self.path, server=self.path)
        self.process = ChildProcess(
            [self.path], cwd=str(self.path.parent), launcher=LAUNCHER,
            python=settings.python, env=launcher_env(settings, notes_path),
            flood_limit=FLOOD_KILL_CHARS)
        self._watcher = threading.Thread(target=self._answer_prompts, daemon=True,
                                         name="prompts of %s" % self.path.name)
        self._watcher.start()

    # -- prompts ---------------------------------------------------------------------
    def _answer_prompts(self):
        """Watcher thread: follow stdout and its read requests; answer each read."""
        capture = self.process.stdout
        heard, position, reads = prompts.NOTHING_HEARD, 0, 0
        with capture.changed:  # released while waiting: the reader appends meanwhile
            while len(heard.asked) < MAX_ANSWERS:
                # One look at both under the lock: every request's text is already held.
                new, end = capture.text_since(position)
                requests, reads = capture.read_requests_since(reads)
                for piece, read in prompts.split_at_reads(new, end, requests):
                    heard = self._hear(heard, piece, read)
                position = end
                if capture.closed or len(heard.asked) >= MAX_ANSWERS:
                    return
                capture.changed.wait(timeouts.CHECK)

    def _hear(self, heard, text, read):
        heard, kind = prompts.hear(heard, text, read)
        self.seen, self.asked = list(heard.seen), list(heard.asked)
        if kind is not None and len(heard.asked) <= MAX_ANSWERS:
            self.type(self.answers.get(kind, LOOPBACK if kind == "ip" else ""))
        return heard

    def prompts_changed(self):
        """The given prompts this program never printed, or printed out of order (``""`` if
        none, or if the program never got far enough to tell). Judged by what it printed,
        read or not: the framework's IP prompt, printed and never read, is in its place."""
        got_going = self.started or (not self.running and not has_traceback(self.stderr))
        if not got_going:
            return ""
        return prompts.prompts_changed(EXPECTED_PROMPTS[self.role], self.seen, self.started)

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
        self.left = []          # (ip, port) of each client that left, in order
        self.read = {}          # (ip, port) -> bytes read from that client
        observer = self

        class Observed(server_class):
            def on_join(self, client):
                super().on_join(client)
                with observer._changed:
                    observer.joined.append(tuple(client.addr))
                    observer._changed.notify_all()

            def on_leave(self, client, reason):
                super().on_leave(client, reason)
                with observer._changed:
                    observer.left.append(tuple(client.addr))
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

    def describe(self, zero=None, entries=12, lang="en"):
        """The server's log and its last events; times are seconds since ``zero``."""
        events = list(self.events)[-entries:]
        start = zero if zero is not None else events[0][0] if events else 0.0
        words = TRANSCRIPT_WORDS["zh" if lang == "zh" else "en"]
        head = ("%s (%s:%d) 的日志:" if lang == "zh" else "%s on %s:%d; log:")
        lines = [head % (self.kind, LOOPBACK, self.port)]
        lines += ["  " + line for line in self.log[-6:]]
        lines += ["  %+8.3fs %s %s %s" % (stamp - start, address, words[direction],
                                          trimmed(data, 120))
                  for stamp, address, direction, data in events]
        return "\n".join(lines)

    def stop(self):
        self.thread.stop()


# ------------------------------------------------------------------------------ the lab

class Lab:
    """One check's world. ``Lab(...)`` is made by the ``lab`` fixture; ``close()`` ends
    every process, peer and server it started.

    ``settings`` (grader.settings.RunSettings) say what is graded and how student code
    runs. ``stuck_starts`` and ``ports`` belong to the grading run (the plugin owns them):
    stuck_starts maps (resolved path, mode) to the Finding of a start that already got
    stuck in an earlier check of this run; ports (grader.peers.Ports) hands out the ports
    told to the student's server.
    """

    def __init__(self, settings, workdir, stuck_starts=None, ports=None):
        self.settings = settings
        self.client_path = settings.client.resolve()
        self.server_path = settings.server.resolve()
        self.workdir = Path(workdir)
        self.stuck_starts = {} if stuck_starts is None else stuck_starts
        self.ports = ports if ports is not None else Ports(settings.ports)
        self.programs = []
        self.peers = []
        self.listeners = []
        self.servers = []
        self.sent = []  # what the grader did, as lines for the report
        self.started_at = time.monotonic()  # time zero of every transcript in the report
        #: part id -> None (passed) or the Finding it failed with, in the order judged.
        self.part_results = collections.OrderedDict()

    @contextlib.contextmanager
    def part(self, part_id):
        """Judge one scored part of the check (see grader.scoring): a student failure
        inside the block fails this part only, and the check goes on."""
        try:
            yield
        except STUDENT_FAILURES as failure:
            self.part_results[part_id] = failure
        else:
            self.part_results[part_id] = None

    def failed_parts(self):
        return [failure for failure in self.part_results.values() if failure is not None]

    def note(self, line):
        """Record one thing the grader did (typed a line, sent a message): a str, or a
        ``say(zh, en)`` pair."""
        self.sent.append(line)

    # -- starting things ------------------------------------------------------------------
    def _program(self, path, role, answers):
        notes = tempfile.NamedTemporaryFile(
            prefix="notes-", suffix=".jsonl", dir=str(self.workdir), delete=False)
        notes.close()
        program = StudentProgram(path, role, answers, notes.name, self.settings)
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
                               expected=say("连接到 127.0.0.1:%d" % server.port,
                                            "a connection to 127.0.0.1:%d" % server.port))

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
                               expected=say("连接到 127.0.0.1:%d" % listener.port,
                                            "a connection to 127.0.0.1:%d" % listener.port))
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
        port = self.ports.free_port()
        program = self._program(self.server_path, "server",
                                {"port": port, "mode": mode, "max": max_clients})
        program.port, program.mode = port, mode
        program.announces = True  # prints who joined (until a join shows otherwise)
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
                                       expected=say("你的服务器在 127.0.0.1:%d 上接受连接" % server.port,
                                                     "your server accepts connections on "
                                                     "127.0.0.1:%d" % server.port))
                # Nothing tells us when listen() has happened: wait for the next output
                # of the program (it usually prints on the way) or a short tick.
                with server.process.stdout.changed:
                    server.process.stdout.changed.wait(0.02)

    def join(self, server, name, filler=None):
        """Connect a peer to the student's chat room at classroom pace: return once the
        room has taken it in (the server printed its address, and on Linux every thread
        of the server is blocked again), so a race in the server cannot decide a check
        that is about something else. Only the concurrency check joins at full speed.

        A connection reset before the server took it in (a listening socket replaced at
        start-up) is made again, at most JOIN_ATTEMPTS times.
        """
        for _ in range(JOIN_ATTEMPTS):
            # The room has finished with what came before (a relay still walking its dict).
            self.settle(server)
            mark = server.output_mark()
            peer = self.connect(server, name, filler=filler)
            if self.wait_taken_in(server, peer, mark):
                return peer
            self.note(say("%s 的连接在服务器接收它之前被重置, 重新连接" % name,
                          "%s's connection was reset before the server took it in; connecting "
                          "again" % name))
        return peer

    def wait_taken_in(self, server, peer, mark):
        """Wait until ``server`` announced ``peer`` (False if the peer's connection ended
        first), then until the server's threads are all blocked again."""
        pattern = relay_pattern(peer.address)
        deadline = time.monotonic() + (timeouts.RELAY if server.announces else 0.0)
        while True:
            if server.wait_output(pattern, timeout=START_SLICE, since=mark):
                break
            drain([peer])
            if peer.eof:
                return False
            if time.monotonic() >= deadline or not server.running:
                server.announces = False  # it never says who joined: do not wait for it again
                break
        self.settle(server)
        return True

    def settle(self, program):
        """Wait until every thread of the student's ``program`` is blocked (Linux; a no-op
        where that cannot be told, or once it was seen never to happen)."""
        if getattr(program, "settles", True) and program.running:
            program.settles = _settle(program.process.proc.pid)

    def send(self, peer, text):
        """A peer sends ``text``; recorded for the report."""
        self.note("%s → %s" % (peer.name, text if len(text) < 120 else trimmed(text, 120)))
        peer.send(text)

    def type(self, program, line):
        self.note(say("在 %s 的键盘输入: %s" % (program.path.name, line),
                      "typed on %s's stdin: %s" % (program.path.name, line)))
        program.type(line)

    # -- stuck starts -----------------------------------------------------------------------
    def _start_timeout(self, program):
        return timeouts.CHECK

    def _check_not_stuck(self, path, mode):
        # Keyed on the resolved path (Lab and StudentProgram resolve theirs), so any
        # spelling of a path meets the same entry.
        key = str(path)
        finding = self.stuck_starts.get((key, mode)) or self.stuck_starts.get((key, None))
        if finding is not None:
            raise Finding(finding.zh + " (在之前的检查中已经发生, 这一项不再等待)",
                          finding.en + " (This happened in an earlier check; not waited for again.)",
                          finding.expected, finding.got, finding.hints, finding.details,
                          start=True)

    def _start_failed(self, program, mode, zh, en, expected=""):
        """Raise the finding for a program that never got to the point a check needed."""
        hints, details = ["not-connected"], {}
        if program.running:
            last = (program.stdout.strip().splitlines() or [""])[-1]
            if last and not prompts.find_prompts(last):
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
        status = program.process.proc.poll()
        got = (say("程序还在运行", "the process is still running") if program.running else
               say("程序已经结束, 退出状态 %s" % status, "the process ended with status %s" % status))
        finding = Finding(zh, en, expected=expected, hints=hints, details=details, got=got,
                          start=True)
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


def _settle(pid):
    """Wait (at most SETTLE_WAIT) until every thread of ``pid`` is blocked, seen twice in a
    row. Returns False where that cannot be told or never happens (a server that spins), so
    the caller stops asking."""
    deadline = time.monotonic() + SETTLE_WAIT
    quiet = 0
    while time.monotonic() < deadline:
        waiting = _sandbox.threads_waiting(pid)
        if waiting is None:
            return False
        quiet = quiet + 1 if waiting else 0
        if quiet >= 2:
            return True
        # No event says "all threads are blocked": this is a poll with a deadline.
        time.sleep(SETTLE_POLL)
    return False


def relay_pattern(address):
    """A regex that finds ``address`` as the lab's programs print it, tolerantly:
    ``('127.0.0.1', 51234)``, ``127.0.0.1:51234``, ``('127.0.0.1',51234)`` or in words,
    ``IP: 127.0.0.1 端口: 51234``."""
    ip, port = address[0], address[1]
    # Between the two: a few separators, or a few words ("IP: 127.0.0.1 端口: 51140").
    return re.compile(r"%s(?:\W{1,4}|[^\d\n]{1,16}?)%d(?!\d)" % (re.escape(ip), port))

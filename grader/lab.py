"""The stage a check plays on: the student's programs, the grader's peers, the evidence.

    Lab             one check's world: it starts the student's programs
                    (grader/student.py), scripted peers and listeners (grader/peers.py) and
                    classroom servers (grader/classroom_adapter.py), records what the grader
                    did, and at the end of the check kills and closes every one of them

Theory of operation
-------------------
A check never sleeps. Every step waits for an event with a deadline: a read of stdin after a
prompt (answered at once by a thread watching the output), a connection registered by a
classroom server, bytes at a peer, the student's process ending. When a wait fails, the
check raises a :class:`grader.findings.Finding` whose text says what was sent, expected
and got; the pytest plugin adds the transcripts, the end of the student's output and the
hints.

A program that does not start (it spins, or waits for input the grader cannot answer)
would cost every check a full deadline. So the first such failure for a file and mode is
remembered and later checks that need the same start fail at once with the same finding.
"""

import collections
import contextlib
import socket
import tempfile
import time
from pathlib import Path

from classroom.echo_server import EchoServer
from classroom.hub_server import HubServer

from . import _sandbox, prompts, timeouts
from .classroom_adapter import ClassroomServer
from .findings import STUDENT_FAILURES, Finding, say
from .matching import address_pattern, stream_set_to_gbk
from .peers import LOOPBACK, Listener, Peer, Ports, drain, trimmed
from .process import WaitTimeout
from .results import GraderError
from .student import StudentProgram

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

#: The stuck_starts key of a file whose Python never started (see Lab._launch_failed).
LAUNCH = "launch"


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
        self.observations = []  # (hint id, detail) of what the checks saw (Lab.observe)
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

    def observe(self, hint_id, detail=""):
        """Record something the check saw that costs no points: a note (grader.hints) shown
        with the check, passed or not, as the launcher's notes are."""
        if all(seen != hint_id for seen, _ in self.observations):
            self.observations.append((hint_id, detail))

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
        deadline = self._start_deadline(program)
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
        deadline = self._start_deadline(server)
        while True:
            try:
                attempt = timeouts.SHORT if server.started else timeouts.CONNECT_ATTEMPT
                peer = Peer.connect(server.port, name=name, filler=filler, timeout=attempt)
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
            marks = (server.output_mark(), server.error_mark())
            peer = self.connect(server, name, filler=filler)
            if self.wait_taken_in(server, peer, marks):
                return peer
            self.note(say("%s 的连接在服务器接收它之前被重置, 重新连接" % name,
                          "%s's connection was reset before the server took it in; connecting "
                          "again" % name))
        return peer

    def wait_taken_in(self, server, peer, marks):
        """Wait until ``server`` announced ``peer`` on its console, after ``marks`` (stdout,
        stderr) (False if the peer's connection ended first), then until the server's
        threads are all blocked again."""
        pattern = address_pattern(peer.address)
        deadline = time.monotonic() + (timeouts.RELAY if server.announces else 0.0)
        while True:
            if server.wait_said(pattern, timeout=START_SLICE, since=marks):
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
    def _start_deadline(self, program):
        """When a program that has not got going is given up on: the start deadline
        (timeouts.CHECK) counts from the moment its own code starts, so a Python slow to
        start (at most timeouts.LAUNCH) costs time, not points."""
        launched = program.process.wait_launched(timeouts.LAUNCH)
        if not launched and program.running:
            self._launch_failed(program)
        return time.monotonic() + timeouts.CHECK

    def _launch_failed(self, program):
        """Python itself never got the student's file going: the machine's failure, not the
        student's; later starts of the same file fail at once the same way."""
        error = GraderError(
            "Python did not start %s within %.0f s (an antivirus scanning python.exe? a "
            "cold disk?); nothing of the student's code ran" % (program.path.name, timeouts.LAUNCH))
        self.stuck_starts[(str(program.path), LAUNCH)] = error
        raise error

    def _check_not_stuck(self, path, mode):
        # Keyed on the resolved path (Lab and StudentProgram resolve theirs), so any
        # spelling of a path meets the same entry.
        key = str(path)
        failed_launch = self.stuck_starts.get((key, LAUNCH))
        if failed_launch is not None:
            raise GraderError(str(failed_launch))
        finding = self.stuck_starts.get((key, mode)) or self.stuck_starts.get((key, None))
        if finding is not None:
            raise Finding(finding.zh + " (在之前的检查中已经发生, 这一项不再等待)",
                          finding.en + " (This happened in an earlier check; not waited for again.)",
                          finding.expected, finding.got, finding.hints, finding.details,
                          start=True)

    def _start_failed(self, program, mode, zh, en, expected=""):
        """Raise the finding for a program that never got to the point a check needed."""
        hints, details = ["not-connected"], {}
        garbled = _gbk_output(program)
        if garbled:
            # What it printed is not UTF-8, and its source says why: no prompt can be seen.
            hints = ["stdout-not-utf8"]
            details["stdout-not-utf8"] = garbled
        elif program.running:
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


def _gbk_output(program):
    """The GBK-family encoding a program that printed undecodable bytes set on its stdout
    in its source, or ''. (The declaration is ASCII, so any reading of the file finds it.)"""
    if "\ufffd" not in program.stdout:
        return ""
    try:
        source = Path(program.path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return stream_set_to_gbk(source, "stdout")


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

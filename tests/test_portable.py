"""What a student's Windows laptop does to a grading run, reproduced here: a Python that is
slow to start (antivirus scanning python.exe, a cold disk, a file still being fetched from
OneDrive) must cost time, never points."""

import ctypes
import os
import selectors
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from classroom.hub_server import HubServer
from grader import peers as peers_module
from grader import timeouts
from grader.classroom_adapter import ClassroomServer
from grader.diagnose import static_findings
from grader.hints import render as hint_text
from grader.peers import Listener, Peer, free_port, pump
from grader.plugin import GraderPlugin, preflight, read_source
from grader.process import ChildProcess, WaitTimeout
from grader.run import grade_run
from grader.settings import RunSettings
from tests.conftest import listening_port

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "reference"

#: How long the slow Python takes before it runs anything: more than the start deadline
#: (grader.timeouts.CHECK, 3 s) that a program's own code gets.
SLOW_START = 5

posix_only = pytest.mark.skipif(os.name != "posix", reason="the slow Python is a shell script")


def slow_python(tmp_path, delay=SLOW_START):
    """A Python that waits ``delay`` seconds before it starts, as a slow laptop's does."""
    path = tmp_path / "slow-python"
    # Not a wait for an event: the delay *is* what this stands in for.
    path.write_text('#!/bin/sh\nsleep %s\nexec "%s" "$@"\n' % (delay, sys.executable))
    path.chmod(0o755)
    return str(path)


@pytest.mark.slow
@posix_only
def test_a_python_slow_to_start_costs_time_not_points(tmp_path):
    settings = RunSettings(REFERENCE / "chat_client.py", REFERENCE / "chat_server.py",
                           keyword="client_sends_typed_line or p2p_announces_client",
                           student_python=slow_python(tmp_path))
    result = grade_run(settings)
    assert [(c.id, c.status) for c in result.checks] == [
        ("client_sends_typed_line", "passed"), ("p2p_announces_client", "passed")], [
        c.evidence.summary for c in result.checks if c.evidence]


@pytest.mark.slow
@posix_only
def test_a_program_that_spins_at_start_is_still_graded_at_todays_pace(tmp_path):
    spinning = tmp_path / "chat_server.py"
    spinning.write_text("while True:\n    pass\n", encoding="utf-8")
    started = time.monotonic()
    result = grade_run(RunSettings(REFERENCE / "chat_client.py", spinning, parts=("p2p",),
                                   student_python=slow_python(tmp_path, delay=1)))
    took = time.monotonic() - started
    assert result.score == 0 and len(result.checks) == 5
    assert all(c.evidence.hints[:1] == ["stuck-at-start"] for c in result.checks)
    # One start waited for (1 s to launch, then the start deadline), the rest at once.
    assert took < 1 + 3 + 4, took


# -- a console that cannot show every character ------------------------------------------

#: What a GBK console (cmd, Git Bash, an IDE's run pane, ``> log.txt`` on a Chinese
#: Windows) cannot encode: an emoji, and the U+FFFD the hub sends for invalid bytes.
UNSHOWABLE = ["😀 hello".encode("utf-8"), b"\xff\xfe bad bytes"]


def run_on_gbk_console(program, answers, talk):
    """Run ``program`` with stdout and stderr a cp936 pipe, type ``answers``, let ``talk``
    (given our Listener) play the other end and close it; return (exit status, output).
    The output is stdout and stderr together, so a traceback shows too."""
    env = dict(os.environ, PYTHONIOENCODING="cp936", PYTHONUTF8="0")
    with Listener() as listener:
        proc = subprocess.Popen([sys.executable, "-u", str(program)], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
        try:
            proc.stdin.write("".join(line + "\n" for line in answers(listener.port)).encode("cp936"))
            proc.stdin.flush()
            talk(listener)
            # stdin stays open: the program must end because the other end closed.
            proc.wait(timeout=timeouts.EXIT)
            out = proc.stdout.read()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    return proc.returncode, out.decode("cp936", "replace")


def test_the_reference_client_keeps_chatting_on_a_gbk_console():
    def talk(listener):
        server = listener.accept("server")
        for data in UNSHOWABLE:
            server.sock.sendall(data)
        server.send("still here")
        server.sock.close()

    status, out = run_on_gbk_console(REFERENCE / "chat_client.py",
                                     lambda port: ["127.0.0.1", str(port)], talk)
    assert "still here" in out and "聊天已结束" in out and status == 0, out
    assert "UnicodeEncodeError" not in out, out


def test_the_reference_server_keeps_printing_on_a_gbk_console():
    """The p2p server prints what its client sends; on a GBK console an emoji or a U+FFFD
    must not end its receiving thread before the client's next message."""
    env = {"PYTHONIOENCODING": "cp936", "PYTHONUTF8": "0"}
    port = free_port()
    server = ChildProcess([REFERENCE / "chat_server.py"], env=env)
    try:
        for answer in (port, "p2p", 1):  # the port, the mode, and max (asked in hub mode only)
            server.write_line(str(answer))
        peer = connect_when_listening(server, port)
        for data in UNSHOWABLE:
            peer.sock.sendall(data)
        peer.send("still here")
        peer.sock.close()
        assert server.wait_exit(timeouts.EXIT) is not None, server.describe()
        server.drain()
        # stdout is GBK and read here as UTF-8: its ASCII is intact, its Chinese is not.
        assert "still here" in server.stdout.text, server.describe()
        assert "UnicodeEncodeError" not in server.stderr.text, server.describe()
    finally:
        server.kill()


def connect_when_listening(program, port, attempts=100):
    """A Peer connected to ``program`` once it listens: each refused attempt waits for the
    program's next output (it prints on its way to listen()) or a short tick."""
    for _ in range(attempts):
        try:
            return Peer.connect(port, name="client")
        except ConnectionRefusedError:
            if program.proc.poll() is not None:
                break
            with program.stdout.changed:
                program.stdout.changed.wait(0.05)
    raise AssertionError("the server never listened on %d:\n%s" % (port, program.describe()))


# -- files saved by Windows editors -------------------------------------------------------

def test_a_file_saved_as_gbk_is_told_to_be_saved_as_utf8(tmp_path):
    """Notepad's "ANSI" on a Chinese Windows is GBK: Python will not run the file, and the
    fix is the encoding, not a line of code."""
    server = tmp_path / "chat_server.py"
    source = (REFERENCE / "chat_server.py").read_text(encoding="utf-8")
    server.write_bytes(source.encode("gbk", "replace"))
    hint, detail = preflight(server)
    assert hint == "file-not-utf8", (hint, detail)
    first = next(n for n, line in enumerate(source.splitlines(), 1) if any(ord(c) > 127 for c in line))
    assert "line %d" % first in detail
    assert "Save it as UTF-8" in hint_text("file-not-utf8", "en", detail)
    assert "另存为 UTF-8" in hint_text("file-not-utf8", "zh", detail)


def test_a_file_saved_with_a_bom_keeps_its_code_based_hints(tmp_path):
    """Notepad's "UTF-8" writes a byte-order mark; Python runs the file all the same, so the
    grader must read it too (the static hints parse its code)."""
    buggy = ROOT / "tests" / "submissions" / "hub-thread-not-started" / "chat_server.py"
    with_bom = tmp_path / "chat_server.py"
    with_bom.write_bytes(b"\xef\xbb\xbf" + buggy.read_bytes())
    assert preflight(with_bom) is None
    plain, marked = read_source(buggy), read_source(with_bom)
    assert marked == plain
    assert static_findings(marked, "hub") == static_findings(plain, "hub") != {}


# -- a GBK console ------------------------------------------------------------------------

def grade_on_a_gbk_console(*args):
    env = dict(os.environ, PYTHONIOENCODING="gbk", PYTHONUTF8="0")
    run = subprocess.run([sys.executable, "-m", "grader", "--lang", "zh"] + list(args),
                         cwd=str(ROOT), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         timeout=120)
    return run.returncode, run.stdout.decode("gbk")


@pytest.mark.slow
def test_marks_on_a_gbk_console_are_ones_it_can_show():
    status, out = grade_on_a_gbk_console("--reference", "-k", "client_sends or p2p_announces")
    assert status == 0 and "√ 1.1" in out and "? 1." not in out, out
    status, out = grade_on_a_gbk_console("-k", "client_sends")   # the skeleton: a failure
    assert status == 0 and "× 1.1" in out, out


def test_marks_are_kept_where_the_console_has_them():
    import io
    from grader.console import printable
    utf8 = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    gbk = io.TextIOWrapper(io.BytesIO(), encoding="gbk")
    assert printable("✓ ✗ !", utf8) == "✓ ✗ !"
    assert printable("✓ ✗ !", gbk) == "√ × !"


# -- select() with nothing to watch -------------------------------------------------------

class WindowsLikeSelector(selectors.SelectSelector):
    """select() on Windows refuses to watch nothing (WSAEINVAL); Linux would just sleep."""

    def select(self, timeout=None):
        if not self.get_map():
            raise OSError(10022, "An invalid argument was supplied")
        return super().select(timeout)


def test_pump_stops_at_once_when_every_peer_it_waits_for_has_ended(monkeypatch):
    monkeypatch.setattr(peers_module.selectors, "DefaultSelector", WindowsLikeSelector)
    with Listener() as listener:
        peer = Peer.connect(listener.port, name="A")
        listener.accept("server").sock.close()
        peer.wait_for_eof(timeout=timeouts.SHORT)      # its stream ended: nothing to watch
        started = time.monotonic()
        with pytest.raises(WaitTimeout, match="closed by the other side"):
            pump([peer], lambda p: False, timeout=timeouts.SHORT, what="a reply")
        assert time.monotonic() - started < 1.0
        peer.sock.close()


# -- the classroom servers on Windows' proactor loop --------------------------------------

def test_a_failed_accept_does_not_stop_the_room_admitting_newcomers():
    """On the proactor loop an OSError in accept (a client that reset before it was taken
    in) closes the listening socket (CPython gh-93821): the room must listen again."""
    room = ClassroomServer(HubServer)
    try:
        def fail_an_accept(server):
            listening = server._listener.sockets[0]
            server._listener.close()          # what the proactor's accept loop does
            server._loop.call_exception_handler({
                "message": "Accept failed on a socket", "socket": listening,
                "exception": ConnectionResetError(10054, "reset by peer")})
        server = room.thread.server
        closed = server._listener
        room.thread.call(fail_an_accept, server)
        # The room listens again from a task of its loop: each call below is a round trip
        # through that loop (no sleep), bounded by a deadline.
        deadline = time.monotonic() + timeouts.SHORT
        while room.thread.call(lambda: server._listener is closed) and time.monotonic() < deadline:
            pass
        newcomer = Peer.connect(room.port, name="newcomer")
        assert room.wait_joined(1, timeout=timeouts.SHORT), room.describe()
        newcomer.sock.close()
    finally:
        room.stop()


def test_a_reset_is_one_line_of_the_log_not_a_traceback(caplog):
    room = ClassroomServer(HubServer)
    try:
        server = room.thread.server
        room.thread.call(lambda: server._loop.call_exception_handler({
            "message": "Exception in callback _ProactorBasePipeTransport._call_connection_lost()",
            "exception": ConnectionResetError(10054, "An existing connection was forcibly closed")}))
    finally:
        room.stop()
    assert not [record for record in caplog.records if record.name == "asyncio"]
    assert any("reset" in line for line in room.log), room.log
    assert not any("Traceback" in line for line in room.log)


# -- the last-resort timeout without signals ----------------------------------------------

HANGING_CHECK = '''
import threading
import pytest

@pytest.mark.check(points=2, zh="会卡住吗?")
def check_hangs():
    """Does it hang?"""
    while True:                       # a grader bug: a loop with no deadline of its own
        threading.Event().wait(0.05)

@pytest.mark.check(points=1, zh="之后的检查还会运行吗?")
def check_after():
    """Does the next check still run?"""
'''


@pytest.mark.slow
def test_a_hung_check_is_ended_by_the_watchdog_where_there_are_no_signals(tmp_path, monkeypatch):
    """Windows has no SIGALRM: pytest-timeout's thread method is its last resort, and with
    pytest's terminal off (as the grader runs it) that method never ended the check."""
    (tmp_path / "check_hang.py").write_text(HANGING_CHECK, encoding="utf-8")
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\npython_files = check_*.py\npython_functions = check_*\n", encoding="utf-8")
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")  # as the grader runs pytest
    plugin = GraderPlugin(RunSettings(tmp_path / "c.py", tmp_path / "s.py"))
    started = time.monotonic()
    pytest.main([str(tmp_path), "-p", "no:terminal", "-p", "no:cacheprovider", "-p", "pytest_timeout",
                 "-c", str(tmp_path / "pytest.ini"), "--rootdir", str(tmp_path),
                 "-o", "timeout=1", "-o", "timeout_method=thread"], plugins=[plugin])
    took = time.monotonic() - started
    checks = {check.id: check for check in plugin.result.checks}
    assert took < 10, took
    assert checks["hangs"].status == "failed", checks["hangs"]
    assert "Timeout" in checks["hangs"].evidence.summary
    assert checks["after"].status == "passed"


# -- Ctrl-C without add_signal_handler ----------------------------------------------------

#: Starts a classroom server as Windows runs it: its event loop has no add_signal_handler.
WITHOUT_SIGNAL_HANDLERS = """
import asyncio, runpy, sys
def refuse(self, *args):
    raise NotImplementedError
asyncio.AbstractEventLoop.add_signal_handler = refuse
asyncio.BaseEventLoop.add_signal_handler = refuse
asyncio.SelectorEventLoop.add_signal_handler = refuse
sys.argv = [sys.argv[1], "--host", "127.0.0.1", "--port", "0"]
runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
"""


def assert_stops_cleanly(args, press, reason):
    """Start a classroom server (``args`` to Python), let one client join, ``press(proc)``;
    the server must say ``stopped (reason)``, close the client and exit 0, no traceback."""
    server = ChildProcess(args, cwd=str(ROOT))
    try:
        peer = Peer.connect(listening_port(server), name="client")
        server.wait_for("joined; 1 online", stream="stderr", timeout=timeouts.SHORT)
        press(server.proc)
        assert server.wait_exit(timeouts.EXIT) == 0, server.describe()
        server.drain()
        assert "stopped (%s); 1 connections closed" % reason in server.stderr.text, \
            server.describe()
        assert "Traceback" not in server.stderr.text, server.describe()
        peer.wait_for_eof(timeout=timeouts.SHORT)
    finally:
        server.kill()


@posix_only
@pytest.mark.parametrize("module", ["classroom.hub_server", "classroom.echo_server"])
def test_ctrl_c_stops_a_classroom_server_that_cannot_set_signal_handlers(module):
    import signal
    assert_stops_cleanly(["-c", WITHOUT_SIGNAL_HANDLERS, module],
                         lambda proc: proc.send_signal(signal.SIGINT), "Ctrl-C")


# -- Windows: the student's tree in a job object --------------------------------------------

class FakeKernel32:
    """The job-object calls of kernel32, recorded; ``refuse`` names one that fails."""

    JOB = 0x4242

    def __init__(self, refuse=None):
        self.calls = []
        self.refuse = refuse
        self.limits = None

    def _call(self, name, *args):
        self.calls.append((name,) + args)
        return 0 if name == self.refuse else 1

    def CreateJobObjectW(self, attributes, name):
        self.calls.append(("CreateJobObjectW", attributes, name))
        return 0 if self.refuse == "CreateJobObjectW" else self.JOB

    def SetInformationJobObject(self, job, kind, pointer, size):
        self.limits = pointer._obj  # the structure passed by reference
        return self._call("SetInformationJobObject", job, kind, size)

    def AssignProcessToJobObject(self, job, process):
        return self._call("AssignProcessToJobObject", job, process)

    def TerminateJobObject(self, job, status):
        return self._call("TerminateJobObject", job, status)

    def CloseHandle(self, handle):
        return self._call("CloseHandle", handle)


class FakePopen:
    _handle = 0x1234


def test_a_windows_child_is_put_in_a_job_that_ends_with_the_grader():
    from grader import _winjob
    kernel32 = FakeKernel32()
    job = _winjob.contain(FakePopen(), kernel32=kernel32)
    assert job is not None
    assert [call[0] for call in kernel32.calls] == [
        "CreateJobObjectW", "SetInformationJobObject", "AssignProcessToJobObject"]
    assert kernel32.calls[1] == ("SetInformationJobObject", FakeKernel32.JOB,
                                 _winjob.EXTENDED_LIMIT_INFORMATION,
                                 ctypes.sizeof(_winjob.ExtendedLimits))
    # JOBOBJECT_EXTENDED_LIMIT_INFORMATION is 144 bytes on 64-bit Windows, 112 on 32-bit.
    assert ctypes.sizeof(_winjob.ExtendedLimits) == (144 if ctypes.sizeof(ctypes.c_void_p) == 8
                                                     else 112)
    assert kernel32.limits.BasicLimitInformation.LimitFlags & _winjob.LIMIT_KILL_ON_JOB_CLOSE
    assert kernel32.calls[2] == ("AssignProcessToJobObject", FakeKernel32.JOB, FakePopen._handle)
    del kernel32.calls[:]
    job.terminate()
    job.terminate()  # a second kill (flood, then the end of the check) does nothing more
    assert kernel32.calls == [("TerminateJobObject", FakeKernel32.JOB, _winjob.TERMINATED),
                              ("CloseHandle", FakeKernel32.JOB)]


@pytest.mark.parametrize("refused", ["CreateJobObjectW", "SetInformationJobObject",
                                     "AssignProcessToJobObject"])
def test_where_windows_refuses_a_job_the_taskkill_fallback_stands(refused):
    from grader import _winjob
    kernel32 = FakeKernel32(refuse=refused)
    assert _winjob.contain(FakePopen(), kernel32=kernel32) is None
    if refused != "CreateJobObjectW":  # a job that was made is not leaked
        assert kernel32.calls[-1] == ("CloseHandle", FakeKernel32.JOB)


@pytest.mark.skipif(os.name == "nt", reason="Windows has job objects")
def test_there_are_no_job_objects_off_windows():
    from grader import _winjob
    assert _winjob.contain(FakePopen()) is None


def test_killing_a_child_ends_its_job_before_the_tree_kill(monkeypatch):
    from grader import process as process_module
    order = []

    class RecordingJob:
        def terminate(self):
            order.append("job")

    real_kill_tree = process_module._sandbox.kill_tree
    monkeypatch.setattr(process_module._winjob, "contain", lambda proc: RecordingJob())
    monkeypatch.setattr(process_module._sandbox, "kill_tree",
                        lambda proc: (order.append("tree"), real_kill_tree(proc)))
    child = ChildProcess(["-c", "import sys; sys.stdin.read()"])
    child.kill()
    assert order[:2] == ["job", "tree"]


#: A child that starts a grandchild listening on loopback, says its port, and exits.
ORPHANING_CHILD = r"""
import subprocess, sys
subprocess.Popen([sys.executable, "-c", '''
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0)); s.listen()
print("grandchild port", s.getsockname()[1], flush=True)
while True:
    s.accept()[0].close()
'''])
"""


@pytest.mark.slow
def test_a_grandchild_whose_parent_exited_is_killed_with_the_tree():
    """Windows' taskkill /T misses it (its parent is gone): the job object does not. On POSIX
    the process group does the same."""
    import re
    child = ChildProcess(["-c", ORPHANING_CHILD])
    try:
        said = re.compile(r"grandchild port (\d+)\n")
        port = int(said.search(child.wait_for(said, timeout=timeouts.SHORT)).group(1))
        assert child.wait_exit(timeouts.EXIT) == 0, child.describe()
        Peer.connect(port, name="probe").close()  # the grandchild lives on
    finally:
        child.kill()
    deadline = time.monotonic() + timeouts.SHORT
    while True:
        try:
            Peer.connect(port, name="probe", timeout=timeouts.CONNECT_ATTEMPT).close()
        except OSError:
            break  # nobody listens any more: the grandchild is gone
        assert time.monotonic() < deadline, "the grandchild outlived the kill of its tree"
        with child.stdout.changed:
            child.stdout.changed.wait(0.02)  # a tick: nothing announces a process's death here


# -- Windows: a refused connect takes about 2 s --------------------------------------------

#: How long Windows takes to refuse a connect to a port nobody listens on (SYN retries).
WINDOWS_REFUSAL = 2.0


def windows_connect(real_connect):
    """Peer.connect as Windows behaves: a port with no listener is refused only after
    WINDOWS_REFUSAL seconds, or the attempt's timeout runs out first."""
    def connect(port, host="127.0.0.1", timeout=timeouts.SHORT, **options):
        try:
            return real_connect(port, host=host, timeout=timeout, **options)
        except ConnectionRefusedError:
            waited = min(timeout, WINDOWS_REFUSAL)
            threading.Event().wait(waited)  # stands in for the SYN retries
            if waited < WINDOWS_REFUSAL:
                raise socket.timeout("timed out")
            raise
    return connect


@pytest.mark.slow
def test_a_server_that_listens_a_moment_late_is_reached_at_once_on_windows(tmp_path, monkeypatch):
    from grader import lab as lab_module
    monkeypatch.setattr(lab_module.Peer, "connect", staticmethod(windows_connect(Peer.connect)))
    lab = lab_module.Lab(RunSettings(REFERENCE / "chat_client.py", REFERENCE / "chat_server.py"),
                         tmp_path)
    try:
        server = lab.start_server("p2p")
        started = time.monotonic()
        lab.connect(server, "client")  # made before the server's Python has even started
        took = time.monotonic() - started
    finally:
        lab.close()
    # Before short attempts: the first refusal alone cost WINDOWS_REFUSAL.
    assert took < WINDOWS_REFUSAL - 0.5, took


#: The same, with SIGUSR1 standing in for Windows' SIGBREAK (Ctrl-Break).
WITH_CTRL_BREAK = WITHOUT_SIGNAL_HANDLERS.replace(
    "import asyncio, runpy, sys", "import asyncio, runpy, signal, sys\nsignal.SIGBREAK = signal.SIGUSR1")


@posix_only
@pytest.mark.parametrize("module", ["classroom.hub_server", "classroom.echo_server"])
def test_ctrl_break_stops_a_classroom_server_as_ctrl_c_does(module):
    import signal
    assert_stops_cleanly(["-c", WITH_CTRL_BREAK, module],
                         lambda proc: proc.send_signal(signal.SIGUSR1), "Ctrl-Break")


@pytest.mark.skipif(os.name != "nt", reason="console control events exist on Windows only")
@pytest.mark.parametrize("module", ["classroom.hub_server", "classroom.echo_server"])
def test_ctrl_break_stops_a_classroom_server_on_windows(module):
    """On the real proactor loop. CTRL_BREAK_EVENT is the console event one program can send
    to another's process group (ChildProcess starts each in a group of its own); a student
    pressing Ctrl-C reaches the KeyboardInterrupt path the test above covers."""
    import signal
    assert_stops_cleanly(["-m", module, "--host", "127.0.0.1", "--port", "0"],
                         lambda proc: proc.send_signal(signal.CTRL_BREAK_EVENT), "Ctrl-Break")


# -- Windows: the kill path without process groups --------------------------------------------

class FakeChild:
    """A Popen as kill_tree sees it: still running until killed."""

    pid = 4321

    def __init__(self, running=True):
        self.running = running
        self.killed = False

    def poll(self):
        return None if self.running else 1

    def kill(self):
        self.killed, self.running = True, False


@pytest.mark.parametrize("running", [True, False])
def test_the_windows_kill_path_uses_taskkill_on_the_tree(monkeypatch, running):
    """With os.name "nt", kill_tree runs taskkill /F /T on a running child, then kills it if
    it still runs; a child that already exited is left to its job object (grader/_winjob.py),
    since taskkill can no longer walk from it to its orphans."""
    import types
    from grader import _sandbox
    ran = []
    monkeypatch.setattr(_sandbox, "os", types.SimpleNamespace(name="nt"))
    monkeypatch.setattr(_sandbox.subprocess, "run", lambda argv, **options: ran.append(argv))
    child = FakeChild(running)
    _sandbox.kill_tree(child)
    if running:
        assert ran == [["taskkill", "/F", "/T", "/PID", "4321"]]
        assert child.killed  # taskkill did nothing here: the direct kill still ends it
    else:
        assert ran == [] and not child.killed

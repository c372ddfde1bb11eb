"""Shared fixtures: start the lab's programs as real processes, answer their prompts, and
play the other end of their sockets."""

import queue
import re
from pathlib import Path

import pytest

from grader.peers import Peer, free_port
from grader.process import ChildProcess
from classroom.core import InstructorServer

ROOT = Path(__file__).resolve().parent.parent

PROMPT_IP = "请输入聊天服务器IP"
PROMPT_PORT = "请输入聊天服务器端口"
PROMPT_MODE = "请输入服务器工作模式(p2p,hub)"
PROMPT_MAX = "请输入最大允许连接的客户端数量"
WAITING = "等待客户端的连接..."
CONNECTED_CLIENT = "连接建立成功"
CHAT_OVER = "聊天已结束"
#: The line both instructor servers log once they listen.
LISTENING = re.compile(r"listening on (\S+):(\d+)")


@pytest.fixture
def spawn():
    """``spawn(path_or_-m, *args)``: start Python as a child process; every one is killed
    (whole tree) at teardown."""
    children = []

    def start(*args):
        child = ChildProcess(list(args), cwd=str(ROOT))
        children.append(child)
        return child

    yield start
    for child in children:
        child.kill()


class PeerGroup:
    """Connects Peers for one test and closes every one of them when the test ends."""

    def __init__(self):
        self._peers = []

    def connect(self, port, **options):
        peer = Peer.connect(port, **options)
        self._peers.append(peer)
        return peer

    def close_all(self):
        for peer in self._peers:
            peer.sock.close()
        del self._peers[:]


@pytest.fixture
def peers():
    group = PeerGroup()
    yield group
    group.close_all()


@pytest.fixture(params=["direct", "transport"])
def write_path(request, monkeypatch):
    """Runs a test both ways an in-process instructor server can write: straight to a
    client's socket while asyncio's transport holds nothing for it (where the event loop
    allows that), and through the transport alone (as on Windows' proactor loop)."""
    if request.param == "transport":
        monkeypatch.setattr(InstructorServer, "_direct_socket", lambda self, sock: None)
    return request.param


@pytest.fixture
def log():
    """Log lines of an in-process server (appended from its thread; list.append is atomic)."""
    return []


class ReadRecorder:
    """A server ``recorder`` that queues every chunk the server *read*, so a test can wait
    until the server has taken one segment on its own before it sends the next."""

    def __init__(self):
        self.reads = queue.Queue()

    def __call__(self, timestamp, addr, direction, data):
        if direction == "recv":
            self.reads.put(data)

    def next_read(self, timeout):
        return self.reads.get(timeout=timeout)


def listening_port(server):
    """Wait for an instructor server's ``listening on HOST:PORT`` line; return the port."""
    return int(LISTENING.search(server.wait_for(LISTENING, stream="stderr")).group(2))


@pytest.fixture
def instructor_server(spawn):
    """``instructor_server("classroom.hub_server", *options)``: a classroom server as a
    child process on 127.0.0.1 and a port the system picks, listening. Returns
    (process, port)."""

    def start(module, *options):
        server = spawn("-m", module, "--host", "127.0.0.1", "--port", "0", *options)
        return server, listening_port(server)

    return start


def answer(child, *pairs):
    """Answer prompts in order: ``answer(child, (PROMPT_IP, "127.0.0.1"), ...)``."""
    for prompt, reply in pairs:
        child.wait_for(prompt, count=1)
        child.write_line(str(reply))


@pytest.fixture
def start_client(spawn):
    """``start_client(port)``: the reference client, connected to 127.0.0.1:port."""

    def start(port, path=ROOT / "reference" / "chat_client.py"):
        client = spawn(path)
        answer(client, (PROMPT_IP, "127.0.0.1"), (PROMPT_PORT, port))
        return client

    return start


@pytest.fixture
def start_server(spawn):
    """``start_server(mode, max_clients)``: the reference server on a free port, ready to accept.

    Returns (process, port).
    """

    def start(mode, max_clients=5, path=ROOT / "reference" / "chat_server.py"):
        port = free_port()
        server = spawn(path)
        answer(server, (PROMPT_PORT, port), (PROMPT_MODE, mode), (PROMPT_MAX, max_clients))
        server.wait_for(WAITING)
        return server, port

    return start


# -- the slow marker, kept honest ---------------------------------------------------------

#: A test not marked slow that takes longer than this is named at the end of the run, so
#: that `python -m pytest -m "not slow"` stays a loop of seconds.
SLOW_SECONDS = 1.0
_UNMARKED_SLOW = []


def pytest_runtest_logreport(report):
    if report.when == "call" and report.duration > SLOW_SECONDS and "slow" not in report.keywords:
        _UNMARKED_SLOW.append((report.duration, report.nodeid))


def pytest_terminal_summary(terminalreporter):
    if _UNMARKED_SLOW:
        terminalreporter.write_sep("-", "over %.0f s but not marked slow" % SLOW_SECONDS)
        for duration, nodeid in sorted(_UNMARKED_SLOW, reverse=True):
            terminalreporter.write_line("%6.2fs %s" % (duration, nodeid))

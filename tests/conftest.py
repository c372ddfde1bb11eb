"""Shared fixtures: start the lab's programs as real processes and answer their prompts."""

from pathlib import Path

import pytest

from grader.peers import free_port
from grader.process import ChildProcess

ROOT = Path(__file__).resolve().parent.parent

PROMPT_IP = "请输入聊天服务器IP"
PROMPT_PORT = "请输入聊天服务器端口"
PROMPT_MODE = "请输入服务器工作模式(p2p,hub)"
PROMPT_MAX = "请输入最大允许连接的客户端数量"
WAITING = "等待客户端的连接..."
CONNECTED_CLIENT = "连接建立成功"
CHAT_OVER = "聊天已结束"


@pytest.fixture
def spawn():
    """Start Python files as child processes; every one is killed (whole tree) at teardown."""
    children = []

    def start(path, *args):
        child = ChildProcess([str(path)] + list(args), cwd=str(ROOT))
        children.append(child)
        return child

    yield start
    for child in children:
        child.kill()


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

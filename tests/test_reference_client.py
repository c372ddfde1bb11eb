"""The reference client, driven as a real process against scripted peers on port 0.

Each test plays the server inline: it listens on 127.0.0.1:0, accepts the client, and
sends and expects bytes in order. Every wait ends on an event (text arrived, EOF, exit).
"""

import pytest

from grader import timeouts
from grader.peers import Listener
from grader.process import has_traceback
from tests.conftest import CHAT_OVER, CONNECTED_CLIENT, PROMPT_IP, PROMPT_PORT, ROOT, answer


@pytest.fixture
def listener():
    with Listener() as server_side:
        yield server_side


@pytest.fixture
def chat(listener, start_client):
    """A reference client connected to a scripted server: (client process, server-side peer)."""
    client = start_client(listener.port)
    peer = listener.accept()
    client.wait_for(CONNECTED_CLIENT)
    yield client, peer
    peer.sock.close()


def assert_exits_cleanly(client):
    status = client.wait_exit(timeouts.EXIT)
    elapsed_ok = status is not None
    assert elapsed_ok, "the client did not exit.\n" + client.describe()
    client.drain()
    assert status == 0, client.describe()
    assert not has_traceback(client.stderr.text), client.describe()


def test_round_trip_with_an_echo_server(chat):
    client, peer = chat
    client.write_line("hello")
    peer.wait_for("hello")
    peer.send("收到: hello")
    client.wait_for("收到: hello")


def test_prints_every_message_the_server_sends(chat):
    client, peer = chat
    for text in ("first", "second", "第三条"):
        peer.send(text)
        client.wait_for(text)


def test_chinese_character_split_across_two_segments(chat):
    client, peer = chat
    data = "A你好".encode("utf-8")
    # "A" plus the first two bytes of 你: once the client prints "A" it has consumed this
    # segment, so the rest of 你 necessarily arrives in a later recv.
    peer.send(data[:3])
    client.wait_for("A")
    peer.send(data[3:])
    client.wait_for("你好")
    assert "\ufffd" not in client.stdout.text


def test_sends_chinese_lines_as_utf8(chat):
    client, peer = chat
    client.write_line("你好, 世界")
    peer.wait_for("你好, 世界")
    assert "你好, 世界".encode("utf-8") in peer.received


def test_q_sends_q_closes_and_exits(chat):
    client, peer = chat
    # A message first, so the receive thread is back in recv() when q arrives: on Linux
    # only shutdown() (not close()) wakes it there, and this is the case that catches it.
    peer.send("ping")
    client.wait_for("ping")
    client.write_line("q")
    assert peer.wait_for_eof() == "q"
    client.wait_for(CHAT_OVER)
    assert client.wait_exit(timeouts.EXIT_BAR) is not None, "the client was still running 2 s after q"
    assert_exits_cleanly(client)


def test_server_closing_first_ends_the_chat_without_a_flood(chat):
    client, peer = chat
    peer.close()
    client.wait_for(CHAT_OVER)
    assert client.wait_exit(timeouts.EXIT_BAR) is not None, (
        "the client was still running 2 s after the server closed (stdin still open)")
    assert_exits_cleanly(client)
    assert client.stdout.total_chars < 2000, "the client kept printing after the server left"


def test_server_reset_ends_the_chat(chat):
    client, peer = chat
    peer.reset()
    client.wait_for(CHAT_OVER)
    assert_exits_cleanly(client)


def test_end_of_input_counts_as_q(chat):
    client, peer = chat
    client.close_stdin()
    assert peer.wait_for_eof() == "q"
    assert_exits_cleanly(client)


def test_no_server_gives_a_clear_message(start_client):
    with Listener() as closed:
        port = closed.port  # nothing will accept here once it is closed
    client = start_client(port)
    assert client.wait_exit(timeouts.EXIT) == 1, client.describe()
    client.drain()
    assert "无法连接" in client.stderr.text
    assert not has_traceback(client.stderr.text), client.describe()


def test_bad_port_is_asked_again(spawn, listener):
    client = spawn(ROOT / "reference" / "chat_client.py")
    answer(client, (PROMPT_IP, "127.0.0.1"), (PROMPT_PORT, "abc"))
    client.wait_for(PROMPT_PORT, count=2)
    client.write_line(str(listener.port))
    listener.accept()
    client.wait_for(CONNECTED_CLIENT)

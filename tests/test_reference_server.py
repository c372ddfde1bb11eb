"""The reference server, driven as a real process; the tests play its clients on loopback.

A hub relays only to clients it has registered, so each test waits for the server's own
"connected" line for every client before anyone speaks: a barrier on an event, not a sleep.
"""

import re

import pytest

from grader import timeouts
from grader.peers import Listener
from grader.process import has_traceback
from tests.conftest import PROMPT_PORT, ROOT, answer

CONNECTED = "已成功连接!"
LEFT_P2P = "已退出聊天"
LEFT_HUB = "已经离开了"


@pytest.fixture
def join(peers):
    """``join(server, port, name)``: connect a scripted client and wait until the server
    has announced it."""

    def connect(server, port, name):
        peer = peers.connect(port, name=name)
        server.wait_for(peer.addr + CONNECTED)
        return peer

    return connect


@pytest.fixture
def hub(start_server, join):
    """A reference hub with three connected clients: (server, port, [a, b, c])."""
    server, port = start_server("hub", max_clients=10)
    return server, port, [join(server, port, name) for name in ("a", "b", "c")]


def relayed(sender, text):
    return "%s : %s" % (sender.addr, text)


# ------------------------------------------------------------------------------------ p2p
@pytest.fixture
def p2p(start_server, join):
    server, port = start_server("p2p")
    return server, join(server, port, "client")


def test_p2p_announces_the_peer_with_its_address(p2p):
    server, peer = p2p
    assert "%s已成功连接!" % peer.addr in server.stdout.text


def test_p2p_prints_what_the_peer_sends(p2p):
    server, peer = p2p
    peer.send("你好")
    server.wait_for("%s : 你好" % peer.addr)


def test_p2p_split_character_prints_intact(p2p):
    server, peer = p2p
    data = "A好".encode("utf-8")
    peer.send(data[:2])  # "A" and the first byte of 好
    server.wait_for("%s : A" % peer.addr)
    peer.send(data[2:])
    server.wait_for("%s : 好" % peer.addr)
    assert "\ufffd" not in server.stdout.text


def test_p2p_sends_its_stdin_lines(p2p):
    server, peer = p2p
    server.write_line("来自服务器")
    peer.wait_for("来自服务器")


def test_p2p_q_from_the_peer_ends_the_chat(p2p):
    server, peer = p2p
    peer.send("q")
    server.wait_for(peer.addr + LEFT_P2P)
    peer.wait_for_eof()
    assert server.wait_exit(timeouts.EXIT_BAR) == 0, "the p2p server did not exit within 2 s of q\n" + server.describe()


@pytest.mark.parametrize("how", ["close", "reset"])
def test_p2p_abrupt_disconnect_ends_quietly(p2p, how):
    server, peer = p2p
    getattr(peer, how)()
    server.wait_for(peer.addr + LEFT_P2P)
    assert server.wait_exit(timeouts.EXIT_BAR) == 0, server.describe()
    server.drain()
    assert server.stdout.total_chars < 2000, "the server kept printing after the peer left"
    assert not has_traceback(server.stderr.text), server.describe()


# ------------------------------------------------------------------------------------ hub
def test_hub_relays_to_every_other_client_never_the_sender(hub):
    server, port, (a, b, c) = hub
    a.send("大家好")
    b.wait_for(relayed(a, "大家好"))
    c.wait_for(relayed(a, "大家好"))
    a.assert_absent("大家好")


def test_hub_several_clients_talking_at_once(hub):
    server, port, peers = hub
    for round_number in range(5):
        for peer in peers:
            peer.send("<%s %d>" % (peer.name, round_number))
    for receiver in peers:
        for sender in peers:
            if sender is not receiver:
                receiver.wait_for("<%s 4>" % sender.name, timeout=timeouts.LONG)
        order = [int(n) for n in re.findall(r"<%s (\d)>" % peers[0].name, receiver.text)]
        assert order == ([] if receiver is peers[0] else list(range(5)))


@pytest.mark.parametrize("how", ["q", "close", "reset"])
def test_hub_departure_names_the_right_client_and_the_room_goes_on(hub, how):
    server, port, (a, b, c) = hub
    if how == "q":
        b.send("q")
        b.wait_for_eof()
    else:
        getattr(b, how)()
    notice = b.addr + LEFT_HUB
    a.wait_for(notice)
    c.wait_for(notice)
    assert a.addr + LEFT_HUB not in a.text + c.text
    assert c.addr + LEFT_HUB not in a.text + c.text
    a.send("还在吗")
    c.wait_for(relayed(a, "还在吗"))
    assert server.proc.poll() is None, "the hub stopped after a client left\n" + server.describe()
    assert not has_traceback(server.stderr.text), server.describe()


def test_hub_clients_joining_while_others_talk(hub, join):
    server, port, (a, b, c) = hub
    a.send("before")
    b.wait_for(relayed(a, "before"))
    d = join(server, port, "d")
    a.send("after")
    d.wait_for(relayed(a, "after"))
    d.send("new here")
    for peer in (a, b, c):
        peer.wait_for(relayed(d, "new here"))
    assert "before" not in d.text


def test_hub_refuses_a_client_beyond_max_clients(start_server, join, peers):
    server, port = start_server("hub", max_clients=2)
    a = join(server, port, "a")
    b = join(server, port, "b")
    extra = peers.connect(port, name="extra")
    assert "已满" in extra.wait_for_eof()
    a.send("hi")
    b.wait_for(relayed(a, "hi"))


def test_hub_survives_invalid_utf8(hub):
    server, port, (a, b, c) = hub
    a.send(b"\xff\xfe bad")
    b.wait_for("\ufffd")
    a.send("fine")
    c.wait_for(relayed(a, "fine"))


def test_busy_port_gives_a_clear_message(spawn):
    with Listener() as taken:
        server = spawn(ROOT / "reference" / "chat_server.py")
        answer(server, (PROMPT_PORT, taken.port))
        assert server.wait_exit(timeouts.EXIT) == 1, server.describe()
    server.drain()
    assert "无法使用端口" in server.stderr.text
    assert not has_traceback(server.stderr.text), server.describe()


def test_hub_keeps_relaying_while_clients_come_and_go(hub, join):
    """Ten visitors join and leave (by close and by reset) between a's messages: every
    message still reaches b, once and in order, and the server logs no traceback."""
    server, port, (a, b, c) = hub
    for number in range(10):
        visitor = join(server, port, "visitor%d" % number)
        a.send("<msg %d>" % number)
        visitor.wait_for(relayed(a, "<msg %d>" % number))
        if number % 2:
            visitor.reset()
        else:
            visitor.close()
        b.wait_for(visitor.addr + LEFT_HUB)
    b.wait_for("<msg 9>")
    assert re.findall(r"<msg (\d+)>", b.text) == [str(n) for n in range(10)]
    assert not has_traceback(server.stderr.text), server.describe()

"""The reference server, driven as a real process; the tests play its clients on loopback.

A hub relays only to clients it has registered, so each test waits for the server's own
"connected" line for every client before anyone speaks: a barrier on an event, not a sleep.
"""

import re

import pytest

from grader import timeouts
from grader.peers import Listener, Peer, addr_text
from grader.process import has_traceback
from tests.conftest import PROMPT_PORT, ROOT, answer

CONNECTED = "已成功连接!"
LEFT_P2P = "已退出聊天"
LEFT_HUB = "已经离开了"


def join(server, port, name):
    """Connect one scripted client and wait until the server has announced it."""
    peer = Peer.connect(port, name=name)
    server.wait_for(addr_text(peer) + CONNECTED)
    return peer


@pytest.fixture
def hub(start_server):
    """A reference hub with three connected clients: (server, port, [a, b, c])."""
    server, port = start_server("hub", max_clients=10)
    peers = [join(server, port, name) for name in ("a", "b", "c")]
    yield server, port, peers
    for peer in peers:
        peer.sock.close()


def relayed(sender, text):
    return "%s : %s" % (addr_text(sender), text)


# ------------------------------------------------------------------------------------ p2p
@pytest.fixture
def p2p(start_server):
    server, port = start_server("p2p")
    peer = join(server, port, "client")
    yield server, peer
    peer.sock.close()


def test_p2p_announces_the_peer_with_its_address(p2p):
    server, peer = p2p
    assert "%s已成功连接!" % addr_text(peer) in server.stdout.text


def test_p2p_prints_what_the_peer_sends(p2p):
    server, peer = p2p
    peer.send("你好")
    server.wait_for("%s : 你好" % addr_text(peer))


def test_p2p_split_character_prints_intact(p2p):
    server, peer = p2p
    data = "A好".encode("utf-8")
    peer.send(data[:2])  # "A" and the first byte of 好
    server.wait_for("%s : A" % addr_text(peer))
    peer.send(data[2:])
    server.wait_for("%s : 好" % addr_text(peer))
    assert "\ufffd" not in server.stdout.text


def test_p2p_sends_its_stdin_lines(p2p):
    server, peer = p2p
    server.write_line("来自服务器")
    peer.expect("来自服务器")


def test_p2p_q_from_the_peer_ends_the_chat(p2p):
    server, peer = p2p
    peer.send("q")
    server.wait_for(addr_text(peer) + LEFT_P2P)
    peer.expect_eof()
    assert server.wait_exit(timeouts.EXIT_BAR) == 0, "the p2p server did not exit within 2 s of q\n" + server.describe()


@pytest.mark.parametrize("how", ["close", "reset"])
def test_p2p_abrupt_disconnect_ends_quietly(p2p, how):
    server, peer = p2p
    getattr(peer, how)()
    server.wait_for(addr_text(peer) + LEFT_P2P)
    assert server.wait_exit(timeouts.EXIT_BAR) == 0, server.describe()
    server.drain()
    assert server.stdout.total_chars < 2000, "the server kept printing after the peer left"
    assert not has_traceback(server.stderr.text), server.describe()


# ------------------------------------------------------------------------------------ hub
def test_hub_relays_to_every_other_client_never_the_sender(hub):
    server, port, (a, b, c) = hub
    a.send("大家好")
    b.expect(relayed(a, "大家好"))
    c.expect(relayed(a, "大家好"))
    a.collect(timeouts.ABSENCE)
    assert "大家好" not in a.received, "the hub sent a message back to its sender"


def test_hub_several_clients_talking_at_once(hub):
    server, port, peers = hub
    for round_number in range(5):
        for peer in peers:
            peer.send("<%s %d>" % (peer.name, round_number))
    for receiver in peers:
        for sender in peers:
            if sender is not receiver:
                receiver.expect("<%s 4>" % sender.name, timeout=timeouts.LONG)
        order = [int(n) for n in re.findall(r"<%s (\d)>" % peers[0].name, receiver.received)]
        assert order == ([] if receiver is peers[0] else list(range(5)))


@pytest.mark.parametrize("how", ["q", "close", "reset"])
def test_hub_departure_names_the_right_client_and_the_room_goes_on(hub, how):
    server, port, (a, b, c) = hub
    if how == "q":
        b.send("q")
        b.expect_eof()
    else:
        getattr(b, how)()
    notice = addr_text(b) + LEFT_HUB
    a.expect(notice)
    c.expect(notice)
    assert addr_text(a) + LEFT_HUB not in a.received + c.received
    assert addr_text(c) + LEFT_HUB not in a.received + c.received
    a.send("还在吗")
    c.expect(relayed(a, "还在吗"))
    assert server.proc.poll() is None, "the hub stopped after a client left\n" + server.describe()
    assert not has_traceback(server.stderr.text), server.describe()


def test_hub_clients_joining_while_others_talk(hub):
    server, port, (a, b, c) = hub
    a.send("before")
    b.expect(relayed(a, "before"))
    d = join(server, port, "d")
    try:
        a.send("after")
        d.expect(relayed(a, "after"))
        d.send("new here")
        for peer in (a, b, c):
            peer.expect(relayed(d, "new here"))
        assert "before" not in d.received
    finally:
        d.sock.close()


def test_hub_refuses_a_client_beyond_max_clients(start_server):
    server, port = start_server("hub", max_clients=2)
    a = join(server, port, "a")
    b = join(server, port, "b")
    extra = Peer.connect(port, name="extra")
    try:
        assert "已满" in extra.expect_eof()
        a.send("hi")
        b.expect(relayed(a, "hi"))
    finally:
        for peer in (a, b, extra):
            peer.sock.close()


def test_hub_survives_invalid_utf8(hub):
    server, port, (a, b, c) = hub
    a.send(b"\xff\xfe bad")
    b.expect("\ufffd")
    a.send("fine")
    c.expect(relayed(a, "fine"))


def test_busy_port_gives_a_clear_message(spawn):
    with Listener() as taken:
        server = spawn(ROOT / "reference" / "chat_server.py")
        answer(server, (PROMPT_PORT, taken.port))
        assert server.wait_exit(timeouts.EXIT) == 1, server.describe()
    server.drain()
    assert "无法使用端口" in server.stderr.text
    assert not has_traceback(server.stderr.text), server.describe()

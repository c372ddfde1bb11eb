"""Checks of chat_server.py in p2p mode: the grader answers the prompts (port, p2p, most
clients), then connects to it as the one client."""

import re

import pytest

from grader import timeouts
from grader.lab import fail, relay_pattern
from grader.peers import trimmed
from grader.process import has_traceback
from grader.steps import END_WORDS, ends, no_flood, peer_gets, peer_sees_end, printed, warm_up


def p2p_server_with_client(lab):
    server = lab.start_server("p2p")
    return server, lab.connect(server, "client")


@pytest.mark.check(points=6, zh="p2p 模式下, 你的服务器能接受客户端的连接并打印它的地址吗?")
def test_p2p_announces_client(lab):
    """In p2p mode, does your server accept a client and print its address?"""
    server, client = p2p_server_with_client(lab)
    printed(server, relay_pattern(client.address),
            zh="客户端连上后, 服务器没有打印它的地址 %s。" % client.addr,
            en="After the client connected, your server did not print its address %s." % client.addr,
            hints=["not-connected"])


@pytest.mark.check(points=6, zh="p2p 模式下, 你的服务器会打印客户端发来的消息吗?")
def test_p2p_prints_messages(lab):
    """In p2p mode, does your server print what the client sends?"""
    server, client = p2p_server_with_client(lab)
    lab.send(client, "你好, p2p 服务器")
    printed(server, "你好, p2p 服务器", zh="客户端发来的消息没有被打印出来。",
            en="The client's message was not printed.", hints=["nothing-printed"])


@pytest.mark.check(points=6, zh="p2p 模式下, 你的服务器能把键盘输入的一行发给客户端吗?")
def test_p2p_sends_typed_lines(lab):
    """In p2p mode, does your server send a line you type to the client?"""
    server, client = p2p_server_with_client(lab)
    lab.type(server, "来自服务器的问候")
    peer_gets(client, "来自服务器的问候", zh="你在服务器上输入的一行没有发到客户端。",
              en="The line typed on your server never reached the client.", hints=["nothing-sent"])


@pytest.mark.check(points=7, zh="客户端发来 q 后, 你的服务器会宣布它退出、关闭连接并结束吗?")
def test_p2p_q_ends_chat(lab):
    """When the client sends q, does your server announce it, close the connection and end?"""
    server, client = p2p_server_with_client(lab)
    warm_up(lab, client, server, "hello before q")
    mark = server.output_mark()
    lab.send(client, "q")
    peer_sees_end(client, zh="客户端发来 q 后, 服务器没有关闭连接。",
                  en="After the client sent q, your server did not close the connection.",
                  hints=["no-exit"])
    left = re.compile("%s|%s" % (END_WORDS.pattern, relay_pattern(client.address).pattern))
    if not server.wait_output(left, since=mark):
        fail("客户端退出时, 服务器没有打印提示 (例如 ...已退出聊天)。",
             "When the client left, your server printed no notice (such as ...已退出聊天).",
             expected="a line naming the client or saying it left",
             got=trimmed(server.process.stdout.text_since(mark)[0]), hints=["no-end-report"])
    ends(server, zh="客户端退出后, 你的服务器没有结束。",
         en="After the client left, your server did not end.")


@pytest.mark.check(points=5, zh="客户端不发 q 直接断开时, 你的服务器能正常停下吗 (不刷屏、不崩溃)?")
def test_p2p_abrupt_disconnect(lab):
    """When the client disconnects without q, does your server stop cleanly (no flood, no crash)?"""
    server, client = p2p_server_with_client(lab)
    warm_up(lab, client, server, "hello, then gone")
    before = server.output_size()
    lab.note("client closes the connection without sending q")
    client.close()
    ended = server.wait_exit(timeouts.EXIT_BAR)
    no_flood(server, before, zh="客户端断开后, 你的服务器不停地打印 (刷屏)。",
             en="After the client disconnected, your server printed in a loop (a flood).")
    if has_traceback(server.stderr):
        fail("客户端断开后, 你的服务器 (或它的一个线程) 崩溃了。",
             "After the client disconnected, your server (or one of its threads) crashed.",
             expected="no traceback", got=trimmed(server.stderr[-400:]), hints=["crash"])
    if ended is None:
        fail("客户端断开后, 你的服务器没有结束。",
             "After the client disconnected, your server did not end.",
             expected="the program ends", got="still running", hints=["no-exit", "empty-recv"])

"""Checks of chat_server.py in p2p mode: the grader answers the prompts (port, p2p, most
clients), then connects to it as the one client."""

import pytest

from grader import timeouts
from grader.findings import fail, say
from grader.matching import END_WORDS, address_pattern
from grader.peers import trimmed
from grader.process import has_traceback
from grader.scoring import Part
from grader.steps import (
    MORE_LINES, ends, no_flood, peer_gets, peer_sees_end, quits_on, said, send_and_printed,
    warm_up)


def p2p_server_with_client(lab):
    server = lab.start_server("p2p")
    return server, lab.connect(server, "client")


@pytest.mark.check(points=6, short=("打印客户端的地址", "prints the client's address"),
                   zh="p2p 模式下, 你的服务器能接受客户端的连接并打印它的地址吗?")
def check_p2p_announces_client(lab):
    """In p2p mode, does your server accept a client and print its address?"""
    server, client = p2p_server_with_client(lab)
    said(server, address_pattern(client.address),
         zh="客户端连上后, 服务器没有打印它的地址 %s。" % client.addr,
         en="After the client connected, your server did not print its address %s." % client.addr,
         hints=["no-announce"])


@pytest.mark.check(points=6, short=("打印客户端的每一条消息", "prints every message of the client"),
                   zh="p2p 模式下, 你的服务器会打印客户端发来的每一条消息吗?", parts=[
    Part("first_message", 3, "第一条消息被打印", "the first message is printed"),
    Part("more_messages", 3, "之后的每一条也被打印", "every later message is printed too")])
def check_p2p_prints_messages(lab):
    """In p2p mode, does your server print every message the client sends?"""
    server, client = p2p_server_with_client(lab)
    with lab.part("first_message"):
        send_and_printed(lab, client, server, "你好, p2p 服务器",
                         zh="客户端发来的消息没有被打印出来。", en="The client's message was not printed.",
                         hints=["nothing-printed", "thread-not-started"])
    with lab.part("more_messages"):
        for text in MORE_LINES:
            try:
                send_and_printed(lab, client, server, text,
                                 zh="第一条之后, 客户端发来的消息没有全部被打印。",
                                 en="After the first message, not every message the client sent "
                                    "was printed.", hints=["only-first"])
            except AssertionError as failure:
                failure.hints[:] = quits_on(client, server) or failure.hints
                raise


@pytest.mark.check(points=6, short=("把输入的每一行发给客户端", "sends every line typed"),
                   zh="p2p 模式下, 你的服务器能把键盘输入的每一行发给客户端吗?", parts=[
    Part("first_line", 3, "输入的第一行到达客户端", "the first line typed reaches the client"),
    Part("more_lines", 3, "之后的每一行也都到达", "every later line arrives too")])
def check_p2p_sends_typed_lines(lab):
    """In p2p mode, does your server send every line you type to the client?"""
    server, client = p2p_server_with_client(lab)
    with lab.part("first_line"):
        lab.type(server, "来自服务器的问候")
        peer_gets(client, "来自服务器的问候", zh="你在服务器上输入的一行没有发到客户端。",
                  en="The line typed on your server never reached the client.", hints=["nothing-sent"],
                  typed=True)
    with lab.part("more_lines"):
        for line in MORE_LINES:
            lab.type(server, line)
            peer_gets(client, line, zh="第一行之后, 你在服务器上输入的行没有全部发到客户端。",
                      en="After the first line, not every line typed on your server reached the "
                         "client.", hints=["only-first"], typed=True)


@pytest.mark.check(points=7, short=("收到 q: 关闭、提示、结束", "q: closes, announces, ends"),
                   zh="客户端发来 q 后, 你的服务器会关闭连接、宣布它退出并结束吗?", parts=[
    Part("closes", 3, "关闭这个连接", "it closes the connection"),
    Part("announces", 3, "打印客户端离开的提示", "it prints that the client left"),
    Part("ends", 1, "服务器程序结束", "the server ends")])
def check_p2p_q_ends_chat(lab):
    """When the client sends q, does your server close the connection, announce it and end?"""
    server, client = p2p_server_with_client(lab)
    warm_up(lab, client, server, "hello, see you soon")
    mark, err_mark = server.output_mark(), server.error_mark()
    lab.send(client, "q")
    with lab.part("closes"):
        peer_sees_end(client, zh="客户端发来 q 后, 服务器没有关闭连接。",
                      en="After the client sent q, your server did not close the connection.",
                      hints=["no-exit"])
    with lab.part("announces"):
        # A notice says the client left; the q printed as an ordinary message is not one.
        if not server.wait_said(END_WORDS, since=(mark, err_mark)):
            fail("客户端退出时, 服务器没有打印提示 (例如 ...已退出聊天)。",
                 "When the client left, your server printed no notice (such as ...已退出聊天).",
                 expected=say("一行说客户端离开了的话", "a line saying the client left"),
                 got=trimmed(server.process.stdout.text_since(mark)[0]), hints=["p2p-leave-notice"])
    with lab.part("ends"):
        ends(server, zh="客户端退出后, 你的服务器没有结束。",
             en="After the client left, your server did not end.",
             chat_over_in=lab if lab.part_results.get("closes", True) is None else None)


@pytest.mark.check(points=5, short=("客户端直接断开: 正常停下", "client gone without q: clean stop"),
                   zh="客户端不发 q 直接断开时, 你的服务器能正常停下吗 (不刷屏、不崩溃)?", parts=[
    Part("clean", 4, "不刷屏、不崩溃", "no flood and no crash"),
    Part("ends", 1, "服务器程序结束", "the server ends")])
def check_p2p_abrupt_disconnect(lab):
    """When the client disconnects without q, does your server stop cleanly (no flood, no crash)?"""
    server, client = p2p_server_with_client(lab)
    warm_up(lab, client, server, "hello, then gone")
    before = server.output_size()
    lab.note(say("客户端不发 q 直接关闭连接", "client closes the connection without sending q"))
    client.close()
    server.wait_exit(timeouts.EXIT_BAR)
    with lab.part("clean"):
        no_flood(server, before, zh="客户端断开后, 你的服务器不停地打印 (刷屏)。",
                 en="After the client disconnected, your server printed in a loop (a flood).")
        if has_traceback(server.stderr):
            fail("客户端断开后, 你的服务器 (或它的一个线程) 崩溃了。",
                 "After the client disconnected, your server (or one of its threads) crashed.",
                 expected=say("没有 Traceback", "no traceback"), got=trimmed(server.stderr[-400:]),
                 hints=["crash"])
    with lab.part("ends"):
        ends(server, zh="客户端断开后, 你的服务器没有结束。",
             en="After the client disconnected, your server did not end.",
             since=before, timeout=0.0, waited=timeouts.EXIT_BAR, chat_over_in=lab)

"""Checks of chat_client.py: against a classroom echo server, a classroom hub, or a bare
peer the check scripts byte by byte.

Each check sends or types at least two messages where a loop is what it judges, one of
them holding the letter q inside words (only a line that is exactly q means leaving), and
scores its parts the way a TA would (grader.scoring)."""

import socket

import pytest

from grader import timeouts
from grader.findings import fail, say
from grader.matching import END_WORDS, newline_sent
from grader.peers import trimmed
from grader.process import WaitTimeout, has_traceback
from grader.scoring import Part
from grader.steps import (
    MORE_LINES, client_with_peer, connected_client, ends, no_flood, peer_gets,
    peer_sees_end, printed, send_and_printed, typed_line_hints, warm_up)


def typed_reaches(lab, client, echo, line, zh, en, hints):
    """Type ``line`` on the client; the echo server must read it (as UTF-8). A client that
    stopped (or left) after a line holding a q inside words took it for quitting."""
    lab.type(client, line)
    if not echo.wait_read(line):
        data = b"".join(echo.read.values())
        read = trimmed(data)
        stopped = not client.running or echo.left
        quit_ = ["q-inside-text"] if stopped and any("q" in typed for typed in client.typed) else []
        hints, details = typed_line_hints(line, data, quit_ or list(hints))
        fail(zh, en, expected=say("回声服务器读到 %r" % line, "the echo server reads %r" % line),
             got=say("它读到的是 %s" % read, "it read %s" % read), hints=hints, details=details)


@pytest.mark.check(points=7, short=("发出输入的每一行", "sends every line typed"),
                   zh="你的客户端能连上服务器, 并把键盘输入的每一行发出去吗?", parts=[
    Part("first_line", 4, "输入的第一行到达服务器", "the first line typed reaches the server"),
    Part("more_lines", 3, "之后的每一行也都到达", "every later line arrives too")])
def check_client_sends_typed_line(lab):
    """Does your client connect to the server and send every line you type?"""
    echo = lab.echo_server()
    client = connected_client(lab, echo)
    with lab.part("first_line"):
        typed_reaches(lab, client, echo, "hello socket-lab",
                      zh="服务器没有收到你输入的那一行。", en="The server never received the line you typed.",
                      hints=["nothing-sent"])
    with lab.part("more_lines"):
        for line in MORE_LINES:
            typed_reaches(lab, client, echo, line,
                          zh="第一行之后, 你输入的行没有全部发到服务器。",
                          en="After the first line, not every line you typed reached the server.",
                          hints=["only-first"])
    added = newline_sent(b"".join(echo.read.values()), ("hello socket-lab",) + tuple(MORE_LINES))
    if added:
        lab.observe("sends-newline", added)


@pytest.mark.check(points=7, short=("打印收到的每一条消息", "prints every message received"),
                   zh="你的客户端会打印服务器发来的每一条消息吗?", parts=[
    Part("first_message", 4, "第一条消息被打印", "the first message is printed"),
    Part("more_messages", 3, "之后的每一条也被打印", "every later message is printed too")])
def check_client_prints_received(lab):
    """Does your client print every message the server sends?"""
    client, server = client_with_peer(lab)
    with lab.part("first_message"):
        send_and_printed(lab, server, client, "来自服务器的消息 #1",
                         zh="服务器发来的消息没有被打印出来。",
                         en="The message the server sent was not printed.", hints=["nothing-printed"])
    with lab.part("more_messages"):
        for text in ("message two: quite quick", "第三条消息 #3"):
            send_and_printed(lab, server, client, text,
                             zh="第一条之后, 服务器发来的消息没有全部被打印。",
                             en="After the first message, not every message the server sent was "
                                "printed.", hints=["only-first"])


@pytest.mark.check(points=6, short=("在聊天室里互相收发", "chats with others in a hub"),
                   zh="在聊天室里, 你的客户端能和别的客户端互相收发消息吗?", parts=[
    Part("sends", 3, "你输入的消息到达另一个客户端", "what you type reaches the other client"),
    Part("receives", 3, "另一个客户端的消息被打印", "the other client's message is printed")])
def check_client_in_hub(lab):
    """In a chat room, do your client and another client see each other's messages?"""
    hub = lab.hub_server()
    # The other client is in the room first, so the hub's notice of the student's join goes
    # to it, and the first thing the student's client receives is the message below.
    other = lab.connect_to(hub, "other client")
    hub.wait_joined(1)
    client = lab.start_client(hub.port)
    lab.client_joined(client, hub, count=2)
    with lab.part("sends"):
        lab.type(client, "大家好, I am the student")
        peer_gets(other, "大家好, I am the student",
                  zh="聊天室里的另一个客户端没有收到你输入的消息。",
                  en="The other client in the room did not get the message you typed.",
                  hints=["nothing-sent"], typed=True)
    with lab.part("receives"):
        send_and_printed(lab, other, client, "hi from the other client",
                         zh="另一个客户端的消息没有在你的客户端上打印出来。",
                         en="The other client's message was not printed by your client.",
                         hints=["nothing-printed"])


@pytest.mark.check(points=8, short=("输入 q: 发出、关闭、结束", "q: sends q, closes, ends"),
                   zh="输入 q 后, 你的客户端会发出 q、关闭连接并结束吗?", parts=[
    Part("q_sent", 3, "q 发给了服务器", "q reaches the server"),
    Part("closed", 3, "连接被关闭", "the connection is closed"),
    Part("ends", 2, "客户端程序结束", "the client ends")])
def check_client_q_ends_chat(lab):
    """Does typing q send q, close the connection and end your client?"""
    client, server = client_with_peer(lab)
    warm_up(lab, server, client, "ping before the end")
    lab.type(client, "q")
    with lab.part("q_sent"):
        peer_gets(server, "q", zh="输入 q 后, q 没有发给服务器。",
                  en="After q was typed, no q reached the server.", hints=["q-not-sent"])
    with lab.part("closed"):
        # Time for the client to close by itself first (the lab says it does); then this
        # server closes its end (its half: it still reads), as the lab's servers do on q, so
        # a client that waits for the server's end of the connection is not failed for it.
        try:
            server.wait_for_eof(timeout=timeouts.RELAY)
        except WaitTimeout:
            pass
        if b"q" in server.received:
            lab.note(say("服务器收到 q 后关闭它这一端的连接", "the server closes its end after q"))
            try:
                server.sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        peer_sees_end(server, zh="输入 q 后, 连接没有关闭 (服务器没有看到连接结束)。",
                      en="After q, the connection was not closed (the server never saw it end).",
                      hints=["no-exit"])
    with lab.part("ends"):
        ends(client, zh="输入 q 后, 你的客户端没有结束。", en="After q, your client did not end.")


@pytest.mark.check(points=6, short=("服务器先断开: 停下并报告", "server closes first: stops, says so"),
                   zh="服务器先断开时, 你的客户端会报告聊天结束并停下吗 (不刷屏、不卡住)?", parts=[
    Part("stops", 3, "接收循环停下 (不刷屏)", "the receive loop stops (no flood)"),
    Part("reports_end", 2, "告诉用户聊天结束了", "it tells the user the chat is over"),
    Part("ends", 1, "客户端程序结束", "the client ends")])
def check_client_server_closes_first(lab):
    """When the server closes first, does your client report the end and stop (no flood, no hang)?"""
    client, server = client_with_peer(lab)
    warm_up(lab, server, client, "the server says goodbye")
    before = client.output_size()
    mark = client.output_mark()
    err_mark = client.error_mark()
    lab.note(say("服务器关闭连接", "the server closes the connection"))
    server.close()
    # One wait, judged three ways: a flood shows within it, and so do the end line and the exit.
    client.wait_exit(timeouts.EXIT_BAR)
    with lab.part("stops"):
        no_flood(client, before, zh="服务器断开后, 你的客户端不停地打印 (刷屏)。",
                 en="After the server closed, your client printed in a loop (a flood).")
    with lab.part("reports_end"):
        news = client.process.stdout.text_since(mark)[0]
        # The user reads stderr on the same console: a notice there tells them too (but
        # not the words of a traceback's exception, "...ConnectionResetError...closed").
        if not client.wait_said(END_WORDS, timeout=0.0, since=(mark, err_mark)):
            fail("服务器断开后, 你的客户端没有告诉用户聊天已经结束。",
                 "After the server closed, your client did not tell the user the chat was over.",
                 expected=say("一行像 聊天已结束 这样的话", "a line such as 聊天已结束"),
                 got=trimmed(news), hints=["no-end-report"])
    with lab.part("ends"):
        ends(client, zh="服务器断开后, 你的客户端没有结束。",
             en="After the server closed the connection, your client did not end.", since=before,
             timeout=0.0, waited=timeouts.EXIT_BAR,
             chat_over_in=lab if lab.part_results.get("reports_end", True) is None else None)


@pytest.mark.check(points=3, short=("中文原样收发", "Chinese both ways, intact"),
                   zh="中文能原样经过你的客户端吗 (发送和接收)?")
def check_client_chinese(lab):
    """Does Chinese text go through your client intact, both ways?"""
    echo = lab.echo_server()
    client = connected_client(lab, echo)
    text = "你好，世界！网络编程"
    typed_reaches(lab, client, echo, text, zh="你输入的中文没有以 UTF-8 原样到达服务器。",
                  en="The Chinese you typed did not reach the server as exact UTF-8.",
                  hints=["not-utf8", "nothing-sent"])
    try:
        printed(client, "收到: " + text, zh="服务器回复的中文没有被原样打印出来。",
                en="The server's Chinese reply was not printed intact.", hints=["not-utf8"])
    except AssertionError as failure:
        if "收到" not in client.stdout:  # nothing of the reply at all: not an encoding matter
            failure.hints[:] = ["nothing-printed"]
        raise


@pytest.mark.check(points=3, short=("拆开到达的汉字", "a character split across two recvs"),
                   zh="一个汉字被拆成两段到达时, 你的客户端能正确打印吗?")
def check_client_split_character(lab):
    """Does your client print a Chinese character that arrives split across two recv calls?"""
    client, server = client_with_peer(lab)
    first, rest = "你".encode("utf-8")[:1], "你".encode("utf-8")[1:]
    # The first byte of 你 ends a segment that the client reads before the rest is sent, so
    # the character is split whatever the client's recv size. The client either prints the
    # ASCII head at once or, just as right, keeps the chunk until the character is whole:
    # the rest goes once the head is printed, or once the client is blocked again (or
    # RELAY has passed) without printing it.
    mark = client.output_mark()
    lab.note("server → 'split test: ' + %r" % first)
    server.send(b"split test: " + first)
    split_zh = "拆开到达的汉字 你 没有被正确打印 (乱码、丢字或程序出错)。"
    split_en = ("The character 你, split across two recv calls, was not printed right "
                "(garbled, lost, or the program failed).")
    try:
        if not client.wait_output("split test", timeouts.RELAY, since=mark):
            lab.settle(client)
        lab.note("server → %r + '好'" % rest)
        server.send(rest + "好".encode("utf-8"))
        printed(client, "你好", zh=split_zh, en=split_en, hints=["split-character"], since=mark)
        printed(client, "split test", zh=split_zh, en=split_en, hints=["split-character"],
                timeout=0.0, since=mark)
    except AssertionError as failure:
        news = client.process.stdout.text_since(mark)[0]
        if (client.running and "好" not in news and not has_traceback(client.stderr)
                and not END_WORDS.search(news)):
            # Not even the ASCII around the character was printed, and the receive loop did
            # not end on it either: it missed a message, which is not about split characters.
            failure.hints[:] = ["only-first" if "split test" in news else "nothing-printed"]
        raise

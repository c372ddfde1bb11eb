"""Checks of chat_client.py: against a classroom echo server, a classroom hub, or a bare
peer the check scripts byte by byte."""

import pytest

from grader.lab import fail
from grader.steps import (
    END_WORDS, client_with_peer, connected_client, ends, no_flood, peer_gets, peer_sees_end,
    printed, warm_up)
from grader.peers import trimmed


@pytest.mark.check(points=7, zh="你的客户端能连上服务器, 并把键盘输入的一行发出去吗?")
def test_client_sends_typed_line(lab):
    """Does your client connect to the server and send a line you type?"""
    echo = lab.echo_server()
    client = connected_client(lab, echo)
    lab.type(client, "hello socket-lab")
    if not echo.wait_read("hello socket-lab"):
        fail("服务器没有收到你输入的那一行。", "The server never received the line you typed.",
             expected="the echo server reads 'hello socket-lab'",
             got="it read %s" % trimmed(b"".join(echo.read.values())), hints=["nothing-sent"])


@pytest.mark.check(points=7, zh="你的客户端会打印服务器发来的消息吗?")
def test_client_prints_received(lab):
    """Does your client print what the server sends?"""
    client, server = client_with_peer(lab)
    lab.send(server, "来自服务器的消息 #1")
    printed(client, "来自服务器的消息 #1",
            zh="服务器发来的消息没有被打印出来。", en="The message the server sent was not printed.",
            hints=["nothing-printed"])


@pytest.mark.check(points=6, zh="在聊天室里, 你的客户端能和别的客户端互相收发消息吗?")
def test_client_in_hub(lab):
    """In a chat room, do your client and another client see each other's messages?"""
    hub = lab.hub_server()
    client = connected_client(lab, hub)
    other = lab.connect_to(hub, "other client")
    hub.wait_joined(2)
    lab.type(client, "大家好, I am the student")
    peer_gets(other, "大家好, I am the student",
              zh="聊天室里的另一个客户端没有收到你输入的消息。",
              en="The other client in the room did not get the message you typed.",
              hints=["nothing-sent"])
    lab.send(other, "hi from the other client")
    printed(client, "hi from the other client",
            zh="另一个客户端的消息没有在你的客户端上打印出来。",
            en="The other client's message was not printed by your client.",
            hints=["nothing-printed"])


@pytest.mark.check(points=8, zh="输入 q 后, 你的客户端会发出 q、关闭连接并结束吗?")
def test_client_q_ends_chat(lab):
    """Does typing q send q, close the connection and end your client?"""
    client, server = client_with_peer(lab)
    warm_up(lab, server, client, "ping before q")
    lab.type(client, "q")
    peer_gets(server, "q", zh="输入 q 后, q 没有发给服务器。",
              en="After q was typed, no q reached the server.", hints=["q-not-sent"])
    peer_sees_end(server, zh="输入 q 后, 连接没有关闭 (服务器没有看到连接结束)。",
                  en="After q, the connection was not closed (the server never saw it end).",
                  hints=["no-exit"])
    ends(client, zh="输入 q 后, 你的客户端没有结束。", en="After q, your client did not end.")


@pytest.mark.check(points=6, zh="服务器先断开时, 你的客户端会报告聊天结束并停下吗 (不刷屏、不卡住)?")
def test_client_server_closes_first(lab):
    """When the server closes first, does your client report the end and stop (no flood, no hang)?"""
    client, server = client_with_peer(lab)
    warm_up(lab, server, client, "the server says goodbye")
    before = client.output_size()
    mark = client.output_mark()
    lab.note("server closes the connection")
    server.close()
    ends(client, zh="服务器断开后, 你的客户端没有结束。",
         en="After the server closed the connection, your client did not end.", since=before)
    no_flood(client, before, zh="服务器断开后, 你的客户端不停地打印 (刷屏)。",
             en="After the server closed, your client printed in a loop (a flood).")
    news = client.process.stdout.text_since(mark)[0]
    if not END_WORDS.search(news):
        fail("服务器断开后, 你的客户端没有告诉用户聊天已经结束。",
             "After the server closed, your client did not tell the user the chat was over.",
             expected="a line such as 聊天已结束", got=trimmed(news),
             hints=["no-end-report"])


@pytest.mark.check(points=3, zh="中文能原样经过你的客户端吗 (发送和接收)?")
def test_client_chinese(lab):
    """Does Chinese text go through your client intact, both ways?"""
    echo = lab.echo_server()
    client = connected_client(lab, echo)
    text = "你好，世界！网络编程"
    lab.type(client, text)
    if not echo.wait_read(text):
        fail("你输入的中文没有以 UTF-8 原样到达服务器。",
             "The Chinese you typed did not reach the server as exact UTF-8.",
             expected=repr(text.encode("utf-8")),
             got=trimmed(b"".join(echo.read.values())), hints=["not-utf8", "nothing-sent"])
    printed(client, "收到: " + text, zh="服务器回复的中文没有被原样打印出来。",
            en="The server's Chinese reply was not printed intact.", hints=["not-utf8"])


@pytest.mark.check(points=3, zh="一个汉字被拆成两段到达时, 你的客户端能正确打印吗?")
def test_client_split_character(lab):
    """Does your client print a Chinese character that arrives split across two recv calls?"""
    client, server = client_with_peer(lab)
    warm_up(lab, server, client, "split test")
    # 1023 ASCII bytes and then 你好: the client's recv(1024) ends after the first byte of
    # 你, so the character is split whatever the timing.
    head = "-" * 1023
    lab.send(server, head + "你好")
    printed(client, "你好",
            zh="拆开到达的汉字 你 没有被正确打印 (乱码、丢字或程序出错)。",
            en="The character 你, split across two recv calls, was not printed right "
               "(garbled, lost, or the program failed).",
            hints=["split-character"])

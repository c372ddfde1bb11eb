"""grader/matching.py: what counts as a program naming an address, relaying a message or
announcing a departure. Pure functions over strings, tested in memory."""

import pytest

from grader.matching import (END_WORDS, address_pattern, departure_notice, misread_as,
                             newline_sent, relay_of, stream_set_to_gbk, told_on_stderr)

ADDRESS = ("127.0.0.1", 51234)


@pytest.mark.parametrize("printed", [
    "('127.0.0.1', 51234)加入了聊天室",
    "('127.0.0.1',51234) joined",
    "127.0.0.1:51234 连接建立成功",
    "连接来自 IP: 127.0.0.1 端口: 51234",
    "client 127.0.0.1 port 51234",
])
def test_an_address_is_found_however_it_is_printed(printed):
    assert address_pattern(ADDRESS).search(printed)


@pytest.mark.parametrize("printed", [
    "('127.0.0.1', 512345)",        # a longer port that starts the same
    "('127.0.0.1', 5123)",          # a shorter one
    "('127.0.0.2', 51234)",         # another host
    "127.0.0.1 and a long sentence before 51234",  # too many words between
])
def test_another_address_is_not_taken_for_it(printed):
    assert not address_pattern(ADDRESS).search(printed)


@pytest.mark.parametrize("received", [
    "('127.0.0.1', 51234) : hello there",
    "('127.0.0.1', 51234)：hello there",    # a full-width colon
    "('127.0.0.1', 51234)说: hello there",
    "('127.0.0.1', 51234) [06:54:53]: hello there",   # a time stamp between
])
def test_a_relay_names_its_sender_then_the_text(received):
    assert relay_of(ADDRESS, "hello there").search(received)


@pytest.mark.parametrize("received", [
    "hello there",                                    # no sender
    "('127.0.0.1', 40000) : hello there",             # the wrong sender (the recipient)
    "('127.0.0.1', 51234) said, long ago and far away: hello there",  # not its prefix
    "('127.0.0.1', 51234) : hello\nthere",
    "127.0.0.1:51234 hi 127.0.0.1:40000 hello there",   # another sender's relay after it
])
def test_a_relay_without_its_sender_is_not_one(received):
    assert not relay_of(ADDRESS, "hello there").search(received)


def test_a_relay_matches_text_with_regex_characters_literally():
    assert relay_of(ADDRESS, "1+1=2? (yes)").search("('127.0.0.1', 51234) : 1+1=2? (yes)")
    assert not relay_of(ADDRESS, "a.c").search("('127.0.0.1', 51234) : abc")


@pytest.mark.parametrize("notice", [
    "('127.0.0.1', 51234)已经离开了",
    "('127.0.0.1', 51234) 已下线",
    "用户 ('127.0.0.1', 51234) 退出了聊天室",
    "离开: 127.0.0.1:51234",                  # the word first
    "127.0.0.1:51234 has left the room",
    "client 127.0.0.1:51234 disconnected",
    "('127.0.0.1', 51234)已离线",            # what students write besides the framework's
    "('127.0.0.1', 51234)掉线了",
    "127.0.0.1:51234 connection lost",
])
def test_a_departure_is_the_address_and_an_end_word_in_either_order(notice):
    assert departure_notice(ADDRESS).search(notice)


@pytest.mark.parametrize("text", [
    "('127.0.0.1', 51234)加入了聊天室",        # a join is not a departure
    "('127.0.0.1', 40000)已经离开了",           # someone else left
    "('127.0.0.1', 51234) : I will leave soon",  # "leave" is not an end word, "left" is
])
def test_what_is_not_that_address_leaving(text):
    assert not departure_notice(ADDRESS).search(text)


@pytest.mark.parametrize("text, ends", [
    ("聊天已结束", True), ("连接已断开", True), ("Chat ended.", True), ("offline", True),
    ("Disconnected", True), ("我们下线了", True),
    ("a quick question", False), ("blender", False), ("quitting time?", False),
    ("the exit-ramp", True),   # a word on its own, as a TA would read it
    ("与服务器的连接已中断, 聊天终止", True), ("Connection lost", True), ("The chat is over.", True),
    ("Connection terminated", True), ("断线了", True),
    ("overall fine", False), ("a lost-and-found", True), ("moreover", False),
    ("A exited the chat", True), ("她已经走了", True), ("logged out", True), ("退场", True),
    ("the server says goodbye", False), ("hello, see you soon", False),   # the grader's own
    ("third line #3, 再见", False),
])
def test_end_words_are_whole_words(text, ends):
    assert bool(END_WORDS.search(text)) is ends


def test_what_a_program_tells_its_user_on_stderr_leaves_its_tracebacks_out():
    stderr = (
        "Exception in thread Thread-2 (recv_msg):\n"
        "Traceback (most recent call last):\n"
        '  File "chat_client.py", line 70, in recv_msg\n'
        "    data = self.client.recv(BUFFER_SIZE)\n"
        "ConnectionResetError: [Errno 104] Connection reset by peer\n"
        "\n"
        "During handling of the above exception, another exception occurred:\n"
        "OSError: [Errno 9] socket closed\n"
        "聊天已结束\n")
    assert told_on_stderr(stderr) == "\n聊天已结束"
    # A traceback alone says nothing to the user, though its words do ("closed").
    assert not END_WORDS.search(told_on_stderr(stderr.replace("聊天已结束\n", "")))
    assert END_WORDS.search(stderr.replace("聊天已结束\n", ""))



def test_a_line_sent_with_a_newline_after_it_is_named():
    lines = ("hello", "second line")
    assert newline_sent(b"hellosecond line", lines) == ""        # TCP joined two sends
    assert newline_sent(b"hello\nsecond line\n", lines) == "'hello\\n'"
    assert newline_sent(b"hellosecond line\r\n", lines) == "'second line\\r\\n'"
    assert newline_sent("你好\n".encode("utf-8"), ("你好",)) == "'你好\\n'"


def test_keyboard_input_misread_as_gbk_is_told_from_the_garbled_bytes():
    garbled = "你在吗".encode("utf-8").decode("gbk", "replace").encode("utf-8")
    assert misread_as("你在吗", b"said: " + garbled) == "gbk"
    assert misread_as("你在吗", "said: 你在吗".encode("utf-8")) == ""     # intact
    assert misread_as("hello", b"hello") == ""                            # ASCII cannot tell
    assert misread_as("你在吗", b"something else") == ""


def test_a_stream_set_to_gbk_in_the_source_is_found():
    source = "sys.stdout = io.TextIOWrapper(sys.stdout.buffer, encoding='GBK')\n"
    assert stream_set_to_gbk(source, "stdout") == "GBK"
    assert stream_set_to_gbk(source, "stdin") == ""
    assert stream_set_to_gbk("sys.stdin.reconfigure(encoding=\"gb2312\")", "stdin") == "gb2312"
    assert stream_set_to_gbk("sys.stdout.reconfigure(encoding='utf-8')", "stdout") == ""

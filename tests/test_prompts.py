"""grader/prompts.py in memory: which prompts a program printed and which one each read answers.

A run is replayed with ``follow``: printed texts and ``READ`` (the program waits for a line).
"""

import pytest

from grader import prompts
from grader.prompts import READ, follow

CLIENT = prompts.EXPECTED_PROMPTS["client"]
SERVER = prompts.EXPECTED_PROMPTS["server"]
IP, PORT = prompts.PROMPT_TEXT["ip"], prompts.PROMPT_TEXT["port"]
MODE, MAX = prompts.PROMPT_TEXT["mode"], prompts.PROMPT_TEXT["max"]


def test_the_frameworks_ip_prompt_printed_and_not_read_gets_no_answer_and_no_note():
    # print('请输入聊天服务器IP'); #ip = input(); ip = '127.0.0.1'; print(port prompt); input()
    heard, answers = follow([IP + "\n", PORT + "\n", READ, "与127.0.0.1连接建立成功\n", READ])
    assert answers == ["port", None]  # the send thread's read gets nothing
    assert heard.seen == ("ip", "port") and heard.asked == ("port",)
    assert prompts.prompts_changed(CLIENT, heard.seen, started=True) == ""


def test_the_given_prompts_each_read_are_each_answered():
    heard, answers = follow([IP + "\n", READ, PORT + "\n", READ])
    assert answers == ["ip", "port"]
    assert heard.asked == heard.seen == ("ip", "port")
    assert prompts.prompts_changed(CLIENT, heard.seen, started=True) == ""


def test_reordered_prompts_are_answered_by_what_they_ask_and_noted():
    heard, answers = follow([PORT + "\n", READ, IP + "\n", READ])
    assert answers == ["port", "ip"]
    changed = prompts.prompts_changed(CLIENT, heard.seen, started=True)
    assert changed == "order / 顺序: %s → %s" % (PORT, IP)


def test_a_removed_prompt_is_noted():
    heard, _ = follow([PORT + "\n", READ])
    assert prompts.prompts_changed(CLIENT, heard.seen, started=True) == IP


def test_a_prompt_inside_input_on_the_same_line_is_answered():
    # port = input('请输入聊天服务器端口: ') prints no newline before it reads
    heard, answers = follow([IP + ": ", READ, PORT + ": ", READ])
    assert answers == ["ip", "port"]


def test_a_reprompt_after_a_bad_answer_is_answered_again():
    heard, answers = follow([IP + "\n", READ, PORT + "\n", READ,
                             "端口应是1到65535之间的整数\n", PORT + "\n", READ])
    assert answers == ["ip", "port", "port"]
    assert heard.seen == ("ip", "port", "port")
    assert prompts.prompts_changed(CLIENT, heard.seen, started=True) == ""


def test_a_read_with_no_prompt_before_it_types_nothing():
    heard, answers = follow(["请输入你的名字: ", READ, "hello\n", READ, READ])
    assert answers == [None, None, None]
    assert heard.asked == () and heard.seen == ()


def test_two_prompts_then_one_read_answer_the_last():
    heard, answers = follow([PORT + "\n" + MODE + "\n", READ])
    assert answers == ["mode"]
    assert heard.seen == ("port", "mode") and heard.asked == ("mode",)


def test_a_prompt_is_answered_once_even_by_two_reads():
    _, answers = follow([PORT + "\n", READ, READ])
    assert answers == ["port", None]


def test_a_prompt_split_across_pieces_is_recognised_once():
    heard, answers = follow(["请输入聊天", "服务器", "端口\n", READ])
    assert answers == ["port"] and heard.seen == ("port",)


def test_a_prompt_after_a_long_line_without_newline_is_found():
    heard, answers = follow(["=" * 100000, PORT, READ])
    assert answers == ["port"]
    assert len(heard.carry) == 0


def test_the_carry_stays_small_whatever_is_printed():
    heard, _ = follow(["x" * 50000 + "请输入", "y" * 50000])
    assert len(heard.carry) <= prompts.CARRY_CHARS and heard.seen == ()


def test_the_servers_prompts_in_order_get_their_answers():
    heard, answers = follow([PORT + "\n", READ, MODE + "\n", READ, MAX + "\n", READ])
    assert answers == ["port", "mode", "max"]
    assert prompts.prompts_changed(SERVER, heard.seen, started=True) == ""


def test_a_program_that_stopped_after_its_first_prompts_in_order_gets_no_note():
    # It asked the port, then crashed on its own before the mode: not a prompt problem.
    assert prompts.prompts_changed(SERVER, ("port",), started=False) == ""
    assert prompts.prompts_changed(SERVER, ("port",), started=True) == "%s, %s" % (MODE, MAX)


@pytest.mark.parametrize("text, expected", [
    (IP + " " + PORT, ["ip", "port"]),
    ("请输入服务器的端口号:", ["port"]),
    ("请输入允许的最大人数", ["max"]),
    ("你好\n请输入\nIP", []),  # a prompt never spans a line
])
def test_find_prompts_recognises_the_core_words(text, expected):
    assert [kind for _, _, kind in prompts.find_prompts(text)] == expected


@pytest.mark.parametrize("text, end, reads, pieces", [
    ("abcdef", 6, [], [("abcdef", False)]),
    ("abcdef", 6, [2, 2, 6], [("ab", True), ("", True), ("cdef", True), ("", False)]),
    ("abcdef", 10, [5, 8], [("a", True), ("bcd", True), ("ef", False)]),  # text starts at 4
    ("abcdef", 10, [1, 9], [("", True), ("abcde", True), ("f", False)]),  # 1: lost in a cut
])
def test_split_at_reads_cuts_the_text_at_each_request(text, end, reads, pieces):
    assert prompts.split_at_reads(text, end, reads) == pieces

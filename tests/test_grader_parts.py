"""The grader's parts on their own: output capture, prompt answering, diagnosis."""

import re
import textwrap

import pytest

from grader import diagnose
from grader.lab import Lab, StudentProgram
from grader.process import Capture, _Counter
from grader.run import grade


# -------------------------------------------------------------------- capture and counting

def test_capture_keeps_head_and_tail_and_text_since_skips_only_the_cut():
    capture = Capture(limit=20)
    for chunk in ("0123456789", "abcdefghij", "KLMNOPQRST", "uvwxyz"):
        capture.append(chunk)
    assert capture.total_chars == 36
    assert capture.text.startswith("0123456789") and capture.text.endswith("QRSTuvwxyz")
    assert "characters cut" in capture.text
    assert capture.text_since(0) == ("0123456789" + "QRSTuvwxyz", 36)
    assert capture.text_since(30) == ("uvwxyz", 36)
    assert capture.text_since(36) == ("", 36)


@pytest.mark.parametrize("pieces", [["abcab", "cabc"], ["a", "b", "c", "abc", "ab", "c"], ["abcabcabc"]])
def test_counter_counts_matches_split_across_pieces_once(pieces):
    counter = _Counter("abc")
    for piece in pieces:
        counter.feed(piece)
    assert counter.count == "".join(pieces).count("abc")


def test_counter_with_a_regex_sees_all_text_fed():
    counter = _Counter(re.compile(r"x\d"))
    counter.feed("x")
    assert counter.feed("1 x2") == 2


# -------------------------------------------------------------------- prompt-aware stdin

def run_program(tmp_path, source, role="client", answers=None):
    path = tmp_path / "prog.py"
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    program = StudentProgram(path, role, answers or {"ip": "127.0.0.1", "port": 4242},
                             str(tmp_path / "notes.jsonl"))
    return program


def test_prompts_are_answered_by_what_they_ask_in_any_order_even_inside_input(tmp_path):
    program = run_program(tmp_path, """
        port = input('请输入聊天服务器端口')
        print('请输入聊天服务器IP')
        ip = input()
        print('GOT', ip, port)
    """)
    try:
        assert program.wait_output("GOT 127.0.0.1 4242")
        assert program.wait_exit() == 0
        assert program.asked == ["port", "ip"]
        assert "→" in program.prompts_changed()  # reordered: worth a note
    finally:
        program.kill()


def test_given_prompts_in_order_are_no_note_and_reprompts_are_answered_again(tmp_path):
    program = run_program(tmp_path, """
        print('请输入聊天服务器IP'); ip = input()
        print('请输入聊天服务器端口'); port = input()
        print('端口应是1到65535之间的整数'); print('请输入聊天服务器端口'); port = input()
        print('GOT', ip, port)
    """)
    try:
        assert program.wait_output("GOT 127.0.0.1 4242")
        program.wait_exit()
        assert program.asked == ["ip", "port", "port"]
        assert program.prompts_changed() == ""
    finally:
        program.kill()


def test_a_question_the_grader_cannot_answer_is_reported_plainly(tmp_path):
    client = tmp_path / "chat_client.py"
    client.write_text("name = input('请输入你的名字: ')\n", encoding="utf-8")
    result = grade(client, tmp_path / "unused.py", keyword="client_sends")
    evidence = result.checks[0].evidence
    assert evidence.hints[0] == "stdin-unanswered"
    assert "请输入你的名字" in evidence.hint_details["stdin-unanswered"]


# ------------------------------------------------------------------------- diagnosis

def test_static_findings_spot_unstarted_threads_run_instead_of_start_and_bare_except():
    unstarted = "import threading\nt = threading.Thread(target=f)\n"
    run_instead = "import threading\nthreading.Thread(target=f).run()\n"
    started = "import threading\nt = threading.Thread(target=f)\nt.start()\n"
    bare = "try:\n    x = 1\nexcept:\n    pass\n"
    assert diagnose.static_findings(unstarted) == {"thread-not-started"}
    assert diagnose.static_findings(run_instead) == {"thread-not-started"}
    assert diagnose.static_findings(started) == set()
    assert diagnose.static_findings(bare) == {"bare-except"}
    assert diagnose.static_findings("def broken(:") == set()


def test_diagnose_puts_an_unfinished_todo_first_and_confirms_conditional_hints():
    stderr = "还有TODO没有完成 (unfinished TODO): 连接聊天服务器 / connect\n"
    hints, details = diagnose.diagnose(["not-connected", "thread-not-started"], stderr, [],
                                       False, "x = 1\n")
    assert hints == ["unfinished-todo", "not-connected"]  # no unstarted thread in the source
    assert details["unfinished-todo"].startswith("连接聊天服务器")


def test_diagnose_names_a_dict_changed_crash_and_a_refused_address():
    stderr = ("Exception in thread Thread-3:\nTraceback (most recent call last):\n"
              "RuntimeError: dictionary changed size during iteration\n")
    notes = [{"kind": "network-refused", "op": "connect", "host": "192.0.2.1", "port": 80}]
    hints, details = diagnose.diagnose(["no-relay"], stderr, notes, False, "")
    assert hints[:2] == ["network-refused", "dict-changed"]
    assert details["network-refused"] == "connect 192.0.2.1:80"
    assert "crash" not in hints  # a refusal explains the crash already


def test_every_process_a_check_started_is_gone_when_the_lab_closes(tmp_path):
    lab = Lab(tmp_path / "c.py", tmp_path / "s.py", tmp_path)
    program = run_program(tmp_path, "import time\nwhile True: time.sleep(1)\n")
    lab.programs.append(program)
    lab.close()
    assert program.process.proc.poll() is not None


def test_timed_lines_carry_the_arrival_time_of_their_chunk():
    capture = Capture(limit=1000)
    capture.append("one\ntwo\n")
    capture.append("three")
    lines = capture.timed_lines()
    assert [line for _, line in lines] == ["one", "two", "three"]
    assert lines[0][0] == lines[1][0] <= lines[2][0]

"""The grader's parts on their own: output capture, prompt answering, diagnosis."""

import re
import textwrap
import threading

import pytest

from grader import diagnose, timeouts
from grader.lab import Lab
from grader.student import StudentProgram
from grader.settings import RunSettings
from grader import process
from grader.process import STDIN_SENTINEL, Capture, _Counter, _pump
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


class Chunks:
    """A pipe that gives these chunks, one per read, then EOF."""

    def __init__(self, chunks):
        self.chunks = list(chunks)

    def read(self, size):
        return self.chunks.pop(0) if self.chunks else b""


def pumped(chunks, sentinel=STDIN_SENTINEL):
    capture = Capture(limit=1000)
    _pump(Chunks(chunks), capture, sentinel=sentinel)
    return capture.text, capture.read_requests


#: A prompt, a read, a Chinese line, two reads at once, then a NUL and a sentinel's start that
#: are the program's own text (they begin no sentinel).
SIGNALLED = ("请输入端口\n".encode() + STDIN_SENTINEL + "中文\n".encode() + STDIN_SENTINEL
             + STDIN_SENTINEL + b"a\x00b" + STDIN_SENTINEL[:4] + b"!" + STDIN_SENTINEL[:3])
SIGNALLED_TEXT = "请输入端口\n中文\na\x00b" + STDIN_SENTINEL[:4].decode() + "!" + STDIN_SENTINEL[:3].decode()


def test_the_reader_takes_sentinels_out_and_records_where_the_program_read():
    assert pumped([SIGNALLED]) == (SIGNALLED_TEXT, [6, 9, 9])


@pytest.mark.parametrize("cut", range(1, len(SIGNALLED)))
def test_a_sentinel_split_across_two_reads_is_still_taken_out(cut):
    assert pumped([SIGNALLED[:cut], SIGNALLED[cut:]]) == (SIGNALLED_TEXT, [6, 9, 9])


def test_sentinels_read_a_byte_at_a_time_are_taken_out():
    assert pumped([bytes([byte]) for byte in SIGNALLED]) == (SIGNALLED_TEXT, [6, 9, 9])


def test_only_bytes_that_may_begin_a_sentinel_are_held_back():
    capture = Capture(limit=1000)
    more = threading.Event()  # the pipe stays open (no EOF) until this is set
    chunks = Chunks([b"ask\n" + STDIN_SENTINEL[:2]])

    def read(size, first=chunks.read):
        data = first(size)
        if not data:
            more.wait(5)
        return data

    chunks.read = read
    reader = threading.Thread(target=_pump, args=(chunks, capture, None, None, STDIN_SENTINEL))
    reader.start()
    try:
        with capture.changed:
            assert capture.changed.wait_for(lambda: capture.total_chars == 4, 5)
        assert capture.text == "ask\n" and not capture.closed  # the two bytes wait for more
    finally:
        more.set()
        reader.join(5)
    assert capture.text == "ask\n" + STDIN_SENTINEL[:2].decode()  # at EOF they are text


def test_without_a_sentinel_the_output_is_read_untouched():
    assert pumped([SIGNALLED], sentinel=None) == (SIGNALLED.decode("utf-8"), [])


def test_read_requests_since_hands_out_the_new_ones_and_forgets_the_oldest(monkeypatch):
    monkeypatch.setattr(process, "READS_KEPT", 3)
    capture = Capture(limit=1000)
    for text in "abcde":
        capture.append(text)
        capture.read_requested()
    assert capture.read_requests == [3, 4, 5] and capture.read_count == 5
    assert capture.read_requests_since(4) == ([5], 5)
    assert capture.read_requests_since(0) == ([3, 4, 5], 5)  # the first two are forgotten
    assert capture.read_requests_since(5) == ([], 5)


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


def test_a_prompt_printed_but_never_read_gets_no_answer(tmp_path):
    # The course framework: the IP prompt stays, its input() is commented out.
    program = run_program(tmp_path, """
        class Client:
            def set_ip_port(self):
                print('请输入聊天服务器IP')
                #ip = input()
                ip = '127.0.0.1'
                print('请输入聊天服务器端口')
                port = input()
                return ip, int(port)

        print('GOT', *Client().set_ip_port())
    """)
    try:
        assert program.wait_output("GOT 127.0.0.1 4242"), program.process.describe()
        assert program.wait_exit() == 0
        assert program.typed == ["4242"]
        assert (program.seen, program.asked) == (["ip", "port"], ["port"])
        assert program.prompts_changed() == ""  # the given prompts, printed in their order
    finally:
        program.kill()


@pytest.mark.slow
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
    assert diagnose.static_findings(unstarted) == {"thread-not-started": "line 2"}
    assert diagnose.static_findings(run_instead) == {"thread-not-started": "line 2"}
    assert diagnose.static_findings(started) == {}
    assert diagnose.static_findings(bare) == {"bare-except": "line 3"}
    assert diagnose.static_findings("def broken(:") == {}


def test_static_findings_count_only_code_on_the_path_of_the_checks_part():
    source = ("import threading\n"
              "def start_hub_listen(self):\n    threading.Thread(target=f)\n"
              "def p2p_recv_msg(self):\n    try:\n        pass\n    except:\n        pass\n")
    assert diagnose.static_findings(source, "hub") == {"thread-not-started": "line 3"}
    assert diagnose.static_findings(source, "p2p") == {"bare-except": "line 7"}


def test_diagnose_shows_an_unfinished_todo_alone():
    stderr = "还有TODO没有完成 (unfinished TODO): 连接聊天服务器 / connect\n"
    hints, details = diagnose.diagnose(["not-connected", "thread-not-started"], stderr, [],
                                       False, "x = 1\n")
    assert hints == ["unfinished-todo"]  # it explains "no connection" too
    assert details["unfinished-todo"].startswith("连接聊天服务器")


def test_diagnose_names_a_refused_address_alone_and_a_dict_changed_crash_first():
    stderr = ("Exception in thread Thread-3:\nTraceback (most recent call last):\n"
              "RuntimeError: dictionary changed size during iteration\n")
    notes = [{"kind": "network-refused", "op": "connect", "host": "192.0.2.1", "port": 80}]
    hints, details = diagnose.diagnose(["no-relay"], stderr, notes, False, "")
    assert hints == ["network-refused"]
    assert details["network-refused"] == "connect 192.0.2.1:80"
    hints, _ = diagnose.diagnose(["no-relay", "dict-changed"], stderr, [], False, "")
    assert hints == ["dict-changed", "no-relay"]


def test_diagnose_shows_a_conditional_hint_only_with_its_evidence():
    # No traceback: "dict changed size" would be a guess; the check's catch-all stands.
    hints, _ = diagnose.diagnose(["dict-changed", "send-to-departed", "shared-dict"], "", [],
                                 False, "")
    assert hints == ["shared-dict"]
    dead = "Traceback (most recent call last):\nOSError: [Errno 9] Bad file descriptor\n"
    hints, _ = diagnose.diagnose(["dict-changed", "send-to-departed", "shared-dict"], dead, [],
                                 False, "")
    assert hints == ["send-to-departed", "crash"]  # the catch-all gives way to the evidence
    # The same evidence gives the same hints in the same order, every time.
    assert all(diagnose.diagnose(["no-relay", "dict-changed"], dead, [], False, "")
               == diagnose.diagnose(["no-relay", "dict-changed"], dead, [], False, "")
               for _ in range(5))


def test_a_program_stopped_for_flooding_gets_the_flood_and_not_the_checks_guesses():
    # The room "broke" because the grader stopped the program: no missing lock is implied.
    hints, _ = diagnose.diagnose(["dict-changed", "send-to-departed", "shared-dict"], "", [],
                                 True, "")
    assert hints == ["flood"]
    hints, _ = diagnose.diagnose(["no-departure-notice", "empty-recv"], "", [], True, "")
    assert hints == ["empty-recv"]
    # Evidence still counts: a dict that changed during iteration is named beside the flood.
    dead = "Traceback (most recent call last):\nRuntimeError: dictionary changed size during iteration\n"
    hints, _ = diagnose.diagnose(["dict-changed", "shared-dict"], dead, [], True, "")
    assert hints == ["flood", "dict-changed"]


PLAIN_SEND_THREAD = """
import threading
class Client:
    def start(self):
        threading.Thread(target=self.send_msg).start()
        threading.Thread(target=self.recv_msg).start()
"""


def test_a_plain_send_thread_in_the_source_is_named_when_the_program_waits_in_it():
    assert diagnose.static_findings(PLAIN_SEND_THREAD) == {"plain-send-thread": "line 5"}
    for daemon in ("threading.Thread(target=self.send_msg, daemon=True).start()",
                   "t = threading.Thread(target=self.send_msg)\n        t.daemon = True\n"
                   "        t.start()"):
        source = PLAIN_SEND_THREAD.replace("threading.Thread(target=self.send_msg).start()", daemon)
        assert "plain-send-thread" not in diagnose.static_findings(source)
    # Proposed by a check that saw the program otherwise done, it replaces the generic hint;
    # without a plain send thread in the source, the generic one stands.
    hints, details = diagnose.diagnose(["plain-send-thread", "no-exit"], "", [], False,
                                       PLAIN_SEND_THREAD)
    assert hints == ["plain-send-thread"] and details["plain-send-thread"] == "line 5"
    hints, _ = diagnose.diagnose(["plain-send-thread", "no-exit"], "", [], False, "")
    assert hints == ["no-exit"]


def test_every_process_a_check_started_is_gone_when_the_lab_closes(tmp_path):
    lab = Lab(RunSettings(tmp_path / "c.py", tmp_path / "s.py"), tmp_path)
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


#: Prints 300 KB once told to go (a line on stdin), so that the limit is set before.
PRINTS_300_KB = ("import sys\nsys.stdin.readline()\n"
                 "for _ in range(300):\n    sys.stdout.write('x' * 1000 + '\\n')\n")


@pytest.mark.parametrize("allowed, flooded", [(None, "stdout"), (400 * 1000, None)])
def test_output_a_check_allows_is_not_a_flood_but_more_than_that_is(tmp_path, allowed, flooded):
    """Past its flood limit a program is stopped, unless the check allowed that much more
    (allow_output: output in proportion to the traffic the check sends it)."""
    program = tmp_path / "prints.py"
    program.write_text(PRINTS_300_KB)
    with process.ChildProcess([program], flood_limit=100 * 1000) as child:
        if allowed is not None:
            child.allow_output(lambda: allowed)
        child.write_line("go")
        child.wait_exit(timeouts.EXIT)
        child.drain()
        assert child.flooded == flooded
        assert (child.stdout.total_chars == 300 * 1001) is (flooded is None)

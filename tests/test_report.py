"""The reports: terminal text (grader/report.py), Gradescope JSON (grader/gradescope.py), the
class's CSV and summary (grader/gradebook.py), written from fake results in memory; and the
console facts they are given (grader/console.py)."""

import io
import json
import re

import pytest

from grader import gradescope, hints, report
from grader.console import detect_lang, piped_width, use_color
from grader.gradescope import to_gradescope, write_json
from grader.report import MESSAGES, display_width, render_text
from grader.results import ERROR, FAILED, PASSED, CheckResult, Evidence, GradingResult, \
    PartResult, SubmissionResult

ANSI = re.compile(r"\x1b\[")
#: A table row ends in "score/points".
ROW = re.compile(r"\d+(\.\d+)?/\d+(\.\d+)?$")

TRACEBACK = (
    "Exception in thread Thread-2:\n"
    "Traceback (most recent call last):\n"
    '  File "chat_client.py", line 41, in receive\n'
    "    print(data.decode('utf-8'))\n"
    "UnicodeDecodeError: 'utf-8' codec can't decode byte 0xe4 in position 0\n")

FAILED_HINTS = ["split-character", "crash"]


def check(id, part, title_en, title_zh, points, status=PASSED, **kwargs):
    score = points if status == PASSED else 0.0
    return CheckResult(id=id, part=part, title_en=title_en, title_zh=title_zh, points=points,
                       score=kwargs.pop("score", score), status=status, **kwargs)


def all_passed():
    return GradingResult(
        client_path="student/chat_client.py", server_path="student/chat_server.py",
        execution_time=3.2,
        checks=[
            check("client_connects", "client", "Connects and sends a line",
                  "连接服务器并发送一行", 7),
            check("p2p_relays", "p2p", "Relays both ways", "双向转发消息", 10),
            check("hub_relays", "hub", "Relays to every other client", "把消息转发给其他所有客户端", 8),
        ])


def mixed():
    """Passed, failed with full evidence, a grader error, notes repeated, a preflight problem."""
    note = {"notes": ["close-wakes-recv"], "note_details": {"close-wakes-recv": "第 52 行"}}
    failed_evidence = Evidence(
        summary="中文消息 '你好, 世界' 到达时被拆成了两半, 客户端打印出了乱码。",
        sent=["你好, 世界", "第二行"],
        expected="你好, 世界",
        got="\ufffd\ufffd好, 世界",
        transcripts=["server -> client: b'\\xe4'\nserver -> client: b'\\xbd\\xa0\\xe5\\xa5\\xbd'"],
        stdout_tail="请输入聊天服务器IP\n请输入聊天服务器端口\n",
        stderr_tail=TRACEBACK,
        hints=list(FAILED_HINTS),
        hint_details={"crash": "UnicodeDecodeError"})
    return GradingResult(
        client_path="student/chat_client.py", server_path="student/chat_server.py",
        execution_time=12.34,
        preflight={"unfinished-todo": "TODO 3 (chat_server.py, 第 88 行)"},
        checks=[
            check("client_connects", "client", "Connects and sends a line",
                  "连接服务器并发送一行", 7, **note),
            check("client_split_character", "client", "Decodes a character split over two recv",
                  "正确解码被拆到两次 recv 的汉字", 6, status=FAILED, evidence=failed_evidence,
                  **note),
            check("p2p_relays", "p2p", "Relays both ways", "双向转发消息", 10,
                  notes=["close-wakes-recv", "address-mapped"],
                  note_details={"close-wakes-recv": "第 52 行", "address-mapped": "192.168.1.5"}),
            check("hub_many_clients", "hub",
                  "Relays every message of ten clients to all the others, in order, while "
                  "visitors join and leave",
                  "十个客户端同时聊天, 有人进出时, 每条消息都按顺序转发给其他所有客户端", 9,
                  score=4.5, status=FAILED),
            check("hub_turns_away", "hub", "Turns away a client when the room is full",
                  "聊天室满员时拒绝新的客户端", 8, status=ERROR,
                  error="RuntimeError: instructor peer could not bind 127.0.0.1:0"),
        ])


def table_rows(text):
    return [line for line in text.splitlines() if ROW.search(line) and line.startswith(" ")]


#: The rubric's checks as ``python -m grader --list`` shows them: id, points, en, zh.
REAL_CHECKS = [
    ('client_sends_typed_line', 7,
     'Does your client connect to the server and send every line you type?',
     '你的客户端能连上服务器, 并把键盘输入的每一行发出去吗?'),
    ('client_prints_received', 7,
     'Does your client print every message the server sends?',
     '你的客户端会打印服务器发来的每一条消息吗?'),
    ('client_in_hub', 6,
     "In a chat room, do your client and another client see each other's messages?",
     '在聊天室里, 你的客户端能和别的客户端互相收发消息吗?'),
    ('client_q_ends_chat', 8,
     'Does typing q send q, close the connection and end your client?',
     '输入 q 后, 你的客户端会发出 q、关闭连接并结束吗?'),
    ('client_server_closes_first', 6,
     'When the server closes first, does your client report the end and stop (no flood, no hang)?',
     '服务器先断开时, 你的客户端会报告聊天结束并停下吗 (不刷屏、不卡住)?'),
    ('client_chinese', 3,
     'Does Chinese text go through your client intact, both ways?',
     '中文能原样经过你的客户端吗 (发送和接收)?'),
    ('client_split_character', 3,
     'Does your client print a Chinese character that arrives split across two recv calls?',
     '一个汉字被拆成两段到达时, 你的客户端能正确打印吗?'),
    ('p2p_announces_client', 6,
     'In p2p mode, does your server accept a client and print its address?',
     'p2p 模式下, 你的服务器能接受客户端的连接并打印它的地址吗?'),
    ('p2p_prints_messages', 6,
     'In p2p mode, does your server print every message the client sends?',
     'p2p 模式下, 你的服务器会打印客户端发来的每一条消息吗?'),
    ('p2p_sends_typed_lines', 6,
     'In p2p mode, does your server send every line you type to the client?',
     'p2p 模式下, 你的服务器能把键盘输入的每一行发给客户端吗?'),
    ('p2p_q_ends_chat', 7,
     'When the client sends q, does your server close the connection, announce it and end?',
     '客户端发来 q 后, 你的服务器会关闭连接、宣布它退出并结束吗?'),
    ('p2p_abrupt_disconnect', 5,
     'When the client disconnects without q, does your server stop cleanly (no flood, no crash)?',
     '客户端不发 q 直接断开时, 你的服务器能正常停下吗 (不刷屏、不崩溃)?'),
    ('hub_relays_to_others', 7,
     "In hub mode, does your server relay each message to every other client, with its sender's "
     'address?',
     'hub 模式下, 你的服务器会把消息转发给其他每一个客户端, 并标明发送者吗?'),
    ('hub_not_back_to_sender', 4,
     'In hub mode, does your server keep a message from going back to its sender (two in the '
     'room, then three)?',
     'hub 模式下, 消息不会被发回给发送者自己吗 (聊天室里两个人和三个人时)?'),
    ('hub_many_talking', 5,
     'When several clients talk at once, does every message reach every other client once, in '
     'order?',
     '几个客户端同时说话时, 每条消息都正好转发一次、顺序不乱吗?'),
    ('hub_q_departure', 5,
     'When a client sends q, are the others told who left, and does the room keep working?',
     '客户端发 q 离开后, 其他人会被告知是谁离开了, 聊天室还能继续用吗?'),
    ('hub_abrupt_departure', 4,
     'When a client disconnects without q, are the others told, with no flood, and does the '
     'room keep working?',
     '客户端不发 q 直接断开时, 其他人会被告知、不会刷屏, 聊天室还能继续用吗?'),
    ('hub_join_while_talking', 3,
     'Can clients join at the same moment, and leave, while others are talking?',
     '别人正在聊天时, 新客户端能同时加入 (和离开) 吗?'),
    ('hub_room_full', 2,
     'When the room is full, is a newcomer turned away, and is a place given back when someone '
     'leaves?',
     '聊天室满了 (最大客户端数量) 时, 新来的客户端会被拒绝, 有人离开后位置又能用吗?'),
]


#: Where a check's title starts in a table row: indent, mark, space, "1.1", two spaces.
TITLE_COLUMN = 9
#: A check's first table row: number, the first line of its title, status, score.
CHECK_ROW = re.compile(r"^  \S (\d+\.\d+)  (.*?)\s+(\S+)\s+(\d+(\.\d+)?/\d+(\.\d+)?)$")


def title_lines(text, number):
    """The lines of check ``number``'s title in the table of ``text``, as printed."""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        match = CHECK_ROW.match(line)
        if match and match.group(1) == number:
            found = [match.group(2)]
            for following in lines[index + 1:]:
                if not re.match(r"^ {%d}\S" % TITLE_COLUMN, following) or ROW.search(following):
                    break
                found.append(following[TITLE_COLUMN:])
            return found
    raise AssertionError("no row for %s" % number)


GRADER_ERROR_TEXT = "RuntimeError: instructor peer could not bind 127.0.0.1:0"


def part(id, en, zh, points, status=PASSED, score=None, summary=""):
    if score is None:
        score = points if status == PASSED else 0.0
    return PartResult(id=id, title_en=en, title_zh=zh, points=points, score=score,
                      status=status, summary=summary)


def with_parts():
    """Real checks and parts of the rubric: one lost a part and skipped one, one scores a
    fraction, one passed all its parts."""
    q_ends = [part("closes", "it closes the connection", "关闭这个连接", 3),
              part("announces", "it prints that the client left", "打印客户端离开的提示", 3,
                   FAILED, summary="Nothing named the client that left."),
              part("ends", "the server ends", "服务器程序结束", 1, "skipped")]
    talking = [part("delivered", "every message reaches every other client",
                    "每条消息都到达其他每一个客户端", 2.5),
               part("ordered", "in per-sender order", "按每个发送者的顺序", 2.5, FAILED,
                    summary="B's messages arrived out of order at C.")]
    sends = [part("first_line", "the first line typed reaches the client",
                  "输入的第一行到达客户端", 3),
             part("more_lines", "every later line arrives too", "之后的每一行也都到达", 3)]
    return GradingResult(execution_time=4.0, checks=[
        check("p2p_sends_typed_lines", "p2p", "Sends every line typed", "发送键盘输入的每一行", 6,
              parts=sends),
        check("p2p_q_ends_chat", "p2p",
              "When the client sends q, does your server close the connection, announce it "
              "and end?", "客户端发来 q 后, 你的服务器会关闭连接、宣布它退出并结束吗?", 7,
              status=FAILED, score=3.0, parts=q_ends,
              evidence=Evidence(summary="The server did not announce that the client left.")),
        check("hub_many_talking", "hub", "Many talking", "很多人同时说话", 5, status=FAILED,
              score=2.5, parts=talking, evidence=Evidence(summary="")),
    ])


def timed(lines, start=0.05, step=0.001):
    """Program output the way the grader records it: each line after its time stamp."""
    return "\n".join("  %+8.3fs %s" % (start + step * i, line) for i, line in enumerate(lines))


SERVER_TRACEBACK = ["Traceback (most recent call last):",
                    '  File "chat_server.py", line 16, in <module>',
                    "    from chat_utils import format_msg",
                    "ModuleNotFoundError: No module named 'chat_utils'"]

#: The unfinished TODOs of the untouched skeleton, as its programs print them.
TODOS = {
    "client": "连接聊天服务器 / connect to the chat server at (self.ip, self.port)",
    "p2p": "接受一个客户端的连接, 启动 p2p_send_msg 和 p2p_recv_msg 两个线程 / accept one client, "
           "then start a p2p_send_msg thread and a p2p_recv_msg thread",
    "hub": "循环接受客户端的连接, 记到 self.ip_client 里, 每个客户端启动一个 hub_msg_process 线程 / "
           "loop: accept clients, store each in self.ip_client, start one hub_msg_process "
           "thread per client",
}
PROMPTS = {"client": ["请输入聊天服务器IP", "请输入聊天服务器端口"],
           "p2p": ["服务器IP: 127.0.0.1", "请输入聊天服务器端口", "请输入服务器工作模式(p2p,hub)",
                   "请输入最大允许连接的客户端数量"]}
PROMPTS["hub"] = PROMPTS["p2p"]


def start_up_evidence(part, lang, port):
    """What a check of the untouched skeleton records (grader/plugin.py): the program ends
    at its first unfinished TODO, so every check of its part fails with the same cause."""
    todo = TODOS[part]
    role = "client" if part == "client" else "server"
    zh = lang == "zh"
    if role == "client":
        summary = "你的客户端没有连接到服务器。" if zh else "Your client did not connect to the server."
        expected = ("连接到 127.0.0.1:%d" if zh else "a connection to 127.0.0.1:%d") % port
        transcripts = ["echo server (127.0.0.1:%d) 的日志:\n  echo server listening on "
                       "127.0.0.1:%d (at most 200 clients)" % (port, port)]
    else:
        summary = ("连接不上你的服务器 (端口 %d)。" if zh
                   else "Could not connect to your server (port %d).") % port
        expected = ("你的服务器在 127.0.0.1:%d 上接受连接" if zh
                    else "your server accepts connections on 127.0.0.1:%d") % port
        transcripts = []
    return Evidence(
        summary=summary, expected=expected,
        got="程序已经结束, 退出状态 1" if zh else "the process ended with status 1",
        transcripts=transcripts,
        stdout_tail=timed(PROMPTS[part], start=port / 1e6),
        stderr_tail=timed(["还有TODO没有完成 (unfinished TODO): " + todo], start=port / 1e6),
        hints=["unfinished-todo"], hint_details={"unfinished-todo": todo},
        cause="%s: unfinished-todo %s" % (role, todo))


def skeleton_like(lang):
    """The untouched skeleton's result (19 real checks, all failed at start-up, parts
    never reached), as the grader records it: three causes, one per unfinished TODO."""
    checks = []
    for index, (id, points, en, zh) in enumerate(REAL_CHECKS):
        part_name = id.partition("_")[0]
        parts = [part("a", "a part", "一部分", points - 1, "skipped"),
                 part("b", "another part", "另一部分", 1, "skipped")] if index % 2 else []
        checks.append(check(id, part_name, en, zh, points, status=FAILED, parts=parts,
                            evidence=start_up_evidence(part_name, lang, 40000 + index)))
    return GradingResult(client_path="skeleton/chat_client.py",
                         server_path="skeleton/chat_server.py", execution_time=1.4,
                         checks=checks)


def all_failed_with_real_titles():
    """Every real check failed on its own, with real part titles tried and failed."""
    result = skeleton_like("en")
    q_parts = with_parts().checks[1].parts
    for item in result.checks:
        item.evidence = Evidence(summary="x")
        item.parts = [] if item.id != "p2p_q_ends_chat" else q_parts
    return result


# ----------------------------------------------------------------------------- terminal


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_scores_and_total_are_printed(lang):
    text = render_text(mixed(), lang=lang, width=100)
    for score in ["7/7", "0/6", "10/10", "4.5/9", "0/8", "7/13", "4.5/17"]:
        assert re.search(r"(^|\s)" + re.escape(score) + "$", text, re.M), score
    total = MESSAGES[lang]["total"].format(score="21.5", max_score="40")
    assert total in text
    assert MESSAGES[lang]["time"].format(seconds=12.34) in text
    assert "student/chat_client.py" in text and "student/chat_server.py" in text


def test_all_passed_has_no_details_and_no_grader_error_line():
    text = render_text(all_passed(), lang="zh", width=80)
    assert MESSAGES["zh"]["total"].format(score="25", max_score="25") in text
    assert MESSAGES["zh"]["details"] not in text
    assert MESSAGES["zh"]["run_had_errors"].split("(")[0] not in text
    assert MESSAGES["zh"]["status"][PASSED] in text


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("width", [60, 80, 120])
def test_table_rows_have_one_display_width(lang, width):
    rows = table_rows(render_text(mixed(), lang=lang, width=width))
    assert len(rows) == 5 + 3  # five checks, three subtotals
    widths = {display_width(row) for row in rows}
    assert len(widths) == 1, rows
    assert widths.pop() <= width


def test_long_titles_are_wrapped_not_cut():
    text = render_text(mixed(), lang="zh", width=60)
    row = next(row for row in table_rows(text) if "3.1" in row)
    assert report.ELLIPSIS not in row
    assert "十个客户端" in row
    wrapped = "".join(title_lines(text, "3.1")).replace(" ", "")
    assert wrapped == mixed().checks[3].title_zh.replace(" ", "")


def test_display_width_counts_chinese_as_two_columns():
    assert display_width("abc") == 3
    assert display_width("你好") == 4
    assert display_width("你好, ok") == 8


def test_no_escape_codes_without_color_and_some_with_it():
    result = mixed()
    result.checks[1].evidence.stderr_tail += "\x1b[31mred from the student\x1b[0m\n"
    assert not ANSI.search(render_text(result, lang="zh", color=False))
    assert ANSI.search(render_text(result, lang="zh", color=True))
    coloured_rows = table_rows(re.sub(r"\x1b\[[0-9;]*m", "", render_text(result, color=True)))
    assert len({display_width(row) for row in coloured_rows}) == 1


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_hint_of_a_failed_check_is_rendered_in_the_chosen_language(lang):
    text = render_text(mixed(), lang=lang)
    for index, hint_id in enumerate(FAILED_HINTS):
        detail = "UnicodeDecodeError" if hint_id == "crash" else ""
        rendered = hints.render(hint_id, lang, detail)
        # The first is the primary hint; the one after it supports it.
        label = MESSAGES[lang]["hint" if index == 0 else "hint_also"]
        assert "- " + label.format(text=rendered) in text
    other = "en" if lang == "zh" else "zh"
    assert hints.render("split-character", other) not in text


def test_failed_check_details_show_what_was_sent_expected_and_got():
    text = render_text(mixed(), lang="zh")
    zh = MESSAGES["zh"]
    for label in ["sent", "expected", "got", "transcripts", "program_output", "stderr"]:
        assert zh[label] in text, label
    assert "中文消息 '你好, 世界' 到达时被拆成了两半" in text
    assert "      UnicodeDecodeError: 'utf-8' codec can't decode byte 0xe4" in text
    assert "      Traceback (most recent call last):" in text
    assert "(client_split_character)" in text
    assert zh["no_evidence"] in text  # the failed hub check carries no evidence


def test_notes_are_deduplicated():
    text = render_text(mixed(), lang="zh")
    assert text.count(MESSAGES["zh"]["notes"]) == 1
    assert text.count(hints.render("close-wakes-recv", "zh", "第 52 行")) == 1
    assert hints.render("address-mapped", "zh", "192.168.1.5") in text


def test_preflight_problems_are_rendered_as_hints():
    text = render_text(mixed(), lang="en")
    assert MESSAGES["en"]["preflight"] in text
    assert hints.render("unfinished-todo", "en", "TODO 3 (chat_server.py, 第 88 行)") in text


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_grader_error_is_not_the_students_mistake(lang):
    text = render_text(mixed(), lang=lang)
    assert MESSAGES[lang]["not_your_mistake"] in text
    assert "RuntimeError: instructor peer could not bind 127.0.0.1:0" in text
    assert MESSAGES[lang]["status"][ERROR] in text
    last_line = text.rstrip("\n").splitlines()[-1]
    assert last_line == MESSAGES[lang]["run_had_errors"].format(count=1)


def test_an_unknown_hint_id_does_not_stop_the_report():
    result = mixed()
    result.checks[1].evidence.hints.append("no-such-hint")
    assert "no-such-hint" in render_text(result, lang="en")


def test_an_empty_result_renders():
    text = render_text(GradingResult(), lang="en")
    assert MESSAGES["en"]["total"].format(score="0", max_score="0") in text


# ---------------------------------------------------------------------------- Gradescope

TOP_FIELDS = {"score": float, "max_score": float, "execution_time": (int, float), "output": str,
              "output_format": str, "test_output_format": str, "test_name_format": str,
              "visibility": str, "stdout_visibility": str, "tests": list}
TEST_FIELDS = {"name": str, "number": str, "score": float, "max_score": float, "status": str,
               "output": str, "output_format": str, "tags": list, "extra_data": dict,
               "visibility": str}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_gradescope_has_exactly_the_documented_fields(lang):
    data = to_gradescope(mixed(), lang=lang)
    assert set(data) == set(TOP_FIELDS)
    for name, kind in TOP_FIELDS.items():
        assert isinstance(data[name], kind), name
    assert data["visibility"] == data["stdout_visibility"] == "visible"
    assert len(data["tests"]) == 5
    for test in data["tests"]:
        assert set(test) == set(TEST_FIELDS)
        for name, kind in TEST_FIELDS.items():
            assert isinstance(test[name], kind), name
        assert test["status"] in ("passed", "failed")
        assert test["visibility"] == "visible"
    json.dumps(data)


def test_gradescope_scores_sum_to_the_total():
    result = mixed()
    data = to_gradescope(result)
    assert data["score"] == sum(test["score"] for test in data["tests"]) == result.score == 21.5
    assert data["max_score"] == sum(test["max_score"] for test in data["tests"]) == 40
    assert data["execution_time"] == 12


def test_a_part_keeps_its_number_when_others_are_not_graded():
    hub_only = GradingResult(checks=[c for c in mixed().checks if c.part == "hub"])
    assert [test["number"] for test in to_gradescope(hub_only)["tests"]] == ["3.1", "3.2"]
    assert "  ✗ 3.1  " in render_text(hub_only, lang="en")


def test_gradescope_tests_are_named_and_numbered_by_part():
    tests = to_gradescope(mixed(), lang="zh")["tests"]
    assert [test["number"] for test in tests] == ["1.1", "1.2", "2.1", "3.1", "3.2"]
    assert tests[0]["name"] == "[client] 连接服务器并发送一行"
    assert tests[4]["name"].startswith("[hub] ")


def test_gradescope_outputs_carry_the_details_and_grader_errors():
    data = to_gradescope(mixed(), lang="en")
    failed, error = data["tests"][1], data["tests"][4]
    assert failed["status"] == "failed"
    assert MESSAGES["en"]["hint"].format(text=hints.render("split-character", "en")) \
        in failed["output"]
    assert "Traceback (most recent call last):" in failed["output"]
    assert error["status"] == "failed"
    assert error["output"].startswith(gradescope.GRADER_ERROR_TAG)
    assert MESSAGES["en"]["not_your_mistake"] in error["output"]
    assert gradescope.GRADER_ERROR_TAG in data["output"]
    assert "1.2, 3.1, 3.2" in data["output"]
    assert not ANSI.search(json.dumps(data))
    zh_error = to_gradescope(mixed(), lang="zh")["tests"][4]
    assert zh_error["output"].startswith(gradescope.GRADER_ERROR_TAG)


def test_gradescope_of_a_clean_run_mentions_no_grader_error():
    data = to_gradescope(all_passed())
    assert gradescope.GRADER_ERROR_TAG not in data["output"]
    assert all(test["status"] == "passed" and test["output"] == "" for test in data["tests"])


def test_a_submission_that_could_not_be_graded_says_so_on_gradescope(tmp_path):
    from grader.results import SubmissionStatus

    stopped = SubmissionResult("submission", SubmissionStatus.TIMEOUT,
                               log=["submission: grading took over 180 s and was stopped"])
    data = gradescope.failure_results(stopped)
    assert data == {"score": 0, "execution_time": 0, "visibility": "visible", "tests": [],
                    "output": "GRADER ERROR: the submission could not be graded (timeout). "
                              "submission: grading took over 180 s and was stopped"}
    assert data["output"].startswith(gradescope.GRADER_ERROR_TAG)
    path = gradescope.write_failure(stopped, tmp_path / "results" / "results.json")
    assert json.loads(path.read_text(encoding="utf-8")) == data


def test_render_json_is_what_write_json_writes_without_its_newline(tmp_path):
    path = write_json(mixed(), tmp_path / "results.json", lang="zh")
    assert path.read_text(encoding="utf-8") == gradescope.render_json(mixed(), "zh") + "\n"


def test_write_json_round_trips_with_chinese_intact(tmp_path):
    path = tmp_path / "results" / "nested" / "results.json"
    written = write_json(mixed(), path, lang="zh")
    assert written == path
    raw = path.read_text(encoding="utf-8")
    assert "正确解码被拆到两次 recv 的汉字" in raw  # not \\u escapes
    with open(path, encoding="utf-8") as stream:
        assert json.load(stream) == to_gradescope(mixed(), lang="zh")
    assert [p.name for p in path.parent.iterdir()] == ["results.json"]  # no temp file left


def test_write_json_replaces_an_existing_file(tmp_path):
    path = tmp_path / "results.json"
    path.write_text("old", encoding="utf-8")
    write_json(all_passed(), path)
    with open(path, encoding="utf-8") as stream:
        assert json.load(stream)["score"] == 25.0


# ------------------------------------------------------------------------ scored parts


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_check_that_lost_a_part_has_a_line_per_part(lang):
    text = render_text(with_parts(), lang=lang, width=100)
    result = with_parts()
    q_ends = result.checks[1]
    title = (lambda p: p.title_zh) if lang == "zh" else (lambda p: p.title_en)
    lines = text.splitlines()
    row = next(i for i, line in enumerate(lines) if line.startswith("  ✗ 2.2  "))
    assert lines[row].endswith(" 3/7")
    row += len(title_lines(text, "2.2")) - 1  # the parts come after the title's last line
    for offset, (mark, item, score) in enumerate(
            [("✓", q_ends.parts[0], "3/3"), ("✗", q_ends.parts[1], "0/3"),
             ("-", q_ends.parts[2], "0/1")], 1):
        line = lines[row + offset]
        assert line.lstrip().startswith(mark + " " + title(item)), line
        assert line.endswith(" " + score), line
        assert line.startswith(" " * (TITLE_COLUMN + 2) + mark), line  # under the title
    assert lines[row + 4].lstrip().startswith(MESSAGES[lang]["subtotal"])  # nothing more
    # A fraction of a check, and a fraction of a part.
    assert re.search(r" 2\.5/5$", text, re.M) and re.search(r" 2\.5/2\.5$", text, re.M)


def test_a_passed_check_shows_no_part_lines():
    text = render_text(with_parts(), lang="en", width=100)
    table = text.split("------")[0]
    assert "the first line typed reaches the client" not in table
    assert "every later line arrives too" not in text


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("width", [60, 80, 120])
def test_part_lines_have_the_width_of_the_rows(lang, width):
    rows = table_rows(render_text(with_parts(), lang=lang, width=width))
    assert len(rows) == 3 + 5 + 2  # three checks, five shown parts, two subtotals
    widths = {display_width(row) for row in rows}
    assert len(widths) == 1, rows
    assert widths.pop() <= width


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_details_name_each_failed_part_and_its_reason(lang):
    text = render_text(with_parts(), lang=lang)
    q_ends = with_parts().checks[1]
    titles = [p.title_zh if lang == "zh" else p.title_en for p in q_ends.parts]
    assert "  ✗ {} (0/3): Nothing named the client that left.".format(titles[1]) in text
    assert "  " + MESSAGES[lang]["parts_skipped"].format(titles=titles[2]) in text
    assert "B's messages arrived out of order at C." in text
    details = text.split(MESSAGES[lang]["details"])[1]
    assert "✓ " + titles[0] not in details  # a passed part is in the table, not the details


def test_parts_all_skipped_add_no_line():
    """A check that failed before its first part (the program never started): its parts
    would all read "-", so the table and the details leave them out."""
    result = skeleton_like("en")
    text = render_text(result, lang="en", width=80)
    assert "a part" not in text and "another part" not in text
    data = to_gradescope(result, lang="en")
    assert "- a part (0/" in data["tests"][1]["output"]  # Gradescope lists the rubric


# ------------------------------------------------------------------- one root cause, once


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_checks_with_one_cause_share_one_block(lang):
    result = skeleton_like(lang)
    text = render_text(result, lang=lang, width=80)
    details = text.split(MESSAGES[lang]["details"])[1]
    headings = [line for line in details.splitlines() if line.startswith("✗ ")]
    assert len(headings) == 3, headings  # the client's TODO, p2p's, the hub's
    flat = re.sub(r"\s+", "", details)  # a Chinese heading may wrap between any characters
    program = MESSAGES[lang]["programs"]
    for role, numbers, count, points in (("client", "1.1–1.7", 7, 40),
                                         ("server", "2.1–2.5", 5, 30),
                                         ("server", "3.1–3.7", 7, 30)):
        cause = MESSAGES[lang]["causes"]["unfinished-todo"][0].format(program=program[role])
        assert re.sub(r"\s+", "", cause) in flat
        tail = MESSAGES[lang]["cause_heading"].format(cause="", count=count, points=points,
                                                      numbers=numbers)
        assert re.sub(r"\s+", "", tail) in flat, tail
    # The first check's evidence, once. Compact: what the program printed and the hint,
    # not the exchange of a check it never got to (its port shows only in its summary).
    assert "40007" in details and "40008" not in details and "40012" in details
    assert MESSAGES[lang]["expected"] + ":" not in details
    assert MESSAGES[lang]["transcripts"] + ":" not in details
    assert details.count(start_up_evidence("client", lang, 1).summary) == 1
    # Every check keeps its row, failed, with its score.
    assert len([row for row in table_rows(text) if row.startswith("  ✗ ")]) == 19


def test_a_cause_heading_says_the_todo_in_the_reports_language():
    en = render_text(skeleton_like("en"), lang="en", width=120)
    zh = render_text(skeleton_like("zh"), lang="zh", width=120)
    assert "(unfinished TODO: connect to the chat server at (self.ip, self.port)):" in en
    assert "(还有TODO没有完成: 连接聊天服务器):" in zh
    long_todo = next(line for line in en.splitlines() if "loop: accept clients" in line)
    assert report.ELLIPSIS in long_todo  # shortened: its hint below gives it whole


def test_a_cause_of_one_check_and_empty_causes_keep_their_own_blocks():
    result = skeleton_like("en")
    result.checks = result.checks[:3] + result.checks[7:8]   # three client checks, one p2p
    result.checks[1].evidence.cause = ""
    text = render_text(result, lang="en", width=100)
    details = text.split(MESSAGES["en"]["details"])[1]
    assert "this costs 2 checks (13 points): 1.1, 1.3" in details
    assert "✗ 1.2 " + REAL_CHECKS[1][2] in details
    assert "✗ 2.1 " + REAL_CHECKS[7][2] in details  # a cause no other check shares
    assert "costs 1 check" not in details


def test_a_grader_error_is_never_part_of_a_cause():
    result = skeleton_like("en")
    result.checks[2].status = ERROR
    result.checks[2].error = "RuntimeError: the peer could not bind"
    text = render_text(result, lang="en", width=100)
    assert "this costs 6 checks (34 points): 1.1, 1.2, 1.4–1.7" in text
    assert "✗ 1.3 " not in text and "! 1.3 " + REAL_CHECKS[2][2] in text


def test_gradescope_keeps_a_test_per_check_of_a_cause():
    data = to_gradescope(skeleton_like("en"), lang="en")
    assert len(data["tests"]) == 19 and data["score"] == 0.0 and data["max_score"] == 100.0
    first, second = data["tests"][0]["output"], data["tests"][1]["output"]
    assert "this costs 7 checks (40 points): 1.1–1.7" in first and "Expected:" in first
    assert "this costs 7 checks (40 points): 1.1–1.7" in second
    assert MESSAGES["en"]["cause_see"].format(number="1.1") in second
    assert "Expected:" not in second
    assert "1.1–1.7, 2.1–2.5, 3.1–3.7" in data["output"]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_skeletons_report_is_short(lang):
    """The untouched skeleton (measured: en 101, zh 91 lines at 80 columns). Most of it is
    the table: 19 rows, many wrapped; the details are one block per cause, not 19."""
    text = render_text(skeleton_like(lang), lang=lang, width=80)
    assert len(text.splitlines()) <= {"en": 105, "zh": 95}[lang]
    assert text.count(MESSAGES[lang]["hint"].format(text="")) == 3


# --------------------------------------------------------- the program's output, capped


def capped_result():
    stdout = timed(["stdout line %d" % i for i in range(40)])
    stderr = timed(["stderr line %d" % i for i in range(30)])
    transcript = "transcript of <Peer A> (last 20 of 20 events):\n" + "\n".join(
        "  %+8.3fs recv 'message %d'" % (0.1 + i / 100, i) for i in range(20))
    return GradingResult(checks=[check(
        "client_prints_received", "client", "Prints", "打印", 7, status=FAILED,
        evidence=Evidence(summary="s", transcripts=[transcript, "short log:\n  one line"],
                          stdout_tail=stdout, stderr_tail=stderr))])


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_block_shows_the_end_of_the_programs_output(lang):
    text = render_text(capped_result(), lang=lang)
    earlier = MESSAGES[lang]["earlier_lines"]
    assert "stdout line 27" not in text
    assert all("stdout line %d\n" % i in text for i in range(28, 40))
    assert "        " + earlier.format(count=28) + "\n" in text
    assert "stderr line 14" not in text
    assert all("stderr line %d\n" % i in text for i in range(15, 30))
    assert earlier.format(count=15) in text
    # A transcript: its heading, a notice where events are left out, the last six.
    assert "transcript of <Peer A> (last 20 of 20 events):\n        " \
        + earlier.format(count=14) + "\n" in text
    assert "'message 13'" not in text and "'message 14'" in text and "'message 19'" in text
    assert "short log:\n        one line" in text


def test_one_line_more_than_the_cap_is_shown_rather_than_a_notice():
    result = capped_result()
    result.checks[0].evidence.stdout_tail = timed(["line %d" % i for i in range(13)])
    text = render_text(result, lang="en")
    assert "line 0\n" in text and "line 12\n" in text
    assert MESSAGES["en"]["earlier_lines"].format(count=1) not in text


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_same_traceback_is_shown_once(lang):
    traceback_a = timed(SERVER_TRACEBACK, start=0.071)
    traceback_b = timed(SERVER_TRACEBACK, start=0.135)  # the same, later
    other = timed(["Traceback (most recent call last):", "OSError: bad file descriptor"])
    checks = [check("p2p_announces_client", "p2p", "A", "甲", 6, status=FAILED,
                    evidence=Evidence(summary="s", stderr_tail=traceback_a)),
              check("p2p_prints_messages", "p2p", "B", "乙", 6, status=FAILED,
                    evidence=Evidence(summary="s", stderr_tail=traceback_b)),
              check("p2p_sends_typed_lines", "p2p", "C", "丙", 6, status=FAILED,
                    evidence=Evidence(summary="s", stderr_tail=other)),
              check("p2p_q_ends_chat", "p2p", "D", "丁", 7, status=FAILED,
                    evidence=Evidence(summary="s", stderr_tail="  +0.2s nothing much"))]
    result = GradingResult(checks=checks)
    text = render_text(result, lang=lang)
    assert text.count("No module named 'chat_utils'") == 1
    assert text.count(MESSAGES[lang]["same_traceback"].format(number="2.1")) == 1
    assert "OSError: bad file descriptor" in text
    assert "nothing much" in text
    outputs = [test["output"] for test in to_gradescope(result, lang=lang)["tests"]]
    assert MESSAGES[lang]["same_traceback"].format(number="2.1") in outputs[1]


# ------------------------------------------------------------------ titles that wrap


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("width", [60, 80])
def test_real_titles_wrap_at_word_boundaries_within_the_width(lang, width):
    result = all_failed_with_real_titles()
    text = render_text(result, lang=lang, width=width)
    for line in text.split(MESSAGES[lang]["details"])[0].splitlines():
        assert display_width(line) <= width, line
    for line in text.splitlines():
        if line.startswith("✗ "):  # the details headings too
            assert display_width(line) <= width, line
    wrapped = 0
    for (number, check_result) in [(n, c) for _, group in report.numbered_checks(result)
                                   for n, c in group]:
        title = check_result.title_zh if lang == "zh" else check_result.title_en
        lines = title_lines(text, number)
        wrapped += len(lines) > 1
        assert_wrapped_whole(title, lines)
    assert wrapped  # the test has teeth: some real titles do not fit


def assert_wrapped_whole(title, lines):
    """``lines`` are ``title`` broken only at a space or next to a Chinese character, never
    inside a Latin word and never before a punctuation mark."""
    assert "".join(lines).replace(" ", "") == title.replace(" ", "")
    position = 0
    for line, following in zip(lines, lines[1:]):
        position = title.index(line, position) + len(line)
        at_space = title[position:position + 1] == " "
        if not at_space:
            before, after = line[-1], following[0]
            assert display_width(before) == 2 or display_width(after) == 2, (line, following)
            assert not re.match(r"[,.;:!?)\]，。、；：！？）》」…]", after), (line, following)
        assert not re.match(r"[,.;:!?)\]，。、；：！？）》」…]", following), following


def test_part_titles_wrap_too():
    result = all_failed_with_real_titles()
    text = render_text(result, lang="en", width=60)
    for line in text.splitlines()[:70]:
        assert display_width(line) <= 60, line
    flat = " ".join(line.strip() for line in text.splitlines())
    assert "✗ it prints that the client left" in flat


@pytest.mark.parametrize("text, columns, expected", [
    ("Does your client print every message the server sends?", 20,
     ["Does your client", "print every message", "the server sends?"]),
    ("你的客户端会打印服务器发来的每一条消息吗?", 10,
     ["你的客户端", "会打印服务", "器发来的每", "一条消息", "吗?"]),  # "?" stays with 吗
    ("p2p 模式下, 你的服务器能接受客户端的连接吗?", 12,
     ["p2p 模式下,", "你的服务器能", "接受客户端的", "连接吗?"]),
    ("用 codecs.getincrementaldecoder 解码", 12,
     ["用", "codecs.getin", "crementaldec", "oder 解码"]),  # only a word wider than the column
    ("停下吗 (不刷屏、不卡住)?", 8, ["停下吗", "(不刷", "屏、不卡", "住)?"]),  # "(" with 不
    ("", 10, [""]),
])
def test_wrap(text, columns, expected):
    assert report._wrap(text, columns) == expected


# --------------------------------------------------------------- the report's language


def latin_words(text):
    return set(re.findall(r"[A-Za-z]{2,}", text))


#: Words a Chinese report may hold in its own fixed strings: the project's name and the
#: names students see in their own code and terminal.
ZH_ALLOWED = {"socket", "lab", "p2p", "hub", "stdout", "stderr", "TODO", "Traceback",
              "UTF"}  # UTF-8: the name of an encoding, in Chinese text too


def strings_of(value):
    if isinstance(value, dict):
        return [s for item in value.values() for s in strings_of(item)]
    if isinstance(value, (tuple, list)):
        return [s for item in value for s in strings_of(item)]
    return [value]


def test_messages_have_the_same_keys_in_both_languages():
    def shape(value):
        if isinstance(value, dict):
            return {key: shape(item) for key, item in value.items()}
        return type(value).__name__
    assert shape(MESSAGES["zh"]) == shape(MESSAGES["en"])
    fixed = re.sub(r"\{\w+(:[^}]*)?\}", "", " ".join(strings_of(MESSAGES["zh"])))  # {fields} aside
    assert latin_words(fixed) <= ZH_ALLOWED, latin_words(fixed) - ZH_ALLOWED


def test_a_chinese_report_has_no_english_label():
    result = skeleton_like("zh")
    result.checks[0:0] = mixed().checks[1:2]     # split character: sent, expected, got, hints
    result.checks += [with_parts().checks[1], mixed().checks[4]]  # parts; a grader error
    result.checks[-2].part = result.checks[-1].part = "hub"
    result.checks[-2].evidence.summary = "服务器没有宣布客户端离开。"
    result.checks[-2].parts[1].summary = "没有提到离开的客户端。"
    result.checks[1].evidence.stdout_tail = timed(["第 %d 行" % i for i in range(30)])
    result.preflight = {"unfinished-todo": "TODO 3"}
    result.checks[1].notes = ["close-wakes-recv"]
    text = render_text(result, lang="zh", width=80)
    text += "\n".join(test["output"] for test in to_gradescope(result, lang="zh")["tests"])
    # Data is not a label: the programs' output, the paths, the ids, the hints' own texts.
    data = [value for item in result.checks for value in (item.id, item.title_zh)] + [
        "skeleton/chat_client.py", "skeleton/chat_server.py", TRACEBACK, GRADER_ERROR_TEXT,
        gradescope.GRADER_ERROR_TAG, "unfinished TODO"] + list(TODOS.values())
    data += [prompt for prompts in PROMPTS.values() for prompt in prompts]
    for item in result.checks:
        evidence = item.evidence or Evidence()
        data += evidence.transcripts + [evidence.got, evidence.expected] + evidence.sent
        data += [hints.render(hint_id, "zh", evidence.hint_details.get(hint_id, ""))
                 for hint_id in evidence.hints]
        data += [hints.render(note, "zh", item.note_details.get(note, "")) for note in item.notes]
    data.append(hints.render("unfinished-todo", "zh", "TODO 3"))
    lines = {line.strip() for item in data for line in str(item).splitlines() if line.strip()}
    for item in sorted(lines, key=len, reverse=True):
        text = text.replace(item, "")
    # What is left of a TODO's text in a heading (shortened, wrapped): code identifiers.
    text = re.sub(r"[\w.]*[_.][\w.]*", "", text)
    assert latin_words(text) <= ZH_ALLOWED, latin_words(text) - ZH_ALLOWED


# ------------------------------------------------------------------ fractional scores


def fractional():
    return GradingResult(checks=[
        check("client_chinese", "client", "Chinese", "中文", 3, status=FAILED, score=1.5),
        check("client_split_character", "client", "Split", "拆开", 3, status=FAILED,
              score=0.1 + 0.2),                  # 0.30000000000000004
        check("p2p_q_ends_chat", "p2p", "q", "q", 7, status=FAILED, score=2.9999999),
        check("hub_room_full", "hub", "Full", "满员", 2.5, status=PASSED, score=2.5),
    ])


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_fractional_scores_are_printed_without_float_noise(lang):
    text = render_text(fractional(), lang=lang, width=80)
    for score in ["1.5/3", "0.3/3", "1.8/6", "3/7", "2.5/2.5"]:
        assert re.search(r" " + re.escape(score) + "$", text, re.M), score
    assert MESSAGES[lang]["total"].format(score="7.3", max_score="15.5") in text
    assert "0000" not in text and "9999" not in text


def test_gradescope_scores_are_floats_with_two_decimals_at_most():
    data = to_gradescope(fractional())
    assert [test["score"] for test in data["tests"]] == [1.5, 0.3, 3.0, 2.5]
    assert [test["max_score"] for test in data["tests"]] == [3.0, 3.0, 7.0, 2.5]
    assert data["score"] == 7.3 and data["max_score"] == 15.5
    assert all(isinstance(test["score"], float) for test in data["tests"])


def test_gradescope_lists_the_parts_of_a_check_with_their_points():
    data = to_gradescope(with_parts(), lang="en")
    passed, q_ends, talking = data["tests"]
    assert passed["status"] == "passed" and passed["score"] == 6.0
    assert passed["output"].splitlines() == [
        "✓ the first line typed reaches the client (3/3)", "✓ every later line arrives too (3/3)"]
    assert q_ends["status"] == "failed" and q_ends["score"] == 3.0
    lines = q_ends["output"].splitlines()
    assert lines[:4] == [
        "The server did not announce that the client left.",
        "✓ it closes the connection (3/3)",
        "✗ it prints that the client left (0/3): Nothing named the client that left.",
        "- the server ends (0/1)"]
    assert MESSAGES["en"]["parts_skipped"].format(titles="the server ends") in lines
    assert talking["score"] == 2.5 and "✓ every message reaches every other client (2.5/2.5)" \
        in talking["output"]
    assert data["score"] == 11.5


def test_batch_csv_and_summary_carry_fractional_scores(tmp_path):
    """grader/gradebook.py's outputs from the students' results as a batch records them
    (each check's score and points): 2 decimals at most, and partial credit is not a pass."""
    from grader import gradebook

    def graded(student, q_ends, full):
        return SubmissionResult(student, seconds=1.0, result=GradingResult(checks=[
            check("p2p_q_ends_chat", "p2p", "q", "q", 7, score=q_ends,
                  status=PASSED if q_ends == 7 else FAILED),
            check("hub_room_full", "hub", "Full", "满员", 2, score=full,
                  status=PASSED if full == 2 else FAILED)]))

    students = [graded("张三", 7.0, 2.0), graded("bob", 2.9999999, 0.1 + 0.2),
                graded("carol", 3.5, 1.0)]
    gradebook.write_csv(students, tmp_path / "grades.csv")
    with open(str(tmp_path / "grades.csv"), encoding="utf-8-sig") as stream:
        assert stream.read().splitlines() == [
            "student,p2p_q_ends_chat,hub_room_full,total,status",
            "张三,7,2,9,ok", "bob,3,0.3,3.3,ok", "carol,3.5,1,4.5,ok"]
    text = gradebook.summary(students)
    assert re.search(r"p2p_q_ends_chat +33\.3%  +4\.5/7 ", text), text
    assert re.search(r"hub_room_full +33\.3%  +1\.1/2 ", text), text
    assert "median 4.5" in text


def test_students_not_graded_have_empty_cells_a_zero_and_their_status(tmp_path):
    from grader import gradebook
    from grader.results import SubmissionStatus

    graded = SubmissionResult("ann", seconds=2.0, result=all_passed())
    stopped = SubmissionResult("ben", SubmissionStatus.TIMEOUT, seconds=180.0,
                               log=["ben: grading took over 180 s and was stopped"])
    broken = SubmissionResult("cat", SubmissionStatus.UNREADABLE)
    gradebook.write_csv([graded, stopped, broken], tmp_path / "grades.csv")
    with open(str(tmp_path / "grades.csv"), encoding="utf-8-sig") as stream:
        assert stream.read().splitlines() == [
            "student,client_connects,p2p_relays,hub_relays,total,status",
            "ann,7,10,8,25,ok", "ben,,,,0,timeout", "cat,,,,0,unreadable"]
    text = gradebook.summary([graded, stopped, broken], ["ben: grading took over 180 s"])
    assert "3 students graded" in text
    assert "not graded cleanly: ben (timeout), cat (unreadable)" in text
    assert "median 25" in text  # only the graded student's total counts
    assert text.splitlines()[-1] == "  ben: grading took over 180 s"


# ------------------------------------------------------------------- language and colour


def no_locale():
    return ""


def no_ui_language():
    return None


@pytest.mark.parametrize("environ, expected", [
    ({"LANG": "zh_CN.UTF-8"}, "zh"),
    ({"LANG": "zh_TW.Big5"}, "zh"),
    ({"LANG": "C.UTF-8"}, "en"),
    ({"LANG": "en_US.UTF-8"}, "en"),
    ({"LC_ALL": "en_US.UTF-8", "LANG": "zh_CN.UTF-8"}, "en"),
    ({"LC_ALL": "zh_CN.UTF-8", "LANG": "en_US.UTF-8"}, "zh"),
    ({"LC_ALL": "", "LC_MESSAGES": "zh_CN.UTF-8", "LANG": "en_US.UTF-8"}, "zh"),
    ({}, "en"),
])
def test_detect_lang_reads_the_environment_first(environ, expected):
    zh_everywhere = {"system_locale": lambda: "zh_CN", "ui_language": lambda: 0x0804}
    if environ:
        assert detect_lang(environ, **zh_everywhere) == expected
    assert detect_lang(environ, system_locale=no_locale, ui_language=no_ui_language) == expected


@pytest.mark.parametrize("system_locale, ui_language, expected", [
    ("zh_CN", None, "zh"),
    ("Chinese (Simplified)_China", None, "zh"),
    ("English_United States", 0x0409, "en"),
    ("", 0x0804, "zh"),   # zh-CN UI on Windows
    ("", 0x0404, "zh"),   # zh-TW
    ("", 0x0409, "en"),
])
def test_detect_lang_asks_the_os_when_the_environment_is_silent(system_locale, ui_language,
                                                                 expected):
    assert detect_lang({}, system_locale=lambda: system_locale,
                       ui_language=lambda: ui_language) == expected


def test_detect_lang_falls_back_to_english_when_the_os_fails():
    def broken():
        raise OSError("no kernel32")

    assert detect_lang({}, system_locale=broken, ui_language=broken) == "en"
    assert detect_lang({}, system_locale=no_locale, ui_language=broken) == "en"


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_use_color_needs_a_terminal():
    assert use_color(io.StringIO(), {"TERM": "xterm-256color"}, os_name="posix") is False
    assert use_color(FakeTerminal(), {"TERM": "xterm-256color"}, os_name="posix") is True
    closed = FakeTerminal()
    closed.isatty = None
    assert use_color(closed, {}) is False


@pytest.mark.parametrize("environ, os_name, expected", [
    ({"TERM": "xterm", "NO_COLOR": ""}, "posix", False),
    ({"TERM": "dumb"}, "posix", False),
    ({}, "posix", True),
    ({}, "nt", False),
    ({"WT_SESSION": "1"}, "nt", True),
    ({"ANSICON": "1"}, "nt", True),
    ({"TERM": "xterm"}, "nt", True),
    ({"TERM_PROGRAM": "vscode"}, "nt", True),
    ({"WT_SESSION": "1", "NO_COLOR": "1"}, "nt", False),
])
def test_use_color_respects_no_color_dumb_terminals_and_windows(environ, os_name, expected):
    # A plain Windows console here is one whose ANSI processing cannot be switched on.
    assert use_color(FakeTerminal(), environ, os_name=os_name,
                     windows_vt=lambda stream: False) is expected


def test_a_plain_windows_console_gets_colours_once_it_can_show_them():
    asked = []
    assert use_color(FakeTerminal(), {}, os_name="nt",
                     windows_vt=lambda stream: asked.append(stream) or True) is True
    assert len(asked) == 1
    # Not even asked where the terminal is known, or where colours are not wanted at all.
    assert use_color(FakeTerminal(), {"WT_SESSION": "1"}, os_name="nt", windows_vt=asked.append)
    assert not use_color(FakeTerminal(), {"NO_COLOR": ""}, os_name="nt", windows_vt=asked.append)
    assert len(asked) == 1


@pytest.mark.parametrize("environ, expected", [
    ({}, 80), ({"COLUMNS": "100"}, 100), ({"COLUMNS": " 132 "}, 132), ({"COLUMNS": "0"}, 80),
    ({"COLUMNS": "-5"}, 80), ({"COLUMNS": "wide"}, 80), ({"COLUMNS": ""}, 80),
])
def test_piped_width_is_what_a_grader_writing_into_a_pipe_lays_out_for(environ, expected):
    assert piped_width(environ) == expected


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_what_the_grader_did_is_shown_from_both_ends_and_kept_whole_in_the_result(lang):
    sent = ["N%d → hello from N%d;" % (number, number) for number in range(20)]
    result = GradingResult(checks=[check("hub_join_while_talking", "hub", "Joins?", "加入?", 3,
                                         status=FAILED, evidence=Evidence(summary="x", sent=sent))])
    text = render_text(result, lang=lang, width=80)
    shown = [line.strip() for line in text.splitlines() if "hello from" in line]
    assert len(shown) == report.SENT_LINES - 1
    assert shown[0] == sent[0] and shown[-1] == sent[-1]
    assert MESSAGES[lang]["more_lines"].format(count=20 - len(shown)) in text
    assert result.checks[0].evidence.sent == sent  # the cap is the report's, not the model's

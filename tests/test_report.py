"""The reports: terminal text and Gradescope JSON, written from fake GradingResults in memory."""

import io
import json
import re

import pytest

from grader import hints, report
from grader.report import MESSAGES, detect_lang, display_width, render_text, to_gradescope, \
    use_color, write_json
from grader.results import ERROR, FAILED, PASSED, CheckResult, Evidence, GradingResult

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


def test_long_titles_are_cut_with_an_ellipsis():
    text = render_text(mixed(), lang="zh", width=60)
    row = next(row for row in table_rows(text) if "3.1" in row)
    assert report.ELLIPSIS in row
    assert "十个客户端" in row


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
    for hint_id in FAILED_HINTS:
        detail = "UnicodeDecodeError" if hint_id == "crash" else ""
        rendered = hints.render(hint_id, lang, detail)
        assert MESSAGES[lang]["hint"].format(text=rendered) in text
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
              "visibility": str, "stdout_visibility": str, "tests": list}
TEST_FIELDS = {"name": str, "number": str, "score": float, "max_score": float, "status": str,
               "output": str, "visibility": str}


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
    assert error["output"].startswith(report.GRADER_ERROR_TAG)
    assert MESSAGES["en"]["not_your_mistake"] in error["output"]
    assert report.GRADER_ERROR_TAG in data["output"]
    assert "1.2, 3.1, 3.2" in data["output"]
    assert not ANSI.search(json.dumps(data))
    zh_error = to_gradescope(mixed(), lang="zh")["tests"][4]
    assert zh_error["output"].startswith(report.GRADER_ERROR_TAG)


def test_gradescope_of_a_clean_run_mentions_no_grader_error():
    data = to_gradescope(all_passed())
    assert report.GRADER_ERROR_TAG not in data["output"]
    assert all(test["status"] == "passed" and test["output"] == "" for test in data["tests"])


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
    assert use_color(FakeTerminal(), environ, os_name=os_name) is expected

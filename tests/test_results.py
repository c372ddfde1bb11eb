"""The result model (grader/results.py): a GradingResult survives to_dict/from_dict and JSON
unchanged, a SubmissionResult records each way a student's grading can end, and the grader's
own failures are classified where they are caught (the plugin's outcome, batch's view of a
grader process), by type and exit status, never by their text."""

import json
import os
import signal
import threading

import pytest

from grader import batch, plugin
from grader.report import render_text
from grader.results import ERROR, FAILED, CheckResult, Evidence, GraderError, \
    GradingResult, PartResult, SubmissionResult, SubmissionStatus
from grader.run import grade
from tests.conftest import ROOT

REFERENCE = ROOT / "reference"
SUBMISSIONS = ROOT / "tests" / "submissions"


def through_json(data):
    return json.loads(json.dumps(data, ensure_ascii=False))


def every_field():
    """A result with every field of every class set, nothing left at its default."""
    evidence = Evidence(
        summary="没有转发 / not relayed", sent=["A → 你好", "B → hi"], expected="[A] 你好",
        got="\ufffd", transcripts=["peer A\n  +0.010s sent b'hi'"], stdout_tail="+0.1s 请输入",
        stderr_tail="Traceback (most recent call last):\n  ...", hints=["crash", "empty-recv"],
        hint_details={"crash": "UnicodeDecodeError"}, cause="server: crash UnicodeDecodeError")
    part = PartResult(id="announces", title_en="announces", title_zh="宣布", points=3.0,
                      score=0.0, status=FAILED, summary="nobody was named")
    check = CheckResult(id="hub_q_departure", part="hub", title_en="Leaves?", title_zh="离开?",
                        points=5.0, score=2.5, status=FAILED, duration=0.75, evidence=evidence,
                        notes=["close-wakes-recv"], note_details={"close-wakes-recv": "line 52"},
                        error="", short_en="q departure", short_zh="q 离开", parts=[part])
    broken = CheckResult(id="pytest", part="grader", title_en="Running", title_zh="运行",
                         points=0.0, status=ERROR, error="pytest could not run")
    return GradingResult(client_path="a/chat_client.py", server_path="b/chat_server.py",
                         checks=[check, broken], execution_time=12.345,
                         preflight={"missing-file": "b/chat_server.py"})


# ------------------------------------------------------------------ GradingResult in memory


def test_every_field_survives_to_dict_and_from_dict():
    result = every_field()
    assert GradingResult.from_dict(result.to_dict()) == result
    assert GradingResult.from_dict(through_json(result.to_dict())) == result


def test_the_derived_totals_are_written_for_readers_and_recomputed_when_read():
    data = every_field().to_dict()
    assert (data["score"], data["max_score"]) == (2.5, 5.0)
    data["score"] = 99  # a derived value is not a field: it cannot disagree with the checks
    assert GradingResult.from_dict(data).score == 2.5


def test_a_result_read_shares_nothing_with_the_data_it_came_from():
    data = every_field().to_dict()
    result = GradingResult.from_dict(data)
    data["checks"][0]["evidence"]["hints"].append("changed")
    data["checks"][0]["notes"].clear()
    data["preflight"].clear()
    assert result == every_field()


@pytest.mark.parametrize("data, complaint", [
    ([], "expected a dict"),
    ({"checks": {}}, "expected a list"),
    ({"checks": [{"id": "x", "part": "client", "title_en": "x", "title_zh": "x"}]},
     "missing points"),
    ({"checks": [dict(id="x", part="client", title_en="x", title_zh="x", points=1,
                      parts=["not a part"])]}, "expected a dict"),
])
def test_data_that_is_not_a_result_is_a_value_error_that_names_what_is_wrong(data, complaint):
    with pytest.raises(ValueError, match=complaint):
        GradingResult.from_dict(data)


# -------------------------------------------------------------- GradingResult, really graded


@pytest.fixture(scope="module")
def real_results():
    """The reference, and a submission whose result has evidence, parts and notes: the
    client of client-close-no-shutdown (a note that costs nothing) with the hub of
    hub-wrong-client (parts lost, evidence)."""
    keyword = "client_q or client_sends or hub_q or hub_abrupt"
    reference = grade(REFERENCE / "chat_client.py", REFERENCE / "chat_server.py",
                      keyword=keyword, lang="en")
    failing = grade(SUBMISSIONS / "client-close-no-shutdown" / "chat_client.py",
                    SUBMISSIONS / "hub-wrong-client" / "chat_server.py", keyword=keyword,
                    lang="zh")
    return reference, failing


@pytest.mark.slow
def test_real_results_survive_json_unchanged(real_results):
    reference, failing = real_results
    assert reference.score == reference.max_score > 0
    # The failing result has every kind of content (else the test would prove less).
    assert any(check.evidence and check.evidence.transcripts and check.evidence.hints
               for check in failing.checks)
    assert any(part.status == FAILED for check in failing.checks for part in check.parts)
    assert any(check.notes for check in failing.checks)
    for result in real_results:
        assert GradingResult.from_dict(result.to_dict()) == result
        again = GradingResult.from_dict(through_json(result.to_dict()))
        assert again == result
        for lang in ("zh", "en"):  # and so does everything rendered from it
            assert render_text(again, lang=lang, width=80) == render_text(result, lang=lang,
                                                                          width=80)


# --------------------------------------------------------------------- SubmissionResult


@pytest.mark.parametrize("status, result, log", [
    (SubmissionStatus.OK, every_field(), []),
    (SubmissionStatus.GRADER_ERROR, every_field(), []),   # the run ended, a check could not
    (SubmissionStatus.GRADER_ERROR, None, ["张三: the grader failed: exit status 1"]),
    (SubmissionStatus.TIMEOUT, None, ["张三: grading took over 180 s and was stopped"]),
    (SubmissionStatus.UNREADABLE, None, ["张三: cannot unpack: not a zip file"]),
])
def test_a_submission_result_survives_json_whatever_its_status(status, result, log):
    graded = SubmissionResult("张三", status, result, seconds=3.25, log=log)
    assert SubmissionResult.from_dict(through_json(graded.to_dict())) == graded
    assert graded.total == (2.5 if result else 0.0)
    assert graded.checks == (result.checks if result else [])
    assert graded.ok == (status is SubmissionStatus.OK)


def test_the_file_of_a_submission_reads_from_the_top():
    data = SubmissionResult("bob", SubmissionStatus.TIMEOUT, seconds=180.1).to_dict()
    assert list(data)[:3] == ["student", "status", "total"]
    assert data["status"] == "timeout" and data["total"] == 0.0 and data["result"] is None


def test_statuses_are_the_words_of_the_csv():
    assert [status.value for status in SubmissionStatus] == [
        "ok", "unreadable", "timeout", "grader-error"]


def test_an_unknown_status_is_not_read_as_some_other_one():
    data = SubmissionResult("bob").to_dict()
    data["status"] = "fine"
    with pytest.raises(ValueError):
        SubmissionResult.from_dict(data)


# ------------------------------------------------------------------------ GraderError


def test_a_grader_error_becomes_a_check_that_costs_the_student_nothing():
    check = GraderError("pytest could not run the checks").as_check("pytest", "Running", "运行")
    assert (check.status, check.points, check.part) == (ERROR, 0, "grader")
    assert check.error == "pytest could not run the checks"
    assert GradingResult(checks=[check]).grader_errors == [check]


def raised(error):
    with pytest.raises(BaseException) as info:
        raise error
    return info


@pytest.mark.parametrize("error, students", [
    (AssertionError("expected a line"), True),
    (ConnectionResetError("reset by the student's server"), True),
    (plugin.CheckTimeout(plugin.TIMEOUT_MESSAGE % 60.0), True),
    (GraderError("the classroom server cannot start"), False),
    (OSError("no room for a peer"), False),
    (KeyError("a bug in a check"), False),
    # pytest-timeout's own failure text, raised by anything else, is not a timeout.
    (pytest.fail.Exception("Timeout (>60.0s) from pytest-timeout."), False),
])
def test_whose_failure_is_told_by_the_exceptions_type(error, students):
    assert plugin.is_student_failure(raised(error)) is students


class FakeItem:
    def __init__(self):
        self.stash = pytest.Stash()


class Settings:
    """pytest-timeout's Settings, the fields the timer reads."""

    def __init__(self, timeout, method="signal"):
        self.timeout, self.method = timeout, method


@pytest.mark.skipif(os.name != "posix", reason="the signal timer is POSIX's")
def test_the_last_resort_timer_stops_a_check_with_a_timeout_of_its_own_type():
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals reach the main thread only")
    grader = plugin.GraderPlugin.__new__(plugin.GraderPlugin)  # the hooks use no state
    item = FakeItem()
    assert grader.pytest_timeout_set_timer(item, Settings(0.05)) is True
    try:
        with pytest.raises(plugin.CheckTimeout, match=r"Timeout \(>0\.05s\)"):
            threading.Event().wait(10)  # a check kept busy by the student's program
    finally:
        assert grader.pytest_timeout_cancel_timer(item) is True
    assert grader.pytest_timeout_cancel_timer(FakeItem()) is None  # not ours: pytest-timeout's
    # The thread method (Windows') is ours too: a watchdog, cancelled with the check, and
    # the SIGINT handler it put in place for the check is the previous one again.
    before, other = signal.getsignal(signal.SIGINT), FakeItem()
    assert grader.pytest_timeout_set_timer(other, Settings(1, "thread")) is True
    assert signal.getsignal(signal.SIGINT) is not before
    assert grader.pytest_timeout_cancel_timer(other) is True
    assert signal.getsignal(signal.SIGINT) is before


SLOW_CHECK = """
import threading
import pytest

@pytest.mark.check(points=3, zh="慢?")
def check_kept_busy():
    \"\"\"Kept busy?\"\"\"
    threading.Event().wait(30)
"""


@pytest.mark.skipif(os.name != "posix", reason="the signal timer is POSIX's")
def test_a_check_stopped_by_the_timeout_is_the_students_failure_and_says_why(tmp_path,
                                                                            monkeypatch):
    """Through pytest and pytest-timeout as python -m grader runs them. (pytest-timeout's
    own stop came out as a bare AssertionError here, its terminal being off: a failure with
    no reason at all.)"""
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals reach the main thread only")
    from grader.settings import RunSettings

    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")  # as grader.run does
    (tmp_path / "check_client.py").write_text(SLOW_CHECK, encoding="utf-8")
    grader = plugin.GraderPlugin(RunSettings(REFERENCE / "chat_client.py",
                                             REFERENCE / "chat_server.py", lang="en"))
    pytest.main([str(tmp_path / "check_client.py"), "-p", "no:terminal", "-p",
                 "no:cacheprovider", "-p", "pytest_timeout", "-o", "timeout=0.2",
                 "-o", "timeout_method=signal", "-o", "python_files=check_*.py",
                 "-o", "python_functions=check_*", "--rootdir", str(tmp_path),
                 "-c", os.devnull], plugins=[grader])
    [check] = grader.result.checks
    assert (check.status, check.score) == (FAILED, 0)
    assert check.evidence.summary == plugin.TIMEOUT_MESSAGE % 0.2


# ----------------------------------------------------- batch's view of a grader process


def test_a_grader_that_graded_hands_batch_its_result(tmp_path):
    path = tmp_path / "result.json"
    path.write_text(json.dumps(every_field().to_dict()), encoding="utf-8")
    assert batch.read_grader_result(batch.EXIT_GRADED, path) == every_field()
    assert batch.read_grader_result(batch.EXIT_GRADER_ERROR, path) == every_field()


@pytest.mark.parametrize("status, content, reason", [
    (1, "{}", "exit status 1"),          # died (a traceback, a signal): its file is not trusted
    (2, None, "exit status 2"),          # refused its arguments
    (-9, None, "exit status -9"),
    (0, None, "no readable result"),     # ended well and wrote nothing
    (0, "{\"checks\": [", "no readable result"),
    (0, "[1, 2]", "no readable result"),
])
def test_a_grader_that_died_or_wrote_no_result_is_a_grader_error(tmp_path, status, content,
                                                                  reason):
    path = tmp_path / "result.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(GraderError, match=reason):
        batch.read_grader_result(status, path)


def test_batch_writes_the_report_as_the_grader_prints_it():
    result = every_field()
    # print() ends the report with a blank line; the width is a pipe's; no colour at all.
    assert batch.student_report(result, "en", 80) == render_text(result, "en", False, 80) + "\n"
    assert "\x1b[" not in batch.student_report(result, "zh", 100)

"""The grader end to end: ``python -m grader`` as a student or an instructor runs it."""

import json
import subprocess
import sys

import pytest

from grader import hints
from grader.plugin import preflight
from grader.run import grade, list_checks
from tests.conftest import ROOT


def run_grader(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "grader"] + list(args), cwd=str(ROOT),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                          env=dict(__import__("os").environ, PYTHONIOENCODING="utf-8"))


@pytest.mark.slow
def test_reference_scores_full_marks_and_writes_gradescope_json(tmp_path):
    results = tmp_path / "out" / "results.json"
    run = run_grader("--reference", "--lang", "en", "--json", str(results))
    out = run.stdout.decode("utf-8")
    assert run.returncode == 0, out + run.stderr.decode("utf-8", "replace")
    assert "Score 100/100" in out
    data = json.loads(results.read_text(encoding="utf-8"))
    assert data["score"] == 100
    assert len(data["tests"]) == len(list_checks())
    assert {test["status"] for test in data["tests"]} == {"passed"}
    assert sum(test["max_score"] for test in data["tests"]) == 100


@pytest.mark.slow
def test_skeleton_scores_zero_and_every_check_names_the_unfinished_todo():
    result = grade(ROOT / "skeleton" / "chat_client.py", ROOT / "skeleton" / "chat_server.py")
    assert result.score == 0 and result.max_score == 100
    assert not result.grader_errors
    for check in result.checks:
        assert check.status == "failed", check.id
        assert check.evidence.hints[0] == "unfinished-todo", (check.id, check.evidence.hints)
        assert "TODO" in check.evidence.hint_details["unfinished-todo"] or \
            check.evidence.hint_details["unfinished-todo"]


@pytest.mark.slow
def test_report_is_chinese_on_request_and_exit_status_is_zero_for_a_zero_score():
    run = run_grader("-k", "client_sends", "--lang", "zh")
    out = run.stdout.decode("utf-8")
    assert run.returncode == 0
    assert "总分 0/7" in out and "还有TODO没有完成" in out
    assert "Traceback" not in run.stderr.decode("utf-8", "replace")


@pytest.mark.parametrize("args, message", [
    (["--client", "no/such/file.py"], "no such file"),
    (["--lang", "fr"], "invalid choice"),
    (["--frobnicate"], "unrecognized arguments"),
    (["-k", "no_check_is_called_this"], "no check matched"),
])
@pytest.mark.slow
def test_bad_arguments_get_one_clear_line_and_exit_status_2(args, message):
    run = run_grader(*args)
    err = run.stderr.decode("utf-8", "replace")
    assert run.returncode == 2, err
    assert message in err
    assert "Traceback" not in err


def test_a_syntax_error_fails_that_files_checks_at_once_with_the_line(tmp_path):
    broken = tmp_path / "chat_client.py"
    broken.write_text("def f(:\n    pass\n", encoding="utf-8")
    assert preflight(broken)[0] == "syntax-error"
    result = grade(broken, ROOT / "reference" / "chat_server.py", keyword="client_")
    assert result.checks and all(c.evidence.hints == ["syntax-error"] for c in result.checks)
    assert "line 1" in result.checks[0].evidence.hint_details["syntax-error"]
    assert result.execution_time < 5


def test_list_shows_every_check_with_its_points_summing_to_100():
    lines = list_checks("en")
    assert sum(int(line.split()[1]) for line in lines) == 100
    assert all(line.rstrip().endswith("?") for line in lines)


def test_every_hint_reads_in_both_languages():
    for hint_id, hint in hints.HINTS.items():
        for lang in ("zh", "en"):
            text = hints.render(hint_id, lang, "DETAIL")
            assert text and "{detail}" not in text, hint_id


@pytest.mark.slow
def test_a_peer_that_cannot_start_is_a_grader_error_never_the_students_zero(monkeypatch):
    import grader.__main__ as cli
    from grader import lab

    def broken(self, server_class):
        raise OSError("no room for a classroom server")

    monkeypatch.setattr(lab.ClassroomServer, "__init__", broken)
    result = grade(ROOT / "reference" / "chat_client.py", ROOT / "reference" / "chat_server.py",
                   keyword="client_sends")
    check = result.checks[0]
    assert check.status == "error" and check.evidence is None
    assert "no room for a classroom server" in check.error
    status = cli.main(["--reference", "-k", "client_sends", "--lang", "en"])
    assert status == cli.EXIT_GRADER_ERROR


@pytest.mark.slow
@pytest.mark.skipif(not __import__("os").path.isdir("/proc/self/task"), reason="reads /proc")
def test_no_student_process_outlives_the_grading(tmp_path, monkeypatch):
    import os
    import tempfile
    # This run's scratch folder (its programs' notes files) is under tmp_path, which tells
    # its programs from those of other graders running at the same time.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    grade(ROOT / "reference" / "chat_client.py", ROOT / "reference" / "chat_server.py",
          keyword="q_ or abrupt")
    ours = ("SOCKET_LAB_NOTES=" + str(tmp_path)).encode()
    leftovers = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as cmdline:
                launched = b"_launch.py" in cmdline.read()
            with open("/proc/%s/environ" % pid, "rb") as environ:
                if launched and any(v.startswith(ours) for v in environ.read().split(b"\0")):
                    leftovers.append(pid)
        except OSError:
            pass
    assert leftovers == []


@pytest.mark.slow
def test_repeat_runs_every_check_again_and_says_whether_any_result_changed():
    run = run_grader("--reference", "-k", "client_sends or client_chinese", "--lang", "en",
                     "--repeat", "2")
    out = run.stdout.decode("utf-8")
    assert run.returncode == 0
    assert "Repeated 2 times: every check gave the same result." in out
    assert run_grader("--repeat", "0").returncode == 2


@pytest.mark.slow
def test_part_selects_one_part_of_the_rubric_where_k_matches_names():
    client_only = list_checks(parts=["client"])
    assert client_only and all(line.startswith("client_") for line in client_only)
    # -k matches names: "client" is also in p2p_announces_client; --part is by part.
    assert any(line.startswith("p2p_") for line in list_checks(keyword="client"))
    hub = run_grader("--reference", "--part", "hub", "--lang", "en")
    assert hub.returncode == 0 and "Score 30/30" in hub.stdout.decode("utf-8")
    assert run_grader("--part", "server").returncode == 2  # not a part: one line, status 2


@pytest.mark.slow
def test_a_stuck_start_is_waited_for_once_however_its_path_is_spelled(tmp_path):
    """The shortcut for a program that never gets going is keyed on the resolved path, so a
    relative path costs one wait too, not one per check."""
    spinning = "tests/submissions/server-spins-forever/chat_server.py"  # relative to ROOT
    import os
    cwd = os.getcwd()
    os.chdir(str(ROOT))
    try:
        result = grade(ROOT / "reference" / "chat_client.py", spinning, parts=["p2p", "hub"])
    finally:
        os.chdir(cwd)
    assert result.score == 0 and len(result.checks) == 12
    stuck = [c for c in result.checks if c.evidence and c.evidence.hints[:1] == ["stuck-at-start"]]
    assert len(stuck) == 12
    # The first check waited; every later one failed at once with the same finding.
    replayed = [c for c in result.checks[1:] if "not waited for again" in c.evidence.summary]
    assert len(replayed) == 11, [c.evidence.summary for c in result.checks]


def test_repeat_flags_a_check_whose_partial_score_changed_though_it_failed_every_run():
    from grader.__main__ import describe_repeats
    from grader.results import CheckResult, GradingResult

    def run(score):
        return GradingResult(checks=[CheckResult(id="p2p_q_ends_chat", part="p2p", title_en="q?",
                                                 title_zh="q?", points=7, score=score,
                                                 status="failed")])

    assert "every check gave the same result" in describe_repeats([run(6), run(6)], "en")
    changed = describe_repeats([run(6), run(4)], "en")
    assert "p2p_q_ends_chat" in changed and "✗6 ✗4" in changed

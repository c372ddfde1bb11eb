"""batch's class-wide pages: report.html and the similarity report, as the batch command
writes them after grading (grader/commands.py), with copydetect and without it."""

import json
import shutil
import sys

import pytest

from grader import _bwrap, commands
from tests.conftest import ROOT

pytestmark = pytest.mark.slow

UNSEALED = ["--unsafe-no-sandbox"] if _bwrap.detect().runs_as_instructor else []


def two_students(folder):
    for student, server in (("li", ROOT / "reference" / "chat_server.py"),
                            ("wang", ROOT / "tests" / "submissions" / "hub-wrong-client"
                             / "chat_server.py")):
        (folder / student).mkdir(parents=True)
        shutil.copy(str(ROOT / "reference" / "chat_client.py"), str(folder / student))
        shutil.copy(str(server), str(folder / student / "chat_server.py"))


def batch(tmp_path, capsys):
    status = commands.batch(UNSEALED + [str(tmp_path / "class"), "--out", str(tmp_path / "out"),
                                        "--jobs", "2", "--lang", "en", "-k", "client_sends"])
    return status, capsys.readouterr().out


def test_batch_writes_the_class_report_and_links_the_similarity_report(tmp_path, capsys):
    pytest.importorskip("copydetect")
    two_students(tmp_path / "class")
    status, printed = batch(tmp_path, capsys)
    assert status == 0, printed
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert 'href="similarity.html"' in page and "wang" in page and "li" in page
    assert (tmp_path / "out" / "similarity.html").is_file()
    assert "similarity report: " in printed and "class report: " in printed
    # Two students who both kept the reference's client: that pair is listed.
    assert "li ~ wang" in (tmp_path / "out" / "similarity.txt").read_text(encoding="utf-8")


def test_without_copydetect_the_batch_says_the_similarity_report_was_skipped(tmp_path, capsys,
                                                                              monkeypatch):
    monkeypatch.setitem(sys.modules, "copydetect", None)  # import copydetect fails
    two_students(tmp_path / "class")
    status, printed = batch(tmp_path, capsys)
    assert status == 0, printed
    assert "skipped" in printed and "socket-lab[similarity]" in printed
    assert (tmp_path / "out" / "report.html").is_file()
    assert not (tmp_path / "out" / "similarity.html").exists()
    assert 'href="similarity.html"' not in (tmp_path / "out" / "report.html").read_text(
        encoding="utf-8")


def test_batch_visibility_reaches_each_students_gradescope_json(tmp_path, capsys):
    """``batch --visibility`` holds a check back as a bundle built with it would: the
    student's Gradescope JSON says so, and the check is still graded."""
    two_students(tmp_path / "class")
    status = commands.batch(UNSEALED + [
        str(tmp_path / "class"), "--out", str(tmp_path / "out"), "--jobs", "2", "--lang", "en",
        "-k", "client_sends", "--visibility", "client_sends_typed_line=after_due_date"])
    assert status == 0, capsys.readouterr()
    tests = json.loads((tmp_path / "out" / "reports" / "li.json").read_text(
        encoding="utf-8"))["tests"]
    by_check = {test["extra_data"]["check"]: test for test in tests}
    assert by_check["client_sends_typed_line"]["visibility"] == "after_due_date"
    assert by_check["client_sends_typed_line"]["score"] > 0
    assert all(test["visibility"] == "visible" for check, test in by_check.items()
               if check != "client_sends_typed_line")


def test_batch_refuses_a_visibility_for_a_check_that_does_not_exist(tmp_path, capsys):
    two_students(tmp_path / "class")
    with pytest.raises(SystemExit) as exit_:
        commands.batch(UNSEALED + [str(tmp_path / "class"), "--out", str(tmp_path / "out"),
                                   "--visibility", "no_such_check=hidden"])
    assert exit_.value.code == 2
    assert "no check is called no_such_check" in capsys.readouterr().err

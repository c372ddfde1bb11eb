"""batch's class-wide pages: report.html and the similarity report, as the batch command
writes them after grading (grader/commands.py), with copydetect and without it."""

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

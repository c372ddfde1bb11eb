"""Batch grading, its hardening, the Gradescope bundle and the student handout, run as an
instructor runs them."""

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from grader import _bwrap
from grader import batch as batching
from grader import console, gradescope, timeouts
from grader.process import ChildProcess, child_env
from grader.results import GradingResult
from grader.run import grade
from tests.conftest import ROOT

#: Each runs whole grader processes (a batch, a bundle, a handout).
pytestmark = pytest.mark.slow

SUBMISSIONS = ROOT / "tests" / "submissions"
HOSTILE = ROOT / "tests" / "hostile"
#: A few checks of each part keep these tests quick; the batch machinery is the same.
KEYWORD = "client_sends or client_q or p2p_announces or hub_q"
POSIX_ROOT = os.name == "posix" and os.geteuid() == 0


#: Where no sandbox works (macOS, Windows, Linux without bubblewrap as a normal user) batch
#: refuses student code unless told it may run it unsealed: these tests run the kit's own
#: submissions, not a stranger's.
UNSEALED = ["--unsafe-no-sandbox"] if _bwrap.detect().runs_as_instructor else []


def run_batch(*args, env=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "grader", "batch"] + UNSEALED
                          + [str(a) for a in args],
                          cwd=str(ROOT), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout, env=dict(os.environ, **(env or {})))


def make_class(folder):
    """Five students the way submissions arrive: a Chinese name, nesting, a zip, a missing
    file, and a broken hub."""
    (folder / "张三").mkdir(parents=True)
    for name in ("chat_client.py", "chat_server.py"):
        shutil.copy(str(ROOT / "reference" / name), str(folder / "张三" / name))
    nested = folder / "bob" / "lab1" / "src"
    nested.mkdir(parents=True)
    for name in ("chat_client.py", "chat_server.py"):
        shutil.copy(str(ROOT / "skeleton" / name), str(nested / name))
    with zipfile.ZipFile(str(folder / "carol.zip"), "w") as archive:
        archive.write(str(SUBMISSIONS / "hub-wrong-client" / "chat_server.py"), "carol/chat_server.py")
        archive.write(str(ROOT / "reference" / "chat_client.py"), "carol/chat_client.py")
    (folder / "dave").mkdir()
    shutil.copy(str(ROOT / "reference" / "chat_client.py"), str(folder / "dave" / "chat_client.py"))
    (folder / "erin").mkdir()
    shutil.copy(str(SUBMISSIONS / "p2p-empty-recv" / "chat_server.py"), str(folder / "erin"))
    shutil.copy(str(ROOT / "reference" / "chat_client.py"), str(folder / "erin"))
    return {"张三": (folder / "张三", folder / "张三"), "bob": (nested, nested),
            "dave": (folder / "dave", folder / "dave"), "erin": (folder / "erin", folder / "erin")}


def read_csv(path):
    with open(str(path), encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


def test_batch_grades_each_student_as_grading_alone_would(tmp_path):
    alone = make_class(tmp_path / "class")
    run = run_batch(tmp_path / "class", "--out", tmp_path / "out", "--jobs", "2",
                    "--lang", "en", "-k", KEYWORD)
    assert run.returncode == 0, run.stderr.decode("utf-8", "replace")
    rows = {row[0]: row for row in read_csv(tmp_path / "out" / "grades.csv")}
    header = read_csv(tmp_path / "out" / "grades.csv")[0]
    assert set(rows) == {"student", "张三", "bob", "carol", "dave", "erin"}
    assert rows["张三"][header.index("total")] == "26"
    assert rows["bob"][header.index("total")] == "0"
    # The wrong client announced: the notice (3) and the room (1) lost, A's close kept (1).
    assert rows["carol"][header.index("hub_q_departure")] == "1"
    assert rows["dave"][header.index("p2p_announces_client")] == "0"  # no server handed in
    for student, (client_dir, server_dir) in alone.items():
        by_itself = grade(client_dir / "chat_client.py", server_dir / "chat_server.py",
                          keyword=KEYWORD)
        for check in by_itself.checks:
            assert rows[student][header.index(check.id)] == "%g" % check.score, (student, check.id)
    for student in ("张三", "bob", "carol", "dave", "erin"):
        report = (tmp_path / "out" / "reports" / ("%s.txt" % student)).read_text(encoding="utf-8")
        assert "socket-lab grading" in report
        assert json.loads((tmp_path / "out" / "reports" / ("%s.json" % student))
                          .read_text(encoding="utf-8"))["tests"]
    summary = run.stdout.decode("utf-8")
    assert "pass rate per check" in summary and "slowest" in summary
    dave = (tmp_path / "out" / "reports" / "dave.txt").read_text(encoding="utf-8")
    assert "missing" in dave


@pytest.mark.parametrize("lang, columns", [("en", None), ("zh", "100")])
def test_batch_renders_the_report_the_grader_printed_byte_for_byte(tmp_path, lang, columns):
    """batch writes a student's report and Gradescope JSON from the grader process's result
    file, not from its stdout: they must be what that process printed (minus its progress
    line) and wrote with --json, byte for byte, whatever the language and COLUMNS."""
    env = child_env()
    env.pop("COLUMNS", None)
    if columns:
        env["COLUMNS"] = columns
    result_json, gradescope_json = tmp_path / "result.json", tmp_path / "gradescope.json"
    printed = subprocess.run(
        [sys.executable, "-m", "grader", "--allow-missing", "--lang", lang, "-k", KEYWORD,
         "--json", str(gradescope_json), "--result-json", str(result_json),
         "--client", str(SUBMISSIONS / "client-close-no-shutdown" / "chat_client.py"),
         "--server", str(SUBMISSIONS / "hub-wrong-client" / "chat_server.py")],
        cwd=str(ROOT), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    assert printed.returncode == 0, printed.stderr.decode("utf-8", "replace")
    progress, _, report = printed.stdout.decode("utf-8").partition("\n\n")
    assert progress.startswith(("grading: ", "评分中 / grading: ")) and "\n" not in progress
    result = GradingResult.from_dict(json.loads(result_json.read_text(encoding="utf-8")))
    assert batching.student_report(result, lang, console.piped_width(env)) == report
    assert gradescope.render_json(result, lang) + "\n" == gradescope_json.read_text(
        encoding="utf-8")


def test_an_interrupted_batch_resumes_to_the_same_csv(tmp_path):
    make_class(tmp_path / "class")
    whole = run_batch(tmp_path / "class", "--out", tmp_path / "whole", "--jobs", "1",
                      "--lang", "en", "-k", KEYWORD)
    assert whole.returncode == 0
    batch = ChildProcess(["-m", "grader", "batch"] + UNSEALED + [
        str(tmp_path / "class"), "--out", str(tmp_path / "cut"), "--jobs", "1", "--lang", "en",
        "-k", KEYWORD], cwd=str(ROOT))
    with batch:
        batch.wait_for("2/5", stream="stderr", timeout=timeouts.LONG)
        batch.proc.send_signal(signal.SIGINT if os.name == "posix" else signal.CTRL_C_EVENT)
        assert batch.wait_exit(timeouts.LONG) == 130
    assert "--resume" in batch.stderr.text
    kept = len(list((tmp_path / "cut" / "results").glob("*.json")))
    assert 2 <= kept < 5
    resumed = run_batch(tmp_path / "class", "--out", tmp_path / "cut", "--jobs", "1",
                        "--lang", "en", "-k", KEYWORD, "--resume")
    assert resumed.returncode == 0
    assert read_csv(tmp_path / "cut" / "grades.csv") == read_csv(tmp_path / "whole" / "grades.csv")


#: The hostile submissions that hit a resource limit or the file system.
LIMIT_BREAKERS = ("fork-loop", "big-alloc", "big-file", "results-forger", "file-deleter")


@pytest.mark.skipif(os.name != "posix", reason="resource limits are POSIX; Windows gets the "
                                               "process-group kill only")
def test_hostile_submissions_are_contained_graded_and_logged(tmp_path):
    hostile = tmp_path / "class"
    for student in LIMIT_BREAKERS:  # the rest of tests/hostile/: tests/test_sandbox_class.py
        shutil.copytree(str(HOSTILE / student), str(hostile / student))
    shutil.copytree(str(ROOT / "reference"), str(hostile / "honest"),
                    ignore=shutil.ignore_patterns("*.pyc", "__pycache__", "variants", "_*",
                                                  "echo_server.py", "hub_server.py",
                                                  "make_skeleton.py"))
    out = tmp_path / "out"
    forged = out / "results" / "results-forger.json"
    run = run_batch(hostile, "--out", out, "--jobs", "2", "--lang", "en", "-k", "client_sends",
                    env={"FORGE_INTO": str(forged)})
    assert run.returncode == 0, run.stderr.decode("utf-8", "replace")
    rows = {row[0]: row for row in read_csv(out / "grades.csv")[1:]}
    assert rows["honest"][-2] == "7"
    for student in LIMIT_BREAKERS:
        assert rows[student][-2] == "0", student
        assert rows[student][-1] == "ok", student
    reports = {student: (out / "reports" / ("%s.txt" % student)).read_text(encoding="utf-8")
               for student in rows}
    assert "MemoryError" in reports["big-alloc"]
    assert "File too large" in reports["big-file"]  # the file size limit
    assert json.loads(forged.read_text(encoding="utf-8"))["total"] == 0
    if POSIX_ROOT and "warning" not in run.stdout.decode("utf-8"):
        # The process limit itself is proved without a check's deadline: tests/test_sandbox.py
        assert "children so far" in reports["fork-loop"]
        assert "could not forge" in reports["results-forger"]
    assert not list(tmp_path.rglob("big.bin")) or all(
        path.stat().st_size <= 16 * 1024 * 1024 for path in tmp_path.rglob("big.bin"))
    assert leftover_processes(str(hostile)) == []


def leftover_processes(marker):
    if not os.path.isdir("/proc/self"):
        return []
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as cmdline:
                if marker.encode() in cmdline.read():
                    found.append(pid)
        except OSError:
            pass
    return found


@pytest.mark.skipif(bool(UNSEALED), reason="Gradescope grades as root on Linux; here no "
                                           "sandbox works, and run_autograder refuses")
def test_gradescope_bundle_grades_a_submission_into_results_json(tmp_path):
    bundle = tmp_path / "autograder.zip"
    built = subprocess.run([sys.executable, "-m", "grader", "gradescope", "--out", str(bundle),
                            "--lang", "en"], cwd=str(ROOT), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
    assert built.returncode == 0, built.stderr
    source = tmp_path / "source"
    with zipfile.ZipFile(str(bundle)) as archive:
        names = archive.namelist()
        archive.extractall(str(source))
    assert "setup.sh" in names and "run_autograder" in names
    assert not any(name.startswith("reference/chat_") for name in names)
    root = tmp_path / "autograder"
    nested = root / "submission" / "my lab"
    nested.mkdir(parents=True)
    shutil.copy(str(ROOT / "reference" / "chat_client.py"), str(nested / "chat_client.py"))
    shutil.copy(str(ROOT / "skeleton" / "chat_server.py"), str(nested / "chat_server.py"))
    run = subprocess.run(["bash", str(source / "run_autograder")], cwd=str(tmp_path),
                         env=dict(os.environ, AUTOGRADER_ROOT=str(root)),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    assert run.returncode == 0, run.stderr.decode("utf-8", "replace")
    results = json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))
    assert isinstance(results["score"], (int, float)) and results["score"] == 40
    assert isinstance(results["execution_time"], (int, float))
    assert len(results["tests"]) == 19
    for test in results["tests"]:
        assert set(test) >= {"name", "score", "max_score", "status", "output", "visibility"}
        assert test["status"] in ("passed", "failed")
        assert test["visibility"] == "visible"


def solution_blocks():
    """The code lines of each of the reference's solution blocks, stripped."""
    blocks = []
    for name in ("chat_client.py", "chat_server.py"):
        block = None
        for line in (ROOT / "reference" / name).read_text(encoding="utf-8").splitlines():
            stripped = line.strip()
            if stripped.startswith("### BEGIN SOLUTION"):
                block = []
            elif stripped.startswith("### END SOLUTION"):
                blocks.append(block)
                block = None
            elif block is not None and stripped and not stripped.startswith("#"):
                block.append(stripped)
    return blocks


def code_lines(path):
    """A file's lines, stripped (a notebook's: its cells' source lines)."""
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix == ".ipynb":
        text = "\n".join("".join(cell.get("source", "")) for cell in json.loads(text)["cells"])
    return [line.strip() for line in text.splitlines()]


#: Lines too common to tell a solution from any socket code (try:, break, ...).
TRIVIAL = ("try:", "except", "else:", "finally:", "break", "continue", "return", "pass",
           "while True:")


def substantive(lines):
    return [line for line in lines if len(line) >= 12 and not line.startswith(TRIVIAL)]


def leaks(lines, blocks, skeleton):
    """Solution blocks (of 4+ substantive lines) of which 60 % or more of the lines are in
    ``lines``, given code the skeleton has too left aside. Walkthroughs may share an idiom
    or two with the solution; they must not hand a TODO's answer out."""
    present = set(lines)
    found = []
    for block in blocks:
        own = [line for line in substantive(block) if line not in skeleton]
        if len(own) >= 4 and sum(line in present for line in own) >= 0.6 * len(own):
            found.append(own[0])
    return found


def test_handout_holds_no_solution_and_its_grader_runs_on_the_skeleton(tmp_path):
    kit = tmp_path / "kit.zip"
    built = subprocess.run([sys.executable, "-m", "grader", "handout", "--out", str(kit)],
                           cwd=str(ROOT), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=60)
    assert built.returncode == 0, built.stderr
    with zipfile.ZipFile(str(kit)) as archive:
        archive.extractall(str(tmp_path / "kit"))
    root = tmp_path / "kit" / "socket-lab"
    blocks = solution_blocks()
    skeleton = "\n".join("\n".join(code_lines(ROOT / "skeleton" / name))
                         for name in ("chat_client.py", "chat_server.py"))
    assert len(blocks) >= 10 and leaks(code_lines(ROOT / "reference" / "chat_server.py"),
                                       blocks, skeleton)  # the check has teeth
    for path in root.rglob("*"):
        if path.is_file() and path.suffix in (".py", ".ipynb", ".md", ".toml", ".ini", ""):
            found = leaks(code_lines(path), blocks, skeleton)
            assert not found, "%s holds solution code: %s" % (path, found[:3])
    assert not (root / "reference" / "chat_client.py").exists()
    graded = subprocess.run([sys.executable, "-m", "grader", "--lang", "en"], cwd=str(root),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    out = graded.stdout.decode("utf-8")
    assert graded.returncode == 0, out + graded.stderr.decode("utf-8", "replace")
    assert "Score 0/100" in out and "GRADER ERROR" not in out
    assert str(root / "skeleton") in out
    reference = subprocess.run([sys.executable, "-m", "grader", "--reference"], cwd=str(root),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    assert reference.returncode == 2
    assert b"no reference solutions" in reference.stderr

"""Each platform's entry point run as the platform runs it, on real submissions from
tests/submissions/: the Gradescope bundle on a folder laid out like Gradescope's /autograder
(hidden checks, the rate limit), PrairieLearn's question folder with its grade.sh on a
/grade-shaped folder, ``--github-classroom`` with a $GITHUB_OUTPUT file, ``--autolab``'s last
line. The fields are checked in memory in tests/test_platforms.py; here, that the real runs
write them. Each docstring cites the platform's page."""

import base64
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SUBMISSIONS = ROOT / "tests" / "submissions"

#: Deadlines of this module's waits (seconds): building a bundle or a question, one
#: grading (a whole rubric takes about 3 s here; a failing hub check its deadlines).
BUILD_TIMEOUT = 60
GRADE_TIMEOUT = 300

pytestmark = pytest.mark.slow


def run(args, timeout=GRADE_TIMEOUT, **kwargs):
    return subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout, **kwargs)


def text_of(completed):
    return "%s\n%s" % (completed.stdout.decode("utf-8", "replace"),
                       completed.stderr.decode("utf-8", "replace"))


def build_bundle(tmp_path, *options):
    """The Gradescope bundle built with ``options``, unzipped: its folder."""
    archive = tmp_path / "autograder.zip"
    built = run([sys.executable, "-m", "grader", "gradescope", "--out", str(archive),
                 "--lang", "en"] + list(options), BUILD_TIMEOUT, cwd=str(ROOT))
    assert built.returncode == 0, text_of(built)
    source = tmp_path / "source"
    with zipfile.ZipFile(str(archive)) as zipped:
        zipped.extractall(str(source))
    return source


def gradescope_root(tmp_path, client, server):
    """A folder laid out like Gradescope's /autograder, the two files submitted."""
    root = tmp_path / "autograder"
    (root / "submission").mkdir(parents=True)
    shutil.copy(str(client), str(root / "submission" / "chat_client.py"))
    shutil.copy(str(server), str(root / "submission" / "chat_server.py"))
    return root


def run_autograder(source, root):
    done = run(["bash", str(source / "run_autograder")], cwd=str(source),
               env=dict(os.environ, AUTOGRADER_ROOT=str(root)))
    assert done.returncode == 0, text_of(done)
    return json.loads((root / "results" / "results.json").read_text(encoding="utf-8")), done


def test_the_bundle_shows_a_held_back_check_with_its_visibility(tmp_path):
    """Gradescope's autograder specifications, "Controlling Test Case Visibility"
    (https://gradescope-autograders.readthedocs.io/en/latest/specs/): the bundle built with
    ``--visibility hub_room_full=after_due_date``, run on a Gradescope-shaped folder with a
    real submission whose hub takes listen()'s backlog for a cap (tests/submissions/
    hub-listen-backlog, which fails exactly that check): the check runs, scores, and is
    after_due_date; every other check is visible; the visible summary neither counts nor
    names it; tags and extra_data.check are there."""
    source = build_bundle(tmp_path, "--visibility", "hub_room_full=after_due_date")
    root = gradescope_root(tmp_path, ROOT / "reference" / "chat_client.py",
                           SUBMISSIONS / "hub-listen-backlog" / "chat_server.py")
    results, _ = run_autograder(source, root)
    assert results["output_format"] == results["test_output_format"] == "text"
    tests = {test["extra_data"]["check"]: test for test in results["tests"]}
    assert len(tests) == 19
    held = tests.pop("hub_room_full")
    assert held["visibility"] == "after_due_date"
    assert held["status"] == "failed" and held["max_score"] == 2 and held["tags"][0] == "hub"
    assert "listen-backlog" in held["tags"]
    assert {test["visibility"] for test in tests.values()} == {"visible"}
    assert all(test["tags"][0] == test["extra_data"]["part"] for test in tests.values())
    assert results["score"] == sum(test["score"] for test in results["tests"])
    assert "Score %g/98" % (results["score"] - held["score"]) in results["output"]
    assert held["number"] not in results["output"]
    assert "1 more checks (2 points)" in results["output"]


def test_the_bundle_over_its_rate_limit_shows_the_last_graded_results(tmp_path):
    """Gradescope's "Submission Metadata", "Rate limiting schemes"
    (https://gradescope-autograders.readthedocs.io/en/latest/submission_metadata/): with
    ``--rate-limit 1/24`` and one graded submission an hour before this one's created_at,
    run_autograder grades nothing and results.json is that submission's results with the
    message on top; without the option the same folder is graded."""
    previous = {"score": 61.0, "output": "the earlier report", "tests": []}
    metadata = {"id": 2, "created_at": "2026-12-02T10:00:00.000000+08:00",
                "assignment": {"title": "socket lab"}, "users": [],
                "previous_submissions": [{"submission_time": "2026-12-02T09:00:00.000000+08:00",
                                          "score": 61.0, "results": previous}]}
    root = gradescope_root(tmp_path, SUBMISSIONS / "client-syntax-error" / "chat_client.py",
                           ROOT / "skeleton" / "chat_server.py")
    (root / "submission_metadata.json").write_text(json.dumps(metadata), encoding="utf-8")
    limited, done = run_autograder(build_bundle(tmp_path, "--rate-limit", "1/24"), root)
    assert limited["score"] == 61.0 and limited["extra_data"] == {"rate_limited": True}
    assert limited["output"].endswith("the earlier report")
    assert "not graded" in limited["output"] and "over the rate limit" in text_of(done)
    shutil.rmtree(str(tmp_path / "source"))
    graded, _ = run_autograder(build_bundle(tmp_path), root)
    assert len(graded["tests"]) == 19 and graded["score"] == 0


def prairielearn_question(tmp_path):
    out = tmp_path / "course"
    built = run([sys.executable, "-m", "grader", "prairielearn-question", "--out", str(out),
                 "--lang", "en", "--uuid", "6e4c30d8-6a52-4a5b-9d67-3b8a8d2e5f11"],
                BUILD_TIMEOUT, cwd=str(ROOT))
    assert built.returncode == 0, text_of(built)
    return out


def grade_on_prairielearn(out, tmp_path, client, server):
    """grade.sh run as PrairieLearn runs the entrypoint, on a /grade-shaped folder, with
    ``python3`` this test's Python (the image's python3 has pytest)."""
    grade = tmp_path / "grade"
    shutil.rmtree(str(grade), ignore_errors=True)
    (grade / "student").mkdir(parents=True)
    shutil.copy(str(client), str(grade / "student" / "chat_client.py"))
    shutil.copy(str(server), str(grade / "student" / "chat_server.py"))
    shim = tmp_path / "bin"
    shim.mkdir(exist_ok=True)
    if not (shim / "python3").exists():
        (shim / "python3").symlink_to(sys.executable)
    env = dict(os.environ, GRADE_ROOT=str(grade),
               PATH=str(shim) + os.pathsep + os.environ.get("PATH", ""))
    done = run(["bash", str(out / "serverFilesCourse" / "socket_lab" / "grade.sh")],
               cwd=str(tmp_path), env=env)
    assert done.returncode == 0, text_of(done)
    path = grade / "results" / "results.json"
    assert path.stat().st_size <= 1000000
    return json.loads(path.read_text(encoding="utf-8"))


def test_the_prairielearn_question_grades_a_submission(tmp_path):
    """PrairieLearn's "External Grading" (https://prairielearn.readthedocs.io/en/latest/externalGrading/):
    the question folder's info.json names grade.sh under /grade/serverFilesCourse as its
    entrypoint; run there on a real submission (tests/submissions/bug-client-q-in-text with
    the reference server), it writes /grade/results/results.json, gradable, score in
    0..1, a test per check; a client with a syntax error (tests/submissions/
    client-syntax-error) is not gradable, with format_errors."""
    out = prairielearn_question(tmp_path)
    info = json.loads((out / "questions" / "socketLabChat" / "info.json").read_text(encoding="utf-8"))
    entry = info["externalGradingOptions"]["entrypoint"]
    assert entry == "/grade/serverFilesCourse/socket_lab/grade.sh"
    assert (out / "serverFilesCourse" / entry[len("/grade/serverFilesCourse/"):]).is_file()
    assert "<pl-file-upload" in (out / "questions" / "socketLabChat" / "question.html").read_text(encoding="utf-8")
    data = grade_on_prairielearn(out, tmp_path, SUBMISSIONS / "bug-client-q-in-text" / "chat_client.py",
                                 ROOT / "reference" / "chat_server.py")
    assert data["gradable"] is True and 0.0 < data["score"] < 1.0
    assert len(data["tests"]) == 19
    assert sum(test["points"] for test in data["tests"]) == pytest.approx(data["score"] * 100, abs=0.01)
    broken = grade_on_prairielearn(out, tmp_path, SUBMISSIONS / "client-syntax-error" / "chat_client.py",
                                   ROOT / "reference" / "chat_server.py")
    assert broken["gradable"] is False and "score" not in broken
    assert broken["format_errors"][0].startswith("syntax-error: chat_client.py, line")


def test_github_classroom_output_is_what_the_reporter_decodes(tmp_path):
    """classroom-resources/autograding-grading-reporter (src/main.js): the runner's
    ``result`` output, base64 JSON, read from the step's $GITHUB_OUTPUT; graded here on a
    real submission (tests/submissions/bug-client-q-in-text, client part)."""
    output = tmp_path / "github_output"
    done = run([sys.executable, "-m", "grader", "--lang", "en", "--part", "client",
                "--client", str(SUBMISSIONS / "bug-client-q-in-text" / "chat_client.py"),
                "--server", str(ROOT / "reference" / "chat_server.py"), "--github-classroom"],
               cwd=str(tmp_path), env=dict(os.environ, GITHUB_OUTPUT=str(output)))
    assert done.returncode == 0, text_of(done)
    name, _, value = output.read_text(encoding="utf-8").strip().partition("=")
    assert name == "result"
    runner = json.loads(base64.b64decode(value).decode("utf-8"))
    assert runner["version"] == 1 and runner["status"] == "fail" and runner["max_score"] == 40
    assert [test["status"] for test in runner["tests"]].count("fail") >= 1
    assert "Score %g/40" % sum(test["score"] for test in runner["tests"]) in text_of(done)
    missing = run([sys.executable, "-m", "grader", "--github-classroom"], cwd=str(tmp_path),
                  env={name: value for name, value in os.environ.items() if name != "GITHUB_OUTPUT"})
    assert missing.returncode == 2 and "GITHUB_OUTPUT is not set" in text_of(missing)


def test_autolab_reads_the_scores_from_the_last_line(tmp_path):
    """Autolab's "Lab Hooks", "Autoresult Parsing" (https://docs.autolabproject.com/lab-hooks/):
    the last non-empty line of the output, JSON with ``scores`` by problem; graded on a
    real submission (tests/submissions/hub-listen-backlog with the reference client)."""
    done = run([sys.executable, "-m", "grader", "--lang", "en", "--autolab",
                "--client", str(ROOT / "reference" / "chat_client.py"),
                "--server", str(SUBMISSIONS / "hub-listen-backlog" / "chat_server.py")],
               cwd=str(tmp_path))
    assert done.returncode == 0, text_of(done)
    lines = [line for line in done.stdout.decode("utf-8").splitlines() if line.strip()]
    scores = json.loads(lines[-1])["scores"]
    assert list(scores) == ["client", "p2p", "hub"]
    assert scores["client"] == 40 and scores["p2p"] == 30 and scores["hub"] < 30
    assert "Score %g/100" % sum(scores.values()) in done.stdout.decode("utf-8")

"""The sandbox of batch and Gradescope, part by part (grader/_bwrap.py, grader/_sandbox.py,
grader/batch.py): the copy that follows no link, the CSV a spreadsheet cannot evaluate,
the environment from an allowlist, the grader copy student uids cannot read, the uid
pool, the banner and the refusal, pipes held by an escaped grandchild, the fallbacks
(unshare, a uid only) and the normal user's path, tried with a throwaway user.

The whole hostile class is tests/test_sandbox_class.py.
"""

import csv
import io
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from grader import _bwrap, _sandbox, gradebook
from grader import batch as batching
from grader.process import ChildProcess
from grader.results import SubmissionResult
from grader.run import grade
from tests.conftest import ROOT

LINUX_ROOT = sys.platform == "linux" and os.geteuid() == 0
HOSTILE = ROOT / "tests" / "hostile"
KEYWORD = "client_sends or hub_q"


# ------------------------------------------------------------------ copying, the CSV

@pytest.mark.skipif(os.name != "posix", reason="symlinks and fifos as a student makes them")
def test_a_folder_is_copied_without_following_a_link(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET\n", encoding="utf-8")
    os.chmod(str(secret), 0o600)
    student = tmp_path / "student"
    (student / "lab").mkdir(parents=True)
    (student / "lab" / "chat_server.py").write_text("print('hi')\n", encoding="utf-8")
    os.symlink(str(secret), str(student / "chat_client.py"))
    os.symlink(str(tmp_path), str(student / "lab" / "up"))
    os.mkfifo(str(student / "lab" / "pipe"))
    copy = tmp_path / "copy"
    left_out = batching.unpack(student, copy)
    assert sorted(path.relative_to(copy).as_posix() for path in copy.rglob("*")) == [
        "lab", "lab/chat_server.py"]
    assert any("chat_client.py is a link" in line and str(secret) in line for line in left_out)
    assert any("lab/up is a link" in line for line in left_out)
    assert any("lab/pipe is not a file" in line for line in left_out)
    assert "TOP SECRET" not in "".join(path.read_text(encoding="utf-8")
                                       for path in copy.rglob("*.py"))


def test_a_folder_too_large_for_a_lab_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(batching, "ZIP_MAX_FILES", 3)
    for number in range(5):
        (tmp_path / "student" / ("f%d.py" % number)).parent.mkdir(exist_ok=True)
        (tmp_path / "student" / ("f%d.py" % number)).write_text("x = 1\n", encoding="utf-8")
    with pytest.raises(ValueError, match="too large"):
        batching.unpack(tmp_path / "student", tmp_path / "copy")


def test_csv_cells_that_start_like_a_formula_are_written_as_text(tmp_path):
    names = ['=HYPERLINK("http://x","y")', "+1", "-2", "@SUM(A1)", "\tTAB", "\rCR", "张三",
             "bob"]
    gradebook.write_csv([SubmissionResult(name) for name in names], tmp_path / "grades.csv")
    with open(str(tmp_path / "grades.csv"), encoding="utf-8-sig", newline="") as handle:
        cells = [row[0] for row in csv.reader(handle)][1:]
    assert cells == ["'" + name for name in names[:6]] + ["张三", "bob"]
    with open(str(tmp_path / "grades.csv"), encoding="utf-8-sig", newline="") as handle:
        assert [row[-2:] for row in csv.reader(handle)][1] == ["0", "ok"]  # numbers as they are


# ------------------------------------------------------------ what the sandbox holds

def test_the_grader_gets_an_environment_built_from_an_allowlist(monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s3cr3t")
    monkeypatch.setenv("SSH_AUTH_SOCK", "/tmp/agent")
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    env = _bwrap.sandbox_env()
    assert set(env) <= set(_bwrap.ALLOWED_ENV) | {"PATH", "HOME", "PYTHONPATH"}
    assert env["LANG"] == "zh_CN.UTF-8" and env["HOME"] == "/tmp"
    assert "s3cr3t" not in repr(env) and "/tmp/agent" not in repr(env)


def test_the_sandbox_binds_python_but_never_the_project_nor_where_batch_started(
        tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "path", [str(tmp_path), ""] + sys.path)  # python -m from there
    assert str(tmp_path) not in _bwrap.python_dirs()
    root = os.path.realpath(str(ROOT))
    for path in _bwrap.python_dirs():
        assert not (path == root or path.startswith(root + os.sep) or root.startswith(path + os.sep))
    assert any(os.path.realpath(sys.base_prefix).startswith(path) or path.startswith("/usr")
               for path in _bwrap.python_dirs() + ["/usr"])


@pytest.mark.skipif(os.name != "posix", reason="file modes")
def test_student_uids_can_read_the_launcher_and_nothing_else_of_the_grader(tmp_path):
    tree = _bwrap.prepare_tree(ROOT, tmp_path / "tree")
    mode = lambda path: stat.S_IMODE(os.stat(str(path)).st_mode)  # noqa: E731
    assert mode(tree) == 0o711 and mode(tree / "grader") == 0o711
    for name in _bwrap.LAUNCHER_FILES:
        assert mode(tree / "grader" / name) == 0o644
    for path in tree.rglob("*"):
        if path.parent.name == "grader" and path.name in _bwrap.LAUNCHER_FILES:
            continue
        if path.is_dir():
            assert path == tree / "grader" or mode(path) == 0o700, path
        else:
            assert mode(path) == 0o600, path
    assert (tree / "grader" / "__pycache__").is_dir()  # compiled: the sandbox binds it read-only
    assert not (tree / "reference").exists()


def test_a_uid_that_runs_a_process_is_not_handed_out(monkeypatch):
    busy = {1005}
    monkeypatch.setattr(_sandbox, "processes_of_uid", lambda uid: [(1, "x")] if uid in busy else [])
    pool = batching.UidPool(1000, students=10)
    assert pool.take(3) == 1004
    assert pool.take(4) == 1000 + 1 + 10  # 1005 is busy: the first spare instead
    assert pool.take(3) == 1012  # never the same uid twice in a run


def test_the_banner_says_what_is_missing_and_how_to_get_it():
    none = _bwrap.Sealing(_bwrap.NONE, why="bwrap: not installed")
    text = none.banner()
    assert text.count("MISSING") == 4 and "apt-get install bubblewrap" in text
    assert "没有" in batching.REFUSAL or "拒绝" in batching.REFUSAL
    assert "独立的进程命名空间" in text and "a PID namespace" in text
    assert "unprivileged_userns_clone" in text and "sudo" in text
    assert none.runs_as_instructor
    full = _bwrap.Sealing(_bwrap.BWRAP, "/usr/bin/bwrap", True, ("pid", "net", "fs", "uid"))
    assert "MISSING" not in full.banner() and not full.runs_as_instructor
    user = _bwrap.Sealing(_bwrap.BWRAP, "/usr/bin/bwrap", False, ("pid", "net", "fs"))
    assert user.missing == ("uid",) and not user.runs_as_instructor


def test_off_linux_there_is_no_sandbox_and_batch_says_run_it_on_linux(monkeypatch):
    monkeypatch.setattr(sys, "platform", "darwin")
    sealing = _bwrap.detect()
    assert sealing.kind == _bwrap.NONE and "Linux" in sealing.banner()


def test_batch_refuses_to_run_unsealed_code_as_our_own_user(tmp_path):
    (tmp_path / "class" / "alice").mkdir(parents=True)
    shutil.copy(str(ROOT / "reference" / "chat_client.py"), str(tmp_path / "class" / "alice"))
    said = io.StringIO()
    run = batching.Batch(batching.discover(tmp_path / "class"), tmp_path / "out",
                         progress=said, sealing=_bwrap.Sealing(_bwrap.NONE, why="test"))
    with pytest.raises(batching.SandboxRefused) as refused:
        run.run()
    assert refused.value.code == 2
    assert "MISSING" in said.getvalue() and "--unsafe-no-sandbox" in said.getvalue()
    assert not (tmp_path / "out" / "results").exists()  # nothing was graded


# ------------------------------------------------------------------ processes, pipes

HOLDER = """import os, time
if os.fork() == 0:
    os.setsid()
    print('holding', flush=True)
    time.sleep(60)
    os._exit(0)
time.sleep(60)
"""


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="/proc tells who holds a pipe")
def test_a_killed_programs_pipes_close_even_when_a_grandchild_holds_them(tmp_path):
    (tmp_path / "holder.py").write_text(HOLDER, encoding="utf-8")
    child = ChildProcess([tmp_path / "holder.py"])
    child.wait_for("holding")
    started = time.monotonic()
    child.kill()
    assert time.monotonic() - started < 3.0  # PIPES_GRACE, not the holder's 60 s
    assert child.stdout.closed and child.stderr.closed
    assert not [pid for pid, line in _sandbox.processes_of_uid(os.getuid())
                if str(tmp_path / "holder.py") in line]


FORKER = """import os, time
children = 0
for _ in range(3000):
    try:
        pid = os.fork()
    except OSError as error:
        print('fork failed after %d children' % children, flush=True)
        break
    if pid == 0:
        time.sleep(30)
        os._exit(0)
    children += 1
os.killpg(0, 9)
"""


@pytest.mark.slow
@pytest.mark.skipif(not LINUX_ROOT, reason="a uid of its own needs root (Linux)")
def test_a_sandbox_uid_may_run_its_process_limit_and_no_more(request):
    """The launcher's limits as batch sets them (harden, a uid of its own), with no check's
    deadline: a fork loop stops at PROCESSES, threads and processes together."""
    from grader.settings import RunSettings, launcher_env
    from grader.student import LAUNCHER
    tmp_path = Path(tempfile.mkdtemp(prefix="socket-lab-forker-"))  # pytest's tmp is 0700
    request.addfinalizer(lambda: shutil.rmtree(str(tmp_path), ignore_errors=True))
    os.chmod(str(tmp_path), 0o755)
    (tmp_path / "forker.py").write_text(FORKER, encoding="utf-8")
    uid = _sandbox.FIRST_SANDBOX_UID + 7
    assert not _sandbox.processes_of_uid(uid)
    settings = RunSettings(tmp_path / "forker.py", tmp_path / "forker.py", harden=True,
                           sandbox_uid=uid)
    python = shutil.which("python3", path="/usr/bin:/bin")  # ours may be under /root
    if not python:
        pytest.skip("no system python3 a sandbox uid can run")
    with ChildProcess([tmp_path / "forker.py"], launcher=LAUNCHER, cwd=str(tmp_path),
                      python=python, env=launcher_env(settings, signal_reads=False)) as forker:
        forker.wait_for("fork failed after", timeout=60)
        children = int(forker.stdout.text.split("fork failed after ")[1].split()[0])
    _sandbox.kill_uid(uid)
    assert _sandbox.PROCESSES - 8 <= children < _sandbox.PROCESSES


@pytest.mark.slow
@pytest.mark.skipif(not LINUX_ROOT, reason="bubblewrap's sandbox as root (Linux)")
def test_a_grading_stopped_at_its_deadline_ends_the_whole_sandbox(tmp_path):
    """Killed from outside (the batch's timeout), the sandbox takes everything in it along,
    the daemon the student left included: bubblewrap's --die-with-parent and the PID
    namespace, not the sandbox's own sweep, which never runs."""
    sealing = _bwrap.detect()
    if sealing.kind != _bwrap.BWRAP:
        pytest.skip("bubblewrap does not run here: %r" % (sealing,))
    shutil.copytree(str(HOSTILE / "escaping-daemon"), str(tmp_path / "class" / "daemon"))
    client = tmp_path / "class" / "daemon" / "chat_client.py"
    # The daemon, then no prompt at all: the check waits its whole deadline (3 s) for a
    # connection, so the grading is still under way at the batch's (1.5 s).
    client.write_text(client.read_text(encoding="utf-8").replace(
        "input()", "time.sleep(30)"), encoding="utf-8")
    run = batching.Batch(batching.discover(tmp_path / "class"), tmp_path / "out", jobs=1,
                         lang="en", keyword="client_sends", timeout=1.5, sealing=sealing)
    graded = run.run()
    assert graded[0].status.value == "timeout"
    first, last = run._uids.first + 1, run._uids.last
    assert not [pid for uid in range(first, first + 2) for pid in _sandbox.processes_of_uid(uid)]
    assert not [pid for pid, line in _sandbox.processes_of_uid(0) if str(run.workdir) in line]


# ------------------------------------------------------------------------ fallbacks

def _grade_fallback(tmp_path, sealing):
    """Batch a reference and an escaping daemon with ``sealing``; return the batch's
    result for each, by student, and the reports."""
    classroom = tmp_path / "class"
    (classroom / "honest").mkdir(parents=True)
    for name in ("chat_client.py", "chat_server.py"):
        shutil.copy(str(ROOT / "reference" / name), str(classroom / "honest"))
    shutil.copytree(str(HOSTILE / "escaping-daemon"), str(classroom / "escaping-daemon"))
    run = batching.Batch(batching.discover(classroom), tmp_path / "out", jobs=2, lang="en",
                         keyword=KEYWORD, sealing=sealing, unsafe_no_sandbox=True)
    graded = {one.student: one for one in run.run()}
    reports = {student: (tmp_path / "out" / "reports" / ("%s.txt" % student)).read_text(
        encoding="utf-8") for student in graded}
    return graded, reports, run


@pytest.mark.slow
@pytest.mark.skipif(not LINUX_ROOT, reason="root fallbacks: Linux as root")
@pytest.mark.parametrize("kind", [_bwrap.UNSHARE, _bwrap.UID_ONLY])
def test_root_without_bubblewrap_still_grades_honestly_and_ends_what_students_leave(
        tmp_path, kind):
    sealing = _bwrap.detect(which=lambda name: None if name == "bwrap" else shutil.which(name))
    if kind == _bwrap.UID_ONLY:
        sealing = _bwrap.Sealing(_bwrap.UID_ONLY, None, True, ("uid",), "test")
    elif sealing.kind != _bwrap.UNSHARE:
        pytest.skip("unshare cannot make namespaces here: %r" % (sealing,))
    graded, reports, run = _grade_fallback(tmp_path, sealing)
    alone = grade(ROOT / "reference" / "chat_client.py", ROOT / "reference" / "chat_server.py",
                  keyword=KEYWORD)
    assert graded["honest"].total == alone.score and graded["honest"].ok
    assert graded["escaping-daemon"].ok and graded["escaping-daemon"].total == 0
    assert "still running when grading ended, killed" in reports["escaping-daemon"]
    assert any("MISSING" in line for line in run.log_lines)  # the banner said what is not there

    first, last = run._uids.first + 1, run._uids.last
    assert not [pid for uid in range(first, first + 3) for pid in _sandbox.processes_of_uid(uid)]


@pytest.mark.skipif(not LINUX_ROOT, reason="unshare's namespaces as root (Linux)")
def test_unshare_hides_the_clones_reference_solutions_the_submissions_and_the_results(
        tmp_path):
    """Without bubblewrap's mount view, the sandbox's first program mounts an empty tmpfs
    over what a student must not read; the host's mounts are untouched."""
    unshare = shutil.which("unshare")
    if not unshare or _bwrap._runs([unshare, "--pid", "--fork", "--mount-proc", "true"]):
        pytest.skip("unshare cannot make namespaces here")
    (tmp_path / "submissions" / "bob").mkdir(parents=True)
    (tmp_path / "submissions" / "bob" / "chat_client.py").write_text("x\n", encoding="utf-8")
    sealing = _bwrap.Sealing(_bwrap.UNSHARE, unshare, True, ("pid", "net", "uid"))
    box = _bwrap.Box(ROOT, tmp_path, tmp_path / "out", tmp_path, uid=None,
                     hidden=[str(ROOT / "reference"), str(tmp_path / "submissions")])
    (tmp_path / "out").mkdir()
    listing = "import os, sys; print(sorted(os.listdir(sys.argv[1])), sorted(os.listdir(sys.argv[2])))"
    argv = sealing.command(["-c", listing, str(ROOT / "reference"),
                            str(tmp_path / "submissions")], box)
    seen = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    assert seen.stdout.decode().strip() == "[] []", seen.stderr
    assert (ROOT / "reference" / "chat_client.py").is_file()  # only inside the sandbox


# ----------------------------------------------------------- the normal user's path

USER = "socketlabprobe"


@pytest.fixture
def throwaway_user():
    """A user of no privilege, made for the test and removed after it (root only)."""
    if not LINUX_ROOT or not shutil.which("useradd") or not shutil.which("runuser"):
        pytest.skip("a throwaway user needs root, useradd and runuser (Linux)")
    subprocess.run(["userdel", USER], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    made = subprocess.run(["useradd", "-M", "-s", "/bin/false", USER], stderr=subprocess.PIPE)
    if made.returncode != 0:
        pytest.skip("useradd failed: %s" % made.stderr.decode("utf-8", "replace"))
    try:
        yield USER
    finally:
        subprocess.run(["userdel", USER], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _as_user(user, argv, cwd, path="/usr/local/bin:/usr/bin:/bin"):
    return subprocess.run(["runuser", "-u", user, "--", "/usr/bin/env", "-i", "PATH=" + path,
                           "HOME=/tmp", "LANG=C.UTF-8"] + argv, cwd=str(cwd),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)


def _kit_for(user_dir):
    """The grader and classroom packages where the throwaway user can read them."""
    kit = user_dir / "kit"
    for package in ("grader", "classroom"):
        shutil.copytree(str(ROOT / package), str(kit / package),
                        ignore=shutil.ignore_patterns("__pycache__"))
    return kit


@pytest.mark.slow
def test_a_normal_user_learns_whether_user_namespaces_work_and_is_refused_without_them(
        request, throwaway_user):
    python = shutil.which("python3", path="/usr/bin:/bin")
    if not python:
        pytest.skip("no system python3 the throwaway user can run")
    home = Path(tempfile.mkdtemp(prefix="socket-lab-user-"))  # pytest's tmp is root's, 0700
    request.addfinalizer(lambda: shutil.rmtree(str(home), ignore_errors=True))
    kit = _kit_for(home)
    (home / "class" / "alice").mkdir(parents=True)
    shutil.copy(str(ROOT / "reference" / "chat_client.py"), str(home / "class" / "alice"))
    subprocess.run(["chown", "-R", throwaway_user, str(home)], check=True)
    probe = _as_user(throwaway_user, [python, "-c", "from grader import _bwrap; "
                                      "s = _bwrap.detect(); print(s.kind, s.privileged, "
                                      "' '.join(s.missing))"], kit)
    assert probe.returncode == 0, probe.stderr
    kind, privileged, missing = (probe.stdout.decode().split(" ", 2) + [""])[:3]
    assert privileged == "False"
    userns = _as_user(throwaway_user, ["unshare", "--user", "true"], kit).returncode == 0
    bwrap = shutil.which("bwrap") is not None
    assert (kind == _bwrap.BWRAP) == (bwrap and userns), (kind, bwrap, userns)
    if kind == _bwrap.BWRAP:
        assert missing.strip() == "uid"  # their own uid, inside the user namespace
    # Without bwrap on PATH (or without user namespaces): no sandbox, and batch refuses.
    empty = home / "emptybin"
    empty.mkdir()
    refused = _as_user(throwaway_user, [python, "-m", "grader", "batch", str(home / "class"),
                                        "--out", str(home / "out"), "--jobs", "1"], kit,
                       path=str(empty))
    said = refused.stderr.decode("utf-8", "replace")
    assert refused.returncode == 2, said
    assert "sandbox: " in said and said.count("MISSING") == 4
    assert "--unsafe-no-sandbox" in said and "拒绝" in said
    assert not (home / "out" / "results").exists() or not list((home / "out" / "results").iterdir())


def _python_for(user_argv):
    """``user_argv`` run so the throwaway user can use our Python: as it is, or, when the
    interpreter lives under root's 0700 home (pyenv), inside a mount namespace (bubblewrap,
    as root) where only its folder there is open."""
    prefix = os.path.realpath(sys.base_prefix)
    if not prefix.startswith("/root/"):
        return user_argv
    top = "/root/" + prefix.split("/")[2]
    return ["bwrap", "--dev-bind", "/", "/", "--tmpfs", "/root", "--ro-bind", top, top,
            "--"] + user_argv


@pytest.mark.slow
def test_a_normal_users_batch_is_sealed_by_bubblewrap_in_a_user_namespace(
        request, throwaway_user):
    """As a normal user with user namespaces, bubblewrap seals each student's grading as
    that user's own uid: honest students score what grading alone gives, the daemon ends
    with its grading, the grader cannot be edited, no secret gets in; kill -1 ends only
    that student's own grading, not the batch."""
    sealing = _bwrap.detect(privileged=False)
    if sealing.kind != _bwrap.BWRAP:
        pytest.skip("no bubblewrap with user namespaces here: %r" % (sealing,))
    home = Path(tempfile.mkdtemp(prefix="socket-lab-user-"))
    request.addfinalizer(lambda: shutil.rmtree(str(home), ignore_errors=True))
    kit = _kit_for(home)
    classroom = home / "class"
    (classroom / "honest").mkdir(parents=True)
    for name in ("chat_client.py", "chat_server.py"):
        shutil.copy(str(ROOT / "reference" / name), str(classroom / "honest"))
    attacks = ("escaping-daemon", "grader-source-editor", "environment-reader",
               "results-forger", "kill-parent-and-all")
    for student in attacks:
        shutil.copytree(str(HOSTILE / student), str(classroom / student))
    subprocess.run(["chown", "-R", throwaway_user, str(home)], check=True)
    argv = ["runuser", "-u", throwaway_user, "--", "/usr/bin/env", "-i",
            "PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/tmp", "LANG=C.UTF-8",
            "SECRET_TOKEN=s3cr3t", os.path.realpath(sys.executable), "-m", "grader", "batch",
            str(classroom), "--out", str(home / "out"), "--jobs", "2", "--lang", "en",
            "-k", KEYWORD]
    run = subprocess.run(_python_for(argv), cwd=str(kit), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, timeout=300)
    said = run.stderr.decode("utf-8", "replace")
    assert run.returncode in (0, 3), said
    assert "sandbox: bubblewrap" in said and said.count("MISSING") == 1  # the uid of its own
    with open(str(home / "out" / "grades.csv"), encoding="utf-8-sig", newline="") as handle:
        rows = {row[0]: row for row in csv.reader(handle)}
    alone = grade(ROOT / "reference" / "chat_client.py", ROOT / "reference" / "chat_server.py",
                  keyword=KEYWORD)
    assert rows["honest"][-2:] == ["%g" % alone.score, "ok"]
    reports = {student: (home / "out" / "reports" / ("%s.txt" % student)).read_text(
        encoding="utf-8") for student in attacks if student != "kill-parent-and-all"}
    assert "still running when grading ended, killed" in reports["escaping-daemon"]
    assert "grader files it could edit: 0" in reports["grader-source-editor"]
    assert "SECRET_TOKEN" not in reports["environment-reader"]
    assert rows["results-forger"][-2] == "0"
    # kill -1 as the user, inside the sandbox: its own grading ends, the batch goes on.
    assert rows["kill-parent-and-all"][-1] == "grader-error"
    user_uid = int(subprocess.run(["id", "-u", throwaway_user], stdout=subprocess.PIPE,
                                  check=True).stdout)
    assert _sandbox.processes_of_uid(user_uid) == []

"""A class of hostile and honest submissions, graded by one batch as root in bubblewrap's
sandbox (grader/_bwrap.py), then a second batch right after: every honest student scores
what grading it alone gives, nothing of the first batch survives it (no process, no
listener), the second batch is untouched, and each attack is in its student's report.

The hostile programs are in tests/hostile/ (each says what it does; every loop in them is
bounded). Runs where batch seals with bubblewrap as root (CI's .ci/run installs it), and
is skipped elsewhere with the reason.
"""

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader import _bwrap
from grader.run import grade
from tests.conftest import ROOT

HOSTILE = ROOT / "tests" / "hostile"
SUBMISSIONS = ROOT / "tests" / "submissions"
#: The client's first check, one of the hub's and the join-while-talking check (the one
#: a thread-heavy server failed on the old limits): every attack shows in these.
KEYWORD = "client_sends or hub_q or hub_join_while_talking"


def _sealing():
    if sys.platform != "linux" or os.geteuid() != 0:
        return None
    return _bwrap.detect()


SEALING = _sealing()
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(SEALING is None or SEALING.kind != _bwrap.BWRAP,
                       reason="needs root and a working bubblewrap (Linux): %r" % (SEALING,)),
]

#: Students expected to score what grading alone gives: name -> (client, server).
HONEST = {
    "honest": (ROOT / "reference" / "chat_client.py", ROOT / "reference" / "chat_server.py"),
    "broken-but-honest": (ROOT / "reference" / "chat_client.py",
                          SUBMISSIONS / "p2p-empty-recv" / "chat_server.py"),
}

#: More threads per client than a hub with a send and a receive thread per client has: four
#: (the client's and three that wait for it to end). On the old limits (8 MiB stacks, 128
#: threads per uid) this failed join-while-talking with "can't start new thread" (0/3,
#: measured); it must score what the reference scores.
COMPANION = '''# Honest and thread-heavy: the reference hub with four threads per client (the client's
# and three that wait for it to end). Graded, it must score what the reference scores.
import threading as _threading
_start = _threading.Thread.start
THREADS_PER_CLIENT = 4


def _start_with_companions(self):
    _start(self)
    if not getattr(self, "_companion", False):
        for _ in range(THREADS_PER_CLIENT - 1):
            companion = _threading.Thread(target=self.join, daemon=True)
            companion._companion = True
            _start(companion)


_threading.Thread.start = _start_with_companions
'''

#: What each attack leaves in its student's report.
RECORDED = {
    "escaping-daemon": ["still running when grading ended, killed", "daemon"],
    "listener-sniper": ["still running when grading ended, killed", "sniper"],
    "cross-batch-leftover": ["still running when grading ended, killed", "leftover"],
    "reference-finder": ["reference not found"],
    "symlink": ["chat_client.py is a link", "not followed"],
    "pipe-holder": ["client gone, its pipes still held"],
    "fork-loop": ["children so far"],  # the limit itself: tests/test_sandbox.py
    "memory-under-limit": ["holding 768 MiB", "MemoryError"],
    "kill-parent-and-all": ["could not kill the parent", "now kill -1"],
    "results-forger": ["could not forge /", "result.json"],
    "grader-source-editor": ["grader files it could edit: 0"],
    "big-alloc": ["MemoryError"],
    "big-file": ["File too large"],
    "environment-reader": ["environment: "],
    "disk-filler": ["no space left after"],
}


def make_honest(folder):
    for student, (client, server) in HONEST.items():
        (folder / student).mkdir(parents=True)
        shutil.copy(str(client), str(folder / student / "chat_client.py"))
        shutil.copy(str(server), str(folder / student / "chat_server.py"))


def make_class(folder, secret):
    """The hostile class: tests/hostile/, a thread-heavy honest server, a symlink to a
    root-only file, and the honest students."""
    shutil.copytree(str(HOSTILE), str(folder), ignore=shutil.ignore_patterns("*.md"))
    make_honest(folder)
    heavy = folder / "thread-heavy-server"
    heavy.mkdir(exist_ok=True)
    shutil.copy(str(ROOT / "reference" / "chat_client.py"), str(heavy / "chat_client.py"))
    (heavy / "chat_server.py").write_text(
        COMPANION + (ROOT / "reference" / "chat_server.py").read_text(encoding="utf-8"),
        encoding="utf-8")
    (folder / "symlink").mkdir()
    os.symlink(str(secret), str(folder / "symlink" / "chat_client.py"))
    os.symlink("/etc", str(folder / "symlink" / "etc"))
    return heavy


def run_batch(classroom, out, env=None):
    return subprocess.run(
        [sys.executable, "-m", "grader", "batch", str(classroom), "--out", str(out),
         "--jobs", "2", "--lang", "en", "-k", KEYWORD], cwd=str(ROOT),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600,
        env=dict(os.environ, **(env or {})))


def rows_of(out):
    with open(str(out / "grades.csv"), encoding="utf-8-sig", newline="") as handle:
        table = list(csv.reader(handle))
    return table[0], {row[0]: row for row in table[1:]}


def alone(client, server):
    """check id -> score, grading the two files alone (no batch, no sandbox)."""
    return {check.id: check.score for check in grade(client, server, keyword=KEYWORD).checks}


def batch_traces(out):
    """(scratch folder, first uid, last uid) of the batch that wrote ``out``, from its log:
    what is left of this batch is told apart from other batches running on the machine
    (the suite's workers, other tests)."""
    summary = (out / "summary.txt").read_text(encoding="utf-8")
    found = re.search(r"scratch folder (\S+); sandbox uids (\d+)-(\d+)", summary)
    assert found, summary[-2000:]
    return found.group(1), int(found.group(2)), int(found.group(3))


def sandbox_processes(traces):
    """Processes of the batch's sandbox uids, or that name its scratch folder."""
    folder, first, last = traces
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/status" % pid) as status:
                uid = int(next(line for line in status if line.startswith("Uid:")).split()[1])
            with open("/proc/%s/cmdline" % pid, "rb") as cmdline:
                words = cmdline.read()
        except (OSError, StopIteration, ValueError):
            continue
        if first <= uid <= last or folder.encode() in words:
            found.append((pid, uid, words[:120]))
    return found


def sandbox_listeners(traces):
    """Listening sockets (ss) owned by one of the batch's sandbox uids."""
    _, first, last = traces
    listed = subprocess.run(["ss", "-ltnHe"], stdout=subprocess.PIPE, timeout=30).stdout
    return [line for line in listed.decode("utf-8", "replace").splitlines()
            if any(first <= int(field[4:]) <= last for field in line.split()
                   if field.startswith("uid:") and field[4:].isdigit())]


def check_scores(header, row, expected, student):
    for check, score in expected.items():
        assert row[header.index(check)] == "%g" % score, (student, check, row)


def test_a_hostile_class_is_contained_and_a_batch_after_it_untouched(tmp_path):
    secret = tmp_path / "root-only.txt"
    secret.write_text("TOP SECRET of root\n", encoding="utf-8")
    os.chmod(str(secret), 0o600)
    classroom, out = tmp_path / "class", tmp_path / "out"
    heavy = make_class(classroom, secret)
    forged = out / "results" / "results-forger.json"
    first = run_batch(classroom, out, env={"FORGE_INTO": str(forged), "SECRET_TOKEN": "s3"})
    assert first.returncode == 0, first.stderr.decode("utf-8", "replace")
    banner = first.stderr.decode("utf-8", "replace")
    assert "sandbox: bubblewrap" in banner and "MISSING" not in banner

    # Nothing of the batch survives it: no process, no listener.
    traces = batch_traces(out)
    assert sandbox_processes(traces) == []
    assert sandbox_listeners(traces) == []

    # A second batch right after: what a leftover would spoil, it finds untouched.
    second_class, second_out = tmp_path / "class2", tmp_path / "out2"
    make_honest(second_class)
    second = run_batch(second_class, second_out)
    assert second.returncode == 0, second.stderr.decode("utf-8", "replace")

    header, rows = rows_of(out)
    header2, rows2 = rows_of(second_out)
    for student, (client, server) in HONEST.items():
        by_itself = alone(client, server)
        check_scores(header, rows[student], by_itself, student)
        check_scores(header2, rows2[student], by_itself, student)
    reference = alone(*HONEST["honest"])
    check_scores(header, rows["thread-heavy-server"], reference, "thread-heavy-server")
    assert rows["thread-heavy-server"][header.index("hub_join_while_talking")] != "0"

    reports = {student: (out / "reports" / ("%s.txt" % student)).read_text(encoding="utf-8")
               for student in RECORDED}
    for student, words in RECORDED.items():
        assert rows[student][header.index("total")] == "0", (student, rows[student])
        assert rows[student][header.index("status")] == "ok", (student, rows[student])
        for word in words:
            assert word in reports[student], (student, word, reports[student][-2500:])
    assert "TOP SECRET" not in reports["symlink"]
    assert json.loads(forged.read_text(encoding="utf-8"))["total"] == 0
    assert "forged" not in reports["results-forger"].replace("could not forge", "")
    assert "SECRET_TOKEN" not in reports["environment-reader"]
    assert "FORGE_INTO" not in reports["environment-reader"]
    assert heavy.is_dir()

"""``python -m grader batch``: grade a whole class, one folder (or .zip) per student.

    discover()       find each student's chat_client.py / chat_server.py, however nested
    run_batch()      grade them in parallel, each in a grader process of its own, hardened,
                     with a progress line; results are written as each student finishes
    write_outputs()  grades.csv, summary.txt, from the per-student results on disk

Theory of operation
-------------------
Each submission is copied (or unzipped) into a scratch folder and graded by a separate
``python -m grader`` process, so one student's crash, hang, flood, fork bomb or deleted
file can only end that process, which the batch kills at a deadline and records as such.
The grader process hardens the student's programs (grader/_sandbox.py): resource limits,
and, as root, an unprivileged user of its own per worker. Workers also get port ranges of
their own, so parallel graders never hand two student servers the same port.

A student's result is written (atomically) only after its grader process has ended, so
student code never sees or touches results; ``--resume`` skips students whose result is
on disk, and the CSV is rebuilt from those files, so an interrupted and resumed batch
gives the same CSV as one that ran through.
"""

import concurrent.futures
import csv
import json
import os
import queue
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

from . import _sandbox
from .student import LAUNCHER
from .settings import PortRange, RunSettings, launcher_env
from .process import ChildProcess
from .files import write_atomic

CLIENT, SERVER = "chat_client.py", "chat_server.py"

#: A grader process that takes longer than this is killed; its student is marked so.
SUBMISSION_TIMEOUT = 180.0

#: Limits on what a submission's zip may unpack to.
ZIP_MAX_BYTES = 20 * 1024 * 1024
ZIP_MAX_FILES = 500

#: Ports below the system's ephemeral range (Linux 32768+, Windows 49152+), 1000 per worker.
FIRST_PORT = 20000
PORTS_PER_WORKER = 1000

#: The batch's own files inside --out.
RESULTS_DIR, REPORTS_DIR = "results", "reports"

#: A script the sandbox user must be able to run before batch trusts it with student code.
_PROBE = "import asyncio, codecs, selectors, socket, threading\nprint('ok')\n"


class Submission:
    """One student's files: ``client`` / ``server`` are paths inside ``folder`` or None."""

    def __init__(self, student, source):
        self.student = student
        self.source = Path(source)

    def __repr__(self):
        return "<Submission %s>" % self.student


def student_id(path):
    name = Path(path).name
    return name[:-4] if name.lower().endswith(".zip") else name


def discover(folder):
    """One Submission per folder or .zip directly inside ``folder``, sorted by student."""
    entries = [entry for entry in Path(folder).iterdir()
               if entry.is_dir() or entry.suffix.lower() == ".zip"]
    if not entries:
        raise ValueError("%s holds no student folders or .zip files" % folder)
    return sorted((Submission(student_id(entry), entry) for entry in entries),
                  key=lambda sub: sub.student)


def find_file(folder, name):
    """The shallowest ``name`` under ``folder`` (students nest folders), ignoring caches
    and macOS resource forks; None if there is none."""
    found = [path for path in Path(folder).rglob(name)
             if "__MACOSX" not in path.parts and "__pycache__" not in path.parts]
    return min(found, key=lambda path: (len(path.parts), str(path))) if found else None


def unpack(source, into):
    """Copy a student's folder, or safely unzip their .zip, into ``into``."""
    if source.is_dir():
        shutil.copytree(str(source), str(into), symlinks=False,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        return
    into.mkdir(parents=True)
    with zipfile.ZipFile(str(source)) as archive:
        members = archive.infolist()
        if len(members) > ZIP_MAX_FILES or sum(m.file_size for m in members) > ZIP_MAX_BYTES:
            raise ValueError("the zip is too large to be a chat lab")
        for member in members:
            target = (into / member.filename).resolve()
            if not str(target).startswith(str(into.resolve())):
                raise ValueError("the zip holds a path outside itself: %s" % member.filename)
        archive.extractall(str(into))


# -------------------------------------------------------------------------- sandboxing

def choose_sandbox(workdir):
    """``(python, uid base)`` for student code: as root, a Python the sandbox user can run
    (this one, else the system's python3) and the first sandbox uid; else (ours, None).
    Returns the reason when root cannot drop privileges, for the log."""
    if os.name != "posix" or os.geteuid() != 0:
        return sys.executable, None, ""
    probe = Path(tempfile.mkdtemp(prefix="probe-", dir=str(workdir)))
    (probe / CLIENT).write_text(_PROBE, encoding="utf-8")
    _sandbox.prepare_folder(probe, _sandbox.FIRST_SANDBOX_UID)
    for python in (sys.executable, shutil.which("python3"), "/usr/bin/python3"):
        if not python or not os.path.exists(python):
            continue
        probe_settings = RunSettings(probe / CLIENT, probe / CLIENT, harden=True,
                                     sandbox_uid=_sandbox.FIRST_SANDBOX_UID)
        env = dict(os.environ, **launcher_env(probe_settings, signal_reads=False))
        try:
            run = subprocess.run([python, "-u", str(LAUNCHER), str(probe / CLIENT)], env=env,
                                 cwd=str(probe), stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if run.stdout.strip() == b"ok":
            return python, _sandbox.FIRST_SANDBOX_UID, ""
    return sys.executable, None, ("no Python here can run as an unprivileged user (is it "
                                  "under /root?): student code runs as root, with limits")


# ---------------------------------------------------------------------------- grading

class Batch:
    """A class being graded into ``out``."""

    def __init__(self, submissions, out, jobs=2, resume=False, lang="en",
                 timeout=SUBMISSION_TIMEOUT, progress=None, keyword=None):
        self.submissions = submissions
        self.out = Path(out)
        self.jobs = max(1, int(jobs))
        self.resume = resume
        self.lang = lang
        self.timeout = timeout
        self.progress = progress
        self.keyword = keyword
        self.results = self.out / RESULTS_DIR
        self.reports = self.out / REPORTS_DIR
        self.log_lines = []
        self._lock = threading.Lock()
        self._running = set()
        self._stopping = threading.Event()

    def log(self, line):
        with self._lock:
            self.log_lines.append(line)

    def result_path(self, submission):
        return self.results / ("%s.json" % submission.student)

    def run(self):
        """Grade every submission not already done; returns the results on disk."""
        for folder in (self.out, self.results, self.reports):
            folder.mkdir(parents=True, exist_ok=True)
        self.workdir = Path(tempfile.mkdtemp(prefix="socket-lab-batch-"))
        os.chmod(str(self.workdir), 0o755)
        if os.name == "posix" and os.geteuid() == 0:
            os.chmod(str(self.out), 0o700)  # sandbox users cannot read the results
        self.python, uid_base, why = choose_sandbox(self.workdir)
        if why:
            self.log("warning: " + why)
        todo = [sub for sub in self.submissions
                if not (self.resume and self.result_path(sub).is_file())]
        skipped = len(self.submissions) - len(todo)
        slots = queue.Queue()
        for index in range(self.jobs):
            slots.put(index)
        ticker = Progress(len(self.submissions), skipped, self.progress)
        self._numbers = {sub.student: number for number, sub in enumerate(self.submissions)}
        pool = concurrent.futures.ThreadPoolExecutor(self.jobs)
        try:
            futures = [pool.submit(self._grade_in_slot, sub, slots, uid_base, ticker)
                       for sub in todo]
            for future in concurrent.futures.as_completed(futures):
                future.result()
        except KeyboardInterrupt:
            # Keep what is finished; whoever is half graded leaves no result behind.
            self._stopping.set()
            for future in futures:
                future.cancel()
            for child in list(self._running):
                child.kill()
            raise
        finally:
            pool.shutdown(wait=True)
            ticker.finish()
            shutil.rmtree(str(self.workdir), ignore_errors=True)
        return load_results(self.results)

    def _grade_in_slot(self, submission, slots, uid_base, ticker):
        if self._stopping.is_set():
            return
        slot = slots.get()
        try:
            row = self.grade_one(submission, slot, uid_base)
            if not self._stopping.is_set():
                ticker.done(submission.student, row)
        finally:
            slots.put(slot)

    def grade_one(self, submission, slot, uid_base):
        """Grade one submission in a grader process of its own; write its result."""
        started = time.monotonic()
        scratch = self.workdir / ("%s-%d" % (safe_name(submission.student), slot))
        row = {"student": submission.student, "checks": {}, "total": 0.0, "status": "ok",
               "seconds": 0.0, "notes": []}
        try:
            unpack(submission.source, scratch)
        except (OSError, ValueError, zipfile.BadZipFile) as error:
            row.update(status="unreadable", notes=["cannot unpack: %s" % error])
            return self._write(submission, row, "", None)
        client, server = find_file(scratch, CLIENT), find_file(scratch, SERVER)
        # A uid per student, not per worker: what one student's processes leave behind (a
        # fork bomb's dying children count against their uid's process limit) cannot touch
        # the next student graded by the same worker.
        number = self._numbers[submission.student]
        uid = uid_base + 1 + number if uid_base is not None else None
        _sandbox.prepare_folder(scratch, uid)
        json_path = self.workdir / ("%s-%d.json" % (safe_name(submission.student), slot))
        result_path = json_path.with_suffix(".result.json")
        first_port = FIRST_PORT + slot * PORTS_PER_WORKER
        ports = PortRange(first_port, first_port + PORTS_PER_WORKER - 1)
        args = ["-m", "grader", "--allow-missing", "--lang", self.lang, "--json", str(json_path),
                "--harden", "--student-python", self.python, "--ports", str(ports),
                "--result-json", str(result_path),
                "--client", str(client or scratch / CLIENT),
                "--server", str(server or scratch / SERVER)]
        if uid is not None:
            args += ["--sandbox-uid", str(uid)]
        if self.keyword:
            args += ["-k", self.keyword]
        grader = ChildProcess(args, cwd=str(Path(__file__).resolve().parent.parent))
        self._running.add(grader)
        try:
            status = grader.wait_exit(self.timeout)
            if status is None:
                row["status"] = "timeout"
                self.log("%s: grading took over %.0f s and was stopped"
                         % (submission.student, self.timeout))
        finally:
            grader.kill()
            self._running.discard(grader)
        row["seconds"] = round(time.monotonic() - started, 2)
        report = strip_progress(grader.stdout.text)
        if self._stopping.is_set():
            shutil.rmtree(str(scratch), ignore_errors=True)
            return row  # interrupted: leave no result, so --resume grades it again
        if row["status"] == "ok":
            try:
                gradescope = json.loads(json_path.read_text(encoding="utf-8"))
                graded = json.loads(result_path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                row["status"] = "grader-error"
                gradescope = None
                self.log("%s: the grader failed: %s" % (submission.student,
                                                       grader.stderr.text[-300:].strip()))
            if gradescope is not None:
                row["checks"] = {check["id"]: check["score"] for check in graded["checks"]}
                # What each check is worth: with partial credit a score above 0 is not a pass.
                row["points"] = {check["id"]: check["points"] for check in graded["checks"]}
                row["total"] = graded["score"]
                row["notes"] = sorted({note for check in graded["checks"] for note in check["notes"]})
                if status == 3:
                    row["status"] = "grader-error"
        shutil.rmtree(str(scratch), ignore_errors=True)
        return self._write(submission, row, report, gradescope if row["checks"] else None)

    def _write(self, submission, row, report, gradescope):
        name = safe_name(submission.student)
        if report:
            write_atomic(self.reports / ("%s.txt" % name), report)
        if gradescope is not None:
            write_atomic(self.reports / ("%s.json" % name),
                         json.dumps(gradescope, ensure_ascii=False, indent=2))
        write_atomic(self.result_path(submission), json.dumps(row, ensure_ascii=False))
        return row


def safe_name(student):
    return re.sub(r"[^\w.-]", "_", student, flags=re.UNICODE) or "_"


def strip_progress(text):
    """The report without the live progress line the grader prints first."""
    return re.sub(r"\A(?:评分中 / )?grading: [^\n]*\n+", "", text)


def load_results(folder):
    rows = []
    for path in sorted(Path(folder).glob("*.json")):
        try:
            rows.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue
    return sorted(rows, key=lambda row: row["student"])


# ---------------------------------------------------------------------------- outputs

def check_columns(rows):
    """Check ids in rubric order, as the graded students' results have them."""
    columns = []
    for row in rows:
        for check in row["checks"]:
            if check not in columns:
                columns.append(check)
    return columns


def write_csv(rows, path):
    """grades.csv: student, one column per check, total, status. UTF-8 with a BOM, so that
    Excel shows Chinese names right; other spreadsheets ignore the BOM."""
    columns = check_columns(rows)
    with open(str(path), "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student"] + columns + ["total", "status"])
        for row in rows:
            writer.writerow([row["student"]] + [_number(row["checks"].get(c, "")) for c in columns]
                            + [_number(row["total"]), row["status"]])


def _number(value):
    """A score for the CSV and the summary, at most 2 decimals and no float noise
    (2.9999999 -> "3", 2.5 -> "2.5"); anything else (a missing check's "") as it is."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    return "{:g}".format(round(float(value), 2))


def check_points(rows, check):
    """What ``check`` is worth, from the results that say so; results written before they
    did (an older batch resumed) give the best score anyone got instead."""
    for row in rows:
        if check in row.get("points", {}):
            return row["points"][check]
    return max([row["checks"].get(check, 0) for row in rows] or [0])


def summary(rows, log_lines=(), slowest=5):
    """The class at a glance: pass rate per check, a histogram of totals, the slowest."""
    lines = ["%d students graded" % len(rows)]
    graded = [row for row in rows if row["checks"]]
    problems = [row for row in rows if row["status"] != "ok"]
    if problems:
        lines.append("not graded cleanly: " + ", ".join(
            "%s (%s)" % (row["student"], row["status"]) for row in problems))
    if graded:
        lines += ["", "pass rate per check (full marks; partial credit is not a pass), "
                      "mean score:"]
        for check in check_columns(graded):
            points = check_points(graded, check)
            scores = [row["checks"].get(check, 0) for row in graded]
            passed = sum(1 for score in scores if points and score >= points - 1e-9)
            rate = 100.0 * passed / len(graded)
            mean = "%s/%s" % (_number(statistics.mean(scores)), _number(points))
            lines.append("  %-28s %5.1f%%  %9s  %s" % (check, rate, mean,
                                                       "#" * int(round(rate / 5))))
        totals = [row["total"] for row in graded]
        lines += ["", "scores (median %s, mean %.1f):" % (_number(statistics.median(totals)),
                                                          statistics.mean(totals))]
        buckets = [0] * 10   # 0-9, 10-19, ..., 90-100
        for total in totals:
            buckets[min(max(int(total // 10), 0), 9)] += 1
        for low, count in zip(range(0, 100, 10), buckets):
            lines.append("  %3d-%-3d %4d  %s" % (low, low + 9 if low < 90 else 100,
                                                 count, "#" * count))
    timed = sorted(rows, key=lambda row: -row.get("seconds", 0))[:slowest]
    if timed:
        lines += ["", "slowest:"] + ["  %-24s %6.1f s" % (row["student"], row["seconds"])
                                     for row in timed]
    if log_lines:
        lines += ["", "log:"] + ["  " + line for line in log_lines]
    return "\n".join(lines)


def write_outputs(out, rows, log_lines=()):
    out = Path(out)
    write_csv(rows, out / "grades.csv")
    text = summary(rows, log_lines)
    write_atomic(out / "summary.txt", text + "\n")
    return text


class Progress:
    """done/total and time left, on one line on a terminal, a line per student elsewhere."""

    def __init__(self, total, already, stream):
        self.total, self.count, self.stream = total, already, stream
        self.started = time.monotonic()
        self.fresh = 0
        self.tty = bool(stream is not None and getattr(stream, "isatty", lambda: False)())
        self._lock = threading.Lock()

    def done(self, student, row):
        with self._lock:
            self.count += 1
            self.fresh += 1
            if self.stream is None:
                return
            elapsed = time.monotonic() - self.started
            left = elapsed / self.fresh * (self.total - self.count)
            bar = "#" * int(30 * self.count / self.total)
            line = "[%-30s] %d/%d  %s %g (%s)  about %ds left" % (
                bar, self.count, self.total, student, row["total"], row["status"], left)
            self.stream.write(("\r" + line[:110].ljust(110)) if self.tty else line + "\n")
            self.stream.flush()

    def finish(self):
        if self.tty:
            self.stream.write("\n")

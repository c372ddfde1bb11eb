"""``python -m grader batch``: grade a whole class, one folder (or .zip) per student.

    discover()       find each student's chat_client.py / chat_server.py, however nested
    Batch.run()      grade them in parallel, each in a grader process of its own, hardened,
                     with a progress line; results are written as each student finishes
    load_results()   the students' SubmissionResults, read back from ``results/``

grades.csv and summary.txt are written from those results by grader/gradebook.py.

Theory of operation
-------------------
Each submission is copied (or unzipped) into a scratch folder and graded by a separate
``python -m grader`` process, so one student's crash, hang, flood, fork bomb or deleted
file can only end that process, which the batch kills at a deadline and records as such.
The grader process hardens the student's programs (grader/_sandbox.py): resource limits,
and, as root, an unprivileged user of its own per worker. Workers also get port ranges of
their own, so parallel graders never hand two student servers the same port.

The grader process writes its GradingResult as JSON (``--result-json``); batch reads it
back (``GradingResult.from_dict``) and renders the student's outputs itself: the text
report exactly as ``python -m grader`` prints it into a pipe (the same language and width,
no colours, no progress line) and Gradescope's JSON. Nothing is parsed out of the grader's
stdout. How a grader process ended is classified here, once: its exit status and result
file make a SubmissionResult whose SubmissionStatus says what happened (a process that died
or wrote no result is a GraderError, recorded as GRADER_ERROR with the reason in its log).

A student's result (a SubmissionResult, ``results/<student>.json``) is written
(atomically) only after its grader process has ended, so student code never sees or
touches results; ``--resume`` skips students whose result is on disk, and the CSV is
rebuilt from those files, so an interrupted and resumed batch gives the same CSV as one
that ran through.
"""

import concurrent.futures
import json
import os
import queue
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

from . import _sandbox, console, gradescope, report
from .files import write_atomic
from .results import GraderError, GradingResult, SubmissionResult, SubmissionStatus
from .student import LAUNCHER
from .settings import PortRange, RunSettings, launcher_env
from .process import ChildProcess

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

#: How a grader process (``python -m grader``, grader/__main__.py) ends when it graded:
#: every check ran, or some could not (its result says which).
EXIT_GRADED, EXIT_GRADER_ERROR = 0, 3

#: The end of a failed grader process's stderr kept for the log.
STDERR_TAIL = 300

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

#: Each batch's students get uids of a block of their own, chosen at random among this
#: many blocks of BLOCK_UIDS above FIRST_BLOCK_UID: two batches graded at once on one
#: machine (two courses, two TAs) then share no uid, so a hostile student of one can touch
#: nothing of the other's.
FIRST_BLOCK_UID = 100000
BLOCK_UIDS = 100000
UID_BLOCKS = 20000


def sandbox_uid_block():
    """The first uid of a random block for one batch (uids below 2**31)."""
    return FIRST_BLOCK_UID + random.randrange(UID_BLOCKS) * BLOCK_UIDS


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
        #: The width of the students' reports: what a grader process of ours, whose stdout
        #: is a pipe and whose environment is ours, lays its report out for.
        self.width = console.piped_width()
        self.log_lines = []
        #: Lines of the log that concern every student (how their code was run).
        self._warnings = []
        self._lock = threading.Lock()
        self._running = set()
        self._stopping = threading.Event()

    def log(self, line, graded=None):
        """Add ``line`` to the batch's log (summary.txt) and, with ``graded`` (a
        SubmissionResult), to that student's own log."""
        with self._lock:
            self.log_lines.append(line)
        if graded is not None:
            graded.log.append(line)

    def result_path(self, submission):
        """``results/<student>.json`` of a Submission or a SubmissionResult."""
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
        if uid_base is not None:
            uid_base = sandbox_uid_block()  # this batch's own uids
        if why:
            self.log("warning: " + why)
            self._warnings.append("warning: " + why)
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
            graded = self.grade_one(submission, slot, uid_base)
            if not self._stopping.is_set():
                ticker.done(graded)
        finally:
            slots.put(slot)

    def grade_one(self, submission, slot, uid_base):
        """Grade one submission in a grader process of its own; write its result (unless
        the batch is being stopped). Returns the SubmissionResult."""
        started = time.monotonic()
        scratch = self.workdir / ("%s-%d" % (safe_name(submission.student), slot))
        graded = SubmissionResult(submission.student, log=list(self._warnings))
        try:
            unpack(submission.source, scratch)
        except (OSError, ValueError, zipfile.BadZipFile) as error:
            graded.status = SubmissionStatus.UNREADABLE
            self.log("%s: cannot unpack: %s" % (submission.student, error), graded)
            return self._write(graded)
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
        finally:
            grader.kill()
            self._running.discard(grader)
        graded.seconds = round(time.monotonic() - started, 2)
        if self._stopping.is_set():
            shutil.rmtree(str(scratch), ignore_errors=True)
            return graded  # interrupted: leave no result, so --resume grades it again
        if status is None:
            graded.status = SubmissionStatus.TIMEOUT
            self.log("%s: grading took over %.0f s and was stopped"
                     % (submission.student, self.timeout), graded)
        else:
            try:
                graded.result = read_grader_result(status, result_path)
                if status == EXIT_GRADER_ERROR:
                    graded.status = SubmissionStatus.GRADER_ERROR  # some checks could not run
            except GraderError as error:
                # What the grader said about its failure tells the most; its exit status or
                # the missing result when it said nothing (killed by a signal, say).
                graded.status = SubmissionStatus.GRADER_ERROR
                said = grader.stderr.text[-STDERR_TAIL:].strip()
                self.log("%s: the grader failed: %s" % (submission.student, said or error), graded)
        shutil.rmtree(str(scratch), ignore_errors=True)
        return self._write(graded)

    def _write(self, graded):
        """The student's reports (when there is a result) and their result, each atomically."""
        name = safe_name(graded.student)
        if graded.result is not None:
            write_atomic(self.reports / ("%s.txt" % name),
                         student_report(graded.result, self.lang, self.width))
            if graded.result.checks:
                write_atomic(self.reports / ("%s.json" % name),
                             gradescope.render_json(graded.result, self.lang))
        write_atomic(self.result_path(graded),
                     json.dumps(graded.to_dict(), ensure_ascii=False, indent=1) + "\n")
        return graded


def read_grader_result(status, path):
    """The GradingResult a grader process that ended with exit ``status`` wrote to ``path``.

    GraderError (the grader's failure, not the student's) when the process did not end as
    a grader that graded does (EXIT_GRADED or EXIT_GRADER_ERROR: it died, or refused its
    arguments) or left no readable result.
    """
    if status not in (EXIT_GRADED, EXIT_GRADER_ERROR):
        raise GraderError("the grader process ended with exit status %s" % status)
    try:
        return GradingResult.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, ValueError) as error:
        raise GraderError("the grader process wrote no readable result: %s" % error)


def student_report(result, lang, width):
    """The text report of ``result`` exactly as the student reads it from ``python -m grader
    --lang LANG > file``: no colours, ``width`` columns (console.piped_width), and the blank
    line ``print`` adds after the report's own last line; only the progress line (the marks
    printed as the checks run) is not there."""
    return report.render_text(result, lang=lang, color=False, width=width) + "\n"


def safe_name(student):
    return re.sub(r"[^\w.-]", "_", student, flags=re.UNICODE) or "_"


def load_results(folder):
    """The SubmissionResults in ``folder`` (a batch's results/), sorted by student; a file
    that is not one (half a file cannot be: they are written atomically) is left out."""
    found = []
    for path in sorted(Path(folder).glob("*.json")):
        try:
            found.append(SubmissionResult.from_dict(json.loads(path.read_text(encoding="utf-8"))))
        except (OSError, ValueError):
            continue
    return sorted(found, key=lambda graded: graded.student)


class Progress:
    """done/total and time left, on one line on a terminal, a line per student elsewhere."""

    def __init__(self, total, already, stream):
        self.total, self.count, self.stream = total, already, stream
        self.started = time.monotonic()
        self.fresh = 0
        self.tty = bool(stream is not None and getattr(stream, "isatty", lambda: False)())
        self._lock = threading.Lock()

    def done(self, graded):
        with self._lock:
            self.count += 1
            self.fresh += 1
            if self.stream is None:
                return
            elapsed = time.monotonic() - self.started
            left = elapsed / self.fresh * (self.total - self.count)
            bar = "#" * int(30 * self.count / self.total)
            line = "[%-30s] %d/%d  %s %g (%s)  about %ds left" % (
                bar, self.count, self.total, graded.student, graded.total, graded.status.value,
                left)
            self.stream.write(("\r" + line[:110].ljust(110)) if self.tty else line + "\n")
            self.stream.flush()

    def finish(self):
        if self.tty:
            self.stream.write("\n")

"""``python -m grader batch``: grade a whole class, one folder (or .zip) per student.

    discover()       find each student's chat_client.py / chat_server.py, however nested
    Batch.run()      grade them in parallel, each in a grader process of its own, hardened,
                     with a progress line; results are written as each student finishes
    load_results()   the students' SubmissionResults, read back from ``results/``

grades.csv and summary.txt are written from those results by grader/gradebook.py.

Theory of operation
-------------------
Each submission is copied (or unzipped) into a scratch folder, never following a link
(a link is left out and named in that student's report), and graded by a separate
``python -m grader`` process, so one student's crash, hang, flood, fork bomb or deleted
file can only end that process, which the batch kills at a deadline and records as such.
That process runs sealed off in a sandbox of its own (grader/_bwrap.py: bubblewrap's PID,
network, IPC, UTS and mount namespaces where it works), with its peers and the student's
programs; it hardens those programs (grader/_sandbox.py): resource limits and, as root, an
unprivileged uid unique to the student in this run. What the student left running is
recorded in their report and killed. The batch says at the start, in both languages,
which protections hold here and how to get the missing ones; it refuses to run student
code as the instructor's own user, unsealed, unless told ``unsafe_no_sandbox``. Workers
also get port ranges of their own, so parallel graders never hand two student servers the
same port (where no network namespace separates them).

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
import stat
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

from . import _bwrap, _sandbox, bundle, console, gradescope, report
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
    """Copy a student's folder, or safely unzip their .zip, into ``into``. Returns what was
    left out, as lines for the student's report (links, which are never followed: batch
    runs as root, and a link to a root-only file would put it in the student's copy)."""
    if source.is_dir():
        return copy_folder(source, into)
    into.mkdir(parents=True)
    with zipfile.ZipFile(str(source)) as archive:
        members = archive.infolist()
        if len(members) > ZIP_MAX_FILES or sum(m.file_size for m in members) > ZIP_MAX_BYTES:
            raise ValueError("the zip is too large to be a chat lab")
        for member in members:
            target = (into / member.filename).resolve()
            if not str(target).startswith(str(into.resolve())):
                raise ValueError("the zip holds a path outside itself: %s" % member.filename)
        archive.extractall(str(into))  # zipfile makes no links: a link's entry is a file
    return []


def copy_folder(source, into):
    """Copy the folders and regular files under ``source`` into ``into``, never following a
    link (nor copying one, a device or a pipe) and at most ZIP_MAX_FILES files of
    ZIP_MAX_BYTES in all. Returns a line per thing left out."""
    left_out, count, size = [], 0, 0
    into.mkdir(parents=True)
    pending = [(Path(source), into)]
    while pending:
        folder, target = pending.pop()
        with os.scandir(str(folder)) as entries:
            for entry in sorted(entries, key=lambda entry: entry.name):
                inside = Path(entry.path).relative_to(source).as_posix()
                if entry.name in ("__pycache__",) or entry.name.endswith(".pyc"):
                    continue
                if entry.is_symlink():
                    left_out.append("%s is a link (to %s): not followed, not copied"
                                    % (inside, os.readlink(entry.path)))
                elif entry.is_dir(follow_symlinks=False):
                    (target / entry.name).mkdir()
                    pending.append((Path(entry.path), target / entry.name))
                elif entry.is_file(follow_symlinks=False):
                    count += 1
                    size += entry.stat(follow_symlinks=False).st_size
                    if count > ZIP_MAX_FILES or size > ZIP_MAX_BYTES:
                        raise ValueError("the folder is too large to be a chat lab")
                    _copy_file(entry.path, target / entry.name)
                else:
                    left_out.append("%s is not a file nor a folder: not copied" % inside)
    return left_out


def _copy_file(path, target):
    """Copy one regular file, opened without following a link (it may have become one
    since it was listed)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0))
    with os.fdopen(fd, "rb") as source, open(str(target), "wb") as copy:
        shutil.copyfileobj(source, copy)


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


class SandboxRefused(SystemExit):
    """Student code would run as the instructor's own user with nothing between it and
    their files, and nobody said ``unsafe_no_sandbox``. Exits with status 2 (bad
    arguments: the fix is a flag or a tool), its message already printed."""

    def __init__(self):
        SystemExit.__init__(self, 2)


REFUSAL = ("拒绝运行: 没有沙箱时学生的代码会以你自己的用户身份运行, 能读写你的文件、改评分"
           "程序、杀掉 batch。请按上面的办法获得沙箱, 或者 (只在一次性的机器上) 加 "
           "--unsafe-no-sandbox。\n"
           "refused: with no sandbox, student code would run as your own user, able to read "
           "and change your files and the grader, and to kill the batch. Get a sandbox as "
           "said above, or (on a throwaway machine only) add --unsafe-no-sandbox.")


class UidPool:
    """The students' uids in one batch: ``FIRST + student number``, unless that uid runs a
    process now (a batch of someone else's, a leftover), then the next free one above the
    class. Each is handed out once per run."""

    #: How many uids above the class are tried before giving up.
    SPARE = 1000

    def __init__(self, first, students):
        self.first, self.students = first, students
        self._given = set()
        self._lock = threading.Lock()

    @property
    def last(self):
        """The highest uid this pool may hand out."""
        return self.first + self.students + self.SPARE

    def take(self, number):
        with self._lock:
            wanted = [self.first + 1 + number] + [self.first + 1 + self.students + spare
                                                  for spare in range(self.SPARE)]
            for uid in wanted:
                if uid not in self._given and not _sandbox.processes_of_uid(uid):
                    self._given.add(uid)
                    return uid
        raise GraderError("no free sandbox uid near %d: every one runs a process" % self.first)


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
                 timeout=SUBMISSION_TIMEOUT, progress=None, keyword=None,
                 unsafe_no_sandbox=False, sealing=None, visibility=None):
        """``sealing``: a grader._bwrap.Sealing to use (default: the best one here, see
        ``_bwrap.detect``); ``unsafe_no_sandbox``: run student code unsealed as our own
        user where nothing better works (else that is refused: SandboxRefused)."""
        self.submissions = submissions
        self.out = Path(out)
        self.jobs = max(1, int(jobs))
        self.resume = resume
        self.lang = lang
        self.timeout = timeout
        self.progress = progress
        self.keyword = keyword
        self.unsafe_no_sandbox = unsafe_no_sandbox
        #: Check id -> visibility (``--visibility``), written into the batch's grader copy
        #: as a bundle's options are, so each student's Gradescope JSON says it too.
        self.visibility = dict(visibility or {})
        self.sealing = sealing
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
        #: student -> what the sandbox did about their code, for the end of their report
        self._notes = {}

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

    def _set_visibility(self, tree):
        """The grader copy's options with this batch's visibilities on top (a bundle's own
        rate limit, when batch runs inside one, is kept)."""
        path = bundle.options_file(tree)
        visibility = dict(bundle.visibility_overrides(path), **self.visibility)
        write_atomic(path, bundle.render(visibility, bundle.rate_limit(path)))
        os.chmod(str(path), stat.S_IRUSR | stat.S_IWUSR)  # like the rest of the copy

    def run(self):
        """Grade every submission not already done; returns the results on disk."""
        self.sealing = self.sealing or _bwrap.detect()
        self._announce_sealing()
        for folder in (self.out, self.results, self.reports):
            folder.mkdir(parents=True, exist_ok=True)
        self.workdir = Path(tempfile.mkdtemp(prefix="socket-lab-batch-"))
        os.chmod(str(self.workdir), 0o711)  # sandbox uids may pass through, not list
        if os.name == "posix" and os.geteuid() == 0:
            os.chmod(str(self.out), 0o700)  # sandbox users cannot read the results
        self.tree = _bwrap.prepare_tree(Path(__file__).resolve().parent.parent,
                                        self.workdir / "tree")
        if self.visibility:
            self._set_visibility(self.tree)
        self.python, can_drop = sys.executable, False
        if self.sealing.privileged and self.sealing.kind == _bwrap.BWRAP:
            can_drop = True  # the sandbox binds our Python where any uid can run it
        elif self.sealing.privileged:
            self.python, uid_base, why = choose_sandbox(self.workdir)
            can_drop = uid_base is not None
            if why:
                self.log("warning: " + why)
                self._warnings.append("warning: " + why)
        # This batch's own uids, a free one per student.
        self._uids = UidPool(sandbox_uid_block(), len(self.submissions)) if can_drop else None
        self.log("scratch folder %s; %s" % (self.workdir, "sandbox uids %d-%d" % (
            self._uids.first + 1, self._uids.last) if self._uids else "no sandbox uid"))
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
            futures = [pool.submit(self._grade_in_slot, sub, slots, ticker)
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

    def _announce_sealing(self):
        """Say how student code is sealed (progress stream and log); refuse, with the
        reason, where it would run as our own user unsealed and nobody said it may."""
        banner = self.sealing.banner()
        if self.progress is not None:
            self.progress.write(banner + "\n")
            self.progress.flush()
        for line in banner.splitlines():
            self.log(line)
        if self.sealing.missing:
            self._warnings.append("warning: sandbox %s, missing: %s" % (
                self.sealing.kind, ", ".join(self.sealing.missing)))
            self.log(self._warnings[-1])
        if self.sealing.runs_as_instructor and not self.unsafe_no_sandbox:
            if self.progress is not None:
                self.progress.write(REFUSAL + "\n")
                self.progress.flush()
            raise SandboxRefused()

    def _grade_in_slot(self, submission, slots, ticker):
        if self._stopping.is_set():
            return
        slot = slots.get()
        try:
            graded = self.grade_one(submission, slot)
            if not self._stopping.is_set():
                ticker.done(graded)
        finally:
            slots.put(slot)

    def grade_one(self, submission, slot):
        """Grade one submission in a sealed grader process of its own; write its result
        (unless the batch is being stopped). Returns the SubmissionResult."""
        started = time.monotonic()
        name = "%s-%d" % (safe_name(submission.student), slot)
        scratch = self.workdir / name
        graded = SubmissionResult(submission.student, log=list(self._warnings))
        try:
            for line in unpack(submission.source, scratch):
                self.note(graded, line)
        except (OSError, ValueError, zipfile.BadZipFile) as error:
            graded.status = SubmissionStatus.UNREADABLE
            self.log("%s: cannot unpack: %s" % (submission.student, error), graded)
            shutil.rmtree(str(scratch), ignore_errors=True)
            return self._write(graded)
        client, server = find_file(scratch, CLIENT), find_file(scratch, SERVER)
        # A uid per student, not per worker, and free when it is taken: what one student's
        # processes leave behind cannot touch the next student graded by the same worker.
        uid = self._uids.take(self._numbers[submission.student]) if self._uids else None
        _sandbox.prepare_folder(scratch, uid)
        os.chmod(str(scratch), 0o700)  # nobody else's uid reads it (where no mount hides it)
        box = _bwrap.Box(self.tree, scratch, self.workdir / (name + ".out"),
                         self.workdir / (name + ".etc"), uid, hidden=self._hidden())
        box.results.mkdir(mode=0o700)
        _bwrap.write_etc(box.etc, uid)
        json_path, result_path = box.results / "gradescope.json", box.results / "result.json"
        first_port = FIRST_PORT + slot * PORTS_PER_WORKER
        ports = PortRange(first_port, first_port + PORTS_PER_WORKER - 1)
        args = ["-u", "-m", "grader", "--allow-missing", "--lang", self.lang,
                "--json", str(json_path), "--harden", "--student-python", self.python,
                "--ports", str(ports), "--result-json", str(result_path),
                "--client", str(client or scratch / CLIENT),
                "--server", str(server or scratch / SERVER)]
        if uid is not None:
            args += ["--sandbox-uid", str(uid)]
        if self.keyword:
            args += ["-k", self.keyword]
        if os.name == "posix":
            # ChildProcess runs "python -u ARGS": sh reads a script that runs the sandbox's
            # command (sh -u SCRIPT). Not exec'ing the script itself: a worker forking
            # while another writes its script holds it open, and exec then fails (ETXTBSY).
            command = self.sealing.command(args, box)
            script = _bwrap.wrapper_script(self.workdir / (name + ".sh"), command)
            grader = ChildProcess([str(script)], cwd=str(self.tree), python="/bin/sh")
        else:  # Windows: no sandbox (refused unless unsafe_no_sandbox), our environment
            grader = ChildProcess(args[1:], cwd=str(self.tree))
        self._running.add(grader)
        try:
            status = grader.wait_exit(self.timeout)
        finally:
            grader.kill()
            self._running.discard(grader)
            self._record_leftovers(graded, box)
        graded.seconds = round(time.monotonic() - started, 2)
        if self._stopping.is_set():
            self._clean(box)
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
        self._clean(box)
        return self._write(graded)

    def _hidden(self):
        """What a sandbox without a mount view of its own must hide: the clone's reference
        solutions, the folders the submissions came from, the results."""
        folders = {Path(__file__).resolve().parent.parent / "reference", self.out.resolve()}
        folders |= {sub.source.resolve().parent for sub in self.submissions}
        needed = [self.workdir.resolve()] + [Path(path) for path in _bwrap.python_dirs()]
        return sorted(str(folder) for folder in folders if folder.is_dir() and not any(
            path == folder or folder in path.parents for path in needed))

    def note(self, graded, line):
        """A line about what the sandbox did to this student's code: in the log and at the
        end of the student's own report."""
        with self._lock:
            self._notes.setdefault(graded.student, []).append(line)
        self.log("%s: %s" % (graded.student, line), graded)

    def _record_leftovers(self, graded, box):
        """What the student left running when their grading ended, killed: the sandbox's
        own list (its PID namespace has ended it all already), or, with no PID namespace,
        every process of the student's uid, killed now."""
        found = []
        try:
            found = [tuple(line.split("\t", 1)) for line in
                     box.leftovers.read_text(encoding="utf-8").splitlines() if "\t" in line]
        except OSError:
            pass
        if box.uid is not None and "pid" not in self.sealing.protects:
            found += [(str(pid), line) for pid, line in _sandbox.kill_uid(box.uid)]
        if found:
            self.note(graded, "%d process(es) still running when grading ended, killed: %s"
                      % (len(found), "; ".join("%s %s" % (pid, line[:80])
                                               for pid, line in found[:5])))

    def _clean(self, box):
        for path in (box.scratch, box.results, box.etc):
            shutil.rmtree(str(path), ignore_errors=True)

    def _write(self, graded):
        """The student's reports (when there is a result) and their result, each atomically."""
        name = safe_name(graded.student)
        if graded.result is not None:
            write_atomic(self.reports / ("%s.txt" % name),
                         student_report(graded.result, self.lang, self.width)
                         + batch_notes(self._notes.get(graded.student, ()), self.lang))
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


def batch_notes(notes, lang):
    """The end of a student's report file: what batch's sandbox did about their code (a
    link not followed, processes killed), one line each; nothing when it did nothing."""
    if not notes:
        return ""
    head = "批改时发生的事:" if lang == "zh" else "While grading:"
    return "\n%s\n%s\n" % (head, "\n".join("  - " + line for line in notes))


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

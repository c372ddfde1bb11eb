"""The pytest plugin behind ``python -m grader``: runs the checks, builds one GradingResult.

pytest does what it is good at (collecting checks, fixtures, ``-k``, ``--junitxml``, a
last-resort timeout); this plugin turns each check's outcome into a
:class:`grader.results.CheckResult` with its evidence, and every report is written from
the resulting :class:`grader.results.GradingResult`.

Outcomes, classified here and nowhere else (``is_student_failure``, by the exception's
type, never by its text):
    passed  the check's function returned
    failed  it raised an AssertionError (a ``Finding``, a wait that timed out) or an
            OSError from a socket the student's program broke, or the last-resort timeout
            stopped it (CheckTimeout): the student's code is wrong
    error   anything else (a GraderError, a peer that could not start, a bug in a check, a
            fixture that failed): the grader's own failure, never counted as the student's
            zero; so is a check file that cannot be loaded

The last-resort timeout is pytest-timeout's setting (its ``timeout``, see grader/run.py),
but the timer is this plugin's (pytest-timeout's ``pytest_timeout_set_timer`` /
``pytest_timeout_cancel_timer`` hooks): SIGALRM where there is one, a watchdog thread
elsewhere; either raises CheckTimeout, a type of its own, so that the outcome says what
stopped the check.
"""

import io
import _thread
import itertools
import os
import shutil
import signal
import tempfile
import threading
import time
import tokenize
from pathlib import Path

import pytest

from . import _sandbox, bundle, diagnose, results, scoring
from .settings import PARTS
from .findings import STUDENT_FAILURES, Finding, in_lang
from .peers import Ports, trimmed

#: pytest's own state of a grading run: the plugin in ``config.stash``, each check's Lab
#: in its ``item.stash`` (the lab fixture puts it there; the plugin reads the evidence).
PLUGIN = pytest.StashKey["GraderPlugin"]()
LAB = pytest.StashKey["grader.lab.Lab"]()
#: The file each part grades.
PART_FILE = {"client": "client", "p2p": "server", "hub": "server"}

TAIL_CHARS = 1500
MAX_TRANSCRIPTS = 4

#: What a check stopped by the last-resort timeout says (pytest-timeout's own wording).
TIMEOUT_MESSAGE = "Timeout (>%ss) from pytest-timeout."
#: On a check whose last-resort timer is this plugin's (see pytest_timeout_set_timer): the
#: function that cancels it and puts back what it replaced.
OUR_TIMER = pytest.StashKey[object]()


class CheckTimeout(BaseException):
    """A check stopped by the last-resort timeout: its student's program kept it busy.

    A BaseException, as pytest's own ``pytest.fail`` is, so that neither a check's
    ``except Exception`` nor ``lab.part`` (which catches student failures to score a part
    and go on) can swallow it: the check ends here.
    """


#: A check is a function ``check_<id>`` in ``grader/checks/check_<part>.py``.
CHECK_PREFIX = "check_"


def _unprefixed(name):
    return name[len(CHECK_PREFIX):] if name.startswith(CHECK_PREFIX) else name


def check_id(item):
    return _unprefixed(item.name)


def part_of(item):
    """The part of the rubric ``item`` belongs to: its file's name up to the first
    underscore after ``check_`` (``check_hub.py`` and ``check_hub_room_full.py`` are both
    part hub), so a check can live in a file of its own and still be in its part."""
    return _unprefixed(item.module.__name__.rsplit(".", 1)[-1]).split("_")[0]


class GraderPlugin:
    """Registered by ``python -m grader`` as ``socket-lab``; collects the results."""

    def __init__(self, settings, on_result=None):
        self.settings = settings
        self.client_path = settings.client
        self.server_path = settings.server
        self.lang = settings.lang
        self.on_result = on_result  # called with each CheckResult as it is made
        #: Parts of the rubric to run ("client", "p2p", "hub"); None runs them all.
        self.parts = settings.parts
        #: Starts that got stuck in this run (see grader.lab.Lab) and the ports handed out:
        #: they belong to the run, not to the process, so a second run starts afresh.
        self.stuck_starts = {}
        self.ports = Ports(settings.ports)
        self.result = results.GradingResult(client_path=str(settings.client),
                                            server_path=str(settings.server))
        self.preflight = {}  # "client"/"server" -> (hint id, detail)
        self.collect_errors = []
        #: Check id -> visibility, from the bundle's options (none in a checkout); read in
        #: pytest_configure, where a malformed file becomes a grader error of the run.
        self.visibility_overrides = {}
        self.workdir = None
        self._started = None

    # -- set-up -------------------------------------------------------------------------
    def pytest_configure(self, config):
        config.stash[PLUGIN] = self
        # pytest's own failure text re-parses source files with ast for every failed check
        # (over a second for a skeleton); the report is ours, so the cheap native one will do.
        config.option.tbstyle = "native"
        self.workdir = tempfile.mkdtemp(prefix="socket-lab-")
        config.addinivalue_line("markers", "check(points, zh, short, parts, visibility): a "
                                           "graded check worth `points`; `zh` is its question "
                                           "in Chinese; `visibility` (default visible) says "
                                           "when students see it on Gradescope")
        self._started = time.monotonic()
        try:
            self.visibility_overrides = bundle.visibility_overrides()
        except ValueError as error:
            self.collect_errors.append(str(error))
        for role, path in (("client", self.client_path), ("server", self.server_path)):
            problem = preflight(path)
            if problem:
                self.preflight[role] = problem
                self.result.preflight[problem[0]] = problem[1]

    def pytest_unconfigure(self, config):
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def pytest_collectreport(self, report):
        if report.failed:
            self.collect_errors.append(str(report.longrepr))

    def pytest_collection_modifyitems(self, config, items):
        if self.parts is not None:
            dropped = [item for item in items if part_of(item) not in self.parts]
            if dropped:
                config.hook.pytest_deselected(items=dropped)
                items[:] = [item for item in items if part_of(item) in self.parts]
        items.sort(key=lambda item: PARTS.index(part_of(item)) if part_of(item) in PARTS else 99)
        for item in items:
            marker = item.get_closest_marker("check")
            if marker is not None:
                try:
                    scoring.check_parts(item.name, marker.kwargs.get("points", 0),
                                        marker.kwargs.get("parts", ()))
                except scoring.RubricError as error:
                    self.collect_errors.append(str(error))
                try:
                    self.visibility(item)
                except ValueError as error:
                    self.collect_errors.append(str(error))

    def visibility(self, item):
        """When students may see ``item``'s check: its marker's ``visibility`` (visible when
        it has none), unless the bundle's options override it. ValueError for a value that
        is not one of results.VISIBILITIES."""
        marker = item.get_closest_marker("check")
        marked = marker.kwargs.get("visibility") if marker is not None else None
        return results.visibility_of(check_id(item), marked, self.visibility_overrides)

    # -- the last-resort timer -------------------------------------------------------------
    @pytest.hookimpl(tryfirst=True, optionalhook=True)
    def pytest_timeout_set_timer(self, item, settings):
        """pytest-timeout's timer, made ours: it raises CheckTimeout in the check instead of
        pytest-timeout's failure (which, with pytest's terminal switched off as ours is,
        comes out as a bare AssertionError with the signal method, and with the thread
        method, Windows' only one, never ended the check at all).

        With SIGALRM (POSIX) the alarm's handler raises it. Without (Windows), a watchdog
        thread of ours kills the check's programs (so no wait of the check is held up by
        them) and then interrupts the main thread, whose SIGINT handler, for this check,
        raises CheckTimeout rather than KeyboardInterrupt; the run goes on to the next check
        and the report is written as usual."""
        if threading.current_thread() is not threading.main_thread():
            return None
        message = TIMEOUT_MESSAGE % settings.timeout

        def stop(signum, frame):
            raise CheckTimeout(message)

        if settings.method == "signal" and hasattr(signal, "SIGALRM"):
            signal.signal(signal.SIGALRM, stop)
            signal.setitimer(signal.ITIMER_REAL, settings.timeout)

            def cancel():
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, signal.SIG_DFL)

            item.stash[OUR_TIMER] = cancel
            return True
        fired = threading.Event()
        previous = signal.getsignal(signal.SIGINT)

        def interrupted(signum, frame):
            if fired.is_set():
                raise CheckTimeout(message)
            if callable(previous):
                return previous(signum, frame)
            raise KeyboardInterrupt

        def watchdog():
            fired.set()
            lab = item.stash.get(LAB, None)
            for program in (lab.programs if lab is not None else []):
                program.process.kill()
            _thread.interrupt_main()

        def cancel():
            timer.cancel()
            if fired.is_set():
                # The watchdog fired as the check ended: its interrupt may still be on its
                # way, and must not stop the next check. It is taken, once, and dropped.
                signal.signal(signal.SIGINT, lambda *_: signal.signal(signal.SIGINT, previous))
            else:
                signal.signal(signal.SIGINT, previous)

        signal.signal(signal.SIGINT, interrupted)
        timer = threading.Timer(settings.timeout, watchdog)
        timer.daemon = True
        timer.start()
        item.stash[OUR_TIMER] = cancel
        return True

    @pytest.hookimpl(tryfirst=True, optionalhook=True)
    def pytest_timeout_cancel_timer(self, item):
        cancel = item.stash.get(OUR_TIMER, None)
        if cancel is None:
            return None  # pytest-timeout's own timer: it cancels it
        cancel()
        del item.stash[OUR_TIMER]
        return True

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_call(self, item):
        """A check of a file that cannot run fails at once, with the reason."""
        problem = self.preflight.get(PART_FILE.get(part_of(item), ""))
        if problem:
            hint, detail = problem
            raise Finding("文件无法运行, 这一项没有运行。", "The file cannot run, so this check did not run.",
                          got=detail, hints=[hint], details={hint: detail}, start=True)

    # -- outcomes -----------------------------------------------------------------------
    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        lab = item.stash.get(LAB, None)
        failure = None
        if call.when == "call" and report.passed and lab is not None and lab.failed_parts():
            # A scored part failed inside a check that ran to its end: the check failed
            # (for pytest's own reports too), with that part's failure as its evidence.
            failure = lab.failed_parts()[0]
            report.outcome, report.longrepr = "failed", str(failure)
        if call.when == "call" or (call.when == "setup" and report.failed):
            check = self._check_result(item, call, report, failure)
            self.result.checks.append(check)
            if self.on_result:
                self.on_result(check)

    def _check_result(self, item, call, report, part_failure=None):
        marker = item.get_closest_marker("check")
        points = float(marker.kwargs.get("points", 0)) if marker else 0.0
        doc = (item.function.__doc__ or item.name).strip().splitlines()[0]
        check = results.CheckResult(
            id=check_id(item), part=part_of(item), title_en=doc,
            title_zh=marker.kwargs.get("zh", doc) if marker else doc, points=points,
            duration=call.duration)
        try:
            check.visibility = self.visibility(item)
        except ValueError:
            pass  # reported once, as a collection error; the check stays visible
        short = marker.kwargs.get("short") if marker else None
        if short:
            check.short_zh, check.short_en = short
        lab = item.stash.get(LAB, None)
        notes = [note for program in lab.programs for note in program.notes()] if lab else []
        declared = list(marker.kwargs.get("parts", ())) if marker else []
        student_failure = part_failure is not None or (
            call.when == "call" and is_student_failure(call.excinfo))
        if marker is None:
            check.status, check.error = results.ERROR, "check has no @pytest.mark.check(points=...)"
        elif report.passed:
            check.status, check.score = results.PASSED, points
        elif student_failure:
            check.status = results.FAILED
            error = part_failure if part_failure is not None else call.excinfo.value
            check.evidence = self._evidence(lab, error, item, notes)
        else:
            check.status = results.ERROR
            check.error = clip(report.longreprtext)
        if declared and check.status != results.ERROR:
            check.parts = self._parts(declared, lab)
            check.score = sum(part.score for part in check.parts)
            if check.status == results.PASSED and check.score < points:
                check.status = results.FAILED  # a part was never judged: not a pass
        if lab is not None:
            changed = next(filter(None, (p.prompts_changed() for p in lab.programs)), "")
            check.notes, check.note_details = diagnose.notes_of(notes, changed,
                                                                lab.observations)
        return check

    def _parts(self, declared, lab):
        """The declared parts as judged in ``lab`` (unjudged ones skipped)."""
        judged = lab.part_results if lab is not None else {}
        parts = []
        for part, status in scoring.part_statuses(
                declared, {key: failure is None for key, failure in judged.items()}):
            failure = judged.get(part.id)
            parts.append(results.PartResult(
                id=part.id, title_en=part.en, title_zh=part.zh, points=float(part.points),
                score=float(part.points) if status == scoring.PASSED else 0.0, status=status,
                summary=self._summary(failure) if failure is not None else ""))
        return parts

    def _summary(self, failure):
        if isinstance(failure, Finding):
            return failure.summary(self.lang)
        return str(failure).partition("\n")[0]

    def _evidence(self, lab, error, item, notes):
        lang = self.lang
        is_finding = isinstance(error, Finding)
        message = str(error)
        first, _, rest = message.partition("\n")
        evidence = results.Evidence(
            summary=error.summary(lang) if is_finding else first,
            expected=error.text("expected", lang) if is_finding else "",
            got=error.text("got", lang) if is_finding else trimmed(rest, 1500) if rest else "")
        proposed = list(getattr(error, "hints", []))
        for other in (lab.failed_parts() if lab is not None else []):
            proposed += [hint for hint in getattr(other, "hints", []) if hint not in proposed]
        role = PART_FILE.get(part_of(item), "client")
        if lab is None:
            evidence.hints = proposed
            self._set_cause(evidence, error, role)
            return evidence
        evidence.sent = [in_lang(line, lang) for line in lab.sent]
        zero = lab.started_at
        evidence.transcripts = [peer.describe(entries=10, zero=zero, lang=lang)
                                for peer in lab.peers[:MAX_TRANSCRIPTS]]
        evidence.transcripts += [server.describe(zero=zero, lang=lang) for server in lab.servers]
        programs = lab.programs
        for program in programs:
            if not program.running:
                # All it wrote, before we judge by it; processes it left behind would hold
                # its pipes open, so its whole process group goes first.
                program.process.kill()
        evidence.stdout_tail = "\n".join(timed_tail(p.process.stdout, zero, lang=lang)
                                         for p in programs)
        evidence.stderr_tail = "\n".join(timed_tail(p.process.stderr, zero, lang=lang)
                                         for p in programs)
        path = self.client_path if role == "client" else self.server_path
        limits = [_sandbox.describe_end(p.process.proc.poll()) for p in programs]
        evidence.hints, evidence.hint_details = diagnose.diagnose(
            proposed,
            stderr="\n".join(p.stderr for p in programs),
            notes=notes,
            flooded=any(p.flooded for p in programs),
            source=read_source(path),
            limits=[limit for limit in limits if limit],
            part=part_of(item))
        evidence.hint_details.update({k: v for k, v in getattr(error, "details", {}).items()
                                      if k not in evidence.hint_details})
        self._set_cause(evidence, error, role)
        return evidence

    @staticmethod
    def _set_cause(evidence, error, role):
        """A failure at start-up is one cause for every check it costs: the file's role and
        what the first hint says (the unfinished TODO, the syntax error, the stuck start)."""
        if isinstance(error, Finding) and error.start and evidence.hints:
            first = evidence.hints[0]
            evidence.cause = "%s: %s %s" % (role, first, evidence.hint_details.get(first, ""))

    def pytest_sessionfinish(self, session):
        self.result.execution_time = time.monotonic() - (self._started or time.monotonic())
        for error in self.collect_errors:
            self.result.checks.append(results.GraderError(clip(error)).as_check(
                "collection", "Loading the checks", "加载检查项"))


def is_student_failure(excinfo):
    """Whether a check's exception is the student's failure, by its type: AssertionError
    (incl. findings and missed waits) and socket errors caused by the student's program,
    and the last-resort timeout's CheckTimeout (a check only runs that long when the
    student's program keeps it busy). Anything else, a GraderError first, is the grader's."""
    if excinfo is None or excinfo.errisinstance(results.GraderError):
        return False
    return excinfo.errisinstance(STUDENT_FAILURES + (CheckTimeout,))


def clip(text, lines=25):
    """The last ``lines`` lines of a long text (a traceback's end is where its point is)."""
    kept = text.rstrip().splitlines()
    return "\n".join((["..."] if len(kept) > lines else []) + kept[-lines:])


#: How a run of one repeated output line is folded, per language.
REPEATED = {"en": "[... the line above %d more times ...]", "zh": "[... 上面这一行又重复了 %d 次 ...]"}


def timed_tail(capture, zero, limit=TAIL_CHARS, lines=40, lang="en"):
    """The end of a program's output, each line with the time it arrived (seconds since
    ``zero``, the check's start, as in the transcripts), repeated lines folded."""
    out, timed = [], capture.timed_lines(lines + 1)
    while timed and not timed[-1][1].strip():
        timed.pop()
    for (line, group) in itertools.groupby(timed, key=lambda tl: tl[1]):
        group = list(group)
        stamp = group[0][0]
        shown = "%+8.3fs %s" % (stamp - zero, line) if stamp is not None else " " * 10 + line
        out += [shown] * min(len(group), 2)
        if len(group) > 2:
            out.append(" " * 10 + REPEATED.get(lang, REPEATED["en"]) % (len(group) - 2))
    text = "\n".join(out).rstrip()
    while out and len(text) > limit:
        out.pop(0)
        text = "\n".join(["..."] + out).rstrip()
    return "" if not text.strip() else text


def read_source(path):
    """The text of a student's file as Python reads it (its declared encoding, UTF-8 by
    default, a byte-order mark dropped), undecodable bytes replaced; "" if unreadable."""
    try:
        data = Path(path).read_bytes()
    except OSError:
        return ""
    try:
        return decode_source(data)
    except (UnicodeDecodeError, SyntaxError, LookupError):
        return data.decode("utf-8", "replace")


def decode_source(data):
    """``data`` decoded as Python decodes a source file: the encoding its first lines
    declare (PEP 263), else UTF-8, with a byte-order mark dropped. Raises
    UnicodeDecodeError where Python would refuse to run it."""
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    return data.decode(encoding)


def preflight(path):
    """``(hint id, detail)`` if the file cannot even start: missing, or a syntax error."""
    path = Path(path)
    if not path.is_file():
        return "missing-file", str(path)
    try:
        source = path.read_bytes()
        decode_source(source)
        compile(source, str(path), "exec", dont_inherit=True)
    except UnicodeDecodeError as error:
        # Saved as GBK ("ANSI" on a Chinese Windows): Python will not run it at all.
        return "file-not-utf8", "%s, line %d" % (path.name, source[:error.start].count(b"\n") + 1)
    except SyntaxError as error:
        line = (error.text or "").strip()
        return "syntax-error", "%s, line %s: %s%s" % (
            path.name, error.lineno, error.msg, (" → " + line) if line else "")
    except (ValueError, OSError) as error:  # null bytes, unreadable
        return "syntax-error", "%s: %s" % (path.name, error)
    return None


def checks_dir():
    return Path(__file__).resolve().parent / "checks"


def environment_for_pytest():
    """Plugins installed in the student's Python (Anaconda has many) stay out of the run."""
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"

"""The result model: one grading run, built by the pytest plugin, read by every report.

    GradingResult     the run: files graded, checks, total, time, grader errors
    CheckResult       one check: its points, its outcome, and the evidence of a failure
    PartResult        one scored part of a check (partial credit)
    Evidence          what a failing check saw: what was sent, expected and received,
                      the student's output, and the hints that name the likely mistake
    SubmissionResult  one student of a batch (or of Gradescope): a SubmissionStatus, the
                      GradingResult when there is one, the time taken, what went wrong
    GraderError       the grader's own failure, never the student's zero

Every class has ``to_dict`` (plain JSON-ready data) and ``from_dict`` (its inverse:
``GradingResult.from_dict(r.to_dict()) == r``, through JSON too), so a result crosses a
process boundary as data: the grader process batch starts writes its GradingResult
(``--result-json``), batch reads it back and writes a SubmissionResult to
``results/<student>.json``, and every output (terminal text, Gradescope JSON, CSV, summary)
is rendered from these objects, never from another output's text.

Nothing here touches a socket, a process or a terminal: reports (grader/report.py,
grader/gradescope.py, grader/gradebook.py) are functions of these objects, so they can be
tested with fakes.
"""

import enum
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import List, Optional

#: Outcomes of a check. ``error`` is the grader's own failure (a peer could not start, a
#: bug in a check): it is never counted as the student's zero.
PASSED = "passed"
FAILED = "failed"
ERROR = "error"

#: When students may see a check on Gradescope, in Gradescope's own words (its autograder
#: specifications, "Controlling Test Case Visibility"): always, after the due date, after
#: the grades are published, or never. A check that is not VISIBLE is *held back*: it runs
#: in batch and in the Gradescope bundle, and its code is left out of the students' kit.
VISIBLE = "visible"
AFTER_DUE_DATE = "after_due_date"
AFTER_PUBLISHED = "after_published"
HIDDEN = "hidden"
VISIBILITIES = (VISIBLE, AFTER_DUE_DATE, AFTER_PUBLISHED, HIDDEN)


def _init_args(cls, data, **nested):
    """The constructor arguments of dataclass ``cls`` found in ``data`` (a dict from
    ``to_dict`` or from JSON), with the ``nested`` ones already built; keys that are not
    fields (the derived ``score`` and ``max_score``) are left out. ValueError if ``data``
    is not a dict or lacks a required field."""
    if not isinstance(data, dict):
        raise ValueError("%s: expected a dict, got %s" % (cls.__name__, type(data).__name__))
    names = {item.name for item in fields(cls)}
    # Lists and dicts are copied: the object built shares nothing with ``data``.
    args = {key: list(value) if isinstance(value, list) else
            dict(value) if isinstance(value, dict) else value
            for key, value in data.items() if key in names}
    args.update(nested)
    missing = [item.name for item in fields(cls) if item.name not in args
               and item.default is MISSING and item.default_factory is MISSING]
    if missing:
        raise ValueError("%s: missing %s" % (cls.__name__, ", ".join(missing)))
    return args


@dataclass
class Evidence:
    """What a failing check saw, in the order a student should read it."""

    #: One sentence: what went wrong (already in the report's language).
    summary: str = ""
    #: What the grader's side did (typed lines, messages sent by peers).
    sent: List[str] = field(default_factory=list)
    #: What should have happened.
    expected: str = ""
    #: What actually arrived or was printed (trimmed).
    got: str = ""
    #: Transcripts of the peers involved, already trimmed to a few lines each.
    transcripts: List[str] = field(default_factory=list)
    #: The end of the student program's stdout and stderr (their traceback, if any).
    stdout_tail: str = ""
    stderr_tail: str = ""
    #: Hint ids (keys of grader.hints.HINTS), most likely first.
    hints: List[str] = field(default_factory=list)
    #: Free detail for the hint (a TODO's text, a line number, an exception line).
    hint_details: dict = field(default_factory=dict)
    #: The root cause, when it is one that fails many checks the same way (the program
    #: ends at start-up with an unfinished TODO, a syntax error, a start that never gets
    #: going): a key equal for every check it cost, so a report shows it once with the list
    #: of those checks. Empty when the failure is the check's own.
    cause: str = ""

    @classmethod
    def from_dict(cls, data):
        """The Evidence ``asdict`` (or its JSON) describes."""
        return cls(**_init_args(cls, data))


@dataclass
class PartResult:
    """One scored part of a check (a TA's partial credit): e.g. "closes the connection".

    A check with parts scores the sum of its passed parts; each part has its own line in
    the report, and a failed part carries its one-sentence summary.
    """

    id: str
    title_en: str
    title_zh: str
    points: float
    score: float = 0.0
    #: "passed", "failed", or "skipped" (not reached: an earlier part it needs failed).
    status: str = "failed"
    #: Why it failed, in the report's language (empty when passed).
    summary: str = ""

    @property
    def passed(self):
        return self.status == PASSED

    @classmethod
    def from_dict(cls, data):
        """The PartResult ``asdict`` (or its JSON) describes."""
        return cls(**_init_args(cls, data))


@dataclass
class CheckResult:
    """One check of the rubric and how it went."""

    id: str                      # the check function's name without ``test_``
    part: str                    # "client", "p2p" or "hub"
    title_en: str
    title_zh: str
    points: float
    score: float = 0.0
    status: str = FAILED
    duration: float = 0.0
    evidence: Optional[Evidence] = None
    #: Observations that cost nothing (e.g. code that relies on Windows close()), as
    #: hint ids; details in ``note_details``.
    notes: List[str] = field(default_factory=list)
    note_details: dict = field(default_factory=dict)
    #: For status ERROR: what failed in the grader (English, for the instructor).
    error: str = ""
    #: A short name for the score table (a few words; the question itself heads the
    #: details): empty means the title is used.
    short_en: str = ""
    short_zh: str = ""
    #: The check's scored parts, in order (empty for an all-or-nothing check). With parts,
    #: ``score`` is the sum of the passed parts' points and the status is PASSED only when
    #: every part passed.
    parts: List[PartResult] = field(default_factory=list)
    #: When students may see this check (one of VISIBILITIES): the check marker's
    #: ``visibility``, or the override the Gradescope bundle was built with.
    visibility: str = VISIBLE

    @property
    def passed(self):
        return self.status == PASSED

    @property
    def held_back(self):
        """Whether students do not see this check at once (see VISIBILITIES)."""
        return self.visibility != VISIBLE

    @classmethod
    def from_dict(cls, data):
        """The CheckResult ``asdict`` (or its JSON) describes, its evidence and parts too."""
        evidence = data.get("evidence") if isinstance(data, dict) else None
        return cls(**_init_args(
            cls, data,
            evidence=Evidence.from_dict(evidence) if evidence is not None else None,
            parts=[PartResult.from_dict(part) for part in _list(data, "parts")]))


@dataclass
class GradingResult:
    """A whole run: the files graded and every check, in rubric order."""

    client_path: str = ""
    server_path: str = ""
    checks: List[CheckResult] = field(default_factory=list)
    execution_time: float = 0.0
    #: Problems found before any check ran (a missing file), as hint ids -> detail.
    preflight: dict = field(default_factory=dict)

    @property
    def score(self):
        return sum(check.score for check in self.checks)

    @property
    def max_score(self):
        return sum(check.points for check in self.checks)

    @property
    def grader_errors(self):
        return [check for check in self.checks if check.status == ERROR]

    def to_dict(self):
        """Plain data (JSON-ready) with every field, and the derived score and max_score."""
        data = asdict(self)
        data.update(score=self.score, max_score=self.max_score)
        return data

    @classmethod
    def from_dict(cls, data):
        """The GradingResult ``to_dict`` made (or its JSON): ``from_dict(r.to_dict()) == r``.
        The derived score and max_score are recomputed, not read. ValueError if ``data`` is
        not such a dict."""
        return cls(**_init_args(cls, data, checks=[CheckResult.from_dict(check)
                                                   for check in _list(data, "checks")]))


def _list(data, key):
    """``data[key]`` as a list (absent: empty); ValueError if it is something else."""
    value = data.get(key, []) if isinstance(data, dict) else []
    if not isinstance(value, list):
        raise ValueError("%s: expected a list, got %s" % (key, type(value).__name__))
    return value


def check_visibility(value, where):
    """``value`` if it is one of VISIBILITIES; ValueError naming it and ``where`` it came
    from otherwise."""
    if value not in VISIBILITIES:
        raise ValueError("invalid visibility %r from %s: it is one of %s"
                         % (value, where, ", ".join(VISIBILITIES)))
    return value


def parse_visibility_overrides(texts):
    """``["CHECK=VISIBILITY", ...]`` (the ``--visibility`` options) as a dict check id ->
    visibility; ValueError naming the bad one. A check id is given without ``check_``."""
    overrides = {}
    for text in texts or ():
        check, sep, value = str(text).partition("=")
        check = check.strip()
        if not sep or not check:
            raise ValueError("--visibility takes CHECK=VISIBILITY, such as "
                             "hub_room_full=after_due_date: %r" % text)
        overrides[check[len("check_"):] if check.startswith("check_") else check] = \
            check_visibility(value.strip(), "--visibility %s" % text)
    return overrides


def visibility_of(check_id, marked, overrides):
    """A check's visibility: the override for ``check_id`` if there is one, else what its
    marker says (``marked``, None for none: VISIBLE)."""
    if check_id in (overrides or {}):
        return check_visibility(overrides[check_id], "the overrides of %s" % check_id)
    return check_visibility(marked if marked is not None else VISIBLE,
                            "the check marker of %s" % check_id)


# --------------------------------------------------------------- a student of a batch


class SubmissionStatus(enum.Enum):
    """How grading one student's submission went; the value is what grades.csv says."""

    #: The grader ran to its end (whatever the score).
    OK = "ok"
    #: The submission could not be unpacked (a broken or oversized zip): nothing was run.
    UNREADABLE = "unreadable"
    #: The grader process took longer than the batch allows and was killed.
    TIMEOUT = "timeout"
    #: The grader failed (a GraderError): its process died or wrote no result (no
    #: GradingResult), or a check could not run (a GradingResult with grader errors).
    GRADER_ERROR = "grader-error"


@dataclass
class SubmissionResult:
    """One student of a batch: what ``results/<student>.json`` holds.

    ``result`` is the GradingResult the grader process wrote: always there when the status
    is OK, there with GRADER_ERROR when the run ended but some check could not run, None
    otherwise. ``log`` has this student's lines of the batch's log (what went wrong, for
    the instructor), as the batch printed them.
    """

    student: str
    status: SubmissionStatus = SubmissionStatus.OK
    result: Optional[GradingResult] = None
    #: Wall time of this student's grading, unpacking included.
    seconds: float = 0.0
    log: List[str] = field(default_factory=list)

    @property
    def ok(self):
        return self.status is SubmissionStatus.OK

    @property
    def checks(self):
        """The checks graded, in rubric order (none without a result)."""
        return self.result.checks if self.result is not None else []

    @property
    def total(self):
        """The score; 0 without a result."""
        return self.result.score if self.result is not None else 0.0

    def to_dict(self):
        """Plain data (JSON-ready): the status as its value, the total beside it (for a
        reader of the file; :meth:`from_dict` recomputes it), then the whole result."""
        return {"student": self.student, "status": self.status.value, "total": self.total,
                "seconds": self.seconds, "log": list(self.log),
                "result": self.result.to_dict() if self.result is not None else None}

    @classmethod
    def from_dict(cls, data):
        """The SubmissionResult ``to_dict`` made (or its JSON); ValueError if ``data`` is
        not one (an unknown status included)."""
        if not isinstance(data, dict):
            raise ValueError("SubmissionResult: expected a dict, got %s" % type(data).__name__)
        result = data.get("result")
        return cls(**_init_args(
            cls, data, status=SubmissionStatus(data.get("status", SubmissionStatus.OK.value)),
            result=GradingResult.from_dict(result) if result is not None else None))


# ------------------------------------------------------------------ the grader's own


class GraderError(Exception):
    """The grader's own failure: never the student's zero, always reported as such.

    What counts: a check that cannot run for a reason that is not the student's (a peer or
    classroom server that cannot start, a bug in a check), pytest unable to run the checks,
    a grader process that died or wrote no result. Grader code that finds it cannot do its
    job raises it; any other exception a check raises that is not a student's failure
    (grader.lab.STUDENT_FAILURES, the last-resort timeout) is treated the same.

    It is classified once, where it is caught, and recorded there as data, so that nothing
    downstream reads an error's text to tell what it was:

    - the pytest plugin's outcome of a check: a CheckResult with status ERROR;
    - ``run.grade_run``, from pytest's exit status: a pseudo-check with status ERROR
      (:meth:`as_check`);
    - batch, from the grader process's exit status and its result file: a
      SubmissionResult with status GRADER_ERROR and the reason in its log.
    """

    def as_check(self, id, title_en, title_zh):
        """This failure as a check of its own (part "grader", worth nothing), for a failure
        that belongs to no check of the rubric (loading the checks, running pytest)."""
        return CheckResult(id=id, part="grader", title_en=title_en, title_zh=title_zh,
                           points=0, status=ERROR, error=str(self))

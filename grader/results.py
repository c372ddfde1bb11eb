"""The result model: one grading run, built by the pytest plugin, read by every report.

    GradingResult   the run: files graded, checks, total, time, grader errors
    CheckResult     one check: its points, its outcome, and the evidence of a failure
    Evidence        what a failing check saw: what was sent, expected and received,
                    the student's output, and the hints that name the likely mistake

Nothing here touches a socket, a process or a terminal: reports (terminal text,
Gradescope JSON) are functions of a GradingResult, so they can be tested with fakes.
"""

from dataclasses import asdict, dataclass, field
from typing import List, Optional

#: Outcomes of a check. ``error`` is the grader's own failure (a peer could not start, a
#: bug in a check): it is never counted as the student's zero.
PASSED = "passed"
FAILED = "failed"
ERROR = "error"


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

    @property
    def passed(self):
        return self.status == PASSED


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
        """Plain data (JSON-ready) with every field."""
        data = asdict(self)
        data.update(score=self.score, max_score=self.max_score)
        return data

"""Every broken submission in tests/submissions/ is caught: exactly the checks it should fail
fail, and the hints (or, for code that passes, the notes) name its mistake.

Each variant is graded as a student's would be, with the reference standing in for the file
the student did not break, and only the checks of the broken file run.
"""

import dataclasses
import time

import pytest

from grader.report import render_text
from grader.run import grade
from tests.conftest import ROOT
from tests.submissions.catalog import CLIENT_CHECKS, SERVER_CHECKS, VARIANTS
from tests.submissions.scored import CHECK_POINTS, SCORED

#: Each grades a whole submission (a few seconds, up to the deadlines of a broken one).
pytestmark = pytest.mark.slow

#: The issue's bound on grading one submission.
GRADING_BOUND = 30.0


def grade_variant(variant):
    broken = ROOT / "tests" / "submissions" / variant.slug / ("chat_%s.py" % variant.file)
    if variant.file == "client":
        return grade(broken, ROOT / "reference" / "chat_server.py", parts=["client"])
    return grade(ROOT / "reference" / "chat_client.py", broken, parts=["p2p", "hub"])


def explain(result, ids):
    """The report a student would read, for the checks ``ids`` only: a failure in CI must
    say what the grader saw by itself."""
    if not ids:
        return ""
    only = dataclasses.replace(result, checks=[c for c in result.checks if c.id in ids])
    return "\n" + render_text(only, lang="en", width=100)


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.slug for v in VARIANTS])
def test_broken_submission_is_caught_with_the_right_hint(variant):
    started = time.monotonic()
    result = grade_variant(variant)
    elapsed = time.monotonic() - started

    graded = {check.id for check in result.checks}
    assert graded == set(CLIENT_CHECKS if variant.file == "client" else SERVER_CHECKS)
    assert not result.grader_errors, [c.error for c in result.grader_errors]
    failed = {check.id for check in result.checks if not check.passed}
    must, may = set(variant.expect_fail), set(variant.may_fail)
    assert must <= failed <= must | may, "failed %s, expected %s (may also: %s)%s" % (
        sorted(failed), sorted(must), sorted(may), explain(result, failed - must - may))

    hints = {hint for check in result.checks if check.evidence for hint in check.evidence.hints}
    notes = {note for check in result.checks for note in check.notes}
    if variant.expect_hint is not None:
        where = hints if failed else notes
        assert variant.expect_hint in where, "%s not in %s" % (variant.expect_hint, sorted(where))
    for check in result.checks:
        if not check.passed:
            assert check.evidence.hints, "%s failed without a hint" % check.id
    assert elapsed < GRADING_BOUND, "grading took %.1f s" % elapsed


@pytest.mark.parametrize("scored", SCORED, ids=[s.slug for s in SCORED])
def test_scored_submission_gets_what_a_ta_gives(scored):
    """The corpus of correct-but-different programs (full marks), real bugs (the points a TA
    takes, part by part) and the original framework's facts: every check's score exactly."""
    result = grade_variant(scored)
    assert not result.grader_errors, [c.error for c in result.grader_errors]
    got = {check.id: check.score for check in result.checks}
    expected = {check: scored.scores.get(check, CHECK_POINTS[check]) for check in got}
    assert got == expected, "scores differ: %s%s" % (
        {check: (got[check], expected[check]) for check in got if got[check] != expected[check]},
        explain(result, [check for check in got if got[check] != expected[check]]))
    hints = [hint for check in result.checks if check.evidence for hint in check.evidence.hints]
    notes = {note for check in result.checks for note in check.notes}
    if scored.expect_hint is not None:
        assert scored.expect_hint in (hints if scored.scores else notes), (scored.expect_hint, hints)
    if not scored.scores:
        assert not hints, hints

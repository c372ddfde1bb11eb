"""Autolab: a GradingResult as the autoresult line Autolab reads from the grader's output.

    scores          the score of each part of the rubric ("client", "p2p", "hub")
    autoresult      the line: ``{"scores": {"client": 40, "p2p": 30, "hub": 28}}``

Autolab takes the last non-empty line of the autograder's output as the "autoresult
string" and parses it as JSON (https://docs.autolabproject.com/lab-hooks/#autoresult-parsing):
``scores`` maps each of the assessment's problem names to its score; a ``scoreboard`` list
is optional (https://docs.autolabproject.com/scoreboards/) and not written here. So the
assessment's problems are named after the rubric's parts, and ``python -m grader --autolab``
prints the whole report first and this line last.

A run with grader errors prints no scores: its last line says so, Autolab cannot parse it
and marks the grading as failed, which an instructor sees, instead of a silent zero.
"""

import json

from .settings import PARTS

#: The last line of a run the grader could not finish (not JSON, on purpose).
NO_SCORES = "socket-lab: GRADER ERROR, no scores: see the report above"


def scores(result):
    """Part -> score (points, at most 2 decimals), for each part a check of ``result`` is
    in, in rubric order."""
    graded = [part for part in PARTS if any(check.part == part for check in result.checks)]
    return {part: round(sum(check.score for check in result.checks if check.part == part), 2)
            for part in graded}


def autoresult(result):
    """The autoresult line (no newline): ``{"scores": {...}}``, or NO_SCORES when the run
    had grader errors."""
    if result.grader_errors:
        return NO_SCORES
    return json.dumps({"scores": scores(result)}, sort_keys=False)

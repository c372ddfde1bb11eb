"""Gradescope's results.json: a GradingResult as Gradescope shows it, or why there is none.

    to_gradescope     a GradingResult in results.json's format (a dict)
    render_json       the same as the text of a results.json
    write_json        that text written to a file, atomically
    failure_results   results.json for a submission that could not be graded (a
                      SubmissionResult whose status is not OK): score 0 and the reason
    write_failure     that written to a file, atomically

Gradescope shows one ``output`` per check (a "test") and one for the whole submission. A
check's output is the details block of the terminal report (grader/report.py writes it,
``details_body``), its parts with their points first; a check that shares its root cause
with others carries the cause's heading, and only the first of them the evidence.

A grader error is never a silent zero: a check the grader could not run is "failed" with
an output that starts with GRADER_ERROR_TAG, and a submission the grader could not grade
at all gets a results.json that says so (``failure_results``), never a blank one.
"""

import json

from .files import write_atomic
from .report import (INDENT, MESSAGES, cause_text, check_title, detail_blocks, details_body,
                     format_number, hint_text, notes_lines, number_list, numbered_checks,
                     part_lines)
from .results import ERROR

#: How a grader ERROR's Gradescope output starts, in every language (instructors grep it).
GRADER_ERROR_TAG = "GRADER ERROR"


def _points(value):
    """A score for JSON: a float with at most 2 decimals (no 2.9999999)."""
    return round(float(value), 2)


def _summary(result, groups, lang):
    """The submission-wide ``output``: total, checks not passed, preflight, grader errors."""
    text = MESSAGES[lang]
    lines = [text["total"].format(score=format_number(result.score),
                                  max_score=format_number(result.max_score))]
    failed = [number for _, numbered in groups for number, check in numbered if not check.passed]
    lines.append(text["summary_failed"].format(numbers=number_list(failed)) if failed
                 else text["summary_all_passed"])
    if result.preflight:
        lines += [text["preflight"]] + [
            INDENT + "- " + text["hint"].format(text=hint_text(hint_id, lang, detail))
            for hint_id, detail in result.preflight.items()]
    lines += notes_lines(result.checks, lang)
    if result.grader_errors:
        lines.append(GRADER_ERROR_TAG + ": " + text["run_had_errors"].format(
            count=len(result.grader_errors)))
    return "\n".join(lines)


def _test_outputs(groups, lang):
    """Each check's Gradescope ``output``, by number: the parts with their points, then
    the details block; a check that shares its cause with others carries the cause's
    heading, and only the first of them the evidence (the others point to it)."""
    outputs, earlier = {}, {}
    blocks = {number: (cause, members) for cause, members in detail_blocks(groups)
              for number, _ in members}
    for _, numbered in groups:
        for number, check in numbered:
            if check.passed:
                lines = part_lines(check, lang, True, "")
            else:
                cause, members = blocks[number]
                lines = [cause_text(members, lang)] if cause else []
                if members[0][0] == number:
                    lines += details_body(check, lang, earlier, number, every_part=True)
                else:
                    lines += part_lines(check, lang, True, "")
                    lines.append(MESSAGES[lang]["cause_see"].format(number=members[0][0]))
            if check.status == ERROR:
                tag = GRADER_ERROR_TAG
                if lang != "en":
                    tag += " / " + MESSAGES[lang]["status"][ERROR]
                lines = [tag] + lines
            outputs[number] = "\n".join(lines + notes_lines([check], lang))
    return outputs


def to_gradescope(result, lang="en"):
    """``result`` in Gradescope's results.json format (as a dict, ready for ``json.dump``).

    Top level: score, max_score, execution_time, output, visibility, stdout_visibility,
    tests. Each test, one per check: name ("[part] title"), number ("1.3"), score and
    max_score (floats, at most 2 decimals: a check with parts may score 2.5), status
    ("passed" or "failed": a grader ERROR is "failed" and its output starts with
    GRADER_ERROR_TAG), output (the check's parts with their points, then the details
    block of the terminal report), visibility.
    """
    lang = lang if lang in MESSAGES else "en"
    groups = numbered_checks(result)
    outputs = _test_outputs(groups, lang)
    tests = []
    for part, numbered in groups:
        for number, check in numbered:
            tests.append({
                "name": "[{}] {}".format(part, check_title(check, lang)),
                "number": number,
                "score": _points(check.score),
                "max_score": _points(check.points),
                "status": "passed" if check.passed else "failed",
                "output": outputs[number],
                "visibility": "visible",
            })
    return {
        # The sum of the tests' rounded scores, so the total is what Gradescope shows added up.
        "score": _points(sum(test["score"] for test in tests)),
        "max_score": _points(sum(test["max_score"] for test in tests)),
        "execution_time": int(round(result.execution_time)),
        "output": _summary(result, groups, lang),
        "visibility": "visible",
        "stdout_visibility": "visible",
        "tests": tests,
    }


def render_json(result, lang="en"):
    """``to_gradescope(result, lang)`` as JSON text (UTF-8 characters as they are, indented):
    what batch writes as ``reports/<student>.json`` and the bundle as results.json."""
    return json.dumps(to_gradescope(result, lang), ensure_ascii=False, indent=2)


def write_json(result, path, lang="en"):
    """Write ``render_json(result, lang)`` and a newline to ``path``, atomically
    (grader.files.write_atomic), as ``python -m grader --json`` does. Returns the Path."""
    return write_atomic(path, render_json(result, lang) + "\n")


def failure_results(submission):
    """results.json for ``submission`` (a grader.results.SubmissionResult whose status is
    not OK): score 0, no tests, and an ``output`` that starts with GRADER_ERROR_TAG, names
    the status and gives the submission's log, so that the failure shows on Gradescope."""
    return {"score": 0, "execution_time": 0, "visibility": "visible",
            "output": "%s: the submission could not be graded (%s). %s" % (
                GRADER_ERROR_TAG, submission.status.value, " ".join(submission.log)),
            "tests": []}


def write_failure(submission, path):
    """Write ``failure_results(submission)`` to ``path`` as JSON, atomically. Returns the Path."""
    return write_atomic(path, json.dumps(failure_results(submission), ensure_ascii=False))

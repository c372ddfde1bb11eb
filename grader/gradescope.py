"""Gradescope's results.json: a GradingResult as Gradescope shows it, or why there is none.

    to_gradescope     a GradingResult in results.json's format (a dict)
    render_json       the same as the text of a results.json
    write_json        that text written to a file, atomically
    failure_results   results.json for a submission that could not be graded (a
                      SubmissionResult whose status is not OK): score 0 and the reason
    write_failure     that written to a file, atomically
    rate_limited      results.json for a submission over the bundle's rate limit (from
                      submission_metadata.json), or None: grade it

The format is Gradescope's autograder specifications
(https://gradescope-autograders.readthedocs.io/en/latest/specs/): every text is plain text
(``output_format`` and ``test_output_format`` "text": the report has no Markdown, HTML or
ANSI escapes, and its tables need their spaces kept); each test carries ``tags`` (its part,
then the ids of the hints and notes it shows) and ``extra_data`` (``check``: the check's id,
its part, its true status, its parts' scores), and the ``visibility`` of its check. What
students see at once never gives away a held-back check: the submission's ``output`` counts
and lists the visible checks only (and says how many points are held back), and a visible
check's output never points to a held-back one.

Gradescope shows one ``output`` per check (a "test") and one for the whole submission. A
check's output is the details block of the terminal report (grader/report.py writes it,
``details_body``), its parts with their points first; a check that shares its root cause
with others carries the cause's heading, and only the first of them the evidence.

A grader error is never a silent zero: a check the grader could not run is "failed" with
an output that starts with GRADER_ERROR_TAG, and a submission the grader could not grade
at all gets a results.json that says so (``failure_results``), never a blank one.
"""

import json
from datetime import datetime, timedelta

from .files import write_atomic
from .report import (INDENT, MESSAGES, cause_text, check_title, detail_blocks, details_body,
                     format_number, hint_text, notes_lines, number_list, numbered_checks,
                     part_lines)
from .results import ERROR, VISIBLE

#: How a grader ERROR's Gradescope output starts, in every language (instructors grep it).
GRADER_ERROR_TAG = "GRADER ERROR"

#: What every text of ours is, in Gradescope's words (see the module's docstring).
OUTPUT_FORMAT = "text"

#: Texts of this module only, per language.
TEXTS = {
    "zh": {"held_back": "另有 {count} 项检查 (共 {points} 分) 的结果在截止日期后或成绩发布后公布。",
           "rate_limited": "提交次数限制: 每 {hours} 小时最多评分 {limit} 次。这一次提交 ({at}) 没有评分; "
                           "显示的是你 {previous} 那次提交的结果。{next} 之后可以再提交评分。"},
    "en": {"held_back": "{count} more checks ({points} points) are shown after the due date "
                        "or once grades are published.",
           "rate_limited": "Submission limit: at most {limit} graded submissions every {hours} "
                           "hours. This submission ({at}) was not graded; the results shown "
                           "are those of your submission of {previous}. Your next submission "
                           "after {next} will be graded."},
}


def _points(value):
    """A score for JSON: a float with at most 2 decimals (no 2.9999999)."""
    return round(float(value), 2)


def _summary(result, groups, lang):
    """The submission-wide ``output``, which students see at once: the total, checks not
    passed, preflight, notes and grader errors, of the visible checks only; then how many
    checks (and points) are held back, without their results."""
    text = MESSAGES[lang]
    shown = [check for check in result.checks if check.visibility == VISIBLE]
    held = [check for check in result.checks if check.visibility != VISIBLE]
    lines = [text["total"].format(score=format_number(sum(check.score for check in shown)),
                                  max_score=format_number(sum(check.points for check in shown)))]
    failed = [number for _, numbered in groups for number, check in numbered
              if not check.passed and check.visibility == VISIBLE]
    lines.append(text["summary_failed"].format(numbers=number_list(failed)) if failed
                 else text["summary_all_passed"])
    if held:
        lines.append(TEXTS[lang]["held_back"].format(
            count=len(held), points=format_number(sum(check.points for check in held))))
    if result.preflight:
        lines += [text["preflight"]] + [
            INDENT + "- " + text["hint"].format(text=hint_text(hint_id, lang, detail))
            for hint_id, detail in result.preflight.items()]
    lines += notes_lines(shown, lang)
    errors = [check for check in result.grader_errors if check.visibility == VISIBLE]
    if errors:
        lines.append(GRADER_ERROR_TAG + ": " + text["run_had_errors"].format(count=len(errors)))
    return "\n".join(lines)


def _by_visibility(groups):
    """``groups`` split in two: the visible checks' and the held-back checks', each in the
    same shape (numbers kept), so that causes are shared within one kind only."""
    def keep(visible):
        kept = [(part, [(number, check) for number, check in numbered
                        if (check.visibility == VISIBLE) == visible]) for part, numbered in groups]
        return [(part, numbered) for part, numbered in kept if numbered]
    return keep(True), keep(False)


def _test_outputs(groups, lang):
    """Each check's Gradescope ``output``, by number: the parts with their points, then
    the details block; a check that shares its cause with others carries the cause's
    heading, and only the first of them the evidence (the others point to it)."""
    outputs, earlier = {}, {}
    # A visible check never points to a held-back one for its cause's evidence.
    blocks = {number: (cause, members) for kind in _by_visibility(groups)
              for cause, members in detail_blocks(kind) for number, _ in members}
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


def _tags(check):
    """A test's ``tags``: the check's part, then the hint and note ids it shows, once each."""
    hints = check.evidence.hints if check.evidence is not None else []
    return list(dict.fromkeys([check.part] + list(hints) + list(check.notes)))


def _extra_data(check):
    """A test's ``extra_data``: what an instructor's script needs that the rest lacks."""
    return {"check": check.id, "part": check.part, "status": check.status,
            "duration": round(check.duration, 3),
            "parts": [{"id": part.id, "status": part.status, "score": _points(part.score),
                       "points": _points(part.points)} for part in check.parts]}


def to_gradescope(result, lang="en"):
    """``result`` in Gradescope's results.json format (as a dict, ready for ``json.dump``).

    Top level: score, max_score, execution_time, output, output_format,
    test_output_format, test_name_format, visibility, stdout_visibility, tests. Each test,
    one per check: name ("[part] title"), number ("1.3"), score and max_score (floats, at
    most 2 decimals: a check with parts may score 2.5), status ("passed" or "failed": a
    grader ERROR is "failed" and its output starts with GRADER_ERROR_TAG), output (the
    check's parts with their points, then the details block of the terminal report),
    output_format, tags, visibility (its check's), extra_data (``check``: its id).
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
                "output_format": OUTPUT_FORMAT,
                "tags": _tags(check),
                "visibility": check.visibility,
                "extra_data": _extra_data(check),
            })
    return {
        # The sum of the tests' rounded scores, so the total is what Gradescope shows added up.
        "score": _points(sum(test["score"] for test in tests)),
        "max_score": _points(sum(test["max_score"] for test in tests)),
        "execution_time": int(round(result.execution_time)),
        "output": _summary(result, groups, lang),
        "output_format": OUTPUT_FORMAT,
        "test_output_format": OUTPUT_FORMAT,
        "test_name_format": OUTPUT_FORMAT,
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


# ------------------------------------------------------------------------ rate limiting


def _when(text):
    """An ISO 8601 time of submission_metadata.json ("2018-07-01T14:22:32.365935-07:00")."""
    return datetime.fromisoformat(str(text).replace("Z", "+00:00"))


def _graded(previous):
    """Whether a previous submission was graded (not itself stopped by the rate limit)."""
    results = previous.get("results")
    extra = results.get("extra_data") if isinstance(results, dict) else None
    return not (isinstance(extra, dict) and extra.get("rate_limited"))


def rate_limited(metadata, limit, hours, lang="en"):
    """results.json for this submission if it is over the rate limit, else None (grade it).

    As Gradescope's "Submission Metadata" page describes it
    (https://gradescope-autograders.readthedocs.io/en/latest/submission_metadata/): count
    the ``previous_submissions`` within ``hours`` before this one's ``created_at`` (never
    the clock, so a re-run decides the same); at ``limit`` or more, the submission is not
    graded, and results.json is the latest graded submission's results with a message on
    top, so the student keeps their last score and knows why. A submission stopped here is
    marked (``extra_data.rate_limited``) and does not count: only graded ones use the
    allowance. ``metadata`` is the parsed submission_metadata.json; ValueError (with what
    is wrong) when it lacks what this needs.
    """
    if not isinstance(metadata, dict) or "created_at" not in metadata:
        raise ValueError("submission_metadata.json has no created_at")
    try:
        now = _when(metadata["created_at"])
        previous = [(_when(item["submission_time"]), item)
                    for item in metadata.get("previous_submissions") or []
                    if isinstance(item, dict) and _graded(item)]
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError("submission_metadata.json: a time cannot be read (%s)" % error)
    start = now - timedelta(hours=hours)
    recent = sorted(when for when, _ in previous if start < when <= now)
    if len(recent) < limit:
        return None
    when, latest = max(previous, key=lambda pair: pair[0])
    results = latest.get("results") if isinstance(latest.get("results"), dict) else {
        "score": latest.get("score", 0), "tests": []}
    results = dict(results)
    message = TEXTS[lang if lang in TEXTS else "en"]["rate_limited"].format(
        limit=limit, hours=format_number(hours), at=metadata["created_at"],
        previous=when.isoformat(), next=(recent[-limit] + timedelta(hours=hours)).isoformat())
    results["output"] = message + ("\n\n" + results["output"] if results.get("output") else "")
    extra = dict(results.get("extra_data") or {})
    extra["rate_limited"] = True
    results["extra_data"] = extra
    return results

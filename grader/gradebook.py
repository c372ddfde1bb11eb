"""A class's gradebook: grades.csv and summary.txt, from the students' SubmissionResults.

    write_csv       grades.csv: a row per student, a column per check, total and status
    summary         the class at a glance: pass rates, a histogram, the slowest, the log
    write_outputs   both, into a batch's --out folder

Both are functions of a list of :class:`grader.results.SubmissionResult` (what batch
reads back from ``results/``), so an interrupted and resumed batch, whose results come from
disk, writes the same CSV as one that ran through. A student with no GradingResult (not
unpackable, timed out, a grader that died) has an empty cell for every check, a total of 0
and their status.
"""

import csv
import statistics
from pathlib import Path

from .files import write_atomic


def check_columns(submissions):
    """Check ids in rubric order, as the graded students' results have them."""
    columns = []
    for submission in submissions:
        for check in submission.checks:
            if check.id not in columns:
                columns.append(check.id)
    return columns


def _scores(submission):
    """check id -> score of one student (none without a result)."""
    return {check.id: check.score for check in submission.checks}


def write_csv(submissions, path):
    """grades.csv: student, one column per check, total, status. UTF-8 with a BOM, so that
    Excel shows Chinese names right; other spreadsheets ignore the BOM."""
    columns = check_columns(submissions)
    with open(str(path), "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([_cell(text) for text in ["student"] + columns + ["total", "status"]])
        for submission in submissions:
            scores = _scores(submission)
            writer.writerow([_cell(submission.student)]
                            + [_number(scores.get(column, "")) for column in columns]
                            + [_number(submission.total), _cell(submission.status.value)])


#: What makes a spreadsheet read a cell as a formula (OWASP, "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(text):
    """A text cell a spreadsheet shows as text: one that starts like a formula (a student
    folder named ``=HYPERLINK(...)``) gets a leading ``'``, as OWASP recommends. Scores are
    numbers, written as they are."""
    text = str(text)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _number(value):
    """A score for the CSV and the summary, at most 2 decimals and no float noise
    (2.9999999 -> "3", 2.5 -> "2.5"); anything else (a missing check's "") as it is."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    return "{:g}".format(round(float(value), 2))


def check_points(submissions, check_id):
    """What check ``check_id`` is worth, as the first result that has it says (0 if none)."""
    for submission in submissions:
        for check in submission.checks:
            if check.id == check_id:
                return check.points
    return 0


def summary(submissions, log_lines=(), slowest=5):
    """The class at a glance: pass rate per check, a histogram of totals, the slowest."""
    lines = ["%d students graded" % len(submissions)]
    graded = [submission for submission in submissions if submission.checks]
    problems = [submission for submission in submissions if not submission.ok]
    if problems:
        lines.append("not graded cleanly: " + ", ".join(
            "%s (%s)" % (submission.student, submission.status.value) for submission in problems))
    if graded:
        lines += ["", "pass rate per check (full marks; partial credit is not a pass), "
                      "mean score:"]
        for check in check_columns(graded):
            points = check_points(graded, check)
            scores = [_scores(submission).get(check, 0) for submission in graded]
            passed = sum(1 for score in scores if points and score >= points - 1e-9)
            rate = 100.0 * passed / len(graded)
            mean = "%s/%s" % (_number(statistics.mean(scores)), _number(points))
            lines.append("  %-28s %5.1f%%  %9s  %s" % (check, rate, mean,
                                                       "#" * int(round(rate / 5))))
        totals = [submission.total for submission in graded]
        lines += ["", "scores (median %s, mean %.1f):" % (_number(statistics.median(totals)),
                                                          statistics.mean(totals))]
        buckets = [0] * 10   # 0-9, 10-19, ..., 90-100
        for total in totals:
            buckets[min(max(int(total // 10), 0), 9)] += 1
        for low, count in zip(range(0, 100, 10), buckets):
            lines.append("  %3d-%-3d %4d  %s" % (low, low + 9 if low < 90 else 100,
                                                 count, "#" * count))
    timed = sorted(submissions, key=lambda submission: -submission.seconds)[:slowest]
    if timed:
        lines += ["", "slowest:"] + ["  %-24s %6.1f s" % (submission.student, submission.seconds)
                                     for submission in timed]
    if log_lines:
        lines += ["", "log:"] + ["  " + line for line in log_lines]
    return "\n".join(lines)


def write_outputs(out, submissions, log_lines=()):
    """grades.csv and summary.txt in ``out``; returns the summary's text."""
    out = Path(out)
    write_csv(submissions, out / "grades.csv")
    text = summary(submissions, log_lines)
    write_atomic(out / "summary.txt", text + "\n")
    return text

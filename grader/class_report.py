"""A class at a glance, in a browser: the batch's ``report.html``.

    render_html(submissions, lang)   the page, from the students' SubmissionResults
    write_report(out, submissions)   ``report.html`` in a batch's --out folder

One self-contained file: inline CSS and SVG, no script, nothing fetched, so it opens offline
from a USB stick or a mail attachment. Top to bottom: how many students were graded and how
(graded / files missing / unreadable / timed out / grader error), the histogram of scores
(SVG), the pass rate of each check (SVG bars), the slowest students, and every student's
row, which opens (``<details>``, one click) on their whole report: the text
``python -m grader`` printed for them, or, without a result, what went wrong.

Everything a student controls (their folder's name, their program's output inside the
report, the batch's log lines about them) is escaped with html.escape; element ids are
numbers, never names. Like grader/gradebook.py, this is a function of the SubmissionResults
on disk, so a resumed batch writes the same page.
"""

import html
import statistics
from pathlib import Path

from . import report
from .files import write_atomic
from .results import ERROR, SubmissionStatus

#: The file written into a batch's --out folder.
REPORT_NAME = "report.html"

#: The width of each student's text report inside the page (the report's own maximum).
TEXT_WIDTH = report.MAX_WIDTH
#: How many of the slowest students are listed.
SLOWEST = 10

#: Colours, named so tests can find them in a screenshot.
HISTOGRAM_COLOR = "#2e86c1"
PASS_COLOR = "#27ae60"
TRACK_COLOR = "#e5e8e8"

#: Histogram buckets: tenths of the maximum score (the last one includes full marks).
BUCKETS = 10

#: The status of a student as the page names it, by language: a SubmissionStatus, or
#: FILES_MISSING for one graded although a file was missing.
FILES_MISSING = "files-missing"

LABELS = {
    "en": {
        "title": "Class report", "students": "%d students",
        "status": "status", "student": "student", "score": "score", "time": "time",
        "histogram": "Scores", "histogram_of": "scores of the %d students graded "
                                               "(median %s, mean %s, out of %s)",
        "checks": "Pass rate per check", "checks_note": "full marks count as a pass; "
                                                       "partial credit does not",
        "check": "check", "part": "part", "passed": "passed", "mean": "mean",
        "not_run": "%d could not run",
        "slowest": "Slowest students", "all": "Every student (click a name for the report)",
        "log": "Batch log", "no_result": "No result: the grader gave none for this student.",
        "nobody": "No student was graded.",
        "similarity": "Similarity of the students' code",
        SubmissionStatus.OK.value: "graded",
        FILES_MISSING: "files missing",
        SubmissionStatus.UNREADABLE.value: "unreadable (no files)",
        SubmissionStatus.TIMEOUT.value: "timed out",
        SubmissionStatus.GRADER_ERROR.value: "grader error",
    },
    "zh": {
        "title": "全班成绩报告", "students": "%d 名学生",
        "status": "状态", "student": "学生", "score": "分数", "time": "用时",
        "histogram": "分数分布", "histogram_of": "已评分的 %d 名学生的分数 "
                                                 "(中位数 %s, 平均 %s, 满分 %s)",
        "checks": "每项检查的通过率", "checks_note": "满分才算通过, 部分得分不算",
        "check": "检查", "part": "部分", "passed": "通过", "mean": "平均",
        "not_run": "%d 个无法运行",
        "slowest": "用时最长的学生", "all": "全部学生 (点击名字查看报告)",
        "log": "批量评分日志", "no_result": "没有结果: 评分程序没有给出这个学生的结果。",
        "nobody": "没有学生被评分。",
        "similarity": "学生代码相似度",
        SubmissionStatus.OK.value: "已评分",
        FILES_MISSING: "缺少文件",
        SubmissionStatus.UNREADABLE.value: "无法读取 (没有文件)",
        SubmissionStatus.TIMEOUT.value: "超时",
        SubmissionStatus.GRADER_ERROR.value: "评分程序出错",
    },
}

#: The order statuses are counted in at the top of the page.
STATUS_ORDER = (SubmissionStatus.OK.value, FILES_MISSING, SubmissionStatus.UNREADABLE.value,
                SubmissionStatus.TIMEOUT.value, SubmissionStatus.GRADER_ERROR.value)
STATUS_CLASS = {SubmissionStatus.OK.value: "ok", FILES_MISSING: "warn",
                SubmissionStatus.UNREADABLE.value: "bad", SubmissionStatus.TIMEOUT.value: "bad",
                SubmissionStatus.GRADER_ERROR.value: "err"}


def labels(lang):
    return LABELS.get(lang, LABELS["en"])


def status_of(submission):
    """The page's status key of a SubmissionResult."""
    if (submission.status is SubmissionStatus.OK and submission.result is not None
            and "missing-file" in submission.result.preflight):
        return FILES_MISSING
    return submission.status.value


def _esc(text):
    return html.escape(str(text), quote=True)


_number = report.format_number


# ------------------------------------------------------------------------ the parts


def histogram_svg(totals, max_score, width=560, height=180):
    """An SVG bar chart of ``totals`` in BUCKETS tenths of ``max_score``."""
    counts = [0] * BUCKETS
    for total in totals:
        share = total / max_score if max_score else 0.0
        counts[min(max(int(share * BUCKETS), 0), BUCKETS - 1)] += 1
    top = max(counts) or 1
    left, bottom, label_h = 30, height - 22, 14
    slot = (width - left) / BUCKETS
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" role="img" '
             'class="histogram">' % (width, height),
             '<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#888"/>' % (left, bottom, width,
                                                                        bottom)]
    for index, count in enumerate(counts):
        bar_h = (bottom - label_h - 4) * count / top
        x = left + index * slot
        if count:
            parts.append('<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s">'
                         '<title>%d</title></rect>' % (x + 3, bottom - bar_h, slot - 6, bar_h,
                                                       HISTOGRAM_COLOR, count))
            parts.append('<text x="%.1f" y="%.1f" text-anchor="middle">%d</text>'
                         % (x + slot / 2, bottom - bar_h - 3, count))
        low, high = (max_score * edge / BUCKETS for edge in (index, index + 1))
        parts.append('<text x="%.1f" y="%d" text-anchor="middle" class="axis">%s–%s</text>'
                     % (x + slot / 2, height - 6, _esc(_number(low)), _esc(_number(high))))
    parts.append("</svg>")
    return "".join(parts)


def bar_svg(share, width=160, height=12):
    """A horizontal bar, ``share`` (0..1) of it filled."""
    share = min(max(share, 0.0), 1.0)
    return ('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" class="bar">'
            '<rect width="%d" height="%d" fill="%s"/><rect width="%.1f" height="%d" fill="%s"/>'
            '</svg>' % (width, height, width, height, TRACK_COLOR, width * share, height,
                        PASS_COLOR))


def check_rows(graded, lang):
    """(part, title, passed, counted, could not run, mean score, points) per check, in
    rubric order."""
    order, found = [], {}
    for submission in graded:
        for check in submission.checks:
            if check.id not in found:
                order.append(check.id)
                found[check.id] = []
            found[check.id].append(check)
    rows = []
    for check_id in order:
        checks = found[check_id]
        ran = [check for check in checks if check.status != ERROR]
        first = checks[0]
        passed = sum(1 for check in ran if first.points and check.score >= check.points - 1e-9)
        mean = statistics.mean(check.score for check in ran) if ran else 0.0
        title = (first.short_zh if lang == "zh" else first.short_en) or \
            report.check_title(first, lang)
        rows.append((first.part, title, passed, len(ran), len(checks) - len(ran), mean,
                     first.points))
    return rows


def _checks_table(graded, text, lang):
    out = ['<table class="checks"><tr><th>%s</th><th>%s</th><th>%s</th><th></th><th>%s</th>'
           '</tr>' % (_esc(text["part"]), _esc(text["check"]), _esc(text["passed"]),
                      _esc(text["mean"]))]
    for part, title, passed, counted, not_run, mean, points in check_rows(graded, lang):
        share = passed / counted if counted else 0.0
        extra = (' <span class="err">(%s)</span>' % _esc(text["not_run"] % not_run)
                 if not_run else "")
        out.append("<tr><td>%s</td><td>%s</td><td>%s</td><td>%d%% (%d/%d)%s</td><td>%s/%s</td>"
                   "</tr>" % (_esc(part), _esc(title), bar_svg(share), round(100 * share),
                              passed, counted, extra, _esc(_number(mean)),
                              _esc(_number(points))))
    out.append("</table>")
    return "".join(out)


def _student_body(submission, lang, text):
    """What opens under a student's row: their text report, else the log about them."""
    pieces = []
    if submission.result is not None:
        pieces.append("<pre>%s</pre>" % _esc(report.render_text(
            submission.result, lang=lang, color=False, width=TEXT_WIDTH)))
    else:
        pieces.append("<p>%s</p>" % _esc(text["no_result"]))
    if submission.log:
        pieces.append('<pre class="log">%s</pre>' % _esc("\n".join(submission.log)))
    return "".join(pieces)


def _score_cell(submission):
    if submission.result is None:
        return "–"
    return "%s/%s" % (_number(submission.total), _number(submission.result.max_score))


_CSS = """
body{font-family:system-ui,"Noto Sans CJK SC","Noto Sans SC","Microsoft YaHei","PingFang SC",
sans-serif;margin:1.5em auto;max-width:70em;color:#222;padding:0 1em}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.15em;margin-top:1.8em}
.counts span{display:inline-block;margin:.2em .6em .2em 0;padding:.15em .6em;border-radius:1em}
.ok{background:#d5f5e3}.warn{background:#fcf3cf}.bad{background:#fadbd8}.err{background:#f5cba7}
table{border-collapse:collapse}td,th{padding:.2em .7em;border-bottom:1px solid #e5e5e5;
text-align:left;vertical-align:middle}
svg text{font-size:11px;fill:#333}svg .axis{fill:#777}
.student{border-bottom:1px solid #e5e5e5}
.student summary{cursor:pointer;display:grid;grid-template-columns:1.2em 18em 12em 7em 6em;
padding:.25em 0}.student summary::before{content:"\\25B8";color:#888}
.student[open] summary::before{content:"\\25BE"}
.student summary span{overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.student[open] summary{background:#f2f4f4}
pre{background:#fafafa;border:1px solid #eee;padding:.7em;overflow:auto;font-size:.8em;
font-family:"Noto Sans Mono CJK SC",ui-monospace,monospace}
pre.log{color:#922}
.note{color:#666;font-size:.9em}
"""


def render_html(submissions, lang="en", log_lines=(), slowest=SLOWEST, similarity_href=None):
    """The class report of ``submissions`` (SubmissionResults) as one HTML page in ``lang``
    ("en" or "zh"); ``log_lines`` are the batch's log (summary.txt's); ``similarity_href``,
    when given, is where the similarity report is (a path relative to this page)."""
    text = labels(lang)
    submissions = list(submissions)
    graded = [submission for submission in submissions if submission.checks]
    anchor = {id(submission): "s%d" % number for number, submission in enumerate(submissions)}
    statuses = [status_of(submission) for submission in submissions]
    out = ["<!DOCTYPE html>",
           '<html lang="%s"><head><meta charset="utf-8">' % ("zh" if lang == "zh" else "en"),
           '<meta name="viewport" content="width=device-width">',
           "<title>%s</title><style>%s</style></head><body>" % (_esc(text["title"]), _CSS),
           "<h1>%s</h1>" % _esc(text["title"]),
           '<p class="counts"><b>%s</b> ' % _esc(text["students"] % len(submissions))]
    for key in STATUS_ORDER:
        count = statuses.count(key)
        if count:
            out.append('<span class="%s">%s: %d</span>' % (STATUS_CLASS[key], _esc(text[key]),
                                                            count))
    out.append("</p>")
    if similarity_href:
        out.append('<p><a href="%s">%s</a></p>' % (_esc(similarity_href), _esc(text["similarity"])))

    out.append("<h2>%s</h2>" % _esc(text["histogram"]))
    if graded:
        totals = [submission.total for submission in graded]
        max_score = max(submission.result.max_score for submission in graded)
        out.append('<p class="note">%s</p>' % _esc(text["histogram_of"] % (
            len(graded), _number(statistics.median(totals)), _number(statistics.mean(totals)),
            _number(max_score))))
        out.append(histogram_svg(totals, max_score))
        out.append('<h2>%s</h2><p class="note">%s</p>' % (_esc(text["checks"]),
                                                           _esc(text["checks_note"])))
        out.append(_checks_table(graded, text, lang))
    else:
        out.append("<p>%s</p>" % _esc(text["nobody"]))

    timed = sorted(submissions, key=lambda submission: -submission.seconds)[:slowest]
    if timed:
        out.append('<h2>%s</h2><table class="slowest"><tr><th>%s</th><th>%s</th><th>%s</th>'
                   "</tr>" % (_esc(text["slowest"]), _esc(text["student"]), _esc(text["time"]),
                              _esc(text["status"])))
        for submission in timed:
            out.append('<tr><td><a href="#%s">%s</a></td><td>%.1f s</td><td>%s</td></tr>' % (
                anchor[id(submission)], _esc(submission.student), submission.seconds,
                _esc(text[status_of(submission)])))
        out.append("</table>")

    out.append("<h2>%s</h2>" % _esc(text["all"]))
    for submission, status in zip(submissions, statuses):
        out.append('<details class="student" id="%s"><summary><span>%s</span>'
                   '<span><span class="%s">%s</span></span><span>%s</span><span>%.1f s</span>'
                   "</summary>%s</details>" % (
                       anchor[id(submission)], _esc(submission.student), STATUS_CLASS[status],
                       _esc(text[status]), _esc(_score_cell(submission)), submission.seconds,
                       _student_body(submission, lang, text)))
    if log_lines:
        out.append('<h2>%s</h2><pre class="log">%s</pre>' % (_esc(text["log"]),
                                                             _esc("\n".join(log_lines))))
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def write_report(out, submissions, lang="en", log_lines=(), similarity_href=None):
    """``report.html`` in ``out`` (atomically); returns its Path. ``similarity_href``: the
    similarity report beside it, to link to (grader/similarity.py's HTML_NAME)."""
    return write_atomic(Path(out) / REPORT_NAME, render_html(
        submissions, lang, log_lines, similarity_href=similarity_href))

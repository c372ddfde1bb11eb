"""PrairieLearn's external-grading results.json: a GradingResult as PrairieLearn shows it.

    to_prairielearn   a GradingResult as PrairieLearn's results (a dict)
    render_json       the same as JSON text, within PrairieLearn's 1 MB
    write_json        that text written to a file, atomically

The format is PrairieLearn's "External Grading" page, section "Grading results"
(https://prairielearn.readthedocs.io/en/latest/externalGrading/#grading-results):
``gradable``; ``score`` in 0..1; ``message``; ``output``; ``tests[]`` with ``name``,
``description``, ``points``, ``max_points``, ``message`` and ``output``, which the
``<pl-external-grader-results>`` element renders. The file "should be limited to 1 MB":
every text is cut to fit (the end of a text is kept, where a traceback's point is).

Not gradable (``gradable: false``, ``format_errors``: no points awarded or lost, no attempt
used) when a file does not parse (a syntax error, a file not saved as UTF-8), and when the
grader itself failed (a GRADER ERROR: the student's attempt must not pay for it).

A check held back on Gradescope (its visibility is not "visible") keeps its points here,
PrairieLearn having no such setting, but not its details: its output says they are held
back, so the code's evidence is not given away.
"""

import json

from . import gradescope
from .files import write_atomic
from .report import MESSAGES, format_number, render_text
from .results import VISIBLE

#: PrairieLearn's limit on results.json, in bytes ("should be limited to 1 MB"); we stay
#: a little under it, the decimal megabyte.
SIZE_LIMIT = 1000000

#: Preflight problems that mean a file does not parse: the submission is not gradable.
FORMAT_PROBLEMS = ("syntax-error", "file-not-utf8")

TEXTS = {
    "zh": {"held_back": "这一项的详细结果暂不公布。", "grader_error": "评分程序自身出错 (GRADER ERROR), 这次提交不计分, 也不占用提交次数: ",
           "cut": "[... 前面 {count} 个字符省略 ...]\n"},
    "en": {"held_back": "The details of this check are held back.",
           "grader_error": "GRADER ERROR: the grader itself failed, so this submission is "
                           "not graded and costs no attempt: ",
           "cut": "[... {count} characters cut ...]\n"},
}


def _format_errors(result, lang):
    """Why ``result`` is not gradable (a list of sentences), or [] when it is."""
    errors = ["%s: %s" % (hint, detail) for hint, detail in result.preflight.items()
              if hint in FORMAT_PROBLEMS]
    for check in result.grader_errors:
        errors.append(TEXTS[lang]["grader_error"] + "%s: %s" % (check.id, check.error))
    return errors


def to_prairielearn(result, lang="en"):
    """``result`` as PrairieLearn's results.json (a dict; see the module's docstring).

    Each test is a check: name ("1.3 [part] title", as on Gradescope), description (its
    id), points and max_points, message (passed or what failed, in one line) and output
    (the check's details, as on Gradescope). The submission's message is its total; its
    output is the whole text report, as ``python -m grader`` prints it into a pipe.
    """
    lang = lang if lang in MESSAGES else "en"
    errors = _format_errors(result, lang)
    graded = gradescope.to_gradescope(result, lang)
    by_id = {check.id: check for check in result.checks}
    tests = []
    for test in graded["tests"]:
        check = by_id[test["extra_data"]["check"]]
        tests.append({
            "name": "%s %s" % (test["number"], test["name"]),
            "description": check.id,
            "points": test["score"],
            "max_points": test["max_score"],
            "message": MESSAGES[lang]["status"].get(check.status, check.status) + (
                ": " + check.evidence.summary if check.evidence is not None
                and check.evidence.summary and check.visibility == VISIBLE else ""),
            "output": test["output"] if check.visibility == VISIBLE else TEXTS[lang]["held_back"],
        })
    data = {
        "gradable": not errors,
        "message": MESSAGES[lang]["total"].format(score=format_number(result.score),
                                                  max_score=format_number(result.max_score)),
        "output": render_text(result, lang=lang, color=False, width=80),
        "tests": tests,
    }
    if errors:
        data["format_errors"] = errors
    else:
        data["score"] = round(result.score / result.max_score, 4) if result.max_score else 0.0
        data["score"] = min(1.0, max(0.0, data["score"]))
    return data


def _cut(text, keep, lang):
    """``text`` cut to its last ``keep`` characters, saying how much went."""
    if len(text) <= keep:
        return text
    return TEXTS[lang]["cut"].format(count=len(text) - keep) + text[len(text) - keep:]


def _size(data):
    return len(json.dumps(data, ensure_ascii=False).encode("utf-8"))


def fit(data, lang="en", limit=SIZE_LIMIT):
    """``data`` with its outputs and messages cut until its JSON is at most ``limit`` bytes:
    each pass halves what every text may keep (at most 40 passes, from 1 M characters down
    to none), so a flood of output costs its middle, never the file."""
    keep = 1 << 20
    for _ in range(40):
        if _size(data) <= limit:
            return data
        data = dict(data, output=_cut(data["output"], keep, lang),
                    tests=[dict(test, output=_cut(test["output"], keep, lang),
                                message=_cut(test["message"], keep, lang))
                           for test in data["tests"]])
        if "format_errors" in data:
            data["format_errors"] = [_cut(error, keep, lang) for error in data["format_errors"]]
        keep //= 2
    return data


def render_json(result, lang="en"):
    """``to_prairielearn(result, lang)`` as JSON text of at most SIZE_LIMIT bytes."""
    return json.dumps(fit(to_prairielearn(result, lang), lang), ensure_ascii=False)


def write_json(result, path, lang="en"):
    """Write ``render_json(result, lang)`` to ``path``, atomically. Returns the Path."""
    return write_atomic(path, render_json(result, lang))

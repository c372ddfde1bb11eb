"""GitHub Classroom: a GradingResult as an autograding runner's result, for its reporter.

    to_runner       the result in the runner format (a dict)
    encoded         that as base64 of its JSON, the value of the step's ``result`` output
    append_output   ``result=<base64>`` appended to the step's $GITHUB_OUTPUT file

GitHub Classroom's workflow runs graders ("runners") as steps, each writing a base64 JSON
``result`` output, and ``classroom-resources/autograding-grading-reporter`` reads each one
from the environment variable ``<RUNNER ID IN CAPITALS>_RESULTS``, prints it and sends the
points to Classroom. The runner format is what the runners write (for example
classroom-resources/autograding-command-grader, and the reporter's src/main.js and
src/helpers/test-helpers.js, which read it): ``version`` 1, ``status`` ("pass", "fail" or
"error"), ``max_score``, and ``tests[]`` with ``name``, ``status``, ``score``, ``message``,
``test_code``, ``filename``, ``line_no``, ``duration``. The reporter adds up
``tests[].score`` and fails the workflow on "fail" or "error".

A grader error is "error" (the reporter says "Some tests errored"), never a silent zero.
The template of the students' workflow is grader/templates/github-classroom.yml.
"""

import base64
import json
from pathlib import Path

from .report import MESSAGES, check_title, numbered_checks
from .results import ERROR, PASSED

#: The name of the step output the reporter is given (``steps.<id>.outputs.result``).
OUTPUT_NAME = "result"

STATUS = {PASSED: "pass", ERROR: "error"}


def _status(check):
    return STATUS.get(check.status, "fail")


def _message(check, lang):
    if check.status == ERROR:
        return "GRADER ERROR: " + check.error
    if check.evidence is not None and check.evidence.summary:
        return check.evidence.summary
    return MESSAGES[lang]["status"].get(check.status, check.status)


def to_runner(result, lang="en"):
    """``result`` in the runner format (see the module's docstring): one test per check,
    named "1.3 [part] title", its ``test_code`` the command that runs it alone."""
    lang = lang if lang in MESSAGES else "en"
    tests = []
    for part, numbered in numbered_checks(result):
        for number, check in numbered:
            tests.append({
                "name": "%s [%s] %s" % (number, part, check_title(check, lang)),
                "status": _status(check),
                "score": round(float(check.score), 2),
                "message": _message(check, lang),
                "test_code": "python -m grader -k %s" % check.id,
                "filename": "",
                "line_no": 0,
                "duration": int(round(check.duration * 1000)),
            })
    statuses = {test["status"] for test in tests}
    return {"version": 1,
            "status": "error" if "error" in statuses or not tests else
                      "fail" if "fail" in statuses else "pass",
            "max_score": round(float(result.max_score), 2),
            "tests": tests}


def encoded(result, lang="en"):
    """The base64 (ASCII) of ``to_runner(result, lang)``'s UTF-8 JSON: one line, no newline."""
    text = json.dumps(to_runner(result, lang), ensure_ascii=False)
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def append_output(path, result, lang="en"):
    """Append ``result=<base64>`` and a newline to ``path`` (the step's $GITHUB_OUTPUT: a
    file GitHub Actions gives each step, read once the step ends). Returns the Path."""
    path = Path(path)
    with path.open("a", encoding="utf-8", newline="\n") as stream:
        stream.write("%s=%s\n" % (OUTPUT_NAME, encoded(result, lang)))
    return path

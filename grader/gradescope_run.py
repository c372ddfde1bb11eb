"""What Gradescope's ``run_autograder`` runs: grade the submission, write results.json.

The root is ``/autograder`` unless ``AUTOGRADER_ROOT`` says otherwise (tests use a
temporary folder laid out like Gradescope's): the submission is in ``ROOT/submission``
(files may be nested, either may be missing) and the result goes to
``ROOT/results/results.json``. The submission is graded exactly as ``batch`` grades one
student: copied to a scratch folder, in a grader process of its own, hardened (and, as
root, as an unprivileged user); results.json is written only after the student's programs
have ended. If grading itself fails, results.json still says so, with a score of 0 and
the reason, so the failure is visible on Gradescope instead of a silent blank.
"""

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from . import batch as batching
from .files import write_atomic

ROOT_ENV = "AUTOGRADER_ROOT"


def main():
    root = Path(os.environ.get(ROOT_ENV, "/autograder"))
    results = root / "results"
    results.mkdir(parents=True, exist_ok=True)
    if os.name == "posix" and os.geteuid() == 0:
        os.chmod(str(results), 0o700)  # the sandbox user can neither read nor write it
    here = Path(__file__).resolve().parent.parent
    lang_file = here / "grader_lang"
    lang = lang_file.read_text(encoding="utf-8").strip() if lang_file.is_file() else "zh"
    out = Path(tempfile.mkdtemp(prefix="gradescope-"))
    run = batching.Batch([batching.Submission("submission", root / "submission")], out,
                         jobs=1, lang=lang, progress=None)
    rows = run.run()
    row = rows[0] if rows else {"status": "grader-error"}
    report = out / batching.REPORTS_DIR / "submission.json"
    if row.get("status") == "ok" and report.is_file():
        write_atomic(results / "results.json", report.read_text(encoding="utf-8"))
        status = 0
    else:
        failure = {"score": 0, "execution_time": 0, "visibility": "visible",
                   "output": "GRADER ERROR: the submission could not be graded (%s). %s"
                             % (row.get("status"), " ".join(run.log_lines)), "tests": []}
        write_atomic(results / "results.json", json.dumps(failure, ensure_ascii=False))
        status = 3
    shutil.rmtree(str(out), ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())

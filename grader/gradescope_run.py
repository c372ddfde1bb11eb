"""What Gradescope's ``run_autograder`` runs: grade the submission, write results.json.

The root is ``/autograder`` unless ``AUTOGRADER_ROOT`` says otherwise (tests use a
temporary folder laid out like Gradescope's): the submission is in ``ROOT/submission``
(files may be nested, either may be missing) and the result goes to
``ROOT/results/results.json``. The submission is graded exactly as ``batch`` grades one
student: copied to a scratch folder (links not followed), in a grader process of its own
sealed in batch's sandbox (grader/_bwrap.py: bubblewrap, which setup.sh installs, else
unshare, else a uid of its own; what held is printed first, for the autograder's output),
hardened, as an unprivileged uid; results.json is written only after the student's
programs have ended, from outside the sandbox. If grading itself fails (the submission's SubmissionResult is not OK, or the
batch machinery itself fails), results.json still says so, with a score of 0 and the
reason (grader/gradescope.py writes both kinds), so the failure is visible on Gradescope
instead of a silent blank.
"""

import os
import shutil
import sys
import tempfile
from pathlib import Path

from . import batch as batching
from . import gradescope
from .files import write_atomic
from .results import GraderError, SubmissionResult, SubmissionStatus

ROOT_ENV = "AUTOGRADER_ROOT"

#: The student id of Gradescope's one submission, in the batch that grades it.
STUDENT = "submission"


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
    try:
        graded = grade(root / "submission", out, lang)
    finally:
        shutil.rmtree(str(out), ignore_errors=True)
    if graded.ok and graded.result is not None and graded.result.checks:
        write_atomic(results / "results.json", gradescope.render_json(graded.result, lang))
        return 0
    gradescope.write_failure(graded, results / "results.json")
    return 3


def grade(folder, out, lang):
    """The SubmissionResult of the submission in ``folder``, graded as batch grades one
    student; a batch that fails on its own (not the student's doing) is a GRADER_ERROR with
    the reason, never an exception that would leave results.json unwritten."""
    run = batching.Batch([batching.Submission(STUDENT, folder)], out, jobs=1, lang=lang,
                         progress=sys.stdout)
    try:
        graded = run.run()
        if not graded:
            raise GraderError("the batch recorded no result")
        return graded[0]
    except batching.SandboxRefused:
        return SubmissionResult(STUDENT, SubmissionStatus.GRADER_ERROR, log=list(
            run.log_lines) + ["%s: not graded: no sandbox for untrusted code here" % STUDENT])
    except Exception as error:  # the boundary: whatever failed here is the grader's
        reason = error if isinstance(error, GraderError) else GraderError(
            "the batch failed: %s: %s" % (type(error).__name__, error))
        return SubmissionResult(STUDENT, SubmissionStatus.GRADER_ERROR,
                                log=list(run.log_lines) + ["%s: %s" % (STUDENT, reason)])


if __name__ == "__main__":
    sys.exit(main())

"""What ``run_autograder`` runs first: is this submission over the bundle's rate limit?

    python3 -m grader.gradescope_limit && exit 0    # over the limit: results.json written
    exec python3 -m grader.gradescope_run           # otherwise: grade it

Off unless the bundle was built with ``--rate-limit N/HOURS`` (grader/bundle.py keeps it).
Exit status 0: the submission is over the limit and ``ROOT/results/results.json`` holds the
latest graded results with a message (grader.gradescope.rate_limited); 1: grade it, which
is also what happens when there is no limit, no ``ROOT/submission_metadata.json``, or one
that cannot be read (said on stderr, which Gradescope shows the instructor): a broken
limit never stops a student's submission from being graded.
"""

import json
import os
import sys
from pathlib import Path

from . import bundle, gradescope
from .files import write_atomic
from .gradescope_run import ROOT_ENV

OVER_LIMIT = 0
GRADE_IT = 1


def main():
    root = Path(os.environ.get(ROOT_ENV, "/autograder"))
    try:
        limit = bundle.rate_limit()
        if limit is None:
            return GRADE_IT
        metadata = json.loads((root / "submission_metadata.json").read_text(encoding="utf-8"))
        lang_file = Path(__file__).resolve().parent.parent / "grader_lang"
        lang = lang_file.read_text(encoding="utf-8").strip() if lang_file.is_file() else "zh"
        results = gradescope.rate_limited(metadata, limit[0], limit[1], lang)
    except (OSError, ValueError) as error:  # JSONDecodeError is a ValueError
        print("socket-lab: rate limit not applied, grading the submission: %s" % error,
              file=sys.stderr)
        return GRADE_IT
    if results is None:
        return GRADE_IT
    (root / "results").mkdir(parents=True, exist_ok=True)
    write_atomic(root / "results" / "results.json", json.dumps(results, ensure_ascii=False))
    print("socket-lab: over the rate limit of %d submissions in %g hours: not graded"
          % limit, file=sys.stderr)
    return OVER_LIMIT


if __name__ == "__main__":
    sys.exit(main())

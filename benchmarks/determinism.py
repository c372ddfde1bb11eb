"""Grade every submission of tests/submissions/ (and the reference) several times and list
every check whose score was not the same in every run.

    python benchmarks/determinism.py                  # 10 runs each, the reference 20 times
    python benchmarks/determinism.py --runs 3 --only hub-   # quicker, some submissions only

Each run is a fresh ``python -m grader`` process (as a student runs it), with the other file
the reference's, grading only the broken file's part(s). ``--jobs`` runs that many graders
at once (default 2: what a student's laptop and this project's 2-core machine have); more
load makes timing-dependent verdicts more likely to show, so it is a harder test.

Prints one line per submission (its per-check scores, ``same`` or the checks that changed)
and exits 1 if any changed. Bounded: every grader run has a timeout.
"""

import argparse
import concurrent.futures
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SUBMISSIONS = ROOT / "tests" / "submissions"
REFERENCE = ROOT / "reference"

#: A grader run that takes longer than this is killed and counted as a changed result.
RUN_TIMEOUT = 120


def submissions(only):
    for folder in sorted(SUBMISSIONS.iterdir()):
        if not folder.is_dir() or folder.name.startswith(("_", ".")):
            continue
        if only and not any(folder.name.startswith(prefix) for prefix in only):
            continue
        for name, parts in (("chat_client.py", ["client"]), ("chat_server.py", ["p2p", "hub"])):
            if (folder / name).is_file():
                yield folder.name, folder / name, parts


def grade_once(path, parts):
    """Per-check scores of one ``python -m grader`` run of ``path`` (``{id: score}``)."""
    client = path if "client" in parts else REFERENCE / "chat_client.py"
    server = path if "client" not in parts else REFERENCE / "chat_server.py"
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "result.json"
        command = [sys.executable, "-m", "grader", "--client", str(client), "--server", str(server),
                   "--lang", "en", "--result-json", str(out)]
        for part in parts:
            command += ["--part", part]
        try:
            subprocess.run(command, cwd=str(ROOT), stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            return {"(timeout)": -1}
        try:
            data = json.loads(out.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {"(no result)": -1}
    return {check["id"]: round(check["score"], 2) for check in data["checks"]}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="runs per submission (default 10)")
    parser.add_argument("--reference-runs", type=int, default=20,
                        help="runs of the reference, both files, all parts (default 20)")
    parser.add_argument("--jobs", type=int, default=2, help="graders at once (default 2)")
    parser.add_argument("--only", nargs="*", help="submission folder name prefixes")
    args = parser.parse_args(argv)

    work = [(slug, path, parts) for slug, path, parts in submissions(args.only)]
    tasks = [(slug, path, parts) for slug, path, parts in work for _ in range(args.runs)]
    if not args.only:
        tasks += [("reference", REFERENCE / "chat_client.py", None)] * args.reference_runs
    started = time.monotonic()
    scores = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = {}
        for slug, path, parts in tasks:
            if parts is None:  # the reference: both files, whole rubric
                future = pool.submit(grade_reference)
            else:
                future = pool.submit(grade_once, path, parts)
            futures[future] = slug
        for future in concurrent.futures.as_completed(futures):
            scores.setdefault(futures[future], []).append(future.result())
    changed = 0
    for slug in sorted(scores):
        runs = scores[slug]
        ids = sorted({check for run in runs for check in run})
        varying = [check for check in ids if len({run.get(check) for run in runs}) > 1]
        totals = sorted({round(sum(run.values()), 2) for run in runs})
        if varying:
            changed += 1
            detail = "; ".join("%s %s" % (check, [run.get(check) for run in runs])
                               for check in varying)
            print("%-34s %d runs  CHANGED: %s" % (slug, len(runs), detail))
        else:
            print("%-34s %d runs  same  total %s" % (slug, len(runs), totals[0]))
    print("%d of %d submissions changed a check's score; %d grader runs in %.0f s"
          % (changed, len(scores), len(tasks), time.monotonic() - started))
    return 1 if changed else 0


def grade_reference():
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "result.json"
        try:
            subprocess.run([sys.executable, "-m", "grader", "--reference", "--lang", "en",
                            "--result-json", str(out)], cwd=str(ROOT), stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=RUN_TIMEOUT)
            data = json.loads(out.read_text(encoding="utf-8"))
        except (subprocess.TimeoutExpired, OSError, ValueError):
            return {"(failed)": -1}
    return {check["id"]: round(check["score"], 2) for check in data["checks"]}


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUTF8", "1")
    sys.exit(main())

"""A class of 100 generated submissions, graded by `python -m grader batch --jobs 2`.

    python benchmarks/batch_bench.py                 # 100 students, 2 jobs
    python benchmarks/batch_bench.py --students 40 --jobs 2

The class is a mix like a real one: half complete (the reference), a fifth untouched
(the skeleton), the rest the broken submissions of tests/submissions/ in turn, which
include one that hangs (server-spins-forever) and one that floods (client-prints-100mb).
Race-prone variants (whose catalog entry lists checks they may or may not fail) are left
out, since no two runs of them need agree. It prints the batch's wall time, then grades
each distinct submission alone and reports any student whose batch score differs from
that, the sandbox's cost per student, and one JSON line. Bounded: one batch run, one
grading per distinct submission, SANDBOX_RUNS sandbox starts.

The sandbox's cost per student (grader/_bwrap.py) is measured apart: the median time to
run ``python -c pass`` through the very command batch uses for a student (bubblewrap and
the sandbox's first program, or whatever sealing works here), less the median time of a
plain ``python -c pass``; the grader copy batch makes once per batch is timed too.
"""

import argparse
import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader import _bwrap, _sandbox  # noqa: E402
from tests.submissions.catalog import VARIANTS  # noqa: E402

#: Sandbox starts timed (and as many plain Python starts).
SANDBOX_RUNS = 20


def _median_ms(argv, runs, cwd):
    took = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=60, check=True)
        took.append((time.perf_counter() - started) * 1000)
    return statistics.median(took)


def sandbox_cost(runs=SANDBOX_RUNS):
    """(sealing, median ms a student's sandbox adds, ms of the batch's grader copy)."""
    sealing = _bwrap.detect()
    work = Path(tempfile.mkdtemp(prefix="socket-lab-batch-bench-"))
    try:
        os.chmod(str(work), 0o711)
        started = time.perf_counter()
        tree = _bwrap.prepare_tree(ROOT, work / "tree")
        tree_ms = (time.perf_counter() - started) * 1000
        uid = _sandbox.FIRST_SANDBOX_UID if sealing.privileged else None
        box = _bwrap.Box(tree, work / "scratch", work / "out", work / "etc", uid)
        for folder in (box.scratch, box.results):
            folder.mkdir(mode=0o700)
        _bwrap.write_etc(box.etc, uid)
        sealed = sealing.command(["-c", "pass"], box)
        plain = [sys.executable, "-c", "pass"]
        cost = _median_ms(sealed, runs, str(tree)) - _median_ms(plain, runs, str(tree))
        return sealing, cost, tree_ms
    finally:
        shutil.rmtree(str(work), ignore_errors=True)


def kinds():
    """name -> (client file, server file) of each distinct submission."""
    reference, skeleton = ROOT / "reference", ROOT / "skeleton"
    found = {"reference": (reference / "chat_client.py", reference / "chat_server.py"),
             "skeleton": (skeleton / "chat_client.py", skeleton / "chat_server.py")}
    for variant in VARIANTS:
        if variant.may_fail:
            continue
        broken = ROOT / "tests" / "submissions" / variant.slug / ("chat_%s.py" % variant.file)
        found[variant.slug] = ((broken, reference / "chat_server.py") if variant.file == "client"
                               else (reference / "chat_client.py", broken))
    return found


def make_class(folder, students):
    variants = [name for name in kinds() if name not in ("reference", "skeleton")]
    plan = []
    for number in range(students):
        if number % 10 < 5:
            kind = "reference"
        elif number % 10 < 7:
            kind = "skeleton"
        else:
            kind = variants[len([k for k in plan if k not in ("reference", "skeleton")]) % len(variants)]
        plan.append(kind)
    for number, kind in enumerate(plan):
        student = folder / ("s%03d-%s" % (number + 1, kind))
        student.mkdir(parents=True)
        client, server = kinds()[kind]
        shutil.copy(str(client), str(student / "chat_client.py"))
        shutil.copy(str(server), str(student / "chat_server.py"))
    return plan


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=100, choices=range(1, 501), metavar="N")
    parser.add_argument("--jobs", type=int, default=2, choices=range(1, 17), metavar="J")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="batch-bench-"))
    try:
        plan = make_class(work / "class", args.students)
        started = time.perf_counter()
        run = subprocess.run([sys.executable, "-m", "grader", "batch", str(work / "class"),
                              "--out", str(work / "out"), "--jobs", str(args.jobs), "--lang", "en"],
                             cwd=str(ROOT), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             timeout=3600)
        wall = time.perf_counter() - started
        print(run.stdout.decode("utf-8", "replace"))
        print("batch of %d students, --jobs %d: %.1f s (exit %d)" % (
            args.students, args.jobs, wall, run.returncode))
        with open(str(work / "out" / "grades.csv"), encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.DictReader(handle))
        alone = {}
        for kind, (client, server) in kinds().items():
            if kind in plan:
                graded = subprocess.run(
                    [sys.executable, "-m", "grader", "--client", str(client), "--server",
                     str(server), "--lang", "en"], cwd=str(ROOT), stdout=subprocess.PIPE,
                    timeout=600).stdout.decode("utf-8", "replace")
                alone[kind] = next(line.split()[1].split("/")[0] for line in graded.splitlines()
                                   if line.startswith("Score "))
        differ = [(row["student"], row["total"], alone[row["student"].split("-", 1)[1]])
                  for row in rows if row["total"] != alone[row["student"].split("-", 1)[1]]]
        print("students whose batch score differs from grading alone: %s" % (differ or "none"))
        sealing, cost, tree_ms = sandbox_cost()
        print("sandbox: %s%s; cost per student %.0f ms (median of %d starts, over a plain "
              "python -c pass); the batch's grader copy %.0f ms once" % (
                  sealing.kind, " (missing: %s)" % ", ".join(sealing.missing)
                  if sealing.missing else "", cost, SANDBOX_RUNS, tree_ms))
        for student, _, _ in differ:  # show why, from the report the student would read
            report = (work / "out" / "reports" / ("%s.txt" % student)).read_text(encoding="utf-8")
            print("--- %s ---\n%s" % (student, report[report.find("Checks not passed"):][:3000]))
        print(json.dumps({"benchmark": "batch", "students": args.students, "jobs": args.jobs,
                          "wall_s": round(wall, 1), "differ": len(differ),
                          "sandbox": sealing.kind, "sandbox_ms_per_student": round(cost),
                          "python": sys.version.split()[0]}))
    finally:
        shutil.rmtree(str(work), ignore_errors=True)


if __name__ == "__main__":
    main()

"""How long a student waits for `python -m grader`: wall time of whole runs.

    python benchmarks/grade_bench.py            # 5 runs each of the reference and the skeleton
    python benchmarks/grade_bench.py --runs 9

Each run is the real command in a fresh process (interpreter start-up, pytest, every check),
exactly what a student types. Prints each run, then the median, min and max per target, and
one JSON line for scripts. Bounded: --runs (at most 50) runs of at most 120 s each.
"""

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGETS = {
    "reference": ["--reference"],
    "skeleton": [],
}
RUN_TIMEOUT = 120


def one_run(args):
    started = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "grader", "--lang", "en"] + args, cwd=str(ROOT),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=RUN_TIMEOUT)
    elapsed = time.perf_counter() - started
    out = run.stdout.decode("utf-8", "replace")
    score = next((line.split()[1] for line in out.splitlines() if line.startswith("Score ")), "?")
    return elapsed, score, run.returncode


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, choices=range(1, 51), metavar="N")
    parser.add_argument("--target", choices=sorted(TARGETS), action="append")
    args = parser.parse_args(argv)
    summary = {}
    for target in args.target or list(TARGETS):
        times = []
        for number in range(args.runs):
            elapsed, score, status = one_run(TARGETS[target])
            times.append(elapsed)
            print("%-9s run %d: %.2f s  score %s  exit %d" % (target, number + 1, elapsed, score, status))
        summary[target] = {"median_s": round(statistics.median(times), 3),
                           "min_s": round(min(times), 3), "max_s": round(max(times), 3),
                           "runs": args.runs, "score": score}
        print("%-9s median %.2f s (min %.2f, max %.2f)\n" % (
            target, statistics.median(times), min(times), max(times)))
    print(json.dumps({"benchmark": "grade_wall_time", "python": sys.version.split()[0],
                      "results": summary}))


if __name__ == "__main__":
    main()

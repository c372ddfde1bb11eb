"""What batch's class report (report.html) and similarity report cost for a class of 100.

    python benchmarks/report_bench.py                      # 100 students, en
    python benchmarks/report_bench.py --students 100 --lang zh --keep /tmp/reports
    python benchmarks/report_bench.py --cache /tmp/graded  # reuse the gradings of a rerun

The class is batch_bench.py's (half the reference, a fifth the skeleton, the rest the
corpus's broken submissions in turn). Each distinct submission is graded once, for real
(``python -m grader --result-json``, two at a time), and every student gets a
SubmissionResult holding their kind's GradingResult and grading time, as batch would write.
Only the reports are timed: grader/class_report.render_html + write over the 100 results, and
grader/similarity's read_sources + compare + render_html over the 100 folders (the first
import of copydetect timed on its own). With --distinct every file of the class differs
(see --help). Each is run --repeat times; it prints the median and the total of the runs
and one JSON line. ``--keep DIR`` leaves report.html and
similarity.html there. Bounded: one grading per distinct submission, --repeat runs each.
"""

import argparse
import concurrent.futures
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import batch_bench  # noqa: E402
from grader import class_report  # noqa: E402
from grader.results import GradingResult, SubmissionResult, SubmissionStatus  # noqa: E402

#: A grading that takes longer than this is recorded as timed out (batch's own limit).
GRADING_TIMEOUT = 180.0


def grade_kind(kind, files, lang, cache):
    """(kind, SubmissionStatus, GradingResult or None, seconds): one real grading, or the
    cached one."""
    path = cache / ("%s.%s.json" % (kind, lang))
    if path.is_file():
        data = json.loads(path.read_text(encoding="utf-8"))
        result = GradingResult.from_dict(data["result"]) if data["result"] else None
        return kind, SubmissionStatus(data["status"]), result, data["seconds"]
    client, server = files
    result_path = cache / ("%s.%s.result.json" % (kind, lang))
    started = time.perf_counter()
    try:
        run = subprocess.run([sys.executable, "-m", "grader", "--client", str(client),
                              "--server", str(server), "--lang", lang,
                              "--result-json", str(result_path)],
                             cwd=str(ROOT), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             timeout=GRADING_TIMEOUT)
        status = (SubmissionStatus.OK if run.returncode == 0 else SubmissionStatus.GRADER_ERROR)
    except subprocess.TimeoutExpired:
        status = SubmissionStatus.TIMEOUT
    seconds = round(time.perf_counter() - started, 2)
    result = None
    if status is not SubmissionStatus.TIMEOUT and result_path.is_file():
        result = GradingResult.from_dict(json.loads(result_path.read_text(encoding="utf-8")))
    path.write_text(json.dumps({"status": status.value, "seconds": seconds,
                                "result": result.to_dict() if result else None}),
                    encoding="utf-8")
    return kind, status, result, seconds


def class_results(plan, lang, cache, jobs):
    """One SubmissionResult per student of ``plan`` (batch_bench.make_class's kinds)."""
    kinds = batch_bench.kinds()
    wanted = sorted(set(plan))
    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        graded = {kind: (status, result, seconds) for kind, status, result, seconds in
                  pool.map(lambda kind: grade_kind(kind, kinds[kind], lang, cache), wanted)}
    results = []
    for number, kind in enumerate(plan):
        status, result, seconds = graded[kind]
        results.append(SubmissionResult("s%03d-%s" % (number + 1, kind), status, result, seconds))
    return results


def timed(function, repeat):
    """(median, total) seconds of ``repeat`` calls of ``function``, and its last value."""
    runs, value = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        value = function()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs), sum(runs), value


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=100, choices=range(2, 501), metavar="N")
    parser.add_argument("--lang", choices=("en", "zh"), default="en")
    parser.add_argument("--repeat", type=int, default=5, choices=range(1, 51), metavar="R")
    parser.add_argument("--jobs", type=int, default=2, choices=range(1, 9), metavar="J",
                        help="gradings at a time while building the results (not timed)")
    parser.add_argument("--cache", type=Path, help="keep the gradings here, reuse them")
    parser.add_argument("--keep", type=Path, help="leave report.html and similarity.html here")
    parser.add_argument("--distinct", action="store_true",
                        help="make every student's files differ (a comment naming them), so "
                             "the similarity report cannot reuse one fingerprint or one "
                             "comparison for students who hand in the same file: the cost of "
                             "a class of 100 different files that are all alike")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="report-bench-"))
    try:
        cache = args.cache or work / "graded"
        cache.mkdir(parents=True, exist_ok=True)
        plan = batch_bench.make_class(work / "class", args.students)
        if args.distinct:
            for path in (work / "class").glob("*/*.py"):
                with open(str(path), "a", encoding="utf-8") as handle:
                    handle.write("\n# %s\n" % path.parent.name)
        started = time.perf_counter()
        results = class_results(plan, args.lang, cache, args.jobs)
        print("results built in %.1f s (gradings, not timed)" % (time.perf_counter() - started))
        out = args.keep or work / "out"
        out.mkdir(parents=True, exist_ok=True)

        html_median, html_total, path = timed(
            lambda: class_report.write_report(out, results, args.lang), args.repeat)
        size = path.stat().st_size
        print("report.html: median %.3f s, total %.3f s over %d runs, %d KB"
              % (html_median, html_total, args.repeat, size // 1024))

        figures = {"benchmark": "reports", "students": args.students, "lang": args.lang,
                   "distinct": args.distinct,
                   "repeat": args.repeat, "report_html_median_s": round(html_median, 3),
                   "report_html_total_s": round(html_total, 3), "report_html_kb": size // 1024}
        try:
            started = time.perf_counter()
            from grader import similarity
            import copydetect  # noqa: F401
            figures["copydetect_import_s"] = round(time.perf_counter() - started, 3)
        except ImportError:
            print("similarity: skipped, copydetect is not installed")
        else:
            submissions = [(folder.name, folder) for folder in sorted((work / "class").iterdir())]
            sim_median, sim_total, (_, line) = timed(
                lambda: similarity.write_similarity(out, submissions, ROOT / "skeleton",
                                                    args.lang), args.repeat)
            print(line)
            print("similarity: median %.3f s, total %.3f s over %d runs (import of copydetect "
                  "%.3f s, once)" % (sim_median, sim_total, args.repeat,
                                     figures["copydetect_import_s"]))
            figures.update(similarity_median_s=round(sim_median, 3),
                           similarity_total_s=round(sim_total, 3),
                           similarity_html_kb=(out / similarity.HTML_NAME).stat().st_size // 1024)
        figures["python"] = sys.version.split()[0]
        print(json.dumps(figures))
    finally:
        shutil.rmtree(str(work), ignore_errors=True)


if __name__ == "__main__":
    main()

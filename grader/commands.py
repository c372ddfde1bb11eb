"""The instructor's subcommands of ``python -m grader``.

    python -m grader batch SUBMISSIONS --out DIR [--jobs N] [--resume]
    python -m grader gradescope --out autograder.zip
    python -m grader handout --out socket-lab-student.zip

Each returns the process's exit status: 0 done, 2 bad arguments, 3 the grader failed,
130 interrupted (finished results are kept).
"""

import argparse
import os
import signal
import sys
import zipfile
from pathlib import Path

from . import batch as batching
from . import gradebook
from .console import detect_lang
from .results import SubmissionStatus

ROOT = Path(__file__).resolve().parent.parent

#: The packages both bundles ship whole: the grader and the classroom servers it runs.
#: Nothing of reference/ (the solutions) ever leaves the instructor's copy.
SHIPPED_PACKAGES = ("grader", "classroom")

# ------------------------------------------------------------------------------ batch


def batch(argv):
    parser = argparse.ArgumentParser(
        prog="python -m grader batch",
        description="Grade a class: SUBMISSIONS holds one folder or .zip per student (the "
                    "name is the student id) with chat_client.py and/or chat_server.py.")
    parser.add_argument("submissions", metavar="SUBMISSIONS")
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="where grades.csv, summary.txt and reports/ go")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2, metavar="N",
                        help="submissions graded at once (default: the number of cores)")
    parser.add_argument("--resume", action="store_true",
                        help="skip students already graded in --out")
    parser.add_argument("--lang", choices=("zh", "en"), help="language of the reports")
    parser.add_argument("-k", metavar="EXPRESSION", dest="keyword",
                        help="grade only the checks matching this pytest -k expression")
    parser.add_argument("--timeout", type=float, default=batching.SUBMISSION_TIMEOUT,
                        metavar="SECONDS", help="most time for one student (default %(default)s)")
    args = parser.parse_args(argv)
    if not Path(args.submissions).is_dir():
        parser.error("%s: no such folder" % args.submissions)
    if not 1 <= args.jobs <= 64:
        parser.error("--jobs takes 1 to 64")
    try:
        submissions = batching.discover(args.submissions)
    except ValueError as error:
        parser.error(str(error))
    # Ctrl-C (SIGINT) is how a batch is stopped with its finished results kept. A shell
    # that starts a command in the background without job control makes it ignore SIGINT,
    # and Python then leaves it ignored: take it back.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    run = batching.Batch(submissions, args.out, jobs=args.jobs, resume=args.resume,
                         lang=args.lang or detect_lang(), timeout=args.timeout,
                         progress=sys.stderr, keyword=args.keyword)
    try:
        graded = run.run()
    except KeyboardInterrupt:
        graded = batching.load_results(Path(args.out) / batching.RESULTS_DIR)
        gradebook.write_outputs(args.out, graded, run.log_lines)
        print("\ninterrupted: %d of %d students graded and kept in %s; run again with "
              "--resume to grade the rest" % (len(graded), len(submissions), args.out),
              file=sys.stderr)
        return 130
    print(gradebook.write_outputs(args.out, graded, run.log_lines))
    print("\ngrades: %s" % (Path(args.out) / "grades.csv"))
    failed = any(one.status is SubmissionStatus.GRADER_ERROR for one in graded)
    return 3 if failed else 0


# ------------------------------------------------------------------------- gradescope

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once to build the autograder image.
set -euo pipefail
apt-get update -q && apt-get install -y -q python3 python3-pip
python3 -m pip install --break-system-packages "pytest>=7" "pytest-timeout>=2.1" \\
  || python3 -m pip install "pytest>=7" "pytest-timeout>=2.1"
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for each submission: grade /autograder/submission into
# /autograder/results/results.json. AUTOGRADER_ROOT moves the root (for testing).
set -uo pipefail
cd "$(dirname "$0")"
exec python3 -m grader.gradescope_run
"""


def gradescope(argv):
    parser = argparse.ArgumentParser(
        prog="python -m grader gradescope",
        description="Build the Gradescope autograder bundle (setup.sh, run_autograder, the "
                    "grader and the classroom servers; no reference solutions).")
    parser.add_argument("--out", default="autograder.zip", metavar="ZIP")
    parser.add_argument("--lang", choices=("zh", "en"), default="zh",
                        help="language of the feedback students read (default zh)")
    args = parser.parse_args(argv)
    with zipfile.ZipFile(args.out, "w", zipfile.ZIP_DEFLATED) as bundle:
        _add_script(bundle, "setup.sh", SETUP_SH)
        _add_script(bundle, "run_autograder", RUN_AUTOGRADER)
        bundle.writestr("grader_lang", args.lang + "\n")
        for path in package_files(SHIPPED_PACKAGES):
            bundle.write(str(path), path.relative_to(ROOT).as_posix())
    print("wrote %s: upload it as the autograder (Ubuntu base image)" % args.out)
    return 0


def _add_script(bundle, name, text):
    info = zipfile.ZipInfo(name)
    info.external_attr = 0o755 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    bundle.writestr(info, text)


def package_files(packages):
    """Every file of each package folder under ROOT, sorted: whatever modules it holds
    (no list of names to keep up), without bytecode and hidden folders (.pytest_cache)."""
    files = []
    for package in packages:
        for path in sorted((ROOT / package).rglob("*")):
            inside = path.relative_to(ROOT).parts
            if (path.is_file() and path.suffix != ".pyc" and "__pycache__" not in inside
                    and not any(part.startswith(".") for part in inside)):
                files.append(path)
    return files


# ---------------------------------------------------------------------------- handout

#: Notebooks that build the lab's own solution step by step: hand them out once the lab is
#: graded, not with the skeleton (the handout test proves no solution code is in the kit).
AFTER_THE_DEADLINE = {"02_the_chat_client.ipynb"}

STUDENT_README = """# socket-lab: 学生版 / student kit

完成 `skeleton/chat_client.py` 和 `skeleton/chat_server.py` 里的 TODO, 然后评分:
Complete the TODOs of `skeleton/chat_client.py` and `skeleton/chat_server.py`, then grade:

```bash
python -m pip install -e .
python -m grader                  # 给 skeleton/ 里的两个文件评分 / grade both files
python -m grader -k client        # 只运行客户端的检查 / only the client's checks
```

评分程序只在本机 (127.0.0.1) 上运行你的程序。报告会告诉你每一项检查发送了什么、期望什么、
实际收到了什么, 以及最可能的错误。
The grader runs your programs on this computer only (127.0.0.1). For every check that
fails, the report says what was sent, what was expected, what arrived, and the likely
mistake.

老师的服务器 / the classroom servers, to try your client at home:

```bash
python -m classroom.echo_server --host 127.0.0.1     # 回声服务器 / echo server, port 10000
python -m classroom.hub_server --host 127.0.0.1      # 聊天室 / chat room, port 10001
```

`notebooks/` 里的笔记本回答实验的思考题 (`jupyter lab notebooks/`)。
The notebooks in `notebooks/` answer the lab's thinking questions (`jupyter lab notebooks/`).
"""

STUDENT_PYPROJECT = """[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "socket-lab-student"
version = "0.1.0"
requires-python = ">=3.9"
dependencies = ["pytest>=7", "pytest-timeout>=2.1"]

[tool.setuptools]
packages = ["grader", "grader.checks", "classroom"]

[tool.setuptools.package-data]
"grader.checks" = ["pytest.ini"]
"""


def handout(argv):
    parser = argparse.ArgumentParser(
        prog="python -m grader handout",
        description="Build the students' kit: skeletons, grader, classroom servers, "
                    "notebooks and a student README; no reference solution.")
    parser.add_argument("--out", default="socket-lab-student.zip", metavar="ZIP")
    args = parser.parse_args(argv)
    files = handout_files()
    with zipfile.ZipFile(args.out, "w", zipfile.ZIP_DEFLATED) as kit:
        kit.writestr("socket-lab/README.md", STUDENT_README)
        kit.writestr("socket-lab/pyproject.toml", STUDENT_PYPROJECT)
        for path in files:
            kit.write(str(path), "socket-lab/" + path.relative_to(ROOT).as_posix())
    print("wrote %s (%d files)" % (args.out, len(files) + 2))
    return 0


def handout_files():
    files = package_files(SHIPPED_PACKAGES)
    files += sorted((ROOT / "skeleton").glob("*.py"))
    notebooks = ROOT / "notebooks"
    if notebooks.is_dir():
        files += sorted(path for path in notebooks.iterdir()
                        if path.suffix in (".ipynb", ".md") and path.is_file()
                        and path.name not in AFTER_THE_DEADLINE)
    return files


if __name__ == "__main__":
    sys.exit("use: python -m grader batch|gradescope|handout")


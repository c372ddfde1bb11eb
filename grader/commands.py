"""The instructor's subcommands of ``python -m grader``.

    python -m grader batch SUBMISSIONS --out DIR [--jobs N] [--resume]
    python -m grader gradescope --out autograder.zip
    python -m grader handout --out socket-lab-student.zip
    python -m grader prairielearn-question --out DIR

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
from . import class_report, gradebook, similarity
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
    add_visibility_argument(parser)
    parser.add_argument("--unsafe-no-sandbox", action="store_true",
                        help="where no sandbox works (no bubblewrap or namespaces, not root), "
                             "run student code as your own user anyway: only on a throwaway "
                             "machine (see README, 'Untrusted code')")
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
    overrides = visibility_option(parser, args)[0] if args.visibility else {}
    lang = args.lang or detect_lang()
    run = batching.Batch(submissions, args.out, jobs=args.jobs, resume=args.resume,
                         lang=lang, timeout=args.timeout,
                         progress=sys.stderr, keyword=args.keyword,
                         unsafe_no_sandbox=args.unsafe_no_sandbox, visibility=overrides)
    try:
        graded = run.run()
    except KeyboardInterrupt:
        graded = batching.load_results(Path(args.out) / batching.RESULTS_DIR)
        gradebook.write_outputs(args.out, graded, run.log_lines)
        class_report.write_report(args.out, graded, lang, run.log_lines)
        print("\ninterrupted: %d of %d students graded and kept in %s; run again with "
              "--resume to grade the rest" % (len(graded), len(submissions), args.out),
              file=sys.stderr)
        return 130
    print(gradebook.write_outputs(args.out, graded, run.log_lines))
    similar = similarity.write_similarity(
        args.out, [(sub.student, sub.source) for sub in submissions], lang=lang)
    print(similar.line)
    print("class report: %s" % class_report.write_report(
        args.out, graded, lang, run.log_lines,
        similarity_href=similarity.HTML_NAME if similar.html else None))
    print("\ngrades: %s" % (Path(args.out) / "grades.csv"))
    failed = any(one.status is SubmissionStatus.GRADER_ERROR for one in graded)
    return 3 if failed else 0


# ------------------------------------------------------------------------- gradescope

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once to build the autograder image. bubblewrap seals each
# submission's grading (grader/_bwrap.py); where the container forbids it, unshare
# (util-linux), else a uid of its own: run_autograder's log says which held.
set -euo pipefail
apt-get update -q && apt-get install -y -q python3 python3-pip bubblewrap util-linux
python3 -m pip install --break-system-packages "pytest>=7" "pytest-timeout>=2.1" \\
  || python3 -m pip install "pytest>=7" "pytest-timeout>=2.1"
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for each submission: grade /autograder/submission into
# /autograder/results/results.json. AUTOGRADER_ROOT moves the root (for testing).
set -uo pipefail
cd "$(dirname "$0")"
# Over the bundle's rate limit (if it has one): the last graded results, and stop.
python3 -m grader.gradescope_limit && exit 0
exec python3 -m grader.gradescope_run
"""


def visibility_option(parser, args):
    """The checks' visibility overrides of ``--visibility CHECK=VISIBILITY``, validated
    against the rubric (an unknown check or visibility is a usage error), and the catalog of
    the checks with them applied (grader.run.check_catalog)."""
    from .results import GraderError, parse_visibility_overrides
    from .run import check_catalog
    try:
        overrides = parse_visibility_overrides(args.visibility)
        catalog = check_catalog(overrides)
    except (ValueError, GraderError) as error:
        parser.error(str(error))
    unknown = sorted(set(overrides) - {check["id"] for check in catalog})
    if unknown:
        parser.error("--visibility: no check is called %s (python -m grader --list names "
                     "them)" % ", ".join(unknown))
    return overrides, catalog


def rate_limit_option(text):
    """``N/HOURS`` (``3/24``: 3 graded submissions every 24 hours) as ``(N, HOURS)``."""
    count, sep, hours = str(text).partition("/")
    try:
        limit = (int(count), float(hours))
    except ValueError:
        limit = None
    if not sep or limit is None or limit[0] < 1 or not limit[1] > 0:
        raise argparse.ArgumentTypeError(
            "--rate-limit takes N/HOURS with N >= 1 and HOURS > 0, such as 3/24: %r" % text)
    return limit


def add_visibility_argument(parser):
    parser.add_argument("--visibility", action="append", metavar="CHECK=VISIBILITY",
                        help="when students see CHECK on Gradescope: visible, after_due_date, "
                             "after_published or hidden (repeat for several; default: each "
                             "check's marker, all visible). A check that is not visible is "
                             "left out of the students' kit")


def gradescope(argv):
    parser = argparse.ArgumentParser(
        prog="python -m grader gradescope",
        description="Build the Gradescope autograder bundle (setup.sh, run_autograder, the "
                    "grader and the classroom servers; no reference solutions).")
    parser.add_argument("--out", default="autograder.zip", metavar="ZIP")
    parser.add_argument("--lang", choices=("zh", "en"), default="zh",
                        help="language of the feedback students read (default zh)")
    add_visibility_argument(parser)
    parser.add_argument("--rate-limit", type=rate_limit_option, metavar="N/HOURS",
                        help="grade at most N submissions of a student in any HOURS hours "
                             "(e.g. 3/24); later ones show the last graded results. Off by "
                             "default")
    args = parser.parse_args(argv)
    from . import bundle as options
    overrides, catalog = visibility_option(parser, args)
    with zipfile.ZipFile(args.out, "w", zipfile.ZIP_DEFLATED) as bundle:
        _add_script(bundle, "setup.sh", SETUP_SH)
        _add_script(bundle, "run_autograder", RUN_AUTOGRADER)
        bundle.writestr("grader_lang", args.lang + "\n")
        bundle.writestr(options.OPTIONS_PATH, options.render(overrides, args.rate_limit))
        for path in package_files(SHIPPED_PACKAGES):
            if path.relative_to(ROOT).as_posix() != options.OPTIONS_PATH:
                bundle.write(str(path), path.relative_to(ROOT).as_posix())
    held = ["%s=%s" % (check["id"], check["visibility"]) for check in catalog
            if check["visibility"] != "visible"]
    print("wrote %s: upload it as the autograder (Ubuntu base image)%s%s" % (
        args.out, "; held back: " + ", ".join(held) if held else "; every check visible",
        "; at most %d graded submissions in %g hours" % args.rate_limit if args.rate_limit
        else ""))
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


# ----------------------------------------------------------------------- prairielearn

#: Where the grader goes in a PrairieLearn course: serverFilesCourse/<this>/, which the
#: grading container sees as /grade/serverFilesCourse/<this>/.
PL_FOLDER = "socket_lab"

#: The question's grading script (externalGradingOptions.entrypoint). GRADE_ROOT moves
#: PrairieLearn's /grade (for testing).
PL_GRADE_SH = """#!/usr/bin/env bash
# PrairieLearn runs this in the grading container: grade the student's files in
# /grade/student into /grade/results/results.json (PrairieLearn's external-grading format).
set -uo pipefail
ROOT="${{GRADE_ROOT:-/grade}}"
mkdir -p "$ROOT/results"
cd "$(dirname "$0")"
if ! python3 -c "import pytest" 2>/dev/null; then
  # The grader's own failure, said as such: not the student's zero, and no attempt used.
  python3 -c 'import json, sys; json.dump({{"gradable": False, "format_errors": ["GRADER ERROR: the grading image has no pytest: use an image with python3, pytest and pytest-timeout"]}}, open(sys.argv[1], "w"))' "$ROOT/results/results.json"
  exit 0
fi
exec python3 -m grader --allow-missing --harden --lang {lang} \\
  --client "$ROOT/student/chat_client.py" --server "$ROOT/student/chat_server.py" \\
  --prairielearn "$ROOT/results/results.json"
"""

PL_QUESTION_HTML = """<pl-question-panel>
  <p>完成 <code>chat_client.py</code> 和 <code>chat_server.py</code> 里的 TODO, 然后上传这两个文件。
  评分程序在 127.0.0.1 上把它们当作真正的程序运行, 用真正的 socket 测试。</p>
  <p>Complete the TODOs of <code>chat_client.py</code> and <code>chat_server.py</code>, then
  upload both files. The grader runs them as real programs against real sockets on
  127.0.0.1.</p>
</pl-question-panel>

<pl-file-upload file-names="chat_client.py, chat_server.py"></pl-file-upload>

<pl-submission-panel>
  <pl-external-grader-results></pl-external-grader-results>
  <pl-file-preview></pl-file-preview>
</pl-submission-panel>
"""


def prairielearn_info(uuid, image, timeout):
    """The question's info.json (a dict), as PrairieLearn's external-grading page
    describes ``externalGradingOptions``."""
    return {
        "uuid": uuid,
        "title": "Socket lab: a TCP chat client and server",
        "topic": "Sockets",
        "tags": ["socket-lab", "networking"],
        "type": "v3",
        "singleVariant": True,
        "gradingMethod": "External",
        "externalGradingOptions": {
            "enabled": True,
            "image": image,
            "serverFilesCourse": [PL_FOLDER + "/"],
            "entrypoint": "/grade/serverFilesCourse/%s/grade.sh" % PL_FOLDER,
            "timeout": timeout,
        },
    }


def prairielearn_question(argv):
    import json
    import uuid as uuids

    parser = argparse.ArgumentParser(
        prog="python -m grader prairielearn-question",
        description="Write a PrairieLearn question that grades the lab: OUT/questions/NAME/ "
                    "(info.json, question.html) and OUT/serverFilesCourse/%s/ (the grader, the "
                    "classroom servers, grade.sh). Copy both folders into your course."
                    % PL_FOLDER)
    parser.add_argument("--out", required=True, metavar="DIR")
    parser.add_argument("--name", default="socketLabChat", metavar="NAME",
                        help="the question's folder name (default %(default)s)")
    parser.add_argument("--image", default="prairielearn/grader-python",
                        help="the grading image: it needs python3, pytest and pytest-timeout "
                             "(default %(default)s)")
    parser.add_argument("--timeout", type=int, default=int(batching.SUBMISSION_TIMEOUT),
                        metavar="SECONDS", help="grading time limit, at most 600 (default "
                                                "%(default)s, as batch allows one student)")
    parser.add_argument("--lang", choices=("zh", "en"), default="zh",
                        help="language of the feedback students read (default zh)")
    parser.add_argument("--uuid", help="the question's UUID (default: a new one)")
    args = parser.parse_args(argv)
    if not 1 <= args.timeout <= 600:
        parser.error("--timeout: PrairieLearn allows 1 to 600 seconds")
    if not args.name or any(char in args.name for char in "/\\."):
        parser.error("--name: one folder name, such as socketLabChat")
    try:
        uuid = str(uuids.UUID(args.uuid)) if args.uuid else str(uuids.uuid4())
    except ValueError:
        parser.error("--uuid: not a UUID: %r" % args.uuid)
    out = Path(args.out)
    question = out / "questions" / args.name
    server_files = out / "serverFilesCourse" / PL_FOLDER
    question.mkdir(parents=True, exist_ok=True)
    (question / "info.json").write_text(
        json.dumps(prairielearn_info(uuid, args.image, args.timeout), indent=2) + "\n",
        encoding="utf-8")
    (question / "question.html").write_text(PL_QUESTION_HTML, encoding="utf-8")
    for path in package_files(SHIPPED_PACKAGES):
        target = server_files / path.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
    script = server_files / "grade.sh"
    script.write_text(PL_GRADE_SH.format(lang=args.lang), encoding="utf-8", newline="\n")
    script.chmod(0o755)
    print("wrote %s and %s: copy questions/ and serverFilesCourse/ into your course"
          % (question, server_files))
    return 0


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
    add_visibility_argument(parser)
    args = parser.parse_args(argv)
    _, catalog = visibility_option(parser, args)
    try:
        files = handout_files(catalog)
    except ValueError as error:
        parser.error(str(error))
    held = [check for check in catalog if check["visibility"] != "visible"]
    readme = STUDENT_README + (HELD_BACK_NOTE.format(
        count=len(held), points="%g" % sum(check["points"] for check in held)) if held else "")
    with zipfile.ZipFile(args.out, "w", zipfile.ZIP_DEFLATED) as kit:
        kit.writestr("socket-lab/README.md", readme)
        kit.writestr("socket-lab/pyproject.toml", STUDENT_PYPROJECT)
        for path in files:
            kit.write(str(path), "socket-lab/" + path.relative_to(ROOT).as_posix())
    print("wrote %s (%d files)" % (args.out, len(files) + 2))
    return 0


#: Added to the kit's README when some checks are held back (not in the kit).
HELD_BACK_NOTE = """
另有 {count} 项检查 (共 {points} 分) 不在这个学生版里, 只在提交后评分, 截止日期后公布结果。
{count} more checks ({points} points) are not in this kit: they grade your submission, and
their results are shown after the due date.
"""


def held_back_files(catalog):
    """The check files to leave out of the kit: those whose every check is held back
    (``catalog`` as grader.run.check_catalog gives it). ValueError when a held-back check
    shares its file with a visible one: its code cannot be left out alone."""
    by_file = {}
    for check in catalog:
        by_file.setdefault(check["file"], []).append(check)
    held = set()
    for path, checks in by_file.items():
        hidden = [check["id"] for check in checks if check["visibility"] != "visible"]
        if hidden and len(hidden) < len(checks):
            raise ValueError(
                "%s is held back but shares %s with visible checks (%s): move it into a check "
                "file of its own (as check_hub_room_full.py) to leave its code out of the kit"
                % (", ".join(hidden), Path(path).name,
                   ", ".join(check["id"] for check in checks if check["id"] not in hidden)))
        if hidden:
            held.add(Path(path).resolve())
    return held


def handout_files(catalog=None):
    """The files of the students' kit: the shipped packages without the files of held-back
    checks (``catalog``: grader.run.check_catalog's; None: every check as its marker says),
    the skeletons, and the notebooks not held back until the deadline."""
    if catalog is None:
        from .run import check_catalog
        catalog = check_catalog()
    left_out = held_back_files(catalog)
    files = [path for path in package_files(SHIPPED_PACKAGES)
             if path.resolve() not in left_out]
    files += sorted((ROOT / "skeleton").glob("*.py"))
    notebooks = ROOT / "notebooks"
    if notebooks.is_dir():
        files += sorted(path for path in notebooks.iterdir()
                        if path.suffix in (".ipynb", ".md") and path.is_file()
                        and path.name not in AFTER_THE_DEADLINE)
    return files


if __name__ == "__main__":
    sys.exit("use: python -m grader batch|gradescope|handout|prairielearn-question")


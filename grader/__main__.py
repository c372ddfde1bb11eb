"""``python -m grader``: grade a chat client and server, print a report, exit.

    python -m grader                       # grade skeleton/chat_client.py and chat_server.py
    python -m grader --client my/chat_client.py --server my/chat_server.py
    python -m grader --reference           # grade the reference solutions (should be 100)
    python -m grader --part hub --lang en  # only the hub checks, report in English
    python -m grader -k q_ends             # only the checks whose name matches
    python -m grader --json results.json   # also write Gradescope's results.json
    python -m grader --prairielearn /grade/results/results.json   # PrairieLearn's
    python -m grader --github-classroom    # result=<base64> to $GITHUB_OUTPUT (Actions)
    python -m grader --autolab             # {"scores": {...}} as the last line of stdout

Exit status: 0 when grading ran (whatever the score), 2 for bad arguments, 3 when the
grader itself failed (a check could not run for a reason that is not the student's).
"""

import argparse
import importlib.util
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

EXIT_GRADED = 0
EXIT_BAD_ARGUMENTS = 2
EXIT_GRADER_ERROR = 3

DESCRIPTION = ("Grade the socket lab's chat client and chat server: every check runs your "
               "programs as real processes against real sockets on 127.0.0.1. "
               "给聊天客户端和服务器评分。")


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m grader", description=DESCRIPTION)
    parser.add_argument("--client", metavar="PATH", help="chat_client.py to grade "
                        "(default: skeleton/chat_client.py)")
    parser.add_argument("--server", metavar="PATH", help="chat_server.py to grade "
                        "(default: skeleton/chat_server.py)")
    parser.add_argument("--reference", action="store_true",
                        help="grade the reference solutions in reference/ (expect 100)")
    parser.add_argument("--lang", choices=("zh", "en"),
                        help="language of the report (default: from your locale)")
    parser.add_argument("--json", metavar="PATH",
                        help="also write the result as Gradescope's results.json to PATH")
    parser.add_argument("--prairielearn", metavar="PATH",
                        help="also write the result as PrairieLearn's external-grading "
                             "results.json to PATH")
    parser.add_argument("--github-classroom", action="store_true",
                        help="also append the result for GitHub Classroom's autograding "
                             "reporter to $GITHUB_OUTPUT (inside GitHub Actions)")
    parser.add_argument("--autolab", action="store_true",
                        help="print Autolab's autoresult line {\"scores\": {...}} (by part) "
                             "as the last line")
    parser.add_argument("--junitxml", metavar="PATH",
                        help="also write pytest's JUnit XML report to PATH")
    parser.add_argument("-k", metavar="EXPRESSION", dest="keyword",
                        help="run only the checks matching this pytest -k expression, "
                             "e.g. -k hub or -k 'client and not chinese'")
    parser.add_argument("--part", action="append", choices=("client", "p2p", "hub"),
                        help="grade only this part of the rubric (repeat for several): the "
                             "client, the server's p2p mode or its hub mode")
    parser.add_argument("--list", action="store_true", help="list the checks and exit")
    parser.add_argument("--repeat", type=int, default=1, metavar="K",
                        help="run every check K times and report the checks whose result "
                             "changed (flaky student code, or a flaky check)")
    # For `batch`, which grades many students: a missing file is the student's zero (with a
    # hint), not a bad argument; and the whole result is written for the gradebook.
    parser.add_argument("--allow-missing", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--result-json", metavar="PATH", help=argparse.SUPPRESS)
    # How batch (and the Gradescope bundle) runs untrusted code: these reach the launcher
    # through the run settings (grader/settings.py), never through our own environment.
    parser.add_argument("--harden", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--sandbox-uid", type=int, metavar="UID", help=argparse.SUPPRESS)
    parser.add_argument("--student-python", metavar="PATH", help=argparse.SUPPRESS)
    parser.add_argument("--ports", type=port_range, metavar="START-END", help=argparse.SUPPRESS)
    return parser


def port_range(text):
    from .settings import PortRange
    try:
        return PortRange.parse(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error))


SUBCOMMANDS = ("batch", "gradescope", "handout", "prairielearn-question")


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in SUBCOMMANDS:
        from . import commands
        return getattr(commands, argv[0].replace("-", "_"))(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.repeat > 50:
        parser.error("--repeat takes 1 to 50")
    pytest_extra = ["--junitxml=%s" % args.junitxml] if args.junitxml else []
    if importlib.util.find_spec("pytest") is None:
        print("socket-lab: 需要 pytest / pytest is needed: python -m pip install pytest pytest-timeout",
              file=sys.stderr)
        return EXIT_BAD_ARGUMENTS
    from .run import grade_run
    from .settings import RunSettings
    from .console import detect_lang, printable, safe_output, terminal_width, use_color
    from .files import write_atomic
    from .gradescope import write_json
    from .report import render_text

    lang = args.lang or detect_lang()
    folder = ROOT / "reference" if args.reference else student_folder()
    client = Path(args.client) if args.client else folder / "chat_client.py"
    server = Path(args.server) if args.server else folder / "chat_server.py"
    if args.reference and not (ROOT / "reference" / "chat_client.py").is_file():
        parser.error("--reference: this copy of socket-lab has no reference solutions")
    for option, path in (("--client", args.client), ("--server", args.server)):
        if path and not args.allow_missing and not Path(path).is_file():
            parser.error("%s %s: 找不到这个文件 / no such file" % (option, path))
    github_output = None
    if args.github_classroom:
        import os
        github_output = os.environ.get("GITHUB_OUTPUT")
        if not github_output:
            parser.error("--github-classroom: GITHUB_OUTPUT is not set (GitHub Actions sets "
                         "it for each step; see grader/templates/github-classroom.yml)")
    safe_output()
    if args.list:
        from .run import list_checks
        for line in list_checks(lang, args.keyword, parts=args.part):
            print(line)
        return EXIT_GRADED
    settings = RunSettings(
        client, server, lang=lang, keyword=args.keyword, parts=args.part,
        student_python=args.student_python, ports=args.ports, harden=args.harden,
        sandbox_uid=args.sandbox_uid, pytest_args=pytest_extra)
    runs = [grade_run(settings, progress=sys.stdout) for _ in range(args.repeat)]
    result = runs[0]
    if not result.checks:
        print("socket-lab: no check matched%s%s" % (
            " -k %r" % args.keyword if args.keyword else "",
            " --part %s" % " ".join(args.part) if args.part else ""), file=sys.stderr)
        return EXIT_BAD_ARGUMENTS
    print(printable(render_text(result, lang=lang, color=use_color(sys.stdout),
                                width=terminal_width())))
    if args.repeat > 1:
        print(printable(describe_repeats(runs, lang)))
    if args.json:
        write_json(result, args.json, lang=lang)
    if args.result_json:
        write_atomic(args.result_json, json.dumps(result.to_dict(), ensure_ascii=False))
    if args.prairielearn:
        from . import prairielearn
        prairielearn.write_json(result, args.prairielearn, lang=lang)
    if github_output:
        from . import github_classroom
        github_classroom.append_output(github_output, result, lang=lang)
    if args.autolab:
        from . import autolab
        print(autolab.autoresult(result), flush=True)  # the last line: nothing prints after it
    return EXIT_GRADER_ERROR if any(run.grader_errors for run in runs) else EXIT_GRADED


def describe_repeats(runs, lang):
    """Which checks changed their result across repeated runs: their status or, with scored
    parts, their score (a check can fail every run and still earn 3 points in one, 5 in
    another)."""
    outcomes = {}
    for run in runs:
        for check in run.checks:
            outcomes.setdefault(check.id, []).append((check.status, round(check.score, 2)))
    flaky = {check: results for check, results in outcomes.items() if len(set(results)) > 1}
    head = ("重复 %d 次: " % len(runs)) if lang == "zh" else ("Repeated %d times: " % len(runs))
    if not flaky:
        return head + ("每一项检查的结果都相同。" if lang == "zh" else "every check gave the same result.")
    lines = [head + ("结果不稳定的检查 (代码里可能有线程竞争):" if lang == "zh"
                     else "checks whose result changed (a race in the code, most likely):")]
    for check, results in flaky.items():
        lines.append("  %-28s %s" % (check, " ".join(
            "✓" if status == "passed" else "✗%g" % score for status, score in results)))
    return "\n".join(lines)


def student_folder():
    """skeleton/ of the folder the student works in, else of this copy of socket-lab."""
    here = Path.cwd() / "skeleton"
    return here if (here / "chat_client.py").is_file() else ROOT / "skeleton"


if __name__ == "__main__":
    sys.exit(main())

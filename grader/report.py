"""The terminal report of a grading run: the text a student reads.

    render_text     the report of a GradingResult, in a language, at a width, with or
                    without colours (nothing else: grader/console.py says which)

Shared with Gradescope's results.json (grader/gradescope.py), which lays the same details
out check by check: ``numbered_checks`` (the checks by part, numbered "3.2"),
``detail_blocks`` (one per check not passed, or one per root cause), ``details_body`` (a
block's lines), ``cause_text``, ``part_lines``, ``notes_lines``, and the small formatters
``check_title``, ``hint_text``, ``format_number`` and ``number_list``.

Every report is a function of a :class:`grader.results.GradingResult` and a language; none
of them grades, runs or prints anything.

Every fixed string a student can see lives in :data:`MESSAGES`, one dict per language, so
tests match the exact wording. A failed check's details block (what was sent, expected and
received, the program's own output, the hints) is written once, by ``details_body``, and
shown both in the terminal and in Gradescope (grader/gradescope.py).

A report is read to its end only if it is short, so:

- a check with scored parts (``CheckResult.parts``) that did not pass them all gets a line
  per part under its row, and its details name each failed part with its reason;
- checks that failed for one root cause (the same non-empty ``Evidence.cause``: a start-up
  that never gets going fails every check the same way) share ONE details block, headed
  with the cause and the numbers of the checks it cost, showing the first check's evidence;
- a block shows only the end of the program's output (``STDOUT_LINES``, ``STDERR_LINES``)
  and of each transcript (``TRANSCRIPT_LINES``), saying how many lines it left out, and a
  stderr already shown in an earlier block (time stamps aside) is referred to, not repeated.

Width: the table is measured in terminal columns, not characters. A Chinese character
takes two columns (``unicodedata.east_asian_width`` "W" or "F"), so ``len`` would misalign
every row with a Chinese title. A title too long for its column is wrapped onto lines of
its own, never cut: at spaces, and between two Chinese characters, but never inside a Latin
word nor before a punctuation mark (``_wrap``; only a word wider than the whole column,
which no real title has, is cut). Text from the student's program is cleaned
of control characters (their own ANSI codes included) before it reaches a report.
"""

import re
import unicodedata

from . import console, hints
from .results import ERROR, FAILED, PASSED

#: A part that was not tried because an earlier part it needs failed (see PartResult).
SKIPPED = "skipped"

#: Every user-visible fixed string, per language. ``{name}`` fields are filled with
#: ``str.format``.
MESSAGES = {
    "zh": {
        "title": "socket-lab 评分",
        "client_file": "客户端文件",
        "server_file": "服务器文件",
        "preflight": "评分前发现的问题",
        "parts": {"client": "客户端", "p2p": "服务器 p2p 模式", "hub": "服务器 hub 模式"},
        "subtotal": "小计",
        "total": "总分 {score}/{max_score}",
        "time": "用时 {seconds:.1f} 秒",
        "status": {PASSED: "通过", "failed": "未通过", ERROR: "评分程序出错"},
        "details": "未通过的检查",
        "sent": "我们发送",
        "expected": "期望",
        "got": "实际",
        "nothing": "(什么也没有)",
        "transcripts": "对话记录",
        "program_output": "你的程序的输出 (最后部分)",
        "stdout": "标准输出 stdout",
        "stderr": "标准错误 stderr",
        "earlier_lines": "[… 前面还有 {count} 行 …]",
        "same_traceback": "(和 {number} 中的 Traceback 相同)",
        "same_output": "(和 {number} 中的相同)",
        "hint": "提示: {text}",
        "hint_also": "另外: {text}",
        "more_lines": "[… 还有 {count} 行 …]",
        "no_evidence": "(这项检查没有记录更多细节)",
        "parts_skipped": "没有检查 (它们需要的前一部分没有通过): {titles}",
        "list_separator": "、",
        "programs": {"client": "客户端", "server": "服务器"},
        # A root cause, from the first check's hint: (what happened, the detail's label).
        "causes": {
            "unfinished-todo": ("你的{program}一启动就结束了", "还有TODO没有完成"),
            "syntax-error": ("你的{program}无法运行", "语法错误"),
            "file-not-utf8": ("你的{program}无法运行", "不是 UTF-8 编码"),
            "crash": ("你的{program}启动时就因为异常而终止", ""),
            "stuck-at-start": ("你的{program}启动后没有走到下一步", ""),
            "stdin-unanswered": ("你的{program}在等评分程序无法回答的输入", "最后打印的是"),
            "network-refused": ("你的{program}试图访问 127.0.0.1 以外的地址", ""),
            "missing-file": ("找不到你的{program}文件", ""),
        },
        "cause_other": "你的{program}在启动时就出了问题",
        "cause_heading": "{cause}: 因此 {count} 项检查没有通过 (共 {points} 分): {numbers}",
        "cause_see": "详细信息见 {number}。",
        "not_your_mistake": "这不是你的错误: 评分程序本身出了问题, 请把这段输出发给老师/助教",
        "grader_error": "评分程序的错误",
        "notes": "注意 (不扣分)",
        "run_had_errors": "本次评分中评分程序自己出错了 ({count} 项检查), 分数可能不完整: "
                          "请把全部输出发给老师/助教。",
        "summary_all_passed": "全部检查都通过了。",
        "summary_failed": "未通过的检查: {numbers}。",
    },
    "en": {
        "title": "socket-lab grading",
        "client_file": "client file",
        "server_file": "server file",
        "preflight": "Problems found before grading",
        "parts": {"client": "client", "p2p": "server, p2p mode", "hub": "server, hub mode"},
        "subtotal": "subtotal",
        "total": "Score {score}/{max_score}",
        "time": "time {seconds:.1f} s",
        "status": {PASSED: "passed", "failed": "FAILED", ERROR: "GRADER ERROR"},
        "details": "Checks not passed",
        "sent": "We sent",
        "expected": "Expected",
        "got": "Got",
        "nothing": "(nothing)",
        "transcripts": "Transcripts",
        "program_output": "Your program's output (end)",
        "stdout": "stdout",
        "stderr": "stderr",
        "earlier_lines": "[… {count} earlier lines …]",
        "same_traceback": "(the same traceback as in {number})",
        "same_output": "(the same as in {number})",
        "hint": "Hint: {text}",
        "hint_also": "Also: {text}",
        "more_lines": "[… {count} more …]",
        "no_evidence": "(this check recorded no further details)",
        "parts_skipped": "Not checked (a part they need failed first): {titles}",
        "list_separator": ", ",
        "programs": {"client": "client", "server": "server"},
        "causes": {
            "unfinished-todo": ("Your {program} ends at start-up", "unfinished TODO"),
            "syntax-error": ("Your {program} cannot run", "syntax error"),
            "file-not-utf8": ("Your {program} cannot run", "not saved as UTF-8"),
            "crash": ("Your {program} dies of an exception at start-up", ""),
            "stuck-at-start": ("Your {program} starts but never gets going", ""),
            "stdin-unanswered": ("Your {program} waits for input the grader cannot answer",
                                 "its last line"),
            "network-refused": ("Your {program} tries an address other than 127.0.0.1", ""),
            "missing-file": ("Your {program} file is missing", ""),
        },
        "cause_other": "Your {program} fails at start-up",
        "cause_heading": "{cause}: this costs {count} checks ({points} points): {numbers}",
        "cause_see": "The details are under {number}.",
        "not_your_mistake": "Not your mistake: the grader itself failed; please send this "
                            "output to your instructor",
        "grader_error": "Grader error",
        "notes": "Notes (no points lost)",
        "run_had_errors": "This run had grader errors (checks affected: {count}), so the score "
                          "may be incomplete: please send the whole output to your instructor.",
        "summary_all_passed": "All checks passed.",
        "summary_failed": "Checks not passed: {numbers}.",
    },
}

#: The rubric's parts, in report order; a part not listed here comes after them.
PARTS = ("client", "p2p", "hub")

#: The table's width is the terminal's, kept within these bounds.
MIN_WIDTH = 60
MAX_WIDTH = 120
#: The title column is never narrower than this, whatever the other columns take.
MIN_TITLE_WIDTH = 10

#: What a details block shows of the program's output and of each peer's transcript: the
#: end (a traceback's point is its last line), so that a flood or a long run cannot push
#: the hints out of sight.
STDOUT_LINES = 12
STDERR_LINES = 15
TRANSCRIPT_LINES = 6
#: What the grader did (typed, sent), at most: the first lines and the last ones.
SENT_LINES = 8

#: A cause's detail (a TODO's text) is shortened to this many columns in its heading: the
#: block's own hint below gives it whole.
CAUSE_DETAIL_WIDTH = 56

#: Marks in front of a check: passed, failed, grader error. All one column wide.
MARKS = {PASSED: "✓", "failed": "✗", ERROR: "!"}
#: Marks in front of a check's part: passed, failed, not tried.
PART_MARKS = {PASSED: "✓", FAILED: "✗", SKIPPED: "-"}
ELLIPSIS = "…"
INDENT = "  "
#: Columns a part's line takes in the title column before its title: indent, mark, space.
PART_LEAD_WIDTH = len(INDENT) + 2

_GREEN, _RED, _YELLOW, _BOLD, _RESET = "\033[32m", "\033[31m", "\033[33m", "\033[1m", "\033[0m"
_STATUS_COLOR = {PASSED: _GREEN, "failed": _RED, ERROR: _YELLOW}
_PART_COLOR = {PASSED: _GREEN, FAILED: _RED, SKIPPED: ""}


# ------------------------------------------------------------------- columns and text


def display_width(text):
    """Columns ``text`` takes in a terminal: wide and fullwidth characters take two."""
    return sum(_char_width(char) for char in text)


def _char_width(char):
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def _may_break(before, after):
    """Whether a line may break between two characters with no space between them.

    Only next to a wide (Chinese) character: two narrow ones are a Latin word (or "p2p",
    "recv(1024)"), never split. Never before a closing or other punctuation mark (，。? ) …)
    and never after an opening one, so a mark stays with the character it belongs to.
    """
    if _char_width(before) < 2 and _char_width(after) < 2:
        return False
    if unicodedata.combining(after) or unicodedata.category(after) in ("Pe", "Pf", "Po"):
        return False
    return unicodedata.category(before) not in ("Ps", "Pi")


def _atoms(text):
    """``text`` as ``[(space_before, atom)]``: an atom is a run a line may not break inside."""
    atoms, space = [], False
    for char in text:
        if char.isspace():
            space = True
        elif atoms and not space and not _may_break(atoms[-1][1][-1], char):
            atoms[-1] = (atoms[-1][0], atoms[-1][1] + char)
        else:
            atoms.append((space and bool(atoms), char))
            space = False
    return atoms


def _wrap(text, columns):
    """``text`` as lines of at most ``columns`` columns, broken where ``_may_break`` or a
    space allows; one line (``[""]`` for nothing) when it fits. Only a single atom wider
    than the column (a long identifier in a very narrow column) is cut, as nothing else
    could make it fit."""
    lines, line = [], ""
    for space, atom in _atoms(text):
        joined = line + (" " if space and line else "") + atom
        if line and display_width(joined) > columns:
            lines.append(line)
            joined = atom
        while display_width(joined) > columns:
            head = _take(joined, columns)
            lines.append(head)
            joined = joined[len(head):]
        line = joined
    return lines + [line] if line or not lines else lines


def _take(text, columns):
    """The longest start of ``text`` (at least one character) within ``columns``."""
    used = 0
    for index, char in enumerate(text):
        used += _char_width(char)
        if used > columns and index:
            return text[:index]
    return text


def _pad(text, columns):
    return text + " " * (columns - display_width(text))


def _pad_left(text, columns):
    return " " * (columns - display_width(text)) + text


def _hanging(prefix, text, width):
    """``prefix`` then ``text`` wrapped to ``width``, its later lines indented under its start."""
    indent = display_width(prefix)
    lines = _wrap(text, max(MIN_TITLE_WIDTH, width - indent))
    return [prefix + lines[0]] + [" " * indent + line for line in lines[1:]]


def _clean(text):
    """Text from a student's program, safe to print: no control characters (ESC included)."""
    text = str(text).replace("\r\n", "\n")
    return "".join(
        char if char in "\n\t" or unicodedata.category(char) != "Cc" else "\\x%02x" % ord(char)
        for char in text)


def _split(text):
    return _clean(text).rstrip("\n").split("\n")


def _indented(text, prefix):
    return [prefix + line for line in _split(text)]


def _last_lines(lines, limit, lang):
    """The last ``limit`` of ``lines``, after a line saying how many came before. A single
    line left out is kept instead: the notice would take its place for nothing."""
    if len(lines) <= limit + 1:
        return lines
    return ([MESSAGES[lang]["earlier_lines"].format(count=len(lines) - limit)]
            + lines[-limit:])


def _first_and_last(lines, limit, lang):
    """At most ``limit`` of ``lines``: the first few and the last ones, with a line saying
    how many were left out between them (what the grader did reads from both ends)."""
    if len(lines) <= limit:
        return lines
    head = limit // 2 - 1
    tail = limit - head - 1
    return (lines[:head] + [MESSAGES[lang]["more_lines"].format(count=len(lines) - head - tail)]
            + lines[-tail:])


#: The time stamp the grader puts in front of each line of a program's output.
_STAMP = re.compile(r"^\s*[+-]\d+(\.\d+)?s\b")


def _same_text_key(text):
    """``text`` without time stamps or indentation: two checks that ran into the same
    traceback at different times have the same key."""
    lines = (_STAMP.sub("", line).strip() for line in _split(text))
    return "\n".join(line for line in lines if line)


def format_number(value):
    """7.0 -> "7", 3.5 -> "3.5", 2.9999999 -> "3": points as a person writes them."""
    return "{:g}".format(round(float(value), 2))


def _painter(color):
    if not color:
        return lambda text, style: text
    return lambda text, style: (style + text + _RESET) if style else text


def _status(check):
    """The check's status, with anything unknown read as a failure."""
    return check.status if check.status in (PASSED, ERROR) else "failed"


def _part_status(part):
    return part.status if part.status in (PASSED, SKIPPED) else FAILED


def _short_title(check, lang):
    """The check's name in the score table: its short name, else its title."""
    short = check.short_zh if lang == "zh" else check.short_en
    return short or check_title(check, lang)


def check_title(check, lang):
    return (check.title_zh if lang == "zh" else check.title_en) or check.title_en or check.id


def hint_text(hint_id, lang, detail):
    """A hint's text; an id missing from the catalog is shown as it is, never a crash."""
    try:
        return hints.render(hint_id, lang, detail)
    except KeyError:
        return "{} {}".format(hint_id, detail).strip()


def number_list(numbers):
    """"1.1, 1.2, 1.3, 2.1" -> "1.1–1.3, 2.1": a run of three or more checks in a row (in
    one part) as a range, so a cause that cost twelve checks is one short line."""
    runs = []
    for number in numbers:
        if runs and _follows(runs[-1][-1], number):
            runs[-1].append(number)
        else:
            runs.append([number])
    return ", ".join(run[0] + "–" + run[-1] if len(run) >= 3 else ", ".join(run)
                     for run in runs)


def _follows(before, number):
    """Whether check ``number`` comes right after ``before`` in the same part ("2.3", "2.4")."""
    part, _, index = number.partition(".")
    last_part, _, last_index = before.partition(".")
    return (part == last_part and index.isdigit() and last_index.isdigit()
            and int(index) == int(last_index) + 1)


# ------------------------------------------------------------------------- structure


def numbered_checks(result):
    """``[(part, [(number, check), ...]), ...]`` in report order, parts without checks left out.

    A number is "part.check", e.g. "3.2" for the second hub check. A part keeps its number
    (client 1, p2p 2, hub 3) when other parts were not graded, so numbers are stable
    between runs.
    """
    parts = list(dict.fromkeys(list(PARTS) + [check.part for check in result.checks]))
    groups = []
    for index, part in enumerate(parts, 1):
        checks = [check for check in result.checks if check.part == part]
        if checks:
            numbered = [("{}.{}".format(index, i), check) for i, check in enumerate(checks, 1)]
            groups.append((part, numbered))
    return groups


def _cause(check):
    """The root cause a failed check shares with others, or "" (a grader error never has
    one: it is not the student's)."""
    if check.status == ERROR or check.passed or check.evidence is None:
        return ""
    return check.evidence.cause or ""


def detail_blocks(groups):
    """The details blocks, in report order: ``[(cause, [(number, check), ...]), ...]``.

    Every check not passed has its own block (cause ""), except that checks with the same
    cause share one, at the place of the first of them: the student reads the cause once.
    """
    not_passed = [(number, check) for _, numbered in groups for number, check in numbered
                  if not check.passed]
    by_cause = {}
    for number, check in not_passed:
        if _cause(check):
            by_cause.setdefault(_cause(check), []).append((number, check))
    blocks, shown = [], set()
    for number, check in not_passed:
        cause = _cause(check)
        if cause and len(by_cause[cause]) > 1:
            if cause not in shown:
                shown.add(cause)
                blocks.append((cause, by_cause[cause]))
        else:
            blocks.append(("", [(number, check)]))
    return blocks


def cause_text(members, lang):
    """The heading of a cause's block: what went wrong, said from the first check's first
    start-up hint (the key itself is only for grouping), and the checks it cost."""
    text = MESSAGES[lang]
    first = members[0][1]
    program = text["programs"]["client" if first.part == "client" else "server"]
    evidence = first.evidence
    known = [hint for hint in evidence.hints if hint in text["causes"]]
    if known:
        sentence, label = text["causes"][known[0]]
        detail = _short_detail(str(evidence.hint_details.get(known[0], "")), lang)
    else:
        sentence, label, detail = text["cause_other"], "", ""
    cause = sentence.format(program=program)
    if detail:
        cause += " ({})".format(label + ": " + detail if label else detail)
    lost = sum(check.points - check.score for _, check in members)
    return text["cause_heading"].format(
        cause=cause, count=len(members), points=format_number(lost),
        numbers=number_list([number for number, _ in members]))


def _short_detail(detail, lang):
    """A hint's detail short enough for a heading: of a "中文 / English" TODO text the half
    in the report's language, cut at a word after CAUSE_DETAIL_WIDTH columns."""
    halves = _clean(detail).split(" / ")
    if len(halves) == 2:
        chinese = [half for half in halves if any(_char_width(char) == 2 for char in half)]
        if len(chinese) == 1:
            detail = chinese[0] if lang == "zh" else [h for h in halves if h not in chinese][0]
    lines = _wrap(detail.replace("\n", " ").strip(), CAUSE_DETAIL_WIDTH)
    return lines[0] + (ELLIPSIS if len(lines) > 1 else "")


def _unique_notes(checks):
    """``(hint_id, detail)`` of every note of ``checks``, first occurrence only."""
    seen = []
    for check in checks:
        for note in check.notes:
            key = (note, str(check.note_details.get(note, "")))
            if key not in seen:
                seen.append(key)
    return seen


def notes_lines(checks, lang):
    notes = _unique_notes(checks)
    if not notes:
        return []
    return [MESSAGES[lang]["notes"]] + [
        INDENT + "- " + hint_text(note, lang, detail) for note, detail in notes]


# --------------------------------------------------------------------- terminal report


def _score_text(score, points):
    return "{}/{}".format(format_number(score), format_number(points))


def _part_title(part, lang):
    return (part.title_zh if lang == "zh" else part.title_en) or part.title_en or part.id


def _tried_parts(check):
    """Whether any part of ``check`` was tried: when none was (the check failed before its
    first part, e.g. the program never started), its parts say nothing the check does not."""
    return any(_part_status(part) != SKIPPED for part in check.parts)


def _shows_parts(check):
    """A check's parts get table lines only when they explain a lost point: a passed
    check's, or one whose parts were all skipped, would only make the table longer."""
    return not check.passed and _tried_parts(check)


def _row(lead, indent, title_lines, title_w, cells):
    """A table row: the title's first line between ``lead`` and the status and score
    ``cells``, the title's other lines under it, in the title column."""
    return ([lead + _pad(title_lines[0], title_w) + cells]
            + [indent + line for line in title_lines[1:]])


def _table_lines(groups, lang, width, paint):
    """The score table: a heading per part, a row per check (and a line per part of a
    check that lost points), a subtotal row per part.

    Returns ``(lines, row_width)``: every row (check, check part or subtotal) is
    ``row_width`` columns wide, at most ``width``; a title's continuation lines are shorter.
    """
    text = MESSAGES[lang]
    checks = [check for _, numbered in groups for _, check in numbered]
    parts = [part for check in checks if _shows_parts(check) for part in check.parts]
    subtotals = [_score_text(sum(c.score for _, c in numbered), sum(c.points for _, c in numbered))
                 for _, numbered in groups]
    number_w = max(display_width(number) for _, numbered in groups for number, _ in numbered)
    # Only the statuses shown take room: a run without a grader error gives it to titles.
    status_w = max(display_width(text["status"][_status(check)]) for check in checks)
    score_w = max(display_width(s) for s in
                  [_score_text(c.score, c.points) for c in checks] + subtotals
                  + [_score_text(p.score, p.points) for p in parts])
    lead_w = len(INDENT) + 2  # indent, mark, space
    fixed = lead_w + number_w + 2 + 2 + status_w + 2 + score_w
    titles = ([display_width(_short_title(check, lang)) for check in checks]
              + [PART_LEAD_WIDTH + display_width(_part_title(p, lang)) for p in parts]
              + [display_width(text["subtotal"])])
    title_w = max(MIN_TITLE_WIDTH, PART_LEAD_WIDTH + 4, min(max(titles), width - fixed))
    indent = " " * (lead_w + number_w + 2)
    blank_status = "  " + " " * status_w + "  "

    lines = []
    for (part, numbered), subtotal in zip(groups, subtotals):
        lines.append(paint(text["parts"].get(part, part), _BOLD))
        for number, check in numbered:
            status, color = _status(check), _STATUS_COLOR[_status(check)]
            lead = INDENT + paint(MARKS[status], color) + " " + _pad(number, number_w) + "  "
            cells = ("  " + paint(_pad(text["status"][status], status_w), color) + "  "
                     + _pad_left(_score_text(check.score, check.points), score_w))
            lines += _row(lead, indent, _wrap(_short_title(check, lang), title_w), title_w, cells)
            if _shows_parts(check):
                lines += _part_rows(check, lang, indent, title_w,
                                    blank_status, score_w, paint)
        lines += _row(indent, indent, [text["subtotal"]], title_w,
                      blank_status + _pad_left(subtotal, score_w))
    return lines, fixed + title_w


def _part_rows(check, lang, indent, title_w, blank_status, score_w, paint):
    """A line per part of ``check``, indented in the title column, its score in the score
    column (no status word: the mark says it, and the check's row has the status)."""
    lines = []
    part_w = title_w - PART_LEAD_WIDTH
    for part in check.parts:
        status = _part_status(part)
        lead = indent + INDENT + paint(PART_MARKS[status], _PART_COLOR[status]) + " "
        cells = blank_status + _pad_left(_score_text(part.score, part.points), score_w)
        lines += _row(lead, indent + " " * PART_LEAD_WIDTH, _wrap(_part_title(part, lang), part_w),
                      part_w, cells)
    return lines


def part_lines(check, lang, every, summary):
    """The parts of ``check`` in a details block: each failed one with its score and its
    reason (``every``: the passed ones too, as Gradescope lists the rubric), then the
    parts not tried, in one line. A reason equal to the check's ``summary`` is not repeated."""
    text = MESSAGES[lang]
    lines, skipped = [], []
    for part in check.parts:
        status = _part_status(part)
        if status == SKIPPED:
            skipped.append(_part_title(part, lang))
            if not every:
                continue
        elif status == PASSED and not every:
            continue
        line = "{} {} ({})".format(PART_MARKS[status], _part_title(part, lang),
                                   _score_text(part.score, part.points))
        if status == FAILED and part.summary and part.summary.strip() != summary.strip():
            line += ": " + _clean(part.summary).strip()
        lines.append(line)
    if skipped and (every or _tried_parts(check)):
        lines.append(text["parts_skipped"].format(titles=text["list_separator"].join(skipped)))
    return lines


def _output_lines(evidence, lang, earlier, number):
    """The end of the program's stdout and stderr. A stderr already shown in an earlier
    block (``earlier``: same-text key -> number, filled in as blocks are written) is
    referred to by that block's number instead of being shown again."""
    text = MESSAGES[lang]
    lines = []
    for name, tail, limit in (("stdout", evidence.stdout_tail, STDOUT_LINES),
                              ("stderr", evidence.stderr_tail, STDERR_LINES)):
        if not (tail and tail.strip()):
            continue
        lines.append(INDENT + text[name] + ":")
        key = _same_text_key(tail) if name == "stderr" else ""
        if key and earlier is not None and key in earlier:
            same = "same_traceback" if "Traceback" in tail else "same_output"
            lines.append(INDENT * 3 + text[same].format(number=earlier[key]))
            continue
        if key and earlier is not None:
            earlier[key] = number
        lines += [INDENT * 3 + line for line in _last_lines(_split(tail), limit, lang)]
    return [text["program_output"] + ":"] + lines if lines else []


def _transcript_lines(transcript, lang):
    """One peer's transcript: its heading line, then its last TRANSCRIPT_LINES lines."""
    lines = _split(transcript)
    events = _last_lines(lines[1:], TRANSCRIPT_LINES, lang)
    if len(events) < len(lines) - 1:
        events[0] = INDENT + events[0]  # the notice, indented as the events it stands for
    return [INDENT * 2 + line for line in lines[:1] + events]


def details_body(check, lang, earlier=None, number="", every_part=False, compact=False):
    """What a not-passed check saw, as plain lines: the same in the terminal and Gradescope.

    Args:
        earlier: stderr texts shown so far in this report (see ``_output_lines``); None
            shows every stderr in full.
        number: this check's number, for later blocks that refer to its stderr.
        every_part: list every part of the check (Gradescope), not only the failed ones.
        compact: a start-up cause's block: what the program printed and the hint tell it
            all, so the exchange (sent, expected, got, transcripts) is left out.
    """
    text = MESSAGES[lang]
    lines = []
    if check.status == ERROR:
        lines.append(text["not_your_mistake"])
        if check.error:
            lines.append(text["grader_error"] + ":")
            lines += _indented(check.error, INDENT * 2)
    evidence = check.evidence
    summary = evidence.summary if evidence is not None else ""
    if summary:
        lines += _indented(summary, "")
    if not compact:
        lines += part_lines(check, lang, every_part, summary)
    if evidence is None:
        if check.status != ERROR and not check.parts:
            lines.append(text["no_evidence"])
        return lines
    if compact:
        return lines + _output_lines(evidence, lang, earlier, number) + _hint_lines(evidence, lang)
    if evidence.sent:
        lines.append(text["sent"] + ":")
        for sent in _first_and_last(evidence.sent, SENT_LINES, lang):
            lines += _indented(sent, INDENT * 2)
    if evidence.expected or evidence.got:
        lines.append(text["expected"] + ":")
        lines += _indented(evidence.expected or text["nothing"], INDENT * 2)
        lines.append(text["got"] + ":")
        lines += _indented(evidence.got or text["nothing"], INDENT * 2)
    if evidence.transcripts:
        lines.append(text["transcripts"] + ":")
        for transcript in evidence.transcripts:
            lines += _transcript_lines(transcript, lang)
    lines += _output_lines(evidence, lang, earlier, number)
    return lines + _hint_lines(evidence, lang)


def _hint_lines(evidence, lang):
    """The primary hint, then (at most one) hint that supports it, marked as such."""
    lines = []
    for index, hint_id in enumerate(evidence.hints):
        label = MESSAGES[lang]["hint" if index == 0 else "hint_also"]
        lines.append("- " + label.format(
            text=hint_text(hint_id, lang, evidence.hint_details.get(hint_id, ""))))
    return lines


def _details_lines(groups, lang, paint, width):
    """The details blocks: a heading (the check, or the shared cause), then the evidence."""
    lines, earlier = [], {}
    for cause, members in detail_blocks(groups):
        number, check = members[0]
        status = _status(check)
        if cause:
            heading = _hanging(MARKS[status] + " ", cause_text(members, lang), width)
        else:
            heading = _hanging("{} {} ".format(MARKS[status], number),
                               "{} ({})".format(check_title(check, lang), check.id), width)
        lines += [""] + [paint(line, _BOLD + _STATUS_COLOR[status]) for line in heading]
        lines += [INDENT + line for line in details_body(check, lang, earlier, number,
                                                          compact=bool(cause))]
    return lines


def render_text(result, lang="zh", color=False, width=None):
    """The terminal report of ``result`` in ``lang`` ("zh" or "en").

    Args:
        result: a GradingResult.
        lang: the language of every fixed string, title and hint.
        color: ANSI colours; with False the text has no escape code at all.
        width: columns for the table and the headings (default: this process's terminal,
            grader.console.terminal_width); kept within MIN_WIDTH..MAX_WIDTH. Long titles
            are wrapped, never cut.

    Returns:
        The report as one string ending in a newline.
    """
    lang = lang if lang in MESSAGES else "en"
    text = MESSAGES[lang]
    paint = _painter(color)
    if width is None:
        width = console.terminal_width()
    width = max(MIN_WIDTH, min(MAX_WIDTH, width))
    groups = numbered_checks(result)

    lines = [paint(text["title"], _BOLD)]
    for label, path in ((text["client_file"], result.client_path),
                        (text["server_file"], result.server_path)):
        if path:
            lines.append(INDENT + label + ": " + _clean(path))
    if result.preflight:
        lines += ["", paint(text["preflight"], _BOLD + _RED)]
        lines += [INDENT + "- " + text["hint"].format(text=hint_text(hint_id, lang, detail))
                  for hint_id, detail in result.preflight.items()]
    rule_width = MIN_WIDTH
    if groups:
        table, rule_width = _table_lines(groups, lang, width, paint)
        lines += [""] + table
    total = text["total"].format(score=format_number(result.score),
                                 max_score=format_number(result.max_score))
    lines += ["-" * rule_width,
              paint(total, _BOLD) + "   " + text["time"].format(seconds=result.execution_time)]
    details = _details_lines(groups, lang, paint, width)
    if details:
        lines += ["", paint(text["details"], _BOLD)] + details
    notes = notes_lines(result.checks, lang)
    if notes:
        lines += ["", paint(notes[0], _BOLD + _YELLOW)] + notes[1:]
    if result.grader_errors:
        lines += ["", paint(text["run_had_errors"].format(count=len(result.grader_errors)),
                            _BOLD + _YELLOW)]
    return "\n".join(lines) + "\n"

"""Reports of a grading run: the terminal text a student reads, and Gradescope's results.json.

    detect_lang     "zh" or "en" from the environment (then the OS), for the default report
    use_color       whether a stream is a terminal that shows ANSI colours
    render_text     the terminal report of a GradingResult
    to_gradescope   the same result in Gradescope's results.json format (a dict)
    write_json      to_gradescope(...) written to a file, atomically

Every report is a function of a :class:`grader.results.GradingResult` and a language; none
of them grades, runs or prints anything. The OS is asked only in two small seams
(``_system_locale`` and ``_windows_ui_language``) that tests replace with fakes.

Every fixed string a student can see lives in :data:`MESSAGES`, one dict per language, so
tests match the exact wording. A failed check's details block (what was sent, expected and
received, the program's own output, the hints) is written once, by ``_details_body``, and
shown both in the terminal and in Gradescope.

Width: the table is measured in terminal columns, not characters. A Chinese character
takes two columns (``unicodedata.east_asian_width`` "W" or "F"), so ``len`` would misalign
every row with a Chinese title. Text from the student's program is cleaned of control
characters (their own ANSI codes included) before it reaches a report.
"""

import json
import locale
import os
import shutil
import tempfile
import unicodedata
from pathlib import Path

from . import hints
from .results import ERROR, PASSED

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
        "stdout": "stdout",
        "stderr": "stderr",
        "hint": "提示: {text}",
        "no_evidence": "(这项检查没有记录更多细节)",
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
        "hint": "Hint: {text}",
        "no_evidence": "(this check recorded no further details)",
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

#: How a grader ERROR's Gradescope output starts, in every language (instructors grep it).
GRADER_ERROR_TAG = "GRADER ERROR"

#: The rubric's parts, in report order; a part not listed here comes after them.
PARTS = ("client", "p2p", "hub")

#: The table's width is the terminal's, kept within these bounds.
MIN_WIDTH = 60
MAX_WIDTH = 120

#: Marks in front of a check: passed, failed, grader error. All one column wide.
MARKS = {PASSED: "✓", "failed": "✗", ERROR: "!"}
ELLIPSIS = "…"
INDENT = "  "

_GREEN, _RED, _YELLOW, _BOLD, _RESET = "\033[32m", "\033[31m", "\033[33m", "\033[1m", "\033[0m"
_STATUS_COLOR = {PASSED: _GREEN, "failed": _RED, ERROR: _YELLOW}


# ------------------------------------------------------------------------------ language


def _system_locale():
    """The name of the process's locale (``zh_CN``, ``Chinese (Simplified)_China``), or ""."""
    try:
        return locale.getlocale()[0] or ""
    except Exception:  # an unparsable locale must never stop a report
        return ""


def _windows_ui_language():
    """The Windows user's UI language id (a LANGID), or None off Windows or on failure."""
    if os.name != "nt":
        return None
    try:
        import ctypes

        return int(ctypes.windll.kernel32.GetUserDefaultUILanguage())
    except Exception:  # no ctypes, no kernel32: the caller falls back to English
        return None


def detect_lang(environ=None, *, system_locale=_system_locale, ui_language=_windows_ui_language):
    """The report language for this user: "zh" or "en".

    Args:
        environ: the environment to read (default ``os.environ``). The first of
            ``LC_ALL``, ``LC_MESSAGES``, ``LANG`` that is set and non-empty decides
            alone: "zh" if it starts with "zh".
        system_locale: only when none of them is set: a function returning the locale
            name; "zh..." or "Chinese..." means "zh".
        ui_language: then a function returning the Windows UI LANGID or None; primary
            language 0x04 means Chinese.

    Returns:
        "zh" or "en"; anything failing gives "en".

    Example: ``detect_lang({"LANG": "zh_CN.UTF-8"})`` is "zh".
    """
    environ = os.environ if environ is None else environ
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name)
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    try:
        if (system_locale() or "").lower().startswith(("zh", "chinese")):
            return "zh"
        language_id = ui_language()
        if language_id is not None and language_id & 0x3FF == 0x04:
            return "zh"
    except Exception:  # a fake or an odd OS answer: English, never a crash
        pass
    return "en"


def use_color(stream, environ=None, *, os_name=None):
    """Whether ANSI colours may be written to ``stream``.

    Only to a terminal (``stream.isatty()``), never with ``NO_COLOR`` set or ``TERM=dumb``.
    On Windows only where a terminal is known to understand them: Windows Terminal
    (``WT_SESSION``), ANSICON, a ``TERM`` (Git Bash, MSYS) or VS Code's terminal.
    """
    environ = os.environ if environ is None else environ
    os_name = os.name if os_name is None else os_name
    try:
        if not stream.isatty():
            return False
    except Exception:  # closed or not a file at all
        return False
    if "NO_COLOR" in environ or environ.get("TERM") == "dumb":
        return False
    if os_name == "nt":
        return bool(environ.get("WT_SESSION") or environ.get("ANSICON") or environ.get("TERM")
                    or environ.get("TERM_PROGRAM") == "vscode")
    return True


# ------------------------------------------------------------------- columns and text


def display_width(text):
    """Columns ``text`` takes in a terminal: wide and fullwidth characters take two."""
    return sum(_char_width(char) for char in text)


def _char_width(char):
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def _fit(text, columns):
    """``text`` cut with "…" to at most ``columns`` columns, then padded to exactly that."""
    if display_width(text) > columns:
        kept, used = [], display_width(ELLIPSIS)
        for char in text:
            used += _char_width(char)
            if used > columns:
                break
            kept.append(char)
        text = "".join(kept) + ELLIPSIS
    return text + " " * (columns - display_width(text))


def _pad_left(text, columns):
    return " " * (columns - display_width(text)) + text


def _clean(text):
    """Text from a student's program, safe to print: no control characters (ESC included)."""
    text = str(text).replace("\r\n", "\n")
    return "".join(
        char if char in "\n\t" or unicodedata.category(char) != "Cc" else "\\x%02x" % ord(char)
        for char in text)


def _indented(text, prefix):
    return [prefix + line for line in _clean(text).rstrip("\n").split("\n")]


def _number(value):
    """7.0 -> "7", 3.5 -> "3.5": points as a person writes them."""
    return "{:g}".format(round(float(value), 2))


def _painter(color):
    if not color:
        return lambda text, style: text
    return lambda text, style: style + text + _RESET


def _status(check):
    """The check's status, with anything unknown read as a failure."""
    return check.status if check.status in (PASSED, ERROR) else "failed"


def _title(check, lang):
    return (check.title_zh if lang == "zh" else check.title_en) or check.title_en or check.id


def _hint_text(hint_id, lang, detail):
    """A hint's text; an id missing from the catalog is shown as it is, never a crash."""
    try:
        return hints.render(hint_id, lang, detail)
    except KeyError:
        return "{} {}".format(hint_id, detail).strip()


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


def _unique_notes(checks):
    """``(hint_id, detail)`` of every note of ``checks``, first occurrence only."""
    seen = []
    for check in checks:
        for note in check.notes:
            key = (note, str(check.note_details.get(note, "")))
            if key not in seen:
                seen.append(key)
    return seen


def _notes_lines(checks, lang):
    notes = _unique_notes(checks)
    if not notes:
        return []
    return [MESSAGES[lang]["notes"]] + [
        INDENT + "- " + _hint_text(note, lang, detail) for note, detail in notes]


# --------------------------------------------------------------------- terminal report


def _score_text(score, points):
    return "{}/{}".format(_number(score), _number(points))


def _table_lines(groups, lang, width, paint):
    """The score table: a heading per part, a row per check, a subtotal row per part.

    Returns ``(lines, row_width)``: every row (check or subtotal) is ``row_width`` columns
    wide, at most ``width``.
    """
    text = MESSAGES[lang]
    checks = [check for _, numbered in groups for _, check in numbered]
    subtotals = [_score_text(sum(c.score for _, c in numbered), sum(c.points for _, c in numbered))
                 for _, numbered in groups]
    number_w = max(display_width(number) for _, numbered in groups for number, _ in numbered)
    status_w = max(display_width(word) for word in text["status"].values())
    score_w = max(display_width(s)
                  for s in [_score_text(c.score, c.points) for c in checks] + subtotals)
    lead_w = len(INDENT) + 2  # indent, mark, space
    fixed = lead_w + number_w + 2 + 2 + status_w + 2 + score_w
    titles = [_title(check, lang) for check in checks] + [text["subtotal"]]
    title_w = max(10, min(max(display_width(t) for t in titles), width - fixed))

    lines = []
    for (part, numbered), subtotal in zip(groups, subtotals):
        lines.append(paint(text["parts"].get(part, part), _BOLD))
        for number, check in numbered:
            status = _status(check)
            lines.append("".join([
                INDENT, paint(MARKS[status], _STATUS_COLOR[status]), " ",
                _fit(number, number_w), "  ",
                _fit(_title(check, lang), title_w), "  ",
                paint(_fit(text["status"][status], status_w), _STATUS_COLOR[status]), "  ",
                _pad_left(_score_text(check.score, check.points), score_w)]))
        lines.append("".join([
            " " * (lead_w + number_w + 2), _fit(text["subtotal"], title_w), "  ",
            " " * status_w, "  ", _pad_left(subtotal, score_w)]))
    return lines, fixed + title_w


def _details_body(check, lang):
    """What a not-passed check saw, as plain lines: the same in the terminal and Gradescope."""
    text = MESSAGES[lang]
    lines = []
    if check.status == ERROR:
        lines.append(text["not_your_mistake"])
        if check.error:
            lines.append(text["grader_error"] + ":")
            lines += _indented(check.error, INDENT * 2)
    evidence = check.evidence
    if evidence is None:
        if check.status != ERROR:
            lines.append(text["no_evidence"])
        return lines
    if evidence.summary:
        lines += _indented(evidence.summary, "")
    if evidence.sent:
        lines.append(text["sent"] + ":")
        for sent in evidence.sent:
            lines += _indented(sent, INDENT * 2)
    if evidence.expected or evidence.got:
        lines.append(text["expected"] + ":")
        lines += _indented(evidence.expected or text["nothing"], INDENT * 2)
        lines.append(text["got"] + ":")
        lines += _indented(evidence.got or text["nothing"], INDENT * 2)
    if evidence.transcripts:
        lines.append(text["transcripts"] + ":")
        for transcript in evidence.transcripts:
            lines += _indented(transcript, INDENT * 2)
    tails = [(text[name], tail) for name, tail in
             (("stdout", evidence.stdout_tail), ("stderr", evidence.stderr_tail))
             if tail and tail.strip()]
    if tails:
        lines.append(text["program_output"] + ":")
        for label, tail in tails:
            lines.append(INDENT + label + ":")
            lines += _indented(tail, INDENT * 3)
    for hint_id in evidence.hints:
        detail = evidence.hint_details.get(hint_id, "")
        lines.append("- " + text["hint"].format(text=_hint_text(hint_id, lang, detail)))
    return lines


def _details_lines(groups, lang, paint):
    lines = []
    for _, numbered in groups:
        for number, check in numbered:
            if check.passed:
                continue
            status = _status(check)
            heading = "{} {} {} ({})".format(MARKS[status], number, _title(check, lang), check.id)
            lines += ["", paint(heading, _BOLD + _STATUS_COLOR[status])]
            lines += [INDENT + line for line in _details_body(check, lang)]
    return lines


def render_text(result, lang="zh", color=False, width=None):
    """The terminal report of ``result`` in ``lang`` ("zh" or "en").

    Args:
        result: a GradingResult.
        lang: the language of every fixed string, title and hint.
        color: ANSI colours; with False the text has no escape code at all.
        width: columns for the table (default: the terminal's); kept within
            MIN_WIDTH..MAX_WIDTH. Long titles are cut with "…".

    Returns:
        The report as one string ending in a newline.
    """
    lang = lang if lang in MESSAGES else "en"
    text = MESSAGES[lang]
    paint = _painter(color)
    if width is None:
        width = shutil.get_terminal_size().columns
    width = max(MIN_WIDTH, min(MAX_WIDTH, width))
    groups = numbered_checks(result)

    lines = [paint(text["title"], _BOLD)]
    for label, path in ((text["client_file"], result.client_path),
                        (text["server_file"], result.server_path)):
        if path:
            lines.append(INDENT + label + ": " + _clean(path))
    if result.preflight:
        lines += ["", paint(text["preflight"], _BOLD + _RED)]
        lines += [INDENT + "- " + text["hint"].format(text=_hint_text(hint_id, lang, detail))
                  for hint_id, detail in result.preflight.items()]
    rule_width = MIN_WIDTH
    if groups:
        table, rule_width = _table_lines(groups, lang, width, paint)
        lines += [""] + table
    total = text["total"].format(score=_number(result.score),
                                 max_score=_number(result.max_score))
    lines += ["-" * rule_width,
              paint(total, _BOLD) + "   " + text["time"].format(seconds=result.execution_time)]
    details = _details_lines(groups, lang, paint)
    if details:
        lines += ["", paint(text["details"], _BOLD)] + details
    notes = _notes_lines(result.checks, lang)
    if notes:
        lines += ["", paint(notes[0], _BOLD + _YELLOW)] + notes[1:]
    if result.grader_errors:
        lines += ["", paint(text["run_had_errors"].format(count=len(result.grader_errors)),
                            _BOLD + _YELLOW)]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------- Gradescope


def _summary(result, groups, lang):
    """The submission-wide ``output``: total, checks not passed, preflight, grader errors."""
    text = MESSAGES[lang]
    lines = [text["total"].format(score=_number(result.score),
                                  max_score=_number(result.max_score))]
    failed = [number for _, numbered in groups for number, check in numbered if not check.passed]
    lines.append(text["summary_failed"].format(numbers=", ".join(failed)) if failed
                 else text["summary_all_passed"])
    if result.preflight:
        lines += [text["preflight"]] + [
            INDENT + "- " + text["hint"].format(text=_hint_text(hint_id, lang, detail))
            for hint_id, detail in result.preflight.items()]
    lines += _notes_lines(result.checks, lang)
    if result.grader_errors:
        lines.append(GRADER_ERROR_TAG + ": " + text["run_had_errors"].format(
            count=len(result.grader_errors)))
    return "\n".join(lines)


def _test_output(check, lang):
    if check.passed:
        lines = []
    else:
        lines = _details_body(check, lang)
        if check.status == ERROR:
            tag = GRADER_ERROR_TAG
            if lang != "en":
                tag += " / " + MESSAGES[lang]["status"][ERROR]
            lines = [tag] + lines
    return "\n".join(lines + _notes_lines([check], lang))


def to_gradescope(result, lang="en"):
    """``result`` in Gradescope's results.json format (as a dict, ready for ``json.dump``).

    Top level: score, max_score, execution_time, output, visibility, stdout_visibility,
    tests. Each test: name ("[part] title"), number ("1.3"), score, max_score, status
    ("passed" or "failed": a grader ERROR is "failed" and its output starts with
    GRADER_ERROR_TAG), output (the details block of the terminal report), visibility.
    """
    lang = lang if lang in MESSAGES else "en"
    groups = numbered_checks(result)
    tests = []
    for part, numbered in groups:
        for number, check in numbered:
            tests.append({
                "name": "[{}] {}".format(part, _title(check, lang)),
                "number": number,
                "score": float(check.score),
                "max_score": float(check.points),
                "status": "passed" if check.passed else "failed",
                "output": _test_output(check, lang),
                "visibility": "visible",
            })
    return {
        "score": float(result.score),
        "max_score": float(result.max_score),
        "execution_time": int(round(result.execution_time)),
        "output": _summary(result, groups, lang),
        "visibility": "visible",
        "stdout_visibility": "visible",
        "tests": tests,
    }


def write_json(result, path, lang="en"):
    """Write ``to_gradescope(result, lang)`` to ``path`` as UTF-8 JSON, atomically (see
    :func:`write_atomic`). Returns the path written, as a Path."""
    text = json.dumps(to_gradescope(result, lang), ensure_ascii=False, indent=2) + "\n"
    return write_atomic(path, text)


def write_atomic(path, text):
    """Write ``text`` to ``path`` as UTF-8, atomically; parent directories are created.

    The text goes to a temporary file in the same directory first and replaces ``path``
    in one step, so a reader (or a crash) never sees half a file. Returns the Path.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=str(path.parent), prefix="." + path.name + ".",
                                     suffix=".tmp")
    try:
        os.chmod(temporary, 0o644)  # mkstemp's 0600 would hide reports from co-workers
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, str(path))
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
    return path

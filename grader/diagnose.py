"""From what a check saw to the hints a student reads: plain functions over text.

A failing check proposes hints (``Finding.hints``). Some of them are only guesses that the
evidence can confirm or rule out, so they are *conditional*: a hint about a thread that was
never started is kept only if the source has such a thread; a hint about a dictionary
changed during iteration only if a thread died of exactly that. Evidence the check did
not think of is added: an unfinished TODO, a crash with its exception, network access the
launcher refused, a flood. The result is a short list, most telling first.
"""

import ast
import re

#: The line the given ``run_until_chat_ends`` prints for an unfinished TODO.
TODO_LINE = re.compile(r"还有TODO没有完成 \(unfinished TODO\): (.+)")
#: The last line of a traceback: ``SomeError: message``.
EXCEPTION_LINE = re.compile(r"^((?:[A-Za-z_][\w.]*)(?:Error|Exception|Warning|Exit|Interrupt)\b.*)$", re.M)
#: Exceptions that a send to a departed client's socket raises.
SEND_FAILURES = re.compile(r"Bad file descriptor|Broken pipe|BrokenPipeError|ConnectionResetError|"
                           r"ConnectionAbortedError|WinError 10038|WinError 10054|not a socket")


#: Exceptions that the sandbox's limits raise (Python ignores SIGXFSZ, so a file over the
#: size limit is an OSError; the address-space limit is a MemoryError).
LIMIT_CRASHES = re.compile(r"^MemoryError|File too large|Resource temporarily unavailable|"
                           r"Too many open files")


def static_findings(source):
    """Hint ids that the source text itself supports (empty if it does not parse)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return set()
    found = set()
    if _unstarted_threads(tree):
        found.add("thread-not-started")
    if any(isinstance(node, ast.ExceptHandler) and node.type is None for node in ast.walk(tree)):
        found.add("bare-except")
    return found


def _unstarted_threads(tree):
    """Thread(...) objects that are never started: created and dropped, or assigned to a
    name on which no ``.start()`` is ever called."""
    started = {node.value.id for node in ast.walk(tree)
               if isinstance(node, ast.Attribute) and node.attr == "start"
               and isinstance(node.value, ast.Name)}
    started |= {node.value.attr for node in ast.walk(tree)
                if isinstance(node, ast.Attribute) and node.attr == "start"
                and isinstance(node.value, ast.Attribute)}
    thread_names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and _is_thread_call(node.value):
            thread_names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    unstarted = []
    for node in ast.walk(tree):
        # .run() runs the target in the *calling* thread: the thread itself never starts.
        if isinstance(node, ast.Attribute) and node.attr == "run" and (
                _is_thread_call(node.value)
                or isinstance(node.value, ast.Name) and node.value.id in thread_names):
            unstarted.append(node)
        if isinstance(node, ast.Expr) and _is_thread_call(node.value):
            unstarted.append(node)  # Thread(...) as a statement: made and thrown away
        elif isinstance(node, ast.Assign) and _is_thread_call(node.value):
            names = {t.id for t in node.targets if isinstance(t, ast.Name)}
            names |= {t.attr for t in node.targets if isinstance(t, ast.Attribute)}
            if names and not names & started:
                unstarted.append(node)
    return unstarted


def _is_thread_call(node):
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    return name == "Thread"


def exception_lines(stderr):
    return EXCEPTION_LINE.findall(stderr)


def diagnose(proposed, stderr, notes, flooded, source, limits=()):
    """Hints for a failure: ``(ids, details)``.

    Args:
        proposed: hint ids the check proposed, most likely first.
        stderr: the student's stderr (all programs of the check, joined).
        notes: the launcher's notes (dicts with ``kind``).
        flooded: True if a program's output was a flood.
        source: the student file's text (for static confirmation).
        limits: how programs that a sandbox limit ended died (``_sandbox.describe_end``);
            the resource-limit hint then goes first.
    """
    hints, details = [], {}

    def add(hint, detail=""):
        if hint not in hints:
            hints.append(hint)
            if detail:
                details[hint] = detail

    todo = TODO_LINE.search(stderr)
    if todo:
        add("unfinished-todo", todo.group(1).strip())
    refused = [note for note in notes if note.get("kind") == "network-refused"]
    if refused:
        add("network-refused", "%s %s:%s" % (refused[0].get("op"), refused[0].get("host"),
                                             refused[0].get("port")))
    crashes = exception_lines(stderr)
    limited = [line for line in crashes if LIMIT_CRASHES.search(line)]
    if limited:
        add("resource-limit", limited[-1][:200])
    if any("changed size during iteration" in line for line in crashes):
        add("dict-changed")
    if any("UnicodeDecodeError" in line for line in crashes) and "split-character" in proposed:
        add("split-character")
    if flooded:
        add("empty-recv" if "empty-recv" in proposed else "flood")
    static = static_findings(source)
    confirmations = {
        "thread-not-started": "thread-not-started" in static,
        "dict-changed": "dict-changed" in hints,
        "send-to-departed": any(SEND_FAILURES.search(line) for line in crashes),
        "bare-except": "bare-except" in static,
    }
    kept = [hint for hint in proposed if confirmations.get(hint, True)]
    if "thread-not-started" in static:
        kept.append("thread-not-started")
    if not kept and proposed and not hints:
        kept = proposed[:1]  # nothing confirmed: the check's first guess is still the best
    for hint in kept:
        add(hint)
    if "bare-except" in static and (flooded or "no-exit" in hints or "empty-recv" in hints):
        add("bare-except")
    if crashes and not todo and not refused:
        add("crash", crashes[-1][:200])
    if limits:  # the sandbox ended a program: that explains the rest, so it goes first
        if "resource-limit" in hints:
            hints.remove("resource-limit")
        hints.insert(0, "resource-limit")
        details["resource-limit"] = limits[0]
    return hints, details


def notes_of(programs_notes, prompts_changed=""):
    """Observations that cost no points: ``(ids, details)`` from the launcher's notes."""
    ids, details = [], {}
    for note in programs_notes:
        kind = note.get("kind")
        if kind == "close-wakes-recv" and kind not in ids:
            ids.append(kind)
            details[kind] = note.get("where", "")
        elif kind == "hostname-lookup" and "hostname-bind" not in ids:
            ids.append("hostname-bind")
        elif kind == "address-mapped" and "address-mapped" not in ids:
            ids.append("address-mapped")
            details["address-mapped"] = "%s %s" % (note.get("op", ""), note.get("host") or "''")
    if prompts_changed and "prompts-changed" not in ids:
        ids.append("prompts-changed")
        details["prompts-changed"] = prompts_changed
    return ids, details

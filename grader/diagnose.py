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


def static_findings(source, part=None):
    """Hint ids that the source text itself supports, each with the line it is on: a dict
    id -> "line N". Only code on the path of ``part`` counts ("p2p": functions named with
    p2p, "hub": with hub, "client" or None: the whole file), so a thread never started in
    the hub is no hint for a p2p check. Empty if the source does not parse."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return {}
    found = {}
    for node in _unstarted_threads(tree):
        if _on_path(tree, node, part):
            found.setdefault("thread-not-started", "line %d" % node.lineno)
    for node in ast.walk(tree):
        if isinstance(node, ast.ExceptHandler) and node.type is None and _on_path(tree, node, part):
            found.setdefault("bare-except", "line %d" % node.lineno)
    for node in _plain_send_threads(tree):
        if _on_path(tree, node, part):
            found.setdefault("plain-send-thread", "line %d" % node.lineno)
    return found


def _plain_send_threads(tree):
    """Thread(target=...send...) calls that make a plain (non-daemon) thread, as the course
    framework starts its send threads; none where the file sets a daemon flag anywhere
    (``.daemon = True``, ``setDaemon``), since that may be this thread's."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and (
                node.attr == "setDaemon" or node.attr == "daemon" and isinstance(node.ctx, ast.Store)):
            return []
    found = []
    for node in ast.walk(tree):
        if not _is_thread_call(node):
            continue
        keywords = {keyword.arg: keyword.value for keyword in node.keywords}
        target = keywords.get("target")
        name = getattr(target, "attr", None) or getattr(target, "id", "")
        daemon = keywords.get("daemon")
        if "send" in name and not (isinstance(daemon, ast.Constant) and daemon.value):
            found.append(node)
    return found


def _on_path(tree, node, part):
    """True if ``node`` sits in code that ``part`` runs (see static_findings)."""
    if part in (None, "client"):
        return True
    for function in ast.walk(tree):
        if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)) and part in function.name:
            if any(child is node for child in ast.walk(function)):
                return True
    return False


def _unstarted_threads(tree):
    """Thread(...) objects that are never started: created and dropped, or assigned to a
    name on which no ``.start()`` is ever called, or ``.run()`` instead of ``.start()``."""
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


#: Hints a check may propose only as guesses: each is shown only when this check's own
#: evidence confirms it (see diagnose).
CONDITIONAL = ("thread-not-started", "dict-changed", "send-to-departed", "bare-except",
               "plain-send-thread")

#: Hints that explain every other symptom of a check: when one is found it is the only
#: hint shown (an unfinished TODO makes "no connection was made" noise).
SOLE_CAUSES = ("syntax-error", "file-not-utf8", "missing-file", "unfinished-todo", "network-refused",
               "stuck-at-start", "stdin-unanswered", "stdout-not-utf8")

#: A check's catch-all hint -> the specific ones that replace it when confirmed.
GENERIC = {"shared-dict": ("dict-changed", "send-to-departed"), "no-exit": ("plain-send-thread",)}

#: What a check may propose beside a flood: the hints that are about looping or hanging.
FLOOD_KIN = ("empty-recv", "flood", "no-exit")

#: At most this many hints per check: the primary one and one that supports it.
MAX_HINTS = 2


def diagnose(proposed, stderr, notes, flooded, source, limits=(), part=None):
    """Hints for a failure: ``(ids, details)``, the primary hint first.

    The result depends only on this check's evidence, in a fixed order, so the same
    program gets the same hints on every run:

    1. a sandbox limit that ended a program (``limits``), then what explains everything
       (an unfinished TODO, refused network access, a stuck start): shown alone;
    2. what the evidence proves: a flood, a thread that died of a changed dict or of a
       send to a closed socket, a split character's UnicodeDecodeError;
    3. the check's own proposals, in its order, a conditional one (CONDITIONAL) only when
       confirmed: a thread never started or a bare ``except:`` on this part's code path
       (with its line), an exception seen in this check's stderr;
    4. the exception a program died of, as support.

    Args:
        proposed: hint ids the check proposed, most likely first.
        stderr: the student's stderr (all programs of the check, joined).
        notes: the launcher's notes (dicts with ``kind``).
        flooded: True if a program's output was a flood.
        source: the student file's text (for static confirmation).
        limits: how programs that a sandbox limit ended died (``_sandbox.describe_end``).
        part: the rubric part of the check ("client", "p2p", "hub"): static hints count
            only on its code path.
    """
    hints, details = [], {}

    def add(hint, detail=""):
        if hint not in hints:
            hints.append(hint)
            if detail:
                details[hint] = detail

    if limits:
        add("resource-limit", limits[0])
    todo = TODO_LINE.search(stderr)
    if todo:
        add("unfinished-todo", todo.group(1).strip())
    refused = [note for note in notes if note.get("kind") == "network-refused"]
    if refused:
        add("network-refused", "%s %s:%s" % (refused[0].get("op"), refused[0].get("host"),
                                             refused[0].get("port")))
    for sole in ("stdout-not-utf8", "stuck-at-start", "stdin-unanswered", "syntax-error",
                 "file-not-utf8", "missing-file"):
        if sole in proposed:
            add(sole)
    if any(hint in SOLE_CAUSES for hint in hints):
        return hints[:1], details

    crashes = exception_lines(stderr)
    limited = [line for line in crashes if LIMIT_CRASHES.search(line)]
    if limited:
        add("resource-limit", limited[-1][:200])
    static = static_findings(source, part)
    confirmed = {
        "thread-not-started": "thread-not-started" in static,
        "dict-changed": any("changed size during iteration" in line for line in crashes),
        "send-to-departed": any(SEND_FAILURES.search(line) for line in crashes),
        "plain-send-thread": "plain-send-thread" in static,
        "bare-except": "bare-except" in static and (
            flooded or any(hint in proposed for hint in FLOOD_KIN)),
    }
    if confirmed["bare-except"]:
        # A bare except: on the path of a program that loops or hangs is what makes it loop.
        add("bare-except", static["bare-except"])
    if flooded:
        add("empty-recv" if "empty-recv" in proposed else "flood")
    if confirmed["dict-changed"]:
        add("dict-changed")
    if any("UnicodeDecodeError" in line for line in crashes) and "split-character" in proposed:
        add("split-character")
    for hint in proposed:
        if hint in CONDITIONAL:
            if confirmed[hint]:
                add(hint, static.get(hint, ""))
        elif hint not in SOLE_CAUSES and (not flooded or hint in FLOOD_KIN):
            # A program the grader stopped for flooding explains whatever failed after the
            # stop; a check's other guesses (a missing lock, a missing notice) are not shown.
            add(hint)
    if crashes and "crash" not in hints:
        add("crash", crashes[-1][:200])
    for generic, specific in GENERIC.items():
        if generic in hints and any(hint in hints for hint in specific):
            hints.remove(generic)  # the specific one says it better
    return hints[:MAX_HINTS], {hint: details[hint] for hint in hints[:MAX_HINTS] if hint in details}


def notes_of(programs_notes, prompts_changed="", observations=()):
    """Observations that cost no points: ``(ids, details)`` from the launcher's notes, the
    prompts a program changed, and what the check itself saw (``Lab.observe``)."""
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
    for hint_id, detail in observations:
        if hint_id not in ids:
            ids.append(hint_id)
            details[hint_id] = detail
    return ids, details

"""The programs in reference/variants/ get full marks from the real grader, and stay what
they claim to be: their chat logic runs without send/receive threads.

Each variant is built differently from the reference solutions (one selector loop; asyncio
coroutines) but shows the same interface, so full marks here mean the grader judges what
a program does on the wire and on screen, never how it is written. The shape tests read
the variants' source with ``ast``: the only thread allowed is the selectors programs'
keyboard forwarder, which exists because Windows' select() cannot watch stdin.
"""

import ast
import importlib.util
import io
import os
import selectors

import pytest

from grader import timeouts
from grader.peers import free_port
from grader.run import grade
from tests.conftest import PROMPT_MAX, PROMPT_MODE, PROMPT_PORT, ROOT, answer

REFERENCE = ROOT / "reference"
VARIANTS = REFERENCE / "variants"
SELECTORS_CLIENT = VARIANTS / "selectors_client.py"
SELECTORS_SERVER = VARIANTS / "selectors_server.py"
ASYNCIO_HUB = VARIANTS / "asyncio_hub.py"

#: The Console and Outbox classes are copied word for word into both selectors programs
#: (each file stands alone, to be handed out by itself).
SHARED_CLASSES = ("Console", "Outbox")

#: Where the selectors programs may start a thread: the keyboard forwarder, and nothing else.
FORWARDER_STARTER = "Console.start"
FORWARDER = "Console._forward_lines"
#: All that the forwarder may call: read the keyboard, write into the socketpair.
FORWARDER_CALLS = {"iter", "sendall", "encode", "close"}


def failures(result):
    """Every check that did not pass, with what it saw, for an assertion message."""
    lines = []
    for check in result.checks:
        if check.passed:
            continue
        lines.append("%s (%s, %g/%g points)" % (check.id, check.status, check.score, check.points))
        if check.error:
            lines.append("  grader error: %s" % check.error)
        evidence = check.evidence
        if evidence is not None:
            lines.append("  %s" % evidence.summary)
            for label, text in (("expected", evidence.expected), ("got", evidence.got)):
                if text:
                    lines.append("  %s: %s" % (label, text))
            if evidence.hints:
                lines.append("  hints: %s" % ", ".join(evidence.hints))
            if evidence.stderr_tail:
                lines.append("  stderr: %s" % evidence.stderr_tail[-300:])
    return "\n".join(lines)


# ------------------------------------------------------------------ graded by the grader
@pytest.mark.parametrize("client, server, keyword, max_score", [
    (SELECTORS_CLIENT, REFERENCE / "chat_server.py", "client_", 40),
    (REFERENCE / "chat_client.py", SELECTORS_SERVER, "p2p_ or hub_", 60),
    (REFERENCE / "chat_client.py", ASYNCIO_HUB, "hub_", 30),
], ids=["selectors-client", "selectors-server", "asyncio-hub"])
@pytest.mark.slow
def test_variant_gets_full_marks(client, server, keyword, max_score):
    result = grade(client, server, keyword=keyword)
    assert result.max_score == max_score, [check.id for check in result.checks]
    assert result.score == result.max_score, "%s scored %g/%g:\n%s" % (
        (client if keyword == "client_" else server).name, result.score, result.max_score,
        failures(result))


# ------------------------------------------------------------------ what the variants are
def parse(path):
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def qualified_functions(tree):
    """``{"Class.method" or "function": node}`` for every function in the module."""
    found = {}

    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found[prefix + child.name] = child
                visit(child, prefix + child.name + ".")
            elif isinstance(child, ast.ClassDef):
                visit(child, prefix + child.name + ".")

    visit(tree, "")
    return found


def owners(tree):
    """``{id(node): qualified name of the innermost function holding it}`` ("<module>" if none)."""
    owner = {}

    def visit(node, prefix, holder):
        for child in ast.iter_child_nodes(node):
            owner[id(child)] = holder
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                visit(child, prefix + child.name + ".", prefix + child.name)
            elif isinstance(child, ast.ClassDef):
                visit(child, prefix + child.name + ".", holder)
            else:
                visit(child, prefix, holder)

    visit(tree, "", "<module>")
    return owner


def call_name(call):
    """``threading.Thread`` for ``threading.Thread(...)``, ``Thread`` for ``Thread(...)``."""
    parts, func = [], call.func
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    if isinstance(func, ast.Name):
        parts.append(func.id)
    return ".".join(reversed(parts))


#: Ways to run code on another thread (or process) than the event loop's.
THREAD_STARTERS = ("Thread", "start_new_thread", "ThreadPoolExecutor", "ProcessPoolExecutor",
                   "run_in_executor", "to_thread", "Timer", "Process")


def thread_starts(tree):
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call)
            and call_name(node).split(".")[-1] in THREAD_STARTERS]


def imported_modules(tree):
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_the_asyncio_hub_uses_no_thread_at_all():
    tree = parse(ASYNCIO_HUB)
    assert not {"threading", "_thread", "concurrent", "multiprocessing"} & imported_modules(tree)
    assert [call_name(call) for call in thread_starts(tree)] == []


@pytest.mark.parametrize("path", [SELECTORS_CLIENT, SELECTORS_SERVER], ids=lambda path: path.stem)
def test_a_selectors_program_starts_a_thread_only_to_forward_the_windows_keyboard(path):
    tree = parse(path)
    owner = owners(tree)
    starts = thread_starts(tree)
    where = [(call_name(call), owner[id(call)]) for call in starts]
    assert where == [("threading.Thread", FORWARDER_STARTER)], (
        "%s may start one thread, the keyboard forwarder in %s; found %s"
        % (path.name, FORWARDER_STARTER, where))
    target = next(keyword.value for keyword in starts[0].keywords if keyword.arg == "target")
    assert isinstance(target, ast.Attribute) and target.attr == FORWARDER.split(".")[1]
    # The forwarder only reads the keyboard and writes into the socketpair: no chat logic.
    forwarder = qualified_functions(tree)[FORWARDER]
    called = {call_name(call).split(".")[-1] for call in ast.walk(forwarder)
              if isinstance(call, ast.Call)}
    assert called <= FORWARDER_CALLS, "the forwarder calls %s" % sorted(called - FORWARDER_CALLS)
    # The thread is Windows' only: Console's default is STDIN_NEEDS_THREAD = os.name == 'nt'.
    constants = {node.targets[0].id: ast.dump(node.value) for node in tree.body
                 if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)}
    assert constants.get("STDIN_NEEDS_THREAD") == ast.dump(
        ast.parse("os.name == 'nt'", mode="eval").body)
    init = qualified_functions(tree)["Console.__init__"]
    defaults = dict(zip([arg.arg for arg in init.args.args][-len(init.args.defaults):],
                        init.args.defaults))
    assert isinstance(defaults["use_thread"], ast.Name)
    assert defaults["use_thread"].id == "STDIN_NEEDS_THREAD"
    # Nothing outside the Console even names the threading module.
    users = {owner[id(node)] for node in ast.walk(tree)
             if isinstance(node, ast.Name) and node.id == "threading"}
    assert users == {FORWARDER_STARTER}


def test_both_selectors_programs_share_the_same_console_and_outbox():
    sources = {}
    for path in (SELECTORS_CLIENT, SELECTORS_SERVER):
        text = path.read_text(encoding="utf-8")
        classes = {node.name: ast.get_source_segment(text, node) for node in parse(path).body
                   if isinstance(node, ast.ClassDef)}
        sources[path.name] = [classes.get(name) for name in SHARED_CLASSES]
    client, server = sources.values()
    assert None not in client
    assert client == server, "Console and Outbox differ between the two selectors programs"


# ------------------------------------------------------------------ the keyboard, both ways
def load(path):
    spec = importlib.util.spec_from_file_location("variant_%s" % path.stem, str(path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def lines_until_eof(console, source):
    """What the selector loop would get from ``console``: lines until the end of input."""
    lines = console.take_lines()
    with selectors.SelectSelector() as selector:
        selector.register(source, selectors.EVENT_READ)
        while not console.eof:
            assert selector.select(timeouts.SHORT), "the console never became readable"
            lines += console.read_ready()
    return lines


def test_the_windows_keyboard_forwarder_delivers_every_line_to_the_selector():
    """The Windows path, run here too: a thread forwards the keyboard into a socketpair."""
    console = load(SELECTORS_CLIENT).Console(
        stream=io.StringIO("127.0.0.1\n你好\n\nq\nno newline"), use_thread=True)
    assert console.readline() == "127.0.0.1"  # a prompt's answer, before the thread exists
    source = console.start()
    try:
        assert lines_until_eof(console, source) == ["你好", "", "q", "no newline"]
        console.thread.join(timeouts.SHORT)
        assert not console.thread.is_alive()
    finally:
        console.close()


@pytest.mark.skipif(os.name == "nt", reason="select() on Windows watches sockets only")
def test_the_posix_keyboard_keeps_the_lines_read_ahead_with_the_prompts():
    """The POSIX path: fd 0 itself is watched; lines read past a prompt are not lost."""
    read_end, write_end = os.pipe()
    stream = os.fdopen(read_end, encoding="utf-8")
    try:
        os.write(write_end, "12345\nhello\n半个".encode("utf-8") + "字".encode("utf-8")[:1])
        console = load(SELECTORS_CLIENT).Console(stream=stream, use_thread=False)
        assert console.readline() == "12345"
        source = console.start()
        assert source == read_end and console.thread is None
        os.write(write_end, "字".encode("utf-8")[1:] + b"\nbye")
        os.close(write_end)
        write_end = None
        assert lines_until_eof(console, source) == ["hello", "半个字", "bye"]
    finally:
        stream.close()
        if write_end is not None:
            os.close(write_end)


# ------------------------------------------------------------------ the asyncio hub and p2p
def test_the_asyncio_hub_says_it_has_no_p2p_mode_and_ends(spawn):
    hub = spawn(ASYNCIO_HUB)
    answer(hub, (PROMPT_PORT, free_port()), (PROMPT_MODE, "p2p"))
    assert hub.wait_exit(timeouts.EXIT) == 1, hub.describe()
    hub.drain()
    assert "hub mode only" in hub.stderr.text
    assert PROMPT_MAX not in hub.stdout.text

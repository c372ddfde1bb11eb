"""The skeletons: generated from the reference, committed up to date, and friendly when empty."""

import ast
import re

import pytest

from grader import timeouts
from grader.peers import free_port
from grader.process import has_traceback
from reference import make_skeleton as ms
from tests.conftest import PROMPT_IP, PROMPT_MAX, PROMPT_MODE, PROMPT_PORT, ROOT, answer

UNFINISHED = "还有TODO没有完成"


def solution_blocks(source):
    """The code lines (not ### lines) of every solution block of a reference text."""
    blocks, current = [], None
    for line in source.splitlines():
        if line.strip() == ms.BEGIN:
            current = []
        elif line.strip() == ms.END:
            blocks.append(current)
            current = None
        elif current is not None and not line.strip().startswith("###"):
            current.append(line)
    return blocks


def given_code(text):
    """Everything outside solution/TODO blocks and instructor notes, for either version."""
    kept, skipping = [], False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped in (ms.BEGIN, ms.RULE):
            skipping = not skipping if stripped == ms.RULE else True
            continue
        if stripped == ms.END:
            skipping = False
            continue
        if skipping or stripped.startswith("###"):
            continue
        kept.append(line)
    return kept


@pytest.mark.parametrize("reference, skeleton", ms.PAIRS, ids=lambda p: p.name)
def test_committed_skeleton_is_what_the_generator_makes(reference, skeleton):
    expected = ms.make_skeleton(reference.read_text(encoding="utf-8"), reference.name)
    assert skeleton.read_text(encoding="utf-8") == expected, (
        "%s is out of date: run `python -m reference.make_skeleton`" % skeleton.name)


def test_check_mode_fails_on_a_stale_skeleton_and_regenerating_fixes_it(tmp_path, monkeypatch, capsys):
    reference = tmp_path / "ref.py"
    reference.write_text("x = 1\n### BEGIN SOLUTION\n### TODO: t\n###       task\ny = 2\n### END SOLUTION\n",
                         encoding="utf-8")
    skeleton = tmp_path / "skel.py"
    skeleton.write_text("old\n", encoding="utf-8")
    monkeypatch.setattr(ms, "PAIRS", [(reference, skeleton)])
    assert ms.main(["--check"]) == 1
    assert "out of date" in capsys.readouterr().out
    assert skeleton.read_text(encoding="utf-8") == "old\n", "--check must not write"
    assert ms.main([]) == 0
    assert ms.main(["--check"]) == 0
    assert "raise NotImplementedError('t / task')" in skeleton.read_text(encoding="utf-8")


@pytest.mark.parametrize("reference, skeleton", ms.PAIRS, ids=lambda p: p.name)
def test_given_code_is_kept_byte_for_byte(reference, skeleton):
    ref_given = given_code(reference.read_text(encoding="utf-8"))
    skel_lines = [line for line in given_code(skeleton.read_text(encoding="utf-8"))
                  if line.strip() not in (ms.DELETE_ME,) and not line.strip().startswith("# TODO")]
    # the skeleton adds only placeholders after each TODO block; drop them and compare
    placeholders = {"pass", "self.client = None", "self.server = None"}
    skel_given = [line for line in skel_lines
                  if line.strip() not in placeholders and "raise NotImplementedError(" not in line]
    assert skel_given == ref_given


@pytest.mark.parametrize("reference, skeleton", ms.PAIRS, ids=lambda p: p.name)
def test_no_solution_code_reaches_the_skeleton(reference, skeleton):
    source = reference.read_text(encoding="utf-8")
    skeleton_lines = {line.strip() for line in skeleton.read_text(encoding="utf-8").splitlines()}
    given_lines = {line.strip() for line in given_code(source)}  # `except OSError:` is in both
    solution_lines = {line.strip() for block in solution_blocks(source) for line in block}
    leaked = sorted(line for line in solution_lines - given_lines
                    if len(line) > 12 and line in skeleton_lines)
    assert leaked == []


@pytest.mark.parametrize("reference, skeleton", ms.PAIRS, ids=lambda p: p.name)
def test_every_todo_and_hint_has_an_english_line(reference, skeleton):
    lines = [line.strip() for line in skeleton.read_text(encoding="utf-8").splitlines()]
    todos = 0
    for index, line in enumerate(lines):
        if re.match(r"# (TODO:|提示\d+:)", line):
            todos += line.startswith("# TODO:")
            english = lines[index + 1]
            assert re.match(r"#\s+[(A-Za-z]", english), "no English line under %r" % line
    assert todos == len(solution_blocks(reference.read_text(encoding="utf-8")))


@pytest.mark.parametrize("reference, skeleton", ms.PAIRS, ids=lambda p: p.name)
def test_both_versions_are_valid_python_39(reference, skeleton):
    for path in (reference, skeleton):
        ast.parse(path.read_text(encoding="utf-8"), filename=str(path), feature_version=(3, 9))


@pytest.mark.parametrize("source, problem", [
    ("### END SOLUTION\n", "without a BEGIN"),
    ("### BEGIN SOLUTION\n### TODO: t\nx = 1\n", "never closed"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n", "inside the block opened at line 1"),
    ("### BEGIN SOLUTION\n### TODO: t\n### END SOLUTION\n", "has no code"),
    ("### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n", "must open with a '### TODO:' line"),
])
def test_malformed_markers_are_named_with_their_line(source, problem):
    with pytest.raises(ms.SkeletonError, match=re.escape(problem)):
        ms.make_skeleton(source, "ref.py")


def test_placeholders():
    source = ("def f():\n"
              "    ### BEGIN SOLUTION\n    ### TODO: 做事\n    ###       do it\n    return 1\n    ### END SOLUTION\n"
              "def g():\n"
              "    ### BEGIN SOLUTION\n    ### TODO: t\n    ### PLACEHOLDER: pass\n    return 2\n    ### END SOLUTION\n")
    namespace = {}
    exec(compile(ms.make_skeleton(source), "skel", "exec"), namespace)
    with pytest.raises(NotImplementedError, match="做事 / do it"):
        namespace["f"]()
    assert namespace["g"]() is None


# -------------------------------------------------------------- the empty skeleton, run
def assert_clear_unfinished_exit(child):
    status = child.wait_exit(timeouts.EXIT)
    assert status is not None, "the skeleton did not exit\n" + child.describe()
    child.drain()
    assert status == 1, child.describe()
    assert UNFINISHED in child.stderr.text, child.describe()
    assert not has_traceback(child.stderr.text), child.describe()


def test_empty_client_prompts_then_names_the_unfinished_todo(spawn):
    client = spawn(ROOT / "skeleton" / "chat_client.py")
    answer(client, (PROMPT_IP, "127.0.0.1"), (PROMPT_PORT, free_port()))
    assert_clear_unfinished_exit(client)
    assert "连接聊天服务器" in client.stderr.text


@pytest.mark.parametrize("mode", ["p2p", "hub"])
def test_empty_server_prompts_then_names_the_unfinished_todo(spawn, mode):
    server = spawn(ROOT / "skeleton" / "chat_server.py")
    answer(server, (PROMPT_PORT, free_port()), (PROMPT_MODE, mode), (PROMPT_MAX, "3"))
    assert_clear_unfinished_exit(server)
    assert ("接受一个客户端" if mode == "p2p" else "循环接受客户端") in server.stderr.text

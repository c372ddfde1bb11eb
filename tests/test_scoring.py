"""grader/scoring.py: partial credit inside a check, as plain data, tested in memory; and the
rubric the checks declare, read from their markers without running any of them."""

import ast
from pathlib import Path

import pytest

from grader.scoring import FAILED, PASSED, SKIPPED, Part, RubricError, check_parts, part_statuses

ROOT = Path(__file__).resolve().parent.parent
PARTS = [Part("closes", 3, "关闭连接", "closes"), Part("announces", 3, "宣布", "announces"),
         Part("ends", 1, "结束", "ends")]


def test_parts_that_add_up_to_the_points_are_accepted():
    check_parts("q", 7, PARTS)
    check_parts("all-or-nothing", 5, [])


@pytest.mark.parametrize("points, parts, message", [
    (8, PARTS, "add up to 7, the check is worth 8"),
    (4, [Part("a", 2, "", ""), Part("a", 2, "", "")], "share an id"),
])
def test_a_rubric_that_does_not_add_up_is_refused_with_the_reason(points, parts, message):
    with pytest.raises(RubricError, match=message):
        check_parts("q", points, parts)


def test_each_part_is_passed_failed_or_never_reached_in_declared_order():
    statuses = part_statuses(PARTS, {"announces": False, "closes": True})
    assert [(part.id, status) for part, status in statuses] == [
        ("closes", PASSED), ("announces", FAILED), ("ends", SKIPPED)]


def declared_rubric():
    """(check id, points, [part points]) of every check, from the source of grader/checks."""
    rubric = []
    for path in sorted((ROOT / "grader" / "checks").glob("check_*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if not isinstance(node, ast.FunctionDef) or not node.name.startswith("check_"):
                continue
            for decorator in node.decorator_list:
                if isinstance(decorator, ast.Call) and ast.unparse(decorator.func) == "pytest.mark.check":
                    kwargs = {kw.arg: kw.value for kw in decorator.keywords}
                    parts = kwargs.get("parts")
                    rubric.append((node.name[len("check_"):], ast.literal_eval(kwargs["points"]),
                                   [ast.literal_eval(part.args[1]) for part in parts.elts]
                                   if parts is not None else []))
    return rubric


def test_the_declared_rubric_is_100_points_and_every_checks_parts_add_up():
    rubric = declared_rubric()
    assert len(rubric) == 19
    assert sum(points for _, points, _ in rubric) == 100
    for check, points, parts in rubric:
        assert not parts or sum(parts) == points, check

"""The rules of ARCHITECTURE.md that a machine can check: the pure core imports nothing
that touches sockets, processes, threads or clocks, nor a grader module outside the core;
the launcher imports no grader module at all. Read from the source with ast (see
tests/test_layout.py for the import reader), so the rule holds for code no test runs."""

from pathlib import Path

import pytest

from tests.test_layout import imported_modules, module_package

ROOT = Path(__file__).resolve().parent.parent

#: The pure core: plain functions and data over bytes and strings.
PURE = {"grader." + name for name in (
    "_launch_env", "settings", "prompts", "matching", "scoring", "findings", "hints",
    "diagnose", "results")} | {"classroom.turns", "classroom.sanitize", "classroom.admission"}
#: The outputs: rendered from the result model; they may also write their files
#: (grader.files) and ask the terminal its width (grader.console).
OUTPUTS = {"grader.report", "grader.gradescope", "grader.gradebook", "grader.prairielearn",
           "grader.github_classroom", "grader.autolab", "grader.class_report",
           "grader.similarity"}
#: Modules of the standard library that wait, spawn or talk to the network.
EFFECTFUL = {"socket", "subprocess", "threading", "selectors", "asyncio", "multiprocessing",
             "time", "signal", "concurrent", "select"}


def imports_of(module, root=ROOT):
    path = root.joinpath(*module.split(".")).with_suffix(".py")
    return imported_modules(path.read_text(encoding="utf-8"), module_package(path, root))


def breaches(module, allowed_ours, root=ROOT):
    bad = []
    for name in imports_of(module, root):
        top = name.split(".")[0]
        if top in EFFECTFUL:
            bad.append(name)
        elif top in ("grader", "classroom") and not _within(name, allowed_ours):
            bad.append(name)
    return bad


def _within(name, allowed):
    """``name`` is an allowed module, a name inside one (``from .results import ERROR``
    reads as grader.results.ERROR), or the package itself (``from . import scoring``)."""
    return name in ("grader", "classroom") or any(
        name == module or name.startswith(module + ".") for module in allowed)


@pytest.mark.parametrize("module", sorted(PURE))
def test_a_pure_module_imports_only_the_pure_core(module):
    assert breaches(module, PURE) == []


@pytest.mark.parametrize("module", sorted(OUTPUTS))
def test_an_output_module_imports_only_the_core_files_and_console(module):
    assert breaches(module, PURE | OUTPUTS | {"grader.files", "grader.console"}) == []


def test_the_launcher_imports_no_grader_module():
    # It runs grader/_launch_env.py and grader/_sandbox.py by path instead.
    assert [name for name in imports_of("grader._launch") if name.startswith("grader")] == []


def test_the_rule_catches_a_breach(tmp_path):
    fake = tmp_path / "grader" / "matching.py"
    fake.parent.mkdir()
    fake.write_text("import time\nfrom .lab import Lab\nfrom . import scoring\n", encoding="utf-8")
    assert breaches("grader.matching", PURE, root=tmp_path) == ["time", "grader.lab", "grader.lab.Lab"]

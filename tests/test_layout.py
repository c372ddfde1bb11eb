"""The repository's layout rules: what may import what, and what the bundles may hold.

- ``grader/`` and ``classroom/`` never import ``reference`` (the secret solutions), and
  ``classroom/`` never imports ``grader``: read from every module's source with ``ast``,
  absolute and relative imports alike, so a module nobody runs in the tests is checked too.
- The students' kit (``python -m grader handout``) and the Gradescope bundle
  (``python -m grader gradescope``) hold nothing under ``reference/`` and no copy of a
  reference solution, and do hold the whole of ``classroom/`` and the grader's entry point.

Each rule is also run on a made-up case that breaks it, so a rule that can no longer fail
fails its own test.
"""
import ast
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from grader.commands import package_files

ROOT = Path(__file__).resolve().parent.parent

#: Package folder -> the top-level packages its modules must never import.
FORBIDDEN = {
    "grader": {"reference"},
    "classroom": {"reference", "grader"},
}
SOLUTIONS = [ROOT / "reference" / "chat_client.py", ROOT / "reference" / "chat_server.py"]
#: What each bundle must hold (paths inside it, below the kit's own folder).
MUST_HOLD = ["classroom/hub_server.py", "classroom/echo_server.py", "grader/__main__.py"]
BUILD_TIMEOUT = 60


# ---------------------------------------------------------------------------- imports


def module_package(path, root):
    """The dotted package a module file belongs to: grader/checks/check_hub.py -> grader.checks."""
    return ".".join(path.relative_to(root).parent.parts)


def imported_modules(source, package):
    """Every module name ``source`` imports (``import x.y``, ``from x import y``, relative
    imports resolved against ``package``, ``importlib.import_module('x')``), as dotted
    names; a relative import that climbs above the top package is ``'..'`` + its name."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                base = node.module
            else:
                parts = package.split(".") if package else []
                if node.level - 1 > len(parts) - 1:
                    found.append(".." + (node.module or ""))
                    continue
                base = ".".join(parts[:len(parts) - (node.level - 1)] + (
                    [node.module] if node.module else []))
            found.append(base)
            found += [base + "." + alias.name for alias in node.names if alias.name != "*"]
        elif (isinstance(node, ast.Call) and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
              and getattr(node.func, "attr", getattr(node.func, "id", None))
              in ("import_module", "__import__")):
            found.append(node.args[0].value)
    return found


def forbidden_imports(path, root, forbidden):
    """The names ``path`` imports that reach a package of ``forbidden``, or climb above the
    top package (``..name``)."""
    package = module_package(path, root)
    names = imported_modules(path.read_text(encoding="utf-8"), package)
    return sorted({name for name in names
                   if name.startswith("..") or name.split(".")[0] in forbidden})


def modules_of(folder):
    return sorted(path for path in (ROOT / folder).rglob("*.py") if "__pycache__" not in path.parts)


@pytest.mark.parametrize("folder", sorted(FORBIDDEN))
def test_no_module_imports_what_its_package_must_not(folder):
    modules = modules_of(folder)
    assert len(modules) >= 5, "found only %s" % modules
    bad = {str(path.relative_to(ROOT)): found for path in modules
           for found in [forbidden_imports(path, ROOT, FORBIDDEN[folder])] if found}
    assert not bad, "%s/ must never import %s: %s" % (folder, sorted(FORBIDDEN[folder]), bad)


@pytest.mark.parametrize("where, source", [
    ("grader/x.py", "import reference"),
    ("grader/x.py", "import os, reference.make_skeleton"),
    ("grader/x.py", "from reference.chat_client import Client"),
    ("grader/x.py", "from reference import chat_server"),
    ("grader/checks/x.py", "from ... import reference"),        # climbs out of grader/
    ("grader/x.py", "from ..reference import chat_client"),
    ("grader/x.py", "import importlib\nimportlib.import_module('reference.chat_client')"),
    ("grader/x.py", "def f():\n    from reference import chat_client\n"),
    ("classroom/x.py", "from grader import timeouts"),
    ("classroom/x.py", "import grader.peers"),
])
def test_the_import_rule_catches_every_spelling(tmp_path, where, source):
    path = tmp_path / where
    path.parent.mkdir(parents=True)
    path.write_text(source, encoding="utf-8")
    assert forbidden_imports(path, tmp_path, FORBIDDEN[where.split("/")[0]])


@pytest.mark.parametrize("where, source", [
    ("grader/x.py", "from . import reference_notes"),            # grader.reference_notes
    ("grader/checks/x.py", "from .. import lab"),                # grader.lab
    ("grader/x.py", "from classroom.hub_server import HubServer"),
    ("classroom/x.py", "from .core import InstructorServer"),
    ("classroom/x.py", "from . import grader_notes"),            # classroom.grader_notes
])
def test_the_import_rule_lets_the_allowed_imports_through(tmp_path, where, source):
    path = tmp_path / where
    path.parent.mkdir(parents=True)
    path.write_text(source, encoding="utf-8")
    assert forbidden_imports(path, tmp_path, FORBIDDEN[where.split("/")[0]]) == []


# ---------------------------------------------------------------------------- bundles


def build(tmp_path, command, prefix):
    """Build a bundle with ``python -m grader COMMAND --out ZIP``; returns ``{path inside
    the kit: bytes}`` (``prefix``, the kit's own folder, taken off)."""
    out = tmp_path / (command + ".zip")
    built = subprocess.run([sys.executable, "-m", "grader", command, "--out", str(out)],
                           cwd=str(ROOT), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=BUILD_TIMEOUT)
    assert built.returncode == 0, built.stderr.decode("utf-8", "replace")
    with zipfile.ZipFile(str(out)) as archive:
        names = archive.namelist()
        assert all(name.startswith(prefix) for name in names), names
        return {name[len(prefix):]: archive.read(name) for name in names}


def normalised(data):
    return data.replace(b"\r\n", b"\n").strip()


def problems(files):
    """What is wrong with a bundle's ``{path: bytes}``, as readable lines (none: fine)."""
    found = ["%s: under reference/" % name for name in files if name.startswith("reference/")]
    for solution in SOLUTIONS:
        text = normalised(solution.read_bytes())
        found += ["%s: holds %s" % (name, solution.relative_to(ROOT).as_posix())
                  for name, data in files.items() if text in normalised(data)]
    found += ["%s: missing" % name for name in MUST_HOLD if name not in files]
    found += ["%s: missing (classroom/ ships whole)" % path.relative_to(ROOT).as_posix()
              for path in package_files(["classroom"])
              if path.relative_to(ROOT).as_posix() not in files]
    return found


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("bundles")
    return {"handout": build(tmp_path, "handout", "socket-lab/"),
            "gradescope": build(tmp_path, "gradescope", "")}


@pytest.mark.parametrize("command", ["handout", "gradescope"])
def test_a_bundle_holds_the_classroom_and_the_grader_and_no_solution(bundles, command):
    assert problems(bundles[command]) == []


@pytest.mark.parametrize("command", ["handout", "gradescope"])
def test_the_bundle_rule_catches_a_solution_wherever_it_hides(bundles, command):
    solution = SOLUTIONS[0].read_bytes()
    cases = {
        "a file under reference/": dict(bundles[command], **{"reference/__init__.py": b""}),
        "a solution renamed": dict(bundles[command], **{"grader/helper.py": solution}),
        "a solution with Windows line ends": dict(
            bundles[command], **{"grader/x.py": solution.replace(b"\n", b"\r\n")}),
        "a solution inside a bigger file": dict(
            bundles[command], **{"notes.md": b"# notes\n" + solution + b"\nmore\n"}),
        "the hub missing": {name: data for name, data in bundles[command].items()
                            if name != "classroom/hub_server.py"},
        "a classroom module missing": {name: data for name, data in bundles[command].items()
                                       if name != "classroom/turns.py"},
        "the grader's entry point missing": {name: data for name, data in bundles[command].items()
                                             if name != "grader/__main__.py"},
    }
    for case, files in cases.items():
        assert problems(files), "the rule misses %s" % case

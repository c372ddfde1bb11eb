"""The students' kit on its own: unzipped into an empty folder, its grader grades the
skeleton and every notebook in it runs top to bottom.

``python -m grader handout`` builds the zip; these tests unzip it and run everything from
there, as a student would, with the kit's folder as the working directory and the only
place our packages are imported from.

Why a plain ``PYTHONPATH`` (or ``python -I``) is not enough: the repository is installed in
editable mode, and setuptools' editable finder (a ``sys.meta_path`` entry put there by a
``.pth`` file in site-packages, so ``-I`` keeps it) maps the repository's packages to this
checkout. The kit's own copy comes first on the path, but a module the kit *lacks*
would silently be imported from the repository, and a kit that cannot work alone would
pass. So every child runs with ``PYTHONPATH`` = the kit's folder and a folder holding a
``sitecustomize.py`` that removes editable finders and any path inside the repository
(but this Python's own, for a virtual environment kept in the checkout);
children inherit the environment, so the notebook kernel and the programs the grader
starts are isolated too. ``test_kit_imports_only_itself`` proves it.
"""

import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from grader.commands import AFTER_THE_DEADLINE

ROOT = Path(__file__).resolve().parent.parent

#: Deadlines of this module's waits (seconds): building the zip, a short probe, grading
#: the whole skeleton (about 3 s here), one notebook cell, and a kernel's start.
BUILD_TIMEOUT = 60
PROBE_TIMEOUT = 30
GRADE_TIMEOUT = 100
CELL_TIMEOUT = 60
KERNEL_START_TIMEOUT = 60

#: The notebooks the kit must hold: all of notebooks/ but those held back until the deadline.
KIT_NOTEBOOKS = sorted(path.name for path in (ROOT / "notebooks").glob("*.ipynb")
                       if path.name not in AFTER_THE_DEADLINE)

#: Run by ``site`` at the start of every child Python (no sitecustomize of the machine's
#: own is shadowed here: the Python we test with has none): what the kit cannot import
#: from itself, it cannot import at all.
SITECUSTOMIZE = '''\
"""Written by tests/test_handout.py: hides the repository {root!r} from this Python."""
import os
import sys

_REPO = {root!r}
#: This Python's own folders stay, even inside the repository (a .venv in the checkout).
_OWN = tuple(os.path.abspath(prefix) + os.sep
             for prefix in {{sys.prefix, sys.exec_prefix, sys.base_prefix}})


def _hidden(entry):
    path = os.path.abspath(entry or os.curdir)
    if (path + os.sep).startswith(_OWN):
        return False
    return path == _REPO or path.startswith(_REPO + os.sep)


sys.meta_path[:] = [finder for finder in sys.meta_path
                    if not getattr(finder, "__module__", "").startswith("__editable__")]
sys.path[:] = [entry for entry in sys.path if not _hidden(entry)]
'''

#: Prints where the kit's packages come from, and which of the repository's cannot be found.
PROBE = '''\
import importlib, json, sys
found, missing = {}, []
for name in ("grader", "grader.__main__", "classroom", "classroom.hub_server"):
    try:
        module = importlib.import_module(name)
    except ImportError:
        missing.append(name)
    else:
        found[name] = getattr(module, "__file__", None) or list(module.__path__)[0]
for name in ("reference", "reference.chat_server", "tests"):
    try:
        importlib.import_module(name)
    except ImportError:
        missing.append(name)
    else:
        found[name] = getattr(sys.modules[name], "__file__", None)
print(json.dumps({"found": found, "missing": missing}))
'''

#: Appended to each notebook: the modules its kernel loaded from the repository (none, we hope).
KERNEL_PROBE = '''\
import json as _json, os as _os, sys as _sys
_own = _os.path.abspath(_sys.prefix) + _os.sep   # the kernel's Python (a .venv may sit in the checkout)
_files = ((name, _os.path.abspath(str(getattr(module, "__file__", None) or "/")))
          for name, module in list(_sys.modules.items()))
print(_json.dumps(sorted(name for name, path in _files
                         if path.startswith(%r) and not path.startswith(_own))))
''' % (str(ROOT) + os.sep)


def build_kit(tmp_path_factory, *options):
    """The kit built with ``options`` (``python -m grader handout ...``) and unzipped: its
    ``socket-lab/`` folder, and the environment that isolates it."""
    base = tmp_path_factory.mktemp("handout")
    archive = base / "socket-lab-student.zip"
    built = subprocess.run([sys.executable, "-m", "grader", "handout", "--out", str(archive)]
                           + list(options),
                           cwd=str(ROOT), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=BUILD_TIMEOUT)
    assert built.returncode == 0, built.stderr.decode("utf-8", "replace")
    unzipped = base / "unzipped"
    unzipped.mkdir()
    with zipfile.ZipFile(str(archive)) as zipped:
        zipped.extractall(str(unzipped))
    root = unzipped / "socket-lab"
    assert root.is_dir(), "the zip holds %s" % sorted(p.name for p in unzipped.iterdir())
    shim = base / "isolation"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(SITECUSTOMIZE.format(root=str(ROOT)), encoding="utf-8")
    env = {name: value for name, value in os.environ.items() if not name.startswith("PYTHON")}
    env.update({"PYTHONPATH": os.pathsep.join([str(root), str(shim)]),
                "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUTF8": "1", "PYTHONIOENCODING": "utf-8"})
    return root, env


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    """The unzipped kit's ``socket-lab/`` folder, and the environment that isolates it."""
    return build_kit(tmp_path_factory)


#: The check held back in held_back_kit, and what only its code says.
HELD_BACK = "hub_room_full"
HELD_BACK_CODE = ("def check_hub_room_full", "满员时拒绝", "after someone leaves, a newcomer gets in")


@pytest.fixture(scope="module")
def held_back_kit(tmp_path_factory):
    """The kit built with ``--visibility hub_room_full=after_due_date``: that check runs on
    Gradescope and in batch, and is not the students'."""
    return build_kit(tmp_path_factory, "--visibility", HELD_BACK + "=after_due_date")


def run_in_kit(kit, args, timeout):
    root, env = kit
    return subprocess.run([sys.executable] + args, cwd=str(root), env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)


def inside(path, folder):
    return os.path.abspath(str(path)).startswith(str(folder) + os.sep)


@pytest.mark.slow
def test_kit_imports_only_itself(kit):
    """The kit's grader and classroom servers are the kit's; what it lacks is not found."""
    root, _ = kit
    probe = run_in_kit(kit, ["-c", PROBE], PROBE_TIMEOUT)
    assert probe.returncode == 0, probe.stderr.decode("utf-8", "replace")
    where = json.loads(probe.stdout.decode("utf-8"))
    for name in ("grader", "grader.__main__", "classroom", "classroom.hub_server"):
        assert name in where["found"], "the kit has no %s: %s" % (name, where)
        assert inside(where["found"][name], root), "%s comes from %s, not from the kit" % (
            name, where["found"][name])
    for name in ("reference.chat_server", "tests"):
        assert name in where["missing"], "%s (not in the kit) was imported from %s" % (
            name, where["found"].get(name))


@pytest.mark.slow
def test_kit_grades_its_skeleton(kit):
    """``python -m grader`` in the kit grades the kit's own skeleton: 0/100, and no error."""
    root, _ = kit
    graded = run_in_kit(kit, ["-m", "grader", "--lang", "en"], GRADE_TIMEOUT)
    out = graded.stdout.decode("utf-8", "replace")
    err = graded.stderr.decode("utf-8", "replace")
    assert graded.returncode == 0, "exit status %d\n%s\n%s" % (graded.returncode, out, err)
    assert "Score 0/100" in out, out
    assert "GRADER ERROR" not in out, out
    assert str(root / "skeleton" / "chat_client.py") in out, out


@pytest.mark.slow
def test_every_notebook_is_in_the_kit(kit):
    """The kit holds every notebook but those held back until the deadline."""
    root, _ = kit
    assert sorted(path.name for path in (root / "notebooks").glob("*.ipynb")) == KIT_NOTEBOOKS


@pytest.mark.slow
@pytest.mark.parametrize("name", KIT_NOTEBOOKS, ids=lambda name: name.split(".")[0])
def test_kit_notebook_runs_top_to_bottom(kit, name):
    """Each notebook of the kit runs in a kernel started in its folder, importing the kit."""
    nbformat = pytest.importorskip("nbformat", reason="nbformat is not installed: pip install -e \".[test]\"")
    nbclient = pytest.importorskip("nbclient", reason="nbclient is not installed: pip install -e \".[test]\"")
    pytest.importorskip("ipykernel", reason="ipykernel is not installed: pip install -e \".[test]\"")
    from nbclient.exceptions import CellControlSignal, DeadKernelError

    root, env = kit
    path = root / "notebooks" / name
    assert path.is_file(), "the kit has no notebooks/%s" % name
    notebook = nbformat.read(str(path), as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(KERNEL_PROBE))
    client = nbclient.NotebookClient(notebook, timeout=CELL_TIMEOUT, kernel_name="python3",
                                     startup_timeout=KERNEL_START_TIMEOUT,
                                     resources={"metadata": {"path": str(path.parent)}})
    started = time.monotonic()
    try:
        client.execute(env=env, cwd=str(path.parent))
    except (CellControlSignal, DeadKernelError) as error:  # an error in a cell, a cell timeout, a dead kernel
        pytest.fail("%s failed in the kit after %.1f s:\n%s" % (name, time.monotonic() - started, error))
    print("%s ran in the kit in %.1f s" % (name, time.monotonic() - started))
    probe = "".join(output.get("text", "") for output in notebook.cells[-1].outputs)
    assert json.loads(probe) == [], "%s's kernel loaded these from the repository: %s" % (name, probe)


def kit_texts(root):
    """Every text file of the kit, by path."""
    return {path: path.read_text(encoding="utf-8", errors="replace")
            for path in root.rglob("*") if path.is_file() and path.suffix in (".py", ".md", ".ipynb", ".ini", ".toml", ".yml", ".json")}


@pytest.mark.slow
def test_a_held_back_checks_code_is_not_in_the_kit(held_back_kit, kit):
    """Its file is left out and no file of the kit holds a line of its code; the kit built
    without the option (every check visible by default) does hold it, so the probe can find it."""
    root, _ = held_back_kit
    assert not list(root.rglob("check_%s.py" % HELD_BACK))
    for path, text in kit_texts(root).items():
        for code in HELD_BACK_CODE:
            assert code not in text, "%s holds %r" % (path, code)
    default_root, _ = kit
    default_text = (default_root / "grader" / "checks" / ("check_%s.py" % HELD_BACK)).read_text(encoding="utf-8")
    assert all(code in default_text for code in HELD_BACK_CODE)
    readme = (root / "README.md").read_text(encoding="utf-8")
    assert "1 more checks (2 points) are not in this kit" in readme


@pytest.mark.slow
def test_the_kits_grader_works_without_the_held_back_check(held_back_kit):
    """The kit's grader lists and grades its skeleton without the held-back check: 0/98, no
    grader error, and the check is not among those it knows."""
    root, _ = held_back_kit
    listed = run_in_kit(held_back_kit, ["-m", "grader", "--list", "--lang", "en"], PROBE_TIMEOUT)
    assert listed.returncode == 0, listed.stderr.decode("utf-8", "replace")
    names = [line.split()[0] for line in listed.stdout.decode("utf-8").splitlines() if line.strip()]
    assert len(names) == 18 and HELD_BACK not in names
    graded = run_in_kit(held_back_kit, ["-m", "grader", "--lang", "en"], GRADE_TIMEOUT)
    out = graded.stdout.decode("utf-8", "replace")
    assert graded.returncode == 0, "exit status %d\n%s\n%s" % (
        graded.returncode, out, graded.stderr.decode("utf-8", "replace"))
    assert "Score 0/98" in out, out
    assert "GRADER ERROR" not in out, out

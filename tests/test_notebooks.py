"""The walkthroughs in notebooks/: committed without outputs, and each runs top to bottom.

Each notebook is executed in a fresh Python kernel by nbclient, in the notebooks folder (as
`jupyter lab notebooks/` would), and must finish without an error within its budget. The
execution test skips, saying why, where nbformat, nbclient or ipykernel are not installed
(`python -m pip install -e ".[test]"` installs them).
"""

import json
import time
from pathlib import Path

import pytest

#: Each runs a notebook top to bottom in a kernel of its own.
pytestmark = pytest.mark.slow

NOTEBOOKS_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
EXPECTED = [
    "01_sockets_basics.ipynb",
    "02_the_chat_client.ipynb",
    "03_without_threads.ipynb",
    "04_full_duplex_without_threads.ipynb",
    "05_udp_chat.ipynb",
    "06_the_hub_and_the_grader.ipynb",
]
#: Budget of one whole notebook, kernel start included (seconds); each aims at under 10.
NOTEBOOK_BUDGET = 60
#: nbclient's limit on one cell (seconds): a cell that hangs fails its notebook, never the run.
CELL_TIMEOUT = 60


def test_every_walkthrough_is_there():
    assert [path.name for path in NOTEBOOKS] == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_committed_without_outputs(path):
    """Outputs and execution counts are noise in a diff and stale after any edit."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    dirty = [
        index for index, cell in enumerate(notebook["cells"])
        if cell["cell_type"] == "code" and (cell.get("outputs") or cell.get("execution_count") is not None)
    ]
    assert not dirty, "%s: code cells %s have outputs or execution counts; clear them before committing" % (
        path.name, dirty)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_runs_top_to_bottom(path):
    nbformat = pytest.importorskip("nbformat", reason="nbformat is not installed: pip install -e \".[test]\"")
    nbclient = pytest.importorskip("nbclient", reason="nbclient is not installed: pip install -e \".[test]\"")
    pytest.importorskip("ipykernel", reason="ipykernel is not installed: pip install -e \".[test]\"")
    from nbclient.exceptions import CellControlSignal, DeadKernelError

    notebook = nbformat.read(str(path), as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=CELL_TIMEOUT, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOKS_DIR)}})
    started = time.monotonic()
    try:
        client.execute()
    except (CellControlSignal, DeadKernelError) as error:  # an error in a cell, a cell timeout, a dead kernel
        pytest.fail("%s failed after %.1f s:\n%s" % (path.name, time.monotonic() - started, error))
    elapsed = time.monotonic() - started
    print("%s ran in %.1f s" % (path.name, elapsed))  # shown with -rP or -s
    assert elapsed < NOTEBOOK_BUDGET, "%s ran in %.1f s, over its budget of %d s" % (
        path.name, elapsed, NOTEBOOK_BUDGET)

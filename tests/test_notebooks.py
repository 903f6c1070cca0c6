"""Every notebook in notebooks/ runs top to bottom without errors, and is committed with its outputs stripped.

The notebooks are executed with nbclient on the ``python3`` kernel (ipykernel, a test extra), 120 s per cell at
most, with matplotlib on the non-interactive Agg backend (the notebooks also use ``%matplotlib inline``).
Each notebook runs in its own kernel process: they start in a background thread as soon as collection
shows they will run (``tests/conftest.py``), one kernel at a time, so they use the second core while the
rest of the suite runs; each notebook is still its own test, which waits for its result.
New notebooks (``notebooks/*.ipynb``) are picked up automatically.
"""
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))


def test_notebooks_exist():
    assert NOTEBOOKS, f"no notebooks found in {NOTEBOOK_DIR}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_is_stripped(path):
    nb = nbformat.read(path, as_version=4)
    dirty = [k for k, c in enumerate(nb.cells)
             if c.cell_type == "code" and (c.get("outputs") or c.get("execution_count") is not None)]
    assert not dirty, (f"{path.name}: code cells {dirty} carry outputs or execution counts; strip them "
                       f"(e.g. jupyter nbconvert --clear-output --inplace {path.name})")


def _execute(path):
    """Run one notebook; return ``None`` or the first error as a string."""
    import asyncio

    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    asyncio.set_event_loop(asyncio.new_event_loop())     # a worker thread has no event loop of its own
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute(env={**os.environ, "MPLBACKEND": "Agg"})     # the kernel's environment only
    except CellExecutionError as exc:
        return str(exc)[-3000:]
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    return f"{errors[0].ename}: {errors[0].evalue}" if errors else None


_FUTURES: dict = {}


def start_in_background():
    """Start executing every notebook, one kernel at a time, in a background thread.

    Called by ``tests/conftest.py`` once collection shows the notebook tests will run: the kernels then
    work while the rest of the suite runs on the other core, and :func:`test_notebook_runs` only waits."""
    if not _FUTURES:
        ex = ThreadPoolExecutor(max_workers=1, thread_name_prefix="notebooks")
        # Crowd-SFT notebooks first: they warm the numba cache for the crowd_sft tests, which run last
        first = sorted(NOTEBOOKS, key=lambda p: not any(w in p.name for w in ("crowd", "shapley")))
        _FUTURES.update({p: ex.submit(_execute, p) for p in first})
        ex.shutdown(wait=False)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path):
    start_in_background()                 # no-op when conftest started it
    error = _FUTURES[path].result()
    assert error is None, f"{path.name}: {error}"

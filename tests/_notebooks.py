"""Run every notebook in ``notebooks/`` in a background thread, one kernel at a time (tests/test_notebooks.py
waits for the results).  Kept apart from the test module so that ``tests/conftest.py`` can start the kernels
before collection on a full run without importing a test module (which pytest must import itself, to rewrite
its asserts)."""
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))

_FUTURES: dict = {}


def _execute(path):
    """Run one notebook; return ``None`` or the first error as a string."""
    import asyncio

    import nbformat
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


_EXECUTOR = ThreadPoolExecutor(max_workers=1, thread_name_prefix="notebooks")


def start_in_background(paths=None):
    """Start executing the notebooks (default: all), one kernel at a time, in a background thread; a notebook
    already started is not started again.

    Crowd-SFT notebooks first: on a fresh checkout they compile (and cache) the numba kernels that the
    Crowd-SFT tests, which run last, then load."""
    todo = [p for p in (NOTEBOOKS if paths is None else paths) if p not in _FUTURES]
    for p in sorted(todo, key=lambda p: not any(w in p.name for w in ("crowd", "shapley"))):
        _FUTURES[p] = _EXECUTOR.submit(_execute, p)


def cancel():
    """Drop the notebooks that have not started (none of their tests was selected after all)."""
    for fut in _FUTURES.values():
        fut.cancel()


def result(path):
    """The notebook's error (``None``: it ran cleanly), waiting for it."""
    start_in_background([path])
    return _FUTURES[path].result()

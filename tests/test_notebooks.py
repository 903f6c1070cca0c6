"""Every notebook in notebooks/ runs top to bottom without errors, and is committed with its outputs stripped.

The notebooks are executed with nbclient on the ``python3`` kernel (ipykernel, a test extra), 120 s per cell at
most, with matplotlib on the non-interactive Agg backend (the notebooks also use ``%matplotlib inline``).
Each notebook runs in its own kernel process, one kernel at a time, in a background thread
(``tests/_notebooks.py``) that ``tests/conftest.py`` starts before collection on a full run, or for the
selected notebooks once the selection is final, so they use the second core while the rest of the suite
runs; each notebook is still its own test, which waits for its result.
New notebooks (``notebooks/*.ipynb``) are picked up automatically.
"""
import nbformat
import pytest

from ._notebooks import NOTEBOOK_DIR, NOTEBOOKS, result


def test_notebooks_exist():
    assert NOTEBOOKS, f"no notebooks found in {NOTEBOOK_DIR}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_is_stripped(path):
    nb = nbformat.read(path, as_version=4)
    dirty = [k for k, c in enumerate(nb.cells)
             if c.cell_type == "code" and (c.get("outputs") or c.get("execution_count") is not None)]
    assert not dirty, (f"{path.name}: code cells {dirty} carry outputs or execution counts; strip them "
                       f"(e.g. jupyter nbconvert --clear-output --inplace {path.name})")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path):
    error = result(path)                  # started by tests/conftest.py, or now
    assert error is None, f"{path.name}: {error}"

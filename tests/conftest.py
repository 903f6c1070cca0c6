"""Shared test configuration.

Hypothesis runs with ``deadline=None``: the first call of a numba kernel compiles (or loads from the
on-disk cache), which would otherwise trip hypothesis's per-example deadline.  Under CI (``CI`` set)
the examples are derandomized, so a CI run is reproducible; locally each run explores new examples.

Bytecode: the suite starts more than thirty interpreters (the second lane, six notebook kernels, CLI subprocesses,
process-pool and Dask workers) that import the same sources.  With ``PYTHONDONTWRITEBYTECODE`` set, every one
of them would compile those sources again (about a second each), so the suite lets Python keep bytecode in
``__pycache__``, next to the numba kernels' cache, for this process and its children.
"""
import os
import sys

import pytest
from hypothesis import HealthCheck, settings

if os.environ.pop("PYTHONDONTWRITEBYTECODE", None) is not None:
    sys.dont_write_bytecode = False

settings.register_profile("project", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", parent=settings.get_profile("project"), derandomize=True)
settings.load_profile("ci" if os.environ.get("CI") else "project")


def _full_run(config):
    """``python -m pytest -q``: the configured test paths, with no option that selects tests (``-k``, ``-m``,
    ``--lf``, ``--sw``, ``--deselect``, ``--ignore``); a file or test asked for by name runs in this process
    alone."""
    opt = config.option
    selecting = (opt.keyword, opt.markexpr, getattr(opt, "lf", False), getattr(opt, "stepwise", False),
                 getattr(opt, "deselect", None), getattr(opt, "ignore", None), getattr(opt, "ignore_glob", None))
    return (config.args_source == pytest.Config.ArgsSource.TESTPATHS and not any(selecting)
            and not opt.collectonly and not os.environ.get("FEEDBACK_MECHANISMS_TEST_LANE"))


def pytest_sessionstart(session):
    """On a full run the second core starts before collection (which takes this process 10-20 s on a fresh
    checkout): the notebooks' kernels and the second lane's pytest (tests/_lane.py)."""
    if _full_run(session.config):
        from . import _lane, _notebooks
        _notebooks.start_in_background()
        _lane.start(session.config.rootpath)


def pytest_collection_modifyitems(session, config, items):
    """Use the second core: the notebooks' kernels (tests/_notebooks.py) and, on a full run, a second pytest
    process for a few heavy files (tests/_lane.py), whose tests here only report the lane's outcomes.  Both
    start before collection on a full run; otherwise the notebooks start once the selection is final
    (:func:`pytest_collection_finish`).  The Crowd-SFT tests run last: the Crowd-SFT notebooks run first, so
    on a fresh checkout they compile (and cache) the numba kernels those tests need while this process runs
    the other tests."""
    if config.option.collectonly or os.environ.get("FEEDBACK_MECHANISMS_TEST_LANE"):
        return
    if _full_run(config):
        from . import _lane
        for k, it in enumerate(items):              # the lane runs them (started by pytest_sessionstart)
            if it.nodeid.split("::")[0] in _lane.FILES:
                items[k] = _lane.LaneItem.from_parent(it.parent, name=it.name)
    if any(getattr(it, "originalname", None) == "test_notebook_runs" for it in items):
        items.sort(key=lambda it: it.nodeid.startswith("tests/crowd_sft/"))     # stable: order kept otherwise
    # tests that only wait for the second core's work (notebooks, the second lane) go last, so this process
    # never idles while the other core finishes them (stable sort: the order is kept otherwise)
    items.sort(key=lambda it: getattr(it, "originalname", None) == "test_notebook_runs"
               or type(it).__name__ == "LaneItem")


def pytest_collection_finish(session):
    """Once the selection is final (``-k`` and ``-m`` deselect after the hook above): start the notebooks'
    kernels if a notebook test will wait for them (no-op when already started), and stop whatever no
    selected test waits for."""
    from . import _lane, _notebooks
    if os.environ.get("FEEDBACK_MECHANISMS_TEST_LANE") or session.config.option.collectonly:
        return
    if not any(type(it).__name__ == "LaneItem" for it in session.items):
        _lane.stop()
    wanted = [it.callspec.params["path"] for it in session.items
              if getattr(it, "originalname", None) == "test_notebook_runs"]
    if wanted:
        _notebooks.start_in_background(wanted)
    else:
        _notebooks.cancel()


def pytest_sessionfinish(session):
    """An interrupted run (``-x``, Ctrl-C) leaves no second pytest behind, and starts no further notebook."""
    from . import _lane, _notebooks
    _lane.stop()
    _notebooks.cancel()

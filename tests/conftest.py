"""Shared test configuration.

Hypothesis runs with ``deadline=None``: the first call of a numba kernel compiles (or loads from the
on-disk cache), which would otherwise trip hypothesis's per-example deadline.  Under CI (``CI`` set)
the examples are derandomized, so a CI run is reproducible; locally each run explores new examples.
"""
import os

from hypothesis import HealthCheck, settings

settings.register_profile("project", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", parent=settings.get_profile("project"), derandomize=True)
settings.load_profile("ci" if os.environ.get("CI") else "project")


def pytest_collection_modifyitems(session, config, items):
    """Start the notebooks' kernels early when their tests are selected (see tests/test_notebooks.py), and run
    the crowd_sft tests last: the Crowd-SFT notebooks run first in the background, so on a fresh checkout they
    compile (and cache) the numba kernels those tests need while the main process runs the other tests."""
    if config.option.collectonly:
        return
    for item in items:
        if getattr(item, "originalname", None) == "test_notebook_runs":
            item.module.start_in_background()
            items.sort(key=lambda it: it.nodeid.startswith("tests/crowd_sft/"))     # stable: order kept otherwise
            break

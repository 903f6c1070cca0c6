"""Fixtures shared by the crowd_sft test modules."""
import pytest

from crowd_sft.sweep import SweepConfig, run_sweep

# a small sweep: 2 crowd sizes x 2 group counts x 9 pairs, 4 runs in chunks of 2 (2 chunks per n)
SMALL_SWEEP = dict(users=(8, 12), groups=(2, 3), runs=4, rounds=30, chunk_runs=2)


@pytest.fixture(scope="session")
def small_sweep(tmp_path_factory):
    """``(out_dir, SweepResult)`` of one serial run of :data:`SMALL_SWEEP` with figures, shared by the sweep
    and output tests (the tests that write to ``out_dir`` rewrite identical files)."""
    out = tmp_path_factory.mktemp("small_sweep")
    return out, run_sweep(SweepConfig(**SMALL_SWEEP), out, n_jobs=1, figures=True, progress=False)

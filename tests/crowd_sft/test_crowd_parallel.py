"""The package's one executor (crowd_sft._parallel): ordered results, errors and dead workers surface."""
from __future__ import annotations

import os

import pytest

from crowd_sft._parallel import Executor


def test_serial_and_process_pool_give_results_in_task_order():
    tasks = [(2, k) for k in range(7)]
    with Executor(1) as ex:
        serial = ex.map(pow, tasks)
    with Executor(2) as ex:
        pooled = ex.map(pow, tasks)
        again = ex.map(pow, [(3, 2)])          # the same workers serve the next batch
        assert len(ex.pool.procs) == 2
    assert serial == pooled == [2 ** k for k in range(7)] and again == [9]
    assert ex.pool.procs == []                  # closed


def test_task_errors_propagate_and_dead_workers_raise_instead_of_hanging():
    with pytest.raises(ZeroDivisionError):
        with Executor(2) as ex:
            ex.map(divmod, [(1, 1), (1, 0)])
    with pytest.raises(RuntimeError, match="worker process died"):
        with Executor(2) as ex:
            ex.map(os._exit, [(3,)])


def test_bad_arguments_name_the_parameter():
    with pytest.raises(ValueError, match="n_jobs"):
        Executor(0)
    with pytest.raises(ValueError, match="dask_local"):
        Executor(dask_local=0)
    with pytest.raises(ValueError, match="executor"):
        Executor(executor=object())

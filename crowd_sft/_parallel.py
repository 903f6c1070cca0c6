"""The package's one parallel executor: serial, a local process pool, a user executor, or Dask.

Both the sweep (chunks of runs) and the Monte Carlo Shapley estimator (chunks of samples) run
their work through :class:`Executor`. Determinism comes from the callers: every task carries its
own ``SeedSequence`` and results are keyed by task index, so the numbers do not depend on which
worker ran a task or in which order tasks finished -- serial, process pool and Dask give identical
results.

Workers are started with single-threaded BLAS (``OPENBLAS_NUM_THREADS=1`` etc.): each worker
already owns a core, and threaded BLAS on top oversubscribes the machine (measured: 5x slower on
2 cores). Dask nannies set the same variables by default. The local pool is a
``multiprocessing.Pool``: on an error or ``KeyboardInterrupt`` its public ``terminate()`` stops
the tasks in flight at once (finished results have already been handed over); nothing reaches into
a pool's private state. Dask futures are cancelled; a user's executor gets its futures cancelled.
"""
from __future__ import annotations

import contextlib
import os
from concurrent.futures import FIRST_COMPLETED, wait

from ._validate import check_int

__all__ = ["Executor", "single_thread_blas"]

_BLAS_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


@contextlib.contextmanager
def single_thread_blas():
    """Environment for starting worker processes with one BLAS thread (unset variables only)."""
    old = {k: os.environ.get(k) for k in _BLAS_VARS}
    try:
        for k in _BLAS_VARS:
            if old[k] is None:
                os.environ[k] = "1"
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)


def _indexed(item):
    fn, i, args = item
    return i, fn(*args)


class Executor:
    """Run picklable top-level functions on tasks, deterministically keyed by task index.

    Parameters
    ----------
    n_jobs : int
        Local worker processes; 1 runs inline, -1 uses all cores. Ignored with ``scheduler``,
        ``dask_local`` or ``executor``.
    scheduler : str or dask.distributed.Client, optional
        An existing Dask cluster (``tcp://HOST:PORT``) or client.
    dask_local : int, optional
        Start a ``dask.distributed.LocalCluster`` with this many single-threaded worker processes.
    executor : concurrent.futures.Executor, optional
        Your own pool (not shut down by this object).
    mp_context : str
        Start method of the local pool (``"spawn"``: safe with threads and numba).

    Examples
    --------
    >>> with Executor(1) as ex:
    ...     ex.map(pow, [(2, 3), (3, 2)])
    [8, 9]
    """

    def __init__(self, n_jobs: int = 1, *, scheduler=None, dask_local: int | None = None, executor=None,
                 mp_context: str = "spawn"):
        self.kind = "serial"
        self.client = None
        self.pool = None
        self._own = []
        if dask_local is not None:
            check_int(dask_local, "dask_local", 1)
        if n_jobs == -1 or n_jobs is None:
            n_jobs = os.cpu_count() or 1
        n_jobs = check_int(n_jobs, "n_jobs", 1)
        if scheduler is not None or dask_local is not None:
            try:
                from dask.distributed import Client, LocalCluster
            except ImportError as exc:  # pragma: no cover - optional dependency
                raise ValueError("scheduler/dask_local need dask.distributed (pip install 'dask[distributed]')") from exc
            if scheduler is None:
                cluster = LocalCluster(n_workers=int(dask_local), threads_per_worker=1, processes=True,
                                       dashboard_address=None)
                self.client = Client(cluster)
                self._own += [self.client, cluster]
            elif isinstance(scheduler, str):
                self.client = Client(scheduler)
                self._own.append(self.client)
            elif isinstance(scheduler, Client):
                self.client = scheduler
            else:
                raise ValueError(f"scheduler must be a dask.distributed Client or an address string, got {scheduler!r}")
            self.kind = "dask"
        elif executor is not None:
            if not hasattr(executor, "submit"):
                raise ValueError("executor must be a concurrent.futures.Executor (with .submit)")
            self.pool = executor
            self.kind = "executor"
        elif n_jobs > 1:
            import multiprocessing

            # multiprocessing.Pool: its public terminate() stops tasks in flight at once (Ctrl-C)
            with single_thread_blas():
                self.pool = multiprocessing.get_context(mp_context).Pool(n_jobs)
            self._own.append(self.pool)
            self.kind = "process"
        self.n_jobs = n_jobs

    # ------------------------------------------------------------------ running
    def scatter(self, obj):
        """Ship a large argument to the workers once (Dask); other kinds return ``obj``."""
        return self.client.scatter(obj, broadcast=True) if self.kind == "dask" else obj

    def map(self, fn, tasks) -> list:
        """``[fn(*t) for t in tasks]``, in task order, wherever the work runs."""
        out = [None] * len(tasks)
        for i, r in self.as_completed(fn, tasks):
            out[i] = r
        return out

    def as_completed(self, fn, tasks):
        """Yield ``(index, fn(*tasks[index]))`` as tasks finish (inline: in order)."""
        tasks = list(tasks)
        if self.kind == "serial" or not tasks:
            for i, t in enumerate(tasks):
                yield i, fn(*t)
            return
        if self.kind == "dask":
            from dask.distributed import as_completed as dask_completed

            futs = [self.client.submit(fn, *t, pure=False) for t in tasks]
            index = {f.key: i for i, f in enumerate(futs)}
            try:
                for f in dask_completed(futs):
                    yield index[f.key], f.result()
            except BaseException:
                self.client.cancel(futs)
                raise
            return
        if self.kind == "process":
            try:
                for i, r in self.pool.imap_unordered(_indexed, [(fn, i, t) for i, t in enumerate(tasks)]):
                    yield i, r
            except BaseException:
                self.pool.terminate()  # public API: workers stop now, finished results are already ours
                if self.pool in self._own:
                    self._own.remove(self.pool)
                raise
            return
        with single_thread_blas():
            futs = [self.pool.submit(fn, *t) for t in tasks]
        index = {f: i for i, f in enumerate(futs)}
        pending = set(futs)
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for f in sorted(done, key=index.__getitem__):
                    yield index[f], f.result()
        except BaseException:
            for f in pending:
                f.cancel()
            if self.pool in self._own:
                self.pool.shutdown(wait=False, cancel_futures=True)
                self._own.remove(self.pool)
            raise

    # ------------------------------------------------------------------ lifetime
    def close(self) -> None:
        """Shut down what this object started (never a user's pool or client)."""
        for obj in reversed(self._own):
            if hasattr(obj, "shutdown"):
                obj.shutdown(wait=True, cancel_futures=True)
            elif hasattr(obj, "terminate") and hasattr(obj, "join"):  # multiprocessing.Pool
                obj.close()
                obj.join()
            else:
                obj.close()
        self._own = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

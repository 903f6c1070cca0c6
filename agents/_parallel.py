"""The one parallel executor of ``crowd_sft`` and ``equilibria``: serial, a local process pool, a user executor, or Dask.

Both the sweep (chunks of runs) and the Monte Carlo Shapley estimator (chunks of samples) run
their work through :class:`Executor`. Determinism comes from the callers: every task carries its
own ``SeedSequence`` and results are keyed by task index, so the numbers do not depend on which
worker ran a task or in which order tasks finished -- serial, process pool and Dask give identical
results.

Workers are started with single-threaded BLAS (``OPENBLAS_NUM_THREADS=1`` etc.): each worker
already owns a core, and threaded BLAS on top oversubscribes the machine (measured: 5x slower on
2 cores). Dask nannies set the same variables by default. Local workers end when their parent
dies (``agents._workers.exit_with_parent``). The local pool (:class:`_ProcessPool`)
is built on public ``multiprocessing`` API: on an error or ``KeyboardInterrupt`` it terminates
its workers at once (finished results have already been handed over), and a worker that dies
raises instead of hanging; nothing reaches into a pool's private state. Dask futures are
cancelled; a user's executor gets its pending futures cancelled.
"""
from __future__ import annotations

import contextlib
import os
from concurrent.futures import FIRST_COMPLETED, wait
from numbers import Integral

__all__ = ["Executor", "single_thread_blas", "check_scheduler"]


def check_int(value, name: str, low: int) -> int:
    """``int(value)`` if it is an integer ``>= low`` (the message format of ``crowd_sft._validate``)."""
    if isinstance(value, bool) or not isinstance(value, Integral) or int(value) < low:
        raise ValueError(f"{name} must be an integer >= {low}; got {value!r}")
    return int(value)


def check_scheduler(address, name: str = "scheduler", timeout: float = 3.0) -> None:
    """A Dask scheduler address ``tcp://HOST:PORT`` that accepts a connection within ``timeout`` s.

    Fails fast with one message instead of Dask's 30-second connection timeout and traceback.
    """
    import socket
    from urllib.parse import urlsplit

    text = str(address)
    url = urlsplit(text if "://" in text else "tcp://" + text)
    try:
        host, port = url.hostname, url.port
    except ValueError:
        host = port = None
    if url.scheme not in ("tcp", "tls") or not host or port is None:
        raise ValueError(f"{name} must be an address tcp://HOST:PORT; got {text!r}")
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
        raise ValueError(f"{name} {text!r} is not reachable ({reason}); start the scheduler or use dask_local "
                         "/ local processes") from None


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


def _worker(tasks, results, parent: int):
    """Worker loop: ``(index, fn, args)`` from ``tasks`` until ``None``; ``(index, ok, value)`` out.

    Ends when the parent process dies (killed without cleaning up, e.g. SIGKILL), even in the middle
    of a task: :func:`agents._workers.exit_with_parent` (Linux parent-death signal, else a watchdog
    thread), and between tasks by checking the parent's pid."""
    import queue

    from agents._workers import exit_with_parent

    exit_with_parent(parent)
    while True:
        try:
            item = tasks.get(timeout=1.0)
        except queue.Empty:
            if os.getppid() != parent:
                return
            continue
        if item is None:
            return
        i, fn, args = item
        try:
            results.put((i, True, fn(*args)))
        except BaseException as exc:  # noqa: BLE001 - handed to the parent, which re-raises it
            results.put((i, False, exc))


class _ProcessPool:
    """A minimal persistent process pool on public ``multiprocessing`` API.

    Unlike ``concurrent.futures.ProcessPoolExecutor`` it can stop tasks in flight
    (``Process.terminate``) on Ctrl-C or an error, and unlike ``multiprocessing.Pool`` it notices a
    worker that died (crash, OOM kill) and raises instead of waiting forever. Workers start at the
    first :meth:`run` and serve every later batch until :meth:`close`.
    """

    def __init__(self, n: int, mp_context: str):
        import multiprocessing

        self.ctx = multiprocessing.get_context(mp_context)
        self.n = n
        self.procs = []
        self.task_q = self.result_q = None

    def _start(self, n: int) -> None:
        self.task_q, self.result_q = self.ctx.Queue(), self.ctx.Queue()
        with single_thread_blas():
            self.procs = [self.ctx.Process(target=_worker, args=(self.task_q, self.result_q, os.getpid()),
                                           daemon=True) for _ in range(n)]
            for p in self.procs:
                p.start()

    def run(self, fn, tasks):
        """Yield ``(index, fn(*tasks[index]))`` as tasks finish."""
        import queue

        if not tasks:
            return
        if not self.procs:
            self._start(self.n)
        for i, t in enumerate(tasks):
            self.task_q.put((i, fn, tuple(t)))
        left = len(tasks)
        try:
            while left:
                try:
                    i, ok, value = self.result_q.get(timeout=0.5)
                except queue.Empty:
                    dead = [p for p in self.procs if p.exitcode is not None]
                    if dead:
                        raise RuntimeError(f"a worker process died (exit code {dead[0].exitcode}) with "
                                           f"{left} task(s) unfinished") from None
                    continue
                if not ok:
                    raise value
                left -= 1
                yield i, value
        except BaseException:
            self.terminate()
            raise

    def terminate(self) -> None:
        for p in self.procs:
            if p.is_alive():
                p.terminate()
        for p in self.procs:
            if p.pid is not None:       # a start that failed (e.g. spawn outside __main__) left nothing to join
                p.join()
        self.procs = []

    def close(self) -> None:
        if self.procs:
            for _ in self.procs:
                self.task_q.put(None)
            for p in self.procs:
                if p.pid is not None:
                    p.join()
        self.procs = []


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
            if scheduler is not None:
                raise ValueError("scheduler and dask_local exclude each other: give an existing cluster "
                                 "(scheduler) or start a local one (dask_local)")
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
                check_scheduler(scheduler)
                try:
                    self.client = Client(scheduler, timeout="10s")
                except Exception as exc:  # noqa: BLE001 - refused, timed out, or not a Dask scheduler at all
                    raise ValueError(f"scheduler {scheduler!r}: cannot connect to a Dask scheduler there "
                                     f"({exc.__class__.__name__})") from None
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
            self.pool = _ProcessPool(n_jobs, mp_context)
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
            yield from self.pool.run(fn, tasks)
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
        for obj in reversed(self._own):  # our process pool, Dask client and LocalCluster: all close()
            obj.close()
        self._own = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

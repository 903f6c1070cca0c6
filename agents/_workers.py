"""Worker processes that do not outlive their parent.

A process pool's workers are ordinary child processes: when the parent is killed without cleaning
up (``kill -9``, the OOM killer, a closed terminal), they are re-parented and keep running, each
holding its memory. :func:`exit_with_parent` is a pool *initializer* that prevents this::

    import multiprocessing, os
    from concurrent.futures import ProcessPoolExecutor
    from agents._workers import exit_with_parent

    ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn"),
                        initializer=exit_with_parent, initargs=(os.getpid(),))

It works for ``multiprocessing.Pool(initializer=..., initargs=...)`` and for a
``multiprocessing.Process`` that calls it first thing, too.

How
---
* Linux: ``prctl(PR_SET_PDEATHSIG, SIGTERM)`` (through ``ctypes``) asks the kernel to send SIGTERM
  to the worker the moment its parent dies, even in the middle of a compiled (numba, BLAS) call.
  The parent may already have died before the request was made, so the worker then compares
  ``os.getppid()`` with the expected parent and exits at once if they differ.
* Elsewhere, or if ``prctl`` is unavailable: a daemon watchdog thread polls ``os.getppid()`` and
  ends the process (``os._exit``) as soon as the parent has changed.

Caveat: on Linux the parent-death signal fires when the *thread* that started the worker exits.
Start pools from a thread that outlives them (the main thread, as every pool in this project does).
"""
from __future__ import annotations

import os
import signal
import sys
import threading

__all__ = ["exit_with_parent"]

_PR_SET_PDEATHSIG = 1
_WATCHDOG_STARTED = False


def _expected_parent(parent_pid):
    if parent_pid is not None:
        return int(parent_pid)
    try:  # a multiprocessing child knows its parent's pid even if the parent has died since
        import multiprocessing

        parent = multiprocessing.parent_process()
        if parent is not None and parent.pid is not None:
            return int(parent.pid)
    except Exception:  # noqa: BLE001 - fall back to the current parent
        pass
    return os.getppid()


def _set_pdeathsig(sig) -> bool:
    """Ask the Linux kernel to send ``sig`` to this process when its parent dies; ``False`` if unavailable."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0
    except (OSError, AttributeError, TypeError):
        return False


def _watchdog(parent: int, poll: float) -> None:
    import time

    while True:
        if os.getppid() != parent:
            os._exit(128 + signal.SIGTERM)
        time.sleep(poll)


def exit_with_parent(parent_pid: int | None = None, poll: float = 0.5, prctl: bool = True) -> str:
    """Make this (worker) process end when its parent process dies.

    Meant as the ``initializer`` of a process pool (``initargs=(os.getpid(),)`` from the parent).

    Parameters
    ----------
    parent_pid : int, optional
        The pid of the parent that must stay alive. Default: ``multiprocessing.parent_process()``'s
        pid in a multiprocessing child, else the current ``os.getppid()``.
    poll : float
        Seconds between two checks of the watchdog thread (used only where ``prctl`` is not).
    prctl : bool
        Try Linux's ``prctl(PR_SET_PDEATHSIG, SIGTERM)`` first (default). ``False`` forces the
        watchdog thread (for tests and odd platforms).

    Returns
    -------
    str
        ``"prctl"`` or ``"watchdog"``: which mechanism guards this process. If the parent is
        already gone, the process ends instead of returning.
    """
    global _WATCHDOG_STARTED
    if not (isinstance(poll, (int, float)) and 0 < poll <= 60):
        raise ValueError(f"poll must be a number of seconds in (0, 60], got {poll!r}")
    parent = _expected_parent(parent_pid)
    how = "prctl" if prctl and _set_pdeathsig(signal.SIGTERM) else "watchdog"
    # The parent may have died before the kernel was asked: the worker was re-parented already.
    if os.getppid() != parent:
        os._exit(128 + signal.SIGTERM)
    if how == "watchdog" and not _WATCHDOG_STARTED:
        threading.Thread(target=_watchdog, args=(parent, float(poll)), name="exit-with-parent",
                         daemon=True).start()
        _WATCHDOG_STARTED = True
    return how

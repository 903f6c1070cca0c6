"""The executor now lives in :mod:`agents._parallel` (shared with ``equilibria``); re-exported here."""
from agents._parallel import Executor, single_thread_blas  # noqa: F401

__all__ = ["Executor", "single_thread_blas"]

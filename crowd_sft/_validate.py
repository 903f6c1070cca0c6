"""The one place where ``crowd_sft`` checks its scalar arguments.

Every check raises ``ValueError`` naming the parameter and its valid range, the package's rule for
bad input (the command line turns it into one line on stderr and exit status 2). It depends on
nothing inside ``crowd_sft``, so every layer can use it.
"""
from __future__ import annotations

import math
from numbers import Integral

__all__ = ["check_int", "check_positive", "check_choice", "check_probability", "check_seed", "check_out_dir",
           "check_scheduler", "MAX_ROUNDS",
           "MAX_RUNS", "MAX_KERNEL_SAMPLES", "MAX_EVALUATIONS"]


def check_int(value, name: str, low: int, high: int | None = None) -> int:
    """``int(value)`` if it is an integer in ``[low, high]`` (``high=None``: no upper bound).

    Examples
    --------
    >>> check_int(3, "n_groups", 2, 5)
    3
    >>> check_int(1, "n_groups", 2)
    Traceback (most recent call last):
    ...
    ValueError: n_groups must be an integer >= 2; got 1
    """
    rng = f">= {low}" if high is None else f"in [{low}, {high}]"
    if isinstance(value, bool) or not isinstance(value, Integral):  # numpy integers are Integral
        raise ValueError(f"{name} must be an integer {rng}; got {value!r}")
    v = int(value)
    if v < low or (high is not None and v > high):
        raise ValueError(f"{name} must be an integer {rng}; got {v}")
    return v


def check_positive(value, name: str) -> float:
    """``float(value)`` if it is a positive finite number."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a positive finite number; got {value!r}") from None
    if not (x > 0.0) or not math.isfinite(x):
        raise ValueError(f"{name} must be a positive finite number; got {value!r}")
    return x


def check_probability(value, name: str, *, include_one: bool = False) -> float:
    """``float(value)`` if it is in ``[0, 1)`` (``[0, 1]`` with ``include_one``)."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        x = float("nan")
    ok = 0.0 <= x <= 1.0 if include_one else 0.0 <= x < 1.0
    if not ok:
        raise ValueError(f"{name} must be in [0, 1{']' if include_one else ')'}; got {value!r}")
    return x


def check_choice(value, options, name: str) -> int:
    """Index of ``value`` in ``options``; ``ValueError`` listing the options otherwise."""
    try:
        return tuple(options).index(value)
    except ValueError:
        raise ValueError(f"{name} must be one of {', '.join(map(str, options))}; got {value!r}") from None


# Sizes the machine can do in reasonable time and memory; errors state the limit.
MAX_ROUNDS = 100_000            # a run pre-draws rounds x (n + 3) uniforms (~0.5 GB at n = 609)
MAX_RUNS = 100_000              # runs per setting
MAX_KERNEL_SAMPLES = 10_000_000  # KernelSHAP nsamples (the design holds ~4 x nsamples draws)
MAX_EVALUATIONS = 20_000_000    # unique coalition evaluations of one Monte Carlo estimate (hash set ~0.5 GB)
MAX_SEED = 2**128 - 1


def check_seed(value, name: str = "seed", *, allow_objects: bool = True):
    """A seed: a non-negative integer (< 2**128), or -- with ``allow_objects`` -- ``None``, a
    ``numpy.random.SeedSequence`` or a ``numpy.random.Generator``. Returns it unchanged (an int as ``int``).

    Examples
    --------
    >>> check_seed(7)
    7
    >>> check_seed(-1)
    Traceback (most recent call last):
    ...
    ValueError: seed must be a non-negative integer (or None, a SeedSequence or a Generator); got -1
    """
    if allow_objects and value is not None and not isinstance(value, Integral):
        import numpy as np

        if isinstance(value, (np.random.SeedSequence, np.random.Generator)):
            return value
    if allow_objects and value is None:
        return value
    if isinstance(value, Integral) and not isinstance(value, bool) and 0 <= int(value) <= MAX_SEED:
        return int(value)
    what = "a non-negative integer" + (" (or None, a SeedSequence or a Generator)" if allow_objects else
                                       " <= 2**128 - 1")
    raise ValueError(f"{name} must be {what}; got {value!r}")


def check_out_dir(path, name: str = "out_dir") -> str:
    """An output directory that exists and is writable, or can be created; nothing is created here.

    Checked before any work, so that a long computation never fails at the end on its output path.
    """
    import os

    if path is None or (isinstance(path, str) and not path):
        raise ValueError(f"{name} must be a directory path; got {path!r}")
    path = os.fspath(path)
    if os.path.exists(path):
        if not os.path.isdir(path):
            raise ValueError(f"{name} must be a directory, but {path!r} is a file")
        if not os.access(path, os.W_OK | os.X_OK):
            raise ValueError(f"{name} {path!r} is not writable")
        return path
    parent = os.path.abspath(path)
    while not os.path.exists(parent):
        up = os.path.dirname(parent)
        if up == parent:
            break
        parent = up
    if not os.path.isdir(parent):
        raise ValueError(f"{name} {path!r} cannot be created: {parent!r} is a file")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"{name} {path!r} cannot be created: {parent!r} is not writable")
    return path


# one definition, shared with the executor (agents._parallel, used by crowd_sft and equilibria)
from agents._parallel import check_scheduler  # noqa: E402,F401

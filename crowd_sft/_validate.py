"""The one place where ``crowd_sft`` checks its scalar arguments.

Every check raises ``ValueError`` naming the parameter and its valid range, the package's rule for
bad input (the command line turns it into one line on stderr and exit status 2). It depends on
nothing inside ``crowd_sft``, so every layer can use it.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["check_int", "check_positive", "check_choice", "check_probability"]


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
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
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

"""Argument checks shared by the public API.

Every check raises ``ValueError`` whose message names the parameter and its valid range,
so that a CLI can print it as a one-line error.
"""
from __future__ import annotations

import math
import numbers


def check_real(name: str, value, *, low=None, high=None, low_open=False, high_open=False) -> float:
    """Return ``value`` as a finite float inside the stated interval, else raise ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):   # numpy scalars register as numbers.Real
        raise ValueError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    lo_br = "(" if low_open else "["
    hi_br = ")" if high_open else "]"
    rng = f"{lo_br}{'-inf' if low is None else low}, {'inf' if high is None else high}{hi_br}"
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite and in {rng}, got {value!r}")
    if low is not None and (value < low or (low_open and value == low)):
        raise ValueError(f"{name} must be in {rng}, got {value!r}")
    if high is not None and (value > high or (high_open and value == high)):
        raise ValueError(f"{name} must be in {rng}, got {value!r}")
    return value


def check_int(name: str, value, *, low=None, high=None) -> int:
    """Return ``value`` as an int inside ``[low, high]``, else raise ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if (not isinstance(value, bool) and isinstance(value, numbers.Real) and math.isfinite(float(value))
                and float(value).is_integer()):
            value = int(value)
        else:
            raise ValueError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    rng = f"[{'-inf' if low is None else low}, {'inf' if high is None else high}]"
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{name} must be an integer in {rng}, got {value}")
    return value


def check_choice(name: str, value, choices) -> str:
    """Return ``value`` if it is one of ``choices`` (case-insensitive strings), else raise."""
    if isinstance(value, str):
        key = value.strip().lower()
        for c in choices:
            if key == c.lower():
                return c
    raise ValueError(f"{name} must be one of {{{', '.join(choices)}}}, got {value!r}")


MAX_EFFORT = 1e300
"""Largest accepted effort: beyond about ``1e17`` every report is already deterministic in double precision
(the payments equal their infinite-effort limits), and efforts near ``1.8e308`` overflow intermediate results."""


def check_effort(name: str, value) -> float:
    """An effort (precision) ``0 <= w <= 1e300``."""
    return check_real(name, value, low=0.0, high=MAX_EFFORT)


def check_seed(name: str, value):
    """A seed: ``None`` (fresh entropy), a non-negative integer, or a ``numpy.random.SeedSequence``."""
    import numpy as np

    if value is None or isinstance(value, np.random.SeedSequence):
        return value
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or int(value) < 0:
        raise ValueError(f"{name} must be a non-negative integer (or None, or a numpy SeedSequence), got {value!r}")
    return int(value)


MAX_AGENTS = 2000
"""Largest population: the exact engines tabulate per-agent efforts (BSST's table is N x N)."""
MAX_MC_REPORTS = 10 ** 10
"""Largest Monte Carlo workload in simulated reports (trials x agents x item pairs): minutes of work."""
MAX_REPORT_ARRAY = 2 * 10 ** 9
"""Largest array of simulated reports returned at once (int8 elements: 2 GB)."""


def check_mc_work(name: str, samples: int, n_agents: int, n_pairs: int, limit: int = MAX_MC_REPORTS) -> None:
    """Refuse a Monte Carlo request the machine cannot do in reasonable time or memory, naming the limit."""
    reports = int(samples) * int(n_agents) * int(n_pairs)
    if reports > limit:
        raise ValueError(f"{name} must keep {name} x n_agents x n_pairs <= {limit:.0e} simulated reports, got "
                         f"{int(samples)} x {int(n_agents)} x {int(n_pairs)} = {reports:.3g}")

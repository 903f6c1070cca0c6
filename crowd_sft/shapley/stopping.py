"""Composable stopping criteria for the Monte Carlo estimators (pyDVL style).

Criteria are small callables on an :class:`EstimatorState`; combine them with ``|`` (stop when
either says stop), ``&`` (stop when both do) and ``~`` (negation)::

    stop = MaxEvaluations(10_000) | StandardErrorBelow(1e-3)
    stop = (StandardErrorBelow(1e-3) & RankStable(patience=3)) | MaxTime(60)

The estimator checks the criterion after every round of work; the hard budget
``max_evaluations`` given to :func:`~crowd_sft.shapley.monte_carlo_shapley` is additionally
enforced *before* work is scheduled, so it is never exceeded.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._result import check_int, check_positive

__all__ = ["EstimatorState", "StoppingCriterion", "MaxEvaluations", "MaxSamples", "MaxTime",
           "StandardErrorBelow", "RankStable", "NeverStop", "hard_evaluation_limit"]


@dataclass
class EstimatorState:
    """What a criterion sees after each round."""

    values: np.ndarray
    stderr: np.ndarray
    evaluations: int
    n_samples: int
    seconds: float
    rounds: int
    min_count: int  # smallest number of samples behind any player's estimate (summed over strata)


class StoppingCriterion:
    """Base class. Subclasses implement ``_check(state) -> bool``; ``converges`` tells whether
    stopping by this criterion means "accurate enough" (True) or "out of budget" (False)."""

    converges = False
    _last: bool | None = None

    def __call__(self, state: EstimatorState) -> bool:
        self._last = bool(self._check(state))
        return self._last

    def _check(self, state: EstimatorState) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def reset(self) -> None:
        """Forget internal history (called at the start of every estimation)."""
        self._last = None

    def fired(self, state: EstimatorState) -> list["StoppingCriterion"]:
        """The leaf criteria that said stop at the last call (for reporting).

        Uses the verdict of the last ``__call__`` instead of asking again, so that stateful criteria
        (:class:`RankStable`) advance their history exactly once per round, however they are combined.
        """
        if self._last is None:
            self(state)
        return [self] if self._last else []

    def __or__(self, other: "StoppingCriterion") -> "StoppingCriterion":
        return _Or(self, _check_crit(other))

    def __and__(self, other: "StoppingCriterion") -> "StoppingCriterion":
        return _And(self, _check_crit(other))

    def __invert__(self) -> "StoppingCriterion":
        return _Not(self)


def _check_crit(x):
    if not isinstance(x, StoppingCriterion):
        raise ValueError(f"stop criteria combine only with StoppingCriterion objects, got {type(x).__name__}")
    return x


class _Or(StoppingCriterion):
    def __init__(self, a, b):
        self.a, self.b = a, b
        self.converges = a.converges or b.converges

    def __call__(self, state):
        ra = self.a(state)  # evaluate both so stateful criteria keep their history current
        rb = self.b(state)
        self._last = ra or rb
        return self._last

    def reset(self):
        self._last = None
        self.a.reset()
        self.b.reset()

    def fired(self, state):
        return self.a.fired(state) + self.b.fired(state)

    def __repr__(self):
        return f"({self.a!r} | {self.b!r})"


class _And(StoppingCriterion):
    def __init__(self, a, b):
        self.a, self.b = a, b
        self.converges = a.converges and b.converges

    def __call__(self, state):
        ra = self.a(state)
        rb = self.b(state)
        self._last = ra and rb
        return self._last

    def reset(self):
        self._last = None
        self.a.reset()
        self.b.reset()

    def fired(self, state):
        fa, fb = self.a.fired(state), self.b.fired(state)
        return fa + fb if (fa and fb) else []

    def __repr__(self):
        return f"({self.a!r} & {self.b!r})"


class _Not(StoppingCriterion):
    def __init__(self, a):
        self.a = a

    def __call__(self, state):
        self._last = not self.a(state)  # the inner criterion is asked once per round
        return self._last

    def reset(self):
        self._last = None
        self.a.reset()

    def fired(self, state):
        if self._last is None:
            self(state)
        return [self] if self._last else []

    def __repr__(self):
        return f"~{self.a!r}"


class NeverStop(StoppingCriterion):
    """Never stops (use with a hard budget)."""

    def _check(self, state):
        return False

    def __repr__(self):
        return "NeverStop()"


class MaxEvaluations(StoppingCriterion):
    """Stop once ``evaluations >= n`` unique coalition evaluations were used."""

    def __init__(self, n: int):
        self.n = check_int(n, "max_evaluations", 1)

    def _check(self, state):
        return state.evaluations >= self.n

    def __repr__(self):
        return f"MaxEvaluations({self.n})"


class MaxSamples(StoppingCriterion):
    """Stop once ``n_samples >= n`` (antithetic pairs / permutations / per-stratum draws)."""

    def __init__(self, n: int):
        self.n = check_int(n, "max_samples", 1)

    def _check(self, state):
        return state.n_samples >= self.n

    def __repr__(self):
        return f"MaxSamples({self.n})"


class MaxTime(StoppingCriterion):
    """Stop after ``seconds`` of wall time (results then depend on machine speed)."""

    def __init__(self, seconds: float):
        self.seconds = check_positive(seconds, "seconds")

    def _check(self, state):
        return state.seconds >= self.seconds

    def __repr__(self):
        return f"MaxTime({self.seconds})"


class StandardErrorBelow(StoppingCriterion):
    """Stop when every player's standard error is ``<= atol + rtol * |value|``.

    Parameters
    ----------
    atol : float
        Absolute target standard error per player.
    rtol : float
        Relative part of the target.
    min_samples : int
        Do not trust a standard error estimated from fewer samples (default 30).
    """

    converges = True

    def __init__(self, atol: float, rtol: float = 0.0, min_samples: int = 30):
        self.atol = check_positive(atol, "target_se")
        if not (rtol >= 0.0):
            raise ValueError(f"rtol must be >= 0, got {rtol!r}")
        self.rtol = float(rtol)
        self.min_samples = check_int(min_samples, "min_samples", 2)

    def _check(self, state):
        if state.min_count < self.min_samples:
            return False
        return bool(np.all(state.stderr <= self.atol + self.rtol * np.abs(state.values)))

    def __repr__(self):
        return f"StandardErrorBelow({self.atol}, rtol={self.rtol})"


class RankStable(StoppingCriterion):
    """Stop when the ranking of the players is stable.

    Stops once the Spearman correlation between the current estimate and the estimate at the
    previous check is ``>= threshold`` for ``patience`` consecutive checks (with ``threshold=1``
    the ranking must not change at all).
    """

    converges = True

    def __init__(self, threshold: float = 1.0, patience: int = 3, min_samples: int = 30):
        if not (0.0 < threshold <= 1.0):
            raise ValueError(f"threshold must be in (0, 1], got {threshold!r}")
        self.threshold = float(threshold)
        self.patience = check_int(patience, "patience", 1)
        self.min_samples = check_int(min_samples, "min_samples", 1)
        self.reset()

    def reset(self):
        self._prev = None
        self._streak = 0
        self._last = None

    def __call__(self, state):
        ranks = np.argsort(np.argsort(-state.values, kind="stable"), kind="stable").astype(float)
        prev, self._prev = self._prev, ranks
        if prev is None or state.min_count < self.min_samples:
            self._streak = 0
            self._last = False
            return False
        if ranks.size < 2:
            rho = 1.0
        else:
            a, b = ranks - ranks.mean(), prev - prev.mean()
            rho = float(a @ b / np.sqrt((a @ a) * (b @ b)))
        self._streak = self._streak + 1 if rho >= self.threshold - 1e-15 else 0
        self._last = self._streak >= self.patience
        return self._last

    def __repr__(self):
        return f"RankStable(threshold={self.threshold}, patience={self.patience})"


def hard_evaluation_limit(crit: StoppingCriterion | None) -> int | None:
    """Smallest ``MaxEvaluations(n)`` that stops on its own (reachable from the root through ``|``
    only); the estimators then enforce it as a hard budget, never exceeded."""
    if crit is None:
        return None
    if isinstance(crit, MaxEvaluations):
        return crit.n
    if isinstance(crit, _Or):
        limits = [x for x in (hard_evaluation_limit(crit.a), hard_evaluation_limit(crit.b)) if x is not None]
        return min(limits) if limits else None
    return None

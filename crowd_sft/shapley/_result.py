"""The Shapley result object and the seed helper (validation: :mod:`crowd_sft._validate`)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._progress import ProgressBar
from .._validate import check_int as _check_int
from .._validate import check_positive as _check_positive


@dataclass
class ShapleyResult:
    """Shapley values with their uncertainty and cost.

    Attributes
    ----------
    values : numpy.ndarray
        ``(n,)`` estimated (or exact) Shapley values, player order.
    stderr : numpy.ndarray or None
        ``(n,)`` standard errors of ``values`` (``None`` for exact / closed-form results).
    evaluations : int
        Number of *unique* coalition values the estimator asked the game for (exact: ``2**n``;
        closed form: 0 games evaluated beyond the ``n`` per-player terms it needs).
    seconds : float
        Wall time of the call.
    method : str
        ``"exact"``, ``"closed"``, ``"mc"`` or ``"kernel"``.
    n_samples : int
        Samples behind the estimate (antithetic pairs, permutations, stratum draws, coalitions).
    calls : int
        Coalition values computed including repeats (``>= evaluations`` on cache-less fast paths).
    converged : bool or None
        Whether the accuracy criterion (not the budget) stopped the estimator.
    stop_reason : str
        Human readable reason for stopping.
    info : dict
        Estimator-specific details (sampler, seed entropy, chunking, ...).
    dof : numpy.ndarray or None
        Degrees of freedom of each standard error (Welch-Satterthwaite for stratified sampling);
        :meth:`interval` then uses Student-t quantiles, which keeps small-sample intervals honest.
    """

    values: np.ndarray
    stderr: np.ndarray | None
    evaluations: int
    seconds: float
    method: str
    n_samples: int = 0
    calls: int = 0
    converged: bool | None = None
    stop_reason: str = ""
    info: dict = field(default_factory=dict)
    dof: np.ndarray | None = None

    def interval(self, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        """Confidence interval ``values -/+ q * stderr`` (exact results: zero width).

        ``q`` is the Student-t quantile with :attr:`dof` degrees of freedom when known, else normal.
        Monte Carlo intervals need ``info["interval_min_samples"]`` samples per player (the marginal
        contributions are heavy-tailed, so fewer samples under-estimate the standard error and the
        intervals under-cover); below that this raises ``ValueError`` with the budget needed
        (``tests/crowd_sft/test_crowd_coverage.py`` checks the coverage from that minimum up).
        """
        if not 0.0 < level < 1.0:
            raise ValueError(f"level must be in (0, 1), got {level!r}")
        need = self.info.get("interval_min_samples")
        have = self.info.get("min_samples_per_player")
        if need is not None and have is not None and have < need:
            budget = self.info.get("interval_min_evaluations")
            raise ValueError(f"max_evaluations too small for a confidence interval: {self.info.get('sampler')} "
                             f"sampling needs {need} samples per player (max_evaluations >= {budget} here), "
                             f"this estimate has {have}")
        from scipy.stats import norm, t

        if self.dof is not None:
            z = t.ppf(0.5 + level / 2.0, np.maximum(np.asarray(self.dof, dtype=float), 1.0))
        else:
            z = float(norm.ppf(0.5 + level / 2.0))
        se = np.zeros_like(self.values) if self.stderr is None else self.stderr
        return self.values - z * se, self.values + z * se

    def ranking(self) -> np.ndarray:
        """Players ordered from largest to smallest value."""
        return np.argsort(-self.values, kind="stable")

    def to_dict(self) -> dict:
        """JSON-friendly dict."""
        return {
            "method": self.method,
            "values": [float(x) for x in self.values],
            "stderr": None if self.stderr is None else [float(x) for x in self.stderr],
            "evaluations": int(self.evaluations),
            "calls": int(self.calls),
            "n_samples": int(self.n_samples),
            "seconds": float(self.seconds),
            "converged": self.converged,
            "stop_reason": self.stop_reason,
        }


# validation lives in crowd_sft._validate (one validator module); re-exported for old imports
check_int = _check_int
check_positive = _check_positive


def seed_sequence(seed) -> np.random.SeedSequence:
    """A *fresh* SeedSequence from ``seed`` (int, SeedSequence, Generator or None).

    A SeedSequence argument is copied (not spawned from), so passing the same object twice gives
    the same stream.
    """
    if isinstance(seed, np.random.SeedSequence):
        return np.random.SeedSequence(seed.entropy, spawn_key=seed.spawn_key, pool_size=seed.pool_size)
    if isinstance(seed, np.random.Generator):
        return np.random.SeedSequence(int(seed.integers(0, 2**63 - 1)))
    if seed is None or (isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0):
        return np.random.SeedSequence(None if seed is None else int(seed))
    raise ValueError(f"seed must be a non-negative integer (or None, a SeedSequence or a Generator); got {seed!r}")


def Progress(label: str, total: float, enabled: bool | None = None) -> ProgressBar:
    """The package progress bar (:class:`crowd_sft._progress.ProgressBar`) counting evaluations;
    call ``bar.set(done, extra)``."""
    return ProgressBar(int(max(total, 1)), label, enabled=enabled)

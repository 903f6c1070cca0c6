"""The principal's utility, eq. (3): faithfulness of pairwise-majority aggregation to the true order."""
from __future__ import annotations

import math
from dataclasses import dataclass
from math import comb

import numpy as np

from agents import ReportSampler, as_prior, pair_index
from agents._validation import check_choice, check_int
from agents.strategies import Profile, as_strategy

from .exact import principal_accuracy, principal_accuracy_extended


@dataclass(frozen=True)
class PrincipalResult:
    """Expected aggregation accuracy.

    Attributes
    ----------
    accuracy : float
        Expected fraction of pairs whose majority report matches ``sgn(theta_a - theta_b)``.
    expected_correct_pairs : float
        ``accuracy * C(m, 2)`` (eq. 3 up to its proportionality constant).
    method : str
    stderr : float or None
    """

    accuracy: float
    expected_correct_pairs: float
    method: str
    stderr: float | None = None


def principal_utility(strategies, n_items=3, prior="normal", method="exact", samples=100_000, seed=None):
    """Expected faithfulness of the majority-aggregated reports (paper eq. 3).

    Parameters
    ----------
    strategies : sequence of Strategy (or (effort, report)), length N >= 3, or a Profile
    n_items : int
    prior : prior spec
    method : {'exact', 'mc'}
    samples, seed : Monte Carlo options

    Notes
    -----
    The aggregated report of canonical pair ``(a, b)`` is ``+1`` iff a strict majority reports ``a > b``
    (the paper: "-1 otherwise", so ties go to ``-1``).  Under an i.i.d. prior this has the same expected
    accuracy as giving ties half credit; the exact method uses that identity and the Monte Carlo method
    applies the literal tie rule, so the tests cross-check both.  Strategies with a convention probability
    ``q > 0`` (spec section 4) break that symmetry: the exact method then integrates both signs of
    ``theta_a - theta_b`` with the literal tie rule.
    """
    if isinstance(strategies, Profile):
        strats = [strategies.own, *strategies.peers]
    else:
        strats = [as_strategy(s) for s in strategies]
    eps = np.array([s.signed_effort for s in strats], dtype=float)
    qs = np.array([s.convention_prob for s in strats], dtype=float)
    extended = bool(np.any(qs > 0.0))
    check_int("n_agents", eps.size, low=3)
    n_items = check_int("n_items", n_items, low=2)
    method = check_choice("method", method, ("exact", "mc"))
    prior = as_prior(prior)
    P = comb(n_items, 2)
    if method == "exact":
        acc = principal_accuracy_extended(prior, eps, qs) if extended else principal_accuracy(prior, eps)
        return PrincipalResult(acc, acc * P, "exact")
    samples = check_int("samples", samples, low=2)
    sim = ReportSampler(eps, n_items, prior=prior, seed=seed,
                        convention_probs=qs if extended else None).draw(samples)
    pa, pb = pair_index(n_items)
    plus = (sim.reports > 0).sum(axis=1)                       # (trials, pairs)
    agg = np.where(2 * plus > eps.size, 1, -1)
    truth = np.sign(sim.theta[:, pa] - sim.theta[:, pb])
    per_trial = (agg == truth).mean(axis=1)
    acc = float(per_trial.mean())
    se = float(per_trial.std(ddof=1) / math.sqrt(samples))
    return PrincipalResult(acc, acc * P, "mc", se)

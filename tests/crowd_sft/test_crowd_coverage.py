"""Honest Monte Carlo Shapley intervals (issue 13, item 5): from the smallest budget at which
:meth:`ShapleyResult.interval` gives an interval, the 95 % intervals cover the true values within
2 points of nominal, for every sampler; below it the interval is refused with the budget needed.

Truth: exact enumeration (published L2/L1 games, n = 12 and 16) and the closed form (dot game,
n = 40). Seeded, so the coverage figures are fixed numbers; each cell pools 3 games x 16 instances
(1,088 intervals, binomial standard error about 0.7 points).
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from crowd_sft.games import PublishedGame
from crowd_sft.shapley import closed_form_shapley, exact_shapley, monte_carlo_shapley
from crowd_sft.shapley.montecarlo import INTERVAL_MIN_SAMPLES, interval_min_evaluations
from crowd_sft.tournament import make_instance

REPS = 16


@pytest.fixture(scope="module")
def games():
    out = []
    for n, ev in ((12, "l2"), (40, "dot"), (16, "l1")):
        for r in range(REPS):
            inst = make_instance(n, 1000 + r)
            g = PublishedGame(inst.users, inst.expert, ev)
            out.append((r, g, closed_form_shapley(g).values if ev == "dot" else exact_shapley(g).values))
    return out


@pytest.mark.parametrize("sampler", sorted(INTERVAL_MIN_SAMPLES))
@pytest.mark.parametrize("mult", [1, 3])
def test_interval_coverage_within_two_points_from_the_minimum_budget(games, sampler, mult):
    hits = total = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for r, g, truth in games:
            budget = mult * interval_min_evaluations(sampler, g.n_players)
            res = monte_carlo_shapley(g, seed=r, max_evaluations=budget, sampler=sampler, exact_when_complete=False)
            lo, hi = res.interval(0.95)
            hits += int(np.sum((lo <= truth) & (truth <= hi)))
            total += g.n_players
    cover = hits / total
    assert 0.93 <= cover <= 0.97, f"{sampler} x{mult}: coverage {cover:.3f} of {total} intervals"


@pytest.mark.parametrize("sampler", sorted(INTERVAL_MIN_SAMPLES))
def test_interval_refused_below_the_minimum_with_the_budget(sampler):
    inst = make_instance(12, 0)
    g = PublishedGame(inst.users, inst.expert, "l2")
    res = monte_carlo_shapley(g, seed=0, max_evaluations=interval_min_evaluations(sampler, 12) // 4, sampler=sampler,
                              exact_when_complete=False)
    assert np.all(np.isfinite(res.values))
    with pytest.raises(ValueError, match=f"max_evaluations >= {interval_min_evaluations(sampler, 12)}"):
        res.interval(0.95)

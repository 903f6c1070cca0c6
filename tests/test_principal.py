"""The principal's utility (paper eq. 3): accuracy of pairwise-majority aggregation.

The exact method uses the half-credit identity for ties, the Monte Carlo method the literal tie rule
(a tie aggregates to -1); both must agree, including for even N where ties occur.
"""
from __future__ import annotations

import warnings
from math import comb

import numpy as np
import pytest
from scipy import integrate, stats

from agents import NormalPrior, Profile, Strategy, UniformPrior
from mechanisms import principal_utility

CASES = [
    ([(1.0, "h")] * 3, 3),
    ([(2.0, "h"), (0.5, "dishonest"), (1.0, "h"), (0.0, "h")], 4),          # even N: ties
    ([(0.7, "h")] * 4, 3),
    ([(3.0, "h"), (3.0, "dishonest"), (1.0, "h"), (0.2, "h"), (5.0, "h")], 5),
    ([(1.5, "h"), (1.5, "h"), (0.1, "dishonest"), (4.0, "h"), (0.0, "h"), (2.0, "h")], 4),   # N = 6
]


@pytest.mark.parametrize("prior", ["normal", "uniform"])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_exact_agrees_with_monte_carlo(case, prior):
    strategies, m = CASES[case]
    ex = principal_utility(strategies, n_items=m, prior=prior)
    mc = principal_utility(strategies, n_items=m, prior=prior, method="mc", samples=40_000, seed=case)
    assert ex.method == "exact" and ex.stderr is None
    assert mc.method == "mc" and mc.stderr > 0
    assert abs(ex.accuracy - mc.accuracy) < 4 * mc.stderr
    assert ex.expected_correct_pairs == pytest.approx(ex.accuracy * comb(m, 2))


def _majority_accuracy_quad(prior, eps):
    """Independent: integrate Pr(strict majority right) + Pr(tie)/2 over the difference density with quad."""
    eps = np.asarray(eps, dtype=float)
    N = eps.size

    def h(d):
        # probability mass of K = number of agents reporting the true order at |Delta| = d, by brute force
        p = 1.0 / (1.0 + np.exp(-eps * d))
        dist = np.array([1.0])
        for q in p:
            dist = np.convolve(dist, [1 - q, q])
        k = np.arange(N + 1)
        return dist[2 * k > N].sum() + 0.5 * dist[2 * k == N].sum()

    L = 30.0 if isinstance(prior, NormalPrior) else prior.high - prior.low
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        return 2 * integrate.quad(lambda d: prior.difference_pdf(d) * h(d), 0.0, L, epsabs=0, epsrel=1e-13,
                                  limit=400)[0]


@pytest.mark.parametrize("prior", [NormalPrior(), UniformPrior()], ids=repr)
@pytest.mark.parametrize("eps", [[1.0, 1.0, 1.0], [2.0, -0.5, 1.0, 0.0], [15.0, -3.0, 7.0, 0.5, 20.0]])
def test_exact_against_quad(prior, eps):
    strategies = [Strategy.from_signed(e) for e in eps]
    assert principal_utility(strategies, prior=prior).accuracy == pytest.approx(
        _majority_accuracy_quad(prior, eps), rel=1e-10)


@pytest.mark.parametrize("prior", ["normal", "uniform"])
@pytest.mark.parametrize("N", [3, 4, 5, 6])
def test_zero_effort_and_flip_symmetry(prior, N):
    zero = principal_utility([(0.0, "h")] * N, prior=prior)
    assert zero.accuracy == pytest.approx(0.5, abs=1e-13)
    honest = principal_utility([(2.0, "h")] * N, prior=prior).accuracy
    dishonest = principal_utility([(2.0, "dishonest")] * N, prior=prior).accuracy
    assert honest > 0.5
    assert dishonest == pytest.approx(1.0 - honest, abs=1e-13)


def test_more_effort_more_accuracy_and_limit():
    accs = [principal_utility([(w, "h")] * 3, prior="normal").accuracy for w in (0.0, 0.5, 2.0, 10.0, 200.0)]
    assert accs == sorted(accs)
    assert accs[-1] > 0.99


def test_even_n_tie_rule_literal_mc_and_seeds():
    """With two opposing informed agents and uninformed others, ties are frequent; the literal tie rule
    (ties -> -1) still averages to the half-credit value under an i.i.d. prior."""
    strategies = [(5.0, "h"), (5.0, "dishonest"), (0.0, "h"), (0.0, "h")]
    mc = principal_utility(strategies, n_items=4, method="mc", samples=40_000, seed=11)
    assert abs(mc.accuracy - 0.5) < 4 * mc.stderr
    a = principal_utility(strategies, n_items=3, method="mc", samples=2_000, seed=5)
    b = principal_utility(strategies, n_items=3, method="mc", samples=2_000, seed=5)
    assert a == b


def test_accepts_profile_and_strategies():
    prof = Profile.symmetric(Strategy(1.0), Strategy(2.0, "dishonest"), 3)
    a = principal_utility(prof)
    b = principal_utility([Strategy(1.0), (2.0, "dishonest"), Strategy(2.0, "dishonest")])
    assert a.accuracy == pytest.approx(b.accuracy, rel=1e-15)


def test_scipy_prior_principal():
    d = stats.expon()
    ex = principal_utility([(1.0, "h")] * 3, prior=d)
    mc = principal_utility([(1.0, "h")] * 3, prior=d, method="mc", samples=40_000, seed=2)
    assert abs(ex.accuracy - mc.accuracy) < 4 * mc.stderr


@pytest.mark.parametrize("kwargs, param", [
    (dict(strategies=[(1.0, "h")] * 2), "n_agents"),
    (dict(strategies=[(1.0, "h")] * 3, n_items=1), "n_items"),
    (dict(strategies=[(1.0, "h")] * 3, method="bayes"), "method"),
    (dict(strategies=[(1.0, "h")] * 3, method="mc", samples=1), "samples"),
    (dict(strategies=[(1.0, "h")] * 3, prior="cauchy"), "prior"),
    (dict(strategies=[(-1.0, "h")] * 3), "effort"),
])
def test_validation(kwargs, param):
    with pytest.raises(ValueError, match=param):
        principal_utility(**kwargs)

"""CustomMechanism: user payment functions in the simulator, Monte Carlo, the exact engine (via a statistics
table) and the equilibrium solver (via common-random-numbers Monte Carlo expectations)."""
import doctest

import numpy as np
import pytest
from numba import njit

import mechanisms.custom

from agents import Strategy, simulate_reports
from equilibria import Game, best_response, check_uei, symmetric_equilibria
from mechanisms import APA, PPA, StatisticRule
from mechanisms.custom import CustomMechanism


def agreement(reports):
    """PPA (eq. 6, z = 1) as a numpy function."""
    R = reports.astype(np.float64)
    return ((R.shape[1] - 2 + R * R.sum(axis=1, keepdims=True)) / 2).sum(axis=2)


@njit(cache=True)
def agreement_numba(reports):
    T, N, P = reports.shape
    out = np.zeros((T, N))
    for t in range(T):
        for i in range(N):
            s = 0.0
            for j in range(N):
                if j != i:
                    for p in range(P):
                        if reports[t, i, p] == reports[t, j, p]:
                            s += 1.0
            out[t, i] = s
    return out


def test_docstring_examples_run():
    res = doctest.testmod(mechanisms.custom, verbose=False)
    assert res.attempted >= 10 and res.failed == 0


@pytest.mark.parametrize("fn", [agreement, agreement_numba], ids=["numpy", "numba"])
@pytest.mark.parametrize("m", [2, 3, 4, 5])
def test_payments_match_ppa(fn, m):
    R = simulate_reports([1.0, -0.5, 2.0, 0.0], m, 50, seed=m).reports
    mech = CustomMechanism(fn, name="my-ppa", min_items=2)
    np.testing.assert_array_equal(mech.payments(R), PPA(1.0).payments(R))
    np.testing.assert_array_equal(mech.payments(R[0]), PPA(1.0).payments(R[0]))
    np.testing.assert_allclose(mech.scaled(2.5).payments(R), PPA(2.5).payments(R), rtol=1e-15)


def test_monte_carlo_is_the_simulator_bit_for_bit():
    mine = CustomMechanism(agreement, name="my-ppa")
    a = mine.expected_payment(Strategy(1.0), Strategy(0.5), n_agents=4, n_items=4, method="mc", samples=5000,
                              seed=7)
    b = PPA().expected_payment(Strategy(1.0), Strategy(0.5), n_agents=4, n_items=4, method="mc", samples=5000,
                               seed=7)
    assert a.expected_payment == b.expected_payment and a.stderr == b.stderr and a.mechanism == "my-ppa"


def test_output_is_validated():
    R = simulate_reports([1.0, 1.0, 1.0], 3, 4, seed=0).reports
    with pytest.raises(ValueError, match=r"must return shape \(n_trials, n_agents\) = \(4, 3\), got \(4,\)"):
        CustomMechanism(lambda r: np.zeros(r.shape[0]), name="bad").payments(R)
    with pytest.raises(ValueError, match="must return finite payments, got nan at trial 0, agent 1"):
        CustomMechanism(lambda r: np.where(np.arange(3) == 1, np.nan, 1.0) * np.ones((r.shape[0], 1)),
                        name="bad").payments(R)
    with pytest.raises(ValueError, match="must return a float array"):
        CustomMechanism(lambda r: "x", name="bad").payments(R)
    with pytest.raises(ValueError, match="payment_fn of 'bad' failed .*ZeroDivisionError"):
        CustomMechanism(lambda r: 1 / 0, name="bad").payments(R)
    with pytest.raises(ValueError, match="read-only"):   # reports handed to the rule are read-only
        def writes(r):
            r[0, 0, 0] = 1
            return np.zeros(r.shape[:2])
        CustomMechanism(writes, name="bad").payments(R)


def test_constructor_is_validated():
    with pytest.raises(ValueError, match="payment_fn must be callable"):
        CustomMechanism(3, name="x")
    with pytest.raises(ValueError, match="name must be a non-empty string"):
        CustomMechanism(agreement, name="")
    with pytest.raises(ValueError, match="min_items must be an integer in"):
        CustomMechanism(agreement, name="x", min_items=1)
    with pytest.raises(ValueError, match="statistics must be a mechanisms.StatisticRule"):
        CustomMechanism(agreement, name="x", statistics=PPA())
    with pytest.raises(ValueError, match="statistics: the StatisticRule table"):
        CustomMechanism(agreement, name="x", statistics=StatisticRule(pair=[0, 0, 0, 1]))
    with pytest.raises(ValueError, match="n_items must be >= 3"):
        CustomMechanism(agreement, name="x").payments(np.ones((3, 1), dtype=np.int8))


def test_exact_without_expectations_says_what_to_do():
    mine = CustomMechanism(agreement, name="my-ppa")
    with pytest.raises(ValueError, match=r"use method='mc'.*statistics=StatisticRule"):
        mine.expected_payment(Strategy(1.0), Strategy(1.0), n_agents=3, n_items=3)
    with pytest.raises(ValueError, match="method='mc'"):
        Game(mine, "quadratic:0.1").utility(Strategy(1.0), Strategy(1.0))


def test_statistics_table_gives_exact_expectations_and_equilibria():
    mine = CustomMechanism(agreement, name="my-ppa", statistics=StatisticRule(pair=[0, 0, 1, 1]))
    eps = [1.0, 0.5, -0.3, 2.0]
    for m in (3, 4):
        assert mine.exact(eps, m) == pytest.approx(PPA().exact(eps, m), rel=1e-11)
    g0, g1 = Game(PPA(), "quadratic:0.1", 3, 3), Game(mine, "quadratic:0.1", 3, 3)
    b0, b1 = best_response(g0, Strategy(1.0)), best_response(g1, Strategy(1.0))
    assert b1.effort == pytest.approx(b0.effort, abs=1e-6) and b1.utility == pytest.approx(b0.utility, rel=1e-10)
    e0, e1 = symmetric_equilibria(g0), symmetric_equilibria(g1)
    assert [(round(e.effort, 5), e.report) for e in e0] == [(round(e.effort, 5), e.report) for e in e1]
    assert mine.max_payment(3, 3) == PPA().max_payment(3, 3)


def test_max_payment_estimate_without_table():
    mine = CustomMechanism(agreement, name="my-ppa")
    assert mine.max_payment(4, 4) == PPA().max_payment(4, 4)      # the all-agree probe reaches the bound
    assert CustomMechanism(agreement, name="x", max_payment=lambda n, m: 99.0).max_payment(3, 3) == 99.0


# ---- common-random-numbers Monte Carlo expectations ---------------------------------------------------
MC = CustomMechanism(agreement, name="my-ppa").with_monte_carlo_expectations(20_000, seed=1)


def test_mc_expectations_are_unbiased_deterministic_and_smooth():
    for eps, m in (([1.0, 0.5, 0.5], 3), ([-1.0, 2.0, 0.0, 1.0], 4)):
        est, se = MC.exact(eps, m), MC.expectation_stderr(eps, m)
        assert 0 < se < 0.02 * est
        assert abs(est - PPA().exact(eps, m)) < 4 * se
        assert MC.exact(eps, m) == est                                   # common random numbers
    other = CustomMechanism(agreement, name="my-ppa").with_monte_carlo_expectations(20_000, seed=2)
    assert other.exact([1.0, 0.5, 0.5], 3) != MC.exact([1.0, 0.5, 0.5], 3)
    w = np.linspace(0.0, 3.0, 301)
    curve = MC.payment_curve(w, [1.0, 1.0], 3)
    assert np.all(np.diff(curve) > 0)                                   # smooth, monotone like PPA's
    assert np.max(np.abs(np.diff(curve, 2))) < 1e-3
    res = MC.expected_payment(Strategy(1.0), Strategy(0.5), n_agents=3, n_items=3)
    assert res.method == "exact" and res.extra["approximate"] and res.stderr > 0
    assert MC.scaled(2.0).exact([1.0, 0.5, 0.5], 3) == pytest.approx(2.0 * MC.exact([1.0, 0.5, 0.5], 3))


def test_mc_expectations_validation():
    with pytest.raises(ValueError, match="seed must be"):
        CustomMechanism(agreement, name="x").with_monte_carlo_expectations(1000, seed=None)
    with pytest.raises(ValueError, match="samples must be an integer in"):
        CustomMechanism(agreement, name="x").with_monte_carlo_expectations(10, seed=0)
    with pytest.raises(ValueError, match="n_items must be <= 5"):
        MC.exact([1.0, 1.0, 1.0], 6)


@pytest.mark.parametrize("peer", [0.5, 1.0, 2.0])
def test_best_response_on_custom_ppa_agrees_with_ppa_within_mc_error(peer):
    g_mc = Game(MC, "quadratic:0.1", n_agents=3, n_items=3)
    g_ex = Game(PPA(), "quadratic:0.1", n_agents=3, n_items=3)
    b_mc, b_ex = best_response(g_mc, Strategy(peer)), best_response(g_ex, Strategy(peer))
    assert b_mc.report == b_ex.report == "honest"
    # if the estimate is within eps of the truth everywhere, its argmax loses at most 2 eps of true utility
    eps = 4 * MC.expectation_stderr([b_ex.effort, peer, peer], 3)
    loss = b_ex.utility - g_ex.utility(Strategy(b_mc.effort), Strategy(peer))
    assert 0 <= loss <= 2 * eps
    assert abs(b_mc.utility - b_ex.utility) <= eps
    assert b_mc.effort == pytest.approx(b_ex.effort, abs=0.05)


def test_uei_on_mc_expectations_of_a_custom_apa_like_rule():
    # APA with 3cycle coherence for m = 3 written as a function: agreement on pairs i reports coherently
    def apa3(reports):
        R = reports.astype(np.float64)
        cyc = (R[:, :, 0] == R[:, :, 2]) & (R[:, :, 1] != R[:, :, 0])   # pairs (0,1),(0,2),(1,2): a 3-cycle
        agree = (R.shape[1] - 2 + R * R.sum(axis=1, keepdims=True)) / 2
        return np.where(cyc[:, :, None], 0.0, agree).sum(axis=2)
    R = simulate_reports([1.0, -0.5, 2.0, 0.0], 3, 200, seed=4).reports
    np.testing.assert_array_equal(CustomMechanism(apa3, name="apa3").payments(R), APA().payments(R))
    mine = CustomMechanism(apa3, name="apa3").with_monte_carlo_expectations(20_000, seed=0)
    v = check_uei(Game(mine, "quadratic:0.1", 3, 3))
    v0 = check_uei(Game(APA(), "quadratic:0.1", 3, 3))
    assert v.holds is True and v0.holds is True
    assert v.margin == pytest.approx(v0.margin, abs=4 * mine.expectation_stderr([1.0, 0.0, 0.0], 3) + 0.02)


def test_assert_uei_does_not_trust_monte_carlo_noise():
    from mechanisms.testing import assert_uei
    noisy = CustomMechanism(agreement, name="my-ppa").with_monte_carlo_expectations(4000, seed=0)
    v = check_uei(Game(noisy, "quadratic:0.1", 3, 3))
    se = noisy.expectation_stderr([v.evidence["best_response"]["effort"], 0.0, 0.0], 3)
    assert 0 < v.margin < 4 * se          # the estimate's noise fakes a tiny gain (the truth: none)
    assert_uei(noisy, "quadratic:0.1", holds=False)
    with pytest.raises(AssertionError, match="Monte Carlo expectations: s.e.|undetermined"):
        assert_uei(noisy, "quadratic:0.1", holds=True)

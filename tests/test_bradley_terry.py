"""The Bradley-Terry-effort simulator (paper Def. 4.1, eqs. 2 and 4; spec section 1).

Statistical checks use fixed seeds (so they are deterministic) and thresholds far in the tails
(p < 1e-4, or 4-5 standard errors).
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from agents import (ReportSampler, mean_report, pair_index, pair_lookup, report_probability, sigmoid,
                    simulate_reports)


# --------------------------------------------------------------------------------------------
# elementary functions
# --------------------------------------------------------------------------------------------

def test_sigmoid_and_mean_report():
    u = np.linspace(-30, 30, 601)
    # 0.5 (1 + tanh(u/2)) is accurate in absolute terms (not relative in the far lower tail)
    np.testing.assert_allclose(sigmoid(u), 1.0 / (1.0 + np.exp(-u)), rtol=1e-14, atol=1e-16)
    np.testing.assert_allclose(mean_report(u), 2.0 * sigmoid(u) - 1.0, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(sigmoid(u) + sigmoid(-u), 1.0, rtol=1e-15)
    with np.errstate(over="raise"):           # overflow-safe
        assert sigmoid(-1e6) == 0.0 and sigmoid(1e6) == 1.0
    assert sigmoid(0.0) == 0.5


def test_report_probability():
    assert report_probability(2.0, 1.0, 0.5) == pytest.approx(1 / (1 + np.exp(-1.0)))
    assert report_probability(-2.0, 1.0, 0.5) == pytest.approx(1 / (1 + np.exp(1.0)))
    assert report_probability(0.0, 3.0, -1.0) == 0.5


@pytest.mark.parametrize("m", [2, 3, 4, 5, 7])
def test_pair_index_and_lookup(m):
    pa, pb = pair_index(m)
    expected = [(a, b) for a in range(m) for b in range(a + 1, m)]
    assert list(zip(pa.tolist(), pb.tolist())) == expected
    table = pair_lookup(m)
    for k, (a, b) in enumerate(expected):
        assert table[a, b] == k + 1 and table[b, a] == -(k + 1)
    assert np.all(np.diag(table) == 0)
    assert not pa.flags.writeable and not table.flags.writeable


# --------------------------------------------------------------------------------------------
# zero effort: fair coins independent of theta
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("prior", ["normal", "uniform"])
def test_zero_effort_reports_are_fair_coins_independent_of_theta(prior):
    sim = simulate_reports([0.0, 0.0, 0.0, 0.0], 4, 20_000, prior=prior, seed=11)
    R = sim.reports
    n_plus = int((R > 0).sum())
    assert stats.binomtest(n_plus, R.size, 0.5).pvalue > 1e-4
    # per agent and pair as well
    for x in range(R.shape[1]):
        for p in range(R.shape[2]):
            assert stats.binomtest(int((R[:, x, p] > 0).sum()), R.shape[0], 0.5).pvalue > 1e-5
    # independence of theta: report vs sign of Delta (2x2 contingency) and vs |Delta| quartile
    pa, pb = sim.pairs
    D = sim.theta[:, pa] - sim.theta[:, pb]
    Dx = np.broadcast_to(D[:, None, :], R.shape).ravel()
    plus = R.ravel() > 0
    table = np.array([[np.sum(plus & (Dx > 0)), np.sum(~plus & (Dx > 0))],
                      [np.sum(plus & (Dx <= 0)), np.sum(~plus & (Dx <= 0))]])
    assert stats.chi2_contingency(table).pvalue > 1e-4
    q = np.digitize(Dx, np.quantile(Dx, [0.1, 0.3, 0.5, 0.7, 0.9]))
    table = np.array([[np.sum(plus & (q == k)), np.sum(~plus & (q == k))] for k in range(6)])
    assert stats.chi2_contingency(table).pvalue > 1e-4
    # and agents are mutually independent: agreement rate of two agents is 1/2
    agree = int((R[:, 0] == R[:, 1]).sum())
    assert stats.binomtest(agree, R[:, 0].size, 0.5).pvalue > 1e-4


@pytest.mark.parametrize("prior", ["normal", "uniform"])
@pytest.mark.parametrize("eps", [0.7, -2.0, 5.0])
def test_frequency_of_plus_one_matches_sigmoid_binned_by_delta(prior, eps):
    """Pr(R(a,b) = +1 | theta) = sigmoid(eps * (theta_a - theta_b)) (spec section 1)."""
    sim = simulate_reports([eps, eps, 0.3], 5, 8_000, prior=prior, seed=5)
    pa, pb = sim.pairs
    D = (sim.theta[:, pa] - sim.theta[:, pb]).ravel()
    R = sim.reports[:, :2, :].transpose(1, 0, 2).reshape(2, -1)     # the two agents with effort eps
    edges = np.quantile(D, np.linspace(0, 1, 21))
    bins = np.clip(np.digitize(D, edges[1:-1]), 0, 19)
    worst = 0.0
    for k in range(20):
        sel = bins == k
        freq = (R[:, sel] > 0).mean()
        p = sigmoid(eps * D[sel])
        expect = p.mean()
        se = np.sqrt((p * (1 - p)).sum() * 2) / (2 * sel.sum())   # two independent agents per cell
        worst = max(worst, abs(freq - expect) / max(se, 1e-12))
    assert worst < 4.5
    # the binned relationship is monotone in the right direction
    lo, hi = bins == 0, bins == 19
    if eps > 0:
        assert (R[:, hi] > 0).mean() > (R[:, lo] > 0).mean()
    else:
        assert (R[:, hi] > 0).mean() < (R[:, lo] > 0).mean()


def test_dishonest_agent_reports_reverse_order_with_large_effort():
    sim = simulate_reports([40.0, -40.0, 40.0], 4, 2_000, seed=2)
    pa, pb = sim.pairs
    truth = np.sign(sim.theta[:, pa] - sim.theta[:, pb])
    assert (sim.reports[:, 0] == truth).mean() > 0.97
    assert (sim.reports[:, 1] == -truth).mean() > 0.97


# --------------------------------------------------------------------------------------------
# reproducibility
# --------------------------------------------------------------------------------------------

def test_same_seed_bit_identical_and_different_seed_differs():
    a = simulate_reports([1.0, 0.5, -0.2, 0.0], 5, 500, seed=123)
    b = simulate_reports([1.0, 0.5, -0.2, 0.0], 5, 500, seed=123)
    c = simulate_reports([1.0, 0.5, -0.2, 0.0], 5, 500, seed=124)
    assert a.reports.dtype == np.int8 and a.reports.shape == (500, 4, 10)
    np.testing.assert_array_equal(a.reports, b.reports)
    assert a.theta.tobytes() == b.theta.tobytes()
    assert not np.array_equal(a.reports, c.reports)
    assert not np.array_equal(a.theta, c.theta)
    ss = np.random.SeedSequence(123)
    d = simulate_reports([1.0, 0.5, -0.2, 0.0], 5, 500, seed=ss)
    np.testing.assert_array_equal(a.reports, d.reports)


@settings(max_examples=25)
@given(chunks=st.lists(st.integers(1, 40), min_size=1, max_size=6),
       prior=st.sampled_from(["normal", "uniform"]), seed=st.integers(0, 2**32 - 1))
def test_chunked_draws_equal_one_big_draw(chunks, prior, seed):
    eps = [1.3, -0.4, 0.0, 2.0]
    total = sum(chunks)
    big = ReportSampler(eps, 4, prior=prior, seed=seed).draw(total)
    s = ReportSampler(eps, 4, prior=prior, seed=seed)
    parts = [s.draw(k) for k in chunks]
    np.testing.assert_array_equal(np.concatenate([p.reports for p in parts]), big.reports)
    np.testing.assert_array_equal(np.concatenate([p.theta for p in parts]), big.theta)


def test_scipy_prior_sampler_is_reproducible_and_chunk_stable():
    eps = [1.0, 1.0, 1.0]
    d = stats.t(5)
    big = ReportSampler(eps, 3, prior=d, seed=9).draw(30)
    s = ReportSampler(eps, 3, prior=d, seed=9)
    parts = [s.draw(10), s.draw(20)]
    np.testing.assert_array_equal(np.concatenate([p.theta for p in parts]), big.theta)
    np.testing.assert_array_equal(np.concatenate([p.reports for p in parts]), big.reports)


def test_sampler_validation():
    with pytest.raises(ValueError, match="signed_efforts"):
        ReportSampler([1.0, np.nan, 1.0], 3)
    with pytest.raises(ValueError, match="signed_efforts"):
        ReportSampler([1.0, np.inf, 1.0], 3)
    with pytest.raises(ValueError, match="signed_efforts"):
        ReportSampler([], 3)
    with pytest.raises(ValueError, match="n_items"):
        ReportSampler([1.0, 1.0, 1.0], 1)
    with pytest.raises(ValueError, match="n_trials"):
        ReportSampler([1.0, 1.0, 1.0], 3).draw(0)
    with pytest.raises(ValueError, match="prior"):
        ReportSampler([1.0, 1.0, 1.0], 3, prior="cauchy")


# --- extended strategies: per-pair Bernoulli(q) convention (issue 12, spec section 4) ---------------------
def test_convention_draws():
    eps = [1.0, -0.5, 0.0, 2.0]
    base = simulate_reports(eps, 4, 4000, seed=11)
    sim = simulate_reports(eps, 4, 4000, seed=11, convention_probs=[0.0, 0.3, 1.0, 0.6])
    assert np.array_equal(sim.theta, base.theta)
    assert np.array_equal(sim.reports[:, 0], base.reports[:, 0])
    assert np.all(sim.reports[:, 2] == 1)
    # where the observation said -1, the report is +1 exactly when the convention was drawn: rate q
    for x, q in ((1, 0.3), (3, 0.6)):
        neg = base.reports[:, x] == -1
        rate = float(np.mean(sim.reports[:, x][neg] == 1))
        assert abs(rate - q) < 4 * np.sqrt(q * (1 - q) / neg.sum())
        assert np.all(sim.reports[:, x][~neg] == 1)


@pytest.mark.parametrize("chunks", [[1, 999], [500, 500], [7, 13, 980]])
def test_convention_draws_chunk_stable(chunks):
    q = [0.5, 0.0, 0.25]
    whole = simulate_reports([1.0, 2.0, -1.0], 5, 1000, seed=2, convention_probs=q).reports
    s = ReportSampler([1.0, 2.0, -1.0], 5, seed=2, convention_probs=q)
    parts = np.concatenate([s.draw(c).reports for c in chunks])
    assert np.array_equal(parts, whole)


@pytest.mark.parametrize("q", [[0.0, 0.5], [0.0, 1.5, 0.0], [np.nan, 0, 0], [-0.1, 0, 0]])
def test_bad_convention_probs(q):
    with pytest.raises(ValueError, match="convention_probs"):
        simulate_reports([1.0, 1.0, 1.0], 3, 5, seed=0, convention_probs=q)

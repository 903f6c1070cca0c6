"""StatisticRule (payment tables over report statistics) and the DG13 / CA baselines."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents import simulate_reports
from mechanisms import APA, BSST, PPA
from mechanisms.baselines import CA, DG13
from mechanisms.statistics import StatisticRule, statistic_features


@pytest.mark.parametrize("m", [3, 4, 5])
def test_statistic_rule_reproduces_ppa_apa_bsst(m):
    R = simulate_reports([0.5, 1.0, -1.0, 0.3, 2.0], m, 200, seed=m).reports
    eps = [1.0, 0.5, -0.3, 2.0]
    for mech, rule in ((PPA(1.3), StatisticRule(pair=[0, 0, 1.3, 1.3])),
                       (APA(0.7), StatisticRule(pair=[0, 0, 0, 0.7])),
                       (BSST(1.0, 0.3), StatisticRule(triple=[0, 0.3, 0.3, 1.0]))):
        np.testing.assert_allclose(rule.payments(R), mech.payments(R), rtol=1e-12)
        assert rule.exact(eps, m) == pytest.approx(mech.exact(eps, m), rel=1e-11)


@settings(max_examples=25, deadline=None)
@given(own=st.floats(-4, 4), peer=st.floats(-4, 4), m=st.integers(3, 5), n=st.integers(3, 5))
def test_features_are_expected_counts(own, peer, m, n):
    f = statistic_features([own], [peer] * (n - 1), m)[0]
    P = m * (m - 1) // 2
    assert np.all(f >= -1e-12)
    assert f[:4].sum() == pytest.approx(P * (n - 1), rel=1e-12)
    assert f[4:].sum() == pytest.approx(P * (m - 2) * (n - 1) * (n - 2), rel=1e-12)


@pytest.mark.parametrize("prior", ["normal", "uniform"])
def test_general_table_exact_matches_monte_carlo(prior):
    rule = StatisticRule(pair=[0.1, 0.2, 0.3, 0.4], triple=[0.05, 0.1, 0.2, 0.3])
    peers = [(0.5, "honest"), (0.3, "dishonest"), (2.0, "honest")]
    ex = rule.expected_payment((1.0, "honest"), peers, n_items=4, prior=prior)
    mc = rule.expected_payment((1.0, "honest"), peers, n_items=4, prior=prior, method="mc", samples=60_000,
                               seed=5)
    assert abs(ex.expected_payment - mc.expected_payment) < 4 * mc.stderr


def test_statistic_rule_rejects_negative_entries():
    with pytest.raises(ValueError, match="pair"):
        StatisticRule(pair=[0, -1, 0, 1])


@pytest.mark.parametrize("mech", [DG13(), CA()], ids=lambda m: m.name)
@pytest.mark.parametrize("prior", ["normal", "uniform"])
def test_baselines_exact_vs_monte_carlo_and_limited_liability(mech, prior):
    for eps, m in (([1.0, 1.0, 1.0], 3), ([2.0, -0.5, 1.0, 0.3], 4), ([0.0, 1.0, 1.0], 4)):
        ex = mech.exact(eps, m, prior)
        mean, se = mech.monte_carlo(eps, m, prior, samples=30_000, seed=2)
        assert abs(ex - mean) < 4 * se
    R = simulate_reports([1.0, -2.0, 0.0, 3.0], 4, 300, seed=1).reports
    assert mech.payments(R).min() >= 0.0
    assert mech.payments(R).max() <= mech.max_payment(4, 4)


def test_baselines_reward_only_correlation_beyond_chance():
    # uninformed everybody: agreement on the bonus pair equals chance agreement, so every term pays z
    for mech in (DG13(2.0), CA(2.0)):
        assert mech.exact([0.0, 0.0, 0.0], 4) == pytest.approx(2.0 * 6 * 2, rel=1e-12)
        # informed honest peers: honest effort earns more than uninformed
        assert mech.exact([2.0, 2.0, 2.0], 4) > mech.exact([0.0, 2.0, 2.0], 4)

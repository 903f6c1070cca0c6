"""mechanisms.testing: the docstring's worked example runs, the helpers pass on every rule of the package
and FAIL on deliberately broken rules, and the hypothesis strategies generate valid objects."""
import doctest

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mechanisms.testing as mt
from agents import Cost, Profile, Prior, simulate_reports
from mechanisms import APA, PPA, Mechanism, StatisticRule
from mechanisms.custom import CustomMechanism
from mechanisms.testing import (assert_anonymous, assert_exact_matches_monte_carlo, assert_flip_invariant,
                                assert_limited_liability, assert_uei, costs, mechanisms, priors, profiles,
                                report_arrays, strategies_)


def floor_agreement(reports):
    """The worked example's rule: 1 per agreement, 0.2 per disagreement."""
    R = reports.astype(np.float64)
    N, P = R.shape[1], R.shape[2]
    agree = ((N - 2 + R * R.sum(axis=1, keepdims=True)) / 2).sum(axis=2)
    return agree + 0.2 * ((N - 1) * P - agree)


RULE = CustomMechanism(floor_agreement, name="floor-agreement", statistics=StatisticRule(pair=[0.2, 0.2, 1, 1]))
R4 = simulate_reports([1.0, 0.5, -0.3, 2.0], n_items=4, n_trials=200, seed=0).reports


def test_worked_example_in_module_docstring_runs():
    res = doctest.testmod(mt, optionflags=doctest.ELLIPSIS, verbose=False)
    assert res.attempted >= 15
    assert res.failed == 0


@settings(max_examples=40, deadline=None)
@given(mech=mechanisms(include_custom=True), reports=report_arrays())
def test_helpers_pass_on_every_rule(mech, reports):
    assert_limited_liability(mech, reports)
    assert_flip_invariant(mech, reports)
    assert_anonymous(mech, reports)


@settings(max_examples=8, deadline=None)
@given(mech=mechanisms(include_custom=True).filter(lambda m: not (isinstance(m, CustomMechanism)
                                                                   and m.statistics is None)),
       profile=profiles(n_agents=st.integers(3, 4), max_effort=3.0))
def test_exact_matches_monte_carlo_on_every_rule(mech, profile):
    assert_exact_matches_monte_carlo(mech, profile, n_items=3, samples=20_000, seed=1)


# ---- the helpers must FAIL on broken rules -----------------------------------------------------------
def test_limited_liability_fails_on_negative_payments():
    broken = CustomMechanism(lambda R: floor_agreement(R) - 6.0, name="minus-six")
    with pytest.raises(AssertionError, match=r"minus-six: limited liability violated .* trial \d+, agent \d+"):
        assert_limited_liability(broken, R4)
    assert_limited_liability(broken, R4, atol=6.0)      # the slack is honoured


def test_flip_invariance_fails_on_a_rule_that_pays_for_plus_reports():
    broken = CustomMechanism(lambda R: (R == 1).sum(axis=2).astype(float), name="says-yes")
    with pytest.raises(AssertionError, match="says-yes: payments change when every report"):
        assert_flip_invariant(broken, R4)


def test_anonymity_fails_on_a_rule_that_favours_agent_zero():
    def favour_first(R):
        out = floor_agreement(R)
        out[:, 0] *= 2.0
        return out
    with pytest.raises(AssertionError, match="favour-first: not anonymous"):
        assert_anonymous(CustomMechanism(favour_first, name="favour-first"), R4)


def test_anonymity_fails_on_a_rule_that_pays_by_the_next_agent():
    def next_agent(R):          # anonymous-looking but depends on agent order: agree with agent i+1 only
        Rf = R.astype(np.float64)
        return ((1 + Rf * np.roll(Rf, -1, axis=1)) / 2).sum(axis=2)
    with pytest.raises(AssertionError, match="not anonymous"):
        assert_anonymous(CustomMechanism(next_agent, name="next"), R4)


def test_exact_vs_monte_carlo_fails_on_a_wrong_table():
    with pytest.raises(ValueError, match="statistics: the StatisticRule table"):
        CustomMechanism(floor_agreement, name="wrong", statistics=StatisticRule(pair=[0, 0, 1, 1]))
    wrong = CustomMechanism(floor_agreement, name="wrong", statistics=StatisticRule(pair=[0, 0, 1, 1]),
                            check_statistics=False)
    with pytest.raises(AssertionError, match=r"wrong: exact E\[M_0\] = .* standard errors > n_sigma = 4"):
        assert_exact_matches_monte_carlo(wrong, [1.0, 0.5, -0.3], n_items=3, samples=20_000)


def test_exact_vs_monte_carlo_fails_on_a_small_bias():
    class Biased(PPA):            # exact engine off by 0.3 % of the payment
        name = "biased-ppa"

        def _exact_payment(self, *a):
            return 1.003 * super()._exact_payment(*a)
    assert_exact_matches_monte_carlo(PPA(), [1.0, 1.0, 1.0], n_items=4, samples=200_000)
    with pytest.raises(AssertionError, match="biased-ppa"):
        assert_exact_matches_monte_carlo(Biased(), [1.0, 1.0, 1.0], n_items=4, samples=200_000)


def test_uei_helper_both_ways():
    assert_uei(APA(), "quadratic:0.1", holds=True)
    with pytest.raises(AssertionError, match="expected UEI to fail but it holds"):
        assert_uei(APA(), "quadratic:0.1", holds=False)
    assert_uei(PPA(), "quadratic:0.1", holds=False)
    with pytest.raises(AssertionError, match=r"ppa: expected UEI to hold but it fails.*effort 0 "):
        assert_uei(PPA(), "quadratic:0.1", holds=True)


def test_helpers_reject_bad_input():
    with pytest.raises(ValueError, match="mechanism must be"):
        assert_limited_liability("ppa", R4)
    with pytest.raises(ValueError, match="reports must have shape"):
        assert_flip_invariant(PPA(), np.ones(6, dtype=np.int8))
    with pytest.raises(ValueError, match="permutations must be"):
        assert_anonymous(PPA(), R4, permutations=[[0, 0, 1, 2]])
    with pytest.raises(ValueError, match="holds must be True or False"):
        assert_uei(PPA(), "linear:1", holds=None)
    with pytest.raises(ValueError, match="n_agents must be an integer >= 3"):
        report_arrays(n_agents=2)


def test_two_dimensional_reports_and_simulated_reports_are_accepted():
    sim = simulate_reports([1.0, 0.5, 2.0, 0.0, -1.0], n_items=3, n_trials=20, seed=3)
    assert_anonymous(RULE, sim)          # 5 agents: reversal, transposition, cycle and random permutations
    assert_flip_invariant(RULE, sim.reports[0])


# ---- the strategies -----------------------------------------------------------------------------------
@settings(max_examples=30, deadline=None)
@given(c=costs(), prior=priors(), s=strategies_(max_effort=2.0), prof=profiles(symmetric=True),
       R=report_arrays(n_agents=4, n_items=st.integers(2, 4), n_trials=2), mech=mechanisms())
def test_strategies_generate_valid_objects(c, prior, s, prof, R, mech):
    assert isinstance(c, Cost) and float(c(0.0)) == 0.0 and float(c(1.0)) < float(c(2.0))
    assert isinstance(prior, Prior)
    assert 0.0 <= s.effort <= 2.0
    assert isinstance(prof, Profile) and 3 <= prof.n_agents <= 5 and len(set(prof.peers)) == 1
    assert R.dtype == np.int8 and R.shape[:2] == (2, 4) and R.shape[2] in (1, 3, 6)
    assert set(np.unique(R)) <= {-1, 1}
    assert isinstance(mech, Mechanism)

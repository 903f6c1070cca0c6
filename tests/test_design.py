"""Automated mechanism design (cvxpy LP) and its off-grid verification."""
import numpy as np
import pytest

from equilibria.design import budget_curve, design_max_faithfulness, design_rule, scale_to_target
from mechanisms import PPA


def test_ppa_family_lp_returns_the_first_order_scale():
    # restricted to PPA's one-parameter family (no UEI: PPA cannot meet it), the LP must return the z
    # that makes w* the best response: the first-order condition z M1'(w*) = c'(w*)
    d = design_rule(2.0, "quadratic:0.1", n_agents=3, n_items=3, family="ppa", uei_margin=None,
                    baselines=False)
    z_foc = scale_to_target(PPA(), 2.0, "quadratic:0.1", n_agents=3, n_items=3, prior="normal",
                            w_max=5.0)["z"]
    assert d.feasible
    assert d.rule.pair[2] == pytest.approx(z_foc, rel=1e-3) and d.rule.pair[3] == d.rule.pair[2]
    assert d.verification["best_response"]["effort"] == pytest.approx(2.0, abs=1e-3)


def test_designed_rule_is_verified_off_grid_and_no_dearer_than_baselines():
    d = design_rule(2.0, "quadratic:0.1", n_agents=3, n_items=3)
    assert d.feasible and np.all(d.rule.vector >= 0)
    v = d.verification
    assert v["is_equilibrium"] and v["regret"] < 1e-6 and v["UEI"] is True
    reached = [b["expected_payment"] for b in d.baselines.values() if b["reaches_target"]]
    assert reached and d.expected_payment <= min(reached) * (1 + 1e-3)


def test_mixed_agent_types_satisfy_every_type():
    d = design_rule(1.5, ["quadratic:0.1", "linear:0.3"], n_agents=4, n_items=4, baselines=False)
    assert d.feasible
    assert all(t["regret"] < 1e-6 for t in d.verification.values())


def test_infeasible_targets_are_reported_not_crashed():
    d = design_rule(2.0, "quadratic:0.1", budget=0.01, baselines=False)
    assert not d.feasible and "infeasible" in d.status
    d = design_rule(2.0, "quadratic:0.1", family="ppa", uei_margin=1e-3, baselines=False)
    assert not d.feasible      # PPA's payment against zero-effort peers is flat: UEI is impossible


def test_bad_input():
    with pytest.raises(ValueError, match="target_effort"):
        design_rule(0.0)
    with pytest.raises(ValueError, match="family"):
        design_rule(1.0, family="nope")
    with pytest.raises(ValueError, match="budget"):
        design_rule(1.0, budget=-1.0)


def test_budget_curve_and_figure(tmp_path):
    rows = budget_curve([1.0, 2.0], "quadratic:0.1", n_agents=3, n_items=3, out_png=tmp_path / "b.png")
    assert (tmp_path / "b.png").stat().st_size > 1000
    for k, t in enumerate(rows["target"]):
        others = [rows[n][k] for n in ("PPA", "BSST", "APA", "DG13", "CA") if np.isfinite(rows[n][k])]
        assert rows["designed"][k] <= min(others) * (1 + 1e-3)


def test_max_faithfulness_under_a_budget_picks_the_largest_affordable_target():
    ref = design_rule(2.0, "quadratic:0.1", n_agents=3, n_items=3, verify=False, baselines=False,
                     n_deviations=41)
    d = design_max_faithfulness(ref.expected_payment * 1.0001, "quadratic:0.1", n_agents=3, n_items=3,
                                n_scan=5, xtol=0.01, verify=False, baselines=False, n_deviations=41)
    assert d.feasible and d.expected_payment <= ref.expected_payment * 1.0001
    assert d.target_effort == pytest.approx(2.0, abs=0.05 + 1e-9)
    # a larger budget buys a more faithful aggregation (its target, ~2.53, needs no 0.01 precision to beat 2)
    d2 = design_max_faithfulness(ref.expected_payment * 2, "quadratic:0.1", n_agents=3, n_items=3,
                                 n_scan=5, xtol=0.1, verify=False, baselines=False, n_deviations=41)
    assert d2.target_effort > d.target_effort and d2.principal_accuracy > d.principal_accuracy
    assert not design_max_faithfulness(1e-4, "quadratic:0.1", n_scan=3, verify=False, baselines=False,
                                      n_deviations=41).feasible

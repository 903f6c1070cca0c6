"""An infeasible design is reported as infeasible -- with cvxpy's status and the conflicting
constraints -- never as "optimal" (issue 13, item 3)."""
import pytest

from equilibria.design import design_rule


def test_mixed_types_with_different_marginal_costs_are_infeasible():
    # At an interior target the first-order condition needs M'(w*) = c_k'(w*) for every type k, and the
    # payment M is the same for all types: 2*0.1*1 = 0.2 != 0.4 = 2*0.2*1. (The LP alone used to return
    # "optimal" with a payment of ~2.6e5: its grid only brackets the first-order condition.)
    d = design_rule(1.0, ["quadratic:0.1", "quadratic:0.2"], verify=False, baselines=False)
    assert not d.feasible and d.status == "infeasible" and d.rule is None
    assert d.solver_status is None                      # refused before any LP
    assert "quadratic:0.1" in d.binding[0] and "quadratic:0.2" in d.binding[0] and "0.4" in d.binding[0]
    assert d.to_dict()["status"] == "infeasible"


def test_equal_marginal_costs_stay_feasible():
    # quadratic:0.1 and linear:0.3 have the same slope 0.3 at w* = 1.5: the pre-check must not refuse them
    d = design_rule(1.5, ["quadratic:0.1", "linear:0.3"], n_agents=3, n_items=3, verify=False, baselines=False)
    assert d.feasible and d.status in ("optimal", "optimal_inaccurate") and d.solver_status == d.status


@pytest.mark.parametrize("kw, culprit", [
    (dict(budget=0.01), "budget 0.01"),
    (dict(family="ppa", uei_margin=1e-3), "UEI margin"),
])
def test_infeasible_lp_names_the_conflicting_constraint(kw, culprit):
    d = design_rule(2.0, "quadratic:0.1", verify=False, baselines=False, **kw)
    assert not d.feasible and d.status == "infeasible" and d.solver_status == "infeasible"
    assert len(d.binding) == 1 and d.binding[0].startswith(culprit)
    assert "optimal" not in d.status


def test_feasible_design_lists_binding_best_response_constraints():
    d = design_rule(2.0, "quadratic:0.1", verify=False, baselines=False)
    assert d.feasible and d.status == "optimal"
    # the first-order condition binds: the deviation just next to the target, not the target itself
    assert any("best response" in b and "1.9998" in b for b in d.binding)
    assert not any("(2, honest)" in b for b in d.binding)

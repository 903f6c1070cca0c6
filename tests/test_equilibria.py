"""Equilibrium layer: best responses, symmetric equilibria, properties, thresholds (issue: main job)."""
import math

import numpy as np
import pytest

from agents import DISHONEST, HONEST, Strategy
from equilibria import (Game, apa_curvature, best_response, check_equilibrium, check_properties, check_uei,
                        symmetric_equilibria, uei_threshold)
from mechanisms import APA, BSST, PPA


def _brute_force_symmetric(game, efforts):
    """Symmetric pure equilibria of the discretised game, from the normal-form payoff table built with
    pointwise exact payments (Mechanism.exact), independently of the solver's tables."""
    strategies = [(w, HONEST) for w in efforts] + [(w, DISHONEST) for w in efforts if w > 0]
    eps = np.array([w if r == HONEST else -w for w, r in strategies])
    cost = game.cost_of(0)
    U = np.empty((eps.size, eps.size))
    for a, ea in enumerate(eps):            # own
        for b, eb in enumerate(eps):        # every peer
            U[a, b] = game.mechanism.exact(np.r_[ea, np.full(game.n_agents - 1, eb)], game.n_items,
                                           game.prior) - cost(abs(ea))
    return [strategies[b] for b in range(eps.size) if U[b, b] >= U[:, b].max() - 1e-12]


@pytest.mark.parametrize("mech,cost,w_max,step", [(PPA(), "quadratic:0.1", 5.0, 0.25),
                                                   (APA(), "quadratic:0.1", 4.0, 0.5),
                                                   (BSST(), "linear:0.5", 5.0, 0.25)])
def test_continuous_solver_matches_brute_force_normal_form(mech, cost, w_max, step):
    game = Game(mech, cost, n_agents=3, n_items=3, w_max=w_max)
    discrete = _brute_force_symmetric(game, np.arange(0.0, w_max + 1e-9, step))
    cont = symmetric_equilibria(game)
    assert cont.equilibria
    # every stable continuous equilibrium has a discrete equilibrium within one grid step (same report;
    # at zero effort the report is irrelevant and the discrete game has a single such strategy)
    for e in cont:
        if e.stable:
            assert any((r == e.report or w == 0) and abs(w - e.effort) <= step + 1e-9
                       for w, r in discrete), (e, discrete)
    # every discrete equilibrium lies within one grid step of a continuous one
    for w, r in discrete:
        assert any(abs(w - e.effort) <= step + 1e-9 and (w == 0 or e.report == r) for e in cont), (w, r, cont)


def test_zero_effort_peers_make_ppa_and_bsst_payment_constant():
    for mech in (PPA(), BSST()):
        own = np.linspace(-4, 4, 17)
        pay = mech.payment_curve(own, np.zeros(3), 4)
        np.testing.assert_allclose(pay, pay[0], rtol=1e-12)
    # but APA's is not: coherence pays
    pay = APA().payment_curve(np.linspace(0, 4, 9), np.zeros(3), 4)
    assert pay[-1] > pay[0] + 1e-3


def test_all_dishonest_mirrors_all_honest_with_equal_utility():
    for mech in (PPA(), BSST(), APA()):
        g = Game(mech, "quadratic:0.1", n_agents=4, n_items=4)
        for w in (0.5, 2.0):
            uh = g.utility(Strategy(w, HONEST), Strategy(w, HONEST))
            ud = g.utility(Strategy(w, DISHONEST), Strategy(w, DISHONEST))
            assert uh == pytest.approx(ud, rel=1e-12)


def test_dishonesty_pays_strictly_less_against_informed_honest_peers():
    for mech in (PPA(), BSST(), APA()):
        g = Game(mech, "linear:0.1", n_agents=4, n_items=4)
        for w, wp in ((0.5, 1.0), (2.0, 0.3), (3.0, 3.0)):
            assert g.payment(Strategy(w, DISHONEST), Strategy(wp, HONEST)) < \
                g.payment(Strategy(w, HONEST), Strategy(wp, HONEST)) - 1e-6


def test_best_response_is_global_on_a_fine_grid_and_reports_ties():
    g = Game(APA(), "sqrt:0.2", n_agents=3, n_items=3)
    peers = Strategy(1.0, HONEST)
    br = best_response(g, peers)
    fine = np.linspace(-g.domain, g.domain, 397)   # off the solver's own grid
    u = g.utility_curve(fine, np.full(2, 1.0))
    assert br.utility >= u.max() - 1e-9
    # against uninformed peers honest and dishonest tie (flip symmetry)
    br0 = best_response(Game(APA(), "quadratic:0.1", 4, 4), Strategy(0.0))
    assert br0.tied and {m.report for m in br0.maximisers} == {HONEST, DISHONEST}
    # the tie is exact (flip symmetry decides it, not arithmetic) and the documented rule reports honest
    assert br0.maximisers[0].utility == br0.maximisers[1].utility
    assert br0.report == HONEST


def test_heterogeneous_costs_give_per_agent_best_responses():
    g = Game(PPA(), ["quadratic:0.1", "quadratic:1.0", "quadratic:0.1"], n_agents=3, n_items=3)
    assert g.heterogeneous
    cheap = best_response(g, [Strategy(1.0), Strategy(1.0)], agent=0)
    dear = best_response(g, [Strategy(1.0), Strategy(1.0)], agent=1)
    assert cheap.effort > dear.effort > 0
    with pytest.raises(ValueError, match="homogeneous"):
        symmetric_equilibria(g)
    chk = check_equilibrium(g, [Strategy(1.0)] * 3)
    assert not chk.holds and len(chk.regrets) == 3


def test_symmetric_equilibria_are_certified_and_verified_by_check_equilibrium():
    g = Game(PPA(), "quadratic:0.1", n_agents=4, n_items=3)
    eqs = symmetric_equilibria(g)
    informed = [e for e in eqs if e.informed and e.report == HONEST]
    assert informed and all(e.regret <= 1e-7 for e in eqs)
    e = informed[0]
    assert check_equilibrium(g, [Strategy(e.effort)] * 4).holds
    assert not check_equilibrium(g, [Strategy(e.effort + 0.5)] * 4).holds
    mirrors = [m for m in eqs if m.mirror and m.effort == e.effort]
    assert mirrors and mirrors[0].utility == pytest.approx(e.utility, rel=1e-10)


def test_equilibria_are_computed_once_per_game_and_options_and_handed_out_as_copies(monkeypatch):
    from equilibria import symmetric as sym
    searches = []
    search = sym._symmetric_equilibria
    monkeypatch.setattr(sym, "_symmetric_equilibria", lambda *a: searches.append(a[1:]) or search(*a))
    g = Game(PPA(), "quadratic:0.1", n_agents=3, n_items=3)
    a = symmetric_equilibria(g)
    b = symmetric_equilibria(g)
    assert len(searches) == 1                                     # the second call computed nothing
    assert b is not a and b.to_dict() == a.to_dict()
    a.equilibria.clear()
    a.notes.append("changed by the caller")
    c = symmetric_equilibria(g)
    assert c.to_dict() == b.to_dict()                             # a caller's changes do not leak
    check_properties(g)                                           # asks for the same equilibria
    assert len(searches) == 1
    # other options, or another game object, are computed afresh
    d = symmetric_equilibria(g, tol=1e-6)
    assert len(searches) == 2 and d.tolerance == 1e-6 and b.tolerance == 1e-7
    e = symmetric_equilibria(Game(PPA(), "quadratic:0.1", n_agents=3, n_items=3))
    assert len(searches) == 3 and [x.to_dict() for x in e] == [x.to_dict() for x in b]


def test_property_verdicts_match_structure():
    ppa = check_properties(Game(PPA(), "quadratic:0.1", 4, 4))
    apa = check_properties(Game(APA(), "quadratic:0.1", 4, 4))
    assert ppa.UEI.holds is False          # zero-effort peers: PPA pays the same whatever i does
    assert apa.UEI.holds is True and apa.UEI.margin > 0
    for rep in (ppa, apa):
        assert rep.omega_BNIC.holds is True
        assert rep.omega_BNIC.evidence["mirror_ties"]
        assert "complementarity" in rep.EC.evidence
    # a cost so high that nothing is worth doing
    assert check_uei(Game(APA(), "quadratic:1000", 4, 4)).holds is False


@pytest.mark.parametrize("N,m", [(4, 4), (3, 3)])
def test_uei_threshold_root_matches_sympy_small_effort_expansion(N, m):
    th = uei_threshold(Game(APA(), "quadratic:0.1", N, m))
    assert th.sympy_z_over_k is not None
    assert th.z_over_k == pytest.approx(th.sympy_z_over_k, rel=2e-3)
    # verdicts on either side of the threshold
    for factor, expect in ((1.05, True), (0.9, False)):
        k = 1.0 / (th.z_over_k * factor)
        assert check_uei(Game(APA(), f"quadratic:{k}", N, m)).holds is expect


def test_apa_curvature_agrees_with_quadrature():
    # P_coh(w) ~ (3/4)^(m-2) + a Var w^2: compare the exact coherence probability at small w
    for m in (3, 4):
        a = float(apa_curvature(m))
        w = 0.02
        pay = APA().payment_curve([w], np.zeros(2), m)[0]
        p_coh = pay / (math.comb(m, 2) * 2 / 2)
        assert (p_coh - 0.75 ** (m - 2)) / w**2 == pytest.approx(a, rel=2e-3)


def test_bad_input_raises_value_error_naming_parameter():
    with pytest.raises(ValueError, match="w_max"):
        Game(APA(), "quadratic:0.1", w_max=0.0)
    with pytest.raises(ValueError, match="cost"):
        Game(APA(), "cubic:0.1")
    with pytest.raises(ValueError, match="tol"):
        best_response(Game(PPA()), Strategy(1.0), tol=0.0)
    with pytest.raises(ValueError, match="n_agents"):
        Game(PPA(), n_agents=2)


def test_omega_bnic_threshold_is_certified_on_both_sides():
    from equilibria import check_omega_bnic, omega_bnic_threshold
    game = Game(PPA(), "quadratic:0.1", n_agents=4, n_items=3)
    th = omega_bnic_threshold(game)
    assert 0 < th.z_over_k < math.inf
    # the local bifurcation is an infimum: it holds just above (an informed branch has left zero effort)
    # and fails below; exactly at it the enumeration is degenerate (F = F' = 0 at zero) and says so
    above = check_omega_bnic(game.with_cost(f"quadratic:{1 / (1.001 * th.z_over_k)}"))
    below = check_omega_bnic(game.with_cost(f"quadratic:{1 / (0.99 * th.z_over_k)}"))
    assert above.holds is True and below.holds is False
    at = check_omega_bnic(game.with_cost(f"quadratic:{1 / th.z_over_k}"))
    assert at.holds is not True


def test_equilibrium_just_below_a_grid_point_is_found():
    # regression: the fixed point 1.99989 sits just below the bracketing grid point 2.0, where the cheap
    # table's first-order condition has the wrong sign; exact re-bracketing must still find it
    eqs = symmetric_equilibria(Game(APA(0.9723015), "quadratic:0.1", 3, 3))
    honest = [e for e in eqs if e.informed and e.report == HONEST]
    assert len(honest) == 1 and honest[0].effort == pytest.approx(1.99989, abs=1e-5)


def test_ec_uses_the_best_response_and_refuses_vacuous_verdicts():
    from equilibria import check_ec
    # at a symmetric equilibrium, i's best response is the peers' effort (Def. 5.3's premise)
    v = check_ec(Game(PPA(), "quadratic:0.1", 4, 4))
    ev = v.evidence
    assert ev["base_effort"] == pytest.approx(ev["peer_effort"], abs=1e-5)
    assert v.holds is False and ev["fails_at"]          # the gain peaks inside the interval and falls
    assert ev["complementarity"]["holds"] is True
    # concave cost: the derived bound leaves room for Def. 5.3's interval (no arbitrary cap any more)
    concave = check_ec(Game(PPA(), "sqrt:0.2", 4, 4))
    assert concave.holds is not None and concave.evidence["base_effort"] > 5.0
    # with a user cap below the equilibrium the interval leaves [0, w_max]: undetermined, and it says so
    capped = check_ec(Game(PPA(), "sqrt:0.2", 4, 4, w_max=5.0), base_effort=4.5, deviation=0.4)
    assert capped.holds is None and "w_max" in capped.evidence["reason"]

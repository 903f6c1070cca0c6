"""Equilibria and verdicts in the extended strategy space (issue 12 items 2-4; spec section 4).

Cross-checks: closed forms for the convention, brute force over an (effort, q) grid of exact payments for
best responses, and the coalition gains recomputed from `Mechanism.exact` with convention probabilities.
"""
import math
from math import comb

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents import Strategy
from equilibria import Game
from equilibria.extended import (check_collusion_proof, check_omega_bnic_extended, check_uei_extended,
                                 coalition_deviations, extended_best_response, extended_equilibria,
                                 extended_threshold, extended_utility)
from mechanisms import APA, BSST, CA, PPA
from mechanisms.combined import WeightedRule


@pytest.fixture(scope="module")
def ppa_eqs():
    g = Game(PPA(), "quadratic:0.1", n_agents=3, n_items=3)
    return g, extended_equilibria(g)


def _brute(g, peers, n_w=161, n_q=21):
    """Best utility over a grid of (signed effort, q): exact payments, no search."""
    W = g.domain
    w = np.linspace(0.0, W, n_w)
    own = np.concatenate([-w[::-1], w[1:]])
    n1 = g.n_agents - 1
    pe, pq = np.full(n1, peers[0]), np.full(n1, peers[1])
    U = g.mechanism.extended_curve(own, np.linspace(0, 1, n_q), pe, pq, g.n_items, g.prior)
    U = U - g.cost_of(0)(np.abs(own))[:, None]
    return float(U.max())


def test_all_convention_closed_forms():
    # spec section 4: everyone on the convention -> PPA and APA pay z T_P, BSST pays T_B (z/3 + 2y/3)
    conv = Strategy(0.0, "convention")
    for mech, want in ((PPA(2.0), 2.0 * comb(3, 2) * 2), (APA(1.5), 1.5 * comb(3, 2) * 2),
                       (BSST(1.0, 0.4), comb(3, 2) * 1 * 2 * 1 * (1 / 3 + 0.8 / 3))):
        g = Game(mech, "quadratic:0.1", n_agents=3, n_items=3)
        assert extended_utility(g, conv, conv) == pytest.approx(want, rel=1e-12)


def test_convention_is_an_equilibrium_of_ppa_and_beats_honest(ppa_eqs):
    g, eqs = ppa_eqs
    conv = [e for e in eqs.equilibria if e.kind == "convention"]
    assert len(conv) == 1 and conv[0].utility == pytest.approx(6.0, rel=1e-12)
    honest = [e for e in eqs.equilibria if e.kind == "informed" and e.report == "honest"]
    assert honest and all(e.utility < 6.0 for e in honest)
    assert eqs.complete
    # the paper's honest equilibrium survives: a lone convention player earns the uninformed z T_P / 2 = 3
    assert all(e.paper_equilibrium for e in honest)
    assert extended_utility(g, Strategy(0.0, "convention"), Strategy(honest[0].effort)) == pytest.approx(3.0, rel=1e-12)


def test_verdicts_ppa(ppa_eqs):
    g, eqs = ppa_eqs
    bnic = check_omega_bnic_extended(g, equilibria=eqs)
    coll = check_collusion_proof(g, equilibria=eqs)
    best = max(e.utility for e in eqs.equilibria if e.kind == "informed")
    assert bnic.holds is False and coll.holds is False
    assert coll.margin == pytest.approx(best - 6.0, rel=1e-9)
    assert bnic.evidence["strategy_space"] == "extended"


def test_coalitions_against_exact(ppa_eqs):
    g, eqs = ppa_eqs
    v = coalition_deviations(g, equilibria=eqs)
    cand = max((e for e in eqs.equilibria if e.kind == "informed" and e.report == "honest"), key=lambda e: e.utility)
    for row in v.evidence["by_size"]:
        k = row["k"]
        eps = np.array([0.0] * k + [cand.effort] * (3 - k))
        q = np.array([1.0] * k + [0.0] * (3 - k))
        want = PPA().exact(eps, 3, "normal", convention_probs=q) - cand.utility
        assert row["gains"]["convention"] == pytest.approx(want, rel=1e-10, abs=1e-12)
    assert v.evidence["k_collusion_proof"]["3"] is False     # all three on the convention: 6 > U*
    assert v.holds is False


def test_best_response_matches_brute_force():
    g = Game(APA(), "quadratic:0.1", n_agents=3, n_items=3)
    for peers in ((0.0, 0.0), (1.0, 0.0), (1.0, 0.5), (0.5, 1.0)):
        br = extended_best_response(g, (peers[0], "honest", peers[1]))
        brute = _brute(g, peers)
        # certified search: never below the grid, and above it by no more than the grid can miss
        assert br.utility >= brute - 1e-9 * g.payoff_scale
        assert br.utility <= brute + 0.02 * g.payoff_scale
        got = extended_utility(g, (br.effort, br.report, br.convention_prob), (peers[0], "honest", peers[1]))
        assert got == pytest.approx(br.utility, rel=1e-9)


def test_apa_zero_effort_is_not_an_extended_equilibrium():
    # under APA the convention is coherent on every triangle: against fair-coin peers it earns z T_P / 2,
    # more than any honest zero-effort report (z T_P (3/4) / 2), so the paper's uninformed equilibrium falls
    g = Game(APA(), "linear:0.1", n_agents=3, n_items=3)
    br = extended_best_response(g, (0.0, "honest", 0.0))
    assert br.convention_prob == 1.0 and br.effort == 0.0
    assert br.utility == pytest.approx(3.0, rel=1e-12)
    v = check_uei_extended(g)
    assert v.holds is False


def test_uei_survives_in_paper_space_but_not_in_extended_space():
    from equilibria import check_uei
    g = Game(APA(), "quadratic:0.02", n_agents=3, n_items=3)
    assert check_uei(g).holds is True
    assert check_uei_extended(g).holds is False


def test_extended_uei_threshold_apa_is_never():
    # an informed APA agent against fair-coin peers agrees with probability 1/2 and is coherent with
    # probability <= 1, so it never beats the convention's z T_P / 2 net of a positive cost
    th = extended_threshold(Game(APA(), "quadratic:0.1", n_agents=3, n_items=3), "UEI", n_scan=4, r_max=1e3)
    assert math.isinf(th.z_over_k)


def test_ca_is_collusion_proof():
    g = Game(CA(), "linear:0.1", n_agents=3, n_items=3)
    eqs = extended_equilibria(g, max_evaluations=200)
    uninf = [e for e in eqs.equilibria if e.uninformative]
    assert uninf and all(e.utility == pytest.approx(6.0, rel=1e-12) for e in uninf)   # CA pays z T_P there
    v = check_collusion_proof(g, equilibria=eqs)
    assert v.holds is True and v.margin > 1.0


def test_bsst_convention_pays_the_perfect_information_limit():
    # T_B (z/3 + 2y/3) = T_B (z + 2y) / 3: the convention earns BSST's w -> inf honest payment at zero cost
    g = Game(BSST(), "quadratic:0.1", n_agents=3, n_items=3)
    eqs = extended_equilibria(g)
    conv = [e for e in eqs.equilibria if e.kind == "convention"]
    assert conv and conv[0].utility == pytest.approx(comb(3, 2) * 1 * 2 * 1 * (1 + 1.0) / 3, rel=1e-12)
    assert check_collusion_proof(g, equilibria=eqs).holds is False


def test_weighted_rule_is_the_weighted_sum():
    r = WeightedRule([PPA(), CA()], [0.7, 0.2])
    eps = np.array([0.8, 1.1, 0.3])
    q = np.array([0.2, 0.0, 0.5])
    want = 0.7 * PPA().exact(eps, 3, convention_probs=q) + 0.2 * CA().exact(eps, 3, convention_probs=q)
    assert r.exact(eps, 3, convention_probs=q) == pytest.approx(want, rel=1e-12)
    mean, se = r.monte_carlo(eps, 3, samples=20_000, seed=1, convention_probs=q)
    assert abs(mean - want) < 4 * se
    from equilibria.bounds import term_structure
    terms, flip = term_structure(r, 3, 3)
    assert len(terms) == 3 and flip          # PPA agreement; CA agreement and penalty


@settings(max_examples=15, deadline=None)
@given(k=st.floats(0.02, 1.0), w=st.floats(0.0, 3.0), q=st.floats(0.0, 1.0))
def test_best_response_beats_any_strategy(k, w, q):
    g = Game(PPA(), f"quadratic:{k}", n_agents=3, n_items=3)
    peers = (1.0, "honest", 0.3)
    br = extended_best_response(g, peers)
    assert br.utility >= extended_utility(g, (min(w, g.domain), "honest", q), peers) - 1e-9 * g.payoff_scale


def test_robust_design_is_collusion_proof():
    from equilibria import design_rule
    r = design_rule(1.0, "quadratic:0.1", robust_to_conventions=True, n_deviations=21, baselines=False)
    assert r.feasible, r.notes
    v = r.verification
    assert v["collusion_proof"] is True and v["regret"] < 1e-6
    por = v["price_of_robustness"]
    assert por["ratio"] > 1.0          # robustness costs budget
    # the plain design of the same target is not collusion-proof: the convention pays it more
    plain = design_rule(1.0, "quadratic:0.1", n_deviations=21, baselines=False, verify=False)
    g = Game(plain.rule, "quadratic:0.1", n_agents=3, n_items=3)
    assert check_collusion_proof(g, equilibria=extended_equilibria(g, max_evaluations=100)).holds is False

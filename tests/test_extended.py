"""Extended strategies (issue 12, spec section 4): the index convention, mixtures ``(w, f, q)``, exact and Monte Carlo.

Independent checks: (a) brute force -- every report pattern of N = 3 agents on m = 3 items (2^9) weighted by its
probability on a Gauss-Hermite tensor grid of the qualities, paid by the numba kernels (no exact engine involved);
(b) Monte Carlo within 4 standard errors; (c) the closed forms of spec section 4.
"""
from __future__ import annotations

import functools
import itertools
import json
import math
from math import comb

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents import Profile, Strategy, simulate_reports
from mechanisms import APA, BSST, CA, DG13, PPA, StatisticRule, statistic_features
from mechanisms.custom import CustomMechanism
from mechanisms.testing import (_custom_agreement, assert_exact_matches_monte_carlo, extended_profiles,
                                extended_strategies_)

RULES = {
    "ppa": PPA(1.3),
    "bsst": BSST(1.0, 0.3),
    "apa": APA(1.0),
    "apa-scc": APA(0.8, "scc"),
    "dg13": DG13(0.7),
    "ca": CA(1.0),
    "table": StatisticRule([0.1, 0.3, 0.7, 1.2], [0.05, 0.4, 0.6, 1.1], name="table"),
    "custom-table": CustomMechanism(_custom_agreement, name="custom-ppa-table",
                                    statistics=StatisticRule(pair=[0, 0, 1, 1]), check_statistics=False),
}


# --- brute force: all report patterns on a Gauss-Hermite grid (N = 3, m = 3) -----------------------------
@functools.lru_cache(maxsize=None)
def _pattern_probabilities(eps, qs, n_nodes):
    """``(report patterns (2^9, 3, 3), their probabilities)``: the grid sum does not depend on the rule, so the
    rules sharing ``(eps, qs)`` share it."""
    x, w = np.polynomial.hermite_e.hermegauss(n_nodes)
    w = w / math.sqrt(2.0 * math.pi)
    th = np.array(list(itertools.product(x, repeat=3)))
    wt = np.prod(np.array(list(itertools.product(w, repeat=3))), axis=1)
    pa, pb = np.array([0, 0, 1]), np.array([1, 2, 2])
    D = th[:, pa] - th[:, pb]                                                      # (nodes, 3)
    N, P = 3, 3
    pats = np.array(list(itertools.product([-1, 1], repeat=N * P)), dtype=np.int8).reshape(-1, N, P)
    prob = np.ones((th.shape[0], pats.shape[0]))
    for xg in range(N):
        plus = qs[xg] + (1.0 - qs[xg]) * 0.5 * (1.0 + np.tanh(0.5 * eps[xg] * D))  # (nodes, P)
        for p in range(P):
            prob *= np.where(pats[None, :, xg, p] == 1, plus[:, p:p + 1], 1.0 - plus[:, p:p + 1])
    return pats, wt @ prob


def _brute_force(mech, eps, qs, n_nodes=24):
    pats, pr = _pattern_probabilities(tuple(map(float, eps)), tuple(map(float, qs)), n_nodes)
    return float(pr @ mech.payments(pats)[:, 0])


@pytest.mark.parametrize("name", ["ppa", "bsst", "apa", "dg13", "ca", "table"])     # scc = 3cycle at m = 3
@pytest.mark.parametrize("eps, qs", [([1.0, 0.5, -1.2], [0.3, 0.6, 0.1]),
                                     ([-0.7, 1.5, 0.0], [1.0, 0.25, 0.0]),
                                     ([0.8, 0.8, 0.8], [0.0, 0.0, 0.9])])
def test_brute_force_m3(name, eps, qs):
    mech = RULES[name]
    want = _brute_force(mech, eps, qs)
    got = mech.exact(eps, 3, convention_probs=qs)
    assert got == pytest.approx(want, rel=1e-8, abs=1e-9)


def _brute_force_apa(eps, qs, m, rule, n_nodes=16):
    """APA by enumerating the paid agent's 2^P tournaments (coherence from the plain numpy reference rules) on a
    Gauss-Hermite tensor grid of all m qualities; peers enter through their agreement probabilities (APA is
    linear in each peer's report)."""
    from mechanisms.reference import coherence
    x, w = np.polynomial.hermite_e.hermegauss(n_nodes)
    w = w / math.sqrt(2.0 * math.pi)
    th = np.array(list(itertools.product(x, repeat=m)))
    wt = np.prod(np.array(list(itertools.product(w, repeat=m))), axis=1)
    pa, pb = np.triu_indices(m, 1)
    D = th[:, pa] - th[:, pb]
    pats = np.array(list(itertools.product([-1, 1], repeat=pa.size)), dtype=np.int8)
    coh = coherence(pats[:, None, :], rule)[:, 0, :].astype(float)
    sig = [0.5 * (1.0 + np.tanh(0.5 * e * D)) for e in eps]
    own = qs[0] + (1.0 - qs[0]) * sig[0]
    prob = np.ones((th.shape[0], pats.shape[0]))
    for p in range(pa.size):
        prob *= np.where(pats[None, :, p] == 1, own[:, p:p + 1], 1.0 - own[:, p:p + 1])
    a_plus = sum(q + (1.0 - q) * s for s, q in zip(sig[1:], qs[1:]))
    a_minus = sum((1.0 - q) * (1.0 - s) for s, q in zip(sig[1:], qs[1:]))
    pay = (coh * (pats == 1)) @ a_plus.T + (coh * (pats == -1)) @ a_minus.T
    return float(wt @ np.einsum("kp,pk->k", prob, pay))


@pytest.mark.parametrize("rule", ["3cycle", "scc"])
@pytest.mark.parametrize("eps, qs", [([1.0, 0.5, -1.2], [0.3, 0.6, 0.1]), ([0.8, 0.8, 0.8], [0.5, 0.0, 0.9])])
def test_brute_force_apa_m4(rule, eps, qs):
    # m = 4: third items below, between and above a pair in every combination of counts; Gauss-Hermite with
    # 16 nodes per quality is within 5e-8 of the engine here (12 nodes: 7e-7, converging)
    want = _brute_force_apa(eps, qs, 4, rule)
    assert APA(1.0, rule).exact(eps, 4, convention_probs=qs) == pytest.approx(want, rel=3e-7)


def test_brute_force_reproduces_the_paper_space():
    # the brute force itself is right where the exact engine was validated before
    for mech in (PPA(), BSST(), APA()):
        assert _brute_force(mech, [1.0, 0.5, -1.2], [0, 0, 0]) == pytest.approx(mech.exact([1.0, 0.5, -1.2], 3),
                                                                                rel=1e-9)


# --- closed forms (spec section 4) --------------------------------------------------------------------
@pytest.mark.parametrize("prior", ["normal", "uniform"])
@pytest.mark.parametrize("N, m", [(3, 3), (4, 4), (5, 5)])
def test_all_on_the_convention(prior, N, m):
    eps = np.linspace(-2.0, 2.0, N)                       # efforts are irrelevant on the convention
    q = np.ones(N)
    z, y = 1.7, 0.4
    T_P = comb(m, 2) * (N - 1)
    T_B = comb(m, 2) * (m - 2) * (N - 1) * (N - 2)
    assert PPA(z).exact(eps, m, prior, convention_probs=q) == pytest.approx(z * T_P, rel=1e-13)
    assert APA(z).exact(eps, m, prior, convention_probs=q) == pytest.approx(z * T_P, rel=1e-12)
    assert BSST(z, y).exact(eps, m, prior, convention_probs=q) == pytest.approx(T_B * (z / 3 + 2 * y / 3), rel=1e-13)
    # the realised payments agree, every trial
    R = simulate_reports(eps, m, 5, seed=1, convention_probs=q).reports
    assert np.all(R == 1)
    np.testing.assert_allclose(PPA(z).payments(R), z * T_P)
    np.testing.assert_allclose(APA(z).payments(R), z * T_P)
    np.testing.assert_allclose(BSST(z, y).payments(R), T_B * (z / 3 + 2 * y / 3))


def test_all_on_the_convention_scc_and_strategy_objects():
    conv = Strategy(0.0, "convention")
    for mech in (APA(1.0, "scc"), APA(1.0)):
        r = mech.expected_payment(conv, conv, n_agents=4, n_items=3)
        assert r.expected_payment == pytest.approx(3 * 3, rel=1e-13)
        assert r.extra["convention_probs"] == [1.0] * 4


@pytest.mark.parametrize("prior", ["normal", "uniform"])
@pytest.mark.parametrize("m", [3, 4, 6])
def test_lone_convention_against_paper_space_peers(prior, m):
    """Peers in the paper's space report symmetrically in distribution (Pr(R = +1) = 1/2 on every pair): each
    agreement of the lone convention player has probability 1/2, and under APA all of its pairs are coherent."""
    peers = [1.3, -0.4, 0.0, 2.5]
    eps = [0.9] + peers
    q = [1.0, 0, 0, 0, 0]
    T_P = comb(m, 2) * len(peers)
    assert PPA(2.0).exact(eps, m, prior, convention_probs=q) == pytest.approx(2.0 * T_P / 2, rel=1e-13)
    assert APA(2.0).exact(eps, m, prior, convention_probs=q) == pytest.approx(2.0 * T_P / 2, rel=1e-12)
    R = simulate_reports(eps, m, 3, seed=0, convention_probs=q).reports
    assert np.all(APA().coherent(R)[:, 0] == 1)


def test_lone_convention_needs_symmetric_peers():
    # against peers who lean to the convention themselves, agreement is (1 + q_j) / 2, not 1/2
    eps, q = [0.0, 1.0, 1.0], [1.0, 0.5, 0.2]
    assert PPA().exact(eps, 3, convention_probs=q) == pytest.approx(3 * ((1 + 0.5) / 2 + (1 + 0.2) / 2), rel=1e-13)


@pytest.mark.parametrize("cls", [DG13, CA])
@pytest.mark.parametrize("m", [3, 4, 5])
@pytest.mark.parametrize("peers, peers_q", [([1.0, -2.0, 0.5], [0, 0, 0]), ([1.0, 3.0], [0.5, 1.0]),
                                            ([0.0, 0.7, -0.7, 4.0], [1.0, 1.0, 0.3, 0.0])])
def test_chance_corrected_convention_earns_zero_effort(cls, m, peers, peers_q):
    """DG13 and CA: each term is ``1 + (1 - q_i)(1 - q_j)(C_ij - s A_ij) / 2`` (the convention's agreement on the
    bonus pair and on the penalty pairs cancel), so the convention earns exactly what zero effort earns against
    *any* peers, including peers who use the convention themselves."""
    mech = cls(1.4)
    n1 = len(peers)
    zero = mech.exact([0.0] + peers, m, convention_probs=[0.0] + peers_q)
    for own in (0.0, 1.5, -3.0):
        conv = mech.exact([own] + peers, m, convention_probs=[1.0] + peers_q)
        assert conv == pytest.approx(zero, rel=1e-13)
    assert zero == pytest.approx(1.4 * comb(m, 2) * n1, rel=1e-13)


# --- exact vs Monte Carlo ------------------------------------------------------------------------------
PROFILES = [
    ([1.0, 0.5, -1.3, 0.7], [0.3, 0.6, 0.1, 0.8]),       # heterogeneous mixtures
    ([0.0, 1.5, 1.5, -0.5], [1.0, 0.0, 0.4, 0.0]),       # lone convention player
    ([2.0, 1.0, 0.0, 0.8], [0.5, 1.0, 1.0, 0.0]),        # peers on the convention
]


@pytest.mark.parametrize("name", sorted(RULES))
@pytest.mark.parametrize("m", [3, 4])
@pytest.mark.parametrize("k", range(len(PROFILES)))
def test_exact_matches_monte_carlo(name, m, k):
    mech = RULES[name]
    eps, qs = PROFILES[k]
    assert_exact_matches_monte_carlo(mech, eps, m, samples=30_000, seed=17 + k, convention_probs=qs)


def test_exact_matches_monte_carlo_uniform_prior_and_profile_objects():
    prof = Profile(Strategy(1.0, "honest", 0.4), (Strategy(2.0, "dishonest", 0.2), Strategy(0.0, "convention")))
    for mech in (APA(), BSST(), PPA(), CA()):
        assert_exact_matches_monte_carlo(mech, prof, 4, "uniform", samples=30_000, seed=3)
    # a plain list of strategies keeps its convention probabilities too
    strats = [Strategy(0.5, "honest", 0.5), Strategy(0.0, "convention"), Strategy(1.0, "honest", 0.8)]
    assert_exact_matches_monte_carlo(PPA(), strats, 3, samples=20_000, seed=1)

    class ForgetsConventions(PPA):          # an exact engine that silently drops q must be caught
        def exact(self, signed_efforts, n_items, prior="normal", refine=1, convention_probs=None):
            return super().exact(signed_efforts, n_items, prior, refine)

    with pytest.raises(AssertionError, match="standard errors"):
        assert_exact_matches_monte_carlo(ForgetsConventions(), strats, 3, samples=20_000, seed=1)


def test_exact_matches_monte_carlo_asymmetric_scipy_prior():
    """The formulas use only E[t(eps D)] = 0 and two-report correlations (PPA, BSST, DG13, CA) or the sigmoids
    themselves (APA): valid for any i.i.d. prior, also a skewed one, where odd products of t need not vanish."""
    from scipy import stats
    prior = stats.expon()
    eps, qs = [1.0, 0.5, -1.3, 0.7], [0.3, 0.6, 0.1, 0.8]
    for mech in (PPA(), APA(), DG13()):
        assert_exact_matches_monte_carlo(mech, eps, 4, prior, samples=30_000, seed=8, convention_probs=qs)
        flipped = mech.exact([-e for e in eps], 4, prior, convention_probs=qs)
        assert flipped == pytest.approx(mech.exact(eps, 4, prior, convention_probs=qs), rel=1e-12)


def test_custom_monte_carlo_expectations_with_conventions():
    rule = CustomMechanism(_custom_agreement, name="custom-ppa").with_monte_carlo_expectations(3000, seed=0)
    eps, qs = [1.0, 0.5, -1.3], [0.3, 0.6, 0.1]
    got = rule.exact(eps, 3, convention_probs=qs)
    se = rule.expectation_stderr(eps, 3, convention_probs=qs)
    assert se > 0
    assert abs(got - PPA().exact(eps, 3, convention_probs=qs)) < 4 * se
    assert rule.convention_degree(3) == 3
    c = rule.convention_polynomial([1.0], eps[1:], qs[1:], 3)
    v = rule.extended_curve([1.0], [0.0, 0.3, 1.0], eps[1:], qs[1:], 3)
    np.testing.assert_allclose(np.polynomial.polynomial.polyval([0.0, 0.3, 1.0], c[0]), v[0], rtol=1e-10)


# --- q = 0 is the paper's space, bit for bit ------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(RULES))
def test_zero_convention_is_bit_identical(name):
    mech = RULES[name]
    eps = [1.0, 0.5, -1.3, 0.7]
    for m in (3, 4):
        assert mech.exact(eps, m, convention_probs=[0.0] * 4) == mech.exact(eps, m)
    prof = Profile.from_signed(eps)
    assert mech.expected_payment(prof.own, prof.peers, n_items=3).expected_payment == mech.exact(eps, 3)
    assert mech.monte_carlo(eps, 3, samples=500, seed=4, convention_probs=[0, 0, 0, 0]) == \
        mech.monte_carlo(eps, 3, samples=500, seed=4)


def test_simulator_zero_convention_is_bit_identical():
    a = simulate_reports([1.0, 0.5, -1.0, 2.0], 4, 300, seed=9)
    b = simulate_reports([1.0, 0.5, -1.0, 2.0], 4, 300, seed=9, convention_probs=[0, 0, 0, 0])
    assert np.array_equal(a.reports, b.reports) and np.array_equal(a.theta, b.theta)
    c = simulate_reports([1.0, 0.5, -1.0, 2.0], 4, 300, seed=9, convention_probs=[0, 0.5, 0, 1])
    assert np.array_equal(c.theta, a.theta)
    assert np.array_equal(c.reports[:, [0, 2]], a.reports[:, [0, 2]])      # agents with q = 0 are untouched
    assert np.all(c.reports[:, 3] == 1)
    # agent 1 keeps its observation or reports +1
    assert np.all((c.reports[:, 1] == a.reports[:, 1]) | (c.reports[:, 1] == 1))


@pytest.mark.parametrize("name", sorted(RULES))
def test_extended_curve_and_polynomial(name):
    mech = RULES[name]
    m = 4
    own = np.array([0.8]) if name == "apa-scc" else np.array([-1.5, 0.0, 0.8])     # scc: a 3-d grid per call
    rf = 0.5 if name == "apa-scc" else 1                                             # (and a coarser rule)
    peers, pq = [1.0, -0.3, 2.0], [0.0, 0.5, 1.0]
    qs = np.linspace(0.0, 1.0, 9)                       # more than d + 1 values: the interpolated path
    curve = mech.extended_curve(own, qs, peers, pq, m, refine=rf)
    sub = [0, 3, 8]
    loops = np.array([[mech.exact(np.r_[e, peers], m, refine=rf, convention_probs=np.r_[q, pq]) for q in qs[sub]]
                      for e in own])
    np.testing.assert_allclose(curve[:, sub], loops, rtol=1e-12, atol=1e-12)
    few = mech.extended_curve(own, qs[sub[:2]], peers, pq, m, refine=rf)   # at most d + 1 values: direct
    np.testing.assert_allclose(few, loops[:, :2], rtol=1e-12, atol=1e-12)
    c = mech.convention_polynomial(own, peers, pq, m, refine=rf)
    assert c.shape == (own.size, mech.convention_degree(m) + 1)
    np.testing.assert_allclose(np.polynomial.polynomial.polyval(qs, c.T), curve, rtol=1e-11, atol=1e-11)
    # at q = 0 the curve is the paper-space curve (scc: the paper engine integrates pair (0, 1) only and
    # multiplies by C(m, 2), the extended one sums every pair: equal on the default rule to about 1e-13)
    zero = mech.extended_curve(own, [0.0], peers, [0.0] * 3, m)[:, 0]
    np.testing.assert_allclose(zero, mech.payment_curve(own, peers, m), rtol=1e-12)


def test_convention_degrees():
    assert PPA().convention_degree(5) == 1 and BSST().convention_degree(5) == 1
    assert DG13().convention_degree(5) == 1 and CA().convention_degree(5) == 1
    assert APA().convention_degree(3) == 3 and APA().convention_degree(6) == 9
    assert APA(coherence="scc").convention_degree(4) == 6
    assert StatisticRule(pair=[0, 0, 1, 1]).convention_degree(5) == 1
    assert StatisticRule(pair=[0, 0, 0, 1]).convention_degree(5) == 7


def test_apa_polynomial_degree_is_attained_and_accurate_for_large_m():
    # m = 8: degree 13; the coefficients reproduce direct evaluations at q not among the Chebyshev nodes
    mech = APA()
    peers, pq = [1.0, 0.5, -2.0], [0.0, 0.3, 1.0]
    c = mech.convention_polynomial([1.0, -0.5], peers, pq, 8)
    for q in (0.0, 0.37, 1.0):
        direct = [mech.exact([e] + peers, 8, convention_probs=[q] + pq) for e in (1.0, -0.5)]
        np.testing.assert_allclose(np.polynomial.polynomial.polyval(q, c.T), direct, rtol=1e-12)
    assert np.all(np.abs(c[:, -1]) > 1e-8)           # the top coefficient does not vanish


def test_statistic_features_extended():
    own, peers = [1.0, -0.5], [0.5, 2.0, -1.0]
    base = statistic_features(own, peers, 4)
    np.testing.assert_array_equal(statistic_features(own, peers, 4, own_q=0.0, peers_q=0.0), base)
    ext = statistic_features(own, peers, 4, own_q=[0.0, 0.4], peers_q=[0.2, 0.0, 1.0])
    assert ext.shape == (2, 2, 8)
    # counts: every (pair, peer) and (pair, third item, ordered peers) term falls in one cell
    np.testing.assert_allclose(ext[..., :4].sum(-1), 6 * 3)
    np.testing.assert_allclose(ext[..., 4:].sum(-1), 6 * 2 * 3 * 2)
    one = statistic_features(own, peers, 4, own_q=0.4, peers_q=[0.2, 0.0, 1.0])
    np.testing.assert_allclose(one, ext[:, 1])


# --- hypothesis: symmetry, anonymity, limited liability in the extended space --------------------------
HYP_RULES = [PPA(1.0), BSST(1.0, 0.3), APA(1.0), DG13(1.0), CA(1.0), RULES["table"], APA(1.0, "scc")]


@settings(max_examples=25, deadline=None)
@given(prof=extended_profiles(n_agents=st.integers(3, 4), max_effort=3.0), k=st.integers(0, len(HYP_RULES) - 1),
       m=st.sampled_from([3, 4]))
def test_flip_of_the_observations(prof, k, m):
    """The true invariant.  Reversing every report of every agent (rules are flip-invariant) maps the convention
    to the anti-convention; reversing the item order (i.i.d. qualities) maps the anti-convention back to the
    convention.  Together: ``E[M]((eps_x, q_x)_x) = E[M]((-eps_x, q_x)_x)`` -- the observations flip, the convention
    stays.  (Flipping eps and the convention together is not a profile of this space.)"""
    mech = HYP_RULES[k]
    rf = 0.5 if getattr(mech, "coherence", None) == "scc" else 1         # scc: a coarser 3-d grid (speed)
    eps, q = prof.signed_efforts(), prof.convention_probs()
    a = mech.exact(eps, m, refine=rf, convention_probs=q)
    b = mech.exact(-eps, m, refine=rf, convention_probs=q)
    assert b == pytest.approx(a, rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("mech", [PPA(), BSST(), APA(), APA(coherence="scc"), CA(),
                                  StatisticRule([0.1, 0.3, 0.7, 1.2], [0.05, 0.5, 0.5, 1.1])])
def test_flip_and_item_reversal_pointwise(mech):
    """The realised-payment statement behind the invariant: negate every report and reverse the item order.

    It holds pointwise for rules that do not depend on the item labels: PPA, APA, CA, and BSST-like triple
    tables symmetric in bonus and penalty (``triple[1] == triple[2]``: then the term for ``(a', a, a''; j, k)``
    equals the one for ``(a, a', a''; k, j)``, spec 2.2).  DG13 (its task split follows the canonical pair
    order) and asymmetric triple tables satisfy it only in expectation (``test_flip_of_the_observations``)."""
    m = 4
    P = comb(m, 2)
    pairs = [(a, b) for a in range(m) for b in range(a + 1, m)]
    idx = {p: k for k, p in enumerate(pairs)}
    # reversing items maps canonical (a, b) to canonical (m-1-b, m-1-a) with the report negated, so the
    # composition with the global flip permutes the pair columns and keeps signs
    perm = np.array([idx[(m - 1 - b, m - 1 - a)] for (a, b) in pairs])
    R = simulate_reports([1.0, -0.5, 0.3, 2.0], m, 50, seed=5, convention_probs=[0.5, 0, 1, 0.2]).reports
    np.testing.assert_allclose(mech.payments(R[:, :, perm]), mech.payments(R), rtol=1e-12)
    assert perm.size == P


@settings(max_examples=20, deadline=None)
@given(prof=extended_profiles(n_agents=4, max_effort=3.0), k=st.integers(0, len(HYP_RULES) - 2),
       perm=st.permutations([0, 1, 2]))
def test_anonymity_extended(prof, k, perm):
    mech = HYP_RULES[k]
    eps, q = prof.signed_efforts(), prof.convention_probs()
    order = np.r_[0, 1 + np.asarray(perm)]
    a = mech.exact(eps, 4, convention_probs=q)
    b = mech.exact(eps[order], 4, convention_probs=q[order])
    assert b == pytest.approx(a, rel=1e-11, abs=1e-11)


@settings(max_examples=25, deadline=None)
@given(prof=extended_profiles(n_agents=st.integers(3, 4), max_effort=6.0), k=st.integers(0, len(HYP_RULES) - 2),
       m=st.sampled_from([3, 4]))
def test_limited_liability_extended(prof, k, m):
    mech = HYP_RULES[k]
    v = mech.expected_payment(prof.own, prof.peers, n_items=m).expected_payment
    top = mech.max_payment(prof.n_agents, m)
    tol = 1e-10 * top
    assert -tol <= v <= top + tol


@settings(max_examples=30, deadline=None)
@given(s=extended_strategies_())
def test_extended_strategy_round_trip(s):
    assert 0.0 <= s.convention_prob <= 1.0
    assert Strategy.from_signed(s.signed_effort, s.convention_prob).convention_prob == s.convention_prob
    assert s.is_convention == (s.convention_prob == 1.0)


# --- errors and the CLI ---------------------------------------------------------------------------------
def test_bad_convention_probabilities():
    with pytest.raises(ValueError, match="convention_probs"):
        PPA().exact([1, 1, 1], 3, convention_probs=[0, 1.2, 0])
    with pytest.raises(ValueError, match="convention_probs"):
        PPA().exact([1, 1, 1], 3, convention_probs=[0, 1])
    with pytest.raises(ValueError, match="own_q"):
        PPA().extended_curve([1.0], [-0.1], [1, 1], [0, 0], 3)
    with pytest.raises(ValueError, match="peers_q"):
        PPA().convention_polynomial([1.0], [1, 1], [0, 2], 3)
    with pytest.raises(ValueError, match="peers_q"):
        PPA().convention_polynomial([1.0], [1, 1], [0, 0, 0], 3)
    with pytest.raises(ValueError, match="convention_prob"):
        Strategy(1.0, "honest", 1.5)
    with pytest.raises(ValueError, match="grid points"):
        APA(coherence="scc").extended_curve([1.0], [0.5], [1, 1], [0, 0], 6)


class _Run:
    def __init__(self, returncode, stdout, stderr):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def test_cli_one_line_error(capsys):
    # in-process main(argv) (tests/test_cli_mechanisms.py::test_subprocess_smoke runs the real process)
    from mechanisms.__main__ import main
    try:
        code = main(["payoff", "--effort", "1", "--peer-effort", "1", "--report", "convention",
                     "--convention-prob", "0.5"])
    except SystemExit as exc:
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "convention" in err and "Traceback" not in err


def test_cli_convention(capsys):
    from mechanisms.__main__ import main

    def _cli(*args):
        try:
            rc = main(["payoff", *args])
        except SystemExit as exc:
            rc = exc.code
        out = capsys.readouterr()
        return _Run(rc, out.out, out.err)

    r = _cli("--mechanism", "apa", "--agents", "4", "--items", "4", "--effort", "0", "--report", "convention",
             "--peer-effort", "1", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["expected_payment"] == pytest.approx(6 * 3 / 2)
    assert out["convention_prob"] == 1.0 and out["peer_convention_prob"] == 0.0
    r = _cli("--mechanism", "ca", "--effort", "1", "--convention-prob", "0.5", "--peer-effort", "1",
             "--peer-report", "convention", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["convention_probs"] == [0.5, 1.0, 1.0] and out["mechanism"] == "ca"
    for bad in (["--convention-prob", "1.5"], ["--peer-convention-prob", "-0.2"],
                ["--report", "convention", "--convention-prob", "0.5"], ["--mechanism", "xyz"]):
        r = _cli("--effort", "1", "--peer-effort", "1", *bad)
        assert r.returncode == 2
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr


# --- the principal's accuracy (eq. 3) with conventions -------------------------------------------------
@pytest.mark.parametrize("prior", ["normal", "uniform"])
def test_principal_accuracy_with_conventions(prior):
    from mechanisms import principal_utility
    from mechanisms.exact import principal_accuracy, principal_accuracy_extended
    from agents import as_prior
    # q = 0: the literal tie rule integrated over both signs equals the half-credit identity
    eps = [1.0, 0.5, -1.3, 2.0]
    assert principal_accuracy_extended(as_prior(prior), eps, [0.0] * 4) == pytest.approx(
        principal_accuracy(as_prior(prior), eps), rel=1e-12)
    # everybody on the convention: the aggregate is the index order, right on half the pairs
    conv = [Strategy(0.0, "convention")] * 3
    assert principal_utility(conv, 4, prior).accuracy == pytest.approx(0.5, rel=1e-12)
    for strats in ([Strategy(1.0, "h", 0.3), Strategy(0.5, "h", 0.6), Strategy(1.3, "dishonest", 0.1)],
                   [Strategy(2.0), Strategy(2.0), Strategy(0.0, "convention"), Strategy(0.0, "convention")]):
        ex = principal_utility(strats, 4, prior).accuracy
        mc = principal_utility(strats, 4, prior, method="mc", samples=40_000, seed=2)
        assert abs(ex - mc.accuracy) <= 4 * mc.stderr

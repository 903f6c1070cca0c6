"""The exact expected-payment engine (mechanisms/exact.py) against closed forms, Monte Carlo and
independent adaptive quadrature.

* spec 2.4 table: all-uninformed values and all-honest large-effort limits;
* exact vs Monte Carlo (``Mechanism.expected_payment(method='mc')``) within 4 standard errors on a grid of
  mechanisms x priors x profiles (honest/dishonest, heterogeneous peers, N in 3..5, m in 3..5);
* exact vs nested ``scipy.integrate.quad`` of the *conditional* expectation given the qualities, which uses
  none of the engine's reductions (PPA: difference density; BSST: triple integral; APA-3cycle: double
  integral of a power of an inner integral);
* refinement: ``refine=2`` changes nothing beyond 1e-12 relative for ``|eps| <= 20``.
"""
from __future__ import annotations

import math
import warnings
from math import comb

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import cfunc, types
from scipy import LowLevelCallable, integrate, stats

from agents import NormalPrior, ScipyPrior, Strategy, UniformPrior
from mechanisms import APA, BSST, PPA, make_mechanism


def sig(u):
    return 0.5 * (1.0 + np.tanh(0.5 * u))


def T_P(N, m):
    return comb(m, 2) * (N - 1)


def T_B(N, m):
    return comb(m, 2) * (m - 2) * (N - 1) * (N - 2)


# --------------------------------------------------------------------------------------------
# spec 2.4: all uninformed
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("prior", ["normal", "uniform"])
@pytest.mark.parametrize("N, m", [(3, 3), (4, 4), (5, 5), (3, 6), (6, 3)])
@pytest.mark.parametrize("own_report", ["honest", "dishonest"])
def test_all_uninformed_table(prior, N, m, own_report):
    own, peer = Strategy(0.0, own_report), Strategy(0.0, "dishonest")
    z, y = 2.0, 0.3
    ppa = PPA(z).expected_payment(own, peer, n_agents=N, n_items=m, prior=prior).expected_payment
    assert ppa == pytest.approx(z * T_P(N, m) / 2, rel=1e-12)
    bsst = BSST(z, y).expected_payment(own, peer, n_agents=N, n_items=m, prior=prior).expected_payment
    assert bsst == pytest.approx(T_B(N, m) * (z + 2 * y) / 4, rel=1e-12)
    apa = APA(z).expected_payment(own, peer, n_agents=N, n_items=m, prior=prior).expected_payment
    assert apa == pytest.approx(z * T_P(N, m) * 0.75 ** (m - 2) / 2, rel=1e-12)


@pytest.mark.parametrize("prior", ["normal", "uniform"])
def test_all_uninformed_scc_m4(prior):
    for N in (3, 4):
        r = APA(1.0, "scc").expected_payment((0.0, "h"), (0.0, "h"), n_agents=N, n_items=4, prior=prior)
        assert r.expected_payment == pytest.approx(T_P(N, 4) * 0.5 / 2, rel=1e-12)
    # m = 3: the two rules coincide
    r3 = APA(1.0, "scc").expected_payment((0.0, "h"), (0.0, "h"), n_agents=3, n_items=3, prior=prior)
    assert r3.expected_payment == pytest.approx(T_P(3, 3) * 0.75 / 2, rel=1e-12)


@pytest.mark.parametrize("prior", ["normal", "uniform"])
def test_uninformed_payee_against_informed_peers(prior):
    """If i is uninformed her reports are fair coins independent of everything: PPA pays z T_P / 2 and APA
    pays z T_P P_coh(0) / 2 whatever the peers do."""
    peers = [(3.0, "h"), (0.5, "dishonest"), (8.0, "h")]
    for m in (3, 4, 5):
        assert PPA().expected_payment((0.0, "h"), peers, n_items=m, prior=prior).expected_payment == \
            pytest.approx(T_P(4, m) / 2, rel=1e-12)
        assert APA().expected_payment((0.0, "h"), peers, n_items=m, prior=prior).expected_payment == \
            pytest.approx(T_P(4, m) * 0.75 ** (m - 2) / 2, rel=1e-12)
    # scc integrates on a coarser full tensor grid (its documented accuracy is lower)
    assert APA(1.0, "scc").expected_payment((0.0, "h"), peers[:2], n_items=4, prior=prior).expected_payment == \
        pytest.approx(T_P(3, 4) * 0.25, rel=1e-10)


# --------------------------------------------------------------------------------------------
# spec 2.4: all honest, large effort
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("prior, f_D0", [("normal", 1 / (2 * np.sqrt(np.pi))), ("uniform", 1.0)])
@pytest.mark.parametrize("N, m", [(3, 3), (4, 5)])
def test_large_effort_limits(prior, f_D0, N, m):
    """At w = 60 (all honest) the payments are within O(1/w) of the spec's limits.

    Stated tolerances (relative gap to the limit ``L``):
    PPA: ``1 - E/L = 2 f_D(0)/w + O(w^-2)`` since ``1 - Pr(agree) = E[sech^2(w D / 2)] / 2`` and
    ``int sech^2(w d / 2) dd = 4 / w``; we require the gap in ``[1.8, 2.05] f_D(0) / w``.
    APA: ``0 <= 1 - E/L <= 3 f_D(0) / w`` (the agreement gap plus the O(1/w) chance of a 3-cycle).
    BSST (limit ``T_B (z + 2y) / 3``): ``|1 - E/L| <= 1 / w``.
    """
    w = 60.0
    z, y = 1.0, 0.35
    eps = [w] * N
    gap_ppa = 1 - PPA(z).exact(eps, m, prior) / (z * T_P(N, m))
    assert 1.8 * f_D0 / w <= gap_ppa <= 2.05 * f_D0 / w
    lim_b = T_B(N, m) * (z + 2 * y) / 3
    assert abs(1 - BSST(z, y).exact(eps, m, prior) / lim_b) <= 1.0 / w
    assert 1 - PPA(z).exact([20.0] * N, m, prior) / (z * T_P(N, m)) > gap_ppa     # the gap shrinks with effort
    if m == 3 and prior == "normal":
        return      # APA at w = 60 needs a 2448-node rule on the normal prior: one case (m = 5) suffices
    gap_apa = 1 - APA(z).exact(eps, m, prior) / (z * T_P(N, m))
    assert gap_ppa <= gap_apa <= 3.0 * f_D0 / w
    assert 1 - APA(z).exact([20.0] * N, m, prior) / (z * T_P(N, m)) > gap_apa


# --------------------------------------------------------------------------------------------
# symmetries of the exact engine
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("mech", [PPA(), BSST(1.0, 0.3), APA(), APA(1.0, "scc")], ids=repr)
@pytest.mark.parametrize("prior", ["normal", "uniform"])
def test_exact_global_flip_and_peer_order(mech, prior):
    eps = np.array([1.3, -0.4, 2.0, 0.7])
    m = 4 if mech.name == "apa" and mech.coherence == "scc" else 5
    v = mech.exact(eps, m, prior)
    assert mech.exact(-eps, m, prior) == pytest.approx(v, rel=1e-12)
    assert mech.exact(eps[[0, 3, 1, 2]], m, prior) == pytest.approx(v, rel=1e-12)


# --------------------------------------------------------------------------------------------
# exact vs Monte Carlo
# --------------------------------------------------------------------------------------------

PROFILES = [
    # (own, peers, n_agents, n_items)
    ((1.0, "h"), (1.0, "h"), 3, 3),
    ((2.0, "dishonest"), (0.5, "h"), 4, 4),
    ((0.7, "h"), [(2.0, "h"), (0.3, "dishonest"), (1.5, "h"), (0.0, "h")], None, 5),
    ((0.0, "h"), [(3.0, "h"), (1.0, "dishonest")], None, 4),
    ((8.0, "h"), [(5.0, "h"), (12.0, "dishonest"), (3.0, "h")], None, 3),
]
MC_MECHS = [PPA(1.0), BSST(1.0, 0.5), BSST(1.5, 0.4), APA(1.0)]


@pytest.mark.parametrize("prior", ["normal", "uniform"])
@pytest.mark.parametrize("profile", range(len(PROFILES)))
@pytest.mark.parametrize("mech", MC_MECHS, ids=repr)
def test_exact_agrees_with_monte_carlo(mech, profile, prior):
    own, peers, N, m = PROFILES[profile]
    ex = mech.expected_payment(own, peers, n_agents=N, n_items=m, prior=prior)
    mc = mech.expected_payment(own, peers, n_agents=N, n_items=m, prior=prior, method="mc",
                               samples=40_000, seed=1000 + profile)
    assert ex.method == "exact" and mc.method == "mc" and mc.samples == 40_000
    assert mc.stderr > 0
    assert abs(ex.expected_payment - mc.expected_payment) < 4 * mc.stderr


@pytest.mark.parametrize("prior", ["normal", "uniform"])
@pytest.mark.parametrize("own, peers", [((1.0, "h"), [(1.5, "h"), (0.5, "dishonest")]),
                                        ((2.0, "dishonest"), [(2.0, "h"), (1.0, "h"), (0.0, "h")])])
def test_exact_scc_agrees_with_monte_carlo(own, peers, prior):
    mech = APA(1.0, "scc")
    ex = mech.expected_payment(own, peers, n_items=4, prior=prior)
    mc = mech.expected_payment(own, peers, n_items=4, prior=prior, method="mc", samples=40_000, seed=7)
    assert abs(ex.expected_payment - mc.expected_payment) < 4 * mc.stderr
    # scc pays no more than 3cycle
    assert ex.expected_payment <= APA(1.0).expected_payment(own, peers, n_items=4, prior=prior).expected_payment


def test_monte_carlo_is_seed_stable_and_chunk_independent():
    mech = APA()
    eps = [1.0, 0.5, -2.0]
    a = mech.monte_carlo(eps, 4, "normal", 3000, seed=42)
    b = mech.monte_carlo(eps, 4, "normal", 3000, seed=42, chunk=7)
    c = mech.monte_carlo(eps, 4, "normal", 3000, seed=43)
    assert a[0] == pytest.approx(b[0], rel=1e-13) and a[1] == pytest.approx(b[1], rel=1e-9)
    assert a != c


@pytest.mark.parametrize("mech", [PPA(), BSST(1.0, 0.3), APA()], ids=repr)
def test_monte_carlo_standard_error_is_calibrated(mech):
    """Across 60 independent seeds the spread of the MC means matches the reported standard errors, and the
    z-scores against the exact value look standard normal (mean ~ 0, sd ~ 1)."""
    eps = [1.0, 2.0, -0.5, 0.8]
    exact = mech.exact(eps, 4, "normal")
    res = [mech.monte_carlo(eps, 4, "normal", 1500, seed=s) for s in range(60)]
    means = np.array([r[0] for r in res])
    ses = np.array([r[1] for r in res])
    ratio = means.std(ddof=1) / ses.mean()
    assert 0.7 < ratio < 1.35          # chi-square(59): 0.7 and 1.35 are beyond the 0.3% / 99.9% points
    zs = (means - exact) / ses
    assert abs(zs.mean()) < 4 / np.sqrt(60)
    assert np.all(np.abs(zs) < 4.5)


@pytest.mark.parametrize("mech", [PPA(), BSST(), APA()], ids=repr)
def test_scipy_prior_end_to_end_expon(mech):
    d = stats.expon()
    ex = mech.expected_payment((1.0, "h"), [(2.0, "h"), (0.5, "dishonest")], n_items=4, prior=d, check_accuracy=True)
    mc = mech.expected_payment((1.0, "h"), [(2.0, "h"), (0.5, "dishonest")], n_items=4, prior=d, method="mc",
                               samples=40_000, seed=3)
    assert ex.prior == "scipy"
    assert ex.error_estimate < 1e-4
    assert abs(ex.expected_payment - mc.expected_payment) < 4 * mc.stderr


@pytest.mark.parametrize("mech", [PPA(), APA()], ids=repr)
def test_scipy_prior_end_to_end_student_t(mech):
    d = stats.t(5)
    ex = mech.expected_payment((1.0, "h"), (1.0, "h"), n_agents=3, n_items=3, prior=d)
    mc = mech.expected_payment((1.0, "h"), (1.0, "h"), n_agents=3, n_items=3, prior=d, method="mc",
                               samples=40_000, seed=3)
    assert abs(ex.expected_payment - mc.expected_payment) < 4 * mc.stderr


# --------------------------------------------------------------------------------------------
# exact vs independent adaptive quadrature
# --------------------------------------------------------------------------------------------

def _quad(f, a, b, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        return integrate.quad(f, a, b, limit=400, **kw)[0]


def _domain(prior):
    if isinstance(prior, NormalPrior):
        return -9.0, 9.0
    return prior.low, prior.high


@pytest.mark.parametrize("prior", [NormalPrior(), UniformPrior()], ids=repr)
@pytest.mark.parametrize("eps", [[1.0, 1.0, 1.0], [3.0, -0.5, 7.0, 0.0], [20.0, 20.0, -20.0], [0.3, 15.0, 2.0],
                                 [-6.0, 19.0, 1.0, 4.0, -11.0]])
def test_ppa_against_difference_density_quad(prior, eps):
    """E[M_i] = z C(m,2) sum_j int f_D(d) [s_i s_j + (1 - s_i)(1 - s_j)] dd with s_x = sigmoid(eps_x d)."""
    z, m = 1.7, 4
    L = 30.0 if isinstance(prior, NormalPrior) else prior.high - prior.low
    total = 0.0
    for ej in eps[1:]:
        f = lambda d, ej=ej: prior.difference_pdf(d) * (sig(eps[0] * d) * sig(ej * d)
                                                         + sig(-eps[0] * d) * sig(-ej * d))
        total += _quad(f, -L, 0.0, epsabs=0, epsrel=1e-13) + _quad(f, 0.0, L, epsabs=0, epsrel=1e-13)
    want = z * comb(m, 2) * total
    assert PPA(z).exact(eps, m, prior) == pytest.approx(want, rel=1e-10)


# The integrands are numba ``cfunc``s wrapped as ``scipy.LowLevelCallable`` so that the adaptive
# quadrature runs in C; they restate the model from scratch (sigmoids of quality differences times prior
# densities) and share no code with the engine.
_SIG = types.double(types.intc, types.CPointer(types.double))


@cfunc(_SIG, cache=True)
def _bsst_given_theta(n, xx):
    """xx = (theta_a'', theta_a', theta_a, eps_i, eps_j, eps_k, z, y, normal?): E[v | theta] times the density."""
    t2, t1, t0 = xx[0], xx[1], xx[2]
    ei, ej, ek, z, y, normal = xx[3], xx[4], xx[5], xx[6], xx[7], xx[8]
    out = 0.0
    for s in (1.0, -1.0):
        p_i = 1.0 / (1.0 + math.exp(-s * ei * (t0 - t1)))     # Pr(R_i(a, a') = s)
        b = 1.0 / (1.0 + math.exp(-s * ej * (t2 - t1)))       # Pr(R_j(a'', a') = s)       (bonus)
        q = 1.0 / (1.0 + math.exp(s * ek * (t2 - t0)))        # Pr(R_k(a'', a) = -s)      (no penalty)
        out += p_i * (y * (b + q) + (z - 2.0 * y) * b * q)
    if normal > 0.5:
        out *= math.exp(-0.5 * (t0 * t0 + t1 * t1 + t2 * t2)) / (2.0 * math.pi) ** 1.5
    return out


@cfunc(_SIG, cache=True)
def _three_cycle_density(n, xx):
    """xx = (theta_c, theta_a, theta_b, s, eps_i, normal?): Pr(b > c and c > a in i's reports) (s = +1:
    i reports a > b, so a -> b -> c -> a is a 3-cycle) times the density of theta_c."""
    c, ta, tb, s, ei, normal = xx[0], xx[1], xx[2], xx[3], xx[4], xx[5]
    v = 1.0 / (1.0 + math.exp(-s * ei * (tb - c))) / (1.0 + math.exp(-s * ei * (c - ta)))
    if normal > 0.5:
        v *= math.exp(-0.5 * c * c) / math.sqrt(2.0 * math.pi)
    return v


def _is_normal(prior):
    assert prior in (NormalPrior(), UniformPrior())      # the cfuncs hard-code N(0,1) and U[0,1]
    return 1.0 if isinstance(prior, NormalPrior) else 0.0


def bsst_term_nested_quad(prior, ei, ej, ek, z, y, tol):
    """E[v(R_i(a,a'), R_j(a'',a'), R_k(a'',a))] by three nested adaptive quadratures over the qualities."""
    lo, hi = _domain(prior)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        return integrate.nquad(LowLevelCallable(_bsst_given_theta.ctypes), [[lo, hi]] * 3,
                               args=(ei, ej, ek, z, y, _is_normal(prior)),
                               opts={"epsabs": tol, "epsrel": tol, "limit": 200})[0]


@pytest.mark.parametrize("prior", [NormalPrior(), UniformPrior()], ids=repr)
@pytest.mark.parametrize("eps", [[1.0, 2.0, -0.5], [2.5, 0.7, 1.5]])
def test_bsst_against_tplquad(prior, eps):
    """N = 3, m = 3: E[M_i] = 3 * (E[v; j=1, k=2] + E[v; j=2, k=1])."""
    z, y = 1.0, 0.3
    ei, e1, e2 = eps
    want = 3 * (bsst_term_nested_quad(prior, ei, e1, e2, z, y, 1e-10)
                + bsst_term_nested_quad(prior, ei, e2, e1, z, y, 1e-10))
    assert BSST(z, y).exact(eps, 3, prior) == pytest.approx(want, rel=1e-9)


def apa3_nested_quad(prior, ei, ej, m, tol):
    """Pr(pair (a,b) is 3cycle-coherent for i and R_i(a,b) = R_j(a,b)): outer double integral over
    (theta_a, theta_b) of ``sum_s Pr(R_i = s) Pr(R_j = s) (1 - q_s)^(m-2)``, where the inner integral
    ``q_s`` over a third item's quality is the probability that it closes a 3-cycle (the m - 2 third items
    are i.i.d. given theta_a, theta_b and i's reports on their edges are independent)."""
    lo, hi = _domain(prior)
    normal = _is_normal(prior)
    cyc = LowLevelCallable(_three_cycle_density.ctypes)
    pdf = (lambda t: math.exp(-0.5 * t * t) / math.sqrt(2 * math.pi)) if normal else (lambda t: 1.0)

    def outer(tb, ta):
        tot = 0.0
        for s in (1.0, -1.0):
            q = integrate.quad(cyc, lo, hi, args=(ta, tb, s, ei, normal), epsabs=tol, epsrel=tol, limit=200)[0]
            tot += sig(s * ei * (ta - tb)) * sig(s * ej * (ta - tb)) * (1.0 - q) ** (m - 2)
        return tot * pdf(ta) * pdf(tb)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        return integrate.dblquad(outer, lo, hi, lo, hi, epsabs=tol, epsrel=tol)[0]


@pytest.mark.parametrize("prior", [NormalPrior(), UniformPrior()], ids=repr)
@pytest.mark.parametrize("eps, m", [([1.5, 0.8, -2.0], 3), ([3.0, 1.0, 1.0], 4)])
def test_apa3_against_nested_quad(prior, eps, m):
    per_peer = {ej: apa3_nested_quad(prior, eps[0], ej, m, 1e-9) for ej in set(eps[1:])}
    want = comb(m, 2) * sum(per_peer[ej] for ej in eps[1:])
    assert APA().exact(eps, m, prior) == pytest.approx(want, rel=1e-9)


# --------------------------------------------------------------------------------------------
# refinement
# --------------------------------------------------------------------------------------------

REFINE_CASES = [([20.0, 20.0, 20.0], 3), ([20.0, -20.0, 5.0], 4), ([0.5, 20.0, -3.0, 9.0], 5),
                ([1.0, 1.0, 1.0], 4), ([-13.7, 2.2, 19.9, 7.1], 3), ([0.0, 0.0, 20.0], 5)]


@pytest.mark.parametrize("prior", ["normal", "uniform"])
@pytest.mark.parametrize("mech", [PPA(), BSST(0.9, 0.3), APA()], ids=repr)
def test_refine_two_changes_nothing(mech, prior):
    for eps, m in REFINE_CASES:
        a = mech.exact(eps, m, prior)
        b = mech.exact(eps, m, prior, refine=2)
        assert a == pytest.approx(b, rel=1e-12, abs=0), (eps, m)


def test_check_accuracy_reports_refinement_difference():
    r = APA().expected_payment((5.0, "h"), (2.0, "dishonest"), n_agents=4, n_items=4, check_accuracy=True)
    assert r.error_estimate is not None and r.error_estimate <= 1e-12 * r.expected_payment
    assert APA().expected_payment((5.0, "h"), (2.0, "dishonest"), n_agents=4, n_items=4).error_estimate is None
    rs = APA(1.0, "scc").expected_payment((1.0, "h"), (1.0, "h"), n_agents=3, n_items=4, check_accuracy=True)
    assert rs.error_estimate < 1e-8 * rs.expected_payment


def test_payment_result_fields():
    r = BSST(2.0, 0.5).expected_payment((1.0, "h"), (1.0, "h"), n_agents=4, n_items=3, prior="uniform")
    d = r.to_dict()
    assert d["mechanism"] == "bsst" and d["n_agents"] == 4 and d["n_items"] == 3 and d["prior"] == "uniform"
    assert d["method"] == "exact" and d["stderr"] is None
    assert float(r) == r.expected_payment
    assert BSST(2.0, 0.5).max_payment(4, 3) == 2.0 * T_B(4, 3)
    assert APA().n_terms(5, 4) == T_P(5, 4)


# --------------------------------------------------------------------------------------------
# validation: ValueError naming the parameter
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("call, param", [
    (lambda: PPA().expected_payment((-1.0, "h"), (1.0, "h"), n_agents=3), "effort"),
    (lambda: PPA().expected_payment((np.nan, "h"), (1.0, "h"), n_agents=3), "effort"),
    (lambda: PPA().expected_payment((1.0, "h"), (np.inf, "h"), n_agents=3), "effort"),
    (lambda: PPA().expected_payment((1.0, "h"), (1.0, "h"), n_agents=2), "n_agents"),
    (lambda: PPA().expected_payment((1.0, "h"), [(1.0, "h")]), "n_agents"),
    (lambda: PPA().expected_payment((1.0, "h"), (1.0, "h")), "n_agents"),
    (lambda: BSST().expected_payment((1.0, "h"), (1.0, "h"), n_agents=3, n_items=2), "n_items"),
    (lambda: APA().expected_payment((1.0, "h"), (1.0, "h"), n_agents=3, n_items=2), "n_items"),
    (lambda: PPA().expected_payment((1.0, "h"), (1.0, "h"), n_agents=3, n_items=1), "n_items"),
    (lambda: BSST(1.0, 1.0), "y"),
    (lambda: BSST(1.0, 1.5), "y"),
    (lambda: BSST(1.0, 0.0), "y"),
    (lambda: PPA(0.0), "z"),
    (lambda: BSST(-1.0, 0.5), "z"),
    (lambda: APA(np.nan), "z"),
    (lambda: make_mechanism("vcg"), "mechanism"),
    (lambda: APA(1.0, "4cycle"), "coherence"),
    (lambda: make_mechanism("apa", coherence="dag"), "coherence"),
    (lambda: PPA().expected_payment((1.0, "h"), (1.0, "h"), n_agents=3, prior="cauchy"), "prior"),
    (lambda: PPA().expected_payment((1.0, "h"), (1.0, "h"), n_agents=3, method="bayes"), "method"),
    (lambda: PPA().expected_payment((1.0, "h"), (1.0, "h"), n_agents=3, method="mc", samples=1), "samples"),
    (lambda: PPA().expected_payment((1.0, "lie"), (1.0, "h"), n_agents=3), "report"),
    (lambda: APA(1.0, "scc").expected_payment((1.0, "h"), (1.0, "h"), n_agents=3, n_items=6), "n_items"),
])
def test_validation_names_the_parameter(call, param):
    with pytest.raises(ValueError, match=param):
        call()


def test_scc_engine_refuses_huge_grids():
    with pytest.raises(ValueError, match="method='mc'"):
        APA(1.0, "scc").expected_payment((30.0, "h"), (30.0, "h"), n_agents=3, n_items=5)
    with pytest.raises(ValueError, match="signed_efforts"):
        PPA().exact([1.0, 1.0], 3)


# --------------------------------------------------------------------------------------------
# vectorised tables (used by the equilibrium solvers) == pointwise exact
# --------------------------------------------------------------------------------------------

TABLE_OWN = np.array([-20.0, -3.0, -0.5, 0.0, 0.7, 2.0, 9.0, 20.0])
TABLE_PEER = np.array([-4.0, 0.0, 1.0, 15.0])


@pytest.mark.parametrize("prior, rel", [("normal", 1e-11), ("uniform", 1e-11), (stats.expon(), 1e-6)],
                         ids=["normal", "uniform", "expon"])
@pytest.mark.parametrize("mech", [PPA(1.3), BSST(1.0, 0.3), APA()], ids=repr)
@pytest.mark.parametrize("N, m", [(3, 3), (5, 4)])
def test_payment_table_and_curve_equal_pointwise_exact(mech, prior, rel, N, m):
    own, peer = TABLE_OWN, TABLE_PEER
    peers = np.array([2.0, -0.5, 2.0, 15.0])[: N - 1]
    if not isinstance(prior, str):      # ScipyPrior rules are large at high effort: a smaller grid
        own, peer, peers = own[1:-2], peer[:-1], np.array([2.0, -0.5, 2.0, 4.0])[: N - 1]
    tab = mech.payment_table(own, peer, N, m, prior)
    assert tab.shape == (own.size, peer.size)
    want = np.array([[mech.exact(np.r_[a, np.full(N - 1, b)], m, prior) for b in peer] for a in own])
    np.testing.assert_allclose(tab, want, rtol=rel)
    cur = mech.payment_curve(own, peers, m, prior)
    want_c = np.array([mech.exact(np.r_[a, peers], m, prior) for a in own])
    np.testing.assert_allclose(cur, want_c, rtol=rel)
    # the cheaper bracketing rule is still close
    np.testing.assert_allclose(mech.payment_table(own, peer, N, m, prior, refine=0.5), want,
                               rtol=1e-6 if rel < 1e-8 else 1e-3)


def test_payment_table_scc_and_validation():
    mech = APA(1.0, "scc")
    own, peer = np.array([-1.0, 0.0, 2.0]), np.array([-1.0, 1.5])
    tab = mech.payment_table(own, peer, 3, 4)
    want = np.array([[mech.exact([a, b, b], 4) for b in peer] for a in own])
    np.testing.assert_allclose(tab, want, rtol=1e-12)
    with pytest.raises(ValueError, match="n_agents"):
        PPA().payment_table([1.0], [1.0], 2, 3)
    with pytest.raises(ValueError, match="n_items"):
        BSST().payment_table([1.0], [1.0], 3, 2)
    with pytest.raises(ValueError, match="n_agents"):
        APA().payment_curve([1.0], [1.0], 3)


# --------------------------------------------------------------------------------------------
# ScipyPrior against an independent quadrature (expon: the difference is Laplace(0, 1))
# --------------------------------------------------------------------------------------------

def _ppa_expon_quad(eps, m, z):
    lap = lambda d: 0.5 * np.exp(-abs(d))
    pts = [-60.0, -10.0, -3.0, -1.0, -0.3, -0.1, 0.0, 0.1, 0.3, 1.0, 3.0, 10.0, 60.0]
    total = 0.0
    for ej in eps[1:]:
        f = lambda d, ej=ej: lap(d) * (sig(eps[0] * d) * sig(ej * d) + sig(-eps[0] * d) * sig(-ej * d))
        total += sum(_quad(f, a, b, epsabs=1e-16, epsrel=1e-13) for a, b in zip(pts[:-1], pts[1:]))
    return z * comb(m, 2) * total


@pytest.mark.parametrize("eps", [[1.0, 1.0, 1.0], [5.0, -2.0, 3.0, 0.5]])
def test_scipy_prior_ppa_against_quad(eps):
    d = stats.expon()
    assert PPA(1.3).exact(eps, 3, d) == pytest.approx(_ppa_expon_quad(eps, 3, 1.3), rel=1e-8)


def test_scipy_prior_large_effort_converges_to_quad():
    d = stats.expon()
    eps = [-20.0, 15.0, 15.0]
    want = _ppa_expon_quad(eps, 3, 1.3)
    r = PPA(1.3).expected_payment((20.0, "dishonest"), (15.0, "h"), n_agents=3, n_items=3, prior=d,
                                  check_accuracy=True)
    assert r.expected_payment == pytest.approx(want, rel=1e-8)
    # the estimate must cover the true error, up to the roundoff floor of the sums
    assert r.error_estimate + 1e-12 * abs(want) >= abs(r.expected_payment - want)


# --------------------------------------------------------------------------------------------
# invariants of the exact engine on hypothesis-generated profiles
# --------------------------------------------------------------------------------------------

@settings(max_examples=30, deadline=None)
@given(eps=st.lists(st.floats(-12.0, 12.0), min_size=3, max_size=5), m=st.integers(3, 5),
       prior=st.sampled_from(["normal", "uniform"]), data=st.data())
def test_exact_invariants(eps, m, prior, data):
    eps = np.array(eps)
    N = eps.size
    ppa, bsst, apa = PPA(1.0), BSST(1.0, 0.3), APA(1.0)
    vp, vb, va = ppa.exact(eps, m, prior), bsst.exact(eps, m, prior), apa.exact(eps, m, prior)
    # limited liability and the maximum payment, in expectation
    assert 0.0 <= vp <= ppa.max_payment(N, m) * (1 + 1e-12)
    assert 0.0 <= vb <= bsst.max_payment(N, m) * (1 + 1e-12)
    assert 0.0 <= va <= vp * (1 + 1e-12)
    perm = np.r_[0, 1 + np.array(data.draw(st.permutations(range(N - 1))))]
    for mech, v in ((ppa, vp), (bsst, vb), (apa, va)):
        assert mech.exact(-eps, m, prior) == pytest.approx(v, rel=1e-11, abs=1e-12)       # global flip
        assert mech.exact(eps[perm], m, prior) == pytest.approx(v, rel=1e-12, abs=1e-12)  # peer order
    # PPA's per-peer agreement probability is symmetric in (eps_i, eps_j)
    a, b = eps[0], eps[1]
    assert ppa.exact([a, b, b], m, prior) == pytest.approx(ppa.exact([b, a, a], m, prior), rel=1e-11)

"""The exact engine at any effort (issue 13, item 1): closed-form large-effort expansions, agreement over
efforts 1e-8 .. 1e6, independent nested quadrature, bounded memory.

Closed forms used (``f`` the prior density, ``f_D`` the density of ``D = theta_a - theta_b``,
``g = sigmoid (1 - sigmoid)``, ``int g = 1``, ``int x^2 g = pi^2/3``, ``int x^4 g = 7 pi^4 / 15``):

* PPA, all agents at effort ``w``: ``Pr(disagree) = 2 int f_D(d) g(w d) dd``.  Normal prior
  (``f_D = N(0, 2)``): ``(2 f_D(0) / w) (1 - pi^2 / (12 w^2) + 7 pi^4 / (480 w^4) - 31 pi^6 / (8064 w^6))``
  ``+ O(w^-9)`` (``int x^6 g = 31 pi^6 / 21``); uniform prior
  (triangular ``f_D``, kink at 0): ``2/w - 4 log 2 / w^2`` up to ``O(e^-w)``.  Own ``+w`` against peers at ``-w``
  agree exactly when all-``w`` agents disagree.
* BSST, all at ``w``: ``E[v] = (z + 2y)(1 + A) / 4`` per term with ``A = E_u[T(u)^2]``, ``T = 1 - 2 H``,
  ``H = F * logistic(1/w) = F + pi^2 f' / (6 w^2) + 7 pi^4 f''' / (360 w^4) + ...``, so
  ``A = 1/3 - (2 pi^2 / (3 w^2)) int f^3 + O(w^-4)``; the uniform prior's boundary layers give exactly
  ``A = 1/3 - 2 pi^2 / (3 w^2) + 14 zeta(3) / w^3`` up to ``O(e^-w)``.  Own ``+w`` against peers at ``-w``:
  ``E[v] = y (1 - A) + (z - 2y)(1 - 3A) / 4``.
* APA (3cycle), all at ``w``: a pair is incoherent only if its triangle with a third item is cyclic, which
  needs all three qualities within ``O(1/w)``:
  ``APA / (z T_P) = 1 - Pr(disagree) - (m - 2) K int f^3 / w^2 + O(w^-3)`` with
  ``K = 2 int int sigmoid(u - v)^2 sigmoid(v) sigmoid(-u) du dv = pi^2 / 4``.
* Own effort ``w -> inf`` against peers at fixed ``e_j``: ``i`` reports the true order (transitive, so coherent),
  and ``Pr(agree_j) = E[sigmoid(e_j |D|)] + O(1/w^2)``, for PPA and APA alike (dishonest: ``1 -`` that).
* Peers at ``+-W``, ``W -> inf``: they report the true (reversed) order, so APA's agreement term tends to
  ``2 E[S_i 1{theta_a > theta_b} (1 - M[b, a])^(m-2)]`` and BSST's ``A_ij`` to ``+-E_u[T_i(u) (1 - 2F(u))]``;
  both are computed here by nested ``scipy.integrate.quad`` (no engine code).
"""
from __future__ import annotations

import math
import time
import tracemalloc
import warnings
from math import comb

import numpy as np
import pytest
from numba import cfunc, types
from scipy import LowLevelCallable, integrate, special

import mechanisms.exact as ex
from agents import NormalPrior, UniformPrior
from mechanisms import APA, BSST, CA, DG13, PPA, StatisticRule

F0 = {"normal": 1.0 / (2.0 * math.sqrt(math.pi)), "uniform": 1.0}         # f_D(0)
F3 = {"normal": 1.0 / (2.0 * math.pi * math.sqrt(3.0)), "uniform": 1.0}   # int f^3
PRIOR = {"normal": NormalPrior(), "uniform": UniformPrior()}
ZETA3 = float(special.zeta(3.0))


def T_P(N, m):
    return comb(m, 2) * (N - 1)


def T_B(N, m):
    return comb(m, 2) * (m - 2) * (N - 1) * (N - 2)


def sig(u):
    return 0.5 * (1.0 + np.tanh(0.5 * u))


def ppa_disagree(prior, w):
    if prior == "normal":
        return 2.0 * F0[prior] / w * (1.0 - math.pi ** 2 / (12 * w * w) + 7 * math.pi ** 4 / (480 * w ** 4)
                                      - 31 * math.pi ** 6 / (8064 * w ** 6))
    return 2.0 / w - 4.0 * math.log(2.0) / w ** 2


def _quad(f, a, b, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        return integrate.quad(f, a, b, limit=500, **kw)[0]


def bsst_A(prior, w):
    """``E_u[T(u)^2]`` for effort ``w`` (asymptotic expansions in the module docstring)."""
    if prior == "uniform":
        return 1.0 / 3.0 - 2 * math.pi ** 2 / (3 * w * w) + 14 * ZETA3 / w ** 3
    phi = lambda u: math.exp(-0.5 * u * u) / math.sqrt(2 * math.pi)
    Phi = lambda u: 0.5 * math.erfc(-u / math.sqrt(2))
    d1 = lambda u: -u * phi(u)
    d3 = lambda u: (3 * u - u ** 3) * phi(u)
    c2 = math.pi ** 2 / 6
    c4 = 7 * math.pi ** 4 / 360
    # A = E[(1 - 2F - 2 dH)^2], dH = c2 f'/w^2 + c4 f'''/w^4
    lin2 = _quad(lambda u: (1 - 2 * Phi(u)) * d1(u) * phi(u), -12, 12, epsabs=1e-15)
    lin4 = _quad(lambda u: (1 - 2 * Phi(u)) * d3(u) * phi(u), -12, 12, epsabs=1e-15)
    sq = _quad(lambda u: d1(u) ** 2 * phi(u), -12, 12, epsabs=1e-15)
    return 1 / 3 - 4 * (c2 * lin2 / w ** 2 + c4 * lin4 / w ** 4) + 4 * c2 ** 2 * sq / w ** 4


# --------------------------------------------------------------------------------------------
# closed-form expansions at large efforts
# --------------------------------------------------------------------------------------------

def test_constants_of_the_expansions():
    K = integrate.dblquad(lambda v, u: 2 * sig(u - v) ** 2 * sig(v) * sig(-u), -60, 60, -60, 60,
                          epsabs=1e-13, epsrel=1e-12)[0]
    assert K == pytest.approx(math.pi ** 2 / 4, rel=1e-10)
    assert bsst_A("normal", 1e50) == pytest.approx(1 / 3, rel=1e-15)
    # -2 * 2 c2 E[(1 - 2F) f'] = -(2 pi^2 / 3) int f^3 (integration by parts)
    assert (bsst_A("normal", 1e3) - 1 / 3) * 1e6 == pytest.approx(-2 * math.pi ** 2 / 3 * F3["normal"], rel=1e-5)
    L = lambda x: math.log1p(math.exp(-x))
    assert _quad(lambda x: x * L(x), 0, 60) == pytest.approx(0.75 * ZETA3, rel=1e-12)
    assert _quad(lambda x: L(x) ** 2, 0, 60) == pytest.approx(ZETA3 / 4, rel=1e-12)


@pytest.mark.parametrize("prior", ["normal", "uniform"])
@pytest.mark.parametrize("w", [50.0, 300.0, 1e3, 1e4, 1e5, 1e6])
def test_ppa_closed_form(prior, w):
    N, m, z = 4, 4, 1.3
    q = ppa_disagree(prior, w)
    assert PPA(z).exact([w] * N, m, prior) == pytest.approx(z * T_P(N, m) * (1 - q), rel=1e-13)
    # own honest, peers dishonest at the same effort: agreement iff all-honest agents would disagree
    assert PPA(z).exact([w] + [-w] * (N - 1), m, prior) == pytest.approx(z * T_P(N, m) * q, rel=2e-9)


@pytest.mark.parametrize("prior", ["normal", "uniform"])
@pytest.mark.parametrize("w", [300.0, 1e3, 1e4, 1e5, 1e6])
def test_bsst_closed_form(prior, w):
    N, m, z, y = 4, 4, 1.0, 0.35
    A = bsst_A(prior, w)
    assert BSST(z, y).exact([w] * N, m, prior) == pytest.approx(T_B(N, m) * (z + 2 * y) * (1 + A) / 4, rel=1e-12)
    want = T_B(N, m) * (y * (1 - A) + (z - 2 * y) * (1 - 3 * A) / 4)
    assert BSST(z, y).exact([w] + [-w] * (N - 1), m, prior) == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize("prior", ["normal", "uniform"])
@pytest.mark.parametrize("m", [3, 4, 5])
@pytest.mark.parametrize("w", [1e4, 1e5, 1e6])
def test_apa_closed_form(prior, m, w):
    N = 4
    value = APA(1.0).exact([w] * N, m, prior) / T_P(N, m)
    want = 1.0 - ppa_disagree(prior, w) - (m - 2) * math.pi ** 2 / 4 * F3[prior] / w ** 2
    assert abs(value - want) <= 30.0 / w ** 3 + 2e-14
    # the limit itself, and the O(1/w) gap of the opposite reports
    assert APA(1.0).exact([w] + [-w] * (N - 1), m, prior) / T_P(N, m) == \
        pytest.approx(ppa_disagree(prior, w), rel=10.0 / w)


def agree_with_truth(prior, e):
    """``E[sigmoid(e |D|)] = 2 int_0^inf f_D(d) sigmoid(e d) dd`` by adaptive quadrature."""
    p = PRIOR[prior]
    L = 30.0 if prior == "normal" else 1.0
    return 2 * _quad(lambda d: p.difference_pdf(d) * sig(e * d), 0.0, L, epsabs=1e-15, epsrel=1e-14)


@pytest.mark.parametrize("prior", ["normal", "uniform"])
@pytest.mark.parametrize("w", [1e4, 1e6])
def test_large_own_effort_against_small_peers(prior, w):
    peers = [0.3, -2.0, 5.0]
    m = 4
    want = comb(m, 2) * sum(agree_with_truth(prior, e) for e in peers)
    for mech in (PPA(), APA()):
        assert mech.exact([w] + peers, m, prior) == pytest.approx(want, rel=100.0 / w ** 2 + 1e-13)
        assert mech.exact([-w] + peers, m, prior) == \
            pytest.approx(comb(m, 2) * len(peers) - want, rel=100.0 / w ** 2 + 1e-13)


# --------------------------------------------------------------------------------------------
# independent nested quadrature at large peer efforts (the peers report the true order)
# --------------------------------------------------------------------------------------------

_SIG = types.double(types.intc, types.CPointer(types.double))


@cfunc(_SIG, cache=True)
def _cycle_closer(n, xx):
    """xx = (theta_c, theta_a, theta_b, e, normal?): Pr(b > c > a in i's reports) times the density of c."""
    c, ta, tb, e, normal = xx[0], xx[1], xx[2], xx[3], xx[4]
    v = 1.0 / (1.0 + math.exp(-e * (tb - c))) / (1.0 + math.exp(-e * (c - ta)))
    if normal > 0.5:
        v *= math.exp(-0.5 * c * c) / math.sqrt(2.0 * math.pi)
    return v


@cfunc(_SIG, cache=True)
def _tanh_density(n, xx):
    """xx = (theta, u, e, normal?): tanh(e (theta - u) / 2) times the density of theta."""
    t, u, e, normal = xx[0], xx[1], xx[2], xx[3]
    v = math.tanh(0.5 * e * (t - u))
    if normal > 0.5:
        v *= math.exp(-0.5 * t * t) / math.sqrt(2.0 * math.pi)
    return v


def _dom(prior):
    return (-9.0, 9.0) if prior == "normal" else (0.0, 1.0)


def _pdf(prior):
    if prior == "normal":
        return lambda t: math.exp(-0.5 * t * t) / math.sqrt(2 * math.pi)
    return lambda t: 1.0


def apa_against_truthful_peer(prior, e, m, tol=1e-11):
    """``2 E[S_i[a,b] 1{theta_a > theta_b} (1 - q)^(m-2)]``, ``q = Pr(b > c > a)`` by an inner quad."""
    lo, hi = _dom(prior)
    nf = 1.0 if prior == "normal" else 0.0
    pdf = _pdf(prior)
    cyc = LowLevelCallable(_cycle_closer.ctypes)

    def inner(tb, ta):
        q = integrate.quad(cyc, lo, hi, args=(ta, tb, e, nf), epsabs=tol, epsrel=tol, limit=200,
                           points=[tb, ta])[0]
        return pdf(ta) * pdf(tb) * sig(e * (ta - tb)) * (1.0 - q) ** (m - 2)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        return 2 * integrate.quad(lambda ta: integrate.quad(inner, lo, ta, args=(ta,), epsabs=tol, epsrel=tol,
                                                            limit=200)[0], lo, hi, epsabs=tol, epsrel=tol,
                                  limit=200)[0]


def bsst_A_against_truth(prior, e, tol=1e-12):
    """``E_u[T_e(u) (1 - 2 F(u))]`` with ``T_e(u) = E[tanh(e (theta - u) / 2)]`` by an inner quad."""
    lo, hi = _dom(prior)
    nf = 1.0 if prior == "normal" else 0.0
    pdf = _pdf(prior)
    F = (lambda u: 0.5 * math.erfc(-u / math.sqrt(2))) if prior == "normal" else (lambda u: u)
    th = LowLevelCallable(_tanh_density.ctypes)

    def outer(u):
        T = integrate.quad(th, lo, hi, args=(u, e, nf), epsabs=tol, epsrel=tol, limit=200, points=[u])[0]
        return pdf(u) * T * (1 - 2 * F(u))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        return integrate.quad(outer, lo, hi, epsabs=tol, epsrel=tol, limit=200)[0]


@pytest.mark.parametrize("prior", ["normal", "uniform"])
@pytest.mark.parametrize("e, m", [(0.7, 4), (6.0, 3), (25.0, 5)])
def test_apa_small_own_against_truthful_peers_nested_quad(prior, e, m):
    W = 1e6
    g = apa_against_truthful_peer(prior, e, m)
    P = comb(m, 2)
    # per peer: +W agrees with the true order, -W with the reversed order (the sum is 2 G(e, 0) = Pr(coherent))
    plus = APA().exact([e, W, W], m, prior)
    assert plus / (2 * P) == pytest.approx(g, rel=1e-10)
    g0 = APA().exact([e, 0.0, 0.0], m, prior)     # a different (coarser) rule
    assert APA().exact([e, -W, -W], m, prior) + plus == pytest.approx(2 * g0, rel=1e-13)


@pytest.mark.parametrize("prior", ["normal", "uniform"])
@pytest.mark.parametrize("e", [0.4, 3.0, 40.0])
def test_bsst_against_truthful_peers_nested_quad(prior, e):
    W, z, y, m = 1e6, 1.0, 0.3, 3
    Ai = bsst_A_against_truth(prior, e)
    Ap = 1.0 / 3.0 - 2 * math.pi ** 2 / (3 * W * W) * F3[prior]          # the two peers (+W against -W)
    # N = 3, peers at +W and -W; ordered peer pairs (j, k): A_ij = +-Ai, A_ik = -+Ai, A_jk = -Ap
    want = 0.0
    for A_ij, A_ik, A_jk in ((Ai, -Ai, -Ap), (-Ai, Ai, -Ap)):
        EB, EQ, EBQ = (1 + A_ij) / 2, (1 + A_ik) / 2, (1 + A_ij + A_ik - A_jk) / 4
        want += y * (EB + EQ) + (z - 2 * y) * EBQ
    want *= comb(m, 2) * (m - 2)
    assert BSST(z, y).exact([e, W, -W], m, prior) == pytest.approx(want, rel=1e-11)


# --------------------------------------------------------------------------------------------
# agreement across efforts 1e-8 .. 1e6
# --------------------------------------------------------------------------------------------

EFFORTS = [1e-8, 0.03, 1.0, 2.7, 20.0, 400.0, 5e4, 1e6]
PROFILES = [lambda w: ([w, w, w], 3), lambda w: ([w, -w, 0.7, w], 4), lambda w: ([-w, 1.3, -0.2], 5),
            lambda w: ([0.9, w, 2.0, -w, 6.0], 4), lambda w: ([w, 3.0, 3.0 * w], 4)]
MECHS = [PPA(1.3), BSST(1.0, 0.3), APA(), DG13(), CA(), StatisticRule([0.1, 0.4, 0.7, 1.0], [0.2, 0.5, 0.3, 0.9])]


@pytest.mark.parametrize("prior", ["normal", "uniform"])
@pytest.mark.parametrize("mech", MECHS, ids=repr)
def test_refinement_changes_nothing_at_any_effort(mech, prior):
    for w in EFFORTS:
        for prof in PROFILES:
            eps, m = prof(w)
            a = mech.exact(eps, m, prior)
            b = mech.exact(eps, m, prior, refine=2)
            assert a == pytest.approx(b, rel=1e-12, abs=1e-14 * mech.max_payment(len(eps), m)), (w, eps, m)
            assert math.isfinite(a) and -1e-12 <= a <= mech.max_payment(len(eps), m) * (1 + 1e-12)


@pytest.mark.parametrize("prior", ["normal", "uniform"])
@pytest.mark.parametrize("mech", [PPA(1.3), BSST(1.0, 0.3), APA()], ids=repr)
def test_agrees_with_previous_engine_at_moderate_effort(mech, prior, monkeypatch):
    for w in [1e-8, 1e-4, 0.5, 2.7, 9.0, 20.0]:
        for prof in PROFILES:
            eps, m = prof(w)
            if max(abs(e) for e in eps) > 20.0:
                continue
            new = mech.exact(eps, m, prior)
            monkeypatch.setattr(ex, "_USE_LEGACY", True)
            old = mech.exact(eps, m, prior)
            monkeypatch.setattr(ex, "_USE_LEGACY", False)
            assert new == pytest.approx(old, rel=2e-12), (w, eps, m)


@pytest.mark.parametrize("prior", ["normal", "uniform"])
def test_small_efforts_expand_around_uninformed(prior):
    """``w -> 0``: ``C = E[t(w D)^2] = w^2 Var(D) / 4 - w^4 E[D^4] / 24 + O(w^6)``; BSST's ``A = w^2 Var(theta) / 4 + ...``; APA
    tends to the uninformed ``(3/4)^(m-2) / 2`` per term."""
    var = 1.0 if prior == "normal" else 1.0 / 12.0
    d4 = 12.0 if prior == "normal" else 1.0 / 15.0              # E[D^4]
    N, m = 4, 4
    for w in (1e-8, 1e-5, 1e-3):
        C = w * w * 2 * var / 4 - w ** 4 * d4 / 24
        assert PPA().exact([w] * N, m, prior) == pytest.approx(T_P(N, m) * (1 + C) / 2, rel=1e-14)
        assert BSST(1.0, 0.3).exact([w] * N, m, prior) == \
            pytest.approx(T_B(N, m) * 1.6 * (1 + w * w * var / 4) / 4, rel=1e-12)
        assert APA().exact([w] * N, m, prior) == pytest.approx(T_P(N, m) * 0.75 ** (m - 2) / 2, rel=4 * w)


@pytest.mark.parametrize("prior", ["normal", "uniform"])
def test_tables_and_curves_at_large_effort_equal_pointwise(prior):
    own = np.array([-1e6, -250.0, -0.5, 0.0, 1e-6, 3.0, 80.0, 1e5])
    peer = np.array([-1e6, -2.0, 0.0, 15.0, 4e3])
    peers = np.array([1e6, -3.0, 0.2])
    for mech in (PPA(), BSST(1.0, 0.3), APA(), StatisticRule([0, 0.3, 0.2, 1.0], [0, 0.1, 0.4, 0.8])):
        tab = mech.payment_table(own, peer, 3, 4, prior)
        want = np.array([[mech.exact([a, b, b], 4, prior) for b in peer] for a in own])
        np.testing.assert_allclose(tab, want, rtol=1e-11, atol=1e-13 * mech.max_payment(3, 4))
        cur = mech.payment_curve(own, peers, 4, prior)
        want_c = np.array([mech.exact(np.r_[a, peers], 4, prior) for a in own])
        np.testing.assert_allclose(cur, want_c, rtol=1e-11, atol=1e-13 * mech.max_payment(4, 4))
        # the solvers' cheaper bracketing rule
        np.testing.assert_allclose(mech.payment_table(own, peer, 3, 4, prior, refine=0.5), want, rtol=1e-6,
                                   atol=1e-9 * mech.max_payment(3, 4))


def test_statistic_rule_reproduces_mechanisms_at_large_effort():
    eps = [2e5, -7.0, 3e4, 0.1]
    for prior in ("normal", "uniform"):
        assert StatisticRule(pair=[0, 0, 0, 1.0]).exact(eps, 4, prior) == pytest.approx(APA().exact(eps, 4, prior),
                                                                                       rel=1e-12)
        assert StatisticRule(triple=[0, 0.3, 0.3, 1.0]).exact(eps, 4, prior) == \
            pytest.approx(BSST(1.0, 0.3).exact(eps, 4, prior), rel=1e-12)


# --------------------------------------------------------------------------------------------
# bounded memory and time
# --------------------------------------------------------------------------------------------

def _clear_caches():
    ex._APA_VEC_CACHE.clear()
    ex._APA_PAIR_CACHE.clear()
    for name in ("_difference_rule_graded", "_u_rule_uniform", "_apa_outer_normal", "_apa_outer_uniform",
                 "_s_rule_normal", "_T_normal_interpolant"):
        getattr(ex, name).cache_clear()


def test_vector_cache_is_bounded_by_bytes_first_in_first_out():
    c = ex._BytesBoundedCache(1000)
    for k in range(12):
        c.put(k, (np.zeros(10), np.zeros(5)))         # 120 bytes each: 8 fit
        assert c.nbytes == sum(a.nbytes + b.nbytes for a, b in c.values()) <= 1000
    assert list(c) == list(range(4, 12))
    c.put("big", (np.zeros(40),))                     # 320 > limit / 4: not kept
    assert "big" not in c and len(c) == 8
    c.put(11, (np.zeros(1),))                         # a key already held is kept as it is
    assert c[11][0].size == 10
    c.clear()
    assert not c and c.nbytes == 0


@pytest.mark.parametrize("prior", ["normal", "uniform"])
def test_apa_own_effort_cache_changes_no_bit(prior):
    # the tensor-grid engine (small efforts) caches its per-own-effort vectors; a warm cache, a cold one and
    # no cache at all give the same bits, for tables and single evaluations
    own, peers = np.array([-1.3, 0.2, 0.7, 2.5]), np.array([0.4, 1.1])
    ex._APA_PAIR_CACHE.clear()
    cold = APA().payment_table(own, peers, n_agents=3, n_items=4, prior=prior)
    assert len(ex._APA_PAIR_CACHE) > 0
    warm = APA().payment_table(own, peers, n_agents=3, n_items=4, prior=prior)
    single = [APA().exact([e, p, p], 4, prior) for e in own for p in peers]
    limit = ex._APA_PAIR_CACHE.limit
    try:
        ex._APA_PAIR_CACHE.clear()
        ex._APA_PAIR_CACHE.limit = 0                      # nothing is kept
        none = APA().payment_table(own, peers, n_agents=3, n_items=4, prior=prior)
        single_none = [APA().exact([e, p, p], 4, prior) for e in own for p in peers]
        assert len(ex._APA_PAIR_CACHE) == 0
    finally:
        ex._APA_PAIR_CACHE.limit = limit
    np.testing.assert_array_equal(cold, warm)
    np.testing.assert_array_equal(cold, none)
    assert single == single_none


@pytest.mark.parametrize("prior", ["normal", "uniform"])
def test_memory_and_time_bounded_at_effort_1e6(prior):
    APA().exact([2.0, 2.0, 2.0], 3, prior)          # numba caches loaded outside the measurement
    _clear_caches()
    tracemalloc.start()
    try:
        t0 = time.perf_counter()
        v = APA().exact([1e6, 1e6, -0.3, 1e6], 4, prior)
        b = BSST().exact([1e6, 1e6, -0.3, 1e6], 4, prior)
        elapsed = time.perf_counter() - t0
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert math.isfinite(v) and math.isfinite(b)
    assert peak < 250 * 2 ** 20, f"peak {peak / 2 ** 20:.0f} MB"
    assert elapsed < 20.0


@pytest.mark.parametrize("prior", ["normal", "uniform"])
def test_efforts_beyond_1e6_stay_finite_and_reach_the_limits(prior):
    """Grading stops at the layer width of effort 1e9; beyond, values tend to the deterministic limits."""
    N, m = 4, 4
    for w in (1e9, 1e12, 1e40, 1e300):
        q = ppa_disagree(prior, min(w, 1e40))
        assert PPA().exact([w] * N, m, prior) == pytest.approx(T_P(N, m) * (1 - q), rel=1e-11)
        assert APA().exact([w] * N, m, prior) == pytest.approx(T_P(N, m), rel=max(3.0 / w, 1e-11))
        assert BSST(1.0, 0.3).exact([w] * N, m, prior) == pytest.approx(T_B(N, m) * 1.6 / 3, rel=1e-11)
        v = APA().exact([w, -w, 0.5, 3 * w], m, prior)
        assert math.isfinite(v) and v == pytest.approx(APA().exact([1e12, -1e12, 0.5, 3e12], m, prior), rel=1e-9)


# --------------------------------------------------------------------------------------------
# scipy.stats priors: nested rule for PPA / BSST; APA refuses grids it cannot afford
# --------------------------------------------------------------------------------------------

def test_scipy_prior_large_own_effort_limit():
    """expon: ``D ~ Laplace(0, 1)``, ``E[sigmoid(e |D|)] = int_0^inf e^-d sigmoid(e d) dd``."""
    from scipy import stats
    d = stats.expon()
    peers = [0.3, -2.0]
    want = 3 * sum(_quad(lambda x, e=e: math.exp(-x) * sig(e * x), 0.0, 60.0, epsabs=1e-15, epsrel=1e-14)
                   for e in peers)
    for w in (1e4, 1e6):
        assert PPA().exact([w] + peers, 3, d) == pytest.approx(want, rel=100.0 / w ** 2 + 1e-11)
        for mech in (PPA(), BSST(1.0, 0.3)):
            eps = [w, -w, 0.3, 2 * w]
            assert mech.exact(eps, 3, d) == pytest.approx(mech.exact(eps, 3, d, refine=2), rel=1e-10)


def test_scipy_prior_apa_refuses_huge_grids_with_a_clear_message():
    from scipy import stats
    with pytest.raises(ValueError, match="method='mc'"):
        APA().exact([1e4, 1e4, 1e4], 3, stats.expon())

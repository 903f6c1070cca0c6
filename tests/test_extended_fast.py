"""The fast extended engine (APA 3cycle, StatisticRule) against the first implementation, kept as the reference.

``mechanisms.exact._EXT_REFERENCE = True`` routes :func:`mechanisms.exact.apa3_extended`,
:func:`mechanisms.statistics.statistic_features_extended` and the polynomial helpers of
:class:`mechanisms.base.Mechanism` through the previous code (no caches).  Values agree to ``1e-12`` relative
(to the largest entry of each result).  Monomial coefficients of ``convention_polynomial`` are an
ill-conditioned function of the values (degree ``2m - 3``), so there the test compares the polynomials on a
grid of ``q`` and checks that the fast coefficients reproduce direct evaluations off the Chebyshev nodes.
"""
import numpy as np
import pytest

import mechanisms.exact as X
from agents import as_prior
from mechanisms import APA, StatisticRule
from mechanisms.statistics import statistic_features_extended

RULE = StatisticRule(pair=[0.1, 0.3, 0.5, 1.0], triple=[0.0, 0.2, 0.3, 0.4])
QGRID = np.linspace(0.0, 1.0, 23)


def reference(fn, *args, **kwargs):
    old = X._EXT_REFERENCE
    X._EXT_REFERENCE = True
    try:
        return fn(*args, **kwargs)
    finally:
        X._EXT_REFERENCE = old


def assert_close(fast, ref, rtol=1e-12):
    fast, ref = np.asarray(fast), np.asarray(ref)
    assert fast.shape == ref.shape
    scale = max(float(np.max(np.abs(ref))), 1e-300)
    err = float(np.max(np.abs(fast - ref))) / scale
    assert err <= rtol, f"relative difference {err:.3g} > {rtol:g}"


def _profiles(seed, n=3):
    """Random own efforts (incl. 0, small and large, both signs), own q's, heterogeneous peers."""
    rng = np.random.default_rng(seed)
    for _ in range(n):
        scale = rng.choice([0.05, 1.0, 6.0, 40.0])
        own = np.r_[0.0, rng.normal(size=2) * scale]
        qs = rng.uniform(size=rng.integers(1, 4))
        n1 = int(rng.integers(2, 5))
        peers = rng.normal(size=n1) * rng.choice([0.3, 2.0, 20.0])
        peers[0] = peers[-1]                              # a repeated peer effort
        pq = rng.uniform(size=n1) * rng.choice([0.0, 1.0])
        yield own, qs, peers, pq


@pytest.mark.parametrize("prior", ["normal", "uniform"])
@pytest.mark.parametrize("m", [3, 4, 5])
def test_apa3_extended_matches_reference(prior, m):
    p = as_prior(prior)
    for own, qs, peers, _ in _profiles(10 * m + len(prior)):
        E_peer = np.r_[np.unique(peers), 0.0]
        fast = X.apa3_extended(p, own, qs, E_peer, m)
        ref = X._apa3_extended_reference(p, own, qs, E_peer, m)
        for a, b in zip(fast, ref):
            assert_close(a, b)


@pytest.mark.parametrize("prior", ["normal", "uniform"])
@pytest.mark.parametrize("m", [3, 4, 5])
def test_mechanisms_match_reference(prior, m):
    for own, qs, peers, pq in _profiles(100 + 10 * m + len(prior), n=2):
        for mech in (APA(), RULE):
            d = mech.convention_degree(m)
            assert_close(mech.extended_curve(own, qs, peers, pq, m, prior),
                         reference(mech.extended_curve, own, qs, peers, pq, m, prior))
            # more own q's than d + 1: Chebyshev interpolation in both
            assert_close(mech.extended_curve(own, QGRID, peers, pq, m, prior),
                         reference(mech.extended_curve, own, QGRID, peers, pq, m, prior))
            c = mech.convention_polynomial(own, peers, pq, m, prior)
            c_ref = reference(mech.convention_polynomial, own, peers, pq, m, prior)
            assert c.shape == c_ref.shape == (own.size, d + 1)
            assert_close(np.polynomial.polynomial.polyval(QGRID, c.T),
                         np.polynomial.polynomial.polyval(QGRID, c_ref.T), rtol=1e-11)
            direct = reference(mech.extended_curve, own, QGRID[[3, 11, 17]], peers, pq, m, prior)
            assert_close(np.polynomial.polynomial.polyval(QGRID[[3, 11, 17]], c.T), direct)
        assert_close(statistic_features_extended(own, qs, peers, pq, m, prior),
                     reference(statistic_features_extended, own, qs, peers, pq, m, prior))


def test_solver_shaped_calls_and_caches():
    """Three own efforts x own q's against N - 1 peers sharing one (eps, q), repeated (warm caches), then
    the same after clearing the caches, and with the own efforts' signs flipped (shared T tables)."""
    own, peers = np.array([0.9, 1.0, 1.1]), np.full(4, 1.0)
    for qs in ([0.3, 0.31, 0.32], np.linspace(0.0, 1.0, 7)):
        ref = reference(APA().extended_curve, own, qs, peers, 0.3, 4)
        first = APA().extended_curve(own, qs, peers, 0.3, 4)
        again = APA().extended_curve(own, qs, peers, 0.3, 4)
        np.testing.assert_array_equal(first, again)
        X._EXT_T_CACHE.clear()
        X._EXT_RULE_CACHE.clear()
        assert_close(APA().extended_curve(own, qs, peers, 0.3, 4), ref)
        assert_close(APA().extended_curve(-own, qs, -peers, 0.3, 4),
                     reference(APA().extended_curve, -own, qs, -peers, 0.3, 4))
    c = RULE.convention_polynomial(own, peers, 0.3, 3)
    np.testing.assert_array_equal(c, RULE.convention_polynomial(own, peers, 0.3, 3))


def test_large_effort_and_tiny_effort():
    for own, peers in (([1e4, -3e3], [2e4, 1.0]), ([1e-9, -1e-120], [1e-7, 0.5])):
        for prior in ("normal", "uniform"):
            assert_close(APA().extended_curve(own, [0.0, 0.4, 1.0], peers, [0.2, 0.7], 4, prior),
                         reference(APA().extended_curve, own, [0.0, 0.4, 1.0], peers, [0.2, 0.7], 4, prior))


def test_scipy_prior_tensor_path():
    from scipy import stats
    prior = stats.expon()
    own, peers, pq = [1.0, -0.7], [0.5, -1.3, 0.7], [0.6, 0.1, 0.8]
    for mech in (APA(), RULE):
        assert_close(mech.extended_curve(own, [0.0, 0.3], peers, pq, 4, prior),
                     reference(mech.extended_curve, own, [0.0, 0.3], peers, pq, 4, prior))


def test_memoised_features_are_copies():
    a = statistic_features_extended([1.0], [0.2], [1.0, 1.0], 0.1, 3)
    a[...] = -1.0
    b = statistic_features_extended([1.0], [0.2], [1.0, 1.0], 0.1, 3)
    assert np.all(b >= 0.0)


def test_byte_cache_is_bounded_and_lru():
    c = X._ByteCache(4 * 800)
    for k in range(6):
        c.put(k, (np.zeros(100),))                      # 800 bytes each
    assert list(c) == [2, 3, 4, 5] and c.nbytes == 3200
    assert c.touch(2) is not None and list(c) == [3, 4, 5, 2]
    c.put(6, (np.zeros(100),))
    assert list(c) == [4, 5, 2, 6] and c.nbytes == 3200
    c.put(7, (np.zeros(1000),))                         # larger than a quarter of the limit: not stored
    assert 7 not in c
    c.clear()
    assert c.nbytes == 0 and not c

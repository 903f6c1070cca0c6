"""Edge cases of the optimised kernels, against the plain expressions they must reproduce bit for bit.

The report kernel decides ``u < 1 / (1 + exp(-eps * d))`` through a certified bound on ``exp`` for
heterogeneous profiles (exact expression only when the bound cannot decide); these tests put ``u``
exactly at, and one ulp either side of, the threshold, and compare whole random draws with the
expression evaluated directly.  The coherence kernels use bitmasks up to m = 64 and int8 matrices
above; both are compared with the numpy reference.
"""
import math

import numpy as np
import pytest

from agents.bradley_terry import _draw_reports, pair_index
from mechanisms import APA, PPA
from mechanisms import reference as ref


def _exp(y):
    try:
        return math.exp(y)          # libm, like the kernel
    except OverflowError:           # IEEE: the kernel's exp returns inf there
        return math.inf


def _expected(theta, eps, u, pa, pb):
    d = theta[:, pa] - theta[:, pb]                     # (T, P)
    out = np.empty(u.shape, dtype=np.int8)
    T, N, P = u.shape
    for t in range(T):
        for x in range(N):
            for p in range(P):
                prob = 1.0 / (1.0 + _exp(-eps[x] * d[t, p]))       # libm exp, as the kernel's fallback
                out[t, x, p] = 1 if u[t, x, p] < prob else -1
    return out


@pytest.mark.parametrize("eps", [[1.5, 1.0, 1.0, 1.0, 1.0],            # few distinct efforts: row path
                                 [0.3, -1.7, 2.2, 0.9, -0.05, 4.0]],   # heterogeneous: bounded path
                         ids=["symmetric", "heterogeneous"])
def test_decisions_at_and_next_to_the_threshold(eps):
    rng = np.random.default_rng(7)
    m, T = 5, 60
    pa, pb = pair_index(m)
    eps = np.asarray(eps, dtype=float)
    theta = rng.standard_normal((T, m))
    u = rng.random((T, eps.size, pa.size))
    # put a third of the uniforms exactly on the threshold, a third one ulp below, a third one ulp above
    d = theta[:, pa] - theta[:, pb]
    for t in range(T):
        for x in range(eps.size):
            for p in range(pa.size):
                prob = 1.0 / (1.0 + _exp(-eps[x] * d[t, p]))
                k = (t + x + p) % 3
                u[t, x, p] = prob if k == 0 else (np.nextafter(prob, 0.0) if k == 1 else np.nextafter(prob, 1.0))
    out = np.empty(u.shape, dtype=np.int8)
    _draw_reports(theta, eps, u, pa, pb, out)
    np.testing.assert_array_equal(out, _expected(theta, eps, u, pa, pb))


@pytest.mark.parametrize("scale", [1e-3, 1.0, 40.0, 1e3])
def test_random_heterogeneous_draws_equal_the_plain_expression(scale):
    rng = np.random.default_rng(int(scale * 10) + 1)
    m, T = 4, 400
    pa, pb = pair_index(m)
    eps = rng.normal(0.0, scale, 7)
    theta = rng.standard_normal((T, m))
    u = rng.random((T, eps.size, pa.size))
    out = np.empty(u.shape, dtype=np.int8)
    _draw_reports(theta, eps, u, pa, pb, out)
    np.testing.assert_array_equal(out, _expected(theta, eps, u, pa, pb))


@pytest.mark.parametrize("m", [63, 64, 65, 66])
@pytest.mark.parametrize("rule", ["3cycle", "scc"])
def test_coherence_beyond_the_bitmask_width_matches_reference(m, rule):
    rng = np.random.default_rng(m)
    P = m * (m - 1) // 2
    R = np.where(rng.random((2, 3, P)) < 0.5, 1, -1).astype(np.int8)
    np.testing.assert_array_equal(APA(coherence=rule).coherent(R).astype(bool), ref.coherence(R, rule))
    np.testing.assert_allclose(APA(0.5, rule).payments(R), ref.apa_payments(R, 0.5, rule))
    np.testing.assert_allclose(PPA(0.5).payments(R), ref.ppa_payments(R, 0.5))

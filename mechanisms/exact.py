"""Exact expected payments: quadrature over item qualities, enumeration over report patterns.

Given ``theta`` all reports are independent (spec section 1), so every expected payment reduces to
low-dimensional integrals of products of ``sigmoid(eps * (theta_a - theta_b))``.  Write
``t(u) = tanh(u/2)`` and ``S_x[a, b] = sigmoid(eps_x (theta_a - theta_b))``.

* PPA (eq. 6), per pair and peer ``j``: ``Pr(agree) = (1 + E[t(eps_i D) t(eps_j D)]) / 2``, ``D = theta_a - theta_b``.
* BSST (eq. 7), per triple and ordered peers ``(j, k)``: with ``T_x(u) = E_theta[t(eps_x (theta - u))]`` and
  ``A_xy = E_u[T_x(u) T_y(u)]``, ``E[B] = (1 + A_ij)/2``, ``E[Q] = (1 + A_ik)/2`` and
  ``E[BQ] = (1 + A_ij + A_ik - A_jk)/4`` (the report patterns of ``(s_i, s_j, s_k)`` are enumerated);
  ``E[v] = y (E[B] + E[Q]) + (z - 2y) E[BQ]``.
* APA (eq. 8), ``3cycle`` rule: given ``theta_a, theta_b`` and ``i``'s report on ``(a, b)``, the ``m - 2``
  triangles through the pair use disjoint edges, so
  ``Pr(coherent, agree_j) = 2 E[S_i[a,b] S_j[a,b] (1 - M[b,a])^(m-2)]`` with
  ``M = S_i diag(w) S_i`` (``M[b, a] = Pr(b > c > a)`` for a fresh item ``c``): a three-dimensional
  integral done as a matrix product on the quadrature grid.
* APA, ``scc`` rule: the pair's coherence depends on the whole tournament, so the engine integrates over
  all ``m`` qualities on a tensor grid and enumerates all ``2^(m(m-1)/2)`` tournaments of agent ``i``.

Accuracy
--------
The one-dimensional rule is a composite 12-point Gauss-Legendre rule whose panels shrink as ``5/|eps|``
(:meth:`agents.Prior.rule`).  For the normal and uniform priors, PPA/BSST/APA-3cycle values agree with
(a) adaptive ``scipy.integrate.quad`` over the difference density (PPA), (b) nested adaptive quadrature
(BSST, APA) and (c) the same rule refined two- and four-fold, to better than ``1e-11`` relative for
``|eps| <= 20`` (``tests/test_exact.py``), and with Monte Carlo within 4 standard errors on a grid of
cases.  ``scc`` uses the same rule on an ``m``-dimensional tensor grid (``m - 1`` for normal priors) and refuses
grids above ``SCC_MAX_NODES`` points; ``check_accuracy=True`` reports the refinement difference.  PPA
integrates over the closed-form difference density where the prior has one.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from numba import njit

from agents.bradley_terry import pair_index


def _t(u):
    return np.tanh(0.5 * u)


def _s(u):
    return 0.5 * (1.0 + np.tanh(0.5 * u))


def _unique(eps):
    vals, inv, counts = np.unique(np.asarray(eps, dtype=float), return_inverse=True, return_counts=True)
    return vals, inv, counts


@njit(cache=True)
def _apa3_base_pair(x, w, a, p, out_pos, out_neg):
    """For own effort ``+a`` (``out_pos``) and ``-a`` (``out_neg``), fill the flattened
    ``w_a w_b S[a,b] (1 - M[b,a])^p`` with ``S = sigmoid(a (x_i - x_j))`` and ``M = S diag(w) S``.

    ``S(-a) = S(a)^T`` and ``M(-a) = M(a)^T``, so one pass serves both signs.  A plain loop (the inner one
    contiguous) beats multi-threaded BLAS at these sizes and does not oversubscribe the cores.
    """
    n = x.shape[0]
    S = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            S[i, j] = 0.5 * (1.0 + math.tanh(0.5 * a * (x[i] - x[j])))
    M = np.zeros((n, n))
    for b in range(n):
        for c in range(n):
            f = S[b, c] * w[c]
            for k in range(n):
                M[b, k] += f * S[c, k]
    for i in range(n):
        for j in range(n):
            ww = w[i] * w[j]
            out_pos[i * n + j] = ww * S[i, j] * (1.0 - M[j, i]) ** p
            out_neg[i * n + j] = ww * S[j, i] * (1.0 - M[i, j]) ** p


_APA3_LOOP_MAX_N = 400   # above this, BLAS's blocked matrix product beats the plain loop


def _apa3_base(x, w, a, n_items):
    """``(out_pos, out_neg)`` of :func:`_apa3_base_pair`; the product ``S diag(w) S`` goes to BLAS for large grids."""
    n = x.size
    if n <= _APA3_LOOP_MAX_N:
        pos = np.empty(n * n)
        neg = np.empty(n * n)
        _apa3_base_pair(np.ascontiguousarray(x), np.ascontiguousarray(w), a, n_items - 2, pos, neg)
        return pos, neg
    S = _s(a * (x[:, None] - x[None, :]))
    M = (S * w[None, :]) @ S
    ww = np.outer(w, w)
    return (ww * S * (1.0 - M.T) ** (n_items - 2)).ravel(), (ww * S.T * (1.0 - M) ** (n_items - 2)).ravel()


# --- scc: full tensor integration with tournament enumeration -------------------------------

@lru_cache(maxsize=None)
def _scc_tables(n_items: int):
    """For every tournament (bit p of the code = canonical pair p reported '+1'): coherence of pair (0, 1)
    under the scc rule, and the tournament's edge list."""
    from .kernels import COHERENCE_SCC, _coherent_pairs
    pa, pb = pair_index(n_items)
    P = pa.size
    n_t = 1 << P
    coh01 = np.zeros(n_t, dtype=np.int8)
    beats = np.zeros((n_items, n_items), dtype=np.int8)
    reach = np.zeros((n_items, n_items), dtype=np.int8)
    coh = np.zeros(P, dtype=np.int8)
    for code in range(n_t):
        for p in range(P):
            a, b = pa[p], pb[p]
            bit = (code >> p) & 1
            beats[a, b], beats[b, a] = bit, 1 - bit
        _coherent_pairs(beats, pa, pb, COHERENCE_SCC, reach, coh)
        coh01[code] = coh[0]
    return coh01, pa.copy(), pb.copy()


@njit(cache=True)
def _scc_integrand(x, w, B, eps_i, eps_vals, pa, pb, coh01, out):
    """Sum over the tensor grid ``u in x^k`` (``theta = B u``) of ``prod w`` times
    ``sum_T Pr(T | theta) coh01(T) Pr(R_j(0,1) = T_01 | theta)``; ``out[v]`` is for peer ``eps_vals[v]``."""
    n = x.shape[0]
    m, k = B.shape
    P = pa.shape[0]
    n_t = coh01.shape[0]
    u = np.zeros(k)
    theta = np.zeros(m)
    pplus = np.zeros(P)
    prob = np.zeros(n_t)
    nv = eps_vals.shape[0]
    total = 1
    for d in range(k):
        total *= n
    for flat in range(total):
        r = flat
        wt = 1.0
        for d in range(k):
            j = r % n
            r //= n
            u[d] = x[j]
            wt *= w[j]
        if wt == 0.0:
            continue
        for a in range(m):
            acc = 0.0
            for d in range(k):
                acc += B[a, d] * u[d]
            theta[a] = acc
        for p in range(P):
            pplus[p] = 1.0 / (1.0 + math.exp(-eps_i * (theta[pa[p]] - theta[pb[p]])))
        # probabilities of all tournaments, built bit by bit
        prob[0] = 1.0
        size = 1
        for p in range(P):
            q = pplus[p]
            for c in range(size):
                prob[c + size] = prob[c] * q
                prob[c] = prob[c] * (1.0 - q)
            size *= 2
        c_plus = 0.0
        c_minus = 0.0
        for c in range(n_t):
            if coh01[c] == 1:
                if c & 1:
                    c_plus += prob[c]
                else:
                    c_minus += prob[c]
        d01 = theta[0] - theta[1]
        for v in range(nv):
            sj = 1.0 / (1.0 + math.exp(-eps_vals[v] * d01))
            out[v] += wt * (c_plus * sj + c_minus * (1.0 - sj))


SCC_MAX_NODES = 30_000_000


def scc_coherent_agreement(prior, eps_i, eps_peers, n_items, refine=1):
    """``Pr(pair (0,1) coherent for i (scc) and R_i = R_j)`` per peer ``j``.

    Normal priors: the integrand depends on ``theta`` only through differences, so it is integrated over
    the ``(m-1)``-dimensional subspace orthogonal to ``(1, ..., 1)`` (``theta = B u``, ``u ~ N(0, I)``).
    Other priors: a full ``m``-dimensional tensor grid.  The one-dimensional rule is the same panel rule as
    for the other engines; grids above ``SCC_MAX_NODES`` points are refused (use Monte Carlo).
    """
    from agents.priors import NormalPrior
    coh01, pa, pb = _scc_tables(n_items)
    eps_peers = np.asarray(eps_peers, dtype=float)
    mx = float(np.max(np.abs(np.concatenate([[eps_i], eps_peers]))))
    if isinstance(prior, NormalPrior):
        # orthonormal basis of the complement of the all-ones direction, scaled by the prior's sd
        q, _ = np.linalg.qr(np.column_stack([np.ones(n_items), np.eye(n_items)[:, : n_items - 1]]))
        B = np.ascontiguousarray(q[:, 1:] * prior.scale)
        x, w = NormalPrior().rule(mx * prior.scale, refine)
    else:
        B = np.eye(n_items)
        x, w = prior.rule(mx, refine)
    n_nodes = float(x.size) ** B.shape[1]
    if n_nodes > SCC_MAX_NODES:
        raise ValueError(f"the exact scc engine would need {n_nodes:.3g} grid points (limit {SCC_MAX_NODES:.0e}) "
                         f"for n_items={n_items} and |effort| up to {mx:g}; use method='mc' or coherence='3cycle'")
    vals, inv, _ = _unique(eps_peers)
    out = np.zeros(vals.size)
    _scc_integrand(np.ascontiguousarray(x), np.ascontiguousarray(w), B, float(eps_i), vals,
                   pa, pb, coh01, out)
    return out[inv]


def principal_accuracy(prior, eps_all):
    """Eq. (3): expected fraction of pairs on which pairwise-majority aggregation matches the true order.

    With the paper's tie rule (a tie reports ``-1`` for the canonical pair) and an i.i.d. prior, the
    expected accuracy equals the one with half credit for ties (the two orientations of a tie are
    equally likely).  So the integrand is ``h(d) = Pr(K > N/2) + Pr(K = N/2)/2`` with ``K`` the number
    of agents reporting the true order when ``|theta_a - theta_b| = d``, integrated against the density
    of ``|theta_a - theta_b|`` (one-dimensional, no kink).
    """
    from agents.priors import composite_gauss_legendre
    eps_all = np.asarray(eps_all, dtype=float)
    N = eps_all.size
    xs, ws = prior.rule(0.0)
    lo, hi = prior._edges(1)[[0, -1]]
    dmax = float(hi - lo)
    panels = max(16, int(math.ceil(dmax * float(np.max(np.abs(eps_all), initial=0.0)) / 2.0)))
    d, wd = composite_gauss_legendre(np.linspace(0.0, dmax, panels + 1))
    if hasattr(prior, "difference_pdf"):
        dens = prior.difference_pdf(d)
    else:  # f_D(d) = E[f(theta + d)]
        dens = np.array([ws @ prior.pdf(xs + di) for di in d])
    dist = np.zeros((N + 1, d.size))
    dist[0] = 1.0
    for e in eps_all:
        q = _s(e * d)
        dist[1:] = dist[1:] * (1.0 - q) + dist[:-1] * q
        dist[0] = dist[0] * (1.0 - q)
    k = np.arange(N + 1)
    weight = np.where(2 * k > N, 1.0, np.where(2 * k == N, 0.5, 0.0))
    h = weight @ dist
    return float(2.0 * np.sum(wd * dens * h))


# --- vectorised tables for equilibrium search ------------------------------------------------

def _difference_rule(prior, max_abs_eps):
    """Rule for ``E[g(theta_a - theta_b)]`` on ``[-L, L]`` from the closed-form difference density,
    or ``None`` when the prior has none (then the two-dimensional tensor rule is used)."""
    from agents.priors import composite_gauss_legendre
    if not hasattr(prior, "difference_pdf"):
        return None
    lo, hi = prior._edges(1)[[0, -1]]
    L = float(hi - lo)
    panels = 2 * max(8, int(math.ceil(L * max_abs_eps / 4.0)))
    d, wd = composite_gauss_legendre(np.linspace(-L, L, panels + 1))
    return d, wd * prior.difference_pdf(d)


def agreement_correlation_table(prior, E1, E2, refine=1):
    """``C[p, q] = E[t(E1[p] D) t(E2[q] D)]`` with ``D = theta_a - theta_b`` (PPA's agreement, vectorised)."""
    E1 = np.asarray(E1, dtype=float)
    E2 = np.asarray(E2, dtype=float)
    mx = float(max(np.max(np.abs(E1), initial=0.0), np.max(np.abs(E2), initial=0.0)))
    rule = _difference_rule(prior, mx * refine)
    if rule is None:
        x, w = prior.rule(mx, refine)
        d = (x[:, None] - x[None, :]).ravel()
        wd = np.outer(w, w).ravel()
    else:
        d, wd = rule
    F1 = _t(E1[:, None] * d[None, :])
    F2 = _t(E2[:, None] * d[None, :])
    return (F1 * wd[None, :]) @ F2.T


def bsst_A_table(prior, E, refine=1):
    """``A[p, q] = E_u[T_p(u) T_q(u)]`` for all signed efforts in ``E`` (see module docstring)."""
    E = np.asarray(E, dtype=float)
    x, w = prior.rule(float(np.max(np.abs(E), initial=0.0)), refine)
    D = x[:, None] - x[None, :]
    Tv = np.stack([w @ _t(e * D) for e in E])
    return (Tv * w[None, :]) @ Tv.T


_APA_BASE_CACHE: dict = {}


def _apa3_base_stack(prior, E_own, n_items, x, w):
    """Stacked ``w_a w_b S_i[a,b] (1 - M[b,a])^(m-2)`` for every own signed effort (cached).

    ``S(-e) = S(e)^T`` and ``M(-e) = M(e)^T``, so only ``|e|`` is computed.  Cached because the solvers
    evaluate the same own grid against many peer profiles.
    """
    cacheable = E_own.size >= 8           # grids, not the pointwise calls of a refinement
    key = (repr(prior), n_items, x.size, float(x[0]), float(x[-1]), E_own.tobytes())
    hit = _APA_BASE_CACHE.get(key) if cacheable else None
    if hit is not None:
        return hit
    n = x.size
    xc, wc = np.ascontiguousarray(x), np.ascontiguousarray(w)
    out = np.empty((E_own.size, n * n))
    done = {}
    for k, e in enumerate(E_own):
        a = abs(float(e))
        if a not in done:
            done[a] = _apa3_base(xc, wc, a, n_items)
        out[k] = done[a][0] if e >= 0 else done[a][1]
    if cacheable:
        if len(_APA_BASE_CACHE) >= 8:
            _APA_BASE_CACHE.pop(next(iter(_APA_BASE_CACHE)))
        _APA_BASE_CACHE[key] = out
    return out


def apa3_table(prior, E_own, E_peer, n_items, refine=1):
    """``G[p, q] = Pr(coherent (3cycle) and agree)`` for own ``E_own[p]`` and one peer ``E_peer[q]``."""
    E_own = np.ascontiguousarray(E_own, dtype=float)
    E_peer = np.asarray(E_peer, dtype=float)
    mx = float(max(np.max(np.abs(E_own), initial=0.0), np.max(np.abs(E_peer), initial=0.0)))
    x, w = prior.rule(mx, refine)
    D = x[:, None] - x[None, :]
    Sp = np.stack([_s(e * D).ravel() for e in E_peer])      # (n_peer, n^2)
    return 2.0 * (_apa3_base_stack(prior, E_own, n_items, x, w) @ Sp.T)

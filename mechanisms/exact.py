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
  ``M[b, a] = E_c[S_i[b,c] S_i[c,a]] = Pr(b > c > a)`` for a fresh item ``c``.  Because the two sigmoid
  arguments add up to ``K = eps_i (theta_b - theta_a)`` for every ``c``, ``M[b, a] = (H(theta_b) - H(theta_a)) /
  (1 - exp(-K))`` with the one-dimensional ``H(u) = E_c[sigmoid(eps_i (u - c))] = (1 - T_i(u)) / 2``: the
  three-dimensional integral is a two-dimensional one.
* APA, ``scc`` rule: the pair's coherence depends on the whole tournament, so the engine integrates over
  all ``m`` qualities on a tensor grid and enumerates all ``2^(m(m-1)/2)`` tournaments of agent ``i``.

Quadrature at any effort (normal and uniform priors)
----------------------------------------------------
The integrands vary on the scale ``1/|eps|`` only in layers: at ``theta_a = theta_b`` (the reports'
sigmoids) and, for the uniform prior, at the ends of the support (boundary layers of ``T``).  Every rule is
a composite 12-point Gauss-Legendre rule on the prior's base panels plus panels graded geometrically
(ratio 2) towards each layer position down to width ``1/max|eps|`` (``max|eps|`` capped at ``1e9``):

* PPA, DG13/CA: one-dimensional, over the closed-form difference density, graded towards ``D = 0``;
* BSST: ``T`` in closed form (uniform) or by a rule in ``s = theta - u`` graded towards ``s = 0`` (normal); the
  outer ``u``-rule is the prior's base rule (normal: ``T`` is entire) or graded towards the ends (uniform);
* APA-3cycle: outer rule in ``(mu, delta) = ((theta_a + theta_b)/2, theta_a - theta_b)``, graded in ``delta``
  towards 0 (normal: a tensor rule, ``mu`` and ``delta`` are independent normals; uniform: ``mu`` on
  ``[low + |delta|/2, high - |delta|/2]``, graded towards both ends, and ``delta`` also towards the corners);
  ``T`` Chebyshev-interpolated (normal) or in closed form (uniform).  While the previous engine's tensor
  grid (below) has at most ``_APA_SMALL_GRID = 240`` nodes per axis (uniform ``|eps| <= 100``, normal
  ``|eps| <= 5.6``) it is cheaper (``n^3 <= 1.4e7``), agrees to ``4e-13``, and is used instead.

So the number of nodes grows only like ``log(max|eps|)`` (about 20 graded panels per layer side at
``|eps| = 1e6``), and time and memory are bounded: APA at ``|eps| = 1e6`` takes about 0.05 s (normal) and
0.3 s (uniform) and under 200 MB.  Agreement: with the previous engine (below) to ``2e-12`` relative for
``|eps| <= 20``; with the rule refined two-fold to ``1e-12`` for ``1e-8 <= |eps| <= 1e6``; with nested adaptive
``scipy`` quadrature (``tests/test_exact.py`` at small efforts, ``tests/test_exact_large_effort.py`` against peers
at effort ``1e6``) to ``1e-10``; and with the closed-form large-effort expansions of PPA, BSST and APA (up to
``O(w^-3)``; ``tests/test_exact_large_effort.py``) to ``1e-13``.  ``refine=0.5`` (the solvers' bracketing rule)
halves the base panels and squares the grading ratio: about 3x cheaper for APA, within ``2e-9`` of ``refine=1``
(its contract is ``1e-6``).

Other priors (``scipy.stats``)
------------------------------
For :class:`agents.ScipyPrior`, PPA, BSST and DG13/CA use a nested rule: the prior's own rule for the outer
quality (in probability space, graded towards finite ends of the support) and, for each outer node, the
prior's panels plus panels graded towards that node, from the layer width up to 64 quartile scales (the
prior's own tail panels are wide).  It agrees with the previous engine to ``1e-11`` for ``|eps| <= 20`` and
with its own two-fold refinement to ``2e-11`` up to ``|eps| = 1e6`` (expon, t(5), lognorm, beta).  APA keeps
the previous engine for these priors.

The previous engine
-------------------
The prior's own rule, composite Gauss-Legendre with panels shrinking as ``5/|eps|`` over the whole span
(:meth:`agents.Prior.rule`), on tensor grids (``M = S diag(w) S`` for APA: ``n^3`` work, ``n^2`` memory; so APA
refuses grids above ``LEGACY_APA_MAX_NODES`` nodes, and the other sums run in blocks).  For the normal and
uniform priors it agreed with (a) adaptive ``scipy.integrate.quad`` over the difference density (PPA),
(b) nested adaptive quadrature (BSST, APA) and (c) the same rule refined two- and four-fold, to better than
``1e-11`` relative for ``|eps| <= 20``, and with Monte Carlo within 4 standard errors.
``mechanisms.exact._USE_LEGACY = True`` selects it for every prior (``benchmarks/bench_exact_effort.py``).
``scc`` uses the prior's rule on an ``m``-dimensional tensor grid (``m - 1`` for normal priors) and refuses
grids above ``SCC_MAX_NODES`` points; ``check_accuracy=True`` reports the refinement difference.
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


def _majority_accuracy(d, wd, dens, eps_all, N):
    """``2 int_0^inf f_D(d) Pr(majority of the N reports right | D = d) dd`` on the rule ``(d, wd)`` (ties: 1/2)."""
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


def _principal_accuracy_legacy(prior, eps_all):
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
    return _majority_accuracy(d, wd, dens, eps_all, N)


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


_LEGACY_BLOCK = 1 << 21          # grid points per block of the tensor-grid sums (bounded memory)


def _agreement_correlation_table_legacy(prior, E1, E2, refine=1):
    """``C[p, q] = E[t(E1[p] D) t(E2[q] D)]`` with ``D = theta_a - theta_b`` on the prior's own rule (panels of
    width ``5/|eps|``): the previous engine, and the one for priors without a layer-adapted rule
    (:class:`agents.ScipyPrior`).  The tensor grid is summed in blocks of rows."""
    E1 = np.asarray(E1, dtype=float)
    E2 = np.asarray(E2, dtype=float)
    mx = float(max(np.max(np.abs(E1), initial=0.0), np.max(np.abs(E2), initial=0.0)))
    rule = _difference_rule(prior, mx * refine)
    if rule is not None:
        d, wd = rule
        F1 = _t(E1[:, None] * d[None, :])
        F2 = _t(E2[:, None] * d[None, :])
        return (F1 * wd[None, :]) @ F2.T
    x, w = prior.rule(mx, refine)
    out = np.zeros((E1.size, E2.size))
    rows = max(1, _LEGACY_BLOCK // (x.size * max(1, E1.size + E2.size)))
    for i in range(0, x.size, rows):
        d = (x[i:i + rows, None] - x[None, :]).ravel()
        wd = np.outer(w[i:i + rows], w).ravel()
        out += (_t(E1[:, None] * d[None, :]) * wd[None, :]) @ _t(E2[:, None] * d[None, :]).T
    return out


def _bsst_A_table_legacy(prior, E, refine=1):
    """``A[p, q] = E_u[T_p(u) T_q(u)]`` on the prior's own rule (see :func:`_agreement_correlation_table_legacy`)."""
    E = np.asarray(E, dtype=float)
    x, w = prior.rule(float(np.max(np.abs(E), initial=0.0)), refine)
    rows = max(1, _LEGACY_BLOCK // x.size)
    Tv = np.zeros((E.size, x.size))
    for i in range(0, x.size, rows):
        D = x[i:i + rows, None] - x[None, :]
        for k, e in enumerate(E):
            Tv[k] += w[i:i + rows] @ _t(e * D)
    return (Tv * w[None, :]) @ Tv.T


class _BytesBoundedCache(dict):
    """First-in first-out cache of tuples of arrays, bounded by their total bytes (a running sum: summing the
    whole cache on every insertion made thousands of small entries quadratic)."""

    def __init__(self, limit):
        super().__init__()
        self.limit = limit
        self.nbytes = 0

    def put(self, key, value):
        size = sum(v.nbytes for v in value)
        if size > self.limit // 4 or key in self:
            return
        while self and self.nbytes + size > self.limit:
            self.nbytes -= sum(v.nbytes for v in super().pop(next(iter(self))))
        super().__setitem__(key, value)
        self.nbytes += size

    def clear(self):
        super().clear()
        self.nbytes = 0


_APA_BASE_CACHE: dict = {}
#: ``(out_pos, out_neg)`` of :func:`_apa3_base` per (items, grid, |own effort|), at most 64 MB
_APA_PAIR_CACHE = _BytesBoundedCache(64 * 2 ** 20)


def _apa3_base_stack(prior, E_own, n_items, x, w):
    """Stacked ``w_a w_b S_i[a,b] (1 - M[b,a])^(m-2)`` for every own signed effort (cached).

    ``S(-e) = S(e)^T`` and ``M(-e) = M(e)^T``, so only ``|e|`` is computed.  Cached because the solvers
    evaluate the same own grid against many peer profiles.
    """
    # grids, not the pointwise calls of a refinement; at most 2 x 32 MB held
    cacheable = E_own.size >= 8 and E_own.size * x.size ** 2 <= 4 * 2 ** 20
    key = (repr(prior), n_items, x.size, float(x[0]), float(x[-1]), E_own.tobytes())
    hit = _APA_BASE_CACHE.get(key) if cacheable else None
    if hit is not None:
        return hit
    n = x.size
    xc, wc = np.ascontiguousarray(x), np.ascontiguousarray(w)
    out = np.empty((E_own.size, n * n))
    done = {}
    grid = (n_items, xc.tobytes(), wc.tobytes())
    for k, e in enumerate(E_own):
        a = abs(float(e))
        if a not in done:
            # the searches ask for the same own effort against other peers (a third of the calls in an atlas)
            done[a] = _APA_PAIR_CACHE.get(grid + (a,))
            if done[a] is None:
                done[a] = _apa3_base(xc, wc, a, n_items)
                _APA_PAIR_CACHE.put(grid + (a,), done[a])
        out[k] = done[a][0] if e >= 0 else done[a][1]
    if cacheable:
        if len(_APA_BASE_CACHE) >= 2:
            _APA_BASE_CACHE.pop(next(iter(_APA_BASE_CACHE)))
        _APA_BASE_CACHE[key] = out
    return out


LEGACY_APA_MAX_NODES = 2500     # the tensor-grid APA engine costs n^3 time and n^2 memory per effort


def _apa3_table_legacy(prior, E_own, E_peer, n_items, refine=1):
    """``G[p, q] = Pr(coherent (3cycle) and agree)`` for own ``E_own[p]`` and one peer ``E_peer[q]`` on the
    tensor grid of the prior's own rule (``M = S diag(w) S``): the previous engine, and the one for priors
    without a layer-adapted rule.  Refuses grids above ``LEGACY_APA_MAX_NODES`` nodes per axis."""
    E_own = np.ascontiguousarray(E_own, dtype=float)
    E_peer = np.asarray(E_peer, dtype=float)
    mx = float(max(np.max(np.abs(E_own), initial=0.0), np.max(np.abs(E_peer), initial=0.0)))
    x, w = prior.rule(mx, refine)
    if x.size > LEGACY_APA_MAX_NODES and not _USE_LEGACY:
        raise ValueError(f"the exact APA engine for prior {prior!r} would need a {x.size}-node grid per quality "
                         f"(limit {LEGACY_APA_MAX_NODES}) for |effort| up to {mx:g}; use method='mc', a smaller "
                         "effort, or the 'normal' / 'uniform' prior (their engine works at any effort)")
    if E_own.size * x.size ** 2 > _LEGACY_BLOCK * 8:      # too large to stack: one own effort at a time
        return np.concatenate([_apa3_table_legacy(prior, E_own[k:k + 1], E_peer, n_items, refine)
                               for k in range(E_own.size)])
    D = x[:, None] - x[None, :]
    Sp = np.stack([_s(e * D).ravel() for e in E_peer])      # (n_peer, n^2)
    return 2.0 * (_apa3_base_stack(prior, E_own, n_items, x, w) @ Sp.T)


# =============================================================================================
# Layer-adapted engine (normal and uniform priors): node counts independent of the effort
# =============================================================================================
#
# The integrands vary on the scale ``1/|eps|`` only in thin layers: around ``theta_a = theta_b`` (the
# sigmoids of the reports), and, for the uniform prior, at the edges of the support (where the smoothed
# distribution functions below have boundary layers).  Away from the layers they are smooth on the
# prior's own scale.  So every rule below is a composite Gauss-Legendre rule on the prior's base panels
# plus panels graded geometrically (ratio ``_GRADE_RATIO``) towards each layer position, down to
# ``_LAYER_H0 / max|eps|``.  Geometric panels resolve every layer width between the smallest and the
# base width, so one rule serves all efforts of a table; the number of nodes grows like
# ``log(max|eps|)`` (at most about 20 graded panels per layer side at ``|eps| = 1e6``).
#
# APA's third-item integral ``M[b, a] = E_c[S(b, c) S(c, a)]`` has a closed form in a one-dimensional
# function: with ``x + y = K`` fixed, ``sigmoid(x) sigmoid(y) = (sigmoid(x) + sigmoid(y) - 1) / (1 - e^-K)``,
# so ``M[b, a] = (H(theta_b) - H(theta_a)) / (1 - exp(-eps (theta_b - theta_a)))`` with the smoothed
# distribution function ``H(u) = E_c[sigmoid(eps (u - c))] = (1 - T(u)) / 2``, ``T`` as for BSST.  ``T`` is
# computed in closed form (uniform) or by a graded quadrature (normal; Chebyshev-interpolated on the
# prior's scale for the many outer nodes of APA; on the base rule for ``|eps| <= _SMALL_EPS``).  ``T`` is
# accurate relative to its size ``O(min(1, |eps|))``, so the quotient's cancellation for
# ``delta = theta_a - theta_b -> 0`` costs about ``1e-16 / |delta|`` at a node of weight ``O(|delta|)``:
# about ``1e-15`` in total, at any effort.

_GRADE_RATIO = 2.0
_LAYER_H0 = 1.0
_SMALL_EPS = 1.0
_USE_LEGACY = False          # benchmarks/bench_exact_effort.py switches to the previous engine
# Grading stops at the layer width of this effort.  Beyond it a layer sits unresolved at the end of the
# innermost panel, where it moves the integral by at most its own weight, ``O(1/|eps|) < 1e-9`` relative.
_GRADING_CAP = 1e9


def _kind(prior):
    from agents.priors import NormalPrior, ScipyPrior, UniformPrior
    if _USE_LEGACY:
        return None
    if type(prior) is NormalPrior:
        return "normal"
    if type(prior) is UniformPrior:
        return "uniform"
    if type(prior) is ScipyPrior:
        return "scipy"
    return None


def _grading(max_abs_eps, hmax, refine):
    """Offsets ``hmax * ratio^-j`` (j = 1..k) of the graded edges from a layer position, down to the layer
    width ``_LAYER_H0 / (max|eps| refine)`` (quantised to the ratio's powers so that rules are shared)."""
    ratio = _GRADE_RATIO ** (1.0 / float(refine))
    h0 = _LAYER_H0 / (min(max(float(max_abs_eps), 1e-300), _GRADING_CAP) * float(refine))
    if h0 >= hmax:
        return np.zeros(0)
    k = int(math.ceil(math.log(hmax / h0) / math.log(ratio) - 1e-9))
    return hmax * ratio ** (-np.arange(1, k + 1, dtype=float))


def _graded_edges(lo, hi, n_base, targets, offsets):
    """Panel edges: ``n_base`` uniform panels on ``[lo, hi]`` plus ``t +- offsets`` for every target ``t``."""
    parts = [np.linspace(lo, hi, n_base + 1)]
    for t in targets:
        parts.append(np.array([t]))
        parts.append(t - offsets)
        parts.append(t + offsets)
    e = np.unique(np.clip(np.concatenate(parts), lo, hi))
    return e


def _gl(edges):
    from agents.priors import composite_gauss_legendre
    return composite_gauss_legendre(np.asarray(edges, dtype=float))


def _eps_key(max_abs_eps, hmax, refine):
    return _grading(max_abs_eps, hmax, refine).size


def _n_base(refine, base):
    return max(1, int(math.ceil(base * float(refine))))


# --- rules --------------------------------------------------------------------------------------

@lru_cache(maxsize=64)
def _difference_rule_graded(prior, k_levels, refine):
    """Rule for ``E[g(theta_a - theta_b)]`` on ``[-L, L]`` (closed-form difference density), graded
    towards 0 with ``k_levels`` levels."""
    lo, hi = prior._edges(1)[[0, -1]]
    L = float(hi - lo)
    nb = _n_base(refine, 8)
    hmax = L / nb
    offs = hmax * (_GRADE_RATIO ** (1.0 / refine)) ** (-np.arange(1, k_levels + 1, dtype=float))
    edges = _graded_edges(-L, L, 2 * nb, [0.0], offs)
    d, wd = _gl(edges)
    return d, wd * prior.difference_pdf(d), hmax


def _diff_rule(prior, max_abs_eps, refine):
    lo, hi = prior._edges(1)[[0, -1]]
    hmax = float(hi - lo) / _n_base(refine, 8)
    d, wd, _ = _difference_rule_graded(prior, _eps_key(max_abs_eps, hmax, refine), float(refine))
    return d, wd


def _uniform_hmax(refine):
    return 1.0 / (2 * _n_base(refine, 1))       # fraction of the span: the base rule's 2 panels


@lru_cache(maxsize=64)
def _u_rule_uniform(prior, k_levels, refine):
    """BSST's outer rule for the uniform prior: graded towards both ends of the support (T's layers)."""
    S = prior.high - prior.low
    nb = 2 * _n_base(refine, 1)
    offs = S / nb * (_GRADE_RATIO ** (1.0 / refine)) ** (-np.arange(1, k_levels + 1, dtype=float))
    x, w = _gl(_graded_edges(prior.low, prior.high, nb, [prior.low, prior.high], offs))
    return x, w / S


def _bsst_outer_rule(prior, kind, max_abs_eps, refine):
    if kind == "normal":
        return prior.rule(0.0, refine)
    S = prior.high - prior.low
    k = _eps_key(max_abs_eps, S * _uniform_hmax(refine), refine)
    return _u_rule_uniform(prior, k, float(refine))


@lru_cache(maxsize=6)
def _apa_outer_normal(prior, k_levels, refine):
    """Tensor rule in ``mu = (theta_a + theta_b) / 2 ~ N(loc, scale^2 / 2)`` and
    ``delta = theta_a - theta_b ~ N(0, 2 scale^2)`` (independent), graded in ``delta`` towards 0."""
    from agents.priors import NormalPrior
    xm, wm = NormalPrior(prior.loc, prior.scale / math.sqrt(2.0)).rule(0.0, refine)
    d, wd, _ = _difference_rule_graded(prior, k_levels, refine)
    ta = (xm[:, None] + 0.5 * d[None, :]).ravel()
    tb = (xm[:, None] - 0.5 * d[None, :]).ravel()
    dd = np.broadcast_to(d[None, :], (xm.size, d.size)).ravel().copy()
    W = np.outer(wm, wd).ravel()
    for arr in (ta, tb, dd, W):
        arr.setflags(write=False)
    return ta, tb, dd, W


@lru_cache(maxsize=6)
def _apa_outer_uniform(prior, k_levels, refine):
    """Nested rule in ``delta = theta_a - theta_b`` (graded towards 0 and the corners ``+-span``) and the
    midpoint ``mu`` on ``[low + |delta|/2, high - |delta|/2]`` (graded towards both ends: there one of the
    qualities is at an edge of the support, where ``T`` has its boundary layers).

    The ``mu`` panels of every ``delta`` node use the same distances from the two ends (the base spacing
    and the graded offsets), clipped at the midpoint; clipped panels have zero width and are dropped."""
    from agents.priors import _gauss_legendre, _GL_ORDER
    lo, hi = prior.low, prior.high
    S = hi - lo
    nb = _n_base(refine, 1)
    hmax = S / (2 * nb)
    offs = hmax * (_GRADE_RATIO ** (1.0 / refine)) ** (-np.arange(1, k_levels + 1, dtype=float))
    d, wd = _gl(_graded_edges(-S, S, 4 * nb, [-S, 0.0, S], offs))
    dist = np.unique(np.concatenate([offs, hmax * np.arange(1, nb + 1)]))     # distances from an end
    half = 0.5 * (S - np.abs(d))                                               # half-length of mu's range
    a = lo + 0.5 * np.abs(d)
    left = np.minimum(dist[None, :], half[:, None])
    edges = np.concatenate([np.zeros((d.size, 1)), left, half[:, None], (2 * half)[:, None] - left[:, ::-1],
                            (2 * half)[:, None]], axis=1) + a[:, None]          # (n_delta, n_edges)
    xg, wg = _gauss_legendre(_GL_ORDER)
    lo_e, hi_e = edges[:, :-1, None], edges[:, 1:, None]
    mu = 0.5 * (lo_e + hi_e) + 0.5 * (hi_e - lo_e) * xg[None, None, :]
    wmu = 0.5 * (hi_e - lo_e) * wg[None, None, :] * (wd / (S * S))[:, None, None]
    dd = np.broadcast_to(d[:, None, None], mu.shape)
    keep = (hi_e - lo_e > 0.0) & np.ones(mu.shape, dtype=bool)
    mu, wmu, dd = mu[keep], wmu[keep], dd[keep]
    out = (mu + 0.5 * dd, mu - 0.5 * dd, np.ascontiguousarray(dd), wmu)
    for arr in out:
        arr.setflags(write=False)
    return out


def _apa_outer_rule(prior, kind, max_abs_eps, refine):
    if kind == "normal":
        lo, hi = prior._edges(1)[[0, -1]]
        hmax = float(hi - lo) / _n_base(refine, 8)
        return _apa_outer_normal(prior, _eps_key(max_abs_eps, hmax, refine), float(refine))
    S = prior.high - prior.low
    return _apa_outer_uniform(prior, _eps_key(max_abs_eps, S * _uniform_hmax(refine), refine), float(refine))


# --- T(u) = E_c[tanh(eps (c - u) / 2)] for eps > 0 ------------------------------------------------

def _ro(a):
    """A read-only view of ``a``.  numba compiles a kernel once per argument type and read-only arrays are
    another type; the evaluation points often come from the (read-only) cached rules, so the kernels below
    always get read-only inputs: one compiled specialisation each instead of two."""
    v = a.view()
    v.flags.writeable = False
    return v


@njit(cache=True)
def _logcosh_scalar(y):
    a = abs(y)
    if a < 1.0:
        s = math.sinh(0.5 * a)
        return math.log1p(2.0 * s * s)
    return a + math.log1p(math.exp(-2.0 * a)) - math.log(2.0)


@njit(cache=True)
def _T_uniform_kernel(u, e, lo, hi, out):
    c = 2.0 / (e * (hi - lo))
    for k in range(u.shape[0]):
        out[k] = c * (_logcosh_scalar(0.5 * e * (hi - u[k])) - _logcosh_scalar(0.5 * e * (lo - u[k])))


def _T_uniform(prior, e, u):
    """Closed form: ``(2 / (e S)) [log cosh(e (high - u) / 2) - log cosh(e (low - u) / 2)]``."""
    u = np.ascontiguousarray(u, dtype=float)
    out = np.empty(u.size)
    _T_uniform_kernel(_ro(u), float(e), float(prior.low), float(prior.high), out)
    return out


@njit(cache=True)
def _T_direct_kernel(u, c, wc, e, out):
    """``out[k] = sum_l wc[l] tanh(e (c[l] - u[k]) / 2)``."""
    for k in range(u.shape[0]):
        acc = 0.0
        for l in range(c.shape[0]):
            acc += wc[l] * math.tanh(0.5 * e * (c[l] - u[k]))
        out[k] = acc


@njit(cache=True)
def _T_normal_kernel(u, s, ws, e, loc, scale, out):
    """``out[k] = sum_l ws[l] phi((u[k] + s[l] - loc) / scale) / scale * tanh(e s[l] / 2)`` (``s = c - u``)."""
    c0 = 1.0 / (scale * math.sqrt(2.0 * math.pi))
    n_s = s.shape[0]
    ts = np.empty(n_s)
    for l in range(n_s):
        ts[l] = ws[l] * math.tanh(0.5 * e * s[l]) * c0
    for k in range(u.shape[0]):
        acc = 0.0
        for l in range(n_s):
            v = (u[k] + s[l] - loc) / scale
            if -40.0 < v < 40.0:
                acc += ts[l] * math.exp(-0.5 * v * v)
        out[k] = acc


_NORMAL_T_REACH = 12.75      # T is needed on loc +- 12.75 scale (the APA outer rule reaches 12.02 scale)


@lru_cache(maxsize=64)
def _s_rule_normal(prior, k_levels, refine):
    """Rule in ``s = c - u`` on ``+-(12.75 + 8.5) scale``, graded towards ``s = 0``."""
    R = (_NORMAL_T_REACH + 8.5) * prior.scale
    nb = 2 * _n_base(refine, 20)
    hmax = 2 * R / nb
    offs = hmax * (_GRADE_RATIO ** (1.0 / refine)) ** (-np.arange(1, k_levels + 1, dtype=float))
    return _gl(_graded_edges(-R, R, nb, [0.0], offs))


def _T_normal_direct(prior, e, u, refine):
    R = (_NORMAL_T_REACH + 8.5) * prior.scale
    hmax = 2 * R / (2 * _n_base(refine, 20))
    s, ws = _s_rule_normal(prior, _eps_key(e, hmax, refine), float(refine))
    u = np.ascontiguousarray(u, dtype=float)
    out = np.empty(u.size)
    _T_normal_kernel(_ro(u), s, ws, float(e), float(prior.loc), float(prior.scale), out)
    return out


_CHEB_N = 20


@lru_cache(maxsize=1)
def _cheb_nodes():
    j = np.arange(_CHEB_N)
    x = np.cos(np.pi * j / (_CHEB_N - 1))[::-1].copy()           # Chebyshev points of the 2nd kind
    bw = np.where((j == 0) | (j == _CHEB_N - 1), 0.5, 1.0) * (-1.0) ** j
    return x, bw[::-1].copy() * (-1.0) ** (_CHEB_N - 1)


@njit(cache=True)
def _cheb_eval(u, lo, h, n_pan, xs, bw, vals, out):
    """Piecewise barycentric Chebyshev interpolation (panels ``lo + [k h, (k+1) h]``, nodes ``xs`` on
    ``[-1, 1]``, values ``vals[k, :]``); constant extrapolation beyond the panels."""
    n = xs.shape[0]
    for i in range(u.shape[0]):
        t = (u[i] - lo) / h
        k = int(math.floor(t))
        if k < 0:
            out[i] = vals[0, 0]
            continue
        if k >= n_pan:
            out[i] = vals[n_pan - 1, n - 1]
            continue
        x = 2.0 * (t - k) - 1.0
        num = 0.0
        den = 0.0
        hit = -1
        for j in range(n):
            dx = x - xs[j]
            if dx == 0.0:
                hit = j
                break
            q = bw[j] / dx
            num += q * vals[k, j]
            den += q
        out[i] = vals[k, hit] if hit >= 0 else num / den


@lru_cache(maxsize=256)
def _T_normal_interpolant(prior, e, refine):
    xs, bw = _cheb_nodes()
    R = _NORMAL_T_REACH * prior.scale
    n_pan = 24
    h = 2 * R / n_pan
    lo = prior.loc - R
    nodes = (lo + h * (np.arange(n_pan)[:, None] + 0.5 * (xs[None, :] + 1.0))).ravel()
    if e <= _SMALL_EPS:
        vals = _T_direct(prior, e, nodes, refine)
    else:
        vals = _T_normal_direct(prior, e, nodes, refine)
    return lo, h, n_pan, xs, bw, vals.reshape(n_pan, _CHEB_N)


def _T_direct(prior, e, u, refine):
    """``T(u)`` summed on the prior's base rule (``e <= _SMALL_EPS``: no layer to resolve)."""
    c, wc = prior.rule(0.0, refine)
    u = np.ascontiguousarray(u, dtype=float)
    out = np.empty(u.size)
    _T_direct_kernel(_ro(u), _ro(np.ascontiguousarray(c)), _ro(np.ascontiguousarray(wc)), float(e), out)
    return out


@njit(cache=True)
def _cheb_weights(u, lo, h, n_pan, xs, bw, kidx, L):
    """The barycentric interpolation of :func:`_cheb_eval` as a fixed linear map: ``_cheb_eval(u)[i] =
    sum_j L[i, j] vals[kidx[i], j]`` (to rounding) for every table ``vals`` on the same panels.  The weights
    depend only on the points and the panels, not on the effort: computed once per outer rule."""
    n = xs.shape[0]
    for i in range(u.shape[0]):
        for j in range(n):
            L[i, j] = 0.0
        t = (u[i] - lo) / h
        k = int(math.floor(t))
        if k < 0:
            kidx[i] = 0
            L[i, 0] = 1.0
            continue
        if k >= n_pan:
            kidx[i] = n_pan - 1
            L[i, n - 1] = 1.0
            continue
        kidx[i] = k
        x = 2.0 * (t - k) - 1.0
        hit = -1
        den = 0.0
        for j in range(n):
            dx = x - xs[j]
            if dx == 0.0:
                hit = j
                break
            q = bw[j] / dx
            L[i, j] = q
            den += q
        if hit >= 0:
            for j in range(n):
                L[i, j] = 0.0
            L[i, hit] = 1.0
        else:
            for j in range(n):
                L[i, j] = L[i, j] / den


@njit(cache=True)
def _cheb_apply(kidx, L, vals, out):
    """``out[i] = sum_j L[i, j] vals[kidx[i], j]`` (see :func:`_cheb_weights`)."""
    n = L.shape[1]
    for i in range(kidx.shape[0]):
        k = kidx[i]
        acc = 0.0
        for j in range(n):
            acc += L[i, j] * vals[k, j]
        out[i] = acc


def _T_values(prior, kind, e, u, refine, many=False):
    """``T(u) = E_c[tanh(e (c - u) / 2)]`` for ``e > 0`` at the points ``u``, to a relative accuracy of
    about ``1e-15`` of ``max |T|`` also for tiny ``e`` (``T = O(e)``: no cancellation).  ``many=True``:
    the normal prior's ``T`` is interpolated (piecewise Chebyshev on the prior's scale; ``T`` is entire,
    a convolution of the normal density)."""
    u = np.ascontiguousarray(u, dtype=float)
    if kind == "uniform":
        return _T_uniform(prior, e, u)
    if not many:
        return _T_direct(prior, e, u, refine) if e <= _SMALL_EPS else _T_normal_direct(prior, e, u, refine)
    lo, h, n_pan, xs, bw, vals = _T_normal_interpolant(prior, float(e), float(refine))
    out = np.empty(u.size)
    _cheb_eval(u, lo, h, n_pan, xs, bw, vals, out)
    return out


# --- any continuous prior (scipy.stats): nested rule graded around the outer node ------------------

def _scipy_hmax(prior):
    q1, q3 = prior.dist.ppf([0.25, 0.75])
    return float(0.5 * (q3 - q1))


@lru_cache(maxsize=8)
def _scipy_nested_rule(prior, k_levels, refine):
    """``(ob, ow, x, w)``: the prior's own rule ``(ob, ow)`` for the outer quality and, for outer node ``b``, the
    inner rule ``x[b], w[b]`` (same panels in probability space plus ``cdf(ob[b] +- offsets)``, graded towards
    ``ob[b]`` down to the layer width); inner rules are padded with zero weights to a common length."""
    n = max(2, int(math.ceil(prior._base_panels() * float(refine))))
    ue = prior._u_edges(n)
    lo, hi = ue[0], ue[-1]
    if k_levels == 0:
        ob, ow = prior.rule(0.0, refine)
        return ob, ow, np.broadcast_to(ob, (ob.size, ob.size)), np.broadcast_to(ow, (ob.size, ob.size))
    # graded from the layer width up to 64 x the quartile scale: the prior's own panels can be much wider
    # than that in the tails, where a sigmoid's exponential approach to +-1 would otherwise be under-resolved
    r = _GRADE_RATIO ** (1.0 / refine)
    offs = _scipy_hmax(prior) * r ** (-np.arange(-math.ceil(6.0 * refine), k_levels + 1, dtype=float))
    # outer rule: also graded towards finite ends of the support (where the density may jump, the
    # outer integrand has a layer of width 1/|eps|)
    extra = [ue]
    a, b = prior.dist.support()
    if np.isfinite(a):
        extra.append(prior.dist.cdf(a + offs))
    if np.isfinite(b):
        extra.append(prior.dist.cdf(b - offs))
    vb, wb = _gl(np.unique(np.clip(np.concatenate(extra), lo, hi)))
    ob = np.asarray(prior.dist.ppf(vb), dtype=float)
    ow = wb / wb.sum()
    rows_x, rows_w = [], []
    for t in ob:
        extra = prior.dist.cdf(np.concatenate([t - offs, [t], t + offs]))
        e = np.unique(np.clip(np.concatenate([ue, extra]), lo, hi))
        v, wv = _gl(e)
        rows_x.append(np.asarray(prior.dist.ppf(v), dtype=float))
        rows_w.append(wv / wv.sum())
    L = max(r.size for r in rows_x)
    X = np.zeros((ob.size, L))
    W = np.zeros((ob.size, L))
    for k, (r, q) in enumerate(zip(rows_x, rows_w)):
        X[k, :r.size] = r
        X[k, r.size:] = ob[k]
        W[k, :q.size] = q
    for arr in (X, W):
        arr.setflags(write=False)
    return ob, ow, X, W


def _scipy_rule(prior, max_abs_eps, refine):
    return _scipy_nested_rule(prior, _eps_key(max_abs_eps, _scipy_hmax(prior), refine), float(refine))


def _scipy_T(prior, E, refine):
    """``T_e(ob[b]) = sum_l W[b, l] tanh(e (X[b, l] - ob[b]) / 2)`` for every signed effort in ``E``."""
    ob, ow, X, W = _scipy_rule(prior, _max_abs(E), refine)
    vals = np.unique(np.abs(E))
    D = X - ob[:, None]
    Tv = {a: (np.zeros(ob.size) if a == 0.0 else np.einsum("bl,bl->b", W, _t(a * D))) for a in vals}
    return ow, np.stack([Tv[abs(e)] if e >= 0 else -Tv[abs(e)] for e in E]).reshape(len(E), ob.size)


# --- tables --------------------------------------------------------------------------------------

_TINY_EPS = 1e-100


def _flush_tiny(E):
    """Efforts below ``1e-100`` in magnitude act as 0: their effect is ``O(|eps|)``, far below double precision,
    and ``1 / eps`` (layer widths, closed forms) would overflow."""
    E = np.asarray(E, dtype=float)
    return np.where(np.abs(E) < _TINY_EPS, 0.0, E)


def _max_abs(*arrays):
    return float(max(np.max(np.abs(np.asarray(a, dtype=float)), initial=0.0) for a in arrays))


def agreement_correlation_table(prior, E1, E2, refine=1):
    """``C[p, q] = E[t(E1[p] D) t(E2[q] D)]`` with ``D = theta_a - theta_b`` (PPA's agreement, vectorised)."""
    kind = _kind(prior)
    if kind is None:
        return _agreement_correlation_table_legacy(prior, E1, E2, refine)
    E1 = _flush_tiny(E1)
    E2 = _flush_tiny(E2)
    if kind == "scipy":
        ob, ow, X, W = _scipy_rule(prior, _max_abs(E1, E2), refine)
        D = (X - ob[:, None]).ravel()
        WD = (W * ow[:, None]).ravel()
        v1, i1 = np.unique(E1, return_inverse=True)
        v2, i2 = np.unique(E2, return_inverse=True)
        out = np.zeros((v1.size, v2.size))
        step = max(1, (1 << 21) // max(1, v1.size + v2.size))
        for k in range(0, D.size, step):
            d, wd = D[k:k + step], WD[k:k + step]
            out += (_t(v1[:, None] * d[None, :]) * wd[None, :]) @ _t(v2[:, None] * d[None, :]).T
        return out[np.ix_(i1.ravel(), i2.ravel())]
    d, wd = _diff_rule(prior, _max_abs(E1, E2), refine)
    F1 = _t(E1[:, None] * d[None, :])
    F2 = _t(E2[:, None] * d[None, :])
    return (F1 * wd[None, :]) @ F2.T


_BSST_T_CACHE: dict = {}


def bsst_A_table(prior, E, refine=1):
    """``A[p, q] = E_u[T_p(u) T_q(u)]`` for all signed efforts in ``E`` (see module docstring)."""
    E = np.asarray(E, dtype=float)
    kind = _kind(prior)
    if kind is None:
        return _bsst_A_table_legacy(prior, E, refine)
    E = _flush_tiny(E)
    if kind == "scipy":
        ow, T = _scipy_T(prior, E, refine)
        return (T * ow[None, :]) @ T.T
    u, w = _bsst_outer_rule(prior, kind, _max_abs(E), refine)
    vals = np.unique(np.abs(E))
    Tv = {}
    key0 = (repr(prior), kind, float(refine), u.size, float(u[0]), float(u[-1]))
    for a in vals:
        if a == 0.0:
            Tv[a] = np.zeros(u.size)
            continue
        # T rows are memoised (the same values; the extended solvers and the designed rules' columns ask for
        # the same efforts many times)
        key = key0 + (float(a),)
        row = _BSST_T_CACHE.get(key)
        if row is None:
            row = _T_values(prior, kind, float(a), u, refine)
            if len(_BSST_T_CACHE) >= 4096:
                _BSST_T_CACHE.pop(next(iter(_BSST_T_CACHE)))
            _BSST_T_CACHE[key] = row
        Tv[a] = row
    T = np.stack([Tv[abs(e)] if e >= 0 else -Tv[abs(e)] for e in E]) if E.size else np.zeros((0, u.size))
    return (T * w[None, :]) @ T.T


@njit(cache=True)
def _apa3_vec_kernel(Ta, Tb, d, W, e, p, pos, neg):
    """``pos = W S (1 - M[b,a])^p`` and ``neg = W (1 - S) (1 - M[a,b])^p`` with ``S = sigmoid(e d)`` and
    ``M[b,a] = (T(a) - T(b)) / 2 / (1 - exp(e d))``, ``M[a,b] = (T(b) - T(a)) / 2 / (1 - exp(-e d))``."""
    for k in range(d.shape[0]):
        x = e * d[k]
        num = 0.5 * (Ta[k] - Tb[k])
        if x == 0.0:
            m_ba = 0.0
            m_ab = 0.0
        else:
            m_ba = num / (-math.expm1(x)) if x < 700.0 else 0.0
            m_ab = -num / (-math.expm1(-x)) if x > -700.0 else 0.0
        m_ba = min(max(m_ba, 0.0), 1.0)
        m_ab = min(max(m_ab, 0.0), 1.0)
        sk = 0.5 * (1.0 + math.tanh(0.5 * x))
        pos[k] = W[k] * sk * (1.0 - m_ba) ** p
        neg[k] = W[k] * (1.0 - sk) * (1.0 - m_ab) ** p


def _apa3_vectors(prior, kind, e, p, rule, refine):
    """For own effort ``+e`` and ``-e`` (``e >= 0``): ``W S_i[a,b] (1 - M[b,a])^p`` on the outer nodes,
    with ``M[b, a] = (H(theta_b) - H(theta_a)) / (1 - exp(-e (theta_b - theta_a)))`` (module comment)."""
    ta, tb, d, W = rule
    pos = np.empty(d.size)
    neg = np.empty(d.size)
    if e == 0.0:
        pos[:] = W * (0.5 * 0.75 ** p)
        neg[:] = pos
        return pos, neg
    Ta = _T_values(prior, kind, e, ta, refine, many=True)
    Tb = _T_values(prior, kind, e, tb, refine, many=True)
    _apa3_vec_kernel(Ta, Tb, d, W, float(e), int(p), pos, neg)
    return pos, neg


_APA_SMALL_GRID = 240          # nodes per axis up to which APA uses the tensor grid (uniform |eps| <= 100,
                               # normal |eps| <= 5.6 at refine=1): there it is faster, and agrees to 4e-13

_APA_VEC_CACHE_BYTES = 96 * 2 ** 20
_APA_VEC_CACHE = _BytesBoundedCache(_APA_VEC_CACHE_BYTES)


def apa3_table(prior, E_own, E_peer, n_items, refine=1):
    """``G[p, q] = Pr(coherent (3cycle) and agree)`` for own ``E_own[p]`` and one peer ``E_peer[q]``."""
    E_own = np.ascontiguousarray(E_own, dtype=float)
    E_peer = np.asarray(E_peer, dtype=float)
    kind = _kind(prior)
    if kind is None or kind == "scipy":
        return _apa3_table_legacy(prior, E_own, E_peer, n_items, refine)
    E_own = np.ascontiguousarray(_flush_tiny(E_own))
    E_peer = _flush_tiny(E_peer)
    if prior.n_panels(_max_abs(E_own, E_peer), refine) * 12 <= _APA_SMALL_GRID:
        # small efforts: the tensor grid of the prior's own rule is cheaper (n^3 <= 1.4e7) and as accurate
        return _apa3_table_legacy(prior, E_own, E_peer, n_items, refine)
    rule = _apa_outer_rule(prior, kind, _max_abs(E_own, E_peer), refine)
    d = rule[2]
    G = np.empty((E_own.size, E_peer.size))
    if E_own.size == 0 or E_peer.size == 0:
        return G
    p = n_items - 2
    # the peers' sigmoids on the outer nodes, in blocks of at most ~4M numbers (bounded memory)
    step = max(1, (1 << 22) // d.size)
    peer_vals, peer_inv = np.unique(E_peer, return_inverse=True)
    starts = range(0, peer_vals.size, step)
    if len(starts) == 1:
        blocks = [(0, _s(peer_vals[:, None] * d[None, :]))]
    else:                   # too many peers to hold their sigmoids at once: recompute them per own effort
        blocks = None
    key0 = (repr(prior), p, float(refine), d.size, float(d[0]), float(d[-1]))
    for a in np.unique(np.abs(E_own)):
        key = key0 + (float(a),)
        hit = _APA_VEC_CACHE.get(key)
        if hit is None:
            hit = _apa3_vectors(prior, kind, float(a), p, rule, refine)
            _APA_VEC_CACHE.put(key, hit)
        pos, neg = hit
        gp = np.empty(peer_vals.size)
        gn = np.empty(peer_vals.size)
        for k, Sp in (blocks if isinstance(blocks, list) else
                      ((k, _s(peer_vals[k:k + step, None] * d[None, :])) for k in starts)):
            gp[k:k + Sp.shape[0]] = 2.0 * (Sp @ pos)
            gn[k:k + Sp.shape[0]] = 2.0 * (Sp @ neg)
        for r in np.nonzero(np.abs(E_own) == a)[0]:
            G[r] = (gp if E_own[r] >= 0 else gn)[peer_inv]
    return G


def principal_accuracy_extended(prior, eps_all, qs):
    """Eq. (3) with convention probabilities ``qs`` (spec section 4), literal tie rule (ties aggregate to ``-1``).

    The convention breaks the orientation symmetry that lets :func:`principal_accuracy` give ties half credit,
    so both signs of ``D = theta_a - theta_b`` are integrated: with ``p_x(d) = q_x + (1 - q_x) sigmoid(eps_x d)``
    and ``K`` the number of ``+1`` reports, the accuracy is ``int_0^inf f_D(d) [Pr(2K > N | d) + Pr(2K <= N | -d)] dd``.
    """
    eps_all = np.asarray(eps_all, dtype=float)
    qs = np.asarray(qs, dtype=float)
    N = eps_all.size
    lo, hi = prior._edges(1)[[0, -1]]
    dmax = float(hi - lo)
    hmax = dmax / 16
    offs = _grading(_max_abs(eps_all), hmax, 1.0)
    d, wd = _gl(_graded_edges(0.0, dmax, 16, [0.0], offs))
    if hasattr(prior, "difference_pdf"):
        dens = prior.difference_pdf(d)
    else:  # f_D(d) = E[f(theta + d)]
        xs, ws = prior.rule(0.0)
        dens = np.array([ws @ prior.pdf(xs + di) for di in d])
    k = np.arange(N + 1)
    total = np.zeros(d.size)
    for sign, win in ((1.0, 2 * k > N), (-1.0, 2 * k <= N)):
        dist = np.zeros((N + 1, d.size))
        dist[0] = 1.0
        for e, q in zip(eps_all, qs):
            p = q + (1.0 - q) * _s(sign * e * d)
            dist[1:] = dist[1:] * (1.0 - p) + dist[:-1] * p
            dist[0] = dist[0] * (1.0 - p)
        total += win.astype(float) @ dist
    return float(np.sum(wd * dens * total))


def principal_accuracy(prior, eps_all):
    """Eq. (3): expected fraction of pairs on which pairwise-majority aggregation matches the true order.

    With the paper's tie rule (a tie reports ``-1`` for the canonical pair) and an i.i.d. prior, the
    expected accuracy equals the one with half credit for ties (the two orientations of a tie are
    equally likely).  So the integrand is ``h(d) = Pr(K > N/2) + Pr(K = N/2)/2`` with ``K`` the number
    of agents reporting the true order when ``|theta_a - theta_b| = d``, integrated against the density
    of ``|theta_a - theta_b|`` (one-dimensional, no kink), on panels graded towards ``d = 0``.
    """
    if _USE_LEGACY:
        return _principal_accuracy_legacy(prior, eps_all)
    eps_all = np.asarray(eps_all, dtype=float)
    N = eps_all.size
    lo, hi = prior._edges(1)[[0, -1]]
    dmax = float(hi - lo)
    hmax = dmax / 16
    offs = _grading(_max_abs(eps_all), hmax, 1.0)
    d, wd = _gl(_graded_edges(0.0, dmax, 16, [0.0], offs))
    if hasattr(prior, "difference_pdf"):
        dens = prior.difference_pdf(d)
    else:  # f_D(d) = E[f(theta + d)]
        xs, ws = prior.rule(0.0)
        dens = np.array([ws @ prior.pdf(xs + di) for di in d])
    return _majority_accuracy(d, wd, dens, eps_all, N)


# =============================================================================================
# Extended strategies (spec section 4): APA (3cycle) with convention probabilities
# =============================================================================================
#
# With convention probability q, i's report on the oriented pair (u, v) equals s with probability
# q 1[the index order says s] + (1 - q) sigmoid(s eps (theta_u - theta_v)).  For a canonical pair (a, b),
# a < b, and i's report s on it, the m - 2 triangles through (a, b) still use disjoint edges, so given
# (theta_a, theta_b) the coherence probability is a product over the third items c of
# 1 - Pr(the triangle closes a cycle), and that probability depends on c only through the position of c
# relative to a and b (below, between, above).  With H(u) = E_c[sigmoid(eps (u - c))] and
# M[b, a] = E_c[sigmoid(eps (theta_b - theta_c)) sigmoid(eps (theta_c - theta_a))] (as for q = 0):
#
#   s = +1 (a > b > c > a):  below   q(1-q) H(theta_b) + (1-q)^2 M[b,a]
#                            between (1-q)^2 M[b,a]
#                            above   q(1-q) (1 - H(theta_a)) + (1-q)^2 M[b,a]
#   s = -1 (a < b < c < a):  below   q(1-q) H(theta_a) + (1-q)^2 M[a,b]
#                            between q^2 + q(1-q) (H(theta_a) + 1 - H(theta_b)) + (1-q)^2 M[a,b]
#                            above   q(1-q) (1 - H(theta_b)) + (1-q)^2 M[a,b]
#
# Every peer enters linearly through Pr(R_j(a,b) = s) = q_j 1[s = +1] + (1 - q_j) sigmoid(s eps_j (theta_a - theta_b)).

@lru_cache(maxsize=None)
def _apa_pair_classes(n_items):
    """Distinct ``(n_below, n_between, n_above)`` third-item counts over canonical pairs, with multiplicities."""
    from collections import Counter
    cnt = Counter((a, b - a - 1, n_items - 1 - b) for a in range(n_items) for b in range(a + 1, n_items))
    keys = sorted(cnt)
    arr = np.array(keys, dtype=np.int64).reshape(-1, 3)
    return (np.ascontiguousarray(arr[:, 0]), np.ascontiguousarray(arr[:, 1]), np.ascontiguousarray(arr[:, 2]),
            np.array([cnt[k] for k in keys], dtype=np.float64))


@njit(cache=True)
def _apa3_ext_kernel(S, Ha, Hb, Mba, Mab, qs, n_lo, n_mid, n_hi, cnt, Gp, Gm):
    """``Gp[k, l] = Pr_i(+) sum_pairs prod_c (1 - close_+(c))`` and ``Gm`` for ``s = -1`` at node ``k``, own
    ``q = qs[l]`` (see the comment above); the pairs are grouped by their third-item position counts."""
    N = S.shape[0]
    nq = qs.shape[0]
    ncls = n_lo.shape[0]
    L = 1
    for c in range(ncls):
        L = max(L, n_lo[c] + 1, n_mid[c] + 1, n_hi[c] + 1)
    pw = np.empty((6, L))
    f = np.empty(6)
    for k in range(N):
        for l in range(nq):
            q = qs[l]
            u = 1.0 - q
            qu = q * u
            uu = u * u
            f[0] = 1.0 - (qu * Hb[k] + uu * Mba[k])
            f[1] = 1.0 - uu * Mba[k]
            f[2] = 1.0 - (qu * (1.0 - Ha[k]) + uu * Mba[k])
            f[3] = 1.0 - (qu * Ha[k] + uu * Mab[k])
            f[4] = 1.0 - (q * q + qu * (Ha[k] + 1.0 - Hb[k]) + uu * Mab[k])
            f[5] = 1.0 - (qu * (1.0 - Hb[k]) + uu * Mab[k])
            for c in range(6):
                pw[c, 0] = 1.0
                for n in range(1, L):
                    pw[c, n] = pw[c, n - 1] * f[c]
            sp = 0.0
            sm = 0.0
            for c in range(ncls):
                sp += cnt[c] * pw[0, n_lo[c]] * pw[1, n_mid[c]] * pw[2, n_hi[c]]
                sm += cnt[c] * pw[3, n_lo[c]] * pw[4, n_mid[c]] * pw[5, n_hi[c]]
            Gp[k, l] = (q + u * S[k]) * sp
            Gm[k, l] = u * (1.0 - S[k]) * sm


@njit(cache=True)
def _apa3_ext_M(Ta, Tb, d, e, Mba, Mab):
    """``M[b, a]`` and ``M[a, b]`` from the signed ``T_e`` at the two qualities (closed form; see the APA comment)."""
    for k in range(d.shape[0]):
        x = e * d[k]
        num = 0.5 * (Ta[k] - Tb[k])
        if x == 0.0:
            m_ba = 0.0
            m_ab = 0.0
        else:
            m_ba = num / (-math.expm1(x)) if x < 700.0 else 0.0
            m_ab = -num / (-math.expm1(-x)) if x > -700.0 else 0.0
        Mba[k] = min(max(m_ba, 0.0), 1.0)
        Mab[k] = min(max(m_ab, 0.0), 1.0)


EXT_APA_MAX_TENSOR_NODES = 1200     # per quality: the tensor grid for priors without a layer-adapted rule


def _apa3_extended_reference(prior, E_own, qs, E_peer, n_items, refine=1):
    """The first implementation of :func:`apa3_extended`, kept as the reference of the fast engine
    (``tests/test_extended_fast.py``, ``benchmarks/bench_extended.py``; ``_EXT_REFERENCE = True`` selects it).

    APA (3cycle) with convention probabilities, summed over the canonical pairs.

    Returns ``(Ip, Jp, Jm)``: ``Ip[o, l] = E[G_+]``, ``Jp[o, l, v] = E[G_+ sigmoid(E_peer[v] D)]`` and
    ``Jm[o, l, v] = E[G_- (1 - sigmoid(E_peer[v] D))]`` for own signed effort ``E_own[o]`` and own convention
    probability ``qs[l]``, with ``G_s = Pr(R_i(a,b) = s) Pr((a,b) coherent for i | R_i(a,b) = s)`` summed over
    pairs.  A peer ``(eps_j, q_j)`` contributes ``q_j Ip + (1 - q_j) (Jp + Jm)`` agreements on coherent pairs.
    """
    E_own = _flush_tiny(np.asarray(E_own, dtype=float))
    E_peer = _flush_tiny(np.asarray(E_peer, dtype=float))
    qs = np.ascontiguousarray(qs, dtype=float)
    kind = _kind(prior)
    mx = _max_abs(E_own, E_peer)
    if kind in ("normal", "uniform"):
        ta, tb, d, W = _apa_outer_rule(prior, kind, mx, refine)
        tvals = lambda a, u: _T_values(prior, kind, a, u, refine, many=True)     # noqa: E731
    else:
        x, w = prior.rule(mx, refine)
        if x.size > EXT_APA_MAX_TENSOR_NODES:
            raise ValueError(f"the exact APA engine with convention probabilities would need a {x.size}-node grid "
                             f"per quality for prior {prior!r} (limit {EXT_APA_MAX_TENSOR_NODES}) at |effort| up to "
                             f"{mx:g}; use method='mc', a smaller effort, or the 'normal' / 'uniform' prior")
        n = x.size
        ta = np.repeat(x, n)
        tb = np.tile(x, n)
        d = ta - tb
        W = np.outer(w, w).ravel()
        xc, wc = np.ascontiguousarray(x), np.ascontiguousarray(w)

        def tvals(a, u, _cache={}):
            if a not in _cache:
                out = np.empty(n)
                _T_direct_kernel(_ro(xc), _ro(xc), _ro(wc), float(a), out)
                _cache.clear()
                _cache[a] = out
            T = _cache[a]
            return np.repeat(T, n) if u is ta else np.tile(T, n)
    d = np.ascontiguousarray(d)
    n_lo, n_mid, n_hi, cnt = _apa_pair_classes(n_items)
    Sp = _s(E_peer[:, None] * d[None, :])                    # (n_peer, n_nodes)
    WSp = Sp * W[None, :]
    WSm = (1.0 - Sp) * W[None, :]
    Ip = np.empty((E_own.size, qs.size))
    Jp = np.empty((E_own.size, qs.size, E_peer.size))
    Jm = np.empty((E_own.size, qs.size, E_peer.size))
    Gp = np.empty((d.size, qs.size))
    Gm = np.empty((d.size, qs.size))
    t_cache = {}                 # T_|e| at both qualities, shared by +e and -e (visited in order of |e|)
    for o in np.argsort(np.abs(E_own), kind="stable"):
        e = E_own[o]
        if e == 0.0:
            S = np.full(d.size, 0.5)
            Ha = Hb = S
            Mba = Mab = np.full(d.size, 0.25)
        else:
            a = abs(float(e))
            sgn = 1.0 if e > 0 else -1.0
            if a not in t_cache:
                t_cache.clear()
                t_cache[a] = (tvals(a, ta), tvals(a, tb))
            Ta = sgn * t_cache[a][0]
            Tb = sgn * t_cache[a][1]
            S = _s(e * d)
            Ha = 0.5 * (1.0 - Ta)
            Hb = 0.5 * (1.0 - Tb)
            Mba = np.empty(d.size)
            Mab = np.empty(d.size)
            _apa3_ext_M(np.ascontiguousarray(Ta), np.ascontiguousarray(Tb), _ro(d), float(e), Mba, Mab)
        _apa3_ext_kernel(np.ascontiguousarray(S), np.ascontiguousarray(Ha), np.ascontiguousarray(Hb),
                         Mba, Mab, qs, n_lo, n_mid, n_hi, cnt, Gp, Gm)
        Ip[o] = W @ Gp
        Jp[o] = (WSp @ Gp).T
        Jm[o] = (WSm @ Gm).T
    return Ip, Jp, Jm


# --- the fast engine: effort-only tables cached across calls, one pass per own q -------------------------
#
# The payment is a polynomial in every convention probability, but the expensive parts of the integrand are
# functions of the efforts only.  So
#
# * the outer rule is sorted by ``delta = theta_a - theta_b`` once (``_EXT_RULE_CACHE``): sigmoids (own and
#   peers') and the ``expm1`` denominators of ``M`` are computed per distinct ``delta`` only, and the weighted
#   sums of a ``delta`` segment are taken before the peers' sigmoids multiply them;
# * ``T_|e|`` is evaluated once per distinct quality (``theta_b`` runs over the same values as ``theta_a``); for
#   the normal prior its piecewise Chebyshev interpolant has the same panels for every effort, so the
#   barycentric weights at the rule's qualities are precomputed per rule and applied per effort (no divisions);
# * ``T_|e|`` and the per-node tables ``H_a, H_b, M[b, a], M[a, b]`` of an own effort are cached per (rule,
#   effort) across calls (``_EXT_T_CACHE``, bounded bytes): the solvers revisit efforts at many ``q``;
# * one numba pass per own ``q`` evaluates ``G_+, G_-`` at every node; the pairs' coherence sum
#   ``sum_pairs prod_c (1 - close(c))`` is the complete homogeneous symmetric polynomial ``h_{m-2}`` of the three
#   per-position factors (every ``(n_below, n_between, n_above)`` with sum ``m - 2`` is exactly one canonical
#   pair).
#
# Same rule and same per-node formulas as :func:`_apa3_extended_reference`; the order of the sums (and of the
# interpolation's and coherence polynomial's terms) differs: agreement to rounding, about ``1e-14`` relative
# (``tests/test_extended_fast.py``; timings in ``benchmarks/bench_extended.py``).

_EXT_REFERENCE = False       # True: apa3_extended (and the extended helpers in base/statistics) use the reference
_EXT_T_CACHE_BYTES = 64 * 2 ** 20      # T_|e| and the per-node tables of the own efforts, across calls
_EXT_RULE_CACHE: dict = {}


@njit(cache=True)
def _hsym3(n, x, y, z, hb):
    """Complete homogeneous symmetric polynomial ``h_n(x, y, z)`` (``hb``: scratch of length ``n + 1``)."""
    if n == 1:
        return x + y + z
    if n == 2:
        h1 = x + y
        return x * x + y * h1 + z * (h1 + z)
    if n == 3:
        x2 = x * x
        h1 = x + y
        h2 = x2 + y * h1
        h3 = x2 * x + y * h2
        H1 = h1 + z
        H2 = h2 + z * H1
        return h3 + z * H2
    if n == 0:
        return 1.0
    hb[0] = 1.0
    for r in range(1, n + 1):
        hb[r] = hb[r - 1] * x
    for r in range(1, n + 1):
        hb[r] += y * hb[r - 1]
    for r in range(1, n + 1):
        hb[r] += z * hb[r - 1]
    return hb[n]


@njit(cache=True)
def _apa3_ext_nodes(Tu, ia, ib, sgn, seg, du, e, Su, Ha, Hb, Mba, Mab):
    """Per node (sorted by ``delta``; segment ``j`` holds the nodes with ``delta = du[j]``): ``H`` at both
    qualities and ``M[b, a]``, ``M[a, b]`` from the closed form, for own signed effort ``e != 0`` (``T_|e|``
    at the qualities: ``Tu[ia[k]]``, ``Tu[ib[k]]``; ``sgn = sign(e)``); ``Su[j]`` = ``sigmoid(e du[j])``.  Same
    arithmetic as :func:`_apa3_ext_M` and the reference engine."""
    for j in range(du.shape[0]):
        x = e * du[j]
        Su[j] = 0.5 * (1.0 + math.tanh(0.5 * x))
        if x == 0.0:
            den_ba = math.inf
            den_ab = math.inf
        else:
            den_ba = -math.expm1(x) if x < 700.0 else math.inf
            den_ab = -math.expm1(-x) if x > -700.0 else math.inf
        for k in range(seg[j], seg[j + 1]):
            ta = sgn * Tu[ia[k]]
            tb = sgn * Tu[ib[k]]
            num = 0.5 * (ta - tb)
            m_ba = num / den_ba
            m_ab = -num / den_ab
            Mba[k] = min(max(m_ba, 0.0), 1.0)
            Mab[k] = min(max(m_ab, 0.0), 1.0)
            Ha[k] = 0.5 * (1.0 - ta)
            Hb[k] = 0.5 * (1.0 - tb)


@njit(cache=True, fastmath={"reassoc", "contract", "nsz"})
def _apa3_ext_qsum(Ha, Hb, Mba, Mab, Su, W, seg, Spu, qs, n, Ip, Jp, Jm):
    """For every own ``q = qs[l]``: ``G_+``, ``G_-`` at every node (see the reference comment; the pairs'
    coherence sum is ``h_n`` of the three per-position factors, ``n = m - 2``), summed with the weights ``W``
    per ``delta`` segment, then against the peers' sigmoids ``Spu[v, j]``: adds to ``Ip[l]``, ``Jp[l, v]``,
    ``Jm[l, v]``.  (Reassociated sums: agreement with the reference to rounding, not bit for bit.)"""
    nu = Su.shape[0]
    nv = Spu.shape[0]
    GW = np.empty(nu)
    HW = np.empty(nu)
    hb = np.empty(n + 1)
    for l in range(qs.shape[0]):
        q = qs[l]
        u = 1.0 - q
        qu = q * u
        uu = u * u
        qq = q * q
        for j in range(nu):
            S = Su[j]
            cp = q + u * S
            cm = u * (1.0 - S)
            gw = 0.0
            hw = 0.0
            for k in range(seg[j], seg[j + 1]):
                ha = Ha[k]
                hbk = Hb[k]
                mba = uu * Mba[k]
                mab = uu * Mab[k]
                x = 1.0 - (qu * hbk + mba)
                y = 1.0 - mba
                z = 1.0 - (qu * (1.0 - ha) + mba)
                a = 1.0 - (qu * ha + mab)
                b = 1.0 - (qq + qu * (ha + 1.0 - hbk) + mab)
                c = 1.0 - (qu * (1.0 - hbk) + mab)
                # complete homogeneous symmetric polynomials h_n(x, y, z), h_n(a, b, c)
                if n == 1:
                    sp = x + y + z
                    sm = a + b + c
                elif n == 2:
                    h1 = x + y
                    sp = x * x + y * h1 + z * (h1 + z)
                    h1 = a + b
                    sm = a * a + b * h1 + c * (h1 + c)
                elif n == 3:
                    x2 = x * x
                    h1 = x + y
                    h2 = x2 + y * h1
                    H1 = h1 + z
                    sp = x2 * x + y * h2 + z * (h2 + z * H1)
                    x2 = a * a
                    h1 = a + b
                    h2 = x2 + b * h1
                    H1 = h1 + c
                    sm = x2 * a + b * h2 + c * (h2 + c * H1)
                else:
                    sp = _hsym3(n, x, y, z, hb)
                    sm = _hsym3(n, a, b, c, hb)
                w = W[k]
                gw += w * sp
                hw += w * sm
            GW[j] = cp * gw
            HW[j] = cm * hw
        ip = 0.0
        for j in range(nu):
            ip += GW[j]
        Ip[l] += ip
        for v in range(nv):
            ap = 0.0
            am = 0.0
            for j in range(nu):
                sv = Spu[v, j]
                ap += sv * GW[j]
                am += (1.0 - sv) * HW[j]
            Jp[l, v] += ap
            Jm[l, v] += am


class _ByteCache(dict):
    """A dict of tuples of arrays, least recently used first, bounded by ``limit`` bytes (running total)."""

    def __init__(self, limit):
        super().__init__()
        self.limit = limit
        self.nbytes = 0

    def clear(self):
        super().clear()
        self.nbytes = 0

    def touch(self, key):
        hit = super().pop(key, None)
        if hit is not None:
            super().__setitem__(key, hit)
        return hit

    def put(self, key, value):
        size = sum(v.nbytes for v in value)
        if size > self.limit // 4 or key in self:
            return
        while self and self.nbytes + size > self.limit:
            old = super().pop(next(iter(self)))
            self.nbytes -= sum(v.nbytes for v in old)
        super().__setitem__(key, value)
        self.nbytes += size


_EXT_T_CACHE = _ByteCache(_EXT_T_CACHE_BYTES)


def _ext_rule(prior, kind, mx, refine):
    """``(key, (tu, ia, ib, W, du, seg))``: the outer rule for ``max|eps| = mx`` with its nodes sorted by
    ``delta`` (segment ``j``, nodes ``seg[j]:seg[j + 1]``, has ``delta = du[j]``) and its qualities
    ``theta_a = tu[ia]``, ``theta_b = tu[ib]`` (``tu`` the distinct ones); cached."""
    if kind in ("normal", "uniform"):
        ta, tb, d, W = _apa_outer_rule(prior, kind, mx, refine)
        key = (repr(prior), kind, float(refine), d.size, float(d[0]), float(d[-1]), float(ta[0]), float(tb[-1]))
    else:
        x, w = prior.rule(mx, refine)
        if x.size > EXT_APA_MAX_TENSOR_NODES:
            raise ValueError(f"the exact APA engine with convention probabilities would need a {x.size}-node grid "
                             f"per quality for prior {prior!r} (limit {EXT_APA_MAX_TENSOR_NODES}) at |effort| up to "
                             f"{mx:g}; use method='mc', a smaller effort, or the 'normal' / 'uniform' prior")
        key = (repr(prior), "tensor", float(refine), x.size, float(x[0]), float(x[-1]), float(w[0]))
        ta = tb = d = W = None
    hit = _EXT_RULE_CACHE.get(key)
    if hit is None:
        if d is None:
            n = x.size
            ta, tb = np.repeat(x, n), np.tile(x, n)
            d = ta - tb
            W = np.outer(w, w).ravel()
        order = np.argsort(d, kind="stable")
        du, counts = np.unique(d[order], return_counts=True)
        seg = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        # the qualities repeat (both rules: theta_b runs over the same values as theta_a; the uniform rule's
        # midpoints are shared by many deltas): T is evaluated once per distinct quality
        tu, inv = np.unique(np.concatenate([np.asarray(ta)[order], np.asarray(tb)[order]]), return_inverse=True)
        inv = inv.ravel().astype(np.int64)
        hit = tuple(np.ascontiguousarray(a) for a in (tu, inv[:d.size], inv[d.size:],
                                                      np.asarray(W, dtype=float)[order], du, seg))
        # the tensor grid's own rule (T's quadrature nodes), None for the layer-adapted rules
        hit = hit + ((np.ascontiguousarray(x), np.ascontiguousarray(w)) if kind not in ("normal", "uniform")
                     else None,)
        if kind == "normal":
            # T's piecewise Chebyshev interpolant has the same panels for every effort: its barycentric
            # weights at the distinct qualities are a fixed (sparse) linear map, applied per effort
            lo, h, n_pan, xs, bw, _ = _T_normal_interpolant(prior, 1.0, float(refine))
            kidx = np.empty(tu.size, dtype=np.int64)
            L = np.empty((tu.size, xs.size))
            _cheb_weights(hit[0], lo, h, n_pan, xs, bw, kidx, L)
            hit = hit + ((lo, h, n_pan, kidx, L),)
        if len(_EXT_RULE_CACHE) >= 4:
            _EXT_RULE_CACHE.pop(next(iter(_EXT_RULE_CACHE)))
        _EXT_RULE_CACHE[key] = hit
    return key, hit


def _ext_node_tables(prior, kind, key, rule, e, refine):
    """``(Su, Ha, Hb, Mba, Mab)`` for own signed effort ``e`` on the sorted rule, cached per (rule, e) across
    calls (``T_|e|`` is cached per (rule, |e|) as well, so ``-e`` reuses it)."""
    ck = key + ("nodes", float(e))
    hit = _EXT_T_CACHE.touch(ck)                          # most recently used last
    if hit is not None:
        return hit
    tu, ia, ib, W, du, seg = rule[:6]
    N = W.size
    if e == 0.0:
        half = np.full(N, 0.5)
        quarter = np.full(N, 0.25)
        hit = (np.full(du.size, 0.5), half, half, quarter, quarter)
    else:
        a = abs(float(e))
        tk = key + ("T", a)
        T = _EXT_T_CACHE.get(tk)
        if T is None:
            interp = _T_normal_interpolant(prior, a, float(refine)) if kind == "normal" else None
            if interp is not None and interp[:3] == rule[7][:3]:        # the same panels (always, today)
                T = (np.empty(tu.size),)
                _cheb_apply(rule[7][3], rule[7][4], interp[5], T[0])
            elif kind in ("normal", "uniform"):
                T = (np.ascontiguousarray(_T_values(prior, kind, a, tu, refine, many=True)),)
            else:
                T = (np.empty(tu.size),)
                _T_direct_kernel(_ro(tu), _ro(rule[6][0]), _ro(rule[6][1]), a, T[0])
            _EXT_T_CACHE.put(tk, T)
        Su = np.empty(du.size)
        Ha, Hb, Mba, Mab = (np.empty(N) for _ in range(4))
        _apa3_ext_nodes(T[0], ia, ib, 1.0 if e > 0 else -1.0, seg, du, float(e), Su, Ha, Hb, Mba, Mab)
        hit = (Su, Ha, Hb, Mba, Mab)
    _EXT_T_CACHE.put(ck, hit)
    return hit


def apa3_extended(prior, E_own, qs, E_peer, n_items, refine=1):
    """APA (3cycle) with convention probabilities, summed over the canonical pairs.

    Returns ``(Ip, Jp, Jm)``: ``Ip[o, l] = E[G_+]``, ``Jp[o, l, v] = E[G_+ sigmoid(E_peer[v] D)]`` and
    ``Jm[o, l, v] = E[G_- (1 - sigmoid(E_peer[v] D))]`` for own signed effort ``E_own[o]`` and own convention
    probability ``qs[l]``, with ``G_s = Pr(R_i(a,b) = s) Pr((a,b) coherent for i | R_i(a,b) = s)`` summed over
    pairs.  A peer ``(eps_j, q_j)`` contributes ``q_j Ip + (1 - q_j) (Jp + Jm)`` agreements on coherent pairs.

    The fast engine (see the comment above); :func:`_apa3_extended_reference` is the first implementation, which
    it agrees with to rounding (``tests/test_extended_fast.py``).
    """
    if _EXT_REFERENCE:
        return _apa3_extended_reference(prior, E_own, qs, E_peer, n_items, refine)
    E_own = _flush_tiny(np.asarray(E_own, dtype=float)).ravel()
    E_peer = _flush_tiny(np.asarray(E_peer, dtype=float)).ravel()
    qs = np.ascontiguousarray(qs, dtype=float).ravel()
    kind = _kind(prior)
    mx = _max_abs(E_own, E_peer)
    key, rule = _ext_rule(prior, kind, mx, refine)
    W, du, seg = rule[3], rule[4], rule[5]
    Spu = np.ascontiguousarray(_s(E_peer[:, None] * du[None, :]))         # (n_peer, n_delta)
    Ip = np.zeros((E_own.size, qs.size))
    Jp = np.zeros((E_own.size, qs.size, E_peer.size))
    Jm = np.zeros((E_own.size, qs.size, E_peer.size))
    for o in range(E_own.size):
        Su, Ha, Hb, Mba, Mab = _ext_node_tables(prior, kind, key, rule, float(E_own[o]), refine)
        _apa3_ext_qsum(Ha, Hb, Mba, Mab, Su, W, seg, Spu, qs, n_items - 2, Ip[o], Jp[o], Jm[o])
    return Ip, Jp, Jm


# --- scc with convention probabilities: all pairs (the convention breaks the pairs' exchangeability) ----------

@lru_cache(maxsize=None)
def _scc_tables_all(n_items: int):
    """``coh[code, p]``: coherence (scc) of canonical pair ``p`` in tournament ``code`` (bit p: pair p is '+1')."""
    from .kernels import COHERENCE_SCC, _coherent_pairs
    pa, pb = pair_index(n_items)
    P = pa.size
    n_t = 1 << P
    coh_all = np.zeros((n_t, P), dtype=np.int8)
    beats = np.zeros((n_items, n_items), dtype=np.int8)
    reach = np.zeros((n_items, n_items), dtype=np.int8)
    coh = np.zeros(P, dtype=np.int8)
    for code in range(n_t):
        for p in range(P):
            a, b = pa[p], pb[p]
            bit = (code >> p) & 1
            beats[a, b], beats[b, a] = bit, 1 - bit
        _coherent_pairs(beats, pa, pb, COHERENCE_SCC, reach, coh)
        coh_all[code] = coh
    return coh_all, pa.copy(), pb.copy()


@njit(cache=True)
def _scc_ext_integrand(x, w, B, eps_i, qs, eps_vals, pa, pb, coh_all, Ip, Jp, Jm):
    """Tensor-grid sums (see :func:`_scc_integrand`) with own convention probability ``qs[l]``:
    ``Ip[l] += wt sum_p C_+[p]``, ``Jp[v, l] += wt sum_p C_+[p] S_v[p]``, ``Jm[v, l] += wt sum_p C_-[p] (1 - S_v[p])``
    where ``C_s[p] = Pr(R_i(p) = s and p coherent for i)``."""
    n = x.shape[0]
    m, k = B.shape
    P = pa.shape[0]
    n_t = coh_all.shape[0]
    nq = qs.shape[0]
    nv = eps_vals.shape[0]
    u = np.zeros(k)
    theta = np.zeros(m)
    sig = np.zeros(P)
    pplus = np.zeros(P)
    prob = np.zeros(n_t)
    cplus = np.zeros(P)
    cminus = np.zeros(P)
    sv = np.zeros((nv, P))
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
            dp = theta[pa[p]] - theta[pb[p]]
            sig[p] = 1.0 / (1.0 + math.exp(-eps_i * dp))
            for v in range(nv):
                sv[v, p] = 1.0 / (1.0 + math.exp(-eps_vals[v] * dp))
        for l in range(nq):
            q = qs[l]
            for p in range(P):
                pplus[p] = q + (1.0 - q) * sig[p]
            prob[0] = 1.0
            size = 1
            for p in range(P):
                pp = pplus[p]
                for c in range(size):
                    prob[c + size] = prob[c] * pp
                    prob[c] = prob[c] * (1.0 - pp)
                size *= 2
            for p in range(P):
                cplus[p] = 0.0
                cminus[p] = 0.0
            for c in range(n_t):
                pc = prob[c]
                if pc == 0.0:
                    continue
                for p in range(P):
                    if coh_all[c, p] == 1:
                        if (c >> p) & 1:
                            cplus[p] += pc
                        else:
                            cminus[p] += pc
            sp = 0.0
            for p in range(P):
                sp += cplus[p]
            Ip[l] += wt * sp
            for v in range(nv):
                a1 = 0.0
                a2 = 0.0
                for p in range(P):
                    a1 += cplus[p] * sv[v, p]
                    a2 += cminus[p] * (1.0 - sv[v, p])
                Jp[v, l] += wt * a1
                Jm[v, l] += wt * a2


def scc_extended(prior, E_own, qs, E_peer, n_items, refine=1):
    """APA (scc) with convention probabilities: ``(Ip, Jp, Jm)`` as :func:`apa3_extended` (summed over pairs),
    on the tensor grid of :func:`scc_coherent_agreement` (same node limit ``SCC_MAX_NODES``)."""
    from agents.priors import NormalPrior
    coh_all, pa, pb = _scc_tables_all(n_items)
    E_own = np.asarray(E_own, dtype=float)
    E_peer = np.ascontiguousarray(E_peer, dtype=float)
    qs = np.ascontiguousarray(qs, dtype=float)
    mx = _max_abs(E_own, E_peer)
    if isinstance(prior, NormalPrior):
        qm, _ = np.linalg.qr(np.column_stack([np.ones(n_items), np.eye(n_items)[:, : n_items - 1]]))
        B = np.ascontiguousarray(qm[:, 1:] * prior.scale)
        x, w = NormalPrior().rule(mx * prior.scale, refine)
    else:
        B = np.eye(n_items)
        x, w = prior.rule(mx, refine)
    n_nodes = float(x.size) ** B.shape[1]
    if n_nodes > SCC_MAX_NODES:
        raise ValueError(f"the exact scc engine would need {n_nodes:.3g} grid points (limit {SCC_MAX_NODES:.0e}) "
                         f"for n_items={n_items} and |effort| up to {mx:g}; use method='mc' or coherence='3cycle'")
    Ip = np.zeros((E_own.size, qs.size))
    Jp = np.zeros((E_own.size, qs.size, E_peer.size))
    Jm = np.zeros((E_own.size, qs.size, E_peer.size))
    for o, e in enumerate(E_own):
        ip = np.zeros(qs.size)
        jp = np.zeros((E_peer.size, qs.size))
        jm = np.zeros((E_peer.size, qs.size))
        _scc_ext_integrand(np.ascontiguousarray(x), np.ascontiguousarray(w), B, float(e), qs, E_peer, pa, pb,
                           coh_all, ip, jp, jm)
        Ip[o], Jp[o], Jm[o] = ip, jp.T, jm.T
    return Ip, Jp, Jm

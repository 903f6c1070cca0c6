"""The Bradley-Terry-effort observation model (paper Def. 4.1, eqs. 2 and 4; spec section 1).

Items ``0..m-1`` have i.i.d. qualities ``theta``.  Every agent reports on every unordered pair
``(a, b)``, ``a < b`` (``P = m(m-1)/2`` reports), conditionally independently given ``theta``:

    Pr(R_x(a, b) = +1 | theta) = sigmoid(eps_x * (theta_a - theta_b)),

where ``eps_x`` is the agent's signed effort (``+w`` honest, ``-w`` dishonest).  ``R = +1`` means
"a is better than b".  Eq. (4) of the paper is read as in the spec: the probability of reporting the
*true* order is ``sigmoid(w |theta_a - theta_b|)``.

Extended strategies (spec section 4): an agent with convention probability ``q_x > 0`` replaces, independently
on each pair with probability ``q_x``, its report by the convention ``R(a, b) = +1``.  The convention draws use
a third random stream, spawned only when some ``q_x > 0``, so ``q = 0`` gives today's reports bit for bit.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numba import njit, types
from numba.extending import overload

from ._validation import check_int
from .priors import as_prior


def sigmoid(u):
    """Logistic function ``1 / (1 + exp(-u))``, overflow-safe (``= (1 + tanh(u/2)) / 2``)."""
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(u, dtype=float)))


def mean_report(u):
    """``t(u) = 2 sigmoid(u) - 1 = tanh(u / 2)``: ``E[R(a,b) | theta] = t(eps * (theta_a - theta_b))``."""
    return np.tanh(0.5 * np.asarray(u, dtype=float))


def report_probability(signed_effort, theta_a, theta_b):
    """``Pr(R(a, b) = +1 | theta)`` for an agent with signed effort ``eps`` (spec section 1)."""
    return sigmoid(np.asarray(signed_effort, dtype=float) * (np.asarray(theta_a) - np.asarray(theta_b)))


@lru_cache(maxsize=None)
def pair_index(n_items: int):
    """Canonical pairs ``(a, b)``, ``a < b``, in lexicographic order, as two int64 arrays."""
    a, b = np.triu_indices(n_items, k=1)
    a = a.astype(np.int64)
    b = b.astype(np.int64)
    a.setflags(write=False)
    b.setflags(write=False)
    return a, b


@lru_cache(maxsize=None)
def pair_lookup(n_items: int) -> np.ndarray:
    """``(m, m)`` table: ``+k+1`` where ``(a, b)`` is canonical pair ``k``, ``-(k+1)`` for ``(b, a)``, 0 on the diagonal."""
    a, b = pair_index(n_items)
    table = np.zeros((n_items, n_items), dtype=np.int64)
    k = np.arange(len(a), dtype=np.int64) + 1
    table[a, b] = k
    table[b, a] = -k
    table.setflags(write=False)
    return table


@njit(cache=True)
def _draw_reports(theta, eps, u, pa, pb, out):
    """Fill ``out[t, x, p] = +1 if u[t, x, p] < sigmoid(eps[x] (theta[t, pa[p]] - theta[t, pb[p]]))``.

    The decision is always the one of the floating-point expression
    ``u[t, x, p] < 1.0 / (1.0 + exp(-eps[x] * d))`` (``d = theta[t, pa[p]] - theta[t, pb[p]]``, libm ``exp``),
    so the reports depend on the inputs only, bit for bit.  Two exact strategies, chosen by the profile:

    * few distinct efforts (at most ``N / 2`` runs of equal consecutive efforts, e.g. a symmetric profile):
      the row of ``P`` probabilities is computed once per run (:func:`_draw_rows`);
    * otherwise each report is first decided with a cheap vectorised bound on ``exp`` and only undecided
      reports (about one in ``10^8``) evaluate the expression itself (:func:`_draw_bounded`).
    """
    N = eps.shape[0]
    n_rows = 1
    for x in range(1, N):
        if eps[x] != eps[x - 1]:
            n_rows += 1
    if 2 * n_rows <= N:
        _draw_rows(theta, eps, u, pa, pb, out)
    else:
        _draw_bounded(theta, eps, u, pa, pb, out)


@njit(cache=True)
def _draw_rows(theta, eps, u, pa, pb, out):
    # loops in the memory order of u and out; a row of P sigmoids per change of effort between agents
    T, N, P = u.shape
    d = np.empty(P)
    prob = np.empty(P)
    for t in range(T):
        for p in range(P):
            d[p] = theta[t, pa[p]] - theta[t, pb[p]]
        for x in range(N):
            e = eps[x]
            if x == 0 or e != eps[x - 1]:
                for p in range(P):
                    prob[p] = 1.0 / (1.0 + np.exp(-e * d[p]))
            for p in range(P):
                out[t, x, p] = 1 if u[t, x, p] < prob[p] else -1


# _draw_bounded: certified decisions.  For |y| <= _Y_MAX, _exp_approx(y) = exp(y) (1 + delta) with
# |delta| <= 4e-12 (Taylor remainder of degree 13 at |y / 64| <= 0.625 is 5.6e-14, times 64 for six
# squarings, plus rounding; measured max 1.8e-12 on 8e6 points).  libm exp is within 1 ulp, so the exact
# expression P = 1 / (1 + exp(y)) satisfies P (1 + e^y) = 1 + O(1e-15).  Hence q = u (1 + approx) < 1 - _BAND
# implies u < P, and q > 1 + _BAND implies u > P; only |q - 1| <= _BAND is undecided.  For y < -_Y_MAX,
# exp(y) < 2^-54 so 1 + exp(y) rounds to 1 and P = 1 exactly (decision u < 1).  For y > _Y_MAX,
# P < e^-40 (1 + 1e-15) < _U_TINY, so u > _U_TINY decides -1.  NaN goes to the exact expression.
_BAND = 1e-8
_Y_MAX = 40.0
_U_TINY = 1e-17


@njit(cache=True, inline="always")
def _exp_approx(y):
    """``exp(y)`` for ``|y| <= 40`` to a relative 4e-12: Taylor polynomial at ``y / 64``, squared six times
    (plain multiply-adds, so the compiler vectorises it; numba has no SVML here)."""
    r = y * (1.0 / 64.0)
    p = 1.0 / 6227020800.0
    p = p * r + 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    p = p * p
    p = p * p
    p = p * p
    p = p * p
    p = p * p
    p = p * p
    return p


def _rows_view(a):
    """``(T, N, P) -> (T, N * P)``: a view of a C-contiguous array, else a contiguous copy."""
    raise NotImplementedError   # numba only (see the overload below)


@overload(_rows_view)
def _rows_view_impl(a):
    if isinstance(a, types.Array) and a.layout == "C":
        return lambda a: a.reshape((a.shape[0], a.shape[1] * a.shape[2]))
    return lambda a: np.ascontiguousarray(a).reshape((a.shape[0], a.shape[1] * a.shape[2]))


@njit(cache=True)
def _draw_bounded(theta, eps, u, pa, pb, out):
    # every report on its own, flattened over (agent, pair) so that the bound vectorises
    T, N, P = u.shape
    NP = N * P
    d = np.empty(P)
    y_row = np.empty(NP)
    undecided = np.empty(NP, dtype=np.int8)
    uf = _rows_view(u)
    of = _rows_view(out)
    lo = 1.0 - _BAND
    hi = 1.0 + _BAND
    for t in range(T):
        for p in range(P):
            d[p] = theta[t, pa[p]] - theta[t, pb[p]]
        for x in range(N):
            e = eps[x]
            for p in range(P):
                y_row[x * P + p] = -e * d[p]
        n_undecided = 0
        for k in range(NP):
            y = y_row[k]
            v = uf[t, k]
            q = v * (1.0 + _exp_approx(y))
            inside = abs(y) <= _Y_MAX
            below = y < -_Y_MAX
            above = y > _Y_MAX
            plus = (inside & (q < lo)) | (below & (v < 1.0))
            unsure = (inside & (q >= lo) & (q <= hi)) | (above & (v <= _U_TINY)) | ~(inside | below | above)
            of[t, k] = 2 * np.int8(plus) - 1
            undecided[k] = unsure
            n_undecided += unsure
        if n_undecided > 0:
            for x in range(N):
                e = eps[x]
                for p in range(P):
                    if undecided[x * P + p]:
                        of[t, x * P + p] = 1 if uf[t, x * P + p] < 1.0 / (1.0 + np.exp(-e * d[p])) else -1
    if not out.flags.c_contiguous:          # of is a copy
        for t in range(T):
            for x in range(N):
                for p in range(P):
                    out[t, x, p] = of[t, x * P + p]


@njit(cache=True)
def _apply_convention(u, q, agents, out):
    """``out[t, agents[k], p] = +1`` where ``u[t, k, p] < q[k]`` (the convention replaces the report)."""
    T, K, P = u.shape
    for t in range(T):
        for k in range(K):
            x = agents[k]
            qk = q[k]
            for p in range(P):
                if u[t, k, p] < qk:
                    out[t, x, p] = 1


def _seed_streams(seed, n_streams=2):
    """Independent generators (qualities, report noise[, convention draws]) from one seed via ``SeedSequence``.

    The first two children are the same whether two or three are spawned."""
    if isinstance(seed, np.random.SeedSequence):
        ss = seed
    else:
        from ._validation import check_seed

        ss = np.random.SeedSequence(check_seed("seed", seed))
    return tuple(np.random.Generator(np.random.PCG64(s)) for s in ss.spawn(n_streams))


def _check_convention_probs(convention_probs, n_agents):
    """``None`` (all zero) or a float array of ``n_agents`` probabilities in ``[0, 1]``."""
    if convention_probs is None:
        return None
    q = np.asarray(convention_probs, dtype=np.float64).ravel()
    if q.size != n_agents:
        raise ValueError(f"convention_probs must have one entry per agent ({n_agents}), got {q.size}")
    if not np.all(np.isfinite(q)) or np.any(q < 0.0) or np.any(q > 1.0):
        raise ValueError(f"convention_probs must be in [0, 1], got {q.tolist()}")
    return q if np.any(q > 0.0) else None


@dataclass(frozen=True)
class SimulatedReports:
    """Output of :func:`simulate_reports`.

    Attributes
    ----------
    theta : ndarray, shape (n_trials, n_items)
        Item qualities per trial.
    reports : ndarray of int8, shape (n_trials, n_agents, n_pairs)
        ``+1`` if the agent reports ``a > b`` on canonical pair ``(a, b)``, else ``-1``.
    pairs : tuple of two int64 arrays
        The canonical pairs (:func:`pair_index`).
    """

    theta: np.ndarray
    reports: np.ndarray
    pairs: tuple


class ReportSampler:
    """Draws trials chunk by chunk from one seed; the concatenation does not depend on chunk sizes.

    Qualities and report noise come from two generators spawned from the seed's ``SeedSequence``,
    each consumed in C order, so drawing ``n`` trials at once or in pieces gives identical arrays.
    """

    def __init__(self, signed_efforts, n_items, *, prior="normal", seed=None, convention_probs=None):
        eps = np.asarray(signed_efforts, dtype=np.float64).ravel()
        if eps.size < 1 or not np.all(np.isfinite(eps)):
            raise ValueError("signed_efforts must be a non-empty array of finite numbers")
        self.eps = np.ascontiguousarray(eps)
        self.n_items = check_int("n_items", n_items, low=2)
        self.prior = as_prior(prior)
        q = _check_convention_probs(convention_probs, eps.size)
        self.convention_probs = np.zeros(eps.size) if q is None else q
        if q is None:
            self._g_theta, self._g_noise = _seed_streams(seed)
            self._g_conv = None
        else:
            self._g_theta, self._g_noise, self._g_conv = _seed_streams(seed, 3)
            self._conv_agents = np.ascontiguousarray(np.nonzero(q > 0.0)[0], dtype=np.int64)
            self._conv_q = np.ascontiguousarray(q[self._conv_agents])
        self.pa, self.pb = pair_index(self.n_items)

    # uniforms are drawn in blocks of about this many numbers into one reused buffer, which stays in the
    # CPU cache (a fresh (n_trials, N, P) array would cost a page fault per 4 KiB and a trip to memory)
    _BLOCK_ELEMENTS = 1 << 16

    def draw(self, n_trials: int) -> SimulatedReports:
        n_trials = check_int("n_trials", n_trials, low=1)
        from ._validation import MAX_REPORT_ARRAY, check_mc_work

        check_mc_work("n_trials", n_trials, self.eps.size, self.pa.size, MAX_REPORT_ARRAY)   # int8 array size
        theta = np.ascontiguousarray(self.prior.sample(self._g_theta, (n_trials, self.n_items)), dtype=np.float64)
        N, P = self.eps.size, self.pa.size
        out = np.empty((n_trials, N, P), dtype=np.int8)
        block = min(n_trials, max(1, self._BLOCK_ELEMENTS // (N * P)))
        buf = np.empty((block, N, P), dtype=np.float64)
        for t0 in range(0, n_trials, block):
            t1 = min(t0 + block, n_trials)
            u = buf[: t1 - t0]
            self._g_noise.random(out=u)          # the stream in C order, exactly as one big draw
            _draw_reports(theta[t0:t1], self.eps, u, self.pa, self.pb, out[t0:t1])
        if self._g_conv is not None:
            # convention draws for the agents with q > 0 only, from their own stream (C order: chunk-stable)
            K = self._conv_agents.size
            cblock = min(n_trials, max(1, self._BLOCK_ELEMENTS // (K * P)))
            cbuf = np.empty((cblock, K, P), dtype=np.float64)
            for t0 in range(0, n_trials, cblock):
                t1 = min(t0 + cblock, n_trials)
                u = cbuf[: t1 - t0]
                self._g_conv.random(out=u)
                _apply_convention(u, self._conv_q, self._conv_agents, out[t0:t1])
        return SimulatedReports(theta, out, (self.pa, self.pb))


def simulate_reports(signed_efforts, n_items: int, n_trials: int, *, prior="normal", seed=None,
                     convention_probs=None) -> SimulatedReports:
    """Draw qualities and every agent's report on every pair, for many independent trials.

    Parameters
    ----------
    signed_efforts : array_like, shape (n_agents,)
        ``eps_x = +w_x`` (honest) or ``-w_x`` (dishonest); see :class:`agents.Strategy`.
    n_items : int
        ``m >= 2`` items; each agent reports on all ``m(m-1)/2`` pairs.
    n_trials : int
        Independent draws of ``theta`` and reports.
    prior : str, Prior or scipy.stats frozen distribution
        Law of the qualities (``'normal'`` default, ``'uniform'``).
    seed : int, SeedSequence or None
        Same seed, same arrays, bit for bit.
    convention_probs : array_like, shape (n_agents,), optional
        Per agent ``q_x in [0, 1]``: on each pair, independently, the report is replaced by the convention
        ``+1`` with probability ``q_x`` (spec section 4).  ``None`` or all zero: the paper's model, and the
        same arrays as without the argument.

    Returns
    -------
    SimulatedReports

    References
    ----------
    Manyika, Wooldridge, Gan (2025), Def. 4.1 and eq. (4); spec ``mechanisms.md`` section 1.

    Examples
    --------
    >>> sim = simulate_reports([1.0, 1.0, -1.0], n_items=3, n_trials=2, seed=0)
    >>> sim.reports.shape
    (2, 3, 3)
    """
    return ReportSampler(signed_efforts, n_items, prior=prior, seed=seed,
                         convention_probs=convention_probs).draw(n_trials)



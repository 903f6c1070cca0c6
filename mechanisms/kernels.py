"""numba kernels for the payment rules (eqs. 6-8), vectorised over trials.

All kernels take ``reports`` of shape ``(n_trials, n_agents, n_pairs)`` with entries in ``{-1, +1}``
on the canonical pairs of :func:`agents.pair_index`, and fill a preallocated ``out`` of shape
``(n_trials, n_agents)``.  Raw sums, no averaging (spec section 2).
"""
from __future__ import annotations

import numpy as np
from numba import njit

COHERENCE_3CYCLE = 0
COHERENCE_SCC = 1


@njit(cache=True)
def _ppa(reports, z, out):
    T, N, P = reports.shape
    for t in range(T):
        for x in range(N):
            out[t, x] = 0.0
        for p in range(P):
            plus = 0
            for x in range(N):
                if reports[t, x, p] > 0:
                    plus += 1
            agree_plus = z * (plus - 1)
            agree_minus = z * (N - plus - 1)
            for x in range(N):
                out[t, x] += agree_plus if reports[t, x, p] > 0 else agree_minus


@njit(cache=True)
def _fill_beats(reports, t, x, pa, pb, beats):
    # beats[a, b] = 1 iff agent x reports a > b
    P = pa.shape[0]
    for p in range(P):
        a = pa[p]
        b = pb[p]
        if reports[t, x, p] > 0:
            beats[a, b] = 1
            beats[b, a] = 0
        else:
            beats[a, b] = 0
            beats[b, a] = 1


@njit(cache=True)
def _coherent_pairs(beats, pa, pb, rule, reach, coh):
    """``coh[p] = 1`` iff pair ``p`` is coherent in the tournament ``beats`` (spec 2.3)."""
    m = beats.shape[0]
    P = pa.shape[0]
    if rule == COHERENCE_3CYCLE:
        for p in range(P):
            a = pa[p]
            b = pb[p]
            if beats[a, b] == 1:
                w, l = a, b
            else:
                w, l = b, a
            ok = 1
            for c in range(m):
                if c != a and c != b and beats[l, c] == 1 and beats[c, w] == 1:
                    ok = 0
                    break
            coh[p] = ok
    else:
        # transitive closure (Floyd-Warshall); a pair is on a cycle iff its loser reaches its winner
        for u in range(m):
            for v in range(m):
                reach[u, v] = beats[u, v]
        for k in range(m):
            for u in range(m):
                if reach[u, k] == 1:
                    for v in range(m):
                        if reach[k, v] == 1:
                            reach[u, v] = 1
        for p in range(P):
            a = pa[p]
            b = pb[p]
            coh[p] = 0 if (reach[a, b] == 1 and reach[b, a] == 1) else 1


@njit(cache=True)
def _coherence(reports, pa, pb, m, rule, out):
    """``out[t, x, p] = 1`` iff agent ``x``'s pair ``p`` is coherent in trial ``t``."""
    T, N, P = reports.shape
    beats = np.zeros((m, m), dtype=np.int8)
    reach = np.zeros((m, m), dtype=np.int8)
    coh = np.zeros(P, dtype=np.int8)
    for t in range(T):
        for x in range(N):
            _fill_beats(reports, t, x, pa, pb, beats)
            _coherent_pairs(beats, pa, pb, rule, reach, coh)
            for p in range(P):
                out[t, x, p] = coh[p]


@njit(cache=True)
def _oriented(reports, t, x, lookup, u, v):
    # R_x(u, v) from the canonical storage (spec: R(b, a) := -R(a, b))
    k = lookup[u, v]
    if k > 0:
        return reports[t, x, k - 1]
    return -reports[t, x, -k - 1]


@njit(cache=True)
def _triple_table(reports, g, pa, pb, lookup, m, out):
    """Triple statistics of eq. (7), paid by a table: for each canonical pair (a, a'), third item a''
    and ordered peers j != k (both != i), pay ``g[2 B + Q]`` with ``B = 1[R_j(a'',a') = R_i(a,a')]`` (bonus)
    and ``Q = 1[R_k(a'',a) = -R_i(a,a')]`` (penalty).  BSST is ``g = (0, y, y, z)``."""
    T, N, P = reports.shape
    sj = np.zeros(N, dtype=np.int8)
    sk = np.zeros(N, dtype=np.int8)
    n1 = N - 1
    for t in range(T):
        for x in range(N):
            out[t, x] = 0.0
        for p in range(P):
            a = pa[p]
            a1 = pb[p]
            for c in range(m):
                if c == a or c == a1:
                    continue
                # joint counts over all agents of (R(c, a'), R(c, a))
                n_pp = 0
                n_pm = 0
                n_mp = 0
                n_mm = 0
                for x in range(N):
                    sj[x] = _oriented(reports, t, x, lookup, c, a1)
                    sk[x] = _oriented(reports, t, x, lookup, c, a)
                    if sj[x] > 0:
                        if sk[x] > 0:
                            n_pp += 1
                        else:
                            n_pm += 1
                    else:
                        if sk[x] > 0:
                            n_mp += 1
                        else:
                            n_mm += 1
                for i in range(N):
                    si = reports[t, i, p]
                    if si > 0:
                        cnt_b = n_pp + n_pm      # R_j(c,a') = +1 = s_i
                        cnt_q = n_pm + n_mm      # R_k(c,a) = -1 = -s_i
                        cnt_bq = n_pm
                    else:
                        cnt_b = n_mp + n_mm
                        cnt_q = n_pp + n_mp
                        cnt_bq = n_mp
                    own_b = 1 if sj[i] == si else 0
                    own_q = 1 if sk[i] == -si else 0
                    sb = cnt_b - own_b
                    sq = cnt_q - own_q
                    sbq = cnt_bq - own_b * own_q
                    n11 = sb * sq - sbq
                    n10 = sb * (n1 - sq) - (sb - sbq)
                    n01 = (n1 - sb) * sq - (sq - sbq)
                    n00 = (n1 - sb) * (n1 - sq) - (n1 - sb - sq + sbq)
                    out[t, i] += g[0] * n00 + g[1] * n01 + g[2] * n10 + g[3] * n11


@njit(cache=True)
def _pair_table(reports, tab, pa, pb, m, rule, out):
    """Pair statistics: for each canonical pair and peer j, pay ``tab[2 A + C]`` with ``A`` = agreement of
    i and j on the pair and ``C`` = i's coherence of the pair.  PPA is ``(0, 0, z, z)``, APA ``(0, 0, 0, z)``."""
    T, N, P = reports.shape
    beats = np.zeros((m, m), dtype=np.int8)
    reach = np.zeros((m, m), dtype=np.int8)
    coh = np.zeros((N, P), dtype=np.int8)
    for t in range(T):
        for x in range(N):
            out[t, x] = 0.0
            _fill_beats(reports, t, x, pa, pb, beats)
            _coherent_pairs(beats, pa, pb, rule, reach, coh[x])
        for p in range(P):
            plus = 0
            for x in range(N):
                if reports[t, x, p] > 0:
                    plus += 1
            for x in range(N):
                agree = plus - 1 if reports[t, x, p] > 0 else N - plus - 1
                c = coh[x, p]
                out[t, x] += tab[2 + c] * agree + tab[c] * (N - 1 - agree)

"""numba kernels for the payment rules (eqs. 6-8), vectorised over trials.

All kernels take ``reports`` of shape ``(n_trials, n_agents, n_pairs)`` with entries in ``{-1, +1}``
on the canonical pairs of :func:`agents.pair_index`, and fill a preallocated ``out`` of shape
``(n_trials, n_agents)``.  Raw sums, no averaging (spec section 2).

Counting identities used by the pair kernels.  With ``s[p] = sum_x R_x(p)`` (the column sum over all
``N`` agents), agent ``x`` agrees on pair ``p`` with ``(N - 2 + R_x(p) s[p]) / 2`` of its ``N - 1`` peers
and disagrees with ``(N - R_x(p) s[p]) / 2`` (if ``R_x(p) = +1`` the number of ``+1`` reports is
``(N + s[p]) / 2``, of which one is ``x``'s own).  Summed over pairs, PPA pays
``z ((N - 2) P + sum_p R_x(p) s[p]) / 2``: an exact integer count times ``z``, so payments are bit-identical
to the term-by-term sum whenever ``z`` (or the table) is integer-valued, and differ from it by float
reassociation only otherwise.

Coherence (spec 2.3) is evaluated on bitmasks for ``m <= 64`` items: ``out[a]`` holds the items ``a`` is
reported to beat.  Pair ``(w, l)`` (``w`` beats ``l``) lies on a directed 3-cycle iff some ``c`` has
``l -> c -> w``, i.e. iff ``out[l] & ~out[w] != 0`` in a tournament (``c`` beats ``w`` iff ``w`` does not beat
``c``; neither ``w`` nor ``l`` is in ``out[l]``); under ``scc`` it lies on a cycle iff ``l`` reaches ``w``
(bitmask Floyd-Warshall closure).  Above 64 items the kernels fall back to ``(m, m)`` int8 matrices.
"""
from __future__ import annotations

import numpy as np
from numba import njit

COHERENCE_3CYCLE = 0
COHERENCE_SCC = 1
MASK_MAX_ITEMS = 64          # items representable in one uint64 bitmask


@njit(cache=True, inline="always")
def _column_sums(reports, t, s):
    """``s[p] = sum_x reports[t, x, p]`` (so agent x agrees with ``(N - 2 + r[x, p] s[p]) / 2`` peers on p)."""
    N, P = reports.shape[1], reports.shape[2]
    for p in range(P):
        s[p] = 0
    for x in range(N):
        for p in range(P):
            s[p] += reports[t, x, p]


@njit(cache=True)
def _ppa(reports, z, out):
    T, N, P = reports.shape
    s = np.empty(P, dtype=np.int32)
    base = (N - 2) * P
    for t in range(T):
        _column_sums(reports, t, s)
        for x in range(N):
            acc = 0
            for p in range(P):
                acc += np.int32(reports[t, x, p]) * s[p]
            # number of (pair, peer) agreements of x: an exact integer
            out[t, x] = z * ((base + acc) // 2)


@njit(cache=True)
def _bits(m):
    bits = np.empty(m, dtype=np.uint64)
    one = np.uint64(1)
    for i in range(m):
        bits[i] = one << np.uint64(i)
    return bits


@njit(cache=True, inline="always")
def _fill_masks(reports, t, x, pa, pb, outm):
    # outm[a]: bitmask of the items agent x reports a beats.  Arithmetic rather than selects, which the
    # compiler would turn into branches, mispredicted half the time on coin-flip reports.  pa, pb are
    # uint64 (no negative-index wraparound); outm[m] holds 0 and clears the others (not a memset call).
    m = outm.shape[0] - 1
    zero = outm[m]
    one = np.uint64(1)
    for i in range(m):
        outm[i] = zero
    P = pa.shape[0]
    for p in range(P):
        a = pa[p]
        b = pb[p]
        v = np.uint64((reports[t, x, p] + 1) >> 1)      # 1 iff a beats b
        outm[a] |= v << b
        outm[b] |= (v ^ one) << a


@njit(cache=True, inline="always")
def _scc_coherent_masks(outm, pa, pb, bits, reach, coh):
    """``scc`` rule on bitmasks: ``reach`` = transitive closure of ``outm`` (Floyd-Warshall, one word per
    row); pair ``(a, b)`` is incoherent iff each of ``a``, ``b`` reaches the other."""
    m = reach.shape[0]
    P = pa.shape[0]
    zero = np.uint64(0)
    for u in range(m):
        reach[u] = outm[u]
    one = np.uint64(1)
    for k in range(m):
        kk = np.uint64(k)
        rk = reach[k]           # row k does not change while k is the pivot
        for u in range(m):
            # branch-free "if u reaches k: reach[u] |= reach[k]"
            reach[u] |= rk & (zero - ((reach[u] >> kk) & one))
    for p in range(P):
        a = pa[p]
        b = pb[p]
        coh[p] = ((reach[a] & bits[b]) == zero) | ((reach[b] & bits[a]) == zero)


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
def _coherent_pairs_matrix(beats, pa, pb, rule, reach, coh):
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
def _coherent_pairs(beats, pa, pb, rule, reach, coh):
    """``coh[p] = 1`` iff pair ``p`` is coherent in the tournament ``beats`` (spec 2.3).

    ``beats`` and ``reach`` are ``(m, m)`` int8 (``reach`` is scratch); bitmasks are used for ``m <= 64``."""
    m = beats.shape[0]
    if m > MASK_MAX_ITEMS:
        _coherent_pairs_matrix(beats, pa, pb, rule, reach, coh)
        return
    bits = _bits(m)
    zero = np.uint64(0)
    outm = np.empty(m, dtype=np.uint64)
    rmask = np.empty(m, dtype=np.uint64)
    for u in range(m):
        outm[u] = zero
        for v in range(m):
            if beats[u, v] == 1:
                outm[u] |= bits[v]
    if rule == COHERENCE_3CYCLE:
        P = pa.shape[0]
        for p in range(P):
            a = pa[p]
            b = pb[p]
            if beats[a, b] == 1:
                w, l = a, b
            else:
                w, l = b, a
            # a third item c != a, b with l -> c -> w
            inw = zero
            for c in range(m):
                if beats[c, w] == 1:
                    inw |= bits[c]
            coh[p] = (outm[l] & inw & ~(bits[a] | bits[b])) == zero
    else:
        _scc_coherent_masks(outm, pa, pb, bits, rmask, coh)


@njit(cache=True, inline="always")
def _coherent_row(reports, t, x, pa, pb, bits, rule, outm, reach, coh):
    """Coherence of every pair of agent ``x`` in trial ``t`` (bitmasks, ``m <= 64``)."""
    _fill_masks(reports, t, x, pa, pb, outm)
    P = pa.shape[0]
    zero = np.uint64(0)
    if rule == COHERENCE_3CYCLE:
        # in a tournament the items beating w are the complement of outm[w] (minus w itself, which is
        # never in outm[l]): the pair is on a 3-cycle iff outm[l] & ~outm[w] != 0
        for p in range(P):
            oa = outm[pa[p]]
            ob = outm[pb[p]]
            hi = zero - np.uint64((reports[t, x, p] + 1) >> 1)     # all ones iff a beats b
            cyc = (ob & ~oa & hi) | (oa & ~ob & ~hi)
            coh[p] = cyc == zero
    else:
        _scc_coherent_masks(outm, pa, pb, bits, reach, coh)


@njit(cache=True)
def _coherence(reports, pa, pb, m, rule, out):
    """``out[t, x, p] = 1`` iff agent ``x``'s pair ``p`` is coherent in trial ``t``."""
    T, N, P = reports.shape
    if m > MASK_MAX_ITEMS:
        beats = np.zeros((m, m), dtype=np.int8)
        reach = np.zeros((m, m), dtype=np.int8)
        coh = np.zeros(P, dtype=np.int8)
        for t in range(T):
            for x in range(N):
                _fill_beats(reports, t, x, pa, pb, beats)
                _coherent_pairs_matrix(beats, pa, pb, rule, reach, coh)
                for p in range(P):
                    out[t, x, p] = coh[p]
        return
    bits = _bits(m)
    pu = pa.astype(np.uint64)
    qu = pb.astype(np.uint64)
    outm = np.zeros(m + 1, dtype=np.uint64)
    rmask = np.empty(m, dtype=np.uint64)
    coh = np.empty(P, dtype=np.int8)
    for t in range(T):
        for x in range(N):
            _coherent_row(reports, t, x, pu, qu, bits, rule, outm, rmask, coh)
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
    i and j on the pair and ``C`` = i's coherence of the pair.  PPA is ``(0, 0, z, z)``, APA ``(0, 0, 0, z)``.

    Per agent the four counts (agreements / disagreements on coherent / incoherent pairs) are exact
    integers (see the module docstring); the payment is their dot product with the table."""
    T, N, P = reports.shape
    if m > MASK_MAX_ITEMS:
        _pair_table_matrix(reports, tab, pa, pb, m, rule, out)
        return
    bits = _bits(m)
    pu = pa.astype(np.uint64)
    qu = pb.astype(np.uint64)
    outm = np.zeros(m + 1, dtype=np.uint64)       # outm[m] = 0 (see _fill_masks)
    rmask = np.empty(m, dtype=np.uint64)
    coh = np.empty(P, dtype=np.int8)
    s = np.empty(P, dtype=np.int32)
    zero = np.uint64(0)
    for t in range(T):
        _column_sums(reports, t, s)
        for x in range(N):
            acc_all = 0
            acc_coh = 0
            n_coh = 0
            if rule == COHERENCE_3CYCLE:
                _fill_masks(reports, t, x, pu, qu, outm)
                for p in range(P):
                    r = reports[t, x, p]
                    oa = outm[pu[p]]
                    ob = outm[qu[p]]
                    # 3-cycle through the pair: some c with loser -> c -> winner, i.e. c in
                    # outm[loser] & ~outm[winner]; hi selects (winner, loser) without a branch
                    hi = zero - np.uint64((r + 1) >> 1)
                    cyc = (ob & ~oa & hi) | (oa & ~ob & ~hi)
                    c = np.int32(cyc == zero)
                    rs = np.int32(r) * s[p]
                    acc_all += rs
                    acc_coh += c * rs
                    n_coh += c
            else:
                _coherent_row(reports, t, x, pu, qu, bits, rule, outm, rmask, coh)
                for p in range(P):
                    rs = np.int32(reports[t, x, p]) * s[p]
                    c = np.int32(coh[p])
                    acc_all += rs
                    acc_coh += c * rs
                    n_coh += c
            agree = ((N - 2) * P + acc_all) // 2            # agreements with peers, all pairs
            a1 = ((N - 2) * n_coh + acc_coh) // 2           # ... on coherent pairs
            a0 = agree - a1
            d1 = (N - 1) * n_coh - a1                       # disagreements on coherent pairs
            d0 = (N - 1) * (P - n_coh) - a0
            out[t, x] = tab[3] * a1 + tab[1] * d1 + tab[2] * a0 + tab[0] * d0


@njit(cache=True)
def _pair_table_matrix(reports, tab, pa, pb, m, rule, out):
    # (m, m) int8 matrices: any number of items
    T, N, P = reports.shape
    beats = np.zeros((m, m), dtype=np.int8)
    reach = np.zeros((m, m), dtype=np.int8)
    coh = np.zeros((N, P), dtype=np.int8)
    for t in range(T):
        for x in range(N):
            out[t, x] = 0.0
            _fill_beats(reports, t, x, pa, pb, beats)
            _coherent_pairs_matrix(beats, pa, pb, rule, reach, coh[x])
        for p in range(P):
            plus = 0
            for x in range(N):
                if reports[t, x, p] > 0:
                    plus += 1
            for x in range(N):
                agree = plus - 1 if reports[t, x, p] > 0 else N - plus - 1
                c = coh[x, p]
                out[t, x] += tab[2 + c] * agree + tab[c] * (N - 1 - agree)

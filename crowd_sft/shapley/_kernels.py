"""numba kernels for the Shapley estimators (private; see the public wrappers).

All kernels take preallocated arrays and plain numbers and are compiled with ``cache=True``
so repeated calls pay no compilation.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..scoring import _score_sum

RESYNC_MASK = (1 << 16) - 1  # recompute the running sum from scratch every 65536 Gray steps


def shapley_weights(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(w, c)``: ``w[s] = s!(n-1-s)!/n!`` for ``s < n``, ``w[n] = 0``; ``c[s] = w[s-1] + w[s]``.

    With these, ``phi_i = sum_{S contains i} c(|S|) v(S) - sum_S w(|S|) v(S)``: every coalition's
    value contributes ``+w(|S|-1)`` to its members and ``-w(|S|)`` to the non-members.
    """
    w = np.zeros(n + 1)
    for s in range(n):
        # 1 / (n * C(n-1, s)) computed in log space (exact enough; n <= a few hundred)
        w[s] = math.exp(-math.log(n) - (math.lgamma(n) - math.lgamma(s + 1) - math.lgamma(n - s)))
    c = np.zeros(n + 1)
    c[1:] = w[:-1] + w[1:]
    return w, c


@njit(cache=True)
def _ctz(k):
    j = 0
    while (k >> j) & 1 == 0:
        j += 1
    return j


@njit(cache=True, inline="always")
def _neumaier_add(hi, lo, g):
    """Compensated ``hi + lo += g`` (Neumaier): returns the new ``(hi, lo)``."""
    tmp = hi + g
    if abs(hi) >= abs(g):
        lo += (hi - tmp) + g
    else:
        lo += (g - tmp) + hi
    return tmp, lo


@njit(cache=True)
def _finish(ins, acc, start_hi, start_lo, r_hi, r_lo, k_hi, k_lo, phi):
    """Close the intervals of players still in the coalition and write ``phi``."""
    for j in range(phi.shape[0]):
        if ins[j]:
            acc[j] += (r_hi - start_hi[j]) + (r_lo - start_lo[j])
        phi[j] = acc[j] - (k_hi + k_lo)


@njit(cache=True)
def _gray_exact_mean_game(users, e, code, v0, w, c, phi):
    """Exact Shapley values of v(S) = eval(mean_S u, e) by a Gray-code walk, O(2^n d) time.

    Each step flips one player, so the running sum vector and size update in O(d). The
    per-player sums ``sum_{S contains i} c(|S|) v(S)`` are obtained in O(1) per step from a
    compensated running prefix sum R of ``g(S) = c(|S|) v(S)``: player j accumulates
    ``R(leave) - R(enter)`` over the intervals of the walk during which it is in the coalition.
    Returns the number of coalitions visited (2^n).
    """
    n, d = users.shape
    s = np.zeros(d)
    size = 0
    ins = np.zeros(n, np.bool_)
    start_hi = np.zeros(n)
    start_lo = np.zeros(n)
    acc = np.zeros(n)
    r_hi = 0.0
    r_lo = 0.0
    k_hi = v0 * w[0]
    k_lo = 0.0
    total = np.int64(1) << n
    for k in range(1, total):
        j = _ctz(k)
        if ins[j]:
            acc[j] += (r_hi - start_hi[j]) + (r_lo - start_lo[j])
            ins[j] = False
            size -= 1
            for t in range(d):
                s[t] -= users[j, t]
        else:
            start_hi[j] = r_hi
            start_lo[j] = r_lo
            ins[j] = True
            size += 1
            for t in range(d):
                s[t] += users[j, t]
        if (k & RESYNC_MASK) == 0:  # bound floating drift of the running sum
            for t in range(d):
                s[t] = 0.0
            for i in range(n):
                if ins[i]:
                    for t in range(d):
                        s[t] += users[i, t]
        if size == 0:
            val = v0
        else:
            val = _score_sum(s, size, e, code)
        # Neumaier-compensated R += c(size) * val and K += w(size) * val
        r_hi, r_lo = _neumaier_add(r_hi, r_lo, val * c[size])
        k_hi, k_lo = _neumaier_add(k_hi, k_lo, val * w[size])
    _finish(ins, acc, start_hi, start_lo, r_hi, r_lo, k_hi, k_lo, phi)
    return total


@njit(cache=True)
def _gray_exact_table(table, n, w, c, phi):
    """Exact Shapley values from a table of all 2^n coalition values (bit i = player i), O(2^n)."""
    ins = np.zeros(n, np.bool_)
    start_hi = np.zeros(n)
    start_lo = np.zeros(n)
    acc = np.zeros(n)
    r_hi = 0.0
    r_lo = 0.0
    k_hi = table[0] * w[0]
    k_lo = 0.0
    size = 0
    code = np.int64(0)
    total = np.int64(1) << n
    for k in range(1, total):
        j = _ctz(k)
        code ^= np.int64(1) << j
        if ins[j]:
            acc[j] += (r_hi - start_hi[j]) + (r_lo - start_lo[j])
            ins[j] = False
            size -= 1
        else:
            start_hi[j] = r_hi
            start_lo[j] = r_lo
            ins[j] = True
            size += 1
        val = table[code]
        r_hi, r_lo = _neumaier_add(r_hi, r_lo, val * c[size])
        k_hi, k_lo = _neumaier_add(k_hi, k_lo, val * w[size])
    _finish(ins, acc, start_hi, start_lo, r_hi, r_lo, k_hi, k_lo, phi)
    return total


@njit(cache=True)
def _mc_perm_mean_game(users, e, code, v0, perms, antithetic, zob, ext, ext_const, mean, m2, hashes, check):
    """Permutation-sampling marginals of the mean-vector game, incremental means, O(P n d).

    For every permutation row (and, if ``antithetic``, its reverse) the prefix coalitions are
    walked with a running sum; the player added at step k gets ``v(prefix_k) - v(prefix_{k-1})``.
    One sample per row is the marginal vector (antithetic: the average of the row and its
    reverse). Per-player Welford ``mean``/``m2`` (length n, start at 0) are updated in place;
    the XOR-hash of every visited non-empty coalition is written to ``hashes`` (for unique
    counts) if ``check[size]``; coalitions of the other sizes (where a repeat is too improbable to
    matter, see ``montecarlo._hash_sizes``) are only counted. If ``ext``, the marginals at the
    first and last position (whose conditional means ``v({i}) - v(empty)`` and ``v(N) - v(N-i)``
    are known exactly) are replaced by the constant ``ext_const[i]`` = their exact share (unbiased,
    removes the dominant size-driven variance). Returns ``(values computed, hashes written,
    coalitions counted without a hash)``.
    """
    p_rows, n = perms.shape
    d = users.shape[1]
    s = np.zeros(d)
    fwd = np.zeros(n)
    rev = np.zeros(n)
    calls = 0
    pos = 0
    fresh = 0
    for p in range(p_rows):
        for t in range(d):
            s[t] = 0.0
        prev = v0
        h = np.uint64(0)
        for k in range(n):
            i = perms[p, k]
            for t in range(d):
                s[t] += users[i, t]
            val = _score_sum(s, k + 1, e, code)
            fwd[i] = val - prev
            if ext and (k == 0 or k == n - 1):
                fwd[i] = 0.0
            prev = val
            h ^= zob[i]
            if check[k + 1]:
                hashes[pos] = h
                pos += 1
            else:
                fresh += 1
        v_full = prev
        calls += n
        if antithetic:
            for t in range(d):
                s[t] = 0.0
            prev = v0
            h = np.uint64(0)
            for k in range(n):
                i = perms[p, n - 1 - k]
                for t in range(d):
                    s[t] += users[i, t]
                if k == n - 1:
                    val = v_full  # identical v(N) for both walks of the pair
                else:
                    val = _score_sum(s, k + 1, e, code)
                rev[i] = val - prev
                if ext and (k == 0 or k == n - 1):
                    rev[i] = 0.0
                prev = val
                h ^= zob[i]
                if k < n - 1:
                    if check[k + 1]:
                        hashes[pos] = h
                        pos += 1
                    else:
                        fresh += 1
            calls += n - 1
        cnt = p + 1.0
        for i in range(n):
            x = fwd[i]
            if antithetic:
                x = 0.5 * (fwd[i] + rev[i])
            if ext:
                x += ext_const[i]
            delta = x - mean[i]
            mean[i] += delta / cnt
            m2[i] += delta * (x - mean[i])
    return calls, pos, fresh


@njit(cache=True)
def _strat_mean_game(users, e, code, v0, players, sizes, seed, zob, marg, hashes):
    """Stratified marginals of the mean-vector game: sample r draws S uniformly among the
    ``sizes[r]``-subsets of the players other than ``players[r]`` and stores
    ``marg[r] = v(S + i) - v(S)``. The subset comes from a partial Fisher-Yates shuffle of the
    others of length ``min(s, n-1-s)`` (the complement is drawn when smaller; its sum is
    subtracted from the others' total), so a draw costs O(min(s, n-s) d). Hashes of S and S+i go
    to ``hashes[2r], hashes[2r+1]``. Randomness: numba's generator seeded with ``seed``.
    """
    np.random.seed(seed)
    n, d = users.shape
    total = np.zeros(d)
    full_hash = np.uint64(0)
    for j in range(n):
        full_hash ^= zob[j]
        for t in range(d):
            total[t] += users[j, t]
    idx = np.arange(n)
    where = np.arange(n)
    acc = np.zeros(d)
    s_vec = np.zeros(d)
    for r in range(players.shape[0]):
        i = players[r]
        s = sizes[r]
        # move player i to the last slot: the others occupy 0..n-2
        pi = where[i]
        last = idx[n - 1]
        idx[pi] = last
        where[last] = pi
        idx[n - 1] = i
        where[i] = n - 1
        m = n - 1
        comp = s > m - s
        k = m - s if comp else s
        h = np.uint64(0)
        for t in range(d):
            acc[t] = 0.0
        for j in range(k):
            q = j + int(np.random.random() * (m - j))
            if q >= m:
                q = m - 1
            a = idx[j]
            b = idx[q]
            idx[j] = b
            where[b] = j
            idx[q] = a
            where[a] = q
            h ^= zob[b]
            for t in range(d):
                acc[t] += users[b, t]
        if comp:
            for t in range(d):
                s_vec[t] = total[t] - users[i, t] - acc[t]
            h = full_hash ^ zob[i] ^ h
        else:
            for t in range(d):
                s_vec[t] = acc[t]
        v_s = v0 if s == 0 else _score_sum(s_vec, s, e, code)
        for t in range(d):
            s_vec[t] += users[i, t]
        v_si = _score_sum(s_vec, s + 1, e, code)
        marg[r] = v_si - v_s
        hashes[2 * r] = h
        hashes[2 * r + 1] = h ^ zob[i]


# ----------------------------------------------------------------------------- published KernelSHAP
@njit(cache=True)
def _kernelshap_sample(n, sizes, keys, samples_left, num_paired, masks, weights):
    """The sampled part of shap's KernelExplainer design (``kernelshap._published_design``).

    Draw ``t`` is the first ``sizes[t]`` entries of a partial Fisher-Yates shuffle of ``0..n-1``
    driven by the next ``sizes[t]`` uniforms of ``keys``. A new subset is appended with weight 1
    (then its complement, for paired sizes, while samples are left); a repeated one adds 1 to the
    weights of its first occurrence (and of that occurrence's complement). Subsets are identified by
    their exact bit masks (two 64-bit words, ``n <= 128``). Fills ``masks``/``weights`` and returns
    the number of rows written.
    """
    seen = dict()
    seen[(np.uint64(0), np.uint64(0))] = -1  # types the dict; the empty set is never drawn
    perm = np.empty(n, dtype=np.int64)
    k = 0
    pos = 0
    off = 0
    one = np.uint64(1)
    while samples_left > 0 and pos < sizes.shape[0]:
        size = sizes[pos]
        pos += 1
        for i in range(n):
            perm[i] = i
        for i in range(size):
            j = i + int(keys[off + i] * (n - i))
            if j > n - 1:
                j = n - 1
            tmp = perm[i]
            perm[i] = perm[j]
            perm[j] = tmp
        off += size
        w0 = np.uint64(0)
        w1 = np.uint64(0)
        for i in range(size):
            p = perm[i]
            if p < 64:
                w0 |= one << np.uint64(p)
            else:
                w1 |= one << np.uint64(p - 64)
        key = (w0, w1)
        idx = -2
        if key in seen:
            idx = seen[key]
        new = idx == -2
        if new:
            idx = k
            seen[key] = k
            for i in range(n):
                masks[k, i] = False
            for i in range(size):
                masks[k, perm[i]] = True
            weights[k] = 1.0
            k += 1
            samples_left -= 1
        else:
            weights[idx] += 1.0
        if samples_left > 0 and size <= num_paired:
            if new:
                for i in range(n):
                    masks[k, i] = not masks[idx, i]
                weights[k] = 1.0
                k += 1
                samples_left -= 1
            else:
                weights[idx + 1] += 1.0
    return k


@njit(cache=True)
def _design_moments(masks, weights, coef, p_mat, zc):
    """``P = Z^T diag(weights) Z`` and ``Z^T coef`` (``coef``: (k, c)) for a 0/1 design ``Z``.

    Each row is read through its smaller side: a row with more members than non-members is
    ``1 - y`` with ``y`` its non-members, and ``(1-y)(1-y)^T = 11^T - 1y^T - y1^T + yy^T``, so the
    cost is ``sum_rows min(s, n-s)^2`` instead of ``k n^2``.
    """
    k, n = masks.shape
    c = coef.shape[1]
    idx = np.empty(n, dtype=np.int64)
    comp_w = 0.0
    comp_v = np.zeros(n)       # sum over complement rows of w * y
    comp_c = np.zeros(c)       # sum over complement rows of coef
    for i in range(n):
        for j in range(n):
            p_mat[i, j] = 0.0
        for j in range(c):
            zc[i, j] = 0.0
    for r in range(k):
        s = 0
        for i in range(n):
            if masks[r, i]:
                s += 1
        comp = 2 * s > n
        m = 0
        for i in range(n):
            if masks[r, i] != comp:
                idx[m] = i
                m += 1
        w = weights[r]
        for a in range(m):
            ia = idx[a]
            for b in range(m):
                p_mat[ia, idx[b]] += w
        if comp:
            comp_w += w
            for a in range(m):
                comp_v[idx[a]] += w
            for j in range(c):
                comp_c[j] += coef[r, j]
                for a in range(m):
                    zc[idx[a], j] -= coef[r, j]
        else:
            for j in range(c):
                for a in range(m):
                    zc[idx[a], j] += coef[r, j]
    for i in range(n):
        for j in range(n):
            p_mat[i, j] += comp_w - comp_v[i] - comp_v[j]
        for j in range(c):
            zc[i, j] += comp_c[j]


@njit(cache=True)
def _hash_insert(table, keys):
    """Insert uint64 ``keys`` into an open-addressing ``table`` (0 = empty slot; a key 0 is stored
    as the reserved value 2**64 - 1, never a coalition hash here). Returns how many were new.
    The caller keeps the load factor below 1/2."""
    mask = np.uint64(table.shape[0] - 1)
    new = 0
    for t in range(keys.shape[0]):
        k = keys[t]
        if k == np.uint64(0):
            k = np.uint64(0xFFFFFFFFFFFFFFFF)
        h = (k * np.uint64(0x9E3779B97F4A7C15)) & mask
        while True:
            cur = table[h]
            if cur == np.uint64(0):
                table[h] = k
                new += 1
                break
            if cur == k:
                break
            h = (h + np.uint64(1)) & mask
    return new


@njit(cache=True)
def _published_values(masks, users, e, code, v0, total, out):
    """Values of the published game on the rows of a 0/1 design: ``eval(mean of S, e)``.

    Each coalition's sum is read through its smaller side (``sum(S) = total - sum(N - S)`` when
    ``S`` has more members than non-members), ``O(min(s, n - s) d)`` per row; ``v(empty) = v0``.
    """
    k, n = masks.shape
    d = users.shape[1]
    acc = np.empty(d)
    for r in range(k):
        s = 0
        for i in range(n):
            if masks[r, i]:
                s += 1
        if s == 0:
            out[r] = v0
            continue
        comp = 2 * s > n
        for j in range(d):
            acc[j] = 0.0
        for i in range(n):
            if masks[r, i] != comp:
                for j in range(d):
                    acc[j] += users[i, j]
        if comp:
            for j in range(d):
                acc[j] = total[j] - acc[j]
        out[r] = _score_sum(acc, s, e, code)


@njit(cache=True)
def _published_tail(n, sizes, keys, samples_left, num_paired, users, e, code, v0, diff, total, q_mat, v_cnt,
                    m_coef, acc, sizes_final):
    """The sampled part of the published KernelSHAP on the published game, fused: design, coalition
    values and the moments of the constrained least squares, without forming the ``k x n`` design.

    Draws follow :func:`_kernelshap_sample` exactly (same subsets, same counts). Every draw adds
    count 1 to its subset ``S`` and, for paired sizes while samples are left, count 1 to ``N - S``;
    the sampled rows' final weights are ``count * f`` with ``f`` applied by the caller. With unit
    counts the moments are accumulated as

    * ``P[i, j] = G - V[i] - V[j] + Q[i, j]`` (``Q``: counts of ``S x S``, each unordered pair
      added to one of ``q_mat[i, j]``/``q_mat[j, i]``, so ``Q = q_mat + q_mat^T - diag(q_mat)``;
      ``V``: complement counts per member; ``G``: complement rows) -- integers, exact in float64;
    * ``Z^T coef = acc[1:4] + M`` (``M[i]``: ``coef(S) - coef(N - S)`` summed over the draws with
      ``i`` in ``S``; ``acc[1:4]``: ``coef(N - S)`` summed),

    with ``coef(row) = [ey, s, (n - s) ey + s (ey - diff)]`` (``ey = v(row) - v0``, ``s = |row|``).
    ``acc`` receives ``[G, gc0, gc1, gc2, count sum, sum(c s), sum(c s (ey - diff)), rows]``.
    Cost per draw ``O(s^2 + s d)`` (``s <= n/2``, the drawn side). Returns the number of uniforms
    of ``keys`` used, or -1 if ``keys`` ran out, or ``sizes`` did while it is not ``sizes_final``
    (the caller extends them from the same stream and calls again).
    """
    seen = dict()
    seen[(np.uint64(0), np.uint64(0))] = -1  # types the dict; the empty set is never drawn
    d = users.shape[1]
    cap = samples_left + 1
    vals_s = np.empty(cap)
    vals_c = np.empty(cap)
    perm = np.arange(n)
    swap_to = np.empty(n, dtype=np.int64)
    members = np.empty(n, dtype=np.int64)
    sub = np.empty(d)
    k = 0
    n_new = 0
    pos = 0
    off = 0
    one = np.uint64(1)
    nkeys = keys.shape[0]
    while samples_left > 0 and pos < sizes.shape[0]:
        size = sizes[pos]
        pos += 1
        if off + size > nkeys:
            return -1
        for i in range(size):  # partial Fisher-Yates; perm is the identity again after each draw
            j = i + int(keys[off + i] * (n - i))
            if j > n - 1:
                j = n - 1
            swap_to[i] = j
            tmp = perm[i]
            perm[i] = perm[j]
            perm[j] = tmp
        off += size
        w0 = np.uint64(0)
        w1 = np.uint64(0)
        for i in range(size):
            p = perm[i]
            if p < 64:
                w0 |= one << np.uint64(p)
            else:
                w1 |= one << np.uint64(p - 64)
            members[i] = p
        for i in range(size - 1, -1, -1):  # undo the swaps: O(size) instead of resetting n entries
            j = swap_to[i]
            tmp = perm[i]
            perm[i] = perm[j]
            perm[j] = tmp
        key = (w0, w1)
        idx = -2
        if key in seen:
            idx = seen[key]
        new = idx == -2
        if new:
            idx = n_new
            seen[key] = n_new
            n_new += 1
            for t in range(d):
                sub[t] = 0.0
            for i in range(size):
                for t in range(d):
                    sub[t] += users[members[i], t]
            vals_s[idx] = _score_sum(sub, size, e, code)
            if size < n:
                for t in range(d):
                    sub[t] = total[t] - sub[t]
                vals_c[idx] = _score_sum(sub, n - size, e, code)
            else:
                vals_c[idx] = v0
            k += 1
            samples_left -= 1
        paired = samples_left > 0 and size <= num_paired
        if paired and new:
            k += 1
            samples_left -= 1
        # row S, count 1
        ey = vals_s[idx] - v0
        c0 = ey
        c1 = float(size)
        c2 = (n - size) * ey + size * (ey - diff)
        acc[4] += 1.0
        acc[5] += size
        acc[6] += size * (ey - diff)
        step = 1.0
        if paired:  # row N - S, count 1
            eyc = vals_c[idx] - v0
            g0 = eyc
            g1 = float(n - size)
            g2 = size * eyc + (n - size) * (eyc - diff)
            acc[0] += 1.0
            acc[1] += g0
            acc[2] += g1
            acc[3] += g2
            acc[4] += 1.0
            acc[5] += n - size
            acc[6] += (n - size) * (eyc - diff)
            c0 -= g0
            c1 -= g1
            c2 -= g2
            step = 2.0
        for a in range(size):
            ia = members[a]
            m_coef[ia, 0] += c0
            m_coef[ia, 1] += c1
            m_coef[ia, 2] += c2
            if paired:
                v_cnt[ia] += 1.0
            for b in range(a, size):  # each unordered pair once; the caller symmetrises
                q_mat[ia, members[b]] += step
    if samples_left > 0 and not sizes_final:
        return -1
    acc[7] = k
    return off

"""Plain vectorised numpy implementations of the payment rules.

They follow the printed definitions directly (boolean tensors, no counting tricks). They serve as an
independent cross-check of the numba kernels (``tests/test_payments.py``) and as the numpy baseline in
``benchmarks/bench_simulator.py``.
"""
from __future__ import annotations

import numpy as np

from agents import pair_index


def _n_items(P):
    return int(round((1 + (1 + 8 * P) ** 0.5) / 2))


def ppa_payments(reports, z=1.0):
    """Eq. (6) for reports of shape (T, N, P)."""
    R = np.asarray(reports)
    N = R.shape[1]
    plus = (R > 0).sum(axis=1, keepdims=True)
    agree = np.where(R > 0, plus - 1, N - plus - 1)
    return z * agree.sum(axis=2, dtype=np.float64)


def beats_tensor(reports):
    """``B[t, x, a, b] = True`` iff agent ``x`` reports ``a > b`` in trial ``t``."""
    R = np.asarray(reports)
    T, N, P = R.shape
    m = _n_items(P)
    pa, pb = pair_index(m)
    B = np.zeros((T, N, m, m), dtype=bool)
    B[:, :, pa, pb] = R > 0
    B[:, :, pb, pa] = R < 0
    return B


def coherence(reports, rule="3cycle"):
    """Coherent-pair indicator (T, N, P) under ``'3cycle'`` or ``'scc'`` (spec 2.3)."""
    R = np.asarray(reports)
    m = _n_items(R.shape[2])
    pa, pb = pair_index(m)
    B = beats_tensor(R)
    if rule == "3cycle":
        # two-step paths l -> c -> w
        C = np.einsum("tnlc,tncw->tnlw", B.astype(np.int32), B.astype(np.int32)) > 0
    else:
        C = B.copy()
        for _ in range(m):
            C = C | (np.einsum("tnuk,tnkv->tnuv", C.astype(np.int32), C.astype(np.int32)) > 0)
    winner = np.where(R > 0, pa, pb)
    loser = np.where(R > 0, pb, pa)
    t_idx, n_idx = np.indices(R.shape[:2])
    on_cycle = C[t_idx[..., None], n_idx[..., None], loser, winner]
    return ~on_cycle


def apa_payments(reports, z=1.0, rule="3cycle"):
    """Eq. (8): PPA agreement terms restricted to the payee's coherent pairs."""
    R = np.asarray(reports)
    N = R.shape[1]
    plus = (R > 0).sum(axis=1, keepdims=True)
    agree = np.where(R > 0, plus - 1, N - plus - 1)
    return z * (agree * coherence(R, rule)).sum(axis=2, dtype=np.float64)


def bsst_payments(reports, z=1.0, y=0.5):
    """Eq. (7) over canonical pairs, third items and ordered distinct peers, by explicit masks."""
    R = np.asarray(reports)
    T, N, P = R.shape
    m = _n_items(P)
    B = beats_tensor(R)
    S = np.where(B, 1, -1)          # S[t, x, u, v] = R_x(u, v) for u != v
    pa, pb = pair_index(m)
    j_ne_k = ~np.eye(N, dtype=bool)
    mask = j_ne_k[None, :, :] & j_ne_k[:, :, None] & j_ne_k[:, None, :]   # [i, j, k]: i, j, k distinct
    out = np.zeros((T, N))
    for a, a1 in zip(pa, pb):
        for c in range(m):
            if c in (a, a1):
                continue
            si = S[:, :, a, a1]                 # (T, N)
            sj = S[:, :, c, a1]
            sk = S[:, :, c, a]
            bonus = (sj[:, None, :] == si[:, :, None])            # [t, i, j]
            penalty = (sk[:, None, :] == -si[:, :, None])          # [t, i, k]
            both = bonus[:, :, :, None] & penalty[:, :, None, :]  # [t, i, j, k]
            one = bonus[:, :, :, None] ^ penalty[:, :, None, :]
            v = np.where(both, z, np.where(one, y, 0.0))
            out += (v * mask[None]).sum(axis=(2, 3))
    return out

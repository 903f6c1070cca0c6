"""Bayesian Strong Stochastic Transitivity (BSST) bonus-penalty rule, paper eq. (7) with Def. 6.1; spec 2.2."""
from __future__ import annotations

from math import comb

import numpy as np

from agents import pair_index, pair_lookup
from agents._validation import check_real

from .base import Mechanism
from .exact import bsst_A_table
from .kernels import _triple_table


class BSST(Mechanism):
    """BSST (Chen et al. 2024a as used in eq. 7).

    For each canonical pair ``(a, a')``, each third item ``a''`` and each ordered pair of distinct peers
    ``(j, k)``: with ``s_i = R_i(a, a')``, ``s_j = R_j(a'', a')`` (bonus peer) and ``s_k = R_k(a'', a)``
    (penalty peer), pay ``z`` if ``s_j = s_i`` and ``s_k = -s_i``, ``y`` if exactly one holds, else 0.

    Parameters
    ----------
    z, y : float
        ``z > y > 0``.

    Notes
    -----
    ``T_B = C(m,2) (m-2) (N-1) (N-2)`` terms (spec 2.2).  Summing over all ordered triples, as eq. 7 is
    printed, doubles every realisation exactly; unordered canonical pairs are used.  ``v`` is affine in
    the bonus-penalty difference iff ``y = z/2``.

    References
    ----------
    Manyika, Wooldridge, Gan (2025), eq. (7), Def. 6.1; Chen, Feng, Yu (2024a).
    """

    name = "bsst"
    min_items = 3

    def __init__(self, z: float = 1.0, y: float = 0.5):
        self.z = check_real("z", z, low=0.0, low_open=True, high=1e250)  # payments stay finite
        self.y = check_real("y", y, low=0.0, low_open=True, high=1e250)
        if not self.y < self.z:
            raise ValueError(f"y must satisfy 0 < y < z for BSST (got z={self.z!r}, y={self.y!r})")

    def params(self):
        return {"z": self.z, "y": self.y}

    def n_terms(self, n_agents, n_items):
        return comb(n_items, 2) * (n_items - 2) * (n_agents - 1) * (n_agents - 2)

    def scaled(self, factor):
        return BSST(self.z * factor, self.y * factor)

    def _kernel_payments(self, reports, m, out):
        pa, pb = pair_index(m)
        g = np.array([0.0, self.y, self.y, self.z])
        _triple_table(reports, g, pa, pb, pair_lookup(m), m, out)

    _exact_payment = Mechanism._exact_via_curve

    def _table(self, own, peer, n_agents, n_items, prior, refine=1):
        A = bsst_A_table(prior, np.concatenate([own, peer]), refine)
        Aop = A[: own.size, own.size:]
        App = np.diag(A)[own.size:]
        V = self.y * (1.0 + Aop) + (self.z - 2.0 * self.y) * (1.0 + 2.0 * Aop - App[None, :]) / 4.0
        return comb(n_items, 2) * (n_items - 2) * (n_agents - 1) * (n_agents - 2) * V

    def _curve(self, own, peers, n_items, prior, refine=1):
        n1 = peers.size                       # N - 1 peers
        A = bsst_A_table(prior, np.concatenate([own, peers]), refine)
        Aip = A[: own.size, own.size:]        # (n_own, n_peers)
        App = A[own.size:, own.size:]
        s_ip = Aip.sum(axis=1)
        s_pp = App.sum() - np.trace(App)
        sum_eb = (n1 - 1) * (n1 + s_ip) / 2.0                  # sum over j != k of E[B_j]; same for E[Q_k]
        sum_ebq = (n1 * (n1 - 1) + 2.0 * (n1 - 1) * s_ip - s_pp) / 4.0
        V = self.y * 2.0 * sum_eb + (self.z - 2.0 * self.y) * sum_ebq
        return comb(n_items, 2) * (n_items - 2) * V

    def _ext_values(self, own, qs, peers, peers_q, n_items, prior, refine=1):
        # With m_x = q_x c_x + (1 - q_x) t_x (c_x the convention's sign of x's oriented pair), the products of
        # two reports have E[s_x s_y] = q_x q_y c_x c_y + (1 - q_x)(1 - q_y) (paper-space correlation).  Over the
        # three positions of the third item (below, between, above the canonical pair) the convention signs
        # average to c_i c_j = 1/3, c_i c_k = -1/3, c_j c_k = 1/3 (all convention: v = z/3 + 2y/3).
        n1 = peers.size
        A = bsst_A_table(prior, np.concatenate([own, peers]), refine)
        Aip = A[: own.size, own.size:]                                     # (n_own, n1)
        App = A[own.size:, own.size:]
        qj = np.asarray(peers_q, dtype=float)
        qi = np.asarray(qs, dtype=float)[None, :]                          # (1, n_q)
        wq = 1.0 - qj
        K = (np.sum(np.outer(qj, qj)) - np.sum(qj * qj)) / 3.0 + (wq @ App @ wq - np.sum(wq * wq * np.diag(App)))
        X = qi * (qj.sum() / 3.0) + (1.0 - qi) * (Aip @ wq)[:, None]        # (n_own, n_q)
        V = self.y * (n1 - 1) * (n1 + X) + (self.z - 2.0 * self.y) * (n1 * (n1 - 1) + 2.0 * (n1 - 1) * X - K) / 4.0
        return comb(n_items, 2) * (n_items - 2) * V

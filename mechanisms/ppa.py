"""Peer Pairwise Agreement (PPA), paper eq. (6); spec section 2.1."""
from __future__ import annotations

from math import comb

import numpy as np

from agents._validation import check_real

from .base import Mechanism
from .exact import agreement_correlation_table
from .kernels import _ppa


class PPA(Mechanism):
    """Peer Pairwise Agreement: ``M_i = z * sum_{a<b} sum_{j != i} 1[R_i(a,b) = R_j(a,b)]`` (eq. 6).

    Parameters
    ----------
    z : float
        Payment per agreement, ``z > 0``.

    Notes
    -----
    There are ``T_P = C(m,2) (N-1)`` terms: unordered pairs, raw sums (spec 2.1).  With all agents
    uninformed the expected payment is ``z T_P / 2``; with all honest and ``w -> inf`` it is ``z T_P``.

    References
    ----------
    Manyika, Wooldridge, Gan (2025), Section 6, eq. (6).

    Examples
    --------
    >>> from agents import Strategy
    >>> r = PPA(z=1.0).expected_payment(Strategy(0.0), Strategy(0.0), n_agents=3, n_items=3)
    >>> round(r.expected_payment, 12)   # T_P / 2 = 3 * 2 / 2
    3.0
    """

    name = "ppa"
    min_items = 2

    def __init__(self, z: float = 1.0):
        self.z = check_real("z", z, low=0.0, low_open=True, high=1e250)  # payments stay finite

    def n_terms(self, n_agents, n_items):
        return comb(n_items, 2) * (n_agents - 1)

    def scaled(self, factor):
        return PPA(self.z * factor)

    def _kernel_payments(self, reports, m, out):
        _ppa(reports, self.z, out)

    _exact_payment = Mechanism._exact_via_curve

    def _table(self, own, peer, n_agents, n_items, prior, refine=1):
        C = agreement_correlation_table(prior, own, peer, refine)
        return self.z * comb(n_items, 2) * (n_agents - 1) * (1.0 + C) / 2.0

    _curve = Mechanism._curve_from_per_peer

    def _ext_values(self, own, qs, peers, peers_q, n_items, prior, refine=1):
        # E[1(R_i = R_j)] = (1 + E[m_i m_j]) / 2 with m_x = q_x + (1 - q_x) t(eps_x D): the cross terms
        # E[t(eps D)] vanish (D is symmetric for i.i.d. qualities), so
        # E[R_i R_j] = q_i q_j + (1 - q_i)(1 - q_j) C_ij  (any i.i.d. prior)
        vals, inv = np.unique(peers, return_inverse=True)
        C = agreement_correlation_table(prior, own, vals, refine)[:, inv.ravel()]      # (n_own, n_peers)
        qi = np.asarray(qs, dtype=float)[None, :, None]
        qj = np.asarray(peers_q, dtype=float)[None, None, :]
        corr = qi * qj + (1.0 - qi) * (1.0 - qj) * C[:, None, :]
        return self.z * comb(n_items, 2) * np.sum((1.0 + corr) / 2.0, axis=2)

"""Classic peer-prediction baselines, written for "every agent reports every pair": DG13 and CA.

Both reward agreement with a peer on the same pair (the *bonus* task) minus agreement on *distinct*
pairs (which measures agreement by chance), shifted by ``+1`` so that every term is in ``[0, 2]``
(limited liability), times ``z``:

    M_i = z * sum_{pairs p} sum_{j != i} ( 1 + 1[R_i(p) = R_j(p)] - penalty_ij(p) ).

* :class:`DG13` (Dasgupta & Ghosh 2013): ``penalty = d_i d_j + (1 - d_i)(1 - d_j)``, where ``d_i`` is the
  fraction of ``+1`` reports of ``i`` on a set ``S_i`` and ``d_j`` that of ``j`` on a disjoint set ``S_j``.
  Here ``S_i`` and ``S_j`` split the other pairs (canonical order, ``p`` excluded): ``S_i`` the first
  ``floor((P-1)/2)``, ``S_j`` the rest.
* :class:`CA` (Shnayder, Agarwal, Frongillo & Parkes 2016), binary signals: the score matrix for
  positively correlated binary signals is the identity, so ``penalty = 1[R_i(p') = R_j(p'')]`` for penalty
  pairs ``p' != p''`` (both ``!= p``).  The random choice of ``(p', p'')`` is replaced by its average over all
  such ordered pairs (same expectation, less variance).

Exact expected payments: with ``C_ij = E[t(eps_i D) t(eps_j D)]`` on one pair and
``A_ij = E_u[T_i(u) T_j(u)]`` the correlation through one shared item (see :mod:`mechanisms.exact`),
``Pr(R_i(p') = R_j(p'')) = (1 + s A_ij) / 2`` with ``s = 0`` for disjoint pairs, ``+1`` when the shared item
has the same position in both canonical pairs and ``-1`` otherwise.

Extended strategies (spec section 4): the convention reports ``+1`` on every canonical pair, so it agrees with
a peer on the bonus pair exactly as often as on the penalty pairs; each term becomes
``1 + (1 - q_i)(1 - q_j)(C_ij - s A_ij) / 2`` (any i.i.d. prior), and the convention (``q_i = 1``) earns exactly
what zero effort earns, ``z C(m, 2) (N - 1)``, against *any* peers -- including peers on the convention.
"""
from __future__ import annotations

from math import comb

import numpy as np

from agents import pair_index
from agents._validation import check_real

from .base import Mechanism
from .exact import agreement_correlation_table, bsst_A_table


def _shared_sign(pa, pb, p, q):
    """+1 / -1 / 0: sign of E[t_i(D_p) t_j(D_q)] / A_ij for canonical pairs p != q."""
    a, b, c, d = pa[p], pb[p], pa[q], pb[q]
    if a == c or b == d:
        return 1.0
    if a == d or b == c:
        return -1.0
    return 0.0


class _ChanceCorrected(Mechanism):
    min_items = 3

    def __init__(self, z: float = 1.0):
        self.z = check_real("z", z, low=0.0, low_open=True, high=1e250)  # payments stay finite

    def n_terms(self, n_agents, n_items):
        return comb(n_items, 2) * (n_agents - 1)

    def max_payment(self, n_agents, n_items):
        return 2.0 * self.z * self.n_terms(n_agents, n_items)

    def scaled(self, factor):
        return type(self)(self.z * factor)

    def penalty_sets(self, n_items):
        """For each bonus pair ``p``: list of ``(p', p'')`` penalty pairs, averaged with equal weights."""
        raise NotImplementedError

    def mean_sign(self, n_items) -> np.ndarray:
        """Per bonus pair, the average shared-item sign over its penalty pairs."""
        pa, pb = pair_index(n_items)
        return np.array([np.mean([_shared_sign(pa, pb, p1, p2) for p1, p2 in pen])
                         for pen in self.penalty_sets(n_items)])

    def _kernel_payments(self, reports, m, out):
        R = reports.astype(np.float64)
        T, N, P = R.shape
        same = np.einsum("tip,tjp->tijp", R, R)           # R_i(p) R_j(p)
        agree = (1.0 + same) / 2.0
        pen = np.zeros((T, N, N, P))
        for p, pairs in enumerate(self.penalty_sets(m)):
            acc = np.zeros((T, N, N))
            for p1, p2 in pairs:
                acc += (1.0 + np.einsum("ti,tj->tij", R[:, :, p1], R[:, :, p2])) / 2.0
            pen[..., p] = acc / len(pairs)
        term = 1.0 + agree - pen
        idx = np.arange(N)
        term[:, idx, idx, :] = 0.0
        out[:] = self.z * term.sum(axis=(2, 3))

    def _exact_payment(self, eps_i, eps_peers, n_items, prior, refine):
        vals, counts = np.unique(eps_peers, return_counts=True)
        C = agreement_correlation_table(prior, [eps_i], vals, refine)[0]
        A = bsst_A_table(prior, np.concatenate([[eps_i], vals]), refine)[0, 1:]
        s = self.mean_sign(n_items)                       # (P,)
        per_peer = np.sum(1.0 + (C[:, None] - s[None, :] * A[:, None]) / 2.0, axis=1)
        return float(self.z * per_peer @ counts)

    def _ext_values(self, own, qs, peers, peers_q, n_items, prior, refine=1):
        # Bonus and penalty both compare a report of i with one of j on canonical pairs, where the convention
        # says +1: E[R_i(p') R_j(p'')] = q_i q_j + (1 - q_i)(1 - q_j) s A_ij (s = 0 for disjoint pairs), so the
        # q_i q_j parts cancel and each term is 1 + (1 - q_i)(1 - q_j)(C_ij - s A_ij) / 2 for any peers
        # (any i.i.d. prior): the convention (q_i = 1) earns exactly what zero effort earns.
        vals, inv = np.unique(peers, return_inverse=True)
        inv = inv.ravel()
        C = agreement_correlation_table(prior, own, vals, refine)[:, inv]                   # (n_own, n1)
        A = bsst_A_table(prior, np.concatenate([own, vals]), refine)[: own.size, own.size:][:, inv]
        s = self.mean_sign(n_items)
        P = s.size
        g = (P * C - s.sum() * A) / 2.0                                                     # (n_own, n1)
        qi = np.asarray(qs, dtype=float)[None, :, None]
        wq = (1.0 - np.asarray(peers_q, dtype=float))[None, None, :]
        return self.z * np.sum(P + (1.0 - qi) * wq * g[:, None, :], axis=2)


class DG13(_ChanceCorrected):
    """Dasgupta & Ghosh (2013) agreement minus chance agreement from disjoint task sets (see module doc).

    References
    ----------
    Dasgupta, A. and Ghosh, A. Crowdsourced judgement elicitation with endogenous proficiency. WWW 2013.
    """

    name = "dg13"

    def penalty_sets(self, n_items):
        P = comb(n_items, 2)
        out = []
        for p in range(P):
            others = [q for q in range(P) if q != p]
            h = len(others) // 2
            si, sj = others[:h], others[h:]
            out.append([(q1, q2) for q1 in si for q2 in sj])
        return out


class CA(_ChanceCorrected):
    """Correlated Agreement (Shnayder et al. 2016) for binary signals with identity score matrix.

    References
    ----------
    Shnayder, V., Agarwal, A., Frongillo, R., Parkes, D. C. Informed truthfulness in multi-task peer
    prediction. EC 2016.
    """

    name = "ca"

    def penalty_sets(self, n_items):
        P = comb(n_items, 2)
        return [[(q1, q2) for q1 in range(P) for q2 in range(P) if q1 != q2 and p not in (q1, q2)]
                for p in range(P)]

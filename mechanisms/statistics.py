"""Payment rules as non-negative tables over observable report statistics (the design space).

A :class:`StatisticRule` pays, for every canonical pair ``(a, b)`` and peer ``j``,

    pair[2 A + C],   A = 1[R_i(a,b) = R_j(a,b)] (agreement),  C = 1[(a,b) coherent for i] (3cycle),

and, for every canonical pair, third item ``a''`` and ordered peers ``j != k``,

    triple[2 B + Q], B = 1[R_j(a'',b) = R_i(a,b)] (bonus),    Q = 1[R_k(a'',a) = -R_i(a,b)] (penalty).

PPA is ``pair = (0, 0, z, z)``, APA ``pair = (0, 0, 0, z)`` and BSST ``triple = (0, y, y, z)``.  The
expected payment is linear in the eight table entries: ``E[M_i] = phi(profile) . (pair, triple)``, with
the feature vector ``phi`` of expected statistic counts computed exactly by :func:`statistic_features`.
That is what makes the design problem of :mod:`equilibria.design` a linear program.
"""
from __future__ import annotations

from math import comb

import numpy as np

from agents import as_prior, pair_index, pair_lookup

from .base import Mechanism
from .exact import agreement_correlation_table, apa3_table, bsst_A_table
from .kernels import COHERENCE_3CYCLE, _pair_table, _triple_table

PAIR_LABELS = ("disagree, incoherent", "disagree, coherent", "agree, incoherent", "agree, coherent")
TRIPLE_LABELS = ("no bonus, no penalty-match", "no bonus, penalty-match", "bonus, no penalty-match",
                 "bonus, penalty-match")


def statistic_features(own_eps, peers_eps, n_items, prior="normal", refine=1) -> np.ndarray:
    """Expected statistic counts ``phi`` (shape ``(len(own_eps), 8)``) for own signed efforts against peers.

    Columns 0-3: expected number of (pair, peer) terms with ``2A + C`` equal to 0..3; columns 4-7: expected
    number of (pair, third item, ordered peers) terms with ``2B + Q`` equal to 0..3.

    Pair statistics: with ``P_A = Pr(agree)``, ``G = Pr(agree and coherent)`` and
    ``P_C = Pr(coherent) = 2 G(eps_i, peer at 0)`` (an uninformed peer agrees with probability 1/2
    independently of everything), the four cell probabilities follow by inclusion-exclusion.  Triple
    statistics: ``E[B]``, ``E[Q]`` and ``E[BQ]`` as in BSST's exact engine.
    """
    prior = as_prior(prior)
    own = np.atleast_1d(np.asarray(own_eps, dtype=float))
    peers = np.atleast_1d(np.asarray(peers_eps, dtype=float))
    P = comb(n_items, 2)
    vals, counts = np.unique(peers, return_counts=True)
    C = agreement_correlation_table(prior, own, vals, refine)
    p_agree = (1.0 + C) / 2.0                                          # (n_own, n_vals)
    G = apa3_table(prior, own, np.concatenate([vals, [0.0]]), n_items, refine)
    p_coh = 2.0 * G[:, -1:]                                            # (n_own, 1)
    G = G[:, :-1]
    cells = np.stack([1.0 - p_agree - p_coh + G, p_coh - G, p_agree - G, G], axis=-1)   # (n_own, n_vals, 4)
    pair_part = P * np.einsum("ovc,v->oc", cells, counts)
    n1 = peers.size
    if n_items < 3 or n1 < 2:
        return np.concatenate([pair_part, np.zeros((own.size, 4))], axis=1)
    A = bsst_A_table(prior, np.concatenate([own, peers]), refine)
    Aip = A[: own.size, own.size:]
    App = A[own.size:, own.size:]
    EB = (1.0 + Aip) / 2.0                                             # bonus peer j, (n_own, n1)
    EQ = EB                                                            # penalty peer k (same formula)
    # sum over ordered j != k of E[BQ] = (1 + A_ij + A_ik - A_jk) / 4
    s_ip = Aip.sum(axis=1)
    s_pp = App.sum() - np.trace(App)
    sum_bq = (n1 * (n1 - 1) + 2.0 * (n1 - 1) * s_ip - s_pp) / 4.0
    sum_b = (n1 - 1) * EB.sum(axis=1)
    sum_q = (n1 - 1) * EQ.sum(axis=1)
    total = n1 * (n1 - 1)
    trip = np.stack([total - sum_b - sum_q + sum_bq, sum_q - sum_bq, sum_b - sum_bq, sum_bq], axis=-1)
    return np.concatenate([pair_part, P * (n_items - 2) * trip], axis=1)


class StatisticRule(Mechanism):
    """A payment rule given by a pair table and a triple table (see module docstring).

    Parameters
    ----------
    pair : array_like of 4 non-negative numbers
        Payment per (pair, peer) term indexed by ``2 * agree + coherent``.
    triple : array_like of 4 non-negative numbers
        Payment per (pair, third item, ordered peers) term indexed by ``2 * bonus + penalty_match``.
    name : str
        Label used in reports.

    Examples
    --------
    >>> from mechanisms import PPA
    >>> rule = StatisticRule(pair=[0, 0, 1, 1], name="ppa-as-table")
    >>> eps = [1.0, 0.5, 0.5]
    >>> abs(rule.exact(eps, 3) - PPA(1.0).exact(eps, 3)) < 1e-12
    True
    """

    min_items = 3

    def __init__(self, pair=(0.0, 0.0, 0.0, 0.0), triple=(0.0, 0.0, 0.0, 0.0), name="statistic-rule"):
        self.pair = np.asarray(pair, dtype=float).reshape(4)
        self.triple = np.asarray(triple, dtype=float).reshape(4)
        for label, t in (("pair", self.pair), ("triple", self.triple)):
            if not np.all(np.isfinite(t)) or np.any(t < 0):
                raise ValueError(f"{label} table entries must be finite and >= 0 (limited liability), got {t}")
        self.name = name
        self.z = float(max(self.pair.max(), self.triple.max(), 1e-300))

    @classmethod
    def from_vector(cls, x, name="designed"):
        x = np.asarray(x, dtype=float).reshape(8)
        return cls(np.maximum(x[:4], 0.0), np.maximum(x[4:], 0.0), name)

    @property
    def vector(self) -> np.ndarray:
        return np.concatenate([self.pair, self.triple])

    def params(self):
        return {"pair": self.pair.tolist(), "triple": self.triple.tolist()}

    def n_terms(self, n_agents, n_items):
        return comb(n_items, 2) * (n_agents - 1), comb(n_items, 2) * (n_items - 2) * (n_agents - 1) * (n_agents - 2)

    def max_payment(self, n_agents, n_items):
        tp, tt = self.n_terms(n_agents, n_items)
        return float(self.pair.max() * tp + self.triple.max() * tt)

    def scaled(self, factor):
        return StatisticRule(self.pair * factor, self.triple * factor, self.name)

    def _kernel_payments(self, reports, m, out):
        pa, pb = pair_index(m)
        _pair_table(reports, self.pair, pa, pb, m, COHERENCE_3CYCLE, out)
        if np.any(self.triple != 0):
            extra = np.empty_like(out)
            _triple_table(reports, self.triple, pa, pb, pair_lookup(m), m, extra)
            out += extra

    _exact_payment = Mechanism._exact_via_curve

    def _curve(self, own, peers, n_items, prior, refine=1):
        return statistic_features(own, peers, n_items, prior, refine) @ self.vector

    def _table(self, own, peer, n_agents, n_items, prior, refine=1):
        return np.stack([self._curve(own, np.full(n_agents - 1, q), n_items, prior, refine) for q in peer],
                        axis=1)

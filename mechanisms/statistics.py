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
from .exact import agreement_correlation_table, apa3_extended, apa3_table, bsst_A_table
from .kernels import COHERENCE_3CYCLE, _pair_table, _triple_table

PAIR_LABELS = ("disagree, incoherent", "disagree, coherent", "agree, incoherent", "agree, coherent")
TRIPLE_LABELS = ("no bonus, no penalty-match", "no bonus, penalty-match", "bonus, no penalty-match",
                 "bonus, penalty-match")


def statistic_features(own_eps, peers_eps, n_items, prior="normal", refine=1, *, own_q=None,
                       peers_q=None) -> np.ndarray:
    """Expected statistic counts ``phi`` (shape ``(len(own_eps), 8)``) for own signed efforts against peers.

    Extended strategies (spec section 4): ``own_q`` (the paid agent's convention probability: a number, or a
    1-d array, then the result has shape ``(len(own_eps), len(own_q), 8)``) and ``peers_q`` (one per peer, or
    one number for all) -- see :func:`statistic_features_extended`.  Both ``None`` (or zero): the paper's space,
    computed exactly as before.

    Columns 0-3: expected number of (pair, peer) terms with ``2A + C`` equal to 0..3; columns 4-7: expected
    number of (pair, third item, ordered peers) terms with ``2B + Q`` equal to 0..3.

    Pair statistics: with ``P_A = Pr(agree)``, ``G = Pr(agree and coherent)`` and
    ``P_C = Pr(coherent) = 2 G(eps_i, peer at 0)`` (an uninformed peer agrees with probability 1/2
    independently of everything), the four cell probabilities follow by inclusion-exclusion.  Triple
    statistics: ``E[B]``, ``E[Q]`` and ``E[BQ]`` as in BSST's exact engine.
    """
    if own_q is not None or peers_q is not None:
        oq = 0.0 if own_q is None else own_q
        pq = 0.0 if peers_q is None else peers_q
        scalar = np.ndim(oq) == 0
        if not (scalar and float(oq) == 0.0 and np.all(np.asarray(pq, dtype=float) == 0.0)):
            out = statistic_features_extended(own_eps, np.atleast_1d(oq), peers_eps, pq, n_items, prior, refine)
            return out[:, 0, :] if scalar else out
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


def statistic_features_extended(own_eps, own_q, peers_eps, peers_q, n_items, prior="normal", refine=1):
    """Expected statistic counts with convention probabilities: shape ``(len(own_eps), len(own_q), 8)``.

    Pair statistics: ``Pr(agree) = (1 + q_i q_j + (1 - q_i)(1 - q_j) C_ij) / 2`` on every canonical pair (the
    convention reports +1 there), ``Pr(agree and coherent)`` from :func:`mechanisms.exact.apa3_extended`, and
    ``Pr(coherent)`` as twice that against a peer who reports fair coins.  Triple statistics: as for BSST,
    with the convention's signs averaged over the three positions of the third item
    (``E[s_i s_j] = q_i q_j / 3 + ...``, ``E[s_i s_k] = -q_i q_k / 3 + ...``, ``E[s_j s_k] = q_j q_k / 3 + ...``).
    """
    from agents._validation import check_int
    prior = as_prior(prior)
    if not _ext_reference():
        key = (repr(prior), int(n_items), float(refine)) + tuple(
            np.ascontiguousarray(np.atleast_1d(np.asarray(a, dtype=float)).ravel()).tobytes()
            for a in (own_eps, own_q, peers_eps, peers_q))
        hit = _FEATURES_CACHE.get(key)
        if hit is None:
            hit = _statistic_features_extended(own_eps, own_q, peers_eps, peers_q, n_items, prior, refine)
            if len(_FEATURES_CACHE) >= 64:
                _FEATURES_CACHE.pop(next(iter(_FEATURES_CACHE)))
            _FEATURES_CACHE[key] = hit
        return hit.copy()
    return _statistic_features_extended(own_eps, own_q, peers_eps, peers_q, n_items, prior, refine)


# The columns of a designed rule (and the solvers' repeated queries) ask for the same features: memoised.
_FEATURES_CACHE: dict = {}


def _ext_reference():
    from . import exact
    return exact._EXT_REFERENCE


def _statistic_features_extended(own_eps, own_q, peers_eps, peers_q, n_items, prior, refine):
    from agents._validation import check_int
    own = np.atleast_1d(np.asarray(own_eps, dtype=float)).ravel()
    oq = np.atleast_1d(np.asarray(own_q, dtype=float)).ravel()
    peers = np.atleast_1d(np.asarray(peers_eps, dtype=float)).ravel()
    pq = np.atleast_1d(np.asarray(peers_q, dtype=float)).ravel()
    if pq.size == 1 and peers.size > 1:
        pq = np.full(peers.size, float(pq[0]))
    if pq.size != peers.size:
        raise ValueError(f"peers_q must have one entry per peer ({peers.size}), got {pq.size}")
    for label, q in (("own_q", oq), ("peers_q", pq)):
        if not np.all(np.isfinite(q)) or np.any(q < 0.0) or np.any(q > 1.0):
            raise ValueError(f"{label} must be in [0, 1], got {q.tolist()}")
    n_items = check_int("n_items", n_items, low=3)
    P = comb(n_items, 2)
    vals, inv = np.unique(peers, return_inverse=True)
    inv = inv.ravel()
    C = agreement_correlation_table(prior, own, vals, refine)[:, inv]                 # (n_own, n1)
    qi = oq[None, :, None]
    qj = pq[None, None, :]
    agree = P * (1.0 + qi * qj + (1.0 - qi) * (1.0 - qj) * C[:, None, :]) / 2.0        # (n_own, n_q, n1)
    Ip, Jp, Jm = apa3_extended(prior, own, oq, np.concatenate([vals, [0.0]]), n_items, refine)
    coh = 2.0 * (Jp[:, :, -1] + Jm[:, :, -1])[:, :, None]                              # (n_own, n_q, 1)
    G = qj * Ip[:, :, None] + (1.0 - qj) * (Jp + Jm)[:, :, :-1][:, :, inv]
    cells = np.stack([P - agree - coh + G, coh - G, agree - G, G], axis=-1).sum(axis=2)   # (n_own, n_q, 4)
    n1 = peers.size
    if n1 < 2:
        return np.concatenate([cells, np.zeros(cells.shape)], axis=-1)
    A = bsst_A_table(prior, np.concatenate([own, peers]), refine)
    Aip = A[: own.size, own.size:]
    App = A[own.size:, own.size:]
    wq = 1.0 - pq
    K = (np.sum(np.outer(pq, pq)) - np.sum(pq * pq)) / 3.0 + (wq @ App @ wq - np.sum(wq * wq * np.diag(App)))
    X = oq[None, :] * (pq.sum() / 3.0) + (1.0 - oq[None, :]) * (Aip @ wq)[:, None]     # (n_own, n_q)
    sum_b = (n1 - 1) * (n1 + X) / 2.0
    sum_q = sum_b
    sum_bq = (n1 * (n1 - 1) + 2.0 * (n1 - 1) * X - K) / 4.0
    total = n1 * (n1 - 1)
    trip = np.stack([total - sum_b - sum_q + sum_bq, sum_q - sum_bq, sum_b - sum_bq, sum_bq], axis=-1)
    return np.concatenate([cells, P * (n_items - 2) * trip], axis=-1)


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

    def convention_degree(self, n_items):
        # coherence multiplies 2 (m - 2) more own reports; agreement and the triple statistics one
        if self.pair[0] != self.pair[1] or self.pair[2] != self.pair[3]:
            return 2 * n_items - 3
        return 1

    def _ext_values(self, own, qs, peers, peers_q, n_items, prior, refine=1):
        return statistic_features_extended(own, qs, peers, peers_q, n_items, prior, refine) @ self.vector

    def _table(self, own, peer, n_agents, n_items, prior, refine=1):
        return np.stack([self._curve(own, np.full(n_agents - 1, q), n_items, prior, refine) for q in peer],
                        axis=1)

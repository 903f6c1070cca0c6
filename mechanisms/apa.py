"""Acyclic Peer Agreement (APA), paper eq. (8); spec section 2.3."""
from __future__ import annotations

from math import comb

import numpy as np

from agents import pair_index
from agents._validation import check_choice, check_real

from .base import Mechanism
from .exact import apa3_extended, apa3_table, scc_coherent_agreement, scc_extended
from .kernels import COHERENCE_3CYCLE, COHERENCE_SCC, _coherence, _pair_table

COHERENCE_RULES = ("3cycle", "scc")


class APA(Mechanism):
    """Acyclic Peer Agreement: PPA's agreement terms, paid only on ``i``'s coherent pairs (eq. 8).

    Parameters
    ----------
    z : float
        Payment per agreement, ``z > 0``.
    coherence : {'3cycle', 'scc'}
        ``'3cycle'`` (default; the paper's formal sentence): a pair is incoherent iff it lies on a directed
        3-cycle of ``i``'s reported tournament.  ``'scc'`` (the paper's gloss): incoherent iff it lies on
        any directed cycle (its two items are in one strongly connected component).  They coincide for
        ``m = 3``.

    Notes
    -----
    With uniformly random reports a pair is coherent with probability ``(3/4)^(m-2)`` under ``3cycle``
    (``3/4, 9/16, 27/64``) and ``3/4, 1/2, 0.293`` under ``scc`` for ``m = 3, 4, 5``.

    The exact engine handles ``3cycle`` for any ``m`` and any effort (the third item's integral has a closed
    form in a one-dimensional function, leaving a two-dimensional integral; see :mod:`mechanisms.exact`).  For ``scc`` it
    integrates over all ``m`` qualities and enumerates ``i``'s ``2^(m(m-1)/2)`` tournaments, so it is
    limited to ``m <= 5``; use ``method='mc'`` beyond.

    Extended strategies (convention probabilities, spec section 4): exact for ``3cycle`` at any ``m`` (the
    triangles through a pair still use disjoint edges; the closing probability of each depends on where the
    third item sits relative to the pair in the index order; :func:`mechanisms.exact.apa3_extended`) and for
    ``scc`` within the same grid limit as without conventions (``m <= 4`` in practice;
    :func:`mechanisms.exact.scc_extended`).  ``E[M_i]`` is a polynomial in the own convention probability of
    degree ``2m - 3`` (``3cycle``) or ``C(m, 2)`` (``scc``).

    References
    ----------
    Manyika, Wooldridge, Gan (2025), Section 6, eq. (8).
    """

    name = "apa"
    min_items = 3

    def __init__(self, z: float = 1.0, coherence: str = "3cycle"):
        self.z = check_real("z", z, low=0.0, low_open=True, high=1e250)  # payments stay finite
        self.coherence = check_choice("coherence", coherence, COHERENCE_RULES)

    def params(self):
        return {"z": self.z, "coherence": self.coherence}

    @property
    def _rule_code(self):
        return COHERENCE_3CYCLE if self.coherence == "3cycle" else COHERENCE_SCC

    def n_terms(self, n_agents, n_items):
        return comb(n_items, 2) * (n_agents - 1)

    def scaled(self, factor):
        return APA(self.z * factor, self.coherence)

    def coherent(self, reports) -> np.ndarray:
        """``1`` where the agent's pair is coherent, same shape as ``reports`` (trials, agents, pairs)."""
        r = np.ascontiguousarray(reports, dtype=np.int8)
        if r.ndim != 3:
            raise ValueError(f"reports must have shape (n_trials, n_agents, n_pairs), got {r.shape}")
        P = r.shape[2]
        m = int(round((1 + (1 + 8 * P) ** 0.5) / 2))
        pa, pb = pair_index(m)
        out = np.empty(r.shape, dtype=np.int8)
        _coherence(r, pa, pb, m, self._rule_code, out)
        return out

    def _kernel_payments(self, reports, m, out):
        pa, pb = pair_index(m)
        _pair_table(reports, np.array([0.0, 0.0, 0.0, self.z]), pa, pb, m, self._rule_code, out)

    def _exact_payment(self, eps_i, eps_peers, n_items, prior, refine):
        if self.coherence == "3cycle" or n_items == 3:
            return self._exact_via_curve(eps_i, eps_peers, n_items, prior, refine)
        if n_items > 5:
            raise ValueError("n_items must be <= 5 for the exact APA engine with coherence='scc' "
                             f"(got {n_items}); use method='mc'")
        per_peer = scc_coherent_agreement(prior, eps_i, eps_peers, n_items, refine)
        return self.z * comb(n_items, 2) * float(np.sum(per_peer))

    def _table(self, own, peer, n_agents, n_items, prior, refine=1):
        if self.coherence == "scc" and n_items > 3:
            return Mechanism._table(self, own, peer, n_agents, n_items, prior, refine)
        return self.z * comb(n_items, 2) * (n_agents - 1) * apa3_table(prior, own, peer, n_items, refine)

    def convention_degree(self, n_items):
        # a term multiplies i's report on the pair and, for the coherence, i's reports on the 2 (m - 2) other
        # sides of the triangles through it (3cycle); scc looks at all of i's C(m, 2) reports
        if self.coherence == "scc" and n_items > 3:
            return comb(n_items, 2)
        return 2 * n_items - 3

    def _ext_values(self, own, qs, peers, peers_q, n_items, prior, refine=1):
        # scc: the tensor-grid engine with every pair of i's tournament (the convention makes the pairs'
        # positions matter); its grid limit applies as without conventions (m <= 4 in practice)
        vals, inv = np.unique(peers, return_inverse=True)
        inv = inv.ravel()
        engine = scc_extended if self.coherence == "scc" and n_items > 3 else apa3_extended
        Ip, Jp, Jm = engine(prior, own, qs, vals, n_items, refine)
        qj = np.asarray(peers_q, dtype=float)
        per = qj[None, None, :] * Ip[:, :, None] + (1.0 - qj)[None, None, :] * (Jp + Jm)[:, :, inv]
        return self.z * per.sum(axis=2)

    def _curve(self, own, peers, n_items, prior, refine=1):
        if self.coherence == "scc" and n_items > 3:
            return Mechanism._curve(self, own, peers, n_items, prior, refine)
        return self._curve_from_per_peer(own, peers, n_items, prior, refine)

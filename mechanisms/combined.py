"""Non-negative combinations of payment rules: ``M_i = sum_k a_k M^k_i`` (e.g. a designed table plus a CA term)."""
from __future__ import annotations

import numpy as np

from agents._validation import check_real

from .base import Mechanism


class WeightedRule(Mechanism):
    """The rule ``sum_k weights[k] * components[k]``, every weight ``>= 0`` (limited liability is inherited).

    Expected payments, Monte Carlo payments and extended-space payments are the weighted sums of the
    components'.  Used by :func:`equilibria.design_rule` with ``robust_to_conventions=True``, whose table
    gains a cross-pair (CA) term that makes the index convention unprofitable.

    Parameters
    ----------
    components : sequence of Mechanism
    weights : sequence of float
        Non-negative, one per component, not all zero.
    name : str

    Examples
    --------
    >>> from mechanisms import CA, PPA
    >>> from agents import Strategy
    >>> r = WeightedRule([PPA(), CA()], [1.0, 0.5])
    >>> s = Strategy(0.0)
    >>> round(r.expected_payment(s, s, n_agents=3, n_items=3).expected_payment, 12)   # 3 + 0.5 * 6
    6.0
    """

    name = "weighted-rule"

    def __init__(self, components, weights, name: str = "weighted-rule"):
        comps = list(components)
        w = [check_real("weights", x, low=0.0) for x in weights]
        if not comps or len(comps) != len(w):
            raise ValueError(f"weights must have one entry per component ({len(comps)}), got {len(w)}")
        if not all(isinstance(c, Mechanism) for c in comps):
            raise ValueError("components must be mechanisms.Mechanism instances")
        if not any(x > 0 for x in w):
            raise ValueError("weights must not all be 0")
        self.components = [c for c, x in zip(comps, w) if x > 0]
        self.weights = [x for x in w if x > 0]
        self.name = name
        self.min_items = max(c.min_items for c in self.components)
        self.z = 1.0

    def params(self):
        return {"components": [repr(c) for c in self.components], "weights": self.weights, "name": self.name}

    def n_terms(self, n_agents, n_items):
        return sum(c.n_terms(n_agents, n_items) if not isinstance(c.n_terms(n_agents, n_items), tuple)
                   else sum(c.n_terms(n_agents, n_items)) for c in self.components)

    def max_payment(self, n_agents, n_items):
        return float(sum(a * c.max_payment(n_agents, n_items) for c, a in zip(self.components, self.weights)))

    def scaled(self, factor):
        factor = check_real("factor", factor, low=0.0, low_open=True)
        return WeightedRule(self.components, [a * factor for a in self.weights], self.name)

    def convention_degree(self, n_items):
        return max(c.convention_degree(n_items) for c in self.components)

    def _sum(self, fn):
        return sum(a * np.asarray(fn(c), dtype=float) for c, a in zip(self.components, self.weights))

    def _kernel_payments(self, reports, m, out):
        acc = np.zeros_like(out)
        for c, a in zip(self.components, self.weights):
            tmp = np.empty_like(out)
            c._kernel_payments(reports, m, tmp)
            acc += a * tmp
        out[:] = acc

    def _exact_payment(self, eps_i, eps_peers, n_items, prior, refine):
        return float(self._sum(lambda c: c._exact_payment(eps_i, eps_peers, n_items, prior, refine)))

    def _table(self, own, peer, n_agents, n_items, prior, refine=1):
        return self._sum(lambda c: c._table(own, peer, n_agents, n_items, prior, refine))

    def _curve(self, own, peers, n_items, prior, refine=1):
        return self._sum(lambda c: c._curve(own, peers, n_items, prior, refine))

    def _ext_values(self, own, qs, peers, peers_q, n_items, prior, refine=1):
        return self._sum(lambda c: c._ext_values(own, qs, peers, peers_q, n_items, prior, refine))

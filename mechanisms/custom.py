"""User-defined payment rules: :class:`CustomMechanism` wraps a plain Python (numpy) or numba function.

A payment rule is a function of the reports only (paper Section 4: ``M_i(R)``; spec ``mechanisms.md``
section 1 for the report layout)::

    payment_fn(reports) -> payments
    reports  : int8 array of {-1, +1}, shape (n_trials, n_agents, n_pairs), read-only,
               pairs in the canonical order of :func:`agents.pair_index` (+1: "a > b")
    payments : float array, shape (n_trials, n_agents), finite

The wrapped rule plugs into everything that only needs realised payments: :meth:`Mechanism.payments`,
:meth:`Mechanism.monte_carlo` and ``expected_payment(method='mc')``.  Exact expectations need more than a
black box, and there are two routes:

* ``statistics=StatisticRule(...)``: the rule is a table over report statistics (agreement x own coherence
  per (pair, peer); bonus x penalty per (pair, third item, ordered peers); see
  :mod:`mechanisms.statistics`).  Expectations are then exact (quadrature), and the equilibrium solvers,
  property checks, thresholds and the design comparison work unchanged.  The table is checked against
  ``payment_fn`` on simulated reports at construction (``ValueError`` if they differ).
* :meth:`CustomMechanism.with_monte_carlo_expectations`: ``exact()`` becomes an **approximate**
  common-random-numbers Monte Carlo estimate.  The qualities and the peers' report noise are drawn once
  from a fixed seed; the paid agent's own reports are summed out exactly over all ``2^P`` patterns
  (Rao-Blackwellisation), so the estimate is a smooth function of the paid agent's effort and
  :func:`equilibria.best_response` can maximise it.  Its standard error is available from
  :meth:`CustomMechanism.expectation_stderr`.

Without either, ``expected_payment(method='exact')`` raises ``ValueError`` saying what to do.

Examples
--------
>>> import numpy as np
>>> from mechanisms import PPA
>>> def agreement(reports):                       # PPA (eq. 6) with z = 1, in three lines
...     R = reports.astype(np.float64)
...     S = R.sum(axis=1, keepdims=True)              # sum_j R_j(p) over all agents
...     return ((R.shape[1] - 2 + R * S) / 2).sum(axis=2)   # sum_p sum_{j != i} 1[R_i(p) = R_j(p)]
>>> rule = CustomMechanism(agreement, name="my-ppa")
>>> from agents import simulate_reports
>>> R = simulate_reports([1.0, 0.5, 2.0], n_items=3, n_trials=5, seed=0).reports
>>> bool(np.array_equal(rule.payments(R), PPA(1.0).payments(R)))
True

References
----------
Manyika, Wooldridge, Gan (2025), Section 4 (``M_i``), eqs. (6)-(8); spec ``mechanisms.md`` sections 1-2.
"""
from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import replace
from math import comb

import numpy as np

from agents import ReportSampler, as_prior, pair_index, simulate_reports
from agents._validation import check_int, check_real
from agents.bradley_terry import _check_convention_probs

from .base import Mechanism
from .statistics import StatisticRule

_MAX_PATTERN_PAIRS = 10          # 2^10 own-report patterns (m <= 5) for the Monte Carlo expectation engine
_CHUNK_CELLS = 4_000_000         # trials x agents x pairs per payment_fn call in the expectation engine
_CACHE_SIZE = 8


class CustomMechanism(Mechanism):
    """A payment rule given by a Python or numba function of the reports.

    Parameters
    ----------
    payment_fn : callable
        ``payment_fn(reports) -> payments``: ``reports`` int8 ``(n_trials, n_agents, n_pairs)`` of
        ``{-1, +1}`` (read-only), payments float ``(n_trials, n_agents)``, finite.  Validated on every call
        (``ValueError`` naming the shape or the non-finite entry).
    name : str
        Label used in reports and results.
    min_items : int
        Smallest ``m`` the rule accepts (``>= 2``; raised to 3 when ``statistics`` is given).
    statistics : StatisticRule, optional
        The same rule as a statistics table: gives exact expectations.  Checked against ``payment_fn``.
    max_payment : float or callable ``(n_agents, n_items) -> float``, optional
        Largest realised payment (sets tolerances and regret scales of the equilibrium solvers).  Default:
        the table's bound with ``statistics``, else the largest payment seen on all-agreeing, uniformly
        random and simulated reports (an estimate; it only scales tolerances).
    check_statistics : bool
        Compare ``statistics`` with ``payment_fn`` on simulated reports at construction.

    Examples
    --------
    >>> import numpy as np
    >>> from mechanisms import StatisticRule
    >>> def floor_agreement(reports):                 # 1 per agreement, 0.2 per disagreement
    ...     R = reports.astype(np.float64)
    ...     N, P = R.shape[1], R.shape[2]
    ...     agree = ((N - 2 + R * R.sum(axis=1, keepdims=True)) / 2).sum(axis=2)
    ...     return agree + 0.2 * ((N - 1) * P - agree)
    >>> rule = CustomMechanism(floor_agreement, name="floor",
    ...                        statistics=StatisticRule(pair=[0.2, 0.2, 1, 1]))
    >>> round(rule.exact([0.0, 0.0, 0.0], 3), 12)      # uninformed: half the 6 terms agree
    3.6
    """

    def __init__(self, payment_fn, *, name: str, min_items: int = 3, statistics: StatisticRule | None = None,
                 max_payment=None, check_statistics: bool = True):
        if not callable(payment_fn):
            raise ValueError(f"payment_fn must be callable (reports -> payments), got {payment_fn!r}")
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"name must be a non-empty string, got {name!r}")
        if statistics is not None and not isinstance(statistics, StatisticRule):
            raise ValueError(f"statistics must be a mechanisms.StatisticRule or None, got {statistics!r}")
        if max_payment is not None and not callable(max_payment):
            max_payment = check_real("max_payment", max_payment, low=0.0, low_open=True)
        self.payment_fn = payment_fn
        self.name = name.strip()
        self.min_items = check_int("min_items", min_items, low=2)
        if statistics is not None:
            self.min_items = max(self.min_items, statistics.min_items)
        self.statistics = statistics
        self._max_payment = max_payment
        self._factor = 1.0
        self._mc = None                      # (samples, seed) when exact() is a CRN Monte Carlo estimate
        self._cache = OrderedDict()
        self._max_cache = {}
        self.z = float(statistics.z) if statistics is not None else 1.0
        if statistics is not None and check_statistics:
            self._check_statistics()

    # -- realised payments ---------------------------------------------------------------------
    def _call(self, reports):
        view = reports.view()
        view.setflags(write=False)
        try:
            res = self.payment_fn(view)
        except ValueError:
            raise
        except Exception as exc:   # surface the user's error with the rule's name
            raise ValueError(f"payment_fn of {self.name!r} failed on reports of shape {reports.shape}: "
                             f"{type(exc).__name__}: {exc}") from exc
        try:
            out = np.asarray(res, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"payment_fn of {self.name!r} must return a float array of shape "
                             f"(n_trials, n_agents), got {type(res).__name__}") from None
        expected = reports.shape[:2]
        if out.shape != expected:
            raise ValueError(f"payment_fn of {self.name!r} must return shape (n_trials, n_agents) = {expected}, "
                             f"got {out.shape}")
        if not np.all(np.isfinite(out)):
            t, i = np.argwhere(~np.isfinite(out))[0]
            raise ValueError(f"payment_fn of {self.name!r} must return finite payments, got {float(out[t, i])!r} "
                             f"at trial {t}, agent {i}")
        return out

    def _kernel_payments(self, reports, m, out):
        out[:] = self._call(reports)
        if self._factor != 1.0:
            out *= self._factor

    # -- exact / approximate expectations ------------------------------------------------------
    def _need_expectations(self):
        raise ValueError(f"custom mechanism {self.name!r} has no exact expectations: use method='mc' "
                         "(Monte Carlo), or pass statistics=StatisticRule(...) if the rule is a table over "
                         "report statistics, or use .with_monte_carlo_expectations(samples, seed) for an "
                         "approximate common-random-numbers engine (needed by the equilibrium solvers)")

    def _exact_payment(self, eps_i, eps_peers, n_items, prior, refine):
        if self.statistics is not None:
            return self.statistics._exact_payment(eps_i, eps_peers, n_items, prior, refine)
        if self._mc is not None:
            return float(self._mc_curve(np.array([eps_i]), np.asarray(eps_peers, float), n_items, prior)[0][0])
        self._need_expectations()

    def _curve(self, own, peers, n_items, prior, refine=1):
        if self.statistics is not None:
            return self.statistics._curve(own, peers, n_items, prior, refine)
        if self._mc is not None:
            return self._mc_curve(own, peers, n_items, prior)[0]
        self._need_expectations()

    def _table(self, own, peer, n_agents, n_items, prior, refine=1):
        if self.statistics is not None:
            return self.statistics._table(own, peer, n_agents, n_items, prior, refine)
        if self._mc is not None:
            return np.stack([self._mc_curve(own, np.full(n_agents - 1, q), n_items, prior)[0] for q in peer],
                            axis=1)
        self._need_expectations()

    # -- extended strategies (convention probabilities) -------------------------------------
    def convention_degree(self, n_items):
        if self.statistics is not None:
            return self.statistics.convention_degree(n_items)
        return comb(n_items, 2)            # a black box may multiply all of the paid agent's reports

    def _ext_values(self, own, qs, peers, peers_q, n_items, prior, refine=1):
        if self.statistics is not None:
            return self.statistics._ext_values(own, qs, peers, peers_q, n_items, prior, refine)
        if self._mc is not None:
            return self._mc_curve(own, peers, n_items, prior, peers_q=peers_q, own_q=qs)[0]
        self._need_expectations()

    def with_monte_carlo_expectations(self, samples: int = 20_000, seed=0) -> "CustomMechanism":
        """A copy whose ``exact()`` is an approximate common-random-numbers Monte Carlo estimate.

        For each peer profile the qualities and the peers' reports are drawn once from ``seed`` (the same
        uniforms for every peer effort: common random numbers); the paid agent's expected payment is then
        ``mean_s sum_r Pr(r | theta_s, eps_i) M_i(r, R_peers,s)``, summed exactly over all ``2^P`` own report
        patterns ``r``.  So it is unbiased, smooth in the paid agent's signed effort (the equilibrium
        solvers' Brent refinement needs that), and deterministic given ``seed``.  It is **approximate**:
        the error is of order :meth:`expectation_stderr`, so best responses and equilibria agree with the
        exact ones only within Monte Carlo error.  Verdicts that hinge on an exact tie are not reliable: e.g.
        a PPA-like rule pays the same whatever the effort against uninformed peers, and the estimate's noise
        (below one standard error) can show a tiny gain, so ``equilibria.check_uei`` may say UEI holds;
        compare margins with :meth:`expectation_stderr` (``mechanisms.testing.assert_uei`` does).  Cost:
        the rule is called on ``samples * 2^P`` trials per peer profile (cached), and each own effort costs
        ``O(samples * 2^P)``.  Needs ``n_items <= 5``.

        Parameters
        ----------
        samples : int
            Draws of the qualities and peer reports (``>= 100``).
        seed : int or SeedSequence
            Seed of the common random numbers.
        """
        samples = check_int("samples", samples, low=100)
        if seed is None:
            raise ValueError("seed must be an int or SeedSequence (common random numbers need a fixed seed)")
        clone = self._clone(self._factor)
        clone.statistics = None
        clone._mc = (samples, seed)
        return clone

    @property
    def approximate(self) -> bool:
        """True when ``exact()`` is the Monte Carlo engine of :meth:`with_monte_carlo_expectations`."""
        return self._mc is not None

    def expectation_stderr(self, signed_efforts, n_items, prior="normal", convention_probs=None) -> float:
        """Standard error of the Monte Carlo ``exact()`` value (0 for table rules with exact quadrature)."""
        eps = np.asarray(signed_efforts, dtype=float)
        if eps.ndim != 1 or eps.size < 3 or not np.all(np.isfinite(eps)):
            raise ValueError("signed_efforts must be a finite 1-d array of length n_agents >= 3")
        q = _check_convention_probs(convention_probs, eps.size)
        if self._mc is None:
            if self.statistics is not None:
                return 0.0
            self._need_expectations()
        n_items = self._check_items(check_int("n_items", n_items, low=2))
        if q is None:
            return float(self._mc_curve(eps[:1], eps[1:], n_items, as_prior(prior))[1][0])
        return float(self._mc_curve(eps[:1], eps[1:], n_items, as_prior(prior), peers_q=q[1:], own_q=q[:1])[1][0, 0])

    def expected_payment(self, own, peers, **kw):
        res = super().expected_payment(own, peers, **kw)
        if self._mc is not None and res.method == "exact":
            from agents import make_profile
            prof = make_profile(own, peers, kw.get("n_agents"))
            eps = prof.signed_efforts()
            qs = prof.convention_probs() if prof.extended else None
            se = self.expectation_stderr(eps, res.n_items, kw.get("prior", "normal"), convention_probs=qs)
            res = replace(res, stderr=se, samples=self._mc[0],
                          extra={**res.extra, "approximate": True,
                                 "expectations": "common-random-numbers Monte Carlo (approximate)"})
        return res
    expected_payment.__doc__ = Mechanism.expected_payment.__doc__

    def _mc_tables(self, peers, n_items, prior, peers_q=None):
        pq = None if peers_q is None or not np.any(np.asarray(peers_q) > 0) else np.asarray(peers_q, dtype=float)
        key = (tuple(float(x) for x in peers), n_items, prior, self._mc,
               None if pq is None else tuple(float(x) for x in pq))
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        P = n_items * (n_items - 1) // 2
        if P > _MAX_PATTERN_PAIRS:
            raise ValueError(f"n_items must be <= 5 for Monte Carlo expectations of a custom rule (the own "
                             f"reports are summed over 2^P patterns), got {n_items}; use method='mc'")
        samples, seed = self._mc
        N = peers.size + 1
        sim = ReportSampler(np.r_[0.0, peers], n_items, prior=prior,
                            seed=np.random.SeedSequence(seed) if not isinstance(seed, np.random.SeedSequence)
                            else seed, convention_probs=None if pq is None else np.r_[0.0, pq]).draw(samples)
        pa, pb = pair_index(n_items)
        d = sim.theta[:, pa] - sim.theta[:, pb]                           # (S, P)
        K = 1 << P
        pats = np.array([[1 if (k >> p) & 1 else -1 for p in range(P)] for k in range(K)], dtype=np.int8)
        F = np.empty((samples, K))
        chunk = max(1, _CHUNK_CELLS // (K * N * P))
        for s0 in range(0, samples, chunk):
            s1 = min(samples, s0 + chunk)
            R = np.repeat(sim.reports[s0:s1, None], K, axis=1)             # (c, K, N, P)
            R[:, :, 0, :] = pats[None]
            R = np.ascontiguousarray(R.reshape((s1 - s0) * K, N, P))
            F[s0:s1] = self._call(R)[:, 0].reshape(s1 - s0, K)
        hit = (d, F)
        self._cache[key] = hit
        if len(self._cache) > _CACHE_SIZE:
            self._cache.popitem(last=False)
        return hit

    def _mc_curve(self, own, peers, n_items, prior, peers_q=None, own_q=None):
        """Means and standard errors per own signed effort (shape ``(n_own,)``), or per own effort and own
        convention probability (shape ``(n_own, n_q)``) when ``own_q`` is given."""
        d, F = self._mc_tables(np.asarray(peers, dtype=float), n_items, prior, peers_q)
        S, P = d.shape
        qs = np.array([0.0]) if own_q is None else np.atleast_1d(np.asarray(own_q, dtype=float))
        means = np.empty((own.size, qs.size))
        ses = np.empty((own.size, qs.size))
        for o, e in enumerate(np.asarray(own, dtype=float)):
            sig0 = 0.5 * (1.0 + np.tanh(0.5 * e * d))                     # Pr(own R(p) = +1 | theta_s)
            for l, q in enumerate(qs):
                sig = sig0 if q == 0.0 else q + (1.0 - q) * sig0           # the convention reports +1
                prob = np.ones((S, 1))
                for p in range(P):                                           # pattern k: bit p set <=> +1
                    prob = np.concatenate([prob * (1.0 - sig[:, p:p + 1]), prob * sig[:, p:p + 1]], axis=1)
                v = np.einsum("sk,sk->s", prob, F)
                means[o, l] = v.mean()
                ses[o, l] = v.std(ddof=1) / math.sqrt(S)
        if own_q is None:
            means, ses = means[:, 0], ses[:, 0]
        return self._factor * means, self._factor * ses

    # -- bookkeeping ---------------------------------------------------------------------------
    def _clone(self, factor):
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone._factor = factor
        clone._cache = self._cache          # the tables hold unscaled payments: shared across scales
        clone._max_cache = {}
        return clone

    def scaled(self, factor: float) -> "CustomMechanism":
        """The same rule with every payment multiplied by ``factor > 0``."""
        factor = check_real("factor", factor, low=0.0, low_open=True)
        clone = self._clone(self._factor * factor)
        if self.statistics is not None:
            clone.statistics = self.statistics.scaled(factor)
        clone.z = self.z * factor
        return clone

    def max_payment(self, n_agents: int, n_items: int) -> float:
        if self.statistics is not None:
            return float(self.statistics.max_payment(n_agents, n_items))
        if self._max_payment is not None:
            val = self._max_payment(n_agents, n_items) if callable(self._max_payment) else self._max_payment
            return float(val) * self._factor
        key = (n_agents, n_items)
        if key not in self._max_cache:
            P = n_items * (n_items - 1) // 2
            rng = np.random.default_rng(0)
            probes = [np.ones((1, n_agents, P), dtype=np.int8),
                      rng.choice(np.array([-1, 1], dtype=np.int8), size=(512, n_agents, P)),
                      simulate_reports(np.full(n_agents, 8.0), n_items, 512, seed=0).reports]
            best = max(float(np.abs(self.payments(R)).max()) for R in probes)
            self._max_cache[key] = best if best > 0 else 1.0
        return self._max_cache[key]

    def n_terms(self, n_agents, n_items):
        if self.statistics is not None:
            return self.statistics.n_terms(n_agents, n_items)
        raise NotImplementedError(f"custom mechanism {self.name!r} does not declare its terms")

    def params(self) -> dict:
        out = {"name": self.name}
        if self._factor != 1.0:
            out["factor"] = self._factor
        if self.statistics is not None:
            out["statistics"] = self.statistics.params()
        if self._mc is not None:
            out["monte_carlo_expectations"] = {"samples": self._mc[0], "seed": self._mc[1]}
        return out

    def _check_statistics(self):
        stats = self.statistics
        for n_agents, m in ((3, self.min_items), (4, self.min_items + 1)):
            if m > 5:
                continue
            eps = np.linspace(-2.0, 2.0, n_agents)
            R = simulate_reports(eps, m, 64, seed=12345).reports
            mine = self.payments(R)
            theirs = stats.payments(R)
            diff = float(np.max(np.abs(mine - theirs)))
            scale = max(1.0, float(np.max(np.abs(theirs))))
            if diff > 1e-9 * scale:
                raise ValueError(f"statistics: the StatisticRule table {stats.params()} does not reproduce "
                                 f"payment_fn of {self.name!r} (max |difference| {diff:.3g} on simulated "
                                 f"reports with n_agents={n_agents}, n_items={m}); fix the table or pass "
                                 "check_statistics=False")

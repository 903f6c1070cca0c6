"""The :class:`Mechanism` interface shared by PPA, BSST and APA, and :class:`PaymentResult`."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from functools import lru_cache

import numpy as np

from agents import ReportSampler, as_prior, make_profile, pair_index
from agents._validation import check_choice, check_int
from agents.bradley_terry import _check_convention_probs

METHODS = ("exact", "mc")


@dataclass(frozen=True)
class PaymentResult:
    """Expected payment of the paid agent ``i`` (the first agent of the profile).

    Attributes
    ----------
    expected_payment : float
        ``E[M_i]`` (exact) or its Monte Carlo estimate.
    method : {'exact', 'mc'}
    stderr : float or None
        Monte Carlo standard error (``None`` for exact).
    error_estimate : float or None
        Exact: ``|value - value on a rule refined two-fold|`` when ``check_accuracy=True``.
    samples : int or None
        Monte Carlo trials.
    mechanism : str
    n_agents, n_items : int
    prior : str
    """

    expected_payment: float
    method: str
    stderr: float | None = None
    error_estimate: float | None = None
    samples: int | None = None
    mechanism: str = ""
    n_agents: int = 0
    n_items: int = 0
    prior: str = ""
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        d = asdict(self)
        extra = d.pop("extra")
        d.update(extra)
        return d

    def __float__(self):
        return float(self.expected_payment)


def _ext_reference() -> bool:
    """``mechanisms.exact._EXT_REFERENCE``: the first (slow) implementation of the extended engine."""
    from . import exact
    return exact._EXT_REFERENCE


@lru_cache(maxsize=None)
def _cheb_fit_matrix(d):
    """``F`` with ``vals @ F`` = the Chebyshev coefficients (in ``x = 2q - 1``) of the degree-``d`` polynomial
    with values ``vals`` at :meth:`Mechanism._cheb_q_nodes` (``numpy``'s ``chebfit`` applied to the unit vectors)."""
    nodes = Mechanism._cheb_q_nodes(d)
    F = np.polynomial.chebyshev.chebfit(2.0 * nodes - 1.0, np.eye(d + 1), d).T
    F.setflags(write=False)
    return F


@lru_cache(maxsize=None)
def _shifted_chebyshev_matrix(d):
    """``T`` with row ``k`` = the monomial coefficients in ``q`` of ``T_k(2q - 1)`` (integers, built exactly)."""
    rows = [[1], [-1, 2]]
    for _ in range(2, d + 1):
        a, b = rows[-1], rows[-2]
        nxt = [0] * (len(a) + 1)
        for i, c in enumerate(a):            # 2 (2q - 1) T_k
            nxt[i] -= 2 * c
            nxt[i + 1] += 4 * c
        for i, c in enumerate(b):
            nxt[i] -= c
        rows.append(nxt)
    T = np.zeros((d + 1, d + 1))
    for k in range(d + 1):
        T[k, :len(rows[k])] = [float(c) for c in rows[k]]
    T.setflags(write=False)
    return T


def _cheb_to_monomial(vals, d):
    """Monomial coefficients in ``q`` from the values at :meth:`Mechanism._cheb_q_nodes`: Chebyshev coefficients
    (well conditioned), then the exact integer change of basis (as accurate as the reference's per-row
    ``Chebyshev.convert``, about 1000x cheaper)."""
    return (vals @ _cheb_fit_matrix(d)) @ _shifted_chebyshev_matrix(d)


class Mechanism:
    """A payment rule ``M_i(reports)`` (paper eqs. 6-8).

    Subclasses implement :meth:`_kernel_payments` (numba, all agents, all trials) and
    :meth:`_exact_payment` (quadrature), and set ``min_items``.  For the extended strategy space (convention
    probabilities ``q``, spec section 4) they implement :meth:`_ext_values` and :meth:`convention_degree`.

    Extended strategies: given the qualities, agent ``x``'s report on a canonical pair has mean
    ``q_x + (1 - q_x) t(eps_x D)``; reports are conditionally independent and every rule is a polynomial in the
    +-1 reports, so ``E[M_i]`` is multilinear in the per-report mixing.  ``E[t(eps D)] = 0`` for i.i.d. qualities,
    hence pairwise terms reduce to the paper-space correlation tables times ``(1 - q_x)(1 - q_y)`` plus
    ``q_x q_y`` times the convention's signs.  True invariant: ``E[M]((eps_x, q_x)_x) = E[M]((-eps_x, q_x)_x)``
    (global report flip composed with reversing the item order).
    """

    name = "mechanism"
    min_items = 2
    max_items_exact = None

    # -- realised payments ---------------------------------------------------------------------
    def payments(self, reports) -> np.ndarray:
        """Payments of every agent for every trial.

        Parameters
        ----------
        reports : array_like of {-1, +1}, shape (n_trials, n_agents, n_pairs) or (n_agents, n_pairs)
            Reports on the canonical pairs of :func:`agents.pair_index` (``+1``: ``a > b``).

        Returns
        -------
        ndarray, shape (n_trials, n_agents) (or (n_agents,) for a single trial)
        """
        r = np.asarray(reports)
        single = r.ndim == 2
        if single:
            r = r[None]
        if r.ndim != 3:
            raise ValueError(f"reports must have shape (n_trials, n_agents, n_pairs), got {np.shape(reports)}")
        n_agents, P = r.shape[1], r.shape[2]
        m = int(round((1 + math.sqrt(1 + 8 * P)) / 2))
        if m * (m - 1) // 2 != P:
            raise ValueError(f"reports: n_pairs must be m(m-1)/2 for some m, got {P}")
        check_int("n_agents", n_agents, low=3)
        self._check_items(m)
        if not np.all((r == 1) | (r == -1)):
            raise ValueError("reports must contain only -1 and +1")
        r = np.ascontiguousarray(r, dtype=np.int8)
        out = np.empty((r.shape[0], n_agents), dtype=np.float64)
        self._kernel_payments(r, m, out)
        return out[0] if single else out

    # -- expected payments ---------------------------------------------------------------------
    def expected_payment(self, own, peers, *, n_agents=None, n_items=3, prior="normal", method="exact",
                         samples=200_000, seed=None, check_accuracy=False) -> PaymentResult:
        """Expected payment ``E[M_i]`` of agent ``i`` playing ``own`` against ``peers``.

        Parameters
        ----------
        own : Strategy or (effort, report)
            Agent ``i``'s strategy ``(w_i, f_i)``.
        peers : Strategy, (effort, report), or sequence of them
            One strategy for all ``n_agents - 1`` peers, or one per peer.
        n_agents : int, optional
            ``N >= 3``; required when ``peers`` is a single strategy.
        n_items : int
            ``m`` (every agent reports on all ``m(m-1)/2`` pairs).
        prior : {'normal', 'uniform'}, Prior or scipy.stats frozen distribution
        method : {'exact', 'mc'}
            Quadrature (no Monte Carlo) or simulation with a standard error.
        samples : int
            Monte Carlo trials (``method='mc'``).
        seed : int, SeedSequence or None
            Monte Carlo seed.
        check_accuracy : bool
            Exact only: also evaluate on a rule refined two-fold and report the difference.

        Returns
        -------
        PaymentResult
        """
        method = check_choice("method", method, METHODS)
        profile = make_profile(own, peers, n_agents)
        n_items = self._check_items(check_int("n_items", n_items, low=2))
        prior = as_prior(prior)
        eps = profile.signed_efforts()
        qs = profile.convention_probs() if profile.extended else None
        common = dict(mechanism=self.name, n_agents=profile.n_agents, n_items=n_items, prior=prior.name)
        if qs is not None:
            common["extra"] = {"convention_probs": qs.tolist()}
        if method == "exact":
            value = self.exact(eps, n_items, prior, convention_probs=qs)
            err = None
            if check_accuracy:
                err = abs(self.exact(eps, n_items, prior, refine=2, convention_probs=qs) - value)
            return PaymentResult(value, "exact", error_estimate=err, **common)
        samples = check_int("samples", samples, low=2)
        mean, se = self.monte_carlo(eps, n_items, prior, samples, seed, convention_probs=qs)
        return PaymentResult(mean, "mc", stderr=se, samples=samples, **common)

    def exact(self, signed_efforts, n_items, prior="normal", refine=1, convention_probs=None) -> float:
        """Exact ``E[M_0]`` for the signed-effort vector ``[eps_i, eps_1, ..., eps_{N-1}]``.

        ``convention_probs`` (same order, each in ``[0, 1]``; spec section 4): the agents' convention
        probabilities.  ``None`` or all zero is the paper's space and takes exactly the same path as before.
        """
        eps = np.asarray(signed_efforts, dtype=float)
        if eps.ndim != 1 or eps.size < 3 or not np.all(np.isfinite(eps)):
            raise ValueError("signed_efforts must be a finite 1-d array of length n_agents >= 3")
        q = _check_convention_probs(convention_probs, eps.size)
        if q is None:
            return float(self._exact_payment(eps[0], eps[1:], int(n_items), as_prior(prior), refine))
        n_items = self._check_items(check_int("n_items", n_items, low=2))
        return float(self._ext_values(eps[:1], q[:1], eps[1:], q[1:], n_items, as_prior(prior), refine)[0, 0])

    def monte_carlo(self, signed_efforts, n_items, prior="normal", samples=200_000, seed=None,
                    chunk=None, convention_probs=None):
        """Monte Carlo ``(mean, stderr)`` of ``M_0`` from the numba simulator (chunked, seed-stable).

        ``convention_probs``: per agent ``q_x`` (extended strategies, spec section 4); ``None``: all zero."""
        eps = np.asarray(signed_efforts, dtype=float)
        sampler = ReportSampler(eps, n_items, prior=prior, seed=seed, convention_probs=convention_probs)
        P = len(pair_index(n_items)[0])
        from agents._validation import check_mc_work

        check_mc_work("samples", samples, eps.size, P)      # a clear message instead of hours of work
        chunk = chunk or max(1, min(samples, 2_000_000 // max(1, eps.size * P)))
        total = 0.0
        total_sq = 0.0
        done = 0
        shift = None
        while done < samples:
            k = min(chunk, samples - done)
            pay = self.payments(sampler.draw(k).reports)[:, 0]
            if shift is None:  # shifted sums keep the variance numerically stable
                shift = float(pay[0])
            d = pay - shift
            total += float(d.sum())
            total_sq += float(d @ d)
            done += k
        mean = total / samples
        var = max(total_sq / samples - mean * mean, 0.0) * samples / (samples - 1)
        return shift + mean, math.sqrt(var / samples)

    # -- vectorised exact payments (used by the equilibrium solvers) ---------------------------
    def payment_table(self, own_eps, peer_eps, n_agents, n_items, prior="normal", refine=1) -> np.ndarray:
        """Exact ``E[M_i]`` for every own signed effort ``own_eps[p]`` against ``N - 1`` peers that all play
        ``peer_eps[q]``: an array of shape ``(len(own_eps), len(peer_eps))``.

        ``refine`` scales the quadrature panels (``0.5``: the solvers' cheaper bracketing rule)."""
        own = np.atleast_1d(np.asarray(own_eps, dtype=float))
        peer = np.atleast_1d(np.asarray(peer_eps, dtype=float))
        n_agents = check_int("n_agents", n_agents, low=3)
        n_items = self._check_items(check_int("n_items", n_items, low=2))
        return self._table(own, peer, n_agents, n_items, as_prior(prior), refine)

    def payment_curve(self, own_eps, peers_eps, n_items, prior="normal", refine=1) -> np.ndarray:
        """Exact ``E[M_i]`` for every own signed effort against a fixed (possibly heterogeneous) peer list."""
        own = np.atleast_1d(np.asarray(own_eps, dtype=float))
        peers = np.atleast_1d(np.asarray(peers_eps, dtype=float))
        check_int("n_agents", peers.size + 1, low=3)
        n_items = self._check_items(check_int("n_items", n_items, low=2))
        return self._curve(own, peers, n_items, as_prior(prior), refine)

    # -- extended strategy space (spec section 4): convention probabilities -------------------
    def convention_degree(self, n_items: int) -> int:
        """Degree ``d`` of ``E[M_i]`` as a polynomial in the paid agent's own convention probability ``q``:
        the largest number of the paid agent's own reports that one payment term multiplies."""
        return 1

    def _ext_args(self, own_eps, peers_eps, peers_q, n_items):
        own = np.atleast_1d(np.asarray(own_eps, dtype=float)).ravel()
        peers = np.atleast_1d(np.asarray(peers_eps, dtype=float)).ravel()
        if not np.all(np.isfinite(own)):
            raise ValueError("own_eps must be finite signed efforts")
        if not np.all(np.isfinite(peers)):
            raise ValueError("peers_eps must be finite signed efforts")
        check_int("n_agents", peers.size + 1, low=3)
        pq = np.atleast_1d(np.asarray(peers_q, dtype=float)).ravel()
        if pq.size == 1 and peers.size > 1:
            pq = np.full(peers.size, float(pq[0]))
        if pq.size != peers.size:
            raise ValueError(f"peers_q must have one entry per peer ({peers.size}), got {pq.size}")
        if not np.all(np.isfinite(pq)) or np.any(pq < 0.0) or np.any(pq > 1.0):
            raise ValueError(f"peers_q must be in [0, 1], got {pq.tolist()}")
        n_items = self._check_items(check_int("n_items", n_items, low=2))
        return own, peers, pq, n_items

    @staticmethod
    def _cheb_q_nodes(d):
        k = np.arange(d + 1)
        return 0.5 * (1.0 + np.cos(np.pi * (k + 0.5) / (d + 1)))[::-1].copy()

    def _ext_cheb(self, own, peers, pq, n_items, prior, refine):
        """Chebyshev coefficients (in ``x = 2q - 1``) of ``E[M_i](own eps, q)``, shape ``(n_own, d + 1)``."""
        d = self.convention_degree(n_items)
        nodes = self._cheb_q_nodes(d)
        vals = self._ext_values(own, nodes, peers, pq, n_items, prior, refine)       # (n_own, d + 1)
        if _ext_reference():
            return np.polynomial.chebyshev.chebfit(2.0 * nodes - 1.0, vals.T, d).T
        return vals @ _cheb_fit_matrix(d)

    def extended_curve(self, own_eps, own_q, peers_eps, peers_q, n_items, prior="normal", refine=1) -> np.ndarray:
        """Exact ``E[M_i]`` for every own signed effort ``own_eps[a]`` and own convention probability ``own_q[b]``
        against a fixed, possibly heterogeneous, peer list (``peers_eps``, ``peers_q``, length ``N - 1``).

        ``peers_q`` may also be one number for all peers.  Returns an array of shape
        ``(len(own_eps), len(own_q))``.  ``E[M_i]`` is a polynomial of degree
        :meth:`convention_degree` in the own ``q``: for more own ``q`` values than ``d + 1`` it is evaluated at
        ``d + 1`` Chebyshev points of ``[0, 1]`` per own effort and interpolated (exact up to rounding).
        """
        own, peers, pq, n_items = self._ext_args(own_eps, peers_eps, peers_q, n_items)
        oq = np.atleast_1d(np.asarray(own_q, dtype=float)).ravel()
        if not np.all(np.isfinite(oq)) or np.any(oq < 0.0) or np.any(oq > 1.0):
            raise ValueError(f"own_q must be in [0, 1], got {oq.tolist()}")
        prior = as_prior(prior)
        d = self.convention_degree(n_items)
        if oq.size <= d + 1:
            return self._ext_values(own, oq, peers, pq, n_items, prior, refine)
        c = self._ext_cheb(own, peers, pq, n_items, prior, refine)
        if _ext_reference():
            return np.polynomial.chebyshev.chebval(2.0 * oq - 1.0, c.T)
        return c @ np.polynomial.chebyshev.chebvander(2.0 * oq - 1.0, d).T

    def convention_polynomial(self, own_eps, peers_eps, peers_q, n_items, prior="normal", refine=1) -> np.ndarray:
        """Coefficients ``c_0..c_d`` (shape ``(len(own_eps), d + 1)``, ``d =`` :meth:`convention_degree`) with
        ``E[M_i](own_eps, q) = sum_j c_j q^j`` against the fixed peer list (``peers_eps``, ``peers_q``).

        Every rule is a polynomial in the +-1 reports and the reports are conditionally independent given
        the qualities, so the expected payment is multilinear in the per-report mixing ``q + (1 - q) t``: a
        polynomial in the own ``q`` of degree at most the number of own reports one payment term multiplies.
        """
        own, peers, pq, n_items = self._ext_args(own_eps, peers_eps, peers_q, n_items)
        prior = as_prior(prior)
        d = self.convention_degree(n_items)
        if d == 1:
            v = self._ext_values(own, np.array([0.0, 1.0]), peers, pq, n_items, prior, refine)
            return np.stack([v[:, 0], v[:, 1] - v[:, 0]], axis=1)
        if not _ext_reference():      # values at the Chebyshev nodes -> monomial coefficients: one linear map
            nodes = self._cheb_q_nodes(d)
            vals = self._ext_values(own, nodes, peers, pq, n_items, prior, refine)
            return _cheb_to_monomial(vals, d)
        c = self._ext_cheb(own, peers, pq, n_items, prior, refine)
        out = np.empty_like(c)
        for r in range(c.shape[0]):
            poly = np.polynomial.Chebyshev(c[r], domain=[0.0, 1.0]).convert(
                kind=np.polynomial.Polynomial, domain=[0.0, 1.0], window=[0.0, 1.0]).coef
            out[r] = 0.0
            out[r, :poly.size] = poly
        return out

    def _ext_values(self, own, qs, peers, peers_q, n_items, prior, refine=1):
        """``E[M_i]`` for own signed efforts ``own`` (n_own,) x own convention probabilities ``qs`` (n_q,)
        against peers ``(peers, peers_q)``: shape ``(n_own, n_q)``.  Subclasses implement it."""
        raise NotImplementedError(f"{self.name}: exact expected payments with convention probabilities "
                                  "are not implemented for this rule")

    def _table(self, own, peer, n_agents, n_items, prior, refine=1):
        return np.array([[self.exact(np.r_[o, np.full(n_agents - 1, q)], n_items, prior, refine) for q in peer]
                         for o in own])

    def _curve(self, own, peers, n_items, prior, refine=1):
        return np.array([self.exact(np.r_[o, peers], n_items, prior, refine) for o in own])

    def _exact_via_curve(self, eps_i, eps_peers, n_items, prior, refine):
        # rules whose vectorised curve is the exact engine: one own effort is a curve of length one
        return float(self._curve(np.array([float(eps_i)]), np.asarray(eps_peers, dtype=float), n_items, prior,
                                 refine)[0])

    def _curve_from_per_peer(self, own, peers, n_items, prior, refine=1):
        # rules linear in the peers (PPA, APA): sum the one-peer table over the peer list
        vals, counts = np.unique(peers, return_counts=True)
        return self._table(own, vals, 2, n_items, prior, refine) @ counts

    # -- bookkeeping ---------------------------------------------------------------------------
    def n_terms(self, n_agents: int, n_items: int) -> int:
        raise NotImplementedError

    def max_payment(self, n_agents: int, n_items: int) -> float:
        """Largest possible realised payment (every term at its top value)."""
        return self.z * self.n_terms(n_agents, n_items)

    def _check_items(self, n_items):
        if n_items < self.min_items:
            raise ValueError(f"n_items must be >= {self.min_items} for {self.name.upper()} "
                             f"(it needs {'triangles' if self.min_items == 3 else 'pairs'}), got {n_items}")
        return n_items

    def _kernel_payments(self, reports, m, out):
        raise NotImplementedError

    def _exact_payment(self, eps_i, eps_peers, n_items, prior, refine):
        raise NotImplementedError

    def __repr__(self):
        params = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"{type(self).__name__}({params})"

    def params(self) -> dict:
        return {"z": self.z}

    def scaled(self, factor: float) -> "Mechanism":
        """The same rule with every payment multiplied by ``factor > 0``."""
        raise NotImplementedError

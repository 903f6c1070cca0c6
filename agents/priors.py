"""Priors for item qualities ``theta_a`` (i.i.d., non-atomic; paper Def. 4.1) and their quadrature rules.

Three kinds are provided:

* :class:`NormalPrior` -- ``N(loc, scale^2)``; the spec's default ``N(0, 1)``.
* :class:`UniformPrior` -- ``U[low, high]``; the spec's ``U[0, 1]``.
* :class:`ScipyPrior` -- any frozen continuous ``scipy.stats`` distribution.

Each prior supplies a composite Gauss-Legendre rule ``(nodes, weights)`` with
``sum_k weights[k] * g(nodes[k]) ~= E[g(theta)]``.  The exact payment engine builds tensor products
of this rule.  The integrands there are ``sigmoid(eps * (theta_a - theta_b))`` and its relatives,
analytic in a strip of half-width ``pi / |eps|``, so the rule shrinks its panels as ``|eps|`` grows
(:meth:`Prior.rule`).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from ._validation import check_real

_GL_ORDER = 12


@lru_cache(maxsize=None)
def _gauss_legendre(order: int):
    x, w = np.polynomial.legendre.leggauss(order)
    return x, w


def composite_gauss_legendre(edges: np.ndarray, order: int = _GL_ORDER):
    """Nodes and weights of a composite Gauss-Legendre rule on the panels ``edges[k]..edges[k+1]``."""
    x, w = _gauss_legendre(order)
    lo, hi = edges[:-1, None], edges[1:, None]
    half = 0.5 * (hi - lo)
    nodes = (lo + hi) * 0.5 + half * x[None, :]
    weights = half * w[None, :]
    return nodes.ravel(), weights.ravel()


class Prior:
    """Base class: a law for item qualities with sampling and a quadrature rule."""

    name = "prior"

    def sample(self, rng: np.random.Generator, size) -> np.ndarray:
        raise NotImplementedError

    def pdf(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _edges(self, n_panels: int) -> np.ndarray:
        raise NotImplementedError

    def _base_panels(self) -> int:
        raise NotImplementedError

    def _span(self) -> float:
        e = self._edges(1)
        return float(e[-1] - e[0])

    def n_panels(self, max_abs_eps: float = 0.0, refine: float = 1) -> int:
        """Number of panels so that each panel is at most ``5 / |eps|`` wide (and at least the base).

        Calibrated against adaptive one-dimensional quadrature of the difference density and against
        rules refined two- and four-fold: relative errors of the payment integrals below ``1e-11``
        for ``|eps| <= 20`` (normal and uniform priors; see ``tests/test_exact.py``).
        """
        base = self._base_panels()
        need = int(np.ceil(self._span() * max(float(max_abs_eps), 0.0) / 5.0))
        return max(2, int(np.ceil(max(base, need) * float(refine))))

    def rule(self, max_abs_eps: float = 0.0, refine: int = 1):
        """Quadrature rule ``(nodes, weights)`` for ``E[g(theta)]``.

        Parameters
        ----------
        max_abs_eps : float
            Largest ``|signed effort|`` that the integrand will contain; panels shrink with it.
        refine : float
            Multiplies the number of panels (``refine=2`` halves every panel: used for error estimates
            and convergence tests; ``refine=0.5`` is the cheaper bracketing rule of the equilibrium
            solvers, accurate to about ``1e-6``).
        """
        return self._rule(self.n_panels(max_abs_eps, refine))

    def _rule(self, n_panels: int):
        return _cached_rule(self, int(n_panels))

    def __hash__(self):
        return hash(repr(self))

    def __eq__(self, other):
        return type(self) is type(other) and repr(self) == repr(other)


@lru_cache(maxsize=256)
def _cached_rule(prior: Prior, n_panels: int):
    nodes, weights = composite_gauss_legendre(prior._edges(n_panels))
    weights = weights * prior.pdf(nodes)
    nodes.setflags(write=False)
    weights.setflags(write=False)
    return nodes, weights


class NormalPrior(Prior):
    """``theta ~ N(loc, scale^2)`` (spec section 1: ``Delta ~ N(0, 2)`` for the standard normal).

    The rule integrates over ``loc +- 8.5 scale``; the neglected mass is ``2 * Phi(-8.5) = 1.9e-17``.
    """

    name = "normal"
    _HALF_WIDTH = 8.5

    def __init__(self, loc: float = 0.0, scale: float = 1.0):
        self.loc = check_real("loc", loc)
        self.scale = check_real("scale", scale, low=0.0, low_open=True)

    def sample(self, rng, size):
        return self.loc + self.scale * rng.standard_normal(size)

    def pdf(self, x):
        u = (np.asarray(x, dtype=float) - self.loc) / self.scale
        return np.exp(-0.5 * u * u) / (self.scale * np.sqrt(2 * np.pi))

    def difference_pdf(self, d):
        """Density of ``theta_a - theta_b``: ``N(0, 2 scale^2)``."""
        s = self.scale * np.sqrt(2.0)
        d = np.asarray(d, dtype=float) / s
        return np.exp(-0.5 * d * d) / (s * np.sqrt(2 * np.pi))

    def _edges(self, n_panels):
        h = self._HALF_WIDTH * self.scale
        return np.linspace(self.loc - h, self.loc + h, n_panels + 1)

    def _base_panels(self):
        return 8

    def __repr__(self):
        return f"NormalPrior(loc={self.loc!r}, scale={self.scale!r})"


class UniformPrior(Prior):
    """``theta ~ U[low, high]`` (spec: ``U[0, 1]``, ``Delta`` triangular on ``[-1, 1]``)."""

    name = "uniform"

    def __init__(self, low: float = 0.0, high: float = 1.0):
        self.low = check_real("low", low)
        self.high = check_real("high", high)
        if not self.high > self.low:
            raise ValueError(f"high must be > low, got low={low!r}, high={high!r}")

    def sample(self, rng, size):
        return self.low + (self.high - self.low) * rng.random(size)

    def pdf(self, x):
        x = np.asarray(x, dtype=float)
        inside = (x >= self.low) & (x <= self.high)
        return np.where(inside, 1.0 / (self.high - self.low), 0.0)

    def difference_pdf(self, d):
        """Density of ``theta_a - theta_b``: triangular on ``[-(high-low), high-low]``."""
        L = self.high - self.low
        d = np.abs(np.asarray(d, dtype=float))
        return np.where(d <= L, (L - d) / (L * L), 0.0)

    def _edges(self, n_panels):
        return np.linspace(self.low, self.high, n_panels + 1)

    def _base_panels(self):
        return 2

    def __repr__(self):
        return f"UniformPrior(low={self.low!r}, high={self.high!r})"


class ScipyPrior(Prior):
    """Any frozen continuous ``scipy.stats`` distribution as a quality prior.

    The rule integrates in probability space, ``theta = F^{-1}(u)`` with ``u`` uniform on ``(0, 1)``: uniform
    panels in the middle and geometrically graded panels towards ``u = 0`` and ``u = 1`` (down to
    ``1e-14``), so heavy tails (Student t, lognormal) are integrated to high accuracy and the weights are
    exact Gauss-Legendre weights.  The engine's ``check_accuracy=True`` reports the refinement difference.

    Examples
    --------
    >>> from scipy import stats
    >>> p = ScipyPrior(stats.expon())
    >>> nodes, weights = p.rule()
    >>> round(float(weights.sum()), 12)
    1.0
    """

    name = "scipy"
    _TAIL = 1e-14
    _GRADED = 0.02

    def __init__(self, dist):
        from scipy import stats      # here, not at import: scipy.stats costs ~0.5 s to import

        if not hasattr(dist, "dist") or not isinstance(dist.dist, stats.rv_continuous):
            raise ValueError("prior must be 'normal', 'uniform', a Prior, or a frozen continuous "
                             f"scipy.stats distribution, got {dist!r}")
        self.dist = dist
        edges = self._edges(4)
        if not np.all(np.isfinite(edges)) or not np.all(np.diff(edges) > 0):
            raise ValueError(f"prior {self!r} has a degenerate quantile function (not continuous?)")

    def sample(self, rng, size):
        return np.asarray(self.dist.rvs(size=size, random_state=rng), dtype=np.float64)

    def pdf(self, x):
        return self.dist.pdf(x)

    def _u_edges(self, n_panels, max_abs_eps=0.0, refine=1.0):
        graded = np.geomspace(self._TAIL, self._GRADED, 13)
        middle = np.linspace(self._GRADED, 1.0 - self._GRADED, n_panels + 1)
        edges = np.concatenate([graded[:-1], middle, (1.0 - graded[::-1])[1:]])
        if max_abs_eps <= 0:
            return edges
        # split every panel that is wider in theta than 5 / (|eps| refine) -- uniformly in theta -- unless
        # it carries negligible mass: u-panels are narrow where the density is high but wide in the tails
        h = 5.0 / (max_abs_eps * refine)
        theta = self.dist.ppf(edges)
        out = [edges[:1]]
        for k in range(edges.size - 1):
            width = theta[k + 1] - theta[k]
            # a panel of mass below 1e-9 cannot move a bounded integrand by more than that; the cap keeps
            # heavy tails (whose theta-width explodes) affordable
            pieces = int(min(np.ceil(width / h), 16)) if edges[k + 1] - edges[k] > 1e-9 else 1
            if pieces > 1:
                t = np.linspace(theta[k], theta[k + 1], pieces + 1)[1:-1]
                inner = np.clip(self.dist.cdf(t), edges[k], edges[k + 1])
                out.append(inner)
            out.append(edges[k + 1:k + 2])
        return np.unique(np.concatenate(out))

    def _edges(self, n_panels):
        return self.dist.ppf(self._u_edges(n_panels)[[0, -1]]) if n_panels == 1 else \
            self.dist.ppf(self._u_edges(n_panels))

    def rule(self, max_abs_eps: float = 0.0, refine: float = 1):
        n = max(2, int(np.ceil(self._base_panels() * float(refine))))
        return _cached_u_rule(self, n, round(float(max_abs_eps), 12), float(refine))

    def n_panels(self, max_abs_eps: float = 0.0, refine: float = 1) -> int:
        return self._u_edges(max(2, int(np.ceil(self._base_panels() * float(refine)))),
                             float(max_abs_eps), float(refine)).size - 1

    def _span(self):
        # the refinement driver is the typical spread, not the extreme range
        q1, q3 = self.dist.ppf([0.25, 0.75])
        return float(6.0 * (q3 - q1))

    def _base_panels(self):
        return 24

    def __repr__(self):
        args = ", ".join(repr(a) for a in self.dist.args)
        kw = ", ".join(f"{k}={v!r}" for k, v in self.dist.kwds.items())
        return f"ScipyPrior({self.dist.dist.name}({', '.join(s for s in (args, kw) if s)}))"


@lru_cache(maxsize=64)
def _cached_u_rule(prior: "ScipyPrior", n_panels: int, max_abs_eps: float, refine: float):
    u, w = composite_gauss_legendre(prior._u_edges(n_panels, max_abs_eps, refine))
    nodes = np.asarray(prior.dist.ppf(u), dtype=np.float64)
    weights = w / w.sum()       # the neglected tails carry 2e-14 of mass
    nodes.setflags(write=False)
    weights.setflags(write=False)
    return nodes, weights


PRIORS = ("normal", "uniform")


def as_prior(prior) -> Prior:
    """Accept ``'normal'``, ``'uniform'``, a :class:`Prior`, or a frozen ``scipy.stats`` distribution."""
    if isinstance(prior, Prior):
        return prior
    if prior is None:
        return NormalPrior()
    if isinstance(prior, str):
        key = prior.strip().lower()
        if key in ("normal", "gaussian", "norm"):
            return NormalPrior()
        if key in ("uniform", "unif"):
            return UniformPrior()
        raise ValueError(f"prior must be one of {{normal, uniform}} (or a scipy.stats frozen "
                         f"distribution), got {prior!r}")
    return ScipyPrior(prior)


"""A game: mechanism + population (N, m, prior) + effort costs, with exact expected utilities.

``U_i = E[M_i] - c_i(w_i)`` (paper eq. 5).  :class:`Game` evaluates utilities exactly (no Monte Carlo)
through the mechanism's quadrature engine; :class:`SymmetricGrid` tabulates the expected payment over
own signed efforts x honest peer efforts once, so that every cost, every scale ``z/k`` and every
property check reuses it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from agents import Cost, Strategy, as_costs, as_prior, as_strategy, parse_cost
from agents._validation import check_int, check_real
from mechanisms import Mechanism

from .bounds import EffortBound, effort_bound


def warn_grid_arguments(**given):
    """Deprecated fixed-grid arguments (``grid``, ``n_own``, ``n_peer``): the certified searches choose
    their own cells, so a value passed here cannot be honoured; say so instead of ignoring it."""
    passed = [k for k, v in given.items() if v is not None]
    if passed:
        import warnings
        warnings.warn(f"{', '.join(passed)}: deprecated and ignored (the equilibrium search is certified on its "
                      "own cells, not a fixed grid)", DeprecationWarning, stacklevel=3)


class NoEffortBound(ValueError):
    """No derived effort bound exists (e.g. a bounded cost) and no cap was given: a best response need
    not exist."""


@dataclass
class Game:
    """A symmetric-information game induced by a payment rule.

    Parameters
    ----------
    mechanism : Mechanism
        PPA, BSST, APA (or any :class:`mechanisms.Mechanism`).
    cost : Cost, 'NAME:K' string, or sequence of them (one per agent: heterogeneous costs)
    n_agents : int
        ``N >= 3``.
    n_items : int
        ``m``.
    prior : 'normal', 'uniform', Prior or scipy.stats frozen distribution
    w_max : float, optional
        A cap on efforts.  By default (``None``) efforts are searched on ``[0, W]`` with ``W`` the derived
        effort bound (:func:`equilibria.bounds.effort_bound`): every effort above it is strictly
        dominated, so nothing is lost.  A cap below ``W`` restricts the game, and every result that it
        binds says so (``game.bound.binding``).

    Examples
    --------
    >>> from mechanisms import APA
    >>> g = Game(APA(), "quadratic:0.1", n_agents=3, n_items=3)
    >>> round(g.utility((0.0, "honest"), (0.0, "honest")), 6)   # zero effort, zero cost
    2.25
    """

    mechanism: Mechanism
    cost: object = "quadratic:0.1"
    n_agents: int = 3
    n_items: int = 3
    prior: object = "normal"
    w_max: float | None = None
    costs: tuple = field(init=False, repr=False)

    def __post_init__(self):
        if not isinstance(self.mechanism, Mechanism):
            raise ValueError(f"mechanism must be a mechanisms.Mechanism, got {self.mechanism!r}")
        from agents._validation import MAX_AGENTS

        self.n_agents = check_int("n_agents", self.n_agents, low=3, high=MAX_AGENTS)
        self.n_items = self.mechanism._check_items(check_int("n_items", self.n_items, low=2))
        self.prior = as_prior(self.prior)
        if self.w_max is not None:
            self.w_max = check_real("w_max", self.w_max, low=0.0, low_open=True)
        self.costs = as_costs(self.cost, self.n_agents)
        self.cost = self.costs[0] if len(set(self.costs)) == 1 else self.costs
        self._bounds = {}

    @property
    def heterogeneous(self) -> bool:
        return len(set(self.costs)) > 1

    def cost_of(self, agent: int = 0) -> Cost:
        return self.costs[check_int("agent", agent, low=0, high=self.n_agents - 1)]

    def bound_of(self, agent: int = 0) -> EffortBound:
        """Agent ``agent``'s effort bound (its best responses to any peers lie in ``[0, bound.effort]``)."""
        cost = self.cost_of(agent)
        key = repr(cost)
        if key not in self._bounds:
            self._bounds[key] = effort_bound(self.mechanism, cost, self.n_agents, self.n_items, self.prior,
                                             cap=self.w_max)
        return self._bounds[key]

    @property
    def bound(self) -> EffortBound:
        """The effort bound of agent 0 (homogeneous games: of every agent)."""
        return self.bound_of(0)

    @property
    def domain(self) -> float:
        """Largest effort any agent's best response can have: ``max_x bound_of(x).effort`` (may be ``inf``)."""
        return max(self.bound_of(x).effort for x in range(self.n_agents))

    def require_domain(self, agent=None) -> float:
        """The search domain, or ``ValueError`` with the reason when no effort bound exists."""
        b = self.bound_of(agent) if agent is not None else max(
            (self.bound_of(x) for x in range(self.n_agents)), key=lambda b: b.effort)
        if not math.isfinite(b.effort):
            raise NoEffortBound(b.reason + "; pass w_max to study the game with capped efforts")
        return b.effort

    def with_cost(self, cost) -> "Game":
        return Game(self.mechanism, cost, self.n_agents, self.n_items, self.prior, self.w_max)

    def _peers_eps(self, peers, agent):
        """Peer signed efforts (length N-1) from one strategy or a list."""
        if isinstance(peers, (Strategy, tuple)) and not (isinstance(peers, tuple) and peers
                                                       and isinstance(peers[0], (Strategy, tuple, list))):
            s = as_strategy(peers, "peers")
            return np.full(self.n_agents - 1, s.signed_effort)
        eps = np.array([as_strategy(p, "peers").signed_effort for p in peers], dtype=float)
        if eps.size != self.n_agents - 1:
            raise ValueError(f"peers must list n_agents - 1 = {self.n_agents - 1} strategies, got {eps.size}")
        return eps

    def payment(self, own, peers, agent: int = 0) -> float:
        """Exact ``E[M_i]`` for ``own`` against ``peers`` (one strategy for all, or a list)."""
        own = as_strategy(own, "own")
        return self.mechanism.exact(np.r_[own.signed_effort, self._peers_eps(peers, agent)], self.n_items,
                                    self.prior)

    def utility(self, own, peers, agent: int = 0) -> float:
        """Exact expected utility ``E[M_i] - c_i(w_i)`` (eq. 5)."""
        own = as_strategy(own, "own")
        return self.payment(own, peers, agent) - float(self.cost_of(agent)(own.effort))

    def utility_curve(self, own_eps, peers_eps, agent: int = 0, refine: float = 1) -> np.ndarray:
        """Exact utilities for an array of own signed efforts against fixed peers (vectorised).

        ``refine=0.5`` is the cheaper bracketing rule (about ``1e-6`` relative)."""
        own_eps = np.atleast_1d(np.asarray(own_eps, dtype=float))
        pay = self.mechanism.payment_curve(own_eps, peers_eps, self.n_items, self.prior, refine)
        return pay - self.cost_of(agent)(np.abs(own_eps))

    @cached_property
    def payoff_scale(self) -> float:
        """Largest realised payment; regrets are reported relative to it."""
        return float(self.mechanism.max_payment(self.n_agents, self.n_items))


BRACKET_REFINE = 0.5   # bracketing grids use half the panels; every reported number is re-evaluated exactly


class SymmetricGrid:
    """Exact payment table ``P[o, q]``: own signed effort ``own[o]`` vs all peers honest at ``peer[q]``.

    Dishonest peers follow from global flip symmetry (spec section 3):
    ``P(eps_i; all peers -w) = P(-eps_i; all peers w)``.
    """

    def __init__(self, game: Game, n_own: int = 121, n_peer: int = 41):
        self.game = game
        n_own = check_int("n_own", n_own, low=11)
        n_peer = check_int("n_peer", n_peer, low=5)
        W = game.require_domain()
        self.w = np.linspace(0.0, W, n_own)
        self.own = np.concatenate([-self.w[::-1], self.w[1:]])            # signed, symmetric
        self.peer = np.linspace(0.0, W, n_peer)
        self.P = game.mechanism.payment_table(self.own, self.peer, game.n_agents, game.n_items, game.prior,
                                              refine=BRACKET_REFINE)

    def utility(self, cost: Cost | None = None) -> np.ndarray:
        cost = self.game.cost_of(0) if cost is None else parse_cost(cost)
        return self.P - cost(np.abs(self.own))[:, None]

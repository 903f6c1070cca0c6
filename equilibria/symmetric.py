"""Symmetric Bayes-Nash equilibria with regret certificates, and equilibrium checks for any profile.

A symmetric profile ``(w, f)`` is an equilibrium iff ``(w, f)`` is a best response of agent ``i`` when
every peer plays ``(w, f)``.  Candidates are the fixed points of the symmetric best-response map,
bracketed on a table of exact payments (own signed effort x honest peer effort) and solved with
``brentq`` on the first-order condition; every candidate is then certified by a global best
response (:func:`equilibria.best_response`), and its regret is reported.  Dishonest equilibria are the
mirror images of honest ones under global flip symmetry (spec section 3) and are reported as such,
with their own regret computed.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import brentq

from agents import DISHONEST, HONEST, Strategy
from agents._validation import check_real

from .best_response import best_response, refine_branch
from .game import Game, SymmetricGrid


@dataclass
class Equilibrium:
    """One symmetric equilibrium ``(w, f)`` for all agents.

    Attributes
    ----------
    effort, report, utility :
        The profile and each agent's exact expected utility.
    regret : float
        Certificate: ``max_dev U_i(dev) - U_i(w, f)`` over all unilateral deviations, relative to the
        payoff scale (largest realised payment).  ``<= tolerance`` for a certified equilibrium.
    stable : bool or None
        ``|slope|`` of the symmetric best-response map at ``w`` below 1.
    slope : float or None
    informed : bool
        ``w > 0``.
    mirror : bool
        The dishonest mirror of an honest equilibrium (equal utility by global flip symmetry).
    at_bound : bool
        ``w = w_max``: an equilibrium of the game restricted to ``[0, w_max]`` only.
    """

    effort: float
    report: str
    utility: float
    regret: float
    stable: bool | None
    slope: float | None
    informed: bool
    mirror: bool = False
    at_bound: bool = False

    def to_dict(self):
        return {k: getattr(self, k) for k in ("effort", "report", "utility", "regret", "stable", "slope",
                                              "informed", "mirror", "at_bound")}


@dataclass
class EquilibriumSet:
    """All symmetric equilibria found on ``[0, w_max]``, with the tolerances used."""

    equilibria: list
    tolerance: float
    w_max: float
    peer_grid: np.ndarray = field(repr=False)
    best_response_map: np.ndarray = field(repr=False)   # grid-level signed best response per peer effort
    notes: list = field(default_factory=list)

    def __iter__(self):
        return iter(self.equilibria)

    def __len__(self):
        return len(self.equilibria)

    def to_dict(self):
        return {"equilibria": [e.to_dict() for e in self.equilibria], "tolerance": self.tolerance,
                "w_max": self.w_max, "notes": self.notes}


def _honest_br(game, w_peer, guess, h):
    """Local continuous best response (honest branch) near ``guess`` against peers all at ``(w_peer, h)``."""
    peers = np.full(game.n_agents - 1, w_peer)

    def f(x):
        return float(game.utility_curve([x], peers)[0])
    grid = np.clip(np.array([guess - h, guess, guess + h]), 0.0, game.w_max)
    return refine_branch(f, grid, 1, 1e-10 * game.w_max)[0]


def symmetric_equilibria(game: Game, *, tol: float = 1e-7, n_own: int = 121, n_peer: int = 41,
                         grid: SymmetricGrid | None = None) -> EquilibriumSet:
    """All symmetric Bayes-Nash equilibria ``(w, f)`` on ``[0, w_max]`` (paper Def. 5.2).

    Parameters
    ----------
    game : Game
        Homogeneous costs (symmetric equilibria of heterogeneous populations: use
        :func:`check_equilibrium`).
    tol : float
        Regret tolerance relative to the payoff scale; also the tie tolerance between utilities.
    n_own, n_peer : int
        Bracketing grid sizes (``(n_own - 1)`` must be a multiple of ``(n_peer - 1)``).
    grid : SymmetricGrid, optional
        A precomputed payment table (reuse it across costs).

    Returns
    -------
    EquilibriumSet
    """
    tol = check_real("tol", tol, low=0.0, low_open=True)
    if game.heterogeneous:
        raise ValueError("cost must be homogeneous for symmetric equilibria; use check_equilibrium for "
                         "heterogeneous populations")
    grid = grid if grid is not None else SymmetricGrid(game, n_own, n_peer)
    if (grid.w.size - 1) % (grid.peer.size - 1):
        raise ValueError(f"n_own - 1 must be a multiple of n_peer - 1 (got n_own={grid.w.size}, "
                         f"n_peer={grid.peer.size})")
    U = grid.utility(game.cost_of(0))
    w, own, peer = grid.w, grid.own, grid.peer
    h = w[1] - w[0]
    n0 = w.size - 1                            # index of own = 0 in the signed grid
    br = own[np.argmax(U, axis=0)]             # grid-level signed best response per honest peer effort
    notes = []
    cands = {0.0}
    # first-order condition dU/dw at own = peer effort, honest branch, from the table
    stride = (w.size - 1) // (peer.size - 1)
    foc = np.full(peer.size, np.nan)
    for q in range(1, peer.size - 1):
        o = n0 + q * stride
        foc[q] = (U[o + 1, q] - U[o - 1, q]) / (2 * h)
    peers_of = lambda wp: np.full(game.n_agents - 1, wp)  # noqa: E731

    def foc_exact(wp):
        d = 1e-5 * game.w_max
        u = game.utility_curve([wp - d, wp + d], peers_of(wp))
        return (u[1] - u[0]) / (2 * d)
    exact_foc = {}

    def foc_at(k):
        if k not in exact_foc:
            exact_foc[k] = foc_exact(peer[k])
        return exact_foc[k]
    for q in range(1, peer.size - 2):
        a, b = foc[q], foc[q + 1]
        if np.isfinite(a) and np.isfinite(b) and a * b <= 0 and (br[q] > 0 or br[q + 1] > 0):
            # the table is the cheap rule: bracket again on exact signs, one grid step either side
            ks = [k for k in range(q - 1, q + 3) if 1 <= k <= peer.size - 2]
            for k0, k1 in zip(ks[:-1], ks[1:]):
                if foc_at(k0) * foc_at(k1) <= 0:
                    cands.add(float(brentq(foc_exact, peer[k0], peer[k1], xtol=1e-10 * game.w_max)))
    if br[-1] >= game.w_max - h:
        cands.add(float(game.w_max))
    eqs = []
    tol_abs = tol * game.payoff_scale
    seen = []
    for wc in sorted(cands):
        if any(abs(wc - s) <= 1e-6 * game.w_max for s in seen):
            continue
        seen.append(wc)
        res = best_response(game, Strategy(wc, HONEST))
        u_eq = game.utility(Strategy(wc, HONEST), Strategy(wc, HONEST))
        regret = max(res.utility - u_eq, 0.0) / game.payoff_scale
        if regret > tol:
            continue
        slope = None
        if wc > 0:
            d = min(1e-3 * game.w_max, 0.5 * wc, max(game.w_max - wc, 1e-9))
            lo = _honest_br(game, wc - d, wc, 4 * d)
            hi = _honest_br(game, min(wc + d, game.w_max), wc, 4 * d)
            slope = float((hi - lo) / (min(wc + d, game.w_max) - (wc - d)))
        else:
            d = 1e-2 * game.w_max
            r = best_response(game, Strategy(d, HONEST), n_grid=51)
            slope = float(r.effort / d)
        stable = abs(slope) < 1.0
        at_bound = wc >= game.w_max * (1 - 1e-9)
        if wc == 0.0:
            eqs.append(Equilibrium(0.0, HONEST, u_eq, regret, stable, slope, False))
            eqs.append(Equilibrium(0.0, DISHONEST, u_eq, regret, stable, slope, False, mirror=True))
            continue
        eqs.append(Equilibrium(wc, HONEST, u_eq, regret, stable, slope, True, at_bound=at_bound))
        # mirror: certify it too (it should hold by flip symmetry)
        res_m = best_response(game, Strategy(wc, DISHONEST))
        u_m = game.utility(Strategy(wc, DISHONEST), Strategy(wc, DISHONEST))
        reg_m = max(res_m.utility - u_m, 0.0) / game.payoff_scale
        eqs.append(Equilibrium(wc, DISHONEST, u_m, reg_m, stable, slope, True, mirror=True, at_bound=at_bound))
    if any(e.at_bound for e in eqs):
        notes.append(f"an equilibrium sits at the search bound w_max={game.w_max:g}: effort is capped there")
    notes.append("dishonest equilibria mirror honest ones under global flip symmetry (equal utilities); "
                 f"utilities within tolerance {tol_abs:.3g} are treated as ties")
    return EquilibriumSet(eqs, tol, game.w_max, peer, br, notes)


@dataclass
class EquilibriumCheck:
    """Whether a given (possibly asymmetric) profile is a Bayes-Nash equilibrium."""

    holds: bool
    regrets: list          # per agent, relative to the payoff scale
    best_deviations: list  # per agent, BestResponse.to_dict()
    tolerance: float

    def to_dict(self):
        return {"holds": self.holds, "regrets": self.regrets, "best_deviations": self.best_deviations,
                "tolerance": self.tolerance}


def check_equilibrium(game: Game, strategies, *, tol: float = 1e-7) -> EquilibriumCheck:
    """Check a profile ``[s_0, ..., s_{N-1}]`` (heterogeneous costs allowed): every agent's regret.

    Uses anonymity: agent ``x``'s peers are the other ``N - 1`` strategies in any order.
    """
    from agents import as_strategy
    tol = check_real("tol", tol, low=0.0, low_open=True)
    strategies = [as_strategy(s) for s in strategies]
    if len(strategies) != game.n_agents:
        raise ValueError(f"strategies must have n_agents = {game.n_agents} entries, got {len(strategies)}")
    regrets, devs = [], []
    for x, s in enumerate(strategies):
        peers = strategies[:x] + strategies[x + 1:]
        res = best_response(game, peers, agent=x)
        u = game.utility(s, peers, agent=x)
        regrets.append(max(res.utility - u, 0.0) / game.payoff_scale)
        devs.append(res.to_dict())
    return EquilibriumCheck(all(r <= tol for r in regrets), regrets, devs, tol)



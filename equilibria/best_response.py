"""Global best responses over ``[0, w_max] x {honest, dishonest}`` (paper Defs. 5.1-5.3 need argmax).

Expected utility is not concave in effort (APA's coherence term; concave costs), so a local optimiser
alone is wrong.  :func:`best_response` brackets on a grid of signed efforts, refines every local
maximum of both branches with bounded Brent on exact utilities, and returns every global maximiser
within a tolerance (honest/dishonest ties are real under global flip symmetry).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize_scalar

from agents import DISHONEST, HONEST
from agents._validation import check_int, check_real

from .game import BRACKET_REFINE, Game


@dataclass
class Maximiser:
    effort: float
    report: str
    utility: float

    def to_dict(self):
        return {"effort": self.effort, "report": self.report, "utility": self.utility}


@dataclass
class BestResponse:
    """Result of :func:`best_response`.

    Attributes
    ----------
    effort, report, utility :
        One global maximiser (the honest one when tied) and the maximal expected utility.
    maximisers : list of Maximiser
        Every global maximiser within ``tolerance``.  At zero effort the report does not matter
        (reports are fair coins), so ``(0, honest)`` and ``(0, dishonest)`` are both listed.
    tied : bool
        More than one maximiser.
    tolerance : float
        Absolute utility tolerance used for ties (``tol * payoff_scale``).
    grid_efforts, grid_utility : ndarray
        The bracketing grid (signed efforts) and exact utilities on it: evidence and plotting.
    """

    effort: float
    report: str
    utility: float
    maximisers: list
    tied: bool
    tolerance: float
    grid_efforts: np.ndarray = field(repr=False)
    grid_utility: np.ndarray = field(repr=False)

    @property
    def signed_effort(self):
        return self.effort if self.report == HONEST else -self.effort

    def to_dict(self):
        return {"effort": self.effort, "report": self.report, "utility": self.utility, "tied": self.tied,
                "maximisers": [m.to_dict() for m in self.maximisers], "tolerance": self.tolerance}


def _local_maxima(u):
    """Indices of (weak) local maxima of a 1-d array, endpoints included."""
    n = u.size
    idx = []
    for k in range(n):
        left = u[k - 1] if k > 0 else -np.inf
        right = u[k + 1] if k < n - 1 else -np.inf
        if u[k] >= left and u[k] >= right:
            idx.append(k)
    return idx


def refine_branch(f, w, k, xatol):
    """Refine a grid maximum ``w[k]`` of ``f`` on ``[w[k-1], w[k+1]]`` with bounded Brent."""
    lo = w[max(k - 1, 0)]
    hi = w[min(k + 1, w.size - 1)]
    best_w, best_u = w[k], f(w[k])
    if hi > lo:
        res = minimize_scalar(lambda x: -f(x), bounds=(lo, hi), method="bounded",
                              options={"xatol": xatol})
        if -res.fun > best_u:
            best_w, best_u = float(res.x), float(-res.fun)
    return float(best_w), float(best_u)


def best_response(game: Game, peers, *, agent: int = 0, n_grid: int = 201, tol: float = 1e-9,
                  refine: bool = True) -> BestResponse:
    """Global best response of ``agent`` against ``peers``.

    Parameters
    ----------
    game : Game
    peers : Strategy, (effort, report), or a list of ``N - 1`` of them
    agent : int
        Whose cost applies (heterogeneous costs: best response per agent).
    n_grid : int
        Grid points on ``[0, w_max]`` per branch (honest, dishonest).
    tol : float
        Ties: maximisers within ``tol * game.payoff_scale`` of the best utility are all returned.
    refine : bool
        Refine grid maxima with bounded Brent on exact utilities.

    Returns
    -------
    BestResponse

    References
    ----------
    Manyika, Wooldridge, Gan (2025), Defs. 5.1-5.3 (``argmax E[U_i]`` over ``(w_i, f_i)``).
    """
    n_grid = check_int("n_grid", n_grid, low=3)
    tol = check_real("tol", tol, low=0.0, low_open=True)
    peers_eps = game._peers_eps(peers, agent)
    w = np.linspace(0.0, game.w_max, n_grid)
    own = np.concatenate([w, -w[1:]])
    u = game.utility_curve(own, peers_eps, agent, refine=BRACKET_REFINE)
    u_h = u[:n_grid]
    u_d = np.concatenate([[u[0]], u[n_grid:]])
    xatol = 1e-8 * game.w_max   # utility is flat at the top: 1e-8 in effort is ~1e-16 in utility
    cands = []
    for sign, ub in ((1.0, u_h), (-1.0, u_d)):
        def f(x, sign=sign):
            return float(game.utility_curve([sign * x], peers_eps, agent)[0])
        for k in _local_maxima(ub):
            if refine:
                wk, uk = refine_branch(f, w, k, xatol)
            else:
                wk, uk = float(w[k]), f(float(w[k]))
            cands.append((wk, HONEST if sign > 0 else DISHONEST, uk))
    best = max(c[2] for c in cands)
    tol_abs = tol * game.payoff_scale
    maxi = []
    for wk, rep, uk in sorted(cands, key=lambda c: (-c[2], c[1] != HONEST, c[0])):
        if uk < best - tol_abs:
            continue
        if wk <= xatol * 10:  # zero effort: report irrelevant
            wk = 0.0
        if any(abs(m.effort - wk) <= 1e-6 * game.w_max and m.report == rep for m in maxi):
            continue
        maxi.append(Maximiser(wk, rep, uk))
    if any(m.effort == 0.0 for m in maxi):
        zero_u = max(m.utility for m in maxi if m.effort == 0.0)
        maxi = [m for m in maxi if m.effort > 0.0]
        maxi += [Maximiser(0.0, HONEST, zero_u), Maximiser(0.0, DISHONEST, zero_u)]
    maxi.sort(key=lambda m: (-m.utility, m.report != HONEST, m.effort))
    top = maxi[0]
    return BestResponse(top.effort, top.report, best, maxi, len(maxi) > 1, tol_abs, own, u)

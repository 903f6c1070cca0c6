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


def refine_branch(f, w, k, xatol, f_coarse=None):
    """Refine a grid maximum ``w[k]`` of ``f`` on ``[w[k-1], w[k+1]]``.

    With ``f_coarse`` (a cheaper approximation of ``f``), bounded Brent locates the maximum on
    ``f_coarse`` and a parabola through three exact values polishes it, so most evaluations are cheap;
    the returned utility is always an exact value of ``f``.
    """
    lo = w[max(k - 1, 0)]
    hi = w[min(k + 1, w.size - 1)]
    best_w, best_u = float(w[k]), f(float(w[k]))
    if hi <= lo:
        return best_w, best_u
    g = f_coarse if f_coarse is not None else f
    res = minimize_scalar(lambda x: -g(x), bounds=(lo, hi), method="bounded",
                          options={"xatol": xatol if f_coarse is None else 1e3 * xatol})
    x = float(res.x)
    if f_coarse is None:
        u = float(-res.fun)
        return (x, u) if u > best_u else (best_w, best_u)
    d = max(10 * xatol, 1e-4 * (hi - lo))
    pts = [p for p in (x - d, x, x + d) if lo <= p <= hi]
    vals = [f(p) for p in pts]
    if len(pts) == 3:
        denom = vals[0] - 2 * vals[1] + vals[2]
        if denom < 0:  # concave: vertex of the parabola
            xv = min(max(x + 0.5 * d * (vals[0] - vals[2]) / denom, lo), hi)
            pts.append(xv)
            vals.append(f(xv))
    j = int(np.argmax(vals))
    return (pts[j], vals[j]) if vals[j] > best_u else (best_w, best_u)


def best_response(game: Game, peers, *, agent: int = 0, n_grid: int = 121, tol: float = 1e-9,
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
    own = np.concatenate([-w[::-1], w[1:]])    # same ordering as SymmetricGrid: shares its cached tables
    u = game.utility_curve(own, peers_eps, agent, refine=BRACKET_REFINE)
    u_h = u[n_grid - 1:]
    u_d = u[n_grid - 1::-1]
    xatol = 1e-8 * game.w_max   # utility is flat at the top: 1e-8 in effort is ~1e-16 in utility
    cands = []
    # a grid local maximum can beat the best grid value only by the curvature between grid points
    # (half the largest second difference) plus the bracketing rule's error
    slack = 0.5 * np.max(np.abs(np.diff(u_h, 2)), initial=0.0) + 0.5 * np.max(np.abs(np.diff(u_d, 2)), initial=0.0)
    slack += 1e-5 * game.payoff_scale
    top = max(u_h.max(), u_d.max())
    for sign, ub in ((1.0, u_h), (-1.0, u_d)):
        def f(x, sign=sign):
            return float(game.utility_curve([sign * x], peers_eps, agent)[0])

        def fc(x, sign=sign):
            return float(game.utility_curve([sign * x], peers_eps, agent, refine=BRACKET_REFINE)[0])
        for k in _local_maxima(ub):
            if ub[k] < top - slack:
                continue
            if refine:
                wk, uk = refine_branch(f, w, k, xatol, f_coarse=fc)
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

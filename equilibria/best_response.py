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
    domain : float
        Efforts searched: ``[0, domain]`` (the derived bound, or the user's cap).
    certified_gap : float or None
        Largest amount by which any unsearched effort could beat ``utility`` (certified derivative bounds;
        ``None`` for costs without closed-form derivatives).
    cap_binding : bool
        The user's cap ``w_max`` is below the derived bound: the response is for capped efforts.
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
    domain: float = float("nan")
    certified_gap: float | None = None
    cap_binding: bool = False

    @property
    def signed_effort(self):
        return self.effort if self.report == HONEST else -self.effort

    def to_dict(self):
        return {"effort": self.effort, "report": self.report, "utility": self.utility, "tied": self.tied,
                "maximisers": [m.to_dict() for m in self.maximisers], "tolerance": self.tolerance,
                "domain": self.domain, "certified_gap": self.certified_gap, "cap_binding": self.cap_binding}


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


def _cell_upper_bounds(game, agent, w, u, terms, stats):
    """Upper bounds on the utility inside each grid cell ``[w[k], w[k+1]]`` of one branch.

    Two certified bounds, the smaller is kept: (i) with ``U'' >= -K`` on the cell,
    ``U <= chord + K h^2 / 8`` where ``K = S_own(2) H_2(w_k) + max c''`` (module :mod:`equilibria.bounds`);
    (ii) ``U(x) <= U(w_k) + max(U', 0) (x - w_k)`` with ``U' <= S_own(1) H_1(w_k) - min c'``.
    Returns ``None`` for costs without closed-form derivatives.
    """
    from .bounds import H, S_own, cost_d2_max, cost_is_known
    cost = game.cost_of(agent)
    if not cost_is_known(cost):
        return None
    s1, s2 = S_own(1, terms), S_own(2, terms)
    a, b = w[:-1], w[1:]
    h = b - a
    out = np.empty(a.size)
    with np.errstate(all="ignore"):
        dc_a = cost.derivative(a)
        dc_b = cost.derivative(b)
    for k in range(a.size):
        c2 = cost_d2_max(cost, a[k], b[k])
        K = max(0.0, s2 * H(2, a[k], stats) + c2)
        chord = max(u[k], u[k + 1]) + K * h[k] ** 2 / 8.0
        slope_up = max(0.0, s1 * H(1, a[k], stats) - min(dc_a[k], dc_b[k]))
        out[k] = min(chord, u[k] + slope_up * h[k])
    return out


def _concave_zones(game, agent, peers_eps, sign, cands, h, terms, stats):
    """Intervals around refined maxima on which the utility is certified concave, so the refined maximum
    (a stationary point to the refinement's resolution) is the cell's maximum: ``U2(x*) < 0`` and
    ``|U3| <= K3 = S_own(3) H_3 + max |c3|`` (third derivatives) give ``U2 < 0`` within ``|U2(x*)| / K3``."""
    from .bounds import H, S_own, cost_d3
    zones = []
    cost = game.cost_of(agent)
    for x, _, _ in cands:
        d = 1e-3 * (0.1 + x)
        if x - d <= 0:
            continue
        u = game.utility_curve(sign * np.array([x - d, x, x + d]), peers_eps, agent)
        u2 = (u[0] - 2 * u[1] + u[2]) / (d * d)
        err = 4e-13 * game.payoff_scale / (d * d)
        if u2 >= -err:
            continue
        a = max(x - 2 * h, 0.0)
        c3 = cost_d3(cost, np.array([max(a, 1e-300), x + 2 * h]))
        if c3 is None:
            continue
        K3 = S_own(3, terms) * H(3, a, stats) + float(np.max(np.abs(c3)))
        rho = min(2 * h, 0.9 * (abs(u2) - err) / K3) if K3 > 0 else 2 * h
        if rho > 0:
            zones.append((x - rho, x + rho))
    return zones


def best_response(game: Game, peers, *, agent: int = 0, n_grid: int = 61, tol: float = 1e-9,
                  refine: bool = True, certify: bool = True) -> BestResponse:
    """Global best response of ``agent`` against ``peers``.

    Efforts are searched on ``[0, W]`` with ``W = game.bound_of(agent).effort``: the derived effort bound
    (every effort above it is strictly dominated, whatever the peers do) or the user's cap ``w_max``.

    Completeness: every grid maximum within the grid's curvature slack of the best is refined by bounded
    Brent; then (``certify=True``) every grid cell is bounded from above with the certified derivative
    bounds of :mod:`equilibria.bounds` (``U'' >= -K``: ``U <= chord + K h^2/8``), and cells whose bound
    exceeds the best utility found by more than the tolerance are subdivided and searched until none is
    left; ``certified_gap`` is the largest amount by which any unsearched cell could still beat the
    reported maximum (``<= tolerance`` when certified).

    Parameters
    ----------
    game : Game
    peers : Strategy, (effort, report), or a list of ``N - 1`` of them
    agent : int
        Whose cost applies (heterogeneous costs: best response per agent).
    n_grid : int
        Grid points on ``[0, W]`` per branch (honest, dishonest).
    tol : float
        Ties: maximisers within ``tol * game.payoff_scale`` of the best utility are all returned.
    refine : bool
        Refine grid maxima with bounded Brent on exact utilities.
    certify : bool
        Bound every cell and search the ones that could hide a better response.

    Returns
    -------
    BestResponse

    Raises
    ------
    ValueError
        When no effort bound exists (a bounded cost without ``w_max``): a best response need not exist.

    References
    ----------
    Manyika, Wooldridge, Gan (2025), Defs. 5.1-5.3 (``argmax E[U_i]`` over ``(w_i, f_i)``).
    """
    n_grid = check_int("n_grid", n_grid, low=3)
    tol = check_real("tol", tol, low=0.0, low_open=True)
    peers_eps = game._peers_eps(peers, agent)
    # a deterministic function of its inputs: the property checks ask for the same responses again
    # (the equilibria's certificates, UEI's zero-effort peers, EC's base profile)
    key = (tuple(np.sort(peers_eps).tolist()), agent, n_grid, tol, refine, certify)
    return memoised(game, key, lambda: _best_response(game, peers_eps, agent, n_grid, tol, refine, certify))


def memoised(game, key, compute):
    """``compute()`` once per ``key`` per game (a bounded memo on the game: best responses are deterministic
    functions of their inputs, and the property checks ask for the same ones again)."""
    memo = game.__dict__.setdefault("_br_memo", {})
    if key not in memo:
        if len(memo) > 256:
            memo.clear()
        memo[key] = compute()
    return memo[key]


def _best_response(game, peers_eps, agent, n_grid, tol, refine, certify):
    W = game.require_domain(agent)
    if W <= 0:      # every positive effort is strictly dominated by zero effort
        u0 = float(game.utility_curve([0.0], peers_eps, agent)[0])
        z = np.zeros(1)
        return BestResponse(0.0, HONEST, u0, [Maximiser(0.0, HONEST, u0), Maximiser(0.0, DISHONEST, u0)], True,
                            tol * game.payoff_scale, z, np.array([u0]), domain=0.0, certified_gap=0.0,
                            cap_binding=game.bound_of(agent).binding)
    w = np.linspace(0.0, W, n_grid)
    own = np.concatenate([-w[::-1], w[1:]])    # same ordering as SymmetricGrid: shares its cached tables
    from .bounds import term_structure
    flip = term_structure(game.mechanism, game.n_agents, game.n_items)[1]
    # against zero-effort peers (fair-coin reports) the payment is even in own signed effort by global
    # flip symmetry: honest and dishonest tie exactly, so one branch is computed and mirrored
    even = flip and not np.any(peers_eps)
    if even:
        u_h = game.utility_curve(w, peers_eps, agent, refine=BRACKET_REFINE)
        u = np.concatenate([u_h[::-1], u_h[1:]])
    else:
        u = game.utility_curve(own, peers_eps, agent, refine=BRACKET_REFINE)
    u_h = u[n_grid - 1:]
    u_d = u[n_grid - 1::-1]
    xatol = 1e-8 * W   # utility is flat at the top: 1e-8 in effort is ~1e-16 in utility
    cands = []
    # a grid local maximum can beat the best grid value only by the curvature between grid points
    # (half the largest second difference) plus the bracketing rule's error
    slack = 0.5 * np.max(np.abs(np.diff(u_h, 2)), initial=0.0) + 0.5 * np.max(np.abs(np.diff(u_d, 2)), initial=0.0)
    slack += 1e-5 * game.payoff_scale
    top = max(u_h.max(), u_d.max())
    fs = {}
    for sign, ub in ((1.0, u_h),) if even else ((1.0, u_h), (-1.0, u_d)):
        def f(x, sign=sign):
            return float(game.utility_curve([sign * x], peers_eps, agent)[0])

        def fc(x, sign=sign):
            return float(game.utility_curve([sign * x], peers_eps, agent, refine=BRACKET_REFINE)[0])
        fs[sign] = (f, fc)
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
    gap = None
    if certify:
        from .bounds import difference_stats, term_structure
        terms, _ = term_structure(game.mechanism, game.n_agents, game.n_items)
        stats = difference_stats(game.prior)
        # the bracketing rule is ~1e-6 relative: re-evaluate the cells' ends exactly where it matters
        bracket_err = 2e-6 * game.payoff_scale
        gap = -np.inf
        for sign, ub in ((1.0, u_h),) if even else ((1.0, u_h), (-1.0, u_d)):
            f, _ = fs[sign]
            ub_bound = _cell_upper_bounds(game, agent, w, ub, terms, stats)
            if ub_bound is None:
                gap = None
                break
            open_ = ub_bound + bracket_err > best + tol_abs
            if (~open_).any():
                gap = max(gap, float(np.max(ub_bound[~open_] + bracket_err)) - best)
            work = [[w[k], w[k + 1]] for k in range(w.size - 1) if open_[k]]
            rep = HONEST if sign > 0 else DISHONEST
            exact = {}
            zones = _concave_zones(game, agent, peers_eps, sign, [c for c in cands if c[1] == rep and c[0] > 0],
                                   w[1] - w[0], terms, stats)
            work = [c for c in work if not any(lo <= c[0] and c[1] <= hi for lo, hi in zones)]

            def ev(xs, sign=sign):
                new_x = sorted({x for x in xs if x not in exact})
                if new_x:
                    vals = game.utility_curve(sign * np.array(new_x), peers_eps, agent)
                    exact.update(zip(new_x, vals.tolist()))
            rounds = 0
            residual = []
            while work and rounds < 40:
                rounds += 1
                mids = [0.5 * (a + b) for a, b in work]
                ev([x for c in work for x in c] + mids)       # one engine call per round
                for x in mids:
                    if exact[x] > best:
                        best = exact[x]
                        cands.append((x, rep, exact[x]))
                nxt = []
                for (a, b), m in zip(work, mids):
                    for lo, hi in ((a, m), (m, b)):
                        bd = _cell_upper_bounds(game, agent, np.array([lo, hi]), np.array([exact[lo], exact[hi]]),
                                                terms, stats)[0]
                        if any(zl <= lo and hi <= zh for zl, zh in zones):
                            continue            # certified concave around a refined maximum
                        if bd > best + tol_abs and hi - lo > xatol:
                            nxt.append([lo, hi])
                        elif bd <= best + tol_abs:
                            gap = max(gap, bd - best)
                        else:
                            residual.append([lo, hi])
                if len(nxt) > 64:   # a flat top: keep the cells nearest the best, Brent does the rest
                    nxt.sort(key=lambda c: -max(exact[c[0]], exact[c[1]]))
                    for lo, hi in nxt[64:]:
                        wk, uk = refine_branch(f, np.array([lo, 0.5 * (lo + hi), hi]), 1, xatol)
                        cands.append((wk, rep, uk))
                        best = max(best, uk)
                    nxt = nxt[:64]
                work = nxt
            for lo, hi in work + residual:    # still open at the resolution limit: a maximiser is there
                wk, uk = refine_branch(f, np.array([lo, 0.5 * (lo + hi), hi]), 1, xatol)
                cands.append((wk, rep, uk))
                best = max(best, uk)
        if gap is not None:
            gap = float(max(gap, 0.0))
    if even:      # the mirror of every honest candidate, with the same (exactly equal) utility
        cands += [(wk, DISHONEST, uk) for wk, rep, uk in cands if rep == HONEST]
    maxi = []
    for wk, rep, uk in sorted(cands, key=lambda c: (-c[2], c[1] != HONEST, c[0])):
        if uk < best - tol_abs:
            continue
        if wk <= xatol * 10:  # zero effort: report irrelevant
            wk = 0.0
        if any(abs(m.effort - wk) <= 1e-6 * W and m.report == rep for m in maxi):
            continue
        maxi.append(Maximiser(wk, rep, uk))
    if any(m.effort == 0.0 for m in maxi):
        zero_u = max(m.utility for m in maxi if m.effort == 0.0)
        maxi = [m for m in maxi if m.effort > 0.0]
        maxi += [Maximiser(0.0, HONEST, zero_u), Maximiser(0.0, DISHONEST, zero_u)]
    maxi.sort(key=lambda m: (-m.utility, m.report != HONEST, m.effort))
    top = maxi[0]
    return BestResponse(top.effort, top.report, best, maxi, len(maxi) > 1, tol_abs, own, u,
                        domain=W, certified_gap=gap, cap_binding=game.bound_of(agent).binding)

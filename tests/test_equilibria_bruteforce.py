"""Independent brute-force cross-check of the symmetric-equilibrium solver (issue 10, item 8).

The brute force below uses only the exact payment engine, ``Mechanism.payment_table`` (own signed
efforts x all ``N - 1`` peers honest at one effort) and ``Mechanism.payment_curve`` (own signed efforts
against a fixed peer list), never any part of :mod:`equilibria` except the game's search domain
``W`` (the solver's derived effort bound; the brute force checks on its own grid that no best response
lies above it).  Its algorithm is deliberately different from the solver's:

1. **One table per population.**  For each (mechanism, N, m, prior) one exact table ``P[o, q]`` at
   ``z = 1`` over a signed own grid ``o in +-G`` and a peer grid ``q in G`` is computed once and shared
   by every cost: ``U = P - c(|o|)``.  ``G`` is geometric near zero (ratio ``RATIO`` from ``G_FIRST``, so
   equilibria at efforts of a few hundredths are several cells wide), with spacing capped at ``DMAX``
   further out, and contains every game's ``W``.
2. **Best-response map.**  Per peer effort ``w in G``, the grid argmax over both branches (honest
   ``o > 0``, dishonest ``o < 0``) with a parabolic vertex: the map ``BR(w)``.
3. **Candidates.**  The honest diagonal first-order condition ``F(w) = dU/dw_i`` at ``w_i = w_peers = w``
   is scanned on ``G`` (from the table), and candidates come from (a) sign changes of ``F``, (b) sign
   changes of ``BR(w) - w`` that are not jumps of the map, (c) local minima of ``|F|`` (a pair of roots
   inside one cell, or a tangency): there the extremum of the exact ``F`` in the cell is located with
   bounded Brent, and (d) the interval ``(0, G_1]`` below the first grid node, checked with exact ``F`` at
   ``1e-5`` and ``1e-4``.  Every bracket is solved with ``brentq`` on the exact ``F`` (four-point central
   differences of ``payment_curve``; ``c'`` in closed form).  Zero effort and the top of the domain are
   candidates too.
4. **Certificate.**  A candidate ``w`` is an equilibrium iff ``(w, honest)`` is a global best response
   to peers at ``(w, honest)``: every local maximum of the own grid (both branches, neighbouring peer
   columns) that could beat ``U(w; w)`` by more than the grid can hide is refined with bounded Brent on
   exact payments at peer effort ``w``; the regret is the excess.  Dishonest equilibria are the mirrors
   (global flip symmetry, spec section 3).
5. **Stability.**  ``slope = -(sum_j d2U/dw_i dw_j) / (d2U/dw_i^2)`` (implicit function theorem on the
   first-order condition) from a 3x3 exact table of central differences (all peers move together, so
   the mixed difference is the sum over ``j``); at zero effort the slope is ``0`` when zero is a corner
   (``c'(0) > 0``, or ``c''(0) = inf``) and the same formula at ``w = 0`` for quadratic costs.

Tolerances.  Roots: ``brentq`` to ``xtol = 1e-13 W``; the four-point difference with step
``h = 1e-3 (w + 0.1)`` has truncation ``O(h^4)`` and rounding about ``1e-14 * max payment / h``, so the
first-order condition of either side is known to ``FOC_ERR = 1e-8 * max payment``; an effort is matched
when ``|w_bf - w_solver| <= max(1e-5 w, 1e-9 W, FOC_ERR / |F'(w)|)`` (``F' = dF/dw``; the last term only
matters near a double root).  Equilibrium: regret ``<= 1e-7 * max payment`` (the solver's default
tolerance); a candidate whose regret lies in ``(1e-9, 1e-5) * max payment`` is too close to call and is
excluded from the comparison (none occurs in the game list below; the test says so if one does).
Stability labels are compared unless ``| |slope| - 1 | < 1e-3`` (the label would then depend on the
finite-difference error of either side, about ``1e-6`` relative, and on the definition at the boundary).
omega-BNIC: holds iff some informed honest equilibrium has utility ``>=`` that of every other
symmetric equilibrium (mirrors excepted; none: fails); compared when the margin exceeds
``1e-7 * max payment``.  UEI: holds iff zero effort is not a best response to zero-effort peers
(compared under the same margin rule).

Validation of the brute force itself: for PPA (N = m = 3, normal and uniform priors) its equilibria and
slopes equal the roots and implicit-function slopes of the closed-form first-order condition integrated
by ``scipy.integrate.quad`` (no payment engine), and its slope at zero for quadratic costs equals the
closed form ``z T Var(D) / (16 k)``.  The whole file takes about a minute on two cores (189 games).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import pytest
from scipy.optimize import brentq, minimize_scalar

from mechanisms import APA, BSST, PPA

MECHANISMS = {"ppa": PPA, "bsst": BSST, "apa": APA}

# grid of efforts
G_FIRST = 2e-3          # first positive node
RATIO = 1.08            # geometric growth near zero
DMAX = 0.5              # spacing cap further out
REL_FAR = 0.03          # relative spacing far out (where DMAX is below 3 % of the effort)
FALLBACK_CAP = 30.0     # effort cap when the solver has no derived bound yet (old API)

# tolerances (relative to the largest realised payment)
REGRET_TOL = 1e-7
AMBIGUOUS = (1e-9, 1e-5)
FOC_ERR = 1e-8
F_NOISE = 1e-10         # |F| below this (times the largest payment) on a whole bracket: sign is noise
EFFORT_RTOL = 1e-5
SLOPE_SKIP = 1e-3
VERDICT_TOL = 1e-7


# ---------------------------------------------------------------------------------------------
# costs: the brute force's own closed forms (c = k w^p for every family used here)
# ---------------------------------------------------------------------------------------------

class PowerCost:
    """``c(w) = k w^p`` from a ``NAME:K[:P]`` spec (linear p = 1, quadratic 2, sqrt 1/2, power p)."""

    def __init__(self, spec: str):
        parts = spec.split(":")
        self.spec = spec
        self.k = float(parts[1])
        self.p = {"linear": 1.0, "quadratic": 2.0, "sqrt": 0.5}.get(parts[0])
        if self.p is None:
            assert parts[0] == "power", spec
            self.p = float(parts[2])

    def __call__(self, w):
        return self.k * np.power(np.abs(np.asarray(w, dtype=float)), self.p)

    def d1(self, w):
        if w == 0.0:
            return self.k if self.p == 1.0 else (0.0 if self.p > 1.0 else math.inf)
        return self.k * self.p * w ** (self.p - 1.0)

    def d2(self, w):
        if self.p in (1.0, 2.0):
            return self.k * self.p * (self.p - 1.0)
        if w == 0.0:
            return math.inf if self.p < 2.0 else 0.0
        return self.k * self.p * (self.p - 1.0) * w ** (self.p - 2.0)

    @property
    def corner_at_zero(self):
        """``c'(0+) > 0`` (linear, sqrt, power p < 1) or ``c''(0+) = inf`` (1 < p < 2): the local best
        response to peers near zero effort is zero (flip symmetry makes ``dP/dw_i = 0`` at zero)."""
        return self.p < 2.0


# ---------------------------------------------------------------------------------------------
# the solver's API (adapts to the derived-bound API when it lands)
# ---------------------------------------------------------------------------------------------

def make_game(mech, cost, n_agents, n_items, prior):
    """The solver's game on its own search domain: the derived effort bound (``w_max=None``) where the
    solver has one, else the old fixed cap ``FALLBACK_CAP``."""
    from equilibria import Game
    try:
        game = Game(mech, cost, n_agents=n_agents, n_items=n_items, prior=prior, w_max=None)
    except (TypeError, ValueError):
        return Game(mech, cost, n_agents=n_agents, n_items=n_items, prior=prior, w_max=FALLBACK_CAP)
    if getattr(game, "domain", None) is None:
        return Game(mech, cost, n_agents=n_agents, n_items=n_items, prior=prior, w_max=FALLBACK_CAP)
    return game


def game_domain(game) -> float:
    d = getattr(game, "domain", None)
    return float(game.w_max if d is None else d)


def eqs_domain(eqs) -> float:
    return float(getattr(eqs, "domain", None) or eqs.w_max)


# ---------------------------------------------------------------------------------------------
# brute force
# ---------------------------------------------------------------------------------------------

def effort_grid(w_top, extra=(), ratio=None, dmax=None):
    ratio = RATIO if ratio is None else ratio
    dmax = DMAX if dmax is None else dmax
    g = [0.0]
    w = G_FIRST
    while w < w_top:
        g.append(w)
        w = w * ratio if w * (ratio - 1.0) <= dmax else w + max(dmax, REL_FAR * w)
    g.extend(float(x) for x in extra if 0.0 < x <= w_top)
    g.append(float(w_top))
    g = np.unique(np.asarray(g))
    # merge nodes closer than 1e-9 relative (an extra W next to a geometric node)
    keep = np.r_[True, np.diff(g) > 1e-9 * np.maximum(g[1:], 1e-3)]
    return g[keep]


@dataclass
class BFEquilibrium:
    effort: float
    utility: float
    regret: float              # relative to the largest payment
    slope: float | None
    slope_err: float = 0.0
    dF: float | None = None    # F'(w) (derivative of the first-order condition along the diagonal)
    at_bound: bool = False
    ambiguous: bool = False

    @property
    def stable(self):
        return None if self.slope is None else abs(self.slope) < 1.0


@dataclass
class BFResult:
    spec: str
    domain: float
    equilibria: list                  # honest equilibria (mirrors implied), ambiguous ones flagged
    rejected: list = field(default_factory=list)   # stationary points that are not equilibria
    uei_gain: float = 0.0             # best-response gain over zero effort against zero-effort peers
    scale: float = 1.0
    seconds: float = 0.0
    domain_violation: str | None = None

    def certain(self):
        return [e for e in self.equilibria if not e.ambiguous]

    def omega_bnic(self):
        """(holds, margin): the best informed honest equilibrium against every other one (mirrors of the
        candidate excepted; other equilibria's mirrors have their utilities)."""
        eqs = self.certain()
        informed = [e for e in eqs if e.effort > 0]
        if not informed:
            return False, -math.inf
        best = max(informed, key=lambda e: e.utility)
        others = [e.utility for e in eqs if e is not best]
        if not others:
            return True, math.inf
        margin = best.utility - max(others)
        return margin >= 0.0, margin


class Population:
    """Exact payment table for one (mechanism, N, m, prior), shared by every cost."""

    def __init__(self, mech_name, n_agents, n_items, prior, w_top, extra=(), ratio=None, dmax=None):
        self.mech = MECHANISMS[mech_name]()
        self.name = f"{mech_name}-N{n_agents}-m{n_items}-{prior}"
        self.N, self.m, self.prior = n_agents, n_items, prior
        self.G = effort_grid(w_top, extra, ratio, dmax)
        self.n0 = self.G.size - 1                                   # own index of zero effort
        self.own = np.r_[-self.G[:0:-1], self.G]
        t = time.perf_counter()
        self.P = self.mech.payment_table(self.own, self.G, n_agents, n_items, prior)
        self.table_seconds = time.perf_counter() - t
        self.scale = float(self.mech.max_payment(n_agents, n_items))
        self.calls = 0

    # exact payments
    def curve(self, own, w):
        self.calls += 1
        return self.mech.payment_curve(np.atleast_1d(np.asarray(own, dtype=float)),
                                       np.full(self.N - 1, float(w)), self.m, self.prior)

    def dP(self, w):
        """``dP/d eps_i`` at own effort = peer effort = ``w`` (four-point central difference)."""
        h = 1e-3 * (w + 0.1)
        p = self.curve(w + h * np.array([-2.0, -1.0, 1.0, 2.0]), w)
        return (p[0] - 8.0 * p[1] + 8.0 * p[2] - p[3]) / (12.0 * h)

    def second_derivatives(self, w, cost, rel=2e-3):
        """``(U_ii, sum_j U_ij)`` at own = peers = ``w`` from a 3x3 exact table (central differences)."""
        h = rel * (w + 0.05)
        x = w + h * np.array([-1.0, 0.0, 1.0])
        T = self.mech.payment_table(x, x, self.N, self.m, self.prior)   # T[own, peer]
        u_ii = (T[2, 1] - 2.0 * T[1, 1] + T[0, 1]) / h ** 2 - cost.d2(w)
        u_ij = (T[2, 2] - T[2, 0] - T[0, 2] + T[0, 0]) / (4.0 * h * h)
        return u_ii, u_ij

    def slope(self, w, cost):
        """Slope of the symmetric best-response map at ``w`` (implicit function theorem) and its error
        (difference between steps ``rel`` and ``2 rel``)."""
        if w == 0.0 and cost.corner_at_zero:
            return 0.0, 0.0, None, -math.inf
        a1, b1 = self.second_derivatives(w, cost, 2e-3)
        a2, b2 = self.second_derivatives(w, cost, 4e-3)
        s1, s2 = -b1 / a1, -b2 / a2
        return float(s1), float(abs(s1 - s2)), float(a1 + b1), float(a1)

    # the game
    def solve(self, spec, W):
        t0 = time.perf_counter()
        cost = PowerCost(spec)
        G, n0 = self.G, self.n0
        assert np.any(np.isclose(G, W, rtol=1e-12, atol=0)), "W must be a grid node"
        nq = int(np.searchsorted(G, W * (1 + 1e-12), side="right"))   # peer columns G[:nq] cover [0, W]
        Wn = G[nq - 1]
        olo, ohi = n0 - (nq - 1), n0 + nq                                 # own rows with |o| <= W
        own = self.own[olo:ohi]
        U = self.P[olo:ohi, :nq] - cost(own)[:, None]
        Ufull = self.P[:, :nq] - cost(self.own)[:, None]
        scale = self.scale
        res = BFResult(spec, float(Wn), [], scale=scale)

        # -- the domain: no grid best response lies above W (efforts above W are dominated)
        if self.own.size > own.size:
            top_in = U.max(axis=0)
            outside = np.r_[Ufull[:olo], Ufull[ohi:]].max(axis=0)
            if not np.all(outside < top_in):
                res.domain_violation = (f"an effort above the solver's domain W={W:.6g} beats every effort in "
                                        f"[0, W] against peer efforts {G[:nq][outside >= top_in]}")

        # -- grid best-response map (signed), with a parabolic vertex
        arg = np.argmax(U, axis=0)
        br = own[arg].astype(float)
        for q in range(nq):
            k = arg[q]
            if 0 < k < own.size - 1:
                x0, x1, x2 = own[k - 1:k + 2]
                y0, y1, y2 = U[k - 1:k + 2, q]
                den = (x1 - x0) * (y1 - y2) - (x1 - x2) * (y1 - y0)
                if den != 0.0:
                    br[q] = x1 - 0.5 * ((x1 - x0) ** 2 * (y1 - y2) - (x1 - x2) ** 2 * (y1 - y0)) / den

        # -- exact first-order condition
        cache = {}

        def F(w):
            w = float(w)
            if w not in cache:
                cache[w] = self.dP(w) - cost.d1(w)
            return cache[w]

        # grid FOC from the table (non-uniform three-point derivative on the honest branch)
        Fg = np.full(nq, np.nan)
        for q in range(1, nq - 1):
            x0, x1, x2 = G[q - 1:q + 2]
            f0, f1, f2 = self.P[n0 + q - 1:n0 + q + 2, q]
            h0, h1 = x1 - x0, x2 - x1
            Fg[q] = (h0 * h0 * f2 - h1 * h1 * f0 + (h1 * h1 - h0 * h0) * f1) / (h0 * h1 * (h0 + h1)) - cost.d1(x1)

        brackets = set()
        # (a) sign changes of the grid FOC
        for q in range(1, nq - 2):
            if Fg[q] * Fg[q + 1] <= 0:
                brackets.add((q, q + 1))
        # (b) sign changes of BR(w) - w that are not jumps of the map
        d = br - G[:nq]
        cell = np.diff(G[:nq])
        for q in range(nq - 1):
            if d[q] * d[q + 1] < 0:
                jump = abs(br[q + 1] - br[q]) > 4 * cell[q] + 0.05 * (G[q + 1] + 0.1)
                if not jump:
                    brackets.add((max(q - 1, 1), min(q + 2, nq - 2)))
        roots = set()
        noisy = set()
        noise = F_NOISE * scale

        def solve_bracket(a, b):
            fa, fb = F(a), F(b)
            if fa * fb > 0:
                return
            r = a if fa == 0.0 else b if fb == 0.0 else float(brentq(F, a, b, xtol=1e-13 * Wn, rtol=1e-14))
            roots.add(r)
            if max(abs(fa), abs(fb)) < noise:
                noisy.add(r)      # the first-order condition is at its noise level on the whole bracket

        for qa, qb in sorted(brackets):
            pts = G[qa:qb + 1]
            for a, b in zip(pts[:-1], pts[1:]):
                solve_bracket(a, b)
        # (c) local minima of |F| on the grid without a sign change: the extremum of the exact F in the
        # neighbouring cells (two roots in one cell, or a tangency)
        aF = np.abs(Fg)
        for q in range(2, nq - 2):
            if not (aF[q] <= aF[q - 1] and aF[q] <= aF[q + 1]):
                continue
            if Fg[q - 1] * Fg[q] <= 0 or Fg[q] * Fg[q + 1] <= 0:
                continue           # a sign change: (a) has it
            # the parabola through the three grid values: refine only if its extremum inside the two
            # cells crosses zero or dips below a fifth of |F| at the node (else F stays clear of zero)
            x0, x1, x2 = G[q - 1:q + 2]
            f0, f1, f2 = Fg[q - 1:q + 2]
            c2 = ((f2 - f1) / (x2 - x1) - (f1 - f0) / (x1 - x0)) / (x2 - x0)
            c1 = (f1 - f0) / (x1 - x0) - c2 * (x0 + x1)
            if c2 != 0.0:
                xv = -c1 / (2.0 * c2)
                fv = f1 + c1 * (xv - x1) + c2 * (xv * xv - x1 * x1)
                if not (x0 < xv < x2 and (fv * f1 <= 0 or abs(fv) < 0.2 * abs(f1))):
                    continue
            else:
                continue
            sgn = np.sign(Fg[q])
            r = minimize_scalar(lambda x: sgn * F(x), bounds=(G[q - 1], G[q + 1]), method="bounded",
                                options={"xatol": 1e-10 * Wn})
            xm = float(r.x)
            fm = F(xm)
            if abs(fm) <= FOC_ERR * scale:
                roots.add(xm)      # tangency (double root) within the FOC's error
            elif np.sign(fm) != sgn:
                solve_bracket(G[q - 1], xm)
                solve_bracket(xm, G[q + 1])
        # (d) below the first node: F at 1e-5, 1e-4 and G_1
        tiny = [1e-5, 1e-4, G[1]]
        for a, b in zip(tiny[:-1], tiny[1:]):
            solve_bracket(a, b)
        # exact signs next to every grid sign change already done; also the last cell below W
        solve_bracket(G[nq - 2], Wn * (1 - 1e-12)) if nq >= 3 else None

        cands = sorted(roots)
        # -- certificates
        U_cols = U  # own x peer on [0, W]

        def global_best(w, q_near):
            """Max over both branches of U(.; w): refine every grid local maximum (columns q_near) that
            could exceed ``u_ref`` given what a cell can hide; returns the best value found."""
            cols = U_cols[:, q_near]
            locs = []
            for qi in range(cols.shape[1]):
                col = cols[:, qi]
                for k in range(col.size):
                    left = col[k - 1] if k > 0 else -math.inf
                    right = col[k + 1] if k < col.size - 1 else -math.inf
                    if col[k] >= left and col[k] >= right:
                        locs.append((k, col[k]))
            # what the grid can hide: change between neighbouring peer columns + curvature within a cell
            if cols.shape[1] > 1:
                hide_w = float(np.max(np.abs(np.diff(cols, axis=1))))
            else:
                hide_w = 0.0
            hide_o = 0.5 * float(np.max(np.abs(np.diff(cols, 2, axis=0)), initial=0.0))
            slack = hide_w + hide_o + 1e-9 * scale
            return locs, slack

        def regret_at(w, u_eq, q_near):
            locs, slack = global_best(w, q_near)
            best = u_eq
            done = set()
            for k, val in sorted(locs, key=lambda t: -t[1]):
                if val + slack < u_eq - 1e-12 * scale or k in done:
                    continue
                done.add(k)
                lo, hi = own[max(k - 1, 0)], own[min(k + 1, own.size - 1)]
                if lo <= w <= hi and lo >= 0:
                    continue        # the candidate's own local maximum: U(w; w) is its value
                if lo < 0 < hi:     # zero effort lies in the cell: evaluate it exactly too
                    best = max(best, float(self.curve([0.0], w)[0]))

                def negu(x):
                    return -(float(self.curve([x], w)[0]) - float(cost(x)))
                if hi <= 0 or lo >= 0:
                    r = minimize_scalar(negu, bounds=(lo, hi), method="bounded", options={"xatol": 1e-10 * Wn})
                    best = max(best, -float(r.fun), -negu(own[k]))
                else:   # a cell straddling zero: each side separately (the cost has a kink at zero)
                    for a, b in ((lo, 0.0), (0.0, hi)):
                        r = minimize_scalar(negu, bounds=(a, b), method="bounded", options={"xatol": 1e-10 * Wn})
                        best = max(best, -float(r.fun))
            return max(best - u_eq, 0.0) / scale

        def add(w, at_bound=False):
            if w > 0:
                u_eq = float(self.curve([w], w)[0] - cost(w))
                q = int(np.searchsorted(G[:nq], w))
                q_near = sorted({max(q - 1, 0), min(q, nq - 1)})
            else:
                u_eq = float(self.P[n0, 0])
                q_near = [0]
            slope, serr, dF, u_ii = self.slope(w, cost) if not at_bound else (None, 0.0, None, None)
            if w > 0 and not at_bound:
                if u_ii > 0:      # a local minimum of own utility
                    res.rejected.append((w, "second-order condition fails", u_ii))
                    return
            reg = regret_at(w, u_eq, q_near)
            e = BFEquilibrium(w, u_eq, reg, slope, serr, dF, at_bound)
            if reg <= REGRET_TOL:
                e.ambiguous = reg > AMBIGUOUS[0]
                res.equilibria.append(e)
            else:
                if reg < AMBIGUOUS[1]:
                    e.ambiguous = True
                    res.equilibria.append(e)
                else:
                    res.rejected.append((w, "not a global best response", reg))

        add(0.0)
        res.uei_gain = res.equilibria[0].regret * scale if res.equilibria and res.equilibria[0].effort == 0 else \
            next(r[2] for r in res.rejected if r[0] == 0.0) * scale
        dedup = []
        for w in cands:
            if w <= 0:
                continue
            if dedup and abs(w - dedup[-1]) <= 1e-9 * Wn:
                continue
            dedup.append(w)
        for w in dedup:
            add(w)
            if w in noisy and res.equilibria and res.equilibria[-1].effort == w:
                res.equilibria[-1].ambiguous = True
        # the top of the domain: an equilibrium only if the cap binds (utility still rising at W)
        if br[nq - 1] >= Wn - 0.5 * (G[nq - 1] - G[nq - 2]) and F(Wn * (1 - 1e-9)) > 0:
            add(Wn, at_bound=True)
        res.equilibria.sort(key=lambda e: e.effort)
        res.seconds = time.perf_counter() - t0
        return res


# ---------------------------------------------------------------------------------------------
# the game list
# ---------------------------------------------------------------------------------------------

def _n_terms(mech, N, m):
    return math.comb(m, 2) * (N - 1) * ((m - 2) * (N - 2) if mech == "bsst" else 1)


# cost scale k = kappa * (number of payment terms) * jitter: PPA and BSST payments are (number of
# terms) x (one term's expectation, which does not depend on N or m), so a fixed kappa would repeat the
# same game; the per-population jitter spreads kappa.  The kappas give informed equilibria (small) and
# none (large), and for linear and power-1.5 costs an unstable informed equilibrium near zero.
KAPPA = {"linear": (0.015, 0.05, 0.2), "quadratic": (0.015, 0.1), "sqrt": (0.02, 0.3),
         "power:1.5": (0.02, 0.2), "power:0.7": (0.02, 0.2)}
KAPPA_APA = {"linear": (0.08, 0.2), "quadratic": (0.015, 0.1), "sqrt": (0.15, 0.3),
             "power:1.5": (0.02, 0.2), "power:0.7": (0.1, 0.2)}
# APA with a normal prior is the expensive case (engine and solver): fewer games there
KAPPA_APA_NORMAL_3 = {"quadratic": (0.02,), "power:0.7": (0.12,)}
KAPPA_APA_NORMAL_5 = {"linear": (0.06,), "sqrt": (0.2,)}

# (mechanism, N, m, prior, jitter, kappas)
POPULATIONS = [
    ("ppa", 3, 3, "normal", 1.0, KAPPA), ("ppa", 3, 3, "uniform", 0.8, KAPPA),
    ("ppa", 4, 4, "normal", 1.2, KAPPA), ("ppa", 4, 4, "uniform", 0.6, KAPPA),
    ("ppa", 5, 5, "normal", 0.7, KAPPA), ("ppa", 5, 5, "uniform", 1.1, KAPPA),
    ("ppa", 3, 5, "normal", 1.4, KAPPA), ("ppa", 5, 3, "uniform", 0.9, KAPPA),
    ("bsst", 3, 3, "normal", 1.0, KAPPA), ("bsst", 3, 3, "uniform", 0.75, KAPPA),
    ("bsst", 4, 4, "normal", 0.6, KAPPA), ("bsst", 4, 4, "uniform", 1.2, KAPPA),
    ("bsst", 5, 5, "uniform", 0.5, KAPPA), ("bsst", 3, 5, "normal", 1.3, KAPPA),
    ("apa", 3, 3, "uniform", 1.0, KAPPA_APA), ("apa", 4, 4, "uniform", 0.8, KAPPA_APA),
    ("apa", 5, 5, "uniform", 1.2, KAPPA_APA),
    ("apa", 3, 3, "normal", 1.0, KAPPA_APA_NORMAL_3), ("apa", 5, 5, "normal", 0.8, KAPPA_APA_NORMAL_5),
]


def _spec(family, k):
    k = float(f"{k:.3g}")
    name, _, p = family.partition(":")
    return f"{name}:{k:g}" + (f":{p}" if p else "")


# the issue's example (PPA, linear:0.1, N = m = 3, normal: equilibria 0, ~0.067 unstable, ~3.81 stable)
EXTRA_SPECS = {("ppa", 3, 3, "normal"): ("linear:0.1",)}


def population_specs(mech, N, m, prior, jitter, kappas):
    t = _n_terms(mech, N, m)
    specs = [_spec(fam, kap * t * jitter) for fam, ks in kappas.items() for kap in ks]
    return specs + [s for s in EXTRA_SPECS.get((mech, N, m, prior), ()) if s not in specs]


GAMES = [(mech, N, m, prior, spec) for (mech, N, m, prior, jit, kap) in POPULATIONS
         for spec in population_specs(mech, N, m, prior, jit, kap)]
_POP_OF = {(p[0], p[1], p[2], p[3]): p for p in POPULATIONS}
ISSUE_EXAMPLE = ("ppa", 3, 3, "normal", "linear:0.1")

_CACHE: dict = {}


def brute_force(mech, N, m, prior, spec=None):
    """Brute-force results for every game of a population (computed once), and the solver's games."""
    key = (mech, N, m, prior)
    if key not in _CACHE:
        specs = population_specs(*_POP_OF[key]) if key in _POP_OF else []
        if spec is not None and spec not in specs:
            specs = specs + [spec]
        games = {s: make_game(MECHANISMS[mech](), s, N, m, prior) for s in specs}
        Ws = {s: game_domain(g) for s, g in games.items()}
        coarse = mech == "apa" and prior == "normal"     # fewer own efforts: each costs an outer rule pass
        pop = Population(mech, N, m, prior, 1.25 * max(Ws.values()), extra=Ws.values(),
                         ratio=1.15 if coarse else None, dmax=1.0 if coarse else None)
        _CACHE[key] = ({s: pop.solve(s, Ws[s]) for s in specs}, games, pop)
    return _CACHE[key]


# ---------------------------------------------------------------------------------------------
# comparison
# ---------------------------------------------------------------------------------------------

def effort_tol(e: BFEquilibrium, W, scale):
    t = max(EFFORT_RTOL * e.effort, 1e-9 * W)
    if e.dF:
        t = max(t, FOC_ERR * scale / abs(e.dF))
    return t


def compare(bf: BFResult, eqs, report) -> list:
    """Every disagreement between the brute force and the solver, as readable lines."""
    out = []
    scale = bf.scale
    if bf.domain_violation:
        out.append(f"domain: {bf.domain_violation}")
    out += [f"brute force cannot decide w={e.effort:.9g} (regret {e.regret:.3g}, or first-order condition at "
            f"its noise level): choose another game" for e in bf.equilibria if e.ambiguous]
    honest = [e for e in eqs if e.report == "honest"]
    dishonest = [e for e in eqs if e.report != "honest"]
    matched = set()
    for e in bf.equilibria:
        tol = effort_tol(e, bf.domain, scale)
        hits = [s for s in honest if abs(s.effort - e.effort) <= tol]
        if e.ambiguous:
            matched.update(id(s) for s in hits)
            continue
        if not hits:
            out.append(f"missed equilibrium w={e.effort:.9g} ({'stable' if e.stable else 'unstable'}, slope "
                       f"{e.slope:.4g}, utility {e.utility:.9g}{', at the cap' if e.at_bound else ''})")
            continue
        s = hits[0]
        matched.add(id(s))
        if e.slope is not None and abs(abs(e.slope) - 1.0) >= SLOPE_SKIP and s.stable != e.stable:
            out.append(f"w={e.effort:.6g}: stable={s.stable} (slope {s.slope}) but brute force {e.stable} "
                       f"(slope {e.slope:.6g})")
        if abs(s.utility - e.utility) > 1e-8 * scale:
            out.append(f"w={e.effort:.6g}: utility {s.utility!r} vs brute force {e.utility!r}")
        if bool(s.at_bound) != e.at_bound:
            out.append(f"w={e.effort:.6g}: at_bound={s.at_bound} vs brute force {e.at_bound}")
        if not s.informed == (e.effort > 0):
            out.append(f"w={e.effort:.6g}: informed={s.informed}")
        if not any(d.mirror and abs(d.effort - s.effort) <= tol for d in dishonest):
            out.append(f"w={e.effort:.6g}: no dishonest mirror listed")
    for s in honest:
        if id(s) not in matched:
            out.append(f"spurious equilibrium w={s.effort:.9g} (stable={s.stable}, slope {s.slope}, utility "
                       f"{s.utility:.9g}, regret {s.regret:.3g}); brute-force stationary points rejected: "
                       f"{[(round(w, 6), why) for w, why, _ in bf.rejected]}")
    holds, margin = bf.omega_bnic()
    got = report.omega_BNIC.holds
    if (not math.isfinite(margin) or abs(margin) > VERDICT_TOL * scale) and got != holds:
        out.append(f"omega-BNIC: solver {got}, brute force {holds} (margin {margin:.6g})")
    gain = bf.uei_gain
    uei = None if AMBIGUOUS[0] * scale < gain <= VERDICT_TOL * scale else gain > VERDICT_TOL * scale
    if uei is not None and report.UEI.holds != uei:
        out.append(f"UEI: solver {report.UEI.holds}, brute force {uei} (gain of the best response over zero "
                   f"effort against zero-effort peers {gain:.3g})")
    return out


def describe(bf: BFResult):
    return ", ".join(f"{e.effort:.6g}{'?' if e.ambiguous else ''} ({'stable' if e.stable else 'unstable'})"
                     for e in bf.equilibria) or "none"


# ---------------------------------------------------------------------------------------------
# tests
# ---------------------------------------------------------------------------------------------

def _game_id(g):
    mech, N, m, prior, spec = g
    return f"{mech}-N{N}-m{m}-{prior}-{spec}"


def test_game_list():
    assert len(GAMES) >= 150
    assert len(set(GAMES)) == len(GAMES)
    assert ISSUE_EXAMPLE in GAMES
    assert {g[0] for g in GAMES} == {"ppa", "bsst", "apa"}
    assert {g[4].split(":")[0] for g in GAMES} == {"linear", "quadratic", "sqrt", "power"}
    assert {g[3] for g in GAMES} == {"normal", "uniform"}


@pytest.mark.slow
@pytest.mark.parametrize("game", GAMES, ids=[_game_id(g) for g in GAMES])
def test_solver_matches_brute_force(game):
    from equilibria import check_properties, symmetric_equilibria
    mech, N, m, prior, spec = game
    results, games, _ = brute_force(mech, N, m, prior)
    bf, g = results[spec], games[spec]
    eqs = symmetric_equilibria(g)
    assert eqs_domain(eqs) == pytest.approx(bf.domain, rel=1e-9), "the solver searched another domain"
    problems = compare(bf, eqs, check_properties(g))
    assert not problems, (f"{_game_id(game)} on [0, {bf.domain:.6g}]: brute force {describe(bf)}; solver "
                          + ", ".join(f"{e.effort:.6g} ({'stable' if e.stable else 'unstable'})"
                                      for e in eqs if e.report == "honest")
                          + "\n  " + "\n  ".join(problems))


@pytest.mark.slow
def test_issue_example_three_honest_equilibria():
    """Issue 10: PPA, linear:0.1, N = m = 3, normal prior has three honest symmetric equilibria: 0
    (stable: zero is a corner of a linear cost), an unstable one near 0.067 and a stable one near 3.81."""
    from equilibria import check_properties, symmetric_equilibria
    mech, N, m, prior, spec = ISSUE_EXAMPLE
    results, games, _ = brute_force(mech, N, m, prior)
    bf = results[spec]
    assert [round(e.effort, 3) for e in bf.equilibria] == [0.0, 0.067, 3.809]
    assert [e.stable for e in bf.equilibria] == [True, False, True]
    assert bf.omega_bnic()[0] is True
    eqs = symmetric_equilibria(games[spec])
    problems = compare(bf, eqs, check_properties(games[spec]))
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------------------------------------
# validation of the brute force itself: PPA in closed form by adaptive quadrature
# ---------------------------------------------------------------------------------------------

def _ppa_quad(prior, T, expr):
    """``T/2 * E[expr(D)]`` for ``D = theta_a - theta_b`` by adaptive quadrature (no engine)."""
    from scipy.integrate import quad
    if prior == "normal":      # D ~ N(0, 2)
        pdf, lo, hi = (lambda d: math.exp(-d * d / 4.0) / math.sqrt(4.0 * math.pi)), -12.0, 12.0
    else:                      # triangular on [-1, 1]
        pdf, lo, hi = (lambda d: 1.0 - abs(d)), -1.0, 1.0
    val = sum(quad(lambda d: expr(d) * pdf(d), a, b, epsabs=1e-14, epsrel=1e-13, limit=200)[0]
              for a, b in ((lo, 0.0), (0.0, hi)))
    return 0.5 * T * val


def _ppa_foc(prior, T, cost, w):
    """``F(w) = dP/dw_i - c'(w)`` at own = peers = ``w``: ``P = T/2 (1 + E[t(w_i D) t(w D)])``, ``t = tanh(u/2)``."""
    def e(d):
        t = math.tanh(0.5 * w * d)
        return 0.5 * d * (1.0 - t * t) * t
    return _ppa_quad(prior, T, e) - cost.d1(w)


def _ppa_slope(prior, T, cost, w):
    def uii(d):
        t = math.tanh(0.5 * w * d)
        return -0.5 * d * d * t * (1.0 - t * t) * t

    def uij(d):
        t = math.tanh(0.5 * w * d)
        return 0.25 * d * d * (1.0 - t * t) ** 2
    return -_ppa_quad(prior, T, uij) / (_ppa_quad(prior, T, uii) - cost.d2(w))


@pytest.mark.parametrize("prior, spec", [("normal", "linear:0.1"), ("uniform", "linear:0.072"),
                                          ("normal", "power:0.12:1.5")])
def test_brute_force_against_quadrature(prior, spec):
    """The brute force's equilibria and slopes for PPA (N = m = 3) equal the roots of the closed-form
    first-order condition integrated by ``scipy.integrate.quad`` (no payment engine), to 1e-8 in effort
    and 1e-5 in slope; at zero effort a corner cost has slope 0."""
    results, _, _ = brute_force("ppa", 3, 3, prior)
    bf = results[spec]
    cost = PowerCost(spec)
    T = 6.0
    informed = [e for e in bf.equilibria if e.effort > 0]
    assert informed
    for e in informed:
        a, b = 0.98 * e.effort, 1.02 * e.effort
        root = brentq(lambda w: _ppa_foc(prior, T, cost, w), a, b, xtol=1e-14)
        assert e.effort == pytest.approx(root, rel=1e-8, abs=1e-12)
        assert e.slope == pytest.approx(_ppa_slope(prior, T, cost, root), rel=1e-5)
    # no other root of the closed-form condition on a fine grid of [G_FIRST, W]
    ws = np.geomspace(G_FIRST, bf.domain, 400)
    f = np.array([_ppa_foc(prior, T, cost, w) for w in ws])
    assert int(np.sum(np.sign(f[1:]) != np.sign(f[:-1]))) == len(informed)
    assert bf.equilibria[0].effort == 0.0 and bf.equilibria[0].slope == 0.0


def test_brute_force_zero_slope_quadratic():
    """At zero effort with c = k w^2, PPA's slope is ``-U_ij / U_ii = z T Var(D) / (16 k)`` (``U_ii = -2k``
    because PPA against zero-effort peers is flat): for N = m = 3 normal, ``6 * 2 / (16 k)``."""
    results, _, _ = brute_force("ppa", 3, 3, "normal")
    for spec, bf in results.items():
        if spec.startswith("quadratic"):
            k = PowerCost(spec).k
            zero = bf.equilibria[0]
            assert zero.effort == 0.0
            assert zero.slope == pytest.approx(12.0 / (16.0 * k), rel=1e-5)

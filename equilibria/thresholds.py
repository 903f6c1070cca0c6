"""Exogenous thresholds on ``z / k`` at which UEI and omega-BNIC start to hold, for a cost family ``k c0``.

Payments are linear in ``z`` (BSST: ``z`` and ``y`` scaled together) and costs in ``k``, so every verdict
depends on the ratio ``r = z / k`` only: ``U / k = r M_1 - c0`` with ``M_1`` the payment at ``z = 1``.
The numerical threshold is a root of the verdict's margin in ``r`` (UEI: ``brentq`` on the exact gain;
omega-BNIC: bisection on the verdict over a tabulated game).  Where the small-effort expansion is
tractable, sympy gives the local threshold in closed form, and both are reported.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from math import comb

import numpy as np
import sympy as sp
from scipy.optimize import minimize_scalar

from agents import Quadratic
from agents._validation import check_choice
from mechanisms import APA

from .game import BRACKET_REFINE, Game, SymmetricGrid

PROPERTIES = ("UEI", "omega_BNIC")


@dataclass
class Threshold:
    """``z_over_k``: smallest ratio at which the property holds (``inf``: never on ``[r_min, r_max]``)."""

    property: str
    z_over_k: float
    method: str
    sympy_z_over_k: float | None = None
    sympy_expression: str | None = None
    notes: list = field(default_factory=list)

    def to_dict(self):
        return {"property": self.property, "z_over_k": None if math.isinf(self.z_over_k) else self.z_over_k,
                "never": math.isinf(self.z_over_k), "method": self.method,
                "sympy_z_over_k": self.sympy_z_over_k, "sympy_expression": self.sympy_expression,
                "notes": self.notes}


def _unit_game(game: Game, base_cost):
    mech = game.mechanism.scaled(1.0 / game.mechanism.z)   # z = 1
    return Game(mech, base_cost, game.n_agents, game.n_items, game.prior, game.w_max)


def uei_threshold(game: Game, *, n_grid: int = 401) -> Threshold:
    """Smallest ``z/k`` such that some ``w > 0`` beats zero effort against zero-effort peers.

    ``r* = inf_{w > 0} c0(w) / (M_1(w) - M_1(0))`` over ``(0, w_max]`` (peers uninformed, so honest and
    dishonest give the same payment); minimised on a grid and refined with bounded Brent on exact values.
    """
    base = game.cost_of(0).base()
    g = _unit_game(game, base)
    zero_peers = np.zeros(game.n_agents - 1)
    w = np.linspace(0.0, game.w_max, n_grid)[1:]
    m0 = g.mechanism.payment_curve([0.0], zero_peers, g.n_items, g.prior)[0]
    dm = g.mechanism.payment_curve(w, zero_peers, g.n_items, g.prior, refine=BRACKET_REFINE) - m0
    notes = []
    sym = small_effort_uei(game)
    if not np.any(dm > 1e-12 * g.payoff_scale):
        notes.append("the payment against zero-effort peers does not depend on own effort: UEI never holds")
        return Threshold("UEI", math.inf, "exact payment curve", *sym, notes=notes)
    ratio = np.where(dm > 0, base(w) / np.where(dm > 0, dm, 1.0), np.inf)
    k = int(np.argmin(ratio))

    def f(x):
        d = g.mechanism.payment_curve([x], zero_peers, g.n_items, g.prior)[0] - m0
        return base(x) / d if d > 0 else np.inf
    lo, hi = w[max(k - 1, 0)], w[min(k + 1, w.size - 1)]
    res = minimize_scalar(f, bounds=(lo, hi), method="bounded", options={"xatol": 1e-10 * game.w_max})
    r = float(min(res.fun, ratio[k]))
    if k == w.size - 1:
        notes.append(f"the minimising effort is at w_max={game.w_max:g}: the threshold depends on the cap")
    notes.append(f"at the threshold the deviating effort is w = {float(res.x if res.fun < ratio[k] else w[k]):.6g}")
    return Threshold("UEI", r, "brentq/bounded minimisation of c0(w) / (M1(w) - M1(0))", *sym, notes=notes)


def small_effort_uei(game: Game):
    """Sympy small-effort expansion for UEI (APA, 3cycle): ``(z_over_k, expression)`` or ``(None, None)``.

    Against uninformed peers, ``M_1(w) = C(m,2)(N-1)/2 * P_coh(w)`` and ``P_coh`` is even in ``w`` (global
    flip symmetry): ``P_coh(w) = (3/4)^(m-2) + a w^2 + O(w^4)`` with ``a`` a rational multiple of the prior's
    variance, derived here from ``sigmoid(u) = 1/2 + u/4 + O(u^3)``.  Zero effort stops being a local
    maximum iff ``r C(m,2)(N-1)/2 a w^2 > c0(w)`` for small ``w``: for ``c0 = w^2`` this gives
    ``z/k > 2 / (C(m,2) (N-1) a)``; for linear and concave costs ``c0`` dominates and zero effort is always a
    strict local optimum (the local threshold is infinite; the global one comes from root-finding).
    """
    mech = game.mechanism
    if not isinstance(mech, APA) or (mech.coherence != "3cycle" and game.n_items > 3):
        return None, None
    a = apa_curvature(game.n_items) * _variance(game)
    if a is None or not math.isfinite(a):
        return None, None
    base = game.cost_of(0).base()
    C = comb(game.n_items, 2) * (game.n_agents - 1)
    if isinstance(base, Quadratic):
        r = 2.0 / (C * a)
        return float(r), f"z/k > 2 / (C(m,2) (N-1) a), a = {sp.nsimplify(apa_curvature(game.n_items))} Var(theta)"
    return math.inf, "zero effort is a strict local optimum for this cost (c0 dominates a w^2 near 0)"


def _variance(game):
    prior = game.prior
    if hasattr(prior, "scale"):
        return prior.scale ** 2
    if hasattr(prior, "high"):
        return (prior.high - prior.low) ** 2 / 12.0
    return float(prior.dist.var())


def apa_curvature(n_items: int):
    """Rational ``a_m`` with ``P_coh(w) = (3/4)^(m-2) + a_m Var(theta) w^2 + O(w^4)`` (3cycle rule)."""
    eps, ta, tb, tc, mu, s2 = sp.symbols("epsilon theta_a theta_b theta_c mu sigma2")
    sig = lambda u: sp.Rational(1, 2) + u / 4  # noqa: E731  (higher terms do not reach eps^2 here)
    total = 0
    for r in (1, -1):
        # E_c of one triangle's "no cycle" factor, to second order, with E[theta_c] = mu, E[theta_c^2] = s2 + mu^2
        fac = sp.expand(1 - sig(r * eps * (tb - tc)) * sig(r * eps * (tc - ta)))
        fac = fac.subs(tc**2, s2 + mu**2).subs(tc, mu)
        term = sp.expand(sig(r * eps * (ta - tb)) * fac ** (n_items - 2))
        total += sp.series(term, eps, 0, 3).removeO()
    total = sp.expand(total)
    coeff = sp.expand(total.coeff(eps, 2))
    # expectation over theta_a, theta_b i.i.d.: replace monomials by moments
    coeff = sp.expand(coeff.subs({ta**2: s2 + mu**2, tb**2: s2 + mu**2}))
    coeff = sp.expand(coeff.subs({ta: mu, tb: mu}))
    return sp.nsimplify(sp.simplify(coeff / s2))


def _bnic_holds_on_grid(P, own, peer, c0, r):
    """Grid-level omega-BNIC verdict for ``U = r P - c0``: an informed honest fixed point of the best
    response map whose utility beats the uninformed equilibrium (if that is one)."""
    U = r * P - c0[:, None]
    br = own[np.argmax(U, axis=0)]
    h = peer[1] - peer[0]
    n0 = own.size // 2
    stride = (own.size // 2) // (peer.size - 1)
    gap = br - peer
    fixed = [q for q in range(1, peer.size - 1) if br[q] > 0 and br[q + 1] > 0 and gap[q] * gap[q + 1] <= 0]
    if br[-1] > 0 and gap[-1] >= 0:
        fixed.append(peer.size - 1)
    if not fixed:
        return False
    u_inf = max(U[n0 + q * stride, q] for q in fixed)
    zero_is_eq = abs(br[0]) <= h * 0.5
    return (not zero_is_eq) or u_inf >= U[n0, 0]


def omega_bnic_threshold(game: Game, *, r_min: float = 1e-3, r_max: float = 1e3, rtol: float = 2e-3,
                         grid: SymmetricGrid | None = None) -> Threshold:
    """Smallest ``z/k`` in ``[r_min, r_max]`` at which omega-BNIC holds (bisection on the verdict).

    The verdict is first bisected on the bracketing table (resolution of the effort grid), then with
    certified equilibria (:func:`check_omega_bnic`) to relative resolution ``rtol``: the returned ratio is
    one at which the certified verdict holds, with a failing ratio within ``rtol`` below it.
    """
    base = game.cost_of(0).base()
    g = _unit_game(game, base)
    grid = grid if grid is not None else SymmetricGrid(g)
    c0 = base(np.abs(grid.own))
    rs = np.geomspace(r_min, r_max, 25)
    ok = [_bnic_holds_on_grid(grid.P, grid.own, grid.peer, c0, r) for r in rs]
    notes = ["bisection on the grid-level verdict, then bisection with certified equilibria"]
    if not any(ok):
        return Threshold("omega_BNIC", math.inf, "bisection on the verdict", notes=notes +
                         [f"omega-BNIC does not hold for any z/k in [{r_min:g}, {r_max:g}]"])
    k = ok.index(True)
    if k == 0:
        return Threshold("omega_BNIC", r_min, "bisection on the verdict",
                         notes=notes + [f"already holds at the smallest ratio scanned ({r_min:g})"])
    lo, hi = rs[k - 1], rs[k]
    while hi / lo > 1 + rtol:
        mid = math.sqrt(lo * hi)
        if _bnic_holds_on_grid(grid.P, grid.own, grid.peer, c0, mid):
            hi = mid
        else:
            lo = mid
    if not all(ok[k:]):
        notes.append("the verdict is not monotone in z/k on the scan: the first crossing is reported")
    from .properties import check_omega_bnic

    def certified(r):
        return check_omega_bnic(g.with_cost(base.with_k(1.0 / r)), grid=grid).holds is True
    grid_r = float(hi)
    lo_c, r = float(lo), grid_r
    for _ in range(40):   # step up past grid-resolution effects until certified equilibria confirm
        if certified(r):
            break
        lo_c, r = r, r * 1.02
    else:
        notes.append("certified equilibria did not confirm the grid threshold within a factor 2.2")
        return Threshold("omega_BNIC", grid_r, "bisection on the verdict (grid only)", notes=notes)
    hi = r
    while hi / lo_c > 1 + rtol:   # then bisect with certified verdicts
        mid = math.sqrt(lo_c * hi)
        if certified(mid):
            hi = mid
        else:
            lo_c = mid
    notes.append(f"grid-level crossing at z/k = {grid_r:.6g}; certified threshold {hi:.6g} "
                 f"(relative resolution {rtol:g})")
    return Threshold("omega_BNIC", float(hi), "bisection on the verdict", notes=notes)


def threshold(game: Game, prop: str, **kw) -> Threshold:
    """Threshold on ``z/k`` for ``prop`` in ``{'UEI', 'omega_BNIC'}`` for the game's cost family."""
    prop = check_choice("property", prop, PROPERTIES)
    return uei_threshold(game, **kw) if prop == "UEI" else omega_bnic_threshold(game, **kw)



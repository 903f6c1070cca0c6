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

import numpy as np
from scipy.optimize import minimize_scalar

from agents import Quadratic
from agents._validation import check_choice

from .game import BRACKET_REFINE, Game

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


def _local(game):
    """Closed-form local thresholds (:mod:`equilibria.local`), or ``{}`` when unavailable."""
    try:
        from .local import local_thresholds
        return local_thresholds(game.mechanism, game.n_agents, game.n_items, game.prior)
    except Exception:     # noqa: BLE001 - no closed form for this rule
        return {}


def _local_for_cost(loc, base):
    """``(uei, bnic)`` local thresholds for the cost shape ``base`` (per unit k), ``None`` if unknown.

    Quadratic ``c0 = w^2``: ``2 z / a`` and ``2 z / gamma0``; powers ``p < 2`` (and linear, sqrt, log, exp:
    ``c0'(0) > 0`` or ``c0''(0) = inf``): zero effort is never left locally (``inf``); powers ``p > 2``:
    always left (``0``)."""
    from agents.costs import Power
    if not loc:
        return None, None
    if isinstance(base, Quadratic) or (isinstance(base, Power) and base.p == 2.0):
        return loc.get("uei_z_over_k"), loc.get("bnic_bifurcation_z_over_k")
    if isinstance(base, Power) and base.p > 2.0:
        return 0.0, 0.0
    return math.inf, math.inf


def uei_threshold(game: Game, *, n_grid: int = 401, xtol: float = 1e-10) -> Threshold:
    """Smallest ``z/k`` such that some ``w > 0`` beats zero effort against zero-effort peers.

    ``r* = inf_{w > 0} c0(w) / (M_1(w) - M_1(0))`` (peers uninformed, so honest and dishonest give the same
    payment).  The infimum is searched on ``(0, w_hi]``, where ``w_hi`` is where ``c0`` exceeds the best ratio
    found times the largest possible payment gain (beyond it every ratio is larger): a geometric and a
    uniform grid, refined with bounded Brent on exact values.  As ``w -> 0`` the ratio tends to the local
    value (small-effort expansion, closed form from :mod:`equilibria.local`), which is the threshold when
    the infimum sits at zero.  Rules that are flat against zero-effort peers (PPA, BSST, DG13, CA) never
    satisfy UEI, by symmetry.
    """
    from .bounds import flat_against_uninformed
    base = game.cost_of(0).base()
    g = _unit_game(game, base)
    loc = _local(g)
    uei_loc, _ = _local_for_cost(loc, base)
    notes = []
    expr = (loc.get("expressions") or {}).get("uei_z_over_k") if loc else None
    if flat_against_uninformed(g.mechanism):
        notes.append("the payment against zero-effort peers does not depend on own effort (fair-coin peer "
                      "reports): UEI never holds, by symmetry")
        return Threshold("UEI", math.inf, "symmetry (flat payment)", uei_loc, expr, notes=notes)
    zero_peers = np.zeros(game.n_agents - 1)
    m0 = g.mechanism.payment_curve([0.0], zero_peers, g.n_items, g.prior)[0]
    gain = g.bound.gain

    def ratio_of(ws, refine=1):
        d = g.mechanism.payment_curve(ws, zero_peers, g.n_items, g.prior, refine=refine) - m0
        with np.errstate(all="ignore"):
            return np.where(d > 0, base(ws) / np.where(d > 0, d, 1.0), np.inf)
    w_hi = 1.0
    for _ in range(3):     # widen until the cost alone rules out everything beyond w_hi
        w = np.unique(np.concatenate([np.geomspace(1e-4 * w_hi, w_hi, n_grid // 2),
                                      np.linspace(0.0, w_hi, n_grid // 2)[1:]]))
        ratio = ratio_of(w, BRACKET_REFINE)
        best = float(np.min(ratio))
        if not math.isfinite(best):
            break
        need = _cost_inverse(base, best * gain)
        if need <= w_hi:
            break
        w_hi = min(need, 64 * w_hi)
    if not np.any(np.isfinite(ratio)):
        notes.append("no positive effort raises the payment against zero-effort peers: UEI never holds")
        return Threshold("UEI", math.inf, "exact payment curve", uei_loc, expr, notes=notes)
    k = int(np.argmin(ratio))

    def f(x):
        return float(ratio_of(np.array([x]))[0])
    lo, hi = w[max(k - 1, 0)], w[min(k + 1, w.size - 1)]
    res = minimize_scalar(f, bounds=(lo, hi), method="bounded", options={"xatol": xtol * w_hi})
    r_num = float(min(res.fun, f(float(w[k]))))
    w_at = float(res.x if res.fun <= f(float(w[k])) else w[k])
    r = r_num
    method = "bounded minimisation of c0(w) / (M1(w) - M1(0)) on exact payments"
    if uei_loc is not None and uei_loc <= r_num * (1 + 1e-9):
        r, method = float(uei_loc), "exact local condition (small-effort expansion, closed form)"
        notes.append(f"the infimum is the limit w -> 0 (numerical minimum {r_num:.8g} at w = {w_at:.3g})")
    else:
        notes.append(f"at the threshold the deviating effort is w = {w_at:.6g}")
    if game.bound.binding and w_at > game.domain:
        notes.append(f"the minimising effort {w_at:.6g} is above the cap w_max={game.domain:g}")
    return Threshold("UEI", r, method, uei_loc, expr, notes=notes)


def _cost_inverse(c0, target):
    hi = 1.0
    while float(c0(hi)) < target:
        hi *= 2.0
        if hi > 1e9:
            return math.inf
    from scipy.optimize import brentq
    return float(brentq(lambda x: float(c0(x)) - target, 0.0, hi)) if target > 0 else 0.0


def apa_curvature(n_items: int):
    """Rational ``a_m`` with ``P_coh(w) = (3/4)^(m-2) + a_m Var(theta) w^2 + O(w^4)`` (3cycle rule).

    The sympy derivation of :mod:`equilibria.local` (disk-cached), returned as a sympy rational."""
    from .local import derivation
    import sympy as sp   # here, not at import: sympy costs ~0.5 s to import

    return sp.Rational(derivation("pair3", int(n_items))[0]["coefficients"]["G_own"])


def omega_bnic_threshold(game: Game, *, r_min: float = 1e-3, r_max: float = 1e3, rtol: float = 1e-4,
                         grid=None, n_scan: int = 13) -> Threshold:
    """Smallest ``z/k`` in ``[r_min, r_max]`` at which omega-BNIC holds.

    Where the threshold is the local bifurcation at zero effort (quadratic costs: an informed branch leaves
    ``w = 0`` at ``z/k = 2 z / gamma0``, e.g. PPA ``8 / (T_P Var theta)``, BSST ``16 / (T_B Var theta)``), the
    closed form of :mod:`equilibria.local` is the threshold once certified verdicts confirm it: omega-BNIC
    fails just below and holds just above (``1 -+ 10 rtol``).  Otherwise the certified verdict
    (:func:`check_omega_bnic`, complete equilibrium enumeration) is scanned on a geometric grid and
    bisected to relative resolution ``rtol``: the returned ratio is one at which the verdict holds, with a
    failing ratio within ``rtol`` below it.
    """
    from .game import warn_grid_arguments
    from .properties import check_omega_bnic
    warn_grid_arguments(grid=grid)
    base = game.cost_of(0).base()
    g = _unit_game(game, base)
    loc = _local(g)
    _, r_b = _local_for_cost(loc, base)
    expr = (loc.get("expressions") or {}).get("bnic_bifurcation_z_over_k") if loc else None
    cache = {}

    def verdict(r):
        if r not in cache:
            cache[r] = check_omega_bnic(g.with_cost(base.with_k(1.0 / r))).holds
        return cache[r]
    notes = []
    if r_b is not None and 0 < r_b < math.inf and r_min <= r_b <= r_max:
        up, down = verdict(r_b * (1 + 10 * rtol)), verdict(r_b * (1 - 10 * rtol))
        notes.append(f"certified verdicts: holds={up} at z/k = {r_b * (1 + 10 * rtol):.8g}, holds={down} at "
                     f"{r_b * (1 - 10 * rtol):.8g}")
        if up is True and down is False:
            below = [verdict(r_b * f) for f in (0.5, 0.8)]
            if not any(b is True for b in below):
                return Threshold("omega_BNIC", float(r_b), "exact local condition (bifurcation at zero effort), "
                                 "confirmed by certified verdicts", float(r_b), expr, notes=notes + [
                                     "also fails at 0.5x and 0.8x the local value"])
            notes.append("the verdict also holds further below the local value: bisection on certified verdicts")
    notes.append(f"scan of ratios in [{r_min:g}, {r_max:g}] (geometric, {n_scan} points, upwards until the "
                 "verdict holds) with certified verdicts")
    # large ratios are costly (cheap effort means a wide effort domain): the scan goes upwards and stops
    return scan_and_bisect("omega_BNIC", verdict, r_min, r_max, n_scan, rtol, notes, r_b, expr)


def scan_and_bisect(prop, verdict, r_min, r_max, n_scan, rtol, notes, sympy_z_over_k=None, expr=None,
                    label="certified verdicts") -> Threshold:
    """The smallest ratio in ``[r_min, r_max]`` at which ``verdict(r)`` is True: a geometric scan upwards that
    stops at the first ratio where it holds, then bisection to relative ``rtol`` between the last failing and
    the first holding ratio (an undetermined verdict stops the bisection and says so)."""
    rs = np.geomspace(r_min, r_max, n_scan)
    ok = []
    for r in rs:
        ok.append(verdict(float(r)))
        if ok[-1] is True:
            break
    if not any(v is True for v in ok):
        return Threshold(prop, math.inf, label, sympy_z_over_k, expr, notes=notes +
                         [f"{prop} does not hold for any scanned z/k in [{r_min:g}, {r_max:g}]"])
    k = [v is True for v in ok].index(True)
    if k == 0:
        return Threshold(prop, r_min, label, sympy_z_over_k, expr,
                         notes=notes + [f"already holds at the smallest ratio scanned ({r_min:g})"])
    lo, hi = float(rs[k - 1]), float(rs[k])
    while hi / lo > 1 + rtol:
        mid = math.sqrt(lo * hi)
        v = verdict(mid)
        if v is True:
            hi = mid
        elif v is False:
            lo = mid
        else:
            notes.append(f"undetermined verdict at z/k = {mid:.8g}: the threshold is bracketed by "
                         f"[{lo:.8g}, {hi:.8g}]")
            break
    if any(v is True for v in ok[:k]):
        notes.append("the verdict is not monotone in z/k on the scan: the first crossing is reported")
    notes.append(f"bisection on certified verdicts: fails at {lo:.8g}, holds at {hi:.8g}")
    return Threshold(prop, float(hi), f"bisection on {label}", sympy_z_over_k, expr, notes=notes)


def threshold(game: Game, prop: str, **kw) -> Threshold:
    """Threshold on ``z/k`` for ``prop`` in ``{'UEI', 'omega_BNIC'}`` for the game's cost family."""
    prop = check_choice("property", prop, PROPERTIES)
    return uei_threshold(game, **kw) if prop == "UEI" else omega_bnic_threshold(game, **kw)



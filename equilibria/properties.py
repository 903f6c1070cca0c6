"""Incentive properties of the paper (Defs. 5.1-5.3) as structured verdicts with evidence.

Each check returns a :class:`Verdict` with ``holds`` in ``{True, False, None}`` (``None``: undetermined
within tolerance), a signed ``margin`` (positive when the property holds), the tolerance, and the
evidence behind the verdict.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from agents import HONEST, Strategy
from agents._validation import check_int, check_real

from .best_response import best_response
from .game import Game, SymmetricGrid
from .symmetric import symmetric_equilibria


@dataclass
class Verdict:
    """A property verdict: ``holds`` is True, False or None (undetermined within ``tolerance``)."""

    name: str
    holds: bool | None
    margin: float
    tolerance: float
    evidence: dict = field(default_factory=dict)

    def to_dict(self):
        return {"holds": self.holds, "margin": self.margin, "tolerance": self.tolerance,
                "evidence": self.evidence}


def _decide(margin, tol):
    if margin > tol:
        return True
    if margin < -tol:
        return False
    return None


def check_uei(game: Game, *, tol: float = 1e-9) -> Verdict:
    """Uninformed equilibrium incompatibility (Def. 5.1).

    Against all-zero-effort peers, UEI holds iff no best response has zero effort.  The margin is the
    utility gain of the best response over zero effort (absolute), compared with ``tol * payoff_scale``.
    """
    tol = check_real("tol", tol, low=0.0, low_open=True)
    zero = Strategy(0.0, HONEST)
    br = best_response(game, zero, tol=tol)
    u0 = game.utility(zero, zero)
    gain = br.utility - u0
    tol_abs = tol * game.payoff_scale
    evidence_extra = {}
    if getattr(game.mechanism, "approximate", False):
        # Monte Carlo expectations (a custom rule): a gain within 4 standard errors is undetermined
        se = math.hypot(game.mechanism.expectation_stderr(np.r_[br.signed_effort, np.zeros(game.n_agents - 1)],
                                                          game.n_items, game.prior),
                        game.mechanism.expectation_stderr(np.zeros(game.n_agents), game.n_items, game.prior))
        tol_abs = max(tol_abs, 4.0 * se)
        evidence_extra["monte_carlo_stderr_of_gain"] = se
    # zero effort is among the maximisers iff the gain is within tol_abs (best_response's tie rule)
    holds = True if gain > tol_abs else (None if gain > 0 else False)
    margin = float(gain)
    return Verdict("UEI", holds, margin, tol_abs, {
        **evidence_extra,
        "best_response": br.to_dict(), "utility_at_zero_effort": u0, "utility_gain": gain,
        "definition": "argmax_{(w,f)} E[U_i | all peers (0, f)] excludes (0, h) and (0, not-h)"})


def check_omega_bnic(game: Game, *, tol: float = 1e-7, equilibria=None, grid=None) -> Verdict:
    """Symmetric omega-BNIC (Def. 5.2).

    Holds iff some ``w > 0`` makes ``(w, h)`` for all a symmetric equilibrium whose utility is no less
    than that of every other symmetric equilibrium.  Dishonest mirrors have equal utility (global flip
    symmetry) and are reported as ties, not violations.
    """
    tol = check_real("tol", tol, low=0.0, low_open=True)
    eqs = equilibria if equilibria is not None else symmetric_equilibria(game, tol=tol, grid=grid)
    tol_abs = tol * game.payoff_scale
    honest_informed = [e for e in eqs if e.informed and e.report == HONEST]
    evidence = {"equilibria": [e.to_dict() for e in eqs], "notes": list(eqs.notes), "tie_tolerance": tol_abs}
    if not honest_informed:
        return Verdict("omega_BNIC", False, -1.0, tol_abs,
                       {**evidence, "reason": "no informed honest symmetric equilibrium on [0, w_max]"})
    cand = max(honest_informed, key=lambda e: e.utility)
    others = [e for e in eqs if not (e is cand or (e.mirror and e.effort == cand.effort))]
    best_other = max((e.utility for e in others), default=-np.inf)
    margin = cand.utility - best_other if np.isfinite(best_other) else float(game.payoff_scale)
    ties = [e.to_dict() for e in eqs if e.mirror and e.effort == cand.effort]
    evidence.update(candidate=cand.to_dict(), mirror_ties=ties,
                    best_other_utility=None if not np.isfinite(best_other) else best_other)
    holds = _decide(margin, tol_abs)
    if cand.at_bound:
        evidence["warning"] = "the candidate sits at w_max; the verdict is for efforts capped at w_max"
    return Verdict("omega_BNIC", holds, float(margin), tol_abs, evidence)


def check_ec(game: Game, *, base_effort: float | None = None, deviation: float | None = None,
             n_points: int = 21, tol: float = 1e-9, equilibria=None) -> Verdict:
    """Effort competitiveness (Def. 5.3), literal reading, with the complementarity reading alongside.

    Setting (Def. 5.3): the peers play ``(w_p, h)`` (``w_p`` = ``base_effort``; default the omega-BNIC
    candidate, else ``w_max / 2``) and agent ``i`` plays its best response ``(w, h)`` to them (``w = w_p`` at
    a symmetric equilibrium).  One honest peer raises effort to ``w_p' = w_p + deviation``.  Literal
    reading: the gain ``G(w_i) = U_i(w_i | sigma') - U_i(w | sigma')`` must be non-negative and
    non-decreasing on ``[w, w + (w_p' - w_p)]``.  If ``i``'s best response is dishonest the premise of the
    definition fails and the verdict is undetermined (``None``).  Complementarity reading (weaker, named
    ``complementarity``): ``i``'s best response does not fall when the peer's effort rises.
    """
    tol = check_real("tol", tol, low=0.0, low_open=True)
    n_points = check_int("n_points", n_points, low=3)
    source = "base_effort"
    if base_effort is None:
        eqs = equilibria if equilibria is not None else symmetric_equilibria(game)
        inf = [e for e in eqs if e.informed and e.report == HONEST and not e.at_bound]
        if inf:
            base_effort, source = max(inf, key=lambda e: e.utility).effort, "omega-BNIC candidate equilibrium"
        else:
            base_effort, source = 0.5 * game.w_max, "w_max / 2 (no interior honest symmetric equilibrium)"
    w_p = check_real("base_effort", base_effort, low=0.0, high=game.w_max)
    if deviation is None:
        deviation = 0.1 * game.w_max
    dev = check_real("deviation", deviation, low=0.0, low_open=True)
    w_p2 = min(w_p + dev, game.w_max)
    if w_p2 <= w_p:
        raise ValueError(f"deviation must leave room below w_max={game.w_max} (base_effort={w_p})")
    before = np.full(game.n_agents - 1, w_p)
    after = before.copy()
    after[0] = w_p2
    br0 = best_response(game, [Strategy(x) for x in before])
    br1 = best_response(game, [Strategy(x) for x in after])
    comp_margin = br1.signed_effort - br0.signed_effort
    comp = True if comp_margin >= -1e-6 * game.w_max else False
    complementarity = {"holds": comp, "best_response_before": br0.to_dict(), "best_response_after": br1.to_dict(),
                       "change": comp_margin,
                       "reading": "strategic complementarity: i's best response does not fall when a peer's "
                                  "effort rises"}
    tol_abs = tol * game.payoff_scale
    common = {"reading": "literal (Def. 5.3): gain non-negative and non-decreasing on [w, w + (w_p' - w_p)], "
                         "w = i's best response to the peers", "peer_effort": w_p, "peer_effort_source": source,
              "raised_peer_effort": w_p2, "complementarity": complementarity}
    if br0.report != HONEST and br0.effort > 0:
        return Verdict("EC", None, float("nan"), tol_abs, {
            **common, "reason": "i's best response to the peers is dishonest: Def. 5.3 presupposes (w, h)"})
    w = br0.effort
    if w + (w_p2 - w_p) > game.w_max * (1 + 1e-9):
        return Verdict("EC", None, float("nan"), tol_abs, {
            **common, "base_effort": w,
            "reason": f"i's best response {w:.6g} leaves no room for the interval [w, w + {w_p2 - w_p:.3g}] "
                      f"below the effort cap w_max={game.w_max:g} (raise w_max)"})
    grid = np.linspace(w, w + (w_p2 - w_p), n_points)
    u = game.utility_curve(grid, after)
    gain = u - u[0]
    margin = float(min(gain.min(), np.diff(gain).min()))
    literal = False if margin < -tol_abs else True
    fail_at = [float(x) for x, g, d in zip(grid[1:], gain[1:], np.diff(gain)) if g < -tol_abs or d < -tol_abs]
    return Verdict("EC", literal, margin, tol_abs, {
        **common, "base_effort": w, "gain_efforts": grid.tolist(), "gain": gain.tolist(), "fails_at": fail_at})


@dataclass
class PropertyReport:
    UEI: Verdict
    omega_BNIC: Verdict
    EC: Verdict

    def to_dict(self):
        return {"UEI": self.UEI.to_dict(), "omega_BNIC": self.omega_BNIC.to_dict(), "EC": self.EC.to_dict()}


def check_properties(game: Game, *, tol: float = 1e-7, grid: SymmetricGrid | None = None) -> PropertyReport:
    """All three properties with shared work (one equilibrium computation)."""
    tol = check_real("tol", tol, low=0.0, low_open=True)
    eqs = symmetric_equilibria(game, tol=tol, grid=grid)
    return PropertyReport(check_uei(game, tol=min(tol, 1e-9)), check_omega_bnic(game, tol=tol, equilibria=eqs),
                          check_ec(game, equilibria=eqs, tol=min(tol, 1e-9)))

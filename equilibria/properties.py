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
from .game import Game, warn_grid_arguments
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


#: Relative accuracy of one exact expected payment (validated at ~1e-11 against adaptive quadrature,
#: refined rules and Monte Carlo in tests/test_exact.py); differences of two utilities are decided only
#: beyond twice this, times the payoff scale.
ENGINE_RTOL = 1e-10


def engine_error(game) -> float:
    return 2.0 * ENGINE_RTOL * game.payoff_scale


def _decide(margin, err):
    """``True`` / ``False`` when the margin is beyond its error bound, else ``None``."""
    if margin > err:
        return True
    if margin < -err:
        return False
    return None


def _no_bound_verdict(name, game, agent=0):
    b = game.bound_of(agent)
    return Verdict(name, None, float("nan"), float("nan"), {"reason": b.reason, "bound": b.to_dict()})


def check_uei(game: Game, *, tol: float = 1e-9, agent: int = 0) -> Verdict:
    """Uninformed equilibrium incompatibility (Def. 5.1), decided without rounding noise.

    Against all-zero-effort peers, UEI holds iff no best response has zero effort.  The margin is
    ``max_{w > 0} U(w) - U(0)`` (absolute).  Decisions:

    * rules that pay only through events involving a peer's report (PPA, BSST, DG13, CA) are *exactly*
      flat against zero-effort peers (their reports are fair coins), so zero effort is the unique best
      response for any increasing cost: UEI fails, by symmetry, with margin 0;
    * UEI holds when a positive effort beats zero effort by more than the error bound (engine accuracy
      ``2 ENGINE_RTOL * payoff_scale``, plus the best response's certified gap);
    * UEI fails when zero effort is a strict local maximum (small-effort expansion: ``c'(0) > 0``, or
      ``c''(0)`` beyond the payment's curvature ``P_ii(0; 0)``) and every positive effort is beaten by more
      than the error bound;
    * anything else (a margin within the error bound) is undetermined (``None``) with the reason.
    Honest and dishonest reports tie exactly at zero effort and against zero-effort peers.  ``tol`` is the
    tie tolerance passed to the best response (relative to the payoff scale).
    """
    tol = check_real("tol", tol, low=0.0, low_open=True)
    if not math.isfinite(game.bound_of(agent).effort):
        return _no_bound_verdict("UEI", game, agent)
    zero = Strategy(0.0, HONEST)
    definition = "argmax_{(w,f)} E[U_i | all peers (0, f)] excludes (0, h) and (0, not-h)"
    from .bounds import flat_against_uninformed
    if flat_against_uninformed(game.mechanism):
        u0 = game.utility(zero, zero, agent)
        zero_br = {"effort": 0.0, "report": HONEST, "utility": u0, "tied": True, "certified_gap": 0.0,
                   "maximisers": [{"effort": 0.0, "report": r, "utility": u0} for r in (HONEST, "dishonest")]}
        return Verdict("UEI", False, 0.0, 0.0, {
            "decided_by": "symmetry", "definition": definition, "best_response": zero_br,
            "reason": "the payment against zero-effort peers does not depend on own effort (every paid event "
                      "involves a fair-coin peer report): zero effort is the unique best response",
            "utility_at_zero_effort": u0})
    br = best_response(game, zero, tol=tol, agent=agent)
    u0 = game.utility(zero, zero, agent)
    err = engine_error(game) + (br.certified_gap or 0.0)
    evidence_extra = {}
    if getattr(game.mechanism, "approximate", False):
        # Monte Carlo expectations (a custom rule): a gain within 4 standard errors is undetermined
        se = math.hypot(game.mechanism.expectation_stderr(np.r_[br.signed_effort, np.zeros(game.n_agents - 1)],
                                                          game.n_items, game.prior),
                        game.mechanism.expectation_stderr(np.zeros(game.n_agents), game.n_items, game.prior))
        err = max(err, 4.0 * se)
        evidence_extra["monte_carlo_stderr_of_gain"] = se
    # margin: the best positive-effort *local maximum* against zero effort.  Near zero U(w) -> U(0), so the
    # supremum over w > 0 is no evidence of a competitor; local maxima are.
    wg, ug = br.grid_efforts, br.grid_utility
    n0 = int(np.argmin(np.abs(wg)))
    uh = ug[n0:]                                   # honest branch from zero (even in w here)
    peaks = [k for k in range(1, uh.size) if uh[k] >= uh[k - 1] and (k == uh.size - 1 or uh[k] >= uh[k + 1])]
    refined = [m.utility for m in br.maximisers if m.effort > 0]
    bracket_err = 2e-6 * game.payoff_scale          # the bracketing grid's rule (refine=0.5)
    decided_by = "error bound"
    if refined:
        margin = float(max(refined) - u0)
    elif peaks:
        margin = float(max(uh[k] for k in peaks) - u0)
        err = err + bracket_err
    else:
        # utility falls from zero along the whole grid: zero effort is the best response if it is a strict
        # local maximum (small-effort expansion) and the certified gap is below the error bound
        margin = float(uh[1] - u0) if uh.size > 1 else 0.0
        local = _zero_local(game, agent)
        evidence_extra["zero_effort_local"] = local
        if local.get("strict_local_max") and (br.certified_gap or 0.0) <= err:
            decided_by = "small-effort expansion (zero is a strict local maximum) and the certified best response"
            return Verdict("UEI", False, margin, err, {
                **evidence_extra, "decided_by": decided_by, "reason": None, "best_response": br.to_dict(),
                "utility_at_zero_effort": u0, "utility_gain": margin, "definition": definition})
    holds = _decide(margin, err)
    reason = None
    if holds is None:
        reason = (f"the gain of the best positive effort over zero effort ({margin:.3g}) is within the error bound "
                  f"{err:.3g}")
    return Verdict("UEI", holds, margin, err, {
        **evidence_extra, "decided_by": decided_by, "reason": reason,
        "best_response": br.to_dict(), "utility_at_zero_effort": u0, "utility_gain": margin,
        "definition": definition})


def _zero_local(game, agent=0):
    """Is zero effort a strict local maximum of own utility against zero-effort peers?"""
    from .bounds import cost_d2
    cost = game.cost_of(agent)
    with np.errstate(all="ignore"):
        c1 = float(cost.derivative(0.0))
    if math.isnan(c1) or c1 > 0:
        return {"strict_local_max": True, "why": "c'(0) > 0 = dP/dw(0)"}
    d2 = cost_d2(cost, np.array([0.0]))
    if d2 is None:
        return {}
    from .symmetric import zero_expansion
    loc = zero_expansion(game)
    gap = float(d2[0]) - loc["own_curvature"]
    return {"strict_local_max": gap > loc["own_curvature_error"], "why": f"c''(0) - P_ii(0) = {gap:.6g}"}


def check_omega_bnic(game: Game, *, tol: float = 1e-7, equilibria=None, grid=None) -> Verdict:
    """Symmetric omega-BNIC (Def. 5.2).

    Holds iff some ``w > 0`` makes ``(w, h)`` for all a symmetric equilibrium whose utility is no less
    than that of every other symmetric equilibrium.  Dishonest mirrors have equal utility (global flip
    symmetry, an exact tie) and are not counted against it.  The equilibria come from the complete,
    certified enumeration of :func:`symmetric_equilibria`; the margin (candidate utility minus the best
    other equilibrium's) is decided against the engine's error bound.  If the enumeration could not clear
    every cell, the verdict is undetermined (``None``) with the open cells as the reason.
    """
    tol = check_real("tol", tol, low=0.0, low_open=True)
    warn_grid_arguments(grid=grid)
    if not math.isfinite(game.bound.effort):
        return _no_bound_verdict("omega_BNIC", game)
    eqs = equilibria if equilibria is not None else symmetric_equilibria(game, tol=tol)
    err = engine_error(game)
    W = eqs.domain
    honest_informed = [e for e in eqs if e.informed and e.report == HONEST]
    evidence = {"equilibria": [e.to_dict() for e in eqs], "notes": list(eqs.notes), "error_bound": err,
                "domain": W, "complete": eqs.complete, "bound": eqs.bound}
    if not eqs.complete:
        evidence["reason"] = (f"the equilibrium search left {len(eqs.unresolved)} cells uncleared "
                              f"({eqs.unresolved[:3]}...): an equilibrium there could change the verdict")
    if not honest_informed:
        holds = False if eqs.complete else None
        evidence.setdefault("reason", f"no informed honest symmetric equilibrium in [0, {W:.6g}] (the search "
                                      "is certified complete)")
        return Verdict("omega_BNIC", holds, -float(game.payoff_scale), err, evidence)
    cand = max(honest_informed, key=lambda e: e.utility)
    others = [e for e in eqs if not (e is cand or (e.mirror and e.effort == cand.effort))]
    best_other = max((e.utility for e in others), default=-np.inf)
    margin = cand.utility - best_other if np.isfinite(best_other) else float(game.payoff_scale)
    ties = [e.to_dict() for e in eqs if e.mirror and e.effort == cand.effort]
    evidence.update(candidate=cand.to_dict(), mirror_ties=ties,
                    best_other_utility=None if not np.isfinite(best_other) else best_other)
    holds = _decide(margin, err) if eqs.complete else None
    if holds is None and eqs.complete:
        evidence["reason"] = f"the candidate's margin {margin:.3g} is within the error bound {err:.3g}"
    if cand.at_bound or game.bound.binding:
        evidence["warning"] = (f"efforts are capped at w_max={W:g} below the derived bound "
                               f"{game.bound.derived:.6g}: the verdict is for the capped game")
    return Verdict("omega_BNIC", holds, float(margin), err, evidence)


def check_ec(game: Game, *, base_effort: float | None = None, deviation: float | None = None,
             n_points: int = 21, tol: float = 1e-9, equilibria=None, peer_efforts=None, agent: int = 0) -> Verdict:
    """Effort competitiveness (Def. 5.3), literal reading, with the complementarity reading alongside.

    Setting (Def. 5.3): the peers play ``(w_p, h)`` (``w_p`` = ``base_effort``; default the omega-BNIC
    candidate, else half the search domain; heterogeneous populations pass ``peer_efforts``, one per peer)
    and agent ``i`` plays its best response ``(w, h)`` to them (``w = w_p`` at a symmetric equilibrium).  One
    honest peer raises effort by ``deviation`` (default 10 % of its effort, at least 1 % of the domain).
    Literal reading: the gain ``G(w_i) = U_i(w_i | sigma') - U_i(w | sigma')`` must be non-negative and
    non-decreasing on ``[w, w + deviation]``; the margin (smallest gain or gain step) is decided against
    the engine's error bound.  Efforts above the derived bound are dominated but still well defined, so
    the interval may extend past it; only a user cap ``w_max`` can cut it (then ``None``).  If ``i``'s
    best response is dishonest the premise of the definition fails and the verdict is ``None``.
    Complementarity reading (weaker): ``i``'s best response does not fall when the peer's effort rises
    (by more than ``1e-6`` of the domain, the best responses' resolution).
    """
    tol = check_real("tol", tol, low=0.0, low_open=True)
    n_points = check_int("n_points", n_points, low=3)
    if not math.isfinite(game.bound_of(agent).effort):
        return _no_bound_verdict("EC", game, agent)
    W = game.domain
    source = "base_effort"
    if peer_efforts is not None:
        before = np.array([check_real("peer_efforts", x, low=0.0) for x in peer_efforts], dtype=float)
        if before.size != game.n_agents - 1:
            raise ValueError(f"peer_efforts must have n_agents - 1 = {game.n_agents - 1} entries, got {before.size}")
        w_p, source = float(before[0]), "peer_efforts"
    else:
        if base_effort is None:
            eqs = equilibria if equilibria is not None else symmetric_equilibria(game)
            inf = [e for e in eqs if e.informed and e.report == HONEST and not e.at_bound]
            if inf:
                base_effort, source = max(inf, key=lambda e: e.utility).effort, "omega-BNIC candidate equilibrium"
            else:
                base_effort, source = 0.5 * W, "half the search domain (no interior honest symmetric equilibrium)"
        w_p = check_real("base_effort", base_effort, low=0.0, high=W)
        before = np.full(game.n_agents - 1, w_p)
    if deviation is None:
        # 10 % of the peer's effort, at least 1 % of the domain (and 0.01 when the domain is {0})
        deviation = max(0.1 * w_p, 0.01 * W) or 0.01
    dev = check_real("deviation", deviation, low=0.0, low_open=True)
    w_p2 = w_p + dev
    capped = game.bound.binding
    if capped and w_p2 > W:
        raise ValueError(f"deviation must leave room below the cap w_max={W} (base_effort={w_p})")
    after = before.copy()
    after[0] = w_p2
    br0 = best_response(game, [Strategy(x) for x in before], agent=agent)
    br1 = best_response(game, [Strategy(x) for x in after], agent=agent)
    comp_margin = br1.signed_effort - br0.signed_effort
    comp = True if comp_margin >= -1e-6 * W else False
    complementarity = {"holds": comp, "best_response_before": br0.to_dict(), "best_response_after": br1.to_dict(),
                       "change": comp_margin,
                       "reading": "strategic complementarity: i's best response does not fall when a peer's "
                                  "effort rises"}
    err = engine_error(game)
    common = {"reading": "literal (Def. 5.3): gain non-negative and non-decreasing on [w, w + (w_p' - w_p)], "
                         "w = i's best response to the peers", "peer_effort": w_p, "peer_effort_source": source,
              "raised_peer_effort": w_p2, "complementarity": complementarity, "error_bound": err}
    if br0.report != HONEST and br0.effort > 0:
        return Verdict("EC", None, float("nan"), err, {
            **common, "reason": "i's best response to the peers is dishonest: Def. 5.3 presupposes (w, h)"})
    w = br0.effort
    if capped and w + dev > W * (1 + 1e-9):
        return Verdict("EC", None, float("nan"), err, {
            **common, "base_effort": w,
            "reason": f"i's best response {w:.6g} leaves no room for the interval [w, w + {dev:.3g}] "
                      f"below the user's effort cap w_max={W:g} (remove or raise the cap)"})
    grid = np.linspace(w, w + dev, n_points)
    u = game.utility_curve(grid, after, agent)
    gain = u - u[0]
    margin = float(min(gain.min(), np.diff(gain).min()))
    literal = _decide(margin, err)
    if literal is None and margin >= -err:
        # the gain curve is flat to the error bound at its start (G(w) = 0 by definition): the smallest
        # step decides only when it is below -err
        literal = True if np.all(np.diff(gain) >= -err) and np.all(gain >= -err) else None
    fail_at = [float(x) for x, g, d in zip(grid[1:], gain[1:], np.diff(gain)) if g < -err or d < -err]
    return Verdict("EC", literal, margin, err, {
        **common, "base_effort": w, "gain_efforts": grid.tolist(), "gain": gain.tolist(), "fails_at": fail_at})


@dataclass
class PropertyReport:
    UEI: Verdict
    omega_BNIC: Verdict
    EC: Verdict
    scope: str = "symmetric"

    def to_dict(self):
        return {"UEI": self.UEI.to_dict(), "omega_BNIC": self.omega_BNIC.to_dict(), "EC": self.EC.to_dict(),
                "scope": self.scope}


def check_properties(game: Game, *, tol: float = 1e-7, grid=None,
                     seed=0, n_starts: int = 6) -> PropertyReport:
    """All three properties with shared work (one equilibrium computation).

    Homogeneous costs: the paper's symmetric definitions, over the certified complete set of symmetric
    equilibria.  Heterogeneous costs (one cost per agent): symmetric profiles are generally not equilibria,
    so the verdicts are read over the population's equilibria as found by
    :func:`equilibria.asymmetric_equilibria` (``scope='heterogeneous'``):

    * UEI holds iff it holds for every agent (no agent's best response to zero-effort peers is zero effort);
    * omega-BNIC holds iff some equilibrium in which every agent is honest and informed gives *every* agent
      at least its utility in every other equilibrium found (mirrors excepted); that search is a
      multi-start best-response dynamics, not certified complete, and the evidence says so;
    * EC is agent 0's, with the peers at that equilibrium's efforts.
    """
    tol = check_real("tol", tol, low=0.0, low_open=True)
    warn_grid_arguments(grid=grid)
    if not game.heterogeneous:
        if not math.isfinite(game.bound.effort):
            return PropertyReport(*(_no_bound_verdict(n, game) for n in ("UEI", "omega_BNIC", "EC")))
        eqs = symmetric_equilibria(game, tol=tol)
        return PropertyReport(check_uei(game, tol=min(tol, 1e-9)), check_omega_bnic(game, tol=tol, equilibria=eqs),
                              check_ec(game, equilibria=eqs, tol=min(tol, 1e-9)))
    from .asymmetric import asymmetric_equilibria, heterogeneous_omega_bnic, heterogeneous_uei
    uei = heterogeneous_uei(game, tol=min(tol, 1e-9))
    found = asymmetric_equilibria(game, tol=tol, seed=seed, n_starts=n_starts)
    bnic, cand = heterogeneous_omega_bnic(game, found)
    if cand is not None:
        ec = check_ec(game, peer_efforts=[s.effort for s in cand.strategies[1:]], tol=min(tol, 1e-9))
    else:
        ec = Verdict("EC", None, float("nan"), engine_error(game),
                     {"reason": "no equilibrium in which every agent is honest and informed was found"})
    return PropertyReport(uei, bnic, ec, scope="heterogeneous")

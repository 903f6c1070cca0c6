"""Equilibria of heterogeneous populations (one cost per agent): best-response dynamics from many starts.

With different costs, symmetric profiles are generally not equilibria, and agents with equal costs may
still play differently.  :func:`asymmetric_equilibria` runs Gauss-Seidel best-response dynamics
(agent ``x`` replaces its strategy by its global best response to the others, in turn) from several
starting profiles: all zero effort, every agent at its own symmetric-game equilibrium effort (when its
cost is shared by everyone), scaled versions of that, and seeded random profiles.  Every limit is
certified by :func:`equilibria.check_equilibrium` (one regret per agent) and duplicates are merged.
The search can find several equilibria but, unlike the symmetric enumeration, is not certified
complete: results say so.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from agents import DISHONEST, HONEST, Strategy
from agents._validation import check_int, check_real

from .best_response import best_response
from .game import Game
from .symmetric import _Listing, check_equilibrium


@dataclass
class ProfileEquilibrium:
    """One (possibly asymmetric) equilibrium profile with its per-agent certificate."""

    strategies: list
    utilities: list
    regrets: list
    start: str

    @property
    def honest_informed(self) -> bool:
        return all(s.effort > 0 and s.report == HONEST for s in self.strategies)

    @property
    def uninformed(self) -> bool:
        return all(s.effort == 0 for s in self.strategies)

    def to_dict(self):
        return {"efforts": [s.effort for s in self.strategies], "reports": [s.report for s in self.strategies],
                "utilities": self.utilities, "regrets": self.regrets, "start": self.start,
                "honest_informed": self.honest_informed}


@dataclass
class ProfileSet(_Listing):
    equilibria: list
    tolerance: float
    starts: int
    complete: bool = False
    notes: list = field(default_factory=list)

    def to_dict(self):
        return {"equilibria": [e.to_dict() for e in self.equilibria], "tolerance": self.tolerance,
                "starts": self.starts, "complete": self.complete, "notes": self.notes}


def _dynamics(game, efforts, reports, max_rounds, xtol):
    s = [Strategy(float(e), r) for e, r in zip(efforts, reports)]
    for _ in range(max_rounds):
        moved = 0.0
        for x in range(game.n_agents):
            br = best_response(game, s[:x] + s[x + 1:], agent=x, certify=False)
            new = Strategy(br.effort, br.report)
            moved = max(moved, abs(new.signed_effort - s[x].signed_effort))
            s[x] = new
        if moved <= xtol:
            return s, True
    return s, False


def asymmetric_equilibria(game: Game, *, tol: float = 1e-7, seed=0, n_starts: int = 6,
                          max_rounds: int = 60) -> ProfileSet:
    """Equilibrium profiles of a (heterogeneous) population found by best-response dynamics.

    Parameters
    ----------
    game : Game
        Any costs (one per agent allowed).
    tol : float
        Regret tolerance (relative to the payoff scale) for the per-agent certificate.
    seed : int or SeedSequence
        Seed of the random starting profiles.
    n_starts : int
        Random starts in addition to the deterministic ones.
    max_rounds : int
        Rounds of Gauss-Seidel dynamics per start.

    Returns
    -------
    ProfileSet
        Certified equilibria (every agent's regret ``<= tol``), not certified complete.

    Examples
    --------
    >>> from mechanisms import PPA
    >>> g = Game(PPA(), ["quadratic:0.1", "quadratic:0.15", "quadratic:0.2"], n_agents=3, n_items=3)
    >>> found = asymmetric_equilibria(g, n_starts=1)
    >>> any(e.honest_informed for e in found)
    True
    """
    tol = check_real("tol", tol, low=0.0, low_open=True)
    n_starts = check_int("n_starts", n_starts, low=0)
    max_rounds = check_int("max_rounds", max_rounds, low=1)
    doms = [game.require_domain(x) for x in range(game.n_agents)]
    rng = np.random.default_rng(np.random.SeedSequence(seed) if not isinstance(seed, np.random.SeedSequence)
                                else seed)
    starts = [("zero", np.zeros(game.n_agents))]
    for frac in (0.25, 0.5, 0.75):
        starts.append((f"{frac:g} of each agent's bound", np.array([frac * d for d in doms])))
    for k in range(n_starts):
        starts.append((f"random #{k}", rng.uniform(0.0, 1.0, game.n_agents) * np.array(doms)))
    xtol = 1e-7 * max(doms)
    found, notes = [], []
    for label, eff in starts:
        prof, conv = _dynamics(game, eff, [HONEST] * game.n_agents, max_rounds, xtol)
        if not conv:
            notes.append(f"start {label}: best-response dynamics did not converge in {max_rounds} rounds")
            continue
        chk = check_equilibrium(game, prof, tol=tol)
        if not chk.holds:
            continue
        key = [p.signed_effort for p in prof]
        if any(np.allclose(key, [p.signed_effort for p in e.strategies], atol=1e-5 * max(doms)) for e in found):
            continue
        utils = [game.utility(prof[x], prof[:x] + prof[x + 1:], x) for x in range(game.n_agents)]
        found.append(ProfileEquilibrium(prof, utils, chk.regrets, label))
    # mirrors: the global flip of an equilibrium is an equilibrium with equal utilities
    mirrors = []
    for e in found:
        if e.uninformed:
            continue
        flip = [Strategy(s.effort, DISHONEST if s.report == HONEST else HONEST) for s in e.strategies]
        if not any(np.allclose([p.signed_effort for p in flip], [p.signed_effort for p in f.strategies])
                   for f in found):
            mirrors.append(ProfileEquilibrium(flip, list(e.utilities), list(e.regrets), f"mirror of {e.start}"))
    found += mirrors
    notes.append(f"best-response dynamics from {len(starts)} starting profiles; every listed profile is "
                 "certified (each agent's regret <= tol); the search is not certified complete")
    return ProfileSet(found, tol, len(starts), False, notes)


def heterogeneous_uei(game: Game, *, tol: float = 1e-9):
    """UEI for a population: holds iff it holds for every agent (per-agent verdicts in the evidence)."""
    from .properties import Verdict, check_uei
    per = [check_uei(game, tol=tol, agent=x) for x in range(game.n_agents)]
    vals = [v.holds for v in per]
    holds = False if False in vals else (None if None in vals else True)
    margin = min(v.margin for v in per)
    return Verdict("UEI", holds, float(margin), max(v.tolerance for v in per),
                   {"per_agent": [v.to_dict() for v in per], "reading": "UEI holds for every agent"})


def heterogeneous_omega_bnic(game: Game, found: ProfileSet):
    """omega-BNIC over the equilibria found: an honest informed equilibrium that gives every agent at least
    its utility in every other one (mirrors excepted).  Returns ``(Verdict, candidate or None)``."""
    from .properties import Verdict, engine_error
    err = engine_error(game)
    ev = {"equilibria": [e.to_dict() for e in found], "notes": list(found.notes), "certified_complete": False,
          "reading": "some all-honest informed equilibrium is weakly best for every agent among the equilibria "
                     "found (heterogeneous costs: symmetric profiles are generally not equilibria)"}
    cands = [e for e in found if e.honest_informed]
    if not cands:
        ev["reason"] = "no equilibrium with every agent honest and informed was found"
        return Verdict("omega_BNIC", False, -float(game.payoff_scale), err, ev), None
    best, best_margin = None, -math.inf
    for c in cands:
        others = [e for e in found if e is not c and not _is_mirror(e, c)]
        margin = min((min(cu - ou for cu, ou in zip(c.utilities, o.utilities)) for o in others),
                     default=float(game.payoff_scale))
        if margin > best_margin:
            best, best_margin = c, margin
    ev["candidate"] = best.to_dict()
    holds = True if best_margin > err else (False if best_margin < -err else None)
    return Verdict("omega_BNIC", holds, float(best_margin), err, ev), best


def _is_mirror(e, c):
    return all(abs(a.effort - b.effort) <= 1e-9 * (1 + a.effort) and a.report != b.report
               for a, b in zip(e.strategies, c.strategies))

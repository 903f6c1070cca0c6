"""Property atlas: the verdicts of UEI, omega-BNIC, EC and collusion-proofness over a grid of games and z/k.

A *game* is a mechanism (at ``z = 1``), a cost family ``k c0`` (``linear``, ``quadratic``, ``sqrt``,
``power:P``, ``exp``, ``log``), ``N`` agents, ``m`` items and a prior.  A *cell* is one game at one ratio
``r = z/k``.  Payments are linear in ``z`` and costs in ``k``, so every verdict depends on ``r`` only
(:mod:`equilibria.thresholds`): a cell is the game ``Game(mechanism at z=1, c0 with k = 1/r)``, and every
margin is in units of ``z`` (the payment scale).

Each cell is decided exactly as the single-game checks decide it (:func:`equilibria.check_properties`,
or :func:`equilibria.check_properties_extended` with ``strategy_space='extended'``): certified complete
equilibrium enumeration, margins compared with stated error bounds, ``holds=None`` with the reason when
undetermined.  ``collusion_proof`` in the paper's space reads spec section 4 with the paper's
uninformative strategies (zero effort, either report): every zero-effort symmetric equilibrium pays
strictly less than the best informed honest equilibrium.

Shared work.  The cells of one game run in one task, in one process: the first-order-condition
stencils of the equilibrium search are cached at ``z = 1`` per population (:mod:`equilibria.symmetric`),
so the 40 ratios of a game share one payment table, and UEI's threshold is computed once per game.

Boundaries.  Between neighbouring grid ratios whose verdicts differ (both decided), the ratio where the
verdict changes is located to relative ``rtol``: UEI by the exact gain's root (:func:`uei_threshold`;
``exact`` when the sympy small-effort closed form agrees), omega-BNIC at the closed-form bifurcation at
zero effort when certified verdicts on both sides confirm it (quadratic costs; ``exact``; collusion-proofness
too), otherwise where the informed branch is born (fold) or first beats zero effort, if certified verdicts
within ``rtol`` flank that guess, else by bisection on certified verdicts (``numerical``).  A verdict that changes twice between two neighbouring
grid ratios is not seen: refine the grid to look closer.

Files (``out``): ``parts/*.jsonl`` (one per game, appended cell by cell: a killed run resumes without
recomputing a finished cell), then ``atlas.json``, ``atlas.csv``, ``boundaries.csv`` and the phase
diagrams ``phase_N{N}_m{m}_{prior}.png`` / ``.svg``.  Every number is a deterministic function of its
cell, so the final files are byte-identical serially, on a process pool, on Dask and after a resume.
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from agents._validation import check_choice, check_int, check_real

PROPERTIES = ("UEI", "omega_BNIC", "EC", "collusion_proof")
STRATEGY_SPACES = ("paper", "extended")
FAMILIES = ("linear", "quadratic", "sqrt", "power:P", "exp", "log")
MECHANISM_NAMES = ("ppa", "bsst", "apa", "dg13", "ca")
_EXPONENT = {"sqrt": 0.5, "linear": 1.0, "quadratic": 2.0}
PART_FORMAT = 1
MAX_CELLS = 200_000
MAX_AGENTS, MAX_ITEMS = 50, 20


# -- inputs -----------------------------------------------------------------------------------------

def parse_family(text):
    """``(label, c0, exponent)`` for a cost family name: ``linear``, ``quadratic``, ``sqrt``, ``power:P``
    (``P > 0``), ``exp`` or ``log``; ``exponent`` is the power of ``w`` (``None`` for exp and log).

    >>> parse_family("power:1.5")[0], parse_family("sqrt")[2]
    ('power:1.5', 0.5)
    """
    from agents import parse_cost

    name = str(text).strip().lower()
    if name.startswith("power:"):
        try:
            p = float(name.split(":", 1)[1])
        except ValueError:
            p = math.nan
        if not (math.isfinite(p) and p > 0):
            raise ValueError(f"costs: power:P needs an exponent P > 0, got {text!r}")
        return f"power:{p:g}", parse_cost(f"power:1:{p!r}"), p
    if name in ("linear", "quadratic", "sqrt", "exp", "log"):
        return name, parse_cost(f"{name}:1"), _EXPONENT.get(name)
    raise ValueError(f"costs must be cost families from {{{', '.join(FAMILIES)}}} (the scale k is the z/k axis), "
                     f"got {text!r}")


def parse_z_over_k(spec) -> np.ndarray:
    """The ratios ``z/k``: ``'LO:HI:N'`` (``N`` geometric values from ``LO`` to ``HI``), a comma-separated list,
    or a sequence of numbers; positive and finite, returned sorted without repeats.

    >>> parse_z_over_k("0.1:10:3").tolist()
    [0.1, 1.0, 10.0]
    """
    if isinstance(spec, str) and ":" in spec:
        parts = spec.split(":")
        try:
            if len(parts) != 3:
                raise ValueError
            lo, hi, n = float(parts[0]), float(parts[1]), int(parts[2])
            if not (0 < lo <= hi <= 1e12 and 1 <= n <= 10_000) or (n == 1 and lo != hi):
                raise ValueError
        except (ValueError, IndexError):
            raise ValueError(f"z_over_k must be LO:HI:N with 0 < LO <= HI <= 1e12 and 1 <= N <= 10000 (N = 1 only if "
                             f"LO = HI; e.g. "
                             f"0.05:20:40), or a list of positive numbers, got {spec!r}") from None
        vals = np.geomspace(lo, hi, n) if n > 1 else np.array([lo])
    else:
        items = spec.split(",") if isinstance(spec, str) else np.atleast_1d(spec).tolist()
        try:
            vals = np.array([float(v) for v in items], dtype=float)
        except (TypeError, ValueError):
            raise ValueError(f"z_over_k must be positive numbers, got {spec!r}") from None
    if vals.size == 0 or not np.all(np.isfinite(vals)) or np.any(vals <= 0) or np.any(vals > 1e12):
        raise ValueError(f"z_over_k must be positive finite numbers <= 1e12, got {spec!r}")
    return np.unique(vals)


def _as_list(name, value):
    if isinstance(value, (str, int, np.integer)):
        value = [value]
    try:
        out = list(value)
    except TypeError:
        raise ValueError(f"{name} must be a list, got {value!r}") from None
    if not out:
        raise ValueError(f"{name} must not be empty")
    return out


@dataclass(frozen=True)
class GameSpec:
    """One game of the atlas (the keys every cell and boundary carries)."""

    mechanism: str
    cost: str
    n_agents: int
    n_items: int
    prior: str

    def keys(self) -> dict:
        return {"mechanism": self.mechanism, "cost": self.cost, "n_agents": self.n_agents,
                "n_items": self.n_items, "prior": self.prior}

    @property
    def file_name(self) -> str:
        raw = f"{self.mechanism}_{self.cost}_N{self.n_agents}_m{self.n_items}_{self.prior}"
        return re.sub(r"[^A-Za-z0-9_.-]", "-", raw) + ".jsonl"

    def game(self, r: float):
        from mechanisms import make_mechanism

        from .game import Game
        _, c0, _ = parse_family(self.cost)
        return Game(make_mechanism(self.mechanism), c0.with_k(1.0 / r), self.n_agents, self.n_items, self.prior)


# -- one cell ---------------------------------------------------------------------------------------

def _finite(x):
    return float(x) if x is not None and isinstance(x, (int, float, np.floating)) and math.isfinite(x) else None


def _verdict(v) -> dict:
    out = {"holds": v.holds, "margin": _finite(v.margin)}
    if v.holds is None:
        out["reason"] = str(v.evidence.get("reason") or "within the error bound")
    return out


def paper_collusion_proof(game, equilibria):
    """Collusion-proofness with the paper's strategies (spec section 4 restricted to ``(w, f)``): every
    zero-effort symmetric equilibrium pays strictly less than the best informed honest equilibrium.

    Margin: the best informed honest utility minus the best zero-effort equilibrium utility.  An
    incomplete search can only hide informed equilibria (zero effort is checked directly), so a failing
    verdict with uncleared cells is undetermined.
    """
    from agents import HONEST

    from .properties import Verdict, _decide, engine_error
    err = engine_error(game)
    zero = [e for e in equilibria if not e.informed]
    honest = [e for e in equilibria if e.informed and e.report == HONEST]
    ev = {"space": "paper", "zero_effort_equilibria": [e.to_dict() for e in zero],
          "complete": equilibria.complete}
    if not zero:
        return Verdict("collusion_proof", True, float(game.payoff_scale), err,
                       {**ev, "reason": "zero effort is not an equilibrium"})
    top = max(e.utility for e in zero)
    if not honest:
        holds = False if equilibria.complete else None
        return Verdict("collusion_proof", holds, -float(game.payoff_scale), err, {
            **ev, "reason": "no informed honest symmetric equilibrium" + ("" if equilibria.complete else
                                                                         " found (the search is incomplete)")})
    best = max(e.utility for e in honest)
    margin = best - top
    holds = _decide(margin, err)
    if holds is False and not equilibria.complete:
        holds = None
        ev["reason"] = "uncleared cells could hide a better informed honest equilibrium"
    return Verdict("collusion_proof", holds, float(margin), err, {**ev, "best_informed_honest": best})


def compute_cell(spec: GameSpec, r: float, properties=PROPERTIES, strategy_space="paper", tol=1e-7) -> dict:
    """One cell: the game ``spec`` at ``z/k = r`` with the requested properties as ``{"holds", "margin"}``
    (plus ``"reason"`` when undetermined), the best informed honest equilibrium effort ``w_star`` and
    whether the equilibrium search was certified complete."""
    from .game import NoEffortBound
    g = spec.game(r)
    rec = {**spec.keys(), "z_over_k": float(r)}
    if not math.isfinite(g.bound.effort):
        reason = g.bound.reason
        for p in properties:
            rec[p] = {"holds": None, "margin": None, "reason": reason}
        rec.update(w_star=None, complete=False)
        return rec
    try:
        if strategy_space == "paper":
            from .properties import check_ec, check_omega_bnic, check_uei
            from .symmetric import symmetric_equilibria
            eqs = symmetric_equilibria(g, tol=tol)
            checks = {"UEI": lambda: check_uei(g, tol=min(tol, 1e-9)),
                      "omega_BNIC": lambda: check_omega_bnic(g, tol=tol, equilibria=eqs),
                      "EC": lambda: check_ec(g, equilibria=eqs, tol=min(tol, 1e-9)),
                      "collusion_proof": lambda: paper_collusion_proof(g, eqs)}
            for p in properties:
                rec[p] = _verdict(checks[p]())
            honest = [e for e in eqs if e.informed and e.report == "honest"]
            rec["w_star"] = max(honest, key=lambda e: e.utility).effort if honest else None
            rec["complete"] = bool(eqs.complete)
        else:
            from .extended import check_properties_extended
            rep = check_properties_extended(g, tol=tol)
            for p in properties:
                rec[p] = _verdict(getattr(rep, p))
            cand = rep.omega_BNIC.evidence.get("candidate")
            rec["w_star"] = cand["effort"] if cand else None
            rec["complete"] = bool(rep.equilibria.complete) if rep.equilibria is not None else False
    except NoEffortBound as exc:
        for p in properties:
            rec[p] = {"holds": None, "margin": None, "reason": str(exc)}
        rec.update(w_star=None, complete=False)
    return rec


# -- part files (incremental, resumable) ------------------------------------------------------------

def _header(spec, settings):
    return {"atlas_part": PART_FORMAT, "game": spec.keys(), "settings": settings}


def _read_part(path, header):
    """Cells already computed for this game (``{r: cell}``) and the stored boundaries (or ``None``).

    A truncated last line (a killed run) is cut off; a part file of another format, game or setting is
    recomputed with a warning."""
    cells, done = {}, None
    if not os.path.exists(path):
        return cells, done
    good = 0
    try:
        with open(path, "rb") as f:
            raw = f.read()
        lines = raw.split(b"\n")
        first = json.loads(lines[0])
        if first != header:
            raise ValueError("written for another game or other settings")
        good = len(lines[0]) + 1
        for line in lines[1:]:
            if not line.strip():
                break
            try:
                rec = json.loads(line)
            except ValueError:
                break               # the line a killed run was writing
            if "cell" in rec:
                cells[float(rec["cell"]["z_over_k"])] = rec["cell"]
            elif "boundaries" in rec:
                done = rec
            else:
                raise ValueError("unknown record")
            good += len(line) + 1
    except (ValueError, OSError, KeyError, TypeError, IndexError) as exc:
        warnings.warn(f"{path}: not a usable atlas part file ({exc}); it is recomputed", RuntimeWarning,
                      stacklevel=3)
        os.remove(path)
        return {}, None
    if good < len(raw):
        with open(path, "r+b") as f:
            f.truncate(good)
    return cells, done


class _Part:
    """Appends records to a game's part file, one JSON line each, flushed to disk at once."""

    def __init__(self, path, header):
        self.path = path
        self.fh = None
        if path is not None:
            fresh = not os.path.exists(path)
            self.fh = open(path, "a", encoding="utf-8")
            if fresh:
                self.write(header)

    def write(self, rec):
        if self.fh is not None:
            self.fh.write(json.dumps(rec, sort_keys=True) + "\n")
            self.fh.flush()
            os.fsync(self.fh.fileno())

    def close(self):
        if self.fh is not None:
            self.fh.close()


# -- one game: its cells and boundaries --------------------------------------------------------------

def _game_task(spec, rs, properties, space, tol, rtol, part_path):
    """All cells of one game (grid ratios ``rs``) and its boundaries; runs in a worker.  Returns
    ``(cells, boundaries, n_computed)``."""
    settings = {"properties": list(properties), "strategy_space": space, "tol": tol, "rtol": rtol}
    header = _header(spec, settings)
    store, done = _read_part(part_path, header) if part_path else ({}, None)
    part = _Part(part_path, header)
    computed = 0
    try:
        def cell(r):
            nonlocal computed
            r = float(r)
            if r not in store:
                store[r] = compute_cell(spec, r, properties, space, tol)
                part.write({"cell": store[r]})
                computed += 1
            return store[r]
        cell.store = store
        grid = [cell(r) for r in rs]
        if done is not None and done.get("grid") == [float(r) for r in rs]:
            bounds = done["boundaries"]
        else:
            bounds = _boundaries(spec, grid, properties, space, rtol, cell)
            part.write({"grid": [float(r) for r in rs], "boundaries": bounds})
    finally:
        part.close()
    return grid, bounds, computed


def _boundaries(spec, grid, properties, space, rtol, cell):
    out = []
    uei_th = None
    for prop in properties:
        for c0, c1 in zip(grid, grid[1:]):
            h0, h1 = c0[prop]["holds"], c1[prop]["holds"]
            if h0 is None or h1 is None or h0 == h1:
                continue
            r0, r1 = c0["z_over_k"], c1["z_over_k"]
            b = None
            if prop == "UEI" and space == "paper":
                if uei_th is None:
                    from .thresholds import uei_threshold
                    uei_th = uei_threshold(spec.game(1.0))
                b = _closed_or_root_uei(uei_th, r0, r1, h0, h1, rtol, cell)
            if b is None and prop in ("omega_BNIC", "collusion_proof") and space == "paper":
                b = _bifurcation(spec, prop, r0, r1, h0, h1, rtol, cell)
                if b is None:
                    b = _fold(spec, prop, c0, c1, rtol, cell)
            if b is None:
                b = _bisect(prop, r0, r1, h0, h1, rtol, cell, known=cell.store.values())
            out.append({**spec.keys(), "property": prop, **b, "holds_below": h0, "holds_above": h1})
    return out


def _closed_or_root_uei(th, r0, r1, h0, h1, rtol, cell):
    """UEI's boundary from :func:`uei_threshold` (UEI switching on upwards inside the bracket): the sympy
    closed form where it equals the exact gain's root, else the root; accepted only if certified verdicts at
    ``(1 -+ rtol/2)`` times it flank it."""
    r = th.z_over_k
    if not (h0 is False and h1 is True and math.isfinite(r) and r0 < r < r1):
        return None
    s = th.sympy_z_over_k
    if s is not None and math.isfinite(s) and abs(s / r - 1.0) <= rtol:
        # the local value is a bifurcation at zero effort: right at it the gain is within its error bound, so
        # the confirmation is at 1 -+ 10 rtol, as for omega-BNIC's bifurcation
        b = _confirm("UEI", r0, r1, h0, h1, rtol, cell, float(s), "closed form (sympy small-effort expansion), "
                     "equal to the exact gain's root, confirmed by certified verdicts at (1 -+ min(10 rtol, 1e-3)) "
                     "times it",
                     width=20.0)
        if b is not None:
            b["exact"] = True
        return b
    return _confirm("UEI", r0, r1, h0, h1, rtol, cell, float(r), "root of the exact gain c0(w) / (M1(w) - M1(0)) "
                    "(brentq), confirmed by certified verdicts within rtol")


def _bifurcation(spec, prop, r0, r1, h0, h1, rtol, cell):
    """The closed-form bifurcation at zero effort (quadratic costs: an informed branch leaves ``w = 0`` at
    ``z/k = 2 z / gamma0``), if certified verdicts of ``prop`` on both sides confirm that the change is there.

    omega-BNIC and collusion-proofness both need an informed honest equilibrium, which appears at the
    bifurcation.  Within about 1e-4 of it the informed branch is too close to zero effort for the
    certified search to finish (its verdicts are undetermined), so bisection could not locate the change."""
    from .thresholds import _local, _local_for_cost
    g = spec.game(1.0)
    _, r_b = _local_for_cost(_local(g), g.cost_of(0).base())
    if r_b is None or not (0 < r_b < math.inf and r0 < r_b < r1):
        return None
    # confirmation just outside the closed form (as equilibria.thresholds does): right at it the informed
    # branch is too close to zero effort for its utility gap to clear the error bound
    d = min(10 * rtol, 1e-3)
    lo, hi = r_b * (1 - d), r_b * (1 + d)
    if not (r0 < lo and hi < r1):
        return None
    if cell(lo)[prop]["holds"] == h0 and cell(hi)[prop]["holds"] == h1:
        return {"z_over_k": float(r_b), "exact": True, "bracket": [lo, hi],
                "method": "closed form: bifurcation of an informed branch at zero effort (equilibria.local), "
                          "confirmed by certified verdicts at (1 -+ min(10 rtol, 1e-3)) times it"}
    return None


def _fold(spec, prop, c0, c1, rtol, cell):
    """Where an informed honest branch is born in a fold of the symmetric first-order condition, or where
    it first beats deviating to zero effort.

    ``r g(w) = c0'(w)`` (``g``: the payment's slope along the diagonal at ``z = 1``) has roots where
    ``rho(w) = c0'(w) / g(w)`` equals ``r``.  When the cell above the change has an informed honest
    equilibrium ``w*`` and the cell below none, the branch through ``w*`` (and its unstable partner below it)
    is born at the minimum of ``rho`` on ``(0, w*)``.  If it is born worse than deviating to zero effort,
    it becomes an equilibrium where ``rho(w) (P(w; w) - P(0; w)) = c0(w)`` along it.  Either is a guess
    only: certified verdicts at
    ``guess (1 +- rtol/2)`` must flank it, else bisection takes over (those two cells narrow its bracket)."""
    h0, h1 = c0[prop]["holds"], c1[prop]["holds"]
    w1 = c1["w_star"]
    if not (h0 is False and h1 is True and c0["w_star"] is None and w1):
        return None
    from scipy.optimize import minimize_scalar

    from .symmetric import DiagonalFOC
    g = spec.game(c1["z_over_k"])
    foc = DiagonalFOC(g)
    base = g.cost_of(0).base()

    def rho(w):
        gw = foc(w)[0]
        return float(base.derivative(w)) / gw if gw > 0 else math.inf
    res = minimize_scalar(rho, bounds=(1e-6 * w1, w1), method="bounded", options={"xatol": 1e-7 * w1})
    wf = float(res.x)
    peers = np.ones(g.n_agents - 1)

    def gap0(w):
        """Along the branch (r = rho(w)): utility at the branch minus the deviation to zero effort, per k."""
        pay_w = foc.full(w)[4]
        pay_0 = float(g.mechanism.payment_curve(np.zeros(1), w * peers, g.n_items, g.prior)[0])
        return rho(w) * (pay_w - pay_0) - float(base(w))
    if gap0(wf) >= 0:
        return _confirm(prop, c0["z_over_k"], c1["z_over_k"], h0, h1, rtol, cell, float(res.fun),
                        "fold of the symmetric first-order condition (minimum of c0'(w)/g(w) below the informed "
                        "equilibrium), confirmed by certified verdicts within rtol")
    # born unprofitable: the branch becomes an equilibrium where it first beats deviating to zero effort
    if not gap0(w1) > 0:
        return None
    from scipy.optimize import brentq
    ws = brentq(gap0, wf, w1, xtol=1e-9 * w1)
    return _confirm(prop, c0["z_over_k"], c1["z_over_k"], h0, h1, rtol, cell, rho(ws),
                    "the informed branch of the first-order condition first beats deviating to zero effort "
                    "(a root along the branch), confirmed by certified verdicts within rtol")


def _confirm(prop, r0, r1, h0, h1, rtol, cell, guess, method, width=1.0):
    """A guessed change of verdict, accepted only if certified verdicts at ``guess (1 -+ width rtol/2)`` flank it
    (``width`` 20 for closed forms at a bifurcation, where the verdicts right at it are within their error)."""
    if not (math.isfinite(guess) and r0 < guess < r1):
        return None
    # closed forms (width > 1): just outside the zone where verdicts are within their error (~1e-4), however
    # coarse rtol is
    s = math.sqrt(1.0 + 0.999 * (min(width * rtol, 2e-3) if width > 1 else rtol))
    a, b = guess / s, guess * s
    if not (r0 < a and b < r1):
        return None
    if cell(a)[prop]["holds"] == h0 and cell(b)[prop]["holds"] == h1:
        return {"z_over_k": guess, "exact": False, "bracket": [a, b], "method": method}
    return None


def _bisect(prop, r0, r1, h0, h1, rtol, cell, known=()):
    """Bisection (geometric) on the verdict of ``prop`` between ``r0`` (verdict ``h0``) and ``r1`` (``h1``);
    cells already computed inside the bracket (``known``, e.g. another property's bisection) narrow it
    first, so properties that change together share their cells."""
    lo, hi = float(r0), float(r1)
    inside = sorted((c["z_over_k"], c[prop]["holds"]) for c in known if r0 < c["z_over_k"] < r1)
    for r, h in inside:
        if h == h1:
            hi = r
            break
        lo = r if h == h0 else lo
        if h is None:
            break
    while hi / lo > 1.0 + rtol:
        mid = math.sqrt(lo * hi)
        h = cell(mid)[prop]["holds"]
        if h == h0:
            lo = mid
        elif h == h1:
            hi = mid
        else:
            # undetermined right at the change (a margin within its error bound): decided verdicts on both
            # sides within the resolution still locate it
            a, b = mid / math.sqrt(1.0 + rtol), mid * math.sqrt(1.0 + rtol)
            if lo < a and b < hi and cell(a)[prop]["holds"] == h0 and cell(b)[prop]["holds"] == h1:
                return {"z_over_k": mid, "exact": False, "bracket": [a, b],
                        "method": "bisection on certified verdicts (undetermined at the change itself, decided "
                                  "on both sides within rtol)"}
            return {"z_over_k": math.sqrt(lo * hi), "exact": False, "bracket": [lo, hi],
                    "method": f"bisection on certified verdicts, stopped: undetermined verdict at z/k = {mid:.8g}"}
    return {"z_over_k": math.sqrt(lo * hi), "exact": False, "bracket": [lo, hi],
            "method": "bisection on certified verdicts"}


# -- the atlas ---------------------------------------------------------------------------------------

@dataclass
class Atlas:
    """Result of :func:`atlas`.

    Attributes
    ----------
    cells : list of dict
        One per game and grid ratio: the game keys, ``z_over_k``, each property as ``{"holds", "margin"}``
        (``"reason"`` when undetermined; margins in units of ``z``), ``w_star`` and ``complete``.
    boundaries : list of dict
        The game keys, ``property``, ``z_over_k`` (where the verdict changes), ``exact``, ``method``,
        ``bracket`` and the verdicts below and above.
    settings : dict
    out : str or None
        The output directory, if any.
    computed, reused : int
        Cells computed by this call and cells read back from part files (resume).
    seconds : float
    """

    cells: list
    boundaries: list
    settings: dict
    out: str | None = None
    computed: int = 0
    reused: int = 0
    seconds: float = 0.0
    files: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"cells": self.cells, "boundaries": self.boundaries}

    def verdicts(self, prop: str, **game) -> tuple:
        """``(z_over_k, holds)`` arrays of one game (give every game key that varies), e.g.
        ``atlas.verdicts("UEI", mechanism="apa", cost="linear")``."""
        rows = [c for c in self.cells if all(c[k] == v for k, v in game.items())]
        keys = {(c["mechanism"], c["cost"], c["n_agents"], c["n_items"], c["prior"]) for c in rows}
        if len(keys) != 1:
            raise ValueError(f"the game keys {game} select {len(keys)} games; give the ones that vary")
        return (np.array([c["z_over_k"] for c in rows]), [c[prop]["holds"] for c in rows])


def atlas(mechanisms=("ppa", "bsst", "apa"), costs=("linear", "quadratic", "sqrt"), n_agents=(3,), n_items=(3,),
          priors=("normal",), z_over_k="0.05:20:40", *, properties=PROPERTIES, strategy_space="paper",
          out=None, n_jobs=1, scheduler=None, dask_local=None, executor=None, rtol=1e-4, tol=1e-7,
          progress=None, figures=True) -> Atlas:
    """Phase diagrams of the incentive properties over games x ``z/k`` (see the module docstring).

    Parameters
    ----------
    mechanisms : list of str
        From ``ppa, bsst, apa, dg13, ca`` (at ``z = 1``; BSST ``y = z/2``; APA ``3cycle``).
    costs : list of str
        Cost families ``linear, quadratic, sqrt, power:P, exp, log`` (``c = k c0``; ``k = z / r``).
    n_agents, n_items : list of int
    priors : list of str
        ``normal`` and/or ``uniform``.
    z_over_k : 'LO:HI:N', comma-separated str, or sequence of float
        The ratios of the grid (``LO:HI:N``: geometric).
    properties : list of str
        Subset of ``UEI, omega_BNIC, EC, collusion_proof``.
    strategy_space : {'paper', 'extended'}
        ``extended``: the verdicts of :func:`equilibria.check_properties_extended` (spec section 4; slower).
    out : str, optional
        Output directory: part files (resumable) and the final files; ``None`` keeps everything in memory.
    n_jobs, scheduler, dask_local, executor :
        Where the games run: ``n_jobs`` local processes (1: inline), an existing Dask scheduler
        (``tcp://HOST:PORT``, whose workers must see ``out``), a local Dask cluster with ``dask_local``
        workers, or your own ``concurrent.futures`` executor.  Results are identical on all of them.
    rtol : float
        Relative resolution of the boundaries.
    tol : float
        Relative regret/tie tolerance of the equilibrium search.
    progress : bool, optional
        A progress bar on stderr (default: when stderr is a terminal).
    figures : bool
        Write the phase diagrams (with ``out``).

    Returns
    -------
    Atlas

    Examples
    --------
    >>> a = atlas(["ppa"], ["quadratic"], [3], [3], z_over_k=[1.0, 2.0], properties=["omega_BNIC"])
    >>> [c["omega_BNIC"]["holds"] for c in a.cells]
    [False, True]
    >>> b = a.boundaries[0]
    >>> round(b["z_over_k"], 6), b["exact"]        # 8 / (T_P Var theta), T_P = 6
    (1.333333, True)

    References
    ----------
    Manyika, Wooldridge, Gan (2025), Defs. 5.1-5.3; spec section 4 (collusion-proofness).
    """
    from agents import as_prior

    t0 = time.time()
    mechs = [check_choice("mechanisms", m, MECHANISM_NAMES) for m in _as_list("mechanisms", mechanisms)]
    fams = [parse_family(c)[0] for c in _as_list("costs", costs)]
    Ns = [check_int("n_agents", n, low=3, high=MAX_AGENTS) for n in _as_list("n_agents", n_agents)]
    ms = [check_int("n_items", m, low=3, high=MAX_ITEMS) for m in _as_list("n_items", n_items)]
    prs = [check_choice("priors", p, ("normal", "uniform")) for p in _as_list("priors", priors)]
    for p in prs:
        as_prior(p)
    rs = parse_z_over_k(z_over_k)
    props = [check_choice("properties", p, PROPERTIES) for p in _as_list("properties", properties)]
    props = [p for p in PROPERTIES if p in props]          # canonical order, no repeats
    space = check_choice("strategy_space", strategy_space, STRATEGY_SPACES)
    rtol = check_real("rtol", rtol, low=1e-12, high=0.5)
    tol = check_real("tol", tol, low=0.0, low_open=True, high=0.5)
    for label in (mechs, fams, Ns, ms, prs):
        if len(set(label)) != len(label):
            raise ValueError(f"the lists must not repeat a value, got {label}")
    from mechanisms import make_mechanism
    for m in mechs:
        for k in ms:
            make_mechanism(m)._check_items(k)
    specs = [GameSpec(m, c, N, k, p) for m in mechs for c in fams for N in Ns for k in ms for p in prs]
    n_cells = len(specs) * rs.size
    if n_cells > MAX_CELLS:
        raise ValueError(f"the atlas has {n_cells} cells; at most {MAX_CELLS} are accepted (split it)")
    if out is not None:
        from agents._cli import check_out_dir
        out = check_out_dir("out", out)
        os.makedirs(os.path.join(out, "parts"), exist_ok=True)
    from agents._parallel import Executor

    settings = {"mechanisms": mechs, "costs": fams, "n_agents": Ns, "n_items": ms, "priors": prs,
                "z_over_k": rs.tolist(), "properties": props, "strategy_space": space, "rtol": rtol, "tol": tol,
                "units": "margins in units of z (each cell is the game at z = 1, k = 1 / (z/k))"}
    # heavy games first keeps a pool busy to the end; the order never changes a number
    weight = {"apa": 3, "bsst": 2, "ca": 2, "dg13": 2, "ppa": 1}
    order = sorted(range(len(specs)), key=lambda i: -weight[specs[i].mechanism] * specs[i].n_agents * specs[i].n_items)
    tasks = [(specs[i], rs.tolist(), props, space, tol, rtol,
              os.path.join(out, "parts", specs[i].file_name) if out is not None else None) for i in order]
    from .report import Progress
    bar = Progress(n_cells, "atlas")
    if progress is not None:
        bar.on = bool(progress)
    results = [None] * len(specs)
    computed = 0
    with Executor(n_jobs, scheduler=scheduler, dask_local=dask_local, executor=executor) as ex:
        for j, (grid, bounds, n_new) in ex.as_completed(_game_task, tasks):
            results[order[j]] = (grid, bounds)
            computed += n_new
            for _ in grid:
                bar.step(f"{specs[order[j]].mechanism} {specs[order[j]].cost}")
    cells = [c for grid, _ in results for c in grid]
    bounds = [b for _, bs in results for b in bs]
    res = Atlas(cells, bounds, settings, out, computed, n_cells - min(computed, n_cells), time.time() - t0)
    if out is not None:
        res.files = write_files(res, out, figures=figures)
    return res


# -- files -------------------------------------------------------------------------------------------

def _csv_value(v):
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    return str(v)


def write_files(res: Atlas, out: str, *, figures=True) -> list:
    """``atlas.json``, ``atlas.csv``, ``boundaries.csv`` and the phase diagrams (PNG and SVG), written
    atomically; returns the paths."""
    props = res.settings["properties"]
    paths = []

    def put(name, text):
        path = os.path.join(out, name)
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.replace(tmp, path)
        paths.append(path)
    put("atlas.json", json.dumps({"settings": res.settings, "cells": res.cells, "boundaries": res.boundaries},
                                 sort_keys=True, indent=1) + "\n")
    keys = ["mechanism", "cost", "n_agents", "n_items", "prior", "z_over_k"]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(keys + [f"{p}_{k}" for p in props for k in ("holds", "margin")] + ["w_star", "complete"])
    for c in res.cells:
        w.writerow([_csv_value(c[k]) for k in keys] + [_csv_value(c[p][k]) for p in props for k in ("holds", "margin")]
                   + [_csv_value(c["w_star"]), _csv_value(c["complete"])])
    put("atlas.csv", buf.getvalue())
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    bk = keys[:5] + ["property", "z_over_k", "exact", "method", "holds_below", "holds_above", "bracket_lo",
                     "bracket_hi"]
    w.writerow(bk)
    for b in res.boundaries:
        w.writerow([_csv_value(b[k]) for k in bk[:-2]] + [_csv_value(b["bracket"][0]), _csv_value(b["bracket"][1])])
    put("boundaries.csv", buf.getvalue())
    if figures:
        paths += phase_diagrams(res, out)
    return paths


_COLOURS = ("#d9d9d9", "#a6cee3", "#b2df8a", "#fb9a99", "#fdbf6f", "#cab2d6", "#ffff99", "#1f78b4", "#33a02c",
            "#e31a1c", "#ff7f00", "#6a3d9a", "#b15928", "#8dd3c7", "#bebada", "#80b1d3")
_SHORT = {"UEI": "UEI", "omega_BNIC": "BNIC", "EC": "EC", "collusion_proof": "CP"}
_LINES = {"UEI": "-", "omega_BNIC": "--", "EC": ":", "collusion_proof": "-."}


def _family_order(fams):
    def key(f):
        p = parse_family(f)[2]
        return (0, p, f) if p is not None else (1, 0.0, f)
    return sorted(fams, key=key)


def phase_diagrams(res: Atlas, out: str) -> list:
    """One figure per ``(N, m, prior)``: a panel per mechanism, cost families (ordered by exponent ``p``;
    exp and log last) across, ``z/k`` up (log scale), each cell coloured by the set of properties that
    hold (hatched: some verdict undetermined), and the located boundaries drawn across their family's
    column (solid black outline: exact closed form; grey: numerical)."""
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    s = res.settings
    props = s["properties"]
    fams = _family_order(s["costs"])
    rs = np.array(s["z_over_k"])
    # cell edges on the log axis: geometric midpoints between neighbouring ratios
    lr = np.log(rs)
    edges = np.exp(np.concatenate([[lr[0] - (lr[1] - lr[0]) / 2 if rs.size > 1 else lr[0] - 0.5],
                                   (lr[1:] + lr[:-1]) / 2,
                                   [lr[-1] + (lr[-1] - lr[-2]) / 2 if rs.size > 1 else lr[0] + 0.5]]))
    combos = sorted({tuple(p for p in props if c[p]["holds"] is True) for c in res.cells}, key=lambda t: (len(t), t))
    colour = {cmb: _COLOURS[k % len(_COLOURS)] for k, cmb in enumerate(combos)}
    index = {(c["mechanism"], c["cost"], c["n_agents"], c["n_items"], c["prior"], c["z_over_k"]): c for c in res.cells}
    paths = []
    with matplotlib.rc_context({"svg.hashsalt": "atlas", "svg.fonttype": "none"}):
        for N in s["n_agents"]:
            for m in s["n_items"]:
                for prior in s["priors"]:
                    fig = Figure(figsize=(3.2 * len(s["mechanisms"]) + 1.8, 4.2))
                    axes = np.atleast_1d(fig.subplots(1, len(s["mechanisms"]), sharey=True))
                    for ax, mech in zip(axes, s["mechanisms"]):
                        for x, fam in enumerate(fams):
                            for k, r in enumerate(rs):
                                c = index[(mech, fam, N, m, prior, float(r))]
                                cmb = tuple(p for p in props if c[p]["holds"] is True)
                                und = any(c[p]["holds"] is None for p in props)
                                ax.fill_between([x - 0.45, x + 0.45], edges[k], edges[k + 1], color=colour[cmb],
                                                lw=0, hatch="xx" if und else None)
                            for b in res.boundaries:
                                if (b["mechanism"], b["cost"], b["n_agents"], b["n_items"], b["prior"]) == \
                                        (mech, fam, N, m, prior):
                                    ax.plot([x - 0.45, x + 0.45], [b["z_over_k"]] * 2, _LINES[b["property"]],
                                            color="k" if b["exact"] else "0.35", lw=1.6 if b["exact"] else 1.1)
                        ax.set_yscale("log")
                        ax.set_ylim(edges[0], edges[-1])
                        ax.set_xticks(range(len(fams)))
                        ax.set_xticklabels([f if parse_family(f)[2] is None else
                                            f"{f.split(':')[0]}\np={parse_family(f)[2]:g}" for f in fams], fontsize=7)
                        ax.set_xlim(-0.6, len(fams) - 0.4)
                        ax.set_title(f"{mech.upper()}", fontsize=10)
                        ax.set_xlabel("cost family (by exponent p)", fontsize=8)
                    axes[0].set_ylabel("z / k")
                    handles = [Patch(color=colour[c], label=" + ".join(_SHORT[p] for p in c) or "none holds")
                               for c in combos]
                    from matplotlib.lines import Line2D
                    handles += [Line2D([], [], ls=_LINES[p], color="k", label=f"{_SHORT[p]} boundary") for p in props]
                    handles.append(Patch(facecolor="white", edgecolor="0.3", hatch="xx", label="undetermined"))
                    fig.legend(handles=handles, loc="center right", fontsize=7, frameon=False)
                    fig.suptitle(f"Where the properties hold: N={N}, m={m}, {prior} prior, {s['strategy_space']} "
                                 f"strategies (black: exact boundary, grey: numerical)", fontsize=9)
                    fig.subplots_adjust(left=0.75 / fig.get_figwidth(), right=1 - 1.75 / fig.get_figwidth(), bottom=0.18, top=0.86,
                                        wspace=0.08)
                    base = os.path.join(out, f"phase_N{N}_m{m}_{prior}")
                    fig.savefig(base + ".png", dpi=110, metadata={"Software": None})
                    fig.savefig(base + ".svg", metadata={"Date": None, "Creator": None})
                    paths += [base + ".png", base + ".svg"]
    return paths


def summary_lines(res: Atlas) -> list:
    """A short text summary: per game and property, where the verdict changes."""
    lines = []
    for b in res.boundaries:
        arrow = f"{'holds' if b['holds_below'] else 'fails'} -> {'holds' if b['holds_above'] else 'fails'}"
        lines.append(f"{b['mechanism']:<5} {b['cost']:<11} N={b['n_agents']} m={b['n_items']} {b['prior']:<7} "
                     f"{b['property']:<16} z/k = {b['z_over_k']:.6g} ({'exact' if b['exact'] else 'numerical'}; "
                     f"{arrow})")
    return lines

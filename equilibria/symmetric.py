"""Symmetric Bayes-Nash equilibria: complete enumeration with certificates, and checks for any profile.

A symmetric profile ``(w, f)`` is an equilibrium iff ``(w, f)`` is a best response of agent ``i`` when every
peer plays ``(w, f)``.  Dishonest equilibria are the mirror images of honest ones under global flip
symmetry (spec section 3), so it suffices to find the honest ones.

How the search proves that none is missed
-----------------------------------------
Every best response lies in ``[0, W]`` (``W``: the derived effort bound, :mod:`equilibria.bounds`).  An
informed honest equilibrium ``w > 0`` below ``W`` is an interior maximum of agent ``i``'s utility, so it
solves the first-order condition ``F(w) = g(w) - c'(w) = 0`` with ``g(w) = dP/d eps_i`` at own effort =
every peer's effort = ``w``.  The solver covers ``[0, W]`` with cells and removes a cell only with a
certificate that ``F`` has no root in it:

* *without evaluating*: ``|g| <= S_1 H_1(a)`` on ``[a, b]``; if that is below ``min c'`` there, ``F < 0``;
* *Lipschitz*: ``|g'| <= S_2 H_2(a)`` on ``[a, b]`` (certified bound); with ``g(a)``, ``g(b)`` and their
  finite-difference error this encloses ``g`` on the cell, and ``c'`` is monotone, so ``F`` has no root if
  the enclosures of ``g`` and ``c'`` are disjoint;
* *near zero* (``c'(0) = 0``, e.g. quadratic costs): ``F(0) = 0`` by flip symmetry, so the Lipschitz test
  can never clear ``[0, b]``.  There the solver works with ``gamma(w) = g(w) / w``, whose value at zero is
  the small-effort expansion ``gamma(0) = g'(0)`` (exact from :mod:`equilibria.local` where available)
  and whose slope is at most ``sup |g''| / 2 <= S_3 H_3(0) / 2``; roots of ``F`` in ``(0, b]`` are roots of
  ``gamma(w) - c'(w)/w``, and ``c'(w)/w`` is monotone.

Cells that no test clears are bisected.  A cell whose ends have opposite signs of ``F`` holds a root,
found by Brent; around it ``F`` is monotone on radius ``rho = |F'(r)| / (2 K_3)`` (``K_3`` bounds
``|F''|``), so the root is unique there, and the rest of the cell goes back to the queue.  The search
ends when every cell is cleared (``complete=True``); cells still open at the resolution ``1e-9 W`` are
reported in ``unresolved`` (a tangency there would be a double root) and ``complete`` is then ``False``.
Zero effort, and the cap when it binds, are checked directly.  Every candidate is then certified by a
global best response (:func:`equilibria.best_response`): its regret is the certificate.

The cells and their evaluations
-------------------------------
The cell ends are points of a fixed lattice that does not depend on ``W`` or on the cost: ``0``, the powers
of two and their dyadic subdivisions ``2^j (1 + q / 2^d)``.  The first cells end at ``0``, at the powers of
two from about ``1e-4 W`` and at the multiples of a power of two ``s`` in ``[W/8, W/4)`` up to the first one
``>= W`` (:func:`_initial_points`); bisection splits a cell at a power of two inside it (near the geometric
mean) or, within one octave, at its exact arithmetic midpoint, and halves cells at zero
(:func:`_split`), so every cell end stays on the lattice.  The last cell may reach beyond ``W``: every
test above holds on any cell, cells beyond ``W`` are not searched and roots beyond it are dropped (every
effort above ``W`` is strictly dominated).  The resolution ``1e-9 W`` only decides when to give up.

The queue is processed a generation at a time: the ends of a generation's cells that test (1) does not
clear are evaluated before any decision, then each cell is decided exactly as above.  Lattice points are
evaluated in canonical blocks (:func:`_lattice_block`: consecutive points of one dyadic depth in one
octave), one engine call per block, whose stencils are shared by every game of the population
(:class:`DiagonalFOC`, at ``z = 1``): so games that differ in the cost or in ``z`` (thresholds and
atlases over ``z/k``) reuse them, and the value at a point depends on the point alone, never on what was
computed before.  Every stencil lies inside one engine call (one quadrature rule), so the error model of
the finite differences is unchanged.

Stability is the slope of the symmetric best-response map at the equilibrium, from the implicit
function theorem on the first-order condition, ``B'(w) = 1 - F'(w) / U_ii(w)`` with
``U_ii = d^2 U / d eps_i^2``; at zero effort it comes from the small-effort expansion
(``B'(0) = cross / (c''(0) - own_curvature)``) or is ``0`` when zero is a corner (``c'(0) > g(0)``).
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import brentq

from agents import DISHONEST, HONEST, Strategy
from agents._validation import check_real

from .best_response import best_response, memoised
from .bounds import (H, S, S_own, cost_d2, cost_d3, cost_is_known, difference_stats, term_structure)
from .game import Game, warn_grid_arguments
from mechanisms import APA, BSST, CA, DG13, PPA, StatisticRule

_SHARED = {}         # unit-z payment stencils of the first-order condition, per population
_SHARED_LEGACY = {}  # the same for the previous search (_LEGACY)
_SHAREABLE = (PPA, BSST, APA, DG13, CA, StatisticRule)

#: Floating-point noise of one exact payment evaluation, relative to the payoff scale: the quadrature
#: rule is fixed within one call, so finite differences see rounding only (sums of ~1e4 terms).
ENGINE_NOISE = 1e-13


@dataclass
class Equilibrium:
    """One symmetric equilibrium ``(w, f)`` for all agents.

    Attributes
    ----------
    effort, report, utility :
        The profile and each agent's exact expected utility.
    regret : float
        Certificate: ``max_dev U_i(dev) - U_i(w, f)`` over all unilateral deviations, relative to the
        payoff scale (largest realised payment).  ``<= tolerance`` for a certified equilibrium.
    stable : bool or None
        ``|slope| < 1``; ``None`` when ``|slope|`` is within its error of 1 or the slope is undefined.
    slope : float or None
        Derivative of the symmetric best-response map at ``w`` (implicit function theorem).
    informed : bool
        ``w > 0``.
    mirror : bool
        The dishonest mirror of an honest equilibrium (equal utility by global flip symmetry).
    at_bound : bool
        ``w`` is the user's cap ``w_max`` (below the derived bound): an equilibrium of the capped game only.
    """

    effort: float
    report: str
    utility: float
    regret: float
    stable: bool | None
    slope: float | None
    informed: bool
    mirror: bool = False
    at_bound: bool = False
    slope_error: float | None = None
    unique_radius: float | None = None

    def to_dict(self):
        return {k: getattr(self, k) for k in ("effort", "report", "utility", "regret", "stable", "slope",
                                              "slope_error", "informed", "mirror", "at_bound", "unique_radius")}


class _Listing:
    """Iteration and length over ``self.equilibria`` (the result classes of the equilibrium searches)."""

    def __iter__(self):
        return iter(self.equilibria)

    def __len__(self):
        return len(self.equilibria)


@dataclass
class EquilibriumSet(_Listing):
    """All symmetric equilibria on ``[0, domain]``, with the certificate of completeness.

    Attributes
    ----------
    equilibria : list of Equilibrium
    tolerance : float
    domain : float
        Efforts searched: the derived effort bound or the user's cap.
    complete : bool
        Every cell of ``[0, domain]`` was cleared by a certificate (see the module docstring).
    unresolved : list of [a, b]
        Cells that no certificate cleared at the resolution limit.
    stationary : list of float
        Roots of the first-order condition that are not equilibria (not global best responses).
    bound : dict
        The effort bound (:class:`equilibria.bounds.EffortBound`).
    evaluations : int
        First-order-condition evaluations spent.
    """

    equilibria: list
    tolerance: float
    domain: float
    complete: bool = True
    unresolved: list = field(default_factory=list)
    stationary: list = field(default_factory=list)
    bound: dict = field(default_factory=dict)
    evaluations: int = 0
    local: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)

    @property
    def w_max(self):        # backward compatible name
        return self.domain

    def to_dict(self):
        return {"equilibria": [e.to_dict() for e in self.equilibria], "tolerance": self.tolerance,
                "domain": self.domain, "complete": self.complete, "unresolved": self.unresolved,
                "stationary": self.stationary, "bound": self.bound, "evaluations": self.evaluations,
                "local": self.local, "notes": self.notes}


# -- the first-order condition along the diagonal ---------------------------------------------------

#: The previous (W-relative, one engine call per point) search: kept for benchmarks/bench_foc_batching.py
#: and tests/test_foc_batching.py, which compare the two.
_LEGACY = False
#: Engine calls made by :class:`DiagonalFOC` (``calls``; ``blocks`` of them for lattice blocks), stencils
#: they evaluated (``stencils``) and lattice stencils asked for (``lattice_asked``; cached ones included).
ENGINE_CALLS = {"calls": 0, "blocks": 0, "stencils": 0, "lattice_asked": 0}
_LATTICE_DEPTH = 40          # deeper dyadic points (Brent iterates, r +- eta) are evaluated on their own


def _block_size(j, cap=8):
    """Stencils per canonical block in the octave ``[2^j, 2^(j+1))``: an APA stencil's own points cost
    ~2 ms each at effort ~3 and ~50 ms at ~30 against ~10 ms per call, so blocks shrink as efforts grow;
    ``cap`` is the rule's limit (:func:`_block_cap`)."""
    return min(cap, 8 if j < 1 else (4 if j < 3 else 1))


def _block_cap(mechanism):
    """Largest block for a rule: BSST's table costs about its stencils' single calls together (its per-call
    overhead is small), so a block would only add the stencils the search does not use."""
    return 1 if isinstance(mechanism, BSST) else 8


def _lattice_block(x, cap=8):
    """The canonical block of the lattice point ``x`` (blocks of at most ``cap`` points): ``(key, members)``,
    or ``None`` off the lattice.

    ``x = 2^j (1 + q / 2^d)`` with ``q`` odd (depth ``d``) or ``x = 2^j`` (depth 0).  A block is an aligned
    group of consecutive odd ``q`` of one depth in one octave (powers of two below 1: eight octaves), so its
    members, and the single engine call that evaluates them, depend on ``x`` alone.
    """
    if not (x > 0.0 and math.isfinite(x)):
        return None
    mant, e = math.frexp(x)                 # x = mant 2^e, 1/2 <= mant < 1
    j = e - 1
    n = int((2.0 * mant - 1.0) * 2.0 ** 53)  # the fraction of x / 2^j in units of 2^-53 (exact)
    if n == 0:
        if j >= 0 or cap == 1:
            return ("p", j, 1), [x]
        t = j // 8
        members = [math.ldexp(1.0, k) for k in range(8 * t, min(8 * t + 8, 0))]
        return ("p", t, 8), [v for v in members if v > 0.0]
    tz = (n & -n).bit_length() - 1
    d = 53 - tz
    if d > _LATTICE_DEPTH:
        return None
    q = n >> tz
    B = _block_size(j, cap)
    i0 = ((q - 1) // 2) // B * B
    members = [math.ldexp(float((1 << d) + 2 * i + 1), j - d) for i in range(i0, min(i0 + B, 1 << (d - 1)))]
    return ("d", j, d, i0), members


def _batched(mechanism, n_items):
    """Rules whose ``payment_table`` is one vectorised engine call with one quadrature rule for the whole
    table (the generic fallback evaluates every entry on its own rule, and a full own x peer table)."""
    if isinstance(mechanism, APA):
        return mechanism.coherence == "3cycle" or n_items == 3
    return type(mechanism) in (PPA, BSST, StatisticRule)


class DiagonalFOC:
    """``g(w) = dP/d eps_i`` and ``P_ii(w) = d^2 P / d eps_i^2`` at own = every peer = ``w`` (honest).

    Central differences of exact payments inside one engine call (one quadrature rule, so the difference
    sees rounding only); the five-point error is ``|5-point - 3-point|`` plus the rounding bound.

    Payments are linear in ``z``: the stencils are computed for the rule at ``z = 1`` and kept in the
    module-level ``_SHARED`` per population (rule at ``z = 1``, ``N``, ``m``, prior), so games that differ
    only in the cost or in ``z`` share them.  Each stencil's step is a function of ``w`` and the population
    alone.  Lattice points (:func:`_lattice_block`) are evaluated a canonical block at a time: one
    ``payment_table`` call for all the block's stencils (own points) against all its efforts (peers), of
    which the diagonal entries are kept; any other point is one call of its own.  Either way the value at a
    point depends on the point alone, never on what was computed before.
    """

    def __init__(self, game: Game):
        self.game = game
        self.cache = {}
        self.full_cache = {}
        dom = game.domain
        self.small = 0.05 * dom if math.isfinite(dom) else 0.0
        self.stats = difference_stats(game.prior)
        mech = game.mechanism
        z = float(getattr(mech, "z", 1.0))
        key = None
        if type(mech) in _SHAREABLE:     # their repr identifies the rule completely
            mech = mech.scaled(1.0 / z)
            key = (repr(mech), game.n_agents, game.n_items, repr(game.prior))
        else:
            z = 1.0
        self.z, self.unit = z, mech
        terms, _ = term_structure(mech, game.n_agents, game.n_items)
        self.s3own = S_own(3, terms)
        self.noise = ENGINE_NOISE * float(mech.max_payment(game.n_agents, game.n_items))   # at z = 1
        self.batched = key is not None and _batched(mech, game.n_items)
        self.cap = _block_cap(mech)
        self.shared = _SHARED.setdefault(key, {}) if key is not None else {}
        if len(_SHARED) > 64:
            _SHARED.pop(next(iter(_SHARED)))

    def step(self, w):
        return 5e-3 * (0.1 + abs(w))

    def _step3(self, w):
        """Three-point step (balancing truncation ``h^2/6 K`` and rounding ``noise/h``) and ``K``."""
        K = self.s3own * H(3, max(w - 1e-3 * (0.1 + w), 0.0), self.stats)
        h = min(max((3.0 * self.noise / max(K, 1e-300)) ** (1.0 / 3.0), 1e-7 * (0.1 + w)), 1e-2 * (0.1 + w))
        return h, K

    def _offsets(self, kind, w):
        if kind == "3":
            h = self._step3(w)[0]
            return np.array([w - h, w, w + h])
        h = self.step(w)
        return w + h * np.array([-2.0, -1.0, 0.0, 1.0, 2.0])

    def _stencil(self, kind, w):
        """Unit-``z`` payments on the ``kind`` (``'3'`` or ``'5'``) stencil at ``w``, evaluated on demand."""
        key = (kind, w)
        block = _lattice_block(w, self.cap) if self.batched else None
        ENGINE_CALLS["lattice_asked"] += block is not None
        p = self.shared.get(key)
        if p is not None:
            return p
        g = self.game
        if block is None:
            p = self.unit.payment_curve(self._offsets(kind, w), np.full(g.n_agents - 1, w), g.n_items, g.prior)
            ENGINE_CALLS["calls"] += 1
            ENGINE_CALLS["stencils"] += 1
            self.shared[key] = p
            return p
        members = block[1]
        own = np.concatenate([self._offsets(kind, x) for x in members])
        T = self.unit.payment_table(own, np.array(members), g.n_agents, g.n_items, g.prior)
        ENGINE_CALLS["calls"] += 1
        ENGINE_CALLS["blocks"] += 1
        ENGINE_CALLS["stencils"] += len(members)
        k = 3 if kind == "3" else 5
        for c, x in enumerate(members):
            self.shared[(kind, x)] = np.ascontiguousarray(T[c * k:(c + 1) * k, c])
        return self.shared[key]

    def prefetch(self, points):
        """Evaluate the first-order condition at ``points`` (each lattice block once)."""
        for w in points:
            self(w)

    def _kind(self, w):
        # near zero g ~ gamma0 w is small, and decisions there divide by w: the five-point values
        # (estimated error, far below the rigorous three-point bound) keep the bifurcation resolvable
        return "5" if w <= self.small else "3"

    def _values(self, kind, w, p):
        """``(g, error, P_ii, P_ii error, P)`` from the unit-``z`` payments ``p`` on the stencil."""
        z = self.z
        if kind == "3":
            h, K = self._step3(w)
            g3 = (p[2] - p[0]) / (2 * h)
            err = h * h / 6.0 * K + self.noise / h
            return (float(z * g3), float(z * err), math.nan, math.nan, float(z * p[1]))
        h = self.step(w)
        g5 = (p[0] - 8 * p[1] + 8 * p[3] - p[4]) / (12 * h)
        g3 = (p[3] - p[1]) / (2 * h)
        d5 = (-p[0] + 16 * p[1] - 30 * p[2] + 16 * p[3] - p[4]) / (12 * h * h)
        d3 = (p[1] - 2 * p[2] + p[3]) / (h * h)
        return (float(z * g5), float(z * (abs(g5 - g3) * 0.1 + 1.5 * self.noise / h)), float(z * d5),
                float(z * (abs(d5 - d3) * 0.1 + 5.4 * self.noise / h ** 2)), float(z * p[2]))

    def _store(self, kind, w, out):
        (self.cache if kind == "3" else self.full_cache)[w] = out
        return out

    def __call__(self, w):
        """``(g, error, P_ii, P_ii error, P)`` at ``w``: ``g`` by a three-point central difference whose
        error is bounded rigorously, ``h^2/6 sup|P3| <= h^2/6 S_own(3) H_3(w - h)`` (P3: third derivative)
        plus rounding, with ``h`` balancing the two; ``P_ii`` only from :meth:`full` (``nan`` here).
        Five-point values (:meth:`full`) for ``w <= 0.05 W``."""
        w = float(w)
        if w in self.cache:
            return self.cache[w]
        if w in self.full_cache:
            return self.full_cache[w]
        if self._kind(w) == "5":
            return self.full(w)
        return self._store("3", w, self._values("3", w, self._stencil("3", w)))

    def full(self, w):
        """Five-point values ``(g, error, P_ii, P_ii error, P)`` (errors estimated from the three-point
        values): used where the own curvature is needed (roots, slopes)."""
        w = float(w)
        if w in self.full_cache:
            return self.full_cache[w]
        return self._store("5", w, self._values("5", w, self._stencil("5", w)))

    def around_root(self, r, eta):
        """``foc(r + eta)``, ``foc(r - eta)`` and ``full(r)`` (what :func:`_root_info` needs), from one
        engine call when the rule batches and ``r`` is off the lattice: each stencil lies inside that call,
        and the call depends on ``r`` alone (cached under its own key, apart from single points)."""
        r, eta = float(r), float(eta)
        pts = (("p", r + eta), ("m", r - eta))
        if not self.batched or r - eta <= 0 or _lattice_block(r, self.cap) is not None or any(
                x in self.cache or x in self.full_cache for _, x in pts) or r in self.full_cache:
            return self(r + eta), self(r - eta), self.full(r)
        specs = [(self._kind(x), x) for _, x in pts] + [("5", r)]
        key = ("root", r, eta) + tuple(k for k, _ in specs)
        ps = self.shared.get(key)
        if ps is None:
            g = self.game
            own = np.concatenate([self._offsets(k, x) for k, x in specs])
            T = self.unit.payment_table(own, np.array([x for _, x in specs]), g.n_agents, g.n_items, g.prior)
            ENGINE_CALLS["calls"] += 1
            ENGINE_CALLS["stencils"] += len(specs)
            ps, row = [], 0
            for c, (k, _) in enumerate(specs):
                n = 3 if k == "3" else 5
                ps.append(np.ascontiguousarray(T[row:row + n, c]))
                row += n
            self.shared[key] = ps
        return tuple(self._store(k, x, self._values(k, x, p)) for (k, x), p in zip(specs, ps))

    @property
    def evaluations(self):
        return len(self.cache) + len(self.full_cache)


class _LegacyFOC:
    """The previous :class:`DiagonalFOC` (``_LEGACY``): one engine call per point, steps and shared
    stencils as before (its own ``_SHARED_LEGACY``)."""

    def __init__(self, game: Game):
        self.game = game
        self.cache = {}
        self.full_cache = {}
        self.noise = ENGINE_NOISE * game.payoff_scale
        terms, _ = term_structure(game.mechanism, game.n_agents, game.n_items)
        self.s3own = S_own(3, terms)
        self.stats = difference_stats(game.prior)
        dom = game.domain
        self.small = 0.05 * dom if math.isfinite(dom) else 0.0
        # payments are linear in z: games that differ only in z (and the cost) share one table at z = 1,
        # which is what makes threshold bisections on z/k cheap
        z = float(getattr(game.mechanism, "z", 1.0))
        key = None
        if type(game.mechanism) in _SHAREABLE:      # their repr identifies the rule completely
            key = (repr(game.mechanism.scaled(1.0 / z)), game.n_agents, game.n_items, repr(game.prior))
        else:
            z = 1.0
        self.z = z
        self.shared = _SHARED_LEGACY.setdefault(key, {}) if key is not None else {}
        if len(_SHARED_LEGACY) > 64:
            _SHARED_LEGACY.pop(next(iter(_SHARED_LEGACY)))

    def step(self, w):
        return 5e-3 * (0.1 + abs(w))

    def __call__(self, w):
        """``(g, error, P_ii, P_ii error, P)`` at ``w``: ``g`` by a three-point central difference whose
        error is bounded rigorously, ``h^2/6 sup|P3| <= h^2/6 S_own(3) H_3(w - h)`` (P3: third derivative) plus rounding, with
        ``h`` balancing the two; ``P_ii`` only from :meth:`full` (``nan`` here)."""
        w = float(w)
        if w in self.cache:
            return self.cache[w]
        if w in self.full_cache:
            return self.full_cache[w]
        if w <= self.small:
            # near zero g ~ gamma0 w is small, and decisions there divide by w: the five-point values
            # (estimated error, far below the rigorous three-point bound) keep the bifurcation resolvable
            return self.full(w)
        g = self.game
        K = self.s3own * H(3, max(w - 1e-3 * (0.1 + w), 0.0), self.stats)
        h = min(max((3.0 * self.noise / max(K, 1e-300)) ** (1.0 / 3.0), 1e-7 * (0.1 + w)), 1e-2 * (0.1 + w))
        key = ("3", w)
        if key in self.shared:
            p = self.z * self.shared[key]
        else:
            p = g.mechanism.payment_curve(np.array([w - h, w, w + h]), np.full(g.n_agents - 1, w), g.n_items,
                                          g.prior)
            ENGINE_CALLS["calls"] += 1
            ENGINE_CALLS["stencils"] += 1
            self.shared[key] = p / self.z
        g3 = (p[2] - p[0]) / (2 * h)
        err = h * h / 6.0 * K + self.noise / h
        out = (float(g3), float(err), math.nan, math.nan, float(p[1]))
        self.cache[w] = out
        return out

    def full(self, w):
        """Five-point values ``(g, error, P_ii, P_ii error, P)`` (errors estimated from the three-point
        values): used where the own curvature is needed (roots, slopes)."""
        w = float(w)
        if w in self.full_cache:
            return self.full_cache[w]
        g = self.game
        h = self.step(w)
        x = w + h * np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
        if w in self.shared:
            p = self.z * self.shared[w]
        else:
            p = g.mechanism.payment_curve(x, np.full(g.n_agents - 1, w), g.n_items, g.prior)
            ENGINE_CALLS["calls"] += 1
            ENGINE_CALLS["stencils"] += 1
            self.shared[w] = p / self.z
        g5 = (p[0] - 8 * p[1] + 8 * p[3] - p[4]) / (12 * h)
        g3 = (p[3] - p[1]) / (2 * h)
        d5 = (-p[0] + 16 * p[1] - 30 * p[2] + 16 * p[3] - p[4]) / (12 * h * h)
        d3 = (p[1] - 2 * p[2] + p[3]) / (h * h)
        out = (float(g5), float(abs(g5 - g3) * 0.1 + 1.5 * self.noise / h), float(d5),
               float(abs(d5 - d3) * 0.1 + 5.4 * self.noise / h ** 2), float(p[2]))
        self.full_cache[w] = out
        return out

    @property
    def evaluations(self):
        return len(self.cache) + len(self.full_cache)


def zero_expansion(game: Game, foc: DiagonalFOC | None = None) -> dict:
    """Small-effort expansion at zero: ``own_curvature = P_ii(0; 0)``, ``gamma0 = g'(0)`` and
    ``cross = gamma0 - own_curvature`` (the sum of the mixed derivatives), each with an error estimate.

    Exact closed forms come from :func:`equilibria.local.local_expansion` where it has them; the
    finite-difference values (Richardson-extrapolated; ``g`` is odd in ``w`` by flip symmetry) are
    always computed and reported beside them.
    """
    foc = foc or DiagonalFOC(game)
    mech, n1 = game.mechanism, game.n_agents - 1
    h1, h2 = 0.04, 0.02
    x = np.array([-2 * h1, -h1, 0.0, h1, 2 * h1, -2 * h2, -h2, h2, 2 * h2])
    p = mech.payment_curve(x, np.zeros(n1), game.n_items, game.prior)

    def d2(pm2, pm1, p0, pp1, pp2, h):
        return (-pm2 + 16 * pm1 - 30 * p0 + 16 * pp1 - pp2) / (12 * h * h)
    a1 = d2(p[0], p[1], p[2], p[3], p[4], h1)
    a2 = d2(p[5], p[6], p[2], p[7], p[8], h2)
    a_fd = (64 * a2 - a1) / 63.0
    noise = ENGINE_NOISE * game.payoff_scale
    a_err = abs(a2 - a1) / 63.0 + 10 * noise / h2 ** 2
    gam1 = foc(h1)[0] / h1
    gam2 = foc(h2)[0] / h2
    g_fd = (4 * gam2 - gam1) / 3.0
    g_err = abs(gam2 - gam1) / 3.0 + (foc(h1)[1] / h1 + foc(h2)[1] / h2)
    out = {"own_curvature": a_fd, "own_curvature_error": a_err, "gamma0": g_fd, "gamma0_error": g_err,
           "method": "finite differences (Richardson)", "numeric": {"own_curvature": a_fd, "gamma0": g_fd}}
    try:
        from .local import local_expansion
        loc = local_expansion(mech, game.n_agents, game.n_items, game.prior)
    except Exception:     # noqa: BLE001 - no closed form for this rule: the numeric values stand
        loc = None
    if loc is not None and getattr(loc, "exact", False):
        out.update(own_curvature=float(loc.own_curvature), gamma0=float(loc.gamma0),
                   own_curvature_error=1e-12 * game.payoff_scale, gamma0_error=1e-12 * game.payoff_scale,
                   method="sympy closed form (equilibria.local)",
                   expressions=dict(getattr(loc, "expressions", {}) or {}))
    out["cross"] = out["gamma0"] - out["own_curvature"]
    return out


# -- the enumeration ---------------------------------------------------------------------------------


def _cprime(cost, x):
    with np.errstate(all="ignore"):
        v = float(cost.derivative(float(x)))
    return math.inf if math.isnan(v) else v


def _cprime_over_w(cost, x, zero_limit):
    if x <= 0:
        return zero_limit
    return _cprime(cost, x) / x


def enumerate_foc_roots(game: Game, *, max_evaluations: int = 4000, resolution: float = 1e-9):
    """Roots of the symmetric first-order condition on ``(0, W]`` with the certificate described in the
    module docstring.  Returns ``(roots, unresolved, complete, foc, local, notes)``; each root is a dict
    with ``effort``, ``dF`` (``F'``), ``dF_error``, ``p_ii`` and ``unique_radius``."""
    cost = game.cost_of(0)
    W = game.require_domain(0)
    foc = (_LegacyFOC if _LEGACY else DiagonalFOC)(game)
    terms, flip = term_structure(game.mechanism, game.n_agents, game.n_items)
    stats = difference_stats(game.prior)
    s1, s2, s3 = S(1, terms), S(2, terms), S(3, terms)
    known = cost_is_known(cost)
    notes = []
    if not known:
        notes.append("the cost has no closed-form derivatives: c' is treated as monotone between the "
                     "search points (the certificate assumes it)")
    c0 = _cprime(cost, 0.0)
    zero_root = flip and c0 == 0.0
    local = zero_expansion(game, foc) if flip else {}
    if zero_root:
        d2 = cost_d2(cost, np.array([0.0]))
        c2_0 = float(d2[0]) if d2 is not None else math.nan
        zero_limit = c2_0                     # lim c'(w)/w = c''(0) (inf for powers p < 2)
        L_gamma = s3 * H(3, 0.0, stats) / 2.0
        gamma0, gamma0_err = local["gamma0"], local["gamma0_error"]
    delta = resolution * W

    def F(x):
        gx, ge = foc(x)[:2]
        return gx - _cprime(cost, x), ge

    def free(a, b):
        # (1) no evaluation: |g| <= S1 H1(a) below min c' on the cell
        return s1 * H(1, a, stats) < min(_cprime(cost, a), _cprime(cost, b))

    def excluded(a, b):
        ca, cb = _cprime(cost, a), _cprime(cost, b)
        c_lo, c_hi = min(ca, cb), max(ca, cb)
        if free(a, b):
            return True
        ga, ea = foc(a)[:2] if a > 0 or not zero_root else (0.0, 0.0)
        gb, eb = foc(b)[:2]
        L = s2 * H(2, a, stats)
        mid, rad = 0.5 * (ga + gb), 0.5 * L * (b - a) + max(ea, eb)
        if mid + rad < c_lo or mid - rad > c_hi:
            return True
        # (3) second order: |F''| <= K3 on the cell, so F lies within K3 (x-a)(b-x)/2 of its chord
        if (a > 0 or not zero_root) and known:
            fa, fb = ga - ca, gb - cb
            if math.isfinite(fa) and fa * fb > 0:
                d3 = cost_d3(cost, np.array([a, b]))
                K3 = s3 * H(3, a, stats) + float(np.max(np.abs(d3)))
                if min(abs(fa), abs(fb)) - max(ea, eb) > K3 * (b - a) ** 2 / 8.0:
                    return True
        if zero_root:
            # (4) gamma = g / w against c'(w) / w, both enclosed on the cell
            gam_a = gamma0 if a == 0 else ga / a
            gam_b = gb / b
            err = max(gamma0_err if a == 0 else ea / a, eb / b)
            r_a = _cprime_over_w(cost, a, zero_limit)
            r_b = _cprime_over_w(cost, b, zero_limit)
            r_lo, r_hi = min(r_a, r_b), max(r_a, r_b)
            gm, gr = 0.5 * (gam_a + gam_b), 0.5 * L_gamma * (b - a) + err
            if gm + gr < r_lo or gm - gr > r_hi:
                return True
        return False

    def sign(x):
        if x == 0 and zero_root:
            return 0
        if x == 0 and c0 == math.inf:
            return -1
        v, e = F(x)
        return 1 if v > e else (-1 if v < -e else 0)

    if W <= 0:        # every positive effort is strictly dominated
        return [], [], True, foc, local, notes + ["the effort bound is 0: only zero effort can be a best response"]
    roots, unresolved = [], []

    def in_root_interval(a, b):
        for r in roots:          # a root's uniqueness interval needs no further search
            lo_r, hi_r = r["effort"] - r["unique_radius"], r["effort"] + r["unique_radius"]
            if hi_r > lo_r and lo_r < b and a < hi_r:
                return lo_r, hi_r
        return None

    def process(a, b, push):
        """Clear, split or solve the cell ``[a, b]``; cells still open go to ``push``."""
        if b - a <= 0 or a > W:          # above W every effort is strictly dominated
            return
        hit = in_root_interval(a, b)
        if hit is not None:
            for lo, hi in ((a, min(b, hit[0])), (max(a, hit[1]), b)):
                if hi > lo:
                    push((lo, hi))
            return
        if excluded(a, b):
            return
        sa, sb = sign(a), sign(b)
        if sa * sb < 0:
            fa = lambda x: F(x)[0]  # noqa: E731
            r = float(brentq(fa, a, b, xtol=max(1e-12 * W, 4e-16 * b), rtol=1e-13))
            roots.append(_root_info(game, foc, cost, r, a, b, s3, stats))
            rho = max(roots[-1]["unique_radius"], delta)
            for lo, hi in ((a, r - rho), (r + rho, b)):
                if hi > lo:
                    push((lo, hi))
            return
        zero_end = [x for x, s_ in ((a, sa), (b, sb)) if s_ == 0 and not (x == 0 and zero_root)]
        if zero_end:
            # F vanishes within its error at a cell end: a root there if F is monotone around it
            info = _root_info(game, foc, cost, zero_end[0], a, b, s3, stats)
            if info["unique_radius"] > 0 and not any(abs(r["effort"] - info["effort"]) <= r["unique_radius"]
                                                     for r in roots):
                roots.append(info)
                push((a, b))      # re-queued: clipped against the new root's interval
                return
        if b - a <= delta:
            # an F root at a cell end is handled by the sign test of its neighbours; a cell that is still
            # open here could hold a double root (tangency)
            unresolved.append([a, min(b, W)])
            return
        m = _split_legacy(a, b) if _LEGACY else _split(a, b)
        push((a, m))
        push((m, b))

    def stop(cells):
        unresolved.extend([list(c) for c in cells])
        notes.append(f"stopped after {foc.evaluations} evaluations: {len(cells)} cells not cleared")

    if _LEGACY:
        pts = np.unique(np.concatenate([np.linspace(0.0, W, 9), np.geomspace(1e-4 * W, W, 5)]))
        queue = [(float(a), float(b)) for a, b in zip(pts[:-1], pts[1:])]
        while queue:              # depth first, one cell at a time
            if foc.evaluations > max_evaluations:
                stop(queue)
                break
            process(*queue.pop(), queue.append)
    else:
        pts = _initial_points(W)
        gen = list(zip(pts[:-1], pts[1:]))
        while gen:                # breadth first: a generation's points are known before any is evaluated
            need = {x for a, b in gen if a <= W and in_root_interval(a, b) is None and not free(a, b)
                    for x in (a, b) if x > 0 or not zero_root}
            if foc.evaluations + len(need) <= max_evaluations:
                foc.prefetch(sorted(need))
            nxt = []
            for i, (a, b) in enumerate(gen):
                if foc.evaluations > max_evaluations:
                    stop(gen[i:] + nxt)
                    nxt = []
                    break
                process(a, b, nxt.append)
            gen = nxt
    # roots above W (the last lattice cell may reach beyond it) are not best responses
    roots = [r for r in roots if r["effort"] <= W]
    complete = not unresolved
    roots.sort(key=lambda r: r["effort"])
    return roots, unresolved, complete, foc, local, notes


def _initial_points(W):
    """The first cells' ends: ``0``, the powers of two from about ``1e-4 W`` and the multiples of the power
    of two ``s`` in ``[W/8, W/4)`` up to the first one ``>= W``: points of the fixed lattice (powers of two
    and their dyadic subdivisions), so games with different ``W`` share them."""
    i = math.ceil(math.log2(W / 8.0))
    while math.ldexp(1.0, i - 1) >= W / 8.0:        # log2 rounding
        i -= 1
    while math.ldexp(1.0, i) < W / 8.0:
        i += 1
    s = math.ldexp(1.0, i)
    K = math.ceil(W / s)
    while (K - 1) * s >= W:
        K -= 1
    while K * s < W:
        K += 1
    j0 = math.floor(math.log2(1e-4 * W))
    pts = {0.0} | {math.ldexp(1.0, j) for j in range(j0, i)} | {k * s for k in range(1, K + 1)}
    return sorted(pts)


def _split(a, b):
    """Bisection point of ``[a, b]`` on the lattice: ``b / 2`` at zero, the power of two nearest the
    geometric mean when one lies inside, else the arithmetic midpoint (exact: the cell lies in one octave)."""
    if a == 0.0:
        return 0.5 * b
    ja = math.frexp(a)[1]                  # 2^(ja - 1) <= a < 2^ja
    jb = math.frexp(b)[1] - 1              # 2^jb <= b: 2^k inside for ja <= k < jb, and k = jb if 2^jb < b
    hi = jb if math.ldexp(1.0, jb) < b else jb - 1
    if ja <= hi:
        k = min(max(round(0.5 * (math.log2(a) + math.log2(b))), ja), hi)
        return math.ldexp(1.0, k)
    return 0.5 * (a + b)


def _split_legacy(a, b):
    return 0.5 * (a + b) if a == 0 or b / a < 4 else math.sqrt(a * b)


def _root_info(game, foc, cost, r, a, b, s3, stats):
    """``F'(r)`` (central difference of the five-point ``g``), ``P_ii(r)`` and the uniqueness radius."""
    eta = 1e-4 * (0.1 + r)
    if isinstance(foc, DiagonalFOC) and r - eta > 0:
        (gp, ep), (gm, em) = (v[:2] for v in foc.around_root(r, eta)[:2])
    else:
        gp, ep = foc(r + eta)[:2]
        gm, em = foc(r - eta)[:2] if r - eta > 0 else foc(r)[:2]
    lo = r - eta if r - eta > 0 else r
    dg = (gp - gm) / (r + eta - lo)
    d2 = cost_d2(cost, np.array([r]))
    c2 = float(d2[0]) if d2 is not None else (_cprime(cost, r + eta) - _cprime(cost, lo)) / (r + eta - lo)
    dF = dg - c2
    dF_err = (ep + em) / (r + eta - lo) + 1e-6 * abs(dg)
    _, _, pii, pii_err, _ = foc.full(r)
    def radius(lo, hi):
        d3 = cost_d3(cost, np.array([max(lo, 1e-300), hi]))
        c3 = float(np.max(np.abs(d3))) if d3 is not None else math.inf
        K3 = s3 * H(3, lo, stats) + c3
        # |F(x)| >= |F'(r)| |x - r| - K3 |x - r|^2 / 2 > 0 for 0 < |x - r| < 2 |F'(r)| / K3 (K3 bounds |F''|
        # on [lo, hi]): no other root there
        return 1.8 * (abs(dF) - dF_err) / K3 if K3 > 0 and abs(dF) > dF_err else 0.0
    # the bound on |F''| holds on the interval it was taken on, so the radius is clipped to it; a tight
    # interval around r avoids the blow-up of c''' near zero (powers p < 3, sqrt)
    rad = 0.0
    for lo, hi in ((a, b), (max(a, 0.5 * r), min(b, 1.5 * r)), (max(a, 0.9 * r), min(b, 1.1 * r))):
        if hi > lo:
            rad = max(rad, min(radius(lo, hi), r - lo, hi - r))
    return {"effort": r, "dF": dF, "dF_error": dF_err, "p_ii": pii, "p_ii_error": pii_err,
            "c2": c2, "unique_radius": max(0.0, rad)}


def symmetric_equilibria(game: Game, *, tol: float = 1e-7, max_evaluations: int = 4000,
                         resolution: float = 1e-9, n_own=None, n_peer=None, grid=None) -> EquilibriumSet:
    """All symmetric Bayes-Nash equilibria ``(w, f)`` (paper Def. 5.2), with a certificate that none is
    missed (module docstring).

    Parameters
    ----------
    game : Game
        Homogeneous costs (heterogeneous populations: :func:`equilibria.asymmetric_equilibria`).
    tol : float
        Regret tolerance relative to the payoff scale; also the tie tolerance between utilities.
    max_evaluations : int
        Budget of first-order-condition evaluations; cells left open are reported (``complete=False``).
    resolution : float
        Smallest cell, relative to the domain.
    n_own, n_peer, grid :
        Deprecated (a ``DeprecationWarning`` if given): the search no longer uses a fixed grid.

    Returns
    -------
    EquilibriumSet

    Notes
    -----
    The result is a deterministic function of the game and the options, so it is computed once per game
    object and options (the property checks ask for it again) and each call returns its own copy.

    Examples
    --------
    >>> from mechanisms import PPA
    >>> eqs = symmetric_equilibria(Game(PPA(), "linear:0.1", n_agents=3, n_items=3))
    >>> [round(e.effort, 3) for e in eqs if e.report == "honest"]
    [0.0, 0.067, 3.809]
    """
    tol = check_real("tol", tol, low=0.0, low_open=True)
    warn_grid_arguments(n_own=n_own, n_peer=n_peer, grid=grid)
    if game.heterogeneous:
        raise ValueError("cost must be homogeneous for symmetric equilibria; use asymmetric_equilibria or "
                         "check_equilibrium for heterogeneous populations")
    # a deterministic function of its inputs, asked for again by the property checks (check_properties,
    # the extended space, the CLI's check): computed once per game and options, handed out as a copy
    key = ("symmetric_equilibria", tol, max_evaluations, resolution, _LEGACY)
    return copy.deepcopy(memoised(game, key, lambda: _symmetric_equilibria(game, tol, max_evaluations,
                                                                           resolution)))


def _symmetric_equilibria(game, tol, max_evaluations, resolution):
    W = game.require_domain(0)
    bound = game.bound
    roots, unresolved, complete, foc, local, notes = enumerate_foc_roots(
        game, max_evaluations=max_evaluations, resolution=resolution)
    cost = game.cost_of(0)
    tol_abs = tol * game.payoff_scale
    flip = term_structure(game.mechanism, game.n_agents, game.n_items)[1]
    eqs, stationary = [], []
    # zero effort
    zero = Strategy(0.0, HONEST)
    br0 = best_response(game, zero)
    u0 = game.utility(zero, zero)
    reg0 = max(br0.utility - u0, 0.0) / game.payoff_scale
    if reg0 <= tol or any(m.effort == 0.0 for m in br0.maximisers):
        slope, stable, serr = _zero_slope(game, cost, local, foc)
        eqs.append(Equilibrium(0.0, HONEST, u0, reg0, stable, slope, False, slope_error=serr))
        eqs.append(Equilibrium(0.0, DISHONEST, u0, reg0, stable, slope, False, mirror=True, slope_error=serr))
    cands = [(r["effort"], r) for r in roots if r["effort"] > 0]
    if bound.binding:
        gW, eW = foc(W)[:2]
        if gW - eW > float(cost.derivative(W)):
            cands.append((W, None))
    for wc, info in cands:
        s = Strategy(wc, HONEST)
        if info is not None and info["p_ii"] - info["c2"] > info["p_ii_error"]:
            # own utility is strictly convex there (U_ii > 0 beyond its error): a local minimum of i's
            # utility, so no best response; no global search needed to reject it
            stationary.append({"effort": wc, "regret": None, "u_ii": info["p_ii"] - info["c2"],
                               "kind": "first-order condition holds at a local minimum of own utility"})
            continue
        res = best_response(game, s)
        u_eq = game.utility(s, s)
        regret = max(res.utility - u_eq, 0.0) / game.payoff_scale
        if regret > tol:
            stationary.append({"effort": wc, "regret": regret,
                               "kind": "first-order condition holds but it is not a best response"})
            continue
        at_bound = info is None
        slope = stable = serr = rad = None
        if info is not None:
            uii = info["p_ii"] - info["c2"]
            slope = 1.0 - info["dF"] / uii if uii != 0 else None
            if slope is not None:
                serr = (info["dF_error"] + abs(info["dF"]) * info["p_ii_error"] / abs(uii)) / abs(uii)
                stable = None if abs(abs(slope) - 1.0) <= serr else abs(slope) < 1.0
            rad = info["unique_radius"]
        eqs.append(Equilibrium(wc, HONEST, u_eq, regret, stable, slope, True, at_bound=at_bound,
                               slope_error=serr, unique_radius=rad))
        if flip:
            # global flip symmetry: P(eps; -w, ..., -w) = P(-eps; w, ..., w), so the all-dishonest profile's
            # utility and every deviation's are the honest ones mirrored: equal utility and regret, exactly
            u_m, reg_m = u_eq, regret
        else:
            res_m = best_response(game, Strategy(wc, DISHONEST))
            u_m = game.utility(Strategy(wc, DISHONEST), Strategy(wc, DISHONEST))
            reg_m = max(res_m.utility - u_m, 0.0) / game.payoff_scale
        eqs.append(Equilibrium(wc, DISHONEST, u_m, reg_m, stable, slope, True, mirror=True, at_bound=at_bound,
                               slope_error=serr, unique_radius=rad))
    if bound.binding:
        notes.append(f"efforts are capped at w_max={W:g}, below the derived bound {bound.derived:.6g}: "
                     "the equilibria are those of the capped game")
    if any(e.at_bound for e in eqs):
        notes.append(f"an equilibrium sits at the cap w_max={W:g}")
    if complete:
        notes.append(f"complete: every effort in [0, {W:.6g}] is certified free of other equilibria "
                     f"({foc.evaluations} first-order-condition evaluations)")
    else:
        notes.append(f"incomplete: {len(unresolved)} cells could not be cleared (possible tangential "
                     "equilibria there); see 'unresolved'")
    notes.append("dishonest equilibria mirror honest ones under global flip symmetry (equal utilities); "
                 f"utilities within tolerance {tol_abs:.3g} are treated as ties")
    return EquilibriumSet(eqs, tol, W, complete, unresolved, stationary, bound.to_dict(), foc.evaluations,
                          {k: v for k, v in local.items() if k != "numeric"} | (
                              {"numeric": local["numeric"]} if "numeric" in local else {}), notes)


def _zero_slope(game, cost, local, foc):
    """Slope of the symmetric best-response map at zero effort: ``0`` at a corner (``c'(0) > g(0)``),
    else ``cross / (c''(0) - own_curvature)`` from the small-effort expansion."""
    c0 = _cprime(cost, 0.0)
    if c0 > 0:
        return 0.0, True, 0.0
    d2 = cost_d2(cost, np.array([0.0]))
    if d2 is None or not local:
        return None, None, None
    c2 = float(d2[0])
    if math.isinf(c2):
        return 0.0, True, 0.0
    denom = c2 - local["own_curvature"]
    if denom <= local["own_curvature_error"]:
        return None, None, None
    slope = local["cross"] / denom
    err = (local["gamma0_error"] + local["own_curvature_error"] * (1 + abs(slope))) / denom
    stable = None if abs(abs(slope) - 1.0) <= err else abs(slope) < 1.0
    return float(slope), stable, float(err)


@dataclass
class EquilibriumCheck:
    """Whether a given (possibly asymmetric) profile is a Bayes-Nash equilibrium."""

    holds: bool
    regrets: list          # per agent, relative to the payoff scale
    best_deviations: list  # per agent, BestResponse.to_dict()
    tolerance: float

    def to_dict(self):
        return {"holds": self.holds, "regrets": self.regrets, "best_deviations": self.best_deviations,
                "tolerance": self.tolerance}


def check_equilibrium(game: Game, strategies, *, tol: float = 1e-7) -> EquilibriumCheck:
    """Check a profile ``[s_0, ..., s_{N-1}]`` (heterogeneous costs allowed): every agent's regret.

    Uses anonymity: agent ``x``'s peers are the other ``N - 1`` strategies in any order.
    """
    from agents import as_strategy
    tol = check_real("tol", tol, low=0.0, low_open=True)
    strategies = [as_strategy(s) for s in strategies]
    if len(strategies) != game.n_agents:
        raise ValueError(f"strategies must have n_agents = {game.n_agents} entries, got {len(strategies)}")
    regrets, devs = [], []
    for x, s in enumerate(strategies):
        peers = strategies[:x] + strategies[x + 1:]
        res = best_response(game, peers, agent=x)
        u = game.utility(s, peers, agent=x)
        regrets.append(max(res.utility - u, 0.0) / game.payoff_scale)
        devs.append(res.to_dict())
    return EquilibriumCheck(all(r <= tol for r in regrets), regrets, devs, tol)

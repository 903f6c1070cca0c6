"""Derived effort bounds and certified derivative bounds for expected payments.

Everything here follows from one representation (spec section 1): given the qualities ``theta``,
agent ``x`` reports ``+1`` on pair ``p`` with probability ``sigma(eps_x D_p)``, ``D_p = theta_a - theta_b``,
independently across agents and pairs, and a payment is a sum of *terms*, each a function of a few
reports with values in an interval of width ``span``.  Differentiating ``E[term]`` with respect to
efforts hits the factors ``sigma(+-eps_x D_p)``; since ``sum_r d^k prod pi = 0`` the term can be centred,
so every derivative of order ``k`` of a term is at most ``span / 2`` times
``E[sum over ways of placing the k derivatives on the term's report variables of prod_v 2 |D|^a_v
|sigma^(a_v)(eps D)|]``.  Hoelder's inequality bounds the expectation of a product by the product of
``L^n`` norms, and each norm is bounded twice: by ``max|sigma^(a)|`` times a moment of ``|D|`` (small
efforts) and by ``sup f_D`` times ``eps^-(n a + 1) int |u|^(n a) |sigma^(a)(u)|^n du`` (large efforts).

Consequences used by the solvers (``S_k = sum_t span_t / 2 * own_t * vars_t^(k-1)`` over terms ``t``,
``own_t`` and ``vars_t`` the numbers of agent ``i``'s and of all report variables in the term):

* ``|dP/d eps_i| <= S_1 H_1(|eps_i|)`` and ``P(eps) - P(0) <= min(range, S_1)`` whatever the peers do;
* along the symmetric diagonal (own effort = every peer's effort = ``w``) the first-order condition's
  payment part ``g(w) = dP/d eps_i (w; w, ..., w)`` has ``|g'(w)| <= S_2 H_2(w)`` and
  ``|g''(w)| <= S_3 H_3(w)``;

with ``H_k`` non-increasing in ``w`` (the maximum over compositions of ``k`` of products of norm bounds).

The **effort bound** ``W`` of a game is the smaller of (a) the effort whose cost exceeds the largest
possible expected payment gain over zero effort (beyond it every effort is strictly dominated by zero
effort) and (b) the effort beyond which ``c'(w) > S_1 H_1(w)`` for ever (the utility strictly decreases
there, whatever the peers do).  Every best response, hence every equilibrium effort, lies in ``[0, W]``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from math import comb

import numpy as np
from scipy import integrate, optimize

from agents import Cost
from agents.costs import Exponential, Linear, Log1p, Power, Quadratic, Sqrt
from agents.priors import NormalPrior, UniformPrior
from mechanisms import APA, BSST, CA, DG13, PPA, StatisticRule

# -- sigmoid derivatives -----------------------------------------------------------------------


def _sig_derivs(u):
    s = 0.5 * (1.0 + np.tanh(0.5 * u))
    d1 = s * (1.0 - s)
    d2 = d1 * (1.0 - 2.0 * s)
    d3 = d1 * (1.0 - 6.0 * d1)
    return d1, d2, d3


SIG_MAX = {1: 0.25, 2: 1.0 / (6.0 * math.sqrt(3.0)), 3: 0.125}


@lru_cache(maxsize=None)
def _sig_integral(a: int, n: int) -> float:
    """``int_R |u|^(n a) |sigma^(a)(u)|^n du`` (finite: sigma^(a) decays like e^-|u|)."""
    def f(u):
        return 2.0 * u ** (n * a) * abs(_sig_derivs(u)[a - 1]) ** n
    val, _ = integrate.quad(f, 0.0, 80.0, limit=400, epsabs=0.0, epsrel=1e-12)
    return float(val) * (1.0 + 1e-9)          # round up: these are upper bounds


# -- prior statistics for D = theta_a - theta_b -----------------------------------------------


@dataclass(frozen=True)
class DifferenceStats:
    """``sup f_D`` and absolute moments ``E|D|^q`` (``q = 0..12``) of ``D = theta_a - theta_b``."""

    density_max: float
    moments: tuple
    variance: float
    exact: bool

    def moment(self, q: int) -> float:
        return self.moments[q]


@lru_cache(maxsize=64)
def difference_stats(prior) -> DifferenceStats:
    if isinstance(prior, NormalPrior):
        s = math.sqrt(2.0) * prior.scale                      # D ~ N(0, 2 scale^2)
        mom = tuple(s ** q * 2 ** (q / 2) * math.gamma((q + 1) / 2) / math.sqrt(math.pi) for q in range(13))
        return DifferenceStats(1.0 / (s * math.sqrt(2 * math.pi)), mom, prior.scale ** 2, True)
    if isinstance(prior, UniformPrior):
        L = prior.high - prior.low                            # D triangular on [-L, L]
        mom = tuple(2.0 * L ** q / ((q + 1) * (q + 2)) for q in range(13))
        return DifferenceStats(1.0 / L, mom, L * L / 12.0, True)
    dist = prior.dist                                         # ScipyPrior: bounds, not values
    mu = float(dist.mean())
    var = float(dist.var())
    mom = []
    for q in range(13):
        try:
            c = float(dist.expect(lambda t, q=q: abs(t - mu) ** q))
        except Exception:                                     # noqa: BLE001 - scipy raises many kinds
            c = math.inf
        # |a - b|^q <= 2^(q-1) (|a - mu|^q + |b - mu|^q)
        mom.append(2.0 ** q * c if math.isfinite(c) else math.inf)
    u = np.linspace(1e-6, 1 - 1e-6, 20001)
    x = dist.ppf(u)
    fmax = float(np.nanmax(dist.pdf(x)))
    # f_D(d) = int f(t) f(t - d) dt <= sup f; the grid maximum is padded for what lies between nodes
    return DifferenceStats(1.05 * fmax, tuple(mom), var, False)


def norm_bound(a: int, n: int, w: float, stats: DifferenceStats) -> float:
    """Upper bound on ``|| 2 |D|^a |sigma^(a)(w D)| ||_n`` (non-increasing in ``w``)."""
    q = n * a
    small = SIG_MAX[a] ** n * stats.moment(q)
    large = stats.density_max * _sig_integral(a, n) / w ** (q + 1) if w > 0 else math.inf
    return 2.0 * min(small, large) ** (1.0 / n)


def H(k: int, w: float, stats: DifferenceStats) -> float:
    """Max over compositions of ``k`` of the product of norm bounds (Hoelder with one norm per factor)."""
    nb = lambda a, n: norm_bound(a, n, w, stats)  # noqa: E731
    if k == 1:
        return nb(1, 1)
    if k == 2:
        return max(nb(2, 1), nb(1, 2) ** 2)
    if k == 3:
        return max(nb(3, 1), nb(2, 2) * nb(1, 2), nb(1, 3) ** 3)
    raise ValueError(f"k must be 1, 2 or 3, got {k}")


# -- term structure of the payment rules --------------------------------------------------------


@dataclass(frozen=True)
class Terms:
    """``count`` terms of width ``span``, each reading ``own`` of agent i's reports and ``total`` reports."""

    count: float
    span: float
    own: int
    total: int


def term_structure(mechanism, n_agents: int, n_items: int):
    """Terms of the payment of agent ``i`` (see the module docstring) and whether the rule is known to be
    invariant under the global flip (then ``P(eps; 0, ..., 0)`` is even in ``eps``).

    Unknown rules (custom payment functions) are one term over every report, of width
    ``max_payment``: valid, but loose.
    """
    P = comb(n_items, 2)
    N1 = n_agents - 1
    if isinstance(mechanism, PPA):
        return [Terms(P * N1, mechanism.z, 1, 2)], True
    if isinstance(mechanism, APA):
        own = 2 * n_items - 3 if mechanism.coherence == "3cycle" else P
        return [Terms(P * N1, mechanism.z, own, own + 1)], True
    if isinstance(mechanism, BSST):
        return [Terms(P * (n_items - 2) * N1 * (N1 - 1), mechanism.z, 1, 3)], True
    if isinstance(mechanism, (DG13, CA)):
        # 1 + agreement - penalty: the agreement reads two reports (i's and j's on one pair); the penalty is an
        # average of events that each read two reports (i's on one pair, j's on another), and a bound that
        # holds for each averaged event holds for the average
        return [Terms(P * N1, mechanism.z, 1, 2), Terms(P * N1, mechanism.z, 1, 2)], True
    if isinstance(mechanism, StatisticRule):
        tp, tt = mechanism.n_terms(n_agents, n_items)
        out = []
        if mechanism.pair.max() > 0:
            span = float(mechanism.pair.max() - mechanism.pair.min())
            out.append(Terms(tp, span, 2 * n_items - 3, 2 * n_items - 2))
        if mechanism.triple.max() > 0:
            out.append(Terms(tt, float(mechanism.triple.max() - mechanism.triple.min()), 1, 3))
        return out, True
    stats = getattr(mechanism, "statistics", None)
    if stats is not None:
        return term_structure(stats, n_agents, n_items)
    comps = getattr(mechanism, "components", None)
    if comps is not None:     # a weighted sum of rules: the union of their terms, spans scaled
        out, flip = [], True
        for c, a in zip(comps, mechanism.weights):
            ts, f = term_structure(c, n_agents, n_items)
            out += [Terms(t.count, a * t.span, t.own, t.total) for t in ts]
            flip = flip and f
        return out, flip
    R = float(mechanism.max_payment(n_agents, n_items))
    return [Terms(1, R, P, P * n_agents)], False


def S(k: int, terms) -> float:
    return sum(t.count * t.span / 2.0 * t.own * t.total ** (k - 1) for t in terms)


# -- costs: derivatives and monotonicity -----------------------------------------------------------

KNOWN_COSTS = (Linear, Quadratic, Power, Sqrt, Exponential, Log1p)


def cost_d2(cost: Cost, w):
    """``c''(w)`` for the built-in costs (``None`` for others)."""
    w = np.asarray(w, dtype=float)
    k = cost.k
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if isinstance(cost, Linear):
            return np.zeros_like(w)
        if isinstance(cost, Quadratic):
            return np.full_like(w, 2.0 * k)
        if isinstance(cost, Power):
            return k * cost.p * (cost.p - 1.0) * np.power(w, cost.p - 2.0)
        if isinstance(cost, Sqrt):
            return -0.25 * k * np.power(w, -1.5)
        if isinstance(cost, Exponential):
            return k * np.exp(w)
        if isinstance(cost, Log1p):
            return -k / (1.0 + w) ** 2
    return None


def cost_d3(cost: Cost, w):
    w = np.asarray(w, dtype=float)
    k = cost.k
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if isinstance(cost, (Linear, Quadratic)):
            return np.zeros_like(w)
        if isinstance(cost, Power):
            p = cost.p
            return k * p * (p - 1.0) * (p - 2.0) * np.power(w, p - 3.0)
        if isinstance(cost, Sqrt):
            return 0.375 * k * np.power(w, -2.5)
        if isinstance(cost, Exponential):
            return k * np.exp(w)
        if isinstance(cost, Log1p):
            return 2.0 * k / (1.0 + w) ** 3
    return None


def cost_is_known(cost: Cost) -> bool:
    return isinstance(cost, KNOWN_COSTS)


# -- the effort bound ---------------------------------------------------------------------------


@dataclass
class EffortBound:
    """Where best responses can lie: ``[0, effort]``.

    Attributes
    ----------
    effort : float
        The search domain's upper end: ``min(dominance, derivative, cap)``; ``inf`` if none exists.
    derived : float
        ``min(dominance, derivative)`` (``inf``: no derived bound, e.g. a bounded cost).
    dominance : float
        Beyond it the cost exceeds the largest possible expected payment gain over zero effort
        (``gain``): every effort there is strictly dominated by zero effort.
    derivative : float
        Beyond it ``c'(w) > S_1 H_1(w)`` for ever: utility strictly decreases in effort.
    gain : float
        Upper bound on ``P(eps; peers) - P(0; peers)`` for any peers.
    cap : float or None
        The user's cap ``w_max``; ``binding`` when it is below the derived bound.
    reason : str or None
        Why no bound exists (then ``effort = inf``).
    """

    effort: float
    derived: float
    dominance: float
    derivative: float
    gain: float
    cap: float | None = None
    binding: bool = False
    reason: str | None = None
    notes: list = field(default_factory=list)

    def to_dict(self):
        f = lambda x: None if x is None or not math.isfinite(x) else float(x)  # noqa: E731
        return {"effort": f(self.effort), "derived": f(self.derived), "dominance": f(self.dominance),
                "derivative": f(self.derivative), "gain": f(self.gain), "cap": self.cap,
                "cap_binding": self.binding, "reason": self.reason, "notes": list(self.notes)}


def _increasing_root(fun, target, hi0=1.0, limit=1e12):
    """Smallest ``w`` with ``fun(w) >= target`` for non-decreasing ``fun`` (``inf`` if beyond ``limit``)."""
    hi = hi0
    while fun(hi) < target:
        hi *= 2.0
        if hi > limit:
            return math.inf
    lo = 0.0
    return float(optimize.brentq(lambda x: fun(x) - target, lo, hi, xtol=1e-12 * hi, rtol=1e-14)) \
        if fun(lo) < target else 0.0


def _derivative_bound(cost, s1, stats):
    """Smallest ``W`` with ``c'(w) > s1 H_1(w)`` for every ``w > W`` (built-in costs).

    ``H_1(w) = 2 min(h0, C / w^2)``: constant below ``w_t = sqrt(C / h0)``, ``2 C / w^2`` above.  Above
    ``w_t`` the condition reads ``c'(w) w^2 > 2 s1 C``, whose left side is non-decreasing for every
    built-in cost, so it changes sign once there; below ``w_t`` it reads ``c'(w) > 2 s1 h0`` with ``c'``
    monotone.
    """
    h0 = SIG_MAX[1] * stats.moment(1)
    C = stats.density_max * _sig_integral(1, 1)
    w_t = math.sqrt(C / h0)
    target = 2.0 * s1 * C

    def tail(x):
        if x <= 0:
            return 0.0
        with np.errstate(all="ignore"):
            return float(cost.derivative(x)) * x * x
    if tail(w_t) <= target:
        return _increasing_root(tail, target * (1 + 1e-12), hi0=w_t) * (1 + 1e-12)
    flat = 2.0 * s1 * h0
    d = lambda x: float(cost.derivative(x))  # noqa: E731
    if d(w_t * 0.5) >= d(w_t) or d(0.0) > flat:   # c' non-increasing (or already above): decreasing utility
        return 0.0 if d(w_t) > flat else w_t
    return float(optimize.brentq(lambda x: d(x) - flat, 0.0, w_t, xtol=1e-14)) * (1 + 1e-12)


def effort_bound(mechanism, cost: Cost, n_agents: int, n_items: int, prior, cap: float | None = None
                 ) -> EffortBound:
    """The derived effort bound of a game (see the module docstring).

    Parameters
    ----------
    mechanism, cost, n_agents, n_items, prior :
        The game (one agent's cost).
    cap : float, optional
        A user cap ``w_max``; the domain is ``[0, min(cap, derived)]`` and ``binding`` says whether the
        cap cut the derived domain.

    Examples
    --------
    >>> from mechanisms import PPA
    >>> from agents import parse_cost, as_prior
    >>> b = effort_bound(PPA(), parse_cost("quadratic:0.1"), 4, 4, as_prior("normal"))
    >>> 3.2 < b.effort < 3.4, b.reason is None
    (True, True)
    """
    terms, _ = term_structure(mechanism, n_agents, n_items)
    stats = difference_stats(prior)
    R = float(mechanism.max_payment(n_agents, n_items))
    gain = min(R, S(1, terms))
    notes = []
    # (a) dominance by zero effort: c(w) > gain
    try:
        dom = _increasing_root(lambda x: float(cost(x)), gain * (1 + 1e-12))
    except (OverflowError, FloatingPointError):
        dom = math.inf
    # (b) strictly decreasing utility: c'(w) > S_1 H_1(w) for all larger w.  H_1(w) w^2 is eventually
    # constant (C1 / w^2 tail), and c'(w) w^2 is non-decreasing for every built-in cost.
    der = math.inf
    if cost_is_known(cost):
        der = _derivative_bound(cost, S(1, terms), stats)
    else:
        notes.append(f"cost {cost!r}: only the dominance bound is used (no closed-form derivatives)")
    derived = min(dom, der)
    reason = None
    if not math.isfinite(derived):
        reason = (f"no effort bound: the cost never exceeds the largest payment gain {gain:.6g} and its "
                  "slope does not eventually exceed the payment's (a bounded cost); utility may keep rising "
                  "as effort grows, so a best response need not exist")
    eff = derived if cap is None else min(derived, float(cap))
    binding = cap is not None and float(cap) < derived
    if binding:
        notes.append(f"the cap w_max={float(cap):g} is below the derived bound {derived:.6g}: results hold for "
                     "efforts capped at w_max only")
    return EffortBound(eff, derived, dom, der, gain, None if cap is None else float(cap), binding, reason, notes)


def S_own(k: int, terms) -> float:
    """``sum_t span_t / 2 * own_t^k``: the constant of ``|d^k P / d eps_i^k| <= S_own(k) H_k(|eps_i|)``."""
    return sum(t.count * t.span / 2.0 * t.own ** k for t in terms)


def cost_d2_max(cost: Cost, a: float, b: float):
    """``max c''`` on ``[a, b]`` (``c''`` is monotone for every built-in cost); ``None`` if unknown."""
    v = cost_d2(cost, np.array([a, b]))
    if v is None:
        return None
    v = np.where(np.isnan(v), -np.inf, v)
    return float(np.max(v))


def flat_against_uninformed(mechanism) -> bool | None:
    """``True`` when the rule pays agent ``i`` only through events that involve a peer's report on the
    same term (agreement, bonus, penalty): against zero-effort peers, whose reports are fair coins
    independent of everything, each such event has a probability that does not depend on ``i``'s
    reports, so ``P(eps; 0, ..., 0)`` is exactly constant.  ``False`` when the rule also pays ``i``'s own
    coherence (APA, coherence-dependent tables); ``None`` when unknown (custom rules)."""
    if isinstance(mechanism, (PPA, BSST, DG13, CA)):
        return True
    if isinstance(mechanism, APA):
        return False
    if isinstance(mechanism, StatisticRule):
        return bool(mechanism.pair[0] == mechanism.pair[1] and mechanism.pair[2] == mechanism.pair[3])
    stats = getattr(mechanism, "statistics", None)
    if stats is not None:
        return flat_against_uninformed(stats)
    comps = getattr(mechanism, "components", None)
    if comps is not None:
        flags = [flat_against_uninformed(c) for c in comps]
        return None if any(f is None for f in flags) else all(flags)
    return None

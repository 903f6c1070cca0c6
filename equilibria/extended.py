"""Best responses, equilibria and verdicts in the extended strategy space (spec section 4).

A strategy is ``(w, f, q)``: independently per pair, with probability ``q`` report the public index order
(the *convention*), otherwise the Bradley-Terry observation at effort ``w`` mapped by ``f``.  ``q = 0`` is the
paper's space.  The convention needs no effort and everyone on it agrees on every pair, which is the
uninformative coordination that peer prediction worries about.

Best responses
    Against a fixed peer list, the paid agent's expected payment is a polynomial of degree
    ``d = mechanism.convention_degree(m)`` in its own ``q`` (``Mechanism.convention_polynomial``), so at each
    own signed effort the best ``q`` is exact (the endpoints and the real roots of the derivative).  The value
    ``V(eps) = max_q P(eps, q) - c(|eps|)`` is searched on ``[0, W]`` like a paper-space best response and
    certified with the same cell bounds.  Every derivative bound of :mod:`equilibria.bounds` holds uniformly
    in ``q`` (the convention replaces a report probability ``sigma`` by ``q + (1 - q) sigma``, which scales
    each derivative factor by ``1 - q <= 1``), and for each ``q`` the chord bound of ``P(., q) - c`` on a cell is
    below ``max(V(a), V(b)) + K h^2 / 8``; the effort bound ``W`` holds for the same reason.

Symmetric equilibria (:func:`extended_equilibria`), three classes that cover ``[0, W] x [0, 1]``:

* ``q = 0``: the paper's equilibria (the certified complete search of :mod:`equilibria.symmetric`), each
  re-checked against every extended deviation;
* ``w = 0`` (uninformative): payments depend on the ``q``'s only and are polynomials in them, so the symmetric
  first-order condition in ``q`` is a polynomial: it is interpolated at Chebyshev nodes (checked at further
  nodes) and all its roots are taken; ``q = 1`` is the convention;
* ``w > 0, 0 < q < 1`` (mixtures): a cell of ``(0, W] x (0, 1)`` is cleared when either first-order condition
  (in ``w``: ``F = dP/d eps_i - c'``; in ``q``: ``G = dP/d q_i``) is certified non-zero on it by Lipschitz bounds
  from the term structure; cells still open at the resolution limit are reported with a certified upper
  bound on the utility of any symmetric profile inside them (``hidden_utility``).  Verdicts treat that bound
  as a competitor, so a verdict never rests on an unsearched cell.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize_scalar

from agents import DISHONEST, HONEST, Strategy
from agents._validation import check_int, check_real

from .best_response import _cell_upper_bounds, memoised
from .game import BRACKET_REFINE, Game
from .properties import Verdict, _decide, _no_bound_verdict, engine_error

STRATEGY_SPACES = ("paper", "extended")
SPACE = "extended"

# -- strategies -------------------------------------------------------------------------------------


def _as_ext(s):
    """``(signed effort, q)`` of a strategy given as :class:`agents.Strategy`, ``(w, f)``, ``(w, f, q)``
    or a bare effort."""
    if isinstance(s, Strategy):
        return s.signed_effort, float(getattr(s, "convention_prob", 0.0))
    if isinstance(s, (tuple, list)) and len(s) == 3:
        q = check_real("convention_prob", s[2], low=0.0, high=1.0)
        st = Strategy(s[0], s[1])
        return st.signed_effort, q
    if isinstance(s, (tuple, list)) and len(s) == 2:
        st = Strategy(s[0], s[1])
        return st.signed_effort, float(getattr(st, "convention_prob", 0.0))
    st = Strategy(s)
    return st.signed_effort, 0.0


def _peer_arrays(game, peers):
    if isinstance(peers, (Strategy, float, int)) or (isinstance(peers, (tuple, list)) and len(peers) in (2, 3)
                                                     and isinstance(peers[1], str)):
        e, q = _as_ext(peers)
        n = game.n_agents - 1
        return np.full(n, e), np.full(n, q)
    ext = [_as_ext(p) for p in peers]
    if len(ext) != game.n_agents - 1:
        raise ValueError(f"peers must hold n_agents - 1 = {game.n_agents - 1} strategies, got {len(ext)}")
    return np.array([e for e, _ in ext], float), np.array([q for _, q in ext], float)


def _label(w, report, q):
    return {"effort": float(w), "report": report, "convention_prob": float(q)}


def _poly_eval(c, q):
    return np.polynomial.polynomial.polyval(q, c)


def _max_poly01(C, lo=0.0, hi=1.0):
    """Row-wise ``max_{q in [lo, hi]} sum_j C[:, j] q^j`` and the smallest maximiser."""
    C = np.atleast_2d(C)
    n, d1 = C.shape
    if d1 == 1:
        return C[:, 0].copy(), np.full(n, lo)
    if d1 == 2:
        v_lo = C[:, 0] + C[:, 1] * lo
        v_hi = C[:, 0] + C[:, 1] * hi
        up = v_hi > v_lo
        return np.where(up, v_hi, v_lo), np.where(up, hi, lo)
    vals = np.empty(n)
    qs = np.empty(n)
    for r in range(n):
        c = C[r]
        cand = [lo, hi]
        dc = np.polynomial.polynomial.polyder(c)
        if np.any(dc != 0):
            nz = np.flatnonzero(dc)
            roots = np.polynomial.polynomial.polyroots(dc[:nz[-1] + 1]) if nz[-1] > 0 else []
            cand += [float(x.real) for x in np.atleast_1d(roots) if abs(x.imag) < 1e-9 and lo < x.real < hi]
        v = [float(_poly_eval(c, x)) for x in cand]
        k = max(range(len(cand)), key=lambda i: (v[i], -cand[i]))
        vals[r], qs[r] = v[k], cand[k]
    return vals, qs


def extended_value(game: Game, own_eps, peers, *, agent: int = 0, refine: float = 1, q_max: float = 1.0):
    """``V(eps) = max_{q in [0, q_max]} E[M_i](eps, q) - c(|eps|)`` for each own signed effort, and the maximising
    ``q`` (the smallest one on ties), against a fixed peer list of extended strategies."""
    pe, pq = peers if isinstance(peers, tuple) and len(peers) == 2 and isinstance(peers[0], np.ndarray) \
        else _peer_arrays(game, peers)
    own = np.atleast_1d(np.asarray(own_eps, dtype=float))
    C = game.mechanism.convention_polynomial(own, pe, pq, game.n_items, game.prior, refine)
    pay, q = _max_poly01(C, 0.0, q_max)
    with np.errstate(all="ignore"):
        cost = game.cost_of(agent)(np.abs(own))
    return pay - cost, q


def extended_utility(game: Game, own, peers, *, agent: int = 0) -> float:
    """Exact expected utility of ``own = (w, f, q)`` against ``peers`` (one or ``N - 1`` extended strategies)."""
    e, q = _as_ext(own)
    pe, pq = _peer_arrays(game, peers)
    pay = game.mechanism.extended_curve(np.array([e]), np.array([q]), pe, pq, game.n_items, game.prior)[0, 0]
    return float(pay - game.cost_of(agent)(abs(e)))


# -- best responses --------------------------------------------------------------------------------


@dataclass
class ExtendedBestResponse:
    """Global best response over ``(w, f, q)`` in ``[0, W] x {h, not-h} x [0, 1]``.

    Attributes
    ----------
    effort, report, convention_prob, utility :
        One global maximiser (the most informative on ties) and the maximal expected utility.
    maximisers : list of dict
        Every global maximiser within ``tolerance`` (``effort``, ``report``, ``convention_prob``, ``utility``).
    informed : bool
        Every maximiser has ``w > 0`` and ``q < 1``.
    best_uninformative : dict
        The best strategy with zero effort (any ``q``, including the convention ``q = 1``) and its utility.
    best_informed_utility : float
        The best utility found with ``w > 0`` and ``q < 1`` (``-inf`` if none).
    certified_gap : float or None
        Largest amount by which an unsearched cell could beat ``utility``.
    """

    effort: float
    report: str
    convention_prob: float
    utility: float
    maximisers: list
    tolerance: float
    domain: float
    certified_gap: float | None
    best_uninformative: dict
    best_informed_utility: float
    cap_binding: bool = False

    @property
    def informed(self) -> bool:
        return all(m["effort"] > 0 and m["convention_prob"] < 1 for m in self.maximisers)

    @property
    def signed_effort(self):
        return self.effort if self.report == HONEST else -self.effort

    def strategy(self) -> Strategy:
        return _make_strategy(self.effort, self.report, self.convention_prob)

    def to_dict(self):
        return {"strategy_space": SPACE, "effort": self.effort, "report": self.report,
                "convention_prob": self.convention_prob, "utility": self.utility, "maximisers": self.maximisers,
                "informed": self.informed, "tolerance": self.tolerance, "domain": self.domain,
                "certified_gap": self.certified_gap, "best_uninformative": self.best_uninformative,
                "best_informed_utility": _finite(self.best_informed_utility), "cap_binding": self.cap_binding}


def _finite(x):
    return None if x is None or not math.isfinite(x) else float(x)


def _make_strategy(w, report, q):
    try:
        return Strategy(w, report, convention_prob=q)
    except TypeError:       # an agents package without extended strategies
        if q:
            raise
        return Strategy(w, report)


def extended_best_response(game: Game, peers, *, agent: int = 0, n_grid: int = 41, tol: float = 1e-9,
                           certify: bool = True) -> ExtendedBestResponse:
    """Global best response of ``agent`` over extended strategies ``(w, f, q)`` against ``peers``.

    Parameters
    ----------
    game : Game
    peers : Strategy, tuple or list
        One extended strategy for every peer (``Strategy(w, f, convention_prob=q)``, ``(w, f, q)``) or one per
        peer.
    n_grid : int
        Grid efforts on ``[0, W]`` per report map.
    tol : float
        Ties: maximisers within ``tol * payoff_scale`` of the best are all returned.
    certify : bool
        Bound every cell (module docstring) and search those that could hide a better response.

    Returns
    -------
    ExtendedBestResponse

    Examples
    --------
    >>> from mechanisms import PPA
    >>> g = Game(PPA(), "quadratic:0.1", n_agents=3, n_items=3)
    >>> br = extended_best_response(g, (0.0, "honest", 1.0))      # every peer on the convention
    >>> br.convention_prob, br.effort
    (1.0, 0.0)
    """
    n_grid = check_int("n_grid", n_grid, low=3)
    tol = check_real("tol", tol, low=0.0, low_open=True)
    pe, pq = _peer_arrays(game, peers)
    key = ("ext", tuple(pe.tolist()), tuple(pq.tolist()), agent, n_grid, tol, certify)
    return memoised(game, key, lambda: _extended_best_response(game, pe, pq, agent, n_grid, tol, certify))


def _extended_best_response(game, pe, pq, agent, n_grid, tol, certify):
    W = game.require_domain(agent)
    peers = (pe, pq)
    tol_abs = tol * game.payoff_scale
    v0, q0 = extended_value(game, [0.0], peers, agent=agent)
    uninf = {**_label(0.0, HONEST, q0[0]), "utility": float(v0[0])}
    if W <= 0:
        m = {**_label(0.0, HONEST, q0[0]), "utility": float(v0[0])}
        return ExtendedBestResponse(0.0, HONEST, float(q0[0]), float(v0[0]), [m], tol_abs, 0.0, 0.0, uninf,
                                    -math.inf, game.bound_of(agent).binding)
    w = np.linspace(0.0, W, n_grid)
    cands = [(0.0, HONEST, float(q0[0]), float(v0[0]))]
    xatol = 1e-8 * W
    gap = -np.inf if certify else None
    for sign, rep in ((1.0, HONEST), (-1.0, DISHONEST)):
        def f(x, sign=sign, refine=1):
            v, q = extended_value(game, [sign * x], peers, agent=agent, refine=refine)
            return float(v[0]), float(q[0])
        u, qg = extended_value(game, sign * w, peers, agent=agent, refine=BRACKET_REFINE)
        slack = 0.5 * np.max(np.abs(np.diff(u, 2)), initial=0.0) + 1e-5 * game.payoff_scale
        top = u.max()
        for k in range(1, n_grid):
            left = u[k - 1]
            right = u[k + 1] if k < n_grid - 1 else -np.inf
            if u[k] >= left and u[k] >= right and u[k] >= top - slack:
                lo, hi = w[k - 1], w[min(k + 1, n_grid - 1)]
                res = minimize_scalar(lambda x: -f(x, refine=BRACKET_REFINE)[0], bounds=(lo, hi), method="bounded",
                                      options={"xatol": 1e3 * xatol})
                for x in (float(res.x), float(w[k])):
                    vx, qx = f(x)
                    cands.append((x, rep, qx, vx))
        if certify:
            from .bounds import difference_stats, term_structure
            terms, _ = term_structure(game.mechanism, game.n_agents, game.n_items)
            stats = difference_stats(game.prior)
            best = max(c[3] for c in cands)
            bracket_err = 2e-6 * game.payoff_scale
            ub = _cell_upper_bounds(game, agent, w, u, terms, stats)
            if ub is None:
                gap = None
                continue
            work = [(w[k], w[k + 1]) for k in range(n_grid - 1) if ub[k] + bracket_err > best + tol_abs]
            closed = ub[ub + bracket_err <= best + tol_abs]
            if closed.size and gap is not None:
                gap = max(gap, float(closed.max() + bracket_err) - best)
            exact = {}
            rounds = 0
            while work and rounds < 30:
                rounds += 1
                xs = sorted({x for c in work for x in (c[0], 0.5 * (c[0] + c[1]), c[1])} - set(exact))
                if xs:
                    vv, qq = extended_value(game, sign * np.array(xs), peers, agent=agent)
                    exact.update({x: (v, q) for x, v, q in zip(xs, vv.tolist(), qq.tolist())})
                nxt = []
                for a, b in work:
                    m = 0.5 * (a + b)
                    if exact[m][0] > best:
                        best = exact[m][0]
                    cands.append((m, rep, exact[m][1], exact[m][0]))
                    for lo, hi in ((a, m), (m, b)):
                        bd = _cell_upper_bounds(game, agent, np.array([lo, hi]),
                                                np.array([exact[lo][0], exact[hi][0]]), terms, stats)[0]
                        if bd <= best + tol_abs:
                            gap = max(gap, bd - best)
                        elif hi - lo > xatol:
                            nxt.append((lo, hi))
                        else:
                            gap = max(gap, bd - best)
                if len(nxt) > 64:   # a flat top: keep the cells nearest the best
                    nxt.sort(key=lambda c: -max(exact[c[0]][0], exact[c[1]][0]))
                    for lo, hi in nxt[64:]:
                        res = minimize_scalar(lambda x: -f(x)[0], bounds=(lo, hi), method="bounded",
                                              options={"xatol": xatol})
                        vx, qx = f(float(res.x))
                        cands.append((float(res.x), rep, qx, vx))
                        best = max(best, vx)
                    nxt = nxt[:64]
                work = nxt
            for lo, hi in work:
                res = minimize_scalar(lambda x: -f(x)[0], bounds=(lo, hi), method="bounded", options={"xatol": xatol})
                vx, qx = f(float(res.x))
                cands.append((float(res.x), rep, qx, vx))
    best = max(c[3] for c in cands)
    if gap is not None:
        gap = float(max(gap, 0.0))
    maxi = []
    for x, rep, q, v in sorted(cands, key=lambda c: (-c[3], c[2], c[1] != HONEST, c[0])):
        if v < best - tol_abs:
            continue
        if x <= 10 * xatol or q >= 1.0:
            x, rep = 0.0, HONEST     # zero effort (or all-convention): effort and report are irrelevant
        if any(abs(m["effort"] - x) <= 1e-6 * W and m["report"] == rep and abs(m["convention_prob"] - q) < 1e-9
               for m in maxi):
            continue
        maxi.append({**_label(x, rep, q), "utility": float(v)})
    maxi.sort(key=lambda m: (-m["utility"], -(m["effort"] > 0 and m["convention_prob"] < 1), m["report"] != HONEST))
    inf_u = [c[3] for c in cands if c[0] > 10 * xatol and c[2] < 1.0]
    top = maxi[0]
    return ExtendedBestResponse(top["effort"], top["report"], top["convention_prob"], best, maxi, tol_abs, W, gap,
                                uninf, max(inf_u) if inf_u else -math.inf, game.bound_of(agent).binding)


# -- symmetric equilibria ---------------------------------------------------------------------------


@dataclass
class ExtendedEquilibrium:
    """A symmetric profile ``(w, f, q)`` for all agents in the extended space.

    ``kind`` is ``'informed'`` (``w > 0``, ``q = 0``), ``'mixture'`` (``w > 0``, ``0 < q < 1``), ``'zero-effort'``
    (``w = 0``, ``q < 1``) or ``'convention'`` (``q = 1``).  ``regret`` is the certified gain of the best extended
    deviation, relative to the payoff scale; ``best_deviation`` is that deviation.
    """

    effort: float
    report: str
    convention_prob: float
    utility: float
    payment: float
    regret: float
    kind: str
    is_equilibrium: bool
    best_deviation: dict = field(default_factory=dict)
    mirror: bool = False
    paper_equilibrium: bool = False

    @property
    def informed(self) -> bool:
        return self.kind in ("informed", "mixture")

    @property
    def uninformative(self) -> bool:
        return self.kind in ("zero-effort", "convention")

    def to_dict(self):
        return {"effort": self.effort, "report": self.report, "convention_prob": self.convention_prob,
                "utility": self.utility, "payment": self.payment, "regret": self.regret, "kind": self.kind,
                "is_equilibrium": self.is_equilibrium, "informed": self.informed,
                "uninformative": self.uninformative, "mirror": self.mirror,
                "paper_equilibrium": self.paper_equilibrium, "best_deviation": self.best_deviation}


@dataclass
class ExtendedEquilibriumSet:
    """Symmetric equilibria over extended strategies, with what could still hide.

    Attributes
    ----------
    equilibria : list of ExtendedEquilibrium
        Certified equilibria (``is_equilibrium``).
    rejected : list of ExtendedEquilibrium
        Candidates that are not equilibria in the extended space (e.g. a paper equilibrium beaten by the
        convention), with the deviation that beats them.
    complete : bool
        Every cell of the mixture region was cleared and every other class was solved exactly.
    unresolved : list of dict
        Mixture cells still open at the resolution limit or the evaluation budget, each with ``utility_bound``.
    hidden_utility : float
        Certified upper bound on the utility of any equilibrium in the unresolved cells (``-inf`` if none).
    """

    equilibria: list
    rejected: list
    tolerance: float
    domain: float
    complete: bool
    unresolved: list = field(default_factory=list)
    hidden_utility: float = -math.inf
    evaluations: int = 0
    notes: list = field(default_factory=list)
    paper_complete: bool = True
    utility_floor: float = -math.inf

    def __iter__(self):
        return iter(self.equilibria)

    def __len__(self):
        return len(self.equilibria)

    def to_dict(self):
        return {"strategy_space": SPACE, "equilibria": [e.to_dict() for e in self.equilibria],
                "rejected": [e.to_dict() for e in self.rejected], "tolerance": self.tolerance,
                "domain": self.domain, "complete": self.complete, "paper_complete": self.paper_complete,
                "unresolved": self.unresolved[:20], "n_unresolved": len(self.unresolved),
                "hidden_utility": _finite(self.hidden_utility), "utility_floor": _finite(self.utility_floor),
                "evaluations": self.evaluations,
                "notes": self.notes}


def _kind(w, q):
    if q >= 1.0:
        return "convention"
    if w <= 0.0:
        return "zero-effort"
    return "informed" if q <= 0.0 else "mixture"


def _sym_payment(game, w, report, q):
    e = w if report == HONEST else -w
    n1 = game.n_agents - 1
    return float(game.mechanism.extended_curve(np.array([e]), np.array([q]), np.full(n1, e), np.full(n1, q),
                                               game.n_items, game.prior)[0, 0])


def _verify(game, w, report, q, tol, *, mirror=False, paper=False, utility=None):
    """Check the symmetric profile ``(w, f, q)`` against every extended deviation."""
    if q >= 1.0:
        w, report = 0.0, HONEST
    pay = _sym_payment(game, w, report, q)
    u = pay - float(game.cost_of(0)(w)) if utility is None else utility
    br = extended_best_response(game, _make_strategy(w, report, q), tol=min(tol, 1e-9))
    err = engine_error(game) + (br.certified_gap or 0.0)
    gain = br.utility - u
    ok = gain <= tol * game.payoff_scale + err
    dev = br.maximisers[0] if br.maximisers else {}
    return ExtendedEquilibrium(float(w), report, float(q), float(u), pay, max(gain, 0.0) / game.payoff_scale,
                               _kind(w, q), bool(ok), dict(dev), mirror, paper)


def _terms_constants(game):
    from .bounds import S, difference_stats, term_structure
    terms, _ = term_structure(game.mechanism, game.n_agents, game.n_items)
    A = sum(t.count * t.span * t.own * t.total for t in terms)
    B = sum(t.count * t.span * t.total for t in terms)
    total = max(t.total for t in terms)
    own = max(t.own for t in terms)
    return terms, difference_stats(game.prior), A, B, S(2, terms), total, own


def _uninformative_candidates(game, tol, notes):
    """Roots in ``[0, 1]`` of the symmetric first-order condition in ``q`` at zero effort (exact polynomial)."""
    terms, stats, A, B, S2, total, own = _terms_constants(game)
    n1 = game.n_agents - 1
    deg = max(total - 1, 1)
    n = deg + 1
    nodes = 0.5 - 0.5 * np.cos(np.pi * (np.arange(n) + 0.5) / n)
    extra = np.array([0.1234, 0.5678, 0.9012])

    def D(q):
        c = game.mechanism.convention_polynomial(np.array([0.0]), np.zeros(n1), np.full(n1, q), game.n_items,
                                                 game.prior)[0]
        return float(_poly_eval(np.polynomial.polynomial.polyder(c), q)) if c.size > 1 else 0.0

    vals = np.array([D(q) for q in nodes])
    cheb = np.polynomial.Chebyshev.fit(nodes, vals, deg=n - 1, domain=[0, 1])
    check = max(abs(cheb(x) - D(x)) for x in extra)
    scale = game.payoff_scale
    if check > 1e-8 * scale:
        notes.append(f"zero-effort first-order condition in q: interpolation check failed ({check:.2e}); "
                     "roots taken from a 401-point scan instead")
        qs = np.linspace(0, 1, 401)
        dv = np.array([D(q) for q in qs])
        roots = [0.5 * (qs[k] + qs[k + 1]) for k in range(400) if dv[k] == 0 or dv[k] * dv[k + 1] < 0]
        return sorted({0.0, 1.0, *roots}), False
    if np.max(np.abs(vals)) <= 1e-10 * scale:
        notes.append("at zero effort the payment does not depend on the convention probability: every q in "
                     "[0, 1] is stationary; q = 0, 0.25, 0.5, 0.75, 1 are checked")
        return [0.0, 0.25, 0.5, 0.75, 1.0], True
    roots = [float(r.real) for r in cheb.roots() if abs(r.imag) < 1e-9 and 1e-12 < r.real < 1 - 1e-12]
    return sorted({0.0, 1.0, *roots}), True


def _mixture_search(game, report, max_evaluations, notes, floor=-math.inf):
    """Clear ``(0, W] x [0, 1]`` slab by slab in ``w`` (module docstring).

    On a slab ``[w0, w1]`` the symmetric ``F``, ``G`` and utility ``U`` at the slab's centre are exact polynomials
    in the common ``q`` (degree at most the number of reports one term reads): they are interpolated at
    Chebyshev nodes (checked at one more node) and bounded on a fine ``q`` grid with their own derivative
    polynomials; the ``w`` direction uses the Lipschitz bounds of the term structure.  A ``q``-cell is cleared
    when ``G`` or ``F`` is certified non-zero on it, or the utility is certified below ``floor`` (no
    equilibrium there can change a verdict).  Slabs with an open ``q``-cell are halved.

    Returns ``(roots, unresolved, evaluations)``."""
    from .bounds import H, S_own, cost_d2
    W = game.domain
    cost = game.cost_of(0)
    terms, stats, A, B, S2, total, own = _terms_constants(game)
    s_own3 = S_own(3, terms)
    sign = 1.0 if report == HONEST else -1.0
    n1 = game.n_agents - 1
    noise = 1e-13 * game.payoff_scale
    P = np.polynomial.Polynomial
    evals = 0
    deg = max(total, 1)
    nodes = 0.5 - 0.5 * np.cos(np.pi * (np.arange(deg + 1) + 0.5) / (deg + 1))
    qf = np.linspace(0.0, 1.0, 257)
    dq = qf[1] - qf[0]

    # G = dP/dq_own by a centred difference in the own q (P is a polynomial of degree d in it:
    # |d^3 P / dq^3| <= K3q, so the error is <= dq^2 / 6 K3q plus rounding)
    K3q = sum(t.count * t.span * 4.0 * t.own ** 3 for t in terms)
    K2q = sum(t.count * t.span * 2.0 * t.own ** 2 for t in terms)
    d_own = game.mechanism.convention_degree(game.n_items)
    dqs = 1e-4

    def at(w, q):
        nonlocal evals
        evals += 1
        h3 = s_own3 * H(3, 0.5 * w, stats)
        h = min(0.5 * w, (3.0 * noise / h3) ** (1.0 / 3.0) if h3 > 0 else 0.5 * w)
        if d_own == 1:      # affine in the own q: exact coefficients are as cheap as three values
            C = game.mechanism.convention_polynomial(sign * np.array([w - h, w, w + h]), np.full(n1, sign * w),
                                                     np.full(n1, q), game.n_items, game.prior)
            Pv = C[:, 0] + C[:, 1] * q
            F = (Pv[2] - Pv[0]) / (2 * h) - float(cost.derivative(w))
            return F, h * h / 6.0 * h3 + 2 * noise / h, float(C[1, 1]), float(Pv[1] - cost(w)), 1e-13 * game.payoff_scale
        lo_q, hi_q = max(q - dqs, 0.0), min(q + dqs, 1.0)
        V = game.mechanism.extended_curve(sign * np.array([w - h, w, w + h]), np.array([lo_q, q, hi_q]),
                                          np.full(n1, sign * w), np.full(n1, q), game.n_items, game.prior)
        F = (V[2, 1] - V[0, 1]) / (2 * h) - float(cost.derivative(w))
        eF = h * h / 6.0 * h3 + 2 * noise / h
        if lo_q < q < hi_q:
            G = (V[1, 2] - V[1, 0]) / (hi_q - lo_q)
            eG = dqs * dqs / 6.0 * K3q + 2 * noise / (hi_q - lo_q)
        else:      # one-sided at q = 0 or 1
            G = (V[1, 2] - V[1, 0]) / (hi_q - lo_q)
            eG = dqs / 2.0 * K2q + 2 * noise / dqs
        return F, eF, float(G), float(V[1, 1] - cost(w)), eG

    def point(w, q):
        return at(w, q)

    def cell_bounds(poly, absval):
        v = poly(qf)
        slope = float(np.max(np.abs(poly.deriv()(np.linspace(0, 1, 513))))) * dq / 2 if poly.degree() > 0 else 0.0
        if absval:
            lo = np.minimum(np.abs(v[:-1]), np.abs(v[1:]))
            lo = np.where(np.sign(v[:-1]) != np.sign(v[1:]), 0.0, lo)
            return lo - slope
        return np.maximum(v[:-1], v[1:]) + slope

    def slab(w0, w1):
        wc, hw = 0.5 * (w0 + w1), 0.5 * (w1 - w0)
        vals = [at(wc, q) for q in nodes]
        Fp = P.fit(nodes, [v[0] for v in vals], deg, domain=[0, 1], window=[0, 1])
        Gp = P.fit(nodes, [v[2] for v in vals], deg, domain=[0, 1], window=[0, 1])
        Up = P.fit(nodes, [v[3] for v in vals], deg, domain=[0, 1], window=[0, 1])
        eF = max(v[1] for v in vals)
        eG = max(v[4] for v in vals)
        fit_err = 0.0
        if evals < max_evaluations:   # the degree bound, checked at one more node
            chk = at(wc, 0.6180339887)
            fit_err = max(abs(Fp(0.6180339887) - chk[0]), abs(Gp(0.6180339887) - chk[2]),
                          abs(Up(0.6180339887) - chk[3]))
        slack = fit_err + 1e-12 * game.payoff_scale
        h1 = H(1, w0, stats)
        c2 = cost_d2(cost, np.array([max(w0, 1e-300), w1]))
        c2 = 0.0 if c2 is None else float(np.nanmax(np.abs(c2)))
        Lgw, Lfw, Luw = A * h1, S2 * H(2, w0, stats) + c2, 0.5 * B * h1 + float(cost.derivative(w1))
        open_g = cell_bounds(Gp, True) <= Lgw * hw + eG + slack
        open_f = cell_bounds(Fp, True) <= Lfw * hw + eF + slack
        u_hi = cell_bounds(Up, False) + Luw * hw + slack
        open_ = open_g & open_f & (u_hi >= floor)
        return open_, u_hi, (Fp, Gp)

    n0 = 12
    work = [(W * i / n0, W * (i + 1) / n0) for i in range(n0)]
    unresolved, roots = [], []
    min_w = 1e-7 * max(W, 1e-12)
    while work:
        nxt = []
        for w0, w1 in work:
            open_, u_hi, _ = slab(w0, w1)
            if not open_.any():
                continue
            if evals >= max_evaluations or w1 - w0 < min_w:
                idx = np.flatnonzero(open_)
                unresolved.append({"effort": [w0, w1], "convention_prob": [float(qf[idx[0]]), float(qf[idx[-1] + 1])],
                                   "report": report, "utility_bound": float(np.max(u_hi[open_]))})
                continue
            if w1 - w0 < 1e-3 * W:
                for j in np.flatnonzero(open_):
                    qc = 0.5 * (qf[j] + qf[j + 1])
                    if any(w0 <= r[0] <= w1 and abs(r[1] - qc) < 4 * dq for r in roots):
                        continue
                    r = _polish(point, 0.5 * (w0 + w1), qc, W)
                    if r is not None and not any(abs(r[0] - x[0]) < 1e-6 * W and abs(r[1] - x[1]) < 1e-6
                                                 for x in roots):
                        roots.append(r)
            m = 0.5 * (w0 + w1)
            nxt += [(w0, m), (m, w1)]
        work = nxt
    return roots, unresolved, evals


def _polish(point, w, q, W):
    """Newton on ``(F, G)`` with a finite-difference Jacobian; ``None`` if it leaves the open region."""
    x = np.array([w, q])
    for _ in range(30):
        F, _, G, *_ = point(*x)
        if abs(F) < 1e-12 and abs(G) < 1e-12:
            break
        d = np.array([1e-6 * max(x[0], 1e-3), 1e-6])
        F1, _, G1, *_ = point(x[0] + d[0], x[1])
        F2, _, G2, *_ = point(x[0], x[1] + d[1])
        J = np.array([[(F1 - F) / d[0], (F2 - F) / d[1]], [(G1 - G) / d[0], (G2 - G) / d[1]]])
        try:
            step = np.linalg.solve(J, [F, G])
        except np.linalg.LinAlgError:
            return None
        x = x - step
        if not (0 < x[0] <= W and 0 < x[1] < 1):
            return None
        if np.max(np.abs(step)) < 1e-13 * max(1.0, x[0]):
            break
    return float(x[0]), float(x[1])


def extended_equilibria(game: Game, *, tol: float = 1e-7, max_evaluations: int = 600,
                        floor_all: bool = False) -> ExtendedEquilibriumSet:
    """All symmetric equilibria ``(w, f, q)`` in the extended strategy space (module docstring).

    Parameters
    ----------
    game : Game
        A homogeneous game (one cost for every agent).
    tol : float
        A profile is an equilibrium when no extended deviation gains more than ``tol * payoff_scale`` plus the
        engine's error bound and the best response's certified gap.
    max_evaluations : int
        Budget of first-order-condition evaluations in the mixture region, per report map.
    floor_all : bool
        Search mixtures at every utility.  By default (``False``) the mixture search skips cells whose symmetric
        utility is certified below ``utility_floor = min(best informed honest, best uninformative)`` equilibrium
        utility: no equilibrium there can change UEI, omega-BNIC or collusion-proofness, and ``complete`` then
        means "complete above the floor".

    Returns
    -------
    ExtendedEquilibriumSet

    Examples
    --------
    >>> from mechanisms import PPA
    >>> eqs = extended_equilibria(Game(PPA(), "quadratic:0.1", n_agents=3, n_items=3))
    >>> sorted({e.kind for e in eqs})          # the convention is an equilibrium of PPA
    ['convention', 'informed', 'zero-effort']
    """
    from .symmetric import symmetric_equilibria
    tol = check_real("tol", tol, low=0.0, low_open=True)
    max_evaluations = check_int("max_evaluations", max_evaluations, low=16)
    if game.heterogeneous:
        raise ValueError("extended_equilibria needs one cost for every agent (symmetric equilibria)")
    W = game.require_domain()
    notes = []
    paper = symmetric_equilibria(game, tol=tol)
    found, rejected = [], []
    for e in paper:
        r = _verify(game, e.effort, e.report, 0.0, tol, mirror=e.mirror, paper=True, utility=e.utility)
        (found if r.is_equilibrium else rejected).append(r)
    qs, exact = _uninformative_candidates(game, tol, notes)
    for q in qs:
        if q <= 0.0 and any(e.effort == 0.0 for e in paper):
            continue           # the paper's zero-effort equilibrium (already verified)
        r = _verify(game, 0.0, HONEST, q, tol)
        (found if r.is_equilibrium else rejected).append(r)
    # only equilibria above the floor can change a verdict: beating the best informed honest equilibrium
    # (omega-BNIC) or the best uninformative one (collusion-proofness)
    honest = [e.utility for e in found if e.kind == "informed" and e.report == HONEST]
    uninf = [e.utility for e in found if e.uninformative]
    floor = min(max(honest, default=-math.inf), max(uninf, default=-math.inf))
    if not math.isfinite(floor) or floor_all:
        floor = -math.inf
    evaluations = 0
    unresolved = []
    if W > 0:
        for rep in (HONEST, DISHONEST):
            roots, open_cells, n = _mixture_search(game, rep, max_evaluations, notes, floor)
            evaluations += n
            unresolved += open_cells
            for w, q in roots:
                r = _verify(game, w, rep, q, tol)
                (found if r.is_equilibrium else rejected).append(r)
    hidden = max((c["utility_bound"] for c in unresolved), default=-math.inf)
    if unresolved:
        notes.append(f"{len(unresolved)} mixture cells stay open at the resolution limit or the budget "
                     f"({max_evaluations} evaluations per report map): any equilibrium there has utility at most "
                     f"{hidden:.6g}")
    complete = bool(paper.complete and exact and not unresolved)
    found.sort(key=lambda e: (-e.utility, e.kind, e.report != HONEST))
    return ExtendedEquilibriumSet(found, rejected, tol, W, complete, unresolved, hidden, evaluations, notes,
                                  paper.complete, floor)


# -- verdicts ---------------------------------------------------------------------------------------


def _space(evidence):
    return {"strategy_space": SPACE, **evidence}


def check_uei_extended(game: Game, *, tol: float = 1e-9, agent: int = 0) -> Verdict:
    """UEI over extended strategies: against all-zero-effort peers, every best response ``(w, f, q)`` is informed
    (``w > 0`` and ``q < 1``).

    The margin is the best informed utility minus the best uninformative one (zero effort at the best ``q``,
    which may be the convention): under APA the convention is coherent on every triangle, so it earns more
    than any honest zero-effort report and UEI needs a larger ``z / k`` than in the paper's space.  Rules that
    pay only through events involving a fair-coin peer report are exactly flat against zero-effort peers
    (in ``w`` and in ``q``): UEI fails by symmetry, margin 0.
    """
    tol = check_real("tol", tol, low=0.0, low_open=True)
    if not math.isfinite(game.bound_of(agent).effort):
        return _no_bound_verdict("UEI", game, agent)
    definition = ("argmax_{(w,f,q)} E[U_i | all peers (0, f, 0)] excludes every uninformative strategy "
                  "(w = 0, any q; or q = 1)")
    from .bounds import flat_against_uninformed
    zero = (0.0, HONEST, 0.0)
    if flat_against_uninformed(game.mechanism):
        u0 = extended_utility(game, zero, zero, agent=agent)
        return Verdict("UEI", False, 0.0, 0.0, _space({
            "decided_by": "symmetry", "definition": definition,
            "reason": "every paid event involves a fair-coin peer report: the payment against zero-effort peers "
                      "depends neither on own effort nor on the convention probability, so zero effort is the "
                      "unique best response for any increasing cost",
            "utility_at_zero_effort": u0}))
    br = extended_best_response(game, zero, tol=tol, agent=agent)
    err = engine_error(game) + (br.certified_gap or 0.0)
    u_un = br.best_uninformative["utility"]
    informed = [m for m in br.maximisers if m["effort"] > 0 and m["convention_prob"] < 1]
    margin = br.best_informed_utility - u_un if math.isfinite(br.best_informed_utility) else -math.inf
    if not informed:
        # every global maximiser is uninformative: UEI fails whatever the informed supremum (an informed
        # strategy close to the convention approaches its utility but pays a positive cost)
        holds, decided = False, "best response (every maximiser is uninformative)"
    else:
        holds, decided = _decide(margin, err), "error bound"
    if not math.isfinite(margin):
        margin = -float(br.best_uninformative["utility"] - br.utility) if informed else 0.0
    return Verdict("UEI", holds, float(margin), err, _space({
        "decided_by": decided, "definition": definition, "best_response": br.to_dict(),
        "best_uninformative": br.best_uninformative, "best_informed_utility": _finite(br.best_informed_utility)}))


def _best_honest(eqs):
    hon = [e for e in eqs.equilibria if e.informed and e.report == HONEST]
    return max(hon, key=lambda e: e.utility) if hon else None


def check_omega_bnic_extended(game: Game, *, tol: float = 1e-7, equilibria=None) -> Verdict:
    """omega-BNIC over extended strategies: some honest informed symmetric profile (``w > 0``, ``q < 1``) is an
    equilibrium against every extended deviation and its utility is no less than that of every other
    symmetric equilibrium of the extended space (the convention included).

    Dishonest mirrors of honest paper equilibria tie exactly (global flip symmetry, no agent on the convention)
    and are not competitors.  Unresolved mixture cells compete with their certified utility bound.
    """
    tol = check_real("tol", tol, low=0.0, low_open=True)
    if not math.isfinite(game.bound.effort):
        return _no_bound_verdict("omega_BNIC", game)
    eqs = equilibria if equilibria is not None else extended_equilibria(game, tol=tol)
    err = engine_error(game)
    cand = _best_honest(eqs)
    ev = {"equilibria": [e.to_dict() for e in eqs.equilibria], "rejected": [e.to_dict() for e in eqs.rejected],
          "complete": eqs.complete, "hidden_utility": _finite(eqs.hidden_utility), "notes": eqs.notes}
    if cand is None:
        lost = [e.to_dict() for e in eqs.rejected if e.paper_equilibrium and e.kind == "informed"
                and e.report == HONEST]
        return Verdict("omega_BNIC", False, -game.payoff_scale, err, _space({
            **ev, "reason": "no honest informed symmetric equilibrium in the extended space"
                            + (" (the paper's honest equilibria are beaten by an extended deviation)" if lost else ""),
            "lost_paper_equilibria": lost}))
    others = [e for e in eqs.equilibria if e is not cand and not (e.mirror and abs(e.effort - cand.effort)
                                                                   <= 1e-9 * max(1.0, cand.effort))]
    found_rival = max((e.utility for e in others), default=-math.inf)
    rival = max(found_rival, eqs.hidden_utility)
    margin = cand.utility - rival if math.isfinite(rival) else game.payoff_scale
    reason = None
    if found_rival > cand.utility + err:
        holds = False
    elif found_rival >= cand.utility - err:
        holds, reason = None, "another equilibrium ties with the honest one within the error bound"
    elif eqs.hidden_utility >= cand.utility - err:
        holds, reason = None, "an unresolved mixture cell could hold an equilibrium at least as good"
    else:
        holds = True
    return Verdict("omega_BNIC", holds, float(margin), err, _space({**ev, "candidate": cand.to_dict(),
                                                                      "reason": reason}))


def check_collusion_proof(game: Game, *, tol: float = 1e-7, equilibria=None) -> Verdict:
    """Collusion-proofness (spec section 4): every symmetric equilibrium in which all agents are uninformative
    (zero effort, or the convention ``q = 1``) pays each agent strictly less than the best informed honest
    equilibrium.  Utilities are net of effort cost (uninformative agents pay none).

    Margin: best informed honest utility minus the best uninformative equilibrium utility.
    """
    tol = check_real("tol", tol, low=0.0, low_open=True)
    if not math.isfinite(game.bound.effort):
        return _no_bound_verdict("collusion_proof", game)
    eqs = equilibria if equilibria is not None else extended_equilibria(game, tol=tol)
    err = engine_error(game)
    uninf = [e for e in eqs.equilibria if e.uninformative]
    cand = _best_honest(eqs)
    ev = {"uninformative_equilibria": [e.to_dict() for e in uninf],
          "best_informed_honest": cand.to_dict() if cand else None, "complete": eqs.complete,
          "hidden_utility": _finite(eqs.hidden_utility)}
    top_u = max((e.utility for e in uninf), default=-math.inf)
    if not uninf:
        return Verdict("collusion_proof", True, game.payoff_scale, err, _space({
            **ev, "reason": "no uninformative symmetric equilibrium"}))
    if cand is None:
        best = -math.inf
        if eqs.hidden_utility > top_u:
            return Verdict("collusion_proof", None, float("nan"), err, _space({
                **ev, "reason": "no informed honest equilibrium found; an unresolved mixture cell could hold one"}))
        return Verdict("collusion_proof", False, -game.payoff_scale, err, _space({
            **ev, "reason": "no informed honest symmetric equilibrium: nothing beats the uninformative ones"}))
    best = cand.utility
    margin = best - top_u
    holds = _decide(margin, err)
    if holds is False and eqs.hidden_utility > top_u + err:
        holds = None
        ev["reason"] = "an unresolved mixture cell could hold a better informed honest equilibrium"
    return Verdict("collusion_proof", holds, float(margin), err, _space(ev))


def _member_utility(game, k, dev, base):
    """Utility of a coalition member when ``k`` agents play ``dev`` and the rest ``base`` (both ``(eps, q)``)."""
    n = game.n_agents
    eps = np.array([dev[0]] * k + [base[0]] * (n - k), float)
    q = np.array([dev[1]] * k + [base[1]] * (n - k), float)
    pay = game.mechanism.extended_curve(eps[:1], q[:1], eps[1:], q[1:], game.n_items, game.prior)[0, 0]
    return float(pay - game.cost_of(0)(abs(dev[0])))


def coalition_deviations(game: Game, candidate=None, *, tol: float = 1e-7, equilibria=None) -> Verdict:
    """The most profitable joint deviation of ``k = 2..N`` agents from a symmetric candidate to the convention
    or to zero effort, and the verdict "k-collusion proof" (no coalition of any size gains).

    Parameters
    ----------
    candidate : ExtendedEquilibrium, Strategy or (w, f, q), optional
        Default: the best informed honest equilibrium of :func:`extended_equilibria`.

    Returns
    -------
    Verdict
        ``name='coalition_proof'``; ``evidence['by_size']`` lists, per ``k``, each deviation's gain per
        member and the best; ``evidence['k_collusion_proof']`` maps ``k`` to its verdict.  The margin is the
        smallest loss over all sizes and deviations (negative: some coalition gains).
    """
    tol = check_real("tol", tol, low=0.0, low_open=True)
    err = engine_error(game)
    if candidate is None:
        eqs = equilibria if equilibria is not None else extended_equilibria(game, tol=tol)
        cand = _best_honest(eqs)
        if cand is None:
            return Verdict("coalition_proof", None, float("nan"), err, _space({
                "reason": "no informed honest symmetric equilibrium to deviate from"}))
        base = (cand.effort, cand.convention_prob)
        label = cand.to_dict()
    else:
        if isinstance(candidate, ExtendedEquilibrium):
            candidate = (candidate.effort, candidate.report, candidate.convention_prob)
        base = _as_ext(candidate)
        label = {"signed_effort": base[0], "convention_prob": base[1]}
    u_base = _member_utility(game, 1, base, base)
    devs = {"convention": (0.0, 1.0), "zero-effort": (0.0, 0.0)}
    by_size, verdicts, worst = [], {}, math.inf
    for k in range(2, game.n_agents + 1):
        gains = {name: _member_utility(game, k, d, base) - u_base for name, d in devs.items()}
        best = max(gains, key=gains.get)
        by_size.append({"k": k, "gains": gains, "best": best, "best_gain": gains[best]})
        verdicts[k] = _decide(-gains[best], err)
        worst = min(worst, -gains[best])
    holds = _decide(worst, err)
    return Verdict("coalition_proof", holds, float(worst), err, _space({
        "candidate": label, "candidate_utility": u_base, "by_size": by_size,
        "k_collusion_proof": {str(k): v for k, v in verdicts.items()},
        "deviations": {"convention": "(0, h, q = 1)", "zero-effort": "(0, h, q = 0)"}}))


def check_ec_extended(game: Game, *, tol: float = 1e-9, equilibria=None, n_points: int = 21) -> Verdict:
    """EC (Def. 5.3, literal reading) over extended strategies: at the best informed honest extended equilibrium
    ``(w, h, q)``, one peer raises effort by ``dw`` (10 % of ``w``, at least 1 % of the domain); agent ``i``'s gain
    ``G(w_i) = V(w_i) - V(w)``, with ``V`` its utility maximised over its convention probability, must be
    non-negative and non-decreasing on ``[w, w + dw]``.
    """
    tol = check_real("tol", tol, low=0.0, low_open=True)
    if not math.isfinite(game.bound.effort):
        return _no_bound_verdict("EC", game)
    eqs = equilibria if equilibria is not None else extended_equilibria(game)
    err = engine_error(game)
    cand = _best_honest(eqs)
    if cand is None:
        return Verdict("EC", None, float("nan"), err, _space({
            "reason": "no informed honest symmetric equilibrium in the extended space: Def. 5.3 has no base profile"}))
    W = game.domain
    w, q = cand.effort, cand.convention_prob
    dw = max(0.1 * w, 0.01 * W)
    pe = np.full(game.n_agents - 1, w)
    pe[0] = w + dw
    pq = np.full(game.n_agents - 1, q)
    grid = np.linspace(w, w + dw, n_points)
    v, qs = extended_value(game, grid, (pe, pq))
    gain = v - v[0]
    margin = float(min(gain.min(), np.diff(gain).min()))
    holds = _decide(margin, err)
    if holds is None and np.all(np.diff(gain) >= -err) and np.all(gain >= -err):
        holds = True
    return Verdict("EC", holds, margin, err, _space({
        "reading": "literal (Def. 5.3) with i's convention probability re-optimised at each effort",
        "base": cand.to_dict(), "raised_peer_effort": w + dw, "gain_efforts": grid.tolist(), "gain": gain.tolist(),
        "convention_prob": qs.tolist()}))


@dataclass
class ExtendedPropertyReport:
    """The paper's three properties over extended strategies, collusion-proofness and coalitions."""

    UEI: Verdict
    omega_BNIC: Verdict
    EC: Verdict
    collusion_proof: Verdict
    coalition_proof: Verdict
    equilibria: ExtendedEquilibriumSet | None = None
    scope: str = "symmetric"
    strategy_space: str = SPACE

    def to_dict(self):
        return {"UEI": self.UEI.to_dict(), "omega_BNIC": self.omega_BNIC.to_dict(), "EC": self.EC.to_dict(),
                "collusion_proof": self.collusion_proof.to_dict(),
                "coalition_proof": self.coalition_proof.to_dict(), "scope": self.scope,
                "strategy_space": self.strategy_space}


def check_properties_extended(game: Game, *, tol: float = 1e-7, max_evaluations: int = 600) -> ExtendedPropertyReport:
    """UEI, omega-BNIC, EC, collusion-proofness and k-collusion-proofness in the extended space (one equilibrium
    computation shared by all; ``max_evaluations`` is the mixture search's budget, see
    :func:`extended_equilibria`)."""
    tol = check_real("tol", tol, low=0.0, low_open=True)
    if game.heterogeneous:
        raise ValueError("strategy_space='extended' supports homogeneous games (one cost for every agent)")
    if not math.isfinite(game.bound.effort):
        v = [_no_bound_verdict(n, game) for n in ("UEI", "omega_BNIC", "EC", "collusion_proof", "coalition_proof")]
        return ExtendedPropertyReport(*v)
    eqs = extended_equilibria(game, tol=tol, max_evaluations=max_evaluations)
    return ExtendedPropertyReport(
        check_uei_extended(game, tol=min(tol, 1e-9)), check_omega_bnic_extended(game, tol=tol, equilibria=eqs),
        check_ec_extended(game, equilibria=eqs), check_collusion_proof(game, tol=tol, equilibria=eqs),
        coalition_deviations(game, tol=tol, equilibria=eqs), eqs)


# -- thresholds -------------------------------------------------------------------------------------

EXTENDED_PROPERTIES = ("UEI", "omega_BNIC", "collusion_proof")


def extended_threshold(game: Game, prop: str, *, r_min: float = 1e-3, r_max: float = 1e3, rtol: float = 1e-4,
                       n_scan: int = 13):
    """Smallest ``z/k`` in ``[r_min, r_max]`` at which ``prop`` holds in the extended space, for the game's cost
    family ``k c0``: a geometric scan upwards of certified verdicts, then bisection to relative ``rtol``
    (verdicts depend on ``z/k`` only, see :mod:`equilibria.thresholds`).

    Returns
    -------
    equilibria.thresholds.Threshold
    """
    from agents._validation import check_choice

    from .thresholds import Threshold, _unit_game, scan_and_bisect
    prop = check_choice("property", prop, EXTENDED_PROPERTIES)
    r_min = check_real("r_min", r_min, low=0.0, low_open=True)
    r_max = check_real("r_max", r_max, low=r_min, low_open=True)
    rtol = check_real("rtol", rtol, low=0.0, low_open=True)
    base = game.cost_of(0).base()
    g = _unit_game(game, base)
    fn = {"UEI": check_uei_extended, "omega_BNIC": check_omega_bnic_extended,
          "collusion_proof": check_collusion_proof}[prop]
    cache = {}

    def verdict(r):
        if r not in cache:
            cache[r] = fn(g.with_cost(base.with_k(1.0 / r))).holds
        return cache[r]
    notes = [f"strategy space: extended; scan of ratios in [{r_min:g}, {r_max:g}] (geometric, {n_scan} points, "
             "upwards until the verdict holds) with certified verdicts"]
    from .bounds import flat_against_uninformed
    if prop == "UEI" and flat_against_uninformed(g.mechanism):
        return Threshold(prop, math.inf, "symmetry (flat payment)", notes=[
            "strategy space: extended; the payment against zero-effort peers depends neither on effort nor on the "
            "convention probability: UEI never holds"])
    return scan_and_bisect(prop, verdict, r_min, r_max, n_scan, rtol, notes,
                           label="certified verdicts (extended space)")

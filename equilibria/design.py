"""Automated mechanism design: the cheapest payment table that makes a target effort an equilibrium.

The paper's stated next step (Section 7): search the space of payment rules for the one that serves the
principal best.  A rule is a non-negative table over report statistics (:class:`mechanisms.StatisticRule`:
agreement x own coherence per (pair, peer), bonus x penalty per (pair, third item, ordered peers)).  Its
expected payment is linear in the table, ``E[M_i] = phi(profile) . x``, so for a target effort ``w*``:

    minimise    phi(w*, h | peers w*, h) . x                     (expected payment at the target)
    subject to  phi(w*, h) . x - c(w*) >= phi(dev) . x - c(|dev|) for every deviation on a grid of
                [0, w_max] x {h, not-h}                         (target is a best response)
                phi(w_u | peers 0) . x - c(w_u) >= phi(0 | peers 0) . x + eps   (UEI with margin eps)
                x >= 0                                          (limited liability)
                phi(w*, h) . x <= budget                        (optional)

solved with cvxpy.  Every designed rule is then re-checked off the LP's grid by the continuous solvers
(:func:`equilibria.best_response`, :func:`equilibria.check_properties`), and compared with the classic
rules (PPA, BSST, APA, DG13, CA) scaled so that the target is their best response.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import cvxpy as cp
import numpy as np

from agents import Strategy, as_prior, parse_cost
from agents._validation import check_int, check_real
from mechanisms import APA, BSST, PPA, Mechanism
from mechanisms.baselines import CA, DG13
from mechanisms.principal import principal_utility
from mechanisms.statistics import PAIR_LABELS, TRIPLE_LABELS, StatisticRule, statistic_features

from .best_response import best_response
from .game import Game
from .properties import check_properties, check_uei

FAMILIES = {
    "full": np.eye(8),
    "pair": np.eye(8)[:, :4],
    "triple": np.eye(8)[:, 4:],
    "ppa": np.array([[0, 0, 1, 1, 0, 0, 0, 0]], dtype=float).T,
    "apa": np.array([[0, 0, 0, 1, 0, 0, 0, 0]], dtype=float).T,
}


@dataclass
class DesignResult:
    """Result of :func:`design_rule`.

    Attributes
    ----------
    feasible : bool
    status : str
        cvxpy's status (``optimal``, ``infeasible``, ...) or the reason.
    rule : StatisticRule or None
    expected_payment : float or None
        Expected payment per agent at the target profile (the objective).
    table : dict
        ``pair`` and ``triple`` entries with their statistic labels.
    verification : dict
        Off-grid re-check: best response and regret against target peers, UEI / omega-BNIC / EC verdicts.
    baselines : dict
        For each classic rule: the scale ``z`` that makes the target its best response, the resulting
        expected payment (budget), and whether it then satisfies UEI (the designed rule must; a cheaper
        baseline that fails UEI is not a like-for-like comparison), or why it cannot reach the target.
    """

    feasible: bool
    status: str
    target_effort: float
    rule: StatisticRule | None = None
    expected_payment: float | None = None
    table: dict = field(default_factory=dict)
    verification: dict = field(default_factory=dict)
    baselines: dict = field(default_factory=dict)
    principal_accuracy: float | None = None
    notes: list = field(default_factory=list)

    def to_dict(self):
        return {"feasible": self.feasible, "status": self.status, "target_effort": self.target_effort,
                "expected_payment": self.expected_payment, "table": self.table,
                "verification": self.verification, "baselines": self.baselines,
                "principal_accuracy": self.principal_accuracy, "notes": self.notes}


def _features(own, peers, n_items, prior):
    return statistic_features(own, peers, n_items, prior)


def design_rule(target_effort: float, cost="quadratic:0.1", *, n_agents: int = 3, n_items: int = 3,
                prior="normal", w_max: float = 5.0, family: str = "full", n_deviations: int = 121,
                uei_margin: float = 1e-3, budget: float | None = None, verify: bool = True,
                baselines: bool = True, solver: str | None = None) -> DesignResult:
    """Minimum-budget payment table that makes ``(w*, h)`` a symmetric equilibrium with UEI.

    Parameters
    ----------
    target_effort : float
        ``w*`` in ``(0, w_max)``.
    cost : Cost, 'NAME:K', or a list of them
        A list is a mix of agent types: the target must be a best response for every type.
    n_agents, n_items, prior, w_max :
        The game.
    family : {'full', 'pair', 'triple', 'ppa', 'apa'}
        Restrict the table: ``'ppa'`` is PPA's one-parameter family (agreement pays ``z``), ``'apa'`` APA's.
    n_deviations : int
        Grid points per reporting map on ``[0, w_max]`` for the best-response constraints.
    uei_margin : float or None
        ``eps``: against zero-effort peers some effort must beat zero effort by ``eps`` (absolute utility).
        The deviating effort is taken from ``{w*, w*/2, 2 w*}`` (the cheapest feasible one is kept).
        ``None`` drops the UEI constraint (e.g. PPA's family cannot meet it: its payment against
        zero-effort peers does not depend on effort).
    budget : float, optional
        Cap on the expected payment at the target.
    verify : bool
        Re-check the designed rule with the continuous solvers.
    baselines : bool
        Scale PPA, BSST, APA, DG13 and CA to the target and report their budgets.
    solver : str, optional
        cvxpy solver name (default: cvxpy's choice for an LP).

    Returns
    -------
    DesignResult
        ``feasible=False`` with the solver status when no table meets the constraints.
    """
    w_max = check_real("w_max", w_max, low=0.0, low_open=True)
    w_star = check_real("target_effort", target_effort, low=0.0, high=w_max, low_open=True, high_open=True)
    n_agents = check_int("n_agents", n_agents, low=3)
    n_items = check_int("n_items", n_items, low=3)
    n_dev = check_int("n_deviations", n_deviations, low=5)
    eps_u = None if uei_margin is None else check_real("uei_margin", uei_margin, low=0.0)
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {{{', '.join(FAMILIES)}}}, got {family!r}")
    if budget is not None:
        budget = check_real("budget", budget, low=0.0, low_open=True)
    prior = as_prior(prior)
    costs = [parse_cost(c) for c in (cost if isinstance(cost, (list, tuple)) else [cost])]
    basis = FAMILIES[family]

    peers = np.full(n_agents - 1, w_star)
    w = np.linspace(0.0, w_max, n_dev)
    # grid deviations, plus two next to the target: they pin the first-order condition, so the optimum is
    # not a scale slightly below it that only the grid cannot see
    near = [w_star * (1 - 1e-4), min(w_star * (1 + 1e-4), w_max)]
    dev = np.unique(np.concatenate([-w[::-1], w[1:], near]))
    phi_t = _features([w_star], peers, n_items, prior)[0] @ basis
    phi_d = _features(dev, peers, n_items, prior) @ basis
    zero = np.zeros(n_agents - 1)
    scale = float(np.abs(phi_t).max()) or 1.0
    y = cp.Variable(basis.shape[1], nonneg=True)
    best = None
    for w_u in (sorted({w_star, 0.5 * w_star, min(2.0 * w_star, w_max)}) if eps_u is not None else [None]):
        cons = []
        for c in costs:
            gain = (phi_t - phi_d) / scale
            cons.append(gain @ y >= (float(c(w_star)) - c(np.abs(dev))) / scale)
            if w_u is not None:
                phi_u = _features([w_u, 0.0], zero, n_items, prior) @ basis
                cons.append((phi_u[0] - phi_u[1]) / scale @ y >= (float(c(w_u)) + eps_u) / scale)
        if budget is not None:
            cons.append(phi_t / scale @ y <= budget / scale)
        prob = cp.Problem(cp.Minimize(phi_t / scale @ y), cons)
        try:
            prob.solve(solver=solver)
        except cp.error.SolverError as exc:
            status = f"solver error: {exc}"
            continue
        status = prob.status
        if status in ("optimal", "optimal_inaccurate") and (best is None or prob.value < best[0]):
            best = (prob.value, np.maximum(y.value, 0.0), w_u, status)
    if best is None:
        reason = status if budget is None else f"{status} (budget {budget:g} may be too small)"
        uei = "" if eps_u is None else f" with UEI margin {eps_u:g}"
        return DesignResult(False, reason, w_star,
                            notes=[f"no non-negative table makes w*={w_star:g} a best response{uei} "
                                   f"(family {family!r})"])
    _, yv, w_u, status = best
    yv = np.where(yv > 1e-9 * yv.max(), yv, 0.0)      # solver noise
    x = basis @ yv
    rule = StatisticRule.from_vector(x, name=f"designed({family})")
    pay = float(phi_t @ yv)
    res = DesignResult(True, status, w_star, rule, pay,
                       table={"pair": dict(zip(PAIR_LABELS, rule.pair.tolist())),
                              "triple": dict(zip(TRIPLE_LABELS, rule.triple.tolist())),
                              "pair_vector": rule.pair.tolist(), "triple_vector": rule.triple.tolist()},
                       notes=["UEI not imposed" if w_u is None else f"UEI deviation effort used: w_u = {w_u:g}",
                              f"best-response constraints on {dev.size} deviations (efforts x reports)"])
    res.principal_accuracy = principal_utility([Strategy(w_star)] * n_agents, n_items, prior).accuracy
    if verify:
        res.verification = verify_rule(rule, w_star, costs, n_agents, n_items, prior, w_max)
    if baselines:
        res.baselines = baseline_budgets(w_star, costs[0], n_agents=n_agents, n_items=n_items, prior=prior,
                                         w_max=w_max)
    return res


def verify_rule(rule: Mechanism, w_star, costs, n_agents, n_items, prior, w_max, tol=1e-6) -> dict:
    """Off-grid re-check: continuous best response against target peers, regret, property verdicts."""
    out = {}
    for k, c in enumerate(costs):
        game = Game(rule, c, n_agents, n_items, prior, w_max)
        br = best_response(game, Strategy(w_star))
        u_t = game.utility(Strategy(w_star), Strategy(w_star))
        regret = max(br.utility - u_t, 0.0) / max(game.payoff_scale, 1e-300)
        props = check_properties(game)
        out[f"type_{k}" if len(costs) > 1 else "check"] = {
            "cost": c.spec, "best_response": br.to_dict(), "utility_at_target": u_t, "regret": regret,
            "is_equilibrium": regret <= tol, "UEI": props.UEI.holds, "omega_BNIC": props.omega_BNIC.holds,
            "EC": props.EC.holds, "EC_complementarity": props.EC.evidence["complementarity"]["holds"]}
    if len(costs) == 1:
        out = out["check"]
    return out


def scale_to_target(mech: Mechanism, w_star, cost, *, n_agents, n_items, prior, w_max, tol=1e-6) -> dict:
    """The scale ``z`` at which ``(w*, h)`` is a best response to peers at ``(w*, h)``, and its budget.

    ``z`` solves the first-order condition ``z M_1'(w*) = c'(w*)`` (``M_1``: payment at unit scale); the
    global best response at that ``z`` is then checked (the first-order condition is necessary only).
    """
    cost = parse_cost(cost)
    unit = mech.scaled(1.0 / mech.z)
    peers = np.full(n_agents - 1, w_star)
    d = 1e-5 * w_max
    m = unit.payment_curve([w_star - d, w_star, w_star + d], peers, n_items, prior)
    slope = (m[2] - m[0]) / (2 * d)
    if not slope > 0:
        return {"reaches_target": False, "reason": "payment does not increase with effort at the target"}
    z = float(cost.derivative(w_star)) / slope
    game = Game(unit.scaled(z), cost, n_agents, n_items, prior, w_max)
    br = best_response(game, Strategy(w_star))
    u_t = game.utility(Strategy(w_star), Strategy(w_star))
    regret = max(br.utility - u_t, 0.0) / game.payoff_scale
    # the designed rule must meet UEI; say whether the scaled baseline does, so budgets compare fairly
    uei = check_uei(game)
    return {"z": z, "expected_payment": float(z * m[1]), "reaches_target": regret <= tol, "regret": regret,
            "UEI": uei.holds, "best_response": br.to_dict()}


BASELINES = {"PPA": PPA, "BSST": BSST, "APA": APA, "DG13": DG13, "CA": CA}


def baseline_budgets(w_star, cost, *, n_agents=3, n_items=3, prior="normal", w_max=5.0) -> dict:
    """Budget of each classic rule scaled so that ``w*`` is its best response (see :func:`scale_to_target`)."""
    return {name: scale_to_target(cls(), w_star, cost, n_agents=n_agents, n_items=n_items,
                                  prior=as_prior(prior), w_max=w_max)
            for name, cls in BASELINES.items()}


def budget_curve(targets, cost="quadratic:0.1", *, n_agents=3, n_items=3, prior="normal", w_max=5.0,
                 out_png=None) -> dict:
    """Minimal budget vs target effort for the designed rule and each scaled classic rule (+ figure)."""
    targets = [check_real("target", t, low=0.0, high=w_max, low_open=True, high_open=True) for t in targets]
    rows = {"target": list(targets), "designed": []}
    for name in BASELINES:
        rows[name] = []
    for t in targets:
        d = design_rule(t, cost, n_agents=n_agents, n_items=n_items, prior=prior, w_max=w_max, verify=False)
        rows["designed"].append(d.expected_payment if d.feasible else math.nan)
        for name, b in d.baselines.items():
            rows[name].append(b["expected_payment"] if b.get("reaches_target") else math.nan)
    if out_png:
        from matplotlib.figure import Figure   # pyplot-free: no backend switch in notebooks
        fig = Figure(figsize=(6.5, 4.2))
        ax = fig.subplots()
        for name, vals in rows.items():
            if name == "target":
                continue
            ax.plot(targets, vals, "o-" if name == "designed" else ".--", lw=2 if name == "designed" else 1,
                    label=name)
        ax.set_xlabel("target effort w*")
        ax.set_ylabel("expected payment per agent at the target")
        ax.set_title(f"budget to implement w* (cost {parse_cost(cost).spec}, N={n_agents}, m={n_items})")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out_png, dpi=110)
    return rows




def design_max_faithfulness(budget: float, cost="quadratic:0.1", *, n_agents: int = 3, n_items: int = 3,
                            prior="normal", w_max: float = 5.0, family: str = "full", n_scan: int = 16,
                            xtol: float = 1e-3, verify: bool = True, baselines: bool = True,
                            **kw) -> DesignResult:
    """The rule that maximises the principal's faithfulness (eq. 3) subject to a budget.

    Faithfulness (expected accuracy of pairwise-majority aggregation) increases with the common honest
    effort, so the optimum implements the largest target ``w*`` whose minimal budget is within
    ``budget``.  The minimal budget is not monotone in ``w*`` (the UEI margin makes very small targets
    expensive), so targets are scanned on a grid of ``n_scan`` points and the largest affordable one is
    refined by bisection towards the next grid point (to ``xtol * w_max``).
    """
    budget = check_real("budget", budget, low=0.0, low_open=True)
    n_scan = check_int("n_scan", n_scan, low=2)
    prior = as_prior(prior)
    common = dict(n_agents=n_agents, n_items=n_items, prior=prior, w_max=w_max, family=family, **kw)

    def affordable(t):
        d = design_rule(t, cost, budget=None, verify=False, baselines=False, **common)
        return d.feasible and d.expected_payment <= budget
    grid = np.linspace(0.0, w_max, n_scan + 1)[1:]
    grid[-1] = w_max * (1 - 1e-6)
    ok = [affordable(t) for t in grid]
    if not any(ok):
        return DesignResult(False, "infeasible", 0.0, notes=[
            f"no target effort on a {n_scan}-point grid of (0, {w_max:g}) is affordable with budget {budget:g}"])
    k = max(i for i, good in enumerate(ok) if good)
    lo = grid[k]
    hi = grid[k + 1] if k + 1 < grid.size else lo
    while hi - lo > xtol * w_max:
        mid = 0.5 * (lo + hi)
        if affordable(mid):
            lo = mid
        else:
            hi = mid
    res = design_rule(lo, cost, budget=budget, verify=verify, baselines=baselines, **common)
    res.notes = [f"largest affordable target effort within budget {budget:g}: w* = {lo:.6g} "
                 f"(scan of {n_scan} targets, bisection to {xtol * w_max:.3g})"] + res.notes
    return res

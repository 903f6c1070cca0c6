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
        ``True`` only if the LP is solved and (when verified) the rule passes the off-grid re-check.
    status : str
        ``optimal`` (or ``optimal_inaccurate``) for a feasible design; otherwise ``infeasible``
        (or cvxpy's failure status, e.g. ``solver error: ...``). Never ``optimal`` when infeasible.
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
    principal_accuracy : float or None
    notes : list of str
    solver_status : str or None
        cvxpy's own status for the LP (``optimal``, ``infeasible``, ...); ``None`` if no LP was solved
        (the target was refused by a necessary condition first).
    binding : list of str
        Feasible: the constraints that bind at the optimum (positive dual value). Infeasible: the
        violated condition, or the constraint groups in conflict (dropping any one of them makes
        the LP feasible).
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
    solver_status: str | None = None
    binding: list = field(default_factory=list)

    def to_dict(self):
        return {"feasible": self.feasible, "status": self.status, "solver_status": self.solver_status,
                "binding": self.binding, "target_effort": self.target_effort,
                "expected_payment": self.expected_payment, "table": self.table,
                "verification": self.verification, "baselines": self.baselines,
                "principal_accuracy": self.principal_accuracy, "notes": self.notes}


def _features(own, peers, n_items, prior):
    return statistic_features(own, peers, n_items, prior)


def design_rule(target_effort: float, cost="quadratic:0.1", *, n_agents: int = 3, n_items: int = 3,
                prior="normal", w_max: float = 5.0, family: str = "full", n_deviations: int = 121,
                uei_margin: float = 1e-3, budget: float | None = None, verify: bool = True,
                baselines: bool = True, solver: str | None = None,
                robust_to_conventions: bool = False) -> DesignResult:
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
        ``feasible=False``, ``status='infeasible'`` (with cvxpy's status in ``solver_status`` and the
        conflicting constraints in ``binding``) when no table meets the constraints: the LP is
        infeasible, or the types' first-order conditions contradict each other (a mix of types whose
        marginal costs differ at ``w*``: one payment slope cannot equal both), or the LP's optimum on
        its grid of deviations fails the off-grid re-check (``verify=True``).

    With ``robust_to_conventions=True`` the design is made robust to the index convention (spec section 4):
    see :func:`design_robust_rule`, which this call returns.
    """
    if robust_to_conventions:
        return design_robust_rule(target_effort, cost, n_agents=n_agents, n_items=n_items, prior=prior,
                                  w_max=w_max, family=family, n_deviations=n_deviations, uei_margin=uei_margin,
                                  budget=budget, verify=verify, baselines=baselines, solver=solver)
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
    uei = "" if eps_u is None else f" with UEI margin {eps_u:g}"

    # Necessary condition at an interior target: U_k'(w*) = M'(w*) - c_k'(w*) = 0 for every type k, and
    # M is the same for all types. Marginal costs that differ at w* leave no rule at all.
    slopes = [float(c.derivative(w_star)) for c in costs]
    if max(slopes) - min(slopes) > 1e-9 * max(abs(v) for v in slopes):
        k_lo, k_hi = int(np.argmin(slopes)), int(np.argmax(slopes))
        why = (f"first-order condition: w*={w_star:g} is interior, so it needs M'(w*) = c'(w*) for every type, "
               f"but c'(w*) = {slopes[k_lo]:.6g} for {costs[k_lo].spec} and {slopes[k_hi]:.6g} for "
               f"{costs[k_hi].spec}")
        return DesignResult(False, "infeasible", w_star, binding=[why], notes=[
            f"no payment rule makes w*={w_star:g} a best response for every type{uei} (family {family!r}): "
            "the types' marginal costs differ at the target"])

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
    groups = {}
    for w_u in (sorted({w_star, 0.5 * w_star, min(2.0 * w_star, w_max)}) if eps_u is not None else [None]):
        groups = {}                                    # named constraint groups, for the diagnosis
        for c in costs:
            gain = (phi_t - phi_d) / scale
            groups[f"best response of type {c.spec} on {dev.size} deviations"] = \
                gain @ y >= (float(c(w_star)) - c(np.abs(dev))) / scale
            if w_u is not None:
                phi_u = _features([w_u, 0.0], zero, n_items, prior) @ basis
                groups[f"UEI margin {eps_u:g} at w_u={w_u:g} for type {c.spec}"] = \
                    (phi_u[0] - phi_u[1]) / scale @ y >= (float(c(w_u)) + eps_u) / scale
        if budget is not None:
            groups[f"budget {budget:g}"] = phi_t / scale @ y <= budget / scale
        status = _solve(cp.Problem(cp.Minimize(phi_t / scale @ y), list(groups.values())), solver)
        if status in ("optimal", "optimal_inaccurate") and (best is None or phi_t / scale @ y.value < best[0]):
            best = (float(phi_t / scale @ y.value), np.maximum(y.value, 0.0), w_u, status,
                    _binding(groups, dev, w_star))
    if best is None:
        conflict = _conflicts(groups, y, phi_t / scale, solver)
        return DesignResult(False, "infeasible" if status == "infeasible" else status, w_star,
                            solver_status=status, binding=conflict,
                            notes=[f"no non-negative table makes w*={w_star:g} a best response{uei} "
                                   f"(family {family!r}); cvxpy status {status!r}"])
    _, yv, w_u, status, binding = best
    yv = np.where(yv > 1e-9 * yv.max(), yv, 0.0)      # solver noise
    x = basis @ yv
    rule = StatisticRule.from_vector(x, name=f"designed({family})")
    pay = float(phi_t @ yv)
    res = DesignResult(True, status, w_star, rule, pay, solver_status=status, binding=binding,
                       table={"pair": dict(zip(PAIR_LABELS, rule.pair.tolist())),
                              "triple": dict(zip(TRIPLE_LABELS, rule.triple.tolist())),
                              "pair_vector": rule.pair.tolist(), "triple_vector": rule.triple.tolist()},
                       notes=["UEI not imposed" if w_u is None else f"UEI deviation effort used: w_u = {w_u:g}",
                              f"best-response constraints on {dev.size} deviations (efforts x reports)"])
    res.principal_accuracy = principal_utility([Strategy(w_star)] * n_agents, n_items, prior).accuracy
    if verify:
        res.verification = verify_rule(rule, w_star, costs, n_agents, n_items, prior, w_max)
        checks = [res.verification] if len(costs) == 1 else list(res.verification.values())
        failed = [(c, v) for c, v in zip(costs, checks) if not v["is_equilibrium"]]
        if failed:       # optimal on the LP's grid only: the continuous best response beats the target
            res.feasible, res.status = False, "infeasible"
            res.binding = [f"off-grid re-check: type {c.spec} prefers ({v['best_response']['effort']}, "
                           f"{v['best_response']['report']}) to the target, regret {v['regret']:.3g}"
                           for c, v in failed]
            res.notes.insert(0, f"the LP is {status!r} on its grid of deviations, but the rule does not make "
                                f"w*={w_star:g} a best response off the grid")
    if baselines:
        res.baselines = baseline_budgets(w_star, costs[0], n_agents=n_agents, n_items=n_items, prior=prior,
                                         w_max=w_max)
    return res


def _solve(prob, solver) -> str:
    try:
        prob.solve(solver=solver)
    except cp.error.SolverError as exc:
        return f"solver error: {exc}"
    return prob.status


def _binding(groups: dict, dev, w_star) -> list:
    """Constraints with a positive dual value at the optimum (deviations named by effort and report; the
    target itself, a constraint ``0 >= 0``, is left out)."""
    out = []
    for name, con in groups.items():
        dual = np.atleast_1d(np.asarray(con.dual_value if con.dual_value is not None else 0.0, dtype=float))
        top = float(np.max(np.abs(dual)))
        if not top > 1e-9:
            continue
        if dual.size == dev.size:       # one best-response constraint per deviation
            hit = np.flatnonzero((dual > 1e-6 * top) & (np.abs(dev - w_star) > 1e-12 * w_star))
            devs = ", ".join(f"({abs(dev[i]):.6g}, {'honest' if dev[i] >= 0 else 'dishonest'})" for i in hit[:6])
            more = f" and {hit.size - 6} more" if hit.size > 6 else ""
            out.append(f"{name}: deviations {devs}{more}")
        else:
            out.append(name)
    return out


def _conflicts(groups: dict, y, objective, solver) -> list:
    """The constraint groups whose removal alone makes the LP feasible (``x >= 0`` always stays)."""
    if len(groups) < 2:
        return list(groups)
    out = []
    for name in groups:
        rest = [c for n, c in groups.items() if n != name]
        if _solve(cp.Problem(cp.Minimize(objective @ y), rest), solver) in ("optimal", "optimal_inaccurate"):
            out.append(f"{name} (dropping it makes the LP feasible)")
    return out or [f"all of: {'; '.join(groups)} (no single group can be dropped)"]


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
                 out_png=None, family="full", uei_margin=1e-3) -> dict:
    """Minimal budget vs target effort for the designed rule and each scaled classic rule (+ figure).

    ``family`` and ``uei_margin`` are passed to :func:`design_rule` for the designed rule."""
    targets = [check_real("target", t, low=0.0, high=w_max, low_open=True, high_open=True) for t in targets]
    rows = {"target": list(targets), "designed": []}
    for name in BASELINES:
        rows[name] = []
    for t in targets:
        d = design_rule(t, cost, n_agents=n_agents, n_items=n_items, prior=prior, w_max=w_max, verify=False,
                        family=family, uei_margin=uei_margin)
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


# -- robust to conventions (issue 12, spec section 4) ------------------------------------------------

#: Convention probabilities of the deviations and uninformative profiles in the robust LP (every rule's
#: payment is a polynomial in q; the off-grid verification checks every q exactly).
ROBUST_Q = np.linspace(0.0, 1.0, 5)


def design_robust_rule(target_effort: float, cost="quadratic:0.1", *, n_agents: int = 3, n_items: int = 3,
                       prior="normal", w_max: float = 5.0, family: str = "full", n_deviations: int = 61,
                       uei_margin: float | None = 1e-3, collusion_margin: float = 1e-3,
                       budget: float | None = None, verify: bool = True, baselines: bool = True,
                       solver: str | None = None) -> DesignResult:
    """Minimum-budget rule that makes ``(w*, h, q = 0)`` a symmetric equilibrium against *extended* deviations
    and pays every uninformative symmetric profile strictly less (collusion-proofness), with UEI.

    The table of :func:`design_rule` cannot tell the convention from information: its statistics (agreement,
    own coherence, bonus, penalty) are all maximal when everyone reports the index order.  The robust table
    adds the statistic that penalises agreement across *different* pairs, as CA does: one more non-negative
    column, the CA rule at ``z = 1`` (agreement on the same pair minus agreement on distinct pairs, shifted to
    ``[0, 2]``), on which the convention earns exactly what zero effort earns.  The LP (variables ``y >= 0``):

        minimise    phi(w*, 0 | w*, 0) . y
        subject to  U(w*, h, 0) >= U(dev, f, q)           for dev on a grid of [0, w_max], f in {h, not-h},
                                                           q in ROBUST_Q (deviations to the convention)
                    U(w_u, h, 0 | 0) >= U(0, h, 0 | 0) + eps  (the paper's UEI; see below)
                    U(all at (0, q)) <= U(w*) - eps_c      for q in ROBUST_Q (collusion: every uninformative
                                                           symmetric profile pays less than the target)
                    U(member of k on (0, q_c)) <= U(w*) - eps_c   for k = 2..N, q_c in {0, 1} (coalitions)
                    phi(w*) . y <= budget                  (optional)

    Extended UEI (effort beats the convention against zero-effort peers) is not imposed: against fair-coin peers
    every column except own coherence is flat, and own coherence is largest on the convention, so no table of
    these statistics meets it; the verification reports it.

    The designed rule (a :class:`mechanisms.WeightedRule` of the table and the CA term) is verified off the
    grid with :func:`equilibria.extended.check_properties_extended` (certified extended best responses,
    equilibria, ``collusion_proof``, coalitions), and the *price of robustness* is the budget ratio against
    the paper-space design for the same target.

    Returns
    -------
    DesignResult
        ``verification['extended']`` holds the extended verdicts; ``price_of_robustness`` (in ``notes`` and
        ``verification``) the budgets with and without robustness.
    """
    from mechanisms.combined import WeightedRule

    from .extended import check_properties_extended, extended_best_response
    w_max = check_real("w_max", w_max, low=0.0, low_open=True)
    w_star = check_real("target_effort", target_effort, low=0.0, high=w_max, low_open=True, high_open=True)
    n_agents = check_int("n_agents", n_agents, low=3)
    n_items = check_int("n_items", n_items, low=3)
    n_dev = check_int("n_deviations", n_deviations, low=5)
    eps_u = None if uei_margin is None else check_real("uei_margin", uei_margin, low=0.0)
    eps_c = check_real("collusion_margin", collusion_margin, low=0.0)
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {{{', '.join(FAMILIES)}}}, got {family!r}")
    if budget is not None:
        budget = check_real("budget", budget, low=0.0, low_open=True)
    prior = as_prior(prior)
    costs = [parse_cost(c) for c in (cost if isinstance(cost, (list, tuple)) else [cost])]
    if len(costs) > 1:
        raise ValueError("cost must be a single cost with robust_to_conventions (mixed types are not supported)")
    c = costs[0]
    basis = FAMILIES[family]
    comps = [StatisticRule.from_vector(basis[:, j]) for j in range(basis.shape[1])] + [CA(1.0)]
    n1 = n_agents - 1

    def phi(own_eps, own_q, peers_eps, peers_q):
        """(n_own, n_q, n_comp) exact extended expected payments of every column."""
        return np.stack([m.extended_curve(own_eps, own_q, np.full(n1, peers_eps) if np.ndim(peers_eps) == 0
                                          else peers_eps, np.full(n1, peers_q), n_items, prior)
                         for m in comps], axis=-1)
    w = np.linspace(0.0, w_max, n_dev)
    near = [w_star * (1 - 1e-4), min(w_star * (1 + 1e-4), w_max)]
    dev = np.unique(np.concatenate([-w[::-1], w[1:], near]))
    phi_t = phi([w_star], [0.0], w_star, 0.0)[0, 0]
    phi_d = phi(dev, ROBUST_Q, w_star, 0.0)                       # (n_dev, n_q, n_comp)
    cost_d = np.repeat(c(np.abs(dev))[:, None], ROBUST_Q.size, axis=1)
    phi_dev = phi_d.reshape(-1, len(comps))
    cost_dev = cost_d.reshape(-1)
    phi_sym = np.stack([phi([0.0], [q], 0.0, q)[0, 0] for q in ROBUST_Q])    # all agents at (0, q)
    phi_zero = phi([0.0], ROBUST_Q, 0.0, 0.0)[0]                   # own (0, q) against zero-effort peers
    scale = float(np.abs(phi_t).max()) or 1.0
    y = cp.Variable(len(comps), nonneg=True)
    best, groups, status = None, {}, "infeasible"
    for w_u in (sorted({w_star, 0.5 * w_star, min(2.0 * w_star, w_max)}) if eps_u is not None else [None]):
        groups = {f"extended best response of {c.spec} on {dev.size} efforts x {ROBUST_Q.size} convention "
                  "probabilities": (phi_t - phi_dev) / scale @ y >= (float(c(w_star)) - cost_dev) / scale,
                  f"collusion margin {eps_c:g}: every uninformative symmetric profile (0, q) pays less":
                      (phi_t - phi_sym) / scale @ y >= (float(c(w_star)) + eps_c) / scale}
        for k in range(2, n_agents + 1):       # coalitions of k agents on the convention or at zero effort
            for name, q_dev in (("convention", 1.0), ("zero effort", 0.0)):
                pe = np.array([0.0] * (k - 1) + [w_star] * (n_agents - k))
                pq = np.array([q_dev] * (k - 1) + [0.0] * (n_agents - k))
                ph = np.stack([m.extended_curve([0.0], [q_dev], pe, pq, n_items, prior)[0, 0] for m in comps])
                groups[f"coalition of {k} on {name}: each member pays less than at the target"] = \
                    (phi_t - ph) / scale @ y >= (float(c(w_star)) + eps_c) / scale
        if w_u is not None:
            phi_u = phi([w_u], [0.0], 0.0, 0.0)[0, 0]
            # the paper's UEI (zero effort, q = 0): against fair-coin peers every column but own coherence is
            # flat and own coherence is largest on the convention, so no table of these statistics can make
            # effort beat the convention there (extended UEI is reported by the verification)
            groups[f"UEI margin {eps_u:g} at w_u={w_u:g} (paper space)"] = \
                (phi_u - phi_zero[0]) / scale @ y >= (float(c(w_u)) + eps_u) / scale
        if budget is not None:
            groups[f"budget {budget:g}"] = phi_t / scale @ y <= budget / scale
        status = _solve(cp.Problem(cp.Minimize(phi_t / scale @ y), list(groups.values())), solver)
        if status in ("optimal", "optimal_inaccurate") and (best is None or phi_t / scale @ y.value < best[0]):
            best = (float(phi_t / scale @ y.value), np.maximum(y.value, 0.0), w_u, status,
                    _binding(groups, dev, w_star))
    if best is None:
        conflict = _conflicts(groups, y, phi_t / scale, solver)
        return DesignResult(False, "infeasible" if status == "infeasible" else status, w_star,
                            solver_status=status, binding=conflict, notes=[
                                f"no non-negative table with a CA term makes w*={w_star:g} an extended equilibrium "
                                f"robust to conventions (family {family!r}); cvxpy status {status!r}"])
    _, yv, w_u, status, binding = best
    yv = np.where(yv > 1e-9 * yv.max(), yv, 0.0)
    x = basis @ yv[:-1]
    table_rule = StatisticRule.from_vector(x, name=f"designed({family})") if np.any(x > 0) else None
    parts = ([table_rule] if table_rule is not None else []) + ([CA(1.0)] if yv[-1] > 0 else [])
    weights = ([1.0] if table_rule is not None else []) + ([float(yv[-1])] if yv[-1] > 0 else [])
    rule = WeightedRule(parts, weights, name=f"robust({family})")
    pay = float(phi_t @ yv)
    res = DesignResult(True, status, w_star, rule, pay, solver_status=status, binding=binding,
                       table={"pair": dict(zip(PAIR_LABELS, x[:4].tolist())),
                              "triple": dict(zip(TRIPLE_LABELS, x[4:].tolist())),
                              "pair_vector": x[:4].tolist(), "triple_vector": x[4:].tolist(),
                              "cross_pair_ca": float(yv[-1])},
                       notes=["robust to conventions: extended deviations (q in "
                              f"{ROBUST_Q.tolist()}), collusion and coalition constraints, the paper's UEI, plus a CA column",
                              "UEI not imposed" if w_u is None else f"UEI deviation effort used: w_u = {w_u:g}"])
    res.principal_accuracy = principal_utility([Strategy(w_star)] * n_agents, n_items, prior).accuracy
    plain = design_rule(w_star, c, n_agents=n_agents, n_items=n_items, prior=prior, w_max=w_max, family=family,
                        n_deviations=n_dev, uei_margin=uei_margin, verify=False, baselines=False, solver=solver)
    por = {"budget_robust": pay, "budget_paper_space": plain.expected_payment if plain.feasible else None,
           "ratio": pay / plain.expected_payment if plain.feasible and plain.expected_payment else None}
    res.notes.append("price of robustness: budget " + (f"{pay:.6g} vs {plain.expected_payment:.6g} in the paper's "
                                                      f"space (x{por['ratio']:.4g})" if por["ratio"] else
                                                      f"{pay:.6g} (the paper-space design is infeasible)"))
    if verify:
        game = Game(rule, c, n_agents, n_items, prior, w_max)
        br = extended_best_response(game, Strategy(w_star))
        u_t = game.utility(Strategy(w_star), Strategy(w_star))
        regret = max(br.utility - u_t, 0.0) / game.payoff_scale
        props = check_properties_extended(game, max_evaluations=120)
        res.verification = {
            "strategy_space": "extended", "best_response": br.to_dict(), "utility_at_target": u_t,
            "regret": regret, "is_equilibrium": regret <= 1e-6, "UEI": props.UEI.holds,
            "omega_BNIC": props.omega_BNIC.holds, "EC": props.EC.holds,
            "collusion_proof": props.collusion_proof.holds, "collusion_margin": props.collusion_proof.margin,
            "coalition_proof": props.coalition_proof.holds, "price_of_robustness": por}
        if regret > 1e-6:
            res.feasible, res.status = False, "infeasible"
            res.binding = [f"off-grid re-check: ({br.effort:.6g}, {br.report}, q={br.convention_prob:.3g}) beats "
                           f"the target, regret {regret:.3g}"]
            res.notes.insert(0, f"the LP is {status!r} on its grid, but the rule does not make w*={w_star:g} an "
                                "extended best response off the grid")
    else:
        res.verification = {"price_of_robustness": por}
    if baselines:
        res.baselines = baseline_budgets(w_star, c, n_agents=n_agents, n_items=n_items, prior=prior, w_max=w_max)
    return res

"""``python -m equilibria {best-response,equilibria,check,threshold,report}``.

Shares the game arguments of ``python -m mechanisms payoff`` plus ``--cost NAME:K[:P]``.  Bad input
prints one line on stderr and exits with status 2.
"""
from __future__ import annotations

import json
import math

from agents import Strategy, parse_cost
from agents._validation import check_int, check_real
from mechanisms import make_mechanism
from mechanisms.__main__ import _Parser, add_game_arguments, run_cli

from .best_response import best_response
from .game import Game
from .properties import check_properties
from .symmetric import symmetric_equilibria
from .thresholds import threshold


def _costs(text):
    """``NAME:K[:P]`` or a comma-separated list, one per agent (heterogeneous population)."""
    parts = [c for c in str(text).split(",")]
    costs = [parse_cost(c) for c in parts]
    return costs[0] if len(costs) == 1 else costs


def _game(args) -> Game:
    mech = make_mechanism(args.mechanism, args.z, args.y, args.coherence)
    cost = _costs(args.cost)
    if isinstance(cost, list) and len(cost) != args.agents:
        raise ValueError(f"cost must list one cost per agent ({args.agents}, from --agents), got {len(cost)}")
    return Game(mech, cost, args.agents, args.items, args.prior, args.w_max)


def _print(args, obj, text):
    print(json.dumps(obj, default=_json_default) if args.json else text)


def _json_default(o):
    if isinstance(o, float) and not math.isfinite(o):
        return None
    if hasattr(o, "tolist"):
        return o.tolist()
    raise TypeError(type(o))


def _cmd_best_response(args):
    tol = check_real("tol", args.tol, low=0.0, low_open=True)
    g = _game(args)
    agent = check_int("agent", args.agent, low=0, high=g.n_agents - 1)
    br = best_response(g, Strategy(args.peer_effort, args.peer_report), tol=tol, agent=agent)
    out = br.to_dict()
    if br.tied:
        out["utility"] = [m.utility for m in br.maximisers]
        out["effort"] = [m.effort for m in br.maximisers]
        out["report"] = [m.report for m in br.maximisers]
    text = "best response: " + ", ".join(f"({m.effort:.6g}, {m.report}) U={m.utility:.10g}" for m in br.maximisers)
    _print(args, out, text + (" [tied]" if br.tied else ""))
    return 0


def _cmd_equilibria(args):
    tol = check_real("tol", args.tol, low=0.0, low_open=True)
    g = _game(args)
    if g.heterogeneous:
        from .asymmetric import asymmetric_equilibria
        found = asymmetric_equilibria(g, tol=tol, seed=args.seed)
        lines = [f"{'efforts':>30} {'reports':>30} {'max regret':>10}"]
        lines += [f"{', '.join(f'{s.effort:.6g}' for s in e.strategies):>30} "
                  f"{', '.join(s.report for s in e.strategies):>30} {max(e.regrets):10.1e}" for e in found]
        _print(args, found.to_dict(), "\n".join(lines + found.notes))
        return 0
    eqs = symmetric_equilibria(g, tol=tol)
    lines = [f"search domain [0, {eqs.domain:.6g}] (" + ("user cap w_max" if g.bound.binding else
             "derived effort bound: every larger effort is strictly dominated") + ")"]
    lines += [f"{'effort':>10} {'report':>9} {'utility':>14} {'regret':>9} {'slope':>9} stable"]
    lines += [f"{e.effort:10.6g} {e.report:>9} {e.utility:14.10g} {e.regret:9.1e} "
              f"{'n/a' if e.slope is None else format(e.slope, '9.4g'):>9} {e.stable}"
              + (" (mirror)" if e.mirror else "") + (" (at the cap w_max)" if e.at_bound else "") for e in eqs]
    _print(args, eqs.to_dict(), "\n".join(lines + eqs.notes))
    return 0


def _cmd_check(args):
    tol = check_real("tol", args.tol, low=0.0, low_open=True)
    rep = check_properties(_game(args), tol=tol, seed=args.seed)
    d = rep.to_dict()
    text = "\n".join(f"{k}: holds={v['holds']} margin={v['margin']:.6g}"
                      + (f" ({v['evidence']['reason']})" if v["evidence"].get("reason") else "")
                      for k, v in d.items() if isinstance(v, dict))
    if rep.scope == "heterogeneous":
        text += "\n(heterogeneous costs: verdicts over the equilibria found by best-response dynamics)"
    _print(args, d, text)
    return 0


def _cmd_threshold(args):
    g = _game(args)
    if g.heterogeneous:
        raise ValueError("cost must be a single cost family for threshold (z/k scales one cost)")
    kw = {} if args.property.strip() == "UEI" else {"rtol": check_real("tol", args.tol, low=0.0, low_open=True,
                                                                       high=0.5)}
    th = threshold(g, args.property, **kw)
    d = th.to_dict()
    _print(args, d, f"{th.property}: z/k threshold = {th.z_over_k:.6g} ({th.method}); sympy: {th.sympy_z_over_k}"
           + "".join(f"\n  {n}" for n in th.notes))
    return 0


def _cmd_design(args):
    from .design import budget_curve, design_max_faithfulness, design_rule
    costs = [parse_cost(c) for c in args.cost.split(",")]
    w_max = 5.0 if args.w_max is None else args.w_max      # the design LP's own grid of deviations
    common = dict(n_agents=args.agents, n_items=args.items, prior=args.prior, w_max=w_max,
                  family=args.family, uei_margin=None if args.no_uei else args.uei_margin)
    cost = costs if len(costs) > 1 else costs[0]
    if args.maximise_faithfulness:
        if args.budget is None:
            raise ValueError("budget is required with --maximise-faithfulness (--budget B with B > 0)")
        res = design_max_faithfulness(args.budget, cost, **common)
    else:
        if args.target_effort is None:
            raise ValueError("target_effort is required (--target-effort W with 0 < W < w_max)")
        res = design_rule(args.target_effort, cost, budget=args.budget, **common)
    out = res.to_dict()
    if args.figure:
        targets = [w_max * f for f in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6)]
        out["budget_curve"] = budget_curve(targets, costs[0], n_agents=args.agents, n_items=args.items,
                                           prior=args.prior, w_max=w_max, out_png=args.figure)
    if not res.feasible:
        text = f"infeasible: {res.status}; " + "; ".join(res.notes)
    else:
        lines = [f"designed rule for w* = {res.target_effort:g}: expected payment {res.expected_payment:.6g}, "
                 f"principal's accuracy (eq. 3) {res.principal_accuracy:.4f}",
                 "  pair table:   " + ", ".join(f"{k}={v:.4g}" for k, v in res.table["pair"].items()),
                 "  triple table: " + ", ".join(f"{k}={v:.4g}" for k, v in res.table["triple"].items())]
        v = res.verification
        if "regret" in v:
            lines.append(f"  verification: regret {v['regret']:.2e}, UEI {v['UEI']}, omega-BNIC "
                         f"{v['omega_BNIC']}, EC {v['EC']}")
        lines.append("  baselines (budget to reach w*): " + ", ".join(
            f"{k}={b['expected_payment']:.4g}" if b.get("reaches_target") else f"{k}=unreachable"
            for k, b in res.baselines.items()))
        text = "\n".join(lines)
    _print(args, out, text)
    return 0


def _cmd_report(args):
    from .report import run_report
    run_report(args.out, agents=args.agents, items=args.items, prior=args.prior, w_max=args.w_max,
               as_json=args.json, jobs=check_int("jobs", args.jobs, low=1, high=64))
    return 0


def build_parser():
    parser = _Parser(prog="python -m equilibria", description="Equilibria and incentive properties.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def game_parser(name, help_):
        p = sub.add_parser(name, help=help_)
        add_game_arguments(p)
        p.add_argument("--cost", default="quadratic:0.1",
                       help="NAME:K[:P], e.g. quadratic:0.1, power:0.1:1.5; or one per agent, comma-separated")
        p.add_argument("--seed", type=int, default=0, help="seed of the heterogeneous search's random starts")
        p.add_argument("--w-max", type=float, default=None,
                       help="optional cap on efforts (default: none; the derived effort bound is searched)")
        p.add_argument("--tol", type=float, default=1e-7, help="relative regret/tie tolerance (default 1e-7)")
        return p
    p = game_parser("best-response", "global best response against symmetric peers")
    p.add_argument("--peer-effort", type=float, required=True)
    p.add_argument("--peer-report", default="honest")
    p.add_argument("--agent", type=int, default=0, help="whose cost applies (heterogeneous costs)")
    p.set_defaults(func=_cmd_best_response, tol=1e-9)
    game_parser("equilibria", "all symmetric equilibria with regret certificates").set_defaults(func=_cmd_equilibria)
    game_parser("check", "UEI, omega-BNIC and EC verdicts with evidence").set_defaults(func=_cmd_check)
    p = game_parser("threshold", "threshold on z/k for a cost family")
    p.add_argument("--property", required=True, help="UEI or omega_BNIC")
    p.set_defaults(tol=1e-4)
    p.set_defaults(func=_cmd_threshold)
    p = game_parser("design", "cheapest payment table implementing a target effort (cvxpy LP)")
    p.add_argument("--target-effort", type=float, default=None, help="target effort w*, 0 < w* < w_max")
    p.add_argument("--budget", type=float, default=None, help="cap on the expected payment at the target")
    p.add_argument("--family", default="full", help="full, pair, triple, ppa or apa (default full)")
    p.add_argument("--uei-margin", type=float, default=1e-3, help="UEI margin eps (default 1e-3)")
    p.add_argument("--no-uei", action="store_true", help="drop the UEI constraint")
    p.add_argument("--maximise-faithfulness", action="store_true",
                   help="choose the target: the largest effort (most faithful aggregation) within --budget")
    p.add_argument("--figure", default=None, help="also write the budget-vs-target figure to this PNG")
    p.set_defaults(func=_cmd_design)
    p = sub.add_parser("report", help="the main job: property table, thresholds, figures")
    p.add_argument("--out", default="report", help="output directory (default ./report)")
    p.add_argument("--agents", type=int, default=4)
    p.add_argument("--items", type=int, default=4)
    p.add_argument("--prior", default="normal")
    p.add_argument("--w-max", type=float, default=None, help="optional effort cap (default: derived bounds)")
    p.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    p.add_argument("--json", action="store_true", help="print the JSON summary instead of the table")
    p.set_defaults(func=_cmd_report)
    return parser


def main(argv=None) -> int:
    return run_cli(build_parser(), argv)


if __name__ == "__main__":
    raise SystemExit(main())

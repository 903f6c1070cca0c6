"""``python -m equilibria {best-response,equilibria,check,threshold,design,report,atlas}`` (console script
``equilibria``).

Shares the game arguments of ``python -m mechanisms payoff`` plus ``--cost NAME:K[:P]``.  Bad input
prints one line on stderr and exits with status 2; a flag that a subcommand cannot honour is refused;
output paths are checked before any work; ``--help`` shows the defaults of the code
(``docs/vocabulary.md``).  Heavy modules are imported by the subcommands, so ``--help`` starts fast.
"""
from __future__ import annotations

import math

from agents._cli import (check_out_dir, check_out_file, check_sizes, conflict, dumps, finite_float, given,
                         prog_name, refuse)
from agents._validation import check_effort, check_int, check_real
from mechanisms.__main__ import _Parser, add_game_arguments, make_cli_mechanism, run_cli


def _costs(text):
    """``NAME:K[:P]`` or a comma-separated list, one per agent (heterogeneous population)."""
    from agents import parse_cost

    costs = [parse_cost(c) for c in str(text).split(",")]
    return costs[0] if len(costs) == 1 else costs


def _game(args):
    from .game import Game

    check_sizes(args)
    mech = make_cli_mechanism(args)
    cost = _costs(args.cost)
    if isinstance(cost, list) and len(cost) != args.agents:
        raise ValueError(f"--cost must list one cost per agent ({args.agents}, from --agents), got {len(cost)}")
    if not isinstance(cost, list):
        refuse(args, ["seed"], "only to heterogeneous costs (one --cost per agent, comma-separated)")
    elif getattr(args, "seed", 0) < 0:
        raise ValueError(f"--seed must be a non-negative integer, got {args.seed}")
    return Game(mech, cost, args.agents, args.items, args.prior, args.w_max)


def _print(args, obj, text):
    print(dumps(obj) if args.json else text)


def _num(v, fmt=".6g"):
    """A number for the text output; never ``inf``/``nan`` (they are said in words)."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "undetermined"
    if isinstance(v, float) and math.isinf(v):
        return "unbounded" if v > 0 else "-unbounded"
    return format(v, fmt)


def _tol(args):
    return check_real("--tol", args.tol, low=0.0, low_open=True, high=0.5)


def _extended(args, g=None) -> bool:
    """``--strategy-space extended`` (spec section 4); refused for heterogeneous costs."""
    ext = getattr(args, "strategy_space", "paper") == "extended"
    if ext and g is not None and g.heterogeneous:
        raise ValueError("--strategy-space extended needs one cost for every agent (symmetric games)")
    return ext


def _cmd_best_response(args):
    from agents import Strategy, parse_report

    from .best_response import best_response

    tol = _tol(args)
    g = _game(args)
    agent = check_int("--agent", args.agent, low=0, high=g.n_agents - 1)
    if not g.heterogeneous:
        refuse(args, ["agent"], "only to heterogeneous costs (one --cost per agent, comma-separated)")
    report = parse_report(args.peer_report, "--peer-report", allow_convention=True)
    q = check_real("--peer-convention-prob", args.peer_convention_prob, low=0.0, high=1.0)
    if report == "convention" and given(args, "peer_convention_prob") and q < 1.0:
        raise ValueError(f"--peer-report convention and --peer-convention-prob {q:g} exclude each other "
                         "(convention means q = 1)")
    if not _extended(args, g):
        if report == "convention" or q > 0.0:
            raise ValueError("--peer-report convention and --peer-convention-prob need --strategy-space extended "
                             "(the paper's space has no convention)")
    else:
        from .extended import extended_best_response
        if report == "convention":
            report, q = "honest", 1.0
        peer = Strategy(check_effort("--peer-effort", args.peer_effort), report, convention_prob=q)
        br = extended_best_response(g, peer, tol=tol, agent=agent)
        text = "best response (extended space): " + ", ".join(
            f"({_num(m['effort'])}, {m['report']}, q={_num(m['convention_prob'], '.4g')}) "
            f"U={_num(m['utility'], '.10g')}" for m in br.maximisers)
        _print(args, br.to_dict(), text + ("" if br.informed else " [uninformative]"))
        return 0
    peer = Strategy(check_effort("--peer-effort", args.peer_effort), report)
    br = best_response(g, peer, tol=tol, agent=agent)
    out = br.to_dict()
    if br.tied:
        out["utility"] = [m.utility for m in br.maximisers]
        out["effort"] = [m.effort for m in br.maximisers]
        out["report"] = [m.report for m in br.maximisers]
    text = "best response: " + ", ".join(f"({_num(m.effort)}, {m.report}) U={_num(m.utility, '.10g')}"
                                         for m in br.maximisers)
    _print(args, out, text + (" [tied]" if br.tied else ""))
    return 0


def _cmd_equilibria(args):
    tol = _tol(args)
    g = _game(args)
    if g.heterogeneous:
        from .asymmetric import asymmetric_equilibria
        found = asymmetric_equilibria(g, tol=tol, seed=args.seed)
        lines = [f"{'efforts':>30} {'reports':>30} {'max regret':>10}"]
        lines += [f"{', '.join(_num(s.effort) for s in e.strategies):>30} "
                  f"{', '.join(s.report for s in e.strategies):>30} {_num(max(e.regrets), '10.1e')}" for e in found]
        _print(args, found.to_dict(), "\n".join(lines + found.notes))
        return 0
    if _extended(args, g):
        from .extended import extended_equilibria
        eqs = extended_equilibria(g, tol=tol)
        lines = [f"extended strategy space (w, f, q): search domain [0, {_num(eqs.domain)}], "
                 + ("complete" if eqs.complete else "incomplete (see notes)")]
        lines += [f"{'effort':>10} {'report':>9} {'q':>6} {'kind':>11} {'utility':>14} {'regret':>9}"]
        lines += [f"{_num(e.effort, '10.6g')} {e.report:>9} {_num(e.convention_prob, '6.3g')} {e.kind:>11} "
                  f"{_num(e.utility, '14.10g')} {_num(e.regret, '9.1e')}" + (" (mirror)" if e.mirror else "")
                  for e in eqs]
        lines += [f"not an equilibrium: ({_num(e.effort)}, {e.report}, q={_num(e.convention_prob, '.3g')}) "
                  f"U={_num(e.utility, '.10g')}, beaten by ({_num(e.best_deviation.get('effort'))}, "
                  f"{e.best_deviation.get('report')}, q={_num(e.best_deviation.get('convention_prob'), '.3g')})"
                  for e in eqs.rejected]
        _print(args, eqs.to_dict(), "\n".join(lines + eqs.notes))
        return 0
    from .symmetric import symmetric_equilibria

    eqs = symmetric_equilibria(g, tol=tol)
    lines = [f"search domain [0, {_num(eqs.domain)}] (" + ("user cap w_max" if g.bound.binding else
             "derived effort bound: every larger effort is strictly dominated") + ")"]
    lines += [f"{'effort':>10} {'report':>9} {'utility':>14} {'regret':>9} {'slope':>9} stable"]
    lines += [f"{_num(e.effort, '10.6g')} {e.report:>9} {_num(e.utility, '14.10g')} {_num(e.regret, '9.1e')} "
              f"{'n/a' if e.slope is None else _num(e.slope, '9.4g'):>9} {e.stable}"
              + (" (mirror)" if e.mirror else "") + (" (at the cap w_max)" if e.at_bound else "") for e in eqs]
    _print(args, eqs.to_dict(), "\n".join(lines + eqs.notes))
    return 0


def _cmd_check(args):
    from .properties import check_properties

    tol = _tol(args)
    g = _game(args)
    if _extended(args, g):
        from .extended import check_properties_extended
        rep = check_properties_extended(g, tol=tol)
    else:
        rep = check_properties(g, tol=tol, seed=args.seed)
    d = rep.to_dict()
    text = "\n".join(f"{k}: holds={v['holds']} margin={_num(v['margin'])}"
                     + (f" ({v['evidence']['reason']})" if v["evidence"].get("reason") else "")
                     for k, v in d.items() if isinstance(v, dict))
    if rep.scope == "heterogeneous":
        text += "\n(heterogeneous costs: verdicts over the equilibria found by best-response dynamics)"
    _print(args, d, text)
    return 0


def _cmd_threshold(args):
    from agents._validation import check_choice

    from .thresholds import threshold

    if _extended(args):
        from .extended import EXTENDED_PROPERTIES, extended_threshold
        prop = check_choice("--property", args.property, EXTENDED_PROPERTIES)
        if "," in str(args.cost):
            raise ValueError("--cost must be a single cost family for threshold (z/k scales one cost)")
        th = extended_threshold(_game(args), prop, rtol=_tol(args))
        d = th.to_dict()
        value = "never (for every z/k scanned)" if d["never"] else _num(th.z_over_k)
        _print(args, d, f"{th.property} (extended space): z/k threshold = {value} ({th.method})"
               + "".join(f"\n  {n}" for n in th.notes))
        return 0
    prop = check_choice("--property", args.property, ("UEI", "omega_BNIC"))
    if prop == "UEI":
        refuse(args, ["tol"], "to --property omega_BNIC only (the bisection's relative tolerance; the UEI "
                              "threshold is a global minimisation to 1e-10)")
    kw = {} if prop == "UEI" else {"rtol": _tol(args)}
    if "," in str(args.cost):
        raise ValueError("--cost must be a single cost family for threshold (z/k scales one cost)")
    g = _game(args)
    th = threshold(g, prop, **kw)
    d = th.to_dict()
    value = "never (for every z/k)" if d["never"] else _num(th.z_over_k)
    local = "none" if th.sympy_z_over_k is None else (
        "no finite local value" if math.isinf(th.sympy_z_over_k) else _num(th.sympy_z_over_k))
    _print(args, d, f"{th.property}: z/k threshold = {value} ({th.method}); sympy: {local}"
           + "".join(f"\n  {n}" for n in th.notes))
    return 0


def _cmd_design(args):
    from agents import parse_cost

    figure = None
    if args.figure:
        figure = check_out_file("--figure", args.figure, suffixes=("png", "pdf", "svg"))
    conflict(args, "maximise_faithfulness", "target_effort")
    conflict(args, "no_uei", "uei_margin")
    check_sizes(args)
    costs = [parse_cost(c) for c in args.cost.split(",")]
    if figure and len(costs) > 1:
        raise ValueError("--figure plots one cost; give a single --cost (a mix of types has no single curve)")
    w_max = check_real("--w-max", args.w_max, low=0.0, low_open=True)
    if args.budget is not None:
        check_real("--budget", args.budget, low=0.0, low_open=True)
    if args.target_effort is not None:
        check_real("--target-effort", args.target_effort, low=0.0, high=w_max, low_open=True, high_open=True)
    uei = None if args.no_uei else check_real("--uei-margin", args.uei_margin, low=0.0)
    from .design import FAMILIES, budget_curve, design_max_faithfulness, design_rule
    if args.family not in FAMILIES:
        raise ValueError(f"--family must be one of {{{', '.join(FAMILIES)}}}, got {args.family!r}")
    common = dict(n_agents=args.agents, n_items=args.items, prior=args.prior, w_max=w_max,
                  family=args.family, uei_margin=uei)
    cost = costs if len(costs) > 1 else costs[0]
    if args.robust_to_conventions:
        if args.maximise_faithfulness:
            raise ValueError("--robust-to-conventions and --maximise-faithfulness exclude each other")
        if len(costs) > 1:
            raise ValueError("--robust-to-conventions needs a single --cost (mixed types are not supported)")
        if figure:
            raise ValueError("--figure plots the paper-space budget curve; it excludes --robust-to-conventions")
        common["robust_to_conventions"] = True
    if args.maximise_faithfulness:
        if args.budget is None:
            raise ValueError("--maximise-faithfulness needs --budget B (B > 0)")
        res = design_max_faithfulness(args.budget, cost, **common)
    else:
        if args.target_effort is None:
            raise ValueError(f"--target-effort W is required (0 < W < --w-max {w_max:g}), or --maximise-faithfulness")
        res = design_rule(args.target_effort, cost, budget=args.budget, **common)
    out = res.to_dict()
    if figure:
        targets = [w_max * f for f in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6)]
        out["budget_curve"] = budget_curve(targets, costs[0], out_png=figure, **common)
    if not res.feasible:
        text = (f"infeasible (cvxpy status: {res.solver_status or 'not solved'})"
                + "".join(f"\n  conflicting: {b}" for b in res.binding)
                + "".join(f"\n  {n}" for n in res.notes))
    else:
        lines = [f"designed rule for w* = {res.target_effort:g}: expected payment {_num(res.expected_payment)}, "
                 f"principal's accuracy (eq. 3) {_num(res.principal_accuracy, '.4f')} (cvxpy status: {res.status})",
                 "  pair table:   " + ", ".join(f"{k}={v:.4g}" for k, v in res.table["pair"].items()),
                 "  triple table: " + ", ".join(f"{k}={v:.4g}" for k, v in res.table["triple"].items())]
        lines += [f"  binding: {b}" for b in res.binding]
        v = res.verification
        checks = {"": v} if "regret" in v else v
        for name, c in checks.items():
            lines.append(f"  verification{' ' + name if name else ''}: regret {c['regret']:.2e}, UEI {c['UEI']}, "
                         f"omega-BNIC {c['omega_BNIC']}, EC {c['EC']}")
        if "cross_pair_ca" in res.table:
            lines.insert(3, f"  cross-pair (CA) term weight: {res.table['cross_pair_ca']:.4g}")
        if "collusion_proof" in v:
            por = v["price_of_robustness"]
            lines.append(f"  extended space: collusion-proof {v['collusion_proof']}, k-coalition-proof "
                         f"{v['coalition_proof']}; price of robustness: budget {_num(por['budget_robust'])} vs "
                         f"{_num(por['budget_paper_space'])} in the paper's space (x{_num(por['ratio'], '.4g')})")
        lines.append("  baselines (budget to reach w*): " + ", ".join(
            f"{k}={b['expected_payment']:.4g}" if b.get("reaches_target") else f"{k}=unreachable"
            for k, b in res.baselines.items()))
        text = "\n".join(lines)
    _print(args, out, text)
    return 0


def _cmd_report(args):
    import os

    out = check_out_dir("--out", args.out)
    jobs = args.jobs if args.jobs != -1 else (os.cpu_count() or 1)
    jobs = check_int("--jobs", jobs, low=1, high=64)
    check_sizes(args)
    if args.w_max is not None:
        check_real("--w-max", args.w_max, low=0.0, low_open=True)
    from .report import run_report
    run_report(out, n_agents=args.agents, n_items=args.items, prior=args.prior, w_max=args.w_max,
               strategy_space=args.strategy_space,
               as_json=args.json, n_jobs=jobs)
    return 0


def _cmd_atlas(args):
    import os
    import sys

    out = check_out_dir("--out", args.out)
    conflict(args, "jobs", "dask_local")
    conflict(args, "jobs", "scheduler")
    conflict(args, "dask_local", "scheduler")
    jobs = args.jobs if args.jobs != -1 else (os.cpu_count() or 1)
    jobs = check_int("--jobs", jobs, low=1, high=64)
    if args.dask_local is not None:
        check_int("--dask-local", args.dask_local, low=1, high=64)
    if args.scheduler is not None:
        from agents._parallel import check_scheduler
        check_scheduler(args.scheduler, "--scheduler")
    from .atlas import atlas, summary_lines
    res = atlas(args.mechanisms.split(","), args.costs.split(","), args.agents, args.items, args.priors.split(","),
                args.z_over_k,
                properties=args.properties.split(","), strategy_space=args.strategy_space, out=out, n_jobs=jobs,
                scheduler=args.scheduler, dask_local=args.dask_local, rtol=args.rtol, tol=args.tol,
                progress=None, figures=not args.no_figures)
    if args.json:
        print(dumps(res.to_dict()))
        return 0
    n = len(res.cells)
    print(f"Property atlas: {n} cells ({res.computed} computed, {res.reused} read back from {out}/parts), "
          f"{len(res.boundaries)} boundaries, {res.seconds:.1f}s")
    for line in summary_lines(res):
        print("  " + line)
    print(f"wrote {', '.join(os.path.basename(f) for f in res.files)} in {out}/", file=sys.stdout)
    return 0


def _int_list(text):
    """argparse ``type``: a comma-separated list of integers (``3,4,5``)."""
    import argparse

    try:
        return [int(v) for v in str(text).split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a comma-separated list of integers, got {text!r}") from None


def _version():
    from . import __version__

    return f"%(prog)s {__version__}"


def build_parser():
    parser = _Parser(prog=prog_name("equilibria", "equilibria"), description="Equilibria and incentive properties.")
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def game_parser(name, help_, *, tol, seed=True):
        p = sub.add_parser(name, help=help_)
        add_game_arguments(p)
        p.add_argument("--cost", default="quadratic:0.1",
                       help="NAME:K[:P], e.g. quadratic:0.1, power:0.1:1.5; or one per agent, comma-separated")
        if seed:
            p.add_argument("--seed", type=int, default=0,
                           help="seed of the heterogeneous search's random starts (heterogeneous costs only)")
        p.add_argument("--w-max", type=finite_float, default=None,
                       help="optional cap on efforts (default: none; the derived effort bound is searched)")
        p.add_argument("--tol", type=finite_float, default=tol,
                       help=tol_help.get(name, "relative regret/tie tolerance"))
        p.add_argument("--strategy-space", choices=("paper", "extended"), default="paper",
                       help="paper: (effort, honest|dishonest); extended: also the index convention with "
                            "probability q (spec section 4) (default: %(default)s)")
        return p
    tol_help = {"threshold": "relative tolerance of the omega_BNIC bisection (--property omega_BNIC)"}
    p = game_parser("best-response", "global best response against symmetric peers", tol=1e-9, seed=False)
    p.add_argument("--peer-effort", type=finite_float, required=True, help="every peer's effort w >= 0")
    p.add_argument("--peer-report", default="honest",
                   help="every peer's report: honest, dishonest or convention (extended space)")
    p.add_argument("--peer-convention-prob", type=finite_float, default=0.0,
                   help="every peer's convention probability q in [0, 1] (extended space; default %(default)s)")
    p.add_argument("--agent", type=int, default=0, help="whose cost applies (heterogeneous costs)")
    p.set_defaults(func=_cmd_best_response)
    game_parser("equilibria", "all symmetric equilibria with regret certificates",
                tol=1e-7).set_defaults(func=_cmd_equilibria)
    game_parser("check", "UEI, omega-BNIC and EC verdicts with evidence", tol=1e-7).set_defaults(func=_cmd_check)
    p = game_parser("threshold", "threshold on z/k for a cost family", tol=1e-4, seed=False)
    p.add_argument("--property", required=True,
                   help="UEI or omega_BNIC; with --strategy-space extended also collusion_proof")
    p.set_defaults(func=_cmd_threshold)
    # design builds its own rule: no --mechanism/--z/--y/--coherence/--tol/--seed (argparse refuses them)
    p = sub.add_parser("design", help="cheapest payment table implementing a target effort (cvxpy LP)")
    p.add_argument("--agents", type=int, default=3, help="number of agents N >= 3")
    p.add_argument("--items", type=int, default=3, help="number of items m")
    p.add_argument("--prior", default="normal", help="normal or uniform")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--cost", default="quadratic:0.1",
                   help="NAME:K[:P]; or a comma-separated mix of agent types (the target must suit every type)")
    p.add_argument("--w-max", type=finite_float, default=5.0,
                   help="the LP's deviations cover efforts [0, w_max]")
    p.add_argument("--target-effort", type=finite_float, default=None, help="target effort w*, 0 < w* < w_max")
    p.add_argument("--budget", type=finite_float, default=None, help="cap on the expected payment at the target")
    p.add_argument("--family", default="full", help="full, pair, triple, ppa or apa")
    p.add_argument("--uei-margin", type=finite_float, default=1e-3, help="UEI margin eps")
    p.add_argument("--no-uei", action="store_true", help="drop the UEI constraint (excludes --uei-margin)")
    p.add_argument("--maximise-faithfulness", action="store_true",
                   help="choose the target: the largest effort (most faithful aggregation) within --budget "
                        "(excludes --target-effort)")
    p.add_argument("--robust-to-conventions", action="store_true",
                   help="also make the index convention unprofitable: a CA column, extended deviations, collusion "
                        "and coalition constraints; reports the price of robustness")
    p.add_argument("--figure", default=None,
                   help="also write the budget-vs-target figure to this file (.png, .pdf or .svg; its directory "
                        "must exist)")
    p.set_defaults(func=_cmd_design)
    p = sub.add_parser("report", help="the main job: property table, thresholds, figures")
    p.add_argument("--out", default="report", help="output directory (created if missing)")
    p.add_argument("--agents", type=int, default=4, help="number of agents N >= 3")
    p.add_argument("--items", type=int, default=4, help="number of items m")
    p.add_argument("--prior", default="normal", help="normal or uniform")
    p.add_argument("--w-max", type=finite_float, default=None, help="optional effort cap (default: derived bounds)")
    p.add_argument("--jobs", type=int, default=2, help="worker processes (-1: all cores)")
    p.add_argument("--strategy-space", choices=("paper", "extended", "both"), default="both",
                   help="paper: the paper's table only; extended/both: also the extended-space table (the index "
                        "convention, collusion-proofness, coalitions) (default: %(default)s)")
    p.add_argument("--json", action="store_true", help="print the JSON summary instead of the table")
    p.set_defaults(func=_cmd_report)
    p = sub.add_parser("atlas", help="phase diagrams: property verdicts over mechanisms x cost families x N x m x "
                                     "prior x z/k, with located boundaries")
    p.add_argument("--mechanisms", default="ppa,bsst,apa", help="comma-separated: ppa, bsst, apa, dg13, ca")
    p.add_argument("--costs", default="linear,quadratic,sqrt",
                   help="comma-separated cost families: linear, quadratic, sqrt, power:P, exp, log")
    p.add_argument("--agents", type=_int_list, default="3", help="comma-separated numbers of agents N >= 3")
    p.add_argument("--items", type=_int_list, default="3", help="comma-separated numbers of items m >= 3")
    p.add_argument("--priors", default="normal", help="comma-separated: normal, uniform")
    p.add_argument("--z-over-k", default="0.05:20:40",
                   help="LO:HI:N (N geometric ratios) or a comma-separated list of ratios z/k")
    p.add_argument("--properties", default="UEI,omega_BNIC,EC,collusion_proof",
                   help="comma-separated subset of UEI, omega_BNIC, EC, collusion_proof")
    p.add_argument("--strategy-space", choices=("paper", "extended"), default="paper",
                   help="paper: (effort, honest|dishonest); extended: also the index convention (slower)")
    p.add_argument("--out", required=True, help="output directory (part files, atlas.json/.csv, boundaries.csv, "
                                                "phase diagrams); an interrupted run resumes from it")
    p.add_argument("--json", action="store_true", help='print {"cells": [...], "boundaries": [...]}')
    p.add_argument("--jobs", type=int, default=1, help="local worker processes (-1: all cores)")
    p.add_argument("--dask-local", type=int, default=None, help="start a local Dask cluster with N workers")
    p.add_argument("--scheduler", default=None,
                   help="an existing Dask scheduler tcp://HOST:PORT (its workers must see --out)")
    p.add_argument("--rtol", type=finite_float, default=1e-4, help="relative resolution of the boundaries")
    p.add_argument("--tol", type=finite_float, default=1e-7, help="relative regret/tie tolerance")
    p.add_argument("--no-figures", action="store_true", help="skip the PNG/SVG phase diagrams")
    p.set_defaults(func=_cmd_atlas)
    return parser


def main(argv=None) -> int:
    return run_cli(build_parser(), argv)


if __name__ == "__main__":
    raise SystemExit(main())

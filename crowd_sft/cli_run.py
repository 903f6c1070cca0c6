"""Sub-commands ``run`` (one setting) and ``reproduce`` (the paper's full sweep).

``python -m crowd_sft run --users 50 --groups 3 --grouping random --eval l2 --runs 50 --seed 0 --json``
prints ``{"config": ..., "runs": [...], "summary": {...}}``: one object per run (final_distance,
start_distance, converged_round, n_updates, points, shapley, pearson, spearman, expert_user_id)
and the means and standard errors of the per-run figures. Run ``r`` is the same run as in a
``reproduce`` sweep with the same seed and options (see :mod:`crowd_sft.sweep` for the seeding).

Defaults are the published semantics (spec ``crowd_sft.md``): the published KernelSHAP
(``--shapley kernel``, 10,000 samples, LARS selection) and independent draws per setting. The
accurate estimators are ``--shapley exact|mc``; ``--paired`` shares draws across settings.

``python -m crowd_sft reproduce [--runs 50] [--out DIR]`` runs n in {10,25,50,75,100} x m in {2..5}
x 9 pairs, resumably, on a local process pool (or Dask with ``--scheduler``/``--dask-local``) and
writes runs/summary CSV+JSON, Table I and Figs. 6-8 (paper Section IV-C/D).
"""
from __future__ import annotations

import argparse
import json
import sys
import warnings

import numpy as np

from .sweep import (PAIRS, PAPER_GROUPS, PAPER_USERS, SHAPLEY_METHODS, SweepConfig, _json_clean, replay_run,
                    run_sweep, summarize)
from .tournament import EVALUATIONS, GROUPINGS, REWARDS

__all__ = ["add_parser"]


def _int_list(text):
    try:
        vals = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    return vals


def _common(p):
    p.add_argument("--runs", type=int, default=50, help="runs per setting (50)")
    p.add_argument("--seed", type=int, default=0, help="root seed (0)")
    p.add_argument("--rounds", type=int, default=100, help="rounds T (100)")
    p.add_argument("--delta", type=float, default=0.1, help="step toward the group centroid (0.1)")
    p.add_argument("--error-prob", type=float, default=0.05, help="expert error probability (0.05)")
    p.add_argument("--weight-power", type=float, default=2.0,
                   help="centroid weights points**w: 2 as published, 1 as the paper's prose (2)")
    p.add_argument("--reward", choices=REWARDS, default="rank", help="per-round reward rule (rank)")
    p.add_argument("--shapley", choices=SHAPLEY_METHODS, default="kernel",
                   help="kernel: the published KernelSHAP (default); mc: accurate (closed form/exact/Monte Carlo); "
                        "exact: enumeration (small n)")
    p.add_argument("--kernel-samples", type=int, default=10_000,
                   help="KernelSHAP budget nsamples (10000, as published)")
    p.add_argument("--mc-evaluations", type=int, default=1000,
                   help="MC budget: unique coalition evaluations per player (1000)")
    p.add_argument("--paired", action="store_true",
                   help="common random numbers across m and pairs (default: independent draws per setting, as published)")
    p.add_argument("--unpaired", action="store_true", help=argparse.SUPPRESS)  # deprecated: now the default


def _paired(args) -> bool:
    if args.unpaired:
        warnings.warn("--unpaired is deprecated: independent draws per setting are now the default "
                      "(use --paired for common random numbers)", DeprecationWarning, stacklevel=2)
        sys.stderr.write("warning: --unpaired is deprecated (independent draws are the default now)\n")
        if args.paired:
            raise ValueError("--paired and --unpaired contradict each other; give one (--paired) or neither")
    return bool(args.paired)


def _config(args, users, groups, pairs):
    return SweepConfig(users=users, groups=groups, pairs=pairs, runs=args.runs, rounds=args.rounds,
                       delta=args.delta, error_prob=args.error_prob, weight_power=args.weight_power,
                       reward=args.reward, seed=args.seed, paired=_paired(args), shapley=args.shapley,
                       mc_evaluations=args.mc_evaluations, kernel_samples=args.kernel_samples)


def _cmd_run(args) -> int:
    cfg = _config(args, (args.users,), (args.groups,), ((args.grouping, args.eval),))
    records = [replay_run(cfg, args.users, args.groups, args.grouping, args.eval, r) for r in range(cfg.runs)]
    rows = [r.scalars() for r in records]
    s = summarize(rows)[0]
    summary = {k: v for k, v in s.items() if k not in ("n", "m", "grouping", "evaluation")}
    if args.json:
        runs = []
        for rec in records:
            d = rec.scalars()
            d["points"] = rec.points.tolist()
            d["shapley"] = rec.shapley.tolist()
            runs.append(d)
        json.dump(_json_clean({"config": dict(cfg.to_json(), provenance=cfg.provenance()), "runs": runs,
                               "summary": summary}), sys.stdout,
                  allow_nan=False)
        sys.stdout.write("\n")
    else:
        print(f"n={args.users} m={args.groups} grouping={args.grouping} eval={args.eval} runs={cfg.runs} "
              f"seed={cfg.seed}")
        print(cfg.provenance_line())
        print(f"{'run':>4} {'expert':>6} {'start':>8} {'final':>8} {'conv':>5} {'pearson':>8} {'spearman':>8}")
        for d in rows:
            conv = "-" if d["converged_round"] is None else d["converged_round"]
            print(f"{d['run']:>4} {d['expert_user_id']:>6} {d['start_distance']:8.3f} {d['final_distance']:8.3f} "
                  f"{conv:>5} {d['pearson']:8.3f} {d['spearman']:8.3f}")
        for k in ("final_distance", "start_distance", "pearson", "inverse_pearson", "spearman"):
            print(f"{k:>15}: {summary[k + '_mean']:.4f} +- {summary[k + '_se']:.4f} (SE)")
        print(f"{'converged':>15}: {summary['converged_fraction']:.2f} of runs")
    return 0


def _cmd_reproduce(args) -> int:
    cfg = _config(args, args.users, args.groups, PAIRS)
    try:
        res = run_sweep(cfg, args.out, n_jobs=args.jobs, scheduler=args.scheduler, dask_local=args.dask_local,
                        figures=not args.no_figures)
    except KeyboardInterrupt:
        sys.stderr.write(f"python -m crowd_sft reproduce: interrupted; finished chunks are kept in {args.out}, "
                         "re-run the same command to resume\n")
        return 130
    if cfg.shapley == "kernel" and not args.no_accurate:
        from .beyond import published_vs_accurate
        published_vs_accurate(cfg, args.out, n_jobs=args.jobs, scheduler=args.scheduler, dask_local=args.dask_local,
                              figure=not args.no_figures)
    with open(f"{args.out}/table1.md", encoding="utf-8") as fh:
        print(fh.read())
    print(f"{len(res.rows)} runs ({res.computed_chunks} chunks computed, {res.skipped_chunks} resumed) -> {args.out}")
    return 0


def _cmd_beyond(args) -> int:
    from .beyond import run_beyond
    res = run_beyond(args.out, users=args.users, groups=args.groups, runs=args.runs, seed=args.seed,
                     n_jobs=args.jobs, scheduler=args.scheduler, dask_local=args.dask_local, rounds=args.rounds,
                     delta=args.delta, weight_power=args.weight_power, shapley=args.shapley,
                     mc_evaluations=args.mc_evaluations, paired=_paired(args), kernel_samples=args.kernel_samples,
                     error_prob=args.error_prob, reward=args.reward)  # base of the other factors' sweeps
    print(f"{'factor':>18} {'level':>12} {'pair':>20} {'pearson':>8} {'final':>7}")
    for r in res.rows:
        print(f"{r['factor']:>18} {str(r['level']):>12} {r['grouping'] + '/' + r['evaluation']:>20} "
              f"{r['pearson_mean']:8.3f} {r['final_distance_mean']:7.3f}")
    print(f"-> {args.out}/beyond.csv, beyond.json, beyond.png")
    return 0


def _cmd_experiment1(args) -> int:
    from .experiment1 import reduction_over_seeds, run_experiment1, synthetic_targets
    if args.targets < 1 or args.samples < 1:
        raise ValueError("--targets and --samples must be >= 1")
    if args.seeds < 2:
        raise ValueError(f"--seeds must be >= 2 (a confidence interval needs two seeds); got {args.seeds}")
    base, targets = synthetic_targets(n_targets=args.targets, k=args.samples, seed=args.seed)
    out = []
    for k, (name, samples) in enumerate(targets.items()):
        r = run_experiment1(samples, base, clones=args.clones, iterations=args.iterations,
                            seed=np.random.SeedSequence(args.seed, spawn_key=(k,)))
        out.append({"target": name, "single_distance": r.single_distance,
                    "multi_distances": r.multi_distances.tolist(), "relative_reduction": r.relative_reduction})
    summ = reduction_over_seeds(targets, base, seeds=args.seeds, seed=args.seed, clones=args.clones,
                                iterations=args.iterations)
    summary = {"mean_relative_reduction": summ.mean, "ci": list(summ.ci), "level": summ.level,
               "seeds": args.seeds, "per_seed": summ.per_seed.tolist()}
    if args.json:
        json.dump({"targets": out, "summary": summary}, sys.stdout)
        sys.stdout.write("\n")
    else:
        print(f"{'target':>10} {'single':>8} {'multi':>8} {'reduction':>9}")
        for o in out:
            print(f"{o['target']:>10} {o['single_distance']:8.4f} {o['multi_distances'][-1]:8.4f} "
                  f"{100 * o['relative_reduction']:8.2f}%")
        print(f"mean reduction over {args.seeds} seeds x {len(targets)} targets: {100 * summ.mean:.2f}% "
              f"({100 * summ.level:.0f}% CI over seeds {100 * summ.ci[0]:.2f}% to {100 * summ.ci[1]:.2f}%; "
              "default vector-space surrogate, see crowd_sft.experiment1)")
    return 0


def add_parser(subparsers) -> None:
    """Register ``run``, ``reproduce``, ``beyond`` and ``experiment1`` on the dispatcher's sub-parsers."""
    p = subparsers.add_parser("run", help="run one tournament setting for several seeded runs")
    p.add_argument("--users", type=int, required=True, help="crowd size n (2..609 with the bundled data)")
    p.add_argument("--groups", type=int, required=True, help="group count m (2..n)")
    p.add_argument("--grouping", choices=GROUPINGS, default="random")
    p.add_argument("--eval", choices=EVALUATIONS, default="l2")
    p.add_argument("--json", action="store_true", help="print JSON (runs + summary)")
    _common(p)
    p.set_defaults(func=_cmd_run)

    q = subparsers.add_parser("reproduce", help="the paper's sweep: Table I and Figs. 6-8")
    q.add_argument("--out", default="crowd_sft_results", help="results directory (resumable)")
    q.add_argument("--users", type=_int_list, default=PAPER_USERS, help="comma list (10,25,50,75,100)")
    q.add_argument("--groups", type=_int_list, default=PAPER_GROUPS, help="comma list (2,3,4,5)")
    q.add_argument("--jobs", type=int, default=-1, help="local worker processes (-1: all cores)")
    q.add_argument("--scheduler", default=None, help="Dask scheduler address tcp://HOST:PORT")
    q.add_argument("--dask-local", type=int, default=None, metavar="N",
                   help="start a local Dask cluster with N worker processes")
    q.add_argument("--no-figures", action="store_true", help="skip the figures (PNG + SVG)")
    q.add_argument("--no-accurate", action="store_true",
                   help="skip the accurate-Shapley sweep behind beyond_published_vs_accurate.png")
    _common(q)
    q.set_defaults(func=_cmd_reproduce)

    b = subparsers.add_parser("beyond", help="Section VI: adversarial users, evaluator error, reward rules")
    b.add_argument("--out", default="crowd_sft_beyond", help="results directory (resumable)")
    b.add_argument("--users", type=int, default=50)
    b.add_argument("--groups", type=int, default=3)
    b.add_argument("--jobs", type=int, default=-1)
    b.add_argument("--scheduler", default=None)
    b.add_argument("--dask-local", type=int, default=None, metavar="N")
    _common(b)
    b.set_defaults(func=_cmd_beyond)

    e = subparsers.add_parser("experiment1", help="Section III: single- vs multi-model selection (vector space)")
    e.add_argument("--targets", type=int, default=28)
    e.add_argument("--samples", type=int, default=100, help="k nearest neighbours per target (100)")
    e.add_argument("--clones", type=int, default=3)
    e.add_argument("--iterations", type=int, default=3)
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--seeds", type=int, default=10, help="independent seeds for the confidence interval (10)")
    e.add_argument("--json", action="store_true")
    e.set_defaults(func=_cmd_experiment1)

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

from agents._cli import conflict, finite_float, given, refuse

from ._constants import (BUNDLED_USERS, EVALUATIONS, GROUPINGS, PAPER_GROUPS, PAPER_USERS, REWARDS,
                         SHAPLEY_METHODS)
from ._validate import MAX_EVALUATIONS, MAX_KERNEL_SAMPLES, MAX_ROUNDS, MAX_RUNS, MAX_SEED, check_out_dir

__all__ = ["add_parser"]

# SweepConfig's defaults, written out so that --help needs no numpy (tests check they agree)
DEFAULTS = dict(runs=50, seed=0, rounds=100, delta=0.1, error_prob=0.05, weight_power=2.0, reward="rank",
                shapley="kernel", kernel_samples=10_000, mc_evaluations=1000)
MAX_USERS = BUNDLED_USERS - 1


def _int_list(text):
    try:
        vals = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    return vals


def _common(p):
    d = DEFAULTS
    p.add_argument("--runs", type=int, default=d["runs"], help=f"runs per setting, 1..{MAX_RUNS}")
    p.add_argument("--seed", type=int, default=d["seed"], help="root seed, a non-negative integer")
    p.add_argument("--rounds", type=int, default=d["rounds"], help=f"rounds T, 0..{MAX_ROUNDS}")
    p.add_argument("--delta", type=finite_float, default=d["delta"], help="step toward the group centroid, in (0, 1]")
    p.add_argument("--error-prob", type=finite_float, default=d["error_prob"],
                   help="expert error probability, in [0, 1)")
    p.add_argument("--weight-power", type=finite_float, default=d["weight_power"],
                   help="centroid weights points**w: 2 as published, 1 as the paper's prose")
    p.add_argument("--reward", choices=REWARDS, default=d["reward"], help="per-round reward rule")
    p.add_argument("--shapley", choices=SHAPLEY_METHODS, default=d["shapley"],
                   help="kernel: the published KernelSHAP; mc: accurate (closed form/exact/Monte Carlo); "
                        "exact: enumeration (small n)")
    p.add_argument("--kernel-samples", type=int, default=d["kernel_samples"],
                   help=f"--shapley kernel: KernelSHAP budget nsamples (as published), 1..{MAX_KERNEL_SAMPLES}")
    p.add_argument("--mc-evaluations", type=int, default=d["mc_evaluations"],
                   help="accurate Shapley values: Monte Carlo budget of unique coalition evaluations per player")
    p.add_argument("--paired", action="store_true",
                   help="common random numbers across m and pairs (default: independent draws per setting, as published)")
    p.add_argument("--unpaired", action="store_true", help=argparse.SUPPRESS)  # deprecated: now the default


def _paired(args) -> bool:
    if args.unpaired:
        if args.paired:
            raise ValueError("--paired and --unpaired contradict each other; give one (--paired) or neither")
        warnings.warn("--unpaired is deprecated: independent draws per setting are now the default "
                      "(use --paired for common random numbers)", DeprecationWarning, stacklevel=2)
        sys.stderr.write("warning: --unpaired is deprecated (independent draws are the default now)\n")
    return bool(args.paired)


def _check_int(args, dest, low, high, why=""):
    v = getattr(args, dest)
    flag = given(args, dest) or "--" + dest.replace("_", "-")
    if not low <= v <= high:
        raise ValueError(f"{flag} must be an integer in [{low}, {high}]{why}, got {v}")
    return v


def _check_common(args, users, groups):
    """Sizes and ranges of the shared flags, named as typed, before any work."""
    for n in users:
        if not 2 <= n <= MAX_USERS:
            raise ValueError(f"--users must be in [2, {MAX_USERS}] (the bundled data has {BUNDLED_USERS} users and "
                             f"a run needs n + 1), got {n}")
    for m in groups:
        if not 2 <= m <= min(users):
            raise ValueError(f"--groups must be in [2, {min(users)}] (at most --users), got {m}")
    if len(set(users)) != len(users) or len(set(groups)) != len(groups):
        raise ValueError("--users and --groups must not repeat a value")
    _check_int(args, "runs", 1, MAX_RUNS)
    _check_int(args, "rounds", 0, MAX_ROUNDS)
    _check_int(args, "seed", 0, MAX_SEED, " (a non-negative integer)")
    if not 0.0 < args.delta <= 1.0:
        raise ValueError(f"--delta must be in (0, 1], got {args.delta}")
    if not 0.0 <= args.error_prob < 1.0:
        raise ValueError(f"--error-prob must be in [0, 1), got {args.error_prob}")
    if not args.weight_power >= 0.0:
        raise ValueError(f"--weight-power must be >= 0, got {args.weight_power}")
    _check_int(args, "kernel_samples", 1, MAX_KERNEL_SAMPLES)
    _check_int(args, "mc_evaluations", 1, MAX_EVALUATIONS // max(users),
               f" (at most {MAX_EVALUATIONS:,} unique evaluations per estimate at n = {max(users)})")
    if args.shapley != "kernel":
        refuse(args, ["kernel_samples"], "to --shapley kernel only")
    args.paired = _paired(args)


def _config(args, users, groups, pairs):
    from .sweep import SweepConfig

    return SweepConfig(users=users, groups=groups, pairs=pairs, runs=args.runs, rounds=args.rounds,
                       delta=args.delta, error_prob=args.error_prob, weight_power=args.weight_power,
                       reward=args.reward, seed=args.seed, paired=bool(args.paired), shapley=args.shapley,
                       mc_evaluations=args.mc_evaluations, kernel_samples=args.kernel_samples)


def _check_jobs(args):
    if args.jobs == 0 or args.jobs < -1:
        raise ValueError(f"{given(args, 'jobs') or '--jobs'} must be -1 (all cores) or >= 1, got {args.jobs}")
    conflict(args, "scheduler", "dask_local")
    if args.dask_local is not None and args.dask_local < 1:
        raise ValueError(f"--dask-local must be a number of workers >= 1, got {args.dask_local}")
    if args.scheduler is not None or args.dask_local is not None:
        refuse(args, ["jobs"], "to local processes only, not with --scheduler/--dask-local")
    if args.scheduler is not None:
        from ._validate import check_scheduler

        check_scheduler(args.scheduler, "--scheduler")


def _make_out(args) -> None:
    """Check ``--out`` and create it -- the last step before the work, once every argument is checked."""
    import os

    flag = given(args, "out") or "--out"
    check_out_dir(args.out, flag)
    try:
        os.makedirs(args.out, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"{flag} {args.out!r} cannot be created: {exc.strerror or exc}") from None


def _fmt(v, spec):
    return "n/a" if v is None or v != v or v in (float("inf"), float("-inf")) else format(v, spec)


def _cmd_run(args) -> int:
    _check_common(args, (args.users,), (args.groups,))
    if args.shapley == "kernel":
        refuse(args, ["mc_evaluations"], "to the accurate estimators (--shapley mc or exact)")
    from .sweep import _json_clean, replay_run, summarize

    cfg = _config(args, (args.users,), (args.groups,), ((args.grouping, args.evaluation),))
    records = [replay_run(cfg, args.users, args.groups, args.grouping, args.evaluation, r) for r in range(cfg.runs)]
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
        print(f"n={args.users} m={args.groups} grouping={args.grouping} eval={args.evaluation} runs={cfg.runs} "
              f"seed={cfg.seed}")
        print(cfg.provenance_line())
        print(f"{'run':>4} {'expert':>6} {'start':>8} {'final':>8} {'conv':>5} {'pearson':>8} {'spearman':>8}")
        for d in rows:
            conv = "-" if d["converged_round"] is None else d["converged_round"]
            print(f"{d['run']:>4} {d['expert_user_id']:>6} {d['start_distance']:8.3f} {d['final_distance']:8.3f} "
                  f"{conv:>5} {_fmt(d['pearson'], '8.3f'):>8} {_fmt(d['spearman'], '8.3f'):>8}")
        for k in ("final_distance", "start_distance", "pearson", "inverse_pearson", "spearman"):
            print(f"{k:>15}: {_fmt(summary[k + '_mean'], '.4f')} +- {_fmt(summary[k + '_se'], '.4f')} (SE)")
        print("(n/a: undefined -- a correlation of constant points or values, or a standard error of one run)")
        print(f"{'converged':>15}: {summary['converged_fraction']:.2f} of runs")
    return 0


def _cmd_reproduce(args) -> int:
    _check_common(args, args.users, args.groups)
    if args.shapley != "kernel":
        refuse(args, ["no_accurate"], "to --shapley kernel only (the accurate sweep beside the published one)")
    elif args.no_accurate:
        refuse(args, ["mc_evaluations"], "to the accurate sweep, which --no-accurate skips")
    _check_jobs(args)
    _make_out(args)
    from .sweep import PAIRS, run_sweep

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
    _check_common(args, (args.users,), (args.groups,))
    _check_jobs(args)
    _make_out(args)
    from .beyond import run_beyond
    res = run_beyond(args.out, users=args.users, groups=args.groups, runs=args.runs, seed=args.seed,
                     n_jobs=args.jobs, scheduler=args.scheduler, dask_local=args.dask_local, rounds=args.rounds,
                     delta=args.delta, weight_power=args.weight_power, shapley=args.shapley,
                     mc_evaluations=args.mc_evaluations, paired=bool(args.paired), kernel_samples=args.kernel_samples,
                     error_prob=args.error_prob, reward=args.reward)  # base of the other factors' sweeps
    print(f"{'factor':>18} {'level':>12} {'pair':>20} {'pearson':>8} {'final':>7}")
    for r in res.rows:
        print(f"{r['factor']:>18} {str(r['level']):>12} {r['grouping'] + '/' + r['evaluation']:>20} "
              f"{_fmt(r['pearson_mean'], '8.3f'):>8} {_fmt(r['final_distance_mean'], '7.3f'):>7}")
    print(f"-> {args.out}/beyond.csv, beyond.json, beyond.png")
    return 0


MAX_TARGETS = 1000
MAX_SAMPLES = 100_000
MAX_SEEDS = 10_000


def _cmd_experiment1(args) -> int:
    _check_int(args, "targets", 1, MAX_TARGETS)
    if given(args, "pool_size") == "--samples":
        sys.stderr.write("python -m crowd_sft experiment1: warning: --samples is deprecated here; use --pool-size "
                         "(--samples means Monte Carlo trials elsewhere, docs/vocabulary.md)\n")
    _check_int(args, "pool_size", 1, MAX_SAMPLES)
    _check_int(args, "clones", 1, 1000)
    _check_int(args, "iterations", 1, 1000)
    _check_int(args, "seeds", 2, MAX_SEEDS, " (a confidence interval needs two seeds)")
    _check_int(args, "seed", 0, MAX_SEED, " (a non-negative integer)")
    if args.targets * args.pool_size > MAX_TARGETS * 1000:
        flag = given(args, "pool_size") or "--pool-size"
        raise ValueError(f"--targets {args.targets} x {flag} {args.pool_size} = {args.targets * args.pool_size:,} "
                         f"sample embeddings, more than the limit {MAX_TARGETS * 1000:,}; use fewer")
    import numpy as np

    from .experiment1 import reduction_over_seeds, run_experiment1, synthetic_targets
    base, targets = synthetic_targets(n_targets=args.targets, k=args.pool_size, seed=args.seed)
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
        from .sweep import _json_clean

        json.dump(_json_clean({"targets": out, "summary": summary}), sys.stdout, allow_nan=False)
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
    p.add_argument("--users", type=int, required=True, help=f"crowd size n (2..{MAX_USERS} with the bundled data)")
    p.add_argument("--groups", type=int, required=True, help="group count m (2..n)")
    p.add_argument("--grouping", choices=GROUPINGS, default="random", help="grouping of the users")
    p.add_argument("--eval", dest="evaluation", choices=EVALUATIONS, default="l2",
                   help="evaluation of a fine-tuned model")
    p.add_argument("--json", action="store_true", help="print JSON (runs + summary)")
    _common(p)
    p.set_defaults(func=_cmd_run)

    q = subparsers.add_parser("reproduce", help="the paper's sweep: Table I and Figs. 6-8")
    q.add_argument("--out", default="crowd_sft_results", help="results directory (resumable)")
    q.add_argument("--users", type=_int_list, default=PAPER_USERS, help="crowd sizes n, a comma list")
    q.add_argument("--groups", type=_int_list, default=PAPER_GROUPS, help="group counts m, a comma list")
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
    b.add_argument("--users", type=int, default=50, help="crowd size n of the base setting")
    b.add_argument("--groups", type=int, default=3, help="group count m of the base setting")
    b.add_argument("--jobs", type=int, default=-1, help="local worker processes (-1: all cores)")
    b.add_argument("--scheduler", default=None, help="Dask scheduler address tcp://HOST:PORT")
    b.add_argument("--dask-local", type=int, default=None, metavar="N",
                   help="start a local Dask cluster with N worker processes")
    _common(b)
    b.set_defaults(func=_cmd_beyond)

    e = subparsers.add_parser("experiment1", help="Section III: single- vs multi-model selection (vector space)")
    e.add_argument("--targets", type=int, default=28, help=f"synthetic targets, 1..{MAX_TARGETS}")
    e.add_argument("--pool-size", "--samples", dest="pool_size", type=int, default=100,
                   help=f"sample pool: k nearest-neighbour samples per target, 1..{MAX_SAMPLES} "
                        "(--samples is a deprecated alias: elsewhere --samples counts Monte Carlo trials)")
    e.add_argument("--clones", type=int, default=3, help="clones per iteration")
    e.add_argument("--iterations", type=int, default=3, help="selection iterations")
    e.add_argument("--seed", type=int, default=0, help="root seed, a non-negative integer")
    e.add_argument("--seeds", type=int, default=10, help="independent seeds for the confidence interval")
    e.add_argument("--json", action="store_true", help="print one JSON object")
    e.set_defaults(func=_cmd_experiment1)

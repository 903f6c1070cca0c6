"""``python -m crowd_sft shapley``: Shapley values of one Crowd-SFT instance.

Example::

    python -m crowd_sft shapley --users 25 --eval l2 --seed 0 --method exact --json
    python -m crowd_sft shapley --users 100 --eval l1 --seed 3 --method mc --target-se 1e-3 --json
    python -m crowd_sft shapley --users 8 --eval l2 --seed 1 --method exact --game true --groups 3 --json

The instance is ``crowd_sft.tournament.make_instance(users, seed)``; the output lists the
MovieLens ``user_ids`` of the players (in the order of ``values``) and the ``expert_user_id``
so that anyone can recompute the values independently. ``--game published`` (default) is the
paper's game ``v(S) = eval(mean of S, e)``; ``--game true`` is ``v(S) = -(final L2 distance of a
tournament with only S)`` run with ``--groups``/``--grouping``/``--rounds`` and the tournament seed
``SeedSequence(seed, spawn_key=(1,))`` (the same for every coalition).
"""
from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from .games import EVALUATIONS, SMALL_COALITION_RULES, PublishedGame, TrueContributionGame
from .shapley import KERNEL_VARIANTS, METHODS, SAMPLERS, shapley_values

__all__ = ["add_parser", "main_shapley", "tournament_seed"]


def tournament_seed(seed: int) -> np.random.SeedSequence:
    """Seed of the tournament runs of the true-contribution game for CLI seed ``seed``."""
    return np.random.SeedSequence(int(seed), spawn_key=(1,))


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("shapley", help="Shapley values of one Crowd-SFT instance (exact / MC / KernelSHAP / closed)",
                              description=__doc__.splitlines()[0])
    p.add_argument("--users", type=int, required=True, help="number of players n (MovieLens userIds 1..n+1 minus the expert)")
    p.add_argument("--eval", dest="evaluation", choices=EVALUATIONS, default="l2", help="evaluation (l2)")
    p.add_argument("--seed", type=int, default=0, help="instance seed (0); also seeds MC / KernelSHAP sampling")
    p.add_argument("--method", choices=METHODS, default="auto", help="estimator (auto)")
    p.add_argument("--game", choices=("published", "true"), default="published", help="coalition game (published)")
    p.add_argument("--target-se", type=float, default=None, help="mc: stop when every standard error <= S")
    p.add_argument("--max-evaluations", type=int, default=None, help="mc: hard budget of unique evaluations; "
                   "kernel: n_samples (default 10000)")
    p.add_argument("--sampler", choices=SAMPLERS, default=None,
                   help="mc sampler (antithetic with --method mc, stratified when --method auto picks mc)")
    p.add_argument("--kernel-variant", choices=KERNEL_VARIANTS, default="published",
                   help="kernel: 'published' = the paper's KernelSHAP, 'paired' = unbiased with standard errors")
    p.add_argument("--jobs", type=int, default=1, help="mc worker processes (1)")
    p.add_argument("--groups", type=int, default=3, help="true game: number of groups m (3)")
    p.add_argument("--grouping", default="random", help="true game: grouping (random)")
    p.add_argument("--rounds", type=int, default=100, help="true game: rounds (100)")
    p.add_argument("--small-coalitions", choices=SMALL_COALITION_RULES, default="fewer_groups",
                   help="true game: coalitions smaller than --groups (fewer_groups)")
    p.add_argument("--compare-points", action="store_true",
                   help="also run the tournament (--groups/--grouping/--rounds, tournament seed) and report Pearson/"
                        "Spearman of its final points vs the Shapley values of the published AND the true game")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=main_shapley)
    return p


def main_shapley(args) -> int:
    from .tournament import make_instance

    if args.users is None or args.users < 1:
        raise ValueError(f"--users must be an integer >= 1, got {args.users}")
    inst = make_instance(args.users, args.seed)
    if args.game == "published":
        game = PublishedGame(inst.users, inst.expert, args.evaluation)
    else:
        game = TrueContributionGame.from_instance(inst, seed=tournament_seed(args.seed), n_groups=args.groups,
                                                  small_coalitions=args.small_coalitions, grouping=args.grouping,
                                                  evaluation=args.evaluation, rounds=args.rounds)
    method = args.method
    kw: dict = {}
    if args.target_se is not None and not args.target_se > 0:
        raise ValueError(f"--target-se must be a positive number, got {args.target_se}")
    if method == "auto":
        from .shapley import _auto_method

        method = _auto_method(game)
    if method == "mc":
        sampler = args.sampler or ("stratified" if args.method == "auto" else "antithetic")
        kw = dict(seed=args.seed, target_se=args.target_se, max_evaluations=args.max_evaluations,
                  sampler=sampler, n_jobs=args.jobs)
    elif method == "kernel":
        kw = dict(seed=args.seed, variant=args.kernel_variant, n_samples=args.max_evaluations or 10_000)
    elif args.target_se is not None or args.max_evaluations is not None:
        raise ValueError(f"--target-se/--max-evaluations apply to --method mc or kernel, not {method}")
    res = shapley_values(game, method, **kw)
    out = {
        "command": "shapley",
        "game": args.game,
        "eval": args.evaluation,
        "users": int(args.users),
        "seed": int(args.seed),
        "method": res.method,
        "values": [float(v) for v in res.values],
        "stderr": None if res.stderr is None else [float(v) for v in res.stderr],
        "evaluations": int(res.evaluations),
        "seconds": float(res.seconds),
        "stop_reason": res.stop_reason,
        "user_ids": [int(u) for u in inst.user_ids],
        "expert_user_id": int(inst.expert_user_id),
    }
    if method == "kernel":
        out["kernel_variant"] = args.kernel_variant
    if args.game == "true":
        out["tournament"] = {"groups": args.groups, "grouping": args.grouping, "rounds": args.rounds,
                             "small_coalitions": args.small_coalitions, "seed": f"SeedSequence({args.seed}, spawn_key=(1,))"}
    if args.compare_points:
        from .analysis import points_vs_shapley

        pvs = points_vs_shapley(inst, n_groups=args.groups, evaluation=args.evaluation, seed=tournament_seed(args.seed),
                                grouping=args.grouping, rounds=args.rounds, small_coalitions=args.small_coalitions)
        out["compare_points"] = {"points": [float(x) for x in pvs.points], "pearson": pvs.comparison.pearson,
                                 "spearman": pvs.comparison.spearman,
                                 "labels": {"published": "final points vs published-game Shapley values",
                                            "true": "final points vs true-contribution Shapley values",
                                            "published~true": "published-game Shapley values vs true-contribution "
                                                              "Shapley values (no points involved)"},
                                 "published_method": pvs.published.method,
                                 "true_method": pvs.true.method, "true_evaluations": int(pvs.true.evaluations)}
    if args.json:
        sys.stdout.write(json.dumps(out) + "\n")
        return 0
    print(f"Shapley values ({res.method}, game={args.game}, eval={args.evaluation}, n={args.users}, seed={args.seed}); "
          f"expert userId {inst.expert_user_id}; {res.evaluations} evaluations in {res.seconds:.3f} s")
    print(f"{'userId':>8} {'value':>14}" + (f" {'stderr':>12}" if res.stderr is not None else ""))
    for k, uid in enumerate(inst.user_ids):
        line = f"{int(uid):>8} {res.values[k]:>14.8f}"
        if res.stderr is not None:
            line += f" {res.stderr[k]:>12.3g}"
        print(line)
    if res.stop_reason:
        print(f"stopped: {res.stop_reason}")
    if args.compare_points:
        c = out["compare_points"]
        for key, label in (("published", "points vs published Shapley"), ("true", "points vs true Shapley"),
                           ("published~true", "published Shapley vs true Shapley")):
            print(f"{label:<34} Pearson {c['pearson'][key]:+.4f}  Spearman {c['spearman'][key]:+.4f}")
    return 0

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
import math
import sys

from agents._cli import finite_float, refuse

from ._constants import BUNDLED_USERS, EVALUATIONS, GROUPINGS, KERNEL_VARIANTS, METHODS, SAMPLERS, SMALL_COALITION_RULES
from ._validate import MAX_EVALUATIONS, MAX_KERNEL_SAMPLES, MAX_ROUNDS, MAX_SEED

__all__ = ["add_parser", "main_shapley", "tournament_seed"]

MAX_TRUE_PLAYERS = 20  # the true-contribution game runs one tournament per coalition (2^n at most)


def tournament_seed(seed: int):
    """Seed of the tournament runs of the true-contribution game for CLI seed ``seed``."""
    import numpy as np

    return np.random.SeedSequence(int(seed), spawn_key=(1,))


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("shapley", help="Shapley values of one Crowd-SFT instance (exact / MC / KernelSHAP / closed)",
                              description=__doc__.splitlines()[0])
    p.add_argument("--users", type=int, required=True,
                   help=f"number of players n, 2..{BUNDLED_USERS - 1} (MovieLens userIds 1..n+1 minus the expert)")
    p.add_argument("--eval", dest="evaluation", choices=EVALUATIONS, default="l2",
                   help="evaluation of a fine-tuned model")
    p.add_argument("--seed", type=int, default=0, help="instance seed; also seeds MC / KernelSHAP sampling")
    p.add_argument("--method", choices=METHODS, default="auto", help="estimator")
    p.add_argument("--game", choices=("published", "true"), default="published", help="coalition game")
    p.add_argument("--target-se", type=finite_float, default=None,
                   help="mc: stop when every standard error <= S")
    p.add_argument("--max-evaluations", type=int, default=None,
                   help=f"mc: hard budget of unique evaluations (<= {MAX_EVALUATIONS:,}); kernel: n_samples "
                        f"(10000 when not given, <= {MAX_KERNEL_SAMPLES:,})")
    p.add_argument("--sampler", choices=SAMPLERS, default=None,
                   help="mc sampler (antithetic with --method mc, stratified when --method auto picks mc)")
    p.add_argument("--kernel-variant", choices=KERNEL_VARIANTS, default="published",
                   help="kernel: 'published' = the paper's KernelSHAP, 'paired' = unbiased with standard errors")
    p.add_argument("--jobs", type=int, default=1, help="mc worker processes")
    p.add_argument("--groups", type=int, default=3, help="true game / --compare-points: number of groups m")
    p.add_argument("--grouping", choices=GROUPINGS, default="random", help="true game / --compare-points: grouping")
    p.add_argument("--rounds", type=int, default=100, help="true game / --compare-points: rounds")
    p.add_argument("--small-coalitions", choices=SMALL_COALITION_RULES, default="fewer_groups",
                   help="true game / --compare-points: coalitions smaller than --groups")
    p.add_argument("--compare-points", action="store_true",
                   help="also run the tournament (--groups/--grouping/--rounds, tournament seed) and report Pearson/"
                        "Spearman of its final points vs the Shapley values of the published AND the true game")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=main_shapley)
    return p


def _check(args) -> str:
    """Every flag checked (named as typed) and the flags this combination cannot honour refused,
    before any work. Returns the estimator that will run."""
    n = args.users
    if not 2 <= n <= BUNDLED_USERS - 1:
        raise ValueError(f"--users must be in [2, {BUNDLED_USERS - 1}] (the bundled data has {BUNDLED_USERS} users "
                         f"and an instance needs n + 1), got {n}")
    if not 0 <= args.seed <= MAX_SEED:
        raise ValueError(f"--seed must be a non-negative integer, got {args.seed}")
    tournament = args.game == "true" or args.compare_points
    if tournament:
        if not 2 <= args.groups <= n:
            raise ValueError(f"--groups must be in [2, {n}] (at most --users), got {args.groups}")
        if not 0 <= args.rounds <= MAX_ROUNDS:
            raise ValueError(f"--rounds must be an integer in [0, {MAX_ROUNDS}], got {args.rounds}")
        if args.game == "true" and n > MAX_TRUE_PLAYERS and args.method in ("exact", "auto"):
            raise ValueError(f"--game true with --method {args.method} runs one tournament per coalition (2^n); "
                             f"--users must be <= {MAX_TRUE_PLAYERS} for that, got {n}; use --method mc")
    else:
        refuse(args, ["groups", "grouping", "rounds", "small_coalitions"], "to --game true or --compare-points only")
    method = args.method
    if method == "auto":
        method = ("closed" if args.evaluation == "dot" else "exact" if n <= 22 else "mc") \
            if args.game == "published" else ("exact" if n <= 12 else "mc")
    if method == "closed" and (args.game != "published" or args.evaluation != "dot"):
        raise ValueError("--method closed is the closed form of --game published --eval dot only")
    if method == "exact" and n > 30:
        raise ValueError(f"--method exact enumerates 2^n coalitions: --users must be <= 30 for it, got {n}; "
                         "use --method mc or kernel")
    if method != "mc":
        refuse(args, ["target_se", "sampler", "jobs"], f"to --method mc only (this runs {method})")
    if method != "kernel":
        refuse(args, ["kernel_variant"], f"to --method kernel only (this runs {method})")
    if method not in ("mc", "kernel"):
        refuse(args, ["max_evaluations"], f"to --method mc or kernel only (this runs {method})")
    if args.target_se is not None and not args.target_se > 0:
        raise ValueError(f"--target-se must be a positive number, got {args.target_se}")
    if args.max_evaluations is not None:
        high = MAX_EVALUATIONS if method == "mc" else MAX_KERNEL_SAMPLES
        if not 1 <= args.max_evaluations <= high:
            raise ValueError(f"--max-evaluations must be an integer in [1, {high:,}] for --method {method}, "
                             f"got {args.max_evaluations}")
    if args.jobs == 0 or args.jobs < -1 or args.jobs > 1024:
        raise ValueError(f"--jobs must be -1 (all cores) or in [1, 1024], got {args.jobs}")
    return method


def _num(x):
    x = float(x)
    return x if math.isfinite(x) else None


def main_shapley(args) -> int:
    method = _check(args)
    from .games import PublishedGame, TrueContributionGame
    from .shapley import shapley_values
    from .tournament import make_instance

    inst = make_instance(args.users, args.seed)
    if args.game == "published":
        game = PublishedGame(inst.users, inst.expert, args.evaluation)
    else:
        game = TrueContributionGame.from_instance(inst, seed=tournament_seed(args.seed), n_groups=args.groups,
                                                  small_coalitions=args.small_coalitions, grouping=args.grouping,
                                                  evaluation=args.evaluation, rounds=args.rounds)
    kw: dict = {}
    if method == "mc":
        sampler = args.sampler or ("stratified" if args.method == "auto" else "antithetic")
        kw = dict(seed=args.seed, target_se=args.target_se, max_evaluations=args.max_evaluations,
                  sampler=sampler, n_jobs=args.jobs)
    elif method == "kernel":
        kw = dict(seed=args.seed, variant=args.kernel_variant, n_samples=args.max_evaluations or 10_000)
    res = shapley_values(game, method, **kw)
    out = {
        "command": "shapley",
        "game": args.game,
        "evaluation": args.evaluation,
        "n_users": int(args.users),
        "seed": int(args.seed),
        "method": res.method,
        "values": [_num(v) for v in res.values],
        "stderr": None if res.stderr is None else [_num(v) for v in res.stderr],
        "evaluations": int(res.evaluations),
        "seconds": float(res.seconds),
        "stop_reason": res.stop_reason,
        "user_ids": [int(u) for u in inst.user_ids],
        "expert_user_id": int(inst.expert_user_id),
    }
    if method == "kernel":
        out["kernel_variant"] = args.kernel_variant
    # the keys before docs/vocabulary.md, kept one release for scripts that read them
    out.update(eval=args.evaluation, users=int(args.users),
               deprecated_keys={"eval": "evaluation", "users": "n_users"})
    if args.game == "true":
        out["tournament"] = {"n_groups": args.groups, "grouping": args.grouping, "rounds": args.rounds,
                             "small_coalitions": args.small_coalitions, "seed": f"SeedSequence({args.seed}, spawn_key=(1,))",
                             "groups": args.groups}
        out["deprecated_keys"]["tournament.groups"] = "tournament.n_groups"
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
        from .sweep import _json_clean

        sys.stdout.write(json.dumps(_json_clean(out), allow_nan=False) + "\n")
        return 0
    print(f"Shapley values ({res.method}, game={args.game}, eval={args.evaluation}, n={args.users}, seed={args.seed}); "
          f"expert userId {inst.expert_user_id}; {res.evaluations} evaluations in {res.seconds:.3f} s")
    print(f"{'userId':>8} {'value':>14}" + (f" {'stderr':>12}" if res.stderr is not None else ""))
    for k, uid in enumerate(inst.user_ids):
        line = f"{int(uid):>8} {res.values[k]:>14.8f}"
        if res.stderr is not None:
            se = res.stderr[k]
            line += f" {'n/a' if not math.isfinite(se) else format(se, '.3g'):>12}"
        print(line)
    if res.stop_reason:
        print(f"stopped: {res.stop_reason}")
    if args.compare_points:
        c = out["compare_points"]
        for key, label in (("published", "points vs published Shapley"), ("true", "points vs true Shapley"),
                           ("published~true", "published Shapley vs true Shapley")):
            pr, sp = c["pearson"][key], c["spearman"][key]
            print(f"{label:<34} Pearson {'n/a' if pr != pr else format(pr, '+.4f')}  "
                  f"Spearman {'n/a' if sp != sp else format(sp, '+.4f')}")
    return 0

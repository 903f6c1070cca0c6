"""Benchmark of the Crowd-SFT reproduction (paper Section IV-C/D): wall time per stage.

Run:  python benchmarks/bench_crowd_sft.py [--quick]

Stages, all measured in this one run and printed side by side:

1. simulation -- the 9000 tournament runs (5 n x 4 m x 9 pairs x 50 runs x 100 rounds): the numba
   kernel on one core vs the plain per-run numpy/Python transcription of the spec (timed on a
   subset, extrapolated to 9000 runs; labelled as such);
2. Shapley -- the 750 published games (5 n x 50 runs x 3 evaluations; paired design): the default
   policy (closed form for dot, exact for n <= 13, antithetic Monte Carlo with 1000 n evaluations)
   vs the published KernelSHAP estimator (10,000 samples; timed on a subset and extrapolated), and
   their accuracy (RMSE against exact values at n = 25, and against a long Monte Carlo reference at
   n = 100);
3. the whole ``reproduce`` sweep (files included): serial, local process pool (2 workers) and a
   Dask LocalCluster (2 workers), checking that the per-run results are byte-identical.

The published implementation needs about 0.36 s per run at n = 100 (35-40 min for the sweep on one
core, dominated by KernelSHAP); that figure is quoted from the issue, not re-measured here (the
``shap`` package is not installed in this environment).
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from crowd_sft.games import PublishedGame
from crowd_sft.shapley import shapley_values
from crowd_sft.sweep import SweepConfig, _instance, _ss, run_sweep, shapley_for
from crowd_sft.tournament import EVALUATIONS, draw_randomness, run_settings, run_tournament


def _settings(cfg):
    return [(m, g, e) for m in cfg.groups for g, e in cfg.pairs]


def bench_simulation(cfg, ref_runs: int):
    total_runs = len(cfg.users) * len(_settings(cfg)) * cfg.runs
    settings = _settings(cfg)
    # (a) what the sweep does: one compiled call per instance for all 36 settings
    t0 = time.perf_counter()
    for n in cfg.users:
        for run in range(cfg.runs):
            inst = _instance(cfg, n, run, ())
            draws = draw_randomness(n, cfg.rounds, _ss(cfg, n, run, 1))
            run_settings(inst.users, inst.expert, inst.x0, settings, rounds=cfg.rounds, draws=draws)
    t_batch = time.perf_counter() - t0
    # (b) one public run_tournament call (numba kernel) per run
    t0 = time.perf_counter()
    for n in cfg.users:
        for run in range(cfg.runs):
            inst = _instance(cfg, n, run, ())
            draws = draw_randomness(n, cfg.rounds, _ss(cfg, n, run, 1))
            for m, g, e in settings:
                run_tournament(inst.users, inst.expert, inst.x0, n_groups=m, grouping=g, evaluation=e,
                               rounds=cfg.rounds, draws=draws)
    t_single = time.perf_counter() - t0
    # (c) plain per-run Python/numpy transcription, on the first ref_runs runs of every setting
    t0 = time.perf_counter()
    done = 0
    for n in cfg.users:
        for run in range(ref_runs):
            inst = _instance(cfg, n, run, ())
            draws = draw_randomness(n, cfg.rounds, _ss(cfg, n, run, 1))
            for m, g, e in settings:
                run_tournament(inst.users, inst.expert, inst.x0, n_groups=m, grouping=g, evaluation=e,
                               rounds=cfg.rounds, draws=draws, engine="reference")
                done += 1
    t_ref = (time.perf_counter() - t0) * total_runs / done
    return total_runs, t_batch, t_single, t_ref, done


def bench_shapley(cfg, kernel_runs: int):
    games = [(n, run, e) for n in cfg.users for run in range(cfg.runs) for e in EVALUATIONS]
    t0 = time.perf_counter()
    for n, run, e in games:
        inst = _instance(cfg, n, run, ())
        shapley_for(cfg, inst.users, inst.expert, e, _ss(cfg, n, run, 2, EVALUATIONS.index(e)))
    t_mc = time.perf_counter() - t0
    kcfg = SweepConfig(shapley="kernel", runs=cfg.runs, users=cfg.users)
    sub = [(n, run, e) for n in cfg.users for run in range(kernel_runs) for e in EVALUATIONS]
    t0 = time.perf_counter()
    for n, run, e in sub:
        inst = _instance(kcfg, n, run, ())
        shapley_for(kcfg, inst.users, inst.expert, e, _ss(kcfg, n, run, 2, EVALUATIONS.index(e)))
    t_kernel = (time.perf_counter() - t0) * len(games) / len(sub)
    return len(games), t_mc, t_kernel, len(sub)


def bench_accuracy(n_exact: int, n_big: int, instances: int, mc_evaluations: int):
    cfg = SweepConfig(mc_evaluations=mc_evaluations)
    rows = []
    for n, reference in ((n_exact, "exact"), (n_big, "mc-long")):
        for s in range(instances):
            inst = _instance(cfg, n, s, ())
            for e in ("l2", "l1"):
                game = PublishedGame(inst.users, inst.expert, e)
                if reference == "exact":
                    ref = shapley_values(game, "exact").values
                    ref_se = 0.0
                else:
                    r = shapley_values(game, "mc", seed=10_000 + s, sampler="antithetic", max_evaluations=40_000 * n)
                    ref, ref_se = r.values, float(np.sqrt(np.mean(r.stderr ** 2)))
                kern = shapley_values(game, "kernel", seed=s, n_samples=10_000, variant="published").values
                ours = shapley_for(cfg, inst.users, inst.expert, e, _ss(cfg, n, s, 2, EVALUATIONS.index(e)))
                rows.append((n, e, reference, ref_se, float(np.sqrt(np.mean((kern - ref) ** 2))),
                             float(np.sqrt(np.mean((ours - ref) ** 2))), float(np.std(ref))))
    return rows


def bench_sweep(cfg, tmp: Path):
    out = {}
    for label, kw in (("serial (1 process)", dict(n_jobs=1)), ("process pool (2 workers)", dict(n_jobs=2)),
                      ("Dask LocalCluster (2 workers)", dict(dask_local=2))):
        d = tmp / label.split()[0]
        t0 = time.perf_counter()
        run_sweep(cfg, d, progress=False, **kw)
        out[label] = (time.perf_counter() - t0, (d / "runs.csv").read_bytes())
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="10 runs per setting instead of 50")
    args = ap.parse_args(argv)
    runs = 10 if args.quick else 50
    cfg = SweepConfig(runs=runs)
    print(f"Crowd-SFT reproduction benchmark: {len(cfg.users)} n x {len(cfg.groups)} m x {len(cfg.pairs)} pairs x "
          f"{runs} runs x {cfg.rounds} rounds; {os.cpu_count()} cores; python {sys.version.split()[0]}")
    # warm-up: numba compilation / cache load, imports
    run_sweep(SweepConfig(users=(10, 25), groups=(2,), runs=1, rounds=5), None, n_jobs=1, progress=False)

    total, t_numba, t_single, t_ref, ref_done = bench_simulation(cfg, ref_runs=1 if args.quick else 2)
    print("\n[1] simulation stage (one core)")
    print(f"  numba, batched per instance (sweep path), {total} runs: {t_numba:8.2f} s  ({1e3 * t_numba / total:.3f} ms/run)")
    print(f"  numba, one run_tournament call per run:          {t_single:8.2f} s  ({1e3 * t_single / total:.3f} ms/run)")
    print("  plain per-run Python/numpy transcription of the spec (engine=\"reference\"),")
    print(f"    timed on {ref_done} runs, extrapolated to {total}:   {t_ref:8.2f} s  -> kernel is {t_ref / t_numba:.0f}x faster")

    n_games, t_mc, t_kernel, k_done = bench_shapley(cfg, kernel_runs=2 if args.quick else 5)
    print("\n[2] Shapley stage (one core)")
    print(f"  default policy ({n_games} games: closed form dot, exact n<=13, antithetic MC 1000n): {t_mc:8.2f} s")
    print(f"  published KernelSHAP (10k samples), timed on {k_done} games, extrapolated: {t_kernel:8.2f} s "
          f"-> {t_kernel / t_mc:.1f}x")
    acc = bench_accuracy(25, 100, 2 if args.quick else 3, cfg.mc_evaluations)
    print("  accuracy, RMSE over players vs the reference (mean over instances):")
    print(f"  {'n':>4} {'eval':>5} {'reference':>10} {'ref SE':>8} {'KernelSHAP':>11} {'ours (mc)':>10} {'sd(phi)':>8}")
    for n in sorted({r[0] for r in acc}):
        for e in ("l2", "l1"):
            sel = np.array([r[3:] for r in acc if r[0] == n and r[1] == e])
            ref = next(r[2] for r in acc if r[0] == n)
            m = sel.mean(axis=0)
            print(f"  {n:>4} {e:>5} {ref:>10} {m[0]:8.4f} {m[1]:11.4f} {m[2]:10.4f} {m[3]:8.4f}")

    tmp = Path(tempfile.mkdtemp(prefix="bench_crowd_sft_"))
    try:
        sweeps = bench_sweep(cfg, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\n[3] whole reproduce sweep ({total} runs + {n_games} Shapley games + files + Figs. 6-8)")
    base = next(iter(sweeps.values()))[1]
    for label, (sec, blob) in sweeps.items():
        print(f"  {label:32s} {sec:8.2f} s   per-run results identical to serial: {blob == base}")
    print(f"  published implementation (quoted, ~0.36 s/run at n=100, one core): ~{35 * runs / 50:.0f}-"
          f"{40 * runs / 50:.0f} min")
    best = min(s for s, _ in sweeps.values())
    print(f"  -> best wall time {best:.1f} s vs ~{35 * 60 * runs / 50:.0f} s published: ~{35 * 60 * runs / 50 / best:.0f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

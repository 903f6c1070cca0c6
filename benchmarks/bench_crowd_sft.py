"""Benchmark of the Crowd-SFT reproduction (paper Section IV-C/D), measured side by side in one run.

Run:  python benchmarks/bench_crowd_sft.py [--quick] [--old-commit REV] [--full-reference-sweep]

1. KernelSHAP per run (published variant: shap's design, LARS selection, constrained WLS), the
   plain transcription (``engine="reference"``) vs the fast engine (numba design + moment-based
   solve), per n in {10, 25, 50, 75, 100}, with the largest difference of their values. When
   ``shap`` is importable (bench extra) the published code's own per-run cost
   (``shap.KernelExplainer`` on the same game, 10,000 samples, ``l1_reg="num_features(n)"``) is
   timed too; otherwise its quoted figure is printed and labelled as such.
2. The full published-semantics sweep (5 n x 4 m x 9 pairs x 50 runs = 9,000 runs, independent
   draws, KernelSHAP at 10,000 samples per run) on a 2-worker process pool: the fast engine
   (measured); the plain engine (extrapolated from the per-run costs of [1] and labelled as
   such; ``--full-reference-sweep`` runs it in full, serially, which takes most of an hour); and, with
   ``--old-commit REV``, the code of commit REV
   (``git archive``; e.g. the commit before issue 11) running its own ``--shapley kernel
   --unpaired`` sweep, i.e. "today's" cost.
3. The accurate sweep (``--shapley mc``: closed form for dot, exact n <= 13, Monte Carlo above),
   9,000 runs on 2 workers, with independent draws (9,000 Shapley computations) and with
   ``--paired`` (one Shapley computation per (n, run, evaluation): 750).

Equality: the fast and plain engines must agree to 1e-12 (relative to the largest value) on every
game of [1]; ``tests/crowd_sft/test_crowd_kernelshap.py`` checks the same on fixed instances.
"""
from __future__ import annotations

import os

# one BLAS thread in this process too (before numpy loads): each engine is timed on one core, and the
# sweep workers get one thread each (crowd_sft._parallel); threaded BLAS on top oversubscribes 2 cores
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from crowd_sft.games import PublishedGame  # noqa: E402
from crowd_sft.shapley import kernel_shap  # noqa: E402
from crowd_sft.sweep import PAPER_GROUPS, PAPER_USERS, PAIRS, SweepConfig, run_sweep  # noqa: E402
from crowd_sft.tournament import make_instance  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def bench_kernel(games_per_n: int):
    rows = []
    for n in PAPER_USERS:
        t_ref = t_fast = 0.0
        worst = 0.0
        for s in range(games_per_n):
            inst = make_instance(n, 50_000 + s)
            g = PublishedGame(inst.users, inst.expert, ("l2", "l1", "dot")[s % 3])
            t0 = time.perf_counter()
            a = kernel_shap(g, variant="published", seed=s, engine="reference")
            t1 = time.perf_counter()
            b = kernel_shap(g, variant="published", seed=s)
            t2 = time.perf_counter()
            t_ref += t1 - t0
            t_fast += t2 - t1
            worst = max(worst, float(np.abs(a.values - b.values).max() / max(1.0, np.abs(a.values).max())))
        rows.append((n, t_ref / games_per_n, t_fast / games_per_n, worst))
    return rows


def bench_shap(games: int):
    try:
        import shap
    except ImportError:
        return None
    out = []
    for n in (25, 100):
        inst = make_instance(n, 1)
        g = PublishedGame(inst.users, inst.expert, "l2")
        ex = shap.KernelExplainer(lambda X: g.values(np.asarray(X) > 0.5), np.zeros((1, n)))
        t0 = time.perf_counter()
        for _ in range(games):
            ex.shap_values(np.ones((1, n)), nsamples=10_000, l1_reg=f"num_features({n})", silent=True)
        out.append((n, (time.perf_counter() - t0) / games))
    return out


def _sweep_seconds(cfg, out: Path, jobs: int) -> tuple[float, bytes]:
    t0 = time.perf_counter()
    run_sweep(cfg, out, n_jobs=jobs, progress=False, figures=False)
    return time.perf_counter() - t0, (out / "runs.csv").read_bytes()


def _old_sweep_seconds(rev: str, runs: int, jobs: int, tmp: Path) -> float:
    src = tmp / "old"
    src.mkdir()
    archive = subprocess.run(["git", "-C", str(REPO), "archive", rev, "crowd_sft"], check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(src)], input=archive.stdout, check=True)
    env = dict(os.environ, PYTHONPATH=str(src))
    cmd = [sys.executable, "-m", "crowd_sft", "reproduce", "--shapley", "kernel", "--unpaired", "--runs", str(runs),
           "--jobs", str(jobs), "--no-figures", "--out", str(tmp / "old_out")]
    subprocess.run(cmd[:3] + ["--help"], env=env, check=True, capture_output=True)  # imports, numba cache
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, capture_output=True, cwd=str(tmp))
    return time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="10 runs per setting instead of 50; fewer games")
    ap.add_argument("--jobs", type=int, default=2, help="worker processes for the sweeps (2)")
    ap.add_argument("--old-commit", default=None, help="also time the sweep of this commit's code (git archive)")
    ap.add_argument("--full-reference-sweep", action="store_true",
                    help="run the plain-engine sweep in full (serially) instead of extrapolating it")
    args = ap.parse_args(argv)
    runs = 10 if args.quick else 50
    if hasattr(os, "getloadavg"):
        print("load average at start (1, 5, 15 min): " + ", ".join(f"{x:.2f}" for x in os.getloadavg()) +
              " -- other processes on the machine slow the absolute times; the ratios are measured side by side")
    total = len(PAPER_USERS) * len(PAPER_GROUPS) * len(PAIRS) * runs
    print(f"Crowd-SFT benchmark: {os.cpu_count()} cores; python {sys.version.split()[0]}; {total} runs per sweep; "
          f"{args.jobs} workers")
    run_sweep(SweepConfig(users=(10, 25), groups=(2,), runs=1, rounds=5), None, n_jobs=1, progress=False)  # warm-up

    per = bench_kernel(3 if args.quick else 6)
    print("\n[1] published KernelSHAP per run (10,000 samples, LARS selection), one core")
    print(f"  {'n':>4} {'plain (s)':>10} {'fast (s)':>9} {'speed-up':>9} {'max rel. diff':>14}")
    for n, a, b, d in per:
        print(f"  {n:>4} {a:10.4f} {b:9.4f} {a / b:8.1f}x {d:14.2e}")
    assert all(d <= 1e-12 for *_, d in per), "fast and plain KernelSHAP differ by more than 1e-12"
    shp = bench_shap(2 if args.quick else 3)
    fast_at = {n: b for n, _, b, _ in per}
    plain_at = {n: a for n, a, _, _ in per}
    if shp is None:
        print("  published code (shap.KernelExplainer): shap not installed here; quoted ~0.36 s/run at n = 100 "
              f"-> {0.36 / fast_at[100]:.0f}x (quoted, not measured; benchmarks/setup_bench_env.sh installs shap)")
    else:
        print(f"  {'n':>4} {'shap (s)':>10} {'plain (s)':>10} {'fast (s)':>9} {'shap/fast':>10} {'plain/fast':>11}"
              "   (published code = shap.KernelExplainer, same game, measured in this run)")
        for n, sec in shp:
            print(f"  {n:>4} {sec:10.4f} {plain_at[n]:10.4f} {fast_at[n]:9.4f} {sec / fast_at[n]:9.1f}x "
                  f"{plain_at[n] / fast_at[n]:10.1f}x")

    tmp = Path(tempfile.mkdtemp(prefix="bench_crowd_sft_"))
    try:
        cfg = SweepConfig(runs=runs)
        print(f"\n[2] published-semantics sweep ({total} runs, independent draws, KernelSHAP 10k), {args.jobs} workers")
        t_fast, blob = _sweep_seconds(cfg, tmp / "fast", args.jobs)
        print(f"  fast engine (measured):                 {t_fast:8.1f} s")
        per_n = {n: a for n, a, _, _ in per}
        est_ref = sum(per_n[n] for n in cfg.users) * len(cfg.groups) * len(cfg.pairs) * runs / args.jobs
        if not args.full_reference_sweep:
            print(f"  plain engine (extrapolated from [1]):   {est_ref:8.1f} s  -> {est_ref / t_fast:.1f}x")
        else:
            import crowd_sft.sweep as sweep_mod

            old = sweep_mod.shapley_for

            def plain(cfg_, users, expert, evaluation, seed):  # same policy, plain KernelSHAP engine
                r = kernel_shap(PublishedGame(users, expert, evaluation), variant="published", seed=seed,
                                n_samples=int(cfg_.kernel_samples), engine="reference")
                return np.asarray(r.values)

            sweep_mod.shapley_for = plain  # in-process only: run the plain engine serially
            try:
                t0 = time.perf_counter()
                run_sweep(cfg, tmp / "plain", n_jobs=1, progress=False, figures=False)
                t_ref = (time.perf_counter() - t0) / args.jobs
            finally:
                sweep_mod.shapley_for = old
            same = (tmp / "plain" / "runs.csv").read_bytes() == blob
            print(f"  plain engine (measured on 1 core, /{args.jobs}): {t_ref:8.1f} s  -> {t_ref / t_fast:.1f}x; "
                  f"runs.csv byte-identical: {same}")
        if args.old_commit:
            t_old = _old_sweep_seconds(args.old_commit, runs, args.jobs, tmp)
            print(f"  code of {args.old_commit} (its --shapley kernel --unpaired, measured): {t_old:8.1f} s "
                  f"-> {t_old / t_fast:.1f}x")
        print(f"\n[3] accurate sweep (--shapley mc: closed form dot, exact n <= 13, MC 1000 n above), {total} runs, "
              f"{args.jobs} workers")
        for label, paired in (("independent draws (default)", False), ("--paired (one Shapley per n, run, eval)", True)):
            t_acc, _ = _sweep_seconds(SweepConfig(runs=runs, shapley="mc", paired=paired), tmp / f"acc{paired}", args.jobs)
            print(f"  {label:42s} {t_acc:8.1f} s")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if hasattr(os, "getloadavg"):
        print("\nload average at end (1, 5, 15 min): " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Side-by-side benchmark: crowd_sft.shapley vs the shap package on the Crowd-SFT published game.

Run in the benchmark venv (shap is not a project dependency)::

    benchmarks/setup_bench_env.sh            # creates /work/venv-bench with shap
    /work/venv-bench/bin/python benchmarks/bench_shapley.py [--quick]

Part 1 -- exact values, n = 12, 16, 20 (and 25, ours only): ``exact_shapley`` (numba Gray-code
walk) vs ``shap.explainers.Exact`` on the same vectorised value function (masker: one all-zeros
background row, explained instance all-ones, so a masked row *is* the coalition mask).
Target: ours >= 20x faster at n = 20; n = 25 in < 20 s.

Part 2 -- Monte Carlo error vs wall time, n = 50 and 100 (instances from
``crowd_sft.tournament.make_instance``): shap's Permutation explainer and KernelExplainer
(``l1_reg="num_features(n)"`` as published) against our antithetic and stratified samplers and
our paired KernelSHAP at equal evaluation budgets (plus our re-implementation of the published
KernelSHAP, which should match shap's KernelExplainer error), and our stratified sampler stopped by
``MaxTime(t)`` at each shap run's wall time t (equal time). Truth: the closed form for the dot
game; for L2 a long stratified run whose standard errors are reported (and are far below the
errors being compared). Error = RMSE over players, averaged over seeds.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the bench venv does not install the project

from crowd_sft.games import PublishedGame
from crowd_sft._validate import MAX_EVALUATIONS
from crowd_sft.shapley import (MaxTime, closed_form_shapley, exact_shapley, kernel_shap, monte_carlo_shapley)
from crowd_sft.shapley.samplers import StratifiedSampler
from crowd_sft.tournament import make_instance


def _shap():
    try:
        import shap
    except ImportError as exc:  # pragma: no cover - the benchmark needs the peer
        raise SystemExit("shap is not installed here: run benchmarks/setup_bench_env.sh and use /work/venv-bench") from exc
    return shap


def model_of(game):
    return lambda x: game.values(np.asarray(x) > 0.5)


def shap_exact(game):
    shap = _shap()
    n = game.n_players
    masker = shap.maskers.Independent(np.zeros((1, n)), max_samples=1)
    explainer = shap.explainers.Exact(model_of(game), masker)
    t0 = time.perf_counter()
    out = explainer(np.ones((1, n)), max_evals=2**n + 10, silent=True)
    return np.asarray(out.values[0]), time.perf_counter() - t0


def shap_permutation(game, budget, seed):
    shap = _shap()
    n = game.n_players
    np.random.seed(seed)
    masker = shap.maskers.Independent(np.zeros((1, n)), max_samples=1)
    explainer = shap.explainers.Permutation(model_of(game), masker, seed=seed)
    t0 = time.perf_counter()
    out = explainer(np.ones((1, n)), max_evals=budget, silent=True)
    return np.asarray(out.values[0]), time.perf_counter() - t0


def shap_kernel(game, budget, seed):
    shap = _shap()
    n = game.n_players
    np.random.seed(seed)
    explainer = shap.KernelExplainer(model_of(game), np.zeros((1, n)))
    t0 = time.perf_counter()
    vals = explainer.shap_values(np.ones((1, n)), nsamples=budget, l1_reg=f"num_features({n})", silent=True)
    return np.asarray(vals).reshape(-1)[:n], time.perf_counter() - t0


def rmse(a, b):
    return float(np.sqrt(np.mean((np.asarray(a) - np.asarray(b)) ** 2)))


def part_exact(sizes, evaluation="l2"):
    print(f"\n== Exact Shapley values, published game eval={evaluation} ==")
    warm = make_instance(8, 1)
    shap_exact(PublishedGame(warm.users, warm.expert, evaluation))  # shap's own first-call overhead
    print(f"{'n':>4} {'ours [s]':>10} {'shap Exact [s]':>15} {'speed-up':>9} {'max |diff|':>11}")
    for n in sizes:
        inst = make_instance(n, 1000 + n)
        game = PublishedGame(inst.users, inst.expert, evaluation)
        exact_shapley(game)  # warm (numba cache load)
        t0 = time.perf_counter()
        ours = exact_shapley(game).values
        t_ours = time.perf_counter() - t0
        if n <= 20:
            theirs, t_shap = shap_exact(game)
            print(f"{n:>4} {t_ours:>10.4f} {t_shap:>15.3f} {t_shap / t_ours:>8.0f}x {np.max(np.abs(ours - theirs)):>11.2e}")
        else:
            print(f"{n:>4} {t_ours:>10.4f} {'(not run)':>15} {'':>9} {'':>11}")


def part_mc(n, evaluation, budgets, seeds):
    inst = make_instance(n, 2000 + n)
    game = PublishedGame(inst.users, inst.expert, evaluation)
    if evaluation == "dot":
        truth, truth_se = closed_form_shapley(game).values, 0.0
    else:
        ref = monte_carlo_shapley(game, seed=12345, sampler="stratified", max_evaluations=20_000_000,
                                  chunk_size=1 << 16)
        truth, truth_se = ref.values, float(np.max(ref.stderr))
    scale = float(np.sqrt(np.mean(truth**2)))
    print(f"\n== Monte Carlo, n={n}, eval={evaluation}: RMSE vs truth (truth max stderr {truth_se:.1e}, "
          f"RMS value {scale:.3g}); mean over {len(seeds)} seeds ==")
    print(f"{'budget':>8} {'method':<28} {'evals':>8} {'seconds':>9} {'RMSE':>10} {'shap RMSE / ours':>17}")
    monte_carlo_shapley(game, seed=0, max_evaluations=10 * n)  # warm numba caches
    monte_carlo_shapley(game, seed=0, max_evaluations=100 * n, sampler="stratified")
    for budget in budgets:
        rows = {}

        def record(name, fn):
            errs, secs, evs = [], [], []
            for s in seeds:
                vals, sec, ev = fn(s)
                errs.append(rmse(vals, truth))
                secs.append(sec)
                evs.append(ev)
            rows[name] = (float(np.mean(evs)), float(np.mean(secs)), float(np.mean(errs)))

        record("shap Permutation", lambda s: (*shap_permutation(game, budget, s), budget))
        if budget <= 50_000:
            record("shap KernelExplainer", lambda s: (*shap_kernel(game, budget, s), budget))

        def ours(sampler):
            def fn(s):
                r = monte_carlo_shapley(game, seed=s, max_evaluations=budget, sampler=sampler)
                return r.values, r.seconds, r.evaluations
            return fn

        record("ours MC antithetic", ours("antithetic"))
        record("ours MC stratified", ours("stratified"))

        def ours_kernel(s):
            r = kernel_shap(game, n_samples=budget - 2, seed=s)
            return r.values, r.seconds, r.evaluations

        record("ours KernelSHAP paired", ours_kernel)
        if budget <= 50_000:
            def ours_published(s):
                r = kernel_shap(game, n_samples=budget, seed=s, variant="published")
                return r.values, r.seconds, r.evaluations

            record("ours KernelSHAP published", ours_published)
        t_perm = rows["shap Permutation"][1]

        strata = min(n - 2, max(1, (budget - 2 * n - 2) // (8 * n * 4)))  # what ours uses at this budget

        def equal_time(s):
            r = monte_carlo_shapley(game, seed=s, sampler=StratifiedSampler(strata=strata),
                                    stop=MaxTime(max(t_perm, 1e-3)), max_evaluations=MAX_EVALUATIONS,
                                    chunk_size=256, chunks_per_round=1)
            return r.values, r.seconds, r.evaluations

        record("ours stratified @ shap time", equal_time)
        best_shap = min(v[2] for k, v in rows.items() if k.startswith("shap"))
        for name, (ev, sec, err) in rows.items():
            ratio = "" if name.startswith("shap") or "published" in name else f"{best_shap / err:>16.1f}x"
            print(f"{budget:>8} {name:<28} {ev:>8.0f} {sec:>9.4f} {err:>10.3e} {ratio:>17}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes/budgets (smoke run)")
    args = ap.parse_args(argv)
    shap = _shap()
    print(f"shap {shap.__version__}, numpy {np.__version__}")
    if args.quick:
        part_exact([12, 16])
        part_mc(50, "l2", [5_000], seeds=[0, 1])
        return 0
    part_exact([12, 16, 20, 25])
    for n in (50, 100):
        for ev in ("dot", "l2"):
            part_mc(n, ev, [5_000, 20_000, 100_000], seeds=[0, 1, 2])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

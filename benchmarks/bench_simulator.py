"""Throughput of the Bradley-Terry-effort simulator with PPA and APA payments (issue 2, item 8).

Three ways of producing the same simulated agent-pair reports, from one run:

(a) numba   -- :class:`agents.ReportSampler` (numpy uniforms + numba report kernel) followed by
               :meth:`mechanisms.PPA.payments` / :meth:`mechanisms.APA.payments` (numba kernels);
(b) numpy   -- a clean vectorised numpy version of the same simulation (same generators and seeds: numpy
               draws, sigmoid, comparison) followed by :mod:`mechanisms.reference` payment functions;
(c) floor   -- the bare cost of drawing the same number of uniforms with numpy, which (a) and (b) both pay
               (one ``(T, N, P)`` array, as (b) does).  A second row draws the same uniforms in cache-sized blocks
               into one reused buffer, as :class:`agents.ReportSampler` does; the targets use the first.

Rates are simulated agent-pair reports per second (``trials * agents * pairs / seconds``), best of
``--repeats`` runs after a warm-up (numba compilation / cache load is excluded).  All paths are
single-threaded; by default the clock is the process CPU time and the paths are timed round-robin, so that
other jobs on a shared machine distort the ratios as little as possible (``--clock wall`` for wall time).  The script checks that
(a) and (b) produce identical reports and payments before timing.

Targets: numba >= 3x numpy; numba with PPA within 3x of the floor (rate >= floor / 3).

numba here has no SVML (Intel short-vector math library), so ``exp`` is a scalar libm call (about 4 ns).
A profile with few distinct efforts (symmetric: two) computes one exact sigmoid row per run of equal efforts;
a heterogeneous one would be exp-bound that way, so it decides each report with a vectorised bound on ``exp``
and evaluates the exact expression only for the rare undecided reports (same reports, bit for bit; see
``agents.bradley_terry._draw_bounded``).

Usage::

    python benchmarks/bench_simulator.py [--trials 200000] [--agents 5] [--items 5] [--repeats 3]
"""
from __future__ import annotations

import argparse
import os
import platform
import time

import numba
import numpy as np

from agents import ReportSampler, pair_index
from agents.bradley_terry import _draw_reports
from mechanisms import APA, PPA
from mechanisms import reference as ref

from mechanisms.kernels import COHERENCE_3CYCLE, COHERENCE_SCC, _pair_table, _ppa

APA_TAB = np.array([0.0, 0.0, 0.0, 1.0])   # APA as a pair table: pay agreement on coherent pairs


def numpy_simulation(eps, n_items, n_trials, seed):
    """Vectorised numpy simulation with exactly the generators of ``ReportSampler`` (two streams spawned
    from ``SeedSequence(seed)``: qualities first, report noise second), so the reports are identical."""
    s_theta, s_noise = np.random.SeedSequence(seed).spawn(2)
    g_theta = np.random.Generator(np.random.PCG64(s_theta))
    g_noise = np.random.Generator(np.random.PCG64(s_noise))
    pa, pb = pair_index(n_items)
    theta = g_theta.standard_normal((n_trials, n_items))
    u = g_noise.random((n_trials, len(eps), len(pa)))
    D = theta[:, pa] - theta[:, pb]                                       # (T, P)
    prob = 1.0 / (1.0 + np.exp(-np.asarray(eps)[None, :, None] * D[:, None, :]))
    return theta, np.where(u < prob, 1, -1).astype(np.int8)


CLOCK = time.process_time      # CPU time of this (single-threaded) process: robust on a shared machine


def best_of(fn, repeats):
    best = np.inf
    out = None
    for _ in range(repeats):
        t0 = CLOCK()
        out = fn()
        best = min(best, CLOCK() - t0)
    return best, out


def interleaved_best(paths, repeats):
    """Best time of every path, the paths timed round-robin so that a busy spell hits all of them alike."""
    best = {name: np.inf for name, _ in paths}
    for _ in range(repeats):
        for name, fn in paths:
            t0 = CLOCK()
            fn()
            best[name] = min(best[name], CLOCK() - t0)
    return best


def run(n_trials, eps, n_items, repeats, seed=0):
    N = len(eps)
    P = len(pair_index(n_items)[0])
    n_reports = n_trials * N * P
    ppa, apa = PPA(), APA()

    # warm-up (compile or load the numba cache) and correctness check on a small draw
    small = ReportSampler(eps, n_items, seed=seed).draw(2000)
    _, r_np = numpy_simulation(eps, n_items, 2000, seed)
    assert np.array_equal(small.reports, r_np), "numba and numpy simulations differ"
    assert np.array_equal(ppa.payments(small.reports), ref.ppa_payments(r_np))
    assert np.array_equal(apa.payments(small.reports), ref.apa_payments(r_np))

    def numba_draw():
        return ReportSampler(eps, n_items, seed=seed).draw(n_trials).reports

    def numba_ppa():
        return ppa.payments(numba_draw())

    def numba_apa():
        return apa.payments(numba_draw())

    def numba_both():
        r = numba_draw()
        return ppa.payments(r), apa.payments(r)

    def numpy_draw():
        return numpy_simulation(eps, n_items, n_trials, seed)[1]

    def numpy_ppa():
        return ref.ppa_payments(numpy_draw())

    def numpy_apa():
        return ref.apa_payments(numpy_draw())

    def numpy_both():
        r = numpy_draw()
        return ref.ppa_payments(r), ref.apa_payments(r)

    def floor():
        return np.random.Generator(np.random.PCG64(seed)).random(n_reports)

    block = ReportSampler._BLOCK_ELEMENTS
    buf = np.empty(block)

    def floor_blocked():
        g = np.random.Generator(np.random.PCG64(seed))
        for k0 in range(0, n_reports, block):
            g.random(out=buf[: min(block, n_reports - k0)])
        return buf

    R = numba_draw()       # payments-only costs on one fixed report array
    assert np.array_equal(R, numpy_draw()), "numba and numpy simulations differ"
    assert np.array_equal(ppa.payments(R), ref.ppa_payments(R))
    assert np.array_equal(apa.payments(R), ref.apa_payments(R))
    return n_reports, interleaved_best([
        ("floor: numpy uniforms", floor), ("floor: uniforms, reused block", floor_blocked),
        ("numba: draw", numba_draw), ("numpy: draw", numpy_draw),
        ("numba: draw + PPA", numba_ppa), ("numpy: draw + PPA", numpy_ppa),
        ("numba: draw + APA", numba_apa), ("numpy: draw + APA", numpy_apa),
        ("numba: draw + PPA + APA", numba_both), ("numpy: draw + PPA + APA", numpy_both),
        ("numba: PPA payments only", lambda: ppa.payments(R)), ("numpy: PPA payments only", lambda: ref.ppa_payments(R)),
        ("numba: APA payments only", lambda: apa.payments(R)), ("numpy: APA payments only", lambda: ref.apa_payments(R)),
    ], repeats)


def profile(n_trials, eps, n_items, repeats, seed=0):
    """Where the numba path spends its time (ns per agent-pair report), component by component."""
    eps = np.asarray(eps, dtype=float)
    N = eps.size
    pa, pb = pair_index(n_items)
    P = len(pa)
    n = n_trials * N * P
    g = np.random.default_rng(seed)
    theta = g.standard_normal((n_trials, n_items))
    u = g.random((n_trials, N, P))
    R = np.empty(u.shape, dtype=np.int8)
    out = np.empty((n_trials, N))
    block = max(1, ReportSampler._BLOCK_ELEMENTS // (N * P))
    buf = np.empty((block, N, P))

    def noise_blocked():
        for t0 in range(0, n_trials, block):
            g.random(out=buf[: min(block, n_trials - t0)])

    parts = [
        ("qualities: standard_normal (T, m)", lambda: g.standard_normal((n_trials, n_items))),
        ("noise: random (T, N, P)", lambda: g.random((n_trials, N, P))),
        ("noise: random in reused blocks (sampler)", noise_blocked),
        ("report kernel _draw_reports", lambda: _draw_reports(theta, eps, u, pa, pb, R)),
        ("ReportSampler.draw (all of the above)", lambda: ReportSampler(eps, n_items, seed=seed).draw(n_trials)),
        ("payments(): input check (r==1)|(r==-1)", lambda: np.all((R == 1) | (R == -1))),
        ("PPA kernel _ppa", lambda: _ppa(R, 1.0, out)),
        ("APA kernel (3cycle)", lambda: _pair_table(R, APA_TAB, pa, pb, n_items, COHERENCE_3CYCLE, out)),
        ("APA kernel (scc)", lambda: _pair_table(R, APA_TAB, pa, pb, n_items, COHERENCE_SCC, out)),
    ]
    print("profile of the numba path (ns per agent-pair report):")
    for name, t in interleaved_best(parts, repeats).items():
        print(f"  {name:42s} {1e9 * t / n:7.2f}")


def report(n_trials, eps, n_items, repeats):
    n_reports, rows = run(n_trials, eps, n_items, repeats)
    N = len(eps)
    print(f"\ntrials={n_trials}  agents={N}  items={n_items}  signed efforts={list(eps)}  "
          f"-> {n_reports:,} agent-pair reports per run (best of {repeats})")
    print(f"{'path':28s} {'seconds':>9s} {'reports/s':>12s} {'ns/report':>10s}")
    for name, t in rows.items():
        print(f"{name:28s} {t:9.4f} {n_reports / t:12.3e} {1e9 * t / n_reports:10.2f}")
    floor = rows["floor: numpy uniforms"]
    floor_b = rows["floor: uniforms, reused block"]
    print("ratios (numba/numpy = rate of numba / rate of numpy; floor = numba time / time of the bare uniforms, "
          "one array [reused blocks]):")
    for what in ("draw", "draw + PPA", "draw + APA", "draw + PPA + APA", "PPA payments only",
                 "APA payments only"):
        sp = rows[f"numpy: {what}"] / rows[f"numba: {what}"]
        line = f"  {what:22s} numba/numpy speed-up = {sp:6.2f}x"
        if "payments only" not in what:
            t = rows[f"numba: {what}"]
            line += f"   numba time / floor time = {t / floor:5.2f}  [{t / floor_b:5.2f}]"
        print(line)
    sp_ppa = rows["numpy: draw + PPA"] / rows["numba: draw + PPA"]
    sp_apa = rows["numpy: draw + APA"] / rows["numba: draw + APA"]
    sp_all = rows["numpy: draw + PPA + APA"] / rows["numba: draw + PPA + APA"]
    within = rows["numba: draw + PPA"] / floor
    within_apa = rows["numba: draw + APA"] / floor
    ok = lambda good: "OK" if good else "MISSED"     # noqa: E731
    print(f"targets: numba >= 3x numpy: draw + PPA {sp_ppa:.2f}x {ok(sp_ppa >= 3)}, "
          f"draw + APA {sp_apa:.2f}x {ok(sp_apa >= 3)}, draw + PPA + APA {sp_all:.2f}x {ok(sp_all >= 3)}")
    print(f"         draw + PPA within 3x of the floor: {within:.2f}x {ok(within <= 3)}   "
          f"(draw + APA: {within_apa:.2f}x the floor, reported, no target)")
    runs = 1 + sum(a != b for a, b in zip(eps[1:], eps[:-1]))
    how = ("one exact sigmoid row per run of equal efforts" if 2 * runs <= N else
           "per-report vectorised exp bound, exact libm exp only when undecided (no SVML: a libm exp per "
           "report would make this profile exp-bound, about 5 ns/report in the kernel)")
    print(f"  note: {runs} runs of equal efforts among {N} agents -> {how}")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=200_000)
    p.add_argument("--agents", type=int, default=5)
    p.add_argument("--items", type=int, default=5)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--clock", choices=("process", "wall"), default="process",
                   help="process CPU time (default; robust when other jobs share the cores) or wall time")
    a = p.parse_args()
    global CLOCK
    CLOCK = time.process_time if a.clock == "process" else time.perf_counter
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"python {platform.python_version()}, numpy {np.__version__}, numba {numba.__version__} "
          f"(SVML {'on' if numba.config.USING_SVML else 'off'}), {platform.machine()}, "
          f"{os.cpu_count()} cpus, load average {load:.2f}, clock={a.clock}")
    # a symmetric profile (paid agent deviates, peers identical) and a fully heterogeneous one
    sym = [1.5] + [1.0] * (a.agents - 1)
    het = [round(float(e), 3) for e in np.linspace(-2.0, 2.0, a.agents) + 0.1]
    for eps in (sym, het):
        report(a.trials, eps, a.items, a.repeats)
        profile(a.trials, eps, a.items, a.repeats)


if __name__ == "__main__":
    main()

"""Time per exact evaluation against effort: the previous engine (panels of width ``5/|eps|`` over the whole
prior span, APA's third-item integral as a matrix product) vs the layer-adapted engine (issue 13, item 1).

For APA (3cycle) and BSST, ``N`` agents and ``m`` items, all at effort ``w`` (honest), on the normal and the
uniform prior, the script prints the seconds per ``mech.exact`` call of both engines side by side, the
relative difference of their values, and (``--table``) the time of a solver-like ``payment_table`` of 16 own
efforts in ``[0, w]`` against 4 peer efforts.  The old engine is selected with the private switch
``mechanisms.exact._USE_LEGACY``.  Cases whose old-engine cost is predicted above ``--old-budget`` seconds
(from its ``n^3`` / ``n^2`` operation count) or above 2 GB of memory are skipped and the prediction is printed.

Both engines' caches are cleared before each timed call (a cold evaluation, as on the command line); the
best of ``--repeats`` runs is reported (after one untimed warm-up that loads the numba caches).

Usage::

    python benchmarks/bench_exact_effort.py [--agents 4] [--items 4] [--efforts 1 5 20 50 200] [--table]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import mechanisms.exact as ex
from agents import NormalPrior, UniformPrior
from mechanisms import APA, BSST


def _clear_caches():
    ex._APA_BASE_CACHE.clear()
    ex._APA_VEC_CACHE.clear()
    ex._APA_PAIR_CACHE.clear()
    for name in dir(ex):
        f = getattr(ex, name)
        if hasattr(f, "cache_clear") and name not in ("_scc_tables", "_cheb_nodes"):
            f.cache_clear()
    from agents import priors
    priors._cached_rule.cache_clear()


def _old_cost(mech, prior, w):
    """Predicted (seconds, bytes) of the old engine: grid of n nodes, n^3 (APA) or n^2 (BSST) work."""
    n = prior.n_panels(w) * 12
    if mech.name == "apa":
        return n ** 3 * 0.6e-9, 6 * n * n * 8
    return n * n * 4 * 2.5e-8, 3 * n * n * 8


def _time(fn, legacy, repeats):
    ex._USE_LEGACY = legacy
    try:
        best = np.inf
        val = None
        for _ in range(repeats):
            _clear_caches()
            t0 = time.perf_counter()
            val = fn()
            best = min(best, time.perf_counter() - t0)
        return best, val
    finally:
        ex._USE_LEGACY = False


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--agents", type=int, default=4)
    ap.add_argument("--items", type=int, default=4)
    ap.add_argument("--efforts", type=float, nargs="+", default=[1.0, 5.0, 20.0, 50.0, 200.0])
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--old-budget", type=float, default=30.0, help="skip old-engine cases predicted slower (s)")
    ap.add_argument("--table", action="store_true", help="also time a 16 x 4 payment_table")
    args = ap.parse_args(argv)
    N, m = args.agents, args.items
    # warm-up: numba caches of both engines
    for legacy in (True, False):
        ex._USE_LEGACY = legacy
        for mech in (APA(), BSST()):
            mech.exact([2.0] * N, m, "normal")
            mech.exact([2.0] * N, m, "uniform")
    ex._USE_LEGACY = False
    print(f"N = {N}, m = {m}; seconds per evaluation (cold caches), best of {args.repeats}")
    head = f"{'mechanism':9} {'prior':8} {'effort':>7} {'old s':>10} {'new s':>9} {'speed-up':>9} {'rel diff':>9}"
    if args.table:
        head += f" {'old table s':>12} {'new table s':>12}"
    print(head)
    for mech in (APA(), BSST(1.0, 0.3)):
        for prior in (NormalPrior(), UniformPrior()):
            for w in args.efforts:
                eps = [w] * N
                t_new, v_new = _time(lambda: mech.exact(eps, m, prior), False, args.repeats)
                pred_s, pred_b = _old_cost(mech, prior, w)
                if pred_s > args.old_budget or pred_b > 2e9:
                    old = f"skip (~{pred_s:.0e} s, {pred_b / 1e9:.1f} GB)"
                    line = f"{mech.name:9} {prior.name:8} {w:7g} {old:>10} {t_new:9.4f} {'':>9} {'':>9}"
                else:
                    t_old, v_old = _time(lambda: mech.exact(eps, m, prior), True, args.repeats)
                    line = (f"{mech.name:9} {prior.name:8} {w:7g} {t_old:10.4f} {t_new:9.4f} {t_old / t_new:9.1f} "
                            f"{abs(v_old - v_new) / abs(v_new):9.1e}")
                if args.table:
                    own, peer = np.linspace(0.0, w, 16), np.array([0.25, 0.5, 0.75, 1.0]) * w
                    tn, _ = _time(lambda: mech.payment_table(own, peer, N, m, prior), False, 1)
                    if pred_s * 16 > args.old_budget or pred_b > 2e9:
                        line += f" {'skip':>12} {tn:12.3f}"
                    else:
                        to, _ = _time(lambda: mech.payment_table(own, peer, N, m, prior), True, 1)
                        line += f" {to:12.3f} {tn:12.3f}"
                print(line, flush=True)


if __name__ == "__main__":
    main()

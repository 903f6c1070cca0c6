"""Timing of the property atlas (issue 14): the 2,880-cell atlas on 2 cores, and shared vs independent cells.

1. The full atlas: PPA, BSST, APA x cost families linear, quadratic, sqrt, exp x N in {3, 4, 5} x m in
   {3, 4} x 40 geometric ratios z/k (default 0.05 to 6: every threshold of these games but APA's UEI with
   exp costs at N = m = 3, 5.33, lies inside), all four properties, boundaries located to 1e-4,
   figures, ``n_jobs=2`` (target: under 10 min on 2 cores).  Prints the wall time, the cells computed
   (grid and bisection) and the machine's load average before and after.
2. Side by side, on the same inputs in one run: one game's ratios (20 of them, N = m = 3) computed as the atlas does (one task:
   the first-order-condition stencils at z = 1 are shared by every ratio) against the same 40 cells
   computed independently (the shared caches emptied before each cell, as 20 separate
   ``python -m equilibria check`` calls would), with the ratio.

Run: ``python benchmarks/bench_atlas.py [--z-over-k 0.05:6:40] [--jobs 2] [--quick]``
(``--quick``: N = m = 3 only, 10 ratios: a smoke run).
"""
import argparse
import os
import tempfile
import time

from equilibria import atlas
from equilibria.atlas import GameSpec, compute_cell, parse_z_over_k

FAMILIES = ["linear", "quadratic", "sqrt", "exp"]


def _clear_shared():
    from equilibria import symmetric
    from mechanisms import exact
    symmetric._SHARED.clear()
    getattr(exact, "_APA_VEC_CACHE", {}).clear()
    getattr(exact, "_APA_PAIR_CACHE", {}).clear()


def side_by_side(rs, spec):
    _clear_shared()
    t0 = time.perf_counter()
    shared = [compute_cell(spec, float(r)) for r in rs]
    t_shared = time.perf_counter() - t0
    t0 = time.perf_counter()
    alone = []
    for r in rs:
        _clear_shared()
        alone.append(compute_cell(spec, float(r)))
    t_alone = time.perf_counter() - t0
    same = all(a[p]["holds"] == b[p]["holds"] for a, b in zip(shared, alone)
               for p in ("UEI", "omega_BNIC", "EC", "collusion_proof"))
    return t_shared, t_alone, same


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--z-over-k", default="0.05:6:40")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default=None, help="keep the atlas here (default: a temporary directory)")
    args = ap.parse_args()
    rs = parse_z_over_k(args.z_over_k)
    Ns, ms = ([3], [3]) if args.quick else ([3, 4, 5], [3, 4])
    if args.quick:
        rs = rs[:: max(1, rs.size // 10)]
    compute_cell(GameSpec("apa", "quadratic", 3, 3, "normal"), 1.0)      # numba caches and imports
    out = args.out or tempfile.mkdtemp(prefix="atlas_bench_")
    n = 3 * len(FAMILIES) * len(Ns) * len(ms) * rs.size
    print(f"load average before: {os.getloadavg()}")
    print(f"full atlas: 3 mechanisms x {len(FAMILIES)} families x N {Ns} x m {ms} x {rs.size} ratios = {n} cells, "
          f"--jobs {args.jobs}, out {out}")
    t0 = time.perf_counter()
    res = atlas(["ppa", "bsst", "apa"], FAMILIES, Ns, ms, ["normal"], rs, out=out, n_jobs=args.jobs)
    wall = time.perf_counter() - t0
    print(f"cells {len(res.cells)}, computed {res.computed} (grid + bisection), boundaries {len(res.boundaries)} "
          f"({sum(b['exact'] for b in res.boundaries)} exact), undetermined verdicts "
          f"{sum(c[p]['holds'] is None for c in res.cells for p in res.settings['properties'])}")
    print(f"wall {wall:.1f} s ({wall / 60:.2f} min; target < 10 min); load average after: {os.getloadavg()}")
    side = rs[:: max(1, rs.size // 20)]
    print(f"\nside by side, one game x {side.size} ratios (shared = as the atlas runs a game; alone = caches "
          "emptied before every cell)")
    print(f"{'game':<34} {'shared [s]':>10} {'alone [s]':>10} {'ratio':>7} same verdicts")
    for mech in ("ppa", "bsst", "apa"):
        spec = GameSpec(mech, "linear", 3, 3, "normal")
        ts, ta, same = side_by_side(side, spec)
        print(f"{mech + ' linear N=3 m=3':<34} {ts:10.2f} {ta:10.2f} {ta / ts:6.2f}x {same}", flush=True)


if __name__ == "__main__":
    main()

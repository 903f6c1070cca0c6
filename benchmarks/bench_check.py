"""Timing of ``equilibria.check_properties`` (the ``python -m equilibria check`` job) for N <= 5, m <= 4.

Prints, side by side from one run, the wall time of a full check per (mechanism, N, m) and the speed-up
of the vectorised exact payment table (one call) over the same table built from pointwise exact
payments (one ``Mechanism.exact`` call per cell): the table is what lets a check finish in seconds.
Target (issue): every check under 2 s on 2 cores.

Run: ``python benchmarks/bench_check.py``
"""
import time

import numpy as np

from equilibria import Game, check_properties
from mechanisms import APA, BSST, PPA


def main():
    # warm up numba and caches
    check_properties(Game(APA(), "quadratic:0.1", 3, 3))
    print(f"{'mechanism':<6} {'N':>2} {'m':>2} {'check [s]':>10} {'table [s]':>10} {'pointwise [s]':>14} {'ratio':>7}")
    worst = 0.0
    for mech in (PPA(), BSST(), APA()):
        for N in (3, 4, 5):
            for m in (3, 4):
                game = Game(mech, "linear:0.5", N, m)
                t0 = time.perf_counter()
                check_properties(game)
                t_check = time.perf_counter() - t0
                worst = max(worst, t_check)
                own = np.linspace(-5, 5, 21)
                peer = np.linspace(0, 5, 6)
                t0 = time.perf_counter()
                mech.payment_table(own, peer, N, m)
                t_tab = time.perf_counter() - t0
                t0 = time.perf_counter()
                for o in own:
                    for q in peer:
                        mech.exact(np.r_[o, np.full(N - 1, q)], m)
                t_pt = time.perf_counter() - t0
                print(f"{mech.name:<6} {N:>2} {m:>2} {t_check:10.3f} {t_tab:10.4f} {t_pt:14.4f} {t_pt / t_tab:7.1f}x")
    print(f"\nslowest check: {worst:.2f} s (target < 2 s)")


if __name__ == "__main__":
    main()

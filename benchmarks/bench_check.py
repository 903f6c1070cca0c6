"""Timing of ``equilibria.check_properties`` (the ``python -m equilibria check`` job) for N <= 5, m <= 4.

Prints, side by side from one run, the wall time of a full certified check per (mechanism, N, m, cost)
-- derived effort bound, complete equilibrium enumeration, certified best responses, three verdicts --
with the size of its search domain and the number of first-order-condition evaluations, and the speed-up
of the vectorised exact payment table (one call) over the same table built from pointwise exact
payments (one ``Mechanism.exact`` call per cell).  Target (issue 10): every check under 2 s on 2 cores.

Run: ``python benchmarks/bench_check.py``
"""
import time

import numpy as np

from equilibria import Game, check_properties
from mechanisms import APA, BSST, PPA


def main():
    check_properties(Game(APA(), "quadratic:0.1", 3, 3))      # warm up numba and caches
    print(f"{'mechanism':<6} {'N':>2} {'m':>2} {'cost':<14} {'W':>7} {'check [s]':>10} {'table [s]':>10} "
          f"{'pointwise [s]':>14} {'ratio':>7}")
    worst = (0.0, None)
    for mech in (PPA(), BSST(), APA()):
        for N in (3, 4, 5):
            for m in (3, 4):
                for cost in ("linear:0.5", "quadratic:0.1"):
                    game = Game(mech, cost, N, m)
                    t0 = time.perf_counter()
                    check_properties(game)
                    t_check = time.perf_counter() - t0
                    if t_check > worst[0]:
                        worst = (t_check, f"{mech.name} N={N} m={m} {cost}")
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
                    print(f"{mech.name:<6} {N:>2} {m:>2} {cost:<14} {game.domain:7.3g} {t_check:10.3f} "
                          f"{t_tab:10.4f} {t_pt:14.4f} {t_pt / t_tab:7.1f}x", flush=True)
    print(f"\nslowest check: {worst[0]:.2f} s ({worst[1]}; target < 2 s)")


if __name__ == "__main__":
    main()

"""Time of the exact extended-strategy engine (convention probabilities, spec section 4): the first
implementation (reference) vs the fast engine, side by side, with the paper-space cost for comparison.

For the calls the extended equilibrium layer and the robust design make (three own efforts x own q values
against ``N - 1`` peers sharing one ``(eps, q)``; one own effort against heterogeneous peers; a design-like
deviation grid of ``StatisticRule`` features), the script prints milliseconds per call of

* ``old``: the reference (``mechanisms.exact._EXT_REFERENCE = True``: :func:`mechanisms.exact._apa3_extended_reference`,
  per-row ``numpy.polynomial`` conversion, no memo);
* ``new cold``: the fast engine with its per-effort caches (``T`` and the per-node tables of every own effort,
  memoised features) cleared before every call;
* ``new warm``: the fast engine called again with the same efforts (the solvers revisit efforts: the three
  efforts of a finite difference are evaluated at several ``q``; a designed rule's columns share features);
* ``paper``: ``payment_curve`` with the same own efforts and peer efforts in the paper's space;

the ratios ``old / new``, the largest relative difference of the values, and the load average.  Shared
quadrature caches (outer rules and their sorted form, the ``T`` interpolants) are warm for every column.  Best of ``--repeats`` runs after an
untimed warm-up that loads the numba caches.

Usage::

    python benchmarks/bench_extended.py [--repeats 5]
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np

import mechanisms.exact as ex
import mechanisms.statistics as st
from mechanisms import APA, StatisticRule

OWN = [0.9, 1.0, 1.1]
DESIGN_RULE = StatisticRule(pair=[0.0, 0.0, 0.0, 1.0], triple=[0.0, 0.1, 0.1, 0.2])


def _clear_fast():
    ex._EXT_T_CACHE.clear()          # T and the per-node tables of every own effort
    st._FEATURES_CACHE.clear()


def _best(fn, repeats, before=None):
    ts = []
    for _ in range(repeats):
        if before is not None:
            before()
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return 1e3 * min(ts)


def _cases():
    dev = np.linspace(-2.0, 2.0, 21)
    return [
        ("APA conv_poly m=3 N=3 (normal)", lambda: APA().convention_polynomial(OWN, [1.0, 1.0], [0.3, 0.3], 3),
         lambda: APA().payment_curve(OWN, [1.0, 1.0], 3)),
        ("APA ext_curve 3q m=3 N=3", lambda: APA().extended_curve(OWN, [0.3, 0.31, 0.32], [1, 1], [.3, .3], 3),
         lambda: APA().payment_curve(OWN, [1.0, 1.0], 3)),
        ("APA ext_curve 7q m=3 N=3", lambda: APA().extended_curve(OWN, np.linspace(0, 1, 7), [1, 1], [.3, .3], 3),
         lambda: APA().payment_curve(OWN, [1.0, 1.0], 3)),
        ("APA ext_curve 3q m=4 N=4", lambda: APA().extended_curve(OWN, [0.3, 0.31, 0.32], [1] * 3, [.3] * 3, 4),
         lambda: APA().payment_curve(OWN, [1.0] * 3, 4)),
        ("APA conv_poly m=5 N=4", lambda: APA().convention_polynomial(OWN, [1.0] * 3, [.3] * 3, 5),
         lambda: APA().payment_curve(OWN, [1.0] * 3, 5)),
        ("APA conv_poly m=3 (uniform)", lambda: APA().convention_polynomial(OWN, [1.0, 1.0], [.3, .3], 3, "uniform"),
         lambda: APA().payment_curve(OWN, [1.0, 1.0], 3, "uniform")),
        ("APA 1 own vs hetero peers m=4", lambda: APA().extended_curve([1.0], [0.3], [0.5, 1.0, 2.0],
                                                                      [0.1, 0.3, 0.0], 4),
         lambda: APA().payment_curve([1.0], [0.5, 1.0, 2.0], 4)),
        ("Stat conv_poly m=3 N=4", lambda: DESIGN_RULE.convention_polynomial(OWN, [1.0] * 3, [.3] * 3, 3),
         lambda: DESIGN_RULE.payment_curve(OWN, [1.0] * 3, 3)),
        ("Stat features 21 dev x 5q m=3", lambda: st.statistic_features_extended(dev, np.linspace(0, 1, 5),
                                                                                [1.0] * 3, 0.0, 3),
         lambda: DESIGN_RULE.payment_curve(dev, [1.0] * 3, 3)),
    ]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} (2-core machine: absolute times "
          "are inflated under load, ratios are measured in the same run)")
    head = f"{'call':32s} {'old ms':>8s} {'cold ms':>8s} {'warm ms':>8s} {'paper ms':>8s} " \
           f"{'old/cold':>8s} {'old/warm':>8s} {'cold/pap':>8s} {'max rel diff':>12s}"
    print(head)
    print("-" * len(head))
    for name, fn, paper in _cases():
        ex._EXT_REFERENCE = True
        ref = np.asarray(fn())
        t_old = _best(fn, args.repeats)
        ex._EXT_REFERENCE = False
        _clear_fast()
        new = np.asarray(fn())
        t_cold = _best(fn, args.repeats, before=_clear_fast)
        fn()
        t_warm = _best(fn, args.repeats)
        paper()
        t_paper = _best(paper, args.repeats)
        if "conv_poly" in name:     # compare the polynomials on [0, 1] (monomial coefficients are ill-conditioned)
            qg = np.linspace(0, 1, 11)
            ref = np.polynomial.polynomial.polyval(qg, ref.T)
            new = np.polynomial.polynomial.polyval(qg, new.T)
        diff = float(np.max(np.abs(new - ref)) / np.max(np.abs(ref)))
        print(f"{name:32s} {t_old:8.2f} {t_cold:8.2f} {t_warm:8.2f} {t_paper:8.2f} {t_old / t_cold:8.1f} "
              f"{t_old / t_warm:8.1f} {t_cold / t_paper:8.1f} {diff:12.2e}")
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

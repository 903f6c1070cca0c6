"""Certified symmetric-equilibrium search: lattice-anchored, batched and shared FOC stencils vs the previous
W-relative search (one engine call per point).

For each rule (APA, BSST, PPA) and cost shape (linear, quadratic, sqrt), times
``equilibria.check_properties`` over 20 geometric ``z/k`` in ``[0.05, 20]`` (``N = 4``, ``m = 4``; games
``Game(Mech(), parse_cost("<shape>:1").with_k(1/r), N, m)``), first with ``equilibria.symmetric._LEGACY =
True`` (the previous search), then with the new one, side by side.  Every engine-level cache is cleared
before each of the two runs, so neither profits from the other; both runs also report their engine calls
(``calls``) of the first-order-condition evaluator, and the equilibrium sets are compared.

Usage::

    .venv/bin/python benchmarks/bench_foc_batching.py [--n-r 20] [--rules apa,bsst,ppa]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import equilibria.symmetric as sym  # noqa: E402
import mechanisms.exact as ex  # noqa: E402
from agents import parse_cost  # noqa: E402
from equilibria import Game, check_properties  # noqa: E402
from mechanisms import APA, BSST, PPA  # noqa: E402

RULES = {"apa": APA, "bsst": BSST, "ppa": PPA}


def _clear():
    sym._SHARED.clear()
    sym._SHARED_LEGACY.clear()
    ex._APA_VEC_CACHE.clear()
    ex._APA_PAIR_CACHE.clear()
    ex._BSST_T_CACHE.clear()


def sweep(mech, shape, rs, legacy, n=4, m=4):
    """``(seconds, engine calls, [(honest efforts, complete)] per r)`` of ``check_properties`` over ``rs``."""
    sym._LEGACY = legacy
    _clear()
    c0 = sym.ENGINE_CALLS["calls"]
    out = []
    t0 = time.perf_counter()
    try:
        for r in rs:
            g = Game(mech, parse_cost(f"{shape}:1").with_k(1.0 / r), n, m)
            ev = check_properties(g).omega_BNIC.evidence
            out.append(([e["effort"] for e in ev["equilibria"] if e["report"] == "honest"],
                        "uncleared" not in ev.get("reason", "")))
        dt = time.perf_counter() - t0
    finally:
        sym._LEGACY = False
    return dt, sym.ENGINE_CALLS["calls"] - c0, out


def same(a, b):
    for (ea, ca), (eb, cb) in zip(a, b):
        if ca != cb or len(ea) != len(eb):
            return False
        if any(abs(x - y) > 1e-6 * max(abs(x), abs(y), 1e-12) + 1e-12 for x, y in zip(ea, eb)):
            return False
    return True


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-r", type=int, default=20)
    ap.add_argument("--rules", default="apa,bsst,ppa")
    ap.add_argument("--shapes", default="linear,quadratic,sqrt")
    args = ap.parse_args(argv)
    rs = np.geomspace(0.05, 20.0, args.n_r)
    print(f"check_properties over {args.n_r} geometric z/k in [0.05, 20], N=4, m=4")
    print(f"{'rule':5s} {'cost':10s} {'old s':>8s} {'new s':>8s} {'old/new':>8s} {'old calls':>10s} {'new calls':>10s}"
          "  same equilibria")
    tot_o = tot_n = 0.0
    for rule in args.rules.split(","):
        for shape in args.shapes.split(","):
            mech = RULES[rule]()
            to, co, ro = sweep(mech, shape, rs, True)
            tn, cn, rn = sweep(mech, shape, rs, False)
            tot_o += to
            tot_n += tn
            print(f"{rule:5s} {shape:10s} {to:8.2f} {tn:8.2f} {to / tn:8.2f} {co:10d} {cn:10d}  {same(ro, rn)}",
                  flush=True)
    print(f"{'total':16s} {tot_o:8.2f} {tot_n:8.2f} {tot_o / tot_n:8.2f}")


if __name__ == "__main__":
    main()

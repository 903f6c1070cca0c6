"""The default (published-semantics) sweep against the authors' shipped aggregate numbers.

Numbers from ``shared/spec/crowd_sft.md`` "Published numbers": means over m = 2..5 of 50-run
means, with per-run standard deviations of about 0.03-0.15 (Pearson) and 1.4-2.5 (final
distance). Each check runs a few runs per m of one (pair, n) cell with the defaults of
:class:`crowd_sft.sweep.SweepConfig` (published KernelSHAP, independent draws) and accepts a
difference of up to 4 combined standard errors: ours (from the observed run-to-run spread) and
the published mean's (4 x 50 runs with the spec's largest per-run SD). One check shows the
tolerance has teeth: the accurate estimator misses the published Pearson at n = 100.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from crowd_sft.sweep import SweepConfig, run_sweep

PUBLISHED_PEARSON = {  # pair -> {n: mean Pearson over m = 2..5}
    ("random", "dot"): {10: 0.906, 25: 0.849, 50: 0.683, 75: 0.537, 100: 0.426},
    ("random", "l2"): {10: 0.864, 25: 0.811, 50: 0.638, 75: 0.527, 100: 0.437},
    ("random", "l1"): {10: 0.841, 25: 0.787, 50: 0.575, 75: 0.469, 100: 0.385},
    ("interleaved", "dot"): {10: 0.853, 25: 0.824, 50: 0.683, 75: 0.554, 100: 0.432},
    ("interleaved", "l2"): {10: 0.836, 25: 0.789, 50: 0.645, 75: 0.545, 100: 0.422},
    ("interleaved", "l1"): {10: 0.834, 25: 0.753, 50: 0.586, 75: 0.481, 100: 0.382},
    ("epsilon-greedy", "dot"): {10: 0.814, 25: 0.707, 50: 0.514, 75: 0.377, 100: 0.279},
    ("epsilon-greedy", "l2"): {10: 0.805, 25: 0.679, 50: 0.473, 75: 0.367, 100: 0.277},
    ("epsilon-greedy", "l1"): {10: 0.799, 25: 0.648, 50: 0.436, 75: 0.339, 100: 0.256},
}
PUBLISHED_DISTANCE = {
    ("epsilon-greedy", "l2"): {10: 4.15, 25: 3.92, 50: 3.92, 75: 4.13, 100: 4.35},
    ("random", "l2"): {10: 4.22, 25: 4.45, 50: 4.18, 75: 4.59, 100: 4.76},
    ("interleaved", "l2"): {10: 4.12, 25: 4.32, 50: 4.34, 75: 4.75, 100: 4.52},
    ("random", "dot"): {10: 5.86, 25: 5.13, 50: 5.14, 75: 5.15, 100: 5.24},
    ("epsilon-greedy", "dot"): {10: 5.87, 25: 5.14, 50: 4.95, 75: 5.16, 100: 5.15},
}
PUBLISHED_RUNS = 4 * 50
PUBLISHED_SD = {"pearson": 0.15, "final_distance": 2.5}  # the spec's largest per-run SDs


def _cell(pair, n, runs, **cfg):
    res = run_sweep(SweepConfig(users=(n,), groups=(2, 3, 4, 5), pairs=(pair,), runs=runs, seed=11, **cfg), None,
                    n_jobs=1, progress=False)
    return res.rows


def _check(rows, key, published):
    v = np.array([r[key] for r in rows if r[key] is not None and np.isfinite(r[key])], dtype=float)
    ours_se = v.std(ddof=1) / math.sqrt(v.size)
    pub_se = PUBLISHED_SD[key] / math.sqrt(PUBLISHED_RUNS)
    tol = 4.0 * math.hypot(ours_se, pub_se)
    return float(v.mean()), tol, abs(v.mean() - published) <= tol


@pytest.mark.parametrize("pair,n,runs", [(("random", "l2"), 100, 8), (("epsilon-greedy", "l1"), 100, 8),
                                         (("random", "dot"), 50, 8), (("interleaved", "l2"), 10, 25)])
def test_default_pearson_matches_published(pair, n, runs):
    rows = _cell(pair, n, runs)
    mean, tol, ok = _check(rows, "pearson", PUBLISHED_PEARSON[pair][n])
    assert ok, f"{pair} n={n}: Pearson {mean:.3f} vs published {PUBLISHED_PEARSON[pair][n]} (tolerance {tol:.3f})"


def test_accurate_shapley_misses_published_pearson_at_100_users():
    """The tolerance above can fail: accurate Shapley values give a much higher r at n = 100."""
    rows = _cell(("random", "l2"), 100, 8, shapley="mc")
    mean, tol, ok = _check(rows, "pearson", PUBLISHED_PEARSON[("random", "l2")][100])
    assert not ok and mean > PUBLISHED_PEARSON[("random", "l2")][100] + tol


@pytest.mark.parametrize("pair", [("interleaved", "l2"), ("random", "dot"), ("epsilon-greedy", "l2")])
def test_default_final_and_start_distance_match_published_at_10_users(pair):
    rows = _cell(pair, 10, 25)
    mean, tol, ok = _check(rows, "final_distance", PUBLISHED_DISTANCE[pair][10])
    assert ok, f"{pair} n=10: final distance {mean:.2f} vs published {PUBLISHED_DISTANCE[pair][10]} (tol {tol:.2f})"
    start = np.mean([r["start_distance"] for r in rows])
    assert 9.3 - 0.5 <= start <= 9.8 + 0.5   # spec: about 9.3-9.8 in every setting (100 runs: SE ~0.2)
    never = np.mean([r["converged_round"] is None for r in rows])
    assert 0.1 <= never <= 0.7               # spec: about 25-50 % of runs never get within distance 5

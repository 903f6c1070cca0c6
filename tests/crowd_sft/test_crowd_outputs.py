"""Published defaults, provenance and the statistics of the sweep outputs (Table I bootstrap, 1/r)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from crowd_sft.sweep import SweepConfig, table_one



@pytest.fixture
def out(small_sweep):
    return small_sweep          # tests/crowd_sft/conftest.py: users (8, 12), groups (2, 3), 4 runs, figures


def test_defaults_are_the_published_semantics():
    cfg = SweepConfig()
    assert cfg.shapley == "kernel" and cfg.kernel_samples == 10_000 and cfg.paired is False
    assert cfg.users == (10, 25, 50, 75, 100) and cfg.groups == (2, 3, 4, 5) and cfg.runs == 50


def test_independent_draws_differ_across_settings(out):
    _, res = out
    starts = {(r["m"], r["grouping"], r["evaluation"]): r["start_distance"] for r in res.rows
              if r["n"] == 8 and r["run"] == 0}
    assert len(set(starts.values())) == len(starts)  # every setting has its own expert and x0


def test_provenance_in_config_table_and_figures(out):
    d, res = out
    prov = json.loads((d / "config.json").read_text())["provenance"]
    assert prov["shapley_estimator"] == "kernel" and prov["budget"] == {"kernel_samples": 10_000}
    assert prov["seeding"] == "independent" and prov["runs_per_setting"] == 4
    md = (d / "table1.md").read_text()
    assert "published KernelSHAP (10,000 samples" in md and "independent draws" in md and "4 runs per setting" in md
    for f in ("fig6", "fig7", "fig8"):
        assert (d / f"{f}.png").stat().st_size > 0
        svg = (d / f"{f}.svg").read_text()
        assert "KernelSHAP" in svg and "4 runs per setting" in svg  # the title block, as text in the vector file
    from matplotlib.image import imread
    assert imread(d / "fig7.png").shape[1] == 12 * 200  # 200 dpi


def test_inverse_pearson_is_the_mean_of_reciprocals(out):
    d, res = out
    for s in res.summary:
        r = np.array([x["pearson"] for x in res.rows if (x["n"], x["m"], x["grouping"], x["evaluation"]) ==
                      (s["n"], s["m"], s["grouping"], s["evaluation"]) and x["pearson"] is not None], float)
        r = r[np.isfinite(r) & (r != 0)]
        assert s["inverse_pearson_mean"] == pytest.approx(np.mean(1 / r), rel=1e-12)
        assert s["inverse_pearson_mean"] >= 1 / s["pearson_mean"] - 1e-12 or np.any(r < 0)  # Jensen for r > 0
    header = (d / "summary.csv").read_text().splitlines()[0].split(",")
    assert "inverse_pearson_mean" in header and "inverse_pearson_se" in header


def _rows(dist_by_pair, runs=40, seed=0):
    rng = np.random.default_rng(seed)
    rows, summary = [], []
    for (g, e), mu in dist_by_pair.items():
        d = rng.normal(mu, 1.0, runs)
        p = rng.normal(0.5, 0.1, runs)
        rows += [{"n": 10, "m": 2, "grouping": g, "evaluation": e, "run": k, "final_distance": float(d[k]),
                  "pearson": float(p[k])} for k in range(runs)]
        summary.append({"n": 10, "m": 2, "grouping": g, "evaluation": e, "final_distance_mean": float(d.mean()),
                        "pearson_mean": float(p.mean())})
    return rows, summary


def test_bootstrap_win_probabilities_reflect_the_noise():
    # a clear winner (2 sd ahead) wins every resample; two tied pairs split the wins
    rows, summary = _rows({("random", "l2"): 2.0, ("random", "l1"): 4.0, ("random", "dot"): 4.0})
    t = table_one(summary, rows, bootstrap=500, seed=1)
    b = {x["pair"]: x["expected_percent"] for x in t["bootstrap"]["best_final_distance"]}
    assert b == {"random/l2": 100.0}
    rows, summary = _rows({("random", "l2"): 4.0, ("random", "l1"): 4.0, ("random", "dot"): 6.0})
    t = table_one(summary, rows, bootstrap=2000, seed=1)
    ps = t["bootstrap"]["per_setting"]["n=10,m=2"]["best_final_distance"]
    assert sum(ps.values()) == pytest.approx(1.0)
    assert 0.2 < ps.get("random/l2", 0) < 0.8 and 0.2 < ps.get("random/l1", 0) < 0.8
    assert "random/dot" not in ps
    again = table_one(summary, rows, bootstrap=2000, seed=1)
    assert again["bootstrap"] == t["bootstrap"]          # a function of the seed
    paired = table_one(summary, rows, bootstrap=2000, seed=1, paired=True)
    assert paired["bootstrap"]["resampling"] == "runs jointly across pairs"
    with pytest.raises(ValueError, match="bootstrap"):
        table_one(summary, rows, bootstrap=0)

"""Beyond the paper (its Section VI "Future work"): robustness and alternative rewards.

Three one-factor sweeps around a base setting (default n = 50 users, m = 3 groups, the pairs
random/L2, epsilon-greedy/L2 and interleaved/dot), each reporting how *fairness* (Pearson
correlation of final points with the published-game Shapley values) and *convergence* (final
L2 distance) respond:

* ``adversary``: a fraction of the crowd is adversarial or careless -- ``"random"`` users have
  ``Uniform(0, 5)^d`` preference vectors (careless), ``"inverted"`` users ``5 - u`` (reversed
  tastes). They stay players of the Shapley game, so a fair reward gives them little.
* ``error``: the expert's error probability (5 % in the paper) from 0 to 0.5.
* ``reward``: the per-round reward rule: ``"rank"`` (paper: ``m - rank``), ``"improvement"``
  (proportional to the group's marginal improvement over the current model) and ``"shapley"``
  (the group's Shapley value in the round's max-improvement game); see
  :data:`crowd_sft.tournament.REWARDS`.

Every level is an ordinary resumable :func:`crowd_sft.sweep.run_sweep` (same seeds, so levels are
paired by common random numbers).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .figures import _EVAL_LABEL, _GROUP_LABEL, _plt, save
from .sweep import SweepConfig, _csv_text, _json_clean, _write_atomic, run_sweep
from .tournament import EVALUATIONS, GROUPINGS, REWARDS

__all__ = ["BEYOND_PAIRS", "BeyondResult", "run_beyond", "beyond_figure", "published_vs_accurate",
           "published_vs_accurate_figure"]

BEYOND_PAIRS = (("random", "l2"), ("epsilon-greedy", "l2"), ("interleaved", "dot"))
FRACTIONS = (0.0, 0.1, 0.2, 0.3, 0.5)
ERROR_PROBS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5)


@dataclass
class BeyondResult:
    """Summary rows (one per factor level x setting) with ``factor`` and ``level`` columns."""

    rows: list
    out_dir: Path | None = None


def run_beyond(out_dir=None, *, users: int = 50, groups: int = 3, pairs=BEYOND_PAIRS, runs: int = 50,
               seed: int = 0, fractions=FRACTIONS, kinds=("random", "inverted"), error_probs=ERROR_PROBS,
               rewards=REWARDS, n_jobs: int = -1, scheduler=None, dask_local=None, progress=None,
               **base_options) -> BeyondResult:
    """Run the three Section-VI sweeps; write ``beyond.csv``, ``beyond.json``, ``beyond.png``.

    Parameters
    ----------
    out_dir : path-like, optional
        Results directory (each level resumes from ``out_dir/<factor>/...``).
    users, groups, pairs, runs, seed
        Base setting (defaults: 50 users, 3 groups, :data:`BEYOND_PAIRS`, 50 runs).
    fractions, kinds : adversary fractions in [0, 1) and kinds ('random', 'inverted').
    error_probs : expert error probabilities in [0, 1).
    rewards : reward rules (subset of :data:`crowd_sft.tournament.REWARDS`).
    **base_options
        Further :class:`crowd_sft.sweep.SweepConfig` fields (e.g. ``rounds``, ``shapley``).

    Returns
    -------
    BeyondResult

    References
    ----------
    Paper Section VI (adversarial users, evaluator error, alternative reward mechanisms).
    """
    base = SweepConfig(users=(users,), groups=(groups,), pairs=tuple(pairs), runs=runs, seed=seed, **base_options)
    levels = []
    for kind in kinds:
        for f in fractions:
            levels.append((f"adversary-{kind}", float(f), replace(base, adversary_fraction=float(f), adversary_kind=kind)))
    for p in error_probs:
        levels.append(("error", float(p), replace(base, error_prob=float(p))))
    for r in rewards:
        levels.append(("reward", r, replace(base, reward=r)))
    rows = []
    for factor, level, cfg in levels:
        sub = None if out_dir is None else Path(out_dir) / "levels"
        res = run_sweep(cfg, sub, n_jobs=n_jobs, scheduler=scheduler, dask_local=dask_local, progress=progress,
                        figures=False, write=False)
        for s in res.summary:
            rows.append({"factor": factor, "level": level, **s})
    out = BeyondResult(rows, None if out_dir is None else Path(out_dir))
    if out_dir is not None:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        _write_atomic(out_dir / "beyond.csv", _csv_text(rows))
        _write_atomic(out_dir / "beyond.json", json.dumps(_json_clean(rows), indent=1, allow_nan=False) + "\n")
        beyond_figure(rows, out_dir / "beyond.png")
    return out


def beyond_figure(rows, path) -> None:
    """Fairness (Pearson) and convergence (final distance) vs each factor, one line per pair."""
    plt = _plt()
    factors = [f for f in dict.fromkeys(r["factor"] for r in rows)]
    fig, axes = plt.subplots(2, len(factors), figsize=(4 * len(factors), 7), squeeze=False)
    pairs = list(dict.fromkeys((r["grouping"], r["evaluation"]) for r in rows))
    for c, factor in enumerate(factors):
        sel = [r for r in rows if r["factor"] == factor]
        levels = list(dict.fromkeys(r["level"] for r in sel))
        numeric = all(isinstance(v, float) for v in levels)
        xs = np.array(levels, dtype=float) if numeric else np.arange(len(levels))
        for g, e in pairs:
            by = {r["level"]: r for r in sel if (r["grouping"], r["evaluation"]) == (g, e)}
            for ax, key in ((axes[0, c], "pearson"), (axes[1, c], "final_distance")):
                y = np.array([by[v][f"{key}_mean"] for v in levels])
                se = np.array([by[v][f"{key}_se"] for v in levels])
                ax.errorbar(xs, y, yerr=se, marker="o", ms=3, capsize=2, label=f"{g}/{e}")
        for ax in axes[:, c]:
            if not numeric:
                ax.set_xticks(xs, [str(v) for v in levels])
            ax.set_xlabel(factor)
        axes[0, c].set_title(factor)
    axes[0, 0].set_ylabel("Pearson r (points vs Shapley)")
    axes[1, 0].set_ylabel("final distance to expert")
    axes[0, 0].legend(fontsize=7)
    fig.suptitle("Beyond the paper (Section VI): fairness and convergence (mean ± SE)")
    fig.tight_layout()
    save(fig, path)
    plt.close(fig)


def _pooled_over_m(summary):
    """Per (grouping, evaluation, n): mean over m of the per-setting mean Pearson and its SE
    (settings are independent under independent seeding: SE = sqrt(sum se^2) / #m)."""
    out = {}
    for s in summary:
        out.setdefault((s["grouping"], s["evaluation"], s["n"]), []).append(s)
    res = {}
    for k, ss in out.items():
        means = np.array([s["pearson_mean"] for s in ss], dtype=float)
        ses = np.array([s["pearson_se"] for s in ss], dtype=float)
        res[k] = (float(np.mean(means)), float(np.sqrt(np.sum(ses ** 2)) / len(ss)))
    return res


def published_vs_accurate(cfg: SweepConfig, out_dir=None, *, n_jobs: int = -1, scheduler=None, dask_local=None,
                          progress=None, accurate: str = "mc", figure: bool = True) -> list[dict]:
    """Pearson of points vs Shapley values with the published KernelSHAP and with accurate values.

    Runs the sweep ``cfg`` twice, with ``shapley='kernel'`` and with ``shapley=accurate``; the
    tournaments are identical (the estimator has its own seeds), so the two Pearson columns differ
    only through the Shapley estimator. Writes ``published_vs_accurate.csv`` and the figure
    ``beyond_published_vs_accurate.png`` / ``.svg`` when ``out_dir`` is given (the two sweeps
    resume from ``out_dir/parts`` like any sweep).

    Returns
    -------
    list of dict
        One row per (grouping, evaluation, n): ``pearson_published``/``_se`` and
        ``pearson_accurate``/``_se`` (means over m of the per-setting means).
    """
    if accurate not in ("mc", "exact"):
        raise ValueError(f"accurate must be one of mc, exact; got {accurate!r}")
    kw = dict(n_jobs=n_jobs, scheduler=scheduler, dask_local=dask_local, progress=progress, figures=False,
              write=False)
    pub_cfg, acc_cfg = replace(cfg, shapley="kernel"), replace(cfg, shapley=accurate)
    pub = _pooled_over_m(run_sweep(pub_cfg, out_dir, **kw).summary)
    acc = _pooled_over_m(run_sweep(acc_cfg, out_dir, **kw).summary)
    rows = [{"grouping": g, "evaluation": e, "n": n, "pearson_published": pub[(g, e, n)][0],
             "pearson_published_se": pub[(g, e, n)][1], "pearson_accurate": acc[(g, e, n)][0],
             "pearson_accurate_se": acc[(g, e, n)][1]}
            for (g, e, n) in sorted(pub, key=lambda k: (GROUPINGS.index(k[0]), EVALUATIONS.index(k[1]), k[2]))]
    if out_dir is not None:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        _write_atomic(out_dir / "published_vs_accurate.csv", _csv_text(rows))
        if figure:
            published_vs_accurate_figure(rows, out_dir / "beyond_published_vs_accurate.png",
                                         provenance=f"published: {pub_cfg.estimator_text()}; accurate: "
                                                    f"{acc_cfg.estimator_text()}; {cfg.seeding_text()}; "
                                                    f"{int(cfg.runs)} runs per setting, same tournaments")
    return rows


def published_vs_accurate_figure(rows, path, *, provenance: str | None = None):
    """Mean Pearson vs users, published KernelSHAP beside accurate Shapley values (3 x 3 panels,
    paper's order, shared y-axis, error bars one SE)."""
    plt = _plt()
    fig, axes = plt.subplots(3, 3, figsize=(12, 10.5), sharex=True, sharey=True)
    for r, e in enumerate(EVALUATIONS):
        for c, g in enumerate(GROUPINGS):
            ax = axes[r, c]
            sel = sorted((x for x in rows if x["grouping"] == g and x["evaluation"] == e), key=lambda x: x["n"])
            if sel:
                n = np.array([x["n"] for x in sel], dtype=float)
                for key, label, fmt in (("pearson_published", "published KernelSHAP", "o-"),
                                        ("pearson_accurate", "accurate Shapley values", "s--")):
                    ax.errorbar(n, [x[key] for x in sel], yerr=[x[key + "_se"] for x in sel], fmt=fmt, ms=4,
                                capsize=2, label=label)
            ax.set_title(f"{_GROUP_LABEL[g]} / {_EVAL_LABEL[e]}", fontsize=11)
            ax.grid(alpha=0.3)
            if r == 2:
                ax.set_xlabel("number of users n", fontsize=10)
            if c == 0:
                ax.set_ylabel("Pearson r, mean over m", fontsize=10)
    ns = sorted({x["n"] for x in rows})
    if ns:
        axes[0, 0].set_xticks(ns)
    h, lab = axes[0, 0].get_legend_handles_labels()
    if h:
        fig.legend(h, lab, loc="upper center", ncol=2, fontsize=11, frameon=False, bbox_to_anchor=(0.5, 0.955))
    fig.suptitle("Beyond the paper: how much of Fig. 7's decline is KernelSHAP noise? (mean ± SE)", fontsize=13,
                 y=0.995)
    if provenance:
        fig.text(0.01, 0.005, provenance, fontsize=7.5, wrap=True)
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.07, top=0.9, wspace=0.08, hspace=0.2)
    out = save(fig, path)
    plt.close(fig)
    return out

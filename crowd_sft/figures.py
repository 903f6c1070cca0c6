"""The paper's Figures 6, 7 and 8 from a sweep summary (:func:`crowd_sft.sweep.summarize`).

* Fig. 6: average inverse Pearson correlation -- the mean over runs of ``1/r`` (column
  ``inverse_pearson_mean``), as published -- vs mean final distance for every (grouping,
  evaluation) pair at n = 50 users, m = 3 groups. Error bars: standard errors of the two means
  over the runs (``sd / sqrt(runs)``; the paper's caption shows standard deviations, which
  describe the spread of single runs, not the uncertainty of a mean).
* Fig. 7 / Fig. 8: mean Pearson correlation / mean final distance vs number of users, one line
  per group count, 3 x 3 panels in the paper's order (rows: L2, L1, dot; columns: random,
  epsilon-greedy, interleaved) on a shared y-axis, error bars one standard error of each mean.

Every figure carries a title block stating the Shapley estimator, its budget, the seeding design
and the number of runs (``provenance``), and is written as a 200-dpi PNG and an SVG.
With paired seeding the points at one ``n`` share their draws: each error bar is still the
standard error of its own mean, but differences between lines are then more precise than the
bars suggest (the caption says so).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .tournament import EVALUATIONS, GROUPINGS

__all__ = ["figure6", "scaling_figure", "write_figures", "DPI"]

DPI = 200
_EVAL_LABEL = {"l2": "L2 Norm", "l1": "L1 Norm", "dot": "Dot Product"}
_GROUP_LABEL = {"random": "Random", "epsilon-greedy": "ε-Greedy", "interleaved": "Interleaved"}


class _Figures:
    """A pyplot-free stand-in for ``plt.subplots``/``plt.close``.

    Figures are built on ``matplotlib.figure.Figure`` and saved with ``savefig``, so no backend is
    switched: calling these functions from a notebook leaves ``%matplotlib inline`` working.
    """

    @staticmethod
    def subplots(*args, figsize=None, **kw):
        from matplotlib.figure import Figure
        fig = Figure(figsize=figsize)
        return fig, fig.subplots(*args, **kw)

    @staticmethod
    def close(fig):
        fig.clear()


def _plt():
    return _Figures


def _pick(values, preferred):
    values = sorted(set(values))
    return preferred if preferred in values else values[len(values) // 2]


def save(fig, path) -> list[Path]:
    """Save ``fig`` as ``path`` (PNG, 200 dpi) and beside it as SVG; returns both paths."""
    from matplotlib import rc_context

    path = Path(path)
    fig.savefig(path, dpi=DPI, metadata={"Software": None})
    svg = path.with_suffix(".svg")
    with rc_context({"svg.fonttype": "none", "svg.hashsalt": "crowd_sft"}):  # text stays text; stable ids
        fig.savefig(svg, metadata={"Date": None, "Creator": None})
    return [path, svg]


def _design_note(provenance):
    if provenance and "paired" in provenance and "independent" not in provenance:
        return " Paired seeding: points at one n share draws, so differences are more precise than the bars."
    return ""


def figure6(summary, path, *, n=50, m=3, provenance: str | None = None):
    """Paper Fig. 6: mean of 1/r vs mean final distance per pair (error bars: SE of the means)."""
    plt = _plt()
    n = _pick([s["n"] for s in summary], n)
    m = _pick([s["m"] for s in summary], m)
    rows = [s for s in summary if s["n"] == n and s["m"] == m]
    fig, ax = plt.subplots(figsize=(9, 5.6))
    markers = {"l2": "o", "l1": "s", "dot": "^"}
    colors = {"random": "C0", "epsilon-greedy": "C1", "interleaved": "C2"}
    order = {(g, e): k for k, (g, e) in enumerate((g, e) for g in GROUPINGS for e in EVALUATIONS)}
    for s in sorted(rows, key=lambda s: order.get((s["grouping"], s["evaluation"]), 99)):
        ax.errorbar(s["final_distance_mean"], s["inverse_pearson_mean"], xerr=s["final_distance_se"],
                    yerr=s["inverse_pearson_se"], fmt=markers[s["evaluation"]], color=colors[s["grouping"]],
                    ms=8, capsize=3, label=f"{_GROUP_LABEL[s['grouping']]} + {_EVAL_LABEL[s['evaluation']]}")
    ax.set_xlabel("final distance to expert point (mean ± SE)", fontsize=11)
    ax.set_ylabel("average inverse Pearson, mean of 1/r (mean ± SE)", fontsize=11)
    ax.set_title(f"Fig. 6: average inverse Pearson vs final distance (n={n} users, m={m} groups)", fontsize=12)
    ax.legend(fontsize=10, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.grid(alpha=0.3)
    if provenance:
        fig.text(0.01, 0.01, provenance + _design_note(provenance), fontsize=7.5, wrap=True)
    fig.subplots_adjust(left=0.09, right=0.72, bottom=0.16, top=0.92)
    out = save(fig, path)
    plt.close(fig)
    return out


def scaling_figure(summary, path, key, ylabel, title, *, provenance: str | None = None):
    """Paper Figs. 7/8: ``key`` (e.g. ``'pearson_mean'``) vs users, one line per group count.

    Panels in the paper's order (rows: evaluation L2, L1, dot; columns: grouping random,
    epsilon-greedy, interleaved), one shared y-axis, error bars one standard error.
    """
    plt = _plt()
    fig, axes = plt.subplots(3, 3, figsize=(12, 10.5), sharex=True, sharey=True)
    ms = sorted({s["m"] for s in summary})
    se_key = key.replace("_mean", "_se")
    handles = labels = None
    for r, e in enumerate(EVALUATIONS):
        for c, g in enumerate(GROUPINGS):
            ax = axes[r, c]
            for m in ms:
                pts = sorted((s["n"], s[key], s[se_key]) for s in summary
                             if s["m"] == m and s["grouping"] == g and s["evaluation"] == e)
                if pts:
                    x, y, se = (np.array(v, dtype=float) for v in zip(*pts))
                    ax.errorbar(x, y, yerr=se, marker="o", ms=4, capsize=2, label=f"m = {m} groups")
            ax.set_title(f"{_GROUP_LABEL[g]} / {_EVAL_LABEL[e]}", fontsize=11)
            ax.grid(alpha=0.3)
            if r == 2:
                ax.set_xlabel("number of users n", fontsize=10)
            if c == 0:
                ax.set_ylabel(ylabel, fontsize=10)
            if handles is None and ax.get_legend_handles_labels()[0]:
                handles, labels = ax.get_legend_handles_labels()
    ns = sorted({s["n"] for s in summary})
    if ns:
        axes[0, 0].set_xticks(ns)  # shared x-axis: the crowd sizes of the sweep
    if handles:
        fig.legend(handles, labels, loc="upper center", ncol=len(labels), fontsize=11, frameon=False,
                   bbox_to_anchor=(0.5, 0.955))
    fig.suptitle(title, fontsize=13, y=0.995)
    if provenance:
        fig.text(0.01, 0.005, provenance + ". Error bars: one standard error of each mean over runs."
                 + _design_note(provenance), fontsize=7.5, wrap=True)
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.07, top=0.9, wspace=0.08, hspace=0.2)
    out = save(fig, path)
    plt.close(fig)
    return out


def write_figures(summary, out_dir, *, provenance: str | None = None) -> list[Path]:
    """Write ``fig6``, ``fig7`` and ``fig8`` (``.png`` at 200 dpi and ``.svg``) into ``out_dir``.

    Returns the PNG paths.
    """
    out_dir = Path(out_dir)
    paths = [out_dir / "fig6.png", out_dir / "fig7.png", out_dir / "fig8.png"]
    figure6(summary, paths[0], provenance=provenance)
    scaling_figure(summary, paths[1], "pearson_mean", "Pearson r (points vs Shapley)",
                   "Fig. 7: reward fairness vs users (mean ± SE over runs)", provenance=provenance)
    scaling_figure(summary, paths[2], "final_distance_mean", "final distance to expert",
                   "Fig. 8: convergence vs users (mean ± SE over runs)", provenance=provenance)
    return paths

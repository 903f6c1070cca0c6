"""The paper's Figures 6, 7 and 8 from a sweep summary (:func:`crowd_sft.sweep.summarize`).

* Fig. 6: average inverse Pearson correlation (``1 - mean r``) vs mean final distance for every
  (grouping, evaluation) pair at n = 50 users, m = 3 groups; error bars are standard deviations
  over runs (as in the paper's caption).
* Fig. 7 / Fig. 8: mean Pearson correlation / mean final distance vs number of users, one line
  per group count, 3 x 3 panels (rows: evaluation, columns: grouping).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .tournament import EVALUATIONS, GROUPINGS

__all__ = ["figure6", "scaling_figure", "write_figures"]

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


def figure6(summary, path, *, n=50, m=3):
    """Paper Fig. 6 (inverse Pearson vs final distance per pair, error bars = SD)."""
    plt = _plt()
    n = _pick([s["n"] for s in summary], n)
    m = _pick([s["m"] for s in summary], m)
    rows = [s for s in summary if s["n"] == n and s["m"] == m]
    fig, ax = plt.subplots(figsize=(7, 5))
    markers = {"l2": "o", "l1": "s", "dot": "^"}
    colors = {"random": "C0", "epsilon-greedy": "C1", "interleaved": "C2"}
    for s in rows:
        ax.errorbar(s["final_distance_mean"], 1.0 - s["pearson_mean"], xerr=s["final_distance_sd"],
                    yerr=s["pearson_sd"], fmt=markers[s["evaluation"]], color=colors[s["grouping"]],
                    capsize=3, label=f"{_GROUP_LABEL[s['grouping']]} + {_EVAL_LABEL[s['evaluation']]}")
    ax.set_xlabel("final distance to expert point (mean ± SD)")
    ax.set_ylabel("inverse Pearson correlation 1 - r (mean ± SD)")
    ax.set_title(f"Average inverse Pearson vs final distance (n={n} users, m={m} groups)")
    ax.legend(fontsize=7)
    fig.subplots_adjust(left=0.1, right=0.97, bottom=0.1, top=0.93)
    fig.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(fig)


def scaling_figure(summary, path, key, ylabel, title):
    """Paper Figs. 7/8: ``key`` (e.g. ``'pearson_mean'``) vs users, one line per group count."""
    plt = _plt()
    fig, axes = plt.subplots(3, 3, figsize=(12, 10), sharex=True)
    ms = sorted({s["m"] for s in summary})
    for r, e in enumerate(EVALUATIONS):
        for c, g in enumerate(GROUPINGS):
            ax = axes[r, c]
            for m in ms:
                pts = sorted((s["n"], s[key], s[key.replace("_mean", "_se")]) for s in summary
                             if s["m"] == m and s["grouping"] == g and s["evaluation"] == e)
                if pts:
                    x, y, se = (np.array(v, dtype=float) for v in zip(*pts))
                    ax.errorbar(x, y, yerr=se, marker="o", ms=3, capsize=2, label=f"{m} groups")
            ax.set_title(f"{_GROUP_LABEL[g]} / {_EVAL_LABEL[e]}", fontsize=9)
            if r == 2:
                ax.set_xlabel("number of users")
            if c == 0:
                ax.set_ylabel(ylabel)
    axes[0, 0].legend(fontsize=7)
    fig.suptitle(title)
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.06, top=0.93, wspace=0.25, hspace=0.25)
    fig.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(fig)


def write_figures(summary, out_dir) -> list[Path]:
    """Write ``fig6.png``, ``fig7.png`` and ``fig8.png`` into ``out_dir``."""
    out_dir = Path(out_dir)
    paths = [out_dir / "fig6.png", out_dir / "fig7.png", out_dir / "fig8.png"]
    figure6(summary, paths[0])
    scaling_figure(summary, paths[1], "pearson_mean", "Pearson r (points vs Shapley)",
                   "Fig. 7: reward fairness vs users (mean ± SE over runs)")
    scaling_figure(summary, paths[2], "final_distance_mean", "final distance to expert",
                   "Fig. 8: convergence vs users (mean ± SE over runs)")
    return paths

"""The main job: PPA / BSST / APA x (linear, quadratic, sqrt) costs x (UEI, omega-BNIC, EC), thresholds
on ``z/k``, and figures (best-response maps, utility landscapes, EC gain curves).

``python -m equilibria report [--out DIR]`` prints the table, writes ``DIR/report.json`` (rewritten
after every cell, so an interrupted run keeps what it finished) and PNG figures.
"""
from __future__ import annotations

import json
import math
import os
import sys
import time

import numpy as np

from agents import HONEST, parse_cost
from mechanisms import APA, BSST, PPA

from .game import Game, SymmetricGrid
from .properties import check_properties
from .thresholds import omega_bnic_threshold, uei_threshold

MECHS = (("PPA", PPA()), ("BSST", BSST()), ("APA", APA()))
COSTS = ("linear:0.5", "quadratic:0.1", "sqrt:0.2")


class Progress:
    """A minimal progress bar on stderr, shown only on a terminal."""

    def __init__(self, total, label=""):
        self.total, self.done, self.label, self.t0 = total, 0, label, time.time()
        self.on = sys.stderr.isatty()

    def step(self, what=""):
        self.done += 1
        if self.on:
            n = int(30 * self.done / self.total)
            sys.stderr.write(f"\r{self.label} [{'#' * n}{'.' * (30 - n)}] {self.done}/{self.total} "
                             f"{time.time() - self.t0:5.1f}s {what:<28}")
            sys.stderr.flush()
            if self.done == self.total:
                sys.stderr.write("\n")


def _clean(o):
    if isinstance(o, float) and not math.isfinite(o):
        return None
    if isinstance(o, dict):
        return {k: _clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_clean(v) for v in o]
    if isinstance(o, np.ndarray):
        return _clean(o.tolist())
    if isinstance(o, np.generic):
        return _clean(o.item())
    return o


def _fmt(v):
    return {True: "holds", False: "fails", None: "undet."}[v]


EXPLANATION = """\
How to read the table
  UEI          Def. 5.1: against peers who exert zero effort, zero effort is NOT a best response (so the
               uninformed profile is not an equilibrium).  PPA and BSST fail it by symmetry: against
               fair-coin peer reports their payment does not depend on own effort.
  omega-BNIC   Def. 5.2: some informed honest symmetric equilibrium pays at least as much as every other
               symmetric equilibrium (dishonest mirrors tie exactly and do not count against it).  The
               equilibria come from a complete, certified search of [0, W], W the derived effort bound
               (every larger effort is strictly dominated), so none can hide.
  EC literal   Def. 5.3 as printed: when one peer raises effort by d, i's gain from raising its own effort
               is non-negative and non-decreasing on the whole interval [w, w + d].
  EC compl.    The weaker complementarity reading: i's best response does not fall when a peer's effort
               rises.
  w* (W)       the best informed honest equilibrium effort (omega-BNIC's candidate) and, in brackets, the
               searched domain [0, W] (the derived effort bound, or the user's cap).
  z/k UEI      smallest payment-to-cost ratio z/k at which UEI holds, for this cost shape (c = k c0):
               "root" = global minimisation of c0(w) / (M1(w) - M1(0)); after ";" the exact local value
               from the small-effort expansion (sympy closed form); "inf (local)" = zero effort stays a
               strict local maximum for every z/k (linear and concave costs), so only the global value is
               finite; "never" = fails for every z/k (by symmetry).
  z/k omega-BNIC  smallest z/k at which omega-BNIC holds: the exact bifurcation at zero effort where it is
               one (quadratic costs, "exact"), else bisection on certified verdicts to 1e-4 relative.
  Extended table (spec section 4): the same properties when every agent may also report the public index
               order (the "convention", probability q per pair): it needs no effort and everyone on it agrees.
  collusion-proof  every symmetric equilibrium in which all agents are uninformative (zero effort or the
               convention) pays each agent strictly less than the best informed honest equilibrium.
  k-coalition  no coalition of k = 2..N agents gains by jointly switching to the convention or to zero effort
               from the best informed honest equilibrium.
  survives     which of the paper-space verdicts that held still hold in the extended space.
  holds / fails are decided against stated error bounds; "undet." = within the bound or premise not met
  (report.json gives the reason and the margin)."""


def _cell(args):
    name, cost, agents, items, prior, w_max, space = args
    mech = dict(MECHS)[name]
    g = Game(mech, parse_cost(cost), agents, items, prior, w_max)
    t0 = time.time()
    rep = check_properties(g)
    th_u = uei_threshold(g)
    th_b = omega_bnic_threshold(g)
    out = {"mechanism": name, "cost": cost, "domain": g.domain, "bound": g.bound.to_dict(), **rep.to_dict(),
           "threshold_UEI": th_u.to_dict(), "threshold_omega_BNIC": th_b.to_dict()}
    if space != "paper":
        from .extended import check_properties_extended
        ext = check_properties_extended(g)
        out["extended"] = {**ext.to_dict(), "equilibria": ext.equilibria.to_dict() if ext.equilibria else None}
    out["seconds"] = time.time() - t0
    return out


STRATEGY_SPACES = ("paper", "extended", "both")


def run_report(out="report", *, n_agents=4, n_items=4, prior="normal", w_max=None, as_json=False, n_jobs=2,
               strategy_space="both", **deprecated):
    """Run the main job; see the module docstring.  ``n_jobs`` worker processes share the cells.

    Every argument is checked, and ``out`` is checked to be a creatable, writable directory, before any
    work; the directory is created only then.  ``agents``, ``items`` and ``jobs`` are deprecated
    aliases of ``n_agents``, ``n_items`` and ``n_jobs``.
    """
    import warnings

    from agents import as_prior
    from agents._cli import check_out_dir
    from agents._validation import check_int, check_real

    for old, new in (("agents", "n_agents"), ("items", "n_items"), ("jobs", "n_jobs")):
        if old in deprecated:
            warnings.warn(f"run_report({old}=...) is deprecated; use {new}=", DeprecationWarning, stacklevel=2)
            if new == "n_agents":
                n_agents = deprecated.pop(old)
            elif new == "n_items":
                n_items = deprecated.pop(old)
            else:
                n_jobs = deprecated.pop(old)
    if deprecated:
        raise TypeError(f"run_report() got unexpected keyword arguments {sorted(deprecated)}")
    agents = check_int("n_agents", n_agents, low=3, high=2000)
    items = check_int("n_items", n_items, low=3, high=100_000)
    jobs = check_int("n_jobs", n_jobs, low=1, high=64)
    from agents._validation import check_choice
    space = check_choice("strategy_space", strategy_space, STRATEGY_SPACES)
    as_prior(prior)
    if w_max is not None:
        w_max = check_real("w_max", w_max, low=0.0, low_open=True)
    out = check_out_dir("out", out)
    os.makedirs(out, exist_ok=True)
    t0 = time.time()
    cells = []
    prog = Progress(len(MECHS) * len(COSTS) + 1, "report")
    summary = {"setting": {"n_agents": agents, "n_items": items, "prior": str(prior), "w_max": w_max,
                           "z": 1.0, "y_bsst": 0.5, "coherence": "3cycle", "strategy_space": space,
                           "effort_domain": "derived effort bound per game" if w_max is None else
                           f"min(derived bound, w_max={w_max})"}, "cells": cells}
    tasks = [(name, cost, agents, items, prior, w_max, space) for name, _ in MECHS for cost in COSTS]
    order = {(t[0], t[1]): k for k, t in enumerate(tasks)}

    def done(cell):
        cells.append(cell)
        cells.sort(key=lambda c: order[(c["mechanism"], c["cost"])])
        with open(os.path.join(out, "report.json"), "w") as f:
            json.dump(_clean(summary), f, indent=1)
        prog.step(f"{cell['mechanism']} {cell['cost']}")
    if jobs > 1:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor, as_completed
        # the slowest cells first, so the pool stays busy
        heavy = sorted(tasks, key=lambda t: (t[0] != "APA", t[1] == "quadratic:0.1"))
        from agents._workers import exit_with_parent

        # workers end with this process, even if it is killed (kill -9) in the middle of a cell
        with ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("spawn"),
                                 initializer=exit_with_parent, initargs=(os.getpid(),)) as ex:
            for fut in as_completed([ex.submit(_cell, t) for t in heavy]):
                done(fut.result())
    else:
        for t in tasks:
            done(_cell(t))
    figs_data = {}
    for name, mech in MECHS:
        g = Game(mech, "quadratic:0.1", agents, items, prior, w_max)
        cell = next(c for c in cells if c["mechanism"] == name and c["cost"] == "quadratic:0.1")
        figs_data[name] = (g, SymmetricGrid(g), cell)
    _figures(out, figs_data)
    prog.step("figures")
    summary["seconds"] = time.time() - t0
    with open(os.path.join(out, "report.json"), "w") as f:
        json.dump(_clean(summary), f, indent=1)
    if as_json:
        print(json.dumps(_clean(summary)))
        return summary
    dom = "derived effort bounds" if w_max is None else f"efforts capped at w_max={w_max:g}"
    print(f"Incentive properties, N={agents}, m={items}, prior={prior}, z=1 (BSST y=0.5), APA 3cycle, {dom}")
    hdr = f"{'mechanism':<9} {'cost':<14} {'UEI':<7} {'omega-BNIC':<11} {'EC literal':<11} {'EC compl.':<10} " \
          f"{'w* (W)':<16} {'z/k UEI (root; local)':<24} {'z/k omega-BNIC':<16}"
    print(hdr)
    print("-" * len(hdr))
    for c in cells:
        tu, tb = c["threshold_UEI"], c["threshold_omega_BNIC"]
        u = "never" if tu["never"] else f"{tu['z_over_k']:.5g}"
        if not tu["never"] and tu["sympy_z_over_k"] is not None:
            u += f"; {tu['sympy_z_over_k']:.5g}" if math.isfinite(tu["sympy_z_over_k"]) else "; inf (local)"
        b = "never" if tb["never"] else f"{tb['z_over_k']:.5g}" + (" exact" if "exact" in tb["method"] else "")
        ev = c["omega_BNIC"]["evidence"]
        cand = ev.get("candidate")
        wstar = (f"{cand['effort']:.4g}" if cand else "-") + f" ({c['domain']:.3g})"
        bnic = _fmt(c["omega_BNIC"]["holds"]) + ("*" if "warning" in ev else "")
        comp = c["EC"]["evidence"].get("complementarity", {}).get("holds")
        print(f"{c['mechanism']:<9} {c['cost']:<14} {_fmt(c['UEI']['holds']):<7} {bnic:<11} "
              f"{_fmt(c['EC']['holds']):<11} {_fmt(comp):<10} {wstar:<16} {u:<24} {b:<16}")
    if any("warning" in c["omega_BNIC"]["evidence"] for c in cells):
        print(f"* efforts capped at w_max={w_max}: the verdict is for the capped game")
    if space != "paper":
        print()
        print("Extended strategy space (w, f, q): agents may also report the index convention with probability q")
        hdr = (f"{'mechanism':<9} {'cost':<14} {'UEI':<7} {'omega-BNIC':<11} {'EC literal':<11} "
               f"{'collusion-proof':<16} {'k-coalition':<12} {'best uninformative':<22} {'survives'}")
        print(hdr)
        print("-" * len(hdr))
        for c in cells:
            x = c["extended"]
            un = x["collusion_proof"]["evidence"].get("uninformative_equilibria") or []
            top = max(un, key=lambda e: e["utility"]) if un else None
            best = (f"{top['kind']} U={top['utility']:.4g}" if top else "-")
            lost = [k for k in ("UEI", "omega_BNIC", "EC") if c[k]["holds"] is True and x[k]["holds"] is not True]
            surv = "all" if not lost else "lost: " + ", ".join(lost)
            if not any(c[k]["holds"] is True for k in ("UEI", "omega_BNIC", "EC")):
                surv = "(none held)"
            print(f"{c['mechanism']:<9} {c['cost']:<14} {_fmt(x['UEI']['holds']):<7} {_fmt(x['omega_BNIC']['holds']):<11} "
                  f"{_fmt(x['EC']['holds']):<11} {_fmt(x['collusion_proof']['holds']):<16} "
                  f"{_fmt(x['coalition_proof']['holds']):<12} {best:<22} {surv}")
    print()
    print(EXPLANATION)
    print(f"\nwrote {os.path.join(out, 'report.json')} and figures in {out}/ ({summary['seconds']:.1f}s)")
    return summary


def _figures(out, data):
    from matplotlib.figure import Figure   # pyplot-free: no backend switch when called from a notebook

    cost = "quadratic:0.1"
    fig = Figure(figsize=(13, 4))
    axes = fig.subplots(1, 3, sharey=True)
    for ax, (name, _) in zip(axes, MECHS):
        g, grid, rep = data[name]
        U = grid.utility(g.cost_of(0))
        br = grid.own[np.argmax(U, axis=0)]
        ax.plot(grid.peer, np.abs(br), "o-", ms=3, label="best response effort")
        ax.plot(grid.peer, grid.peer, "k--", lw=1, label="diagonal")
        dis = br < 0
        if dis.any():
            ax.plot(grid.peer[dis], np.abs(br[dis]), "rx", label="dishonest best response")
        for e in rep["omega_BNIC"]["evidence"]["equilibria"]:
            if e["report"] == HONEST:
                ax.plot(e["effort"], e["effort"], "s", ms=9, mfc="none", mec="g")
        ax.set_title(f"{name}, cost {cost}")
        ax.set_xlabel("peers' effort (honest)")
    axes[0].set_ylabel("agent i's best-response effort")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "best_response_maps.png"), dpi=110)

    fig = Figure(figsize=(13, 4))
    axes = fig.subplots(1, 3)
    for ax, (name, _) in zip(axes, MECHS):
        g, grid, rep = data[name]
        U = grid.utility(g.cost_of(0))
        for q in (0, grid.peer.size // 4, grid.peer.size // 2, grid.peer.size - 1):
            ax.plot(grid.own, U[:, q], label=f"peers at w={grid.peer[q]:.2g} (h)")
        ax.axvline(0, color="k", lw=0.5)
        ax.set_title(f"{name}: utility landscape")
        ax.set_xlabel("own signed effort (negative = dishonest)")
    axes[0].set_ylabel("E[U_i]")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "utility_landscapes.png"), dpi=110)

    fig = Figure(figsize=(13, 4))
    axes = fig.subplots(1, 3)
    for ax, (name, _) in zip(axes, MECHS):
        g, grid, rep = data[name]
        ev = rep["EC"]["evidence"]
        if "gain" in ev:
            ax.plot(ev["gain_efforts"], ev["gain"], "o-", ms=3)
        else:
            ax.text(0.5, 0.5, "undetermined:\n" + ev.get("reason", ""), ha="center", va="center", wrap=True,
                    fontsize=8, transform=ax.transAxes)
        ax.axhline(0, color="k", lw=0.5)
        ax.set_title(f"{name}: EC gain, peer {ev['peer_effort']:.2g}->{ev['raised_peer_effort']:.2g}\n"
                     f"literal {_fmt(rep['EC']['holds'])}, complementarity "
                     f"{_fmt(ev['complementarity']['holds'])}", fontsize=9)
        ax.set_xlabel("agent i's effort w_i")
    axes[0].set_ylabel("U_i(w_i) - U_i(w)")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "ec_gain_curves.png"), dpi=110)



"""The Experiment-2 sweep (paper Section IV-C/D, Figs. 6-8, Table I): resumable and distributable.

A sweep runs every ``(n, m, grouping, evaluation)`` setting of a :class:`SweepConfig` for
``runs`` runs. Work is cut into *units* ``(n, run)``: a unit draws the run's instance, the
Shapley values of the published game for each evaluation, and every ``(m, grouping,
evaluation)`` tournament of that run. Units are grouped into chunks of consecutive runs; a
finished chunk is written atomically to ``OUT/parts/<config-hash>/``, so an interrupted sweep
(SIGINT, SIGKILL, power loss) resumes where it stopped and the final files -- assembled from the
parts in canonical order -- are byte-identical to an uninterrupted run. The part directory is
named by a hash of the configuration *and* of the code computing the numbers
(:func:`code_fingerprint`), so edited code never silently mixes with old parts.

Seeding (``numpy.random.SeedSequence(seed, spawn_key=...)``, so any run replays alone):

* ``paired=False`` (default, the published design): every setting gets independent draws -- the
  instance (expert, ``x0``) uses key ``(n, run, 0, m, grouping_index, eval_index)``, the
  tournament uniforms ``(n, run, 1, m, grouping_index, eval_index)``, the Shapley estimator
  ``(n, run, 2, eval_index, m, grouping_index)`` -- as in the authors' (unseeded) code, so each
  setting's means are independent estimates and Table I's wins are not all driven by one draw.
* ``paired=True`` (*common random numbers*, an option): the instance uses key ``(n, run, 0)``,
  the uniforms ``(n, run, 1)``, the Shapley estimator ``(n, run, 2, eval_index)``. All group
  counts and groupings of run ``r`` share crowd, expert, start and uniforms -- comparisons between
  pairs are paired -- and one Shapley computation per ``(n, run, eval)`` serves all of them.

Shapley estimators (``shapley``): ``"kernel"`` (default) is the published KernelSHAP (10,000
samples, one zero background row, ``l1_reg="num_features(n)"`` with shap's LARS selection; exact
for n <= 13), whose noise at large n is part of the published numbers; ``"exact"`` enumerates
(closed form for the dot game; only feasible for small n); ``"mc"`` is accurate and fast: the
closed form for the dot game, exact enumeration for ``n <= 13``, otherwise Monte Carlo
(:mod:`crowd_sft.shapley`, ``mc_evaluations * n`` unique coalition values).
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from . import _constants as _C

from ._parallel import Executor
from ._progress import ProgressBar
from ._validate import (MAX_EVALUATIONS, MAX_KERNEL_SAMPLES, MAX_RUNS, check_choice, check_int,
                        check_out_dir, check_probability, check_scheduler, check_seed)
from .data import as_preferences
from .games import PublishedGame, compare_points
from .tournament import EVALUATIONS, GROUPINGS, _validate_run, draw_randomness, make_instance, run_settings

__all__ = ["SweepConfig", "RunRecord", "SweepResult", "PAIRS", "run_sweep", "simulate_unit",
           "replay_run", "summarize", "table_one", "write_outputs", "code_fingerprint",
           "PAPER_USERS", "PAPER_GROUPS"]

PAIRS: tuple[tuple[str, str], ...] = tuple((g, e) for g in GROUPINGS for e in EVALUATIONS)
PAPER_USERS = _C.PAPER_USERS
PAPER_GROUPS = _C.PAPER_GROUPS
SHAPLEY_METHODS = _C.SHAPLEY_METHODS
_EXACT_SMALL_N = 13  # the published KernelSHAP is exact here too (all coalitions enumerated)


# --------------------------------------------------------------------------- configuration
@dataclass(frozen=True)
class SweepConfig:
    """Everything that determines a sweep's numbers (the defaults are the paper's).

    Attributes
    ----------
    users, groups : tuple of int
        Crowd sizes ``n`` and group counts ``m`` (paper: 10..100 and 2..5).
    pairs : tuple of (grouping, evaluation)
        The 9 method pairs by default.
    runs, rounds, delta, error_prob, weight_power, reward, converge_threshold
        As :func:`crowd_sft.tournament.run_tournament` (50, 100, 0.1, 0.05, 2, 'rank', 5.0).
    seed : int
        Root entropy of every ``SeedSequence``.
    paired : bool
        Common random numbers across ``m`` and grouping (module docstring). Default False:
        independent draws per setting, as published.
    shapley : {'kernel', 'exact', 'mc'}
        Shapley estimator policy (module docstring); ``'kernel'`` (published) by default.
    kernel_samples : int
        KernelSHAP budget ``nsamples`` (10,000 as published).
    mc_evaluations : int
        Unique coalition evaluations per player for ``'mc'`` (budget ``mc_evaluations * n``).
    mc_sampler : str
        Sampler of :func:`crowd_sft.shapley.monte_carlo_shapley` (default ``'antithetic'``).
    adversary_fraction : float in [0, 1)
        Fraction of the crowd replaced by adversarial/careless users (paper Section VI).
    adversary_kind : {'random', 'inverted'}
        ``'random'``: ``Uniform(0, 5)^d`` vectors; ``'inverted'``: ``5 - u`` (reversed tastes).
    preferences : array (users x dims) or None
        ``None``: the bundled MovieLens matrix.
    chunk_runs : int
        Runs per work chunk / part file.
    """

    users: tuple = PAPER_USERS
    groups: tuple = PAPER_GROUPS
    pairs: tuple = PAIRS
    runs: int = 50
    rounds: int = 100
    delta: float = 0.1
    error_prob: float = 0.05
    weight_power: float = 2.0
    reward: str = "rank"
    converge_threshold: float = 5.0
    seed: int = 0
    paired: bool = False
    shapley: str = "kernel"
    kernel_samples: int = 10_000
    mc_evaluations: int = 1000
    mc_sampler: str = "antithetic"
    adversary_fraction: float = 0.0
    adversary_kind: str = "random"
    chunk_runs: int = 5
    preferences: object = field(default=None, compare=False, repr=False)

    def __post_init__(self):
        for name in ("users", "groups", "pairs"):
            if isinstance(getattr(self, name), (str, bytes)) or not hasattr(getattr(self, name), "__iter__"):
                raise ValueError(f"{name} must be a sequence; got {getattr(self, name)!r}")
        object.__setattr__(self, "users", tuple(check_int(n, "users (n)", 2) for n in self.users))
        object.__setattr__(self, "groups", tuple(check_int(m, "groups (m)", 2) for m in self.groups))
        object.__setattr__(self, "pairs", tuple((str(g), str(e)) for g, e in self.pairs))
        prefs = as_preferences(self.preferences)
        if not self.users or not self.groups or not self.pairs:
            raise ValueError("users, groups and pairs must be non-empty")
        for n in self.users:
            if n < 2 or n + 1 > prefs.n_users:
                raise ValueError(f"users (n) must be in [2, {prefs.n_users - 1}] with these preferences "
                                 f"({prefs.n_users} rows, a run needs n + 1); got {n}")
        if len(set(self.users)) != len(self.users) or len(set(self.groups)) != len(self.groups) \
                or len(set(self.pairs)) != len(self.pairs):
            raise ValueError("users, groups and pairs must not repeat")
        for g, e in self.pairs:
            if g not in GROUPINGS:
                raise ValueError(f"grouping must be one of {', '.join(GROUPINGS)}; got {g!r}")
            if e not in EVALUATIONS:
                raise ValueError(f"evaluation must be one of {', '.join(EVALUATIONS)}; got {e!r}")
        for m in self.groups:
            if m < 2 or m > min(self.users):
                raise ValueError(f"groups (m) must be in [2, {min(self.users)}] (m <= n); got {m}")
        check_int(self.runs, "runs", 1, MAX_RUNS)
        check_int(self.chunk_runs, "chunk_runs", 1)
        check_choice(self.shapley, SHAPLEY_METHODS, "shapley")
        if self.shapley == "exact" and any(e != "dot" for _, e in self.pairs):
            from .shapley import EXACT_MAX_PLAYERS_FAST
            if max(self.users) > EXACT_MAX_PLAYERS_FAST:
                raise ValueError(f"shapley='exact' needs users (n) <= {EXACT_MAX_PLAYERS_FAST} for l2/l1 "
                                 f"(2^n coalitions); got n = {max(self.users)}; use shapley='mc'")
        check_int(self.kernel_samples, "kernel_samples", 1, MAX_KERNEL_SAMPLES)
        check_int(self.mc_evaluations, "mc_evaluations", 1, MAX_EVALUATIONS // max(self.users))
        check_probability(self.adversary_fraction, "adversary_fraction")
        check_choice(self.adversary_kind, ("random", "inverted"), "adversary_kind")
        check_seed(self.seed, "seed", allow_objects=False)
        # parameter ranges, checked once with a dummy run
        _validate_run(np.zeros((2, 1)), np.zeros(1), np.zeros(1), 2, self.pairs[0][0], self.pairs[0][1],
                      self.rounds, self.delta, self.error_prob, self.weight_power, self.reward,
                      self.converge_threshold)

    def prefs(self):
        return as_preferences(self.preferences)

    def to_json(self) -> dict:
        d = asdict(self)
        d.pop("preferences")
        d["pairs"] = [list(p) for p in self.pairs]
        d["users"] = list(self.users)
        d["groups"] = list(self.groups)
        if self.preferences is None:
            d["preferences"] = "bundled MovieLens ml-latest-small user x genre mean (610 x 20)"
        else:
            mat = np.ascontiguousarray(self.prefs().matrix)
            d["preferences"] = {"shape": list(mat.shape),
                                "sha256": hashlib.sha256(mat.tobytes()).hexdigest()}
        return d

    def estimator_text(self) -> str:
        """The Shapley estimator and its budget, in words."""
        if self.shapley == "kernel":
            return (f"published KernelSHAP ({int(self.kernel_samples):,} samples, zero background row, "
                    f"l1_reg='num_features(n)' with LARS selection; exact for n <= 13)")
        if self.shapley == "exact":
            return "exact Shapley values (Gray-code enumeration; closed form for dot)"
        return (f"accurate Shapley values (closed form for dot, exact for n <= {_EXACT_SMALL_N}, "
                f"{self.mc_sampler} Monte Carlo with {int(self.mc_evaluations)} n evaluations above)")

    def seeding_text(self) -> str:
        """The seeding design, in words."""
        if self.paired:
            return f"paired draws (common random numbers across m and pairs at each n, run), seed {self.seed}"
        return f"independent draws per setting (as published), seed {self.seed}"

    def provenance(self) -> dict:
        """What produced the numbers: estimator, budget, seeding design, runs per setting."""
        budget = ({"kernel_samples": int(self.kernel_samples)} if self.shapley == "kernel" else
                  {"mc_evaluations_per_player": int(self.mc_evaluations), "mc_sampler": self.mc_sampler}
                  if self.shapley == "mc" else {"enumeration": "all 2^n coalitions"})
        return {"shapley_estimator": self.shapley, "estimator": self.estimator_text(), "budget": budget,
                "seeding": "paired" if self.paired else "independent", "seeding_design": self.seeding_text(),
                "runs_per_setting": int(self.runs), "rounds": int(self.rounds)}

    def provenance_line(self) -> str:
        """One line for captions and tables."""
        return f"Shapley: {self.estimator_text()}; {self.seeding_text()}; {int(self.runs)} runs per setting"

    def key(self) -> str:
        """Hash of everything that changes the numbers -- the config and the source of the code
        that computes them (:func:`code_fingerprint`) -- naming the resume directory."""
        blob = json.dumps({"config": self.to_json(), "code": code_fingerprint()}, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


def code_fingerprint() -> str:
    """SHA-256 of the sources that determine a run's numbers (tournament, sweep, games, Shapley
    estimators, bundled data), so that a sweep never resumes parts computed by other code."""
    root = Path(__file__).parent
    files = [root / "scoring.py", root / "tournament.py", root / "sweep.py", root / "games.py",
             root / "data" / "user_genre_mean.npz"]
    shap = root / "shapley"
    files += sorted(shap.glob("*.py")) if shap.is_dir() else [root / "shapley.py"]
    h = hashlib.sha256()
    for f in files:
        if f.exists():
            h.update(f.name.encode())
            h.update(f.read_bytes())
    return h.hexdigest()


@dataclass(frozen=True)
class RunRecord:
    """One run of one setting (the per-run figures the paper averages)."""

    n: int
    m: int
    grouping: str
    evaluation: str
    run: int
    expert_user_id: int
    start_distance: float
    final_distance: float
    converged_round: int | None
    n_updates: int
    pearson: float
    spearman: float
    points: np.ndarray | None = field(default=None, compare=False, repr=False)
    shapley: np.ndarray | None = field(default=None, compare=False, repr=False)

    SCALARS = ("n", "m", "grouping", "evaluation", "run", "expert_user_id", "start_distance",
               "final_distance", "converged_round", "n_updates", "pearson", "spearman")

    def scalars(self) -> dict:
        return {k: getattr(self, k) for k in self.SCALARS}


# --------------------------------------------------------------------------- one unit
def _ss(cfg: SweepConfig, *key) -> np.random.SeedSequence:
    return np.random.SeedSequence(int(cfg.seed), spawn_key=tuple(int(k) for k in key))


def _instance(cfg, n, run, extra):
    inst = make_instance(n, _ss(cfg, n, run, 0, *extra), preferences=cfg.preferences)
    if cfg.adversary_fraction > 0:
        rng = np.random.default_rng(_ss(cfg, n, run, 3, *extra))
        k = int(round(cfg.adversary_fraction * n))
        bad = rng.choice(n, size=k, replace=False)
        users = inst.users.copy()
        if cfg.adversary_kind == "random":
            users[bad] = rng.uniform(0.0, 5.0, (k, users.shape[1]))
        else:
            users[bad] = 5.0 - users[bad]
        inst = type(inst)(inst.user_ids, inst.expert_user_id, users, inst.expert, inst.x0)
    return inst


def shapley_for(cfg: SweepConfig, users, expert, evaluation, seed) -> np.ndarray:
    """Shapley values of the published game under the config's estimator policy."""
    from .shapley import shapley_values

    game = PublishedGame(users, expert, evaluation)
    n = users.shape[0]
    if cfg.shapley == "kernel":
        res = shapley_values(game, "kernel", seed=seed, n_samples=int(cfg.kernel_samples), variant="published")
    elif evaluation == "dot":
        res = shapley_values(game, "closed")
    elif cfg.shapley == "exact" or n <= _EXACT_SMALL_N:
        res = shapley_values(game, "exact")
    else:
        budget = int(cfg.mc_evaluations) * n
        res = shapley_values(game, "mc", seed=seed, max_evaluations=budget, sampler=cfg.mc_sampler,
                             chunk_size=_mc_chunk(cfg.mc_sampler, n, budget))
    return np.asarray(res.values, dtype=np.float64)


def _mc_chunk(sampler: str, n: int, budget: int) -> int | None:
    """Samples per Monte Carlo chunk inside the sweep: one round of 4 chunks covers the budget (the
    sweep runs one estimation per worker and stops on the budget only, so small chunks -- the
    library default -- would only add per-chunk overhead)."""
    per = {"antithetic": 2 * n - 1, "permutation": n}.get(sampler)
    if per is None:  # stratified: keep the library's rounds (they feed its Neyman allocation)
        return None
    return max(1, -(-budget // (4 * per)))


def simulate_unit(cfg: SweepConfig, n: int, run: int, *, settings=None, keep_vectors=False) -> list[RunRecord]:
    """All settings of run ``run`` at crowd size ``n`` (``settings``: iterable of (m, grouping, eval)).

    Returns the records in canonical order (m, then pair order of ``cfg.pairs``).
    """
    if settings is None:
        settings = [(m, g, e) for m in cfg.groups for g, e in cfg.pairs]
    settings = [(int(m), g, e) for m, g, e in settings]
    opts = dict(rounds=int(cfg.rounds), delta=cfg.delta, error_prob=cfg.error_prob, weight_power=cfg.weight_power,
                reward=cfg.reward, converge_threshold=cfg.converge_threshold)
    jobs = []  # (instance, settings, results, shapley per setting)
    if cfg.paired:  # one instance, one block of uniforms, one compiled call for all settings
        inst = _instance(cfg, n, run, ())
        draws = draw_randomness(n, int(cfg.rounds), _ss(cfg, n, run, 1))
        results = run_settings(inst.users, inst.expert, inst.x0, settings, draws=draws, **opts)
        shap = {e: shapley_for(cfg, inst.users, inst.expert, e, _ss(cfg, n, run, 2, EVALUATIONS.index(e)))
                for e in dict.fromkeys(e for _, _, e in settings)}
        jobs = [(inst, st, res, shap[st[2]]) for st, res in zip(settings, results)]
    else:
        for m, g, e in settings:
            extra = (m, GROUPINGS.index(g), EVALUATIONS.index(e))
            inst = _instance(cfg, n, run, extra)
            draws = draw_randomness(n, int(cfg.rounds), _ss(cfg, n, run, 1, *extra))
            res = run_settings(inst.users, inst.expert, inst.x0, [(m, g, e)], draws=draws, **opts)[0]
            shap = shapley_for(cfg, inst.users, inst.expert, e, _ss(cfg, n, run, 2, extra[2], m, extra[1]))
            jobs.append((inst, (m, g, e), res, shap))
    out = []
    for inst, (m, g, e), res, shap in jobs:
        corr = compare_points(res.points, shapley=shap)  # NaN when points or values are constant
        out.append(RunRecord(n=int(n), m=m, grouping=g, evaluation=e, run=int(run),
                             expert_user_id=int(inst.expert_user_id), start_distance=res.start_distance,
                             final_distance=res.final_distance, converged_round=res.converged_round,
                             n_updates=res.n_updates, pearson=corr.pearson["shapley"],
                             spearman=corr.spearman["shapley"], points=res.points if keep_vectors else None,
                             shapley=shap if keep_vectors else None))
    return out


def replay_run(cfg: SweepConfig, n: int, m: int, grouping: str, evaluation: str, run: int) -> RunRecord:
    """Recompute one run of one setting alone (same numbers as inside the sweep), with vectors."""
    return simulate_unit(cfg, n, run, settings=[(m, grouping, evaluation)], keep_vectors=True)[0]


def _run_chunk(cfg: SweepConfig, n: int, first: int, last: int) -> list[dict]:
    rows = []
    for run in range(first, last):
        rows.extend(r.scalars() for r in simulate_unit(cfg, n, run))
    return rows


# --------------------------------------------------------------------------- scheduling
def _chunks(cfg: SweepConfig):
    step = int(cfg.chunk_runs)
    # biggest crowds first: better load balance on a pool
    for n in sorted(cfg.users, reverse=True):
        for first in range(0, int(cfg.runs), step):
            yield n, first, min(first + step, int(cfg.runs))


def _part_name(n, first, last):
    return f"n{n:04d}_r{first:05d}-{last:05d}.json"


def _read_part(cfg: SweepConfig, chunk, path: Path):
    """``(rows, None)`` if ``path`` holds exactly the rows of ``chunk`` (n, first, last), else
    ``(None, reason)``: unreadable, not JSON, or valid JSON of another shape or chunk."""
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        return None, f"unreadable ({exc.__class__.__name__})"
    except json.JSONDecodeError:
        return None, "not valid JSON (corrupt)"
    n, first, last = chunk
    want = {(n, m, g, e, r) for r in range(first, last) for m in cfg.groups for g, e in cfg.pairs}
    keys = set(RunRecord.SCALARS)
    if not isinstance(rows, list) or not all(isinstance(r, dict) and set(r) == keys for r in rows):
        return None, "not a list of run records (foreign file)"
    try:
        got = [(r["n"], r["m"], r["grouping"], r["evaluation"], r["run"]) for r in rows]
        ok = len(got) == len(want) and set(got) == want and all(
            isinstance(r[k], (int, float)) and not isinstance(r[k], bool)
            for r in rows for k in ("start_distance", "final_distance", "n_updates"))
    except TypeError:
        ok = False
    if not ok:
        return None, "not the runs of this chunk (foreign or damaged file)"
    return rows, None


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


@dataclass
class SweepResult:
    """Rows of a sweep (dicts of :attr:`RunRecord.SCALARS`) in canonical order, and its summary."""

    config: SweepConfig
    rows: list
    summary: list
    out_dir: Path | None = None
    computed_chunks: int = 0
    skipped_chunks: int = 0


def run_sweep(cfg: SweepConfig, out_dir=None, *, n_jobs: int = -1, scheduler=None, dask_local: int | None = None,
              progress: bool | None = None, figures: bool = True, write: bool = True) -> SweepResult:
    """Run (or resume) a sweep; write per-run and aggregated results if ``out_dir`` is given.

    Parameters
    ----------
    cfg : SweepConfig
    out_dir : path-like, optional
        Results directory. Finished chunks go to ``out_dir/parts/<cfg.key()>/`` as they complete;
        re-running the same command skips them. Final files: ``runs.csv``, ``runs.json``,
        ``summary.csv``, ``summary.json``, ``table1.md``, ``table1.json``, ``config.json`` and
        ``fig6.png``, ``fig7.png``, ``fig8.png`` (paper Figs. 6-8; when ``figures``).
    n_jobs : int
        Local worker processes (1 = serial in this process; -1 = all cores).
    scheduler : str or dask.distributed.Client, optional
        Run chunks on a Dask cluster (address ``tcp://HOST:PORT`` or a client).
    dask_local : int, optional
        Start a ``dask.distributed.LocalCluster`` with this many worker processes.
    progress : bool, optional
        Progress bar on stderr (default: when stderr is a TTY).
    figures : bool
        Also draw Figs. 6-8.
    write : bool
        Write the final files (``False``: only the resumable parts).

    Returns
    -------
    SweepResult

    References
    ----------
    Paper Section IV-C/D, Figs. 6-8, Table I; spec "Shapley values as published" (sweep).
    """
    if dask_local is not None and (isinstance(dask_local, bool) or not isinstance(dask_local, (int, np.integer))
                                   or int(dask_local) < 1):
        raise ValueError(f"dask_local must be a number of workers >= 1; got {dask_local!r}")
    if scheduler is not None and dask_local is not None:
        raise ValueError("scheduler and dask_local exclude each other: give an existing cluster (scheduler) or "
                         "start a local one (dask_local)")
    if n_jobs is not None and (isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer))
                               or int(n_jobs) == 0 or int(n_jobs) < -1):
        raise ValueError(f"n_jobs must be -1 (all cores) or an integer >= 1; got {n_jobs!r}")
    if out_dir is not None:
        check_out_dir(out_dir, "out_dir")
    if isinstance(scheduler, str):
        check_scheduler(scheduler)
    chunks = list(_chunks(cfg))
    results: dict[tuple, list] = {}
    part_dir = None
    if out_dir is not None:
        out_dir = Path(out_dir)
        part_dir = out_dir / "parts" / cfg.key()
        try:
            part_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ValueError(f"out_dir {str(out_dir)!r} cannot be created: {exc.strerror or exc}") from None
        _write_atomic(part_dir / "config.json", json.dumps(cfg.to_json(), indent=1, sort_keys=True))
        for c in chunks:
            p = part_dir / _part_name(*c)
            if p.exists():
                rows, why = _read_part(cfg, c, p)
                if rows is not None:
                    results[c] = rows
                else:  # never written by this code for this chunk: recompute it
                    warnings.warn(f"part file {p} is {why}; recomputing that chunk", RuntimeWarning, stacklevel=2)
                    p.unlink(missing_ok=True)
    todo = [c for c in chunks if c not in results]
    skipped = len(chunks) - len(todo)

    def done(c, rows):
        results[c] = rows
        if part_dir is not None:
            _write_atomic(part_dir / _part_name(*c), json.dumps(rows))

    bar = ProgressBar(len(chunks), "sweep", enabled=progress)
    bar.update(skipped)
    with bar:
        if todo:
            if scheduler is not None or dask_local:
                ex = Executor(scheduler=scheduler, dask_local=dask_local)
            else:
                workers = (os.cpu_count() or 1) if n_jobs in (-1, None) else int(n_jobs)
                ex = Executor(max(1, min(workers, len(todo))))
            with ex:  # Ctrl-C or a failing chunk: queued work is dropped, finished parts are kept
                for i, rows in ex.as_completed(_run_chunk, [(cfg, *c) for c in todo]):
                    done(todo[i], rows)
                    bar.update()
    rows = _canonical(cfg, results)
    summary = summarize(rows)
    res = SweepResult(cfg, rows, summary, out_dir, len(todo), skipped)
    if out_dir is not None and write:
        write_outputs(res, out_dir, figures=figures)
    return res


def _canonical(cfg: SweepConfig, results: dict) -> list[dict]:
    by_key = {}
    for rows in results.values():
        for r in rows:
            by_key[(r["n"], r["m"], r["grouping"], r["evaluation"], r["run"])] = r
    out = []
    for n in cfg.users:
        for m in cfg.groups:
            for g, e in cfg.pairs:
                for run in range(int(cfg.runs)):
                    out.append(by_key[(n, m, g, e, run)])
    return out


# --------------------------------------------------------------------------- aggregation
def _mean_se(values):
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], dtype=np.float64)
    if v.size == 0:
        return float("nan"), float("nan"), float("nan"), 0
    sd = float(v.std(ddof=1)) if v.size > 1 else float("nan")
    return float(v.mean()), sd / math.sqrt(v.size) if v.size > 1 else float("nan"), sd, int(v.size)


def summarize(rows: list[dict]) -> list[dict]:
    """Per-setting means, standard deviations and standard errors of the per-run figures.

    Pearson/Spearman means skip NaN runs (constant points or values), as the paper does;
    ``pearson_n`` counts the runs used. ``inverse_pearson_mean`` is the mean of ``1/r`` over the
    runs with a finite non-zero ``r`` (the paper's Fig. 6 "average inverse Pearson"). ``converged_fraction``: share of runs reaching distance
    <= threshold; ``converged_round_mean`` over those runs.
    """
    groups: dict[tuple, list] = {}
    for r in rows:
        groups.setdefault((r["n"], r["m"], r["grouping"], r["evaluation"]), []).append(r)
    out = []
    for (n, m, g, e), rs in groups.items():
        s = {"n": n, "m": m, "grouping": g, "evaluation": e, "runs": len(rs)}
        for k in ("final_distance", "start_distance", "pearson", "spearman", "n_updates"):
            mean, se, sd, cnt = _mean_se([r[k] for r in rs])
            s[f"{k}_mean"], s[f"{k}_se"], s[f"{k}_sd"] = mean, se, sd
            if k in ("pearson", "spearman"):
                s[f"{k}_n"] = cnt
        inv = [1.0 / r["pearson"] for r in rs
               if r["pearson"] is not None and np.isfinite(r["pearson"]) and r["pearson"] != 0.0]
        mean, se, sd, cnt = _mean_se(inv)
        s["inverse_pearson_mean"], s["inverse_pearson_se"], s["inverse_pearson_sd"] = mean, se, sd
        s["inverse_pearson_n"] = cnt
        conv = [r["converged_round"] for r in rs if r["converged_round"] is not None]
        s["converged_fraction"] = len(conv) / len(rs)
        s["converged_round_mean"] = float(np.mean(conv)) if conv else float("nan")
        out.append(s)
    return out


def table_one(summary: list[dict], rows: list[dict] | None = None, *, bootstrap: int = 2000, seed: int = 0,
              paired: bool = False) -> dict:
    """Paper Table I, with bootstrap win probabilities.

    Over the (n, m) settings, how often each pair has the lowest mean final distance and the
    highest mean Pearson correlation (percent of settings). With the per-run ``rows`` it adds how
    stable those wins are: the runs of every setting are resampled ``bootstrap`` times (with
    replacement; jointly across pairs when ``paired``, since then the pairs share their draws,
    independently per pair otherwise) and the winners recomputed. For each pair it reports the
    expected percentage of settings won (the mean over settings of its win probability) and a
    90 % bootstrap interval of the percentage, and per setting the win probabilities.

    Parameters
    ----------
    summary : list of dict
        :func:`summarize` output.
    rows : list of dict, optional
        Per-run rows (:attr:`RunRecord.SCALARS`); without them no bootstrap is done.
    bootstrap : int
        Bootstrap replicates (>= 1).
    seed : int
        Seed of the resampling (results are a function of it).
    paired : bool
        Resample run indices jointly across pairs (paired seeding design).

    Returns
    -------
    dict
        ``settings``, ``best_final_distance`` and ``best_pearson`` (``pair``, ``wins``,
        ``percent``), and with ``rows`` a ``bootstrap`` block.
    """
    settings: dict[tuple, list] = {}
    for s in summary:
        settings.setdefault((s["n"], s["m"]), []).append(s)
    best_d: dict[str, int] = {}
    best_p: dict[str, int] = {}
    for srows in settings.values():
        d = min(srows, key=lambda s: (s["final_distance_mean"], s["grouping"], s["evaluation"]))
        best_d[f"{d['grouping']}/{d['evaluation']}"] = best_d.get(f"{d['grouping']}/{d['evaluation']}", 0) + 1
        finite = [s for s in srows if np.isfinite(s["pearson_mean"])]
        if finite:
            p = max(finite, key=lambda s: (s["pearson_mean"], s["grouping"], s["evaluation"]))
            best_p[f"{p['grouping']}/{p['evaluation']}"] = best_p.get(f"{p['grouping']}/{p['evaluation']}", 0) + 1
    total = len(settings)

    def ranked(counts):
        return [{"pair": k, "wins": v, "percent": 100.0 * v / total}
                for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]

    out = {"settings": total, "best_final_distance": ranked(best_d), "best_pearson": ranked(best_p)}
    if rows is not None:
        out["bootstrap"] = _bootstrap_wins(rows, settings, int(bootstrap), int(seed), bool(paired))
    return out


def _bootstrap_wins(rows, settings, reps: int, seed: int, paired: bool) -> dict:
    if reps < 1:
        raise ValueError(f"bootstrap must be an integer >= 1; got {reps}")
    by = {}
    for r in rows:
        by.setdefault((r["n"], r["m"], f"{r['grouping']}/{r['evaluation']}"), []).append(r)
    pairs = sorted({f"{s['grouping']}/{s['evaluation']}" for srows in settings.values() for s in srows})
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0xB007,)))
    counts = {"best_final_distance": np.zeros((reps, len(pairs))), "best_pearson": np.zeros((reps, len(pairs)))}
    per_setting = {}
    for (n, m) in sorted(settings):
        runs = [sorted(by.get((n, m, p), []), key=lambda r: r["run"]) for p in pairs]
        size = min(len(x) for x in runs)
        if size == 0:
            continue
        dist = np.array([[r["final_distance"] for r in x[:size]] for x in runs], dtype=float)
        pear = np.array([[np.nan if r["pearson"] is None else r["pearson"] for r in x[:size]] for x in runs],
                        dtype=float)
        if paired:
            idx = rng.integers(0, size, (reps, size))
            dm = dist[:, idx].mean(axis=2)                       # (pairs, reps)
            with np.errstate(invalid="ignore"):
                pm = np.nanmean(np.where(np.isfinite(pear), pear, np.nan)[:, idx], axis=2) \
                    if np.isfinite(pear).any() else np.full_like(dm, np.nan)
        else:
            idx = rng.integers(0, size, (len(pairs), reps, size))
            dm = np.take_along_axis(dist[:, None, :], idx, axis=2).mean(axis=2)
            with np.errstate(invalid="ignore"):
                import warnings
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    pm = np.nanmean(np.take_along_axis(pear[:, None, :], idx, axis=2), axis=2)
        wd = np.argmin(dm, axis=0)
        counts["best_final_distance"][np.arange(reps), wd] += 1
        pm_f = np.where(np.isfinite(pm), pm, -np.inf)
        wp = np.argmax(pm_f, axis=0)
        ok = np.isfinite(pm_f[wp, np.arange(reps)])
        counts["best_pearson"][np.arange(reps)[ok], wp[ok]] += 1
        per_setting[f"n={n},m={m}"] = {
            "best_final_distance": {pairs[j]: float(np.mean(wd == j)) for j in range(len(pairs)) if np.any(wd == j)},
            "best_pearson": {pairs[j]: float(np.mean(wp[ok] == j)) for j in range(len(pairs)) if np.any(wp[ok] == j)},
        }
    total = len(settings)
    block = {"replicates": reps, "seed": seed, "resampling": "runs jointly across pairs" if paired else
             "runs independently per pair", "per_setting": per_setting}
    for key, c in counts.items():
        pct = 100.0 * c / total
        block[key] = sorted(({"pair": p, "expected_percent": float(pct[:, j].mean()),
                              "ci90": [float(np.percentile(pct[:, j], 5)), float(np.percentile(pct[:, j], 95))]}
                             for j, p in enumerate(pairs) if pct[:, j].max() > 0),
                            key=lambda d: (-d["expected_percent"], d["pair"]))
    return block


PAPER_TABLE1 = {"best_final_distance": {"epsilon-greedy/l2": 60, "epsilon-greedy/l1": 15, "random/l2": 10},
                "best_pearson": {"random/dot": 45, "interleaved/dot": 40, "random/l2": 10}}


def _table_md(t: dict, provenance: str | None = None) -> str:
    lines = [f"# Table I (over {t['settings']} (n, m) settings)", ""]
    if provenance:
        lines += [f"{provenance}.", ""]
    boot = t.get("bootstrap")
    if boot:
        lines += [f"Bootstrap: {boot['replicates']} replicates, {boot['resampling']} (seed {boot['seed']}); "
                  "'expected %' is the mean over settings of each pair's win probability, with a 90 % "
                  "bootstrap interval. Wins whose interval reaches 0 lie within the run-to-run noise.", ""]
    for title, key in (("Best convergence distance", "best_final_distance"), ("Best Pearson correlation", "best_pearson")):
        pmap = PAPER_TABLE1[key]
        wins = {r["pair"]: r for r in t[key]}
        if boot:
            lines += [f"## {title}", "", "| pair | wins | % | expected % (bootstrap) | 90 % interval | paper % |",
                      "|---|---|---|---|---|---|"]
            for b in boot[key]:
                w = wins.get(b["pair"])
                ref = pmap.get(b["pair"])
                lines.append(f"| {b['pair']} | {w['wins'] if w else 0} | {w['percent'] if w else 0:.0f} | "
                             f"{b['expected_percent']:.1f} | {b['ci90'][0]:.0f}-{b['ci90'][1]:.0f} | "
                             f"{'' if ref is None else ref} |")
        else:
            lines += [f"## {title}", "", "| pair | wins | % | paper % |", "|---|---|---|---|"]
            for row in t[key]:
                ref = pmap.get(row["pair"])
                lines.append(f"| {row['pair']} | {row['wins']} | {row['percent']:.0f} | {'' if ref is None else ref} |")
        lines.append("")
    return "\n".join(lines)


def _fmt(v):
    if v is None:
        return ""
    if isinstance(v, float):
        return repr(v)
    return str(v)


def _csv_text(rows: list[dict]) -> str:
    buf = io.StringIO()
    if rows:
        w = csv.writer(buf, lineterminator="\n")
        keys = list(rows[0])
        w.writerow(keys)
        for r in rows:
            w.writerow([_fmt(r[k]) for k in keys])
    return buf.getvalue()


def _json_clean(obj):
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _json_clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_clean(v) for v in obj]
    return obj


def write_outputs(res: SweepResult, out_dir, *, figures: bool = True) -> None:
    """Write the final files of a sweep (deterministic given its rows)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cfg = res.config
    t1 = table_one(res.summary, res.rows, seed=int(cfg.seed), paired=bool(cfg.paired))
    t1["provenance"] = cfg.provenance()
    config = dict(cfg.to_json(), provenance=cfg.provenance())
    files = {
        "config.json": json.dumps(config, indent=1, sort_keys=True) + "\n",
        "runs.csv": _csv_text(res.rows),
        "runs.json": json.dumps(_json_clean(res.rows), allow_nan=False) + "\n",
        "summary.csv": _csv_text(res.summary),
        "summary.json": json.dumps(_json_clean(res.summary), indent=1, allow_nan=False) + "\n",
        "table1.json": json.dumps(t1, indent=1) + "\n",
        "table1.md": _table_md(t1, cfg.provenance_line()),
    }
    for name, text in files.items():
        _write_atomic(out_dir / name, text)
    if figures:
        from .figures import write_figures
        write_figures(res.summary, out_dir, provenance=cfg.provenance_line())

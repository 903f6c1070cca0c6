"""Experiment 1 in vector space: single-model vs multi-model selection fine-tuning.

Paper Section III (Figs. 1-3): a model's quality is the distance between the embeddings of its
outputs and a target centroid (mean of the k nearest neighbours of a target). *Single-model*:
fine-tune the base model once on all ``k`` samples. *Multi-model selection* (Section III-B):
each iteration clones the current model ``clones`` times, fine-tunes every clone on an even
split of the remaining sample pool, keeps the clone whose outputs are closest to the target,
removes the winner's samples from the pool, and repeats (3 iterations in the paper). The paper
reports the relative reduction of the mean distance after iteration 3 versus single-model
(20.04 % / 5.24 % / 55.37 % for disappointment / nervousness / neutral).

The hosted LLM and RoBERTa classifier are not reachable here (spec "Experiment 1"), so both
steps are pluggable callables:

* ``fine_tune(model, samples, rng) -> model`` -- ``samples`` is a ``(k, d)`` array of the
  fine-tuning transcript's embeddings (or anything your callable understands by index);
* ``embed(model, rng) -> (r, d) array`` -- embeddings of ``r`` responses of the model to the
  generic prompt.

Default surrogate (:class:`SurrogateModel`): a model is a point ``x`` in R^d; fine-tuning on
``k`` samples with centroid ``c`` moves it to ``x + eta_k (c - x) + N(0, tune_noise^2 I)`` with a
saturating step ``eta_k = max_step * k / (k + half_k)``: more data helps with diminishing returns
and one fine-tune never gets all the way (the plateau of Fig. 1 after ~66 samples); a model's
responses are ``x + N(0, response_noise^2 I)``. This is a modelling assumption, not a measurement:
with ``max_step = 1`` and a large ``half_k`` a single big fine-tune is as good as iterated
selection, and the advantage of multi-model selection disappears.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ._validate import check_int, check_seed

__all__ = ["SurrogateModel", "Experiment1Result", "run_experiment1", "synthetic_targets", "min_samples_needed",
           "Experiment1Summary", "reduction_over_seeds"]


@dataclass(frozen=True)
class SurrogateModel:
    """Default vector-space surrogate of an LLM being fine-tuned (module docstring).

    Attributes
    ----------
    max_step : float
        Largest fraction of the way to the sample centroid one fine-tune can move (0.5).
    half_k : float
        Samples at which one fine-tune reaches half of ``max_step`` (20).
    tune_noise : float
        Standard deviation of the fine-tuning noise per coordinate (0.05).
    response_noise : float
        Standard deviation of a response embedding around the model point (0.1).
    n_responses : int
        Responses per evaluation (50, as in Fig. 1).
    """

    max_step: float = 0.5
    half_k: float = 20.0
    tune_noise: float = 0.05
    response_noise: float = 0.1
    n_responses: int = 50

    def fine_tune(self, model, samples, rng):
        samples = np.asarray(samples, dtype=np.float64)
        k = samples.shape[0]
        eta = self.max_step * k / (k + self.half_k)
        return model + eta * (samples.mean(axis=0) - model) + rng.normal(0.0, self.tune_noise, model.shape)

    def embed(self, model, rng):
        return model + rng.normal(0.0, self.response_noise, (self.n_responses, model.shape[0]))


@dataclass(frozen=True)
class Experiment1Result:
    """Per-target outcome.

    Attributes
    ----------
    single_distance : float
        Mean response distance to the target after one fine-tune on all samples.
    multi_distances : numpy.ndarray
        ``(iterations,)`` mean response distance of the winning clone after each iteration.
    winners : list of numpy.ndarray
        Sample indices used by each iteration's winner.
    relative_reduction : float
        ``(single - multi[-1]) / single`` (the paper's "reduced the mean distance by ...").
    base_distance : float
        Mean response distance of the base model.
    """

    single_distance: float
    multi_distances: np.ndarray
    winners: list = field(repr=False)
    relative_reduction: float
    base_distance: float


def _distance(embed, model, target, rng) -> float:
    emb = np.atleast_2d(np.asarray(embed(model, rng), dtype=np.float64))
    if emb.shape[-1] != target.shape[0]:
        raise ValueError(f"embed must return (r, {target.shape[0]}) arrays; got {emb.shape}")
    return float(np.mean(np.linalg.norm(emb - target, axis=1)))


def run_experiment1(samples, base_model, *, clones: int = 3, iterations: int = 3, target=None,
                    fine_tune: Callable | None = None, embed: Callable | None = None, seed=None) -> Experiment1Result:
    """Single-model vs multi-model selection for one target (paper Section III-A/B).

    Parameters
    ----------
    samples : array_like, shape (k, d)
        Embeddings of the fine-tuning transcript (the target's k nearest neighbours).
    base_model : object
        The base model ``M_1`` (a ``(d,)`` point for the default surrogate).
    clones : int
        ``j`` clones per iteration (3).
    iterations : int
        Selection iterations (3). Every iteration splits the remaining pool evenly over the
        clones and removes the winner's share, so the pool shrinks by up to ``ceil(pool/clones)``
        per iteration; every clone of every iteration needs at least one sample, which requires
        ``k >= min_samples_needed(clones, iterations)`` (:func:`min_samples_needed`; e.g. 8 for
        3 clones x 3 iterations; it grows geometrically with the iterations).
    target : array_like (d,), optional
        Target centroid; default the mean of ``samples`` (the paper's definition).
    fine_tune, embed : callables, optional
        ``fine_tune(model, samples, rng) -> model`` and ``embed(model, rng) -> (r, d)``; default
        :class:`SurrogateModel`. ``model`` objects are never mutated by this function.
    seed : int, SeedSequence, Generator or None

    Returns
    -------
    Experiment1Result

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> res = run_experiment1(rng.normal(1.0, 0.3, (100, 28)), np.zeros(28), seed=1)
    >>> res.multi_distances.shape
    (3,)

    References
    ----------
    Paper Section III-B, Figs. 2-3; spec "Experiment 1".
    """
    samples = np.asarray(samples, dtype=np.float64)
    if samples.ndim != 2 or samples.shape[0] < 1:
        raise ValueError(f"samples must be a (k, d) array with k >= 1; got shape {samples.shape}")
    if not np.all(np.isfinite(samples)):
        raise ValueError("samples must be finite (no NaN or inf entries)")
    k, d = samples.shape
    clones = check_int(clones, "clones", 1)
    iterations = check_int(iterations, "iterations", 1)
    need = min_samples_needed(clones, iterations)
    if k < need:
        raise ValueError(f"iterations={iterations} with clones={clones} exhaust the sample pool: every iteration "
                         f"removes up to ceil(pool/clones) samples and every clone needs one, so at least {need} "
                         f"samples are needed; got k={k} (reduce iterations to <= {max_iterations(k, clones)} or "
                         f"give more samples)")
    target = samples.mean(axis=0) if target is None else np.asarray(target, dtype=np.float64)
    if target.shape != (d,):
        raise ValueError(f"target must have shape ({d},); got {target.shape}")
    default = SurrogateModel()
    fine_tune = default.fine_tune if fine_tune is None else fine_tune
    embed = default.embed if embed is None else embed
    rng = np.random.default_rng(seed)

    base_distance = _distance(embed, base_model, target, rng)
    single_distance = _distance(embed, fine_tune(base_model, samples, rng), target, rng)

    pool = np.arange(k)
    model = base_model
    multi, winners = [], []
    for _ in range(int(iterations)):
        parts = np.array_split(rng.permutation(pool), int(clones))
        candidates = [fine_tune(model, samples[p], rng) for p in parts]
        dists = [_distance(embed, c, target, rng) for c in candidates]
        w = int(np.argmin(dists))
        model = candidates[w]
        multi.append(dists[w])
        winners.append(np.sort(parts[w]))
        pool = np.setdiff1d(pool, parts[w])
    multi = np.asarray(multi)
    if not (np.isfinite(base_distance) and np.isfinite(single_distance) and np.all(np.isfinite(multi))):
        raise ValueError("fine_tune/embed produced a non-finite distance (NaN or inf); the result would be "
                         "meaningless -- check the callables' output")
    if single_distance == 0.0:
        raise ValueError("the single-model distance is 0 (the fine-tuned model reproduces the target exactly), so "
                         "the relative reduction is undefined; check target and the callables")
    return Experiment1Result(single_distance=single_distance, multi_distances=multi, winners=winners,
                             relative_reduction=(single_distance - multi[-1]) / single_distance,
                             base_distance=base_distance)


def _worst_pool(k: int, clones: int, iterations: int) -> list[int]:
    """Pool size before each iteration when every winner is a largest share (``ceil(pool/clones)``)."""
    pools = [k]
    for _ in range(iterations - 1):
        pools.append(pools[-1] - -(-pools[-1] // clones))
    return pools


def min_samples_needed(clones: int, iterations: int) -> int:
    """Smallest pool ``k`` for which every clone of every iteration gets at least one sample.

    Examples
    --------
    >>> min_samples_needed(3, 3), min_samples_needed(3, 1), min_samples_needed(2, 4)
    (8, 3, 16)
    """
    clones = check_int(clones, "clones", 1)
    iterations = check_int(iterations, "iterations", 1)
    if clones == 1 and iterations > 1:
        raise ValueError(f"iterations must be 1 when clones=1 (the single clone uses the whole pool); got {iterations}")
    k = clones
    while min(_worst_pool(k, clones, iterations)) < clones:
        k += 1
    return k


def max_iterations(k: int, clones: int) -> int:
    """Largest number of iterations that a pool of ``k`` samples supports with ``clones`` clones (0 if none)."""
    if clones == 1:
        return 1 if k >= 1 else 0
    it = 0
    while it < k and min(_worst_pool(k, clones, it + 1)) >= clones:
        it += 1
    return it


@dataclass(frozen=True)
class Experiment1Summary:
    """Mean relative distance reduction of multi-model selection over single-model fine-tuning.

    Attributes
    ----------
    mean : float
        Mean over seeds (and targets) of ``relative_reduction``.
    ci : tuple of float
        Student-t confidence interval of the mean over seeds (each seed's value averaged over targets).
    level : float
        Confidence level.
    per_seed : numpy.ndarray
        ``(seeds,)`` reduction averaged over targets, per seed.
    per_target : dict
        Target name -> (mean over seeds, (low, high)).
    """

    mean: float
    ci: tuple
    level: float
    per_seed: np.ndarray
    per_target: dict


def _t_interval(x, level):
    from scipy.stats import t

    x = np.asarray(x, dtype=float)
    m = float(x.mean())
    if x.size < 2:
        return m, (float("nan"), float("nan"))
    h = float(t.ppf(0.5 + level / 2, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size))
    return m, (m - h, m + h)


def reduction_over_seeds(targets: dict, base_model, *, seeds=10, level: float = 0.95, seed: int = 0,
                         **kwargs) -> Experiment1Summary:
    """Run :func:`run_experiment1` for every target and ``seeds`` independent seeds; report the mean
    relative distance reduction with a confidence interval over seeds.

    Parameters
    ----------
    targets : dict
        Target name -> ``(k, d)`` samples.
    base_model : object
        Base model for every run.
    seeds : int
        Number of independent seeds (>= 2 for an interval); seed ``s`` of target ``t`` is
        ``SeedSequence(seed, spawn_key=(s, t))``.
    level : float
        Confidence level in (0, 1).
    **kwargs
        Passed to :func:`run_experiment1` (``clones``, ``iterations``, ``fine_tune``, ``embed``).

    Returns
    -------
    Experiment1Summary
    """
    seeds = check_int(seeds, "seeds", 1)
    if not 0.0 < float(level) < 1.0:
        raise ValueError(f"level must be in (0, 1); got {level}")
    names = list(targets)
    red = np.empty((seeds, len(names)))
    for si in range(seeds):
        for ti, name in enumerate(names):
            r = run_experiment1(targets[name], base_model, seed=np.random.SeedSequence(seed, spawn_key=(si, ti)),
                                **kwargs)
            red[si, ti] = r.relative_reduction
    per_seed = red.mean(axis=1)
    mean, ci = _t_interval(per_seed, level)
    per_target = {name: _t_interval(red[:, ti], level) for ti, name in enumerate(names)}
    return Experiment1Summary(mean=mean, ci=ci, level=float(level), per_seed=per_seed, per_target=per_target)


def synthetic_targets(n_targets: int = 28, k: int = 100, d: int = 28, *, spread: float = 0.15, seed=None):
    """A GoEmotions-like stand-in: ``n_targets`` clusters of ``k`` neighbour embeddings in [0, 1]^d.

    Returns ``(base_model, {name: samples})`` with the base model at the uniform point.
    """
    n_targets = check_int(n_targets, "n_targets", 1, 100_000)
    k = check_int(k, "k", 1, 10**7)
    d = check_int(d, "d", 1, 10_000)
    if n_targets * k * d > 10**8:
        raise ValueError(f"n_targets x k x d = {n_targets * k * d:,} embedding entries, more than the limit 10**8")
    if not (np.isfinite(spread) and spread >= 0):
        raise ValueError(f"spread must be a finite number >= 0; got {spread!r}")
    rng = np.random.default_rng(check_seed(seed))
    base = np.full(d, 1.0 / d)
    out = {}
    for t in range(n_targets):
        centre = np.full(d, 0.02)
        centre[t % d] = 0.7
        out[f"target{t:02d}"] = np.clip(centre + rng.normal(0.0, spread, (k, d)) * rng.uniform(0.3, 1.5), 0, 1)
    return base, out

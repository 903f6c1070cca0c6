"""Analysis above the Shapley estimators: tournament points against Shapley values.

Layering: ``scoring -> tournament -> games -> shapley -> analysis/sweep -> CLI``; this module may
import all the layers below it and none above.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .games import PointsComparison, PublishedGame, TrueContributionGame, compare_points
from .shapley import shapley_values
from .tournament import run_tournament

__all__ = ["PointsVsShapley", "points_vs_shapley"]


@dataclass(frozen=True)
class PointsVsShapley:
    """One tournament's final points against the Shapley values of both games.

    Attributes
    ----------
    points : (n,) final tournament points
    published : ShapleyResult of :class:`PublishedGame` (the paper's yardstick)
    true : ShapleyResult of :class:`TrueContributionGame` (same instance, seed and settings)
    comparison : PointsComparison with keys ``"published"`` and ``"true"`` (Pearson, Spearman),
        plus ``"published~true"`` (how far the published yardstick is from the true contributions)
    """

    points: np.ndarray
    published: object
    true: object
    comparison: PointsComparison


def points_vs_shapley(instance, *, n_groups: int = 3, evaluation: str = "l2", seed=0, method: str = "auto",
                      true_max_evaluations: int | None = None, small_coalitions: str = "fewer_groups",
                      **tournament_kwargs) -> PointsVsShapley:
    """Run the tournament once and correlate its points with both Shapley games (paper Fig. 6-7).

    The tournament and every coalition of the true-contribution game use the same ``seed`` and
    settings. ``method="auto"`` computes the true game exactly for ``n <= 12`` (``2^n`` tournament
    runs) and by stratified Monte Carlo with ``true_max_evaluations`` tournament runs (default
    ``200 n``) above; the published game exactly / in closed form up to ``n = 22`` and by Monte
    Carlo above.

    Examples
    --------
    >>> from crowd_sft.tournament import make_instance
    >>> r = points_vs_shapley(make_instance(6, 0), n_groups=2, seed=1, rounds=20)
    >>> sorted(r.comparison.pearson)
    ['published', 'published~true', 'true']
    """



    def fresh():
        if isinstance(seed, np.random.SeedSequence):
            return np.random.SeedSequence(seed.entropy, spawn_key=seed.spawn_key, pool_size=seed.pool_size)
        return seed

    run = run_tournament(instance.users, instance.expert, instance.x0, n_groups=n_groups, evaluation=evaluation,
                         seed=fresh(), **tournament_kwargs)
    pub_game = PublishedGame(instance.users, instance.expert, evaluation)
    pub = shapley_values(pub_game, method, seed=fresh()) if method in ("auto", "mc") else shapley_values(pub_game, method)
    true_game = TrueContributionGame(instance.users, instance.expert, instance.x0, seed=fresh(), n_groups=n_groups,
                                     small_coalitions=small_coalitions, evaluation=evaluation, **tournament_kwargs)
    n = true_game.n_players
    if method in ("auto", "mc") and (n > 12 or method == "mc"):
        true = shapley_values(true_game, "mc", seed=fresh(), sampler="stratified",
                              max_evaluations=true_max_evaluations or 200 * n)
    else:
        true = shapley_values(true_game, "exact" if method in ("auto", "closed") else method)
    cmp = compare_points(run.points, published=pub.values, true=true.values)
    extra = compare_points(pub.values, true=true.values)
    cmp.pearson["published~true"] = extra.pearson["true"]
    cmp.spearman["published~true"] = extra.spearman["true"]
    return PointsVsShapley(points=np.asarray(run.points), published=pub, true=true, comparison=cmp)

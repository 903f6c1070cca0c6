"""Crowd-SFT: competitive crowd fine-tuning tournaments and Shapley-value fairness.

>>> from crowd_sft import load_preferences, make_instance, run_tournament
>>> inst = make_instance(10, seed=0)
>>> res = run_tournament(inst.users, inst.expert, inst.x0, n_groups=2, seed=0)
>>> res.final_distance < res.start_distance
True

Reference: Sotiropoulos et al. (2025), "Crowd-SFT: Crowdsourcing for LLM Alignment".
Precise semantics: ``shared/spec/crowd_sft.md`` (reproduced in the docstrings).

Layers (imports only go down; ``tests/crowd_sft/test_crowd_imports.py`` checks there is no cycle):
``_validate``, ``_progress``, ``data``, ``_parallel`` -> ``scoring`` -> ``tournament`` -> ``games`` ->
``shapley`` (estimators) -> ``analysis``, ``sweep``, ``figures``, ``beyond``, ``experiment1`` -> CLI.
"""
import functools as _functools
import warnings as _warnings

from . import games as _games
from .analysis import points_vs_shapley
from .beyond import run_beyond
from .data import GENRES, derive_preferences, load_preferences
from .experiment1 import run_experiment1
from .games import PublishedGame, TrueContributionGame
from .shapley import ShapleyResult, shapley_values
from .sweep import SweepConfig, replay_run, run_sweep
from .tournament import make_instance, run_settings, run_tournament


def _moved(func, old: str, new: str):
    @_functools.wraps(func)
    def wrapper(*args, **kwargs):
        _warnings.warn(f"{old} is deprecated; use {new}", DeprecationWarning, stacklevel=2)
        return func(*args, **kwargs)
    return wrapper


# Backward compatibility without an import cycle: games sits below the Shapley estimators, so the
# old names crowd_sft.games.points_vs_shapley / PointsVsShapley are attached here (the package is
# always initialised before any of its submodules is used) and warn when called.
_games.points_vs_shapley = _moved(points_vs_shapley, "crowd_sft.games.points_vs_shapley",
                                  "crowd_sft.analysis.points_vs_shapley (or crowd_sft.points_vs_shapley)")
from .analysis import PointsVsShapley as _PVS  # noqa: E402

_games.PointsVsShapley = _PVS

__all__ = ["run_beyond", "GENRES", "derive_preferences", "load_preferences", "run_experiment1", "PublishedGame",
           "TrueContributionGame", "points_vs_shapley", "ShapleyResult", "shapley_values", "SweepConfig",
           "replay_run", "run_sweep", "make_instance", "run_settings", "run_tournament"]

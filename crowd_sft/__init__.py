"""Crowd-SFT: competitive crowd fine-tuning tournaments and Shapley-value fairness.

>>> from crowd_sft import load_preferences, make_instance, run_tournament
>>> inst = make_instance(10, seed=0)
>>> res = run_tournament(inst.users, inst.expert, inst.x0, n_groups=2, seed=0)
>>> res.final_distance < res.start_distance
True

Reference: Sotiropoulos et al. (2025), "Crowd-SFT: Crowdsourcing for LLM Alignment".
Precise semantics: ``shared/spec/crowd_sft.md`` (reproduced in the docstrings).

Layers (imports only go down; ``tests/crowd_sft/test_crowd_imports.py`` checks there is no cycle):
``_constants``, ``_validate``, ``_progress``, ``data``, ``_parallel`` -> ``scoring`` -> ``tournament`` ->
``games`` -> ``shapley`` (estimators) -> ``analysis``, ``sweep``, ``figures``, ``beyond``, ``experiment1``
-> CLI. The public names below are imported on first use (``agents._lazy``), so ``import crowd_sft``
and ``python -m crowd_sft --help`` load no numba, scipy or matplotlib.
"""
from typing import TYPE_CHECKING

from agents._lazy import attach as _attach

if TYPE_CHECKING:
    from .analysis import points_vs_shapley
    from .beyond import run_beyond
    from .data import GENRES, derive_preferences, load_preferences
    from .experiment1 import run_experiment1
    from .games import PublishedGame, TrueContributionGame
    from .shapley import ShapleyResult, shapley_values
    from .sweep import SweepConfig, replay_run, run_sweep
    from .tournament import make_instance, run_settings, run_tournament

__getattr__, __dir__, __all__ = _attach(__name__, __file__)

"""Crowd-SFT: competitive crowd fine-tuning tournaments and Shapley-value fairness.

>>> from crowd_sft import load_preferences, make_instance, run_tournament
>>> inst = make_instance(10, seed=0)
>>> res = run_tournament(inst.users, inst.expert, inst.x0, n_groups=2, seed=0)
>>> res.final_distance < res.start_distance
True

Reference: Sotiropoulos et al. (2025), "Crowd-SFT: Crowdsourcing for LLM Alignment".
Precise semantics: ``shared/spec/crowd_sft.md`` (reproduced in the docstrings).
"""
from .beyond import run_beyond
from .data import GENRES, derive_preferences, load_preferences
from .experiment1 import run_experiment1
from .games import PublishedGame, TrueContributionGame, points_vs_shapley
from .shapley import ShapleyResult, shapley_values
from .sweep import SweepConfig, replay_run, run_sweep
from .tournament import make_instance, run_settings, run_tournament

__all__ = ["run_beyond", "GENRES", "derive_preferences", "load_preferences", "run_experiment1", "PublishedGame",
           "TrueContributionGame", "points_vs_shapley", "ShapleyResult", "shapley_values", "SweepConfig",
           "replay_run", "run_sweep", "make_instance", "run_settings", "run_tournament"]

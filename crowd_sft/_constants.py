"""Names and sizes shared by the layers and the command line (standard library only, so that
``python -m crowd_sft --help`` does not load numpy, numba or scipy). Each layer re-exports its own."""
from __future__ import annotations

EVALUATIONS: tuple[str, ...] = ("l2", "l1", "dot")
GROUPINGS: tuple[str, ...] = ("random", "epsilon-greedy", "interleaved")
REWARDS: tuple[str, ...] = ("rank", "improvement", "shapley")
SMALL_COALITION_RULES: tuple[str, ...] = ("fewer_groups", "frozen")
SHAPLEY_METHODS: tuple[str, ...] = ("kernel", "exact", "mc")      # sweep estimator policies
METHODS: tuple[str, ...] = ("exact", "mc", "kernel", "closed", "auto")  # crowd_sft.shapley.shapley_values
KERNEL_VARIANTS: tuple[str, ...] = ("paired", "published")
SAMPLERS: tuple[str, ...] = ("antithetic", "permutation", "stratified")
PAPER_USERS: tuple[int, ...] = (10, 25, 50, 75, 100)
PAPER_GROUPS: tuple[int, ...] = (2, 3, 4, 5)
BUNDLED_USERS = 610  # rows of the bundled MovieLens preference matrix (a run needs n + 1 of them)

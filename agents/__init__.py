"""Bradley-Terry-effort agents: strategies, quality priors, effort costs and a numba simulator.

References
----------
Manyika, Wooldridge, Gan (2025). Mechanism Design for Alignment via Human Feedback. Def. 4.1, eqs. (2), (4), (5).
"""
from typing import TYPE_CHECKING

from ._lazy import attach as _attach

# Public names, imported on first use (agents._lazy): ``import agents`` loads neither numba nor scipy nor
# sympy. Add a new public name to these import lines; ``__all__`` is derived from them.
if TYPE_CHECKING:
    from .bradley_terry import (ReportSampler, SimulatedReports, mean_report, pair_index, pair_lookup,
                                report_probability, sigmoid, simulate_reports)
    from .costs import (COST_NAMES, CallableCost, Cost, Exponential, Linear, Log1p, Power, Quadratic, Sqrt,
                        as_costs, make_cost, parse_cost)
    from .priors import NormalPrior, Prior, ScipyPrior, UniformPrior, as_prior
    from .strategies import (CONVENTION, DISHONEST, HONEST, Profile, Strategy, as_strategy, check_convention_prob,
                             make_profile, parse_report)

__getattr__, __dir__, __all__ = _attach(__name__, __file__)

"""Best responses, symmetric equilibria and incentive-property checks (UEI, omega-BNIC, EC).

>>> from mechanisms import APA
>>> from equilibria import Game, check_properties
>>> rep = check_properties(Game(APA(), "quadratic:0.1", n_agents=3, n_items=3))
>>> rep.UEI.holds
True

References
----------
Manyika, Wooldridge, Gan (2025), Defs. 5.1-5.3.
"""
from typing import TYPE_CHECKING

from agents._lazy import attach as _attach

# Public names, imported on first use (agents._lazy): ``import equilibria`` loads neither scipy nor sympy
# nor cvxpy, and ``python -m equilibria --help`` starts fast. Add a new public name to these lines and to
# ``__all__``.
if TYPE_CHECKING:
    from .atlas import Atlas, atlas
    from .asymmetric import ProfileEquilibrium, ProfileSet, asymmetric_equilibria
    from .best_response import BestResponse, best_response
    from .bounds import EffortBound, effort_bound
    from .design import DesignResult, baseline_budgets, budget_curve, design_max_faithfulness, design_rule
    from .game import Game, NoEffortBound, SymmetricGrid
    from .local import LocalExpansion, local_expansion, local_thresholds, next_order
    from .properties import PropertyReport, Verdict, check_ec, check_omega_bnic, check_properties, check_uei
    from .symmetric import Equilibrium, EquilibriumCheck, EquilibriumSet, check_equilibrium, symmetric_equilibria
    from .thresholds import Threshold, apa_curvature, omega_bnic_threshold, threshold, uei_threshold

__getattr__, __dir__, _ = _attach(__name__, __file__)

__all__ = ["Atlas", "atlas", "LocalExpansion", "local_expansion", "local_thresholds", "next_order", "ProfileEquilibrium", "ProfileSet", "asymmetric_equilibria", "EffortBound", "effort_bound",
           "NoEffortBound", "DesignResult", "baseline_budgets", "budget_curve", "design_max_faithfulness", "design_rule", "BestResponse", "best_response", "Game", "SymmetricGrid", "PropertyReport", "Verdict", "check_ec",
           "check_omega_bnic", "check_properties", "check_uei", "Equilibrium", "EquilibriumCheck",
           "EquilibriumSet", "check_equilibrium", "symmetric_equilibria", "Threshold", "apa_curvature",
           "omega_bnic_threshold", "threshold", "uei_threshold"]

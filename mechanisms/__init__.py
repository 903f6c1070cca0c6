"""Peer-prediction payment rules for pairwise feedback: PPA, BSST, APA (paper eqs. 6-8).

Each rule computes realised payments (numba, vectorised over trials), exact expected payments
(quadrature over qualities, enumeration over report patterns) and Monte Carlo estimates.

>>> from mechanisms import APA
>>> from agents import Strategy
>>> res = APA().expected_payment(Strategy(1.0), Strategy(1.0), n_agents=4, n_items=4)
>>> res.method
'exact'

Extended strategies (spec section 4): with probability ``q`` per pair an agent reports the public index order
(``Strategy(w, f, q)``; ``Strategy(0, 'convention')`` is ``q = 1``).  Everyone on the convention is paid the
maximum ``z T_P``; a lone convention player earns ``z T_P / 2`` under APA with all its pairs coherent:

>>> conv = Strategy(0.0, "convention")
>>> round(APA().expected_payment(conv, conv, n_agents=4, n_items=4).expected_payment, 10)   # z T_P = 6 * 3
18.0
>>> round(APA().expected_payment(conv, Strategy(1.0), n_agents=4, n_items=4).expected_payment, 10)
9.0

References
----------
Manyika, Wooldridge, Gan (2025). Mechanism Design for Alignment via Human Feedback. ICML workshop.
"""
from typing import TYPE_CHECKING

from agents._lazy import attach as _attach

# Public names, imported on first use (agents._lazy): ``import mechanisms`` loads no numba kernels, and
# ``python -m mechanisms --help`` starts fast. Add a new public name to these lines and to ``__all__``.
if TYPE_CHECKING:
    from .apa import APA, COHERENCE_RULES
    from .base import METHODS, Mechanism, PaymentResult
    from .baselines import CA, DG13
    from .bsst import BSST
    from .custom import CustomMechanism
    from .ppa import PPA
    from .principal import principal_utility
    from .statistics import StatisticRule, statistic_features, statistic_features_extended

_getattr, __dir__, _ = _attach(__name__, __file__, extra_all=("MECHANISMS", "make_mechanism"))


def __getattr__(name):
    if name == "MECHANISMS":        # {name: class}, built on first use
        from . import APA, BSST, CA, DG13, PPA
        globals()["MECHANISMS"] = {"ppa": PPA, "bsst": BSST, "apa": APA, "dg13": DG13, "ca": CA}
        return globals()["MECHANISMS"]
    return _getattr(name)


def make_mechanism(name: str, z: float = 1.0, y: float = 0.5, coherence: str = "3cycle") -> "Mechanism":
    """Build a mechanism by name (``ppa``, ``bsst``, ``apa``, ``dg13``, ``ca``) with its parameters."""
    from . import APA, BSST, CA, DG13, PPA

    MECHANISMS = {"dg13": DG13, "ca": CA}
    key = str(name).strip().lower()
    if key == "ppa":
        return PPA(z)
    if key == "bsst":
        return BSST(z, y)
    if key == "apa":
        return APA(z, coherence)
    if key in ("dg13", "ca"):
        return MECHANISMS[key](z)
    raise ValueError(f"mechanism must be one of {{ppa, bsst, apa, dg13, ca}}, got {name!r}")


__all__ = ["APA", "BSST", "PPA", "CA", "DG13", "CustomMechanism", "StatisticRule", "statistic_features",
           "statistic_features_extended", "Mechanism",
           "PaymentResult", "METHODS", "COHERENCE_RULES", "MECHANISMS", "make_mechanism", "principal_utility"]

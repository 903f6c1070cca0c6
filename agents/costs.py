"""Effort cost functions ``c(w)``: continuous, strictly increasing, ``c(0) = 0`` (paper Section 4, eq. 5).

The paper assumes concave costs; the spec asks for linear, convex (quadratic) and concave (sqrt)
costs alike.  Every cost is ``k * c0(w)`` for a base shape ``c0`` and scale ``k > 0`` and knows its
value, derivative and (where it has one) its sympy expression, so that thresholds on ``z / k`` can be
derived symbolically.

Examples
--------
>>> c = parse_cost("power:0.1:1.5")
>>> round(float(c(4.0)), 6), c.convex
(0.8, True)
>>> str(Quadratic(0.5).sympy())
'0.5*w**2'
"""
from __future__ import annotations

from typing import Callable, Sequence

from functools import lru_cache

import numpy as np

from ._validation import check_real


@lru_cache(maxsize=None)
def _sympy():
    """sympy, imported on first symbolic use (it costs ~0.5 s; numeric costs never need it)."""
    import sympy

    return sympy


@lru_cache(maxsize=None)
def _symbol_w():
    return _sympy().Symbol("w", nonnegative=True)


def __getattr__(name):
    if name == "W":          # the effort symbol of every symbolic cost, ``w >= 0``
        return _symbol_w()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _num(x: float) -> str:
    """Shortest text that reads back as the same float (``2.0 -> '2'``, ``0.1 -> '0.1'``)."""
    return np.format_float_positional(float(x), trim="-")


class Cost:
    """Base class: ``c(w) = k * c0(w)``.  Subclasses define ``_c0``, ``_dc0`` and ``_expr0``."""

    name = "cost"
    convex = False
    concave = False

    def __init__(self, k: float = 1.0):
        self.k = check_real("k", k, low=0.0, low_open=True)

    def __call__(self, w):
        w = np.asarray(w, dtype=float)
        return self.k * self._c0(w)

    def derivative(self, w):
        """``c'(w)``; at ``w = 0`` the right derivative (``inf`` for sqrt and power ``p < 1``)."""
        w = np.asarray(w, dtype=float)
        return self.k * self._dc0(w)

    def sympy(self, k=None):
        """Symbolic ``c(w)`` in the symbol ``agents.costs.W`` (``k`` may be a sympy symbol)."""
        expr0 = self._expr0()
        if expr0 is None:
            return None
        return (self.k if k is None else k) * expr0

    def base(self) -> "Cost":
        """The same shape with ``k = 1`` (the ``c0`` of the family ``k * c0``)."""
        return self.with_k(1.0)

    def with_k(self, k: float) -> "Cost":
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone.k = check_real("k", k, low=0.0, low_open=True)
        return clone

    def _expr0(self):
        return None

    @property
    def spec(self) -> str:
        """The ``NAME:K[:P]`` string that :func:`parse_cost` reads back."""
        return f"{self.name}:{_num(self.k)}"

    def __repr__(self):
        return f"{type(self).__name__}(k={self.k!r})"

    def __eq__(self, other):
        return type(self) is type(other) and self.__dict__ == other.__dict__

    def __hash__(self):
        return hash((type(self).__name__, tuple(sorted(self.__dict__.items()))))


class Linear(Cost):
    """``c(w) = k w`` (both convex and concave)."""

    name, convex, concave = "linear", True, True

    def _c0(self, w):
        return w

    def _dc0(self, w):
        return np.ones_like(w)

    def _expr0(self):
        return _symbol_w()


class Quadratic(Cost):
    """``c(w) = k w^2`` (convex; the usual assumption in the literature)."""

    name, convex = "quadratic", True

    def _c0(self, w):
        return w * w

    def _dc0(self, w):
        return 2.0 * w

    def _expr0(self):
        return _symbol_w()**2


class Power(Cost):
    """``c(w) = k w^p``, ``p > 0``: concave for ``p < 1`` (the paper's assumption), convex for ``p > 1``."""

    name = "power"

    def __init__(self, k: float = 1.0, p: float = 1.5):
        super().__init__(k)
        self.p = check_real("p", p, low=0.0, low_open=True)

    @property
    def convex(self):
        return self.p >= 1.0

    @property
    def concave(self):
        return self.p <= 1.0

    def _c0(self, w):
        return np.power(w, self.p)

    def _dc0(self, w):
        with np.errstate(divide="ignore"):
            return self.p * np.power(w, self.p - 1.0)

    def _expr0(self):
        return _symbol_w() ** _sympy().nsimplify(self.p)

    @property
    def spec(self):
        return f"power:{_num(self.k)}:{_num(self.p)}"

    def __repr__(self):
        return f"Power(k={self.k!r}, p={self.p!r})"


class Sqrt(Cost):
    """``c(w) = k sqrt(w)`` (strictly concave; zero effort is then always a strict local optimum)."""

    name, concave = "sqrt", True

    def _c0(self, w):
        return np.sqrt(w)

    def _dc0(self, w):
        with np.errstate(divide="ignore"):
            return 0.5 / np.sqrt(w)

    def _expr0(self):
        return _sympy().sqrt(_symbol_w())


class Exponential(Cost):
    """``c(w) = k (exp(w) - 1)`` (convex)."""

    name, convex = "exp", True

    def _c0(self, w):
        return np.expm1(w)

    def _dc0(self, w):
        return np.exp(w)

    def _expr0(self):
        return _sympy().exp(_symbol_w()) - 1


class Log1p(Cost):
    """``c(w) = k log(1 + w)`` (concave)."""

    name, concave = "log", True

    def _c0(self, w):
        return np.log1p(w)

    def _dc0(self, w):
        return 1.0 / (1.0 + w)

    def _expr0(self):
        return _sympy().log(1 + _symbol_w())


class CallableCost(Cost):
    """A user-supplied cost ``fn(w)`` (vectorised or not), optionally with its derivative.

    The cost is checked on a grid of ``[0, check_to]``: ``c(0) = 0`` and strictly increasing, else
    ``ValueError``.  Without ``derivative`` a central finite difference is used.
    """

    name = "callable"

    def __init__(self, fn: Callable, derivative: Callable | None = None, *, sympy_expr=None,
                 k: float = 1.0, check_to: float = 10.0, label: str = "callable"):
        if not callable(fn):
            raise ValueError(f"cost must be callable, got {fn!r}")
        super().__init__(k)
        self.fn, self.dfn, self.expr, self.label = fn, derivative, sympy_expr, label
        grid = np.linspace(0.0, check_to, 201)
        vals = np.array([float(fn(float(x))) for x in grid])
        if not np.all(np.isfinite(vals)):
            raise ValueError(f"cost {label} must be finite on [0, {check_to}]")
        if abs(vals[0]) > 1e-12:
            raise ValueError(f"cost must satisfy c(0) = 0, got c(0) = {vals[0]!r}")
        if not np.all(np.diff(vals) > 0):
            raise ValueError(f"cost {label} must be strictly increasing on [0, {check_to}]")

    def _c0(self, w):
        return np.vectorize(lambda x: float(self.fn(float(x))), otypes=[float])(w)

    def _dc0(self, w):
        if self.dfn is not None:
            return np.vectorize(lambda x: float(self.dfn(float(x))), otypes=[float])(w)
        h = 1e-6
        return (self._c0(w + h) - self._c0(np.maximum(w - h, 0.0))) / (w + h - np.maximum(w - h, 0.0))

    def _expr0(self):
        return self.expr

    @property
    def spec(self):
        return f"{self.label}:{_num(self.k)}"

    def __repr__(self):
        return f"CallableCost({self.label}, k={self.k!r})"


_REGISTRY = {"linear": Linear, "quadratic": Quadratic, "power": Power, "sqrt": Sqrt,
             "exp": Exponential, "log": Log1p}
COST_NAMES = tuple(_REGISTRY)


def make_cost(name: str, k: float = 1.0, p: float | None = None) -> Cost:
    """Build a cost by name: one of ``linear, quadratic, power, sqrt, exp, log``."""
    key = str(name).strip().lower()
    if key not in _REGISTRY:
        raise ValueError(f"cost name must be one of {{{', '.join(COST_NAMES)}}}, got {name!r}")
    if key == "power":
        if p is None:
            raise ValueError("p must be given for a power cost: make_cost('power', k, p) (e.g. p = 1.5)")
        return Power(k, p)
    if p is not None:
        raise ValueError(f"cost {key} takes no exponent; use power:K:P for k*w**P")
    return _REGISTRY[key](k)


def parse_cost(text: str) -> Cost:
    """Parse ``NAME:K[:P]`` (e.g. ``quadratic:0.1``, ``power:0.1:1.5``) into a :class:`Cost`."""
    if isinstance(text, Cost):
        return text
    parts = str(text).strip().split(":")
    if len(parts) not in (2, 3) or not parts[0]:
        raise ValueError(f"cost must be NAME:K or power:K:P (e.g. quadratic:0.1), got {text!r}")
    try:
        k = float(parts[1])
        p = float(parts[2]) if len(parts) == 3 else None
    except ValueError:
        raise ValueError(f"cost must be NAME:K[:P] with numbers K, P, got {text!r}") from None
    if parts[0].strip().lower() == "power" and p is None:
        raise ValueError(f"cost must be power:K:P for a power cost (the exponent P is required, e.g. "
                         f"power:0.1:1.5), got {text!r}")
    try:
        return make_cost(parts[0], k, p)
    except ValueError as exc:       # name the parameter the user wrote: the cost text
        raise ValueError(f"cost must be a valid NAME:K[:P] ({exc}), got {text!r}") from None


def as_costs(cost, n_agents: int) -> tuple:
    """Per-agent costs (heterogeneous populations): one :class:`Cost` for all, or a sequence of ``n_agents``."""
    if isinstance(cost, (Cost, str)):
        return (parse_cost(cost),) * n_agents
    if isinstance(cost, Sequence):
        costs = tuple(parse_cost(c) for c in cost)
        if len(costs) != n_agents:
            raise ValueError(f"costs must have one entry per agent ({n_agents}), got {len(costs)}")
        return costs
    raise ValueError(f"cost must be a Cost, a NAME:K string or a sequence of them, got {cost!r}")

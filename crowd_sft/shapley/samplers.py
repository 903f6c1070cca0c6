"""Monte Carlo samplers as objects: what to sample, with the options that only that sampler has.

:func:`~crowd_sft.shapley.monte_carlo_shapley` takes ``sampler=`` as a name or as one of these
objects; options that belong to one sampler live on its object, not in the estimator's shared
signature::

    monte_carlo_shapley(game, sampler=StratifiedSampler(strata=8, pilot=4), max_evaluations=50_000)
    monte_carlo_shapley(game, sampler=AntitheticSampler(exact_extremes=False), seed=0)

The numerical work stays in :mod:`crowd_sft.shapley.montecarlo` (chunks, kernels, statistics);
a sampler object is a validated, picklable description of the scheme.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

from .._validate import check_int

__all__ = ["Sampler", "AntitheticSampler", "PermutationSampler", "StratifiedSampler", "as_sampler",
           "SAMPLER_NAMES", "SAMPLER_OPTIONS"]

SAMPLER_NAMES = ("antithetic", "permutation", "stratified")
SAMPLER_OPTIONS = ("exact_extremes", "strata", "pilot", "exact_small_strata")
"""Former keyword arguments of ``monte_carlo_shapley`` that now belong to a sampler object."""


@dataclass(frozen=True)
class Sampler:
    """Base class of the Monte Carlo sampling schemes."""

    name = "base"

    def options(self) -> dict:
        """The scheme's options (for ``ShapleyResult.info``)."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class PermutationSampler(Sampler):
    """Plain permutation sampling (Castro, Gomez & Tejada 2009).

    Parameters
    ----------
    exact_extremes : bool
        Compute the first- and last-position strata exactly (``2n + 2`` evaluations once) and
        sample only the middle positions (unbiased; default True).
    """

    exact_extremes: bool = True
    name = "permutation"


@dataclass(frozen=True)
class AntitheticSampler(PermutationSampler):
    """Permutation sampling with every permutation paired with its reverse (antithetic variates).

    Parameters
    ----------
    exact_extremes : bool
        As :class:`PermutationSampler`.
    """

    name = "antithetic"


@dataclass(frozen=True)
class StratifiedSampler(Sampler):
    """Sampling stratified by coalition size with Neyman allocation.

    Parameters
    ----------
    strata : int, optional
        Number ``K >= 1`` of size bins (default: as many as the pilot can afford with a quarter of
        the budget).
    pilot : int
        Draws per (player, bin) in the first round (>= 2).
    exact_small_strata : bool, optional
        Enumerate the size strata 1 and n-2 exactly (default: when it costs at most a tenth of the
        budget).
    """

    strata: int | None = None
    pilot: int = 4
    exact_small_strata: bool | None = None
    name = "stratified"

    def __post_init__(self):
        if self.strata is not None:
            check_int(self.strata, "strata", 1)
        check_int(self.pilot, "pilot", 2)


_BY_NAME = {"antithetic": AntitheticSampler, "permutation": PermutationSampler, "stratified": StratifiedSampler}


def as_sampler(sampler="antithetic", **legacy) -> Sampler:
    """A :class:`Sampler` from a name or an object; ``legacy`` keyword options (the former
    ``monte_carlo_shapley`` arguments ``exact_extremes``, ``strata``, ``pilot``,
    ``exact_small_strata``) are accepted with a ``DeprecationWarning``."""
    unknown = set(legacy) - set(SAMPLER_OPTIONS)
    if unknown:
        raise TypeError(f"unexpected keyword argument(s) {sorted(unknown)}")
    if isinstance(sampler, Sampler):
        obj = sampler
    elif isinstance(sampler, str) and sampler in _BY_NAME:
        obj = _BY_NAME[sampler]()
    else:
        raise ValueError(f"sampler must be one of {SAMPLER_NAMES} or a Sampler object, got {sampler!r}")
    if not legacy:
        return obj
    fields = obj.__dataclass_fields__
    given = dict(legacy)
    bad = [k for k in given if k not in fields]
    ignored = [k for k in bad if k == "exact_extremes" and obj.name == "stratified"]  # always exact there
    if len(ignored) != len(bad):
        raise ValueError(f"option(s) {sorted(set(bad) - set(ignored))} do not apply to sampler={obj.name!r}")
    warnings.warn(f"monte_carlo_shapley({', '.join(sorted(legacy))}=...) is deprecated: pass "
                  f"sampler={type(obj).__name__}({', '.join(f'{k}=...' for k in sorted(legacy) if k not in ignored)})",
                  DeprecationWarning, stacklevel=3)
    given = {k: v for k, v in given.items() if k not in ignored}
    return type(obj)(**{**obj.options(), **given})

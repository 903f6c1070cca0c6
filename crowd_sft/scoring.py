"""Scoring ``s(y) = eval(y, e)`` (larger is better): the bottom layer of ``crowd_sft``.

``'l2'``: ``-||y - e||_2``; ``'l1'``: ``-||y - e||_1``; ``'dot'``: ``y . e`` (raw dot product, so a
larger norm in ``e``'s direction scores higher). One implementation serves everything: the numba
kernel :func:`_score_scaled` (used by the tournament kernel and the Shapley kernels; ``_score`` and
``_score_sum`` are its two uses) and the vectorised :func:`scores` (``evaluate`` is its
one-vector form). Spec ``crowd_sft.md`` "One run"; paper Section IV-A.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from . import _constants as _C

from ._validate import check_choice

__all__ = ["EVALUATIONS", "eval_code", "evaluate", "scores"]

EVALUATIONS: tuple[str, ...] = _C.EVALUATIONS


def eval_code(evaluation: str) -> int:
    """Integer code of an evaluation name (``'l2'`` -> 0, ``'l1'`` -> 1, ``'dot'`` -> 2)."""
    if not isinstance(evaluation, str):
        raise ValueError(f"evaluation must be one of {', '.join(EVALUATIONS)}; got {evaluation!r}")
    return check_choice(evaluation, EVALUATIONS, "evaluation")


@njit(cache=True)
def _score_scaled(y, inv, e, code):
    """``eval(inv * y, e)`` for one vector, summing coordinates left to right.

    ``inv = 1`` scores ``y`` itself (multiplying by 1.0 is exact); ``inv = 1/size`` scores the mean
    of a coalition from its sum without allocating it (for dot the sum is scaled once at the end).
    """
    acc = 0.0
    if code == 0:
        for j in range(y.shape[0]):
            t = y[j] * inv - e[j]
            acc += t * t
        return -math.sqrt(acc)
    elif code == 1:
        for j in range(y.shape[0]):
            acc += abs(y[j] * inv - e[j])
        return -acc
    else:
        for j in range(y.shape[0]):
            acc += y[j] * e[j]
        return acc * inv


@njit(cache=True)
def _score(y, e, code):
    """``s(y) = eval(y, e)`` for one vector (larger is better)."""
    return _score_scaled(y, 1.0, e, code)


@njit(cache=True)
def _score_sum(s, size, e, code):
    """``eval(s / size, e)`` without allocating the mean (``size >= 1``)."""
    return _score_scaled(s, 1.0 / size, e, code)


def scores(y, e, evaluation: str) -> np.ndarray:
    """Vectorised score ``eval(y, e)`` for ``y`` of shape ``(k, d)`` (or ``(d,)``), returns ``(k,)``."""
    code = eval_code(evaluation)
    y = np.atleast_2d(np.asarray(y, dtype=np.float64))
    e = np.asarray(e, dtype=np.float64)
    diff = y - e
    if code == 0:
        return -np.sqrt(np.einsum("ij,ij->i", diff, diff))
    if code == 1:
        return -np.abs(diff).sum(axis=1)
    return y @ e


def evaluate(y, e, evaluation: str):
    """Score ``s(y) = eval(y, e)``, larger is better.

    Parameters
    ----------
    y : array_like, shape (d,) or (k, d)
        Model(s).
    e : array_like, shape (d,)
        Expert target.
    evaluation : {'l2', 'l1', 'dot'}
        ``'l2'``: ``-||y - e||_2``; ``'l1'``: ``-||y - e||_1``; ``'dot'``: ``y . e`` (raw).

    Returns
    -------
    float or numpy.ndarray of shape (k,)

    Examples
    --------
    >>> evaluate([3.0, 4.0], [0.0, 0.0], "l2"), evaluate([1.0, 2.0], [3.0, 1.0], "dot")
    (-5.0, 5.0)

    References
    ----------
    Paper Section IV-A (evaluation methods); spec "One run".
    """
    eval_code(evaluation)
    y = np.asarray(y, dtype=np.float64)
    e = np.asarray(e, dtype=np.float64)
    if e.ndim != 1 or y.shape[-1:] != e.shape or y.ndim not in (1, 2):
        raise ValueError(f"y must have shape (d,) or (k, d) and e shape (d,); got {y.shape}, {e.shape}")
    out = scores(y, e, evaluation)
    return float(out[0]) if y.ndim == 1 else out

"""Least-angle regression active set, transcribed from scikit-learn's ``lars_path`` (method='lar').

shap.KernelExplainer with ``l1_reg="num_features(r)"`` calls
``sklearn.linear_model.lars_path(mask_aug, eyAdj_aug, max_iter=r)[1]`` and keeps only the
returned active set; players outside it get a Shapley value of exactly 0. scikit-learn is not a
dependency, so :func:`lars_active_set` re-implements that call step by step (the ``Gram=None``
path that shap uses, and the ``Gram`` path that the fast published KernelSHAP uses on the same
problem). Both stop as scikit-learn does: after ``max_iter`` iterations, when every feature is
active, or when the largest residual correlation divided by the number of rows falls to
``float32`` epsilon -- the early stop that leaves players out. In LAR mode an iteration in which
an active coefficient would cross zero flips its sign and adds no feature, which also leaves
features out after ``max_iter`` iterations.
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["lars_active_set", "lars_active_set_fast"]

_TINY32 = np.finfo(np.float32).tiny
_EQ_TOL = np.finfo(np.float32).eps
_EPS = np.finfo(np.float64).eps


def _min_pos(x: np.ndarray) -> float:
    pos = x[x > 0]
    return float(pos.min()) if pos.size else float(np.finfo(np.float64).max)


def lars_active_set(X=None, y=None, *, max_iter: int, Gram=None, Xy=None, n_samples: int | None = None) -> list[int]:
    """Active set (in order of entry) of scikit-learn's ``lars_path(X, y, max_iter=max_iter)``.

    Parameters
    ----------
    X, y : numpy.ndarray
        Design ``(rows, p)`` and response ``(rows,)``; used when ``Gram`` is None (shap's call).
    max_iter : int
        Maximum number of LARS iterations (shap: ``r`` of ``num_features(r)``).
    Gram, Xy : numpy.ndarray, optional
        ``X.T @ X`` and ``X.T @ y`` instead of ``X`` and ``y`` (same path, different rounding).
    n_samples : int, optional
        Number of rows (needed with ``Gram``; ``y.size`` otherwise).

    Returns
    -------
    list of int
        Feature indices in the order LARS added them.
    """
    from scipy.linalg import cho_solve, solve_triangular  # the reference path only: workers skip scipy

    if Gram is None:
        X = np.array(X, dtype=np.float64, order="F", copy=True)
        y = np.asarray(y, dtype=np.float64)
        cov = X.T @ y
        n_features = X.shape[1]
        n_samples = y.size if n_samples is None else int(n_samples)
    else:
        Gram = np.array(Gram, dtype=np.float64, copy=True)
        cov = np.array(Xy, dtype=np.float64, copy=True)
        n_features = cov.shape[0]
        if n_samples is None:
            raise ValueError("n_samples is required with Gram")
    max_features = min(int(max_iter), n_features)
    n_iter = n_active = 0
    active: list[int] = []
    indices = np.arange(n_features)
    sign_active = np.zeros(max_features, dtype=np.int8)
    drop = False
    L = np.zeros((max_features, max_features))
    coef = np.zeros(n_features)
    prev_coef = np.zeros(n_features)
    while True:
        if cov.size:
            c_idx = int(np.argmax(np.abs(cov)))
            c_ = cov[c_idx]
            C = abs(c_)
        else:
            C = 0.0
        alpha = C / n_samples
        if alpha <= _EQ_TOL:  # early stopping (alpha_min = 0)
            break
        if n_iter >= max_iter or n_active >= n_features:
            break
        if not drop:
            sign_active[n_active] = np.sign(c_)
            m, n = n_active, c_idx + n_active
            cov_full = cov
            cov[c_idx], cov[0] = cov[0], cov[c_idx]
            indices[n], indices[m] = indices[m], indices[n]
            cov = cov[1:]
            if Gram is None:
                X[:, [m, n]] = X[:, [n, m]]
                c = float(np.dot(X[:, n_active], X[:, n_active]))
                L[n_active, :n_active] = X[:, n_active] @ X[:, :n_active]
            else:
                Gram[[m, n]] = Gram[[n, m]]
                Gram[:, [m, n]] = Gram[:, [n, m]]
                c = Gram[n_active, n_active]
                L[n_active, :n_active] = Gram[n_active, :n_active]
            if n_active:
                L[n_active, :n_active] = solve_triangular(L[:n_active, :n_active], L[n_active, :n_active],
                                                          lower=True, check_finite=False)
            v = float(np.dot(L[n_active, :n_active], L[n_active, :n_active]))
            diag = max(np.sqrt(abs(c - v)), _EPS)
            L[n_active, n_active] = diag
            if diag < 1e-7:  # degenerate regressor: scikit-learn zeroes its correlation and goes on
                cov = cov_full
                cov[0] = 0.0
                cov[c_idx], cov[0] = cov[0], cov[c_idx]
                continue
            active.append(int(indices[n_active]))
            n_active += 1
        sgn = sign_active[:n_active].astype(np.float64)
        ls = cho_solve((L[:n_active, :n_active], True), sgn, check_finite=False)
        if ls.size == 1 and ls[0] == 0:
            ls[...] = 1.0
            AA = 1.0
        else:
            AA = 1.0 / np.sqrt(np.sum(ls * sgn))
            if not np.isfinite(AA):
                i = 0
                L_ = L[:n_active, :n_active].copy()
                while not np.isfinite(AA):
                    L_.flat[::n_active + 1] += (2 ** i) * _EPS
                    ls = cho_solve((L_, True), sgn, check_finite=False)
                    AA = 1.0 / np.sqrt(max(np.sum(ls * sgn), _EPS))
                    i += 1
            ls = ls * AA
        if Gram is None:
            eq_dir = X[:, :n_active] @ ls
            corr_eq_dir = X[:, n_active:].T @ eq_dir
        else:
            corr_eq_dir = Gram[:n_active, n_active:].T @ ls
        g1 = _min_pos((C - cov) / (AA - corr_eq_dir + _TINY32))
        g2 = _min_pos((C + cov) / (AA + corr_eq_dir + _TINY32))
        gamma = min(g1, g2, C / AA)
        drop = False
        z = -coef[active] / (ls + _TINY32)
        z_pos = _min_pos(z)
        if z_pos < gamma:  # LAR: an active coefficient would change sign -> flip it, add nothing next time
            idx = np.where(z == z_pos)[0][::-1]
            sign_active[idx] = -sign_active[idx]
            drop = True
        n_iter += 1
        prev_coef = coef
        coef = np.zeros(n_features)
        coef[active] = prev_coef[active] + gamma * ls
        cov = cov - gamma * corr_eq_dir
    return active


@njit(cache=True)
def _min_pos_nb(x):
    best = np.finfo(np.float64).max
    for v in x:
        if v > 0.0 and v < best:
            best = v
    return best


@njit(cache=True)
def _forward(L, n, b):
    """Solve ``L[:n, :n] y = b`` (lower triangular)."""
    y = np.empty(n)
    for i in range(n):
        acc = b[i]
        for k in range(i):
            acc -= L[i, k] * y[k]
        y[i] = acc / L[i, i]
    return y


@njit(cache=True)
def _cho_solve_nb(L, n, b):
    """Solve ``L L^T x = b`` with ``L = L[:n, :n]`` lower triangular (LAPACK ``potrs``)."""
    y = _forward(L, n, b)
    x = np.empty(n)
    for i in range(n - 1, -1, -1):
        acc = y[i]
        for k in range(i + 1, n):
            acc -= L[k, i] * x[k]
        x[i] = acc / L[i, i]
    return x


@njit(cache=True)
def _lars_gram_kernel(gram, cov, n_samples, max_iter, active):
    """Compiled Gram-path LARS (method 'lar'), step for step :func:`lars_active_set` with ``Gram``.

    ``cov`` holds scikit-learn's shrinking ``Cov`` as ``cov[n_active:]``. Fills ``active`` and
    returns its length.
    """
    tiny32 = np.float64(np.finfo(np.float32).tiny)
    eq_tol = np.float64(np.finfo(np.float32).eps)
    eps = np.finfo(np.float64).eps
    p = cov.shape[0]
    max_features = min(max_iter, p)
    indices = np.arange(p)
    sign_active = np.zeros(max(max_features, 1))
    L = np.zeros((max(max_features, 1), max(max_features, 1)))
    coef = np.zeros(p)
    n_iter = 0
    n_active = 0
    drop = False
    while True:
        C = 0.0
        c_idx = 0
        c_ = 0.0
        if p - n_active > 0:
            for j in range(p - n_active):
                if abs(cov[n_active + j]) > C:
                    C = abs(cov[n_active + j])
                    c_idx = j
            c_ = cov[n_active + c_idx]
        if C / n_samples <= eq_tol:
            break
        if n_iter >= max_iter or n_active >= p:
            break
        if not drop:
            sign_active[n_active] = 1.0 if c_ > 0 else (-1.0 if c_ < 0 else 0.0)
            m = n_active
            n = c_idx + n_active
            tmp = cov[n_active + c_idx]
            cov[n_active + c_idx] = cov[n_active]
            cov[n_active] = tmp
            ti = indices[n]
            indices[n] = indices[m]
            indices[m] = ti
            for k in range(p):  # swap rows m, n then columns m, n
                t = gram[m, k]
                gram[m, k] = gram[n, k]
                gram[n, k] = t
            for k in range(p):
                t = gram[k, m]
                gram[k, m] = gram[k, n]
                gram[k, n] = t
            c = gram[n_active, n_active]
            for k in range(n_active):
                L[n_active, k] = gram[n_active, k]
            if n_active:
                row = _forward(L, n_active, L[n_active, :n_active].copy())
                for k in range(n_active):
                    L[n_active, k] = row[k]
            v = 0.0
            for k in range(n_active):
                v += L[n_active, k] * L[n_active, k]
            diag = max(np.sqrt(abs(c - v)), eps)
            L[n_active, n_active] = diag
            if diag < 1e-7:
                cov[n_active] = 0.0  # scikit-learn: Cov[0] = 0, then swap back
                tmp = cov[n_active + c_idx]
                cov[n_active + c_idx] = cov[n_active]
                cov[n_active] = tmp
                continue
            active[n_active] = indices[n_active]
            n_active += 1
        sgn = sign_active[:n_active].copy()
        ls = _cho_solve_nb(L, n_active, sgn)
        if n_active == 1 and ls[0] == 0:
            ls[0] = 1.0
            AA = 1.0
        else:
            s = 0.0
            for k in range(n_active):
                s += ls[k] * sgn[k]
            AA = 1.0 / np.sqrt(s)
            if not np.isfinite(AA):
                i = 0
                L_ = L[:n_active, :n_active].copy()
                while not np.isfinite(AA):
                    for k in range(n_active):
                        L_[k, k] += (2.0 ** i) * eps
                    ls = _cho_solve_nb(L_, n_active, sgn)
                    s = 0.0
                    for k in range(n_active):
                        s += ls[k] * sgn[k]
                    AA = 1.0 / np.sqrt(max(s, eps))
                    i += 1
            for k in range(n_active):
                ls[k] *= AA
        rest = p - n_active
        corr = np.zeros(rest)
        for j in range(rest):
            acc = 0.0
            for k in range(n_active):
                acc += gram[k, n_active + j] * ls[k]
            corr[j] = acc
        q1 = np.empty(rest)
        q2 = np.empty(rest)
        for j in range(rest):
            cj = cov[n_active + j]
            q1[j] = (C - cj) / (AA - corr[j] + tiny32)
            q2[j] = (C + cj) / (AA + corr[j] + tiny32)
        gamma = min(_min_pos_nb(q1), _min_pos_nb(q2), C / AA)
        drop = False
        z = np.empty(n_active)
        for k in range(n_active):
            z[k] = -coef[active[k]] / (ls[k] + tiny32)
        z_pos = _min_pos_nb(z)
        if z_pos < gamma:
            for k in range(n_active):
                if z[k] == z_pos:
                    sign_active[k] = -sign_active[k]
            drop = True
        n_iter += 1
        new_coef = np.zeros(p)
        for k in range(n_active):
            new_coef[active[k]] = coef[active[k]] + gamma * ls[k]
        coef = new_coef
        for j in range(rest):
            cov[n_active + j] -= gamma * corr[j]
    return n_active


def lars_active_set_fast(gram, xy, *, n_samples: int, max_iter: int) -> list[int]:
    """Compiled :func:`lars_active_set` on the Gram path (same steps; rounding of its own)."""
    gram = np.array(gram, dtype=np.float64, order="C", copy=True)
    cov = np.array(xy, dtype=np.float64, copy=True)
    active = np.empty(max(min(int(max_iter), cov.shape[0]), 1), dtype=np.int64)
    k = _lars_gram_kernel(gram, cov, float(n_samples), int(max_iter), active)
    return active[:k].tolist()

"""Quality priors and their quadrature rules (spec section 1)."""
from __future__ import annotations

import numpy as np
import pytest
import warnings

from scipy import integrate, stats

from agents import NormalPrior, ScipyPrior, UniformPrior, as_prior
from agents.priors import composite_gauss_legendre

PRIORS = [NormalPrior(), NormalPrior(0.5, 2.0), UniformPrior(), UniformPrior(-1.0, 3.0),
          ScipyPrior(stats.expon()), ScipyPrior(stats.t(5)), ScipyPrior(stats.lognorm(0.5))]
ACCURATE = PRIORS


def scipy_law(prior):
    if isinstance(prior, ScipyPrior):
        return prior.dist
    if isinstance(prior, NormalPrior):
        return stats.norm(prior.loc, prior.scale)
    return stats.uniform(prior.low, prior.high - prior.low)


@pytest.mark.parametrize("prior", ACCURATE, ids=repr)
@pytest.mark.parametrize("eps", [1.0, 5.0, 30.0])
def test_rule_integrates_moments_and_sigmoids(prior, eps):
    """``sum_k w_k g(x_k) = E[g(theta)]`` for moments and for ``sigmoid(eps (theta - c))``, the integrand
    shape the exact engine needs (``rule(eps)`` must resolve slopes up to ``eps``)."""
    x, w = prior.rule(eps)
    dist = scipy_law(prior)
    tol = 1e-7 if isinstance(prior, ScipyPrior) else 1e-12
    assert w.sum() == pytest.approx(1.0, abs=tol)
    assert w @ x == pytest.approx(dist.mean(), rel=tol, abs=tol)
    assert w @ (x - dist.mean()) ** 2 == pytest.approx(dist.var(), rel=100 * tol)
    lo, hi = dist.ppf(1e-16), dist.isf(1e-16)
    c = dist.median() + 0.3 * dist.std()
    f = lambda t: 0.5 * (1.0 + np.tanh(0.5 * eps * (t - c)))
    with warnings.catch_warnings():      # quad warns that 1e-14 is at the roundoff level; that is fine
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        # breakpoints around the transition: on the huge range of a heavy tail quad misses it otherwise
        pts = sorted(p for p in (c - 10, c - 1, c - 0.1, c, c + 0.1, c + 1, c + 10) if lo < p < hi)
        want = integrate.quad(lambda t: f(t) * dist.pdf(t), lo, hi, points=pts, epsabs=1e-15, epsrel=1e-14,
                              limit=1000)[0]
    # panels are sized for slopes up to eps: a few 1e-12 relative (the engine's accuracy claim is 1e-11)
    assert w @ f(x) == pytest.approx(want, rel=max(tol, 1e-11), abs=max(tol, 1e-11))


@pytest.mark.parametrize("prior", PRIORS[5:], ids=repr)
def test_scipy_prior_rule_mass_heavy_tails(prior):
    x, w = prior.rule(1.0)
    assert w.sum() == pytest.approx(1.0, abs=1e-7)
    assert w @ x == pytest.approx(prior.dist.mean(), abs=1e-6)


def test_panels_grow_with_effort_and_refine():
    for p in (NormalPrior(), UniformPrior(), NormalPrior(0.0, 3.0), ScipyPrior(stats.expon())):
        counts = [p.n_panels(e) for e in (0.0, 1.0, 5.0, 20.0, 50.0, 200.0)]
        assert counts == sorted(counts) and counts[-1] > counts[0]
        x1, _ = p.rule(7.0)
        x2, _ = p.rule(7.0, refine=2)
        if isinstance(p, ScipyPrior):   # graded tail panels: refinement adds panels (convergence of the
            # refined rule is tested in test_exact.py against an independent quadrature)
            assert p.n_panels(40.0, refine=2) > p.n_panels(40.0)
            assert x2.size > x1.size
        else:
            assert p.n_panels(40.0, refine=2) == 2 * p.n_panels(40.0)
            assert x2.size == 2 * x1.size
    # panel width in theta units scales like 1 / |eps|: doubling the prior's scale doubles the panels
    assert NormalPrior(0.0, 2.0).n_panels(100.0) == pytest.approx(2 * NormalPrior().n_panels(100.0), abs=1)


@pytest.mark.parametrize("prior", [NormalPrior(), NormalPrior(1.0, 0.5), UniformPrior(), UniformPrior(2.0, 4.5)],
                         ids=repr)
def test_difference_pdf_is_the_convolution(prior):
    if isinstance(prior, NormalPrior):
        lo, hi = prior.loc - 10 * prior.scale, prior.loc + 10 * prior.scale
        span = 20 * prior.scale
    else:
        lo, hi = prior.low, prior.high
        span = prior.high - prior.low
    total = integrate.quad(prior.difference_pdf, -span, span, points=[0.0], limit=200)[0]
    assert total == pytest.approx(1.0, abs=1e-10)
    for d in [0.0, 0.13, -0.4, 0.9 * span / 2]:
        conv = integrate.quad(lambda t: prior.pdf(t) * prior.pdf(t - d), lo, hi, limit=200,
                              points=[lo + max(d, 0), hi + min(d, 0)] if isinstance(prior, UniformPrior) else None)[0]
        assert prior.difference_pdf(d) == pytest.approx(conv, rel=1e-9, abs=1e-12)
    # spec: N(0, 1) -> Delta ~ N(0, 2); U[0, 1] -> triangular 1 - |d|
    assert NormalPrior().difference_pdf(0.7) == pytest.approx(stats.norm(0, np.sqrt(2)).pdf(0.7), rel=1e-14)
    assert UniformPrior().difference_pdf(-0.3) == pytest.approx(0.7, rel=1e-14)
    assert UniformPrior().difference_pdf(1.2) == 0.0


@pytest.mark.parametrize("prior", PRIORS, ids=repr)
def test_sampling_matches_the_law(prior):
    rng = np.random.default_rng(0)
    xs = prior.sample(rng, (4000, 3))
    assert xs.shape == (4000, 3)
    assert stats.kstest(xs.ravel(), scipy_law(prior).cdf).pvalue > 1e-4
    pdf_check = np.linspace(*scipy_law(prior).ppf([0.01, 0.99]), 7)
    np.testing.assert_allclose(prior.pdf(pdf_check), scipy_law(prior).pdf(pdf_check), rtol=1e-12)


def test_composite_gauss_legendre_is_exact_for_polynomials():
    x, w = composite_gauss_legendre(np.array([0.0, 0.5, 2.0]), order=8)
    assert w @ x**15 == pytest.approx(2.0**16 / 16, rel=1e-13)


def test_as_prior_and_validation():
    assert isinstance(as_prior("normal"), NormalPrior)
    assert isinstance(as_prior(" Gaussian "), NormalPrior)
    assert isinstance(as_prior("uniform"), UniformPrior)
    assert isinstance(as_prior(None), NormalPrior)
    p = UniformPrior()
    assert as_prior(p) is p
    assert isinstance(as_prior(stats.expon()), ScipyPrior)
    assert NormalPrior() == NormalPrior(0.0, 1.0) and hash(NormalPrior()) == hash(NormalPrior(0.0, 1.0))
    assert NormalPrior() != NormalPrior(0.0, 2.0)
    with pytest.raises(ValueError, match="prior"):
        as_prior("cauchy")
    with pytest.raises(ValueError, match="prior"):
        as_prior(stats.poisson(3))            # discrete
    with pytest.raises(ValueError, match="prior"):
        as_prior(3.0)
    with pytest.raises(ValueError, match="scale"):
        NormalPrior(0.0, 0.0)
    with pytest.raises(ValueError, match="scale"):
        NormalPrior(0.0, np.nan)
    with pytest.raises(ValueError, match="loc"):
        NormalPrior(np.inf, 1.0)
    with pytest.raises(ValueError, match="high"):
        UniformPrior(1.0, 1.0)
    with pytest.raises(ValueError, match="low"):
        UniformPrior(np.nan, 1.0)

"""ComBat's empirical-Bayes site effects (Johnson, Li & Rabinovic 2007, Biostatistics 8:118).

Input: the standardised data of one site (features x cases of that site) and
its least-squares site effects, a mean ``gamma_hat`` and a variance
``delta_hat`` per feature. Output: the shrunken ``gamma_star``, ``delta_star``.

- parametric: ``gamma`` ~ Normal(gamma_bar, t2) and ``delta`` ~
  InverseGamma(a, b) across the features of a site, the hyper-parameters by the
  method of moments; the posterior means are found by the paper's fixed-point
  iteration, stopped by sva's rule (see ``_converged``).
- non-parametric: the posterior means under the empirical distribution of the
  *other* features' (gamma_hat, delta_hat), each weighted by the likelihood of
  this feature's values (the paper's supplement; sva's ``int.eprior``).

Variances are the unbiased ones (``ddof=1``), as sva (R's ``var``,
``rowVars``) and neuroCombat; ``ddof=0`` is what inmoose's ``pycombat_norm``
uses (numpy's default), kept so that the tests can show that this is the one
difference between them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# sva's it.sol: stop when the largest relative change of gamma and delta is below this.
CONVERGENCE = 1e-4
MAX_ITERATIONS = 10_000
# Rows of the non-parametric (features x features) likelihood matrix computed at once, to bound memory.
_CHUNK = 512


@dataclass(frozen=True)
class SitePriors:
    """The hyper-parameters of one site, kept in the JSON to show what the shrinkage assumed."""

    gamma_bar: float
    t2: float
    a: float | None  # None when mean-only or non-parametric (no variance prior), or when undefined
    b: float | None


def site_priors(gamma_hat: np.ndarray, delta_hat: np.ndarray, *, parametric: bool, mean_only: bool,
                ddof: int = 1) -> SitePriors:
    """Normal prior of the site's mean shifts; inverse-gamma prior of its variance ratios (moments)."""
    gamma_bar = float(np.mean(gamma_hat))
    t2 = float(np.var(gamma_hat, ddof=ddof))
    if mean_only or not parametric:
        return SitePriors(gamma_bar, t2, None, None)
    m = float(np.mean(delta_hat))
    s2 = float(np.var(delta_hat, ddof=ddof))
    if s2 == 0:  # every feature varies alike at this site (copies of one feature): no inverse-gamma fits
        return SitePriors(gamma_bar, t2, None, None)
    return SitePriors(gamma_bar, t2, (2 * s2 + m**2) / s2, (m * s2 + m**3) / s2)


def parametric_effects(sdat: np.ndarray, gamma_hat: np.ndarray, delta_hat: np.ndarray,
                       priors: SitePriors, *, mean_only: bool) -> tuple[np.ndarray, np.ndarray]:
    """Posterior means of (gamma, delta) per feature under the parametric priors."""
    if mean_only:
        # sva's mean.only route: postmean(gamma.hat, gamma.bar, n = 1, d = 1, t2), delta fixed at 1.
        gamma = _posterior_mean(gamma_hat, priors.gamma_bar, 1.0, 1.0, priors.t2)
        return gamma, np.ones_like(gamma_hat)
    n = sdat.shape[1]
    gamma_old, delta_old = gamma_hat.copy(), delta_hat.copy()
    for _ in range(MAX_ITERATIONS):
        gamma = _posterior_mean(gamma_hat, priors.gamma_bar, n, delta_old, priors.t2)
        sum2 = ((sdat - gamma[:, None]) ** 2).sum(axis=1)
        delta = (0.5 * sum2 + priors.b) / (n / 2.0 + priors.a - 1.0)
        if _converged(gamma, gamma_old, delta, delta_old):
            return gamma, delta
        gamma_old, delta_old = gamma, delta
    return gamma, delta


def _posterior_mean(gamma_hat: np.ndarray, gamma_bar: float, n: float, delta: np.ndarray | float,
                    t2: float) -> np.ndarray:
    return (t2 * n * gamma_hat + delta * gamma_bar) / (t2 * n + delta)


def _converged(gamma: np.ndarray, gamma_old: np.ndarray, delta: np.ndarray, delta_old: np.ndarray) -> bool:
    """sva's rule, to the letter: the change is divided by the *signed* previous value.

    A feature whose gamma is negative thus never holds the iteration back.
    The references (sva, neuroCombat, inmoose) all stop this way, and where
    they stop moves the estimates by more than 1e-6, so matching them needs
    the same rule.
    """
    change = max(np.max(np.abs(gamma - gamma_old) / gamma_old), np.max(np.abs(delta - delta_old) / delta_old))
    return bool(change <= CONVERGENCE)


def nonparametric_effects(sdat: np.ndarray, gamma_hat: np.ndarray,
                          delta_hat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Posterior means of (gamma, delta) under the other features' empirical distribution.

    The likelihood of feature i's values under feature j's (gamma_hat, delta_hat)
    is the product of normal densities; the weights are normalised in log
    space, so that a large site does not underflow every likelihood to zero
    (sva and neuroCombat would then divide 0 by 0; inmoose substitutes
    exp(-745)). Where no likelihood underflows the result is theirs.
    """
    n = sdat.shape[1]
    sum_x = sdat.sum(axis=1)
    sum_x2 = (sdat**2).sum(axis=1)
    gamma_star = np.empty_like(gamma_hat)
    delta_star = np.empty_like(delta_hat)
    for start in range(0, len(gamma_hat), _CHUNK):
        rows = slice(start, start + _CHUNK)
        # sum over cases of (x_ik - gamma_j)^2 for every (i, j), without an (i, j, k) array.
        sum2 = sum_x2[rows, None] - 2.0 * sum_x[rows, None] * gamma_hat[None, :] + n * gamma_hat[None, :] ** 2
        log_lh = -0.5 * n * np.log(2 * np.pi * delta_hat)[None, :] - sum2 / (2 * delta_hat[None, :])
        own = np.arange(start, start + log_lh.shape[0])
        log_lh[own - start, own] = -np.inf  # leave feature i out of its own prior
        weights = np.exp(log_lh - log_lh.max(axis=1, keepdims=True))
        weights /= weights.sum(axis=1, keepdims=True)
        gamma_star[rows] = weights @ gamma_hat
        delta_star[rows] = weights @ delta_hat
    return gamma_star, delta_star

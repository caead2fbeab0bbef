"""The latent TME state of a synthetic case and how it shows on DCE-MRI.

Each case draws an M2-macrophage share of its immune cells and a hot/cold
(immune-inflamed / immune-desert) phenotype. They turn the phantom's knobs:

- M2 share -> peritumoral enhancement level. M2 macrophages drive
  angiogenesis (VEGF), so more M2 means a brighter 5 mm shell.
- hot -> peritumoral texture and the grain of the lesion's 2 mm rim, the
  ring region. Lymphocytic infiltration and oedema make the border zone
  patchy rather than uniform.

These links are modelling assumptions chosen so that a model *can* learn the
state from the peritumoral and ring regions, as both papers report; they are
not findings. Nuisance variation (lesion size, irregularity, vessels, noise
on every knob) keeps the task from being trivial.

Each case is also acquired at one of three sites (``SCANNERS``), drawn
independently of its TME state. A site's scanner has its own thermal noise
and then scales and shifts the magnitude image. The unnormalised intensity
features carry all three; han2024's per-image z-score undoes the gain and
offset but not the noise. They are enough to be seen per site (the demo's
harmonisation section), but not enough to dominate the TME signal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .phantom import PhantomSpec


@dataclass(frozen=True)
class Scanner:
    """A site's scanner: its own thermal noise, then magnitude -> gain * magnitude + offset."""

    gain: float
    offset: float  # a.u. (fat is ~120 a.u.)
    noise: float = 1.0  # thermal noise sigma, as a multiple of the reference scanner's


# Site -> its scanner, and the share of cases it acquires. site-A is the phantom's reference scanner;
# site-B is a higher-SNR scanner (a 3 T-like one) that stores values 12 % higher, site-C a lower-SNR one
# (1.5 T-like) storing 10 % lower. Moderate on purpose: the unharmonised lasso must still learn.
SCANNERS = {
    "site-A": Scanner(gain=1.0, offset=0.0, noise=1.0),
    "site-B": Scanner(gain=1.12, offset=20.0, noise=0.8),
    "site-C": Scanner(gain=0.90, offset=10.0, noise=1.3),
}
SITE_SHARES = (0.40, 0.35, 0.25)

# Beta(2, 12): mean 0.14, close to Qian's cohort median M2 fraction of 0.122.
M2_BETA = (2.0, 12.0)
HOT_PROBABILITY = 0.45


@dataclass(frozen=True)
class TmeState:
    """One case's latent state, the ground truth behind its labels."""

    case_id: str
    phantom_seed: int
    m2_fraction: float  # M2 share of the immune cells (CIBERSORT's relative scale)
    hot: int  # 1 immune-inflamed, 0 immune-desert
    immune_share: float  # immune cells' share of the bulk tissue
    spec: PhantomSpec
    site: str = "site-A"  # the site whose scanner acquired the images (SCANNERS)


def draw_state(cohort_seed: int, index: int, case_id: str, size: str = "small") -> TmeState:
    """The state of case ``index``; the same (seed, index) always gives the same case."""
    rng = np.random.default_rng([cohort_seed, index, 7])
    site = draw_site(cohort_seed, index)
    scanner = SCANNERS[site]
    m2 = float(rng.beta(*M2_BETA))
    hot = int(rng.random() < HOT_PROBABILITY)
    immune = float(rng.uniform(0.30, 0.50) if hot else rng.uniform(0.08, 0.20))
    spec = PhantomSpec(
        size=size,
        seed=int(rng.integers(2**31 - 1)),
        lesion_radius_mm=float(rng.uniform(6.5, 11.0)),
        lesion_irregularity=float(rng.uniform(0.08, 0.22)),
        peritumoral_enhancement=_clip(0.05 + 5.0 * m2 + rng.normal(0.0, 0.10)),
        peritumoral_texture=_clip(0.35 + 0.30 * hot + rng.normal(0.0, 0.15)),
        rim_texture=_clip(0.15 + 0.20 * hot + rng.normal(0.0, 0.12)),
        vessels=int(rng.integers(3, 6)),
        **_scanner_knobs(scanner),
    )
    return TmeState(case_id, spec.seed, m2, hot, immune, spec, site)


def draw_site(cohort_seed: int, index: int) -> str:
    """The site of case ``index``, from its own stream: the TME draws stay those of cohorts before sites."""
    rng = np.random.default_rng([cohort_seed, index, 11])
    return str(rng.choice(list(SCANNERS), p=SITE_SHARES))


def _scanner_knobs(scanner: Scanner) -> dict[str, float]:
    return {"scanner_gain": scanner.gain, "scanner_offset": scanner.offset, "scanner_noise": scanner.noise}


def _clip(value: float) -> float:
    return float(np.clip(value, 0.0, 5.0))

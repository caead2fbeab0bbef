"""Seeded synthetic breast DCE-MRI phantoms.

No redistributable multi-phase breast DCE-MRI exists, so the project makes
its own. A phantom is an axial volume with air outside the body, fat and
fibroglandular tissue, the chest wall (muscle) and the organs behind it,
enhancing vessels, and one lesion with heterogeneous kinetics: a rim with
fast wash-in and wash-out (type III curve), a core with slow persistent
enhancement (type I), and a peritumoral zone whose enhancement level and
texture are parameters, as is the heterogeneity of the lesion's outer 2 mm
rim (``TMERadiomicsLib.cohort`` turns these knobs with a latent TME state).

Signal follows S(t) = S0 * (1 + A * (1 - exp(-k_in t)) * exp(-k_out t)),
sampled at a pre-contrast and five post-contrast time points, with Rician
noise. The scanner that "acquired" it scales and shifts the magnitude image
(a gain and an offset, as receive chains and stored-value scaling differ
between scanners): its gain scales the noise with the signal, so each
scanner has its own noise level. The defaults are the reference scanner,
whose images are those of phantoms made before scanners existed.
Everything is drawn from ``numpy.random.default_rng`` seeded by ``seed``,
so the same spec gives the same voxels on every machine.

``full`` is realistic in size (448 x 448 x 160 at 0.8 x 0.8 x 1.5 mm) and
serves the benchmarks; ``small`` (112 x 112 x 40, same spacing) keeps the
tests fast.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from ..dce import DEFAULT_PHASE
from ..errors import InputError

SIZES: dict[str, tuple[tuple[int, int, int], tuple[float, float, float]]] = {
    "small": ((112, 112, 40), (0.8, 0.8, 1.5)),
    "full": ((448, 448, 160), (0.8, 0.8, 1.5)),
}
PHASE_TIMES_S = (0.0, 60.0, 120.0, 180.0, 240.0, 300.0)
NOISE_SIGMA = 6.0

TISSUES = {"air": 0, "fat": 1, "fibroglandular": 2, "muscle": 3, "organ": 4, "vessel": 5, "lesion": 6}

# S0, A, k_in (1/s), k_out (1/s) per tissue.
KINETICS = {
    "air": (4.0, 0.0, 0.0, 0.0),
    "fat": (120.0, 0.05, 0.01, 0.0),
    "fibroglandular": (210.0, 0.25, 0.006, 0.0),
    "muscle": (150.0, 0.4, 0.02, 0.0005),
    "organ": (110.0, 0.8, 0.05, 0.001),
    "vessel": (180.0, 2.5, 0.12, 0.002),
}
LESION_RIM = (190.0, 1.8, 0.05, 0.003)
LESION_CORE = (190.0, 0.9, 0.008, 0.0)


@dataclass(frozen=True)
class PhantomSpec:
    """Everything that determines a phantom; two equal specs give equal voxels."""

    size: str = "small"
    seed: int = 0
    lesion_radius_mm: float = 9.0
    lesion_irregularity: float = 0.15
    peritumoral_enhancement: float = 0.3
    peritumoral_texture: float = 0.5
    # Extra grain of the lesion's enhancement within 2 mm of its border; 0 adds none.
    rim_texture: float = 0.0
    vessels: int = 4
    # The acquiring scanner: magnitude -> gain * magnitude + offset (so the gain scales the noise too).
    scanner_gain: float = 1.0
    scanner_offset: float = 0.0
    # Its thermal noise, as a multiple of the reference scanner's NOISE_SIGMA, before the gain:
    # field strength and coils set a scanner's SNR apart from its stored-value scaling.
    scanner_noise: float = 1.0

    def __post_init__(self) -> None:
        if self.size not in SIZES:
            raise InputError(f"phantom size must be one of {sorted(SIZES)}", value=self.size)
        if not 2.0 <= self.lesion_radius_mm <= 30.0:
            raise InputError("lesion radius must lie between 2 and 30 mm", value=self.lesion_radius_mm)
        for name in ("peritumoral_enhancement", "peritumoral_texture", "rim_texture"):
            if not 0.0 <= getattr(self, name) <= 5.0:
                raise InputError(f"{name} must lie between 0 and 5", value=getattr(self, name))
        if not 0.5 <= self.scanner_gain <= 2.0:
            raise InputError("scanner gain must lie between 0.5 and 2", value=self.scanner_gain)
        if not 0.0 <= self.scanner_offset <= 100.0:  # a negative one would clip the air at 0
            raise InputError("scanner offset must lie between 0 and 100", value=self.scanner_offset)
        if not 0.25 <= self.scanner_noise <= 4.0:
            raise InputError("scanner noise must lie between 0.25 and 4 times the reference's", value=self.scanner_noise)


@dataclass
class Phantom:
    """A generated phantom: tissue labels, kinetic maps and the masks that come with it."""

    spec: PhantomSpec
    reference: sitk.Image
    tissue: np.ndarray
    s0: np.ndarray
    amplitude: np.ndarray
    k_in: np.ndarray
    k_out: np.ndarray
    lesion_centre_mm: tuple[float, float, float]
    times_s: tuple[float, ...] = field(default=PHASE_TIMES_S)

    @property
    def tumour(self) -> sitk.Image:
        return self._mask(self.tissue == TISSUES["lesion"])

    @property
    def vessels(self) -> sitk.Image:
        return self._mask(self.tissue == TISSUES["vessel"])

    def _mask(self, array: np.ndarray) -> sitk.Image:
        image = sitk.GetImageFromArray(array.astype(np.uint8))
        image.CopyInformation(self.reference)
        return image

    def image(self, phase: int = DEFAULT_PHASE) -> sitk.Image:
        """The signal at one phase (0 = pre-contrast), as a Float32 image."""
        if not 0 <= phase < len(self.times_s):
            raise InputError(f"phase must lie in 0..{len(self.times_s) - 1}", value=phase)
        t = self.times_s[phase]
        clean = self.s0 * (1.0 + self.amplitude * (1.0 - np.exp(-self.k_in * t)) * np.exp(-self.k_out * t))
        rng = np.random.default_rng([self.spec.seed, 1000 + phase])
        sigma = NOISE_SIGMA * self.spec.scanner_noise  # x 1.0 leaves every draw of the reference scanner
        real = clean + rng.normal(0.0, sigma, clean.shape).astype(np.float32)
        imag = rng.normal(0.0, sigma, clean.shape).astype(np.float32)
        magnitude = np.hypot(real, imag)
        # Only when a scanner is set: the reference scanner keeps every voxel of older phantoms.
        if (self.spec.scanner_gain, self.spec.scanner_offset) != (1.0, 0.0):
            magnitude = self.spec.scanner_gain * magnitude + self.spec.scanner_offset
        image = sitk.GetImageFromArray(magnitude.astype(np.float32))
        image.CopyInformation(self.reference)
        return image

    @property
    def phases(self) -> list[sitk.Image]:
        return [self.image(p) for p in range(len(self.times_s))]


def make_phantom(size: str = "small", seed: int = 0, **spec: float) -> Phantom:
    """Generate a phantom; keyword arguments override ``PhantomSpec`` fields."""
    return generate(PhantomSpec(size=size, seed=seed, **spec))


def generate(spec: PhantomSpec) -> Phantom:
    shape_xyz, spacing = SIZES[spec.size]
    rng = np.random.default_rng(spec.seed)
    reference = _reference(shape_xyz, spacing)
    z, y, x = _coordinates(shape_xyz)
    tissue = _anatomy(z, y, x, rng, spacing)
    centre_idx = _lesion_centre(tissue, rng, spec, spacing)
    _draw_vessels(tissue, rng, spec.vessels, spacing, centre_idx)
    lesion_distance = _draw_lesion(tissue, rng, spec, spacing, centre_idx)
    maps = _kinetic_maps(tissue, rng, spec, lesion_distance, spacing)
    centre_mm = reference.TransformContinuousIndexToPhysicalPoint([float(c) for c in centre_idx[::-1]])
    return Phantom(spec, reference, tissue, *maps, lesion_centre_mm=centre_mm)


def _reference(shape_xyz, spacing) -> sitk.Image:
    reference = sitk.Image([int(n) for n in shape_xyz], sitk.sitkUInt8)
    reference.SetSpacing(spacing)
    # Centre the field of view on the physical origin, as scanners roughly do.
    reference.SetOrigin([-(n - 1) * s / 2.0 for n, s in zip(shape_xyz, spacing)])
    return reference


def _coordinates(shape_xyz):
    """Normalised coordinates in [0, 1]: x left-right, y anterior-posterior, z inferior-superior."""
    nx, ny, nz = shape_xyz
    return np.meshgrid(
        np.linspace(0, 1, nz, dtype=np.float32),
        np.linspace(0, 1, ny, dtype=np.float32),
        np.linspace(0, 1, nx, dtype=np.float32),
        indexing="ij",
        sparse=True,
    )


def _anatomy(z, y, x, rng, spacing) -> np.ndarray:
    """Air, a breast outline, fibroglandular islands, the chest wall and the organs behind it."""
    shape = (z.shape[0], y.shape[1], x.shape[2])
    chest_wall, organ_front = 0.78, 0.86
    # Anterior skin line: a bulge over each half of the field of view.
    skin = 0.12 + 0.5 * np.minimum((x - 0.27) ** 2, (x - 0.73) ** 2) / 0.06 + 0.08 * (z - 0.5) ** 2
    body = y >= np.minimum(skin, chest_wall)
    tissue = np.zeros(shape, dtype=np.uint8)
    tissue[np.broadcast_to(body, shape)] = TISSUES["fat"]
    glandular = _smooth_field(shape, rng, sigma_mm=6.0, spacing=spacing) > 0.35
    breast = body & (y < chest_wall) & (y > skin + 0.06)
    tissue[breast & glandular] = TISSUES["fibroglandular"]
    tissue[np.broadcast_to(body & (y >= chest_wall) & (y < organ_front), shape)] = TISSUES["muscle"]
    tissue[np.broadcast_to(body & (y >= organ_front), shape)] = TISSUES["organ"]
    return tissue


def _smooth_field(shape, rng, sigma_mm: float, spacing, coarse: int = 4) -> np.ndarray:
    """Zero-mean, unit-variance Gaussian random field, made on a coarse grid for speed."""
    coarse_shape = tuple(max(2, -(-n // coarse)) for n in shape)
    noise = rng.standard_normal(coarse_shape).astype(np.float32)
    sigma = [sigma_mm / (s * coarse) for s in spacing[::-1]]
    field_ = ndimage.gaussian_filter(noise, sigma, mode="wrap")
    field_ = ndimage.zoom(field_, [n / c for n, c in zip(shape, coarse_shape)], order=1)[: shape[0], : shape[1], : shape[2]]
    return (field_ - field_.mean()) / (field_.std() + 1e-12)


def _lesion_centre(tissue, rng, spec, spacing) -> np.ndarray:
    """A voxel deep enough in the breast for the lesion and its 5 mm shell plus margin."""
    breast = np.isin(tissue, (TISSUES["fat"], TISSUES["fibroglandular"]))
    clearance = sitk.GetArrayFromImage(
        sitk.SignedMaurerDistanceMap(
            _array_image(breast.astype(np.uint8), spacing), insideIsPositive=True, squaredDistance=False, useImageSpacing=True
        )
    )
    needed = spec.lesion_radius_mm * (1 + spec.lesion_irregularity) + 7.0
    candidates = np.argwhere(clearance >= needed)
    if candidates.size == 0:
        candidates = np.argwhere(clearance >= clearance.max() - 1e-3)
    return candidates[rng.integers(len(candidates))]


def _array_image(array: np.ndarray, spacing) -> sitk.Image:
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(spacing)
    return image


def _draw_vessels(tissue, rng, count: int, spacing, lesion_idx) -> None:
    """Smooth tubes through the breast; the first passes close to the lesion."""
    shape = np.array(tissue.shape)
    centreline = np.zeros(tissue.shape, dtype=np.uint8)
    for number in range(count):
        start = rng.uniform(0.1, 0.9, 3) * shape
        end = rng.uniform(0.1, 0.9, 3) * shape
        start[0], end[0] = 0, shape[0] - 1
        control = [start, lesion_idx + rng.normal(0, 6, 3) if number == 0 else rng.uniform(0.2, 0.8, 3) * shape, end]
        for t in np.linspace(0, 1, int(4 * shape.max())):
            point = (1 - t) ** 2 * control[0] + 2 * t * (1 - t) * control[1] + t**2 * control[2]
            index = tuple(np.clip(np.round(point).astype(int), 0, shape - 1))
            centreline[index] = 1
    distance = sitk.GetArrayFromImage(
        sitk.SignedMaurerDistanceMap(_array_image(centreline, spacing), squaredDistance=False, useImageSpacing=True)
    )
    soft = np.isin(tissue, (TISSUES["fat"], TISSUES["fibroglandular"]))
    tissue[(distance <= 1.2) & soft] = TISSUES["vessel"]


def _draw_lesion(tissue, rng, spec, spacing, centre_idx) -> tuple[np.ndarray, tuple[slice, ...]]:
    """An irregular blob; returns its signed distance map (mm) on a crop and the crop's slices."""
    step = np.array(spacing[::-1])
    reach = spec.lesion_radius_mm * (1 + 3 * spec.lesion_irregularity) + 12.0
    half = np.ceil(reach / step).astype(int)
    lo = np.maximum(centre_idx - half, 0)
    hi = np.minimum(centre_idx + half + 1, tissue.shape)
    window = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi))
    grids = np.meshgrid(*[(np.arange(a, b) - c) * s for a, b, c, s in zip(lo, hi, centre_idx, step)], indexing="ij")
    radius = np.sqrt(sum(g**2 for g in grids))
    shape = tuple(int(b - a) for a, b in zip(lo, hi))
    wobble = ndimage.gaussian_filter(rng.standard_normal(shape), [4.0 / s for s in step])
    wobble /= np.abs(wobble).max() + 1e-12
    inside = radius <= spec.lesion_radius_mm * (1 + spec.lesion_irregularity * wobble)
    crop = tissue[window]
    crop[inside] = TISSUES["lesion"]
    distance = sitk.GetArrayFromImage(
        sitk.SignedMaurerDistanceMap(
            _array_image(inside.astype(np.uint8), spacing), insideIsPositive=False, squaredDistance=False, useImageSpacing=True
        )
    )
    return distance, window


def _kinetic_maps(tissue, rng, spec, lesion_distance, spacing):
    lut = np.zeros((len(TISSUES), 4), dtype=np.float32)
    for name, params in KINETICS.items():
        lut[TISSUES[name]] = params
    s0, amplitude, k_in, k_out = (lut[tissue, i] for i in range(4))
    distance, window = lesion_distance
    _lesion_kinetics(tissue[window], distance, rng, spacing, s0[window], amplitude[window], k_in[window], k_out[window])
    _peritumoral_kinetics(tissue[window], distance, rng, spec, spacing, amplitude[window], k_in[window])
    _rim_texture(tissue[window], distance, spec, spacing, amplitude[window])
    heterogeneity = 1.0 + 0.08 * _smooth_field(tissue.shape, rng, sigma_mm=3.0, spacing=spacing)
    return s0 * heterogeneity, amplitude, k_in, k_out


def _lesion_kinetics(tissue, distance, rng, spacing, s0, amplitude, k_in, k_out) -> None:
    """Blend rim (wash-out) and core (persistent) kinetics by depth below the border."""
    lesion = tissue == TISSUES["lesion"]
    depth = np.clip(-distance / 4.0, 0.0, 1.0)  # 0 at the border, 1 from 4 mm deep
    texture = 1.0 + 0.25 * ndimage.gaussian_filter(rng.standard_normal(tissue.shape), [1.5 / s for s in spacing[::-1]]) * 4
    for target, rim, core in zip((s0, amplitude, k_in, k_out), LESION_RIM, LESION_CORE):
        blended = (1 - depth) * rim + depth * core
        if target is amplitude:
            blended = blended * np.clip(texture, 0.3, 2.0)
        target[lesion] = blended[lesion]


def _peritumoral_kinetics(tissue, distance, rng, spec, spacing, amplitude, k_in) -> None:
    """Extra enhancement decaying away from the lesion: the knob the TME state turns."""
    shell = (distance > 0) & (distance <= 6.0) & np.isin(tissue, (TISSUES["fat"], TISSUES["fibroglandular"]))
    grain = ndimage.gaussian_filter(rng.standard_normal(tissue.shape), [0.8 / s for s in spacing[::-1]])
    grain /= grain.std() + 1e-12
    extra = spec.peritumoral_enhancement * np.exp(-distance / 3.0) * np.clip(1.0 + spec.peritumoral_texture * grain, 0.0, None)
    amplitude[shell] += extra[shell].astype(np.float32)
    k_in[shell] = np.maximum(k_in[shell], 0.02)


def _rim_texture(tissue, distance, spec, spacing, amplitude) -> None:
    """Multiplicative grain in the lesion's outer 2 mm: the ring's share of the TME state.

    It draws from its own stream (seed, 3000) and only when the knob is on, so
    phantoms made before the knob existed keep every voxel.
    """
    if spec.rim_texture <= 0.0:
        return
    rng = np.random.default_rng([spec.seed, 3000])
    rim = (tissue == TISSUES["lesion"]) & (distance >= -2.0)
    grain = ndimage.gaussian_filter(rng.standard_normal(tissue.shape), [0.8 / s for s in spacing[::-1]])
    grain /= grain.std() + 1e-12
    factor = np.clip(1.0 + spec.rim_texture * grain, 0.2, None)
    amplitude[rim] *= factor[rim].astype(np.float32)


def write_phantom(phantom: Phantom, out_dir: str | Path, *, progress: bool = False) -> dict[str, Path]:
    """Write every phase, the default image, the masks and a JSON description into ``out_dir``."""
    import json

    from tqdm import tqdm

    from ..io.images import write_image

    out = Path(out_dir)
    paths = {}
    for phase in tqdm(range(len(phantom.times_s)), desc="writing phases", unit="phase", disable=None if progress else True):
        paths[f"phase{phase}"] = write_image(as_int16(phantom.image(phase)), out / f"phase{phase}.nrrd")
    paths["image"] = write_image(as_int16(phantom.image(DEFAULT_PHASE)), out / "image.nrrd")
    paths["tumour"] = write_image(phantom.tumour, out / "tumour.nrrd")
    paths["vessels"] = write_image(phantom.vessels, out / "vessels.nrrd")
    description = {
        "spec": asdict(phantom.spec),
        "phase_times_s": list(phantom.times_s),
        "default_phase": DEFAULT_PHASE,
        "tissue_labels": TISSUES,
        "lesion_centre_mm": list(phantom.lesion_centre_mm),
    }
    paths["description"] = out / "phantom.json"
    paths["description"].write_text(json.dumps(description, indent=2))
    return paths


def as_int16(image: sitk.Image) -> sitk.Image:
    """MR scanners store integers; rounding to int16 keeps files small and realistic."""
    return sitk.Cast(sitk.Round(sitk.Clamp(image, lowerBound=0, upperBound=32767)), sitk.sitkInt16)

"""Tumour sizes of a realistic benchmark cohort, from the T stages of the qian2024 cohort.

Source: Qian et al. 2024 (``/work/shared/papers/qian2024-mri-radiomics-m2-macrophages.txt``),
Table 1, "Clinical and pathological characteristics for 73 patients" (TCGA-BRCA
with DCE-MRI): T1 33 (15 + 18), T2 35 (19 + 16), T3 5 (2 + 3). AJCC T stages
bound the largest diameter: T1 <= 2 cm, T2 > 2 and <= 5 cm, T3 > 5 cm.

Within a stage the diameter is taken as uniform, over 1-2 cm for T1 (the
paper's lesions were segmented on MRI, so sub-centimetre T1a/b lesions are
assumed rare), 2-5 cm for T2 and 5-6 cm for T3 (the phantom's largest lesion:
``PhantomSpec`` allows a radius of 30 mm). A cohort of ``n`` cases takes the
diameters at the quantiles (i + 0.5) / n of that distribution, so it follows
the stage mix without random draws.
"""

from __future__ import annotations

# (stage, patients, smallest and largest diameter in cm)
STAGES = (("T1", 33, 1.0, 2.0), ("T2", 35, 2.0, 5.0), ("T3", 5, 5.0, 6.0))


def diameter_at(quantile: float) -> float:
    """The diameter (cm) at ``quantile`` of the piecewise-uniform stage distribution."""
    total = sum(count for _, count, _, _ in STAGES)
    below = 0.0
    for _, count, low, high in STAGES:
        share = count / total
        if quantile <= below + share:
            return low + (high - low) * (quantile - below) / share
        below += share
    return STAGES[-1][3]


def cohort_diameters(n: int) -> list[float]:
    """Diameters (cm) of an ``n``-case cohort, smallest first."""
    return [round(diameter_at((i + 0.5) / n), 2) for i in range(n)]


def stage_of(diameter_cm: float) -> str:
    for stage, _, low, high in STAGES:
        if diameter_cm <= high:
            return stage
    return STAGES[-1][0]


if __name__ == "__main__":
    for d in cohort_diameters(8):
        print(f"{d:.2f} cm ({stage_of(d)})")

"""Demo step: a new patient through regions, features and every bundle, with overlays."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..cohort import make_case
from ..cohort.build import write_case
from ..cohort.state import TmeState
from ..features.extract import extract_case
from ..io.images import read_image, read_mask
from ..regions.options import RegionOptions
from ..regions.outputs import write_regions
from ..regions.overlay import render_overlay
from .models_step import PRESET_REGIONS, TrainedModel

# Colours of the risk-group overlay: the "high"/"hot" group warm, the other cool.
GROUP_COLOURS = {0: (0.25, 0.55, 1.00), 1: (1.00, 0.35, 0.20)}


@dataclass
class NewCase:
    state: TmeState
    regions: dict  # the regions summary
    scores: pd.DataFrame  # one row per bundle
    files: dict[str, Path] = field(default_factory=dict)


def score_new_case(models: list[TrainedModel], out_dir: Path, *, cohort_seed: int, index: int,
                   case_id: str, air_below: float) -> NewCase:
    state, phantom = make_case(cohort_seed, index, case_id)
    # Through files, as the cohort went: the int16 image a scanner would store, not the float phantom.
    files = write_case(phantom, out_dir)
    image = read_image(files["image"], case_id=case_id)
    tumour = read_mask(files["mask"], reference=image, case_id=case_id)
    # The options the batch used on the cohort, so the new case's features are comparable.
    options = RegionOptions(exclude=(files["exclude_vessels"],), air_below=air_below)
    regions = options.build(case_id, image, tumour)
    files.update(write_regions(regions, out_dir / "regions", image))
    # Each preset on the regions the demo extracts it for, as the cohort went.
    combined = {}
    for preset in dict.fromkeys(model.preset for model in models):
        wanted = PRESET_REGIONS[preset]
        masks = {name: mask for name, mask in regions.masks.items() if not wanted or name in wanted}
        combined[preset] = extract_case(image, masks, preset, case_id=case_id).combined()
        combined[preset].to_csv(out_dir / f"features_combined_{preset}.csv", index=False)
    scores = pd.concat([_score(model, combined[model.preset]) for model in models], ignore_index=True)
    scores.to_csv(out_dir / "scores.csv", index=False)
    files["risk_overlay"] = _risk_overlay(image, regions.masks, scores, out_dir / "risk_groups.png", case_id)
    return NewCase(state, regions.summary_dict()["regions"], scores, files)


def _score(model: TrainedModel, combined: pd.DataFrame) -> pd.DataFrame:
    row = model.bundle.score(combined).iloc[[0]].copy()
    manifest = model.bundle.manifest
    row.insert(0, "bundle", model.name)
    row.insert(1, "kind", model.kind)
    row.insert(2, "label", model.label)
    row["group_index"] = manifest.risk_groups.index(row["risk_group"].iloc[0]) if row["risk_group"].iloc[0] else -1
    row["threshold"] = manifest.threshold
    return row


def _risk_overlay(image, masks, scores: pd.DataFrame, path: Path, case_id: str) -> Path:
    """Tumour outlined in the M2 model's group colour, the peritumoral shell in the TME model's."""
    m2 = scores.set_index("bundle").loc["qian2024-lasso"]
    tme = scores.set_index("bundle").loc["han2024-rf"]
    m2_name, tme_name = f"tumour, M2 model: {m2['risk_group']}", f"peritumoral, TME model: {tme['risk_group']}"
    # The shell first, so the tumour outline (the shell's inner border too) is drawn on top of it.
    return render_overlay(
        image, {tme_name: masks["peritumoral"], m2_name: masks["intratumoral"]}, path,
        title=f"case {case_id}: predicted risk groups", centre_on=m2_name,
        caption=f"qian2024-lasso probability {m2['probability']:.2f}; han2024-rf probability {tme['probability']:.2f}",
        colours={m2_name: GROUP_COLOURS[int(m2["group_index"])], tme_name: GROUP_COLOURS[int(tme["group_index"])]},
    )

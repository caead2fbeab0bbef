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

# Colours of the risk-group overlay, per model and group (Okabe-Ito, colour-blind safe): the M2 model
# vermillion (high) / blue (low), solid; the TME model reddish purple (hot) / bluish green (cold), dashed,
# so the two outlines differ whatever groups they show.
GROUP_COLOURS = {
    "qian2024-lasso": {0: "#0072B2", 1: "#D55E00"},
    "han2024-rf": {0: "#009E73", 1: "#CC79A7"},
}
GROUP_LINESTYLES = {"qian2024-lasso": "solid", "han2024-rf": "dashed"}


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
    own = {m.name: list(m.bundle.manifest.regions) for m in models if m.name in GROUP_COLOURS}
    files["risk_overlay"] = _risk_overlay(image, regions.masks, scores, out_dir / "risk_groups.png", case_id, own)
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


def _risk_overlay(image, masks, scores: pd.DataFrame, path: Path, case_id: str,
                  regions: dict[str, list[str]] | None = None) -> Path:
    """Each trained model's own regions outlined in its group's colour and its own line style.

    qian2024-lasso reads the intratumoral and peritumoral regions: the peritumoral shell is outlined (its
    inner edge is the tumour's border). han2024-rf reads the intratumoral region and the ring: the ring
    is outlined (its edges lie 2 mm inside and outside the border). ``regions`` maps a bundle to the
    regions its manifest lists (default: those two).
    """
    regions = regions or {"qian2024-lasso": ["intratumoral", "peritumoral"], "han2024-rf": ["intratumoral", "ring"]}
    by_bundle = scores.set_index("bundle")
    outlines, colours, styles = {}, {}, {}
    for bundle in GROUP_COLOURS:
        row = by_bundle.loc[bundle]
        outer = next((r for r in ("peritumoral", "ring") if r in regions[bundle]), "intratumoral")
        name = f"{bundle}, features of the {' + '.join(regions[bundle])}: {row['risk_group']} ({outer} outlined)"
        outlines[name], colours[name] = masks[outer], GROUP_COLOURS[bundle][int(row["group_index"])]
        styles[name] = GROUP_LINESTYLES[bundle]
    probabilities = "; ".join(f"{b} probability {by_bundle.loc[b, 'probability']:.2f}" for b in GROUP_COLOURS)
    return render_overlay(image, outlines, path, title=f"case {case_id}: predicted risk groups",
                          centre_on=next(iter(outlines)), caption=probabilities, colours=colours,
                          linestyles=styles)

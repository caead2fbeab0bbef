"""The end-to-end demo on the embedded default: a seeded synthetic phantom case.

Steps: generate the phantom -> build the three regions (vessels excluded,
air below a threshold removed) -> extract the preset's features for every
region in one pass -> write masks, a Slicer segmentation, an overlay PNG and
the feature tables. It is what ``python3 tasks.py demo`` runs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from . import regions as regions_module
from .features.extract import extract_case
from .imageio import write_image
from .phantom import make_phantom
from .region_outputs import write_regions

DEMO_CASE_ID = "phantom-0"
# The phantom's air is ~4 a.u. and fat ~120 a.u.; 40 separates them with margin.
DEMO_AIR_BELOW = 40.0


@dataclass
class DemoResult:
    out_dir: Path
    summary: dict
    files: dict[str, Path] = field(default_factory=dict)


def run_demo(out_dir: Path, *, seed: int = 0, preset: str = "qian2024", progress: bool = True) -> DemoResult:
    """Run the demo into ``out_dir`` (which the caller has staged)."""
    out_dir = Path(out_dir)
    steps = tqdm(total=4, desc="demo", disable=not progress, unit="step")
    steps.set_postfix_str("phantom")
    phantom = make_phantom("small", seed)
    image, tumour, vessels = phantom.image(), phantom.tumour, phantom.vessels
    case_dir = out_dir / "case"
    case_dir.mkdir(parents=True, exist_ok=True)
    files = {
        "image": write_image(image, case_dir / "image.nrrd"),
        "tumour": write_image(tumour, case_dir / "tumour.nrrd"),
        "vessels": write_image(vessels, case_dir / "vessels.nrrd"),
    }
    steps.update()
    steps.set_postfix_str("regions")
    regions = regions_module.build(tumour, image, exclusions=[vessels], air_below=DEMO_AIR_BELOW, case_id=DEMO_CASE_ID)
    files.update(write_regions(regions, out_dir / "regions", image))
    steps.update()
    steps.set_postfix_str(f"features ({preset})")
    features = extract_case(image, regions, preset, case_id=DEMO_CASE_ID)
    files.update(_write_features(features, out_dir / "features"))
    steps.update()
    summary = {
        "case_id": DEMO_CASE_ID,
        "regions": regions.summary_dict()["regions"],
        "features": {
            "preset": features.preset,
            "preset_sha256": features.preset_sha256,
            "per_region": len(features.feature_names),
            "failures": [str(f) for f in features.failures],
        },
        "files": {name: str(path.relative_to(out_dir)) for name, path in files.items()},
    }
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    steps.update()
    steps.close()
    return DemoResult(out_dir, summary, files)


def _write_features(features, folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = {
        "features_wide": folder / "features.csv",
        "features_combined": folder / "features_combined.csv",
        "features_tidy": folder / "features_tidy.csv",
        "diagnostics": folder / "diagnostics.json",
    }
    features.wide().to_csv(paths["features_wide"], index=False)
    features.combined().to_csv(paths["features_combined"], index=False)
    features.tidy().to_csv(paths["features_tidy"], index=False)
    paths["diagnostics"].write_text(json.dumps(features.diagnostics, indent=2, default=str))
    return paths

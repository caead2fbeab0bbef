"""``tmeradiomics perturb IMAGE MASK --n 10 --out DIR``: seeded contour perturbations of one case."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

from .argtypes import case_id, non_negative_float, positive_float, positive_int, seed

FEATURES_FILE = "perturbation_features.csv"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "perturb",
        help="perturb a tumour contour N times and extract features of each",
        description=(
            "Make N seeded perturbations of the tumour mask (sub-voxel grow/shrink through the "
            "signed distance map plus smooth random boundary noise), rebuild the regions of each and "
            f"extract features. Writes masks/, perturbations.csv, {FEATURES_FILE} and settings.json. "
            "Give several such folders to 'tmeradiomics icc --perturbations' for the ICC across "
            "perturbations."
        ),
    )
    parser.add_argument("image", help="image file or DICOM series folder")
    parser.add_argument("mask", help="tumour mask on the image's grid")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--n", type=positive_int, default=10, help="number of perturbations (default 10)")
    parser.add_argument("--seed", type=seed, default=0, help="random seed (default 0)")
    parser.add_argument("--case", type=case_id, help="case ID written to the outputs (default: the mask file name)")
    parser.add_argument("--label", type=int, help="mask value of the tumour in a label map")
    parser.add_argument("--max-shift-mm", type=non_negative_float, help="largest grow/shrink (default half the finest spacing)")
    parser.add_argument("--noise-mm", type=non_negative_float, help="boundary noise SD (default half the finest spacing)")
    parser.add_argument("--smoothness-mm", type=positive_float, default=3.0, help="noise correlation length (default 3)")
    parser.add_argument("--preset", default="default", help="feature preset (default: default)")
    parser.add_argument("--peritumoral-mm", type=positive_float, default=5.0, help="peritumoral width (default 5)")
    parser.add_argument("--ring-mm", type=positive_float, default=2.0, help="ring half-width (default 2)")
    parser.add_argument("--overwrite", action="store_true", help="replace files in --out")
    parser.set_defaults(func=run)


def case_id_from(mask: str) -> str:
    """The mask file name without its extension, checked like any case ID."""
    from ..case_ids import check_case_id

    name = Path(mask).name
    for suffix in (".seg.nrrd", ".nii.gz", ".nrrd", ".nii", ".mha", ".mhd"):
        if name.endswith(suffix):
            break
    else:
        suffix = Path(name).suffix
    stem = name[: -len(suffix)] if suffix else name
    return check_case_id(stem, source=f"case ID from the mask file name {str(mask)!r} (give --case)")


def run(args: argparse.Namespace) -> int:
    import numpy as np
    import pandas as pd

    from ..features import load_preset
    from ..io.images import read_image, read_mask, write_image
    from ..outputs import atomic_write_text, check_out_dir, staged_dir
    from ..reproducibility.perturbation import PerturbationSettings, perturbation_features

    out = check_out_dir(args.out, args.overwrite)
    case_id = args.case or case_id_from(args.mask)
    preset = load_preset(args.preset)
    settings = PerturbationSettings(args.n, args.seed, args.max_shift_mm, args.noise_mm, args.smoothness_mm)
    image = read_image(args.image, case_id=case_id)
    tumour = read_mask(args.mask, reference=image, label=args.label, case_id=case_id)
    features, perturbations = perturbation_features(
        image, tumour, preset, settings, case_id=case_id,
        peritumoral_mm=args.peritumoral_mm, ring_mm=args.ring_mm, progress=True,
    )
    features["preset"], features["preset_sha256"] = preset.name, preset.sha256
    voxel_mm3 = float(np.prod(image.GetSpacing()))
    draws = pd.DataFrame({
        "case_id": case_id,
        "perturbation": [p.index for p in perturbations],
        "shift_mm": [round(p.shift_mm, 6) for p in perturbations],
        "voxels": [p.voxels for p in perturbations],
        "volume_mm3": [round(p.voxels * voxel_mm3, 3) for p in perturbations],
        "dice": [round(p.dice, 6) for p in perturbations],
    })
    resolved = settings.resolved(image.GetSpacing())
    with staged_dir(out) as stage:
        (stage / "masks").mkdir()
        for p in perturbations:
            write_image(p.mask, stage / "masks" / f"perturbation_{p.index:02d}.nrrd")
        atomic_write_text(stage / "perturbations.csv", draws.to_csv(index=False))
        atomic_write_text(stage / FEATURES_FILE, features.to_csv(index=False))
        atomic_write_text(stage / "settings.json", json.dumps({
            "case_id": case_id, **asdict(resolved), "preset": preset.name, "preset_sha256": preset.sha256,
            "peritumoral_mm": args.peritumoral_mm, "ring_mm": args.ring_mm,
        }, indent=2))
    print(json.dumps({
        "case_id": case_id,
        "out": str(out),
        "n": len(perturbations),
        "dice": {"min": round(min(p.dice for p in perturbations), 4),
                 "max": round(max(p.dice for p in perturbations), 4)},
        "preset": preset.name,
    }, indent=2))
    return 0

"""``tmeradiomics export-dicom``: one case's regions as DICOM SEG, features and scores as DICOM SR.

IMAGE is the DICOM series folder the regions were built on; REGIONS is the
folder ``tmeradiomics regions`` wrote. ``--features`` (the wide table of
``extract``) and ``--score NAME=FILE`` (``score --out``, repeatable) go into
a TID 1500 measurement report that references the SEG's segments. Outputs
carry the case ID, never the source's patient identifiers.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from ..errors import InputError
from .argtypes import case_id

SEG_FILE, SR_FILE = "regions.seg.dcm", "measurements.sr.dcm"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export-dicom",
        help="write one case's regions as DICOM SEG and its features and scores as DICOM SR",
        description="Write the regions of one case as a DICOM SEG referencing the source series, and, with "
        "--features and/or --score, its features per region and each bundle's score and risk group as a "
        "DICOM SR TID 1500 measurement report referencing the SEG's segments. Needs Python 3.10+ (highdicom). "
        "The objects carry the case ID as patient name and ID, never the source's identifiers.",
    )
    parser.add_argument("image", type=Path, help="the DICOM series folder the regions were built on")
    parser.add_argument("regions", type=Path, help="the output folder of tmeradiomics regions for this case")
    parser.add_argument("--out", type=Path, required=True, help="output folder (regions.seg.dcm, measurements.sr.dcm)")
    parser.add_argument("--case-id", type=case_id, help="case ID (default: the one in REGIONS/summary.json)")
    parser.add_argument("--features", type=Path, help="wide features CSV of tmeradiomics extract")
    parser.add_argument("--score", action="append", default=[], metavar="NAME=FILE",
                        help="scores CSV of tmeradiomics score --out for bundle NAME; repeatable")
    parser.add_argument("--overwrite", action="store_true", help="replace the files of an existing output folder")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..io.dicom_support import require_highdicom

    require_highdicom("export-dicom")
    from ..io.dicom_export import write_seg, write_sr
    from ..outputs import check_out_dir, staged_dir

    score_files = _score_files(args.score)
    out = check_out_dir(args.out, args.overwrite)
    case = args.case_id or _summary_case_id(args.regions)
    image, sources, masks = _read_case(args.image, args.regions, case)
    features = _features(args.features, case, list(masks)) if args.features else {}
    scores = [_score(name, path, case) for name, path in score_files.items()]
    with staged_dir(out) as stage:
        seg = write_seg(sources, masks, stage / SEG_FILE, case_id=case)
        written = {"seg": str(out / SEG_FILE)}
        if features or scores:
            write_sr(sources, seg, features, scores, stage / SR_FILE, case_id=case)
            written["sr"] = str(out / SR_FILE)
    print(json.dumps({"case_id": case, "segments": list(masks), "feature_regions": list(features),
                      "features_per_region": {r: len(v) for r, v in features.items()},
                      "scores": [s.bundle for s in scores], "referenced_series": str(sources[0].SeriesInstanceUID),
                      "outputs": written}, indent=2))
    return 0


def _score_files(specs: list[str]) -> dict[str, Path]:
    files: dict[str, Path] = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or not name.strip() or not path:
            raise InputError("--score must be NAME=FILE (the bundle's name and its scores CSV)", value=spec)
        if name in files:
            raise InputError(f"--score gives bundle {name} twice", value=spec)
        files[name.strip()] = Path(path)
    return files


def _summary_case_id(regions: Path) -> str:
    from ..case_ids import check_case_id

    summary = regions / "summary.json"
    try:
        found = json.loads(summary.read_text(encoding="utf-8")).get("case_id")
    except (OSError, ValueError, AttributeError):
        found = None
    if not found:
        raise InputError("no case ID: give --case-id, or REGIONS must be a folder written by tmeradiomics regions",
                         file=summary)
    return check_case_id(found, file=summary, source="case ID in summary.json")


def _read_case(image_path: Path, regions: Path, case: str):
    from ..io.dicom_export import source_series
    from ..io.images import read_image, read_mask
    from ..regions import REGION_NAMES

    image = read_image(image_path, case_id=case)
    sources = source_series(image_path, image, case_id=case)
    masks = {}
    for name in REGION_NAMES:
        path = regions / f"{name}.nrrd"
        if not path.exists():
            raise InputError(f"REGIONS lacks {name}.nrrd; give the folder tmeradiomics regions wrote", file=path,
                             case=case)
        masks[name] = read_mask(path, reference=image, case_id=case, allow_empty=True)
    return image, sources, masks


def _features(path: Path, case: str, regions: list[str]) -> dict[str, dict[str, float]]:
    import pandas as pd

    from ..labels.table_header import refuse_repeated_columns

    try:
        table = pd.read_csv(path, dtype={"case_id": str, "region": str})
    except (OSError, ValueError, pd.errors.ParserError) as error:
        raise InputError(f"cannot read features table ({error})", file=path, case=case) from None
    refuse_repeated_columns(list(table.columns), path)
    if not {"case_id", "region"} <= set(table.columns):
        raise InputError("features table needs case_id and region columns (the wide table of extract)",
                         file=path, case=case)
    rows = table[table["case_id"] == case]
    if rows.empty:
        raise InputError("features table has no row of this case", file=path, case=case)
    from ..io.acquisition import COLUMN_PREFIX

    # Feature columns: not the IDs, not the acquisition columns of extract --acquisition-columns.
    names = [c for c in table.columns
             if c not in ("case_id", "region", "preset", "preset_sha256") and not c.startswith(COLUMN_PREFIX)]
    found = {}
    for _, row in rows.iterrows():
        if row["region"] not in regions:
            raise InputError(f"features table has region {row['region']!r}; the regions are {', '.join(regions)}",
                             file=path, case=case)
        values = pd.to_numeric(row[names], errors="coerce")
        found[row["region"]] = {n: float(values[n]) for n in names if math.isfinite(float(values[n]))}
    return found


def _score(name: str, path: Path, case: str):
    import pandas as pd

    from ..io.dicom_export import CaseScore

    try:
        table = pd.read_csv(path, dtype={"case_id": str, "risk_group": str})
    except (OSError, ValueError, pd.errors.ParserError) as error:
        raise InputError(f"cannot read scores table ({error})", file=path, case=case) from None
    if "case_id" not in table.columns or not {"radscore", "probability", "risk_group"} & set(table.columns):
        raise InputError("scores table needs case_id and radscore/probability/risk_group (score --out)",
                         file=path, case=case)
    rows = table[table["case_id"] == case]
    if len(rows) != 1:
        raise InputError(f"scores table has {len(rows)} rows of this case, not one", file=path, case=case)
    row = rows.iloc[0]

    def number(column: str) -> float | None:
        value = pd.to_numeric(row.get(column), errors="coerce")
        return float(value) if value is not None and math.isfinite(float(value)) else None

    group = row.get("risk_group")
    return CaseScore(name, number("radscore"), number("probability"), "" if pd.isna(group) else str(group))

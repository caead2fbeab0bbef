"""``tmeradiomics extract``: PyRadiomics features of every region of one case.

Regions are built from the tumour mask with the same options as
``tmeradiomics regions``, or read ready-made with ``--region-mask
NAME=FILE``. The wide table (one row per region) goes to ``--out``; the
combined one-row view and the diagnostics (versions, preset hash, voxel
counts, why a value is NaN) go beside it. Everything is checked before the
images are read, and the files appear only when all of them are complete.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..errors import InputError
from .kinetics_cmd import phase_times
from .regions_cmd import (
    add_case_arguments,
    add_region_options,
    add_small_regions_option,
    build_regions,
    check_widths,
    load_cases,
    region_options,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "extract",
        help="extract PyRadiomics features of the regions of one case",
        description="Build the intratumoral, peritumoral and ring regions (or take ready masks) and extract "
        "the preset's PyRadiomics features of all of them in one pass. Writes the wide table to --out, "
        "<out>.combined.csv (Intra_/Peri_/Ring_ columns) and <out>.diagnostics.json.",
    )
    add_case_arguments(parser)
    add_region_options(parser)
    add_small_regions_option(parser)
    parser.add_argument("--preset", default="qian2024", help="preset name or parameter file (default: %(default)s)")
    parser.add_argument("--out", type=Path, required=True, help="output CSV (wide table)")
    parser.add_argument("--regions", help="comma-separated regions to extract, of intratumoral, peritumoral "
                        "and ring (default: all three)")
    parser.add_argument("--region-mask", action="append", default=[], metavar="NAME=FILE",
                        help="use a ready mask for region NAME instead of building it; repeatable")
    parser.add_argument("--acquisition-columns", action="store_true",
                        help="add the scanner and protocol of a DICOM image (acq_manufacturer, acq_model, "
                        "acq_field_strength_t, TR, TE, flip angle, pixel spacing, slice thickness; the DCE phase read "
                        "and its time) as columns after "
                        "preset_sha256: the batch variable for harmonisation (always in the diagnostics)")
    parser.add_argument("--kinetics", action="store_true",
                        help="add the DCE kinetic class of every region (docs/kinetics.md): IMAGE must then hold "
                        "every phase (a 4-D image, a DICOM DCE study or a tmeradiomics phantom folder); on with a "
                        "preset that sets kinetics: true")
    parser.add_argument("--times", type=phase_times, metavar="S0,S1,...",
                        help="with --kinetics: the phase times in seconds, when IMAGE does not record them")
    parser.add_argument("--overwrite", action="store_true", help="replace existing output files")
    parser.set_defaults(func=run)


def _companions(out: Path) -> dict[str, Path]:
    stem = out.name[: -len(".csv")] if out.name.endswith(".csv") else out.name
    return {"wide": out, "combined": out.with_name(f"{stem}.combined.csv"),
            "diagnostics": out.with_name(f"{stem}.diagnostics.json")}


def _check_outputs(out: Path, overwrite: bool) -> dict[str, Path]:
    from ..outputs import check_out_file

    paths = _companions(out)
    for path in paths.values():
        check_out_file(path, overwrite)
    return paths


def _requested_regions(text: str | None) -> list[str]:
    from ..regions import REGION_NAMES

    if text is None:
        return list(REGION_NAMES)
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in REGION_NAMES]
    if unknown or not names:
        raise InputError(f"--regions must name some of {', '.join(REGION_NAMES)}", value=text)
    return names


def _ready_masks(specs: list[str], wanted: list[str]) -> dict[str, Path]:
    """NAME=FILE pairs; a region given twice, or one file given for two regions, is refused
    (the last one would silently win, or two regions would have the same features)."""
    ready: dict[str, Path] = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or name not in wanted or not path:
            raise InputError(f"--region-mask must be NAME=FILE with NAME one of {', '.join(wanted)}", value=spec)
        if name in ready:
            raise InputError(f"--region-mask gives region {name} twice ({ready[name]} and {path})", value=spec)
        same = [other for other, known in ready.items() if _same_file(known, Path(path))]
        if same:
            raise InputError(f"--region-mask gives one file for regions {same[0]} and {name}", file=path)
        ready[name] = Path(path)
    return ready


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.samefile(b)
    except OSError:  # a missing file is reported when it is read
        return a.absolute() == b.absolute()


def _refuse_empty_ready(masks: dict, ready: dict[str, Path], case_id: str) -> None:
    """An empty ready mask gives NaN features: refused unless --allow-empty-regions, as built regions are."""
    import SimpleITK as sitk

    for name, mask in masks.items():
        if not sitk.GetArrayViewFromImage(mask).any():
            raise InputError(f"--region-mask {name}: the mask is empty, so its features would be NaN; "
                             "pass --allow-empty-regions to accept that", file=ready[name], case=case_id)


def _region_masks(args, wanted, ready, case_id, image, tumour) -> dict:
    from ..io.images import read_mask

    masks = {name: read_mask(path, reference=image, case_id=case_id, resample=args.resample_mask, allow_empty=True)
             for name, path in ready.items()}
    if not args.allow_empty_regions:
        _refuse_empty_ready(masks, ready, case_id)
    if "intratumoral" in wanted and "intratumoral" not in masks:
        masks["intratumoral"] = tumour
    if any(name not in masks for name in wanted):
        built = build_regions(args, case_id, image, tumour)
        masks = {**built.masks, **masks}
    return {name: masks[name] for name in wanted}


def run(args: argparse.Namespace) -> int:
    from ..features import extract_case, load_preset
    from ..io.acquisition_cells import acquisition_cells, dicom_records, with_columns
    from ..outputs import atomic_write_texts

    check_widths(args)
    wanted = _requested_regions(args.regions)
    ready = _ready_masks(args.region_mask, wanted)
    if ready and args.each_segment:
        raise InputError("--region-mask gives one case's regions; it cannot go with --each-segment")
    preset = load_preset(args.preset)
    paths = _check_outputs(args.out, args.overwrite)
    series = _kinetic_series(args) if args.kinetics or preset.kinetics else None
    texture = series.phase(args.phase, file=args.image, case_id=args.case_id) if series is not None else None
    _, image, cases = load_cases(args, image=texture)
    acquisition, dce = dicom_records(args.image, args.series, args.phase)
    results, records = [], []
    for case_id, tumour in cases:
        masks = _region_masks(args, wanted, ready, case_id, image, tumour.mask)
        result = extract_case(image, masks, preset, case_id=case_id,
                              allow_small_regions=region_options(args).allow_small, kinetics=series)
        results.append(result)
        records.append({**result.diagnostics, "case_id": case_id, "mask": tumour.source,
                        "acquisition": acquisition, **({"dce": dce} if dce else {}),
                        "failures": result.failure_records()})
    extra = acquisition_cells(acquisition, dce) if args.acquisition_columns else {}
    texts = {
        "wide": with_columns(_joined([r.wide_csv() for r in results]), extra),
        "combined": with_columns(_joined([r.combined_csv() for r in results]), extra),
        "diagnostics": json.dumps(records[0] if len(records) == 1 and not args.each_segment
                                  else {"cases": records}, indent=2, default=str),
    }
    atomic_write_texts({paths[key]: text for key, text in texts.items()})  # the three or none
    print(json.dumps({"case_id": cases[0][0] if len(cases) == 1 else [c for c, _ in cases],
                      "preset": preset.name, "preset_sha256": preset.sha256,
                      "regions": wanted, "features_per_region": len(results[0].feature_names),
                      "nan_values": sum(r.nan_count() for r in results),
                      "outputs": {k: str(v) for k, v in paths.items()}}, indent=2))
    return 0


def _kinetic_series(args: argparse.Namespace):
    """Every phase of IMAGE and its times."""
    from ..kinetics import read_kinetic_series
    from .regions_cmd import case_id_of

    if args.series is not None:
        raise InputError("--kinetics reads every phase of a DCE study; --series picks one series", file=args.image)
    return read_kinetic_series(args.image, times_s=args.times, case_id=case_id_of(args))


def _joined(tables: list[str]) -> str:
    """CSV texts of one preset (one header) as one table: the first header, every table's rows."""
    return tables[0] + "".join(text.split("\n", 1)[1] for text in tables[1:])

"""``tmeradiomics batch MANIFEST.csv --preset NAME --out DIR``: regions, features and scores of a cohort.

Cases run on a local process pool (``--jobs``) or a Dask cluster
(``--scheduler`` / ``--dask-local``); see ``TMERadiomicsLib.batch`` and
``docs/batch.md``. Running the same command again resumes an interrupted run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from ..errors import InputError
from .lazy import LazyDefault
from .regions_cmd import add_region_options, add_small_regions_option, check_widths


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "batch",
        help="regions, features and scores of a cohort, resumable, local or on Dask",
        description="Build the regions, extract the features and score every case of a manifest "
        "(CSV: case_id, image, mask; optional label, reader, session, exclude, exclude_*), in "
        "parallel. A folder stands for its manifest.csv; without one, its cases are found by layout "
        "(one sub-folder per case holding an image and a mask, or <case>_image/<case>_mask pairs) and "
        "the pairing is recorded in OUT/batch.json. Per-case results go to OUT/cases/<case_id>/, cohort tables to OUT/. Run the "
        "same command again to resume: finished cases with unchanged inputs are skipped. "
        "Prints the run summary as JSON. Exit code 0: every case completed; 3: the run ended but "
        "some or all cases failed (see OUT/failures.csv); 2: bad input; 130: stopped by Ctrl-C or "
        "SIGTERM (finished cases kept).",
    )
    parser.add_argument("manifest", type=Path, metavar="MANIFEST.csv|FOLDER",
                        help="the cohort manifest, or a cohort folder (its manifest.csv, or cases found by layout)")
    parser.add_argument("--preset", required=True, help="bundled preset name or parameter-file path")
    parser.add_argument("--out", type=Path, required=True, help="output folder (resumed if it holds a batch)")
    parser.add_argument("--models", nargs="+", default=[], metavar="BUNDLE",
                        help="model bundles (folders or bundled names) to score every case with")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--jobs", type=int, default=1, help="local worker processes (default: %(default)s)")
    where.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="address of a Dask scheduler")
    where.add_argument("--dask-local", type=int, metavar="N", help="start a Dask LocalCluster of N worker processes")
    parser.add_argument("--threads-per-case", type=int, metavar="N",
                        help="SimpleITK/BLAS threads per case (default: cores / workers; 1 with --scheduler)")
    parser.add_argument("--phase", type=int, default=LazyDefault(".dce", "DEFAULT_PHASE"),
                        help="DCE phase of 4-D images, 0 = pre-contrast (default: %(default)s)")
    parser.add_argument("--resample-mask", action="store_true",
                        help="resample masks onto the image grid instead of failing the case on a mismatch")
    parser.add_argument("--each-segment", action="store_true",
                        help="one case per segment (lesion) of a row's multi-segment mask, with the case ID "
                        "<case_id>_<segment name> as extract --each-segment gives it; rows with a segment or "
                        "label cell are kept as they are")
    parser.add_argument("--acquisition-columns", action="store_true",
                        help="add the scanner and protocol of each DICOM image (acq_manufacturer, acq_model, "
                        "acq_field_strength_t, TR, TE, flip angle, pixel spacing, slice thickness; the DCE phase "
                        "read and its time) as columns after preset_sha256 of the feature tables, as extract "
                        "--acquisition-columns does: the batch variable for harmonisation (empty cells without DICOM)")
    parser.add_argument("--kinetics", action="store_true",
                        help="add the DCE kinetic class of every region (docs/kinetics.md): each case's image must "
                        "hold every phase with its time (a DICOM DCE study, a folder written by tmeradiomics "
                        "phantom, or a 4-D image with a phase_times manifest column); on with a preset that sets "
                        "kinetics: true")
    parser.add_argument("--no-masks", action="store_true", help="do not write the region masks of each case")
    parser.add_argument("--retry-failed", action="store_true", help="on resume, run failed cases again")
    parser.add_argument("--overwrite", action="store_true",
                        help="write into an existing folder that holds other files")
    add_region_options(parser)
    add_small_regions_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..batch import BatchSettings, DaskCluster, LocalPool, run_batch
    from ..batch.discover import read_cases
    from ..batch.runner import exit_code
    from ..features.presets import load_preset

    check_widths(args)
    workers = _check_counts(args)
    preset = load_preset(args.preset)
    specs, discovered = read_cases(args.manifest)
    segments = None
    if args.each_segment:
        from ..batch.each_segment import expand_segments

        specs, segments = expand_segments(specs, args.phase, args.manifest)
    bundles = _bundles(args.models)
    settings = BatchSettings(
        preset_path=str(preset.path.absolute()), preset_sha256=preset.sha256,
        peritumoral_mm=args.peritumoral_mm, ring_mm=args.ring_mm,
        exclude=tuple(str(p.absolute()) for p in _existing(args.exclude)),
        air_below=args.air_below, largest_component=args.largest_component, phase=args.phase,
        allow_empty_regions=args.allow_empty_regions, allow_small_regions=args.allow_small_regions,
        resample_mask=args.resample_mask, threads=_threads(args, workers), write_masks=not args.no_masks,
        acquisition_columns=args.acquisition_columns, kinetics=args.kinetics or preset.kinetics,
    )
    backend = (DaskCluster(address=args.scheduler) if args.scheduler
               else DaskCluster(local_workers=args.dask_local) if args.dask_local
               else LocalPool(args.jobs))
    record = {"manifest": str(args.manifest.absolute()), "preset": preset.name,
              "models": [b.manifest.name for b in bundles]}
    if segments is not None:  # which case came from which row and segment
        record["segment_cases"] = segments
    if discovered is not None:  # the pairing the layout rules made, for the user to check
        record["discovered_cases"] = discovered
        print(f"batch: {len(discovered)} cases found in {args.manifest} by layout; the pairing is recorded in "
              f"{args.out / 'batch.json'}", file=sys.stderr)
    summary = run_batch(specs, settings, backend, args.out, bundles, retry_failed=args.retry_failed,
                        overwrite=args.overwrite, run_record=record)
    print(json.dumps(summary, indent=2, default=str))
    print(f"batch: {summary['completed']} completed, {summary['failed']} failed, "
          f"{summary['not_completed']} not completed of {summary['cases']} cases; tables in {args.out}",
          file=sys.stderr)
    return exit_code(summary)


# Peak memory one worker may reach on a full-size case (features of three regions),
# used to refuse a local worker count the machine cannot hold.
WORKER_MEMORY_GB = 1.0


def _check_counts(args: argparse.Namespace) -> int:
    for flag, value in (("--jobs", args.jobs), ("--dask-local", args.dask_local),
                        ("--threads-per-case", args.threads_per_case)):
        if value is not None and value < 1:
            raise InputError(f"{flag} must be at least 1", value=value)
    workers = args.dask_local or (1 if args.scheduler else args.jobs)
    memory_gb = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 1e9
    if workers * WORKER_MEMORY_GB > memory_gb:
        flag = "--dask-local" if args.dask_local else "--jobs"
        raise InputError(f"{flag} {workers} local workers may need about {workers * WORKER_MEMORY_GB:g} GB "
                         f"({WORKER_MEMORY_GB:g} GB each), more than this machine's {memory_gb:.0f} GB", value=workers)
    return workers


def _threads(args: argparse.Namespace, workers: int) -> int:
    if args.threads_per_case:
        return args.threads_per_case
    from ..batch.settings import cpu_count

    # A remote cluster's cores are unknown here; one thread per case never oversubscribes.
    return 1 if args.scheduler else max(1, cpu_count() // workers)


def _bundles(names: list[str]) -> list:
    if not names:
        return []  # scikit-learn and skops load only for scoring
    from ..models import load_bundle
    from ..models.resources import bundle_path

    return [load_bundle(bundle_path(name)) for name in names]


def _existing(paths: list[Path]) -> list[Path]:
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise InputError(f"exclusion mask(s) not found: {', '.join(missing)}")
    return paths

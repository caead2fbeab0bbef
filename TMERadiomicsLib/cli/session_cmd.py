"""``tmeradiomics session add|extract|list``: readers' sessions in a study database."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .argtypes import case_id, non_negative_float, positive_float, reader_name
from .lazy import LazyDefault


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "session",
        help="store readers' re-segmentation sessions and their features in a study database",
        description=(
            "Keep each reader's tumour contours, session by session (R1-week0, R1-week2, R2, ...), "
            "in an SQLite study database, then extract features for every stored contour. "
            "The database feeds 'tmeradiomics icc'."
        ),
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    _add_parser(actions)
    _extract_parser(actions)
    _list_parser(actions)


def _db_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", required=True, help="study database file (SQLite)")
    parser.add_argument("--timeout", type=non_negative_float, default=LazyDefault(".store.connection", "DEFAULT_TIMEOUT_S"),
                        help="seconds to wait for a database locked by another process (default %(default)s)")


def _add_parser(actions: argparse._SubParsersAction) -> None:
    parser = actions.add_parser(
        "add",
        help="store one reader's contour of one case in a session",
        description=(
            "Read IMAGE and the tumour MASK, check them, build the regions and store the files' "
            "SHA-256, the image geometry and the region summaries under (case, reader, session). "
            "Adding the same files again changes nothing; different files need --replace. "
            "Every session of a case must share the image geometry. Creates the database if needed."
        ),
    )
    _db_options(parser)
    parser.add_argument("--case", type=case_id, required=True, help="case ID (yours; never a DICOM patient ID)")
    parser.add_argument("--reader", type=reader_name, required=True, help="reader name, e.g. R1")
    parser.add_argument("--session", type=reader_name, required=True, help="session label, e.g. R1-week0")
    parser.add_argument("image", help="image file (NRRD, NIfTI, MHA) or DICOM series folder")
    parser.add_argument("mask", help="tumour mask: a label image on the image's grid, a Slicer .seg.nrrd, "
                        "a DICOM SEG or an RTSTRUCT")
    lesion = parser.add_mutually_exclusive_group()
    lesion.add_argument("--label", type=int, help="mask value of the tumour in a label map")
    lesion.add_argument("--segment", metavar="NAME|NUMBER", help="the tumour's segment of a multi-segment mask")
    parser.add_argument("--peritumoral-mm", type=positive_float, default=5.0, help="peritumoral width (default 5)")
    parser.add_argument("--ring-mm", type=positive_float, default=2.0, help="ring half-width (default 2)")
    parser.add_argument("--replace", action="store_true", help="replace a different contour stored under the same session")
    parser.add_argument("--session-time", help="when a new session was read (ISO 8601, e.g. 2026-01-15); default now. "
                        "Inter-observer ICC uses each reader's earliest session")
    parser.set_defaults(func=run_add)


def _extract_parser(actions: argparse._SubParsersAction) -> None:
    parser = actions.add_parser(
        "extract",
        help="extract the features the database does not hold yet",
        description=(
            "For every stored contour without features of PRESET, rebuild the regions and extract. "
            "Files are checked against their stored SHA-256 first. An interrupted run keeps what it "
            "finished; running again computes only the rest."
        ),
    )
    _db_options(parser)
    parser.add_argument("--preset", required=True, help="preset name (default, qian2024, han2024) or YAML file")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    parser.set_defaults(func=run_extract, interrupt_note=(
        "the features of the contours finished so far are kept in the database; "
        "run the same command again to extract the rest"))


def _list_parser(actions: argparse._SubParsersAction) -> None:
    parser = actions.add_parser("list", help="list readers' sessions and extracted presets as JSON",
                                description="Print, as JSON, every reading session of the study database "
                                "(reader, session label, when it was read, how many cases it holds) and the "
                                "presets extracted so far.")
    _db_options(parser)
    parser.set_defaults(func=run_list)


def run_add(args: argparse.Namespace) -> int:
    from ..store import StudyStore
    from ..store.ingest import segmentation_from_files
    from ..store.study import session_time

    # Files are read and checked before the database is opened (or created).
    when = session_time(args.session_time) if args.session_time else None
    seg = segmentation_from_files(
        args.case, args.reader, args.session, args.image, args.mask,
        label=args.label, peritumoral_mm=args.peritumoral_mm, ring_mm=args.ring_mm, segment=args.segment,
    )
    with StudyStore(args.db, timeout=args.timeout) as store:
        result = store.add_segmentation(seg, replace=args.replace, session_time=when)
    print(json.dumps({
        "db": str(Path(args.db)),
        "case_id": seg.case_id,
        "reader": seg.reader,
        "session": seg.session,
        "result": result.value,
        "regions": {r.region: {"voxels": r.voxels, "volume_mm3": round(r.volume_mm3, 3),
                               "warnings": list(r.warnings)} for r in seg.regions},
    }, indent=2))
    return 0


def run_extract(args: argparse.Namespace) -> int:
    from ..store import StudyStore
    from ..store.extraction import extract_missing

    with StudyStore(args.db, create=False, timeout=args.timeout) as store:
        report = extract_missing(store, args.preset, progress=not args.no_progress)
    print(json.dumps({
        "db": str(Path(args.db)),
        "preset": report.preset,
        "preset_sha256": report.preset_sha256,
        "extracted": report.extracted,
        "already_present": report.already_present,
    }, indent=2))
    return 0


def run_list(args: argparse.Namespace) -> int:
    from ..store import StudyStore

    with StudyStore(args.db, create=False, timeout=args.timeout) as store:
        sessions = store.sessions()
        presets = store.presets()
    print(json.dumps({
        "sessions": json.loads(sessions.to_json(orient="records")),
        "presets": json.loads(presets.to_json(orient="records")),
    }, indent=2))
    return 0

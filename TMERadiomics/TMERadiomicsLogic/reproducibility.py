"""Reproducibility from the panel: the current contour into a study database, ICC into a table node.

The same library calls as ``tmeradiomics session add``, ``session extract``
and ``icc``, so a study can mix contours saved from Slicer and from the
command line. Every check that can refuse runs before the database or the
scene changes: a refused save leaves both as they were; Compute ICC checks
that the study can give the required ICCs before it extracts anything, and
touches the scene only once the ICCs are computed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

from .i18n import tr as _
from . import dependencies, segments, tables, volumes
from .radiomics_log import quietRadiomics

logger = logging.getLogger(__name__)

DEFAULT_REQUIRED = ("intra", "inter")
FORMS = ("A,1", "C,1")  # those of tmeradiomics icc; ICC(1,1) is for the library's checks only
Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class SavedSession:
    """What Save segmentation to session stored."""

    case_id: str
    reader: str
    session: str
    result: str  # "added", "unchanged" or "replaced" (TMERadiomicsLib.store.AddResult)
    image_path: str
    image_sha256: str
    mask_path: str
    mask_sha256: str

    def message(self) -> str:
        text = {"added": _("Saved case {case}, reader {reader}, session {session} (mask SHA-256 {sha}...) in {folder}"),
                "unchanged": _("Already saved, unchanged: case {case}, reader {reader}, session {session} "
                               "(mask SHA-256 {sha}...) in {folder}"),
                "replaced": _("Replaced case {case}, reader {reader}, session {session} (mask SHA-256 {sha}...) "
                              "in {folder}")}[self.result]
        return text.format(case=self.case_id, reader=self.reader, session=self.session, sha=self.mask_sha256[:12],
                           folder=Path(self.mask_path).parent)


@dataclass(frozen=True)
class IccResult:
    """What Compute ICC produced: the table node and how many features are stable."""

    table: object  # vtkMRMLTableNode
    stable: int
    total: int
    preset: str
    form: str
    threshold: float
    required: tuple[str, ...]
    cases: dict[str, int]  # kind -> cases taking part
    extracted: int  # contours whose features this run extracted

    def message(self) -> str:
        cases = ", ".join(_("{kind} {n} cases").format(kind=kind, n=n) for kind, n in self.cases.items())
        return _("{stable} of {total} features stable: ICC({form}) > {threshold} for {required} (preset {preset}; "
                 "{cases}; {extracted} contours extracted now)").format(
            stable=self.stable, total=self.total, form=self.form, threshold=f"{self.threshold:g}",
            required=_(" and ").join(self.required), preset=self.preset, cases=cases, extracted=self.extracted)


def save_blocker(volume_node, segmentation_node, segment_id: str | None, db_path, case_id: str, reader: str,
                 session: str) -> str | None:
    """Why Save segmentation to session cannot run yet, or None."""
    if volume_node is None:
        return _("Select a DCE volume.")
    if segmentation_node is None or not segment_id:
        return _("Select the tumour segment.")
    if not str(db_path or "").strip():
        return _("Choose a study database file.")
    for value, prompt in ((case_id, _("Enter the case ID.")), (reader, _("Enter the reader.")),
                          (session, _("Enter the session."))):
        if not (value or "").strip():
            return prompt
    return None


def icc_blocker(db_path) -> str | None:
    """Why Compute ICC cannot run yet, or None."""
    if not str(db_path or "").strip():
        return _("Choose a study database file.")
    if not Path(db_path).is_file():
        return _("The study database does not exist yet; save segmentations to sessions first.")
    return None


def save_segmentation(volume_node, segmentation_node, segment_id: str, db_path: str | PathLike, case_id: str,
                      reader: str, session: str, *, replace: bool = False, folder: str | PathLike | None = None,
                      peritumoral_mm: float = 5.0, ring_mm: float = 2.0, timeout: float | None = None) -> SavedSession:
    """Store the tumour segment (as a mask on the volume's grid) and the volume in the study database."""
    dependencies.require("study")
    from TMERadiomicsLib.store.files import add_segmentation_images

    blocker = save_blocker(volume_node, segmentation_node, segment_id, db_path, case_id, reader, session)
    if blocker:
        raise ValueError(blocker)
    image = volumes.volume_to_image(volume_node)
    mask = segments.segment_to_mask(segmentation_node, segment_id, image)
    options = {} if timeout is None else {"timeout": timeout}
    seg, result = add_segmentation_images(
        db_path, case_id.strip(), reader.strip(), session.strip(), image, mask, replace=replace,
        peritumoral_mm=peritumoral_mm, ring_mm=ring_mm, folder=folder, **options)
    return SavedSession(seg.case_id, seg.reader, seg.session, result.value, seg.image_path, seg.image_sha256,
                        seg.mask_path, seg.mask_sha256)


def compute_icc(scene, db_path: str | PathLike, preset: str | PathLike | None = None, *, form: str = "A,1",
                threshold: float = 0.75, required: Sequence[str] = DEFAULT_REQUIRED, table_node=None,
                timeout: float | None = None, progress: Progress | None = None) -> IccResult:
    """Extract what the database lacks for ``preset``, compute the ICCs and fill a table node.

    Without ``preset`` nothing is extracted and the database's only preset is used.
    """
    dependencies.require("study")
    if preset:
        dependencies.require("features")
    from TMERadiomicsLib.reproducibility.stability import reliability

    _check_options(form, threshold, table_node)
    blocker = icc_blocker(db_path)
    if blocker:
        raise ValueError(blocker)
    features, chosen, extracted = _study_features(db_path, preset, tuple(required), timeout, progress)
    _report(progress, _("Computing ICCs"), 0.95)
    result = reliability(features, form=form, threshold=threshold, required=required)
    cases = {str(k): int(n) for k, n in result.long.groupby("kind")["n_cases"].max().items()}
    return icc_table(scene, result.summary, chosen, form, threshold, tuple(result.required), cases, db_path,
                     table_node, extracted)


def icc_table(scene, summary, chosen: dict, form: str, threshold: float, required: tuple[str, ...],
              cases: dict[str, int], db_path: str | PathLike, table_node=None, extracted: int = 0) -> IccResult:
    """Fill (or add) the ICC table node from ``Reliability.summary``; computed here or by the worker."""
    node = table_node or scene.AddNewNodeByClass("vtkMRMLTableNode", f"ICC ({chosen['preset_name']})")
    stable, total = int(summary["stable"].sum()), len(summary)
    tables.frame_to_table(tables.icc_frame(summary), node, {
        "Kind": "icc", "preset": chosen["preset_name"], "preset_sha256": chosen["preset_sha256"],
        "form": form, "threshold": f"{threshold:g}", "required": ",".join(required),
        "stable": str(stable), "features": str(total), "database": str(Path(db_path).absolute()),
    })
    return IccResult(node, stable, total, chosen["preset_name"], form, threshold, tuple(required), cases, extracted)


def _check_options(form: str, threshold: float, table_node) -> None:
    if form not in FORMS:
        raise ValueError(_("ICC form must be A,1 or C,1, not {form}").format(form=repr(form)))
    if not 0 < threshold < 1:
        raise ValueError(_("the stability threshold must lie between 0 and 1, not {threshold}").format(
            threshold=f"{threshold:g}"))
    kind = tables.table_attribute(table_node, "Kind") if table_node is not None else None
    if kind not in (None, "icc"):
        # A features or scores table picked by mistake is not overwritten.
        raise ValueError(_("table '{name}' holds {kind}, not ICCs; choose another table or none").format(
            name=table_node.GetName(), kind=kind))


def _study_features(db_path, preset, required, timeout, progress):
    """(tidy features, chosen preset row, contours extracted now); the database is only written by extraction."""
    from TMERadiomicsLib.reproducibility.stability import check_ratings
    from TMERadiomicsLib.store import StudyStore
    from TMERadiomicsLib.store.extraction import extract_missing


    quietRadiomics()

    options = {} if timeout is None else {"timeout": timeout}
    with StudyStore(db_path, create=False, **options) as store:
        # Too few ratings is known from who contoured what: refuse before extracting.
        check_ratings(store.ratings(), required=required)
        extracted = 0
        if preset:
            def step(done: int, total: int) -> None:
                _report(progress, _("Extracting features: contour {number} of {total}").format(number=done + 1, total=total),
                        0.9 * done / total)

            extracted = extract_missing(store, preset, progress=False, step=step).extracted
        features, chosen = store.preset_features(preset)
    return features, chosen, extracted


def _report(progress: Progress | None, message: str, fraction: float) -> None:
    logger.info("%s", message)
    if progress is not None:
        progress(message, fraction)

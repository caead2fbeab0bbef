"""The TMERadiomics Logic: MRML in, library in the middle, MRML out.

Each action reads the scene into plain SimpleITK/pandas data, calls the
library, and only then writes new nodes and segments. A ValueError (bad
input), a missing package or a ``Cancelled`` from the progress callback
therefore leaves the scene exactly as it was. No qt or ctk here: CI runs
this on slicer-core, and the Widget and the batch script call the same
methods.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Sequence
from os import PathLike

from . import dependencies, overlay, reproducibility, segments, tables, volumes
from .radiomics_log import quietRadiomics

logger = logging.getLogger(__name__)

REGION_NAMES = ("intratumoral", "peritumoral", "ring")
SUMMARY_NODE_NAME = "TMERadiomics summary"
VOLUME_TAG = "TMERadiomics.VolumeNodeID"
Progress = Callable[[str, float], None]


class Cancelled(Exception):
    """Raised by a progress callback to stop an action; nothing is added to the scene."""


def _report(progress: Progress | None, message: str, fraction: float) -> None:
    logger.info("%s", message)
    if progress is not None:
        progress(message, fraction)


class TMERadiomicsLogic:
    """Regions, features and model scores for the segmentations of a Slicer scene."""

    def __init__(self, scene=None) -> None:
        self._scene = scene

    @property
    def scene(self):
        if self._scene is not None:
            return self._scene
        import slicer

        return slicer.mrmlScene

    # ---- inputs --------------------------------------------------------

    def selectPhase(self, volumeNode, phase: int):
        """The node to analyse for DCE phase ``phase`` of ``volumeNode``; the user's views are not moved.

        A sequence proxy gives that item of its sequence, read as it is stored
        (the sequence browser keeps showing what the user chose); a
        multivolume (multi-component) node remembers the phase in an
        attribute the bridge reads; a plain volume is one phase and is
        returned as it is. ValueError when the phase does not exist.
        """
        if volumeNode is None:
            return None
        sequence = self._sequenceOf(volumeNode)
        if sequence is not None:
            items = sequence.GetNumberOfDataNodes()
            if not 0 <= phase < items:
                raise ValueError(f"phase {phase} does not exist; the sequence of '{volumeNode.GetName()}' has "
                                 f"phases 0-{items - 1}")
            return volumes.SequencePhase(volumeNode, sequence.GetNthDataNode(phase))
        image_data = volumeNode.GetImageData()
        if image_data is not None and image_data.GetNumberOfScalarComponents() > 1:
            components = image_data.GetNumberOfScalarComponents()
            if not 0 <= phase < components:
                raise ValueError(f"phase {phase} does not exist; volume '{volumeNode.GetName()}' has phases "
                                 f"0-{components - 1}")
            volumeNode.SetAttribute(volumes.PHASE_ATTRIBUTE, str(phase))
        return volumeNode

    def phaseCount(self, volumeNode) -> int:
        """How many DCE phases ``volumeNode`` holds: sequence items, components, or 1 (0 for no volume)."""
        if volumeNode is None:
            return 0
        sequence = self._sequenceOf(volumeNode)
        if sequence is not None:
            return sequence.GetNumberOfDataNodes()
        image_data = volumeNode.GetImageData()
        return image_data.GetNumberOfScalarComponents() if image_data is not None else 1

    def _sequenceOf(self, volumeNode):
        for browser in self._nodes("vtkMRMLSequenceBrowserNode"):
            sequence = browser.GetSequenceNode(volumeNode)
            if sequence is not None:
                return sequence
        return None

    def _nodes(self, class_name: str) -> list:
        return [self.scene.GetNthNodeByClass(i, class_name) for i in range(self.scene.GetNumberOfNodesByClass(class_name))]

    # ---- regions -------------------------------------------------------

    def generateRegions(self, volumeNode, segmentationNode, tumorSegmentId: str, peritumoralMm: float = 5.0,
                        ringMm: float = 2.0, exclusionSegmentIds: Sequence[str] = (),
                        airBelow: float | None = None, progress: Progress | None = None) -> list[str]:
        """Add Intratumoral, Peritumoral and Ring segments; returns their new segment IDs."""
        dependencies.require("regions")
        from TMERadiomicsLib import regions

        blocker = self.regionsBlocker(volumeNode, segmentationNode, tumorSegmentId)
        if blocker:
            raise ValueError(blocker)
        _report(progress, "Reading volume and segments", 0.0)
        image = volumes.volume_to_image(volumeNode)
        tumour = segments.segment_to_mask(segmentationNode, tumorSegmentId, image)
        exclusions = [segments.segment_to_mask(segmentationNode, s, image, allow_empty=True)
                      for s in exclusionSegmentIds if s != tumorSegmentId]
        _report(progress, "Building regions", 0.2)
        result = regions.build(tumour, image, peritumoral_mm=peritumoralMm, ring_mm=ringMm,
                               exclusions=exclusions, air_below=airBelow, case_id=volumeNode.GetName())
        for name, summary in result.summary.items():
            for warning in summary.warnings:
                logger.warning("%s: %s", name, warning)
        _report(progress, "Adding segments", 0.9)
        return self._addRegionSegments(segmentationNode, result.masks, volumeNode)

    def _addRegionSegments(self, segmentationNode, masks, volumeNode) -> list[str]:
        # Imported here: the library's packages may be installed only after the module loads.
        from TMERadiomicsLib.regions import REGION_COLOURS

        added = []
        try:
            for name in REGION_NAMES:
                added.append(segments.add_mask_segment(
                    segmentationNode, masks[name], name.capitalize(), REGION_COLOURS[name], name))
                segmentationNode.GetSegmentation().GetSegment(added[-1]).SetTag(VOLUME_TAG, volumeNode.GetID() or "")
        except Exception:
            for segment_id in added:  # all three or none
                segmentationNode.GetSegmentation().RemoveSegment(segment_id)
            raise
        return added

    def regionSegmentIds(self, segmentationNode, volumeNode=None) -> list[str]:
        """The region segments of a segmentation, found from their ``TMERadiomics.Region`` tags.

        Intratumoral, peritumoral, ring (those present), the last generated of
        each; segments generated on ``volumeNode`` are preferred. Nothing is
        remembered between calls, so this is right after a segmentation
        change, a scene close or a reload.
        """
        if segmentationNode is None:
            return []
        volumeId = volumeNode.GetID() if volumeNode is not None else None
        chosen: dict[str, tuple[bool, str]] = {}
        for segmentId, region in segments.tagged_region_segments(segmentationNode):
            if region not in REGION_NAMES:
                continue
            onVolume = bool(volumeId) and segments.segment_tag(segmentationNode, segmentId, VOLUME_TAG) == volumeId
            if region not in chosen or onVolume or not chosen[region][0]:
                chosen[region] = (onVolume, segmentId)
        return [chosen[region][1] for region in REGION_NAMES if region in chosen]

    def regionsBlocker(self, volumeNode, segmentationNode, tumorSegmentId: str | None) -> str | None:
        """Why Generate regions cannot run yet, or None."""
        if volumeNode is None:
            return "Select a DCE volume."
        if segmentationNode is None:
            return "Select a segmentation."
        if not tumorSegmentId or segmentationNode.GetSegmentation().GetSegment(tumorSegmentId) is None:
            return "Select the tumour segment."
        return None

    # ---- features ------------------------------------------------------

    def computeFeatures(self, volumeNode, segmentationNode, regionSegmentIds: Sequence[str],
                        preset: str | PathLike = "default", progress: Progress | None = None, extracted=None):
        """A features vtkMRMLTableNode (one row per feature, one column per region).

        ``extracted``: the ``CaseFeatures`` a worker computed for these inputs
        (``finishComputeFeatures``); the table is then written as for an
        extraction in this process.
        """
        dependencies.require("features")
        from TMERadiomicsLib.features.extract import extract_case

        blocker = self.featuresBlocker(volumeNode, segmentationNode, regionSegmentIds)
        if blocker:
            raise ValueError(blocker)
        case_id = volumeNode.GetName()
        features = extracted
        if features is None:  # the worker read the same scene when it started: not again here
            _report(progress, "Reading volume and regions", 0.0)
            image = volumes.volume_to_image(volumeNode)
            masks = self._regionMasks(segmentationNode, regionSegmentIds, image)
            _report(progress, "Extracting features (PyRadiomics)", 0.1)
            quietRadiomics()
            features = extract_case(image, masks, preset, case_id=case_id, progress=_scaled(progress, 0.1, 0.95))
        frame, meta = tables.features_frame(features.combined())
        _report(progress, "Writing the features table", 0.95)
        return self._newTable(f"{case_id} features ({meta['preset']})", frame, {
            "Kind": "features", **meta,
            "VolumeNodeID": volumeNode.GetID() or "",
            "SegmentationNodeID": segmentationNode.GetID() or "",
            "RegionSegmentIDs": ",".join(regionSegmentIds),
        })

    def _newTable(self, name: str, frame, attributes: dict[str, str]):
        """A new table node holding ``frame``; nothing is left in the scene if filling it fails."""
        node = self.scene.AddNewNodeByClass("vtkMRMLTableNode", name)
        try:
            tables.frame_to_table(frame, node, attributes)
        except BaseException:
            self.scene.RemoveNode(node)
            raise
        return node

    def _regionMasks(self, segmentationNode, regionSegmentIds, image) -> dict:
        masks = {}
        for segment_id in regionSegmentIds:
            region = segments.segment_region(segmentationNode, segment_id)
            if region not in REGION_NAMES:
                raise ValueError(f"segment '{segment_id}' is not an intratumoral, peritumoral or ring region")
            if region in masks:
                raise ValueError(f"two segments hold the {region} region; select one")
            masks[region] = segments.segment_to_mask(segmentationNode, segment_id, image, allow_empty=True)
        return masks

    def featuresBlocker(self, volumeNode, segmentationNode, regionSegmentIds) -> str | None:
        """Why Compute features cannot run yet, or None."""
        if volumeNode is None:
            return "Select a DCE volume."
        if segmentationNode is None:
            return "Select a segmentation."
        if not regionSegmentIds:
            return "Generate regions first."
        return None

    # ---- models --------------------------------------------------------

    def applyModels(self, featuresTableNode, bundlePaths: Sequence[str | PathLike], segmentationNode=None,
                    progress: Progress | None = None):
        """A scores vtkMRMLTableNode; recolours the region segments by risk group and writes the summary."""
        dependencies.require("models")
        from TMERadiomicsLib.models import load_bundle

        if not bundlePaths:
            raise ValueError("Select at least one model.")
        combined = tables.combined_from_table(featuresTableNode)
        _report(progress, "Loading models", 0.0)
        bundles = [load_bundle(path) for path in bundlePaths]
        for bundle in bundles:  # refuse before anything is scored or changed
            self._checkBundle(bundle, combined)
        rows = [self._scoreRow(bundle, combined) for bundle in bundles]
        _report(progress, "Writing scores and overlay", 0.9)
        case_id = tables.table_attribute(featuresTableNode, "case_id") or ""
        summary = overlay.summary_text(case_id, rows)
        segmentationNode = segmentationNode or self._segmentationOf(featuresTableNode)
        colours = self._riskColours(segmentationNode, featuresTableNode, bundles, rows)
        # Everything is computed; only now is the scene written.
        node = self._newTable(f"{case_id} scores", tables.scores_frame(rows), {
            "Kind": "scores", "case_id": case_id, "FeaturesTableNodeID": featuresTableNode.GetID() or "",
            "Summary": summary,
        })
        segmentation = segmentationNode.GetSegmentation() if segmentationNode is not None else None
        for segment_id, colour in colours.items():
            segmentation.GetSegment(segment_id).SetColor(*colour)
        self._writeSummary(summary)
        return node

    @staticmethod
    def _checkBundle(bundle, combined) -> None:
        if not bundle.manifest.calibrated:
            raise ValueError(
                f"model {bundle.manifest.name} needs calibration on a reference cohort before it can "
                "score one case (tmeradiomics calibrate); select its calibrated copy"
            )
        bundle.check_input(combined)

    @staticmethod
    def _scoreRow(bundle, combined) -> dict[str, object]:
        scored = bundle.score(combined).iloc[0]
        name = bundle.manifest.score
        return {"Model": bundle.manifest.name, "Score name": name, "Score": float(scored[name]),
                "Probability": float(scored["probability"]), "Risk group": str(scored["risk_group"]),
                "Status": str(scored["status"]), "Bundle SHA-256": str(scored["bundle_sha256"])}

    def _segmentationOf(self, featuresTableNode):
        node_id = tables.table_attribute(featuresTableNode, "SegmentationNodeID")
        return self.scene.GetNodeByID(node_id) if node_id else None

    def _riskColours(self, segmentationNode, featuresTableNode, bundles, rows) -> dict[str, tuple]:
        """Segment ID -> colour: the first model with a risk group colours the case's region segments."""
        if segmentationNode is None:
            return {}
        for bundle, row in zip(bundles, rows):
            if row["Risk group"]:
                index = list(bundle.manifest.risk_groups).index(row["Risk group"])
                break
        else:
            return {}
        ids = (tables.table_attribute(featuresTableNode, "RegionSegmentIDs") or "").split(",")
        segmentation = segmentationNode.GetSegmentation()
        return {segment_id: overlay.risk_colour(index, segments.segment_region(segmentationNode, segment_id))
                for segment_id in filter(None, ids) if segmentation.GetSegment(segment_id) is not None}

    def _writeSummary(self, summary: str) -> None:
        node = self.scene.GetFirstNodeByName(SUMMARY_NODE_NAME)
        if node is None:
            node = self.scene.AddNewNodeByClass("vtkMRMLTextNode", SUMMARY_NODE_NAME)
        node.SetText(summary)

    def summaryText(self) -> str:
        node = self.scene.GetFirstNodeByName(SUMMARY_NODE_NAME)
        return node.GetText() if node is not None else ""

    def modelsBlocker(self, featuresTableNode, bundlePaths) -> str | None:
        """Why Apply models cannot run yet, or None."""
        if featuresTableNode is None:
            return "Compute features first."
        if not bundlePaths:
            return "Select at least one model."
        return None

    # ---- reproducibility (study database, ICC) --------------------------

    def saveSegmentationToSession(self, volumeNode, segmentationNode, tumorSegmentId: str, dbPath: str | PathLike,
                                  caseId: str, reader: str, session: str, replace: bool = False,
                                  folder: str | PathLike | None = None, peritumoralMm: float = 5.0,
                                  ringMm: float = 2.0, timeout: float | None = None) -> reproducibility.SavedSession:
        """Store the tumour segment and the volume as files beside the database, and add them to it.

        As ``tmeradiomics session add``; the scene is not changed.
        """
        return reproducibility.save_segmentation(
            volumeNode, segmentationNode, tumorSegmentId, dbPath, caseId, reader, session, replace=replace,
            folder=folder, peritumoral_mm=peritumoralMm, ring_mm=ringMm, timeout=timeout)

    def saveSessionBlocker(self, volumeNode, segmentationNode, tumorSegmentId: str | None, dbPath, caseId: str,
                           reader: str, session: str) -> str | None:
        """Why Save segmentation to session cannot run yet, or None."""
        return reproducibility.save_blocker(volumeNode, segmentationNode, tumorSegmentId, dbPath, caseId, reader,
                                            session)

    def computeIcc(self, dbPath: str | PathLike, preset: str | PathLike | None = None, form: str = "A,1",
                   threshold: float = 0.75, tableNode=None,
                   required: Sequence[str] = reproducibility.DEFAULT_REQUIRED, timeout: float | None = None,
                   progress: Progress | None = None) -> reproducibility.IccResult:
        """Extract missing features of ``preset``, compute intra/inter ICCs and fill a table node.

        As ``tmeradiomics session extract`` then ``icc``; returns the node and the stable count.
        """
        return reproducibility.compute_icc(self.scene, dbPath, preset, form=form, threshold=threshold,
                                           required=required, table_node=tableNode, timeout=timeout,
                                           progress=progress)

    def iccBlocker(self, dbPath) -> str | None:
        """Why Compute ICC cannot run yet, or None."""
        return reproducibility.icc_blocker(dbPath)

    # ---- everything ----------------------------------------------------

    def runAll(self, volumeNode, segmentationNode, tumorSegmentId: str, preset: str | PathLike,
               bundlePaths: Sequence[str | PathLike], *, peritumoralMm: float = 5.0, ringMm: float = 2.0,
               exclusionSegmentIds: Sequence[str] = (), airBelow: float | None = None,
               progress: Progress | None = None):
        """Regions, features and (when models are given) scores; returns (segment IDs, features, scores)."""
        if bundlePaths:
            dependencies.require("models")  # fail before adding segments, not after
        ids = self.generateRegions(volumeNode, segmentationNode, tumorSegmentId, peritumoralMm, ringMm,
                                   exclusionSegmentIds, airBelow, progress=_scaled(progress, 0.0, 0.1))
        try:
            features = self.computeFeatures(volumeNode, segmentationNode, ids, preset,
                                            progress=_scaled(progress, 0.1, 0.9))
            scores = (self.applyModels(features, bundlePaths, segmentationNode, progress=_scaled(progress, 0.9, 1.0))
                      if bundlePaths else None)
        except BaseException:
            self._undo(segmentationNode, ids, locals().get("features"))
            raise
        return ids, features, scores

    def _undo(self, segmentationNode, ids, features) -> None:
        """Run all is one action: a failure or cancel removes what it added."""
        for segment_id in ids:
            segmentationNode.GetSegmentation().RemoveSegment(segment_id)
        if features is not None:
            self.scene.RemoveNode(features)

    # ---- background work (a worker process; the Widget polls) ------------

    def startComputeFeatures(self, volumeNode, segmentationNode, regionSegmentIds: Sequence[str],
                             preset: str | PathLike = "default"):
        """Compute features in a worker process; returns its ``worker.Job`` at once.

        Here, on the GUI thread: the checks, reading the scene and writing the
        crop the extraction needs. The Widget polls ``job.poll()``, then calls
        ``finishComputeFeatures(job)`` (or ``job.cancel()``).
        """
        dependencies.require("features")
        from TMERadiomicsLib.worker.handover import write_features_job

        from . import worker

        blocker = self.featuresBlocker(volumeNode, segmentationNode, regionSegmentIds)
        if blocker:
            raise ValueError(blocker)
        image = volumes.volume_to_image(volumeNode)
        masks = self._regionMasks(segmentationNode, regionSegmentIds, image)
        folder = worker.new_folder()
        try:
            job = write_features_job(folder, image, masks, preset, volumeNode.GetName())
            started = worker.start_library_job("Compute features", folder, job)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        started.context.update(volume=volumeNode, segmentation=segmentationNode,
                               regionSegmentIds=list(regionSegmentIds), preset=preset)
        return started

    def finishComputeFeatures(self, job):
        """The features table of a finished job, added to the scene in one step; the job is closed."""
        from TMERadiomicsLib.worker.results import features_from_json

        try:
            features = features_from_json(job.result()["features"])
            c = job.context
            return self.computeFeatures(c["volume"], c["segmentation"], c["regionSegmentIds"], c["preset"],
                                        extracted=features)
        except BaseException:
            job.rollback()
            raise
        finally:
            job.close()

    def startRunAll(self, volumeNode, segmentationNode, tumorSegmentId: str, preset: str | PathLike,
                    bundlePaths: Sequence[str | PathLike], *, peritumoralMm: float = 5.0, ringMm: float = 2.0,
                    exclusionSegmentIds: Sequence[str] = (), airBelow: float | None = None):
        """Run all with the features in a worker: regions now (fast), features in the child.

        Cancelling or failing the job removes the region segments again.
        """
        if bundlePaths:
            dependencies.require("models")
        ids = self.generateRegions(volumeNode, segmentationNode, tumorSegmentId, peritumoralMm, ringMm,
                                   exclusionSegmentIds, airBelow)
        try:
            job = self.startComputeFeatures(volumeNode, segmentationNode, ids, preset)
        except BaseException:
            self._undo(segmentationNode, ids, None)
            raise
        job.title = "Run all"
        job.undo.append(lambda: self._undo(segmentationNode, ids, None))
        job.context.update(regionSegmentIds=ids, bundlePaths=list(bundlePaths))
        return job

    def finishRunAll(self, job):
        """(segment IDs, features, scores) of a finished Run all job; on failure nothing stays added."""
        features = self.finishComputeFeatures(job)  # rolls the regions back itself on failure
        c = job.context
        try:
            scores = (self.applyModels(features, c["bundlePaths"], c["segmentation"]) if c["bundlePaths"]
                      else None)
        except BaseException:
            self._undo(c["segmentation"], c["regionSegmentIds"], features)
            raise
        return c["regionSegmentIds"], features, scores

    def startComputeIcc(self, dbPath: str | PathLike, preset: str | PathLike | None = None, form: str = "A,1",
                        threshold: float = 0.75, tableNode=None,
                        required: Sequence[str] = reproducibility.DEFAULT_REQUIRED, timeout: float | None = None):
        """Compute ICC with the extraction in a worker; ``finishComputeIcc(job)`` gives the ``IccResult``."""
        from . import icc_job

        return icc_job.start_icc(dbPath, preset, form=form, threshold=threshold, required=required,
                                 table_node=tableNode, timeout=timeout)

    def finishComputeIcc(self, job) -> reproducibility.IccResult:
        from . import icc_job

        return icc_job.finish_icc(self.scene, job)

    def startCohort(self, source: str | PathLike, out: str | PathLike, preset: str,
                    bundlePaths: Sequence[str | PathLike] = (), *, peritumoralMm: float = 5.0, ringMm: float = 2.0):
        """``tmeradiomics batch`` over a manifest (or a folder holding manifest.csv) in a child process."""
        from . import cohort

        return cohort.start_cohort(source, out, preset, bundlePaths, peritumoralMm=peritumoralMm, ringMm=ringMm)

    def finishCohort(self, job) -> dict:
        """The batch's cohort tables as table nodes (``cohort.finish_cohort``)."""
        from . import cohort

        return cohort.finish_cohort(self.scene, job)

    def cohortBlocker(self, source, out, preset) -> str | None:
        from . import cohort

        return cohort.cohort_blocker(source, out, preset)


def _scaled(progress: Progress | None, start: float, stop: float) -> Progress | None:
    if progress is None:
        return None
    return lambda message, fraction: progress(message, start + (stop - start) * fraction)

"""The TMERadiomics Logic: MRML in, library in the middle, MRML out.

Each action reads the scene into plain SimpleITK/pandas data, calls the
library, and only then writes new nodes and segments. A ValueError (bad
input), a missing package or a ``Cancelled`` from the progress callback
therefore leaves the scene exactly as it was. No qt or ctk here: CI runs
this on slicer-core, and the Widget and the batch script call the same
methods.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path

import vtk

from . import dependencies, export, overlay, reproducibility, segments, tables, volumes
from .i18n import tr as _
from .radiomics_log import quietRadiomics

logger = logging.getLogger(__name__)

REGION_NAMES = ("intratumoral", "peritumoral", "ring")
SUMMARY_NODE_NAME = "TMERadiomics summary"
VOLUME_TAG = "TMERadiomics.VolumeNodeID"
PARAMETERS_TAG = "TMERadiomics.RegionParameters"  # JSON: band widths, air threshold, exclusions, phase
ORIGINAL_COLOUR_TAG = "TMERadiomics.RegionColour"  # "r,g,b" before the risk overlay
RISK_GROUP_TAG = "TMERadiomics.RiskGroup"
RISK_MODEL_TAG = "TMERadiomics.RiskModel"
OVERLAY_TAGS = (ORIGINAL_COLOUR_TAG, RISK_GROUP_TAG, RISK_MODEL_TAG)
_ALL_TAGS = (VOLUME_TAG, segments.SOURCE_TAG, PARAMETERS_TAG, *OVERLAY_TAGS)
# Attributes that say which table of the scene holds a lesion's results: a re-run refills that one.
FEATURES_IDENTITY = ("Kind", "SegmentationNodeID", "RegionSegmentIDs", "VolumeNodeID", "PhaseSource",
                     "PhaseIndex", "SequenceNodeID", "preset")
SCORES_IDENTITY = ("Kind", "FeaturesTableNodeID")
LESIONS_IDENTITY = ("Kind", "SegmentationNodeID", "VolumeNodeID", "PhaseSource", "PhaseIndex", "SequenceNodeID",
                    "preset")
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
        self.lastWarnings: list[str] = []  # what the last action warned about, for the panel
        self._warningPrefix = ""  # the lesion's name while Run all works through several
        self.lastLesionsTable = None  # the one-row-per-lesion table of the last runAllLesions
        # The case's site (scanner) as the panel's Site field gives it: what a bundle harmonised by site
        # (``train --harmonise``) scores by; every model action reads it.
        self.caseSite = ""

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
                raise ValueError(_("phase {phase} does not exist; the sequence of '{name}' has phases 0-{last}").format(
                    phase=phase, name=volumeNode.GetName(), last=items - 1))
            return volumes.SequencePhase(volumeNode, sequence.GetNthDataNode(phase), sequence, phase)
        image_data = volumeNode.GetImageData()
        if image_data is not None and image_data.GetNumberOfScalarComponents() > 1:
            components = image_data.GetNumberOfScalarComponents()
            if not 0 <= phase < components:
                raise ValueError(_("phase {phase} does not exist; volume '{name}' has phases 0-{last}").format(
                    phase=phase, name=volumeNode.GetName(), last=components - 1))
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
        return self._browserOf(volumeNode)[1]

    def _browserOf(self, volumeNode) -> tuple:
        """(browser, sequence) of a sequence's proxy node, or (None, None)."""
        for browser in self._nodes("vtkMRMLSequenceBrowserNode"):
            sequence = browser.GetSequenceNode(volumeNode)
            if sequence is not None:
                return browser, sequence
        return None, None

    def _nodes(self, class_name: str) -> list:
        return [self.scene.GetNthNodeByClass(i, class_name) for i in range(self.scene.GetNumberOfNodesByClass(class_name))]

    # ---- regions -------------------------------------------------------

    def generateRegions(self, volumeNode, segmentationNode, tumorSegmentId: str, peritumoralMm: float = 5.0,
                        ringMm: float = 2.0, exclusionSegmentIds: Sequence[str] = (),
                        airBelow: float | None = None, progress: Progress | None = None) -> list[str]:
        """Intratumoral, Peritumoral and Ring segments of one tumour; returns their segment IDs.

        A tumour that already has regions on this volume gets their voxels
        replaced in place (same IDs, names, colours), not a second set.
        """
        self.lastWarnings = []
        ids, _undo = self._generateRegions(volumeNode, segmentationNode, tumorSegmentId, peritumoralMm, ringMm,
                                       exclusionSegmentIds, airBelow, progress)
        return ids

    def _generateRegions(self, volumeNode, segmentationNode, tumorSegmentId, peritumoralMm, ringMm,
                         exclusionSegmentIds, airBelow, progress) -> tuple[list[str], _Undo]:
        dependencies.require("regions")
        from TMERadiomicsLib import regions

        blocker = self.regionsBlocker(volumeNode, segmentationNode, tumorSegmentId)
        if blocker:
            raise ValueError(blocker)
        _report(progress, _("Reading volume and segments"), 0.0)
        box = self._regionsBox(volumeNode, segmentationNode, tumorSegmentId, max(peritumoralMm, ringMm))
        image = volumes.volume_to_image(volumeNode, box=box)
        tumour = self._segmentMask(segmentationNode, tumorSegmentId, image, volumeNode)
        exclusionIds = [s for s in exclusionSegmentIds if s != tumorSegmentId]
        exclusions = [self._segmentMask(segmentationNode, s, image, volumeNode, allow_empty=True,
                                        part=box is not None) for s in exclusionIds]
        _report(progress, _("Building regions"), 0.2)
        result = regions.build(tumour, image, peritumoral_mm=peritumoralMm, ring_mm=ringMm,
                               exclusions=exclusions, air_below=airBelow, case_id=volumeNode.GetName())
        for name, summary in result.summary.items():
            for warning in summary.warnings:
                self._warn(f"{name}: {warning}")  # not translated: the library's own warning, named by region
        _report(progress, _("Adding segments"), 0.9)
        parameters = {
            "peritumoral_mm": float(peritumoralMm), "ring_mm": float(ringMm),
            "air_below": None if airBelow is None else float(airBelow),
            "exclusions": [segmentationNode.GetSegmentation().GetSegment(s).GetName() for s in exclusionIds
                           if segmentationNode.GetSegmentation().GetSegment(s) is not None],
            "phase": self._phaseProvenance(volumeNode),
        }
        return self._writeRegionSegments(segmentationNode, result.masks, volumeNode, tumorSegmentId, parameters)

    def _regionsBox(self, volumeNode, segmentationNode, tumorSegmentId, widthMm: float):
        """The part of the volume the regions need (``volumes.IjkBox``), or None for the whole volume.

        The tumour's box grown by the widest band and the library's margin, as
        ``regions.build`` crops it: built on this part, the regions, their voxel
        counts and their field-of-view warnings are those of the whole volume.
        """
        from TMERadiomicsLib.regions import CROP_MARGIN_VOXELS

        box = segments.segment_box(segmentationNode, tumorSegmentId, volumeNode)
        if box is None or box is segments.EMPTY:  # another grid, a surface, or empty: the whole volume says why
            return None
        pad = [math.ceil(widthMm / s) + CROP_MARGIN_VOXELS for s in volumeNode.GetSpacing()]
        return box.grown(pad, volumes.volume_size(volumeNode))

    def _segmentMask(self, segmentationNode, segmentId, image, volumeNode, allow_empty: bool = False,
                     part: bool = False):
        """A segment on the volume's grid, resampled if it lies on another; the resampling is a warning."""
        notes: list[str] = []
        mask = segments.segment_to_mask(segmentationNode, segmentId, image, allow_empty=allow_empty, notes=notes,
                                        volume_name=volumeNode.GetName() if volumeNode is not None else "",
                                        part=part)
        for note in notes:
            self._warn(note)
        return mask

    def _warn(self, message: str) -> None:
        message = self._warningPrefix + message
        logger.warning("%s", message)
        if message not in self.lastWarnings:
            self.lastWarnings.append(message)

    def _writeRegionSegments(self, segmentationNode, masks, volumeNode, tumorSegmentId,
                             parameters: dict) -> tuple[list[str], _Undo]:
        """Replace this tumour's regions on this volume, or add them; all three or none."""
        # Imported here: the library's packages may be installed only after the module loads.
        from TMERadiomicsLib.regions import REGION_COLOURS

        existing = self._lesionRegions(segmentationNode, volumeNode, tumorSegmentId)
        segmentation = segmentationNode.GetSegmentation()
        undo = _Undo()
        ids = []
        try:
            converted = segments.ensure_labelmap_source(segmentationNode, volumeNode)
            if converted is not None:
                undo.add(converted)
                self._warn(_("segmentation '{segmentation}' now stores binary labelmaps (as Segment Editor does before "
                             "editing), so the region segments keep their exact voxels").format(
                    segmentation=segmentationNode.GetName()))
            for name in REGION_NAMES:
                if name in existing:
                    segment_id = existing[name]
                    undo.add(self._segmentRestorer(segmentationNode, segment_id))
                    segments.replace_mask_segment(segmentationNode, segment_id, masks[name], volumeNode)
                    # The risk colours belonged to the old voxels' scores.
                    self._restoreColour(segmentationNode, segment_id)
                else:
                    segment_id = segments.add_mask_segment(
                        segmentationNode, masks[name], name.capitalize(), REGION_COLOURS[name], name, volumeNode)
                    undo.add(lambda segment_id=segment_id: segmentation.RemoveSegment(segment_id))
                segment = segmentation.GetSegment(segment_id)
                segment.SetTag(VOLUME_TAG, volumeNode.GetID() or "")
                segment.SetTag(segments.SOURCE_TAG, tumorSegmentId)
                segment.SetTag(PARAMETERS_TAG, json.dumps(parameters, sort_keys=True))
                ids.append(segment_id)
        except BaseException:
            undo()
            raise
        return ids, undo

    def _segmentRestorer(self, segmentationNode, segmentId) -> Callable[[], None]:
        """What undoes a replacement: the segment's voxels, colour and tags as they are now."""
        labelmap = segments.segment_labelmap(segmentationNode, segmentId)
        restoreLook = self._colourRestorer(segmentationNode, segmentId, _ALL_TAGS)

        def restore() -> None:
            import slicer

            module_logic = slicer.vtkSlicerSegmentationsModuleLogic
            module_logic.SetBinaryLabelmapToSegment(labelmap, segmentationNode, segmentId, module_logic.MODE_REPLACE)
            restoreLook()

        return restore

    @staticmethod
    def _colourRestorer(segmentationNode, segmentId, keys: Sequence[str] = OVERLAY_TAGS) -> Callable[[], None]:
        """What undoes a recolouring: the segment's colour and tags ``keys`` as they are now."""
        segment = segmentationNode.GetSegmentation().GetSegment(segmentId)
        colour = tuple(segment.GetColor())
        tags = {key: segments.segment_tag(segmentationNode, segmentId, key) for key in keys}

        def restore() -> None:
            segment.SetColor(*colour)
            for key, value in tags.items():
                if value:
                    segment.SetTag(key, value)
                else:
                    segment.RemoveTag(key)

        return restore

    def _lesionRegions(self, segmentationNode, volumeNode, tumorSegmentId) -> dict[str, str]:
        """Region name -> segment ID of the regions generated from this tumour on this volume."""
        volumeId = volumeNode.GetID() if volumeNode is not None else ""
        found = {}
        for segmentId, region in segments.tagged_region_segments(segmentationNode):
            if (region in REGION_NAMES and region not in found
                    and segments.segment_tag(segmentationNode, segmentId, segments.SOURCE_TAG) == tumorSegmentId
                    and segments.segment_tag(segmentationNode, segmentId, VOLUME_TAG) == (volumeId or "")):
                found[region] = segmentId
        return found

    def regionSegmentIds(self, segmentationNode, volumeNode=None, tumorSegmentId: str | None = None) -> list[str]:
        """The region segments of a segmentation, found from their ``TMERadiomics.Region`` tags.

        Intratumoral, peritumoral, ring (those present), the last generated of
        each; with ``tumorSegmentId`` only the regions generated from that
        tumour (its ``TMERadiomics.SourceSegmentID`` tag); segments generated
        on ``volumeNode`` are preferred. Nothing is remembered between calls,
        so this is right after a segmentation change, a scene close or a reload.
        """
        if segmentationNode is None:
            return []
        volumeId = volumeNode.GetID() if volumeNode is not None else None
        chosen: dict[str, tuple[bool, str]] = {}
        for segmentId, region in segments.tagged_region_segments(segmentationNode):
            if region not in REGION_NAMES:
                continue
            if tumorSegmentId and segments.segment_tag(segmentationNode, segmentId,
                                                       segments.SOURCE_TAG) != tumorSegmentId:
                continue
            onVolume = bool(volumeId) and segments.segment_tag(segmentationNode, segmentId, VOLUME_TAG) == volumeId
            if region not in chosen or onVolume or not chosen[region][0]:
                chosen[region] = (onVolume, segmentId)
        return [chosen[region][1] for region in REGION_NAMES if region in chosen]

    def tumourSegmentIds(self, segmentationNode) -> list[str]:
        """The segments that can be tumours: every segment that is not a TMERadiomics region segment."""
        if segmentationNode is None:
            return []
        segmentation = segmentationNode.GetSegmentation()
        regionIds = {segmentId for segmentId, _region in segments.tagged_region_segments(segmentationNode)}
        return [segmentation.GetNthSegmentID(i) for i in range(segmentation.GetNumberOfSegments())
                if segmentation.GetNthSegmentID(i) not in regionIds]

    def regionsBlocker(self, volumeNode, segmentationNode, tumorSegmentId: str | None) -> str | None:
        """Why Generate regions cannot run yet, or None."""
        if volumeNode is None:
            return _("Select a DCE volume.")
        if segmentationNode is None:
            return _("Select a segmentation.")
        if not tumorSegmentId or segmentationNode.GetSegmentation().GetSegment(tumorSegmentId) is None:
            return _("Select the tumour segment.")
        if segments.segment_tag(segmentationNode, tumorSegmentId, segments.REGION_TAG):
            name = segmentationNode.GetSegmentation().GetSegment(tumorSegmentId).GetName()
            return _("'{name}' is a region TMERadiomics generated, not a tumour; select the tumour segment.").format(
                name=name)
        return None

    # ---- features ------------------------------------------------------

    def computeFeatures(self, volumeNode, segmentationNode, regionSegmentIds: Sequence[str],
                        preset: str | PathLike = "default", progress: Progress | None = None):
        """A features vtkMRMLTableNode (one row per feature, one column per region), computed in this process.

        Computing the same lesion's regions again (same regions, volume, phase
        and preset) refills that lesion's table instead of adding another. The
        panel runs the same steps with the extraction in a worker process
        (``startComputeFeatures`` / ``finishComputeFeatures``).
        """
        self.lastWarnings = []
        node, _undo = self._computeFeatures(volumeNode, segmentationNode, regionSegmentIds, preset, progress)
        return node

    def _computeFeatures(self, volumeNode, segmentationNode, regionSegmentIds, preset, progress, extracted=None):
        """(table, undo); ``extracted``: the ``CaseFeatures`` a worker computed for these inputs."""
        dependencies.require("features")
        from TMERadiomicsLib.features.extract import extract_case

        blocker = self.featuresBlocker(volumeNode, segmentationNode, regionSegmentIds)
        if blocker:
            raise ValueError(blocker)
        features = extracted
        if features is None:  # the worker read the same scene when it started: not again here
            _report(progress, _("Reading volume and regions"), 0.0)
            image, masks, handed = self._featureInputs(volumeNode, segmentationNode, regionSegmentIds, preset)
            _report(progress, _("Extracting features (PyRadiomics)"), 0.1)
            quietRadiomics()
            features = extract_case(image, masks, preset, case_id=volumeNode.GetName(),
                                    progress=_scaled(progress, 0.1, 0.95),
                                    whole_image_extreme=handed.extreme if handed is not None else None)
        provenance = self._featuresProvenance(volumeNode, segmentationNode, regionSegmentIds, features)
        _report(progress, _("Writing the features table"), 0.95)
        return self._writeFeaturesTable(features, provenance)

    def _writeFeaturesTable(self, features, provenance: dict[str, str]) -> tuple[object, _Undo]:
        """The features table of a lesion (``CaseFeatures``): refilled when the same lesion has one, else new."""
        frame, meta = tables.case_columns(features)
        lesion = provenance.get("SourceSegmentName", "")
        name = " ".join(filter(None, [meta["case_id"], lesion, f"features ({meta['preset']})"]))
        attributes = {"Kind": "features", **meta, **provenance, "Warnings": json.dumps(self.lastWarnings)}
        return self._putTable(name, frame, attributes, FEATURES_IDENTITY)

    def _featuresProvenance(self, volumeNode, segmentationNode, regionSegmentIds, features) -> dict[str, str]:
        """What a features table was computed from, as table attributes (see docs/slicer.md).

        The versions are those of the process that extracted (``features.diagnostics``): in the panel
        that is the worker, and PyRadiomics need not be imported on the GUI thread.
        """
        versions = features.diagnostics.get("versions", {})
        sources = {segments.segment_tag(segmentationNode, s, segments.SOURCE_TAG) for s in regionSegmentIds}
        stored = {segments.segment_tag(segmentationNode, s, PARAMETERS_TAG) for s in regionSegmentIds} - {""}
        if len(sources) > 1 or len(stored) > 1:
            self._warn(_("the region segments come from different runs of Generate regions (another tumour, band "
                         "width or exclusion); the table records the first"))
        parameters = json.loads(sorted(stored)[0]) if stored else {}
        source = segments.segment_tag(segmentationNode, regionSegmentIds[0], segments.SOURCE_TAG)
        sourceSegment = segmentationNode.GetSegmentation().GetSegment(source) if source else None
        air = parameters.get("air_below")
        return {
            "VolumeNodeID": volumeNode.GetID() or "",
            "SegmentationNodeID": segmentationNode.GetID() or "",
            "RegionSegmentIDs": ",".join(regionSegmentIds),
            "SourceSegmentID": source,
            "SourceSegmentName": sourceSegment.GetName() if sourceSegment is not None else "",
            **self._phaseProvenance(volumeNode),
            "RegionsPhase": json.dumps(parameters.get("phase", {}), sort_keys=True),
            "PeritumoralMm": _text(parameters.get("peritumoral_mm")),
            "RingMm": _text(parameters.get("ring_mm")),
            "AirBelow": _text(air) if air is not None else ("none" if parameters else ""),
            "Exclusions": json.dumps(parameters.get("exclusions", [])),
            "TMERadiomicsVersion": str(versions.get("tmeradiomics", "")),
            "PyRadiomicsVersion": str(versions.get("pyradiomics", "")),
        }

    def _phaseProvenance(self, volumeNode) -> dict[str, str]:
        """The phase actually read: for a sequence its item number and index value, not the proxy's ID."""
        browser, sequence = self._browserOf(volumeNode) if not isinstance(volumeNode, volumes.SequencePhase) \
            else (None, None)
        return volumes.phase_provenance(volumeNode, browser, sequence)

    def _putTable(self, name: str, frame, attributes: dict[str, str], identity: tuple[str, ...]):
        """Refill the table node whose ``identity`` attributes match (same lesion), else add one.

        Returns (node, undo): undo restores a refilled table or removes a new one.
        """
        existing = self._findTable({key: attributes.get(key, "") for key in identity})
        if existing is None:
            node = self._newTable(name, frame, attributes)
            return node, _Undo(lambda: self.scene.RemoveNode(node))
        previous, previousName = vtk.vtkTable(), existing.GetName()
        previous.DeepCopy(existing.GetTable())
        previousAttributes = tables.attributes_of(existing)
        tables.clear_attributes(existing)
        tables.frame_to_table(frame, existing, attributes)
        existing.SetName(name)

        def restore() -> None:
            existing.SetAndObserveTable(previous)
            existing.SetName(previousName)
            tables.clear_attributes(existing)
            for key, value in previousAttributes.items():
                existing.SetAttribute(key, value)

        return existing, _Undo(restore)

    def _findTable(self, identity: dict[str, str]):
        for node in self._nodes("vtkMRMLTableNode"):
            if all((tables.table_attribute(node, key) or "") == value for key, value in identity.items()):
                return node
        return None

    def _newTable(self, name: str, frame, attributes: dict[str, str]):
        """A new table node holding ``frame``; nothing is left in the scene if filling it fails."""
        node = self.scene.AddNewNodeByClass("vtkMRMLTableNode", name)
        try:
            tables.frame_to_table(frame, node, attributes)
        except BaseException:
            self.scene.RemoveNode(node)
            raise
        return node

    def _featureInputs(self, volumeNode, segmentationNode, regionSegmentIds, preset):
        """(image, region masks, handover): the part of the volume the features need, or the whole one.

        The part is the one ``extract_case`` would crop itself (the regions'
        box padded for the widest filter, ``worker/handover.py``), so the
        features are those of the whole volume; ``handover`` (None for the
        whole volume) carries what a part cannot: the whole image's extreme
        intensity for the point-wise filters, its size and the part's box.
        """
        from TMERadiomicsLib.features.presets import load_preset
        from TMERadiomicsLib.worker.handover import array_extreme, plan_handover

        boxes = [segments.segment_box(segmentationNode, s, volumeNode) for s in regionSegmentIds]
        found = [b for b in boxes if b is not None and b is not segments.EMPTY]
        handed = None
        if found and None not in boxes:  # every region on the volume's grid
            preset = load_preset(preset)
            handed = plan_handover([(b.lower, b.upper) for b in found], volumes.volume_size(volumeNode),
                                   volumeNode.GetSpacing(), preset,
                                   lambda: array_extreme(volumes.phase_array(volumeNode)))
        box = volumes.IjkBox(tuple(handed.box.lower), tuple(handed.box.upper)) if handed is not None else None
        image = volumes.volume_to_image(volumeNode, box=box)
        return image, self._regionMasks(segmentationNode, regionSegmentIds, image, volumeNode), handed

    def _regionMasks(self, segmentationNode, regionSegmentIds, image, volumeNode=None) -> dict:
        masks = {}
        for segment_id in regionSegmentIds:
            region = segments.segment_region(segmentationNode, segment_id)
            if region not in REGION_NAMES:
                raise ValueError(_("segment '{segment}' is not an intratumoral, peritumoral or ring region").format(
                    segment=segment_id))
            if region in masks:
                raise ValueError(_("two segments hold the {region} region; select one").format(region=region))
            masks[region] = self._segmentMask(segmentationNode, segment_id, image, volumeNode, allow_empty=True)
        return masks

    def featuresBlocker(self, volumeNode, segmentationNode, regionSegmentIds) -> str | None:
        """Why Compute features cannot run yet, or None."""
        if volumeNode is None:
            return _("Select a DCE volume.")
        if segmentationNode is None:
            return _("Select a segmentation.")
        if not regionSegmentIds:
            return _("Generate regions first.")
        return None

    # ---- kinetics ------------------------------------------------------

    def computeKinetics(self, volumeNode, segmentationNode, regionSegmentIds: Sequence[str], phaseNodes=None,
                        timesText: str = "", progress: Progress | None = None):
        """The DCE kinetic maps, each region's mean curve and its chart, added to the scene (``kinetics.py``).

        The phases are ``phaseNodes`` (volumes loaded one per phase) or the
        selected volume's sequence items or components; the times are
        ``timesText`` when given, else what the sequence or multivolume records.
        Returns a ``kinetics.KineticsOutput``; ValueError for a bad input, with
        the scene unchanged.
        """
        from . import kinetics

        _report(progress, _("Reading the phases"), 0.0)
        result, series = kinetics.compute(self, volumeNode, segmentationNode, regionSegmentIds, phaseNodes,
                                          timesText, progress)
        _report(progress, _("Adding the maps and curves"), 0.8)
        name = volumeNode.GetName() if volumeNode is not None else phaseNodes[0].GetName()
        source_id = (volumeNode or phaseNodes[0]).GetID() or name
        return kinetics.add_to_scene(self.scene, result, series, name, source_id)

    def kineticsBlocker(self, volumeNode, segmentationNode, regionSegmentIds, phaseNodes=None) -> str | None:
        """Why Compute kinetics cannot run yet, or None."""
        if volumeNode is None and not phaseNodes:
            return _("Select a DCE volume, or check the phase volumes.")
        if segmentationNode is None:
            return _("Select a segmentation.")
        if not regionSegmentIds:
            return _("Generate regions first.")
        if not phaseNodes and self.phaseCount(volumeNode) < 2:
            return _("The volume has one phase: select a sequence or a multi-volume, or check the phase volumes.")
        if phaseNodes is not None and 0 < len(phaseNodes) < 3:
            return _("Check every phase, pre-contrast first (at least three).")
        return None

    # ---- models --------------------------------------------------------

    def applyModels(self, featuresTableNode, bundlePaths: Sequence[str | PathLike], segmentationNode=None,
                    progress: Progress | None = None):
        """A scores vtkMRMLTableNode; recolours the lesion's region segments by risk group and writes the summary.

        Scoring the same features table again refills its scores table.
        """
        self.lastWarnings = []
        node, _undo = self._applyModels(featuresTableNode, bundlePaths, segmentationNode, progress)
        return node

    def _applyModels(self, featuresTableNode, bundlePaths, segmentationNode, progress):
        dependencies.require("models")
        from TMERadiomicsLib.models import load_bundle

        if not bundlePaths:
            raise ValueError(_("Select at least one model."))
        combined = tables.combined_from_table(featuresTableNode)
        _report(progress, _("Loading models"), 0.0)
        bundles = [load_bundle(path) for path in bundlePaths]
        inputs = {id(bundle): self._withSite(bundle, combined) for bundle in bundles}
        for bundle in bundles:  # refuse before anything is scored or changed
            self._checkBundle(bundle, inputs[id(bundle)])
        rows = [self._scoreRow(bundle, inputs[id(bundle)]) for bundle in bundles]
        _report(progress, _("Writing scores and overlay"), 0.9)
        case_id = tables.table_attribute(featuresTableNode, "case_id") or ""
        lesion = tables.table_attribute(featuresTableNode, "SourceSegmentName") or ""
        summary = overlay.summary_text(" - ".join(filter(None, [case_id, lesion])), rows)
        segmentationNode = segmentationNode or self._segmentationOf(featuresTableNode)
        colours = self._riskColours(segmentationNode, featuresTableNode, bundles, rows)
        # Everything is computed; only now is the scene written.
        provenance = {key: tables.table_attribute(featuresTableNode, key) or "" for key in tables.PROVENANCE}
        node, undo = self._putTable(" ".join(filter(None, [case_id, lesion, "scores"])), tables.scores_frame(rows), {
            "Kind": "scores", **provenance, "FeaturesTableNodeID": featuresTableNode.GetID() or "",
            "Models": json.dumps([bundle.manifest.name for bundle in bundles]), "Summary": summary,
            "Warnings": json.dumps(self.lastWarnings),
        }, SCORES_IDENTITY)
        for segment_id, (colour, group, model) in colours.items():
            undo.add(self._colourRestorer(segmentationNode, segment_id))
            self._overlay(segmentationNode, segment_id, colour, group, model)
        undo.add(self._writeSummary(summary))
        return node, undo

    def _withSite(self, bundle, combined):
        """The case's row with the site a harmonised bundle scores by (the Site field), or as it is."""
        model = bundle.harmonisation
        if model is None:
            return combined
        if model.design.covariates:
            raise ValueError(_("model {model} harmonises by site and the covariates {covariates}, which the panel "
                               "does not hold: score it with tmeradiomics score").format(
                model=bundle.manifest.name, covariates=", ".join(model.design.covariates)))
        site = (self.caseSite or "").strip()
        if not site:
            raise ValueError(_("model {model} removes site effects (ComBat by '{column}'): type the case's site in "
                               "the Site field, one of {sites}").format(
                model=bundle.manifest.name, column=model.batch_column, sites=", ".join(model.sites)))
        return combined.assign(**{model.batch_column: site})

    @staticmethod
    def _checkBundle(bundle, combined) -> None:
        if not bundle.manifest.calibrated:
            raise ValueError(_(
                "model {model} needs calibration on a reference cohort before it can score one case "
                "(tmeradiomics calibrate); select its calibrated copy").format(model=bundle.manifest.name))
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
        """Segment ID -> (colour, group, model): the first model with a risk group colours the lesion's regions."""
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
        return {segment_id: (overlay.risk_colour(index, segments.segment_region(segmentationNode, segment_id)),
                             row["Risk group"], row["Model"])
                for segment_id in filter(None, ids) if segmentation.GetSegment(segment_id) is not None}

    @staticmethod
    def _overlay(segmentationNode, segmentId, colour, group: str, model: str) -> None:
        """Risk-colour a region segment, keeping its own colour in a tag for restoreRegionColours."""
        segment = segmentationNode.GetSegmentation().GetSegment(segmentId)
        if not segments.segment_tag(segmentationNode, segmentId, ORIGINAL_COLOUR_TAG):
            segment.SetTag(ORIGINAL_COLOUR_TAG, ",".join(repr(float(c)) for c in segment.GetColor()))
        segment.SetColor(*colour)
        segment.SetTag(RISK_GROUP_TAG, group)
        segment.SetTag(RISK_MODEL_TAG, model)

    @staticmethod
    def _restoreColour(segmentationNode, segmentId) -> None:
        """Undo the risk overlay of one segment (nothing if it has none)."""
        original = segments.segment_tag(segmentationNode, segmentId, ORIGINAL_COLOUR_TAG)
        segment = segmentationNode.GetSegmentation().GetSegment(segmentId)
        if original:
            segment.SetColor(*(float(c) for c in original.split(",")))
        for key in OVERLAY_TAGS:
            segment.RemoveTag(key)

    def restoreRegionColours(self, segmentationNode, tumorSegmentId: str | None = None) -> None:
        """Give region segments (of one tumour, or all) back the colours they had before the risk overlay."""
        self.lastWarnings = []
        if segmentationNode is None:
            return
        for segmentId, _region in segments.tagged_region_segments(segmentationNode):
            if tumorSegmentId and segments.segment_tag(segmentationNode, segmentId,
                                                       segments.SOURCE_TAG) != tumorSegmentId:
                continue
            self._restoreColour(segmentationNode, segmentId)

    def legendEntries(self, segmentationNode=None) -> list[tuple[str, tuple[float, float, float]]]:
        """(label, colour) of every region colour the views show now, in segment order, without repeats.

        A risk-coloured region reads "High risk (model): Intratumoral"; a
        region in its own colour reads "Intratumoral". Hidden segments are left out.
        """
        nodes = [segmentationNode] if segmentationNode is not None else self._nodes("vtkMRMLSegmentationNode")
        entries: list[tuple[str, tuple[float, float, float]]] = []
        for node in nodes:
            display = node.GetDisplayNode()
            for segmentId, region in segments.tagged_region_segments(node):
                if display is not None and not (display.GetVisibility() and display.GetSegmentVisibility(segmentId)):
                    continue
                colour = tuple(round(float(c), 4) for c in node.GetSegmentation().GetSegment(segmentId).GetColor())
                group = segments.segment_tag(node, segmentId, RISK_GROUP_TAG)
                label = region.capitalize()
                if group:
                    model = segments.segment_tag(node, segmentId, RISK_MODEL_TAG)
                    label = f"{group[:1].upper() + group[1:]} risk ({model}): {label}"
                if (label, colour) not in entries:
                    entries.append((label, colour))
        return entries

    def _writeSummary(self, summary: str) -> Callable[[], None]:
        """Write the summary text node; returns what puts the previous text back."""
        node = self.scene.GetFirstNodeByName(SUMMARY_NODE_NAME)
        if node is None:
            node = self.scene.AddNewNodeByClass("vtkMRMLTextNode", SUMMARY_NODE_NAME)

            def undo() -> None:
                self.scene.RemoveNode(node)
        else:
            previous = node.GetText()

            def undo() -> None:
                node.SetText(previous)
        node.SetText(summary)
        return undo

    def summaryText(self) -> str:
        node = self.scene.GetFirstNodeByName(SUMMARY_NODE_NAME)
        return node.GetText() if node is not None else ""

    def modelsBlocker(self, featuresTableNode, bundlePaths) -> str | None:
        """Why Apply models cannot run yet, or None."""
        if featuresTableNode is None:
            return _("Compute features first.")
        if not bundlePaths:
            return _("Select at least one model.")
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
        self.lastWarnings = []
        ids, features, scores, _undo = self._runAll(volumeNode, segmentationNode, tumorSegmentId, preset, bundlePaths,
                                                peritumoralMm, ringMm, exclusionSegmentIds, airBelow, progress)
        return ids, features, scores

    def _runAll(self, volumeNode, segmentationNode, tumorSegmentId, preset, bundlePaths, peritumoralMm, ringMm,
                exclusionSegmentIds, airBelow, progress):
        """Run all is one action: a failure or cancel undoes what it added or replaced."""
        if bundlePaths:
            dependencies.require("models")  # fail before adding segments, not after
        undo = _Undo()
        try:
            ids, step = self._generateRegions(volumeNode, segmentationNode, tumorSegmentId, peritumoralMm, ringMm,
                                              exclusionSegmentIds, airBelow, _scaled(progress, 0.0, 0.1))
            undo.add(step)
            features, step = self._computeFeatures(volumeNode, segmentationNode, ids, preset,
                                                   _scaled(progress, 0.1, 0.9))
            undo.add(step)
            scores = None
            if bundlePaths:
                scores, step = self._applyModels(features, bundlePaths, segmentationNode,
                                                 _scaled(progress, 0.9, 1.0))
                undo.add(step)
        except BaseException:
            undo()
            raise
        return ids, features, scores, undo

    def runAllLesions(self, volumeNode, segmentationNode, tumorSegmentIds: Sequence[str], preset: str | PathLike,
                      bundlePaths: Sequence[str | PathLike], *, peritumoralMm: float = 5.0, ringMm: float = 2.0,
                      exclusionSegmentIds: Sequence[str] = (), airBelow: float | None = None,
                      progress: Progress | None = None) -> list[LesionResult]:
        """Run all for every tumour segment given (e.g. ``tumourSegmentIds(segmentation)``), as one action.

        Each lesion gets its own regions, features table and scores table;
        ``lastLesionsTable`` holds one row per lesion. Every tumour is checked
        before anything runs, and a failure or cancel undoes all lesions.
        """
        self.lastWarnings = []
        tumours = self._lesionsToRun(volumeNode, segmentationNode, tumorSegmentIds, exclusionSegmentIds)
        results: list[LesionResult] = []
        undo = _Undo()
        try:
            for number, tumour in enumerate(tumours):
                name = segmentationNode.GetSegmentation().GetSegment(tumour).GetName()
                self._warningPrefix, before = f"{name}: ", len(self.lastWarnings)
                ids, features, scores, step = self._runAll(
                    volumeNode, segmentationNode, tumour, preset, bundlePaths, peritumoralMm, ringMm,
                    exclusionSegmentIds, airBelow,
                    _prefixed(_scaled(progress, number / len(tumours), (number + 1) / len(tumours)),
                              f"Lesion {number + 1} of {len(tumours)} ({name}): "))
                undo.add(step)
                results.append(LesionResult(tumour, name, ids, features, scores, self.lastWarnings[before:]))
            self._warningPrefix = ""
            table, step = self._writeLesionsTable(volumeNode, segmentationNode, results)
            undo.add(step)
            if bundlePaths:
                undo.add(self._writeSummary("\n\n".join(
                    tables.table_attribute(r.scores, "Summary") or "" for r in results)))
        except BaseException:
            undo()
            raise
        finally:
            self._warningPrefix = ""
        self.lastLesionsTable = table
        return results

    def _lesionsToRun(self, volumeNode, segmentationNode, tumorSegmentIds, exclusionSegmentIds) -> list[str]:
        """The tumours of a Run all over several lesions, every one checked before anything runs."""
        tumours = [t for t in tumorSegmentIds if t not in set(exclusionSegmentIds)]
        if not tumours:
            raise ValueError(_("Select the tumour segments."))
        for tumour in tumours:
            blocker = self.regionsBlocker(volumeNode, segmentationNode, tumour)
            if blocker:
                raise ValueError(blocker)
        return tumours

    def startRunAllLesions(self, volumeNode, segmentationNode, tumorSegmentIds: Sequence[str],
                           preset: str | PathLike, bundlePaths: Sequence[str | PathLike], **options):
        """``runAllLesions`` with each lesion's features in a worker process, one lesion after another.

        Returns a ``lesions_job.LesionsJob`` that the Widget polls like a ``worker.Job``;
        ``finishRunAllLesions(job)`` writes the one-row-per-lesion table. Options as ``runAll``.
        """
        from .lesions_job import LesionsJob

        self.lastWarnings = []
        tumours = self._lesionsToRun(volumeNode, segmentationNode, tumorSegmentIds,
                                     options.get("exclusionSegmentIds", ()))
        if bundlePaths:
            dependencies.require("models")
        return LesionsJob(self, volumeNode, segmentationNode, tumours, preset, list(bundlePaths), options, _Undo(),
                          LesionResult)

    def finishRunAllLesions(self, job) -> list[LesionResult]:
        """The lesions' results; any failure (of a lesion or here) undoes every lesion."""
        try:
            results = job.results()
            table, step = self._writeLesionsTable(job.volumeNode, job.segmentationNode, results)
            job.undo.add(step)
            if job.bundlePaths:
                job.undo.add(self._writeSummary("\n\n".join(
                    tables.table_attribute(r.scores, "Summary") or "" for r in results)))
        except BaseException:
            job.undo()
            raise
        self.lastLesionsTable = table
        return results

    def _writeLesionsTable(self, volumeNode, segmentationNode, results: list[LesionResult]):
        """One row per lesion: its tumour segment, tables and each model's score and risk group."""
        import pandas as pd

        rows = []
        for result in results:
            row: dict[str, object] = {"Lesion": result.tumorName, "Tumour segment ID": result.tumorSegmentId,
                                      "Features table": result.features.GetName(),
                                      "Warnings": len(result.warnings)}
            if result.scores is not None:
                for score in tables.table_to_frame(result.scores).itertuples(index=False):
                    row[f"{score[0]} score"] = float(score[2])
                    row[f"{score[0]} risk group"] = score[4] or score[5]
            rows.append(row)
        first = results[0].features
        attributes = {"Kind": "lesions", "SegmentationNodeID": segmentationNode.GetID() or "",
                      **{key: tables.table_attribute(first, key) or "" for key in tables.PROVENANCE
                         if key not in ("SourceSegmentID", "SourceSegmentName")},
                      "Warnings": json.dumps(self.lastWarnings)}
        case_id = tables.table_attribute(first, "case_id") or volumeNode.GetName()
        return self._putTable(f"{case_id} lesions", pd.DataFrame(rows), attributes, LESIONS_IDENTITY)

    # ---- export --------------------------------------------------------

    def exportTable(self, tableNode, csvPath: str | PathLike, overwrite: bool = False) -> tuple[Path, Path]:
        """Write a table as CSV and its provenance (the node's TMERadiomics attributes) as a JSON sidecar.

        Both files are written through temporary files and renames; an
        existing CSV or sidecar is refused unless ``overwrite``. Returns (CSV path, JSON path).
        """
        self.lastWarnings = []
        return export.export_table(tableNode, csvPath, overwrite=overwrite)

    # ---- background work (a worker process; the Widget polls) ------------

    def startComputeFeatures(self, volumeNode, segmentationNode, regionSegmentIds: Sequence[str],
                             preset: str | PathLike = "default"):
        """Compute features in a worker process; returns its ``worker.Job`` at once.

        Here, on the GUI thread: the checks, reading the scene and writing the
        crop the extraction needs. The Widget polls ``job.poll()``, then calls
        ``finishComputeFeatures(job)`` (or ``job.cancel()``).
        """
        self.lastWarnings = []
        return self._startFeaturesJob(volumeNode, segmentationNode, regionSegmentIds, preset)

    def _startFeaturesJob(self, volumeNode, segmentationNode, regionSegmentIds, preset):
        dependencies.require("features")
        from TMERadiomicsLib.worker.handover import write_features_job

        from . import worker

        blocker = self.featuresBlocker(volumeNode, segmentationNode, regionSegmentIds)
        if blocker:
            raise ValueError(blocker)
        image, masks, handed = self._featureInputs(volumeNode, segmentationNode, regionSegmentIds, preset)
        folder = worker.new_folder()
        try:
            job = write_features_job(folder, image, masks, preset, volumeNode.GetName(), handed=handed)
            started = worker.start_library_job("Compute features", folder, job)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        started.context.update(volume=volumeNode, segmentation=segmentationNode,
                               regionSegmentIds=list(regionSegmentIds), preset=preset)
        return started

    def finishComputeFeatures(self, job):
        """The features table of a finished job, added (or refilled) in one step; the job is closed."""
        node, _undo = self._finishFeaturesJob(job)
        return node

    def _finishFeaturesJob(self, job):
        """(table, undo): the undo also takes back what the job's start added (Run all's regions)."""
        from TMERadiomicsLib.worker.results import features_from_json

        try:
            features = features_from_json(job.result()["features"])
            c = job.context
            node, step = self._computeFeatures(c["volume"], c["segmentation"], c["regionSegmentIds"], c["preset"],
                                               None, extracted=features)
            return node, _Undo(*job.undo, step)
        except BaseException:
            job.rollback()
            raise
        finally:
            job.close()

    def startRunAll(self, volumeNode, segmentationNode, tumorSegmentId: str, preset: str | PathLike,
                    bundlePaths: Sequence[str | PathLike], *, peritumoralMm: float = 5.0, ringMm: float = 2.0,
                    exclusionSegmentIds: Sequence[str] = (), airBelow: float | None = None):
        """Run all with the features in a worker: regions now (fast), features in the child.

        Cancelling or failing the job puts the region segments back as they were
        (removed, or their earlier voxels when they were refilled).
        """
        self.lastWarnings = []
        if bundlePaths:
            dependencies.require("models")
        return self._startRunAll(volumeNode, segmentationNode, tumorSegmentId, preset, bundlePaths,
                                 peritumoralMm, ringMm, exclusionSegmentIds, airBelow)

    def _startRunAll(self, volumeNode, segmentationNode, tumorSegmentId, preset, bundlePaths, peritumoralMm,
                     ringMm, exclusionSegmentIds, airBelow):
        ids, undo = self._generateRegions(volumeNode, segmentationNode, tumorSegmentId, peritumoralMm, ringMm,
                                          exclusionSegmentIds, airBelow, None)
        try:
            job = self._startFeaturesJob(volumeNode, segmentationNode, ids, preset)
        except BaseException:
            undo()
            raise
        job.title = "Run all"
        job.undo.append(undo)
        job.context.update(regionSegmentIds=ids, bundlePaths=list(bundlePaths))
        return job

    def finishRunAll(self, job):
        """(segment IDs, features, scores) of a finished Run all job; on failure nothing stays changed."""
        return self._finishRunAll(job)[:3]

    def _finishRunAll(self, job):
        """(segment IDs, features, scores, undo): the undo takes back the whole Run all."""
        features, undo = self._finishFeaturesJob(job)  # rolls the regions back itself on failure
        c = job.context
        scores = None
        if c["bundlePaths"]:
            try:
                scores, step = self._applyModels(features, c["bundlePaths"], c["segmentation"], None)
            except BaseException:
                undo()
                raise
            undo.add(step)
        return c["regionSegmentIds"], features, scores, undo

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
        """``tmeradiomics batch`` over a manifest or a cohort folder (``cohort.py``) in a child process."""
        from . import cohort

        return cohort.start_cohort(source, out, preset, bundlePaths, peritumoralMm=peritumoralMm, ringMm=ringMm)

    def finishCohort(self, job) -> dict:
        """The batch's cohort tables as table nodes (``cohort.finish_cohort``)."""
        from . import cohort

        return cohort.finish_cohort(self.scene, job)

    def cohortBlocker(self, source, out, preset) -> str | None:
        from . import cohort

        return cohort.cohort_blocker(source, out, preset)


@dataclass
class LesionResult:
    """What Run all made for one lesion (one tumour segment)."""

    tumorSegmentId: str
    tumorName: str
    regionSegmentIds: list[str]
    features: object  # vtkMRMLTableNode
    scores: object | None  # vtkMRMLTableNode, or None without models
    warnings: list[str] = field(default_factory=list)


class _Undo:
    """Steps that take back what an action wrote, run last-first."""

    def __init__(self, *steps: Callable[[], None]) -> None:
        self._steps = list(steps)

    def add(self, step: Callable[[], None]) -> None:
        self._steps.append(step)

    def __call__(self) -> None:
        for step in reversed(self._steps):
            try:
                step()
            except Exception:  # keep undoing: the caller re-raises the first error
                logger.exception("could not undo a step")
        self._steps.clear()


def _text(value) -> str:
    return "" if value is None else repr(float(value)) if isinstance(value, (int, float)) else str(value)


def _prefixed(progress: Progress | None, prefix: str) -> Progress | None:
    if progress is None:
        return None
    return lambda message, fraction: progress(prefix + message, fraction)


def _scaled(progress: Progress | None, start: float, stop: float) -> Progress | None:
    if progress is None:
        return None
    return lambda message, fraction: progress(message, start + (stop - start) * fraction)


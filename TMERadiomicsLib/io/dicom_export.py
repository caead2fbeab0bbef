"""Results back to PACS: the regions as a DICOM SEG, the features and scores as a DICOM SR (TID 1500).

Both are made with highdicom from the source DICOM series (the image the
regions were built on), so a viewer (OHIF, Slicer, a PACS) shows them over it:
the SEG's frames reference the series' instances, the SR references the SEG's
segments and the series.

No patient identifier of the source reaches them. highdicom copies the
patient and study modules from the source images; ``_carry_case_id_only``
then replaces the name and ID with the user's case ID and blanks birth date,
sex, age, accession number, referring physician, study ID, dates and
institution. What links the objects to the study are the UIDs of the
referenced series (Study, Series, Frame of Reference and SOP Instance UIDs
of the source images), which a viewer needs and which identify no one.

Feature names have no standard codes: they are coded in a private scheme
(``99TMER``) whose code meaning is the PyRadiomics name (``_concept``), as are
the score and risk-group concepts. Features are dimensionless except the shape features,
whose UCUM units follow from their names (mm, mm2, mm3).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from .. import __version__
from ..errors import InputError
from .dicom_support import PathLike, require_highdicom

SCHEME = "99TMER"  # private coding scheme of this project (DICOM PS3.16 8.2: 99 prefix)
MANUFACTURER = "TMERadiomics"
SEG_SERIES_NUMBER, SR_SERIES_NUMBER = 9901, 9902
REGION_MEANINGS = {"intratumoral": "Intratumoral region", "peritumoral": "Peritumoral region",
                   "ring": "Peritumoral ring region"}
# Attributes blanked in every object written (identifiers and what narrows one down).
BLANKED = ("PatientBirthDate", "PatientSex", "PatientAge", "AccessionNumber", "ReferringPhysicianName", "StudyID",
           "StudyDate", "StudyTime")
REMOVED = ("InstitutionName", "InstitutionAddress", "InstitutionalDepartmentName", "OtherPatientIDsSequence",
           "OtherPatientNames", "PatientAddress", "PatientTelephoneNumbers", "IssuerOfPatientID",
           "PatientBirthTime", "PatientWeight", "PatientSize", "EthnicGroup", "PatientComments",
           "RequestingPhysician", "PerformingPhysicianName", "OperatorsName", "StationName")


@dataclass(frozen=True)
class CaseScore:
    """One bundle's result for the case (a row of ``tmeradiomics score --out``)."""

    bundle: str
    radscore: float | None
    probability: float | None
    risk_group: str


def source_series(folder: PathLike, image: sitk.Image, *, case_id: str | None = None) -> list:
    """The pydicom datasets of the DICOM series ``image`` was read from, in SimpleITK's slice order."""
    import pydicom  # noqa: PLC0415

    folder = Path(folder)
    if not folder.is_dir():
        raise InputError("export-dicom needs the DICOM series folder the regions were built on", file=folder,
                         case=case_id)
    ids = sitk.ImageSeriesReader.GetGDCMSeriesIDs(str(folder))
    if len(ids) != 1:
        raise InputError(f"folder holds {len(ids)} DICOM series; export-dicom needs the one series of the image",
                         file=folder, case=case_id, value=len(ids))
    names = sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(folder), ids[0])
    if len(names) != image.GetSize()[2]:
        raise InputError(f"the series has {len(names)} slices, the image {image.GetSize()[2]}: a multi-frame "
                         "or 4-D series cannot be referenced slice by slice", file=folder, case=case_id)
    return [pydicom.dcmread(name) for name in names]


def write_seg(sources: list, masks: Mapping[str, sitk.Image], path: Path, *, case_id: str):
    """The regions as one binary DICOM SEG, a segment per region, frames referencing the source slices."""
    require_highdicom("export-dicom", case_id=case_id)
    import highdicom as hd  # noqa: PLC0415
    from pydicom.sr.codedict import codes  # noqa: PLC0415

    algorithm = hd.AlgorithmIdentificationSequence(
        name="TMERadiomics regions", family=codes.cid7162.MorphologicalOperations, version=__version__)
    descriptions, frames = [], []
    for number, (name, mask) in enumerate(masks.items(), start=1):
        prop = codes.SCT.Neoplasm if name == "intratumoral" else hd.sr.CodedConcept(
            name.upper(), SCHEME, REGION_MEANINGS.get(name, name))
        descriptions.append(hd.seg.SegmentDescription(
            segment_number=number, segment_label=name,
            segmented_property_category=codes.SCT.MorphologicallyAbnormalStructure,
            segmented_property_type=prop, algorithm_type=hd.seg.SegmentAlgorithmTypeValues.SEMIAUTOMATIC,
            algorithm_identification=algorithm))
        frames.append(sitk.GetArrayViewFromImage(mask).astype(np.uint8))  # (slice, row, column)
    seg = hd.seg.Segmentation(
        source_images=sources, pixel_array=np.stack(frames, axis=-1),
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY, segment_descriptions=descriptions,
        series_instance_uid=hd.UID(), series_number=SEG_SERIES_NUMBER, sop_instance_uid=hd.UID(),
        instance_number=1, manufacturer=MANUFACTURER, manufacturer_model_name="tmeradiomics export-dicom",
        software_versions=__version__, device_serial_number="0", series_description="TMERadiomics regions",
        content_label="REGIONS", content_description=f"case {case_id}"[:64])
    _carry_case_id_only(seg, case_id)
    seg.save_as(path)
    return seg


def write_sr(sources: list, seg, features: Mapping[str, Mapping[str, float]], scores: Sequence[CaseScore],
             path: Path, *, case_id: str):
    """Features per region (referencing the SEG's segments) and each bundle's score and risk group, as TID 1500."""
    require_highdicom("export-dicom", case_id=case_id)
    import highdicom as hd  # noqa: PLC0415
    from pydicom.sr.codedict import codes  # noqa: PLC0415

    numbers = {str(d.SegmentLabel): int(d.SegmentNumber) for d in seg.SegmentSequence}
    groups = []
    for region, values in features.items():
        if region not in numbers:
            raise InputError(f"features of region {region!r}, which the SEG does not hold", case=case_id)
        reference = hd.sr.ReferencedSegment(
            sop_class_uid=seg.SOPClassUID, sop_instance_uid=seg.SOPInstanceUID, segment_number=numbers[region],
            source_series=hd.sr.SourceSeriesForSegmentation(sources[0].SeriesInstanceUID))
        measurements = [hd.sr.Measurement(name=_concept(hd, name), value=float(value), unit=_unit(hd, name))
                        for name, value in values.items() if value is not None and math.isfinite(value)]
        groups.append(hd.sr.VolumetricROIMeasurementsAndQualitativeEvaluations(
            tracking_identifier=hd.sr.TrackingIdentifier(uid=hd.UID(), identifier=f"{case_id} {region}"[:64]),
            referenced_segment=reference, measurements=measurements or None,
            finding_type=codes.SCT.Neoplasm if region == "intratumoral" else _concept(hd, REGION_MEANINGS[region])))
    for score in scores:
        measurements = [hd.sr.Measurement(name=_concept(hd, label), value=float(value), unit=_no_unit(hd))
                        for label, value in (("radscore", score.radscore), ("probability", score.probability))
                        if value is not None and math.isfinite(value)]
        evaluations = [hd.sr.QualitativeEvaluation(name=_concept(hd, "risk group"),
                                                   value=_concept(hd, f"risk group {score.risk_group}"))
                       ] if score.risk_group else None
        groups.append(hd.sr.MeasurementsAndQualitativeEvaluations(
            tracking_identifier=hd.sr.TrackingIdentifier(uid=hd.UID(), identifier=f"{case_id} {score.bundle}"[:64]),
            finding_type=_concept(hd, f"model {score.bundle}"), measurements=measurements or None,
            qualitative_evaluations=evaluations))
    device = hd.sr.ObserverContext(
        observer_type=codes.DCM.Device,
        observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(
            uid=hd.UID(), name="TMERadiomics", manufacturer_name=MANUFACTURER, model_name=__version__))
    report = hd.sr.MeasurementReport(
        observation_context=hd.sr.ObservationContext(observer_device_context=device),
        procedure_reported=codes.LN.BreastMrWoAndWContrastIv, imaging_measurements=groups)
    sr = hd.sr.Comprehensive3DSR(
        evidence=[*sources, seg], content=report, series_instance_uid=hd.UID(), series_number=SR_SERIES_NUMBER,
        sop_instance_uid=hd.UID(), instance_number=1, manufacturer=MANUFACTURER, is_complete=True,
        series_description="TMERadiomics features and scores")
    _carry_case_id_only(sr, case_id)
    sr.save_as(path)
    return sr


def _concept(hd, name: str):
    """A private concept meaning ``name``: its code value is the name when it fits a short code value
    (16 characters), else ``F`` + 15 hex digits of the name's SHA-256, stable across runs. (A
    LongCodeValue would be valid DICOM, but highdicom's own SR reader, like others, expects CodeValue.)"""
    import hashlib  # noqa: PLC0415

    code = name.replace(" ", "_")
    if len(code) > 16:
        code = "F" + hashlib.sha256(name.encode()).hexdigest()[:15].upper()
    return hd.sr.CodedConcept(value=code, scheme_designator=SCHEME, meaning=name[:64])


def _no_unit(hd):
    return hd.sr.CodedConcept(value="1", scheme_designator="UCUM", meaning="no units")


def _unit(hd, feature: str):
    """UCUM unit of a PyRadiomics feature: shape lengths, areas and volumes in mm, the rest without unit."""
    if "_shape_" in feature or feature.startswith("shape_"):
        leaf = feature.rsplit("_", 1)[-1]
        if leaf in ("MeshVolume", "VoxelVolume"):
            return hd.sr.CodedConcept(value="mm3", scheme_designator="UCUM", meaning="cubic millimeter")
        if leaf == "SurfaceArea":
            return hd.sr.CodedConcept(value="mm2", scheme_designator="UCUM", meaning="square millimeter")
        if "Diameter" in leaf or "AxisLength" in leaf:
            return hd.sr.CodedConcept(value="mm", scheme_designator="UCUM", meaning="millimeter")
    return _no_unit(hd)


def _carry_case_id_only(ds, case_id: str) -> None:
    """The case ID as patient name and ID; every other identifier of the source blanked or removed,
    also inside sequences (highdicom copies the source's equipment, institution included, into
    the Contributing Equipment Sequence)."""
    ds.PatientName = case_id
    ds.PatientID = case_id
    for keyword in BLANKED:
        if keyword in ds:
            setattr(ds, keyword, "")
    _remove_everywhere(ds)


def _remove_everywhere(ds) -> None:
    for keyword in REMOVED:
        if keyword in ds:
            delattr(ds, keyword)
    for element in ds:
        if element.VR == "SQ":
            for item in element.value:
                _remove_everywhere(item)

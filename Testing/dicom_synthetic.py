"""Synthetic DICOM data for the tests (test helper, not a test module): an MR series with
identifiers a hospital's files carry, a DICOM SEG made with highdicom, an RTSTRUCT made with
pydicom, all small (cols x rows x slices = 32 x 24 x 16 by default), written with pydicom only.

The geometry is chosen to catch mix-ups: non-square slices (rows vs columns), unequal in-plane
spacings, slices written in reverse order, and an origin away from zero.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import SimpleITK as sitk

# What the synthetic patient's files say: none of it may appear in any output.
IDENTIFIERS = {
    "PatientName": "Doe^Jane",
    "PatientID": "MRN-0042-SECRET",
    "PatientBirthDate": "19610203",
    "AccessionNumber": "ACC-7781-SECRET",
    "InstitutionName": "Saint Example Hospital",
    "InstitutionAddress": "1 Secret Road, Exampletown",
    "ReferringPhysicianName": "Who^Doctor",
}
ACQUISITION = {
    "Manufacturer": "ExampleVendor",
    "ManufacturerModelName": "Model X 3T",
    "MagneticFieldStrength": 3.0,
    "RepetitionTime": 4.5,
    "EchoTime": 1.8,
    "FlipAngle": 12.0,
}
SIZE = (32, 24, 16)  # columns (x), rows (y), slices (z)
SPACING = (0.8, 0.7, 1.5)  # x (column spacing), y (row spacing), slice
ORIGIN = (-12.0, 30.0, -40.0)


@dataclass
class Series:
    folder: Path
    datasets: list  # pydicom datasets, in file order
    volume: np.ndarray  # (z, y, x) intensities
    study_uid: str
    series_uid: str
    frame_uid: str


def ellipsoid(center_mm=(0.0, 0.0, 0.0), radii_mm=(5.0, 4.0, 4.5)) -> np.ndarray:
    """Voxels (z, y, x) of the synthetic grid whose centre lies in the ellipsoid (centre relative to the grid centre)."""
    axes = [ORIGIN[i] + np.arange(SIZE[i]) * SPACING[i] for i in range(3)]
    middle = [ORIGIN[i] + (SIZE[i] - 1) * SPACING[i] / 2 + center_mm[i] for i in range(3)]
    x, y, z = np.meshgrid(*axes, indexing="ij")
    inside = (((x - middle[0]) / radii_mm[0]) ** 2 + ((y - middle[1]) / radii_mm[1]) ** 2
              + ((z - middle[2]) / radii_mm[2]) ** 2) <= 1.0
    return np.ascontiguousarray(inside.transpose(2, 1, 0))


def reference_image() -> sitk.Image:
    """An empty image on the synthetic grid, as SimpleITK would read the series."""
    image = sitk.Image(list(SIZE), sitk.sitkUInt8)
    image.SetSpacing(SPACING)
    image.SetOrigin(ORIGIN)
    return image


def write_series(folder: Path, *, seed: int = 0, series_number: int = 3, description: str = "DCE post 2",
                 acquisition_time: str = "101500", temporal_position: int | None = None,
                 study_uid: str | None = None, frame_uid: str | None = None, lesion: np.ndarray | None = None,
                 reverse: bool = True, enhancement: float = 600.0, size: tuple[int, int, int] = SIZE,
                 prefix: str = "IM", spacing: tuple[float, float, float] = SPACING,
                 origin: tuple[float, float, float] = ORIGIN) -> Series:
    """Write an MR series of SIZE slices; the lesion (z, y, x) is brighter than the background.
    ``spacing`` and ``origin`` give another grid of the same frame of reference (a coarser series)."""
    import pydicom
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid

    rng = np.random.default_rng(seed)
    lesion = ellipsoid() if lesion is None else lesion
    lesion = lesion if lesion.shape == size[::-1] else np.zeros(size[::-1], bool)
    volume = (200 + 20 * rng.standard_normal(size[::-1]) + enhancement * lesion).clip(0, 4000).astype(np.uint16)
    study_uid = study_uid or generate_uid()
    frame_uid = frame_uid or generate_uid()
    series_uid = generate_uid()
    folder.mkdir(parents=True, exist_ok=True)
    datasets = []
    order = range(size[2] - 1, -1, -1) if reverse else range(size[2])
    for n, k in enumerate(order):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = MRImageStorage
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = pydicom.Dataset()
        ds.file_meta = meta
        ds.SOPClassUID = MRImageStorage
        ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
        ds.Modality = "MR"
        for key, value in {**IDENTIFIERS, **ACQUISITION}.items():
            setattr(ds, key, value)
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study_uid, series_uid, frame_uid
        ds.StudyID, ds.StudyDate, ds.StudyTime = "S1", "20240115", "101000"
        ds.SeriesDate, ds.AcquisitionDate, ds.AcquisitionTime = "20240115", "20240115", acquisition_time
        ds.SeriesNumber, ds.SeriesDescription, ds.InstanceNumber = series_number, description, n + 1
        if temporal_position is not None:
            ds.TemporalPositionIdentifier = temporal_position
        ds.PatientSex, ds.PatientAge = "F", "063Y"
        ds.ImageType = ["ORIGINAL", "PRIMARY", "OTHER"]
        ds.ScanningSequence, ds.SequenceVariant, ds.ScanOptions, ds.MRAcquisitionType = "GR", "SP", "", "3D"
        ds.SliceThickness = spacing[2]
        ds.PixelSpacing = [spacing[1], spacing[0]]  # row spacing (y), column spacing (x)
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.ImagePositionPatient = [origin[0], origin[1], origin[2] + k * spacing[2]]
        ds.SliceLocation = origin[2] + k * spacing[2]
        ds.PositionReferenceIndicator = ""
        ds.Rows, ds.Columns = size[1], size[0]
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
        ds.PixelData = volume[k].tobytes()
        ds.ContentDate, ds.ContentTime = "20240115", acquisition_time
        path = folder / f"{prefix}{n:04d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        datasets.append(pydicom.dcmread(path))
    return Series(folder, datasets, volume, study_uid, series_uid, frame_uid)


def write_seg(series: Series, masks: dict[str, np.ndarray], path: Path) -> Path:
    """A binary DICOM SEG of the series with one segment per named (z, y, x) mask, in order."""
    import highdicom as hd
    from pydicom.sr.codedict import codes

    sorted_sources = sorted(series.datasets, key=lambda ds: float(ds.ImagePositionPatient[2]))
    descriptions = [
        hd.seg.SegmentDescription(
            segment_number=number, segment_label=name,
            segmented_property_category=codes.SCT.MorphologicallyAbnormalStructure,
            segmented_property_type=codes.SCT.Neoplasm,
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL)
        for number, name in enumerate(masks, start=1)]
    stacked = np.stack([masks[name] for name in masks], axis=-1).astype(np.uint8)  # (z, y, x, segments)
    seg = hd.seg.Segmentation(
        source_images=sorted_sources, pixel_array=stacked,
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY, segment_descriptions=descriptions,
        series_instance_uid=hd.UID(), series_number=90, sop_instance_uid=hd.UID(), instance_number=1,
        manufacturer="TestVendor", manufacturer_model_name="synthetic", software_versions="0",
        device_serial_number="1", omit_empty_frames=False)
    seg.save_as(path)
    return path


def write_rtstruct(series: Series, rois: dict[str, list[tuple[int, list[float]]]], path: Path) -> Path:
    """An RTSTRUCT of the series; ``rois``: name -> [(slice index k, contour x,y,z,...), ...]."""
    import pydicom
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, RTStructureSetStorage, generate_uid

    by_slice = {round(float(ds.ImagePositionPatient[2]), 3): ds for ds in series.datasets}
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = RTStructureSetStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = pydicom.Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = RTStructureSetStorage, meta.MediaStorageSOPInstanceUID
    ds.Modality = "RTSTRUCT"
    for key, value in IDENTIFIERS.items():
        setattr(ds, key, value)
    ds.StudyInstanceUID, ds.SeriesInstanceUID = series.study_uid, generate_uid()
    ds.FrameOfReferenceUID = series.frame_uid
    ds.StructureSetLabel = "lesions"
    ds.StructureSetDate = datetime.date(2024, 1, 16).strftime("%Y%m%d")
    ds.StructureSetTime = "120000"
    ds.SeriesNumber, ds.InstanceNumber = 91, 1
    contour_images = []
    for image in series.datasets:
        item = pydicom.Dataset()
        item.ReferencedSOPClassUID, item.ReferencedSOPInstanceUID = image.SOPClassUID, image.SOPInstanceUID
        contour_images.append(item)
    series_ref = pydicom.Dataset()
    series_ref.SeriesInstanceUID = series.series_uid
    series_ref.ContourImageSequence = contour_images
    study_ref = pydicom.Dataset()
    study_ref.ReferencedSOPClassUID = "1.2.840.10008.3.1.2.3.1"
    study_ref.ReferencedSOPInstanceUID = series.study_uid
    study_ref.RTReferencedSeriesSequence = [series_ref]
    frame_ref = pydicom.Dataset()
    frame_ref.FrameOfReferenceUID = series.frame_uid
    frame_ref.RTReferencedStudySequence = [study_ref]
    ds.ReferencedFrameOfReferenceSequence = [frame_ref]
    ds.StructureSetROISequence, ds.ROIContourSequence, ds.RTROIObservationsSequence = [], [], []
    for number, (name, contours) in enumerate(rois.items(), start=1):
        roi = pydicom.Dataset()
        roi.ROINumber, roi.ReferencedFrameOfReferenceUID, roi.ROIName = number, series.frame_uid, name
        roi.ROIGenerationAlgorithm = "MANUAL"
        ds.StructureSetROISequence.append(roi)
        contour_items = []
        for _k, data in contours:
            z = round(data[2], 3)
            image_ref = pydicom.Dataset()
            image_ref.ReferencedSOPClassUID = by_slice[z].SOPClassUID
            image_ref.ReferencedSOPInstanceUID = by_slice[z].SOPInstanceUID
            item = pydicom.Dataset()
            item.ContourImageSequence = [image_ref]
            item.ContourGeometricType = "CLOSED_PLANAR"
            item.NumberOfContourPoints = len(data) // 3
            item.ContourData = data
            contour_items.append(item)
        roi_contour = pydicom.Dataset()
        roi_contour.ReferencedROINumber = number
        roi_contour.ROIDisplayColor = [255, 0, 0]
        roi_contour.ContourSequence = contour_items
        ds.ROIContourSequence.append(roi_contour)
        observation = pydicom.Dataset()
        observation.ObservationNumber, observation.ReferencedROINumber = number, number
        observation.RTROIInterpretedType, observation.ROIInterpreter = "GTV", ""
        ds.RTROIObservationsSequence.append(observation)
    ds.save_as(path, enforce_file_format=True)
    return path

"""DCE kinetics of the regions in a Slicer scene: the library's kinetic class on the scene's phases.

The phases are a sequence (its items), a multi-component volume (its
components) or volumes the user loaded one per phase. Their times come from the
sequence's index values (unit s, ms or min), the MultiVolume frame labels, or the
times the user types; nothing else is guessed. Only the regions' box of each
phase is read, so a full field of view costs what the tumour costs.

Results go into the scene as scalar volumes with their own colour tables (the
maps), a table of each region's mean enhancement per phase and a plot chart of
it. Everything is computed before the scene is touched, and a run replaces the
nodes of an earlier run on the same volume instead of adding copies.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from . import segments, volumes
from .i18n import tr as _

# The maps added to the scene, with the colour table each gets and its display range.
SHOWN_MAPS = ("PE_early", "SER", "washin", "washout", "curve_type")
MAP_ATTRIBUTE = "TMERadiomics.KineticMap"
SOURCE_ATTRIBUTE = "TMERadiomics.KineticSource"
SER_RANGE = (0.0, 2.0)
# Curve-type codes (TMERadiomicsLib.kinetics.maps.CURVE_TYPES) and their colours: none, persistent, plateau,
# wash-out in the usual blue / yellow / red of curve-type overlays.
CURVE_COLOURS = ((0.0, 0.0, 0.0, 0.0), (0.2, 0.4, 1.0, 1.0), (1.0, 0.85, 0.1, 1.0), (0.9, 0.1, 0.1, 1.0))
TIME_UNITS = {"s": 1.0, "sec": 1.0, "second": 1.0, "seconds": 1.0, "ms": 0.001, "msec": 0.001, "min": 60.0}


@dataclass
class KineticsOutput:
    """What a kinetics run put into the scene, and the library's result it came from."""

    result: object  # TMERadiomicsLib.kinetics.KineticResult
    times_s: tuple[float, ...]
    times_source: str
    maps: dict[str, object] = field(default_factory=dict)  # map name -> volume node
    table: object = None
    chart: object = None


def phase_sources(logic, volume_node, phase_nodes: Sequence | None) -> list[tuple[object, int | None]]:
    """(node, component) of every phase: the given nodes, or the selected volume's sequence or components."""
    if phase_nodes:
        return [(node, None) for node in phase_nodes]
    count = logic.phaseCount(volume_node)
    if count < 2:
        raise ValueError(_("kinetics need every DCE phase: select a sequence or a multi-volume, or check the "
                           "phase volumes in the Kinetics section"))
    if logic._sequenceOf(volume_node) is not None:
        return [(logic.selectPhase(volume_node, i), None) for i in range(count)]
    return [(volume_node, i) for i in range(count)]


def parse_times(text: str) -> list[float] | None:
    """Seconds typed by the user (``0, 60, 120``); None for an empty field. ValueError names the bad part."""
    parts = [p.strip() for p in (text or "").replace(";", ",").split(",") if p.strip()]
    if not parts:
        return None
    try:
        return [float(p) for p in parts]
    except ValueError:
        raise ValueError(_("phase times must be seconds separated by commas, e.g. 0, 60, 120: '{text}'").format(
            text=text)) from None


def scene_times(logic, volume_node, phase_nodes: Sequence | None) -> tuple[list[float] | None, str]:
    """The phase times the scene records, in seconds, with where they came from; (None, "") when it has none."""
    if phase_nodes:
        return None, ""
    sequence = logic._sequenceOf(volume_node)
    if sequence is not None:
        scale = TIME_UNITS.get((sequence.GetIndexUnit() or "").strip().lower())
        if scale is None:
            return None, ""
        try:
            values = [float(sequence.GetNthIndexValue(i)) * scale for i in range(sequence.GetNumberOfDataNodes())]
        except ValueError:
            return None, ""
        if values == [float(i) for i in range(len(values))]:
            # A sequence made by hand keeps MRML's default index (time, s) and numbers its items 0, 1, 2...:
            # those are not acquisition times (DCE phases lie tens of seconds apart), so they must be typed.
            return None, ""
        return values, _("sequence index ({unit})").format(unit=sequence.GetIndexUnit())
    labels = volume_node.GetAttribute("MultiVolume.FrameLabels") if volume_node is not None else None
    unit = (volume_node.GetAttribute("MultiVolume.FrameIdentifyingDICOMTagUnits") or "").strip().lower() \
        if volume_node is not None else ""
    if labels and unit in TIME_UNITS:
        try:
            return [float(v) * TIME_UNITS[unit] for v in labels.split(",")], _("MultiVolume frame labels")
        except ValueError:
            return None, ""
    return None, ""


def regions_box(segmentation_node, region_ids: Sequence[str], volume_node):
    """The union of the regions' boxes grown by one voxel (the FTV neighbour count), or None for the whole
    volume (a region not on the volume's grid)."""
    boxes = [segments.segment_box(segmentation_node, s, volume_node) for s in region_ids]
    if any(b is None for b in boxes):
        return None
    found = [b for b in boxes if b is not segments.EMPTY]
    if not found:
        raise ValueError(_("every selected region is empty"))
    return volumes.IjkBox.union(found).grown((1, 1, 1), volumes.volume_size(volume_node))


def compute(logic, volume_node, segmentation_node, region_ids: Sequence[str], phase_nodes=None, times_text="",
            progress=None):
    """The kinetic result of the regions, before anything is added to the scene: (result, series)."""
    from TMERadiomicsLib.errors import InputError
    from TMERadiomicsLib.kinetics import KineticSeries, kinetic_features

    sources = phase_sources(logic, volume_node, phase_nodes)
    typed = parse_times(times_text)
    found, where = scene_times(logic, volume_node, phase_nodes)
    times, source = (typed, _("typed")) if typed is not None else (found, where)
    box = regions_box(segmentation_node, region_ids, sources[0][0])
    images = []
    for number, (node, component) in enumerate(sources):
        if progress is not None:
            progress(_("Reading phase {n} of {count}").format(n=number + 1, count=len(sources)),
                     0.6 * number / len(sources))
        images.append(volumes.volume_to_image(node, phase=component, box=box))
    masks = logic._regionMasks(segmentation_node, region_ids, images[0], volume_node)
    name = volume_node.GetName() if volume_node is not None else sources[0][0].GetName()
    try:
        series = KineticSeries.of(images, times, source=source, case_id=name)
        result = kinetic_features(series, masks, case_id=name)
    except InputError as error:
        raise ValueError(str(error)) from None
    if result.maps is None:
        raise ValueError(_("every selected region is empty"))
    return result, series


def add_to_scene(scene, result, series, name: str, source_id: str) -> KineticsOutput:
    """The maps as volumes with colour tables, the mean curves as a table and a plot chart."""
    output = KineticsOutput(result, series.times_s, series.source)
    for map_name in SHOWN_MAPS:
        node = _replace_volume(scene, result.maps.image(map_name, series.reference), f"{name} kinetics {map_name}",
                               map_name, source_id)
        _colour(scene, node, map_name, result.maps)
        output.maps[map_name] = node
    output.table, output.chart = _curves(scene, result.curves, name, source_id)
    return output


def _replace_volume(scene, image, node_name: str, map_name: str, source_id: str):
    for old in _tagged(scene, "vtkMRMLScalarVolumeNode", map_name, source_id):
        # Its display nodes too: removing a volume leaves them in the scene.
        shown = [old.GetNthDisplayNode(i) for i in range(old.GetNumberOfDisplayNodes())]
        scene.RemoveNode(old)
        for display in shown:
            if display is not None:
                scene.RemoveNode(display)
    node = volumes.image_to_volume(image, scene, node_name)
    node.SetAttribute(MAP_ATTRIBUTE, map_name)
    node.SetAttribute(SOURCE_ATTRIBUTE, source_id)
    return node


def _tagged(scene, class_name: str, map_name: str, source_id: str) -> list:
    nodes = [scene.GetNthNodeByClass(i, class_name) for i in range(scene.GetNumberOfNodesByClass(class_name))]
    return [n for n in nodes if n.GetAttribute(MAP_ATTRIBUTE) == map_name and n.GetAttribute(SOURCE_ATTRIBUTE) == source_id]


def _colour(scene, node, map_name: str, maps) -> None:
    display = node.GetDisplayNode()
    table = _colour_table(scene, map_name)
    display.SetAndObserveColorNodeID(table.GetID())
    display.AutoWindowLevelOff()
    if map_name == "SER":
        low, high = SER_RANGE
    elif map_name == "curve_type":
        low, high = 0.0, float(len(CURVE_COLOURS) - 1)
    else:
        finite = maps.values[map_name][np.isfinite(maps.values[map_name])]
        low, high = (float(np.percentile(finite, 1)), float(np.percentile(finite, 99))) if finite.size else (0.0, 1.0)
        if not high > low:
            high = low + 1.0
    display.SetWindowLevelMinMax(low, high)


def _colour_table(scene, map_name: str):
    """The project's own colour table for a map kind, made once per scene (no built-in table ID is assumed)."""
    kind = {"SER": "SER", "curve_type": "curve type"}.get(map_name, "enhancement")
    node_name = f"TMERadiomics kinetics {kind}"
    existing = scene.GetFirstNodeByName(node_name)
    if existing is not None:
        return existing
    table = scene.AddNewNodeByClass("vtkMRMLColorTableNode", node_name)
    table.SetTypeToUser()
    colours = CURVE_COLOURS if kind == "curve type" else _ramp(kind)
    table.SetNumberOfColors(len(colours))
    for index, rgba in enumerate(colours):
        table.SetColor(index, *rgba)
    if kind == "curve type":
        for index, label in enumerate(("non-enhancing", "persistent", "plateau", "wash-out")):
            table.SetColorName(index, label)
    return table


def _ramp(kind: str) -> list[tuple[float, float, float, float]]:
    """256 colours: SER blue (still rising) - white (1) - red (wash-out); enhancement black - red - yellow."""
    steps = np.linspace(0.0, 1.0, 256)
    if kind == "SER":
        return [(min(1.0, 2 * t), 1 - abs(2 * t - 1), min(1.0, 2 - 2 * t), 1.0) for t in steps]
    return [(min(1.0, 2 * t), max(0.0, 2 * t - 1), 0.0, 1.0) for t in steps]


def _curves(scene, curves: dict, name: str, source_id: str):
    """A table (time, one mean-PE column per region) and a chart with one line per region."""
    for class_name in ("vtkMRMLTableNode", "vtkMRMLPlotChartNode", "vtkMRMLPlotSeriesNode"):
        for old in _tagged(scene, class_name, "curves", source_id):
            scene.RemoveNode(old)
    import vtk

    table = scene.AddNewNodeByClass("vtkMRMLTableNode", f"{name} kinetic curves")
    first = next(iter(curves.values()))
    columns = [("time_s", first["time_s"])] + [(f"{region} mean PE (%)", curve["mean_PE"])
                                                for region, curve in curves.items()]
    for column_name, values in columns:
        array = vtk.vtkDoubleArray()
        array.SetName(column_name)
        for value in values:
            array.InsertNextValue(float(value) if math.isfinite(value) else float("nan"))
        table.AddColumn(array)
    chart = scene.AddNewNodeByClass("vtkMRMLPlotChartNode", f"{name} kinetic curves")
    chart.SetTitle(_("Mean enhancement per region"))
    chart.SetXAxisTitle(_("time after the pre-contrast phase (s)"))
    chart.SetYAxisTitle(_("mean enhancement (%)"))
    from TMERadiomicsLib.regions import REGION_COLOURS

    for column_name, _values in columns[1:]:
        region = column_name.split(" ")[0]
        series = scene.AddNewNodeByClass("vtkMRMLPlotSeriesNode", f"{name} {region}")
        series.SetAndObserveTableNodeID(table.GetID())
        series.SetXColumnName("time_s")
        series.SetYColumnName(column_name)
        series.SetPlotType(series.PlotTypeScatter)
        colour = REGION_COLOURS.get(region)
        if colour is not None:
            series.SetColor(*colour[:3])
        series.SetAttribute(MAP_ATTRIBUTE, "curves")
        series.SetAttribute(SOURCE_ATTRIBUTE, source_id)
        chart.AddAndObservePlotSeriesNodeID(series.GetID())
    for node in (table, chart):
        node.SetAttribute(MAP_ATTRIBUTE, "curves")
        node.SetAttribute(SOURCE_ATTRIBUTE, source_id)
    return table, chart

"""Run all over several lesions in the background: one worker job per lesion, one after another.

The Widget polls a ``LesionsJob`` exactly as it polls a ``worker.Job``
(``poll``, ``progress``, ``running``, ``cancel``, ``title``). Each lesion's
regions are built on the GUI thread when its turn comes (a fraction of a
second); its features are extracted in a child process. A failure or a
Cancel in any lesion undoes every lesion, as ``runAllLesions`` does.
qt-free, so it runs on slicer-core.
"""

from __future__ import annotations

from typing import Any

from .i18n import tr as _


class LesionsJob:
    def __init__(self, logic, volumeNode, segmentationNode, tumours: list[str], preset, bundlePaths: list,
                 options: dict[str, Any], undo, resultType) -> None:
        # The Logic passes its undo list and result class in: this module imports nothing of it.
        self.logic, self.volumeNode, self.segmentationNode = logic, volumeNode, segmentationNode
        self.tumours, self.preset, self.bundlePaths = tumours, preset, bundlePaths
        self.options = {"peritumoralMm": 5.0, "ringMm": 2.0, "exclusionSegmentIds": (), "airBelow": None, **options}
        self.title = "Run all for every tumour segment"
        self.undo = undo  # every finished lesion's regions, tables and colours
        self._resultType = resultType
        self.cancelled = False
        self._results: list = []
        self._error: BaseException | None = None
        self._current = None
        self._startNext()  # the first lesion's refusal reaches the caller at once

    # ---- what the Widget polls ---------------------------------------------
    @property
    def running(self) -> bool:
        return self._current is not None

    def poll(self) -> list[dict[str, Any]]:
        """The current child's events; when it ends, its lesion is loaded and the next one starts. Never raises:
        an error is kept for ``results()``, which the Widget calls inside its error display."""
        if self._current is None:
            return []
        events = self._current.poll()
        if not self._current.running:
            job, self._current = self._current, None
            try:
                self._finish(job)
                if len(self._results) < len(self.tumours):
                    self._startNext()
            except BaseException as error:  # noqa: BLE001 - reported by results()
                self._error = error
        return events

    def progress(self) -> tuple[str, float] | None:
        if self._current is None:
            return None
        shown = self._current.progress()
        number, count = len(self._results), len(self.tumours)
        message, fraction = shown if shown is not None else ("Starting", 0.0)
        return _("Lesion {number} of {count} ({name}): {message}").format(
            number=number + 1, count=count, name=self._name(self.tumours[number]), message=message), \
            (number + fraction) / count

    def cancel(self) -> None:
        """Stop the running child and take back every lesion done so far."""
        self.cancelled = True
        if self._current is not None:
            self._current.cancel()  # undoes its own lesion's regions
            self._current = None
        self.undo()

    # ---- the outcome -------------------------------------------------------
    def results(self) -> list:
        """The ``LesionResult`` of every lesion; the first error, if a lesion failed."""
        if self._error is not None:
            raise self._error
        return list(self._results)

    # ---- one lesion after another -----------------------------------------
    def _name(self, tumour: str) -> str:
        segment = self.segmentationNode.GetSegmentation().GetSegment(tumour)
        return segment.GetName() if segment is not None else tumour

    def _startNext(self) -> None:
        tumour = self.tumours[len(self._results)]
        logic, o = self.logic, self.options
        logic._warningPrefix = f"{self._name(tumour)}: "
        try:
            self._before = len(logic.lastWarnings)
            self._current = logic._startRunAll(self.volumeNode, self.segmentationNode, tumour, self.preset,
                                               self.bundlePaths, o["peritumoralMm"], o["ringMm"],
                                               o["exclusionSegmentIds"], o["airBelow"])
        except BaseException:
            self.undo()
            raise
        finally:
            logic._warningPrefix = ""

    def _finish(self, job) -> None:
        tumour = self.tumours[len(self._results)]
        logic = self.logic
        logic._warningPrefix = f"{self._name(tumour)}: "
        try:
            ids, features, scores, step = logic._finishRunAll(job)
        except BaseException:
            self.undo()
            raise
        finally:
            logic._warningPrefix = ""
        self.undo.add(step)
        self._results.append(self._resultType(tumour, self._name(tumour), ids, features, scores,
                                          logic.lastWarnings[self._before:]))

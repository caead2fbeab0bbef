"""PyRadiomics' log in Slicer: shared by the Logic's feature and ICC actions (``logic``, ``reproducibility``)."""

from __future__ import annotations

import logging


def quietRadiomics() -> None:
    """PyRadiomics logs a warning per filter and region (e.g. a small mask); in Slicer each one lands
    in the Error Log. Keep its errors, drop the rest: its results are in the tables anyway.

    Called after ``radiomics`` is imported, since importing it sets its own logger level.
    """
    logging.getLogger("radiomics").setLevel(logging.ERROR)

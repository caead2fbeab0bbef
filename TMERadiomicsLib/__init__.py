"""TMERadiomicsLib: breast DCE-MRI radiomics of the tumour immune microenvironment.

Pure Python on SimpleITK, PyRadiomics, scikit-learn and friends. This package
never imports slicer, qt, ctk or vtk: the Slicer module in ``TMERadiomics/``
is a thin front end over it, and so is the ``tmeradiomics`` CLI.

Logging follows the rule for libraries: nothing goes to stderr unless the
application configures logging. PyRadiomics, on import, attaches its own
stderr handler to the ``radiomics`` logger and logs routine notes ("GLCM is
symmetrical...") as warnings for every feature class it runs;
``quiet_radiomics`` (called by ``TMERadiomicsLib.features`` before it imports
PyRadiomics) takes that handler away.
"""

import logging
import sys

__version__ = "0.1.0"


def quiet_radiomics() -> None:
    """Import PyRadiomics with its logging quiet unless the application asked otherwise.

    The ``radiomics`` logger loses PyRadiomics' stderr handler and gets a
    ``NullHandler`` (so Python's last-resort handler stays silent too); its
    records still propagate to the application's handlers. Its level stays
    whatever the application set before PyRadiomics was imported, else it
    becomes ERROR: raise it with ``logging.getLogger("radiomics").setLevel(...)``.
    """
    logger = logging.getLogger("radiomics")
    # Before PyRadiomics' import the level is NOTSET unless the application
    # set it; after, PyRadiomics has overwritten it with INFO.
    chosen = logging.NOTSET if "radiomics" in sys.modules else logger.level
    import radiomics  # noqa: PLC0415 - heavy; only the feature code needs it

    handler = getattr(radiomics, "handler", None)
    if handler is None or handler not in logger.handlers:
        return  # done already, or PyRadiomics set up no handler of its own
    logger.removeHandler(handler)
    logger.addHandler(logging.NullHandler())
    logger.setLevel(chosen or logging.ERROR)

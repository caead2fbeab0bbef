"""TMERadiomicsLib: breast DCE-MRI radiomics of the tumour immune microenvironment.

Pure Python on SimpleITK, PyRadiomics, scikit-learn and friends. This package
never imports slicer, qt, ctk or vtk: the Slicer module in ``TMERadiomics/``
is a thin front end over it, and so is the ``tmeradiomics`` CLI.
"""

__version__ = "0.1.0"

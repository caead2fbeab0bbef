"""Reading and writing images, masks and segmentations.

- ``images``: ``read_image``, ``read_mask``, ``write_image`` and the geometry checks;
- ``headers`` and ``checks``: what a file's header promises, checked before and after ITK reads it;
- ``seg_nrrd``: 3D Slicer ``.seg.nrrd`` segmentation files;
- ``preprocessing``: a DCE study's phase, isotropic resampling, z-score.

Nothing is imported here, so ``TMERadiomicsLib.io.headers`` costs no SimpleITK.
"""

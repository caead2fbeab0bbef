"""The Slicer test rig: Slicer's real Python runtime, slicer-core's MRML and Qt offscreen.

See the "Test rig" section of docs/slicer.md.
"""

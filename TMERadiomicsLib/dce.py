"""Constants of the DCE-MRI protocol that the library's defaults follow.

No imports on purpose: the command-line parser and the batch coordinator
read these without loading SimpleITK or numpy.
"""

# Phases count from 0, the pre-contrast scan. Qian 2024 extracts the second
# post-contrast ("arterial") phase.
DEFAULT_PHASE = 2

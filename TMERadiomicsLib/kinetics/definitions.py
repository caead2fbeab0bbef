"""Thresholds and time points of the kinetic features, each with its source (docs/kinetics.md).

No imports on purpose: the command-line parser and the batch coordinator read
these without loading numpy.
"""

# I-SPY 1 / ACRIN 6657 (Hylton et al., Radiology 2012;263(3):663-672): the early
# post-contrast phase is the one at about 2.5 min, the late one at about 7.5 min. Timed as
# the UCSF implementation in Slicer's Breast_DCEMRI_FTV (chooseEarly_LateByManufacturer.py)
# times them: from the start of the FIRST POST-CONTRAST acquisition, each phase taken at
# its centre (its start plus half the temporal resolution, the spacing of the post-contrast
# phases), the phase nearest each target chosen (a tie goes to the earlier phase). With
# only two post-contrast phases they are early and late. The phases chosen are recorded.
EARLY_S = 150.0
LATE_S = 450.0

# FTV (Hylton 2012; the UCSF implementation in Slicer's Breast_DCEMRI_FTV,
# ftv_map_gen.py): a voxel counts when its early percentage enhancement is >= 70 %,
# its pre-contrast signal is >= 60 % of the 95th percentile of the pre-contrast
# signal in the volume of interest (the background threshold), its SER is >= 0, and
# at least 3 of its 26 neighbours also pass the PE and background thresholds.
FTV_PE_PERCENT = 70.0
FTV_BACKGROUND_FRACTION = 0.6
FTV_BACKGROUND_PERCENTILE = 95.0
FTV_MIN_NEIGHBOURS = 3

# BI-RADS MRI (ACR BI-RADS Atlas, 5th ed., 2013) delayed phase: the signal change
# from the early to the late phase, relative to the early signal: > +10 %
# persistent, within +-10 % plateau, < -10 % wash-out.
CURVE_CHANGE_PERCENT = 10.0
# A voxel is classified only when it enhances: early PE >= 50 %, the lower of the
# two enhancement filters of CAD-style voxel kinetics (also used e.g. by
# PMC3807825, 50 % and 100 %). Below it the voxel is "non-enhancing".
ENHANCING_PE_PERCENT = 50.0

# Initial area under the PE curve, from the pre-contrast time (taken as the injection).
IAUC_WINDOWS_S = (60.0, 90.0)

# Summary statistics of every voxel-wise quantity in the feature tables.
PERCENTILES = (10, 25, 75, 90)

MIN_PHASES = 3  # a pre-contrast and two post-contrast phases: SER needs an early and a late one

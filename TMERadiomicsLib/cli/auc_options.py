"""The AUC confidence-interval options that ``evaluate`` and ``response`` share."""

from __future__ import annotations

import argparse

from ..errors import InputError
from .argtypes import seed

CI_METHODS = ("delong", "bootstrap")


def add_auc_ci_options(parser: argparse.ArgumentParser, *, default: str | None, help: str) -> None:
    """``--ci``, ``--n-bootstrap`` and ``--seed``; ``default=None`` lets the bundle choose the method."""
    parser.add_argument("--ci", choices=CI_METHODS, default=default, help=help)
    parser.add_argument("--n-bootstrap", type=int, default=2000, help="bootstrap resamples (at least 1)")
    parser.add_argument("--seed", type=seed, default=0, help="seed of the bootstrap (default: %(default)s)")


def check_auc_ci_options(args: argparse.Namespace) -> None:
    """Refuse a resample count below 1, or one whose bootstrap would run for hours, before any
    file is read, in one line (argparse's ``type=`` would add a usage line)."""
    from ..work_limits import ANALYSIS_TIME_LIMIT_HOURS, BOOTSTRAP_RESAMPLE, check_count

    if args.n_bootstrap < 1:
        raise InputError("--n-bootstrap must be at least 1", value=args.n_bootstrap)
    check_count("--n-bootstrap", args.n_bootstrap, BOOTSTRAP_RESAMPLE, time_limit_hours=ANALYSIS_TIME_LIMIT_HOURS)

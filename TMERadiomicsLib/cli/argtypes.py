"""argparse ``type=`` checks for numbers whose range is known before any work.

A value out of range ends at parsing, with argparse's usage line and one
``error: argument --X: ...`` line, exit 2, before any file is read. Every
float option uses one of the float parsers here: Python's ``float()`` takes
``nan``, ``inf`` and ``1e999``, which would otherwise flow into a feature
value or a p-value filter as a silent number (issue 20).
"""

from __future__ import annotations

import argparse
import math

# The largest seed every consumer takes: NumPy's legacy RandomState (which
# scikit-learn's ``random_state`` uses) refuses seeds of 2**32 and more.
MAX_SEED = 2**32 - 1


def _number(text: str, kind: type) -> float:
    try:
        value = kind(text)
    except (ValueError, OverflowError):
        raise argparse.ArgumentTypeError(f"not a{'n integer' if kind is int else ' number'}: {text!r}") from None
    if kind is float and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, not {text!r}")
    return value


def seed(text: str) -> int:
    """A random seed: an integer from 0 to 2**32 - 1 (the range NumPy's RandomState accepts)."""
    value = int(_number(text, int))
    if value < 0:
        raise argparse.ArgumentTypeError(f"a seed must be 0 or more, not {value}")
    if value > MAX_SEED:
        raise argparse.ArgumentTypeError(f"a seed must be at most {MAX_SEED} (2**32 - 1), not {value}")
    return value


def finite_float(text: str) -> float:
    """Any finite number (an intensity threshold, for instance)."""
    return _number(text, float)


def non_negative_float(text: str) -> float:
    value = _number(text, float)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {text}")
    return value


def positive_float(text: str) -> float:
    value = _number(text, float)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, not {text}")
    return value


def p_value(text: str) -> float:
    """A significance cut-off: more than 0 and at most 1."""
    value = _number(text, float)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must lie in (0, 1], not {text}")
    return value


def unit_interval(text: str) -> float:
    """A share or a correlation-like threshold: 0 to 1 inclusive."""
    value = _number(text, float)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must lie between 0 and 1, not {text}")
    return value


def integer(text: str) -> int:
    """Any integer (a label value of a mask, for instance)."""
    return int(_number(text, int))


def non_negative_int(text: str) -> int:
    value = int(_number(text, int))
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return value


def positive_int(text: str) -> int:
    value = int(_number(text, int))
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def case_id(text: str, what: str = "case ID") -> str:
    """A case ID given on the command line: the rule of ``case_ids.case_id_problem``."""
    from ..case_ids import case_id_problem

    problem = case_id_problem(text, what)
    if problem is not None:
        raise argparse.ArgumentTypeError(f"{problem}: {text!r}")
    return text


def reader_name(text: str) -> str:
    """A reader or session name stored beside case IDs: the same rule."""
    return case_id(text, "name")


def column_list(text: str) -> list[str]:
    """Comma-separated column names (``--covariates age,grade``), none of them empty."""
    columns = [part.strip() for part in text.split(",")]
    if not all(columns):
        raise argparse.ArgumentTypeError(f"a comma-separated list of column names, without empty names: {text!r}")
    return columns

"""Which features are reproducible: ICC per region and feature, and the stable set.

Input is a tidy feature table (one row per case, rating, region, feature,
value), as ``StudyStore.feature_values`` or ``perturbation_features`` give.

- intra-observer: for each reader with two or more sessions, the sessions
  are the ratings; cases contoured in all of that reader's sessions are the
  targets;
- inter-observer: each reader's first session (by timestamp) is one rating;
  cases contoured by every reader are the targets;
- perturbation: each perturbed contour is one rating.

A feature is stable when every required ICC is above the threshold (0.75 by
default, as in both papers; Koo & Li 2016 call > 0.75 "good"). With several
readers that have repeat sessions, the lowest intra-observer ICC counts.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import InputError
from ..features.tables import region_prefix
from .icc import icc

log = logging.getLogger(__name__)

KINDS = ("intra", "inter", "perturbation")
_TITLES = {"intra": "intra-observer ICC", "inter": "inter-observer ICC", "perturbation": "perturbation ICC"}
DEFAULT_THRESHOLD = 0.75
LONG_COLUMNS = ["kind", "raters", "region", "feature", "icc", "ci_low", "ci_high", "n_cases", "n_ratings"]


@dataclass(frozen=True)
class Reliability:
    """ICC results: ``long`` (one row per kind x raters x region x feature) and ``summary``."""

    long: pd.DataFrame
    summary: pd.DataFrame
    threshold: float
    required: tuple[str, ...]

    def stable_names(self) -> list[str]:
        """Combined-view names (``Intra_<feature>``, ...) of the stable features."""
        return self.summary.loc[self.summary["stable"], "name"].tolist()


def icc_over_ratings(
    table: pd.DataFrame, rating: str, *, form: str = "A,1", kind: str, raters: str
) -> pd.DataFrame:
    """ICC of every (region, feature) with ``rating`` as the rater column.

    Only cases rated in every rating take part (the two-way ANOVA needs a
    complete table); a feature missing in one of them gets NaN.
    """
    ratings = sorted(table[rating].unique(), key=str)
    complete = table.groupby("case_id")[rating].nunique()
    cases = sorted(complete.index[complete == len(ratings)])
    what = _TITLES[kind]
    if len(ratings) < 2:
        raise InputError(f"{what} ({raters}) needs at least 2 ratings per case, got {len(ratings)}")
    if len(cases) < 2:
        raise InputError(
            f"{what} ({raters}) needs at least 2 cases rated in all of {', '.join(map(str, ratings))}; "
            f"found {len(cases)}"
        )
    wide = table.set_index(["region", "feature", "case_id", rating])["value"].unstack(["case_id", rating])
    wide = wide.reindex(columns=pd.MultiIndex.from_product([cases, ratings]))
    values = wide.to_numpy(dtype=float).reshape(len(wide), len(cases), len(ratings))
    result = icc(values, form)
    out = wide.index.to_frame(index=False)
    out.insert(0, "kind", kind)
    out.insert(1, "raters", raters)
    out["icc"], out["ci_low"], out["ci_high"] = result.icc, result.ci_low, result.ci_high
    out["n_cases"], out["n_ratings"] = len(cases), len(ratings)
    return out


def intra_observer(features: pd.DataFrame, form: str = "A,1") -> pd.DataFrame:
    """Intra-observer ICC for every reader with two or more sessions."""
    counts = features.groupby("reader")["session"].nunique()
    repeated = counts.index[counts >= 2]
    if repeated.empty:
        found = ", ".join(f"{r} ({n} session{'s' if n != 1 else ''})" for r, n in counts.items()) or "none"
        raise InputError(
            "intra-observer ICC needs at least 2 ratings per case: a reader with 2 or more sessions; "
            f"readers: {found}"
        )
    parts = [
        icc_over_ratings(features[features["reader"] == reader], "session", form=form, kind="intra", raters=reader)
        for reader in repeated
    ]
    return pd.concat(parts, ignore_index=True)


def inter_observer(features: pd.DataFrame, form: str = "A,1") -> pd.DataFrame:
    """Inter-observer ICC between readers, each reader's first session."""
    readers = sorted(features["reader"].unique())
    if len(readers) < 2:
        raise InputError(
            "inter-observer ICC needs at least 2 ratings per case: 2 or more readers; "
            f"readers: {', '.join(readers) or 'none'}"
        )
    first = (
        features[["reader", "session", "created_at"]].drop_duplicates()
        .sort_values(["created_at", "session"]).groupby("reader").head(1)
    )
    chosen = features.merge(first[["reader", "session"]], on=["reader", "session"])
    label = "+".join(f"{r.reader}:{r.session}" for r in first.sort_values("reader").itertuples())
    return icc_over_ratings(chosen, "reader", form=form, kind="inter", raters=label)


def perturbation_icc(perturbed: pd.DataFrame, form: str = "A,1") -> pd.DataFrame:
    """ICC across contour perturbations (``perturbation`` column) over cases."""
    return icc_over_ratings(perturbed, "perturbation", form=form, kind="perturbation", raters="perturbations")


def reliability(
    features: pd.DataFrame | None,
    perturbed: pd.DataFrame | None = None,
    *,
    form: str = "A,1",
    threshold: float = DEFAULT_THRESHOLD,
    required: Sequence[str] = ("intra", "inter"),
) -> Reliability:
    """Every ICC the data allow, the summary per feature and the stable flag.

    A required kind that cannot be computed is an ``InputError``; the others
    are computed when possible and reported beside.
    """
    required = _check_required(required)
    parts = _all_parts(features, perturbed, form, required)
    long = pd.concat(parts, ignore_index=True)[LONG_COLUMNS]
    return Reliability(long, summarise(long, threshold, required), threshold, required)


def check_ratings(design: pd.DataFrame, *, required: Sequence[str] = ("intra", "inter")) -> None:
    """Raise the ``InputError`` ``reliability`` would raise for too few ratings or cases.

    ``design`` is who contoured what (case_id, reader, session, created_at:
    ``StudyStore.ratings()``). Run on a placeholder feature, it lets a caller
    refuse a study before extracting anything into its database.
    """
    required = _check_required(required)
    placeholder = design.assign(region="intratumoral", feature="placeholder",
                                value=np.arange(len(design), dtype=float))
    _all_parts(placeholder, None, "A,1", required)


def _check_required(required: Iterable[str]) -> tuple[str, ...]:
    required = tuple(dict.fromkeys(required))
    unknown = [k for k in required if k not in KINDS]
    if unknown or not required:
        raise InputError(f"required ICC kinds must be among {', '.join(KINDS)}", value=",".join(unknown))
    return required


def _all_parts(features, perturbed, form: str, required: tuple[str, ...]) -> list[pd.DataFrame]:
    makers = {
        "intra": (features, intra_observer),
        "inter": (features, inter_observer),
        "perturbation": (perturbed, perturbation_icc),
    }
    parts = []
    for kind, (table, maker) in makers.items():
        if table is None or table.empty:
            if kind in required:
                raise InputError(f"{kind} ICC is required but no features were given for it")
            continue
        try:
            parts.append(maker(table, form))
        except InputError as error:
            if kind in required:
                raise
            log.info("%s ICC not computed: %s", kind, error)
    return parts


def summarise(long: pd.DataFrame, threshold: float, required: Sequence[str]) -> pd.DataFrame:
    """One row per region and feature: the worst ICC of each kind, and ``stable``."""
    worst = long.sort_values("icc", na_position="first").groupby(["kind", "region", "feature"]).head(1)
    summary = None
    for kind in KINDS:
        part = worst[worst["kind"] == kind][["region", "feature", "icc", "ci_low", "ci_high", "raters"]]
        part = part.rename(columns={c: f"{kind}_{c}" for c in ("icc", "ci_low", "ci_high", "raters")})
        if part.empty:
            continue
        summary = part if summary is None else summary.merge(part, on=["region", "feature"], how="outer")
    summary.insert(0, "name", [region_prefix(r) + f for r, f in zip(summary["region"], summary["feature"])])
    summary.insert(3, "feature_class", summary["feature"].map(feature_class))
    stable = np.ones(len(summary), dtype=bool)
    for kind in required:
        # NaN (unknown reliability) compares False: never stable.
        stable &= (summary[f"{kind}_icc"] > threshold).to_numpy()
    summary["stable"] = stable
    return summary.sort_values(["region", "feature"]).reset_index(drop=True)


def feature_class(name: str) -> str:
    """PyRadiomics feature class from a name such as ``wavelet-LLH_glcm_Contrast``."""
    parts = name.split("_")
    return parts[1] if len(parts) >= 3 else "other"


def stable_list_text(result: Reliability) -> str:
    """The stable-feature list: one combined-view name per line, sorted, newline-terminated."""
    names = sorted(result.stable_names())
    return "".join(f"{name}\n" for name in names)

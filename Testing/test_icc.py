"""ICC against published examples and against pingouin."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pingouin
import pytest

from TMERadiomicsLib.errors import InputError
from TMERadiomicsLib.reproducibility.icc import icc

# Shrout & Fleiss (1979), Table 2: 6 targets x 4 judges.
SHROUT_FLEISS = np.array(
    [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]], dtype=float
)
# McGraw & Wong (1996), Table 6: 10 targets x 2 measurements.
MCGRAW_WONG = np.array(
    [[103, 119], [82, 65], [116, 106], [102, 102], [99, 105], [98, 100], [104, 107], [62, 85], [97, 101], [107, 110]],
    dtype=float,
)


@pytest.mark.parametrize("form, published", [("1,1", 0.17), ("A,1", 0.29), ("C,1", 0.71)])
def test_shrout_fleiss_published_values(form, published):
    assert round(float(icc(SHROUT_FLEISS, form).icc[0]), 2) == published


# 95 % intervals as printed by R psych::ICC for the two tables above.
@pytest.mark.parametrize(
    "data, form, low, high",
    [
        (SHROUT_FLEISS, "1,1", -0.133, 0.723),
        (SHROUT_FLEISS, "A,1", 0.019, 0.761),
        (SHROUT_FLEISS, "C,1", 0.342, 0.946),
        (MCGRAW_WONG, "1,1", 0.241, 0.922),
        (MCGRAW_WONG, "A,1", 0.228, 0.922),
        (MCGRAW_WONG, "C,1", 0.197, 0.920),
    ],
)
def test_published_confidence_intervals(data, form, low, high):
    result = icc(data, form)
    assert result.ci_low[0] == pytest.approx(low, abs=5e-4)
    assert result.ci_high[0] == pytest.approx(high, abs=5e-4)


def _pingouin(matrix: np.ndarray) -> pd.DataFrame:
    n, k = matrix.shape
    long = pd.DataFrame(
        {"target": np.repeat(np.arange(n), k), "rater": np.tile(np.arange(k), n), "score": matrix.ravel()}
    )
    table = pingouin.intraclass_corr(long, targets="target", raters="rater", ratings="score").set_index("Type")
    # pingouin < 0.6 (the last on Python 3.9 is 0.5.5) names the forms ICC1, ICC2, ICC3 and the CI "CI95%".
    return table.rename(index={"ICC1": "ICC(1,1)", "ICC2": "ICC(A,1)", "ICC3": "ICC(C,1)"},
                        columns={"CI95%": "CI95"})


@pytest.mark.parametrize("n, k", [(8, 2), (15, 3), (30, 5)])
def test_matches_pingouin_on_random_data(n, k, monkeypatch):
    # pingouin rounds its CI column to 2 decimals by default; compare unrounded.
    monkeypatch.setitem(pingouin.options, "round.column.CI95", None)
    monkeypatch.setitem(pingouin.options, "round.column.CI95%", None)  # its name before pingouin 0.6
    rng = np.random.default_rng(n * 100 + k)
    # Targets differ, raters add a bias and noise; features span low to high ICC.
    truth = rng.normal(size=(12, n, 1)) * np.linspace(0.2, 3.0, 12)[:, None, None]
    ratings = truth + rng.normal(size=(12, 1, k)) * 0.5 + rng.normal(size=(12, n, k))
    ours = {form: icc(ratings, form) for form in ("1,1", "A,1", "C,1")}
    for f in range(ratings.shape[0]):
        theirs = _pingouin(ratings[f])
        for form, result in ours.items():
            row = theirs.loc[f"ICC({form})"]
            assert result.icc[f] == pytest.approx(row["ICC"], rel=1e-9, abs=1e-12)
            assert result.ci_low[f] == pytest.approx(row["CI95"][0], rel=1e-7, abs=1e-10)
            assert result.ci_high[f] == pytest.approx(row["CI95"][1], rel=1e-7, abs=1e-10)


def test_vectorised_equals_one_feature_at_a_time():
    rng = np.random.default_rng(3)
    ratings = rng.normal(size=(5, 9, 3)) + rng.normal(size=(5, 9, 1)) * 2
    together = icc(ratings)
    for f in range(5):
        alone = icc(ratings[f])
        assert (alone.icc[0], alone.ci_low[0], alone.ci_high[0]) == pytest.approx(
            (together.icc[f], together.ci_low[f], together.ci_high[f]), rel=1e-12
        )


def test_missing_or_constant_features_are_nan_not_stable():
    ratings = np.stack([SHROUT_FLEISS, np.full((6, 4), 3.0), SHROUT_FLEISS.copy()])
    ratings[2, 1, 1] = np.nan
    result = icc(ratings)
    assert result.icc[0] == pytest.approx(0.2898, abs=1e-4)
    assert np.isnan(result.icc[1:]).all()
    assert np.isnan(result.ci_low[1:]).all()


def test_fewer_than_two_ratings_or_cases_is_an_input_error():
    with pytest.raises(InputError, match="at least 2 ratings per case, got 1"):
        icc(SHROUT_FLEISS[:, :1])
    with pytest.raises(InputError, match="at least 2 cases"):
        icc(SHROUT_FLEISS[:1, :])
    with pytest.raises(InputError, match="unknown ICC form"):
        icc(SHROUT_FLEISS, "2,k")


# -- stability: ICC per region and feature from a study's tidy table -------

from TMERadiomicsLib.reproducibility.stability import reliability, stable_list_text  # noqa: E402

SESSIONS = [("R1", "R1-b", "2026-01-01T09:00:00+00:00"), ("R1", "R1-a", "2026-01-15T09:00:00+00:00"),
            ("R2", "R2", "2026-01-03T09:00:00+00:00")]


def study_table(n_cases: int = 10, seed: int = 0) -> pd.DataFrame:
    """Features with designed reliability: Good (both), Drift (R2 disagrees), Noise (neither)."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(n_cases):
        truth = rng.normal(size=3) * 10
        for reader, session, when in SESSIONS:
            for region in ("intratumoral", "peritumoral"):
                off = 12 + rng.normal(0, 6) if reader == "R2" else 0.0
                values = {"original_glcm_Good": truth[0] + rng.normal(0, 0.5),
                          "original_firstorder_Drift": truth[1] + off + rng.normal(0, 0.5),
                          "original_shape_Noise": rng.normal(0, 10)}
                rows += [(f"case{c:02d}", reader, session, when, region, f, v) for f, v in values.items()]
    return pd.DataFrame(rows, columns=["case_id", "reader", "session", "created_at", "region", "feature", "value"])


def test_stable_set_needs_both_intra_and_inter():
    result = reliability(study_table())
    assert stable_list_text(result) == "Intra_original_glcm_Good\nPeri_original_glcm_Good\n"
    summary = result.summary.set_index("name")
    assert summary.loc["Intra_original_firstorder_Drift", "intra_icc"] > 0.9
    assert summary.loc["Intra_original_firstorder_Drift", "inter_icc"] < 0.75
    assert summary.loc["Peri_original_shape_Noise", "feature_class"] == "shape"
    assert (summary["intra_raters"] == "R1").all()
    # The inter-observer rating of R1 is its earliest session by time, not by label.
    assert (summary["inter_raters"] == "R1:R1-b+R2:R2").all()


def test_stability_table_is_cases_by_ratings():
    table = study_table()
    result = reliability(table, form="C,1")
    feature = table[(table["region"] == "peritumoral") & (table["feature"] == "original_firstorder_Drift")]
    r1 = feature[feature["reader"] == "R1"].pivot(index="case_id", columns="session", values="value")
    direct = icc(r1[["R1-a", "R1-b"]].to_numpy(), "C,1")
    row = result.long.query("kind == 'intra' and region == 'peritumoral' and feature == 'original_firstorder_Drift'")
    assert row["icc"].item() == pytest.approx(direct.icc[0], rel=1e-12)
    assert row["ci_low"].item() == pytest.approx(direct.ci_low[0], rel=1e-12)


def test_cases_missing_a_session_are_left_out():
    table = study_table(n_cases=6)
    table = table[~((table["case_id"] == "case00") & (table["session"] == "R1-a"))]
    result = reliability(table)
    intra = result.long[result.long["kind"] == "intra"]
    inter = result.long[result.long["kind"] == "inter"]
    assert (intra["n_cases"] == 5).all() and (inter["n_cases"] == 6).all()


def test_fewer_than_two_ratings_per_case_is_refused():
    table = study_table(n_cases=4)
    one_reader = table[table["reader"] == "R1"]
    with pytest.raises(InputError, match="inter-observer ICC needs at least 2 ratings per case.*readers: R1"):
        reliability(one_reader)
    one_session = table[table["session"] != "R1-a"]
    with pytest.raises(InputError, match=r"intra-observer ICC needs at least 2 ratings.*R1 \(1 session\)"):
        reliability(one_session)
    # Asking only for what exists works, and reports the rest beside when possible.
    assert reliability(one_reader, required=("intra",)).summary["stable"].any()
    with pytest.raises(InputError, match="at least 2 cases"):
        reliability(table[table["case_id"] == "case00"])

"""Survival: Cox (Efron) on lifelines' bundled Rossi recidivism data against
the published R ``coxph`` values (Fox & Weisberg, "Cox Proportional-Hazards
Regression for Survival Data in R", 2011; the same numbers are in lifelines'
documentation), univariate fits against statsmodels' PHReg, Kaplan-Meier
against exact counts, the log-rank test against scipy, and the cut-offs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines.datasets import load_rossi
from scipy import stats
from statsmodels.duration.hazard_regression import PHReg

from TMERadiomicsLib.errors import InputError
from TMERadiomicsLib.labels import survival

# R: coxph(Surv(week, arrest) ~ fin + age + race + wexp + mar + paro + prio, data = Rossi)
PUBLISHED = pd.DataFrame(
    {"coef": [-0.3794, -0.0574, 0.3139, -0.1498, -0.4337, -0.0849, 0.0915],
     "se": [0.1914, 0.0220, 0.3080, 0.2122, 0.3819, 0.1958, 0.0286]},
    index=["fin", "age", "race", "wexp", "mar", "paro", "prio"],
)
PUBLISHED_LRT = 33.27  # on 7 df
PUBLISHED_CONCORDANCE = 0.640


@pytest.fixture(scope="module")
def rossi() -> pd.DataFrame:
    data = load_rossi()
    data.index = pd.Index([f"R{i:03d}" for i in range(len(data))], name="case_id")
    return data


def test_multivariate_cox_matches_published_rossi(rossi):
    result = survival.cox_multivariate(rossi, "week", "arrest", list(PUBLISHED.index))
    table = result.table.set_index("covariate")
    np.testing.assert_allclose(table["coef"], PUBLISHED["coef"], atol=6e-5)
    np.testing.assert_allclose(table["se"], PUBLISHED["se"], atol=6e-5)
    np.testing.assert_allclose(table["hr"], np.exp(table["coef"]), rtol=1e-12)
    assert result.log_likelihood_ratio == pytest.approx(PUBLISHED_LRT, abs=0.01)
    assert result.lrt_df == 7
    assert result.concordance == pytest.approx(PUBLISHED_CONCORDANCE, abs=0.001)
    assert table.loc["prio", "p"] == pytest.approx(0.0014, abs=1e-4)
    assert (table["hr_low95"] < table["hr"]).all() and (table["hr"] < table["hr_high95"]).all()
    assert table["n"].eq(432).all() and table["events"].eq(114).all()


def test_univariate_cox_matches_statsmodels_efron(rossi):
    covariates = ["fin", "age", "prio"]
    table = survival.cox_univariate(rossi, "week", "arrest", covariates).table.set_index("covariate")
    for name in covariates:
        fit = PHReg(rossi["week"], rossi[[name]], status=rossi["arrest"], ties="efron").fit()
        assert table.loc[name, "coef"] == pytest.approx(fit.params[0], abs=1e-6)
        assert table.loc[name, "se"] == pytest.approx(fit.bse[0], abs=1e-5)
        assert table.loc[name, "p"] == pytest.approx(fit.pvalues[0], rel=1e-4)


def test_kaplan_meier_and_logrank(rossi):
    result = survival.kaplan_meier(rossi, "week", "arrest", "fin")
    # No one is censored before week 52, so S(52) is the share not arrested.
    last = result.curves.groupby("group")["survival"].last()
    assert last["0"] == pytest.approx(150 / 216, abs=1e-12)
    assert last["1"] == pytest.approx(168 / 216, abs=1e-12)
    summary = result.summary.set_index("group")
    assert summary.loc["0", "events"] == 66 and summary.loc["1", "events"] == 48
    a, b = (rossi[rossi["fin"] == level] for level in (0, 1))
    reference = stats.logrank(stats.CensoredData(uncensored=a.loc[a.arrest == 1, "week"],
                                                 right=a.loc[a.arrest == 0, "week"]),
                              stats.CensoredData(uncensored=b.loc[b.arrest == 1, "week"],
                                                 right=b.loc[b.arrest == 0, "week"]))
    assert result.logrank_statistic == pytest.approx(reference.statistic ** 2, rel=1e-9)
    assert result.logrank_p == pytest.approx(reference.pvalue, rel=1e-9)
    assert result.logrank_df == 1


def test_three_groups_use_the_multivariate_logrank(rossi):
    frame = rossi.assign(prio_group=pd.cut(rossi["prio"], [-1, 1, 4, 99], labels=["low", "mid", "high"]))
    result = survival.kaplan_meier(frame, "week", "arrest", "prio_group")
    assert result.logrank_df == 2
    assert result.logrank_p < 0.01
    assert set(result.summary["group"]) == {"low", "mid", "high"}


def test_plots_are_png(rossi, tmp_path):
    uni = survival.cox_univariate(rossi, "week", "arrest", ["fin", "age", "prio"])
    survival.forest_plot(uni.table, tmp_path / "forest.png")
    survival.km_plot(survival.kaplan_meier(rossi, "week", "arrest", "fin"), tmp_path / "km.png")
    for name in ("forest.png", "km.png"):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"


def _brute_youden(values: np.ndarray, event: np.ndarray) -> float:
    best = -np.inf
    for t in np.unique(values):
        high = values >= t
        j = high[event == 1].mean() + (~high[event == 0]).mean() - 1
        best = max(best, j)
    return best


def test_youden_cutoff_is_the_best_threshold():
    rng = np.random.default_rng(0)
    event = pd.Series(rng.integers(0, 2, 200))
    values = pd.Series(rng.normal(0, 1, 200) + 1.2 * event)
    time = pd.Series(rng.uniform(1, 100, 200))
    cut = survival.optimal_cutoff(values, time, event, method="youden")
    high = values >= cut.threshold
    j = high[event == 1].mean() + (~high[event == 0]).mean() - 1
    assert cut.statistic == pytest.approx(j, abs=1e-12)
    assert j == pytest.approx(_brute_youden(values.to_numpy(), event.to_numpy()), abs=1e-12)
    assert cut.high_is_risk and cut.n_high + cut.n_low == 200


def test_youden_cutoff_when_low_values_carry_the_risk():
    rng = np.random.default_rng(1)
    event = pd.Series(rng.integers(0, 2, 200))
    values = pd.Series(rng.normal(0, 1, 200) - 1.2 * event)
    cut = survival.optimal_cutoff(values, pd.Series(np.ones(200)), event, method="youden")
    low = values < cut.threshold
    j = low[event == 1].mean() + (~low[event == 0]).mean() - 1
    assert not cut.high_is_risk
    assert j == pytest.approx(cut.statistic, abs=1e-12)
    assert j == pytest.approx(_brute_youden(-values.to_numpy(), event.to_numpy()), abs=1e-12)


def test_maxstat_finds_a_planted_split():
    rng = np.random.default_rng(2)
    values = pd.Series(rng.uniform(0, 1, 300))
    hazard = np.where(values > 0.6, 0.2, 0.02)
    time = pd.Series(rng.exponential(1 / hazard))
    event = pd.Series((time < 30).astype(int))
    time = time.clip(upper=30)
    cut = survival.optimal_cutoff(values, time, event, method="maxstat")
    assert cut.threshold == pytest.approx(0.6, abs=0.05)
    assert cut.high_is_risk
    assert min(cut.n_high, cut.n_low) >= 30


def test_missing_survival_rows(rossi):
    frame = rossi.copy().astype({"week": float})
    frame.loc["R005", "week"] = np.nan
    with pytest.raises(InputError, match="missing 'week' or 'arrest'") as caught:
        survival.survival_frame(frame, "week", "arrest")
    assert caught.value.case == "R005"
    kept = survival.survival_frame(frame, "week", "arrest", drop_incomplete=True)
    assert len(kept) == 431 and "R005" not in kept.index


def test_bad_survival_values(rossi):
    frame = rossi.copy().astype({"arrest": object})
    frame.loc["R007", "arrest"] = "yes"
    with pytest.raises(InputError, match="non-numeric 'arrest'") as caught:
        survival.survival_frame(frame, "week", "arrest")
    assert caught.value.case == "R007"
    frame = rossi.copy()
    frame.loc["R009", "arrest"] = 2
    with pytest.raises(InputError, match="must be 0/1"):
        survival.survival_frame(frame, "week", "arrest")
    with pytest.raises(InputError, match="one value in every case"):
        survival.cox_multivariate(rossi.assign(k=1.0), "week", "arrest", ["k", "age"])


def test_constant_covariate_gets_an_empty_univariate_row(rossi, tmp_path):
    # e.g. a cell type CIBERSORT finds in no sample: the other covariates still get their models.
    table = survival.cox_univariate(rossi.assign(k=0.0), "week", "arrest", ["k", "prio"]).table
    assert table["hr"].isna().tolist() == [True, False]
    assert table.loc[1, "coef"] == pytest.approx(
        survival.cox_univariate(rossi, "week", "arrest", ["prio"]).table.loc[0, "coef"])
    survival.forest_plot(table, tmp_path / "forest.png")

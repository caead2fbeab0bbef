"""Decision curves against dcurves, a hand-worked example, the bootstrap's definition and bad inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from dcurves import dca
from dcurves import data as dcurves_data

from TMERadiomicsLib.errors import InputError
from TMERadiomicsLib.evaluation.decision_curve import DEFAULT_THRESHOLDS, decision_curve


def _generated(n=240, seed=5):
    """Probabilities rounded to 2 decimals, so many cases tie with a grid threshold; 0 and 1 included."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    p = np.round(1 / (1 + np.exp(-(1.4 * rng.normal(size=n) + 1.6 * y - 0.9))), 2)
    p[:3], p[3:6] = 0.0, 1.0
    return y, p


def _dcurves(y, p, thresholds):
    table = dca(data=pd.DataFrame({"outcome": y, "model": p}), outcome="outcome", modelnames=["model"],
                thresholds=list(thresholds))
    return {name: table.loc[table["model"] == name, "net_benefit"].to_numpy() for name in ("model", "all", "none")}


def _assert_agrees_with_dcurves(y, p):
    ours = decision_curve(y, p, n_bootstrap=1)
    ref = _dcurves(y, p, DEFAULT_THRESHOLDS)
    assert len(ref["model"]) == len(ours.thresholds) == 99
    np.testing.assert_allclose(ours.model, ref["model"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours.treat_all, ref["all"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours.treat_none, ref["none"], rtol=0, atol=1e-12)
    return ours


def test_net_benefit_agrees_with_dcurves_on_a_generated_table():
    y, p = _generated()
    ours = _assert_agrees_with_dcurves(y, p)
    # The example can fail: the curve is neither treat-all nor treat-none everywhere.
    model, best = np.array(ours.model), np.maximum(ours.treat_all, 0)
    assert (model > best + 0.01).any() and (model < best - 0.01).any()
    # The agreement covers the tie rule: counting p == pt as negative (">") would miss dcurves' curve.
    strict = decision_curve(y, np.clip(p - 1e-9, 0, 1), n_bootstrap=1)
    assert np.abs(np.subtract(strict.model, ours.model)).max() > 1e-3


def test_net_benefit_agrees_with_dcurves_on_its_own_example_data():
    """dcurves ships df_binary.csv (750 cases) inside the installed package; nothing is downloaded."""
    table = pd.read_csv(Path(dcurves_data) / "df_binary.csv")
    y = table["cancer"].astype(int).to_numpy()
    ours = _assert_agrees_with_dcurves(y, table["cancerpredmarker"].to_numpy())
    assert ours.prevalence == pytest.approx(y.mean())


def test_worked_ten_case_example():
    """Ten cases, five of each label (prevalence 0.5); a probability equal to pt counts as positive.

    label 1: 0.90 0.70 0.50 0.30 0.10      label 0: 0.60 0.40 0.30 0.20 0.10

    pt = 0.30, odds 3/7: TP = 4 (0.30 ties), FP = 3 (0.60, 0.40, 0.30):
        NB = 4/10 - 3/10 * 3/7 = 19/70; with ">" it would be 3/10 - 2/10 * 3/7 = 15/70.
        treat all = 0.5 - 0.5 * 3/7 = 20/70: above the model.
    pt = 0.40, odds 2/3: TP = 3, FP = 2: NB = 3/10 - 2/10 * 2/3 = 1/6 = treat all (0.5 - 0.5 * 2/3): a tie.
    pt = 0.50, odds 1: TP = 3 (0.50 ties), FP = 1: NB = 0.3 - 0.1 = 0.2; treat all = 0.
    pt = 0.60, odds 3/2: TP = 2, FP = 1 (0.60 ties): NB = 0.2 - 0.1 * 1.5 = 0.05; treat all = -0.25.
    pt = 0.75, odds 3: TP = 1, FP = 0: NB = 0.1; treat all = 0.5 - 0.5 * 3 = -1.
    pt = 0.95: no case is treated: NB = 0, as treat none; treat all = 0.5 - 0.5 * 19 = -9.
    pt = 0.10, odds 1/9: every case is treated (both 0.10s tie): NB = 0.5 - 0.5/9 = 4/9 = treat all.
    So the model beats both defaults at 0.50, 0.60 and 0.75 only: one run, 0.50 to 0.75.
    """
    y = np.array([1, 1, 1, 1, 1, 0, 0, 0, 0, 0])
    p = np.array([0.90, 0.70, 0.50, 0.30, 0.10, 0.60, 0.40, 0.30, 0.20, 0.10])
    grid = [0.10, 0.30, 0.40, 0.50, 0.60, 0.75, 0.95]
    curve = decision_curve(y, p, thresholds=grid, n_bootstrap=50)
    assert curve.thresholds == tuple(grid)
    expected_model = [4 / 9, 19 / 70, 1 / 6, 0.2, 0.05, 0.1, 0.0]
    expected_all = [4 / 9, 20 / 70, 1 / 6, 0.0, -0.25, -1.0, -9.0]
    np.testing.assert_allclose(curve.model, expected_model, rtol=0, atol=1e-15)
    np.testing.assert_allclose(curve.treat_all, expected_all, rtol=0, atol=1e-13)
    assert curve.treat_none == (0.0,) * len(grid)
    assert curve.beats_both == ((0.50, 0.75),)
    assert curve.prevalence == 0.5 and curve.n_cases == 10


def test_band_is_the_percentile_of_the_stratified_bootstrap():
    """The band recomputed by a direct loop: the same seeded class-stratified draws, NB counted case by case."""
    y, p = _generated(n=60, seed=2)
    grid = [0.2, 0.35, 0.5, 0.65]
    curve = decision_curve(y, p, thresholds=grid, n_bootstrap=200, seed=7)
    rng = np.random.default_rng(7)
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    values = []
    for _ in range(200):
        idx = np.concatenate([rng.choice(pos, len(pos)), rng.choice(neg, len(neg))])
        yy, pp = y[idx], p[idx]
        values.append([sum(pp[i] >= t and yy[i] == 1 for i in range(len(yy))) / len(yy)
                       - sum(pp[i] >= t and yy[i] == 0 for i in range(len(yy))) / len(yy) * t / (1 - t)
                       for t in grid])
    low, high = np.quantile(values, [0.025, 0.975], axis=0)
    np.testing.assert_allclose(curve.band_low, low, rtol=0, atol=1e-14)
    np.testing.assert_allclose(curve.band_high, high, rtol=0, atol=1e-14)


def test_band_contains_the_curve_and_is_reproducible_with_the_seed():
    y, p = _generated()
    first = decision_curve(y, p, n_bootstrap=400, seed=3)
    assert all(lo <= nb <= hi for lo, nb, hi in zip(first.band_low, first.model, first.band_high))
    assert np.mean(np.subtract(first.band_high, first.band_low)) > 0.01  # a band, not a line
    again = decision_curve(y, p, n_bootstrap=400, seed=3)
    assert (again.band_low, again.band_high) == (first.band_low, first.band_high)
    other = decision_curve(y, p, n_bootstrap=400, seed=4)
    assert other.band_low != first.band_low
    assert other.model == first.model


def test_as_dict_carries_every_curve_and_the_summary():
    """The ten cases above on the default grid: the model beats both from 0.41 (just past the tie with
    treat-all at 0.40) to 0.90 (the top case, 0.90, still treated); from 0.91 on nobody is treated."""
    y = np.array([1, 1, 1, 1, 1, 0, 0, 0, 0, 0])
    p = np.array([0.90, 0.70, 0.50, 0.30, 0.10, 0.60, 0.40, 0.30, 0.20, 0.10])
    data = decision_curve(y, p, n_bootstrap=20, seed=1).as_dict()
    assert data["thresholds"][0] == 0.01 and data["thresholds"][-1] == 0.99 and len(data["thresholds"]) == 99
    assert data["net_benefit_treat_all"][49] == pytest.approx(0.0, abs=1e-15)  # pt = 0.5, prevalence 0.5
    assert data["model_beats_both"] == [[0.41, 0.90]]
    assert data["n_resamples"] == 20 and data["seed"] == 1 and data["level"] == 0.95


@pytest.mark.parametrize("labels, probabilities, message", [
    ([0, 1, 2, 0], [0.1, 0.2, 0.3, 0.4], r"a label must be 0 or 1 \(value: 2 at position 2\)"),
    ([0, 1, np.nan, 0], [0.1, 0.2, 0.3, 0.4], r"a label must be 0 or 1 \(value: nan at position 2\)"),
    (["no", "yes", "no", "yes"], [0.1, 0.2, 0.3, 0.4], "a label must be 0 or 1"),
    ([0, 1, 1, 0], [0.1, 1.5, 0.3, 0.4], r"must lie in \[0, 1\].*\(value: 1.5 at position 1\)"),
    ([0, 1, 1, 0], [0.1, 0.2, -0.01, 0.4], r"must lie in \[0, 1\].*\(value: -0.01 at position 2\)"),
    ([0, 1, 1, 0], [0.1, 0.2, np.nan, 0.4], r"a probability is NaN.*position 2"),
    ([0, 1, 1, 0], [0.1, 0.2, np.inf, 0.4], r"must lie in \[0, 1\]"),
    ([1, 1, 1, 1], [0.1, 0.2, 0.3, 0.4], "both labels 0 and 1"),
    ([0, 1, 1], [0.1, 0.2, 0.3, 0.4], "same length"),
], ids=["label-2", "label-nan", "label-text", "p-above-1", "p-below-0", "p-nan", "p-inf", "one-class", "lengths"])
def test_bad_cases_are_refused_in_one_line(labels, probabilities, message):
    with pytest.raises(InputError, match=message) as caught:
        decision_curve(labels, probabilities, n_bootstrap=10)
    assert "\n" not in str(caught.value)


def test_a_bad_case_is_named_by_its_id():
    with pytest.raises(InputError, match=r"^case P3: decision curve: a probability must lie in \[0, 1\]"):
        decision_curve([0, 1, 1], [0.1, 0.2, 7.0], n_bootstrap=10, case_ids=["P1", "P2", "P3"])


@pytest.mark.parametrize("thresholds, message", [
    ([0.0, 0.5], "strictly between 0 and 1"),
    ([0.5, 1.0], "strictly between 0 and 1"),
    ([0.5, 0.2], "must increase"),
    ([], "at least one threshold"),
], ids=["pt-0", "pt-1", "decreasing", "none"])
def test_bad_thresholds_are_refused(thresholds, message):
    with pytest.raises(InputError, match=message):
        decision_curve([0, 1], [0.2, 0.8], thresholds=thresholds, n_bootstrap=10)


def test_no_resamples_is_refused():
    with pytest.raises(InputError, match="at least 1 resample"):
        decision_curve([0, 1], [0.2, 0.8], n_bootstrap=0)


def test_the_report_sentence_reads_the_curve():
    """Ten cases above: beats both for pt 0.41-0.90, by at most 0.2 (e.g. pt = 0.65: NB = 2/10, defaults <= 0).
    A model that ranks every case the wrong way round never beats both, and the sentence says so."""
    from TMERadiomicsLib.evaluation.report import decision_curve_reading

    y = np.array([1, 1, 1, 1, 1, 0, 0, 0, 0, 0])
    p = np.array([0.90, 0.70, 0.50, 0.30, 0.10, 0.60, 0.40, 0.30, 0.20, 0.10])
    text = decision_curve_reading(decision_curve(y, p, n_bootstrap=20))
    assert "for pt 0.41-0.90, by at most 0.200 in net benefit" in text
    assert "20.0 more true positives per 100 patients" in text and "on 10 cases" in text
    wrong = decision_curve([1, 1, 0, 0], [0.1, 0.2, 0.8, 0.9], n_bootstrap=20)
    assert wrong.beats_both == ()
    assert decision_curve_reading(wrong).startswith("At no threshold probability from 0.01 to 0.99 does the model's")


def test_an_exact_tie_with_treat_all_is_no_gain():
    """2 positives, 9 negatives, pt = 0.10 (odds 1/9), TP = 1, FP = 0: NB = 1/11, and treat all =
    2/11 - 9/11 * 1/9 = 1/11 too. In floats the model comes out 1.4e-17 higher; that is rounding, not a gain."""
    curve = decision_curve([1, 1] + [0] * 9, [0.5] + [0.05] * 10, thresholds=[0.10], n_bootstrap=5)
    assert curve.model[0] == pytest.approx(1 / 11, abs=1e-15) and curve.treat_all[0] == pytest.approx(1 / 11)
    assert curve.model[0] > curve.treat_all[0]  # the floats differ, so the tolerance is what decides
    assert curve.beats_both == ()

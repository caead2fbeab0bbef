"""ComBat (TMERadiomicsLib.harmonisation) against two independent implementations, on new cases, and its refusals.

The shared table: 3 sites of 28, 20 and 12 cases, 20 features, each site
with its own gain, offset and noise; covariates ``age`` (numeric, whole
years) and ``grade`` (categorical, 3 levels).

Agreement is checked on harmonised values, absolute, within 1e-6, for the
parametric and non-parametric priors, with and without covariates, with
and without mean-only. The two references disagree with each other by up to
0.19 on this table (all variants but non-parametric mean-only), and the
reason is one convention: inmoose's ``pycombat_norm`` takes numpy's default
*population* variance (ddof=0) for the site variances ``delta_hat``, the
spread ``t2`` of the site means and the moments of the inverse-gamma prior,
where sva::ComBat (R's ``var`` and ``rowVars``) and neuroCombat take the
*sample* variance (ddof=1). Ours follows sva (``ddof=1``, the default) and
matches neuroCombat; with ``ddof=0`` it matches inmoose on every variant,
which shows that the variance convention is the only difference.

neuroCombat casts a DataFrame of features and its continuous covariates to
float32; the features are handed to it as a float64 array, and the ages are
whole numbers (exact in float32), so that the comparison is of estimators,
not of rounding.
"""

from __future__ import annotations

import contextlib
import io
import json
import warnings

import numpy as np
import pandas as pd
import pytest

from TMERadiomicsLib.errors import InputError
from TMERadiomicsLib.harmonisation import ComBatModel, fit_combat, model_to_dict, read_combat

SITES = {"A": (28, 1.0, 0.0, 0.2), "B": (20, 1.4, 2.0, 0.6), "C": (12, 0.7, -1.5, 1.0)}  # cases, gain, offset, noise
VARIANTS = [(parametric, covariates, mean_only)
            for parametric in (True, False) for covariates in (False, True) for mean_only in (False, True)]
TOLERANCE = 1e-6


@pytest.fixture(scope="module")
def cohort():
    """(features, site, covariates): a shared synthetic table of 60 cases."""
    rng = np.random.default_rng(0)
    n, p = sum(size for size, *_ in SITES.values()), 20
    site = np.repeat(list(SITES), [size for size, *_ in SITES.values()])
    values = rng.normal(size=(n, p)) * rng.uniform(1, 3, p) + rng.uniform(-5, 5, p)
    for name, (_, gain, offset, noise) in SITES.items():
        rows = site == name
        values[rows] = values[rows] * gain + offset + rng.normal(scale=noise, size=(rows.sum(), p))
    ids = pd.Index([f"P{i:02d}" for i in range(n)], name="case_id")
    features = pd.DataFrame(values, index=ids, columns=[f"Intra_f{j}" for j in range(p)])
    covariates = pd.DataFrame({"age": rng.integers(30, 80, n).astype(float), "grade": rng.choice(["g1", "g2", "g3"], n)},
                              index=ids)
    return features, pd.Series(site, index=ids, name="site"), covariates


def _neurocombat(features, site, covariates, *, parametric, mean_only):
    from neuroCombat import neuroCombat

    covars = pd.DataFrame({"site": site.to_numpy()})
    if covariates is not None:
        covars = covars.assign(age=covariates["age"].to_numpy(), grade=covariates["grade"].to_numpy())
    with contextlib.redirect_stdout(io.StringIO()):  # it prints its progress
        result = neuroCombat(features.to_numpy().T.copy(), covars, "site",
                             categorical_cols=["grade"] if covariates is not None else None,
                             continuous_cols=["age"] if covariates is not None else None,
                             parametric=parametric, mean_only=mean_only)
    return result["data"].T, result["estimates"]


def _inmoose(features, site, covariates, *, parametric, mean_only):
    from inmoose.pycombat import pycombat_norm

    covar_mod = None if covariates is None else covariates.reset_index(drop=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(pycombat_norm(features.to_numpy().T.copy(), list(site), covar_mod=covar_mod,
                                        par_prior=parametric, mean_only=mean_only)).T


def _ours(features, site, covariates, **options):
    return fit_combat(features, site, covariates, **options).apply(features, site, covariates).to_numpy()


@pytest.mark.parametrize("parametric, with_covariates, mean_only", VARIANTS)
def test_agrees_with_neurocombat(cohort, parametric, with_covariates, mean_only):
    features, site, covariates = cohort
    covariates = covariates if with_covariates else None
    expected, _ = _neurocombat(features, site, covariates, parametric=parametric, mean_only=mean_only)
    ours = _ours(features, site, covariates, parametric=parametric, mean_only=mean_only)
    assert np.abs(ours - expected).max() < TOLERANCE
    assert np.abs(ours - features.to_numpy()).max() > 0.5  # the sites' effects were there to remove


@pytest.mark.parametrize("parametric, with_covariates, mean_only", VARIANTS)
def test_agrees_with_inmoose_under_its_variance_convention(cohort, parametric, with_covariates, mean_only):
    features, site, covariates = cohort
    covariates = covariates if with_covariates else None
    expected = _inmoose(features, site, covariates, parametric=parametric, mean_only=mean_only)
    ours_population = _ours(features, site, covariates, parametric=parametric, mean_only=mean_only, ddof=0)
    assert np.abs(ours_population - expected).max() < TOLERANCE
    ours_sva = _ours(features, site, covariates, parametric=parametric, mean_only=mean_only)
    differs = np.abs(ours_sva - expected).max()
    if not parametric and mean_only:
        # Neither a variance nor t2 enters: the one variant where the references agree, and so do we.
        assert differs < TOLERANCE
    else:
        assert differs > 1e-3


class _NumpyScalarWhere:
    """numpy as neuroCombatFromTraining expects it: it calls ``int()`` on ``np.where``'s one-element
    index array, which numpy 2 refuses (numpy 1.25 deprecated it)."""

    def __getattr__(self, name):
        return getattr(np, name)

    @staticmethod
    def where(condition):
        return tuple(index.reshape(()) if index.size == 1 else index for index in np.where(condition))


def test_new_cases_as_neurocombat_from_training(cohort, monkeypatch):
    """Fit on two thirds of every site, apply to the rest: neuroCombatFromTraining's values.

    Without covariates only: neuroCombatFromTraining replaces each new case's
    covariate effect by the training cases' mean one, which would not give the
    fitting table back its own harmonised values; ours uses the case's own.
    """
    import importlib

    from neuroCombat import neuroCombatFromTraining

    reference = importlib.import_module("neuroCombat.neuroCombat")  # the package's name is the function's

    features, site, _ = cohort
    held_out = np.arange(len(features)) % 3 == 2
    train, test = features[~held_out], features[held_out]
    _, estimates = _neurocombat(train, site[~held_out], None, parametric=True, mean_only=False)
    monkeypatch.setattr(reference, "np", _NumpyScalarWhere())
    with contextlib.redirect_stdout(io.StringIO()):
        expected = neuroCombatFromTraining(test.to_numpy().T, site[held_out].to_numpy(), estimates)["data"].T
    model = fit_combat(train, site[~held_out])
    together = model.apply(test, site[held_out])
    assert np.abs(together.to_numpy() - expected).max() < TOLERANCE
    for case in test.index:  # one case at a time: the same values
        alone = model.apply(test.loc[[case]], site[[case]])
        assert alone.index.tolist() == [case]
        assert np.abs(alone.to_numpy() - together.loc[[case]].to_numpy()).max() < 1e-12


def test_json_round_trip_harmonises_identically(cohort, tmp_path):
    features, site, covariates = cohort
    for options in ({"parametric": True}, {"parametric": False, "mean_only": True}):
        model = fit_combat(features, site, covariates, **options)
        text = model.to_json()
        data = json.loads(text)
        assert data["format_version"] == 1 and data["covariates"] == {"categorical": {"grade": ["g1", "g2", "g3"]},
                                                                        "numeric": ["age"]}
        assert [s["cases"] for s in data["sites"]] == [28, 20, 12]
        (tmp_path / "combat.json").write_text(text)
        again = read_combat(tmp_path / "combat.json")
        assert again.to_json() == text and model_to_dict(again) == data
        one = features.iloc[[7]]
        assert np.array_equal(again.apply(features, site, covariates).to_numpy(),
                              model.apply(features, site, covariates).to_numpy())
        assert np.abs(again.apply(one, site, covariates).to_numpy()
                      - model.apply(features, site, covariates).iloc[[7]].to_numpy()).max() < 1e-12


def test_the_fitting_table_gets_back_the_fits_harmonised_values_with_covariates(cohort):
    """Through JSON, a model applied to the cases it was fitted on gives neuroCombat's fit output."""
    features, site, covariates = cohort
    expected, _ = _neurocombat(features, site, covariates, parametric=True, mean_only=False)
    model = ComBatModel.from_json(fit_combat(features, site, covariates).to_json())
    shuffled = features.sample(frac=1.0, random_state=1)  # rows in another order, covariates aligned by case
    harmonised = model.apply(shuffled, site, covariates).loc[features.index]
    assert np.abs(harmonised.to_numpy() - expected).max() < TOLERANCE


def test_a_pure_additive_offset_per_site_is_removed_as_the_sites_grow():
    """Sites that only shift each feature: the harmonised site means converge to the pooled mean.

    The model's grand mean is the case-weighted mean of the site means, and a
    site's harmonised mean misses it by sqrt(var) * (gamma_hat - gamma_star) /
    sqrt(delta_star), where gamma_hat - gamma_star = delta_star * (gamma_hat -
    gamma_bar) / (t2 * n_site + delta_star): it shrinks as 1/n. Ten times the
    cases, about a tenth of the miss (with t2 = 9, the offsets' spread, and
    delta = 1, about 3 / (9 * 600) at the smallest site of the larger table).
    """
    def misses(scale: int) -> float:
        rng = np.random.default_rng(7)
        sizes, p = np.array([14, 10, 6]) * scale, 8
        site = np.repeat(["A", "B", "C"], sizes)
        offsets = rng.normal(scale=3.0, size=(3, p))  # per site and feature
        values = rng.uniform(-10, 10, p) + rng.normal(size=(sizes.sum(), p)) + np.repeat(offsets, sizes, axis=0)
        ids = pd.Index([f"c{i}" for i in range(sizes.sum())])
        features = pd.DataFrame(values, index=ids, columns=[f"f{j}" for j in range(p)])
        batch = pd.Series(site, index=ids, name="site")
        harmonised = fit_combat(features, batch).apply(features, batch)
        before, after = features.groupby(site).mean(), harmonised.groupby(site).mean()
        pooled = (sizes / sizes.sum()) @ before.to_numpy()
        assert (before.max() - before.min() > 1.0).all()  # the offsets were there
        return float(np.abs(after.to_numpy() - pooled).max())

    small, large = misses(10), misses(100)
    assert large < 3e-3
    assert 5 < small / large < 20


def _refusal(call) -> str:
    with pytest.raises(InputError) as caught:
        call()
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_refusals_at_fit(cohort):
    features, site, covariates = cohort
    one_case = site.copy()
    one_case.iloc[0] = "D"
    assert "D (1 case)" in _refusal(lambda: fit_combat(features, one_case))
    constant = features.copy()
    constant.loc[site == "B", "Intra_f3"] = 4.25
    message = _refusal(lambda: fit_combat(constant, site))
    assert "'Intra_f3'" in message and "site 'B'" in message and "4.25" in message
    fit_combat(constant, site, mean_only=True)  # adjusting means needs no scale at that site
    for bad in (np.nan, np.inf):
        holed = features.copy()
        holed.loc["P05", "Intra_f2"] = bad
        message = _refusal(lambda: fit_combat(holed, site))
        assert "case P05" in message and "'Intra_f2'" in message
    no_site = site.copy()
    no_site.loc["P09"] = None
    assert "case P09" in _refusal(lambda: fit_combat(features, no_site))
    confounded = covariates.assign(scanner=site.map({"A": "x", "B": "y", "C": "z"}))
    assert "'scanner' is confounded" in _refusal(lambda: fit_combat(features, site, confounded))
    assert "at least 2 sites" in _refusal(lambda: fit_combat(features, site.map(lambda s: "A")))
    copies = pd.DataFrame({name: 2.0 * index + features["Intra_f0"] * (index + 1)
                           for index, name in enumerate(["a", "b", "c"])})
    message = _refusal(lambda: fit_combat(copies, site))
    assert "same variance within this site" in message and "(value: A)" in message
    fit_combat(copies, site, parametric=False)  # no inverse-gamma prior to fit
    assert "at least 2 features" in _refusal(lambda: fit_combat(features[["Intra_f0"]], site))


def test_refusals_at_apply(cohort):
    features, site, covariates = cohort
    model = fit_combat(features, site, covariates)
    message = _refusal(lambda: model.apply(features.drop(columns=["Intra_f4", "Intra_f9"]), site, covariates))
    assert "Intra_f4, Intra_f9" in message
    unseen = site.copy()
    unseen.loc["P11"] = "Z"
    message = _refusal(lambda: model.apply(features, unseen, covariates))
    assert "case P11" in message and "'Z'" in message and "known sites: A, B, C" in message
    new_grade = covariates.copy()
    new_grade.loc["P12", "grade"] = "g4"
    message = _refusal(lambda: model.apply(features, site, new_grade))
    assert "case P12" in message and "g4" in message and "g1, g2, g3" in message
    assert "covariate columns missing: age" in _refusal(lambda: model.apply(features, site, covariates.drop(columns=["age"])))
    holed = features.copy()
    holed.loc["P20", "Intra_f0"] = np.nan
    assert "case P20" in _refusal(lambda: model.apply(holed, site, covariates))


def test_a_damaged_json_is_refused_naming_the_field(cohort, tmp_path):
    features, site, _ = cohort
    data = json.loads(fit_combat(features, site).to_json())
    path = tmp_path / "combat.json"

    def refused(change) -> str:
        damaged = json.loads(json.dumps(data))
        change(damaged)
        path.write_text(json.dumps(damaged))
        message = _refusal(lambda: read_combat(path))
        assert str(path) in message
        return message

    assert "'var_pooled[3]' must be positive" in refused(lambda d: d["var_pooled"].__setitem__(3, -1.0))
    assert "'gamma_star' is missing" in refused(lambda d: d.pop("gamma_star"))
    assert "'delta_star[1]' must be a list of 20" in refused(lambda d: d["delta_star"][1].pop())
    assert "format_version" in refused(lambda d: d.__setitem__("format_version", 99))
    path.write_text(json.dumps(data).replace("0.", "NaN", 1))
    assert "not a ComBat JSON" in _refusal(lambda: read_combat(path))

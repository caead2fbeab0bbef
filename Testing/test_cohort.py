"""The synthetic radiogenomic cohort: its latent state shows in images, RNA-seq and survival."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
from scipy import ndimage

from TMERadiomicsLib.cohort import phantom as ph
from TMERadiomicsLib.batch import read_manifest
from TMERadiomicsLib.cohort import make_case, make_cohort, write_cohort
from TMERadiomicsLib.cohort import transcriptome as tx
from TMERadiomicsLib.cohort.state import M2_BETA, SCANNERS, draw_state
from TMERadiomicsLib.cohort.survival import LOG_HR_HOT, LOG_HR_PER_M2_SD, survival_table
from TMERadiomicsLib.errors import InputError
from TMERadiomicsLib.labels.cibersort import cibersort
from TMERadiomicsLib.labels.expression import read_gmt, read_matrix
from TMERadiomicsLib.labels.phenotypes import kmeans_phenotypes
from TMERadiomicsLib.labels.ssgsea import ssgsea
from TMERadiomicsLib.labels.survival import cox_multivariate


def test_same_seed_same_cohort_other_seed_other_cohort():
    a, b, c = make_cohort(12, seed=3), make_cohort(12, seed=3), make_cohort(12, seed=4)
    assert a.truth().equals(b.truth())
    assert not a.truth()["m2_fraction"].equals(c.truth()["m2_fraction"])
    assert np.array_equal(a.phantom(5).tissue, b.phantom(5).tissue)
    state, _ = make_case(3, 5, "SYN-005")
    assert state == a.states[5]


def test_roles_hold_out_the_last_share():
    cohort = make_cohort(20, seed=0, held_out=0.3)
    assert cohort.roles.count("held-out") == 6
    assert set(cohort.roles[:14]) == {"development"} and set(cohort.roles[14:]) == {"held-out"}


def test_latent_state_sets_the_phantom_knobs():
    states = [draw_state(0, i, f"c{i}") for i in range(400)]
    m2 = np.array([s.m2_fraction for s in states])
    hot = np.array([s.hot for s in states], dtype=bool)
    enhancement = np.array([s.spec.peritumoral_enhancement for s in states])
    texture = np.array([s.spec.peritumoral_texture for s in states])
    rim = np.array([s.spec.rim_texture for s in states])
    a, b = M2_BETA
    assert m2.mean() == pytest.approx(a / (a + b), abs=0.01)
    assert np.corrcoef(m2, enhancement)[0, 1] > 0.9
    assert texture[hot].mean() - texture[~hot].mean() == pytest.approx(0.30, abs=0.05)
    assert rim[hot].mean() - rim[~hot].mean() == pytest.approx(0.20, abs=0.05)
    # The image knobs that carry M2 do not carry the phenotype, and vice versa.
    assert abs(np.corrcoef(hot, enhancement)[0, 1]) < 0.15
    assert abs(np.corrcoef(m2, texture)[0, 1]) < 0.15


def test_sites_map_the_magnitude_image_affinely_and_keep_the_state():
    """Issue 24: three scanners, drawn apart from the TME state; site-A is the reference scanner."""
    cohort = make_cohort(40, 3)
    assert set(cohort.sites) == set(SCANNERS)
    assert list(cohort.labels()["site"]) == cohort.sites
    # The scanner touches only the image: the kinetic maps are the reference scanner's.
    state = next(s for s in cohort.states if s.site != "site-A")
    scanner = SCANNERS[state.site]
    assert (state.spec.scanner_gain, state.spec.scanner_offset, state.spec.scanner_noise) == (
        scanner.gain, scanner.offset, scanner.noise)
    reference = ph.generate(replace(state.spec, scanner_gain=1.0, scanner_offset=0.0))
    scanned = ph.generate(state.spec)
    assert np.array_equal(reference.amplitude, scanned.amplitude)
    expected = scanner.gain * sitk.GetArrayFromImage(reference.image()) + scanner.offset
    assert np.allclose(sitk.GetArrayFromImage(scanned.image()), expected, rtol=1e-6, atol=1e-4)
    default = ph.make_phantom("small", seed=2)
    assert np.array_equal(sitk.GetArrayFromImage(default.image()),
                          sitk.GetArrayFromImage(ph.make_phantom("small", seed=2, scanner_gain=1.0,
                                                                 scanner_noise=1.0).image()))
    with pytest.raises(InputError, match="scanner gain"):
        ph.PhantomSpec(scanner_gain=3.0)
    with pytest.raises(InputError, match="scanner noise"):
        ph.PhantomSpec(scanner_noise=0.0)


@pytest.mark.parametrize("site", sorted(SCANNERS))
def test_each_site_has_its_own_noise_level(site):
    """The residual about the noise-free signal has sd gain * noise * NOISE_SIGMA where SNR is high."""
    scanner = SCANNERS[site]
    phantom = ph.make_phantom("small", seed=4, scanner_gain=scanner.gain, scanner_offset=scanner.offset,
                              scanner_noise=scanner.noise)
    image = sitk.GetArrayFromImage(phantom.image(0))  # pre-contrast: the clean signal is S0
    fibroglandular = phantom.tissue == ph.TISSUES["fibroglandular"]  # S0 210 a.u.: SNR >= 20, Rician ~ Gaussian
    residual = image[fibroglandular] - (scanner.gain * phantom.s0[fibroglandular] + scanner.offset)
    expected_sd = scanner.gain * scanner.noise * ph.NOISE_SIGMA
    assert residual.std() == pytest.approx(expected_sd, rel=0.03)
    assert abs(residual.mean()) < 0.1 * expected_sd


def test_rim_texture_changes_only_the_lesion_rim():
    plain = ph.make_phantom("small", seed=2)
    grainy = ph.make_phantom("small", seed=2, rim_texture=0.6)
    changed = plain.amplitude != grainy.amplitude
    lesion = plain.tissue == ph.TISSUES["lesion"]
    assert changed.any() and not np.any(changed & ~lesion)
    # Within 2 mm of the border, which the phantom measures from the lesion's boundary voxels (Maurer)
    # and this test from the outside voxel centres (EDT): the two differ by at most one voxel diagonal.
    spacing = np.array(ph.SIZES["small"][1])[::-1]
    depth = ndimage.distance_transform_edt(lesion, sampling=spacing)
    assert not np.any(changed & (depth > 2.0 + np.linalg.norm(spacing)))
    assert changed[lesion & (depth <= 2.0)].mean() > 0.99
    assert np.array_equal(plain.tissue, grainy.tissue)
    assert np.array_equal(ph.make_phantom("small", seed=2, rim_texture=0.0).amplitude, plain.amplitude)


def test_bulk_fractions_keep_the_state():
    state = draw_state(1, 0, "c0")
    fractions = tx.bulk_fractions(state, 1, 0)
    immune = fractions[list(tx.LM22_TYPES)]
    assert fractions.sum() == pytest.approx(1.0, abs=1e-12) and (fractions >= 0).all()
    assert immune.sum() == pytest.approx(state.immune_share, abs=1e-12)
    assert immune[tx.M2] / immune.sum() == pytest.approx(state.m2_fraction, abs=1e-12)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("cohort")
    cohort = make_cohort(40, seed=0)
    return cohort, write_cohort(cohort, out)


def test_written_cohort_is_a_batch_manifest_with_matching_tables(written):
    cohort, files = written
    specs = read_manifest(files["manifest"])
    assert [s.case_id for s in specs] == cohort.case_ids
    image = sitk.ReadImage(str(specs[0].image))
    tumour = sitk.ReadImage(str(specs[0].mask))
    assert image.GetPixelID() == sitk.sitkInt16 and image.GetSize() == tumour.GetSize()
    assert sitk.GetArrayFromImage(tumour).sum() == (cohort.phantom(0).tissue == ph.TISSUES["lesion"]).sum()
    assert specs[0].exclude and specs[0].exclude[0].name == "vessels.nrrd"
    labels = pd.read_csv(files["labels"], dtype={"case_id": str})
    truth = pd.read_csv(files["truth"], dtype={"case_id": str})
    assert list(labels["case_id"]) == list(truth["case_id"]) == cohort.case_ids
    assert labels["Macrophages_M2_high"].sum() == 20  # median split of 40 distinct values
    assert (labels["tme_hot"] == truth["tme_hot"]).all()
    expression = read_matrix(files["expression"])
    assert list(expression.columns) == cohort.case_ids
    survival = pd.read_csv(files["survival"], dtype={"case_id": str})
    assert list(survival.columns) == ["case_id", "time", "event"] and survival["time"].gt(0).all()


def test_cibersort_and_ssgsea_recover_the_latent_state(written):
    cohort, files = written
    expression = read_matrix(files["expression"])
    fractions = cibersort(expression, read_matrix(files["signature"], what="signature"), quantile_norm=False).fractions
    truth = cohort.truth().set_index("case_id")
    assert np.corrcoef(fractions.loc[truth.index, tx.M2], truth["m2_fraction"])[0, 1] > 0.9
    scores = ssgsea(expression, read_gmt(files["gene_sets"])).scores
    hot = kmeans_phenotypes(scores).labels["tme_hot"].loc[truth.index]
    assert (hot == truth["tme_hot"]).mean() >= 0.95


def test_survival_follows_the_generating_hazards():
    """Cox on a large cohort's states recovers the log-hazard ratios the generator used."""
    states = [draw_state(5, i, f"c{i:04d}") for i in range(3000)]
    table = survival_table(states, 5)
    a, b = M2_BETA
    sd = np.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
    table["m2_per_sd"] = [s.m2_fraction / sd for s in states]
    table["hot"] = [s.hot for s in states]
    result = cox_multivariate(table, "time", "event", ["m2_per_sd", "hot"]).table.set_index("covariate")
    assert result.loc["m2_per_sd", "coef"] == pytest.approx(LOG_HR_PER_M2_SD, abs=0.1)
    assert result.loc["hot", "coef"] == pytest.approx(LOG_HR_HOT, abs=0.15)


@pytest.mark.parametrize("kwargs", [{"n_cases": 5}, {"n_cases": 20, "held_out": 1.0}, {"n_cases": 20, "held_out": -0.1}])
def test_bad_cohort_requests_are_refused(kwargs):
    with pytest.raises(InputError):
        make_cohort(**kwargs)


def test_cohort_cli_writes_the_folder_and_refuses_bad_sizes(tmp_path, capsys):
    from TMERadiomicsLib.cli import main

    out = tmp_path / "cohort"
    assert main(["cohort", "--out", str(out), "--cases", "10", "--seed", "2"]) == 0
    truth = pd.read_csv(out / "truth.csv", dtype={"case_id": str})
    expected = make_cohort(10, 2).truth()
    assert list(truth["case_id"]) == list(expected["case_id"])
    assert np.allclose(truth["m2_fraction"], expected["m2_fraction"], rtol=0, atol=1e-15)
    assert len(read_manifest(out / "manifest.csv")) == 10
    assert main(["cohort", "--out", str(tmp_path / "bad"), "--cases", "3"]) == 2
    assert "at least 10 cases" in capsys.readouterr().err and not (tmp_path / "bad").exists()


def test_response_of_treated_cases_follows_the_phenotype():
    cohort = make_cohort(400, seed=4, held_out=0.5)
    response = cohort.response()
    truth = cohort.truth().set_index("case_id")
    assert set(response["case_id"]) == set(truth.index[truth["role"] == "held-out"])
    assert set(response["recist"]) <= {"CR", "PR", "SD", "PD"}
    hot = truth.loc[response["case_id"], "tme_hot"].to_numpy() == 1
    objective = response["recist"].isin(["CR", "PR"]).to_numpy()
    # Generating rates 0.55 (hot) and 0.10 (cold); 200 cases put each estimate within ~0.1.
    assert objective[hot].mean() == pytest.approx(0.55, abs=0.12)
    assert objective[~hot].mean() == pytest.approx(0.10, abs=0.08)
    assert response.equals(make_cohort(400, seed=4, held_out=0.5).response())

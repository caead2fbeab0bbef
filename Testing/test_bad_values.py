"""Issue 20: values that cannot be right are refused before they become a number.

Every float option is finite-checked, seeds stay in NumPy's range, case IDs
obey one rule, presets must say what they extract, ``--region-mask`` refuses
repeats and empties, tables refuse repeated columns and header-only files,
degenerate survival data are refused with the reason, a study database path
that is a device or folder is named, and every size option is bounded by a
time/memory/disk estimate. Each case: one line, exit 2, nothing written.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk

from TMERadiomicsLib.case_ids import case_id_problem, check_case_id
from TMERadiomicsLib.cli import build_parser, main
from TMERadiomicsLib.cli import argtypes
from TMERadiomicsLib.errors import InputError
from TMERadiomicsLib.features import load_preset
from TMERadiomicsLib.labels import survival
from TMERadiomicsLib.labels.tables import read_case_table
from TMERadiomicsLib.store.connection import connect

FLOAT_PARSERS = (argtypes.finite_float, argtypes.non_negative_float, argtypes.positive_float,
                 argtypes.p_value, argtypes.unit_interval)


def _fails(capsys, argv, *expected) -> str:
    """Exit 2 and one ``error:`` line on stderr holding every ``expected`` text."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as stop:  # argparse ends parsing itself, with code 2
        code = stop.code
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2, err
    errors = [line for line in err if "error:" in line]
    assert len(errors) == 1 and "Traceback" not in "\n".join(err), err
    for text in expected:
        assert text in errors[0], errors[0]
    return errors[0]


def _options(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()):
    """(command path, action) of every option of every sub-command, recursively."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _options(sub, prefix + (name,))
        elif action.option_strings:
            yield prefix, action


# ---- NaN / infinity / seeds: a sweep over every option of every command ------------------

def test_no_option_parses_with_bare_float():
    """``type=float`` takes nan, inf and 1e999; every float option must use a finite parser."""
    bare = [(" ".join(path), action.option_strings[0]) for path, action in _options(build_parser())
            if action.type is float]
    assert bare == []


@pytest.mark.parametrize("text", ["nan", "NaN", "inf", "-inf", "1e999"])
def test_every_float_option_refuses_non_finite(text):
    checked = 0
    for path, action in _options(build_parser()):
        if action.type in FLOAT_PARSERS:
            with pytest.raises(argparse.ArgumentTypeError, match="finite"):
                action.type(text)
            checked += 1
    assert checked >= 15  # the sweep found the float options (air-below, multivariate-p, widths...)


@pytest.mark.parametrize("argv, flag", [
    (["regions", "i.nrrd", "m.nrrd", "--out", "o", "--air-below", "nan"], "--air-below"),
    (["survival", "cox", "s.csv", "v.csv", "--out", "o", "--multivariate-p", "nan"], "--multivariate-p"),
    (["train", "f.csv", "l.csv", "--recipe", "qian2024-lasso", "--out", "o", "--screen-p", "inf"], "--screen-p"),
    (["icc", "--db", "d", "--out", "o", "--threshold", "nan"], "--threshold"),
    (["cohort", "--out", "o", "--held-out", "nan"], "--held-out"),
])
def test_non_finite_value_is_one_line(capsys, tmp_path, argv, flag):
    _fails(capsys, argv, flag, "finite")


def test_every_seed_refuses_beyond_numpys_range(capsys):
    seeds = [path for path, action in _options(build_parser()) if action.dest == "seed"]
    assert len(seeds) >= 7
    for path, action in _options(build_parser()):
        if action.dest == "seed":
            assert action.type is argtypes.seed, path
    for value in (2**32, 2**80):
        with pytest.raises(argparse.ArgumentTypeError, match="4294967295"):
            argtypes.seed(str(value))
    assert argtypes.seed(str(2**32 - 1)) == 2**32 - 1
    _fails(capsys, ["train", "f.csv", "l.csv", "--recipe", "han2024-rf", "--out", "o", "--seed", str(2**80)],
           "--seed", "2**32 - 1")


def test_numpy_and_sklearn_accept_the_largest_seed():
    """The bound is the real one: RandomState (scikit-learn's random_state) takes 2**32-1, not 2**32."""
    np.random.RandomState(argtypes.MAX_SEED)
    with pytest.raises(ValueError):
        np.random.RandomState(argtypes.MAX_SEED + 1)


# ---- bounds on size options --------------------------------------------------------------

@pytest.mark.parametrize("argv, flag, limit", [
    (["cohort", "--cases", "1000000"], "--cases 1000000", "limit is 24 h"),
    (["demo", "--cases", "1000000000"], "--cases 1000000000", "limit is 24 h"),
    (["demo", "--jobs", "1000"], "--jobs 1000", "GB"),
    (["evaluate", "qian2024-lasso", "f.csv", "l.csv", "--n-bootstrap", "100000000"], "--n-bootstrap 100000000",
     "limit is 1 h"),
    (["response", "s.csv", "c.csv", "--n-bootstrap", "100000000"], "--n-bootstrap 100000000", "limit is 1 h"),
    (["labels", "cibersort", "e.tsv", "s.tsv", "--perm", "100000000"], "--perm 100000000", "limit is 1 h"),
])
def test_size_option_beyond_its_estimate_is_refused(capsys, tmp_path, argv, flag, limit):
    out = tmp_path / "out"
    line = _fails(capsys, argv + ["--out", out], flag, limit, "about")
    assert not out.exists(), line


def test_sizes_within_the_estimate_pass_the_check():
    from TMERadiomicsLib.work_limits import BOOTSTRAP_RESAMPLE, COHORT_CASE, check_count, check_workers

    check_count("--cases", 90, COHORT_CASE, disk_at="/tmp")
    check_count("--n-bootstrap", 2000, BOOTSTRAP_RESAMPLE, time_limit_hours=1)
    check_workers("--jobs", 2)
    with pytest.raises(InputError, match="GB free"):  # the disk estimate, once the time limit is lifted
        check_count("--cases", 10**9, COHORT_CASE, time_limit_hours=1e9, disk_at="/tmp")


# ---- case IDs ----------------------------------------------------------------------------

@pytest.mark.parametrize("bad", ["", "   ", "a\nb", "a\tb", "a\x00b", "a\rb", "a\u2028b", " lead", "x" * 300])
def test_case_id_rule(bad):
    assert case_id_problem(bad) is not None
    with pytest.raises(InputError):
        check_case_id(bad)


@pytest.mark.parametrize("good", ["P1", "case-007", "Ünal_2", "a b"])
def test_case_id_rule_keeps_ordinary_ids(good):
    assert check_case_id(good) == good


@pytest.mark.parametrize("bad", ["", "a\nb", "a\tb"])
def test_case_id_options_refuse_blank_and_control_characters(capsys, case_files, tmp_path, bad):
    image, mask = case_files / "P1.nrrd", case_files / "P1_tumour.nrrd"
    out = tmp_path / "out"
    _fails(capsys, ["regions", image, mask, "--out", out, "--case-id", bad], "--case-id")
    _fails(capsys, ["score", "han2024-rf", image, mask, "--case-id", bad], "--case-id")
    db = tmp_path / "study.db"
    _fails(capsys, ["session", "add", "--db", db, "--case", bad, "--reader", "R", "--session", "S", image, mask],
           "--case")
    _fails(capsys, ["session", "add", "--db", db, "--case", "P1", "--reader", bad, "--session", "S", image, mask],
           "--reader")
    _fails(capsys, ["session", "add", "--db", db, "--case", "P1", "--reader", "R", "--session", bad, image, mask],
           "--session")
    assert not out.exists() and not db.exists()


def test_case_id_from_a_file_name_with_a_newline_is_refused(capsys, case_files, tmp_path):
    odd = tmp_path / "P1\nx.nrrd"
    odd.write_bytes((case_files / "P1.nrrd").read_bytes())
    _fails(capsys, ["regions", odd, case_files / "P1_tumour.nrrd", "--out", tmp_path / "out"],
           "control character", "--case-id")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("cell", ['"a\nb"', '"a\tb"', '"x\x01"'])
def test_case_table_refuses_control_characters_in_ids(tmp_path, cell):
    path = tmp_path / "labels.csv"
    path.write_text(f"case_id,state\nP1,1\n{cell},0\n", encoding="utf-8")
    with pytest.raises(InputError, match="row 3.*control character"):
        read_case_table(path)


def test_manifest_refuses_a_case_id_with_a_newline(tmp_path, case_files):
    from TMERadiomicsLib.batch.manifest import read_manifest

    path = tmp_path / "manifest.csv"
    path.write_text(f'case_id,image,mask\n"P\n1",{case_files / "P1.nrrd"},{case_files / "P1_tumour.nrrd"}\n', encoding="utf-8")
    with pytest.raises(InputError, match="control character"):
        read_manifest(path)


# ---- tables: repeated columns, header only -----------------------------------------------

def test_case_table_refuses_a_repeated_column(tmp_path):
    path = tmp_path / "features.csv"
    path.write_text("case_id,Intra_a,Intra_a\nP1,1,2\nP2,3,4\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"more than once: \['Intra_a'\]"):
        read_case_table(path)


def test_case_table_refuses_header_only(tmp_path):
    path = tmp_path / "features.csv"
    path.write_text("case_id,Intra_a\n", encoding="utf-8")
    with pytest.raises(InputError, match="header but no rows"):
        read_case_table(path)


def test_manifest_refuses_a_repeated_column(tmp_path, case_files):
    from TMERadiomicsLib.batch.manifest import read_manifest

    path = tmp_path / "manifest.csv"
    image, mask = case_files / "P1.nrrd", case_files / "P1_tumour.nrrd"
    path.write_text(f"case_id,image,mask,mask\nP1,{image},{mask},{mask}\n", encoding="utf-8")
    with pytest.raises(InputError, match="more than once"):
        read_manifest(path)


def test_train_refuses_a_features_csv_with_a_repeated_column(capsys, tmp_path):
    from model_tables import combined_table

    features, labels = combined_table(n=30)
    columns = list(features.columns) + [features.columns[3]]
    features_path, labels_path = tmp_path / "f.csv", tmp_path / "l.csv"
    features_path.write_text(",".join(columns) + "\n" + "\n".join(
        ",".join(map(str, list(row) + [row.iloc[3]])) for _, row in features.iterrows()) + "\n")
    labels.to_csv(labels_path, index=False)
    out = tmp_path / "bundle"
    _fails(capsys, ["train", features_path, labels_path, "--recipe", "han2024-rf", "--label", "state",
                    "--out", out], "more than once", str(features_path))
    assert not out.exists()


def test_score_refuses_a_header_only_features_csv(capsys, tmp_path):
    from TMERadiomicsLib.models import bundled_model, load_bundle

    bundle = load_bundle(bundled_model("qian2024-intratumoral"))
    path = tmp_path / "features.csv"
    path.write_text(",".join(["case_id", "preset", "preset_sha256", *bundle.required_features]) + "\n", encoding="utf-8")
    _fails(capsys, ["score", "qian2024-intratumoral", path], "header but no rows", str(path))


# ---- presets ------------------------------------------------------------------------------

@pytest.mark.parametrize("text, says", [
    ("", "is empty"),
    ("# nothing\n", "is empty"),
    ("setting: {binWidth: 25}\n", "imageType"),
    ("imageType: {Original: {}}\nsetting: {binWidth: 25}\n", "featureClass"),
    ("featureClass: {firstorder: }\n", "imageType"),
])
def test_preset_without_image_types_or_features_is_refused(tmp_path, text, says):
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=says) as error:
        load_preset(path)
    assert str(path) in str(error.value)


# ---- --region-mask ------------------------------------------------------------------------

def _empty_like(case_files, tmp_path):
    mask = sitk.ReadImage(str(case_files / "P1_tumour.nrrd"))
    empty = sitk.Image(mask.GetSize(), mask.GetPixelID())
    empty.CopyInformation(mask)
    path = tmp_path / "empty.nrrd"
    sitk.WriteImage(empty, str(path))
    return path


def test_region_mask_given_twice_is_refused(capsys, case_files, tmp_path):
    mask = case_files / "P1_tumour.nrrd"
    out = tmp_path / "f.csv"
    _fails(capsys, ["extract", case_files / "P1.nrrd", mask, "--out", out, "--preset", "default",
                    "--region-mask", f"ring={mask}", "--region-mask", f"ring={tmp_path / 'other.nrrd'}"],
           "region ring twice")
    _fails(capsys, ["extract", case_files / "P1.nrrd", mask, "--out", out, "--preset", "default",
                    "--region-mask", f"ring={mask}", "--region-mask", f"peritumoral={mask}"],
           "one file for regions ring and peritumoral")
    assert not out.exists()


def test_empty_region_mask_is_refused_unless_allowed(capsys, case_files, tmp_path):
    empty = _empty_like(case_files, tmp_path)
    out = tmp_path / "f.csv"
    _fails(capsys, ["extract", case_files / "P1.nrrd", case_files / "P1_tumour.nrrd", "--out", out,
                    "--preset", "default", "--regions", "intratumoral,ring", "--region-mask", f"ring={empty}"],
           "--region-mask ring", "empty", "--allow-empty-regions", str(empty))
    assert not out.exists()


# ---- survival -----------------------------------------------------------------------------

def _survival(n=20, seed=0, **columns):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"time": rng.uniform(1, 60, n), "event": rng.integers(0, 2, n), "x": rng.random(n)},
                         index=pd.Index([f"c{i}" for i in range(n)], name="case_id"))
    for name, value in columns.items():
        frame[name] = value
    return frame


@pytest.mark.parametrize("change, says", [
    ({"time": 0.0}, "same"),
    ({"time": 5.0}, "same"),
    ({"event": 0}, "every case censored"),
    ({"time": np.inf}, "infinite"),
])
def test_degenerate_survival_data_is_refused(change, says):
    with pytest.raises(InputError, match=says):
        survival.survival_frame(_survival(**change), "time", "event")


def test_negative_time_is_refused():
    frame = _survival()
    frame.iloc[3, 0] = -1.0
    with pytest.raises(InputError, match="negative"):
        survival.survival_frame(frame, "time", "event")


def test_cox_with_fewer_events_than_covariates_is_refused():
    frame = _survival(event=0)
    frame.iloc[0, 1] = 1  # one event
    frame = survival.survival_frame(frame, "time", "event")
    with pytest.raises(InputError, match="more events than covariates"):
        survival.cox_univariate(frame, "time", "event", ["x"])


def test_km_with_a_single_group_is_refused():
    frame = survival.survival_frame(_survival(group="a"), "time", "event")
    with pytest.raises(InputError, match="one group"):
        survival.kaplan_meier(frame, "time", "event", "group")


def test_cox_cli_with_every_time_zero_is_refused(capsys, tmp_path):
    frame = _survival()
    (tmp_path / "s.csv").write_text(frame.assign(time=0.0)[["time", "event"]].to_csv(), encoding="utf-8")
    (tmp_path / "v.csv").write_text(frame[["x"]].to_csv(), encoding="utf-8")
    out = tmp_path / "out"
    _fails(capsys, ["survival", "cox", tmp_path / "s.csv", tmp_path / "v.csv", "--out", out], "same", "s.csv")
    assert not out.exists()


# ---- study database path ------------------------------------------------------------------

@pytest.mark.parametrize("where", ["/dev/null", "folder"])
def test_db_path_that_is_a_device_or_folder_is_named(tmp_path, where):
    path = tmp_path if where == "folder" else where
    with pytest.raises(InputError, match="not a database file") as error:
        connect(path, create=True, timeout=1)
    assert str(path) in str(error.value)


def test_session_add_to_dev_null_is_exit_2(capsys, case_files):
    _fails(capsys, ["session", "add", "--db", "/dev/null", "--case", "P1", "--reader", "R", "--session", "S",
                    case_files / "P1.nrrd", case_files / "P1_tumour.nrrd"], "/dev/null", "device")


# ---- expression matrices and perturbation tables: the same damage checks --------------------

@pytest.mark.parametrize("damage, says", [
    (lambda t: t[:-4], "line break"),                          # cut inside the last value
    (lambda t: t.replace("\t1", "\t\x001", 1), "NUL byte"),
])
def test_damaged_expression_matrix_is_refused(tmp_path, damage, says):
    from TMERadiomicsLib.labels.expression import read_matrix

    text = "GeneSymbol\tS1\tS2\n" + "".join(f"G{i}\t1{i}.25\t{i + 2}.5\n" for i in range(5))
    path = tmp_path / "mixture.tsv"
    path.write_text(damage(text), encoding="utf-8")
    with pytest.raises(InputError, match=says):
        read_matrix(path)


@pytest.mark.parametrize("text, says", [
    ("case_id,preset_sha256,Intra_a\n", "no rows"),
    ("case_id,preset_sha256,Intra_a,Intra_a\nP1,ab,1,2\n", "more than once"),
    ("case_id,preset_sha256,Intra_a\nP1,ab,1.2", "line break"),
])
def test_damaged_perturbation_table_is_refused(tmp_path, text, says):
    from TMERadiomicsLib.cli.icc_cmd import _perturbation_features
    from TMERadiomicsLib.cli.perturb_cmd import FEATURES_FILE

    (tmp_path / FEATURES_FILE).write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=says):
        _perturbation_features([str(tmp_path)], None)

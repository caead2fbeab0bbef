"""Issue 20: corrupted tables never give numbers different from the valid table's.

Hypothesis corrupts a valid combined-features table, a labels table and a
batch manifest at random (a column dropped or repeated, blank or
control-character case IDs, NaN/inf/text cells, a row repeated, the file
cut at any byte, emptied, or left with its header only). Each corrupted file
goes through the functions the CLI runs (``read_table`` then
``bundle.score``; ``binary_labels``; ``read_manifest``): either an
``InputError`` is raised, or every number that comes out equals the valid
table's for the same case. A few corruptions also go through the real CLI.
Seeded and bounded (derandomized, 60 examples a property): a few seconds.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from model_tables import qian_table

from TMERadiomicsLib.batch.manifest import read_manifest
from TMERadiomicsLib.cli import main
from TMERadiomicsLib.errors import InputError
from TMERadiomicsLib.models import bundled_model, load_bundle
from TMERadiomicsLib.models.tables import binary_labels, read_table

FUZZ = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
BAD_IDS = ("", "  ", "a\nb", "a\tb", "x\x00", "y\x1b[2J", "z\u2028")
BAD_CELLS = ("nan", "NaN", "inf", "-inf", "", "abc", "1e999", "1,5")


def _rows(text: str) -> list[list[str]]:
    import csv
    import io

    return list(csv.reader(io.StringIO(text)))


def _text(rows: list[list[str]]) -> str:
    import csv
    import io

    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


@st.composite
def corrupted(draw, valid: str, id_column: int = 0) -> str:
    """One random corruption of the CSV text ``valid``."""
    rows = _rows(valid)
    kind = draw(st.sampled_from(["drop_column", "repeat_column", "bad_id", "bad_cell", "repeat_row",
                                 "truncate", "empty", "header_only", "rename_id_column"]))
    if kind == "empty":
        return ""
    if kind == "header_only":
        return _text(rows[:1])
    if kind == "truncate":
        return valid[: draw(st.integers(0, len(valid) - 1))]
    n_cols, n_rows = len(rows[0]), len(rows) - 1
    column = draw(st.integers(0, n_cols - 1))
    row = draw(st.integers(1, n_rows))
    if kind == "drop_column":
        rows = [r[:column] + r[column + 1:] for r in rows]
    elif kind == "repeat_column":
        rows = [r + [r[column]] for r in rows]
    elif kind == "bad_id":
        rows[row][id_column] = draw(st.sampled_from(BAD_IDS))
    elif kind == "bad_cell":
        column = draw(st.integers(1, n_cols - 1))
        rows[row][column] = draw(st.sampled_from(BAD_CELLS))
    elif kind == "repeat_row":
        rows.insert(row, list(rows[row]))
    elif kind == "rename_id_column":
        rows[0][id_column] = draw(st.sampled_from(["case", "Case_ID", "case_id ", ""]))
    return _text(rows)


@pytest.fixture(scope="module")
def published():
    return load_bundle(bundled_model("qian2024-intratumoral"))


@pytest.fixture(scope="module")
def features_text(published) -> str:
    table = qian_table(published.required_features, published.manifest.preset["sha256"], n=12)
    table["Intra_original_unused_Extra"] = np.linspace(1, 2, len(table))  # a column the bundle does not use
    return table.to_csv(index=False)


@pytest.fixture(scope="module")
def bundle(published, features_text, tmp_path_factory):
    """Calibrated on the valid table: its z-score is fixed, so a case's score does not depend on the
    other cases (an uncalibrated published bundle z-scores from the cases scored, by design)."""
    from TMERadiomicsLib.models.calibration import calibrate

    path = tmp_path_factory.mktemp("reference") / "features.csv"
    path.write_text(features_text, encoding="utf-8")
    return calibrate(published, read_table(path))


def _scores(bundle, path) -> dict[str, tuple[float, ...]]:
    scores = bundle.score(read_table(path))
    numeric = scores.select_dtypes("number")
    return {str(case): tuple(float(v) for v in values)
            for case, values in zip(scores["case_id"], numeric.to_numpy())}


def test_valid_features_score_without_error(bundle, features_text, tmp_path):
    path = tmp_path / "features.csv"
    path.write_text(features_text, encoding="utf-8")
    scores = _scores(bundle, path)
    assert len(scores) == 12 and all(np.isfinite(v[0]) for v in scores.values())  # radscore; no probability


@FUZZ
@given(data=st.data())
def test_corrupted_features_never_score_differently(bundle, features_text, tmp_path_factory, data):
    valid_path = tmp_path_factory.mktemp("valid") / "features.csv"
    valid_path.write_text(features_text, encoding="utf-8")
    valid = _scores(bundle, valid_path)
    text = data.draw(corrupted(features_text))
    path = tmp_path_factory.mktemp("bad") / "features.csv"
    path.write_text(text, encoding="utf-8")
    try:
        got = _scores(bundle, path)
    except InputError:
        return
    # Accepted: a table that lost whole rows at a line break, or a column the bundle does not use,
    # or a case whose required value is missing (scored NaN and marked "missing inputs"); every
    # number that comes out must be the valid table's for the same case.
    assert got, text
    for case, values in got.items():
        assert case in valid, (case, text)
        finite = np.isfinite(values)
        np.testing.assert_allclose(np.asarray(values)[finite], np.asarray(valid[case])[finite], rtol=1e-12,
                                   err_msg=text)


@pytest.fixture(scope="module")
def labels_text() -> str:
    rng = np.random.default_rng(7)
    state = np.r_[np.zeros(6, int), np.ones(6, int)]
    rng.shuffle(state)
    return pd.DataFrame({"case_id": [f"q{i:02d}" for i in range(12)], "state": state}).to_csv(index=False)


def _labels(path) -> dict[str, int]:
    table = read_table(path)
    values = binary_labels(table, "state").values
    return dict(zip(table["case_id"].astype(str), values.astype(int)))


def _same_or_refused(read, valid_text: str, text: str, folder, same=lambda got, valid: got == valid) -> None:
    """``read`` of the corrupted ``text`` raises ``InputError`` or gives, per case, what the valid text gives."""
    (folder / "valid.csv").write_text(valid_text, encoding="utf-8")
    (folder / "bad.csv").write_text(text, encoding="utf-8")
    valid = read(folder / "valid.csv")
    try:
        got = read(folder / "bad.csv")
    except InputError:
        return
    for case, value in got.items():
        assert case in valid and same(value, valid[case]), (case, text)


@FUZZ
@given(data=st.data())
def test_corrupted_labels_never_give_other_labels(labels_text, tmp_path_factory, data):
    _same_or_refused(_labels, labels_text, data.draw(corrupted(labels_text)), tmp_path_factory.mktemp("labels"))


@pytest.fixture(scope="module")
def manifest_text(case_files) -> str:
    image, mask = case_files / "P1.nrrd", case_files / "P1_tumour.nrrd"
    return _text([["case_id", "image", "mask", "label"]] +
                 [[f"P{i}", str(image), str(mask), "1"] for i in range(1, 5)])


def _specs(path):
    return {s.case_id: (str(s.image), str(s.mask), s.label) for s in read_manifest(path)}


@FUZZ
@given(data=st.data())
def test_corrupted_manifests_never_give_other_cases(manifest_text, tmp_path_factory, data):
    _same_or_refused(_specs, manifest_text, data.draw(corrupted(manifest_text)), tmp_path_factory.mktemp("manifest"),
                     same=_same_spec)


def _same_spec(got: tuple, valid: tuple) -> bool:
    """Same files and label; a dropped (optional) label column leaves the label unset, which reading
    the mask then checks (a label map without a label is refused there)."""
    return got[:2] == valid[:2] and got[2] in (valid[2], None)


@pytest.mark.parametrize("corrupt", [
    lambda t: t.splitlines()[0] + "\n",                        # header only
    lambda t: t[:-3],                                          # cut inside the last value
    lambda t: "".join(f"{line},{line.rsplit(',', 1)[1]}\n" for line in t.splitlines()),  # last column twice
    lambda t: t.replace("\nq03,", '\n"q\n03",', 1),            # an ID with a newline
])
def test_cli_score_refuses_corrupted_features(capsys, bundle, features_text, tmp_path, corrupt):
    path = tmp_path / "features.csv"
    path.write_text(corrupt(features_text), encoding="utf-8")
    out = tmp_path / "scores.csv"
    code = main(["score", "qian2024-intratumoral", str(path), "--out", str(out)])  # the CLI's own bundle
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and str(path) in err[0], err
    assert not out.exists()

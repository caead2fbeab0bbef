"""A fitted ComBat model as plain JSON (numbers, lists, names; never pickle).

Floats are written in Python's shortest round-trip form, so a model read
back harmonises to the same bits. Reading checks every field (type, length,
finite, positive variances) and names the field at fault; a bundle can carry
the same object as ``model_to_dict`` gives it.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from .combat import ComBatModel
from .combat_eb import SitePriors
from .combat_inputs import Design

FORMAT = "tmeradiomics-combat"
FORMAT_VERSION = 1
ESTIMATOR = "ComBat, Johnson, Li & Rabinovic 2007 (Biostatistics 8:118), as sva::ComBat"


def model_to_dict(model: ComBatModel) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "method": {"estimator": ESTIMATOR, "parametric": model.parametric, "mean_only": model.mean_only,
                   "ddof": model.ddof},
        "batch_column": model.batch_column,
        "sites": [{"name": name, "cases": cases, "gamma_bar": p.gamma_bar, "t2": p.t2, "a": p.a, "b": p.b}
                  for name, cases, p in zip(model.sites, model.site_cases, model.priors)],
        "covariates": {"numeric": list(model.design.numeric),
                       "categorical": {k: list(v) for k, v in model.design.categorical.items()}},
        "features": list(model.features),
        "grand_mean": model.grand_mean.tolist(),
        "var_pooled": model.var_pooled.tolist(),
        "covariate_coefficients": {"columns": model.design.columns,
                                   "values": model.covariate_coefficients.tolist()},
        "gamma_star": model.gamma_star.tolist(),
        "delta_star": model.delta_star.tolist(),
        "provenance": dict(model.provenance),
    }


def model_to_json(model: ComBatModel) -> str:
    return json.dumps(model_to_dict(model), indent=1, allow_nan=False) + "\n"


def model_from_json(text: str, *, source: str | None = None) -> ComBatModel:
    try:
        data = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError) as error:
        raise InputError(f"not a ComBat JSON file: {error}", file=source) from None
    return model_from_dict(data, source=source)


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number JSON allows")


def model_from_dict(data: object, *, source: str | None = None) -> ComBatModel:
    """The model of ``model_to_dict``; every field checked, a bad one named."""
    read = _Reader(source)
    top = read.mapping(data, "the file")
    if top.get("format") != FORMAT:
        raise InputError(f"not a ComBat model: field 'format' must be {FORMAT!r}", file=source,
                         value=top.get("format"))
    if top.get("format_version") != FORMAT_VERSION:
        raise InputError(f"unsupported ComBat format_version (this version reads {FORMAT_VERSION})",
                         file=source, value=top.get("format_version"))
    method = read.mapping(read.field(top, "method"), "method")
    features = read.names(read.field(top, "features"), "features", minimum=2)
    sites = read.mapping_list(read.field(top, "sites"), "sites", minimum=2)
    covariates = read.mapping(read.field(top, "covariates"), "covariates")
    design = Design(
        tuple(read.names(read.field(covariates, "numeric", "covariates"), "covariates.numeric")),
        {name: tuple(read.names(levels, f"covariates.categorical.{name}", minimum=2))
         for name, levels in read.mapping(read.field(covariates, "categorical", "covariates"),
                                          "covariates.categorical").items()},
    )
    coefficients = read.mapping(read.field(top, "covariate_coefficients"), "covariate_coefficients")
    if read.names(read.field(coefficients, "columns", "covariate_coefficients"),
                  "covariate_coefficients.columns") != design.columns:
        raise InputError("field 'covariate_coefficients.columns' does not match field 'covariates'", file=source)
    site_names = read.names([site.get("name") for site in sites], "sites[].name")
    p, b = len(features), len(sites)
    return ComBatModel(
        features=tuple(features),
        sites=tuple(site_names),
        site_cases=tuple(read.count(site.get("cases"), f"sites[{i}].cases") for i, site in enumerate(sites)),
        batch_column=read.text(top.get("batch_column"), "batch_column"),
        design=design,
        grand_mean=read.floats(read.field(top, "grand_mean"), "grand_mean", p),
        var_pooled=read.floats(read.field(top, "var_pooled"), "var_pooled", p, positive=True),
        covariate_coefficients=read.matrix(read.field(coefficients, "values", "covariate_coefficients"),
                                           "covariate_coefficients.values", len(design.columns), p),
        gamma_star=read.matrix(read.field(top, "gamma_star"), "gamma_star", b, p),
        delta_star=read.matrix(read.field(top, "delta_star"), "delta_star", b, p, positive=True),
        parametric=read.flag(method.get("parametric"), "method.parametric"),
        mean_only=read.flag(method.get("mean_only"), "method.mean_only"),
        ddof=read.count(method.get("ddof"), "method.ddof", minimum=0),
        priors=tuple(read.priors(site, f"sites[{i}]") for i, site in enumerate(sites)),
        provenance={read.text(k, "provenance"): read.text(v, f"provenance.{k}")
                    for k, v in read.mapping(top.get("provenance", {}), "provenance").items()},
    )


class _Reader:
    """Typed access to the parsed JSON; each failure an InputError naming the field."""

    def __init__(self, source: str | None) -> None:
        self.source = source

    def fail(self, name: str, problem: str, value: object = None) -> InputError:
        shown = value if value is None or len(repr(value)) <= 60 else repr(value)[:57] + "..."
        return InputError(f"field {name!r} {problem}", file=self.source, value=shown)

    def field(self, mapping: dict, key: str, parent: str | None = None) -> object:
        if key not in mapping:
            raise self.fail(f"{parent}.{key}" if parent else key, "is missing")
        return mapping[key]

    def mapping(self, value: object, name: str) -> dict:
        if not isinstance(value, dict):
            raise self.fail(name, "must be a JSON object", value)
        return value

    def mapping_list(self, value: object, name: str, *, minimum: int) -> list[dict]:
        if not isinstance(value, list) or len(value) < minimum:
            raise self.fail(name, f"must be a list of at least {minimum} objects", value)
        return [self.mapping(item, f"{name}[{i}]") for i, item in enumerate(value)]

    def text(self, value: object, name: str) -> str:
        if not isinstance(value, str) or not value:
            raise self.fail(name, "must be non-empty text", value)
        return value

    def names(self, value: object, name: str, *, minimum: int = 0) -> list[str]:
        if not isinstance(value, list) or len(value) < minimum:
            raise self.fail(name, f"must be a list of at least {minimum} names", value)
        items = [self.text(item, f"{name}[{i}]") for i, item in enumerate(value)]
        if len(set(items)) != len(items):
            raise self.fail(name, "names an item more than once", value)
        return items

    def flag(self, value: object, name: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(name, "must be true or false", value)
        return value

    def count(self, value: object, name: str, *, minimum: int = 2) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            raise self.fail(name, f"must be a whole number of at least {minimum}", value)
        return value

    def number(self, value: object, name: str, *, positive: bool = False) -> float:
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
            raise self.fail(name, "must be a finite number", value)
        if positive and value <= 0:
            raise self.fail(name, "must be positive", value)
        return float(value)

    def floats(self, value: object, name: str, length: int, *, positive: bool = False) -> np.ndarray:
        if not isinstance(value, list) or len(value) != length:
            raise self.fail(name, f"must be a list of {length} numbers (one per feature)",
                            len(value) if isinstance(value, list) else value)
        return np.array([self.number(v, f"{name}[{i}]", positive=positive) for i, v in enumerate(value)])

    def matrix(self, value: object, name: str, rows: int, length: int, *, positive: bool = False) -> np.ndarray:
        if not isinstance(value, list) or len(value) != rows:
            raise self.fail(name, f"must be a list of {rows} rows", len(value) if isinstance(value, list) else value)
        if rows == 0:
            return np.zeros((0, length))
        return np.vstack([self.floats(row, f"{name}[{i}]", length, positive=positive) for i, row in enumerate(value)])

    def priors(self, site: dict, name: str) -> SitePriors:
        def optional(key: str) -> float | None:
            value = site.get(key)
            return None if value is None else self.number(value, f"{name}.{key}")
        return SitePriors(self.number(site.get("gamma_bar"), f"{name}.gamma_bar"),
                          self.number(site.get("t2"), f"{name}.t2"), optional("a"), optional("b"))


def read_combat(path: str | os.PathLike) -> ComBatModel:
    """The model in a ComBat JSON file (``tmeradiomics combat fit --out``)."""
    source = Path(path)
    if not source.is_file():
        raise InputError("ComBat file not found", file=source)
    try:
        text = source.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise InputError(f"not a ComBat JSON file: {error.reason}", file=source) from None
    return model_from_json(text, source=str(source))

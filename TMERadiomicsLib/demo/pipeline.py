"""The demo's steps, in order, each timed and reported on stderr.

The demo writes into a staged folder (``outputs.staged_dir``): stopped by
Ctrl-C or SIGTERM, its workers end (``batch``), the stage is removed and the
output folder keeps what it held before; ``stopped_cleanly`` says so in one
line.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from ..batch import BatchSettings, LocalPool, read_manifest, run_batch
from ..batch.settings import cpu_count
from ..cohort import make_cohort, write_cohort
from ..cohort.build import DEVELOPMENT, HELD_OUT, SITE_COLUMN
from ..errors import InputError
from ..features.presets import load_preset
from ..interrupt import Interrupted
from .harmonise_step import compare, train_harmonised
from .labels_step import derive_labels
from .models_step import PRESET_REGIONS, build_models, evaluate_models
from .new_case import score_new_case
from .report import write_demo_report
from .response_step import analyse_treated

# The phantom's air is ~4 a.u. and fat ~120 a.u.; 40 separates them with margin.
DEMO_AIR_BELOW = 40.0
NEW_CASE_ID = "NEW-001"
# 10 cases per class in the lasso's 7:3 training part of the development cases, with margin.
MIN_DEMO_CASES = 50


@dataclass(frozen=True)
class DemoConfig:
    n_cases: int = 120
    seed: int = 0
    held_out: float = 0.3
    jobs: int = 0  # 0: one worker per core, at most 2 (the demo's target machine)

    def check(self) -> None:
        """Refuse a configuration the steps cannot run, before anything is written."""
        if self.n_cases < MIN_DEMO_CASES:
            raise InputError(f"the demo needs at least {MIN_DEMO_CASES} cases: qian2024-lasso's 10-fold "
                             "cross-validation runs on 70% of the development cases", value=self.n_cases)
        if not 0.1 <= self.held_out <= 0.5:
            raise InputError("held-out share must lie between 0.1 and 0.5", value=self.held_out)
        if self.jobs < 0:
            raise InputError("--jobs must be at least 1 (0: automatic)", value=self.jobs)

    def workers(self) -> int:
        return self.jobs or max(1, min(2, cpu_count()))


@dataclass
class DemoResult:
    out_dir: Path
    summary: dict
    seconds: dict[str, float] = field(default_factory=dict)


def run_demo(out_dir: Path, config: DemoConfig = DemoConfig(), *, progress: bool = True) -> DemoResult:
    """Run every step into ``out_dir`` (which the caller has staged)."""
    config.check()
    out_dir = Path(out_dir)
    timer = _Timer(progress)
    with timer("1/6 synthetic cohort"):
        cohort = make_cohort(config.n_cases, config.seed, held_out=config.held_out)
        cohort_files = write_cohort(cohort, out_dir / "cohort", progress=progress)
    with timer("2/6 regions and features (batch)"):
        combined = {preset: _features(cohort_files["manifest"], out_dir / f"features-{preset}", config, preset,
                                      regions) for preset, regions in PRESET_REGIONS.items()}
    with timer("3/6 labels from RNA-seq"):
        derived = derive_labels(cohort_files, out_dir / "labels")
    combined = {preset: _with_sites(table, cohort) for preset, table in combined.items()}
    development = {preset: _split(table, cohort) for preset, table in combined.items()}
    held_out = {preset: _split(table, cohort, HELD_OUT) for preset, table in combined.items()}
    with timer("4/6 train, calibrate"):
        models = build_models(development, _split(derived.table, cohort), out_dir / "models",
                              seed=config.seed, progress=progress)
        harmonised_model = train_harmonised(development, _split(derived.table, cohort), out_dir / "models",
                                            seed=config.seed, progress=progress)
    with timer("5/6 evaluate on held-out cases, response"):
        evaluate_models(models, held_out, _split(derived.table, cohort, HELD_OUT), out_dir / "evaluation")
        harmonised = compare(harmonised_model, models, development, held_out,
                             _split(derived.table, cohort, HELD_OUT))
        response = analyse_treated(models, cohort_files, out_dir / "response")
    with timer("6/6 score a new case"):
        new_case = score_new_case(models, out_dir / "new-case", cohort_seed=config.seed, index=config.n_cases,
                                  case_id=NEW_CASE_ID, air_below=DEMO_AIR_BELOW)
    n_development, n_held_out = len(development["qian2024"]), len(held_out["qian2024"])
    summary = _summary(config, cohort, derived, models, new_case, timer.seconds, n_development, n_held_out,
                       response)
    summary["harmonisation"] = harmonised.summary()
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    write_demo_report(out_dir / "report.html", summary, derived, models, new_case, out_dir, response, harmonised)
    return DemoResult(out_dir, summary, timer.seconds)


@contextmanager
def stopped_cleanly(out_dir: Path) -> Iterator[None]:
    """Around the staged run: Ctrl-C or SIGTERM ends as ``Interrupted`` naming what is left."""
    try:
        yield
    except (KeyboardInterrupt, Interrupted):
        raise Interrupted(f"the unfinished demo was removed and {out_dir} is as it was before; "
                          "run the same command again to start over") from None


def _split(table: pd.DataFrame, cohort, role: str = DEVELOPMENT) -> pd.DataFrame:
    """The rows of one role; the held-out cases never reach training or calibration."""
    roles = dict(zip(cohort.case_ids, cohort.roles))
    part = table[table["case_id"].map(roles) == role].reset_index(drop=True)
    part.attrs = dict(table.attrs)
    return part


def _with_sites(table: pd.DataFrame, cohort) -> pd.DataFrame:
    """The features with each case's site, the column ``--harmonise site`` and its bundle read."""
    sites = dict(zip(cohort.case_ids, cohort.sites))
    out = table.assign(**{SITE_COLUMN: table["case_id"].map(sites)})
    out.attrs = dict(table.attrs)
    return out


def _features(manifest: Path, out: Path, config: DemoConfig, preset_name: str,
              regions: tuple[str, ...]) -> pd.DataFrame:
    """One preset's features of every case, for ``regions`` (empty: all); masks written once, with the first."""
    preset = load_preset(preset_name)
    settings = BatchSettings(preset_path=str(preset.path.absolute()), preset_sha256=preset.sha256,
                             air_below=DEMO_AIR_BELOW, threads=1, feature_regions=regions,
                             write_masks=not regions)
    summary = run_batch(read_manifest(manifest), settings, LocalPool(config.workers()), out,
                        run_record={"manifest": str(manifest), "preset": preset.name, "models": []})
    if summary["completed"] != summary["cases"]:
        raise RuntimeError(f"demo: {summary['cases'] - summary['completed']} cohort cases failed; see {out}")
    combined = pd.read_csv(out / "features_combined.csv", dtype={"case_id": str})
    combined.attrs["source"] = str(out / "features_combined.csv")
    return combined


def _summary(config, cohort, derived, models, new_case, seconds, n_development, n_held_out, response) -> dict:
    return {
        "config": asdict(config),
        "cohort": {"cases": len(cohort.states), "development": n_development, "held_out": n_held_out},
        "sites": {site: cohort.sites.count(site) for site in sorted(set(cohort.sites))},
        "labels": {"agreement_with_truth": derived.agreement, "m2_fraction_pearson_r": derived.m2_correlation},
        "models": [{
            "bundle": m.name, "kind": m.kind, "label": m.label,
            "held_out_auc": m.evaluation.auc.auc, "auc_ci": [m.evaluation.auc.ci_low, m.evaluation.auc.ci_high],
            "threshold": m.bundle.manifest.threshold, "preset": m.preset,
            "steps": [{k: step[k] for k in ("name", "enabled", "features_in", "features_out")} for step in m.steps],
        } for m in models],
        "response": response.summary,
        "new_case": {"case_id": new_case.state.case_id, "true_m2_fraction": new_case.state.m2_fraction,
                     "true_tme_hot": new_case.state.hot,
                     "scores": new_case.scores.drop(columns=["group_index"]).to_dict(orient="records")},
        "seconds": seconds,
    }


class _Timer:
    """Names each step on stderr and records how long it took."""

    def __init__(self, progress: bool) -> None:
        self.progress = progress
        self.seconds: dict[str, float] = {}
        self.started = time.perf_counter()

    @contextmanager
    def __call__(self, step: str):
        if self.progress:
            print(f"demo: {step} ...", file=sys.stderr, flush=True)
        began = time.perf_counter()
        yield
        self.seconds[step] = round(time.perf_counter() - began, 1)
        if self.progress:
            print(f"demo: {step} done in {self.seconds[step]:.1f} s "
                  f"(total {time.perf_counter() - self.started:.0f} s)", file=sys.stderr, flush=True)

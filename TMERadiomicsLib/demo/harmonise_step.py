"""Demo step: qian2024-lasso once more with ``--harmonise site``, against the same recipe without it.

The cohort's three sites scan with their own noise, gain and offset
(``cohort.state.SCANNERS``). Only qian2024-lasso is trained a second time.
Its qian2024 features are taken from the images as they are, so they carry
all three. han2024's preset z-scores each image first, which removes a gain
and an offset (not the noise), and a second forest would cost the demo more
time than a second lasso. The step reports both held-out AUCs and one
feature's values per site before and after the bundle's ComBat: the feature
whose raw values differ most between the sites (the largest one-way ANOVA F
over the development cases, among those ComBat harmonised). Most features
vary far more from case to case, with the TME and the lesion, than by site,
and their site means would show sampling noise rather than sites.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..cohort.build import SITE_COLUMN
from ..evaluation import evaluate
from ..evaluation.figure_layout import legend_below, panel, png
from ..training import train
from .models_step import RECIPE_LABELS, RECIPE_PRESETS, TrainedModel

RECIPE = "qian2024-lasso"
NAME = "qian2024-lasso-harmonised"


@dataclass
class Harmonised:
    model: TrainedModel  # the harmonised bundle, evaluated on the held-out cases
    plain: TrainedModel  # the same recipe without harmonisation, from the demo's models
    feature: str
    values: pd.DataFrame  # case_id, site, role, before, after (the feature's values)

    def site_means(self) -> pd.DataFrame:
        return self.values.groupby("site")[["before", "after"]].mean()

    def summary(self) -> dict:
        means = self.site_means()
        combat = self.model.bundle.harmonisation
        return {
            "recipe": RECIPE, "bundle": NAME, "column": combat.batch_column,
            "sites_in_training": dict(zip(combat.sites, combat.site_cases)),
            "held_out_auc": {"without": self.plain.evaluation.auc.auc, "with": self.model.evaluation.auc.auc},
            "auc_ci": {"without": [self.plain.evaluation.auc.ci_low, self.plain.evaluation.auc.ci_high],
                       "with": [self.model.evaluation.auc.ci_low, self.model.evaluation.auc.ci_high]},
            "feature": self.feature,
            "site_means": {"before": means["before"].to_dict(), "after": means["after"].to_dict()},
            "between_site_sd": {"before": float(means["before"].std(ddof=1)),
                                "after": float(means["after"].std(ddof=1))},
        }


def train_harmonised(development: dict[str, pd.DataFrame], labels: pd.DataFrame, out_dir: Path, *, seed: int,
                     progress: bool) -> TrainedModel:
    label, groups = RECIPE_LABELS[RECIPE]
    preset = RECIPE_PRESETS[RECIPE]
    bundle = train(development[preset], labels, RECIPE, seed, label=label, progress=progress, group_names=groups,
                   harmonise=SITE_COLUMN)
    bundle.save(out_dir / NAME)
    return TrainedModel(NAME, "trained, harmonised by site", label, bundle, preset)


def compare(model: TrainedModel, models: list[TrainedModel], development: dict[str, pd.DataFrame],
            held_out: dict[str, pd.DataFrame], labels: pd.DataFrame) -> Harmonised:
    """Evaluate the harmonised bundle on the held-out cases; the shown feature before and after its ComBat."""
    model.evaluation = evaluate(model.bundle, held_out[model.preset], labels, label=model.label)
    plain = next(m for m in models if m.name == RECIPE)
    combat = model.bundle.harmonisation
    feature = most_site_dependent(development[model.preset], list(combat.features), combat.batch_column)
    cases = pd.concat([development[model.preset].assign(role="development"),
                       held_out[model.preset].assign(role="held-out")], ignore_index=True)
    frame = cases.set_index("case_id")
    after = combat.restricted([feature]).apply(frame[[feature]], frame[SITE_COLUMN])[feature]
    values = pd.DataFrame({"case_id": frame.index, "site": frame[SITE_COLUMN].to_numpy(),
                           "role": frame["role"].to_numpy(), "before": frame[feature].to_numpy(dtype=float),
                           "after": after.to_numpy()})
    return Harmonised(model, plain, feature, values)


def most_site_dependent(table: pd.DataFrame, features: list[str], column: str) -> str:
    """The feature with the largest one-way ANOVA F between the sites (first on ties)."""
    values = table[features].to_numpy(dtype=float)
    sites = table[column].astype(str).to_numpy()
    levels = np.unique(sites)
    grand = values.mean(axis=0)
    between = sum((sites == s).sum() * (values[sites == s].mean(axis=0) - grand) ** 2 for s in levels)
    within = sum(((values[sites == s] - values[sites == s].mean(axis=0)) ** 2).sum(axis=0) for s in levels)
    f = (between / (len(levels) - 1)) / (within / (len(sites) - len(levels)))
    return features[int(np.argmax(f))]


def per_site_png(result: Harmonised) -> bytes:
    """The feature's values per site before and after ComBat: a box and the cases as points."""
    fig, axes = panel(ncols=2, sharey=True)
    sites = sorted(result.values["site"].unique())
    for ax, column, title in zip(axes, ("before", "after"), ("before ComBat", "after ComBat")):
        groups = [result.values.loc[result.values["site"] == site, column] for site in sites]
        ax.boxplot(groups, widths=0.5, showfliers=False)
        for k, (site, values) in enumerate(zip(sites, groups)):
            jitter = np.random.default_rng(k).uniform(-0.12, 0.12, len(values))
            ax.scatter(np.full(len(values), k + 1) + jitter, values, s=8, alpha=0.7,
                       label=f"{site} (n = {len(values)})" if column == "before" else None)
        ax.set_xticks(range(1, len(sites) + 1), sites)
        ax.set(title=title, xlabel="site")
    axes[0].set(ylabel=result.feature)
    legend_below(fig, axes[0], title="development and held-out cases", ncol=3)
    return png(fig)

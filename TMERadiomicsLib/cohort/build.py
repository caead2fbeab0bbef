"""Assemble a synthetic cohort and write it to a folder."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from ..errors import InputError
from ..io.images import write_image
from . import transcriptome
from .phantom import Phantom, as_int16, generate
from .response import response_table
from .state import SCANNERS, TmeState, draw_state
from .survival import survival_table

DEVELOPMENT, HELD_OUT = "development", "held-out"
M2_LABEL = "Macrophages_M2_high"
HOT_LABEL = "tme_hot"
SITE_COLUMN = "site"
MIN_CASES = 10


@dataclass(frozen=True)
class Cohort:
    seed: int
    states: tuple[TmeState, ...]
    roles: tuple[str, ...]
    size: str = "small"

    @property
    def case_ids(self) -> list[str]:
        return [s.case_id for s in self.states]

    @property
    def sites(self) -> list[str]:
        """Each case's site (scanner), in case order."""
        return [s.site for s in self.states]

    def phantom(self, index: int) -> Phantom:
        return generate(self.states[index].spec)

    def truth(self) -> pd.DataFrame:
        """The latent state and the phantom knobs it set, one row per case."""
        rows = []
        for state, role in zip(self.states, self.roles):
            spec = asdict(state.spec)
            rows.append({"case_id": state.case_id, "role": role, "site": state.site, "m2_fraction": state.m2_fraction,
                         "tme_hot": state.hot, "immune_share": state.immune_share,
                         **{f"phantom_{k}": v for k, v in spec.items() if k != "size"}})
        return pd.DataFrame(rows)

    def labels(self) -> pd.DataFrame:
        """Ground-truth labels in the labels pipeline's column names.

        ``Macrophages_M2_high`` is the median split of the true M2 share over the
        whole cohort, as Qian split their 73 patients; ``tme_hot`` is the phenotype.
        """
        m2 = pd.Series([s.m2_fraction for s in self.states])
        return pd.DataFrame({"case_id": self.case_ids, "Macrophages_M2": m2,
                             M2_LABEL: (m2 > m2.median()).astype(int), HOT_LABEL: [s.hot for s in self.states],
                             SITE_COLUMN: self.sites})


    def response(self) -> pd.DataFrame:
        """RECIST best response of the held-out cases, which play Han's immunotherapy-treated cohort."""
        return response_table(self.states, self.roles, HELD_OUT, self.seed)


def make_cohort(n_cases: int, seed: int = 0, *, held_out: float = 0.3, size: str = "small",
                prefix: str = "SYN") -> Cohort:
    """N seeded cases; the last ``round(held_out * n)`` are the held-out set."""
    if n_cases < MIN_CASES:
        raise InputError(f"a cohort needs at least {MIN_CASES} cases", value=n_cases)
    if not 0.0 <= held_out < 1.0:
        raise InputError("held-out share must lie in [0, 1)", value=held_out)
    states = tuple(draw_state(seed, i, f"{prefix}-{i:03d}", size) for i in range(n_cases))
    n_held = int(round(held_out * n_cases))
    roles = tuple(DEVELOPMENT if i < n_cases - n_held else HELD_OUT for i in range(n_cases))
    return Cohort(seed, states, roles, size)


def make_case(seed: int, index: int, case_id: str, size: str = "small") -> tuple[TmeState, Phantom]:
    """One more case from the cohort's generator, e.g. a new patient to score."""
    state = draw_state(seed, index, case_id, size)
    return state, generate(state.spec)


def write_case(phantom: Phantom, folder: Path) -> dict[str, Path]:
    """The default phase as int16, the tumour and the vessel masks."""
    folder.mkdir(parents=True, exist_ok=True)
    return {
        "image": write_image(as_int16(phantom.image()), folder / "image.nrrd"),
        "mask": write_image(phantom.tumour, folder / "tumour.nrrd"),
        "exclude_vessels": write_image(phantom.vessels, folder / "vessels.nrrd"),
    }


def write_cohort(cohort: Cohort, out_dir: str | Path, *, progress: bool = False) -> dict[str, Path]:
    """Write every file of the cohort into ``out_dir`` (which the caller has staged)."""
    out = Path(out_dir)
    rows = []
    for index, (state, role) in enumerate(tqdm(list(zip(cohort.states, cohort.roles)), desc="cohort cases",
                                               unit="case", disable=None if progress else True)):
        files = write_case(cohort.phantom(index), out / "cases" / state.case_id)
        rows.append({"case_id": state.case_id, **{k: str(p.relative_to(out)) for k, p in files.items()},
                     "role": role, SITE_COLUMN: state.site})
    paths = {"manifest": out / "manifest.csv", "truth": out / "truth.csv", "labels": out / "labels.csv",
             "expression": out / "expression.tsv", "signature": out / "signature.tsv",
             "gene_sets": out / "gene_sets.gmt", "survival": out / "survival.csv",
             "response": out / "response.csv", "description": out / "cohort.json"}
    pd.DataFrame(rows).to_csv(paths["manifest"], index=False)
    cohort.truth().to_csv(paths["truth"], index=False)
    cohort.labels().to_csv(paths["labels"], index=False)
    ref = transcriptome.reference(cohort.seed)
    transcriptome.expression(ref, cohort.states, cohort.seed).to_csv(paths["expression"], sep="\t")
    transcriptome.signature(ref).to_csv(paths["signature"], sep="\t")
    _write_gmt(transcriptome.gene_sets(ref), paths["gene_sets"])
    survival_table(cohort.states, cohort.seed).to_csv(paths["survival"], index=False)
    cohort.response().to_csv(paths["response"], index=False)
    paths["description"].write_text(json.dumps(_description(cohort, paths, out), indent=2) + "\n")
    return paths


def _write_gmt(sets: dict[str, list[str]], path: Path) -> None:
    path.write_text("".join(f"{name}\tsynthetic markers\t" + "\t".join(genes) + "\n" for name, genes in sets.items()))


def _description(cohort: Cohort, paths: dict[str, Path], out: Path) -> dict:
    return {
        "generator": "TMERadiomicsLib.cohort",
        "seed": cohort.seed,
        "size": cohort.size,
        "cases": len(cohort.states),
        "roles": {role: cohort.roles.count(role) for role in (DEVELOPMENT, HELD_OUT)},
        "labels": {M2_LABEL: "true M2 share above the cohort median", HOT_LABEL: "1 immune-inflamed, 0 immune-desert"},
        "sites": {site: {"cases": cohort.sites.count(site), **asdict(scanner)}
                  for site, scanner in SCANNERS.items()},
        "response": "RECIST 1.1 best response (CR/PR/SD/PD) of the held-out cases, drawn from their hot/cold state",
        "note": "synthetic: the links from TME state to image, expression and survival are modelling "
                "assumptions (see TMERadiomicsLib/cohort/state.py), not findings",
        "files": {name: str(path.relative_to(out)) for name, path in paths.items()},
    }

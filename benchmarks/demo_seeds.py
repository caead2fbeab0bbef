"""Benchmark: the demo's held-out AUCs over several cohort seeds, as distributions.

    python benchmarks/demo_seeds.py [--seeds 0 1 2 3 4] [--cases 120] [--out demo_seeds.json]

One seed gives one draw of the synthetic cohort, so one AUC says little on
its own: at 120 cases han2024-rf's held-out AUC ranges from 0.81 to 0.94 over
seeds 0-4 (at 90 cases, from 0.69 to 0.98). This runs the whole demo
(``run_demo``, every step as ``tmeradiomics demo`` runs it) once per seed
into a temporary folder, keeps only the
numbers, and prints for every bundle the median and the range of its
held-out AUC, the number of seeds whose 95% CI lies wholly above 0.5 and
wholly below it ("does not transfer"), and the
grid-best cross-validated AUC beside it (optimistic: the best of the grid's
configurations on the same folds that chose it), and the lasso trained again
with ``--harmonise site`` against the plain one. The baseline is seed 0,
the demo's default: each seed's AUC is printed against it.

Results are written to ``--out`` after every seed, so an interrupted run
keeps the seeds it finished and a rerun with the same ``--out`` skips them.
CPU seconds (this process and its worker processes) are printed per seed,
since wall-clock time on a shared machine says little.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from TMERadiomicsLib.demo import DemoConfig, run_demo


def cpu_seconds() -> float:
    """User + system CPU of this process and its finished children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def one_seed(seed: int, cases: int, keep: Path | None = None) -> dict:
    """The numbers of one demo run: each bundle's held-out AUC and CI, the response AUCs.

    With ``keep`` the demo's folder is moved there instead of being deleted.
    """
    began_cpu, began_wall = cpu_seconds(), time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"demo-seed{seed}-") as folder:
        result = run_demo(Path(folder) / "demo", DemoConfig(n_cases=cases, seed=seed), progress=False)
        cross_validated = {}
        for model in result.summary["models"]:
            manifest = json.loads((Path(folder) / "demo" / "models" / model["bundle"] / "manifest.json").read_text())
            cv = manifest.get("performance", {}).get("cross_validated")
            if cv:
                cross_validated[model["bundle"]] = cv["auc"]["auc"]
        if keep is not None:
            shutil.move(str(Path(folder) / "demo"), str(keep / f"seed{seed}"))
    summary = result.summary
    return {
        "seed": seed,
        "models": {m["bundle"]: {"auc": m["held_out_auc"], "ci": m["auc_ci"], "kind": m["kind"]}
                   for m in summary["models"]},
        "cross_validated_grid_best": cross_validated,
        "response_auc": {name: a["auc"] for name, a in (summary["response"].get("auc") or {}).items()},
        # The lasso trained again with --harmonise site (issue 24): its held-out AUC without and with ComBat,
        # and the between-site sd of the most site-dependent feature's means before and after.
        "harmonisation": {key: summary["harmonisation"][key] for key in ("bundle", "held_out_auc", "auc_ci",
                                                                          "feature", "between_site_sd")}
        if "harmonisation" in summary else None,
        "cpu_seconds": round(cpu_seconds() - began_cpu, 1),
        "wall_seconds": round(time.perf_counter() - began_wall, 1),
    }


def spread(values: list[float]) -> str:
    return f"median {statistics.median(values):.2f}, range {min(values):.2f}-{max(values):.2f}"


def report(runs: list[dict]) -> None:
    runs = sorted(runs, key=lambda r: r["seed"])
    baseline = next((r for r in runs if r["seed"] == 0), runs[0])
    print(f"\n{len(runs)} seeds: {[r['seed'] for r in runs]}; baseline: seed {baseline['seed']}")
    for bundle in baseline["models"]:
        aucs = [r["models"][bundle]["auc"] for r in runs]
        above = sum(r["models"][bundle]["ci"][0] > 0.5 for r in runs)
        below = sum(r["models"][bundle]["ci"][1] < 0.5 for r in runs)
        print(f"{bundle:24s} held-out AUC {spread(aucs)}; 95% CI wholly above 0.5 in {above}/{len(runs)} seeds, "
              f"wholly below (does not transfer) in {below}/{len(runs)}")
        print(" " * 25 + "per seed: " + ", ".join(
            f"{r['seed']}: {r['models'][bundle]['auc']:.2f} ({r['models'][bundle]['auc'] - baseline['models'][bundle]['auc']:+.2f} vs seed {baseline['seed']})"
            for r in runs))
        cv = [r["cross_validated_grid_best"][bundle] for r in runs if bundle in r["cross_validated_grid_best"]]
        if cv:
            print(" " * 25 + f"grid-best cross-validated AUC (optimistic) {spread(cv)}")
    harmonised = [r["harmonisation"] for r in runs if r.get("harmonisation")]
    if harmonised:
        without = [h["held_out_auc"]["without"] for h in harmonised]
        with_combat = [h["held_out_auc"]["with"] for h in harmonised]
        print(f"{harmonised[0]['bundle']:24s} held-out AUC without ComBat {spread(without)}, with ComBat by site "
              f"{spread(with_combat)}; better with it in {sum(w > o for w, o in zip(with_combat, without))}/"
              f"{len(harmonised)} seeds")
        print(" " * 25 + "between-site sd of the most site-dependent feature: before "
              f"{spread([h['between_site_sd']['before'] for h in harmonised])}, after "
              f"{spread([h['between_site_sd']['after'] for h in harmonised])}")
    for endpoint in baseline["response_auc"]:
        aucs = [r["response_auc"][endpoint] for r in runs if endpoint in r["response_auc"]]
        print(f"response, {endpoint}: AUC {spread(aucs)} over {len(aucs)} seeds")
    cpu = [r["cpu_seconds"] for r in runs]
    print(f"CPU per seed (process + workers): {spread(cpu)} s; wall per seed {spread([r['wall_seconds'] for r in runs])} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--cases", type=int, default=DemoConfig.n_cases)
    parser.add_argument("--out", type=Path, default=Path("demo_seeds.json"), help="results, kept after every seed")
    parser.add_argument("--report-only", action="store_true", help="print the figures of --out, run nothing")
    parser.add_argument("--keep", type=Path, help="keep each seed's demo folder as KEEP/seed<N> (default: deleted)")
    args = parser.parse_args()
    runs = json.loads(args.out.read_text())["runs"] if args.out.exists() else []
    done = {r["seed"] for r in runs}
    for seed in [] if args.report_only else args.seeds:
        if seed in done:
            continue
        runs.append(one_seed(seed, args.cases, args.keep))
        args.out.write_text(json.dumps({"cases": args.cases, "runs": runs}, indent=2) + "\n")
        print(f"seed {seed}: " + ", ".join(f"{b} {m['auc']:.3f}" for b, m in runs[-1]["models"].items())
              + f"; {runs[-1]['cpu_seconds']:.0f} s CPU", flush=True)
    report([r for r in runs if r["seed"] in set(args.seeds)])


if __name__ == "__main__":
    main()

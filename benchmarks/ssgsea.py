"""ssGSEA speed: 20,000 genes x 1,100 samples x 24 sets (target < 10 s on 2 cores).

The baseline is gseapy's ssgsea (Rust core, ``threads=2``) timed on a
subset of samples in the same run; its per-sample time is extrapolated to
1,100 samples and the ratio printed. Synthetic log-normal expression, seeded.

    .venv/bin/python benchmarks/ssgsea.py [--samples 1100] [--baseline-samples 50]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from TMERadiomicsLib.labels.ssgsea import ssgsea

TARGET_S = 10.0


def make_data(n_genes: int, n_samples: int, n_sets: int, seed: int = 0) -> tuple[pd.DataFrame, dict]:
    rng = np.random.default_rng(seed)
    genes = [f"G{i:05d}" for i in range(n_genes)]
    values = rng.lognormal(3.0, 1.5, size=(n_genes, n_samples))
    expression = pd.DataFrame(values, index=genes, columns=[f"S{j:04d}" for j in range(n_samples)])
    sets = {f"CELL{k:02d}": list(rng.choice(genes, size=int(rng.integers(10, 40)), replace=False))
            for k in range(n_sets)}
    return expression, sets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--genes", type=int, default=20_000)
    parser.add_argument("--samples", type=int, default=1_100)
    parser.add_argument("--sets", type=int, default=24)
    parser.add_argument("--baseline-samples", type=int, default=50)
    args = parser.parse_args()
    expression, sets = make_data(args.genes, args.samples, args.sets)

    start = time.perf_counter()
    ours = ssgsea(expression, sets).scores
    elapsed = time.perf_counter() - start
    print(f"TMERadiomics ssgsea: {args.genes} genes x {args.samples} samples x {args.sets} sets: "
          f"{elapsed:.2f} s (target < {TARGET_S:.0f} s: {'met' if elapsed < TARGET_S else 'NOT met'})")

    import gseapy

    subset = expression.iloc[:, : args.baseline_samples]
    start = time.perf_counter()
    gseapy.ssgsea(data=subset, gene_sets=sets, min_size=1, max_size=10_000, outdir=None, threads=2,
                  verbose=False)
    baseline = time.perf_counter() - start
    per_sample = baseline / subset.shape[1]
    print(f"gseapy {gseapy.__version__} ssgsea (threads=2): {subset.shape[1]} samples in {baseline:.2f} s, "
          f"{per_sample * 1000:.1f} ms/sample -> {per_sample * args.samples:.1f} s extrapolated to "
          f"{args.samples} samples")
    print(f"speed-up over gseapy: {per_sample * args.samples / elapsed:.1f}x")
    print(f"scores: {ours.shape}, range {ours.to_numpy().min():.3f} .. {ours.to_numpy().max():.3f}")


if __name__ == "__main__":
    main()

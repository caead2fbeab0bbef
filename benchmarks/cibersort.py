"""CIBERSORT speed: 1,100 samples, a 547 x 22 signature, no permutations (target < 60 s on 2 cores).

The signature is synthetic and LM22-shaped (547 genes, 22 cell types, a
block of marker genes per type over a log-normal background): LM22 itself
may not be redistributed. Mixtures are 20,000 genes (the signature's plus
log-normal others) of known Dirichlet fractions with 10% multiplicative
noise. The full run uses ``solver="qp"`` (the exact interior-point nu-SVR);
the baseline, timed in the same run, is libsvm (``NuSVR``, the default
solver, as R's e1071) on a subset of samples, extrapolated to the full
count. The script also prints the accuracy against the known fractions and
the agreement of the two solvers on the subset.

    .venv/bin/python benchmarks/cibersort.py [--samples 1100] [--jobs 2] [--baseline-samples 20]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from TMERadiomicsLib.labels.cibersort import cibersort

TARGET_S = 60.0


def make_signature(n_genes: int = 547, n_cells: int = 22, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    values = rng.lognormal(4.0, 1.5, size=(n_genes, n_cells))
    per_cell = n_genes // n_cells
    for cell in range(n_cells):
        values[cell * per_cell:(cell + 1) * per_cell, cell] *= rng.lognormal(2.5, 1.0, per_cell)
    return pd.DataFrame(values, index=[f"SIG{i:04d}" for i in range(n_genes)],
                        columns=[f"Cell type {c + 1:02d}" for c in range(n_cells)])


def make_mixtures(signature: pd.DataFrame, n_samples: int, n_genes: int, seed: int = 1):
    rng = np.random.default_rng(seed)
    truth = rng.dirichlet(np.full(signature.shape[1], 0.5), size=n_samples)
    values = signature.to_numpy() @ truth.T * rng.lognormal(0.0, 0.1, size=(signature.shape[0], n_samples))
    others = rng.lognormal(4.0, 1.5, size=(n_genes - signature.shape[0], n_samples))
    index = list(signature.index) + [f"GENE{i:05d}" for i in range(others.shape[0])]
    columns = [f"S{j:04d}" for j in range(n_samples)]
    mixture = pd.DataFrame(np.vstack([values, others]), index=index, columns=columns)
    return mixture, pd.DataFrame(truth, index=columns, columns=signature.columns)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=1_100)
    parser.add_argument("--genes", type=int, default=20_000)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--baseline-samples", type=int, default=20)
    parser.add_argument("--solver", default="qp", help="solver of the full run (qp or libsvm)")
    parser.add_argument("--qn", action="store_true", help="quantile-normalise (R default; off for RNA-seq)")
    args = parser.parse_args()
    signature = make_signature()
    mixture, truth = make_mixtures(signature, args.samples, args.genes)

    start = time.perf_counter()
    result = cibersort(mixture, signature, quantile_norm=args.qn, n_jobs=args.jobs, solver=args.solver)
    elapsed = time.perf_counter() - start
    error = np.abs(result.fractions.to_numpy() - truth.to_numpy())
    print(f"TMERadiomics cibersort: {args.samples} samples x {mixture.shape[0]} genes, signature "
          f"{signature.shape[0]} x {signature.shape[1]}, QN={args.qn}, solver={args.solver}, n_jobs={args.jobs}: "
          f"{elapsed:.1f} s "
          f"({elapsed / args.samples * 1000:.0f} ms/sample; target < {TARGET_S:.0f} s: "
          f"{'met' if elapsed < TARGET_S else 'NOT met'})")
    print(f"accuracy vs known fractions: max abs error {error.max():.4f}, mean {error.mean():.5f}; "
          f"best nu counts {result.diagnostics['nu'].value_counts().to_dict()}")

    subset = mixture.iloc[:, : args.baseline_samples]
    start = time.perf_counter()
    reference = cibersort(subset, signature, quantile_norm=args.qn, n_jobs=args.jobs, solver="libsvm")
    baseline = (time.perf_counter() - start) / subset.shape[1]
    agreement = np.abs(reference.fractions.to_numpy() - result.fractions.iloc[: subset.shape[1]].to_numpy())
    print(f"baseline libsvm (NuSVR), n_jobs={args.jobs}: {subset.shape[1]} samples at {baseline * 1000:.0f} "
          f"ms/sample -> {baseline * args.samples:.0f} s extrapolated; ratio {baseline * args.samples / elapsed:.1f}x")
    print(f"{args.solver} vs libsvm fractions on those samples: max abs difference {agreement.max():.2e}")


if __name__ == "__main__":
    main()

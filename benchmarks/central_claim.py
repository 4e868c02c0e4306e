"""The paper's central claim, measured: NN (Adam) vs two-sided Curtis–Morrow on noisy data.

For n ∈ {6, 8, 10} and δ ∈ {1e-4, 1e-3}, ≥ 5 noise seeds each (wave profile, full data), train the
network on all datasets of one n as one batch (stop at the first step drop — no use of the truth)
and run two-sided CM on the same datasets. Writes ``benchmarks/results/central_claim.csv`` (one
row per dataset and method) and prints the medians.
Run: ``python benchmarks/central_claim.py [--sizes 6 8 10] [--seeds 5] [--stop first-drop]``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from discrete_eit import conductivity_profile, generate_dataset
from discrete_eit.methods.registry import reconstruct, reconstruct_many
from discrete_eit.problem.metrics import relative_l2_error


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[6, 8, 10])
    parser.add_argument("--deltas", type=float, nargs="+", default=[1e-4, 1e-3])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--stop", default="first-drop", choices=["first-drop", "min-step", "budget"])
    parser.add_argument("--iterations", type=int, default=400_000)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/central_claim.csv"))
    args = parser.parse_args()
    rows = []
    for n in args.sizes:
        gamma = conductivity_profile("wave", n)
        cells = [(d, s) for d in args.deltas for s in range(args.seeds)]
        data = [generate_dataset(gamma, n, delta=d, seed=s) for d, s in cells]
        start = time.perf_counter()
        nn = reconstruct_many("nn", data, stop=args.stop, iterations=args.iterations, progress=120.0)
        nn_wall = time.perf_counter() - start
        for (d, s), ds, rec in zip(cells, data, nn, strict=True):
            rows.append({"n": n, "delta": d, "seed": s, "method": "nn",
                         "relative_l2_error": relative_l2_error(rec.gamma, gamma),
                         "iterations": rec.info.get("iterations"), "wall_s": nn_wall / len(data)})
            cm = reconstruct("cm", ds, variant="two-sided")
            err = relative_l2_error(cm.gamma, gamma) if np.all(np.isfinite(cm.gamma)) else float("inf")
            rows.append({"n": n, "delta": d, "seed": s, "method": "cm", "relative_l2_error": err,
                         "iterations": "", "wall_s": ""})
        for d in args.deltas:
            med = {m: np.median([r["relative_l2_error"] for r in rows
                                 if r["n"] == n and r["delta"] == d and r["method"] == m])
                   for m in ("nn", "cm")}
            verdict = "NN better" if med["nn"] < med["cm"] else "CM better"
            print(f"n={n:2d} δ={d:g}: median rel. l2 error NN {med['nn']:.3g} vs CM {med['cm']:.3g} "
                  f"({verdict}; NN batch {nn_wall:.0f} s)", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(args.out, index=False)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

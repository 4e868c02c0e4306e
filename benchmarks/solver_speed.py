"""Benchmark of the deterministic solvers on exact data: wall time and error vs n.

Methods ``cm`` (two-sided), ``nn_fast`` and ``ols`` on the wave profile, ``full`` data.
Writes ``benchmarks/results/solver_speed.csv`` and prints it.
Run: ``python benchmarks/solver_speed.py [--sizes 2 4 6 8 10 12] [--methods cm nn_fast ols]``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from discrete_eit import conductivity_profile, generate_dataset
from discrete_eit.methods.registry import reconstruct
from discrete_eit.problem.metrics import relative_l2_error


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2, 4, 6, 8, 10, 12])
    parser.add_argument("--methods", nargs="+", default=["cm", "nn_fast", "ols"])
    parser.add_argument("--partial", default="full")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/solver_speed.csv"))
    args = parser.parse_args()
    rows = []
    for n in args.sizes:
        gamma = conductivity_profile("wave", n)
        data = generate_dataset(gamma, n, partial_set=args.partial)
        for method in args.methods:
            start = time.perf_counter()
            rec = reconstruct(method, data)
            wall = time.perf_counter() - start
            rows.append({"method": method, "n": n, "partial": args.partial, "wall_s": round(wall, 4),
                         "relative_l2_error": relative_l2_error(rec.gamma, gamma),
                         "iterations": rec.info.get("iterations", "")})
            error = rows[-1]["relative_l2_error"]
            print(f"{method:8s} n={n:2d}  {wall:7.3f} s  error {error:.2e}", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(args.out, index=False)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

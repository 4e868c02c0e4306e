"""Benchmark of the forward map: DtN matrix, harmonic extensions and Jacobian vs n.

Writes ``results/benchmarks/forward_speed.csv`` (median of repeats, seconds) and prints it.
Run: ``python benchmarks/forward_speed.py [--sizes 4 8 16 32 64] [--repeats 5]``.
"""

from __future__ import annotations

import argparse
import csv
import platform
import time
from pathlib import Path

import numpy as np

from discrete_eit import Lattice, conductivity_profile, dtn_jacobian, solve_forward


def median_time(func, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[4, 8, 16, 32, 64])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("results/benchmarks/forward_speed.csv"))
    args = parser.parse_args()
    rows = []
    for n in args.sizes:
        lattice = Lattice(n)
        gamma = conductivity_profile("wave", lattice)
        lattice.edges  # noqa: B018 — build the cached index arrays outside the timing
        row = {"n": n, "edges": lattice.n_edges,
               "forward_s": median_time(lambda L=lattice, g=gamma: solve_forward(L, g), args.repeats)}
        # the full Jacobian has (4n)² × 2n(n+1) entries: 0.5 GB at n = 32, so stop at n = 24
        row["jacobian_full_s"] = (median_time(lambda L=lattice, g=gamma: dtn_jacobian(L, g), args.repeats)
                                  if n <= 24 else float("nan"))
        rows.append(row)
        print(f"n={n:3d}  forward {row['forward_s'] * 1e3:8.2f} ms   "
              f"jacobian {row['jacobian_full_s'] * 1e3:8.2f} ms", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=[*rows[0], "machine"])
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "machine": platform.processor() or platform.machine()})
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

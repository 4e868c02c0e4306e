"""Benchmark of the forward map: DtN matrix, harmonic extensions and Jacobian vs n.

Writes ``benchmarks/results/forward_speed.{csv,md}`` (median of repeats, seconds) and prints it.
Column ``forward_dense_lib_s`` times the former forward map, which multiplied by ``L_IB`` as a dense
matrix (and let LAPACK re-scan every operand for NaNs), beside today's sparse product.
Run: ``python benchmarks/forward_speed.py [--sizes 4 8 16 32 64 128] [--repeats 5]``.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import time
from pathlib import Path

import numpy as np
from scipy.linalg import cho_solve_banded, cholesky_banded

from discrete_eit import Lattice, conductivity_profile, dtn_jacobian, solve_forward
from discrete_eit.problem.forward import _banded_upper, kirchhoff_matrix


def dense_lib_forward(lattice: Lattice, gamma: np.ndarray) -> np.ndarray:
    """The DtN matrix as computed before the sparse product (the reference of the speed-up)."""
    L = kirchhoff_matrix(lattice, gamma).tocsc()
    nb = lattice.n_boundary
    L_ib = L[nb:, :nb].toarray()
    factor = cholesky_banded(_banded_upper(L[nb:, nb:], lattice.n), lower=False)
    interior = -cho_solve_banded((factor, False), L_ib)
    dtn = L[:nb, :nb].toarray() + L_ib.T @ interior
    return 0.5 * (dtn + dtn.T)


def median_time(func, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[4, 8, 16, 32, 64, 128])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/forward_speed.csv"))
    args = parser.parse_args()
    rows = []
    for n in args.sizes:
        lattice = Lattice(n)
        gamma = conductivity_profile("wave", lattice)
        lattice.edges  # noqa: B018 — build the cached index arrays outside the timing
        row = {"n": n, "edges": lattice.n_edges,
               "forward_s": median_time(lambda L=lattice, g=gamma: solve_forward(L, g), args.repeats),
               "forward_dense_lib_s": median_time(lambda L=lattice, g=gamma: dense_lib_forward(L, g),
                                                  args.repeats)}
        assert np.array_equal(solve_forward(lattice, gamma).dtn, dense_lib_forward(lattice, gamma))
        # the product alone, robust to a loaded machine: L_BI · interior, dense vs sparse
        nb = lattice.n_boundary
        L_ib = kirchhoff_matrix(lattice, gamma).tocsc()[nb:, :nb]
        dense, interior = L_ib.toarray(), solve_forward(lattice, gamma).potentials[nb:]
        row["lib_product_dense_s"] = median_time(lambda A=dense, X=interior: A.T @ X, args.repeats)
        row["lib_product_sparse_s"] = median_time(
            lambda A=L_ib, X=interior: A.data[:, None] * X[A.indices], args.repeats)
        # the full Jacobian has (4n)² × 2n(n+1) entries: 0.5 GB at n = 32, so stop at n = 24
        row["jacobian_full_s"] = (median_time(lambda L=lattice, g=gamma: dtn_jacobian(L, g), args.repeats)
                                  if n <= 24 else float("nan"))
        rows.append(row)
        print(f"n={n:3d}  forward {row['forward_s'] * 1e3:8.2f} ms (dense L_IB "
              f"{row['forward_dense_lib_s'] * 1e3:8.2f} ms)   "
              f"jacobian {row['jacobian_full_s'] * 1e3:8.2f} ms", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    machine = {"machine": platform.processor() or platform.machine(),
               "load_1min": round(os.getloadavg()[0], 2)}
    with open(args.out, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=[*rows[0], *machine])
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, **machine})
    lines = ["| n | forward (ms) | former, dense L_IB (ms) | L_BI·U dense (ms) | L_BI·U indexed (ms) "
             "| Jacobian (ms) |", "|---|---|---|---|---|---|"]
    lines += [f"| {r['n']} | {r['forward_s'] * 1e3:.2f} | {r['forward_dense_lib_s'] * 1e3:.2f} | "
              f"{r['lib_product_dense_s'] * 1e3:.3f} | {r['lib_product_sparse_s'] * 1e3:.3f} | "
              f"{r['jacobian_full_s'] * 1e3:.2f} |" for r in rows]
    lines.append(f"\n1-minute load average during the run: {machine['load_1min']} (2 cores).")
    args.out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out} and {args.out.with_suffix('.md')}")


if __name__ == "__main__":
    main()

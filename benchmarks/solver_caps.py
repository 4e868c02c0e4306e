"""Iterations ``nn_fast`` and ``ols`` need to converge on exact data, for the default caps.

For each n, exact wave data on the full set: run the method with a generous cap and record the
iterations it took, its stop reason and the relative error. The default caps
(:func:`discrete_eit.methods.least_squares.default_max_iterations`) must lie above these.
Writes ``benchmarks/results/solver_caps.{csv,md}``.
Run: ``python benchmarks/solver_caps.py [--sizes 8 10 12 14 16] [--cap 5000]``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from discrete_eit import conductivity_profile, generate_dataset
from discrete_eit.methods.least_squares import default_max_iterations
from discrete_eit.methods.registry import reconstruct

RESULTS = Path(__file__).parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[8, 10, 12, 14, 16])
    parser.add_argument("--methods", nargs="+", default=["nn_fast", "ols"])
    parser.add_argument("--cap", type=int, default=5000, help="max_iterations of the measuring runs")
    args = parser.parse_args()
    rows = []
    for n in args.sizes:
        data = generate_dataset(conductivity_profile("wave", n), n)
        for method in args.methods:
            start = time.perf_counter()
            info = reconstruct(method, data, max_iterations=args.cap).info
            rows.append({"method": method, "n": n, "iterations": info["iterations"],
                         "stop_reason": info["stop_reason"], "relative_error": info["relative_error"],
                         "default_cap": default_max_iterations(n),
                         "wall_s": round(time.perf_counter() - start, 1)})
            print(rows[-1], flush=True)
    df = pd.DataFrame(rows)
    RESULTS.mkdir(exist_ok=True)
    df.to_csv(RESULTS / "solver_caps.csv", index=False)
    (RESULTS / "solver_caps.md").write_text(
        "# Iterations to convergence on exact data (wave, full set)\n\n"
        f"Measuring cap {args.cap}; `default_cap` is the default `max_iterations` at that n.\n\n"
        + df.to_markdown(index=False, floatfmt=".3g") + "\n")


if __name__ == "__main__":
    main()

"""The network's exact-data accuracy per n, measured (MATH.md §4).

Trains the paper's configuration (``nn`` defaults: Adam 2e-3, λ = 10, clip 0.1, plateau rule,
moment-rate schedule) on exact wave-profile data for each (n, iteration budget) and records the
relative ℓ² error, the stop reason, the final loss and the wall time; ``nn_fast`` on the same
datasets for comparison. Writes ``benchmarks/results/nn_accuracy.csv``.
Run: ``python benchmarks/nn_accuracy.py [--cases 6:300000 8:1500000]`` (≈ 10 min on one core).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from discrete_eit import conductivity_profile, generate_dataset
from discrete_eit.methods.registry import reconstruct
from discrete_eit.problem.metrics import relative_l2_error


def _case(text: str) -> tuple[int, int]:
    n, iterations = text.split(":")
    return int(n), int(float(iterations))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=_case, nargs="+", default=[(6, 300_000), (8, 1_500_000)],
                        help="n:iterations pairs")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/nn_accuracy.csv"))
    args = parser.parse_args()
    rows = []
    for n, iterations in args.cases:
        gamma = conductivity_profile("wave", n)
        data = generate_dataset(gamma, n)
        for method, options in (("nn", {"iterations": iterations, "stop": "min-step",
                                        "progress": 60.0}),
                                ("nn_fast", {})):
            start = time.perf_counter()
            rec = reconstruct(method, data, **options)
            wall = time.perf_counter() - start
            rows.append({"n": n, "method": method, "budget": iterations if method == "nn" else "",
                         "iterations": rec.info.get("iterations"), "stop": rec.info.get("stop_reason",
                         rec.info.get("stop")), "final_loss": rec.info.get("final_loss"),
                         "relative_l2_error": relative_l2_error(rec.gamma, gamma), "wall_s": wall})
            print(f"n={n:2d} {method:8s} rel. l2 error {rows[-1]['relative_l2_error']:.3g} after "
                  f"{rows[-1]['iterations']} iterations, {wall:.1f} s", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(args.out, index=False)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

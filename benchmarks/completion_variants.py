"""The two pseudo-inverses of the completion's rank rule, measured (docs/MATH.md §6).

``completion_pinv = truncated`` (ours: the pseudo-inverse truncated to rank i) against ``plain``
(Moore–Penrose, the paper's formula), on the completable partial sets at n = 6 (wave profile):
the relative error of the completed N×N block (the paper's Fig 9 quantity), the relative error of
all entries the completion fills (unmeasured in both (i, j) and (j, i)), and two-sided
Curtis–Morrow's relative ℓ² error of γ̂ after each completion, per noise seed.

Writes ``benchmarks/results/completion_variants.csv`` (one row per dataset and variant) and
``.md`` (medians over seeds, and per-seed paired comparisons). No timings: accuracy only.
Run: ``python benchmarks/completion_variants.py [--sizes 6] [--sets last3n last2n] [--seeds 5]``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from discrete_eit import conductivity_profile, generate_dataset
from discrete_eit.experiment.tables import completion_rows, to_markdown
from discrete_eit.problem.completion import complete_dtn
from discrete_eit.problem.forward import dtn_matrix
from discrete_eit.problem.metrics import relative_l2_error

OUT = Path(__file__).parent / "results" / "completion_variants"


def filled_error(dataset, pinv: str) -> float:
    """Relative Frobenius error over the entries the rank rule and the row sums fill."""
    exact = dtn_matrix(dataset.lattice, dataset.gamma_true)
    filled = ~(dataset.mask | dataset.mask.T)
    return relative_l2_error(complete_dtn(dataset, completion_pinv=pinv)[filled], exact[filled])


def measure(sizes, sets, deltas, seeds) -> pd.DataFrame:
    rows = []
    for n in sizes:
        gamma = conductivity_profile("wave", n)
        for pset in sets:
            for delta in deltas:
                for seed in range(1 if delta == 0 else seeds):
                    ds = generate_dataset(gamma, n, delta=delta, seed=seed, partial_set=pset)
                    for row in completion_rows(ds, {"variant": "two-sided"}):
                        rows.append({**row, "profile": "wave",
                                     "filled_error": filled_error(ds, row["completion_pinv"])})
    return pd.DataFrame(rows)


def summarise(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Medians per (n, set, δ, variant); per (n, set, δ) the paired plain-vs-truncated comparison."""
    keys = ["n", "set", "delta"]
    med = df.groupby([*keys, "completion_pinv"], sort=True).agg(
        seeds=("seed", "size"), block_error=("block_error", "median"),
        filled_error=("filled_error", "median"), cm_rel_l2=("cm_rel_l2", "median"),
        cm_invalid=("cm_invalid", "sum")).reset_index()
    with np.errstate(divide="ignore", invalid="ignore"):
        med["block_per_delta"] = np.where(med["delta"] > 0, med["block_error"] / med["delta"], np.nan)
    wide = df.pivot_table(index=[*keys, "seed"], columns="completion_pinv",
                          values=["block_error", "cm_rel_l2"], dropna=False)
    noisy = wide[wide.index.get_level_values("delta") > 0]
    b, c = noisy["block_error"], noisy["cm_rel_l2"]
    pair = pd.DataFrame({
        "block_plain_over_truncated": b["plain"] / b["truncated"],
        "plain_block_larger": b["plain"] > b["truncated"],
        "cm_plain_over_truncated": c["plain"] / c["truncated"],
        "truncated_cm_better": c["truncated"] < c["plain"],
    }).groupby(level=keys).agg(
        block_ratio_median=("block_plain_over_truncated", "median"),
        seeds_plain_block_larger=("plain_block_larger", "sum"),
        cm_ratio_median=("cm_plain_over_truncated", "median"),
        seeds_truncated_cm_better=("truncated_cm_better", "sum")).reset_index()
    return med, pair


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[6])
    parser.add_argument("--sets", nargs="+", default=["last3n", "last2n"])
    parser.add_argument("--deltas", type=float, nargs="+", default=[0.0, 1e-5, 1e-4, 1e-3])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=OUT, help="output stem (.csv and .md are written)")
    args = parser.parse_args()
    df = measure(args.sizes, args.sets, args.deltas, args.seeds)
    med, pair = summarise(df)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(args.out.with_suffix(".csv"), index=False, float_format="%.17g")
    text = ("# Completion: truncated (ours) vs plain (paper) pseudo-inverse\n\n"
            f"Wave profile, two-sided CM, sizes {args.sizes}, seeds 0..{args.seeds - 1} "
            "(exact data: seed 0). "
            "`block_error`: relative error of the completed N×N block; `filled_error`: of every entry "
            "the completion fills; `cm_rel_l2`: CM's relative ℓ² error of γ̂ after completion "
            "(inf if γ̂ non-finite; `cm_invalid`: seeds with non-finite or non-positive γ̂). "
            "Command: `python benchmarks/completion_variants.py`.\n\n"
            "## Medians over seeds\n\n" + to_markdown(med)
            + "\n\n## Paired per seed (δ > 0): plain / truncated\n\n" + to_markdown(pair) + "\n")
    args.out.with_suffix(".md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()

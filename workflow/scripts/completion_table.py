"""Completion of Λ from last3n data vs δ, both pseudo-inverses, and CM after each (Fig 9)."""

from _common import setup_job

from discrete_eit.artifacts.formats import load_dataset
from discrete_eit.experiment.tables import completion_rows, completion_summary, write_table

sm = snakemake  # noqa: F821 (injected by Snakemake)
log = setup_job(sm)
rows = []
for path in sm.input:
    d = load_dataset(path)
    for row in completion_rows(d, sm.params.cm_options):
        rows.append(row)
        log.info("%s (%s): block error %.3g, CM rel. l2 %.3g", path, row["completion_pinv"],
                 row["block_error"], row["cm_rel_l2"])
df = completion_summary(rows)
write_table(df, sm.output.csv, sm.output.md, "Completion of Λ from last3n data",
            "Relative Frobenius error of the completed leading n×n (N×N) block vs the exact block "
            "(MATH.md §6) and CM's relative ℓ² error after completion (options of figures.cm_run), for "
            "each pseudo-inverse of the rank rule (completion_pinv: truncated = ours, to rank i; plain = "
            "Moore–Penrose, the paper's formula): median / min / max over noise seeds; ratio_to_delta = "
            "median block error / δ; cm_invalid = seeds with non-finite or non-positive γ̂.",
            inputs=list(sm.input), params={"cm_options": dict(sm.params.cm_options)})

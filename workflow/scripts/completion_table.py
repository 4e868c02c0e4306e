"""Completion error of the leading n×n (N×N) block from last3n data vs δ (Fig 9)."""

from _common import setup_job

from discrete_eit.artifacts.formats import load_dataset
from discrete_eit.experiment.tables import block_error, completion_summary, write_table
from discrete_eit.problem.completion import complete_dtn
from discrete_eit.problem.forward import dtn_matrix

sm = snakemake  # noqa: F821 (injected by Snakemake)
log = setup_job(sm)
rows = []
for path in sm.input:
    d = load_dataset(path)
    exact = dtn_matrix(d.lattice, d.gamma_true)
    err = block_error(complete_dtn(d), exact, d.n)
    rows.append({"profile": d.profile, "n": d.n, "set": d.partial_set, "delta": d.delta, "seed": d.seed,
                 "block_error": err})
    log.info("%s: block error %.3g", path, err)
df = completion_summary(rows)
write_table(df, sm.output.csv, sm.output.md, "Completion of Λ from last3n data",
            "Relative Frobenius error of the completed leading n×n (N×N) block vs the exact block "
            "(MATH.md §6): median / min / max over noise seeds; ratio_to_delta = median / δ.",
            inputs=list(sm.input))

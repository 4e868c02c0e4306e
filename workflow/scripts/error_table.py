"""Error table (Table E), per-cell summary over seeds, speed table.

Every reconstruction is evaluated here, in this one process (MATH.md §8 metrics).
"""

from _common import read_json, setup_job

from discrete_eit.artifacts.evaluation import evaluate_reconstructions
from discrete_eit.experiment.tables import (
    build_error_table,
    error_row,
    speed_table,
    summarise_errors,
    write_table,
)

sm = snakemake  # noqa: F821 (injected by Snakemake)
log = setup_job(sm)
recons = list(sm.input.recons)
metrics = evaluate_reconstructions(zip(sm.input.datas, recons, strict=True))
rows = [error_row(cell, m, read_json(meta), source=recon)
        for cell, m, meta, recon in zip(sm.params.cells, metrics, sm.input.metas, recons, strict=True)]
rows += [error_row(cell, None, None) for cell in sm.params.not_applicable]
df = build_error_table(rows)
log.info("%d rows (%d not applicable, %d with invalid γ̂)", len(df), (df["status"] == "not_applicable").sum(),
         (df["status"] == "invalid").sum())
write_table(df, sm.output.csv, sm.output.md, "Error table",
            "One row per (profile, n, set, δ, seed, run). rel_l2 = ‖γ̂−γ‖/‖γ‖, max_rel = max |γ̂−γ|/γ, "
            "centre / boundary = rel. ℓ² on the centre / boundary-ring edges, dtn_residual = "
            "‖Λ(γ̂)−Λ^δ‖_F/‖Λ^δ‖_F on measured entries. status: ok | invalid (γ̂ not finite and "
            "positive) | not_applicable. wall_time_s of batched NN runs = batch wall time / batch size. "
            "source = the row's reconstruction (`discrete-eit audit errors.csv --row KEY=VALUE` follows it).",
            inputs=list(sm.input))
summary = summarise_errors(df)
write_table(summary, sm.output.summary_csv, sm.output.summary_md, "Error summary over noise seeds",
            "Median, min and max over the noise seeds of each (profile, n, set, δ, run).",
            inputs=list(sm.input))
write_table(speed_table(df), sm.output.speed_csv, sm.output.speed_md, "Speed",
            "Wall time per dataset and iterations, median over the datasets of each method, run and n.",
            inputs=list(sm.input))

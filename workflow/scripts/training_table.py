"""Loss-curve summary of every NN training run (claims of Figs 3, 7)."""

import pandas as pd
from _common import setup_job

from discrete_eit.artifacts.formats import load_history
from discrete_eit.experiment.tables import TRAINING_COLUMNS, training_row, write_table

sm = snakemake  # noqa: F821 (injected by Snakemake)
log = setup_job(sm)
rows = []
for cell, recon in zip(sm.params.cells, sm.input.recons, strict=True):
    rows.append(training_row(cell, load_history(recon)))
df = pd.DataFrame(rows, columns=TRAINING_COLUMNS)
if not df.empty:
    df = df.sort_values(["profile", "n", "set", "delta", "seed", "run"], kind="stable")
log.info("%d training runs", len(df))
write_table(df, sm.output.csv, sm.output.md, "NN training summary",
            "final_loss / min_loss: last and smallest recorded loss; iterations: last recorded iteration; "
            "iter_to_plateau: first recorded iteration with loss ≤ 2 × final loss; decades: "
            "log10(first / final loss); drop_ratio: max over the run of loss / running minimum "
            "(1 = monotone).",
            inputs=list(sm.input))

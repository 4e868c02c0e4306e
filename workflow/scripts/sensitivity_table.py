"""Predicted error per unit δ (linearised, MATH.md §7) for every (profile, n, set) computed."""

import pandas as pd
from _common import read_json, setup_job

from discrete_eit.experiment.tables import sensitivity_row, write_table

sm = snakemake  # noqa: F821 (injected by Snakemake)
log = setup_job(sm)
rows = [sensitivity_row(p, n, s, read_json(path + ".json")["info"])
        for (p, n, s), path in zip(sm.params.targets, sm.input, strict=True)]
df = pd.DataFrame(rows).sort_values(["profile", "set", "n"], kind="stable")
write_table(df, sm.output.csv, sm.output.md, "Linearised sensitivity",
            "Rank of the Jacobian J_Σ and predicted relative std per unit δ (max / median over edges) "
            "at the true γ. Rank-deficient sets have no prediction.",
            inputs=list(sm.input))

"""Robustness table: mean and std over seeds of each run's error under each noise model."""

import pandas as pd
from _common import setup_job

from discrete_eit.experiment.tables import robustness_table, write_table

sm = snakemake  # noqa: F821 (injected by Snakemake)
log = setup_job(sm)
df = robustness_table(pd.read_csv(sm.input[0]), sm.params.study)
log.info("%d rows (noise models: %s)", len(df), ", ".join(sorted(df["noise_model"].unique())))
write_table(df, sm.output.csv, sm.output.md, "Robustness to the noise model",
            "Per (profile, n, set, noise model, δ, run) of studies.robustness: mean, sample std, min and "
            "max over the noise seeds of the relative ℓ² error, and the mean centre error (docs/MATH.md "
            "§3 defines each model's δ). seeds = rows, n_ok = rows with a valid γ̂.",
            inputs=list(sm.input), params={"study": dict(sm.params.study)})

"""results/claims.md: every paper claim, the numbers that test it, PASS / FAIL (from the tables)."""

import pandas as pd
from _common import setup_job

from discrete_eit.artifacts.formats import write_bytes_artifact
from discrete_eit.experiment.claims import evaluate_claims, render_claims

sm = snakemake  # noqa: F821 (injected by Snakemake)
log = setup_job(sm)
tables = {}
for name, paths in sm.input.items():
    paths = [paths] if isinstance(paths, str) else list(paths)
    tables[name] = pd.read_csv(paths[0]) if paths else pd.DataFrame()
fig = dict(sm.params.figures)
claims = evaluate_claims(tables, fig, list(sm.params.fixed_edges))
context = (f"Working size n = {fig['working_n']}, profile `{fig['profile']}`, figure seed {fig['seed']}; "
           f"NN run `{fig['nn_run']}`, Curtis–Morrow run `{fig['cm_run']}`. Medians over noise seeds "
           "(results/tables/errors_summary.csv).")
write_bytes_artifact(sm.output[0], render_claims(claims, context).encode(), "claims", {"figures": fig},
                     list(sm.input))
for c in claims:
    log.info("%s %s: %s", c.verdict, c.source, c.statement)

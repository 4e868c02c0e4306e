"""Regional errors (quadrants, fixed edge and its neighbours, centre) of every reconstruction."""

import pandas as pd
from _common import setup_job

from discrete_eit.artifacts.formats import load_dataset, load_result
from discrete_eit.experiment.tables import region_row, write_table

sm = snakemake  # noqa: F821 (injected by Snakemake)
log = setup_job(sm)
fixed = list(sm.params.fixed_edges)
rows = []
for cell, rp, dp in zip(sm.params.cells, sm.input.recons, sm.input.datas, strict=True):
    d = load_dataset(dp)
    rows.append(region_row(cell, d.lattice, load_result(rp)["gamma"], d.gamma_true, fixed))
df = pd.DataFrame(rows).sort_values(["profile", "n", "set", "delta", "seed", "run"], kind="stable")
write_table(df, sm.output.csv, sm.output.md, "Regional errors",
            "Relative ℓ² error per quadrant of the lattice (by edge midpoint), on the fixed edge(s) "
            f"{fixed} of the prior run, on their neighbours, and on the centre (boundary ring, fixed "
            "edges and neighbours excluded).",
            inputs=list(sm.input))

"""Monte Carlo check of the linearised error prediction (ours; MATH.md §7)."""

import numpy as np
import pandas as pd
from _common import setup_job

from discrete_eit.experiment.tables import mc_row, write_table
from discrete_eit.methods.registry import reconstruct
from discrete_eit.problem.datasets import generate_dataset
from discrete_eit.problem.lattice import Lattice
from discrete_eit.problem.partial import partial_mask
from discrete_eit.problem.profiles import conductivity_profile
from discrete_eit.problem.sensitivity import predicted_std

sm = snakemake  # noqa: F821 (injected by Snakemake)
log = setup_job(sm)
mc = dict(sm.params.mc)
n, delta, draws = int(mc["n"]), float(mc["delta"]), int(mc["draws"])
lattice = Lattice(n)
gamma = conductivity_profile(mc["profile"], lattice, int(sm.params.profile_seed))
rows = []
for pset in mc["sets"]:
    pred = predicted_std(lattice, gamma, partial_mask(pset, lattice))
    errors = []
    if pred.full_rank:
        for k in range(draws):
            data = generate_dataset(gamma, n, delta, 1000 + k, pset)
            errors.append(reconstruct(mc["method"], data, **mc["options"]).gamma - gamma)
    row = mc_row(pset, n, delta, np.array(errors).reshape(len(errors), -1), pred.std_per_delta,
                 pred.rank, pred.n_params, mc["method"])
    log.info("%s: %s", pset, row)
    rows.append(row)
write_table(pd.DataFrame(rows), sm.output.csv, sm.output.md,
            "Monte Carlo check of the sensitivity prediction",
            f"{draws} noise draws at δ = {delta:g}, n = {n}, method {mc['method']} {mc['options']}: "
            "empirical std per edge / predicted std (median, min, max over the edges). 1 = prediction holds.",
            params=mc)

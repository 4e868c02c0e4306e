"""Render one lattice figure from its layout (see discrete_eit.experiment.figures)."""

import numpy as np
from _common import setup_job

from discrete_eit.artifacts.formats import load_history, load_npz
from discrete_eit.experiment.figures import render_layout, save_figure

sm = snakemake  # noqa: F821 (injected by Snakemake)
log = setup_job(sm)


def load(path):
    return load_npz(path, ())


def history(path):
    cols = load_history(path)
    return cols.get("iteration", np.array([])), cols.get("loss", np.array([]))


fig = render_layout(sm.params.layout, load=load, history=history)
save_figure(fig, sm.output.png, sm.output.pdf, inputs=list(sm.input), params=dict(sm.params))
log.info("wrote %s", sm.output.png)

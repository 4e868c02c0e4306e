"""Fig 1: the lattice with its boundary numbering and the sigma0 pattern in the 4n×4n matrix."""

from _common import setup_job

from discrete_eit.experiment.figures import figure_lattice_and_pattern, save_figure
from discrete_eit.problem.partial import partial_mask

sm = snakemake  # noqa: F821 (injected by Snakemake)
log = setup_job(sm)
n = int(sm.params.n)
fig = figure_lattice_and_pattern(n, partial_mask(sm.params.pattern, n), sm.params.pattern)
save_figure(fig, sm.output.png, sm.output.pdf, inputs=list(sm.input), params=dict(sm.params))
log.info("wrote %s", sm.output.png)

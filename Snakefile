# discrete-eit: the paper's experiment grid end to end (docs/workflow.md).
#
#   snakemake --cores 2                                   # default grid (config/config.yaml)
#   snakemake --cores 2 --configfile config/quick.yaml    # a few minutes (CI, tests)
#   snakemake --report report.html                        # figures + tables with captions
#
# The grid, the paths, the config checks and the registry of tables and figures are the package's
# (discrete_eit.experiment); the rule files only wire them to jobs.

from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"


wildcard_constraints:
    **paths.WILDCARD_CONSTRAINTS,


include: "workflow/rules/data.smk"
include: "workflow/rules/reconstruct.smk"
include: "workflow/rules/sensitivity.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/provenance.smk"


# Every intermediate is a target too, so that deleting one file (a dataset, a reconstruction)
# rebuilds exactly it and what depends on it.
rule all:
    default_target: True
    input:
        sorted({c.data for c in CELLS}),
        [c.recon for c in CELLS],
        [paths.sensitivity_path(*t) for t in SENS_TARGETS],
        ALL_OUTPUTS,
        paths.MANIFEST,

# discrete-eit: the paper's experiment grid end to end (docs/workflow.md).
#
#   snakemake --cores 2                                   # default grid (config/config.yaml)
#   snakemake --cores 2 --configfile config/quick.yaml    # a few minutes (CI, tests)
#   snakemake --report report.html                        # figures + tables with captions

from pathlib import Path

from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config/config.yaml"


include: "workflow/rules/common.smk"


try:
    validate(config, "workflow/schemas/config.schema.yaml")
except WorkflowError as exc:
    raise schema_error(exc) from None
check_registries(config)
check_figure_cells(config)

CELLS, NOT_APPLICABLE = expand_cells(config)


wildcard_constraints:
    profile=r"[a-z][a-z0-9_]*",
    pset=r"[a-z][a-z0-9_]*",
    n=r"[1-9][0-9]*",
    delta=r"[0-9][0-9.e+-]*",
    seed=r"[0-9]+",


include: "workflow/rules/data.smk"


# One rule file per reconstruction method (a new method: its module + workflow/rules/reconstruct_<method>.smk).
for _method_rules in sorted(Path(workflow.basedir, "workflow/rules").glob("reconstruct_*.smk")):

    include: _method_rules


include: "workflow/rules/sensitivity.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/figure_layouts.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/provenance.smk"


# Every intermediate is a target too, so that deleting one file (a dataset, a reconstruction, an
# evaluation) rebuilds exactly it and what depends on it.
rule all:
    default_target: True
    input:
        sorted({cell_data(c) for c in CELLS}),
        [cell_recon(c) for c in CELLS],
        [cell_eval(c) for c in CELLS],
        [sens_path(*t) for t in SENS_TARGETS],
        ALL_TABLES,
        ALL_FIGURES,
        "results/claims.md",
        "results/provenance.json",

# Provenance: the run manifest, DVC metrics / plot data, and one target rule per DVC phase
# (docs/provenance.md). Included last by the Snakefile: it uses the grid, tables and figures.
#
#   snakemake results/provenance.json      # manifest of the current outputs (end of `all`)
#   snakemake phase_reconstructions        # what dvc.yaml's stage `reconstructions` runs
#
# The datasets phase needs no target rule: `snakemake --until generate` runs exactly the
# generate jobs that the default target needs.

from discrete_eit.artifacts.manifest import write_manifest
from discrete_eit.experiment.dvc_outputs import write_dvc_outputs

LOSS_CURVES = grid.loss_curve_cells(config, CELLS, METHODS) if EXPERIMENT.paper else []
# the tables the headline metrics read (experiment.dvc_outputs.headline_metrics)
HEADLINE_TABLES = {
    "errors": "errors",
    **(
        {
            "summary": "errors_summary",
            "training": "training",
            "completion": "completion",
            "table1": "table1",
            "claims": "claims",
        }
        if EXPERIMENT.paper
        else {}
    ),
}


rule phase_reconstructions:
    input:
        [c.recon for c in CELLS],
        [c.recon_meta for c in CELLS],
        [paths.sensitivity_path(*t) for t in SENS_TARGETS],
        [paths.sidecar(paths.sensitivity_path(*t)) for t in SENS_TARGETS],
    localrule: True


rule phase_tables:
    input:
        [out.outputs.values() for out in OUTPUTS if out.study is None and out.spec.kind != "figure"],
    localrule: True


rule phase_figures:
    input:
        [out.outputs.values() for out in OUTPUTS if out.study is None and out.spec.kind == "figure"],
    localrule: True


rule phase_studies:
    input:
        [out.outputs.values() for out in OUTPUTS if out.study is not None],
    localrule: True


rule dvc_metrics:
    input:
        **{k: paths.table_paths(t)[0] for k, t in HEADLINE_TABLES.items()},
        recons=[c["recon"] for c in LOSS_CURVES],
    output:
        metrics=paths.METRICS,
        metrics_meta=paths.sidecar(paths.METRICS),
        metrics_full=paths.METRICS_FULL,
        metrics_full_meta=paths.sidecar(paths.METRICS_FULL),
        error_vs_delta=paths.ERROR_VS_DELTA_PLOT,
        error_vs_delta_meta=paths.sidecar(paths.ERROR_VS_DELTA_PLOT),
        loss=paths.LOSS_CURVES_PLOT,
        loss_meta=paths.sidecar(paths.LOSS_CURVES_PLOT),
    log:
        paths.log_path("provenance", "dvc_metrics"),
    benchmark:
        paths.benchmark_path("provenance", "dvc_metrics")
    localrule: True
    threads: 1
    resources:
        runtime=5,
        mem_mb=1000,
    params:
        code=fingerprints.module_code("discrete_eit.experiment.dvc_outputs"),
        curves=LOSS_CURVES,
    run:
        write_dvc_outputs(
            {k: input[k] for k in HEADLINE_TABLES},
            config,
            METHODS,
            params.curves,
            output.metrics,
            output.metrics_full,
            output.error_vs_delta,
            output.loss,
            log=log[0],
        )


rule provenance_manifest:
    input:
        ALL_OUTPUTS,
        rules.dvc_metrics.output,
    output:
        paths.MANIFEST,
    log:
        paths.log_path("provenance", "manifest"),
    benchmark:
        paths.benchmark_path("provenance", "manifest")
    localrule: True
    threads: 1
    resources:
        runtime=10,
        mem_mb=1000,
    run:
        write_manifest(
            output[0],
            CONFIG_FILES,
            paths.OUTPUT_ROOTS,
            paths.DIAGNOSTIC_DIRS,
            effective_config=config,
            log=log[0],
        )

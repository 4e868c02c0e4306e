# Provenance: the run manifest, DVC metrics / plot data, and one target rule per DVC phase
# (docs/provenance.md). Included last by the Snakefile: it uses the grid (CELLS, SENS_TARGETS,
# ALL_TABLES, ALL_FIGURES) and path helpers of the other rule files.
#
#   snakemake results/provenance.json      # manifest of the current outputs (end of `all`)
#   snakemake phase_reconstructions        # what dvc.yaml's stage `reconstructions` runs
#
# The datasets phase needs no target rule: `snakemake --until generate` runs exactly the
# generate jobs that the default target needs.

from discrete_eit.artifacts import manifest as _manifest

# Training-loss curves for `dvc plots`: the NN-type runs of the figures' cells (full data, the
# figures' profile, exact data or the figures' noise seed).
HISTORY_METHODS = ("nn", "nn_fast")
LOSS_CURVES = [
    {"label": f"{c.run} n={c.n} δ={c.delta:g}", "recon": cell_recon(c)}
    for c in CELLS
    if c.method in HISTORY_METHODS and c.pset == "full" and c.profile == config["figures"]["profile"]
    and c.seed == (0 if c.delta == 0 else config["figures"]["seed"])
]
PHASE_RECONSTRUCTIONS = (
    [cell_recon(c) for c in CELLS]
    + [cell_meta(c) for c in CELLS]
    + [sens_path(*t) for t in SENS_TARGETS]
    + [f"{sens_path(*t)}.json" for t in SENS_TARGETS]
)
# Config files in the order Snakemake merged them: the Snakefile's, then each --configfile.
_OVERLAYS = [str(p) for p in workflow.overwrite_configfiles]
CONFIG_FILES = [str(p) for p in workflow.configfiles if str(p) not in _OVERLAYS] + _OVERLAYS


rule phase_reconstructions:
    input:
        PHASE_RECONSTRUCTIONS,
    localrule: True


rule phase_tables:
    input:
        ALL_TABLES,
        "results/claims.md",
    localrule: True


rule phase_figures:
    input:
        ALL_FIGURES,
    localrule: True


rule dvc_metrics:
    input:
        errors="results/tables/errors.csv",
        recons=[c["recon"] for c in LOSS_CURVES],
    output:
        metrics="results/metrics.json",
        metrics_meta="results/metrics.json.json",
        error_vs_delta="results/plots/error_vs_delta.csv",
        error_vs_delta_meta="results/plots/error_vs_delta.csv.json",
        loss="results/plots/loss_curves.csv",
        loss_meta="results/plots/loss_curves.csv.json",
    params:
        curves=LOSS_CURVES,
    log:
        "results/logs/provenance/dvc_metrics.log",
    benchmark:
        "results/benchmarks/provenance/dvc_metrics.tsv"
    threads: 1
    resources:
        runtime=5,
        mem_mb=1000,
    localrule: True
    run:
        _manifest.write_dvc_outputs(input.errors, params.curves, output.metrics, output.error_vs_delta,
                                    output.loss, log=log[0])


rule provenance_manifest:
    input:
        ALL_TABLES,
        ALL_FIGURES,
        "results/claims.md",
        rules.dvc_metrics.output,
    output:
        "results/provenance.json",
    log:
        "results/logs/provenance/manifest.log",
    benchmark:
        "results/benchmarks/provenance/manifest.tsv"
    threads: 1
    resources:
        runtime=10,
        mem_mb=1000,
    localrule: True
    run:
        _manifest.write_manifest(output[0], CONFIG_FILES, effective_config=config, log=log[0])

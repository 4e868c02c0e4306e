# Provenance: the run manifest, DVC metrics / plot data, and one target rule per DVC phase
# (docs/provenance.md). Included last by the Snakefile: it uses the grid (CELLS, SENS_TARGETS,
# ALL_TABLES, ALL_FIGURES) and path helpers of the other rule files.
#
#   snakemake results/provenance.json      # manifest of the current outputs (end of `all`)
#   snakemake phase_reconstructions        # what dvc.yaml's stage `reconstructions` runs
#
# The datasets phase needs no target rule: `snakemake --until generate` runs exactly the
# generate jobs that the default target needs.

from discrete_eit import manifest as _manifest

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
    [cell_recon(c) for c in CELLS] + [cell_recon(c) + ".json" for c in CELLS]
    + [sens_path(*t) for t in SENS_TARGETS] + [sens_path(*t) + ".json" for t in SENS_TARGETS]
)
DVC_METRICS = "results/metrics.json"
DVC_PLOTS = ["results/plots/error_vs_delta.csv", "results/plots/loss_curves.csv"]


def snakemake_config_files():
    """Config files in the order Snakemake merged them: the Snakefile's, then --configfile's."""
    over = [str(p) for p in workflow.overwrite_configfiles]
    return [str(p) for p in workflow.configfiles if str(p) not in over] + over


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
        metrics=DVC_METRICS,
        metrics_meta=DVC_METRICS + ".json",
        error_vs_delta=DVC_PLOTS[0],
        error_vs_delta_meta=DVC_PLOTS[0] + ".json",
        loss=DVC_PLOTS[1],
        loss_meta=DVC_PLOTS[1] + ".json",
    params:
        curves=LOSS_CURVES,
    localrule: True
    run:
        _manifest.write_dvc_metrics(input.errors, output.metrics)
        _manifest.write_plot_csv(_manifest.error_vs_delta(input.errors), output.error_vs_delta,
                                 "plot_data", {"metric": _manifest.METRIC, "study": "noise"},
                                 [input.errors])
        _manifest.write_plot_csv(_manifest.loss_curves(params.curves), output.loss, "plot_data",
                                 {"curves": [c["label"] for c in params.curves]},
                                 [c["recon"] for c in params.curves])


rule provenance_manifest:
    input:
        ALL_TABLES,
        ALL_FIGURES,
        "results/claims.md",
        rules.dvc_metrics.output,
    output:
        "results/provenance.json",
    localrule: True
    run:
        rec = _manifest.write_manifest(output[0], snakemake_config_files(), effective_config=config)
        print(f"wrote {output[0]}: {rec['n_outputs']} outputs, config {rec['config']['sha256'][:12]}")

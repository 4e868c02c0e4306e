# Figures of the paper (results/figures/figN.png + .pdf). Each figure is a *layout* (rows of
# panels naming their files, discrete_eit.experiment.layouts); the rule's inputs derive from it.
# Figures are cheap: local rules, each with a report caption.

ALL_FIGURES = [p for fig in ["fig1", *LAYOUTS] for p in paths.figure_paths(fig)]


rule figure_1:
    output:
        png=report(paths.figure_paths("fig1")[0], caption="../report/fig1.rst", category="Figures"),
        pdf=paths.figure_paths("fig1")[1],
    log:
        paths.log_path("figures", "fig1"),
    benchmark:
        paths.benchmark_path("figures", "fig1")
    localrule: True
    conda:
        "../envs/discrete-eit.yaml"
    threads: 1
    resources:
        runtime=5,
        mem_mb=1000,
    params:
        code=fingerprints.script_code("figure_1"),
        n=config["figures"]["fig1_n"],
        pattern="sigma0",
    script:
        "../scripts/figure_1.py"


# One rule per figure (figure_fig3a, …): each has its own report caption, which Snakemake takes from
# a fixed path, not a wildcard.
for _fig, _layout in LAYOUTS.items():

    rule:
        name:
            f"figure_{_fig}"
        input:
            layout_inputs(_layout),
        output:
            png=report(
                paths.figure_paths(_fig)[0],
                caption=f"../report/{_fig}.rst",
                category="Figures",
            ),
            pdf=paths.figure_paths(_fig)[1],
        log:
            paths.log_path("figures", _fig),
        benchmark:
            paths.benchmark_path("figures", _fig)
        localrule: True
        conda:
            "../envs/discrete-eit.yaml"
        threads: 1
        resources:
            runtime=5,
            mem_mb=2000,
        params:
            code=fingerprints.script_code("render_figure"),
            layout=_layout,
        script:
            "../scripts/render_figure.py"

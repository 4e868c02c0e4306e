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
        n=config["figures"]["fig1_n"],
        pattern="sigma0",
    script:
        "../scripts/figure_1.py"


rule figure:
    input:
        lambda wc: layout_inputs(LAYOUTS[wc.fig]),
    output:
        png=report(paths.FIGURE_DIR + "/{fig}.png", caption="../report/{fig}.rst", category="Figures"),
        pdf=paths.FIGURE_DIR + "/{fig}.pdf",
    log:
        paths.log_path("figures", "{fig}"),
    benchmark:
        paths.benchmark_path("figures", "{fig}")
    wildcard_constraints:
        fig="|".join(LAYOUTS),
    localrule: True
    conda:
        "../envs/discrete-eit.yaml"
    threads: 1
    resources:
        runtime=5,
        mem_mb=2000,
    params:
        layout=lambda wc: LAYOUTS[wc.fig],
    script:
        "../scripts/render_figure.py"

# Figures of the paper (results/figures/figN.png + .pdf). Each figure is a *layout* (rows of
# panels naming their files, see discrete_eit.plotting); the rule's inputs are derived from it.
# Figures are cheap: local rules, one per figure, each with a report caption.

LAYOUTS = figure_layouts()
ALL_FIGURES = expand("results/figures/{fig}.{ext}", fig=["fig1", *LAYOUTS], ext=["png", "pdf"])


rule figure_1:
    output:
        png=report("results/figures/fig1.png", caption="../report/fig1.rst", category="Figures"),
        pdf="results/figures/fig1.pdf",
    params:
        n=FIG["fig1_n"],
        pattern="sigma0",
    log:
        "results/logs/figures/fig1.log",
    benchmark:
        "results/benchmarks/figures/fig1.tsv"
    conda:
        "../envs/discrete-eit.yaml"
    threads: 1
    localrule: True
    resources:
        runtime=5,
        mem_mb=1000,
    script:
        "../scripts/figure_1.py"


for _fig, _layout in LAYOUTS.items():

    rule:
        name:
            f"figure_{_fig}"
        input:
            layout_inputs(_layout),
        output:
            png=report(f"results/figures/{_fig}.png", caption=f"../report/{_fig}.rst",
                       category="Figures"),
            pdf=f"results/figures/{_fig}.pdf",
        params:
            layout=_layout,
        log:
            f"results/logs/figures/{_fig}.log",
        benchmark:
            f"results/benchmarks/figures/{_fig}.tsv"
        conda:
            "../envs/discrete-eit.yaml"
        threads: 1
        localrule: True
        resources:
            runtime=5,
            mem_mb=2000,
        script:
            "../scripts/render_figure.py"

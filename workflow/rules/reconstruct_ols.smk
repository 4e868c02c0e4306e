# Method `ols`: Weighted output least squares (Levenberg–Marquardt, discrepancy principle); one job per dataset.
# Every run whose method is `ols` (config: runs.NAME.method) goes through this rule.


rule reconstruct_ols:
    input:
        data="data/dtn/{profile}/n{n}/{pset}/d{delta}_s{seed}.npz",
    output:
        npz="results/recon/{run}/{profile}/n{n}/{pset}/d{delta}_s{seed}.npz",
        meta="results/recon/{run}/{profile}/n{n}/{pset}/d{delta}_s{seed}.npz.json",
    wildcard_constraints:
        run=run_regex("ols"),
    params:
        options=lambda wc: cli_options(wc.run),
    log:
        "results/logs/reconstruct/{run}/{profile}/n{n}/{pset}/d{delta}_s{seed}.log",
    benchmark:
        "results/benchmarks/reconstruct/{run}/{profile}/n{n}/{pset}/d{delta}_s{seed}.tsv"
    conda:
        "../envs/discrete-eit.yaml"
    threads: lambda wc: run_resource(wc.run, "threads")
    resources:
        runtime=lambda wc: run_resource(wc.run, "runtime"),
        mem_mb=lambda wc: run_resource(wc.run, "mem_mb"),
    shell:
        "OMP_NUM_THREADS={threads} discrete-eit reconstruct --method ols --data {input.data}"
        " --out {output.npz} {params.options} > {log} 2>&1"

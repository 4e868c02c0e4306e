# Method `nn_fast`: The NN loss solved by variable-projection Levenberg–Marquardt; one job per dataset.
# Every run whose method is `nn_fast` (config: runs.NAME.method) goes through this rule.


rule reconstruct_nn_fast:
    input:
        data="data/dtn/{profile}/n{n}/{pset}/d{delta}_s{seed}.npz",
    output:
        npz="results/recon/{run}/{profile}/n{n}/{pset}/d{delta}_s{seed}.npz",
        meta="results/recon/{run}/{profile}/n{n}/{pset}/d{delta}_s{seed}.npz.json",
    wildcard_constraints:
        run=run_regex("nn_fast"),
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
        "OMP_NUM_THREADS={threads} discrete-eit reconstruct --method nn_fast --data {input.data}"
        " --out {output.npz} {params.options} > {log} 2>&1"

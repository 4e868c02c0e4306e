# Linearised error prediction (MATH.md §7, paper Thm 6.2): predicted std per edge per unit δ,
# linearised at the true conductivity, for the index set of a partial-data set. Sets whose
# Jacobian is rank deficient (the plain `corners` pattern: rank 2n(n+1) − 1) report the rank
# deficiency instead of a number. Targets: grid.sensitivity_targets.


rule sensitivity:
    input:
        data=paths.data_path("{profile}", "{n}", "{partial_set}", 0, 0),
    output:
        npz=paths.SENSITIVITY_PATTERN,
        meta=paths.sidecar(paths.SENSITIVITY_PATTERN),
    log:
        paths.log_path("sensitivity", "{profile}/n{n}/{partial_set}"),
    benchmark:
        paths.benchmark_path("sensitivity", "{profile}/n{n}/{partial_set}")
    conda:
        "../envs/discrete-eit.yaml"
    threads: 1
    resources:
        runtime=10,
        mem_mb=2000,
    params:
        code=fingerprints.command_code("sensitivity"),
    shell:
        "OMP_NUM_THREADS={threads} discrete-eit sensitivity --data {input.data:q} --delta 1"
        " --out {output.npz:q} > {log:q} 2>&1"

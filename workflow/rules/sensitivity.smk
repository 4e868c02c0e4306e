# Linearised error prediction (MATH.md §7, paper Thm 6.2): predicted std per edge per unit δ,
# linearised at the true conductivity, for the index set of a partial-data set. Sets whose
# Jacobian is rank deficient (the plain `corners` pattern: rank 2n(n+1) − 1) report the rank
# deficiency instead of a number.

SENS_TARGETS = sorted(
    {(config["figures"]["profile"], config["figures"]["working_n"], s)
     for s in config["studies"]["partial"]["sets"]}
    | {(p, n, "full") for p in config["studies"]["sizes"]["profiles"]
       for n in config["studies"]["sizes"]["n"]}
)


rule sensitivity:
    input:
        data="data/dtn/{profile}/n{n}/{pset}/d0_s0.npz",
    output:
        npz="results/sensitivity/{profile}/n{n}/{pset}.npz",
        meta="results/sensitivity/{profile}/n{n}/{pset}.npz.json",
    log:
        "results/logs/sensitivity/{profile}/n{n}/{pset}.log",
    benchmark:
        "results/benchmarks/sensitivity/{profile}/n{n}/{pset}.tsv"
    conda:
        "../envs/discrete-eit.yaml"
    threads: 1
    resources:
        runtime=10,
        mem_mb=2000,
    shell:
        "OMP_NUM_THREADS={threads} discrete-eit sensitivity --data {input.data} --delta 1"
        " --out {output.npz} > {log} 2>&1"

# Datasets: generated once per (profile, n, set, δ, seed) and shared by every run.


rule generate:
    output:
        npz="data/dtn/{profile}/n{n}/{pset}/d{delta}_s{seed}.npz",
        meta="data/dtn/{profile}/n{n}/{pset}/d{delta}_s{seed}.npz.json",
    params:
        profile_seed=config["profile_seed"],
        symmetric="--symmetric-noise" if config["symmetric_noise"] else "",
    log:
        "results/logs/generate/{profile}/n{n}/{pset}/d{delta}_s{seed}.log",
    benchmark:
        "results/benchmarks/generate/{profile}/n{n}/{pset}/d{delta}_s{seed}.tsv"
    conda:
        "../envs/discrete-eit.yaml"
    threads: 1
    resources:
        runtime=5,
        mem_mb=1000,
    shell:
        "discrete-eit generate --n {wildcards.n} --profile {wildcards.profile}"
        " --profile-seed {params.profile_seed} --noise {wildcards.delta} --seed {wildcards.seed}"
        " --partial {wildcards.pset} {params.symmetric} --out {output.npz} > {log} 2>&1"

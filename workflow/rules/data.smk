# Datasets: generated once per (profile, n, set, noise model, δ, seed) and shared by every run.


rule generate:
    output:
        npz=paths.DATA_PATTERN,
        meta=paths.sidecar(paths.DATA_PATTERN),
    log:
        paths.log_path("generate", paths.CELL),
    benchmark:
        paths.benchmark_path("generate", paths.CELL)
    conda:
        "../envs/discrete-eit.yaml"
    threads: 1
    resources:
        runtime=5,
        mem_mb=1000,
    params:
        code=fingerprints.command_code("generate"),
        profile_seed=config["profile_seed"],
        symmetric="--symmetric-noise" if config["symmetric_noise"] else "",
    shell:
        "discrete-eit generate --n {wildcards.n} --profile {wildcards.profile:q}"
        " --profile-seed {params.profile_seed} --delta {wildcards.delta} --seed {wildcards.seed}"
        " --partial-set {wildcards.partial_set:q} --noise-model {wildcards.noise_model:q}"
        " {params.symmetric} --out {output.npz:q} > {log:q} 2>&1"

# Method `nn`: the paper's interpretable network trained by Adam.
#
# Training is batched: one job per (run, profile, n, study) trains all of its datasets together
# in one vectorised Adam loop (`discrete-eit reconstruct --method nn --data a.npz b.npz ...
# --out ra.npz rb.npz`). Trade-off: far fewer, better-vectorised jobs, but deleting (or
# invalidating) one nn result reruns its whole batch and everything downstream of the batch.
# A cell shared by several studies is trained in the batch of the first study listing it
# (order: sizes, noise, partial, prior, extra studies).

NN_BATCHES = {}
for _c in CELLS:
    if _c.method == "nn":
        NN_BATCHES.setdefault((_c.run, _c.profile, _c.n, _c.study), []).append(_c)


for (_run, _profile, _n, _study), _cells in sorted(NN_BATCHES.items()):
    _tag = f"{_run}/{_profile}/n{_n}/{_study}"

    rule:
        name:
            f"reconstruct_nn__{_run}__{_profile}__n{_n}__{_study}"
        input:
            [cell_data(c) for c in _cells],
        output:
            npz=[cell_recon(c) for c in _cells],
            meta=[cell_meta(c) for c in _cells],
        params:
            options=cli_options(_run),
        log:
            f"results/logs/reconstruct_nn/{_tag}.log",
        benchmark:
            f"results/benchmarks/reconstruct_nn/{_tag}.tsv"
        conda:
            "../envs/discrete-eit.yaml"
        threads: config["runs"][_run]["threads"]
        resources:
            runtime=config["runs"][_run]["runtime"],
            mem_mb=config["runs"][_run]["mem_mb"],
            **NN_GPU_RESOURCES,
        shell:
            "OMP_NUM_THREADS={threads} discrete-eit reconstruct --method nn --data {input}"
            " --out {output.npz} {params.options} > {log} 2>&1"

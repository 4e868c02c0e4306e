# Reconstructions. Every run (config: runs.NAME = a method plus options) reconstructs the datasets
# of one batch = (run, profile, n, study) in one process, through one of two rules chosen by
# whether its method is batched (discrete_eit.methods registry); no method is named here.
#
# * reconstruct — a per-dataset method (cm, ols, nn_fast, …): the batch's datasets one after
#   another (one process start per batch instead of one per dataset; the same numbers).
# * reconstruct_batch — a batched method (nn): the batch's datasets train together in one
#   vectorised loop (long jobs; the GPU profile gives this rule a GPU).
#
# Both write the batch directory; file_batch_member then files each reconstruction per cell (a byte
# copy), so every consumer sees one file per cell. Trade-off: far fewer processes and SLURM jobs,
# but deleting a batch directory reruns its whole batch (deleting one cell's file only refiles it).
# Cluster profiles address the rules by name.


rule reconstruct_batch:
    input:
        lambda wc: [c.data for c in BATCHES[wc.run, wc.batch]],
    output:
        directory(paths.BATCH_PATTERN),
    log:
        paths.log_path("reconstruct_batch", "{run}/{batch}"),
    benchmark:
        paths.benchmark_path("reconstruct_batch", "{run}/{batch}")
    wildcard_constraints:
        run=grid.runs_regex(grid.batched_runs(config, METHODS)),
    conda:
        "../envs/discrete-eit.yaml"
    threads: 1
    resources:
        runtime=60,
        mem_mb=2000,
    params:
        code=lambda wc: fingerprints.command_code("reconstruct", METHODS[run_method(wc)]),
        method=run_method,
        options=run_options,
        outs=lambda wc: [c.batch_member for c in BATCHES[wc.run, wc.batch]],
    shell:
        "OMP_NUM_THREADS={threads} discrete-eit reconstruct --method {params.method:q}"
        " --data {input:q} --out {params.outs:q} {params.options} > {log:q} 2>&1"


# the same command for the per-dataset methods' runs: short jobs
use rule reconstruct_batch as reconstruct with:
    log:
        paths.log_path("reconstruct", "{run}/{batch}"),
    benchmark:
        paths.benchmark_path("reconstruct", "{run}/{batch}")
    wildcard_constraints:
        run=grid.runs_regex(grid.single_runs(config, METHODS)),
    resources:
        runtime=10,  # minutes (a batch takes seconds at n = 12); SLURM groups add these up (docs/slurm.md)
        mem_mb=2000,


rule file_batch_member:
    input:
        lambda wc: paths.batch_dir(wc.run, cell_of(wc).batch),
    output:
        npz=paths.RECON_PATTERN,
        meta=paths.sidecar(paths.RECON_PATTERN),
    log:
        paths.log_path("file_batch_member", "{run}", paths.CELL),
    localrule: True
    conda:
        "../envs/discrete-eit.yaml"
    params:
        member=lambda wc: cell_of(wc).batch_member,
    # a plain byte copy, sidecar first, each via a rename (atomic): no Python process per member
    # (a `run:` job would even start a whole Snakemake process). The sidecar records the
    # artifact's hash, not its path; every consumer verifies the hash when it loads the file.
    # On any failure the partial copies are removed and the error is in the log.
    shell:
        "(trap 'rm -f {output.meta:q}.part {output.npz:q}.part' EXIT"
        " && cp {params.member:q}.json {output.meta:q}.part && mv -f {output.meta:q}.part {output.meta:q}"
        " && cp {params.member:q} {output.npz:q}.part && mv -f {output.npz:q}.part {output.npz:q}"
        " && echo filed {params.member:q} as {output.npz:q}) > {log:q} 2>&1"

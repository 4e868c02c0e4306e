# Evaluation and aggregation: per-reconstruction metrics (discrete-eit evaluate), then the
# tables of results/tables/ and results/claims.md. All cheap: local rules.

NN_CELLS = [c for c in CELLS if c.method == "nn"]
_PARTIAL = config["studies"]["partial"]
_SD = config["figures"]["small_delta"]
LAST3N_DATA = sorted(
    {data_path(p, n, "last3n", d, s) for p in _PARTIAL["profiles"] for n in _PARTIAL["n"]
     for d in _PARTIAL["delta"] for s in ([0] if d == 0 else _PARTIAL["seeds"])}
) if "last3n" in _PARTIAL["sets"] else []
# Table 1: every run of the partial study at the small δ, per set, against the prediction.
TABLE1 = [
    {"set": pset, "run": run, "sens": sens_path(config["figures"]["profile"], config["figures"]["working_n"], pset),
     "recons": [recon_path(run, config["figures"]["profile"], config["figures"]["working_n"], pset, _SD, s)
                for s in _PARTIAL["seeds"]],
     "datas": [data_path(config["figures"]["profile"], config["figures"]["working_n"], pset, _SD, s)
               for s in _PARTIAL["seeds"]]}
    for pset in _PARTIAL["sets"] for run in _PARTIAL["runs"]
    if method_applies(config["runs"][run]["method"], pset, config["figures"]["working_n"])
]

MC_TABLES = (["results/tables/sensitivity_mc.csv", "results/tables/sensitivity_mc.md"]
             if config["monte_carlo"]["enabled"] else [])
ALL_TABLES = [
    f"results/tables/{name}.{ext}"
    for name in ("errors", "errors_summary", "speed", "training", "regions", "completion", "sensitivity",
                 "table1")
    for ext in ("csv", "md")
] + MC_TABLES


rule evaluate:
    input:
        data="data/dtn/{profile}/n{n}/{pset}/d{delta}_s{seed}.npz",
        recon="results/recon/{run}/{profile}/n{n}/{pset}/d{delta}_s{seed}.npz",
    output:
        "results/eval/{run}/{profile}/n{n}/{pset}/d{delta}_s{seed}.json",
    log:
        "results/logs/evaluate/{run}/{profile}/n{n}/{pset}/d{delta}_s{seed}.log",
    benchmark:
        "results/benchmarks/evaluate/{run}/{profile}/n{n}/{pset}/d{delta}_s{seed}.tsv"
    conda:
        "../envs/discrete-eit.yaml"
    threads: 1
    localrule: True
    resources:
        runtime=5,
        mem_mb=1000,
    shell:
        "discrete-eit evaluate --data {input.data} --recon {input.recon} --out {output} > /dev/null 2> {log}"


rule error_table:
    input:
        evals=[cell_eval(c) for c in CELLS],
        metas=[cell_meta(c) for c in CELLS],
    output:
        csv=report("results/tables/errors.csv", caption="../report/errors.rst", category="Tables"),
        md="results/tables/errors.md",
        summary_csv=report("results/tables/errors_summary.csv", caption="../report/errors_summary.rst",
                           category="Tables"),
        summary_md="results/tables/errors_summary.md",
        speed_csv=report("results/tables/speed.csv", caption="../report/speed.rst", category="Tables"),
        speed_md="results/tables/speed.md",
    params:
        cells=[cell_dict(c) for c in CELLS],
        not_applicable=[cell_dict(c) for c in NOT_APPLICABLE],
    log:
        "results/logs/tables/errors.log",
    benchmark:
        "results/benchmarks/tables/errors.tsv"
    conda:
        "../envs/discrete-eit.yaml"
    threads: 1
    localrule: True
    resources:
        runtime=5,
        mem_mb=2000,
    script:
        "../scripts/error_table.py"


rule training_table:
    input:
        recons=[cell_recon(c) for c in NN_CELLS],
        metas=[cell_meta(c) for c in NN_CELLS],
    output:
        csv=report("results/tables/training.csv", caption="../report/training.rst", category="Tables"),
        md="results/tables/training.md",
    params:
        cells=[cell_dict(c) for c in NN_CELLS],
    log:
        "results/logs/tables/training.log",
    benchmark:
        "results/benchmarks/tables/training.tsv"
    conda:
        "../envs/discrete-eit.yaml"
    threads: 1
    localrule: True
    resources:
        runtime=5,
        mem_mb=2000,
    script:
        "../scripts/training_table.py"


rule region_table:
    input:
        recons=[cell_recon(c) for c in CELLS],
        datas=[cell_data(c) for c in CELLS],
    output:
        csv=report("results/tables/regions.csv", caption="../report/regions.rst", category="Tables"),
        md="results/tables/regions.md",
    params:
        cells=[cell_dict(c) for c in CELLS],
        fixed_edges=fixed_edges(config),
    log:
        "results/logs/tables/regions.log",
    benchmark:
        "results/benchmarks/tables/regions.tsv"
    conda:
        "../envs/discrete-eit.yaml"
    threads: 1
    localrule: True
    resources:
        runtime=5,
        mem_mb=2000,
    script:
        "../scripts/region_table.py"


rule completion_table:
    input:
        LAST3N_DATA,
    output:
        csv=report("results/tables/completion.csv", caption="../report/completion.rst", category="Tables"),
        md="results/tables/completion.md",
    log:
        "results/logs/tables/completion.log",
    benchmark:
        "results/benchmarks/tables/completion.tsv"
    conda:
        "../envs/discrete-eit.yaml"
    threads: 1
    localrule: True
    resources:
        runtime=5,
        mem_mb=2000,
    script:
        "../scripts/completion_table.py"


rule sensitivity_table:
    input:
        [sens_path(*t) for t in SENS_TARGETS],
    output:
        csv=report("results/tables/sensitivity.csv", caption="../report/sensitivity.rst", category="Tables"),
        md="results/tables/sensitivity.md",
    params:
        targets=[list(t) for t in SENS_TARGETS],
    log:
        "results/logs/tables/sensitivity.log",
    benchmark:
        "results/benchmarks/tables/sensitivity.tsv"
    conda:
        "../envs/discrete-eit.yaml"
    threads: 1
    localrule: True
    resources:
        runtime=5,
        mem_mb=1000,
    script:
        "../scripts/sensitivity_table.py"


rule table1:
    input:
        sorted({p for t in TABLE1 for p in [t["sens"], *t["recons"], *t["datas"]]}),
    output:
        csv=report("results/tables/table1.csv", caption="../report/table1.rst", category="Tables"),
        md="results/tables/table1.md",
    params:
        entries=TABLE1,
        delta=_SD,
    log:
        "results/logs/tables/table1.log",
    benchmark:
        "results/benchmarks/tables/table1.tsv"
    conda:
        "../envs/discrete-eit.yaml"
    threads: 1
    localrule: True
    resources:
        runtime=5,
        mem_mb=1000,
    script:
        "../scripts/table1.py"


rule sensitivity_mc:
    output:
        csv=report("results/tables/sensitivity_mc.csv", caption="../report/sensitivity_mc.rst",
                   category="Tables"),
        md="results/tables/sensitivity_mc.md",
    params:
        mc=config["monte_carlo"],
        profile_seed=config["profile_seed"],
    log:
        "results/logs/tables/sensitivity_mc.log",
    benchmark:
        "results/benchmarks/tables/sensitivity_mc.tsv"
    conda:
        "../envs/discrete-eit.yaml"
    threads: 1
    resources:
        runtime=30,
        mem_mb=2000,
    script:
        "../scripts/sensitivity_mc.py"


rule claims:
    input:
        errors="results/tables/errors.csv",
        summary="results/tables/errors_summary.csv",
        training="results/tables/training.csv",
        regions="results/tables/regions.csv",
        completion="results/tables/completion.csv",
        table1="results/tables/table1.csv",
        sensitivity="results/tables/sensitivity.csv",
        sensitivity_mc=MC_TABLES[:1],
    output:
        report("results/claims.md", caption="../report/claims.rst", category="Claims"),
    params:
        figures=config["figures"],
        fixed_edges=fixed_edges(config),
    log:
        "results/logs/claims.log",
    benchmark:
        "results/benchmarks/claims.tsv"
    conda:
        "../envs/discrete-eit.yaml"
    threads: 1
    localrule: True
    resources:
        runtime=5,
        mem_mb=1000,
    script:
        "../scripts/claims.py"

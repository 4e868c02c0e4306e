# Aggregation: the tables of results/tables/ and results/claims.md. All cheap: local rules.
# Reconstructions are evaluated inside error_table (one process for all of them, not a job each).

ALL_TABLES = grid.table_files(config)
TRAINING_CELLS = grid.training_cells(config, CELLS)
TABLE1 = grid.table1_entries(config, METHODS)
MC_TABLES = paths.table_paths("sensitivity_mc")[:1] if config["monte_carlo"]["enabled"] else []


rule error_table:
    input:
        datas=[c.data for c in CELLS],
        recons=[c.recon for c in CELLS],
        metas=[c.recon_meta for c in CELLS],
    output:
        csv=report(paths.table_paths("errors")[0], caption="../report/errors.rst", category="Tables"),
        md=paths.table_paths("errors")[1],
        summary_csv=report(
            paths.table_paths("errors_summary")[0],
            caption="../report/errors_summary.rst",
            category="Tables",
        ),
        summary_md=paths.table_paths("errors_summary")[1],
        speed_csv=report(paths.table_paths("speed")[0], caption="../report/speed.rst", category="Tables"),
        speed_md=paths.table_paths("speed")[1],
    log:
        paths.log_path("tables", "errors"),
    benchmark:
        paths.benchmark_path("tables", "errors")
    localrule: True
    conda:
        "../envs/discrete-eit.yaml"
    threads: 1
    resources:
        runtime=5,
        mem_mb=2000,
    params:
        code=fingerprints.script_code("error_table"),
        cells=[c.row() for c in CELLS],
        not_applicable=[c.row() for c in NOT_APPLICABLE],
    script:
        "../scripts/error_table.py"


rule training_table:
    input:
        recons=[c.recon for c in TRAINING_CELLS],
    output:
        csv=report(paths.table_paths("training")[0], caption="../report/training.rst", category="Tables"),
        md=paths.table_paths("training")[1],
    log:
        paths.log_path("tables", "training"),
    benchmark:
        paths.benchmark_path("tables", "training")
    localrule: True
    conda:
        "../envs/discrete-eit.yaml"
    threads: 1
    resources:
        runtime=5,
        mem_mb=2000,
    params:
        code=fingerprints.script_code("training_table"),
        cells=[c.row() for c in TRAINING_CELLS],
    script:
        "../scripts/training_table.py"


rule region_table:
    input:
        recons=[c.recon for c in CELLS],
        datas=[c.data for c in CELLS],
    output:
        csv=report(paths.table_paths("regions")[0], caption="../report/regions.rst", category="Tables"),
        md=paths.table_paths("regions")[1],
    log:
        paths.log_path("tables", "regions"),
    benchmark:
        paths.benchmark_path("tables", "regions")
    localrule: True
    conda:
        "../envs/discrete-eit.yaml"
    threads: 1
    resources:
        runtime=5,
        mem_mb=2000,
    params:
        code=fingerprints.script_code("region_table"),
        cells=[c.row() for c in CELLS],
        fixed_edges=FIXED_EDGES,
    script:
        "../scripts/region_table.py"


rule completion_table:
    input:
        grid.completion_datasets(config),
    output:
        csv=report(paths.table_paths("completion")[0], caption="../report/completion.rst", category="Tables"),
        md=paths.table_paths("completion")[1],
    log:
        paths.log_path("tables", "completion"),
    benchmark:
        paths.benchmark_path("tables", "completion")
    localrule: True
    conda:
        "../envs/discrete-eit.yaml"
    threads: 1
    resources:
        runtime=5,
        mem_mb=2000,
    params:
        code=fingerprints.script_code("completion_table", METHODS["cm"]),
        # CM after each completion, as figures.cm_run runs it (completion_pinv set per row)
        cm_options=config["runs"][config["figures"]["cm_run"]].get("options", {}),
    script:
        "../scripts/completion_table.py"


rule sensitivity_table:
    input:
        [paths.sensitivity_path(*t) for t in SENS_TARGETS],
    output:
        csv=report(
            paths.table_paths("sensitivity")[0], caption="../report/sensitivity.rst", category="Tables"
        ),
        md=paths.table_paths("sensitivity")[1],
    log:
        paths.log_path("tables", "sensitivity"),
    benchmark:
        paths.benchmark_path("tables", "sensitivity")
    localrule: True
    conda:
        "../envs/discrete-eit.yaml"
    threads: 1
    resources:
        runtime=5,
        mem_mb=1000,
    params:
        code=fingerprints.script_code("sensitivity_table"),
        targets=[list(t) for t in SENS_TARGETS],
    script:
        "../scripts/sensitivity_table.py"


rule table1:
    input:
        sorted({p for t in TABLE1 for p in [t["sens"], *t["recons"], *t["datas"]]}),
    output:
        csv=report(paths.table_paths("table1")[0], caption="../report/table1.rst", category="Tables"),
        md=paths.table_paths("table1")[1],
    log:
        paths.log_path("tables", "table1"),
    benchmark:
        paths.benchmark_path("tables", "table1")
    localrule: True
    conda:
        "../envs/discrete-eit.yaml"
    threads: 1
    resources:
        runtime=5,
        mem_mb=1000,
    params:
        code=fingerprints.script_code("table1"),
        entries=TABLE1,
        delta=config["figures"]["small_delta"],
    script:
        "../scripts/table1.py"


rule sensitivity_mc:
    output:
        csv=report(
            paths.table_paths("sensitivity_mc")[0],
            caption="../report/sensitivity_mc.rst",
            category="Tables",
        ),
        md=paths.table_paths("sensitivity_mc")[1],
    log:
        paths.log_path("tables", "sensitivity_mc"),
    benchmark:
        paths.benchmark_path("tables", "sensitivity_mc")
    conda:
        "../envs/discrete-eit.yaml"
    threads: 1
    resources:
        runtime=30,
        mem_mb=2000,
    params:
        code=fingerprints.script_code("sensitivity_mc", METHODS[config["monte_carlo"]["method"]]),
        mc=config["monte_carlo"],
        profile_seed=config["profile_seed"],
    script:
        "../scripts/sensitivity_mc.py"


rule robustness_table:
    input:
        paths.table_paths("errors")[0],
    output:
        csv=report(
            paths.table_paths("robustness")[0], caption="../report/robustness_table.rst", category="Tables"
        ),
        md=paths.table_paths("robustness")[1],
    log:
        paths.log_path("tables", "robustness"),
    benchmark:
        paths.benchmark_path("tables", "robustness")
    localrule: True
    conda:
        "../envs/discrete-eit.yaml"
    threads: 1
    resources:
        runtime=5,
        mem_mb=1000,
    params:
        code=fingerprints.script_code("robustness_table"),
        study=config["studies"]["robustness"],
    script:
        "../scripts/robustness_table.py"


rule claims:
    input:
        errors=paths.table_paths("errors")[0],
        summary=paths.table_paths("errors_summary")[0],
        training=paths.table_paths("training")[0],
        regions=paths.table_paths("regions")[0],
        completion=paths.table_paths("completion")[0],
        table1=paths.table_paths("table1")[0],
        sensitivity=paths.table_paths("sensitivity")[0],
        sensitivity_mc=MC_TABLES[:1],
        robustness=paths.table_paths("robustness")[0],
    output:
        report(paths.CLAIMS, caption="../report/claims.rst", category="Claims"),
    log:
        paths.log_path("tables", "claims"),
    benchmark:
        paths.benchmark_path("tables", "claims")
    localrule: True
    conda:
        "../envs/discrete-eit.yaml"
    threads: 1
    resources:
        runtime=5,
        mem_mb=1000,
    params:
        code=fingerprints.script_code("claims"),
        figures=config["figures"],
        fixed_edges=FIXED_EDGES,
    script:
        "../scripts/claims.py"

# Tables, figures and the claims: one rule per output the configuration makes, all from one
# template and one entry point (workflow/scripts/build.py). What each output reads and how it is
# built is declared in discrete_eit.experiment.specs (a new table or figure is one spec there).


for _out in OUTPUTS:
    _job = specs.job_params(_out, EXPERIMENT)

    rule:
        name:
            _out.rule
        input:
            **_out.inputs,
        output:
            **report_outputs(_out),
        log:
            paths.log_path(_out.spec.kind, _out.rule),
        benchmark:
            paths.benchmark_path(_out.spec.kind, _out.rule)
        localrule: _out.spec.local
        conda:
            "../envs/discrete-eit.yaml"
        threads: 1
        resources:
            runtime=_out.spec.runtime,
            mem_mb=2000,
        params:
            code=fingerprints.spec_code(_job),
            job=_job,
        script:
            "../scripts/build.py"

"""The one entry point of every table, figure and document spec (discrete_eit.experiment.specs).

The rule template passes the spec's build and writer functions as ``module:function`` and its
arguments; both are resolved here, so the job imports only what its spec needs.
"""

from importlib import import_module

from _common import setup_job


def resolve(ref: str):
    module, _, name = ref.partition(":")
    return getattr(import_module(module), name)


sm = snakemake  # noqa: F821 (injected by Snakemake)
log = setup_job(sm)
job = sm.params.job
inputs = {name: [files] if isinstance(files, str) else list(files) for name, files in sm.input.items()}
result = resolve(job["build"])(inputs, job["args"])
write = resolve(job["writer"])
write(result, dict(sm.output.items()), job["title"], job["note"], list(sm.input), job["args"])
log.info("wrote %s", ", ".join(sm.output))

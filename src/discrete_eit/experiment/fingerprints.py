"""The code fingerprint of each workflow job (a Snakemake param: a real code change reruns the job).

:mod:`discrete_eit.artifacts.fingerprint` hashes the code; this module names, per kind of job,
what the job runs: a CLI command (its modules, plus the method's module for reconstructions), a
spec's job (the entry point ``workflow/scripts/build.py``, its spec's build and writer modules and
the methods it runs, with their imports), or a module of the package run in the Snakemake process.
A comment- or docstring-only change leaves every fingerprint as it was (docs/provenance.md).
"""

from __future__ import annotations

from typing import Any

from discrete_eit.artifacts.fingerprint import code_fingerprint, command_fingerprint


def command_code(command: str, method: Any = None) -> str:
    """sha256 fingerprint of a ``discrete-eit COMMAND`` job (``method``: a registry ``Method``)."""
    return command_fingerprint(command, None if method is None else method.module)["sha256"]


def spec_code(job: dict[str, Any]) -> str:
    """sha256 fingerprint of a table, figure or document job (``job``: :func:`.specs.job_params`):
    the entry point, its build and writer modules and the methods it runs, with their imports."""
    return code_fingerprint(**job["code"])["sha256"]


def module_code(*modules: str) -> dict[str, Any]:
    """Fingerprint record of a job that runs package ``modules`` in the Snakemake process."""
    return code_fingerprint(modules)

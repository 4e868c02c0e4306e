"""The code fingerprint of each workflow job (a Snakemake param: a real code change reruns the job).

:mod:`discrete_eit.artifacts.fingerprint` hashes the code; this module names, per kind of job,
what the job runs: a CLI command (its modules, plus the method's module for reconstructions), a
workflow script (the script, ``_common.py`` and the package modules they import), or a module of
the package run in the Snakemake process. A comment- or docstring-only change leaves every
fingerprint as it was (docs/provenance.md).
"""

from __future__ import annotations

from typing import Any

from discrete_eit.artifacts.fingerprint import code_fingerprint, command_fingerprint

from .paths import SCRIPT_DIR


def command_code(command: str, method: Any = None) -> str:
    """sha256 fingerprint of a ``discrete-eit COMMAND`` job (``method``: a registry ``Method``)."""
    return command_fingerprint(command, None if method is None else method.module)["sha256"]


def script_code(name: str, *methods: Any) -> dict[str, Any]:
    """Fingerprint record of the job running ``workflow/scripts/NAME.py`` (its sidecars store it).

    ``methods``: registry ``Method`` objects the script runs by name (``reconstruct("cm", …)``),
    which no import statement reveals.
    """
    return code_fingerprint([m.module for m in methods],
                            files=[f"{SCRIPT_DIR}/{name}.py", f"{SCRIPT_DIR}/_common.py"])


def module_code(*modules: str) -> dict[str, Any]:
    """Fingerprint record of a job that runs package ``modules`` in the Snakemake process."""
    return code_fingerprint(modules)

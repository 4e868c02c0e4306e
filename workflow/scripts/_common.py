"""Helpers shared by the workflow scripts (run by Snakemake's ``script:`` directive)."""

from __future__ import annotations

import json
import logging
import sys

from discrete_eit.artifacts.sidecar import record_code


def setup_job(snakemake) -> logging.Logger:
    """Log to the rule's log file (tracebacks too); the sidecars written record the rule's code.

    ``params.code`` is the job's code fingerprint (:func:`discrete_eit.experiment.fingerprints.script_code`).
    """
    path = snakemake.log[0] if len(snakemake.log) else None
    handler = logging.FileHandler(path, mode="w") if path else logging.StreamHandler(sys.stderr)
    logging.basicConfig(level=logging.INFO, handlers=[handler],
                        format="%(asctime)s %(name)s %(levelname)s %(message)s", force=True)
    log = logging.getLogger(f"workflow.{snakemake.rule}")
    sys.excepthook = lambda *exc: log.error("uncaught exception", exc_info=exc)
    record_code(snakemake.params.code)
    return log


def read_json(path: str) -> dict:
    with open(path) as fh:
        return json.load(fh)

"""Helpers of the workflow's entry point (``build.py``, run by Snakemake's ``script:`` directive)."""

from __future__ import annotations

import logging
import sys

from discrete_eit.artifacts.fingerprint import code_fingerprint
from discrete_eit.artifacts.sidecar import record_code


def setup_job(snakemake) -> logging.Logger:
    """Log to the rule's log file (tracebacks too); the sidecars written record the job's code.

    ``params.code`` is the sha256 the workflow planned the job with; the full record (modules
    and files) is recomputed here from ``params.job['code']`` (a warm cache makes it a few stat
    calls), and a job whose code changed since it was planned stops.
    """
    path = snakemake.log[0] if len(snakemake.log) else None
    handler = logging.FileHandler(path, mode="w") if path else logging.StreamHandler(sys.stderr)
    logging.basicConfig(level=logging.INFO, handlers=[handler],
                        format="%(asctime)s %(name)s %(levelname)s %(message)s", force=True)
    log = logging.getLogger(f"workflow.{snakemake.rule}")
    sys.excepthook = lambda *exc: log.error("uncaught exception", exc_info=exc)
    record = code_fingerprint(**snakemake.params.job["code"])
    if record["sha256"] != snakemake.params.code:
        raise RuntimeError(f"{snakemake.rule}: its code changed after the workflow planned it; run again")
    record_code(record)
    return log

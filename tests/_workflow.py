"""Shared helpers for the tests that run the Snakemake workflow (test_workflow, test_dvc)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
QUICK = ["--configfile", "config/quick.yaml"]
TIMEOUT = 1800


def copy_workflow(dest: Path) -> Path:
    """The workflow files (not results, not the package) in ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(ROOT / "Snakefile", dest / "Snakefile")
    shutil.copytree(ROOT / "config", dest / "config")
    shutil.copytree(ROOT / "workflow", dest / "workflow",
                    ignore=shutil.ignore_patterns("__pycache__", "profiles"))
    return dest


def snakemake(workdir: Path, *args: str, check: bool = True, timeout: int = TIMEOUT) -> str:
    """Run Snakemake in ``workdir``; returns stdout + stderr (Snakemake logs to stderr)."""
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    proc = subprocess.run([*SNAKEMAKE, *args], cwd=workdir, capture_output=True, text=True,
                          timeout=timeout, env=env)
    text = proc.stdout + proc.stderr
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed ({proc.returncode}):\n{text[-8000:]}")
    return text if check else (proc.returncode, text)

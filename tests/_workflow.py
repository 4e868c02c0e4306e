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


CONSTANT_METHOD = '''"""Method ``constant``: the best constant conductivity (written by the test)."""

import numpy as np

from discrete_eit.methods import Option, Reconstruction, register_method
from discrete_eit.problem import dtn_matrix


@register_method("constant", options=(Option("scale", float, 1.0, "multiply the fitted constant"),))
def constant(dataset, scale=1.0):
    """γ = c·1 with c the least-squares fit of Λ(c·1) = c Λ(1) to the measured entries."""
    unit = dtn_matrix(dataset.lattice, np.ones(dataset.lattice.n_edges))[dataset.mask]
    c = float(unit @ dataset.dtn[dataset.mask] / (unit @ unit))
    return Reconstruction(gamma=np.full(dataset.lattice.n_edges, scale * c), info={"constant": c})
'''


def install_plugin(where: Path) -> Path:
    """A method in a package of its own: the module and an entry point, nothing in this project."""
    where.mkdir(parents=True, exist_ok=True)
    (where / "constant_method.py").write_text(CONSTANT_METHOD)
    dist = where / "deit_constant-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: deit-constant\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[discrete_eit.methods]\nconstant = constant_method\n")
    return where

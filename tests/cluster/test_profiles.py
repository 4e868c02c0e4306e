"""The Snakemake profiles load and map the site knobs onto job resources (dry runs: no SLURM needed)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
FIXTURE = HERE / "fixture"
SNAKEMAKE = Path(sys.executable).parent / "snakemake"

pytestmark = pytest.mark.skipif(not SNAKEMAKE.exists(), reason="snakemake not installed (workflow extra)")


def dry_run(tmp_path: Path, profile: str, extra_env: dict[str, str], *targets: str) -> str:
    work = tmp_path / "wf"
    shutil.copytree(FIXTURE, work)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEIT_SLURM_")}
    env.update(extra_env)
    proc = subprocess.run(
        [str(SNAKEMAKE), "--profile", str(REPO / "workflow" / "profiles" / profile), "-n", *targets],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    return out


def resources_of(out: str, rule: str) -> str:
    m = re.search(rf"^rule {rule}:\n(?:    .*\n)*?    resources: (.*)$", out, re.MULTILINE)
    assert m, f"no job of rule {rule} in the dry run"
    return m[1]


def test_slurm_profile_defaults(tmp_path):
    out = dry_run(tmp_path, "slurm", {}, "results/gpu.txt", "results/sq_1.txt")
    res = resources_of(out, "square")
    assert "mem_mb=2000" in res and "runtime=30" in res, res
    assert "slurm_partition" not in res and "slurm_account" not in res, res
    assert "gpu" not in resources_of(out, "reconstruct_nn_fast")


def test_slurm_profile_site_knobs(tmp_path):
    env = {
        "DEIT_SLURM_PARTITION": "compute",
        "DEIT_SLURM_ACCOUNT": "proj123",
        "DEIT_SLURM_RUNTIME": "90",
        "DEIT_SLURM_MEM_MB": "3000",
        "DEIT_SLURM_GPU": "1",
        "DEIT_SLURM_GPU_MODEL": "a100",
        "DEIT_SLURM_GPU_PARTITION": "gpu",
    }
    out = dry_run(tmp_path, "slurm", env, "results/gpu.txt", "results/sq_1.txt")
    cpu = resources_of(out, "square")
    for item in ("mem_mb=3000", "runtime=90", "slurm_partition=compute", "slurm_account=proj123"):
        assert item in cpu, cpu
    assert "gpu" not in cpu, cpu
    nn = resources_of(out, "reconstruct_nn_fast")
    for item in ("gpu=1", "gpu_model=a100", "slurm_partition=gpu", "slurm_account=proj123"):
        assert item in nn, nn


def test_local_profile_loads(tmp_path):
    out = dry_run(tmp_path, "local", {})
    assert "Using profile" in out and "square" in out

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
    assert "gpu=0" in resources_of(out, "reconstruct_nn__fixture")


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
    nn = resources_of(out, "reconstruct_nn__fixture")
    for item in ("gpu=1", "gpu_model=a100", "slurm_partition=gpu", "slurm_account=proj123"):
        assert item in nn, nn


def test_local_profile_loads(tmp_path):
    out = dry_run(tmp_path, "local", {})
    assert "Using profile" in out and "square" in out


def test_slurm_dry_run_of_the_real_workflow(tmp_path):
    """`--executor slurm -n` on the quick grid: the NN training jobs (and only they) get the GPU knobs;
    light rules get the profile's set-resources, reconstructions their config resources."""
    work = tmp_path / "real"
    work.mkdir()
    shutil.copy2(REPO / "Snakefile", work / "Snakefile")
    for d in ("config", "workflow"):
        shutil.copytree(REPO / d, work / d, ignore=shutil.ignore_patterns("__pycache__"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEIT_SLURM_")}
    env.update(DEIT_SLURM_GPU="1", DEIT_SLURM_GPU_MODEL="a100", DEIT_SLURM_GPU_PARTITION="gpupart",
               DEIT_SLURM_PARTITION="cpupart")
    proc = subprocess.run([str(SNAKEMAKE), "--profile", "workflow/profiles/slurm", "--configfile",
                           "config/quick.yaml", "-n"], cwd=work, env=env, capture_output=True, text=True,
                          timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    nn_rules = sorted(set(re.findall(r"^rule (reconstruct_nn__\w+):$", out, re.MULTILINE)))
    assert nn_rules, out[-3000:]
    for rule in nn_rules:
        res = resources_of(out, rule)
        for item in ("gpu=1", "gpu_model=a100", "slurm_partition=gpupart", "runtime=60"):
            assert item in res, (rule, res)
    for rule in ("reconstruct_nn_fast", "reconstruct_cm", "generate", "evaluate"):
        res = resources_of(out, rule)
        assert "gpu" not in res and "slurm_partition=cpupart" in res, (rule, res)
    assert "runtime=5" in resources_of(out, "generate") and "mem_mb=1000" in resources_of(out, "generate")
    assert "runtime=30" in resources_of(out, "reconstruct_cm")

"""The Snakemake profiles load and map the site knobs onto job resources (dry runs: no SLURM needed)."""

from __future__ import annotations

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


def dry_run(tmp_path: Path, profiles: list[str | Path], *targets: str) -> str:
    work = tmp_path / "wf"
    shutil.copytree(FIXTURE, work)
    args = [a for p in profiles for a in ("--profile", str(REPO / "workflow" / "profiles" / p))]
    proc = subprocess.run([str(SNAKEMAKE), *args, "-n", *targets], cwd=work, capture_output=True, text=True,
                          timeout=120)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    return out


def resources_of(out: str, rule: str) -> str:
    """The resources line of the first job of ``rule`` in a dry run (a group's member jobs are indented)."""
    m = re.search(rf"^( *)(?:local)?rule {rule}:\n(?:\1    .*\n)*?\1    resources: (.*)$", out, re.MULTILINE)
    assert m, f"no job of rule {rule} in the dry run"
    return m[2]


def test_slurm_profile_keeps_the_rules_resources(tmp_path):
    out = dry_run(tmp_path, ["slurm"], "results/gpu.txt", "results/sq_1.txt")
    res = resources_of(out, "square")
    assert "mem_mb=500" in res and "runtime=5" in res, res
    assert "slurm_partition" not in res and "slurm_account" not in res, res
    assert "gpu" not in resources_of(out, "reconstruct_batch")


def test_site_and_gpu_profiles_layer(tmp_path):
    """Site settings (partition, account) and the GPU request come from profiles layered on the SLURM
    one; the rules' own resources survive, and only the NN training rule gets a GPU."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "config.yaml").write_text("default-resources:\n  slurm_partition: compute\n  slurm_account: p1\n"
                                      "set-resources:\n  reconstruct_batch:\n    gpu: 1\n"
                                      "    gpu_model: a100\n    slurm_partition: gpu\n")
    out = dry_run(tmp_path, ["slurm", site], "results/gpu.txt", "results/sq_1.txt")
    cpu = resources_of(out, "square")
    for item in ("mem_mb=500", "runtime=5", "slurm_partition=compute", "slurm_account=p1"):
        assert item in cpu, cpu
    assert "gpu" not in cpu, cpu
    nn = resources_of(out, "reconstruct_batch")
    for item in ("gpu=1", "gpu_model=a100", "slurm_partition=gpu", "slurm_account=p1"):
        assert item in nn, nn
    out = dry_run(tmp_path / "2", ["slurm", "site-example", "gpu"], "results/gpu.txt", "results/sq_1.txt")
    assert "gpu=1" in resources_of(out, "reconstruct_batch")
    assert "slurm_partition=compute" in resources_of(out, "square")
    assert "gpu" not in resources_of(out, "square")


def test_local_profile_loads(tmp_path):
    out = dry_run(tmp_path, ["local"])
    assert "Using profile" in out and "square" in out


def test_slurm_dry_run_of_the_real_workflow(tmp_path):
    """`--executor slurm -n` on the quick grid through the SLURM, site and GPU profiles: the NN training
    jobs (and only they) get the GPU; every job keeps its rule's resources and the site's partition."""
    work = tmp_path / "real"
    work.mkdir()
    shutil.copy2(REPO / "Snakefile", work / "Snakefile")
    for d in ("config", "workflow"):
        shutil.copytree(REPO / d, work / d, ignore=shutil.ignore_patterns("__pycache__"))
    profiles = [a for p in ("slurm", "site-example", "gpu") for a in ("--profile", f"workflow/profiles/{p}")]
    proc = subprocess.run([str(SNAKEMAKE), *profiles, "--configfile", "config/quick.yaml", "-n"], cwd=work,
                          capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    batch_jobs = re.findall(r"^rule reconstruct_batch:\n(?:    .*\n)*?    resources: (.*)$", out,
                            re.MULTILINE)
    assert len(batch_jobs) == 6, out[-3000:]  # sizes n3, n4, noise, partial, prior, robustness
    for res in batch_jobs:
        for item in ("gpu=1", "slurm_partition=compute", "runtime=60"):
            assert item in res, res
    for rule in ("reconstruct", "generate", "sensitivity"):
        res = resources_of(out, rule)
        assert "gpu" not in res and "slurm_partition=compute" in res, (rule, res)
    assert "runtime=5" in resources_of(out, "generate") and "mem_mb=1000" in resources_of(out, "generate")
    assert "runtime=10" in resources_of(out, "reconstruct")
    # The profile's grouping: every short job is a member of a group job, none is submitted alone
    # (quick grid: 17 datasets (+ 6 sensitivities) -> 2 `per_dataset` group jobs of at most 10
    # components; 16 batches of the per-dataset methods -> 2 `per_batch` group jobs).
    assert len(re.findall(r"Group job per_dataset \(", out)) == 2, out[-3000:]
    assert len(re.findall(r"Group job per_batch \(", out)) == 2, out[-3000:]
    assert not re.search(r"^rule (generate|reconstruct|sensitivity):", out, re.MULTILINE)

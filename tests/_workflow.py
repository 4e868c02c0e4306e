"""Shared helpers for the tests that run the Snakemake workflow (test_workflow, test_dvc)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from discrete_eit.artifacts import manifest as mf
from discrete_eit.artifacts.sidecar import sha256_file

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
QUICK_CONFIG = "config/quick.yaml"
QUICK = ["--configfile", QUICK_CONFIG]
TIMEOUT = 1800
OUT_DIRS = ("data", "results")
NOT_VERSIONED = ("results/logs", "results/benchmarks")  # diagnostics: neither git nor DVC


def copy_workflow(dest: Path) -> Path:
    """The workflow files (not results, not the package) in ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(ROOT / "Snakefile", dest / "Snakefile")
    shutil.copytree(ROOT / "config", dest / "config")
    shutil.copytree(ROOT / "workflow", dest / "workflow",
                    ignore=shutil.ignore_patterns("__pycache__", "profiles"))
    # the workflow profile every run of the repository gets (the greedy scheduler)
    shutil.copytree(ROOT / "workflow/profiles/default", dest / "workflow/profiles/default")
    (dest / "profiles").symlink_to("workflow/profiles")
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


# ---- clones of the repository (test_dvc, test_ssh_remote) -----------------------------------------
def repo_env(clone: Path) -> dict[str, str]:
    """Environment of a command run in ``clone``: this venv first, the clone's package, fixed git identity."""
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    # the clone's package, not the checkout the test environment was installed from
    env["PYTHONPATH"] = os.pathsep.join([str(clone / "src"), *filter(None, [env.get("PYTHONPATH")])])
    env.update(DVC_NO_ANALYTICS="1", PYTHONHASHSEED="0", GIT_AUTHOR_NAME="test",
               GIT_AUTHOR_EMAIL="test@example.org", GIT_COMMITTER_NAME="test",
               GIT_COMMITTER_EMAIL="test@example.org")
    return env


def run_cmd(cmd: list[str], cwd: Path, check: bool = True,
            timeout: float = TIMEOUT) -> subprocess.CompletedProcess:
    """Run ``cmd`` in ``cwd`` (environment :func:`repo_env`); on failure show its output."""
    res = subprocess.run(cmd, cwd=cwd, env=repo_env(cwd), capture_output=True, text=True, timeout=timeout)
    if check and res.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} (in {cwd}) exited {res.returncode}\n--- stdout\n"
                             f"{res.stdout[-6000:]}\n--- stderr\n{res.stderr[-6000:]}")
    return res


def timed(cmd: list[str], cwd: Path, timings: dict, key: str) -> subprocess.CompletedProcess:
    """:func:`run_cmd`, its wall time recorded in ``timings[key]`` (seconds)."""
    start = time.perf_counter()
    res = run_cmd(cmd, cwd)
    timings[key] = round(time.perf_counter() - start, 1)
    return res


def clone_repo(src: Path, dst: Path, remote: Path | None = None) -> Path:
    """A git clone of ``src`` (committed files only) set to the quick config, with a scratch remote."""
    run_cmd(["git", "clone", "-q", str(src), str(dst)], dst.parent)
    params = dst / "params.yaml"
    text = params.read_text()
    if f"configfile: {QUICK_CONFIG}" not in text.splitlines():
        params.write_text(text.replace("configfile: config/config.yaml", f"configfile: {QUICK_CONFIG}"))
        assert f"configfile: {QUICK_CONFIG}" in params.read_text().splitlines()
        run_cmd(["git", "commit", "-q", "-am", "quick config"], dst)
    if remote is not None:
        run_cmd(["dvc", "remote", "add", "--local", "-d", "scratch", str(remote)], dst)
    return dst


def commit_results(clone: Path, message: str) -> None:
    """Commit what a reproduction adds to git: dvc.lock, the metrics file, DVC's .gitignore entries."""
    new = run_cmd(["git", "ls-files", "--others", "--exclude-standard"], clone).stdout.split()
    paths = [p for p in new if p in ("dvc.lock", "results/metrics.json") or p.endswith(".gitignore")]
    run_cmd(["git", "add", "-u"], clone)
    if paths:
        run_cmd(["git", "add", *paths], clone)
    run_cmd(["git", "commit", "-q", "-m", message], clone)


def versioned_outputs(clone: Path) -> dict[str, tuple[int, str]]:
    """{path: (mtime_ns, sha256)} of every versioned output file (not logs / benchmarks)."""
    out = {}
    for rel in mf.list_files(OUT_DIRS, clone, exclude=()):
        if not mf._is_under(rel, NOT_VERSIONED):
            out[rel] = ((clone / rel).stat().st_mtime_ns, sha256_file(clone / rel))
    return out


def dvc_status(clone: Path) -> dict:
    """``dvc status --json`` in ``clone`` ({} when data and pipelines are up to date)."""
    return json.loads(run_cmd(["dvc", "status", "--json"], clone).stdout or "{}")


def _workflow_committed() -> bool:
    res = subprocess.run(["git", "ls-files", "--error-unmatch", "Snakefile", "dvc.yaml", "params.yaml",
                          "workflow/rules/provenance.smk", QUICK_CONFIG], cwd=ROOT, capture_output=True)
    return res.returncode == 0


def workflow_test(fn):
    """Marks of the tests that run the pipeline (CI runs them; `pytest -m "not workflow"` skips)."""
    marks = [
        pytest.mark.workflow,
        pytest.mark.skipif(shutil.which("dvc", path=str(BIN)) is None
                           or shutil.which("snakemake", path=str(BIN)) is None,
                           reason="dvc and snakemake not installed (pip install -e '.[workflow]')"),
        pytest.mark.skipif(not (ROOT / ".git").exists() or not _workflow_committed(),
                           reason="needs a git checkout with the workflow and dvc.yaml committed"),
    ]
    for mark in reversed(marks):
        fn = mark(fn)
    return fn


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

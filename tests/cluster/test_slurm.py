"""Cluster execution: the workflow through ``snakemake --executor slurm`` on a throwaway one-node SLURM.

The session fixture brings SLURM up with ``tests/cluster/slurm_harness.sh up`` (apt-get install on first
use, munge + slurmctld + slurmd under /tmp/deit-slurm-XXXX) and always brings it down again (by PID).

Skips, with the reason shown by ``-ra``:
  * ``DEIT_SKIP_CLUSTER=1``;
  * not root / no apt-get / install failed / another SLURM holds the ports (harness exit code 77).

Knobs: ``DEIT_CLUSTER_TIMEOUT`` (seconds per Snakemake run on the real workflow, default 1800),
``DEIT_CLUSTER_RTOL`` (tolerance for local-vs-SLURM numbers, default 0: bit-identical),
``DEIT_CLUSTER_REPORT`` (path: write a JSON summary of job ids and wall times there).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.cluster

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
HARNESS = HERE / "slurm_harness.sh"
FIXTURE = HERE / "fixture"
SLURM_PROFILE = REPO / "workflow" / "profiles" / "slurm"
LOCAL_PROFILE = REPO / "workflow" / "profiles" / "local"
VENV_BIN = Path(sys.executable).parent
SNAKEMAKE = VENV_BIN / "snakemake"
SKIP_RC = 77

# Settings for the test cluster (a few seconds between status checks instead of the profile's 20).
SLURM_TEST_ARGS = [
    "--executor",
    "slurm",
    "--profile",
    str(SLURM_PROFILE),
    "--slurm-init-seconds-before-status-checks",
    "5",
    "--slurm-no-account",
    "--latency-wait",
    "10",
]

# A single job is submitted under its number, a group job under its uuid.
SUBMITTED_RE = re.compile(r"Job ([\w-]+) has been submitted with SLURM jobid (\d+) \(log: (.+?)\)\.")
JOB_HEADER_RE = re.compile(r"^(localrule|rule) (\w+):\n(?:    .*\n)*?    jobid: (\d+)$", re.MULTILINE)
# Snakemake prints a group job as this line followed by its member jobs, indented by four spaces.
GROUP_HEADER_RE = re.compile(r"Group job (\w+) \(jobs in lexicogr\. order\):$", re.MULTILINE)
GROUP_MEMBER_RE = re.compile(r"^    rule (\w+):\n(?:        .*\n)*?        jobid: (\d+)$", re.MULTILINE)
# Upper bound on the SLURM jobs of the quick grid with the profile's grouping (11 in the dry run of
# 2026-12-01: 2 per_dataset + 2 per_batch group jobs, 6 NN batches, 1 Monte Carlo job; 50 with one
# job per dataset and no grouping).
QUICK_MAX_SLURM_JOBS = 20
# Result columns that legitimately differ between runs.
VOLATILE_COL_RE = re.compile(r"time|wall|second|elapsed|duration|date|host|runtime", re.IGNORECASE)

_REPORT: dict = {}


# ----------------------------------------------------------------------------------------------- helpers
def _env(slurm_dir: Path | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}:{env.get('PATH', '')}:/usr/sbin:/sbin"
    if slurm_dir is not None:
        env["SLURM_CONF"] = str(slurm_dir / "slurm.conf")
    # Keep thread counts identical between the local and the SLURM run (numbers must match).
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env.setdefault(var, "1")
    return env


def run_snakemake(workdir: Path, args: list[str], timeout: int, env: dict[str, str], tag: str):
    """Run Snakemake bounded by ``timeout -k`` (it ignores SIGTERM while waiting on SLURM)."""
    cmd = ["timeout", "-k", "30", str(timeout), str(SNAKEMAKE), *args]
    t0 = time.monotonic()
    proc = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True)
    wall = time.monotonic() - t0
    log = proc.stdout + proc.stderr
    (workdir / f"snakemake-{tag}.log").write_text(log)
    return proc.returncode, log, wall


def parse_jobs(log: str) -> dict[int, tuple[str, bool]]:
    """Snakemake job id -> (rule, is_local) from the job headers Snakemake prints."""
    return {int(m[3]): (m[2], m[1] == "localrule") for m in JOB_HEADER_RE.finditer(log)}


def parse_submissions(log: str) -> dict[int | str, tuple[int, str]]:
    """Snakemake job id (a number; a uuid for a group job) -> (SLURM job id, SLURM log file)."""
    return {int(m[1]) if m[1].isdigit() else m[1]: (int(m[2]), m[3]) for m in SUBMITTED_RE.finditer(log)}


def _squeue(slurm_dir: Path, ids: list[int], fields: str) -> dict[int, list[str]]:
    """SLURM job id -> the ``squeue -O`` fields (``|``-separated, job id first) of these jobs.

    Finished jobs stay visible to ``squeue -t all`` for MinJobAge (3600 s in the harness)."""
    out = subprocess.run(
        ["squeue", "-h", "-t", "all", "-O", f"JobID:|,{fields}", "-j", ",".join(map(str, ids))],
        env=_env(slurm_dir),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    n_fields = fields.count(",") + 1
    rows = (line.strip().split("|", n_fields) for line in out.splitlines())
    return {int(row[0]): [v.strip() for v in row[1:]] for row in rows}


def squeue_states(slurm_dir: Path, ids: list[int]) -> dict[int, tuple[str, str, str]]:
    """SLURM job id -> (state, job name, GRES/TRES requested) from the controller."""
    rows = _squeue(slurm_dir, ids, "State:|,tres-per-job:|,tres-per-node:|,Name:")
    return {jid: (st, name, f"{per_job} {per_node}") for jid, (st, per_job, per_node, name) in rows.items()}


def squeue_requests(slurm_dir: Path, ids: list[int]) -> dict[int, dict[str, str]]:
    """SLURM job id -> what the job asked for: CPUs, memory (e.g. ``4000M``), time limit (``H:MM:SS``)."""
    rows = _squeue(slurm_dir, ids, "NumCPUs:|,MinMemory:|,TimeLimit:")
    return {jid: {"cpus": cpus, "mem": mem, "time": limit} for jid, (cpus, mem, limit) in rows.items()}


def check_all_jobs_on_slurm(log: str, workdir: Path, slurm_dir: Path) -> dict:
    """Every job that is neither local nor in a group, and every group job, has exactly one SLURM job
    that completed under a ``deit_`` name and logged under results/logs/slurm."""
    jobs = parse_jobs(log)
    subs = parse_submissions(log)
    remote = {j for j, (_, local) in jobs.items() if not local}
    local = {j for j, (_, is_local) in jobs.items() if is_local}
    groups = GROUP_HEADER_RE.findall(log)
    members = GROUP_MEMBER_RE.findall(log)
    assert remote or groups, "no job was sent to SLURM"
    single = {j for j in subs if isinstance(j, int)}
    assert single == remote, f"jobs without a SLURM job id: {sorted(remote - single)}"
    n_group_subs = len(subs) - len(single)
    assert n_group_subs == len(groups), f"{len(groups)} group jobs, {n_group_subs} submitted"
    slurm_ids = [sid for sid, _ in subs.values()]
    assert len(set(slurm_ids)) == len(slurm_ids), "a SLURM job id was reused"
    for sid, logfile in subs.values():
        path = Path(logfile)
        assert path.is_file(), f"SLURM log of job {sid} missing: {path}"
        assert path.is_relative_to(workdir / "results" / "logs" / "slurm"), path
    states = squeue_states(slurm_dir, slurm_ids)
    for sid in slurm_ids:
        assert sid in states, f"SLURM does not know job {sid}"
        assert states[sid][0] == "COMPLETED", f"SLURM job {sid}: {states[sid]}"
        assert states[sid][1].startswith("deit_"), states[sid]
    return {
        "jobs_total": len(jobs) + len(members),
        "jobs_slurm": len(subs),
        "jobs_local": len(local),
        "jobs_grouped": len(members),
        "group_jobs": len(groups),
        "slurm_job_ids": {
            f"{jobs[j][0]}#{j}" if isinstance(j, int) else f"group#{j}": subs[j][0]
            for j in sorted(subs, key=str)
        },
        "group_slurm_ids": sorted(sid for j, (sid, _) in subs.items() if not isinstance(j, int)),
    }


def copy_tree_files(src: Path, dst: Path, files: list[str]) -> None:
    for rel in files:
        s = src / rel
        if not s.is_file():
            continue
        d = dst / rel
        d.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(s, d)


def project_files() -> list[str]:
    """Tracked + untracked-but-not-ignored files of the checkout (what a clone plus WIP would hold)."""
    out = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    skip = ("results/", ".snakemake/", "benchmarks/", ".dvc/cache/", ".dvc/tmp/")
    return [f for f in out.split("\0") if f and not f.startswith(skip)]


def _compare_arrays(name: str, xa, xb, rtol: float) -> float:
    """Numeric arrays: allclose(rtol) and the max. abs. difference; anything else: exact equality."""
    import numpy as np

    xa, xb = np.asarray(xa), np.asarray(xb)
    assert xa.shape == xb.shape, f"{name}: shape {xa.shape} vs {xb.shape}"
    if not (np.issubdtype(xa.dtype, np.number) or xa.dtype == bool):
        # Object columns (CSV text with empty cells): NaN != NaN elementwise, so compare a NaN-free form.
        def canon(x):
            return np.array(["<NA>" if isinstance(v, float) and v != v else repr(v) for v in x.ravel()])

        np.testing.assert_array_equal(canon(xb), canon(xa), err_msg=name)
        return 0.0
    fa, fb = xa.astype(float), xb.astype(float)
    np.testing.assert_allclose(fb, fa, rtol=rtol, atol=0.0, equal_nan=True, err_msg=name)
    both = ~(np.isnan(fa) & np.isnan(fb))
    return float(np.max(np.abs(fa - fb)[both], initial=0.0))


def compare_results(a: Path, b: Path, rtol: float) -> dict[str, float]:
    """Compare the numeric outputs of two runs under data/ and results/: CSV tables and .npy/.npz arrays.

    Columns / array keys named like a time (time, wall, seconds, elapsed, ...) are skipped.
    Returns file -> max. abs. difference."""
    import numpy as np
    import pandas as pd

    compared: dict[str, float] = {}
    files = sorted(
        p.relative_to(a)
        for top in ("data", "results")
        for p in (a / top).rglob("*")
        if p.is_file()
        and p.suffix in {".csv", ".npy", ".npz"}
        and not {"logs", "benchmarks"} & set(p.relative_to(a).parts)
    )
    assert files, f"no .csv/.npy/.npz outputs under {a}/data or {a}/results"
    for rel in files:
        pa, pb = a / rel, b / rel
        assert pb.is_file(), f"{rel} produced locally but not on SLURM"
        diffs = [0.0]
        if rel.suffix == ".csv":
            da, db = pd.read_csv(pa), pd.read_csv(pb)
            assert list(da.columns) == list(db.columns), rel
            assert da.shape == db.shape, rel
            for col in da.columns:
                if not VOLATILE_COL_RE.search(str(col)):
                    diffs.append(
                        _compare_arrays(f"{rel}:{col}", da[col].to_numpy(), db[col].to_numpy(), rtol)
                    )
        elif rel.suffix == ".npz":
            with np.load(pa, allow_pickle=False) as la, np.load(pb, allow_pickle=False) as lb:
                assert sorted(la.files) == sorted(lb.files), rel
                for key in la.files:
                    if not VOLATILE_COL_RE.search(key):
                        diffs.append(_compare_arrays(f"{rel}:{key}", la[key], lb[key], rtol))
        else:
            diffs.append(_compare_arrays(str(rel), np.load(pa), np.load(pb), rtol))
        compared[str(rel)] = max(diffs)
    return compared


def _record(key: str, value) -> None:
    _REPORT[key] = value
    path = os.environ.get("DEIT_CLUSTER_REPORT")
    if path:
        Path(path).write_text(json.dumps(_REPORT, indent=2, sort_keys=True) + "\n")
    print(f"\n[cluster] {key}: {json.dumps(value, sort_keys=True)}")


# ----------------------------------------------------------------------------------------------- fixture
@pytest.fixture(scope="session")
def slurm_cluster():
    if os.environ.get("DEIT_SKIP_CLUSTER", "0") not in ("", "0"):
        pytest.skip("DEIT_SKIP_CLUSTER is set")
    if shutil.which("timeout") is None:
        pytest.skip("coreutils `timeout` not available")
    t0 = time.monotonic()
    proc = subprocess.run(
        ["timeout", "-k", "10", "900", "bash", str(HARNESS), "up"],
        # One count-only `gpu` GRES on the node, so that the profile's GPU requests can be tested.
        env={"DEIT_SLURM_FAKE_GPUS": "1", **_env()},
        capture_output=True,
        text=True,
    )
    if proc.returncode == SKIP_RC:
        pytest.skip("cannot provide a local SLURM here: " + proc.stderr.strip().splitlines()[-1])
    if proc.returncode != 0:
        pytest.fail(f"slurm_harness.sh up failed (rc={proc.returncode}):\n{proc.stderr[-4000:]}")
    slurm_dir = Path(proc.stdout.strip().splitlines()[-1])
    _record("slurm_up_seconds", round(time.monotonic() - t0, 1))
    try:
        yield slurm_dir
    finally:
        down = subprocess.run(
            ["timeout", "-k", "10", "120", "bash", str(HARNESS), "down", str(slurm_dir)],
            env=_env(),
            capture_output=True,
            text=True,
        )
        print(down.stderr, file=sys.stderr)


# ----------------------------------------------------------------------------------------------- tests
def test_fixture_workflow_on_slurm(slurm_cluster, tmp_path):
    """Small fixture workflow: every non-local job ran as a SLURM job; results equal a local run's."""
    on_slurm, local = tmp_path / "slurm", tmp_path / "local"
    shutil.copytree(FIXTURE, on_slurm)
    shutil.copytree(FIXTURE, local)

    rc, log, wall = run_snakemake(on_slurm, SLURM_TEST_ARGS, 300, _env(slurm_cluster), "slurm")
    assert rc == 0, f"snakemake --executor slurm failed (rc={rc}):\n{log[-6000:]}"
    info = check_all_jobs_on_slurm(log, on_slurm, slurm_cluster)

    rc_l, log_l, wall_l = run_snakemake(
        local, ["--profile", str(LOCAL_PROFILE), "--cores", "1"], 120, _env(), "local"
    )
    assert rc_l == 0, log_l[-4000:]

    # Each square job wrote the SLURM_JOB_ID it saw; the value part must match the local run.
    subs = {sid for sid, _ in parse_submissions(log).values()}
    for f in sorted((on_slurm / "results").glob("sq_*.txt")):
        val, jid, gpus = f.read_text().split()
        val_l, jid_l, _ = (local / "results" / f.name).read_text().split()
        assert val == val_l
        assert jid_l == "none"
        assert int(jid) in subs, f"{f.name} ran under SLURM job {jid}, not one Snakemake submitted"
        assert gpus == "-", f"{f.name}: a CPU rule got GPUs ({gpus}) without the GPU profile"
    assert (on_slurm / "results/total.txt").read_text() == (local / "results/total.txt").read_text()
    _record("fixture", {**info, "wall_slurm_s": round(wall, 1), "wall_local_s": round(wall_l, 1)})


def test_failing_job_is_reported(slurm_cluster, tmp_path):
    """A rule that exits non-zero inside its SLURM job makes Snakemake exit non-zero (no hang)."""
    work = tmp_path / "boom"
    shutil.copytree(FIXTURE, work)
    rc, log, wall = run_snakemake(work, [*SLURM_TEST_ARGS, "boom"], 300, _env(slurm_cluster), "boom")
    assert rc not in (0, 124, 137), f"expected a failure exit, got rc={rc}:\n{log[-4000:]}"
    subs = parse_submissions(log)
    assert len(subs) == 1, log[-4000:]
    ((sid, _),) = subs.values()
    assert f"SLURM-job '{sid}' failed" in log
    assert "Error in rule boom" in log
    assert not (work / "results/boom.txt").exists()
    states = squeue_states(slurm_cluster, [sid])
    assert states[sid][0] == "FAILED", states
    _record("failing_job", {"rc": rc, "slurm_job_id": sid, "state": states[sid][0], "wall_s": round(wall, 1)})


def test_gpu_requested_for_nn_rules_only(slurm_cluster, tmp_path):
    """With the GPU profile layered on: the NN rule's job gets a GPU (sbatch --gpus), the others do not."""
    work = tmp_path / "gpu"
    shutil.copytree(FIXTURE, work)
    targets = ["results/gpu.txt", "results/sq_1.txt"]
    gpu = ["--profile", str(REPO / "workflow" / "profiles" / "gpu")]
    rc, log, wall = run_snakemake(work, [*SLURM_TEST_ARGS, *gpu, *targets], 300, _env(slurm_cluster), "gpu")
    assert rc == 0, f"GPU run failed (rc={rc}):\n{log[-6000:]}"
    info = check_all_jobs_on_slurm(log, work, slurm_cluster)
    assert info["jobs_slurm"] == 2, info
    seen = dict(line.split("=", 1) for line in (work / "results/gpu.txt").read_text().split())
    assert seen["CUDA_VISIBLE_DEVICES"] != "-", seen
    _, jid, gpus = (work / "results/sq_1.txt").read_text().split()
    assert gpus == "-", f"rule square got GPUs {gpus}"
    requested = squeue_states(slurm_cluster, [int(seen["SLURM_JOB_ID"]), int(jid)])
    gres_nn, gres_cpu = requested[int(seen["SLURM_JOB_ID"])][2], requested[int(jid)][2]
    assert "gpu" in gres_nn, requested
    assert "gpu" not in gres_cpu, requested
    _record(
        "gpu",
        {"nn_job_env": seen, "nn_job_gres": gres_nn, "cpu_job_gres": gres_cpu, "wall_s": round(wall, 1)},
    )


QUICK_MISSING = [p for p in ("Snakefile", "config/quick.yaml") if not (REPO / p).is_file()]


@pytest.mark.skipif(
    bool(QUICK_MISSING),
    reason=f"real workflow not in the checkout yet (missing: {', '.join(QUICK_MISSING)})",
)
def test_quick_config_on_slurm_matches_local(slurm_cluster, tmp_path):
    """Quick config on SLURM: the per-dataset jobs run grouped (few SLURM jobs, each within one 2-CPU
    node), every other rule job is a SLURM job, and the numbers equal a local run."""
    files = project_files()
    on_slurm, local = tmp_path / "slurm", tmp_path / "local"
    copy_tree_files(REPO, on_slurm, files)
    copy_tree_files(REPO, local, files)
    timeout = int(os.environ.get("DEIT_CLUSTER_TIMEOUT", "1800"))
    quick = ["--configfile", "config/quick.yaml"]

    # Each copy imports its own package source (not the editable install of the checkout).
    env_s = {**_env(slurm_cluster), "PYTHONPATH": str(on_slurm / "src")}
    env_l = {**_env(), "PYTHONPATH": str(local / "src")}
    rc, log, wall = run_snakemake(on_slurm, [*SLURM_TEST_ARGS, *quick], timeout, env_s, "slurm")
    assert rc == 0, f"quick config on SLURM failed (rc={rc}):\n{log[-8000:]}"
    info = check_all_jobs_on_slurm(log, on_slurm, slurm_cluster)
    assert info["group_jobs"] >= 1 and info["jobs_grouped"] > info["group_jobs"], info
    assert info["jobs_slurm"] <= QUICK_MAX_SLURM_JOBS, info
    # A group job asks for one layer of its jobs (the profile's `cores: 2`), not for all of them at once.
    requests = squeue_requests(slurm_cluster, info["group_slurm_ids"])
    for sid, req in requests.items():
        assert int(req["cpus"]) <= 2, f"group SLURM job {sid} requested {req}"
        assert req["mem"].endswith("M") and int(req["mem"][:-1]) <= 4000, f"group SLURM job {sid}: {req}"

    rc_l, log_l, wall_l = run_snakemake(
        local, ["--profile", str(LOCAL_PROFILE), "--cores", "2", *quick], timeout, env_l, "local"
    )
    assert rc_l == 0, f"quick config locally failed (rc={rc_l}):\n{log_l[-8000:]}"

    rtol = float(os.environ.get("DEIT_CLUSTER_RTOL", "0"))
    diffs = compare_results(local, on_slurm, rtol)
    _record(
        "quick",
        {
            **info,
            "group_requests": {str(k): v for k, v in requests.items()},
            "wall_slurm_s": round(wall, 1),
            "wall_local_s": round(wall_l, 1),
            "files_compared": len(diffs),
            "max_abs_diff": max(diffs.values(), default=0.0),
        },
    )

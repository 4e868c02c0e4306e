import os

# One BLAS/OpenMP thread per process: the test machines have 2 cores and the workflow tests run
# several processes at once; oversubscribed BLAS threads made small solves 20x slower.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from discrete_eit import Lattice, conductivity_profile, dtn_matrix  # noqa: E402


@pytest.fixture
def random_gamma():
    """Factory: (lattice, γ ~ U[0.3, 1]) for a given n and seed."""
    def make(n: int, seed: int = 0):
        lattice = Lattice(n)
        return lattice, conductivity_profile("random", lattice, seed)
    return make


@pytest.fixture
def exact_dtn():
    """Factory: (γ, Λ_γ) for a given n, exact data of a conductivity profile ("random" by default)."""
    def make(n: int, *, seed: int = 0, profile: str = "random"):
        gamma = conductivity_profile(profile, n, seed)
        return gamma, dtn_matrix(Lattice(n), gamma)
    return make


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture
def cli_run(capsys):
    """The CLI in this process: ``cli_run(argv)`` → (exit code, stdout, stderr); argv items str()-ed."""
    from discrete_eit.cli import main

    def run(argv):
        code = main([str(a) for a in argv])
        captured = capsys.readouterr()
        return code, captured.out, captured.err
    return run


@pytest.fixture
def cli_process():
    """The CLI in a fresh process, as a user runs it: ``cli_process(*argv, cwd=None)`` → (exit code,
    stdout, stderr), real log lines included."""
    def run(*argv, cwd=None):
        res = subprocess.run([sys.executable, "-m", "discrete_eit", *map(str, argv)], cwd=cwd,
                             capture_output=True, text=True)
        return res.returncode, res.stdout, res.stderr
    return run


@pytest.fixture(scope="session")
def methods():
    """The registered methods, built-in and plugins (what the workflow checks its config against)."""
    from discrete_eit.methods import load_methods

    return load_methods()


@pytest.fixture(scope="session")
def load_config():
    """Factory: config/config.yaml with the overlays (paths relative to the repository) merged in
    and the schema's defaults filled, by Snakemake's own utilities, in-process (no Snakemake run)."""
    import yaml
    from _workflow import ROOT
    from snakemake.utils import update_config, validate

    def load(*overlays: str) -> dict:
        cfg = yaml.safe_load((ROOT / "config/config.yaml").read_text())
        for name in overlays:
            update_config(cfg, yaml.safe_load((ROOT / name).read_text()))
        validate(cfg, str(ROOT / "workflow/schemas/config.schema.yaml"))
        return cfg
    return load


@pytest.fixture(scope="session")
def quick_run(tmp_path_factory):
    """One complete run of the quick config, shared by the whole session (read it, do not modify).

    ``DISCRETE_EIT_QUICK_RUN=DIR`` reuses a finished quick run in DIR (development shortcut).
    """
    from _workflow import QUICK, copy_workflow, snakemake

    reuse = os.environ.get("DISCRETE_EIT_QUICK_RUN")
    if reuse:
        return Path(reuse)
    wd = copy_workflow(tmp_path_factory.mktemp("quick"))
    t0 = time.perf_counter()
    snakemake(wd, "--cores", "2", *QUICK)
    (wd / "wall_time_s.txt").write_text(f"{time.perf_counter() - t0:.1f}\n")
    return wd


@pytest.fixture(scope="session")
def timings():
    """Wall times (s) of the DVC steps of the session, printed at its end (docs/provenance.md)."""
    t: dict[str, float] = {}
    yield t
    print("\nDVC timings (s):", json.dumps(t))


@pytest.fixture(scope="session")
def reproduced(tmp_path_factory, timings):
    """A clean clone, quick config, after `dvc repro`, with the results committed to its git.

    Shared by tests/workflow/test_dvc.py and tests/workflow/test_ssh_remote.py (one `dvc repro` per
    session); tests read it, copy it, clone it or push from it, and add remotes only with ``--local``.
    ``DISCRETE_EIT_DVC_REPRO=DIR`` reuses such a clone in DIR (development shortcut).
    """
    from _workflow import ROOT, clone_repo, commit_results, timed

    reuse = os.environ.get("DISCRETE_EIT_DVC_REPRO")
    if reuse:
        return Path(reuse)
    base = tmp_path_factory.mktemp("dvc")
    clone = clone_repo(ROOT, base / "repro", base / "remote")
    timed(["dvc", "repro"], clone, timings, "dvc_repro")
    commit_results(clone, "reproduce the quick grid")
    return clone

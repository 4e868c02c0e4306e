import os

# One BLAS/OpenMP thread per process: the test machines have 2 cores and the workflow tests run
# several processes at once; oversubscribed BLAS threads made small solves 20x slower.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from discrete_eit import Lattice, conductivity_profile  # noqa: E402


@pytest.fixture
def random_gamma():
    """Factory: (lattice, γ ~ U[0.3, 1]) for a given n and seed."""
    def make(n: int, seed: int = 0):
        lattice = Lattice(n)
        return lattice, conductivity_profile("random", lattice, seed)
    return make


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


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

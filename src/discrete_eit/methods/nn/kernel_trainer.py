"""The default CPU training loop of method ``nn``: :class:`KernelTrainer` on the fused kernel.

Same inputs, stop rules, history and results as the torch :class:`.trainer.FastTrainer` (the
reference it is tested against), computed by :func:`.kernel.train` (numba, one thread, float64).
Python only slices the run into chunks that start at every multiple of ``log_every`` (where the
history is recorded) and last at most ≈ 0.25 s (so that progress lines keep coming); the numbers
do not depend on the chunking.
"""

from __future__ import annotations

import math
import time

import numpy as np

from discrete_eit.problem.datasets import Dataset
from discrete_eit.problem.lattice import Lattice

from .layout import _box, _common_n, dirichlet_grid, grid_data
from .schedule import ADAM_STOP_RULES, Schedule
from .training import BatchHistory, TrainResult, gamma_errors, print_finished, print_progress

#: Target wall time of one kernel call (s): short enough for progress lines, long enough that the
#: call overhead (a few µs) does not count.
_CHUNK_S = 0.25


class KernelTrainer:
    """Batched Adam on B independent problems of one lattice size, in the fused numba kernel.

    Parameters are those of :class:`.trainer.FastTrainer` without ``device`` and ``compile``
    (datasets, γ₀, :class:`.schedule.Schedule`, λ, box and fixed edges).

    Attributes
    ----------
    gamma : (B, E) current conductivities; ``kernel`` (B, n², 4n) the current K.
    t, updates, lr, best, bad, drops, active : (B,) the state of :func:`.kernel.train`.
    compile_s : seconds the first call of the kernel took (numba compiles or loads its cache).
    """

    def __init__(self, datasets: list[Dataset], gamma0, schedule: Schedule | None = None,
                 lam: float = 10.0, lower=0.1, upper=math.inf, fixed=None, fixed_values=None):
        from . import kernel

        self._k = kernel
        self.n = n = _common_n(datasets)
        lattice = Lattice(n)
        self.schedule = sched = schedule or Schedule()
        self.B = B = len(datasets)
        E, S = lattice.n_edges, lattice.n_boundary
        grids = [grid_data(d, lam) for d in datasets]
        self.psi = np.ascontiguousarray(np.stack([g.psi for g in grids]))
        self.weight = np.ascontiguousarray(np.stack([g.weight for g in grids]))
        self.lower, self.upper = _box(B, E, lower, upper, fixed, fixed_values)
        # torch.clamp == min(max(x, lo), hi); np.clip agrees (lo <= hi is checked by _box)
        self.gamma = np.empty((B, E))  # every kernel array is C-ordered (one compiled signature)
        self.gamma[:] = gamma0
        np.clip(self.gamma, self.lower, self.upper, out=self.gamma)
        self.V = np.repeat(dirichlet_grid(lattice)[None], B, axis=0)  # K₀ = 0; C order
        self.bnd = kernel.boundary_table(lattice.boundary_points, n)
        self.m_gamma, self.v_gamma = np.zeros((B, E)), np.zeros((B, E))
        self.m_kernel, self.v_kernel = np.zeros((B, n, n, S)), np.zeros((B, n, n, S))
        self.t = np.zeros(B)
        self.updates = np.zeros(B, dtype=np.int64)
        self.lr = np.full(B, sched.lr)
        self.best = np.full(B, math.inf)
        self.bad = np.zeros(B, dtype=np.int64)
        self.drops = np.zeros(B, dtype=np.int64)
        self.active = np.ones(B, dtype=bool)
        self.betas = np.array(sched.beta_table, dtype=float)
        self._work = kernel.scratch(n)
        self._first = np.zeros(B)
        self.truth = [None if d.gamma_true is None else np.asarray(d.gamma_true) for d in datasets]
        t0 = time.perf_counter()
        self._train(0)  # compiles, or loads numba's cache
        self.loss()
        self.compile_s = time.perf_counter() - t0

    @property
    def kernel(self) -> np.ndarray:
        """(B, n², 4n) the current Green kernel K (a copy)."""
        return self.V[:, 1:-1, 1:-1].reshape(self.B, self.n * self.n, 4 * self.n)

    def loss(self) -> np.ndarray:
        """(B,) ℓ at the current parameters."""
        return self._k.losses(self.n, self.gamma, self.V, self.psi, self.weight, self.bnd)

    def _train(self, count: int) -> None:
        s = self.schedule
        self._k.train(self.n, count, self.gamma, self.V, self.psi, self.weight, self.bnd,
                      self.lower, self.upper, self.m_gamma, self.v_gamma, self.m_kernel,
                      self.v_kernel, self.t, self.updates, self.lr, self.best, self.bad, self.drops,
                      self.active, self.betas, s.eps, s.threshold, s.patience, s.factor, s.min_lr,
                      ADAM_STOP_RULES.index(s.stop), s.moments == "reset", *self._work,
                      self._first)

    def run(self, iterations: int, log_every: int = 1000, progress: float = 10.0,
            label: str = "nn") -> list[TrainResult]:
        """Train every problem until its stop rule fires or ``iterations`` updates are done.

        Parameters and return value as :meth:`.trainer.FastTrainer.run`.
        """
        if iterations < 0 or log_every < 1:
            raise ValueError("need iterations >= 0 and log_every >= 1")
        hist = BatchHistory(self.B)
        t0 = last_print = time.perf_counter()
        done, cap = 0, 1  # cap: iterations per call, adapted to _CHUNK_S
        while done < iterations and self.active.any():
            at_log = done % log_every == 0
            count = min(cap, log_every - done % log_every, iterations - done)
            if at_log:
                before = (self.active.copy(), self.lr.copy(), gamma_errors(self.truth, self.gamma))
            tc = time.perf_counter()
            self._train(count)
            dt = time.perf_counter() - tc
            if at_log:
                hist.record(done, before[0], self._first, before[1], before[2])
            done += count
            cap = max(1, min(2 * cap, int(count * _CHUNK_S / dt) if dt > 0 else 2 * cap))
            now = time.perf_counter()
            if progress > 0 and now - last_print > progress and done < iterations:
                last_print = now
                print_progress(label, done, iterations, float(np.nanmax(self._first)),
                               int(self.active.sum()), self.B, now - t0)
        wall = time.perf_counter() - t0
        info = {"backend": "numba", "device": "cpu", "compiled": True,
                "compile_time_s": self.compile_s, "wall_time_s": wall, "batch_size": self.B,
                "batch_iterations": done, "us_per_problem_iteration": 1e6 * wall / max(done, 1) / self.B}
        results = hist.results(gamma=self.gamma, kernel=self.kernel, updates=self.updates,
                               lr=self.lr, drops=self.drops, active=self.active,
                               final_loss=self.loss(), errors=gamma_errors(self.truth, self.gamma),
                               stop=self.schedule.stop, info=info)
        if progress > 0:
            print_finished(label, done, wall, self.B, self.n, "numba")
        return results

"""The batched training loop of method ``nn``: :class:`FastTrainer` (MATH.md §4).

A batch of B independent problems of one lattice size trains in batched tensor ops — the step of
:mod:`.schedule` on the loss of :mod:`.loss`, optionally ``torch.compile``-d into one fused kernel
with a fallback to eager — and each problem gets its own :class:`TrainResult`.

* K₀ = 0; γ₀ ~ U(0.5, 1.5) from ``numpy.random.default_rng(seed)`` (:func:`initial_gamma`) — the
  same γ₀ for every problem of a batch, so that a problem's result does not depend on its batch
  (tested bitwise).
"""

from __future__ import annotations

import math
import time
import warnings

import numpy as np
import torch

from discrete_eit.problem.datasets import Dataset
from discrete_eit.problem.lattice import Lattice

from .layout import _box, _common_n, dirichlet_grid, grid_data, grid_to_kernel
from .loss import DTYPE, loss_and_grad
from .schedule import Schedule, TrainState, _make_step
from .training import BatchHistory, TrainResult, gamma_errors, initial_gamma, print_finished, print_progress

__all__ = ["FastTrainer", "TrainResult", "initial_gamma", "resolve_device"]


def resolve_device(device: str) -> torch.device:
    """``auto`` → cuda when available, else cpu."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' requested but no CUDA device is available (use --device auto)")
    if device not in ("cpu", "cuda"):
        raise ValueError(f"device must be auto, cpu or cuda, got {device!r}")
    return torch.device(device)


class FastTrainer:
    """Batched hand-gradient Adam on B independent problems of one lattice size.

    Parameters
    ----------
    datasets : list of B datasets (one n).
    gamma0 : (B, E) or (E,) initial γ (projected onto the box before training).
    schedule : :class:`.schedule.Schedule`.
    lam : λ, the weight of the boundary rows of the loss.
    lower, upper : box constraints, scalar or (E,) / (B, E); ``lower`` defaults to the clip 0.1.
    fixed, fixed_values : optional (B, E) / (E,) fixed-edge mask and values.
    device : ``auto``, ``cpu`` or ``cuda``.
    compile : ``auto`` (use ``torch.compile`` and fall back to eager on failure), ``on`` (fail if
        compilation fails) or ``off``.

    Attributes
    ----------
    state : :class:`.schedule.TrainState` of the batch; :meth:`run` continues from it.
    compiled : whether the step runs ``torch.compile``-d.
    """

    def __init__(self, datasets: list[Dataset], gamma0, schedule: Schedule | None = None,
                 lam: float = 10.0, lower=0.1, upper=math.inf, fixed=None,
                 fixed_values=None, device: str = "cpu", compile: str = "off"):
        self.n = n = _common_n(datasets)
        self.lattice = lattice = Lattice(n)
        self.schedule = schedule or Schedule()
        self.datasets = list(datasets)
        B, E = len(datasets), lattice.n_edges
        self.B = B
        self.device = resolve_device(device)
        kw = {"dtype": DTYPE, "device": self.device}
        grids = [grid_data(d, lam) for d in datasets]
        self.dirichlet = torch.as_tensor(dirichlet_grid(lattice, ghost=1)[None], **kw)
        self.psi = torch.as_tensor(np.stack([g.psi for g in grids]), **kw)
        self.weight = torch.as_tensor(np.stack([g.weight for g in grids]), **kw)
        lo, hi = _box(B, E, lower, upper, fixed, fixed_values)
        self.lower = torch.as_tensor(lo, **kw)
        self.upper = torch.as_tensor(hi, **kw)
        self.betas = torch.as_tensor(np.array(self.schedule.beta_table).T, **kw)
        gamma = torch.as_tensor(np.broadcast_to(gamma0, (B, E)).copy(), **kw)
        gamma = torch.clamp(gamma, self.lower, self.upper)
        Kg = torch.zeros(B, n, n, 4 * n, **kw)  # K₀ = 0
        self.state = TrainState.start(gamma, Kg, self.schedule.lr)
        self.truth = [None if d.gamma_true is None else np.asarray(d.gamma_true) for d in datasets]
        self._eager_step = _make_step(n, self.schedule)
        self.compile_mode = compile
        self.compiled = False
        self.compile_s = 0.0
        self._step = self._eager_step
        if compile not in ("auto", "on", "off"):
            raise ValueError(f"compile must be auto, on or off, got {compile!r}")
        if compile != "off":
            self._try_compile(strict=compile == "on")

    # -- compilation ---------------------------------------------------------------------------
    def _consts(self):
        return (self.dirichlet, self.psi, self.weight, self.lower, self.upper, self.betas)

    def _try_compile(self, strict: bool) -> None:
        """Compile the step and check it on a copy of the state; fall back to eager on failure."""
        t0 = time.perf_counter()
        try:
            import torch._dynamo

            # one compiled graph per (n, B, schedule): allow many in a long-lived process
            cfg = torch._dynamo.config
            for name in ("recompile_limit", "cache_size_limit"):
                if isinstance(getattr(cfg, name, None), int):
                    setattr(cfg, name, max(getattr(cfg, name), 64))
                    break
            compiled = torch.compile(self._eager_step, dynamic=False, fullgraph=True)
            probe, _ = compiled(self.state, *self._consts())
            ref, _ = self._eager_step(self.state, *self._consts())
            if not all(torch.allclose(a.double(), b.double(), rtol=1e-9, atol=1e-12)
                       for a, b in zip(probe, ref, strict=True)):
                raise RuntimeError("compiled step disagrees with the eager step")
        except Exception as exc:  # compilation needs a working C++/Triton toolchain
            if strict:
                raise
            warnings.warn(f"torch.compile unavailable ({type(exc).__name__}: {exc}); "
                          "using the eager fast path", RuntimeWarning, stacklevel=3)
            return
        self._step = compiled
        self.compiled = True
        self.compile_s = time.perf_counter() - t0

    # -- evaluation ----------------------------------------------------------------------------
    def loss(self) -> np.ndarray:
        """(B,) ℓ at the current parameters."""
        gamma, Kg = self.state.gamma, self.state.kernel
        with torch.no_grad():
            loss, _, _ = loss_and_grad(gamma, Kg, self.dirichlet, self.psi, self.weight, self.n)
        return loss.cpu().numpy()

    # -- the loop ------------------------------------------------------------------------------
    def run(self, iterations: int, log_every: int = 1000, progress: float = 10.0,
            label: str = "nn") -> list[TrainResult]:
        """Train every problem until its stop rule fires or ``iterations`` updates are done.

        Parameters
        ----------
        iterations : iteration budget (a cap for every stop rule).
        log_every : history interval (iterations); also how often the host checks whether every
            problem has stopped.
        progress : seconds between progress lines on stderr; 0 disables them.
        label : prefix of the progress lines.

        Returns
        -------
        One :class:`TrainResult` per problem, in batch order.
        """
        if iterations < 0 or log_every < 1:
            raise ValueError("need iterations >= 0 and log_every >= 1")
        hist = BatchHistory(self.B)
        consts = self._consts()
        state = self.state
        t0 = last_print = time.perf_counter()
        done = 0
        with torch.no_grad():
            for it in range(iterations):
                new_state, loss = self._step(state, *consts)
                if it % log_every == 0:
                    # state still holds the parameters at which `loss` was evaluated
                    hist.record(it, state.active.cpu().numpy(), loss.cpu().numpy(),
                                state.lr.cpu().numpy(),
                                gamma_errors(self.truth, state.gamma.cpu().numpy()))
                    if not bool(new_state.active.any()):
                        state = new_state
                        done = it + 1
                        break
                state = new_state
                done = it + 1
                if progress > 0 and it % 100 == 99 and time.perf_counter() - last_print > progress:
                    last_print = time.perf_counter()
                    print_progress(label, done, iterations, float(loss.max()),
                                   int(state.active.sum()), self.B, last_print - t0)
        self.state = state
        wall = time.perf_counter() - t0
        gamma = state.gamma.cpu().numpy()
        info = {"backend": "torch", "device": str(self.device), "compiled": self.compiled,
                "compile_time_s": self.compile_s, "wall_time_s": wall, "batch_size": self.B,
                "batch_iterations": done, "us_per_problem_iteration": 1e6 * wall / max(done, 1) / self.B}
        updates, lr, drops, active = (x.cpu().numpy()
                                      for x in (state.updates, state.lr, state.drops, state.active))
        results = hist.results(gamma=gamma, kernel=grid_to_kernel(state.kernel, self.n).cpu().numpy(),
                               updates=updates, lr=lr, drops=drops, active=active, final_loss=self.loss(),
                               errors=gamma_errors(self.truth, gamma), stop=self.schedule.stop,
                               info=info)
        if progress > 0:
            print_finished(label, done, wall, self.B, self.n, "compiled" if self.compiled else "eager")
        return results

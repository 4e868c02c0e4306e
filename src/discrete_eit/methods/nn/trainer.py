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
import sys
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import torch

from discrete_eit.problem.datasets import Dataset
from discrete_eit.problem.lattice import Lattice
from discrete_eit.problem.metrics import relative_l2_error

from .layout import _box, _common_n, dirichlet_grid, grid_data, grid_to_kernel
from .loss import DTYPE, loss_and_grad
from .schedule import BETA_SCHEDULE, Schedule, TrainState, _make_step


@dataclass
class TrainResult:
    """Outcome of :meth:`FastTrainer.run` for one problem.

    Attributes
    ----------
    gamma : (E,) final conductivities.
    kernel : (n², 4n) final first-layer weights K.
    history : dict of 1-D arrays ``iteration``, ``loss``, ``step``, ``error`` (relative ℓ² γ-error,
        NaN when the truth is unknown), one entry every ``log_every`` iterations and at the end;
        ``loss`` is ℓ at the parameters after ``iteration`` updates.
    iterations : updates performed.
    stop_reason : ``budget`` or the stop rule that fired.
    final_loss : ℓ at the returned parameters.
    drops : number of step reductions.
    info : run facts for the sidecar: device, compiled, compile_time_s, wall_time_s, batch_size,
        batch_iterations, us_per_problem_iteration.
    """

    gamma: np.ndarray
    kernel: np.ndarray
    history: dict[str, np.ndarray]
    iterations: int
    stop_reason: str
    final_loss: float
    drops: int
    info: dict = field(default_factory=dict)


def resolve_device(device: str) -> torch.device:
    """``auto`` → cuda when available, else cpu."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' requested but no CUDA device is available (use --device auto)")
    if device not in ("cpu", "cuda"):
        raise ValueError(f"device must be auto, cpu or cuda, got {device!r}")
    return torch.device(device)


def initial_gamma(E: int, seed: int, low: float = 0.5, high: float = 1.5) -> np.ndarray:
    """γ₀ ~ U(low, high) per edge from ``numpy.random.default_rng(seed)``.

    Drawn with numpy on the host so that γ₀ depends only on the seed — not on the device, nor on
    the other problems of a batch (every problem of a batch with the same seed starts alike).
    """
    return np.random.default_rng(seed).uniform(low, high, E)


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
        self.betas = torch.as_tensor(np.array(BETA_SCHEDULE).T, **kw)
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

    def _errors(self, gamma: np.ndarray) -> np.ndarray:
        """(B,) relative ℓ² errors of the (B, E) conductivities; NaN where the truth is unknown."""
        return np.array([np.nan if g is None else relative_l2_error(gamma[b], g)
                         for b, g in enumerate(self.truth)])

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
        B = self.B
        hist = [{"iteration": [], "loss": [], "step": [], "error": []} for _ in range(B)]
        consts = self._consts()
        state = self.state
        t0 = last_print = time.perf_counter()
        done = 0
        with torch.no_grad():
            for it in range(iterations):
                new_state, loss = self._step(state, *consts)
                if it % log_every == 0:
                    # state still holds the parameters at which `loss` was evaluated
                    self._record(hist, it, loss, state)
                    if not bool(new_state.active.any()):
                        state = new_state
                        done = it + 1
                        break
                state = new_state
                done = it + 1
                if progress > 0 and it % 100 == 99 and time.perf_counter() - last_print > progress:
                    last_print = time.perf_counter()
                    self._progress(label, done, iterations, loss, state, last_print - t0)
        self.state = state
        wall = time.perf_counter() - t0
        final_loss = self.loss()
        t, lr, drops, active = (x.cpu().numpy() for x in (state.t, state.lr, state.drops, state.active))
        gamma = state.gamma.cpu().numpy()
        errors = self._errors(gamma)
        K = grid_to_kernel(state.kernel, self.n).cpu().numpy()
        results = []
        for b in range(B):
            h = hist[b]
            if not h["iteration"] or h["iteration"][-1] != int(t[b]):
                for key, val in (("iteration", int(t[b])), ("loss", final_loss[b]), ("step", lr[b]),
                                 ("error", errors[b])):
                    h[key].append(val)
            reason = "budget" if active[b] else self.schedule.stop
            results.append(TrainResult(
                gamma=gamma[b].copy(), kernel=K[b].copy(),
                history={"iteration": np.asarray(h["iteration"], dtype=np.int64),
                         **{k: np.asarray(h[k], dtype=float) for k in ("loss", "step", "error")}},
                iterations=int(t[b]), stop_reason=reason, final_loss=float(final_loss[b]),
                drops=int(drops[b]),
                info={"device": str(self.device), "compiled": self.compiled,
                      "compile_time_s": self.compile_s, "wall_time_s": wall,
                      "batch_size": B, "batch_iterations": done,
                      "us_per_problem_iteration": 1e6 * wall / max(done, 1) / B}))
        if progress > 0:
            self._progress(label, done, iterations, None, state, wall, final=True)
        return results

    def _record(self, hist, it, loss, state: TrainState) -> None:
        """Append iteration ``it`` (``loss`` (B,) at ``state``) to the history of every active problem."""
        active = state.active.cpu().numpy()
        loss = loss.cpu().numpy()
        lr = state.lr.cpu().numpy()
        errors = self._errors(state.gamma.cpu().numpy())
        for b in np.flatnonzero(active):
            h = hist[b]
            h["iteration"].append(it)
            h["loss"].append(loss[b])
            h["step"].append(lr[b])
            h["error"].append(errors[b])

    def _progress(self, label, done, total, loss, state: TrainState, elapsed, final=False) -> None:
        """One progress line on stderr: rate, ETA, max loss and active problems (or the summary)."""
        rate = done / elapsed if elapsed > 0 else float("nan")
        n_active = int(state.active.sum())
        if final:
            print(f"{label}: finished {done} iterations in {elapsed:.1f} s ({rate:.0f} it/s, "
                  f"batch {self.B}, n = {self.n}, {'compiled' if self.compiled else 'eager'})",
                  file=sys.stderr, flush=True)
            return
        eta = (total - done) / rate if rate > 0 else float("nan")
        print(f"{label}: it {done}/{total} loss(max) {float(loss.max()):.3e} {rate:.0f} it/s "
              f"ETA {eta:.0f} s, active {n_active}/{self.B}", file=sys.stderr, flush=True)

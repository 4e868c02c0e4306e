"""What both training backends of method ``nn`` share (numpy only: no torch, no numba).

* :class:`TrainResult` — one problem's outcome;
* :func:`initial_gamma` — γ₀ from the seed;
* :func:`resolve_backend` — ``backend``/``device`` options → (backend, device);
* :class:`BatchHistory` — the per-problem history and the assembly of the results;
* :func:`print_progress`, :func:`print_finished` — the progress lines on stderr.

The backends are :class:`.kernel_trainer.KernelTrainer` (the fused numba kernel, the default on
CPU) and :class:`.trainer.FastTrainer` (torch, for CUDA and as the reference).
"""

from __future__ import annotations

import glob
import os
import sys
from dataclasses import dataclass, field

import numpy as np

from discrete_eit.problem.metrics import relative_l2_error

#: Training backends of method ``nn`` (option ``backend``).
BACKENDS = ("auto", "numba", "torch")


@dataclass
class TrainResult:
    """Outcome of a training run for one problem.

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
    info : run facts for the sidecar: backend, device, compiled, compile_time_s, wall_time_s,
        batch_size, batch_iterations, us_per_problem_iteration.
    """

    gamma: np.ndarray
    kernel: np.ndarray
    history: dict[str, np.ndarray]
    iterations: int
    stop_reason: str
    final_loss: float
    drops: int
    info: dict = field(default_factory=dict)


def initial_gamma(E: int, seed: int, low: float = 0.5, high: float = 1.5) -> np.ndarray:
    """γ₀ ~ U(low, high) per edge from ``numpy.random.default_rng(seed)``.

    Drawn with numpy on the host so that γ₀ depends only on the seed — not on the device or the
    backend, nor on the other problems of a batch (every problem of a batch starts alike).
    """
    return np.random.default_rng(seed).uniform(low, high, E)


def _cuda_available() -> bool:
    """Whether torch sees a CUDA device — without importing torch where no NVIDIA driver is loaded.

    ``torch.cuda.is_available()`` needs the NVIDIA kernel driver; on Linux its absence (no
    ``/proc/driver/nvidia`` and no ``/dev/nvidia*``) settles the question without the ≈ 2 s
    import of torch. Elsewhere, or with a driver present, torch is asked.
    """
    if sys.platform.startswith("linux") and not (
            os.path.exists("/proc/driver/nvidia/version") or glob.glob("/dev/nvidia[0-9]*")):
        return False
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def resolve_backend(backend: str, device: str) -> tuple[str, str]:
    """The (backend, device) a run uses.

    ``device`` ``auto`` is cuda where a CUDA device is present, else cpu; ``backend`` ``auto`` is
    ``torch`` on cuda and ``numba`` (the fused CPU kernel) on cpu. The numba kernel runs on the
    CPU only.

    Raises
    ------
    ValueError : unknown names, cuda requested but absent, or backend numba on device cuda.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if device not in ("auto", "cpu", "cuda"):
        raise ValueError(f"device must be auto, cpu or cuda, got {device!r}")
    if backend == "numba" and device == "cuda":
        raise ValueError("backend numba runs on the CPU: use device cpu or auto (or backend torch)")
    if device == "auto":
        device = "cpu" if backend == "numba" or not _cuda_available() else "cuda"
    elif device == "cuda" and not _cuda_available():
        raise ValueError("device 'cuda' requested but no CUDA device is available (use device auto)")
    if backend == "auto":
        backend = "torch" if device == "cuda" else "numba"
    return backend, device


def gamma_errors(truth: list[np.ndarray | None], gamma: np.ndarray) -> np.ndarray:
    """(B,) relative ℓ² errors of the (B, E) conductivities; NaN where the truth is unknown."""
    return np.array([np.nan if g is None else relative_l2_error(gamma[b], g)
                     for b, g in enumerate(truth)])


class BatchHistory:
    """The history of every problem of a batch, and the :class:`TrainResult` assembly."""

    def __init__(self, B: int):
        self.rows = [{"iteration": [], "loss": [], "step": [], "error": []} for _ in range(B)]

    def record(self, it: int, active: np.ndarray, loss: np.ndarray, lr: np.ndarray,
               errors: np.ndarray) -> None:
        """Append iteration ``it`` (``loss``, ``lr``, ``errors`` (B,) at that iteration's incoming
        parameters) to the history of every problem with ``active`` (B,) True."""
        for b in np.flatnonzero(active):
            h = self.rows[b]
            h["iteration"].append(it)
            h["loss"].append(loss[b])
            h["step"].append(lr[b])
            h["error"].append(errors[b])

    def results(self, *, gamma, kernel, updates, lr, drops, active, final_loss, errors, stop: str,
                info: dict) -> list[TrainResult]:
        """One :class:`TrainResult` per problem; each history ends with the final state.

        Parameters
        ----------
        gamma : (B, E); kernel : (B, n², 4n); updates, lr, drops, active, final_loss, errors : (B,)
            final state; stop : the stop rule (the reason of a problem no longer active);
        info : run facts shared by the batch.
        """
        out = []
        for b, h in enumerate(self.rows):
            if not h["iteration"] or h["iteration"][-1] != int(updates[b]):
                for key, val in (("iteration", int(updates[b])), ("loss", final_loss[b]),
                                 ("step", lr[b]), ("error", errors[b])):
                    h[key].append(val)
            out.append(TrainResult(
                gamma=gamma[b].copy(), kernel=kernel[b].copy(),
                history={"iteration": np.asarray(h["iteration"], dtype=np.int64),
                         **{k: np.asarray(h[k], dtype=float) for k in ("loss", "step", "error")}},
                iterations=int(updates[b]), stop_reason="budget" if active[b] else stop,
                final_loss=float(final_loss[b]), drops=int(drops[b]), info=dict(info)))
        return out


def print_progress(label: str, done: int, total: int, loss_max: float, n_active: int, B: int,
                   elapsed: float) -> None:
    """One progress line on stderr: iterations, max loss, rate, ETA and active problems."""
    rate = done / elapsed if elapsed > 0 else float("nan")
    eta = (total - done) / rate if rate > 0 else float("nan")
    print(f"{label}: it {done}/{total} loss(max) {loss_max:.3e} {rate:.0f} it/s "
          f"ETA {eta:.0f} s, active {n_active}/{B}", file=sys.stderr, flush=True)


def print_finished(label: str, done: int, elapsed: float, B: int, n: int, how: str) -> None:
    """The summary line on stderr at the end of a run (``how``: e.g. ``numba``, ``compiled``)."""
    rate = done / elapsed if elapsed > 0 else float("nan")
    print(f"{label}: finished {done} iterations in {elapsed:.1f} s ({rate:.0f} it/s, "
          f"batch {B}, n = {n}, {how})", file=sys.stderr, flush=True)

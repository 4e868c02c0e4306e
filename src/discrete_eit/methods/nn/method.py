"""Method ``nn``: the paper's interpretable network trained by Adam (MATH.md §4).

A batch of independent problems of one lattice size (noise seeds, δ, partial sets) trains together;
every problem keeps its own step schedule and stops on its own. Two backends compute the same
iterations: the fused numba kernel (:mod:`.kernel`, :mod:`.kernel_trainer`; the default on the CPU)
and torch (:mod:`.trainer`; for CUDA, and the reference of the tests). Both are imported lazily,
inside the method: checking the options imports neither numba nor torch (:mod:`.schedule` imports
torch only when it builds a step, :mod:`.training` is numpy only).

Option ``fixed_edges`` takes the edge specifications of :mod:`discrete_eit.problem.edge_sets`.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np

from discrete_eit.methods.registry import Option, Reconstruction, register_method
from discrete_eit.problem.datasets import Dataset
from discrete_eit.problem.edge_sets import parse_fixed_edges
from discrete_eit.problem.lattice import Lattice
from discrete_eit.problem.metrics import relative_l2_error

from .schedule import ADAM_STOP_RULES, BETA_SCHEDULES, MOMENT_RULES, Schedule
from .training import BACKENDS, initial_gamma, resolve_backend

HISTORY_COLUMNS = ("iteration", "loss", "step", "gamma_error")


@contextlib.contextmanager
def _torch_threads(threads: int):
    """Temporarily set torch's intra-op threads (0 = leave as is).

    One thread is the default: the per-iteration tensors are small, and on a loaded machine
    intra-op parallelism makes some kernels (e.g. ``sqrt``) orders of magnitude slower.
    """
    import torch

    old = torch.get_num_threads()
    if threads > 0:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(old)


@register_method("nn", options=(
    Option("iterations", int, 200_000, "Adam iteration budget (a cap for every stop rule)"),
    Option("stop", str, "budget", "stopping rule: budget (run all iterations), min-step (the loss "
           "stagnates at the minimum step) or first-drop (stop at the first step reduction)",
           choices=ADAM_STOP_RULES),
    Option("lr", float, 2e-3, "initial Adam step", positive=True),
    Option("lam", float, 10.0, "weight λ of the boundary (Neumann) rows of the NN loss", positive=True),
    Option("seed", int, 0, "seed of the random initial γ₀ ~ U(init_low, init_high); every problem "
           "of a batch starts from the same γ₀"),
    Option("init_low", float, 0.5, "lower end of the initial γ₀ distribution", positive=True),
    Option("init_high", float, 1.5, "upper end of the initial γ₀ distribution"),
    Option("gamma_min", float, 0.1, "lower bound on γ, applied after every step (the clip)"),
    Option("gamma_max", float, None, "upper bound on γ (box constraint; default none)"),
    Option("fixed_edges", str, "", "edges held fixed: comma-separated INDEX (true value), "
           "INDEX=VALUE, spikes or ring"),
    Option("threshold", float, 1e-4, "plateau rule: relative improvement threshold"),
    Option("patience", int, 20_000, "plateau rule: bad iterations before the step is reduced"),
    Option("factor", float, 0.1, "plateau rule: step reduction factor", positive=True, below=1),
    Option("schedule", str, "paper", "Adam betas at the step drops: paper ((0.9, 0.999) → (0.99, "
           "0.9999) → (0.999, 0.99999)) or authors (the authors' code: β1 0.9 → 0.99 → 0.999, "
           "β2 stays 0.999)", choices=tuple(BETA_SCHEDULES)),
    Option("moments", str, "keep", "Adam's moments at a drop that changes the betas: keep (and "
           "the step count) or reset (a fresh Adam)", choices=MOMENT_RULES),
    Option("min_lr", float, 1e-7, "plateau rule: minimum step", positive=True),
    Option("log_every", int, 1000, "history interval in iterations", minimum=1),
    Option("backend", str, "auto", "training loop: numba (the fused CPU kernel), torch, or auto "
           "(torch on cuda, numba on cpu)", choices=BACKENDS),
    Option("device", str, "auto", "device: auto (cuda if available, else cpu), cpu or cuda (cuda "
           "needs backend torch or auto)", choices=("auto", "cpu", "cuda")),
    Option("compile", str, "auto", "backend torch: torch.compile the training step: auto (fall "
           "back to eager if it fails), on or off", choices=("auto", "on", "off")),
    Option("threads", int, 1, "backend torch: intra-op threads during training (0 = torch's "
           "default); the numba kernel runs on one thread"),
    Option("progress", float, 30.0, "seconds between progress lines on stderr (0 = none)"),
), batched=True, history_columns=HISTORY_COLUMNS,
    relations=(("init_low", "init_high"), ("gamma_min", "gamma_max")))
def nn_method(datasets: list[Dataset], *, iterations: int, stop: str, lr: float, lam: float,
              seed: int, init_low: float, init_high: float, gamma_min: float, gamma_max: float | None,
              fixed_edges: str, threshold: float, patience: int, factor: float, schedule: str,
              moments: str, min_lr: float, log_every: int, backend: str, device: str, compile: str,
              threads: int, progress: float) -> list[Reconstruction]:
    """The paper's network trained by Adam with the plateau schedule of MATH.md §4."""
    if not datasets:
        return []
    if not (0 < init_low <= init_high):
        raise ValueError(f"need 0 < init_low <= init_high, got {init_low}, {init_high}")
    upper = math.inf if gamma_max is None else gamma_max  # None keeps inf out of the JSON sidecar
    if not gamma_min <= upper:
        raise ValueError(f"need gamma_min <= gamma_max, got {gamma_min}, {gamma_max}")
    lattice = Lattice(datasets[0].n)
    E = lattice.n_edges
    fixed = np.zeros((len(datasets), E), dtype=bool)
    fixed_values = np.ones((len(datasets), E))
    for b, d in enumerate(datasets):
        try:
            parsed = parse_fixed_edges(fixed_edges, lattice, d.gamma_true)
        except ValueError as exc:
            raise ValueError(f"{d.source}: {exc}") from None
        if parsed is not None:
            fixed[b], fixed_values[b] = parsed[0], np.where(parsed[0], parsed[1], 1.0)
    sched = Schedule(lr=lr, threshold=threshold, patience=patience, factor=factor,
                     min_lr=min_lr, stop=stop, betas=schedule, moments=moments)
    gamma0 = initial_gamma(E, seed, init_low, init_high)
    backend, device = resolve_backend(backend, device)
    common = {"lam": lam, "lower": gamma_min, "upper": upper, "fixed": fixed,
              "fixed_values": fixed_values}
    run = {"log_every": log_every, "progress": progress,
           "label": f"nn n={lattice.n} batch={len(datasets)}"}
    if backend == "numba":
        from .kernel_trainer import KernelTrainer

        results = KernelTrainer(datasets, gamma0, sched, **common).run(iterations, **run)
    else:
        from .trainer import FastTrainer

        with _torch_threads(threads):
            trainer = FastTrainer(datasets, gamma0, sched, device=device, compile=compile,
                                  **common)
            results = trainer.run(iterations, **run)
    out = []
    for b, (d, r) in enumerate(zip(datasets, results, strict=True)):
        h = r.history
        history = np.column_stack([h["iteration"], h["loss"], h["step"], h["error"]])
        info = {
            "iterations": r.iterations,
            "stop": stop,
            "stop_reason": r.stop_reason,
            "final_loss": r.final_loss,
            "final_step": float(h["step"][-1]),
            "step_drops": r.drops,
            "seed": seed,
            "fixed_edges": [int(e) for e in np.flatnonzero(fixed[b])],
            "history_columns": list(HISTORY_COLUMNS),
            **r.info,
        }
        if d.gamma_true is not None:
            info["relative_error"] = relative_l2_error(r.gamma, d.gamma_true)
        out.append(Reconstruction(gamma=r.gamma, arrays={"history": history, "kernel": r.kernel},
                                  info=info))
    return out

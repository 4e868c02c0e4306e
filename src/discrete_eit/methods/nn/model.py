"""The paper's interpretable network as a plain ``torch.nn.Module`` with autograd (MATH.md §4).

Trainable weights are the conductivities ``γ`` (second layer: the weighted Laplacian ``L(γ)``,
symmetric with zero row sums) and the first-layer "Green kernel" ``K ∈ R^{n²×4n}``. Sample k
(Dirichlet data ``φ_k = e_k``) has hidden layer ``U_k = [e_k; K e_k]`` and outputs
``r_I = (L U_k)_I`` and ``r_B = (L U_k)_B − ψ_k``. The loss is

    ℓ(γ, K) = (1/m) Σ_k ( ‖r_I‖² + λ ‖M_k ⊙ r_B‖² ),

summed over the m samples (columns of Λ^δ) that have at least one measured entry.

:class:`InterpretableNet` builds ``L(γ)`` densely and lets autograd differentiate: obviously
correct and slow (≈ 400 µs per iteration). With :func:`train_reference` (``torch.optim.Adam`` +
``ReduceLROnPlateau``) it is the reference that tests and benchmarks hold the fast path
(:mod:`.loss`, :mod:`.schedule`, :mod:`.trainer`) against.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from discrete_eit.problem.datasets import Dataset
from discrete_eit.problem.lattice import Lattice

from .layout import _box, _common_n
from .loss import DTYPE
from .schedule import Schedule


class InterpretableNet(torch.nn.Module):
    """The paper's two-layer linear network for a batch of B independent problems of one n.

    Parameters
    ----------
    datasets : list of B :class:`Dataset` of one lattice size n.
    gamma0 : (B, E) or (E,) initial conductivities, E = 2n(n+1).
    lam : λ, the weight of the boundary rows of the loss.
    lower, upper : (B, E), (E,) or scalar box constraints applied by :meth:`project`.
    fixed : optional (B, E) or (E,) bool — edges held at ``fixed_values`` (prior knowledge).
    fixed_values : (B, E) or (E,) values of the fixed edges.
    device : torch device.

    Attributes
    ----------
    gamma : Parameter (B, E) — second-layer weights.
    K : Parameter (B, n², 4n) — first-layer weights, initialised to 0.

    Notes
    -----
    ``forward()`` returns the per-problem losses (B,); their sum has the per-problem gradients
    because the problems share no parameter. ``L(γ)`` is built densely as ``Sᵀ diag(γ) S`` from
    the (E, N) incidence matrix S, which is what makes this implementation slow and simple.
    """

    def __init__(self, datasets: list[Dataset], gamma0, lam: float = 10.0,
                 lower=0.1, upper=math.inf, fixed=None, fixed_values=None, device="cpu"):
        super().__init__()
        n = _common_n(datasets)
        lattice = Lattice(n)
        B, E, N, S = len(datasets), lattice.n_edges, lattice.n_nodes, lattice.n_boundary
        self.n = n
        kw = {"dtype": DTYPE, "device": device}
        gamma0 = torch.as_tensor(np.broadcast_to(gamma0, (B, E)).copy(), **kw)
        self.gamma = torch.nn.Parameter(gamma0)
        self.K = torch.nn.Parameter(torch.zeros(B, n * n, S, **kw))
        inc = np.zeros((E, N))
        inc[np.arange(E), lattice.edges[:, 0]] = 1.0
        inc[np.arange(E), lattice.edges[:, 1]] = -1.0
        self.register_buffer("incidence", torch.as_tensor(inc, **kw))
        target = np.zeros((B, N, S))
        weight = np.zeros((B, N, S))
        for b, d in enumerate(datasets):
            mask = np.asarray(d.mask, dtype=bool)
            active = mask.any(axis=0)
            target[b, :S] = d.filled_dtn
            weight[b, :S] = lam * (mask & active[None, :])
            weight[b, S:] = active[None, :]
            weight[b] /= active.sum()
        self.register_buffer("target", torch.as_tensor(target, **kw))
        self.register_buffer("weight", torch.as_tensor(weight, **kw))
        self.register_buffer("eye", torch.eye(S, **kw).expand(B, S, S))
        lo, hi = _box(B, E, lower, upper, fixed, fixed_values)
        self.register_buffer("lower", torch.as_tensor(lo, **kw))
        self.register_buffer("upper", torch.as_tensor(hi, **kw))
        self.project()

    def laplacian(self) -> torch.Tensor:
        """(B, N, N) dense Kirchhoff matrices ``L(γ)``."""
        S = self.incidence
        return torch.einsum("en,be,em->bnm", S, self.gamma, S)

    def residuals(self) -> torch.Tensor:
        """(B, N, 4n) residuals ``[r_B; r_I]`` of every sample (column k = sample k)."""
        U = torch.cat([self.eye, self.K], dim=1)  # hidden layer: all node potentials
        return self.laplacian() @ U - self.target

    def forward(self) -> torch.Tensor:
        """(B,) per-problem losses ℓ(γ, K)."""
        R = self.residuals()
        return (self.weight * R * R).sum(dim=(1, 2))

    @torch.no_grad()
    def project(self) -> None:
        """γ ← clamp(γ, lower, upper); fixed edges have lower = upper = their value."""
        self.gamma.copy_(torch.clamp(self.gamma, self.lower, self.upper))


def train_reference(model: InterpretableNet, iterations: int, schedule: Schedule | None = None
                    ) -> list[float]:
    """Plain ``torch.optim.Adam`` + ``ReduceLROnPlateau`` on the summed batch loss.

    Meaningful as the paper's training loop for a batch of one (the schedule sees the summed
    loss); used as the trajectory and speed reference of :class:`.trainer.FastTrainer`. Betas are
    changed in ``param_groups`` at each step drop along ``schedule.beta_table``, keeping Adam's
    state (``moments`` keep) or clearing it when the betas change (``reset``: a fresh Adam), as in
    :func:`.schedule._make_step`.

    Parameters
    ----------
    model : the network; its ``gamma`` (B, E) and ``K`` (B, n², 4n) are trained in place.
    iterations : number of Adam updates.
    schedule : hyperparameters (default: the MATH.md §4 configuration).

    Returns
    -------
    list of the summed loss at each iteration (before that iteration's update).
    """
    sched = schedule or Schedule()
    table = sched.beta_table
    opt = torch.optim.Adam([model.gamma, model.K], lr=sched.lr, betas=table[0],
                           eps=sched.eps, foreach=False)
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(
        opt, mode="min", factor=sched.factor, patience=sched.patience, threshold=sched.threshold,
        threshold_mode="rel", min_lr=sched.min_lr, eps=1e-12 * sched.lr)  # ignore 1-ulp "drops"
    losses = []
    drops = 0
    for _ in range(iterations):
        opt.zero_grad(set_to_none=True)
        loss = model().sum()
        loss.backward()
        opt.step()
        model.project()
        value = loss.item()
        losses.append(value)
        before = opt.param_groups[0]["lr"]
        plateau.step(value)
        if opt.param_groups[0]["lr"] < before:
            drops += 1
            betas = table[min(drops, len(table) - 1)]
            if sched.moments == "reset" and betas != opt.param_groups[0]["betas"]:
                opt.state.clear()  # step count and moments start afresh
            opt.param_groups[0]["betas"] = betas
    return losses

"""The interpretable network of the paper and its fast batched Adam trainer (MATH.md §4).

This module imports torch at import time; the registry-facing method lives in :mod:`discrete_eit.nn`,
which imports this module lazily.

The network
-----------
Trainable weights are the conductivities ``γ`` (second layer: the weighted Laplacian ``L(γ)``,
symmetric with zero row sums) and the first-layer "Green kernel" ``K ∈ R^{n²×4n}``. Sample k
(Dirichlet data ``φ_k = e_k``) has hidden layer ``U_k = [e_k; K e_k]`` and outputs
``r_I = (L U_k)_I`` and ``r_B = (L U_k)_B − ψ_k``. The loss is

    ℓ(γ, K) = (1/m) Σ_k ( ‖r_I‖² + λ ‖M_k ⊙ r_B‖² ),

summed over the m samples (columns of Λ^δ) that have at least one measured entry.

Two implementations of the same loss
------------------------------------
* :class:`InterpretableNet` — a plain ``torch.nn.Module`` with a dense ``L(γ)`` and autograd.
  Obviously correct, slow (≈ 400 µs per iteration); the reference for tests and benchmarks.
* :func:`loss_and_grad` — a stencil formulation on the ``(n+2)×(n+2)`` point grid with the
  gradient written by hand. Because γ in MATH.md edge order is exactly ``concat(gh.ravel(),
  gv.ravel())`` and ``gh``/``gv`` are the horizontal/vertical neighbour differences of the grid,
  ``L(γ) U`` is four shifted slices, and both gradients are again stencils:
  ``∂ℓ/∂K = (L G)_I`` and ``∂ℓ/∂γ_e = Σ_k (G_a − G_b)(U_a − U_b)`` with ``G = ∂ℓ/∂(LU)``.
  :class:`FastTrainer` runs Adam and the plateau schedule on a batch of independent problems
  entirely in batched tensor ops (optionally ``torch.compile``-d into one fused kernel).

Training (MATH.md §4 configuration; all of it configurable through :class:`Schedule`)
-------------------------------------------------------------------------------------
* K₀ = 0; γ₀ ~ U(0.5, 1.5) from ``numpy.random.default_rng(seed)`` — the same γ₀ for every
  problem of a batch, so that a problem's result does not depend on its batch (tested bitwise).
* Adam with exactly the update of ``torch.optim.Adam``; after every step γ ← clamp(γ, lower,
  upper) (the clip γ >= 0.1, box constraints and fixed edges, which have lower = upper).
* Plateau rule = ``ReduceLROnPlateau(mode="min", threshold_mode="rel", cooldown=0)`` fed with
  the loss of every iteration: after more than ``patience`` iterations without a relative
  improvement of ``threshold`` the step is multiplied by ``factor`` (not below ``min_lr``) and the
  betas move one entry along :data:`BETA_SCHEDULE`. The betas are changed in place, keeping the
  moments and the step count (as when editing ``param_groups`` of a torch optimiser), so the
  bias corrections use the new betas with the running count.
* Each problem stops on its own (stop rules ``budget``, ``min-step``, ``first-drop``): a stopped
  problem is frozen (zero step) while the rest of the batch trains on.
"""

from __future__ import annotations

import math
import sys
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from discrete_eit.problem.datasets import Dataset
from discrete_eit.problem.lattice import Lattice
from discrete_eit.problem.metrics import relative_l2_error

DTYPE = torch.float64

#: Adam betas before the first, after the first and after the second (and later) step drops.
BETA_SCHEDULE = ((0.9, 0.999), (0.99, 0.9999), (0.999, 0.99999))

STOP_RULES = ("budget", "min-step", "first-drop")


# ----------------------------------------------------------------------------------------------
# data preparation (numpy)
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GridData:
    """One problem's data laid out on the ``(n+2)×(n+2)`` point grid (corners unused).

    The sample index k is the last (contiguous) axis: the stencils then act on whole rows of
    4n samples, which vectorises well, and every problem of a batch is computed the same way.

    Attributes
    ----------
    psi : (n+2, n+2, 4n) float64 — ``psi[r, c, k]`` = measured Λ^δ(t, k) at the grid point (r, c)
        of boundary node t, 0 elsewhere and on unmeasured entries.
    weight : (n+2, n+2, 4n) float64 — loss weight of each residual entry, already divided by m:
        1/m at interior points and λ M_k(t)/m at boundary points of active samples; 0 for dropped
        samples, unmeasured entries and the corners.
    active : (4n,) bool — samples with at least one measured entry.
    """

    psi: np.ndarray
    weight: np.ndarray
    active: np.ndarray


def grid_data(dataset: Dataset, lam: float) -> GridData:
    """Lay out a dataset's Λ^δ and mask on the point grid (see :class:`GridData`)."""
    if not (lam > 0 and math.isfinite(lam)):
        raise ValueError(f"lam (the boundary weight λ) must be finite and > 0, got {lam}")
    lattice = Lattice(dataset.n)
    n, S = lattice.n, lattice.n_boundary
    rows, cols = lattice.boundary_points.T
    mask = np.asarray(dataset.mask, dtype=bool)  # [t, k]: entry t of experiment k measured
    active = mask.any(axis=0)
    m = int(active.sum())  # >= 1: Dataset validation rejects an empty mask
    weight = np.zeros((n + 2, n + 2, S))
    weight[1:-1, 1:-1, active] = 1.0
    weight[rows, cols, :] = lam * (mask & active[None, :])  # [r_t, c_t, k] = λ M[t, k]
    weight /= m
    psi = np.zeros((n + 2, n + 2, S))
    psi[rows, cols, :] = dataset.filled_dtn
    return GridData(psi=psi, weight=weight, active=active)


def dirichlet_grid(lattice: Lattice, ghost: int = 0) -> np.ndarray:
    """(n+2+2·ghost, n+2+2·ghost, 4n) float64: the Dirichlet data ``e_k`` of every sample on the grid.

    ``ghost`` adds that many rings of zeros around the grid (see :func:`loss_and_grad`).
    """
    n, S = lattice.n, lattice.n_boundary
    out = np.zeros((n + 2 + 2 * ghost, n + 2 + 2 * ghost, S))
    rows, cols = lattice.boundary_points.T
    out[rows + ghost, cols + ghost, np.arange(S)] = 1.0
    return out


def kernel_to_grid(K, n: int):
    """(B, n², 4n) Green kernel → (B, n, n, 4n) grid layout, ``Kg[b, i, j, k] = K[b, i n + j, k]``
    (the kernel of interior point (i+1, j+1)). A reshape: works for torch tensors and numpy."""
    return K.reshape(K.shape[0], n, n, 4 * n)


def grid_to_kernel(Kg, n: int):
    """Inverse of :func:`kernel_to_grid`: (B, n, n, 4n) → (B, n², 4n)."""
    return Kg.reshape(Kg.shape[0], n * n, 4 * n)


def true_kernel(lattice: Lattice, gamma: np.ndarray) -> np.ndarray:
    """The Green kernel ``K = −L_II⁻¹ L_IB`` of γ, shape (n², 4n): the loss's exact minimiser."""
    from discrete_eit.problem.forward import solve_forward

    return solve_forward(lattice, gamma).potentials[lattice.n_boundary:]


# ----------------------------------------------------------------------------------------------
# the reference network (autograd)
# ----------------------------------------------------------------------------------------------
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


def _common_n(datasets: list[Dataset]) -> int:
    if not datasets:
        raise ValueError("need at least one dataset")
    ns = {d.n for d in datasets}
    if len(ns) != 1:
        raise ValueError(f"a batch must share one lattice size, got n = {sorted(ns)}")
    return ns.pop()


def _box(B: int, E: int, lower, upper, fixed, fixed_values) -> tuple[np.ndarray, np.ndarray]:
    """Per-edge (B, E) bounds; a fixed edge gets lower = upper = its value."""
    lo = np.array(np.broadcast_to(np.asarray(lower, dtype=float), (B, E)))
    hi = np.array(np.broadcast_to(np.asarray(upper, dtype=float), (B, E)))
    if np.any(lo > hi):
        raise ValueError("box constraints need lower <= upper on every edge")
    if fixed is not None:
        fixed = np.broadcast_to(np.asarray(fixed, dtype=bool), (B, E))
        vals = np.broadcast_to(np.asarray(fixed_values, dtype=float), (B, E))
        if np.any(fixed & ~(vals > 0)):
            raise ValueError("fixed edge values must be > 0")
        lo = np.where(fixed, vals, lo)
        hi = np.where(fixed, vals, hi)
    return lo, hi


# ----------------------------------------------------------------------------------------------
# the fast path: stencil loss with a hand-written gradient
# ----------------------------------------------------------------------------------------------
def _neighbour_weights(gamma: torch.Tensor, n: int):
    """Conductivity of the edge to the east, west, south and north of every grid point.

    Parameters
    ----------
    gamma : (B, E) conductivities in MATH.md order (``gh`` then ``gv``, row-major).

    Returns
    -------
    wE, wW, wS, wN : (B, n+2, n+2, 1) each, 0 where a point has no such edge (boundary sides,
        corners). E.g. ``wE[b, r, c] = gh[r−1, c]``, the edge (r, c)–(r, c+1).
    """
    B, nh = gamma.shape[0], n * (n + 1)
    gh = gamma[:, :nh].reshape(B, n, n + 1)
    gv = gamma[:, nh:].reshape(B, n + 1, n)
    return (F.pad(gh, (0, 1, 1, 1)).unsqueeze(-1), F.pad(gh, (1, 0, 1, 1)).unsqueeze(-1),
            F.pad(gv, (1, 1, 0, 1)).unsqueeze(-1), F.pad(gv, (1, 1, 1, 0)).unsqueeze(-1))


def loss_and_grad(gamma: torch.Tensor, Kg: torch.Tensor, dirichlet: torch.Tensor, psi: torch.Tensor,
                  weight: torch.Tensor, n: int):
    """Loss and its analytic gradient for a batch of problems (stencil form).

    Parameters
    ----------
    gamma : (B, E) conductivities, E = 2n(n+1), MATH.md edge order.
    Kg : (B, n, n, 4n) Green kernel in grid layout (:func:`kernel_to_grid`).
    dirichlet : (1 or B, n+4, n+4, 4n) Dirichlet data with one ghost ring,
        ``dirichlet_grid(lattice, ghost=1)``.
    psi, weight : (B, n+2, n+2, 4n) measured data and loss weights (:class:`GridData`).
    n : lattice size.

    Returns
    -------
    loss : (B,) ℓ(γ, K) per problem.
    grad_gamma : (B, E) ∂ℓ/∂γ.
    grad_K : (B, n, n, 4n) ∂ℓ/∂K in grid layout.

    Notes
    -----
    Every point "pulls" ``(L V)(p) = Σ_q w_pq (V_p − V_q)`` from its four neighbours, with zero
    weight for missing edges; a ring of ghost points (potential 0) makes all four neighbour
    arrays plain slices, so the only padding is that of K. Formulated this way (rather than
    scattering edge currents onto nodes) the compiled kernels need no masked loads, which
    measured ≈ 25 % faster.
    """
    wE, wW, wS, wN = _neighbour_weights(gamma, n)
    Vx = dirichlet + F.pad(Kg, (0, 0, 2, 2, 2, 2))  # hidden layer U = [e_k; K e_k], ghost ring
    V = Vx[:, 1:-1, 1:-1]
    LV = (wE * (V - Vx[:, 1:-1, 2:]) + wW * (V - Vx[:, 1:-1, :-2])
          + wS * (V - Vx[:, 2:, 1:-1]) + wN * (V - Vx[:, :-2, 1:-1]))
    R = LV - psi  # rows: r_B at the boundary points, r_I at the interior
    WR = weight * R
    loss = (WR * R).sum(dim=(1, 2, 3))
    G = 2.0 * WR  # ∂ℓ/∂(LU)
    # ℓ depends on γ and K only through LU = Sᵀ diag(γ) S U. Chain rule: ∂ℓ/∂U = L G (L is
    # symmetric), needed at the interior only — whose neighbours all lie on the grid — and
    # ∂ℓ/∂γ_e = Σ_k (G_a − G_b)(U_a − U_b) over the samples k, for edge e = (a, b).
    i = (slice(None), slice(1, -1), slice(1, -1))
    Gc = G[i]
    grad_K = (wE[i] * (Gc - G[:, 1:-1, 2:]) + wW[i] * (Gc - G[:, 1:-1, :-2])
              + wS[i] * (Gc - G[:, 2:, 1:-1]) + wN[i] * (Gc - G[:, :-2, 1:-1]))
    grad_gh = ((G[:, 1:-1, :-1] - G[:, 1:-1, 1:]) * (V[:, 1:-1, :-1] - V[:, 1:-1, 1:])).sum(dim=-1)
    grad_gv = ((G[:, :-1, 1:-1] - G[:, 1:, 1:-1]) * (V[:, :-1, 1:-1] - V[:, 1:, 1:-1])).sum(dim=-1)
    B = gamma.shape[0]
    return loss, torch.cat([grad_gh.reshape(B, -1), grad_gv.reshape(B, -1)], dim=1), grad_K


@dataclass(frozen=True)
class Schedule:
    """Adam and plateau-schedule hyperparameters (the MATH.md §4 configuration by default).

    Attributes
    ----------
    lr : initial Adam step.
    eps : Adam's ε.
    threshold : relative improvement below which an iteration counts as bad (plateau rule).
    patience : number of bad iterations tolerated before the step is reduced.
    factor : step reduction factor.
    min_lr : smallest step (a reduction landing within rounding of it lands exactly on it).
    stop : ``budget`` (run the iteration budget), ``min-step`` (stop when the loss stagnates
        while the step is already at ``min_lr``, i.e. the schedule is exhausted) or ``first-drop``
        (stop at the first step reduction, after that iteration's update).
    """

    lr: float = 2e-3
    eps: float = 1e-8
    threshold: float = 1e-4
    patience: int = 20_000
    factor: float = 0.1
    min_lr: float = 1e-7
    stop: str = "budget"

    def __post_init__(self) -> None:
        if self.stop not in STOP_RULES:
            raise ValueError(f"stop rule must be one of {', '.join(STOP_RULES)}, got {self.stop!r}")
        if not (self.lr > 0 and self.min_lr > 0 and 0 < self.factor < 1 and self.patience >= 0):
            raise ValueError("need lr > 0, min_lr > 0, 0 < factor < 1 and patience >= 0")


def _make_step(n: int, sched: Schedule):
    """Build the batched training step (one Adam update + plateau bookkeeping) for lattice n."""
    last = len(BETA_SCHEDULE) - 1
    stop_min_step = sched.stop == "min-step"
    stop_first_drop = sched.stop == "first-drop"
    eps, thr, patience = sched.eps, sched.threshold, sched.patience
    factor, min_lr = sched.factor, sched.min_lr

    def step(gamma, Kg, mg, vg, mK, vK, t, lr, best, bad, drops, active,
             dirichlet, psi, weight, lower, upper, betas):
        """One iteration for every problem of the batch; frozen problems (active False) keep
        their weights, step count and schedule. All per-problem scalars are (B,) tensors so that
        nothing leaves the device. Returns the new state and the loss at the *incoming* parameters."""
        loss, gg, gK = loss_and_grad(gamma, Kg, dirichlet, psi, weight, n)
        # Betas follow the number of step drops so far (capped at the last pair); betas is the
        # (2, len(BETA_SCHEDULE)) float64 table, so the betas stay exact float64 constants.
        idx = torch.clamp(drops, max=last)
        b1, b2 = betas[0][idx], betas[1][idx]
        t1 = t + 1.0
        # Same formulas and order as torch.optim.Adam (single-tensor path), with betas changed
        # in place at the drops (state and step count kept), so the trajectories agree.
        bc1 = 1.0 - torch.pow(b1, t1)
        bc2_sqrt = torch.sqrt(1.0 - torch.pow(b2, t1))
        # A frozen (stopped) problem gets a zero step: p − 0·m/denom == p exactly (denom >= eps),
        # so its weights stay bit-identical, and the clamp below leaves them alone too. Its
        # moments keep moving, but they are never used again — cheaper than masking every array.
        step_size = torch.where(active, lr / bc1, 0.0)

        def adam(p, g, m, v, shape):
            m_new = torch.lerp(m, g, (1.0 - b1).view(shape))
            v_new = v * b2.view(shape) + (1.0 - b2).view(shape) * g * g
            denom = torch.sqrt(v_new) / bc2_sqrt.view(shape) + eps
            return p - step_size.view(shape) * m_new / denom, m_new, v_new

        gamma, mg, vg = adam(gamma, gg, mg, vg, (-1, 1))
        Kg, mK, vK = adam(Kg, gK, mK, vK, (-1, 1, 1, 1))
        # Projection: the clip γ >= 0.1, box constraints and fixed edges are one clamp.
        gamma = torch.clamp(gamma, lower, upper)

        # Plateau rule (ReduceLROnPlateau, mode min, relative threshold, cooldown 0).
        improved = loss < best * (1.0 - thr)
        best_new = torch.where(improved, loss, best)
        bad_new = torch.where(improved, torch.zeros_like(bad), bad + 1)
        fire = bad_new > patience
        # Snap to min_lr when within rounding of it, so that e.g. 2e-5·0.1 = 2.0000000000000003e-6
        # followed by max(2e-7, 2e-6) does not count as a further (one-ulp) "reduction".
        cand = lr * factor
        new_lr = torch.where(cand <= min_lr * (1.0 + 1e-9), torch.full_like(lr, min_lr), cand)
        reduce = fire & (new_lr < lr)
        lr_new = torch.where(reduce, new_lr, lr)
        bad_new = torch.where(fire, torch.zeros_like(bad_new), bad_new)
        drops_new = drops + reduce.to(drops.dtype)
        stop_now = torch.zeros_like(active)
        if stop_min_step:
            stop_now = fire & ~reduce
        if stop_first_drop:
            stop_now = reduce
        t = torch.where(active, t1, t)
        best = torch.where(active, best_new, best)
        bad = torch.where(active, bad_new, bad)
        lr = torch.where(active, lr_new, lr)
        drops = torch.where(active, drops_new, drops)
        active = active & ~stop_now
        return (gamma, Kg, mg, vg, mK, vK, t, lr, best, bad, drops, active), loss

    return step


# ----------------------------------------------------------------------------------------------
# training driver
# ----------------------------------------------------------------------------------------------
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
    schedule : :class:`Schedule`.
    lam : λ, the weight of the boundary rows of the loss.
    lower, upper : box constraints, scalar or (E,) / (B, E); ``lower`` defaults to the clip 0.1.
    fixed, fixed_values : optional (B, E) / (E,) fixed-edge mask and values.
    device : ``auto``, ``cpu`` or ``cuda``.
    compile : ``auto`` (use ``torch.compile`` and fall back to eager on failure), ``on`` (fail if
        compilation fails) or ``off``.
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
        vec = lambda v: torch.full((B,), v, **kw)  # noqa: E731
        self.state = (gamma, Kg, torch.zeros_like(gamma), torch.zeros_like(gamma),
                      torch.zeros_like(Kg), torch.zeros_like(Kg),
                      vec(0.0), vec(self.schedule.lr), vec(math.inf),
                      torch.zeros(B, dtype=torch.int64, device=self.device),
                      torch.zeros(B, dtype=torch.int64, device=self.device),
                      torch.ones(B, dtype=torch.bool, device=self.device))
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
            probe, _ = compiled(*self.state, *self._consts())
            ref, _ = self._eager_step(*self.state, *self._consts())
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
        gamma, Kg = self.state[0], self.state[1]
        with torch.no_grad():
            loss, _, _ = loss_and_grad(gamma, Kg, self.dirichlet, self.psi, self.weight, self.n)
        return loss.cpu().numpy()

    def _errors(self, gamma: np.ndarray) -> np.ndarray:
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
                new_state, loss = self._step(*state, *consts)
                if it % log_every == 0:
                    # state still holds the parameters at which `loss` was evaluated
                    self._record(hist, it, loss, state)
                    if not bool(new_state[11].any()):
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
        t, lr, drops, active = (x.cpu().numpy() for x in (state[6], state[7], state[10], state[11]))
        gamma = state[0].cpu().numpy()
        errors = self._errors(gamma)
        K = grid_to_kernel(state[1], self.n).cpu().numpy()
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

    def _record(self, hist, it, loss, state) -> None:
        active = state[11].cpu().numpy()
        loss = loss.cpu().numpy()
        lr = state[7].cpu().numpy()
        errors = self._errors(state[0].cpu().numpy())
        for b in np.flatnonzero(active):
            h = hist[b]
            h["iteration"].append(it)
            h["loss"].append(loss[b])
            h["step"].append(lr[b])
            h["error"].append(errors[b])

    def _progress(self, label, done, total, loss, state, elapsed, final=False) -> None:
        rate = done / elapsed if elapsed > 0 else float("nan")
        n_active = int(state[11].sum())
        if final:
            print(f"{label}: finished {done} iterations in {elapsed:.1f} s ({rate:.0f} it/s, "
                  f"batch {self.B}, n = {self.n}, {'compiled' if self.compiled else 'eager'})",
                  file=sys.stderr, flush=True)
            return
        eta = (total - done) / rate if rate > 0 else float("nan")
        print(f"{label}: it {done}/{total} loss(max) {float(loss.max()):.3e} {rate:.0f} it/s "
              f"ETA {eta:.0f} s, active {n_active}/{self.B}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------------------------
# plain autograd loop (reference for tests and benchmarks)
# ----------------------------------------------------------------------------------------------
def train_reference(model: InterpretableNet, iterations: int, schedule: Schedule | None = None
                    ) -> list[float]:
    """Plain ``torch.optim.Adam`` + ``ReduceLROnPlateau`` on the summed batch loss.

    Meaningful as the paper's training loop for a batch of one (the schedule sees the summed
    loss); used as the trajectory and speed reference of :class:`FastTrainer`. Betas are changed
    in ``param_groups`` at each step drop, keeping Adam's state, as in :func:`_make_step`.

    Returns
    -------
    list of the summed loss at each iteration (before that iteration's update).
    """
    sched = schedule or Schedule()
    opt = torch.optim.Adam([model.gamma, model.K], lr=sched.lr, betas=BETA_SCHEDULE[0],
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
            opt.param_groups[0]["betas"] = BETA_SCHEDULE[min(drops, len(BETA_SCHEDULE) - 1)]
    return losses

"""Adam's update and the plateau schedule as one batched step function (MATH.md §4).

* Adam with exactly the update of ``torch.optim.Adam``; after every step γ ← clamp(γ, lower,
  upper) (the clip γ >= 0.1, box constraints and fixed edges, which have lower = upper).
* Plateau rule = ``ReduceLROnPlateau(mode="min", threshold_mode="rel", cooldown=0)`` fed with
  the loss of every iteration: after more than ``patience`` iterations without a relative
  improvement of ``threshold`` the step is multiplied by ``factor`` (not below ``min_lr``) and the
  betas move one entry along the named β schedule (:data:`BETA_SCHEDULES`). With ``moments``
  ``keep`` (the default) the betas are changed in place, keeping the moments and the step count
  (as when editing ``param_groups`` of a torch optimiser), so the bias corrections use the new
  betas with the running count; with ``reset`` a drop that changes the betas restarts Adam
  (zero moments and step count, as a fresh optimiser), after that iteration's update.
* Each problem stops on its own (stop rules ``budget``, ``min-step``, ``first-drop``): a stopped
  problem is frozen (zero step) while the rest of the batch trains on.

The step carries a :class:`TrainState` from one iteration to the next. Torch is imported only
when a state or a step is built: :mod:`.method` takes the stop rules and the hyperparameter checks
from here without importing torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    import torch

#: Named β schedules (option ``schedule`` of method ``nn``): Adam's (β₁, β₂) before the first,
#: after the first and after the second (and later) step drops. ``paper``: both betas raised, as
#: in the paper's training (MATH.md §4); ``authors``: the authors' follow-up code, which keeps
#: β₂ = 0.999 and raises β₁ only (docs/workflow.md, "Schedule", compares the two).
BETA_SCHEDULES = {
    "paper": ((0.9, 0.999), (0.99, 0.9999), (0.999, 0.99999)),
    "authors": ((0.9, 0.999), (0.99, 0.999), (0.999, 0.999)),
}
#: The default β schedule.
BETA_SCHEDULE = BETA_SCHEDULES["paper"]

#: What Adam's moments do at a drop that changes the betas (option ``moments``).
MOMENT_RULES = ("keep", "reset")

#: Stop rules of the Adam training (option ``stop`` of method ``nn``); see :class:`Schedule`.
ADAM_STOP_RULES = ("budget", "min-step", "first-drop")


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
    betas : name of the β schedule, a key of :data:`BETA_SCHEDULES`.
    moments : ``keep`` or ``reset`` Adam's moments (and step count) at a drop that changes the betas.
    """

    lr: float = 2e-3
    eps: float = 1e-8
    threshold: float = 1e-4
    patience: int = 20_000
    factor: float = 0.1
    min_lr: float = 1e-7
    stop: str = "budget"
    betas: str = "paper"
    moments: str = "keep"

    def __post_init__(self) -> None:
        for name, value, allowed in (("stop rule", self.stop, ADAM_STOP_RULES),
                                     ("schedule", self.betas, tuple(BETA_SCHEDULES)),
                                     ("moments", self.moments, MOMENT_RULES)):
            if value not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
        if not (self.lr > 0 and self.min_lr > 0 and 0 < self.factor < 1 and self.patience >= 0):
            raise ValueError("need lr > 0, min_lr > 0, 0 < factor < 1 and patience >= 0")

    @property
    def beta_table(self) -> tuple[tuple[float, float], ...]:
        """The (β₁, β₂) pairs of the named schedule, indexed by the number of drops (capped)."""
        return BETA_SCHEDULES[self.betas]


class TrainState(NamedTuple):
    """What the step carries from one iteration to the next, for a batch of B problems.

    A ``NamedTuple`` so that ``torch.compile(..., fullgraph=True)`` takes and returns it as a
    plain tuple of tensors; every per-problem scalar is a (B,) tensor so that nothing leaves the
    device during training.

    Attributes
    ----------
    gamma : (B, E) float64 conductivities, E = 2n(n+1), MATH.md edge order.
    kernel : (B, n, n, 4n) float64 Green kernel K in grid layout (:func:`.layout.kernel_to_grid`).
    m_gamma, v_gamma : (B, E) float64 Adam's first and second moments of γ.
    m_kernel, v_kernel : (B, n, n, 4n) float64 Adam's first and second moments of K.
    t : (B,) float64 Adam's step count (float: it is the exponent of the bias corrections); the
        updates done, unless ``moments`` ``reset`` restarted it.
    updates : (B,) int64 updates done.
    lr : (B,) float64 current step.
    best : (B,) float64 best loss so far (plateau rule).
    bad : (B,) int64 iterations since the last relative improvement (plateau rule).
    drops : (B,) int64 step reductions so far; selects the betas in :attr:`Schedule.beta_table`.
    active : (B,) bool, False once the problem's stop rule has fired (its weights are frozen).
    """

    gamma: torch.Tensor
    kernel: torch.Tensor
    m_gamma: torch.Tensor
    v_gamma: torch.Tensor
    m_kernel: torch.Tensor
    v_kernel: torch.Tensor
    t: torch.Tensor
    updates: torch.Tensor
    lr: torch.Tensor
    best: torch.Tensor
    bad: torch.Tensor
    drops: torch.Tensor
    active: torch.Tensor

    @classmethod
    def start(cls, gamma: torch.Tensor, kernel: torch.Tensor, lr: float) -> TrainState:
        """The state before the first update: zero moments and counts, step ``lr``, best loss ∞.

        Parameters
        ----------
        gamma : (B, E) initial conductivities (already projected onto the box).
        kernel : (B, n, n, 4n) initial kernel in grid layout.
        lr : initial step of every problem.
        """
        import torch

        B = gamma.shape[0]
        counts = torch.zeros(B, dtype=torch.int64, device=gamma.device)
        return cls(gamma=gamma, kernel=kernel, m_gamma=torch.zeros_like(gamma),
                   v_gamma=torch.zeros_like(gamma), m_kernel=torch.zeros_like(kernel),
                   v_kernel=torch.zeros_like(kernel), t=gamma.new_full((B,), 0.0),
                   updates=counts.clone(), lr=gamma.new_full((B,), lr),
                   best=gamma.new_full((B,), math.inf), bad=counts, drops=counts.clone(),
                   active=torch.ones(B, dtype=torch.bool, device=gamma.device))


def _make_step(n: int, sched: Schedule):
    """Build the batched training step (one Adam update + plateau bookkeeping) for lattice n.

    Returns
    -------
    step : ``step(state, dirichlet, psi, weight, lower, upper, betas) -> (TrainState, loss)``;
        ``state`` is a :class:`TrainState`, ``dirichlet``, ``psi`` and ``weight`` are the arrays of
        :func:`.loss.loss_and_grad`, ``lower`` and ``upper`` the (B, E) bounds of γ and ``betas``
        the (2, P) float64 table of the betas (:attr:`Schedule.beta_table` transposed).
        ``loss`` (B,) is ℓ at the *incoming* parameters.
    """
    import torch

    from .loss import loss_and_grad

    last = len(sched.beta_table) - 1
    reset = sched.moments == "reset"
    stop_min_step = sched.stop == "min-step"
    stop_first_drop = sched.stop == "first-drop"
    eps, thr, patience = sched.eps, sched.threshold, sched.patience
    factor, min_lr = sched.factor, sched.min_lr

    def step(state: TrainState, dirichlet, psi, weight, lower, upper, betas
             ) -> tuple[TrainState, torch.Tensor]:
        """One iteration for every problem of the batch; frozen problems (active False) keep
        their weights, step count and schedule."""
        active, lr, bad, drops = state.active, state.lr, state.bad, state.drops
        loss, gg, gK = loss_and_grad(state.gamma, state.kernel, dirichlet, psi, weight, n)
        # Betas follow the number of step drops so far (capped at the last pair); betas is the
        # (2, P) float64 table, so the betas stay exact float64 constants.
        idx = torch.clamp(drops, max=last)
        b1, b2 = betas[0][idx], betas[1][idx]
        t1 = state.t + 1.0
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

        gamma, m_gamma, v_gamma = adam(state.gamma, gg, state.m_gamma, state.v_gamma, (-1, 1))
        kernel, m_kernel, v_kernel = adam(state.kernel, gK, state.m_kernel, state.v_kernel,
                                          (-1, 1, 1, 1))
        # Projection: the clip γ >= 0.1, box constraints and fixed edges are one clamp.
        gamma = torch.clamp(gamma, lower, upper)

        # Plateau rule (ReduceLROnPlateau, mode min, relative threshold, cooldown 0).
        improved = loss < state.best * (1.0 - thr)
        best_new = torch.where(improved, loss, state.best)
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
        t_new = torch.where(active, t1, state.t)
        if reset:
            # a drop that changes the betas restarts Adam: zero moments and step count
            nxt = torch.clamp(drops_new, max=last)
            restart = active & reduce & ((betas[0][nxt] != b1) | (betas[1][nxt] != b2))
            m_gamma, v_gamma = (torch.where(restart[:, None], 0.0, x) for x in (m_gamma, v_gamma))
            m_kernel, v_kernel = (torch.where(restart[:, None, None, None], 0.0, x)
                                  for x in (m_kernel, v_kernel))
            t_new = torch.where(restart, 0.0, t_new)
        new = TrainState(
            gamma=gamma, kernel=kernel, m_gamma=m_gamma, v_gamma=v_gamma, m_kernel=m_kernel,
            v_kernel=v_kernel, t=t_new, updates=torch.where(active, state.updates + 1, state.updates),
            best=torch.where(active, best_new, state.best), bad=torch.where(active, bad_new, bad),
            lr=torch.where(active, lr_new, lr), drops=torch.where(active, drops_new, drops),
            active=active & ~stop_now)
        return new, loss

    return step

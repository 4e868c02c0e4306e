"""Adam's update and the plateau schedule as one batched step function (MATH.md §4).

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

Torch is imported only when a step is built (:func:`_make_step`): :mod:`.method` takes the stop
rules and the hyperparameter checks from here without importing torch.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Adam betas before the first, after the first and after the second (and later) step drops.
BETA_SCHEDULE = ((0.9, 0.999), (0.99, 0.9999), (0.999, 0.99999))

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
    """

    lr: float = 2e-3
    eps: float = 1e-8
    threshold: float = 1e-4
    patience: int = 20_000
    factor: float = 0.1
    min_lr: float = 1e-7
    stop: str = "budget"

    def __post_init__(self) -> None:
        if self.stop not in ADAM_STOP_RULES:
            raise ValueError(f"stop rule must be one of {', '.join(ADAM_STOP_RULES)}, got {self.stop!r}")
        if not (self.lr > 0 and self.min_lr > 0 and 0 < self.factor < 1 and self.patience >= 0):
            raise ValueError("need lr > 0, min_lr > 0, 0 < factor < 1 and patience >= 0")


def _make_step(n: int, sched: Schedule):
    """Build the batched training step (one Adam update + plateau bookkeeping) for lattice n."""
    import torch

    from .loss import loss_and_grad

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

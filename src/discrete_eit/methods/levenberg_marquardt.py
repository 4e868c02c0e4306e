"""Levenberg–Marquardt for a sum of squares ``F(θ) = ‖r(θ)‖²``; knows nothing of the problem.

The caller supplies, at any θ (P,), the value F and lazily a linearisation — the Gauss–Newton
pair ``g = Jᵀr``, ``H = JᵀJ`` (:class:`NormalEquations`) or J and r themselves
(:class:`JacobianSVD`); this module only decides the steps, the damping and when to stop.
:mod:`discrete_eit.methods.least_squares` applies it to conductivities in θ = log γ.

Step: ``(H + damping·I) h = −g`` with the damping started at ``damping0 · max diag(H)``. The
identity, not Marquardt's ``diag(H)``, scales the damping: θ = log γ is already dimensionless,
and on the NN loss ``damping·diag(H)`` lets the weakly determined deep edges run off to γ → ∞
into spurious valleys of the reduced loss (n ≥ 6, from the constant start).
Damping update: Nielsen's rule [2]_ (gain ratio ρ; damping ← damping·max(1/3, 1 − (2ρ − 1)³) on
success, damping ← damping·ν, ν ← 2ν on failure). Optional geodesic acceleration [3]_.

References
----------
.. [1] K. Madsen, H. B. Nielsen, O. Tingleff, "Methods for non-linear least squares problems",
   2nd ed., IMM, Technical University of Denmark, 2004.
.. [2] H. B. Nielsen, "Damping parameter in Marquardt's method", Technical Report IMM-REP-1999-05,
   Technical University of Denmark, 1999.
.. [3] M. K. Transtrum, J. P. Sethna, "Improvements to the Levenberg-Marquardt algorithm for
   nonlinear least-squares minimization", arXiv:1201.5885, 2012.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

# scipy is imported where it is used, not here: short CLI commands (generate, evaluate, cm)
# that never reach that code start without paying for it (see benchmarks/startup.py).


class NormalEquations:
    """Linearisation given by ``g = Jᵀr`` (P,) and ``H = JᵀJ`` (P, P); steps by Cholesky.

    Cheapest when J has many more rows than columns, but forming H squares the condition number:
    when cond(J) ≳ 1e8 the steps are only as accurate as ``eps · cond(J)²`` allows.
    """

    def __init__(self, g: np.ndarray, H: np.ndarray):
        self.gradient = g
        self.H = H
        self.max_curvature = float(np.max(np.diag(H)))

    def step(self, damping: float) -> np.ndarray | None:
        """Solve ``(H + damping·I) h = −g``; ``None`` if not numerically SPD."""
        import scipy.linalg as sla

        try:
            c = sla.cho_factor(self.H + damping * np.eye(self.H.shape[0]), lower=True)
            h = sla.cho_solve(c, -self.gradient)
        except (np.linalg.LinAlgError, ValueError):
            return None
        return h if np.all(np.isfinite(h)) else None

    def curvature(self, h: np.ndarray) -> float:
        """``‖J h‖² = hᵀ H h``."""
        return float(h @ (self.H @ h))


class JacobianSVD:
    """Linearisation given by the Jacobian J (M, P) and residual r (M,); steps from one thin SVD.

    Every damped step ``h = −V diag(σ/(σ² + damping)) Uᵀ r`` reuses the SVD, and the accuracy is
    governed by cond(J), not cond(J)² — what severely ill-conditioned, square problems (the
    ``sigma0`` data set) need to converge to rounding level.
    """

    def __init__(self, J: np.ndarray, r: np.ndarray):
        import scipy.linalg as sla

        self.U, self.s, self.Vt = sla.svd(J, full_matrices=False, lapack_driver="gesdd")
        self.c = self.U.T @ r                          # r's coordinates in range(J)
        self.gradient = self.Vt.T @ (self.s * self.c)  # Jᵀr
        self.max_curvature = float(np.max(np.sum(J * J, axis=0)))

    def step(self, damping: float) -> np.ndarray | None:
        """``−(JᵀJ + damping·I)⁻¹ Jᵀr`` (P,); ``None`` if not finite."""
        h = -self.Vt.T @ (self.s * self.c / (self.s ** 2 + damping))
        return h if np.all(np.isfinite(h)) else None

    def jvp(self, v: np.ndarray) -> np.ndarray:
        """``J v`` (M,)."""
        return self.U @ (self.s * (self.Vt @ v))

    def damped_solve(self, damping: float, rvec: np.ndarray) -> np.ndarray:
        """``−(JᵀJ + damping·I)⁻¹ Jᵀ rvec`` (P,): the step for residual ``rvec``."""
        return -self.Vt.T @ (self.s * (self.U.T @ rvec) / (self.s ** 2 + damping))

    def curvature(self, h: np.ndarray) -> float:
        """``‖J h‖²``."""
        return float(np.sum((self.s * (self.Vt @ h)) ** 2))


@dataclass
class Evaluation:
    """The model at one θ.

    Attributes
    ----------
    loss : F(θ) = ‖r(θ)‖² (inf or NaN marks an unusable point; the step is rejected).
    linearize : callable returning a :class:`NormalEquations` or :class:`JacobianSVD` with respect
        to θ. Called only for accepted points.
    target : the discrepancy level for F at this θ (``None`` when unknown). The loop stops as soon
        as ``loss <= τ² target`` if discrepancy stopping is on.
    residual : optional callable returning r(θ) (M,); needed for geodesic acceleration only.
    """

    loss: float
    linearize: Callable[[], NormalEquations | JacobianSVD]
    target: float | None = None
    residual: Callable[[], np.ndarray] | None = None


@dataclass
class LMResult:
    """Outcome of :func:`levenberg_marquardt`.

    Attributes
    ----------
    theta : (P,) final (last accepted) parameters.
    loss : F at ``theta``.
    target : discrepancy level at ``theta`` (NaN when the model gives none).
    iterations : number of LM steps tried (accepted or rejected).
    accepted : number of accepted steps.
    stop_reason : ``discrepancy`` | ``zero_loss`` | ``small_step`` | ``small_gradient`` |
        ``no_progress`` | ``max_iterations``.
    history : (T, 5) float64, columns :attr:`HISTORY_COLUMNS` — one row for the start (iteration 0)
        and one per tried step; ``loss`` is the loss of the current (accepted) iterate after that
        step, ``damping`` the damping for the next step, ``accepted`` 0/1, ``monitor`` the caller's
        monitor at the current iterate (NaN if none).
    """

    theta: np.ndarray
    loss: float
    target: float
    iterations: int
    accepted: int
    stop_reason: str
    history: np.ndarray = field(repr=False)

    HISTORY_COLUMNS = ("iteration", "loss", "damping", "accepted", "monitor")


def levenberg_marquardt(evaluate: Callable[[np.ndarray], Evaluation], theta0: np.ndarray, *,
                        max_iterations: int = 500, tol: float = 1e-12, stop_at_target: bool = False,
                        tau: float = 1.0, damping0: float = 1e-3, max_rejections: int = 40,
                        geodesic: bool = False,
                        monitor: Callable[[np.ndarray], float] | None = None) -> LMResult:
    """Minimise ``F(θ) = ‖r(θ)‖²`` by Levenberg–Marquardt.

    Parameters
    ----------
    evaluate : θ (P,) -> :class:`Evaluation`.
    theta0 : (P,) starting point.
    max_iterations : maximum number of tried steps.
    tol : convergence tolerance: stop when an accepted step has ``‖h‖_∞ <= tol``, or when
        ``‖g‖_∞ <= tol² · F(θ₀)`` (stationary), or when ``F <= (1e-4 · tol)² · F(θ₀)``
        (numerically zero residual).
    stop_at_target : stop as soon as ``F <= τ² · target`` (discrepancy principle); checked at the
        start point too.
    tau : discrepancy factor τ.
    damping0 : initial damping relative to the largest curvature ``max_p ‖J[:, p]‖²``.
    max_rejections : consecutive rejected steps after which the loop gives up (``no_progress``:
        the damping has grown by ~2^max_rejections without any decrease — the loss is at rounding
        level).
    geodesic : add geodesic acceleration [3]_ to the steps whose linearisation is a
        :class:`JacobianSVD` and whose evaluation provides the residual: the second directional
        derivative ``r_vv`` along the LM step v is estimated by one extra residual evaluation,
        ``r_vv ≈ (2/ε)((r(θ + εv) − r(θ))/ε − J v)`` with ε = 0.1, and the step becomes
        ``v + a/2`` with ``a = −(JᵀJ + damping·I)⁻¹ Jᵀ r_vv`` when ``2‖a‖ <= 0.75‖v‖`` (else v).
        It follows curved, nearly flat valleys (``sigma0`` data at n = 12: ~16× fewer iterations).
    monitor : optional θ -> float recorded in the history (e.g. an error against a known
        solution); never used for decisions.

    Returns
    -------
    LMResult
    """
    theta = np.array(theta0, dtype=np.float64)
    ev = evaluate(theta)
    if not np.isfinite(ev.loss):
        raise FloatingPointError("Levenberg-Marquardt: the loss is not finite at the starting point")
    loss0 = ev.loss
    lin = ev.linearize()
    damping = damping0 * max(lin.max_curvature, np.finfo(float).tiny)
    nu = 2.0
    mon = (lambda t: float(monitor(t))) if monitor is not None else (lambda t: np.nan)
    last_mon = mon(theta)
    rows = [(0, ev.loss, damping, 1, last_mon)]

    def reached_target(e: Evaluation) -> bool:
        return stop_at_target and e.target is not None and e.loss <= tau * tau * e.target

    stop_reason = "max_iterations"
    iterations = accepted = rejections = 0
    if reached_target(ev):
        stop_reason = "discrepancy"
    elif ev.loss == 0.0:
        stop_reason = "zero_loss"
    else:
        while iterations < max_iterations:
            iterations += 1
            h = lin.step(damping)
            # Predicted decrease of the linear model ‖r + J h‖²: −2 hᵀg − ‖J h‖² (for the
            # velocity h; the acceleration is a second-order correction the model cannot see).
            pred = -2.0 * (h @ lin.gradient) - lin.curvature(h) if h is not None else 0.0
            if h is not None and geodesic and isinstance(lin, JacobianSVD) and ev.residual is not None:
                h = _accelerated(evaluate, theta, h, lin, ev.residual(), damping)
            new = evaluate(theta + h) if h is not None else None
            if new is not None and np.isfinite(new.loss) and new.loss < ev.loss and pred > 0:
                rho = (ev.loss - new.loss) / pred
                theta = theta + h
                ev = new
                lin = ev.linearize()
                damping *= max(1.0 / 3.0, 1.0 - (2.0 * rho - 1.0) ** 3)
                nu = 2.0
                accepted += 1
                rejections = 0
                last_mon = mon(theta)
                rows.append((iterations, ev.loss, damping, 1, last_mon))
                if reached_target(ev):
                    stop_reason = "discrepancy"
                    break
                if ev.loss <= (tol * 1e-4) ** 2 * loss0:
                    stop_reason = "zero_loss"
                    break
                if np.max(np.abs(h)) <= tol:
                    stop_reason = "small_step"
                    break
                if np.max(np.abs(lin.gradient)) <= tol * tol * loss0:
                    stop_reason = "small_gradient"
                    break
            else:
                damping *= nu
                nu *= 2.0
                rejections += 1
                rows.append((iterations, ev.loss, damping, 0, last_mon))
                if rejections >= max_rejections or not np.isfinite(damping):
                    stop_reason = "no_progress"
                    break
    target = np.nan if ev.target is None else float(ev.target)
    return LMResult(theta=theta, loss=float(ev.loss), target=target, iterations=iterations,
                    accepted=accepted, stop_reason=stop_reason,
                    history=np.asarray(rows, dtype=np.float64).reshape(-1, len(LMResult.HISTORY_COLUMNS)))


_GEODESIC_EPS = 0.1      # finite-difference step (relative to v) for r_vv
_GEODESIC_ALPHA = 0.75   # accept the acceleration only while 2‖a‖ <= α‖v‖ (Transtrum & Sethna)


def _accelerated(evaluate, theta: np.ndarray, v: np.ndarray, lin: JacobianSVD, r: np.ndarray,
                 damping: float) -> np.ndarray:
    """``v + a/2`` with the geodesic acceleration a, or v when a is unusable or too large."""
    probe = evaluate(theta + _GEODESIC_EPS * v)
    if probe.residual is None or not np.isfinite(probe.loss):
        return v
    eps = _GEODESIC_EPS
    rvv = (2.0 / eps) * ((probe.residual() - r) / eps - lin.jvp(v))
    a = lin.damped_solve(damping, rvv)
    if np.all(np.isfinite(a)) and 2.0 * np.linalg.norm(a) <= _GEODESIC_ALPHA * np.linalg.norm(v):
        return v + 0.5 * a
    return v

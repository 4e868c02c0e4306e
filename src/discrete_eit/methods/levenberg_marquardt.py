"""Levenberg–Marquardt loop shared by the ``nn_fast`` and ``ols`` methods (MATH.md §4).

Both methods minimise a sum of squares ``F(θ) = ‖r(θ)‖²`` over ``θ = log γ`` (positivity for
free). A *model* supplies, at any θ, the value F and lazily a linearisation — either the
Gauss–Newton pair ``g = Jᵀr``, ``H = JᵀJ`` (:class:`NormalEquations`) or J and r themselves
(:class:`JacobianSVD`); this module only decides the steps, the damping and when to stop, so
that the two methods share one, tested, stopping logic.

Step: ``(H + μ I) h = −g`` with μ started at ``mu0 · max diag(H)``. θ = log γ is already
dimensionless, so the identity is the natural damping; Marquardt's ``μ·diag(H)`` was tried and
rejected: on the NN loss it lets the weakly determined deep edges run off to γ → ∞ into spurious
valleys of the reduced loss (n ≥ 6, from the constant start).
Damping update: Nielsen's rule (gain ratio ρ; μ ← μ·max(1/3, 1 − (2ρ − 1)³) on success,
μ ← μ·ν, ν ← 2ν on failure).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import scipy.linalg as sla

from discrete_eit.problem.datasets import Dataset

from .registry import Option, Reconstruction

STOP_RULES = ("auto", "converge", "discrepancy")
SOLVERS = ("auto", "normal", "svd")
ACCELERATIONS = ("auto", "geodesic", "none")


def lm_options(max_iterations: int, tau_help: str) -> tuple[Option, ...]:
    """The options every Levenberg–Marquardt method shares (declared once, see ``nn_fast``, ``ols``)."""
    return (
        Option("max_iterations", int, max_iterations, "maximum number of Levenberg-Marquardt steps"),
        Option("tol", float, 1e-12, "convergence tolerance on the step in log γ"),
        Option("tau", float, 1.0, tau_help),
        Option("delta", float, None, "noise level δ for the discrepancy principle (default: the dataset's)"),
        Option("stop", str, "auto", "stopping rule (auto: discrepancy if δ > 0 is known, else converge)",
               choices=STOP_RULES),
        Option("solver", str, "auto", "LM step solver: normal equations JᵀJ (cheap), thin SVD of J "
               "(accurate for ill-conditioned, nearly square problems), or auto", choices=SOLVERS),
        Option("acceleration", str, "auto", "geodesic acceleration of the LM steps (SVD solver only; "
               "auto: on whenever the SVD solver is used)", choices=ACCELERATIONS),
    )
# ``auto`` uses the SVD of J when it has at most this many rows per unknown: then J is nearly
# square (``sigma0``: exactly square), cond(J)² approaches 1/eps at n ≈ 10–12, and the SVD costs
# little more than forming JᵀJ anyway.
_SVD_ROWS_PER_UNKNOWN = 2.0


class NormalEquations:
    """Linearisation given by ``g = Jᵀr`` (P,) and ``H = JᵀJ`` (P, P); steps by Cholesky.

    Cheapest when J has many more rows than columns, but forming H squares the condition number:
    when cond(J) ≳ 1e8 the steps are only as accurate as ``eps · cond(J)²`` allows.
    """

    def __init__(self, g: np.ndarray, H: np.ndarray):
        self.gradient = g
        self.H = H
        self.max_curvature = float(np.max(np.diag(H)))

    def step(self, mu: float) -> np.ndarray | None:
        """Solve ``(H + μI) h = −g``; ``None`` if not numerically SPD."""
        try:
            c = sla.cho_factor(self.H + mu * np.eye(self.H.shape[0]), lower=True)
            h = sla.cho_solve(c, -self.gradient)
        except (np.linalg.LinAlgError, ValueError):
            return None
        return h if np.all(np.isfinite(h)) else None

    def curvature(self, h: np.ndarray) -> float:
        """``‖J h‖² = hᵀ H h``."""
        return float(h @ (self.H @ h))


class JacobianSVD:
    """Linearisation given by the Jacobian J (M, P) and residual r (M,); steps from one thin SVD.

    Every damped step ``h(μ) = −V diag(σ/(σ² + μ)) Uᵀ r`` reuses the SVD, and the accuracy is
    governed by cond(J), not cond(J)² — what severely ill-conditioned, square problems (the
    ``sigma0`` data set) need to converge to rounding level.
    """

    def __init__(self, J: np.ndarray, r: np.ndarray):
        self.U, self.s, self.Vt = sla.svd(J, full_matrices=False, lapack_driver="gesdd")
        self.c = self.U.T @ r                          # r's coordinates in range(J)
        self.gradient = self.Vt.T @ (self.s * self.c)  # Jᵀr
        self.max_curvature = float(np.max(np.sum(J * J, axis=0)))

    def step(self, mu: float) -> np.ndarray | None:
        h = -self.Vt.T @ (self.s * self.c / (self.s ** 2 + mu))
        return h if np.all(np.isfinite(h)) else None

    def jvp(self, v: np.ndarray) -> np.ndarray:
        """``J v`` (M,)."""
        return self.U @ (self.s * (self.Vt @ v))

    def damped_solve(self, mu: float, rvec: np.ndarray) -> np.ndarray:
        """``−(JᵀJ + μI)⁻¹ Jᵀ rvec`` (P,): the step for residual ``rvec`` at damping μ."""
        return -self.Vt.T @ (self.s * (self.U.T @ rvec) / (self.s ** 2 + mu))

    def curvature(self, h: np.ndarray) -> float:
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
        as ``loss <= target`` if discrepancy stopping is on.
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
    history : (T, 5) float64 rows ``(iteration, loss, damping μ, accepted 0/1, monitor)`` — one row
        for the start (iteration 0) and one per tried step; ``loss`` is the loss of the current
        (accepted) iterate after that step, ``monitor`` the caller's monitor at it (NaN if none).
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
                        tau: float = 1.0, mu0: float = 1e-3, max_rejections: int = 40,
                        geodesic: bool = False,
                        monitor: Callable[[np.ndarray], float] | None = None) -> LMResult:
    """Minimise ``F(θ) = ‖r(θ)‖²`` by Levenberg–Marquardt.

    Parameters
    ----------
    evaluate : θ (P,) -> :class:`Evaluation`.
    theta0 : (P,) starting point.
    max_iterations : maximum number of tried steps.
    tol : convergence tolerance: stop when an accepted step has ``‖h‖_∞ <= tol`` (θ is log γ,
        so this is a relative change of γ), or when ``‖g‖_∞ <= tol² · F(θ₀)`` (stationary), or
        when ``F <= (1e-4 · tol)² · F(θ₀)`` (numerically zero residual).
    stop_at_target : stop as soon as ``F <= τ² · target`` (discrepancy principle); checked at the
        start point too.
    tau : discrepancy factor τ.
    mu0 : initial damping relative to the largest curvature ``max_e ‖J[:, e]‖²``.
    max_rejections : consecutive rejected steps after which the loop gives up (``no_progress``:
        μ has grown by ~2^max_rejections without any decrease — the loss is at rounding level).
    geodesic : add geodesic acceleration (Transtrum & Sethna 2012) to the steps whose linearisation
        is a :class:`JacobianSVD` and whose evaluation provides the residual: the second directional
        derivative ``r_vv`` along the LM step v is estimated by one extra residual evaluation,
        ``r_vv ≈ (2/ε)((r(θ + εv) − r(θ))/ε − J v)`` with ε = 0.1, and the step becomes
        ``v + a/2`` with ``a = −(JᵀJ + μI)⁻¹ Jᵀ r_vv`` when ``2‖a‖ <= 0.75‖v‖`` (else plain v).
        It follows curved, nearly flat valleys (``sigma0`` data at n = 12: ~16× fewer iterations).
    monitor : optional θ -> float recorded in the history (e.g. the γ error when the truth is
        known); never used for decisions.

    Returns
    -------
    :class:`LMResult`.
    """
    theta = np.array(theta0, dtype=np.float64)
    ev = evaluate(theta)
    if not np.isfinite(ev.loss):
        raise FloatingPointError("Levenberg-Marquardt: the loss is not finite at the starting point")
    loss0 = ev.loss
    lin = ev.linearize()
    mu = mu0 * max(lin.max_curvature, np.finfo(float).tiny)
    nu = 2.0
    mon = (lambda t: float(monitor(t))) if monitor is not None else (lambda t: np.nan)
    last_mon = mon(theta)
    rows = [(0, ev.loss, mu, 1, last_mon)]

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
            h = lin.step(mu)
            # Predicted decrease of the linear model ‖r + J h‖²: −2 hᵀg − ‖J h‖² (for the
            # velocity h; the acceleration is a second-order correction the model cannot see).
            pred = -2.0 * (h @ lin.gradient) - lin.curvature(h) if h is not None else 0.0
            if h is not None and geodesic and isinstance(lin, JacobianSVD) and ev.residual is not None:
                h = _accelerated(evaluate, theta, h, lin, ev.residual(), mu)
            new = evaluate(theta + h) if h is not None else None
            if new is not None and np.isfinite(new.loss) and new.loss < ev.loss and pred > 0:
                rho = (ev.loss - new.loss) / pred
                theta = theta + h
                ev = new
                lin = ev.linearize()
                mu *= max(1.0 / 3.0, 1.0 - (2.0 * rho - 1.0) ** 3)
                nu = 2.0
                accepted += 1
                rejections = 0
                last_mon = mon(theta)
                rows.append((iterations, ev.loss, mu, 1, last_mon))
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
                mu *= nu
                nu *= 2.0
                rejections += 1
                rows.append((iterations, ev.loss, mu, 0, last_mon))
                if rejections >= max_rejections or not np.isfinite(mu):
                    stop_reason = "no_progress"
                    break
    target = np.nan if ev.target is None else float(ev.target)
    return LMResult(theta=theta, loss=float(ev.loss), target=target, iterations=iterations,
                    accepted=accepted, stop_reason=stop_reason,
                    history=np.asarray(rows, dtype=np.float64).reshape(-1, 5))


_GEODESIC_EPS = 0.1      # finite-difference step (relative to v) for r_vv
_GEODESIC_ALPHA = 0.75   # accept the acceleration only while 2‖a‖ <= α‖v‖ (Transtrum & Sethna)


def _accelerated(evaluate, theta: np.ndarray, v: np.ndarray, lin: JacobianSVD, r: np.ndarray,
                 mu: float) -> np.ndarray:
    """``v + a/2`` with the geodesic acceleration a, or v when a is unusable or too large."""
    probe = evaluate(theta + _GEODESIC_EPS * v)
    if probe.residual is None or not np.isfinite(probe.loss):
        return v
    eps = _GEODESIC_EPS
    rvv = (2.0 / eps) * ((probe.residual() - r) / eps - lin.jvp(v))
    a = lin.damped_solve(mu, rvv)
    if np.all(np.isfinite(a)) and 2.0 * np.linalg.norm(a) <= _GEODESIC_ALPHA * np.linalg.norm(v):
        return v + 0.5 * a
    return v


# ---- plumbing shared by the nn_fast and ols methods -----------------------------------------
def use_svd_steps(solver: str, n_residuals: int, n_unknowns: int) -> bool:
    """True for :class:`JacobianSVD` steps: ``svd``, or ``auto`` when J has ≤ 2 rows per unknown."""
    if solver not in SOLVERS:
        raise ValueError(f"solver must be one of {', '.join(SOLVERS)}, got {solver!r}")
    if solver == "auto":
        return n_residuals <= _SVD_ROWS_PER_UNKNOWN * n_unknowns
    return solver == "svd"


def use_geodesic(acceleration: str, svd_steps: bool) -> bool:
    """Geodesic acceleration on? ``geodesic`` (needs SVD steps), ``none``, or ``auto`` (= svd_steps)."""
    if acceleration not in ACCELERATIONS:
        raise ValueError(f"acceleration must be one of {', '.join(ACCELERATIONS)}, got {acceleration!r}")
    if acceleration == "geodesic" and not svd_steps:
        raise ValueError("acceleration=geodesic needs the SVD step solver (solver=svd)")
    return svd_steps if acceleration == "auto" else acceleration == "geodesic"


def resolve_delta(dataset: Dataset, delta: float | None) -> float | None:
    """The noise level to use: the explicit option, else ``dataset.params['delta']``, else None."""
    def missing(x) -> bool:
        return x is None or (isinstance(x, (float, np.floating)) and np.isnan(x))
    if missing(delta):
        delta = dataset.params.get("delta") if dataset.params else None
    if missing(delta):
        return None
    delta = float(delta)
    if not (np.isfinite(delta) and delta >= 0):
        raise ValueError(f"noise level delta must be finite and >= 0, got {delta}")
    return delta


def resolve_stop(stop: str, delta: float | None, method: str) -> str:
    """``auto`` → ``discrepancy`` when δ > 0 is known, else ``converge``; checks the combination."""
    if stop not in STOP_RULES:
        raise ValueError(f"{method}: stop must be one of {', '.join(STOP_RULES)}, got {stop!r}")
    if stop == "auto":
        return "discrepancy" if delta else "converge"
    if stop == "discrepancy" and not delta:
        raise ValueError(f"{method}: stop=discrepancy needs a noise level delta > 0 (option --delta "
                         "or the dataset's params['delta'])")
    return stop


def lm_reconstruction(result: LMResult, dataset: Dataset, stop: str, delta: float | None,
                      tau: float, extra_info: dict, extra_arrays: dict) -> Reconstruction:
    """Package an :class:`LMResult` (θ = log γ) as a :class:`Reconstruction` (shared with ``ols``)."""
    gamma = np.exp(result.theta)
    info = {
        "iterations": int(result.iterations),
        "accepted_steps": int(result.accepted),
        "stop": stop,
        "stop_reason": result.stop_reason,
        "final_loss": float(result.loss),
        "discrepancy_level": (None if not np.isfinite(result.target) or not delta
                              else float(tau * tau * result.target)),
        "delta": delta,
        "tau": float(tau),
        "history_columns": ["iteration", "loss", "damping", "accepted", "gamma_error"],
    }
    if dataset.gamma_true is not None:
        gt = dataset.gamma_true
        info["relative_error"] = float(np.linalg.norm(gamma - gt) / np.linalg.norm(gt))
    info.update(extra_info)
    arrays = {"history": result.history}
    arrays.update(extra_arrays)
    return Reconstruction(gamma=gamma, arrays=arrays, info=info)


def relative_error_monitor(dataset: Dataset):
    """θ ↦ ‖exp θ − γ†‖/‖γ†‖ when the truth is known, else None (history column ``gamma_error``)."""
    gt = dataset.gamma_true
    if gt is None:
        return None
    norm = np.linalg.norm(gt)
    return lambda theta: np.linalg.norm(np.exp(theta) - gt) / norm

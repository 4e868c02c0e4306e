"""Least squares in θ = log γ by Levenberg–Marquardt: what the LM methods share (MATH.md §4).

``nn_fast``, ``ols`` and ``tikhonov`` minimise a misfit ``F(γ) = ‖r(γ)‖²`` of a DtN model against
the data (``tikhonov`` adds a :class:`QuadraticPenalty`). This module is their one entry point to
the generic solver :func:`~.levenberg_marquardt.levenberg_marquardt`: the shared options
(:func:`lm_options`), their resolution against a dataset (:func:`lm_settings`: noise level δ,
stopping rule), the choice of step solver and acceleration, the run in θ = log γ
(:func:`minimize_log_gamma`: positivity for free, the chain rule ``J_θ = J diag(γ)``, the
discrepancy target ``δ² · E F(γ†)/δ²``) and the packaging of the result (:func:`lm_reconstruction`).
A method supplies only its model at a γ (:class:`ModelPoint`), its
start and its extra outputs.

Stopping (``stop``): ``discrepancy`` — the first iterate with ``F(γ) <= τ² δ² ν(γ)``, ν the
model's ``noise_factor`` (Morozov's principle [1]_, which makes Levenberg–Marquardt an iterative
regularisation method [2]_); ``converge`` — until step, gradient or loss reach rounding level;
``auto`` — discrepancy when δ > 0 is known and the data carry the relative noise model (or an
unknown one), else converge. The discrepancy target is the expected misfit at the truth under the
*relative* model (MATH.md §3); for another model (``additive``, ``student_t``, ``gain``) ``auto``
converges and says so on stderr, and an explicit ``discrepancy`` is honoured with a warning.

References
----------
.. [1] V. A. Morozov, "On the solution of functional equations by the method of regularization",
   Soviet Math. Dokl. 7 (1966), 414–417.
.. [2] M. Hanke, "A regularizing Levenberg-Marquardt scheme, with applications to inverse
   groundwater filtration problems", Inverse Problems 13 (1997), 79–95.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from discrete_eit.problem.datasets import Dataset
from discrete_eit.problem.metrics import relative_l2_error
from discrete_eit.problem.noise import DEFAULT_NOISE_MODEL

from .levenberg_marquardt import Evaluation, JacobianSVD, LMResult, NormalEquations, levenberg_marquardt
from .registry import Option, Reconstruction

LM_STOP_RULES = ("auto", "converge", "discrepancy")
SOLVERS = ("auto", "normal", "svd")
ACCELERATIONS = ("auto", "geodesic", "none")
log = logging.getLogger(__name__)

HISTORY_COLUMNS = (*LMResult.HISTORY_COLUMNS[:-1], "gamma_error")
"""Columns of ``arrays['history']``: the solver's, with its monitor being the relative γ error."""

# ``auto`` uses the SVD of J when it has at most this many rows per unknown: then J is nearly
# square (``sigma0``: exactly square), cond(J)² approaches 1/eps at n ≈ 10–12, and the SVD costs
# little more than forming JᵀJ anyway.
_SVD_ROWS_PER_UNKNOWN = 2.0


def default_max_iterations(n: int) -> int:
    """The default cap on Levenberg–Marquardt steps at lattice size n: ``max(200, ⌊4·2^(n/2)⌋)``.

    The steps exact data need grow about geometrically with n (the problem's conditioning does),
    so the cap does too; it lies ≥ 2× above what ``nn_fast`` and ``ols`` need on exact wave data
    up to n = 16 (measured: benchmarks/solver_caps.py, docs/workflow.md), and noisy data stop far
    earlier by the discrepancy principle.
    """
    return max(200, int(4 * 2 ** (n / 2)))


def lm_options(tau_help: str) -> tuple[Option, ...]:
    """The options of every method built on :func:`minimize_log_gamma`.

    Only the help of ``tau`` (which states the method's discrepancy level) differs between methods.
    """
    return (
        Option("max_iterations", int, None, "maximum number of Levenberg-Marquardt steps (default: "
               "max(200, 4·2^(n/2)), enough for exact data up to n = 16)", minimum=1),
        Option("tol", float, 1e-12, "convergence tolerance on the step in log γ"),
        Option("tau", float, 1.0, tau_help),
        Option("delta", float, None, "noise level δ for the discrepancy principle (default: the dataset's)",
               maximum=1),
        Option("stop", str, "auto", "stopping rule (auto: discrepancy if δ > 0 is known, else converge)",
               choices=LM_STOP_RULES),
        Option("solver", str, "auto", "LM step solver: normal equations JᵀJ (cheap), thin SVD of J "
               "(accurate for ill-conditioned, nearly square problems), or auto", choices=SOLVERS),
        Option("acceleration", str, "auto", "geodesic acceleration of the LM steps (SVD solver only; "
               "auto: on whenever the SVD solver is used)", choices=ACCELERATIONS),
    )


class ModelPoint(Protocol):
    """A misfit model evaluated at one γ (E,), as :func:`minimize_log_gamma` needs it.

    Attributes
    ----------
    loss : F(γ) = ‖r(γ)‖².
    noise_factor : E F(γ†) / δ² under the noise model of MATH.md §3 (the discrepancy level per δ²).
    """

    loss: float
    noise_factor: float

    def residual(self) -> np.ndarray:
        """r(γ), shape (M,)."""

    def jacobian(self, scale: np.ndarray) -> np.ndarray:
        """``J diag(scale)``, shape (M, E), J = ∂r/∂γ."""

    def gauss_newton(self, scale: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(diag(s) Jᵀr, diag(s) JᵀJ diag(s))``, shapes (E,) and (E, E), s = ``scale``."""


@dataclass(frozen=True)
class LMSettings:
    """The shared options, resolved against a dataset by :func:`lm_settings`.

    ``method`` names the method in messages; ``max_iterations`` is the cap in use (never None),
    ``delta`` the noise level in use (None when unknown), ``stop`` is ``converge`` or
    ``discrepancy`` (never ``auto``); the others are the options of :func:`lm_options` as given.
    """

    method: str
    max_iterations: int
    tol: float
    tau: float
    delta: float | None
    stop: str
    solver: str
    acceleration: str


def lm_settings(dataset: Dataset, method: str, *, max_iterations: int | None, tol: float, tau: float,
                delta: float | None, stop: str, solver: str, acceleration: str) -> LMSettings:
    """Resolve δ (the option, else the dataset's), ``stop=auto`` and the default cap; check the choices.

    ``method`` names the method in error messages.
    """
    for name, value, choices in (("stop", stop, LM_STOP_RULES), ("solver", solver, SOLVERS),
                                 ("acceleration", acceleration, ACCELERATIONS)):
        if value not in choices:
            raise ValueError(f"{method}: {name} must be one of {', '.join(choices)}, got {value!r}")
    delta, origin = _noise_level(dataset, delta)
    relative = dataset.noise_model in (None, DEFAULT_NOISE_MODEL)   # None: unknown, taken as the paper's
    if stop == "auto":
        stop = "discrepancy" if delta and relative else "converge"
        if delta and not relative:
            log.warning("%s: %s: noise model %r: stop=auto converges (the discrepancy target assumes the "
                        "relative model)", method, dataset.source, dataset.noise_model)
    elif stop == "discrepancy" and not delta:
        raise ValueError(f"{method}: stop=discrepancy needs a noise level delta > 0 (option --delta "
                         "or the dataset's delta)")
    elif stop == "discrepancy" and not relative:
        log.warning("%s: %s: stop=discrepancy with noise model %r: the target assumes the relative model",
                    method, dataset.source, dataset.noise_model)
    # One line saying which rule runs and why: for a measured matrix (δ unknown) the rule depends
    # on whether --delta was given, which a user cannot see in the result otherwise.
    log.info("%s: stop rule %s (%s)", method, stop,
             "δ unknown" if delta is None else f"δ = {delta:g} from {origin}")
    if max_iterations is None:
        max_iterations = default_max_iterations(dataset.n)
    return LMSettings(method, int(max_iterations), tol, tau, delta, stop, solver, acceleration)


def _noise_level(dataset: Dataset, delta: float | None) -> tuple[float | None, str]:
    """The explicit δ, else the dataset's (a field of its file), else None; checked finite and >= 0.

    Returns ``(δ, origin)``, origin ``--delta`` or ``the dataset`` (``""`` when δ is None).
    """
    def missing(x) -> bool:
        return x is None or (isinstance(x, (float, np.floating)) and np.isnan(x))
    origin = "--delta"
    if missing(delta):
        delta, origin = dataset.delta, "the dataset"
    if missing(delta):
        return None, ""
    delta = float(delta)
    if not (np.isfinite(delta) and delta >= 0):
        raise ValueError(f"noise level delta must be finite and >= 0, got {delta}")
    return delta, origin


@dataclass(frozen=True)
class QuadraticPenalty:
    """A Tikhonov term ``α ‖L(θ − θ₀)‖²`` added to a model's misfit (``tikhonov``, MATH.md §4).

    It enters the sum of squares as the extra residual block ``p(θ) = √α L(θ − θ₀)`` with the
    constant Jacobian ``√α L``, so Levenberg–Marquardt minimises ``F(e^θ) + α ‖L(θ − θ₀)‖²``
    unchanged.

    Attributes
    ----------
    operator : (P, E) L, dimensionless (θ is).
    reference : (E,) θ₀.
    alpha : α >= 0.
    """

    operator: np.ndarray
    reference: np.ndarray
    alpha: float

    def value(self, theta: np.ndarray) -> float:
        """The unweighted penalty ``‖L(θ − θ₀)‖²`` (without α)."""
        d = self.operator @ (theta - self.reference)
        return float(d @ d)

    def residual(self, theta: np.ndarray) -> np.ndarray:
        """(P,) the residual block ``√α L(θ − θ₀)``."""
        return np.sqrt(self.alpha) * (self.operator @ (theta - self.reference))

    @property
    def jacobian(self) -> np.ndarray:
        """(P, E) ``√α L``."""
        return np.sqrt(self.alpha) * self.operator


def use_svd_steps(n_residuals: int, n_unknowns: int, solver: str) -> bool:
    """Whether steps come from the SVD of J: ``solver=svd``, or ``auto`` with M <= 2E rows."""
    return n_residuals <= _SVD_ROWS_PER_UNKNOWN * n_unknowns if solver == "auto" else solver == "svd"


def log_gamma_objective(point_at: Callable[[np.ndarray], ModelPoint], svd_steps: bool,
                        delta: float | None,
                        penalty: QuadraticPenalty | None = None) -> Callable[[np.ndarray], Evaluation]:
    """θ ↦ :class:`Evaluation` of the misfit ``F(e^θ)`` (plus ``penalty``), as LM consumes it.

    Parameters
    ----------
    point_at : γ (E,) -> :class:`ModelPoint`; called only for finite, positive γ.
    svd_steps : linearise as J and r (:class:`JacobianSVD`) rather than ``Jᵀr, JᵀJ``.
    delta : noise level δ (None or 0: no discrepancy target).
    penalty : an optional Tikhonov block; without it the evaluation is that of the plain misfit,
        operation for operation (``ols`` and ``nn_fast`` are unchanged by its existence).

    The discrepancy target is that of the misfit alone, ``δ² ν(γ)``, also with a penalty.
    """
    delta2 = delta ** 2 if delta else None

    def evaluate(theta: np.ndarray) -> Evaluation:
        with np.errstate(over="ignore", under="ignore"):
            gamma = np.exp(theta)
        if not np.all(np.isfinite(gamma)) or np.any(gamma <= 0):
            return Evaluation(np.inf, lambda: None, None)     # rejected by the loop
        point = point_at(gamma)

        def linearize():
            # Chain rule to θ = log γ, J_θ = J diag(γ); the model applies the column scale where it
            # builds J (ols folds it into its transposed build).
            if svd_steps:
                if penalty is None:
                    return JacobianSVD(point.jacobian(gamma), point.residual())
                return JacobianSVD(np.vstack([point.jacobian(gamma), penalty.jacobian]),
                                   np.concatenate([point.residual(), penalty.residual(theta)]))
            if penalty is None:
                return NormalEquations(*point.gauss_newton(gamma))
            g, H = point.gauss_newton(gamma)
            A = penalty.jacobian
            return NormalEquations(g + A.T @ penalty.residual(theta), H + A.T @ A)
        target = point.noise_factor * delta2 if delta2 is not None else None
        if penalty is None:
            return Evaluation(point.loss, linearize, target, point.residual)
        return Evaluation(point.loss + penalty.alpha * penalty.value(theta), linearize, target,
                          lambda: np.concatenate([point.residual(), penalty.residual(theta)]))

    return evaluate


def minimize_log_gamma(point_at: Callable[[np.ndarray], ModelPoint], theta0: np.ndarray,
                       n_residuals: int, settings: LMSettings,
                       gamma_true: np.ndarray | None = None,
                       penalty: QuadraticPenalty | None = None) -> LMResult:
    """Minimise a model's misfit F (plus an optional Tikhonov penalty) over θ = log γ by Levenberg–Marquardt.

    Parameters
    ----------
    point_at : γ (E,) -> :class:`ModelPoint`; called only for finite, positive γ.
    theta0 : (E,) start, log γ₀.
    n_residuals : M, the length of the misfit's residual (``solver=auto`` takes the SVD when M <= 2E).
    settings : the resolved shared options.
    gamma_true : (E,) the truth, if known: the history's last column is then the relative ℓ²
        error of exp θ (NaN otherwise).
    penalty : minimise ``F + α‖L(θ − θ₀)‖²`` instead of F (:func:`log_gamma_objective`); the
        history's ``loss`` is then that sum.

    Returns
    -------
    LMResult
        In θ: ``gamma = exp(result.theta)``.
    """
    svd_steps = use_svd_steps(n_residuals, theta0.size, settings.solver)
    if settings.acceleration == "geodesic" and not svd_steps:
        raise ValueError("acceleration=geodesic needs the SVD step solver (solver=svd)")
    geodesic = svd_steps if settings.acceleration == "auto" else settings.acceleration == "geodesic"
    evaluate = log_gamma_objective(point_at, svd_steps, settings.delta, penalty)
    return levenberg_marquardt(evaluate, theta0, max_iterations=settings.max_iterations, tol=settings.tol,
                               stop_at_target=(settings.stop == "discrepancy"), tau=settings.tau,
                               geodesic=geodesic, monitor=gamma_error_monitor(gamma_true))


def gamma_error_monitor(gamma_true: np.ndarray | None) -> Callable[[np.ndarray], float] | None:
    """θ ↦ ‖exp θ − γ†‖₂/‖γ†‖₂ (history column ``gamma_error``); None when the truth is unknown."""
    if gamma_true is None:
        return None
    return lambda theta: relative_l2_error(np.exp(theta), gamma_true)


def lm_reconstruction(result: LMResult, dataset: Dataset, settings: LMSettings,
                      extra_info: dict | None = None,
                      extra_arrays: dict[str, np.ndarray] | None = None) -> Reconstruction:
    """Package a :func:`minimize_log_gamma` result as a :class:`Reconstruction`.

    ``gamma = exp θ``; ``arrays['history']`` (T, 5) with columns :data:`HISTORY_COLUMNS`; ``info``
    has iterations, max_iterations (the cap), accepted_steps, stop, stop_reason, final_loss,
    discrepancy_level (τ²δ²ν at the final iterate, None without δ), delta, tau, history_columns
    and, when the truth is known, relative_error; then ``extra_info``. ``extra_arrays`` join the history.
    """
    gamma = np.exp(result.theta)
    delta, tau = settings.delta, settings.tau
    if result.stop_reason == "max_iterations":  # a capped run must not pass for a converged one
        log.warning("%s: %s: stopped by its cap of %d iterations before converging (stop_reason "
                    "max_iterations; raise --max-iterations)", settings.method, dataset.source,
                    settings.max_iterations)
    info = {
        "iterations": int(result.iterations),
        "max_iterations": settings.max_iterations,
        "accepted_steps": int(result.accepted),
        "stop": settings.stop,
        "stop_reason": result.stop_reason,
        "final_loss": float(result.loss),
        "discrepancy_level": (None if not np.isfinite(result.target) or not delta
                              else float(tau * tau * result.target)),
        "delta": delta,
        "tau": float(tau),
        "history_columns": list(HISTORY_COLUMNS),
    }
    if dataset.gamma_true is not None:
        info["relative_error"] = relative_l2_error(gamma, dataset.gamma_true)
    info.update(extra_info or {})
    return Reconstruction(gamma=gamma, arrays={"history": result.history, **(extra_arrays or {})},
                          info=info)

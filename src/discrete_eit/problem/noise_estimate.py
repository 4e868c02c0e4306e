"""The noise level δ from a noisy DtN matrix itself (MATH.md §3; docs/real_data.md).

An exact DtN map is symmetric with zero row sums (MATH.md §2). Noise that is not symmetrised
breaks both, by an amount set by δ, so the data reveal their own noise level. For each measured
pair i < j (both Λ^δ_ij and Λ^δ_ji measured) let

    d_ij = Λ^δ_ij − Λ^δ_ji      (twice the antisymmetric part),
    s_ij = (Λ^δ_ij + Λ^δ_ji)/2  (the symmetric part, ≈ Λ_ij),

and for each completely measured row i let ``r_i = Σ_j Λ^δ_ij`` (0 for exact data). Each
registered noise model (:mod:`.noise`) gets its own estimator, derived from its definition:

``relative`` (``Λ^δ_ij = Λ_ij (1 + δ ξ_ij)``, ξ iid N(0, 1))
    ``d_ij / s_ij = δ (ξ_ij − ξ_ji) + O(δ²) ~ N(0, 2δ²)`` and ``r_i ~ N(0, δ² Σ_j Λ_ij²)``: every
    pair and every complete row is one Gaussian deviate of variance δ² after scaling,
    ``δ̂² = mean(½ (d/s)², r_i² / Σ_j (Λ^δ_ij)²)``.
``additive`` (``Λ^δ = Λ + δ M ξ``, M = max|Λ|)
    ``d_ij / M ~ N(0, 2δ²)``, ``r_i / M ~ N(0, 4n δ²)`` (4n entries per row); M from max|Λ^δ|.
``student_t`` (the relative scale, ξ = t₃/√3)
    The mean of squares has infinite variance for t₃ (infinite kurtosis), so the pairs alone,
    robustly: ``δ̂ = median|d/s| / κ``, κ = median|ξ₁ − ξ₂| for two independent unit-variance t₃
    variables (:data:`T3_DIFF_MEDIAN`, from the characteristic function ``(1 + |s|)² e^{−2|s|}`` of
    ξ₁ − ξ₂). The row sums mix a row's t₃ terms with unequal weights: no fixed law, not used.
``gain`` (``Λ^δ = diag(1 + δa) Λ diag(1 + δb)``)
    Λ has the null vector 1 on both sides, so ``Λ^δ`` is exactly singular with right null vector
    ∝ 1/(1 + δb) and left null vector ∝ 1/(1 + δa) (with no linearisation). Their logarithms,
    centred, are −δ(b − b̄) and −δ(a − ā) up to O(δ²): 2(4n − 1) deviates of variance δ².
    Needs every entry (the singular vectors of the whole matrix); also works for symmetrised
    gains (b = a; then the two vectors are the same, 4n − 1 deviates).

Refusals (``ValueError``, one line): fewer than :data:`MIN_SAMPLES` deviates (a partial set with
few measured pairs such as ``sigma0``); an antisymmetric part at rounding level
(:data:`ROUNDING_FLOOR`: the noise was symmetrised, or the data are exact — the data cannot tell
which, nor δ); row sums and pairs that disagree by more than :data:`DISAGREEMENT` (noise partly
symmetrised, or not of the assumed model); a model with no registered estimator.

Accuracy (measured: tests/problem/test_noise_estimate.py, docs/real_data.md): the relative
standard error of δ̂ is ``1/√(2k)`` for k Gaussian deviates (k = 300 at n = 6, full data: 4 %),
``1.24/√k`` for the median of ``student_t``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .noise import DEFAULT_NOISE_MODEL, NOISE_MODELS

MIN_SAMPLES = 20
"""Fewest independent deviates an estimate may rest on (relative standard error ≤ 16 %)."""
ROUNDING_FLOOR = 1e-10
"""A δ̂ below this is rounding of an exact (or exactly symmetrised) matrix, not noise."""
DISAGREEMENT = 2.0
"""The pairs' and the row sums' estimates may differ by at most this factor (at n = 6 they differ by
< 1.4 for every seed measured; 2 is > 5 standard errors)."""
T3_DIFF_MEDIAN = 0.6978275786976623
"""κ = median|ξ₁ − ξ₂|, ξ iid t₃/√3 (unit variance): Gil-Pelaez inversion of the characteristic
function (1 + |s|)² e^{−2|s|} (checked against Monte Carlo in the tests)."""
T3_MEDIAN_SE = 1.2406855709956968
"""``√k ×`` the relative standard error of ``median|d/s|/κ`` over k pairs: 1/(2 f(κ) κ), f the
density of |ξ₁ − ξ₂| at κ."""


@dataclass(frozen=True)
class NoiseEstimate:
    """δ estimated from the data.

    Attributes
    ----------
    delta : float, the estimated noise level δ̂ (dimensionless, as the model defines δ).
    model : the assumed noise model (a name in :data:`~.noise.NOISE_MODELS`).
    samples : the number of independent deviates δ̂ rests on (measured pairs, complete rows, or
        the components of the null vectors for ``gain``).
    relative_std_error : float, the standard error of δ̂ / δ expected from ``samples``.
    parts : {name: δ̂ of that part alone}, e.g. ``{"pairs": ..., "rows": ...}`` (diagnostics).
    """

    delta: float
    model: str
    samples: int
    relative_std_error: float
    parts: dict[str, float]

    def as_info(self) -> dict:
        """The JSON-serialisable record a reconstruction's sidecar keeps (``info``)."""
        return {"delta_estimate": self.delta, "delta_model": self.model, "delta_samples": self.samples,
                "delta_relative_std_error": self.relative_std_error}


Estimator = Callable[[np.ndarray, np.ndarray], NoiseEstimate]
NOISE_ESTIMATORS: dict[str, Estimator] = {}
"""Registry: noise model name -> function(dtn, mask) -> :class:`NoiseEstimate` (one per model)."""


def register_noise_estimator(model: str):
    """Decorator registering the δ estimator of the noise model ``model``."""
    def deco(func: Estimator) -> Estimator:
        NOISE_ESTIMATORS[model] = func
        return func
    return deco


def estimate_noise_level(dtn: np.ndarray, mask: np.ndarray | None = None,
                         model: str = DEFAULT_NOISE_MODEL) -> NoiseEstimate:
    """δ̂ of the noise model ``model`` from a noisy DtN matrix (module docstring).

    Parameters
    ----------
    dtn : (4n, 4n) float, the measured Λ^δ (values on unmeasured entries are ignored).
    mask : (4n, 4n) bool, True where measured (default: the finite entries of ``dtn``).
    model : the assumed noise model.

    Returns
    -------
    :class:`NoiseEstimate`. ``ValueError`` (one line) where the data cannot tell δ.
    """
    if model not in NOISE_MODELS:
        raise ValueError(f"noise model {model!r} is unknown; known: {', '.join(sorted(NOISE_MODELS))}")
    if model not in NOISE_ESTIMATORS:
        raise ValueError(f"noise model {model!r} has no δ estimator (models with one: "
                         f"{', '.join(sorted(NOISE_ESTIMATORS))}); give δ explicitly")
    dtn = np.asarray(dtn, dtype=np.float64)
    mask = np.isfinite(dtn) if mask is None else np.asarray(mask, dtype=bool)
    if dtn.ndim != 2 or dtn.shape[0] != dtn.shape[1] or mask.shape != dtn.shape:
        raise ValueError(f"estimate_noise_level: dtn and mask must be square of one shape, got {dtn.shape} "
                         f"and {mask.shape}")
    return NOISE_ESTIMATORS[model](np.where(mask, dtn, 0.0), mask)


def estimate_dataset_noise(dataset, model: str = DEFAULT_NOISE_MODEL) -> NoiseEstimate:
    """:func:`estimate_noise_level` of a :class:`~.datasets.Dataset`; errors name its source."""
    try:
        return estimate_noise_level(dataset.dtn, dataset.mask, model)
    except ValueError as exc:
        raise ValueError(f"{dataset.source}: {exc}") from None


# ---- the parts: measured pairs and complete rows --------------------------------------------------
def _pairs(dtn: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(d, s) over the pairs i < j with both entries measured: (m,) each."""
    i, j = np.nonzero(np.triu(mask & mask.T, 1))
    return dtn[i, j] - dtn[j, i], (dtn[i, j] + dtn[j, i]) / 2


def _complete_rows(dtn: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The rows measured completely: (k, 4n)."""
    return dtn[mask.all(axis=1)]


def _check_samples(model: str, samples: int, what: str) -> None:
    if samples < MIN_SAMPLES:
        raise ValueError(f"noise level ({model}): too few measured entries to tell δ: {what} give {samples} "
                         f"deviate(s), {MIN_SAMPLES} are needed; give δ explicitly")


def _check_not_symmetrised(model: str, delta_pairs: float, n_pairs: int) -> None:
    if not delta_pairs >= ROUNDING_FLOOR:  # also NaN
        raise ValueError(f"noise level ({model}): the antisymmetric part of Λ^δ is at rounding level "
                         f"(δ ≈ {delta_pairs:.1e} from {n_pairs} measured pairs): the noise was symmetrised "
                         "(or the data are exact), so the data cannot tell δ; give δ explicitly")


def _pooled(model: str, pair_dev: np.ndarray, row_dev: np.ndarray) -> NoiseEstimate:
    """δ̂ from Gaussian deviates of variance δ²: pairs (m,) and rows (k,), pooled."""
    m, k = pair_dev.size, row_dev.size
    _check_samples(model, m + k, f"{m} measured pair(s) and {k} complete row(s)")
    parts = {}
    if m:
        parts["pairs"] = float(np.sqrt(np.mean(pair_dev ** 2)))
        _check_not_symmetrised(model, parts["pairs"], m)
    if k:
        parts["rows"] = float(np.sqrt(np.mean(row_dev ** 2)))
    if m >= MIN_SAMPLES // 2 and k >= MIN_SAMPLES // 2:  # both informative: they must agree
        ratio = parts["rows"] / parts["pairs"]
        if not 1 / DISAGREEMENT <= ratio <= DISAGREEMENT:
            raise ValueError(f"noise level ({model}): the row sums say δ ≈ {parts['rows']:.2e}, the "
                             f"antisymmetric part δ ≈ {parts['pairs']:.2e} (ratio {ratio:.2g}): the noise is "
                             f"partly symmetrised or not of the {model} model; give δ explicitly")
    delta = float(np.sqrt(np.mean(np.concatenate([pair_dev, row_dev]) ** 2)))
    return NoiseEstimate(delta, model, m + k, 1 / np.sqrt(2 * (m + k)), parts)


def _relative_deviates(dtn: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    d, s = _pairs(dtn, mask)
    keep = s != 0  # an exactly zero entry carries no relative noise
    rows = _complete_rows(dtn, mask)
    norms = np.sqrt((rows ** 2).sum(axis=1))
    return d[keep] / s[keep] / np.sqrt(2), rows.sum(axis=1)[norms > 0] / norms[norms > 0]


@register_noise_estimator("relative")
def relative(dtn: np.ndarray, mask: np.ndarray) -> NoiseEstimate:
    """Pairs ``d/(√2 s)`` and rows ``r_i/‖Λ^δ_i‖``, each N(0, δ²), pooled."""
    return _pooled("relative", *_relative_deviates(dtn, mask))


@register_noise_estimator("additive")
def additive(dtn: np.ndarray, mask: np.ndarray) -> NoiseEstimate:
    """Pairs ``d/(√2 M)`` and rows ``r_i/(√(4n) M)``, each N(0, δ²), M = max|Λ^δ|, pooled."""
    scale = float(np.max(np.abs(dtn)))
    if not scale > 0:
        raise ValueError("noise level (additive): every measured entry is zero")
    d, _ = _pairs(dtn, mask)
    rows = _complete_rows(dtn, mask)
    return _pooled("additive", d / (np.sqrt(2) * scale), rows.sum(axis=1) / (np.sqrt(dtn.shape[1]) * scale))


@register_noise_estimator("student_t")
def student_t(dtn: np.ndarray, mask: np.ndarray) -> NoiseEstimate:
    """``median|d/s| / κ`` over the measured pairs (robust to t₃'s tails; rows not used)."""
    d, s = _pairs(dtn, mask)
    keep = s != 0
    ratio = np.abs(d[keep] / s[keep])
    m = ratio.size
    _check_samples("student_t", m, f"{m} measured pair(s)")
    delta = float(np.median(ratio) / T3_DIFF_MEDIAN)
    _check_not_symmetrised("student_t", delta, m)
    return NoiseEstimate(delta, "student_t", m, T3_MEDIAN_SE / np.sqrt(m), {"pairs": delta})


@register_noise_estimator("gain")
def gain(dtn: np.ndarray, mask: np.ndarray) -> NoiseEstimate:
    """The spread of the logarithms of Λ^δ's left and right null vectors (1/(1 + δa), 1/(1 + δb))."""
    nb = dtn.shape[0]
    if not mask.all():
        raise ValueError(f"noise level (gain): needs every entry of Λ^δ measured (its null vectors), "
                         f"{int((~mask).sum())} of {nb * nb} are not; give δ explicitly")
    _check_samples("gain", 2 * (nb - 1), f"{nb} electrodes")
    u, sv, vt = np.linalg.svd(dtn)
    left, right = u[:, -1], vt[-1]
    if sv[-2] <= 0 or sv[-1] > 1e-3 * sv[-2]:
        raise ValueError(f"noise level (gain): Λ^δ is not singular (smallest singular values {sv[-1]:.2e}, "
                         f"{sv[-2]:.2e}): the errors are not electrode gains alone; give δ explicitly")
    devs = []
    for vec in (left, right):
        vec = vec * np.sign(vec.sum())
        if np.any(vec <= 0):
            raise ValueError("noise level (gain): a null vector of Λ^δ changes sign: not 1/(1 + δ·gain) for "
                             "any δ < 1; give δ explicitly")
        logs = np.log(vec)
        devs.append(logs - logs.mean())
    k = 2 * (nb - 1)
    delta = float(np.sqrt(sum(np.sum(x ** 2) for x in devs) / k))
    if not delta >= ROUNDING_FLOOR:
        raise ValueError(f"noise level (gain): the null vectors of Λ^δ are constant to rounding (δ ≈ "
                         f"{delta:.1e}): the data are exact, so they cannot tell δ; give δ explicitly")
    parts = {"rows": float(np.sqrt(np.sum(devs[0] ** 2) / (nb - 1))),
             "columns": float(np.sqrt(np.sum(devs[1] ** 2) / (nb - 1)))}
    return NoiseEstimate(delta, "gain", k, 1 / np.sqrt(2 * k), parts)

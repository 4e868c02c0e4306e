"""Noise models on DtN data: a registry like the partial sets (MATH.md §3).

A noise model maps the exact Λ, a level δ ≥ 0, a random generator and the ``symmetric`` flag to
the noisy Λ^δ. Its name is part of a dataset's identity (the dataset field ``noise_model``).
Adding a model is one ``@register_noise_model`` function. Models (n = 4n boundary nodes):

``relative`` (the paper's, the default)
    ``Λ^δ = Λ + δ · Λ ⊙ ξ``, ξ iid N(0, 1) per entry: entry (i, j) has std δ |Λ_ij|.
``additive``
    ``Λ^δ = Λ + δ · max|Λ| · ξ``, ξ iid N(0, 1): a noise floor of the same std on every entry,
    δ relative to the largest entry (small entries get relatively much more noise).
``student_t``
    ``Λ^δ = Λ + δ · Λ ⊙ ξ`` with ξ iid Student-t with ν = 3 degrees of freedom scaled to unit
    variance (ξ = t / √3): the relative model's scale with heavy tails (outliers; the kurtosis of
    t₃ is infinite). ν is fixed, not a parameter: another ν is another registered model.
``gain``
    ``Λ^δ = diag(1 + δa) Λ diag(1 + δb)``, a, b iid N(0, 1) per electrode: electrode i measures
    its current with gain 1 + δ a_i (rows), electrode j applies its voltage with gain 1 + δ b_j
    (columns). δ is the std of one electrode's gain error; entry (i, j) has relative error
    δ(a_i + b_j) + δ² a_i b_j (std δ √(2 + δ²)). A rank-structured error: Λ^δ / Λ is the rank-1
    matrix (1 + δa)(1 + δb)ᵀ.

``symmetric=True`` keeps Λ^δ symmetric: ξ's upper triangle (diagonal included) is mirrored onto
the lower one (every entry keeps unit variance); for ``gain`` the same electrode gain applies to
rows and columns (b = a). Every model draws from ``numpy.random.default_rng(seed)``, so the seed
alone fixes the noise, and δ = 0 returns an exact copy.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

NoiseModel = Callable[[np.ndarray, float, np.random.Generator, bool], np.ndarray]
NOISE_MODELS: dict[str, NoiseModel] = {}
"""Registry: name -> function(dtn, delta, rng, symmetric) -> noisy dtn (same shape)."""

DEFAULT_NOISE_MODEL = "relative"
STUDENT_T_DOF = 3
"""ν of the ``student_t`` model: the smallest integer with finite variance (heavy, but scalable tails)."""


def register_noise_model(name: str):
    """Decorator registering a noise model under ``name``."""
    def deco(func: NoiseModel) -> NoiseModel:
        NOISE_MODELS[name] = func
        return func
    return deco


def check_noise_model(name: str, what: str = "noise_model") -> str:
    """``name`` if it is a registered model, else ValueError naming ``what`` and the known models."""
    if name not in NOISE_MODELS:
        raise ValueError(f"{what}: unknown noise model {name!r}; known: {', '.join(sorted(NOISE_MODELS))}")
    return name


def add_noise(dtn: np.ndarray, delta: float, seed: int, model: str = DEFAULT_NOISE_MODEL,
              symmetric: bool = False) -> np.ndarray:
    """Λ^δ of the named model at level δ (module docstring); ``dtn`` is the exact (4n, 4n) Λ."""
    check_noise_model(model)
    if not np.isfinite(delta) or delta < 0:
        raise ValueError(f"noise level delta must be finite and >= 0, got {delta}")
    dtn = np.asarray(dtn, dtype=np.float64)
    return NOISE_MODELS[model](dtn, float(delta), np.random.default_rng(seed), bool(symmetric))


def add_relative_noise(dtn: np.ndarray, delta: float, seed: int, symmetric: bool = False) -> np.ndarray:
    """The paper's model: ``add_noise(dtn, delta, seed, "relative", symmetric)``."""
    return add_noise(dtn, delta, seed, "relative", symmetric)


def _symmetrise(xi: np.ndarray, symmetric: bool) -> np.ndarray:
    return np.triu(xi) + np.triu(xi, 1).T if symmetric else xi


@register_noise_model("relative")
def relative(dtn: np.ndarray, delta: float, rng: np.random.Generator, symmetric: bool) -> np.ndarray:
    """``Λ + δ · Λ ⊙ ξ``, ξ iid N(0, 1) drawn for all (4n)² entries in row-major order."""
    xi = _symmetrise(rng.standard_normal(dtn.shape), symmetric)
    return dtn + delta * dtn * xi


@register_noise_model("additive")
def additive(dtn: np.ndarray, delta: float, rng: np.random.Generator, symmetric: bool) -> np.ndarray:
    """``Λ + δ · max|Λ| · ξ``, ξ iid N(0, 1): one absolute std for every entry."""
    xi = _symmetrise(rng.standard_normal(dtn.shape), symmetric)
    return dtn + delta * np.max(np.abs(dtn)) * xi


@register_noise_model("student_t")
def student_t(dtn: np.ndarray, delta: float, rng: np.random.Generator, symmetric: bool) -> np.ndarray:
    """``Λ + δ · Λ ⊙ ξ``, ξ iid t_ν / √(ν/(ν−2)) (unit variance, ν = :data:`STUDENT_T_DOF`)."""
    nu = STUDENT_T_DOF
    xi = _symmetrise(rng.standard_t(nu, dtn.shape) / np.sqrt(nu / (nu - 2)), symmetric)
    return dtn + delta * dtn * xi


@register_noise_model("gain")
def gain(dtn: np.ndarray, delta: float, rng: np.random.Generator, symmetric: bool) -> np.ndarray:
    """``diag(1 + δa) Λ diag(1 + δb)``: a = measuring gains (rows), b = driving gains (columns)."""
    a, b = rng.standard_normal((2, dtn.shape[0]))
    if symmetric:
        b = a
    # the outer product first: g_i g_j = g_j g_i exactly, so b = a gives an exactly symmetric Λ^δ
    return dtn * np.outer(1 + delta * a, 1 + delta * b)

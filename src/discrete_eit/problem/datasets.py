"""DtN datasets: exact or noisy Λ on a partial-data set, with validation (MATH.md §3)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .forward import check_gamma, dtn_matrix
from .lattice import Lattice
from .noise import DEFAULT_NOISE_MODEL, NOISE_MODELS, add_noise, check_noise_model
from .partial import partial_mask


class DataError(ValueError):
    """Invalid input data; the message names the source and the problem."""


@dataclass
class Dataset:
    """Measured DtN data.

    Attributes
    ----------
    n : lattice size.
    dtn : (4n, 4n) float64 — measured Λ^δ, NaN on unmeasured entries.
    mask : (4n, 4n) bool — True where measured; column j = experiment with Dirichlet data e_j.
    gamma_true : (2n(n+1),) float64 or None — the truth, when known.
    source : where the data came from (file name), used in error messages.
    profile, profile_seed : the conductivity profile the truth was drawn from (None: unknown).
    delta : noise level δ of Λ^δ (None: unknown, e.g. a measured matrix); its meaning is that of
        ``noise_model``.
    seed : noise seed; partial_set : name of the measured index set; symmetric_noise : whether ξ
        was symmetrised; noise_model : the registered noise model (:mod:`.noise`, MATH.md §3).
        None where unknown.

    These are typed fields stored in the dataset file itself (covered by its hash); nothing a
    method computes may come from elsewhere (a provenance sidecar only describes the file).
    """

    n: int
    dtn: np.ndarray
    mask: np.ndarray
    gamma_true: np.ndarray | None = None
    source: str = "<memory>"
    profile: str | None = None
    profile_seed: int | None = None
    delta: float | None = None
    seed: int | None = None
    partial_set: str | None = None
    symmetric_noise: bool | None = None
    noise_model: str | None = None

    def __post_init__(self) -> None:
        validate_dataset(self)

    @property
    def lattice(self) -> Lattice:
        return Lattice(self.n)

    @property
    def filled_dtn(self) -> np.ndarray:
        """Λ^δ with unmeasured entries set to 0 (for methods that multiply by the mask)."""
        return np.where(self.mask, self.dtn, 0.0)


METADATA_FIELDS = {"profile": str, "profile_seed": int, "delta": float, "seed": int, "partial_set": str,
                   "symmetric_noise": bool, "noise_model": str}
"""The fields of :class:`Dataset` that say what the data are, with their types (stored in the file)."""


def validate_dataset(d: Dataset) -> None:
    """Raise :class:`DataError` naming ``d.source`` unless shapes and values are consistent."""
    src = d.source
    if isinstance(d.n, bool) or not isinstance(d.n, (int, np.integer)) or d.n < 1:
        raise DataError(f"{src}: lattice size n must be an integer >= 1, got {d.n!r}")
    d.n = int(d.n)
    nb = 4 * d.n
    d.dtn = np.asarray(d.dtn)
    d.mask = np.asarray(d.mask)
    if d.dtn.shape != (nb, nb):
        raise DataError(f"{src}: dtn must have shape ({nb}, {nb}) for n = {d.n}, got {d.dtn.shape}")
    if not np.issubdtype(d.dtn.dtype, np.floating):
        raise DataError(f"{src}: dtn must be a float array, got dtype {d.dtn.dtype}")
    if d.mask.shape != (nb, nb) or d.mask.dtype != bool:
        raise DataError(f"{src}: mask must be a ({nb}, {nb}) bool array, got {d.mask.dtype} {d.mask.shape}")
    d.dtn = d.dtn.astype(np.float64)
    measured = d.dtn[d.mask]
    if not np.all(np.isfinite(measured)):
        bad = np.argwhere(d.mask & ~np.isfinite(d.dtn))[0]
        raise DataError(f"{src}: dtn has a non-finite measured entry at {tuple(int(i) for i in bad)}")
    if not d.mask.any():
        raise DataError(f"{src}: mask selects no entry of dtn")
    if np.any(np.isfinite(d.dtn[~d.mask])):
        raise DataError(f"{src}: unmeasured entries (mask False) must be NaN")
    if d.noise_model is not None and d.noise_model not in NOISE_MODELS:
        raise DataError(f"{src}: unknown noise model {d.noise_model!r}; known: "
                        f"{', '.join(sorted(NOISE_MODELS))}")
    if d.gamma_true is not None:
        try:
            d.gamma_true = check_gamma(Lattice(d.n), d.gamma_true, "gamma_true")
        except ValueError as exc:
            raise DataError(f"{src}: {exc}") from None


def generate_dataset(gamma: np.ndarray, n: int, delta: float = 0.0, seed: int = 0,
                     partial_set: str = "full", symmetric_noise: bool = False,
                     noise_model: str = DEFAULT_NOISE_MODEL) -> Dataset:
    """Exact Λ(γ) with noise of level δ (model ``noise_model``, ``seed``) on the named partial set.

    The noise is drawn for every entry before masking (docs/conventions.md), so datasets that
    differ only in their partial set share the noise on common entries.
    """
    check_noise_model(noise_model)
    lattice = Lattice(n)
    gamma = check_gamma(lattice, gamma)
    mask = partial_mask(partial_set, lattice)
    noisy = add_noise(dtn_matrix(lattice, gamma), delta, seed, noise_model, symmetric_noise)
    return Dataset(n=n, dtn=np.where(mask, noisy, np.nan), mask=mask, gamma_true=gamma, delta=float(delta),
                   seed=int(seed), partial_set=partial_set, symmetric_noise=bool(symmetric_noise),
                   noise_model=noise_model)

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


DTN_TOLERANCE = 0.5
"""How far from a DtN map measured data may be, with no noise level known: the largest asymmetry
``|Λ_ij − Λ_ji|`` as a fraction of the largest entry, and the largest row sum ``|Σ_j Λ_ij|`` as a
fraction of that row's ``Σ_j |Λ_ij|`` (measured in docs/bad_input.md: every noise model at δ = 1e-2
stays below 0.06 and 0.21; at 0.5 no method recovers γ to within 100 %)."""
DTN_TOLERANCE_PER_DELTA = 5.0
"""The tolerance grows by this much per unit of a known noise level δ (the dataset's or ``--delta``):
noise of level δ makes asymmetries up to ≈ 4.5 δ (additive model) and row sums up to the row's size."""
DTN_MAX_SCALE = 1e100
"""The largest entry must lie in [1/DTN_MAX_SCALE, DTN_MAX_SCALE]: beyond, squares and inverse
squares of entries (least-squares weights) leave the float range."""


def check_dtn_map(d: Dataset, delta: float | None = None) -> None:
    """:class:`DataError` naming ``d.source`` unless its measured entries look like a DtN map (MATH.md §2).

    One condition per message, in this order: the largest entry within [1e-100, 1e100]; the
    measured diagonal positive (median > 0: the sign convention, current *into* the network);
    symmetric on the measured pairs; rows that are measured completely sum to zero — the last two
    within :data:`DTN_TOLERANCE` + :data:`DTN_TOLERANCE_PER_DELTA` · δ, δ the known noise level
    (``delta``, else the dataset's, else 0). Entries are finite already (:func:`validate_dataset`).
    """
    src, dtn, mask = d.source, d.dtn, d.mask
    if delta is None:
        delta = d.delta
    tol = DTN_TOLERANCE + DTN_TOLERANCE_PER_DELTA * float(delta or 0.0)
    filled = np.where(mask, dtn, 0.0)
    magnitude = np.abs(filled)
    i, j = np.unravel_index(int(np.argmax(magnitude)), magnitude.shape)
    scale = float(magnitude[i, j])
    if scale == 0:
        raise DataError(f"{src}: not a DtN map: every measured entry is zero")
    if not 1 / DTN_MAX_SCALE <= scale <= DTN_MAX_SCALE:
        raise DataError(f"{src}: not a DtN map: its largest entry, {filled[i, j]:.3g} at ({i}, {j}), is "
                        f"outside [1e-100, 1e100] (squares of such entries leave the float range)")
    diag = np.diagonal(dtn)[np.diagonal(mask)]
    if diag.size and np.median(diag) <= 0:
        raise DataError(f"{src}: not a DtN map: its measured diagonal is not positive (median "
                        f"{np.median(diag):.3g}); Λ_ii > 0 in the sign convention of MATH.md §2 (current "
                        "into the network): negate a matrix measured as current out")
    asym = np.where(mask & mask.T, np.abs(filled - filled.T), 0.0) / scale
    i, j = np.unravel_index(int(np.argmax(asym)), asym.shape)
    if asym[i, j] > tol:
        raise DataError(f"{src}: not a DtN map: not symmetric: Λ[{i}, {j}] = {dtn[i, j]:.3g} but Λ[{j}, {i}] "
                        f"= {dtn[j, i]:.3g}, a difference of {asym[i, j]:.2g} × the largest entry (noise "
                        f"allows {tol:.2g}; docs/bad_input.md)")
    complete = np.flatnonzero(mask.all(axis=1))
    if complete.size:
        sums = filled[complete].sum(axis=1)
        ratio = np.abs(sums) / np.maximum(magnitude[complete].sum(axis=1), np.finfo(float).tiny)
        k = int(np.argmax(ratio))
        if ratio[k] > tol:
            raise DataError(f"{src}: not a DtN map: row {complete[k]} sums to {sums[k]:.3g}, "
                            f"{ratio[k]:.2g} × the sum of its magnitudes (rows of Λ sum to zero; noise "
                            f"allows {tol:.2g}; docs/bad_input.md)")


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

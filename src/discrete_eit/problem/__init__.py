"""The discrete problem: lattice, forward map, Jacobian, data and error measures (MATH.md §1–3, §6–8).

numpy/scipy only: no file, JSON or workflow handling, so every function here is a pure
computation on arrays (and :class:`Dataset`, which holds arrays and their meaning).
"""

from .boundary_layouts import BOUNDARY_LAYOUTS, from_our_order, register_boundary_layout, to_our_order
from .datasets import DataError, Dataset, generate_dataset
from .forward import dtn_matrix, harmonic_extensions, kirchhoff_matrix, solve_forward
from .jacobian import dtn_jacobian
from .lattice import Lattice
from .metrics import error_metrics, relative_l2_error
from .noise import NOISE_MODELS, add_noise, register_noise_model
from .partial import PARTIAL_SETS, partial_mask, register_partial_set
from .profiles import PROFILES, conductivity_profile, register_profile
from .sensitivity import SensitivityResult, predicted_std

__all__ = [
    "BOUNDARY_LAYOUTS", "DataError", "Dataset", "Lattice", "NOISE_MODELS", "PARTIAL_SETS", "PROFILES",
    "SensitivityResult", "add_noise", "conductivity_profile", "dtn_jacobian", "dtn_matrix", "error_metrics",
    "from_our_order", "generate_dataset", "harmonic_extensions", "kirchhoff_matrix", "partial_mask",
    "predicted_std", "register_boundary_layout", "register_noise_model", "register_partial_set",
    "register_profile", "relative_l2_error", "solve_forward", "to_our_order",
]

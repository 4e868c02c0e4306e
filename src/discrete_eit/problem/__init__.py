"""The discrete problem: lattice, forward map, Jacobian, data and error measures (MATH.md §1–3, §6–8).

numpy/scipy only: no file, JSON or workflow handling, so every function here is a pure
computation on arrays (and :class:`Dataset`, which holds arrays and their meaning).
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    ".boundary_layouts": ("BOUNDARY_LAYOUTS", "from_our_order", "register_boundary_layout", "to_our_order"),
    ".datasets": ("DataError", "Dataset", "generate_dataset"),
    ".forward": ("dtn_matrix", "harmonic_extensions", "kirchhoff_matrix", "solve_forward"),
    ".jacobian": ("dtn_jacobian",),
    ".lattice": ("Lattice",),
    ".metrics": ("error_metrics", "relative_l2_error"),
    ".noise": ("NOISE_MODELS", "add_noise", "register_noise_model"),
    ".noise_estimate": ("NOISE_ESTIMATORS", "NoiseEstimate", "estimate_noise_level",
                        "register_noise_estimator"),
    ".partial": ("PARTIAL_SETS", "partial_mask", "register_partial_set"),
    ".profiles": ("PROFILES", "conductivity_profile", "register_profile"),
    ".sensitivity": ("SensitivityResult", "error_bars", "predicted_std"),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_MODULE_OF)


def __getattr__(name: str):
    """The exports, imported on first use: ``import discrete_eit.problem.datasets`` stays light."""
    if name in _MODULE_OF:
        value = getattr(importlib.import_module(_MODULE_OF[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})

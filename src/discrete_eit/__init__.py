"""discrete-eit: the discrete inverse conductivity problem on n×n resistor networks.

The public API (README "Python API", ``examples/quickstart.py``): the discrete problem
(:mod:`discrete_eit.problem`), the reconstruction methods (:mod:`discrete_eit.methods`) and the
file formats (:mod:`discrete_eit.artifacts`); everything a notebook needs is importable from here.
The paper's experiment is in :mod:`discrete_eit.experiment`. Conventions follow docs/MATH.md.

The names are imported on first use (PEP 562), so that ``python -m discrete_eit`` and
``import discrete_eit.<module>`` do not load every layer (and scipy) up front.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "discrete_eit.problem": (
        # the problem
        "Lattice", "Dataset", "DataError", "conductivity_profile", "generate_dataset", "dtn_matrix",
        "dtn_jacobian", "kirchhoff_matrix", "harmonic_extensions", "solve_forward", "partial_mask",
        "error_metrics", "relative_l2_error", "predicted_std", "SensitivityResult", "error_bars",
        "estimate_noise_level", "NoiseEstimate",
        # registries (name -> builder) and how to extend them
        "PROFILES", "PARTIAL_SETS", "NOISE_MODELS", "BOUNDARY_LAYOUTS", "register_profile",
        "register_partial_set", "register_noise_model", "register_boundary_layout", "to_our_order",
        "NOISE_ESTIMATORS", "register_noise_estimator",
        "from_our_order",
    ),
    "discrete_eit.methods": (
        "reconstruct", "reconstruct_many", "get_method", "load_methods", "register_method", "Option",
        "OptionError", "Reconstruction",
    ),
    "discrete_eit.artifacts": ("load_dataset", "save_dataset", "load_dtn_matrix", "load_gamma",
                               "load_result"),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = [*_MODULE_OF, "__version__"]


def __getattr__(name: str):
    if name in _MODULE_OF:
        value = getattr(importlib.import_module(_MODULE_OF[name]), name)
        globals()[name] = value  # once imported, a plain attribute
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})

"""discrete-eit: the discrete inverse conductivity problem on n×n resistor networks.

The public API: the discrete problem (:mod:`discrete_eit.problem`) and the reconstruction methods
(:mod:`discrete_eit.methods`). File formats and provenance are in :mod:`discrete_eit.artifacts`,
the paper's experiment in :mod:`discrete_eit.experiment`. Conventions follow docs/MATH.md.

The names below are imported on first use (PEP 562), so that ``python -m discrete_eit`` and
``import discrete_eit.<module>`` do not load every layer (and scipy) up front.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "discrete_eit.methods": (
        "Option", "Reconstruction", "reconstruct", "reconstruct_many", "register_method",
    ),
    "discrete_eit.problem": (
        "PARTIAL_SETS", "PROFILES", "DataError", "Dataset", "Lattice", "conductivity_profile", "dtn_jacobian",
        "dtn_matrix", "error_metrics", "generate_dataset", "harmonic_extensions", "kirchhoff_matrix",
        "partial_mask", "predicted_std", "solve_forward",
    ),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted([*_MODULE_OF, "__version__"])


def __getattr__(name: str):
    if name in _MODULE_OF:
        value = getattr(importlib.import_module(_MODULE_OF[name]), name)
        globals()[name] = value  # once imported, a plain attribute
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})

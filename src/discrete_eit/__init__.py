"""discrete-eit: the discrete inverse conductivity problem on n×n resistor networks.

The public API: the discrete problem (:mod:`discrete_eit.problem`) and the reconstruction methods
(:mod:`discrete_eit.methods`). File formats and provenance are in :mod:`discrete_eit.artifacts`,
the paper's experiment in :mod:`discrete_eit.experiment`. Conventions follow docs/MATH.md.
"""

from .methods import Option, Reconstruction, reconstruct, reconstruct_many, register_method
from .problem import (
    PARTIAL_SETS,
    PROFILES,
    DataError,
    Dataset,
    Lattice,
    conductivity_profile,
    dtn_jacobian,
    dtn_matrix,
    error_metrics,
    generate_dataset,
    harmonic_extensions,
    kirchhoff_matrix,
    partial_mask,
    predicted_std,
    solve_forward,
)

__version__ = "0.1.0"

__all__ = [
    "DataError", "Dataset", "Lattice", "Option", "PARTIAL_SETS", "PROFILES", "Reconstruction",
    "conductivity_profile", "dtn_jacobian", "dtn_matrix", "error_metrics", "generate_dataset",
    "harmonic_extensions", "kirchhoff_matrix", "partial_mask", "predicted_std", "reconstruct",
    "reconstruct_many", "register_method", "solve_forward", "__version__",
]

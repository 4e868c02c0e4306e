"""discrete-eit: the discrete inverse conductivity problem on n×n resistor networks.

The public API (README "Python API", ``examples/quickstart.py``): the discrete problem
(:mod:`discrete_eit.problem`), the reconstruction methods (:mod:`discrete_eit.methods`) and the
file formats (:mod:`discrete_eit.artifacts`); everything a notebook needs is importable from here.
The paper's experiment is in :mod:`discrete_eit.experiment`. Conventions follow docs/MATH.md.
"""

from .artifacts import load_dataset, load_dtn_matrix, load_result, save_dataset
from .methods import (
    Option,
    OptionError,
    Reconstruction,
    get_method,
    load_methods,
    reconstruct,
    reconstruct_many,
    register_method,
)
from .problem import (
    BOUNDARY_LAYOUTS,
    PARTIAL_SETS,
    PROFILES,
    DataError,
    Dataset,
    Lattice,
    SensitivityResult,
    conductivity_profile,
    dtn_jacobian,
    dtn_matrix,
    error_metrics,
    from_our_order,
    generate_dataset,
    harmonic_extensions,
    kirchhoff_matrix,
    partial_mask,
    predicted_std,
    register_boundary_layout,
    register_partial_set,
    register_profile,
    relative_l2_error,
    solve_forward,
    to_our_order,
)

__version__ = "0.1.0"

__all__ = [
    # the problem
    "Lattice", "Dataset", "DataError", "conductivity_profile", "generate_dataset", "dtn_matrix",
    "dtn_jacobian", "kirchhoff_matrix", "harmonic_extensions", "solve_forward", "partial_mask",
    "error_metrics", "relative_l2_error", "predicted_std", "SensitivityResult",
    # registries (name -> builder) and how to extend them
    "PROFILES", "PARTIAL_SETS", "BOUNDARY_LAYOUTS", "register_profile", "register_partial_set",
    "register_boundary_layout", "to_our_order", "from_our_order",
    # methods
    "reconstruct", "reconstruct_many", "get_method", "load_methods", "register_method", "Option",
    "OptionError", "Reconstruction",
    # files
    "load_dataset", "save_dataset", "load_dtn_matrix", "load_result",
    "__version__",
]

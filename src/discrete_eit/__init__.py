"""discrete-eit: the discrete inverse conductivity problem on n×n resistor networks.

Numerical library (knows nothing of Snakemake). Conventions follow ``MATH.md`` (docs/MATH.md).
"""

from .datasets import DataError, Dataset, generate_dataset
from .forward import dtn_matrix, harmonic_extensions, kirchhoff_matrix, solve_forward
from .jacobian import dtn_jacobian
from .lattice import Lattice
from .partial import PARTIAL_SETS, partial_mask
from .profiles import PROFILES, conductivity_profile

__version__ = "0.1.0"

__all__ = [
    "DataError", "Dataset", "Lattice", "PARTIAL_SETS", "PROFILES", "conductivity_profile",
    "dtn_jacobian", "dtn_matrix", "generate_dataset", "harmonic_extensions", "kirchhoff_matrix",
    "partial_mask", "solve_forward", "__version__",
]

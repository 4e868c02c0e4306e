"""discrete-eit: the discrete inverse conductivity problem on n×n resistor networks.

Numerical library (knows nothing of Snakemake). Conventions follow ``MATH.md`` (docs/MATH.md).
"""

from discrete_eit.problem.datasets import DataError, Dataset, generate_dataset
from discrete_eit.problem.forward import dtn_matrix, harmonic_extensions, kirchhoff_matrix, solve_forward
from discrete_eit.problem.jacobian import dtn_jacobian
from discrete_eit.problem.lattice import Lattice
from discrete_eit.problem.partial import PARTIAL_SETS, partial_mask
from discrete_eit.problem.profiles import PROFILES, conductivity_profile

__version__ = "0.1.0"

__all__ = [
    "DataError", "Dataset", "Lattice", "PARTIAL_SETS", "PROFILES", "conductivity_profile",
    "dtn_jacobian", "dtn_matrix", "generate_dataset", "harmonic_extensions", "kirchhoff_matrix",
    "partial_mask", "solve_forward", "__version__",
]

"""Artifacts: file formats, provenance sidecars, lineage audit and the run manifest.

Knows the problem layer (it stores :class:`~discrete_eit.problem.Dataset`), never the methods
or the experiment.
"""

from .formats import load_dataset, load_dtn_matrix, load_gamma, load_result, save_dataset, write_artifact
from .sidecar import read_sidecar, sha256_file

__all__ = ["load_dataset", "load_dtn_matrix", "load_gamma", "load_result", "read_sidecar", "save_dataset",
           "sha256_file", "write_artifact"]

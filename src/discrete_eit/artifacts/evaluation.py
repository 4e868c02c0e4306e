"""The evaluation of one reconstruction: its error metrics as a JSON artifact with a sidecar.

What ``discrete-eit evaluate`` writes (one workflow job per reconstruction); a table rule or a
notebook can call it directly, without a process per evaluation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from discrete_eit.problem.datasets import DataError
from discrete_eit.problem.metrics import error_metrics

from .formats import load_dataset, load_result, write_bytes_artifact
from .sidecar import to_json


def evaluate_reconstruction(data: str | Path, recon: str | Path, out: str | Path | None = None
                            ) -> dict[str, Any]:
    """Error metrics of the reconstruction ``recon`` of the dataset ``data`` (MATH.md §8).

    Parameters
    ----------
    data, recon : a dataset and a reconstruction ``.npz`` of the same lattice.
    out : where to write the metrics as JSON (with its sidecar, atomically); ``None`` writes nothing.

    Returns
    -------
    The metrics of :func:`discrete_eit.problem.metrics.error_metrics`. Raises ``DataError`` naming
    the file when a file is unreadable or γ̂ does not fit the dataset's lattice.
    """
    dataset = load_dataset(data)
    gamma_hat = load_result(recon)["gamma"]
    if gamma_hat.shape != (dataset.lattice.n_edges,):
        raise DataError(f"{recon}: gamma has shape {gamma_hat.shape}, dataset {data} needs "
                        f"({dataset.lattice.n_edges},)")
    metrics = error_metrics(dataset, gamma_hat)
    if out is not None:
        write_bytes_artifact(out, to_json(metrics).encode(), "metrics",
                             {"data": str(data), "recon": str(recon)}, [data, recon])
    return metrics

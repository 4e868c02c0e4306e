"""The evaluation of reconstructions: their error metrics (MATH.md §8).

:func:`evaluate_reconstruction` is what ``discrete-eit evaluate`` runs (and writes as a JSON
artifact with a sidecar); :func:`evaluate_reconstructions` evaluates many in one process, reading
each dataset once — the workflow's error table calls it, so evaluation costs no job of its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

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
    metrics = _metrics(load_dataset(data), data, recon)
    if out is not None:
        write_bytes_artifact(out, to_json(metrics).encode(), "metrics",
                             {"data": str(data), "recon": str(recon)}, [data, recon])
    return metrics


def evaluate_reconstructions(pairs: Iterable[tuple[str | Path, str | Path]]) -> list[dict[str, Any]]:
    """The metrics of every ``(data, recon)`` pair, in order; each dataset file is read once.

    The same numbers as :func:`evaluate_reconstruction` pair by pair (nothing is written).
    """
    datasets: dict[str, Any] = {}
    out = []
    for data, recon in pairs:
        if str(data) not in datasets:
            datasets[str(data)] = load_dataset(data)
        out.append(_metrics(datasets[str(data)], data, recon))
    return out


def _metrics(dataset: Any, data: str | Path, recon: str | Path) -> dict[str, Any]:
    gamma_hat = load_result(recon)["gamma"]
    if gamma_hat.shape != (dataset.lattice.n_edges,):
        raise DataError(f"{recon}: gamma has shape {gamma_hat.shape}, dataset {data} needs "
                        f"({dataset.lattice.n_edges},)")
    if gamma_hat.dtype.kind not in "iuf":
        raise DataError(f"{recon}: gamma must be real numbers, got dtype {gamma_hat.dtype}")
    bad = ~np.isfinite(gamma_hat)
    if bad.any():  # no metric of such a γ̂ means anything (and `reconstruct` never writes one)
        raise DataError(f"{recon}: gamma has {int(bad.sum())} non-finite edge(s) (first: edge "
                        f"{int(np.argmax(bad))}); nothing to evaluate")
    return error_metrics(dataset, gamma_hat)

"""The evaluation of reconstructions: their error metrics (MATH.md §8).

:func:`evaluate_reconstruction` is what ``discrete-eit evaluate`` runs (and writes as a JSON
artifact with a sidecar); :func:`evaluate_reconstructions` evaluates many in one process, reading
each dataset once — the workflow's error table calls it, so evaluation costs no job of its own.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from discrete_eit.problem.datasets import DataError
from discrete_eit.problem.metrics import error_metrics

from .formats import (
    load_dataset,
    load_dtn_matrix,
    load_gamma,
    load_result,
    split_matrix_spec,
    write_bytes_artifact,
)
from .sidecar import to_json


def evaluate_reconstruction(data: str | Path, recon: str | Path, out: str | Path | None = None,
                            gamma_true: str | Path | None = None, layout: str | None = None
                            ) -> dict[str, Any]:
    """Error metrics of the reconstruction ``recon`` of the dataset ``data`` (MATH.md §8).

    Parameters
    ----------
    data, recon : a dataset and a reconstruction ``.npz`` of the same lattice; ``data`` may instead
        be a measured DtN matrix (``.npy``, ``.csv``, ``.mat``, ``FILE.mat:NAME``: any spec but
        ``.npz``, read by :func:`~.formats.load_dtn_matrix` in the boundary order ``layout``).
    out : where to write the metrics as JSON (with its sidecar, atomically); ``None`` writes nothing.
    gamma_true : a file with the true conductivity (:func:`~.formats.load_gamma`: ``.npy``,
        ``.csv``, ``.mat``); it replaces a dataset's own. Without any truth, the error metrics are
        None and only ``dtn_residual`` is computed.

    Returns
    -------
    The metrics of :func:`discrete_eit.problem.metrics.error_metrics`. Raises ``DataError`` naming
    the file when a file is unreadable or γ̂ does not fit the dataset's lattice.
    """
    dataset = _load_data(data, gamma_true, layout)
    metrics = _metrics(dataset, data, recon)
    if out is not None:
        params = {"data": str(data), "recon": str(recon)}
        inputs = [split_matrix_spec(data)[0], recon]
        if gamma_true is not None:
            params["gamma_true"] = str(gamma_true)
            inputs.append(split_matrix_spec(gamma_true)[0])
        if layout is not None:
            params["layout"] = layout
        write_bytes_artifact(out, to_json(metrics).encode(), "metrics", params, inputs)
    return metrics


def _load_data(data: str | Path, gamma_true: str | Path | None, layout: str | None) -> Any:
    """A dataset ``.npz`` or a measured DtN matrix, with the truth of ``gamma_true`` if given."""
    if Path(data).suffix != ".npz":
        return load_dtn_matrix(data, layout or "ours", gamma_true)
    if layout is not None:
        raise DataError("--layout applies to --dtn only (a dataset .npz is in our boundary order)")
    dataset = load_dataset(data)
    if gamma_true is not None:
        dataset = dataclasses.replace(dataset, gamma_true=load_gamma(gamma_true, dataset.lattice.n_edges))
    return dataset


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

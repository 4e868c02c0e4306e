"""DVC's view of a run: headline metrics (``dvc metrics``) and the long tables behind ``dvc plots``.

From the error table and the reconstructions' training histories: :func:`headline_metrics`
(``results/metrics.json``), :func:`error_vs_delta` and :func:`loss_curves` (``results/plots/*.csv``),
each written with a provenance sidecar by :func:`write_dvc_outputs`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from discrete_eit.artifacts.formats import load_history, write_bytes_artifact
from discrete_eit.artifacts.sidecar import to_json

METRIC = "rel_l2"
"""The headline error of :func:`headline_metrics` (relative ℓ² error of γ̂, MATH.md §8)."""


def _delta_key(delta: float) -> str:
    return "exact" if float(delta) == 0 else f"delta_{float(delta):g}".replace(".", "p")


def _finite_or_none(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def headline_metrics(errors, metric: str = METRIC) -> dict[str, Any]:
    """Headline errors for ``dvc metrics`` from the error table (a DataFrame or CSV path).

    ``{metric: {study: {run: {cell: median over seeds}}}}`` where ``cell`` names only what varies
    within the study (e.g. ``n4`` in the size study, ``delta_0p001`` in the noise study,
    ``last3n_delta_1e-05`` in the partial study); medians skip invalid and not-applicable rows
    (``null`` when none is left). Plus ``cells``: row counts per status.
    """
    import pandas as pd

    df = errors if isinstance(errors, pd.DataFrame) else pd.read_csv(errors)
    out: dict[str, Any] = {metric: {}, "cells": {"total": int(len(df))}}
    if "status" in df:
        out["cells"].update({str(k): int(v) for k, v in df["status"].value_counts().sort_index().items()})
    if df.empty:
        return out
    study_col = df["study"] if "study" in df else pd.Series("all", index=df.index)
    df = df.assign(study=study_col.fillna("all").replace("", "all"))
    dims = [c for c in ("profile", "n", "set", "noise_model", "delta") if c in df]
    ok = df[df["status"] == "ok"] if "status" in df else df
    for study, sdf in df.groupby("study", sort=True):
        varying = [c for c in dims if sdf[c].nunique() > 1]
        for run, rdf in sdf.groupby("run", sort=True):
            cells: dict[str, Any] = {}
            for key, _ in rdf.groupby(varying or ["run"], sort=True):
                key = key if isinstance(key, tuple) else (key,)
                parts = []
                for col, val in zip(varying, key, strict=False):
                    if col == "delta":
                        parts.append(_delta_key(val))
                    elif col == "n":
                        parts.append(f"n{int(val)}")
                    else:
                        parts.append(str(val))
                sel = ok[(ok["study"] == study) & (ok["run"] == run)]
                for col, val in zip(varying, key, strict=False):
                    sel = sel[sel[col] == val]
                vals = pd.to_numeric(sel[metric], errors="coerce").dropna()
                cells["_".join(parts) or "all"] = _finite_or_none(vals.median()) if len(vals) else None
            out[metric].setdefault(str(study), {})[str(run)] = cells
    return out


def error_vs_delta(errors, metric: str = METRIC, study: str = "noise"):
    """Long table for the error-vs-δ plot: median ``metric`` over seeds per (series, δ > 0).

    Rows of ``study`` (all rows if the table has no such study) with a valid γ̂; ``series`` is
    the run, plus n / set / profile when they vary. Columns: series, run, profile, n, set, delta,
    ``metric``, seeds.
    """
    import pandas as pd

    df = errors if isinstance(errors, pd.DataFrame) else pd.read_csv(errors)
    cols = ["series", "run", "profile", "n", "set", "delta", metric, "seeds"]
    if df.empty:
        return pd.DataFrame(columns=cols)
    if "study" in df and (df["study"] == study).any():
        df = df[df["study"] == study]
    if "status" in df:
        df = df[df["status"] == "ok"]
    df = df[pd.to_numeric(df["delta"], errors="coerce") > 0]
    keys = ["run", "profile", "n", "set", "delta"]
    g = df.groupby(keys, sort=True)[metric]
    table = g.median().rename(metric).to_frame().join(g.size().rename("seeds")).reset_index()
    extra = [c for c in ("n", "set", "profile") if table[c].nunique() > 1]

    def label(row) -> str:
        return " ".join([str(row["run"])] + [f"{c}={row[c]}" for c in extra])

    table["series"] = table.apply(label, axis=1) if len(table) else []
    return table[cols].reset_index(drop=True)


def _history(recon: str | Path) -> tuple[Any, Any]:
    """(iteration, loss) of a reconstruction's training history (empty arrays if it has none)."""
    import numpy as np

    cols = load_history(recon)
    loss = cols.get("loss", np.empty(0))
    return cols.get("iteration", np.arange(loss.size, dtype=float)), loss


def _thin(n: int, max_points: int):
    """Indices of at most ``max_points`` of ``n`` samples, log-spaced (keeps the early descent)."""
    import numpy as np

    if n <= max_points:
        return np.arange(n)
    idx = np.unique(np.round(np.geomspace(1, n, max_points)).astype(int) - 1)
    return np.union1d(idx, [0, n - 1])


def loss_curves(curves: Iterable[Mapping[str, Any]], max_points: int = 200):
    """Long table of training-loss curves for ``dvc plots``: columns curve, iteration, loss.

    ``curves``: ``{"label": ..., "recon": path}`` per curve; a reconstruction without a
    history (e.g. Curtis–Morrow) contributes no rows. Each curve is thinned to ``max_points``.
    """
    import numpy as np
    import pandas as pd

    frames = []
    for c in curves:
        it, loss = _history(c["recon"])
        keep = _thin(len(loss), max_points)
        it, loss = np.asarray(it)[keep], np.asarray(loss)[keep]
        good = np.isfinite(loss)
        frames.append(pd.DataFrame({"curve": str(c["label"]), "iteration": it[good], "loss": loss[good]}))
    if not frames:
        return pd.DataFrame(columns=["curve", "iteration", "loss"])
    return pd.concat(frames, ignore_index=True)


def write_dvc_metrics(errors_csv: str | Path, out: str | Path) -> dict[str, Any]:
    """``results/metrics.json`` (+ sidecar listing the error table as input)."""
    metrics = headline_metrics(errors_csv)
    write_bytes_artifact(out, to_json(metrics).encode(), "metrics", {"metric": METRIC}, [errors_csv])
    return metrics


def write_plot_csv(df, out: str | Path, kind: str, params: Mapping[str, Any],
                   inputs: Sequence[str | Path]) -> None:
    """A plot's data as CSV (full precision) with a provenance sidecar."""
    write_bytes_artifact(out, df.to_csv(index=False, float_format="%.17g").encode(), kind, dict(params),
                         list(inputs))


def write_dvc_outputs(errors_csv: str | Path, curves: Sequence[Mapping[str, Any]], metrics_out: str | Path,
                      error_vs_delta_out: str | Path, loss_out: str | Path,
                      log: str | Path | None = None) -> dict[str, Any]:
    """The DVC metrics file and both plot CSVs (each with a sidecar); returns the metrics.

    ``log``: a file to write a one-line summary to (the Snakemake rule's log).
    """
    metrics = write_dvc_metrics(errors_csv, metrics_out)
    write_plot_csv(error_vs_delta(errors_csv), error_vs_delta_out, "plot_data",
                   {"metric": METRIC, "study": "noise"}, [errors_csv])
    write_plot_csv(loss_curves(curves), loss_out, "plot_data", {"curves": [c["label"] for c in curves]},
                   [c["recon"] for c in curves])
    if log is not None:
        Path(log).parent.mkdir(parents=True, exist_ok=True)
        Path(log).write_text(f"wrote {metrics_out} ({metrics['cells']}), {error_vs_delta_out}, {loss_out} "
                             f"({len(curves)} curves)\n")
    return metrics

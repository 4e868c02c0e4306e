"""DVC's view of a run: headline metrics (``dvc metrics``) and the long tables behind ``dvc plots``.

* :func:`headline_metrics` → ``results/metrics.json``, the DVC metric: a few tens of named
  numbers, per figure / claim the one people read (mostly log10 of a median relative error), so
  that ``dvc metrics show`` and ``dvc exp show`` stay readable;
* :func:`cell_metrics` → ``results/metrics_full.json`` (a DVC output, not a metric): the median
  error of every cell of every study;
* :func:`error_vs_delta` and :func:`loss_curves` → ``results/plots/*.csv``;

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
"""The error of :func:`cell_metrics` and of the headline's ``log10_error`` (relative ℓ² error of
γ̂, MATH.md §8)."""

HEADLINE_MAX = 40
"""At most this many headline values (the default grid has 36)."""



def _delta_key(delta: float) -> str:
    """``exact`` or ``delta_1e-05`` / ``delta_0p001`` (no dot: DVC joins nested keys with dots)."""
    return "exact" if float(delta) == 0 else f"delta_{float(delta):g}".replace(".", "p")


def _finite_or_none(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _log10_or_none(value: Any) -> float | None:
    v = _finite_or_none(value)
    return math.log10(v) if v is not None and v > 0 else None


def headline_metrics(tables: Mapping[str, Any], cfg: Mapping[str, Any], methods: Mapping[str, Any]
                     ) -> dict[str, Any]:
    """The headline numbers of a run (``results/metrics.json``), named by figure / claim.

    Parameters
    ----------
    tables : mapping of table name to DataFrame
        ``errors``, ``summary`` (errors_summary), ``training``, ``completion``, ``table1``,
        ``claims`` (the typed claims table); a missing table or row gives ``null`` values, never a
        missing name.
    cfg : the workflow configuration (its ``figures`` and ``studies`` choose the cells).
    methods : the method registry (whether CM applies to a partial set).

    Returns
    -------
    Nested dict; DVC shows the paths joined by dots, e.g. ``fig4.log10_error.nn.n12``. The names
    depend on the configuration only. ``log10_error`` is log10 of the median relative ℓ² error
    over noise seeds (errors_summary's ``rel_l2_median``; an invalid γ̂ counts with its error, as
    in the claims), at the figures' profile and working size unless the name says ``n…``:

    * ``fig3a.log10_max_loss_jump`` — log10 of the largest loss jump above its running minimum
      (training table ``drop_ratio``), NN run, exact full data, any size;
    * ``fig4.log10_error.<nn_run>.n<n>`` — exact full data, every size of the size study;
    * ``fig5.log10_error.<nn_run>.<δ>`` — full data, every δ of ``figures.noise_deltas``;
    * ``fig6.log10_error.<nn_run | fixed_run>.<δ>`` — every δ of the prior study;
    * ``fig8.log10_error.<cm_run>.<δ>`` — full data, every δ of ``figures.compare_deltas``;
    * ``fig9.log10_error.<nn_run | cm_run>.<δ>`` — last3n, δ > 0 of ``figures.compare_deltas``;
      ``fig9.max_amplification.<truncated | plain>`` — the largest median completion block error
      / δ over δ > 0 (completion table), per ``completion_pinv``;
    * ``fig10_11.log10_error.<run>.<set>_<δ>`` — each of ``figures.further_sets``, NN and (where
      Λ can be completed) CM, exact data and the largest δ of ``figures.compare_deltas``;
    * ``table1.ratio.<set>`` — measured / predicted error norm (Table 1), NN run, every partial set;
    * ``claims.pass | fail | na`` — verdict counts of the claims table;
    * ``cells.total | invalid`` — cells of the error table (each once, whatever the studies reporting
      it), and those with an invalid γ̂.

    Without the paper's experiment (``paper: false``) only ``cells``.
    """
    import pandas as pd

    from discrete_eit.problem.completion import COMPLETION_PINVS

    from .claims import ClaimInputs, verdict_counts
    from .grid import method_applies, paper
    from .tables import STATUS_INVALID, unique_cells

    errors = tables.get("errors", pd.DataFrame())
    cells = unique_cells(errors) if len(errors) else errors
    count = {"total": int(len(cells)),
             "invalid": int((cells["status"] == STATUS_INVALID).sum()) if "status" in cells else 0}
    if not paper(cfg):
        return {"cells": count}
    F, S = cfg["figures"], cfg["studies"]
    prof, wn, nn, cm = F["profile"], F["working_n"], F["nn_run"], F["cm_run"]
    t = {name: tables.get(name, pd.DataFrame()) for name in ("errors", "summary", "training", "completion",
                                                              "table1")}
    inputs = ClaimInputs(t, F)

    def err(run: str, pset: str, delta: float, n: int = wn) -> float | None:
        rows = inputs.rows("summary", run=run, profile=prof, n=n, set=pset, delta=delta)
        if rows.empty or rows["n_na"].iloc[0] == rows["n_seeds"].iloc[0]:
            return None
        return _log10_or_none(rows["rel_l2_median"].iloc[0])

    def errors_by_delta(run: str, pset: str, deltas) -> dict[str, float | None]:
        return {_delta_key(d): err(run, pset, d) for d in deltas}

    noisy = [d for d in F["compare_deltas"] if d > 0]
    out: dict[str, Any] = {}
    jumps = inputs.rows("training", run=nn, profile=prof, set="full", delta=0.0, n=list(S["sizes"]["n"]))
    out["fig3a"] = {"log10_max_loss_jump": _log10_or_none(jumps["drop_ratio"].max()) if len(jumps) else None}
    out["fig4"] = {"log10_error": {nn: {f"n{n}": err(nn, "full", 0.0, n) for n in S["sizes"]["n"]}}}
    out["fig5"] = {"log10_error": {nn: errors_by_delta(nn, "full", F["noise_deltas"])}}
    out["fig6"] = {"log10_error": {r: errors_by_delta(r, "full", S["prior"]["delta"])
                                   for r in (nn, F["fixed_run"])}}
    out["fig8"] = {"log10_error": {cm: errors_by_delta(cm, "full", F["compare_deltas"])}}
    amp = {}
    for pinv in COMPLETION_PINVS:
        rows = inputs.rows("completion", profile=prof, n=wn, set="last3n", completion_pinv=pinv)
        ratios = rows["ratio_to_delta"][rows["delta"] > 0] if len(rows) else []
        amp[pinv] = _finite_or_none(max(ratios)) if len(ratios) else None
    out["fig9"] = {"log10_error": {r: errors_by_delta(r, "last3n", noisy) for r in (nn, cm)},
                   "max_amplification": amp}
    further: dict[str, dict[str, float | None]] = {}
    for pset in F["further_sets"]:
        for run in (nn, cm):
            if method_applies(cfg, methods, run, pset, wn):
                for d in [0.0, *sorted(noisy)[-1:]]:
                    further.setdefault(run, {})[f"{pset}_{_delta_key(d)}"] = err(run, pset, d)
    out["fig10_11"] = {"log10_error": further}
    ratios = {r.set: r.ratio for r in inputs.rows("table1", run=nn).itertuples()}
    out["table1"] = {"ratio": {p: _finite_or_none(ratios.get(p)) for p in S["partial"]["sets"]}}
    claims = tables.get("claims")
    out["claims"] = verdict_counts(claims) if claims is not None else {"pass": None, "fail": None, "na": None}
    out["cells"] = count
    return out


def flatten(metrics: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested metrics as DVC shows them: ``{"fig4.log10_error.nn.n12": value, ...}``."""
    flat: dict[str, Any] = {}
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        flat.update(flatten(value, name + ".") if isinstance(value, Mapping) else {name: value})
    return flat


def cell_metrics(errors, metric: str = METRIC) -> dict[str, Any]:
    """Every cell's median error (``results/metrics_full.json``) from the error table.

    ``{metric: {study: {run: {cell: median over seeds}}}}`` where ``cell`` names only what varies
    within the study (e.g. ``n4`` in the size study, ``delta_0p001`` in the noise study,
    ``last3n_delta_1e-05`` in the partial study); medians skip invalid and not-applicable rows
    (``null`` when none is left). Plus ``cells``: cell counts per status (each cell once, whatever the
    studies reporting it).
    """
    import pandas as pd

    from .tables import STATUS_OK, unique_cells

    df = errors if isinstance(errors, pd.DataFrame) else pd.read_csv(errors)
    cells = unique_cells(df) if len(df) else df
    out: dict[str, Any] = {metric: {}, "cells": {"total": int(len(cells))}}
    if "status" in df:
        out["cells"].update({str(k): int(v) for k, v in cells["status"].value_counts().sort_index().items()})
    if df.empty:
        return out
    study_col = df["study"] if "study" in df else pd.Series("all", index=df.index)
    df = df.assign(study=study_col.fillna("all").replace("", "all"))
    dims = [c for c in ("profile", "n", "set", "noise_model", "delta") if c in df]
    ok = df[df["status"] == STATUS_OK] if "status" in df else df
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

    Rows of ``study`` (every cell once if the table has no such study) with a valid γ̂; ``series`` is
    the run, plus n / set / profile when they vary. Columns: series, run, profile, n, set, delta,
    ``metric``, seeds.
    """
    import pandas as pd

    from .tables import STATUS_OK, unique_cells

    df = errors if isinstance(errors, pd.DataFrame) else pd.read_csv(errors)
    cols = ["series", "run", "profile", "n", "set", "delta", metric, "seeds"]
    if df.empty:
        return pd.DataFrame(columns=cols)
    if "study" in df and (df["study"] == study).any():
        df = df[df["study"] == study]
    elif len(df):
        df = unique_cells(df)
    if "status" in df:
        df = df[df["status"] == STATUS_OK]
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


def write_cell_metrics(errors_csv: str | Path, out: str | Path) -> dict[str, Any]:
    """``results/metrics_full.json`` (:func:`cell_metrics`, + sidecar listing the error table)."""
    metrics = cell_metrics(errors_csv)
    write_bytes_artifact(out, to_json(metrics).encode(), "metrics", {"metric": METRIC}, [errors_csv])
    return metrics


def write_headline_metrics(tables: Mapping[str, str | Path], cfg: Mapping[str, Any],
                           methods: Mapping[str, Any], out: str | Path) -> dict[str, Any]:
    """``results/metrics.json`` (:func:`headline_metrics` of the table CSVs ``{name: path}``, + sidecar
    listing them)."""
    import pandas as pd

    frames = {name: pd.read_csv(path) for name, path in tables.items()}
    metrics = headline_metrics(frames, cfg, methods)
    if len(flatten(metrics)) > HEADLINE_MAX:
        raise ValueError(f"{out}: {len(flatten(metrics))} headline metrics, more than {HEADLINE_MAX}: "
                         "trim figures.* lists or the headline")
    write_bytes_artifact(out, to_json(metrics).encode(), "metrics", {"figures": dict(cfg["figures"])},
                         list(tables.values()))
    return metrics


def write_plot_csv(df, out: str | Path, kind: str, params: Mapping[str, Any],
                   inputs: Sequence[str | Path]) -> None:
    """A plot's data as CSV (full precision) with a provenance sidecar."""
    write_bytes_artifact(out, df.to_csv(index=False, float_format="%.17g").encode(), kind, dict(params),
                         list(inputs))


def write_dvc_outputs(tables: Mapping[str, str | Path], cfg: Mapping[str, Any],
                      methods: Mapping[str, Any], curves: Sequence[Mapping[str, Any]],
                      metrics_out: str | Path, metrics_full_out: str | Path,
                      error_vs_delta_out: str | Path, loss_out: str | Path,
                      log: str | Path | None = None) -> dict[str, Any]:
    """Both metrics files and both plot CSVs (each with a sidecar); returns the headline metrics.

    ``tables``: CSV paths by name (``errors``, ``summary``, ``training``, ``completion``,
    ``table1``, ``claims``; only ``errors`` without the paper's experiment); ``log``: a file to
    write a one-line summary to
    (the Snakemake rule's log).
    """
    errors_csv = tables["errors"]
    metrics = write_headline_metrics(tables, cfg, methods, metrics_out)
    write_cell_metrics(errors_csv, metrics_full_out)
    write_plot_csv(error_vs_delta(errors_csv), error_vs_delta_out, "plot_data",
                   {"metric": METRIC, "study": "noise"}, [errors_csv])
    write_plot_csv(loss_curves(curves), loss_out, "plot_data", {"curves": [c["label"] for c in curves]},
                   [c["recon"] for c in curves])
    if log is not None:
        Path(log).parent.mkdir(parents=True, exist_ok=True)
        Path(log).write_text(f"wrote {metrics_out} ({len(flatten(metrics))} values, {metrics['cells']}), "
                             f"{metrics_full_out}, {error_vs_delta_out}, {loss_out} ({len(curves)} curves)\n")
    return metrics

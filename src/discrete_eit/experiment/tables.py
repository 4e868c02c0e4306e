"""Result tables of the workflow: error table, per-cell summaries, Table 1, speed and more.

Pure functions from plain records (dicts, arrays) to :class:`pandas.DataFrame`, plus writers for
CSV, Markdown and HTML. The tables' build functions (:mod:`.table_builds`) load files and call
these; the unit tests exercise them on synthetic records.

Key columns of every per-run table: ``profile, n, set, noise_model, delta, seed, run, method``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from discrete_eit.problem.metrics import relative_l2_error

KEYS = ["profile", "n", "set", "noise_model", "delta", "seed", "run", "method"]
CELL_KEYS = [k for k in KEYS if k != "seed"]
METRICS = ["rel_l2", "max_rel", "centre", "boundary", "dtn_residual"]
"""Error metrics (MATH.md §8): relative ℓ², max relative edge error, centre / boundary-ring
relative ℓ² errors, relative DtN residual."""

_METRIC_SOURCE = {"rel_l2": "relative_l2_error", "max_rel": "max_relative_error",
                  "centre": "centre_error", "boundary": "boundary_error",
                  "dtn_residual": "dtn_residual"}

STATUS_OK = "ok"
STATUS_INVALID = "invalid"
"""γ̂ has non-finite or non-positive entries (e.g. Curtis–Morrow on noisy data)."""
STATUS_NA = "not_applicable"
"""The method cannot run on this partial set (e.g. Curtis–Morrow when Λ is not determined)."""


def _num(value: Any) -> float:
    """A metric value as float (None / missing → NaN)."""
    if value is None:
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def iterations_of(info: Mapping[str, Any]) -> float:
    """Iteration count of a method's sidecar ``info`` (NaN when the method has none, e.g. CM)."""
    for key in ("iterations", "n_iterations", "steps", "iteration"):
        if key in info and info[key] is not None:
            return _num(info[key])
    return math.nan


def error_row(cell: Mapping[str, Any], metrics: Mapping[str, Any] | None,
              sidecar: Mapping[str, Any] | None, gamma_valid: bool | None = None,
              source: str = "") -> dict[str, Any]:
    """One row of the error table.

    cell : the keys :data:`KEYS` (and optionally ``study``).
    metrics : the reconstruction's metrics, :func:`discrete_eit.artifacts.evaluation.evaluate_reconstruction`
        (None when the method does not apply).
    sidecar : the reconstruction's provenance sidecar (``info``, ``wall_time_s``, ``batch_size``).
    gamma_valid : whether γ̂ is finite and positive (None: infer from the DtN residual).
    source : path of the artifact the row was computed from (its reconstruction), so that
        ``discrete-eit audit TABLE --row ...`` can follow one row's lineage; "" when none.
    """
    row: dict[str, Any] = {k: cell[k] for k in KEYS}
    row["study"] = cell.get("study", "")
    row["source"] = str(source)
    if metrics is None:
        row.update({m: math.nan for m in METRICS}, iterations=math.nan, wall_time_s=math.nan,
                   batch_size=math.nan, stop_reason="", status=STATUS_NA)
        return row
    for col, src in _METRIC_SOURCE.items():
        row[col] = _num(metrics.get(src))
    info = dict((sidecar or {}).get("info") or {})
    row["iterations"] = iterations_of(info)
    row["wall_time_s"] = _num((sidecar or {}).get("wall_time_s"))
    row["batch_size"] = _num((sidecar or {}).get("batch_size", 1))
    row["stop_reason"] = str(info.get("stop_reason", info.get("stop", "")) or "")
    if gamma_valid is None:
        gamma_valid = math.isfinite(row["dtn_residual"])
    row["status"] = STATUS_OK if gamma_valid else STATUS_INVALID
    return row


ERROR_COLUMNS = [*KEYS, "study", *METRICS, "iterations", "wall_time_s", "batch_size", "stop_reason",
                 "status", "source"]


def build_error_table(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """The error table (Table E), one row per (profile, n, set, noise model, δ, seed, run), sorted."""
    df = pd.DataFrame(list(rows))
    if df.empty:
        return pd.DataFrame(columns=ERROR_COLUMNS)
    df["n"] = df["n"].astype(int)
    df["seed"] = df["seed"].astype(int)
    df["delta"] = df["delta"].astype(float)
    if "source" not in df:
        df["source"] = ""
    df = df[ERROR_COLUMNS].sort_values(["profile", "n", "set", "noise_model", "delta", "seed", "run"],
                                       kind="stable")
    return df.reset_index(drop=True)


def unique_cells(df: pd.DataFrame) -> pd.DataFrame:
    """The error table with one row per cell: a cell several studies report appears once (its
    first row; the rows differ only in ``study``)."""
    return df.drop_duplicates(subset=[k for k in KEYS if k in df.columns], keep="first")


def summarise_errors(df: pd.DataFrame) -> pd.DataFrame:
    """Per cell (all keys but the seed): median and spread over the noise seeds.

    For every metric: ``<m>_median``, ``<m>_min``, ``<m>_max``; ``n_seeds`` (rows), ``n_ok``
    (rows with a valid γ̂), ``n_na`` (rows where the method does not apply). Medians are taken
    over all rows (an invalid γ̂ counts with its error, NaN metrics are skipped); a cell where
    the method does not apply keeps NaN.
    """
    cols = [*METRICS, "iterations", "wall_time_s"]
    out = []
    for key, grp in df.groupby(CELL_KEYS, sort=True, dropna=False):
        row = dict(zip(CELL_KEYS, key, strict=True))
        row["n_seeds"] = len(grp)
        row["n_ok"] = int((grp["status"] == STATUS_OK).sum())
        row["n_na"] = int((grp["status"] == STATUS_NA).sum())
        for c in cols:
            vals = pd.to_numeric(grp[c], errors="coerce").to_numpy(dtype=float)
            vals = vals[~np.isnan(vals)]
            row[f"{c}_median"] = float(np.median(vals)) if vals.size else math.nan
            if c in METRICS:
                row[f"{c}_min"] = float(vals.min()) if vals.size else math.nan
                row[f"{c}_max"] = float(vals.max()) if vals.size else math.nan
        out.append(row)
    return pd.DataFrame(out)


def speed_table(df: pd.DataFrame) -> pd.DataFrame:
    """Wall time and iterations per (method, run, n): median over every dataset of that size."""
    ok = df[df["status"] != STATUS_NA]
    g = ok.groupby(["method", "run", "n"], sort=True)
    out = g.agg(datasets=("rel_l2", "size"), wall_time_s_median=("wall_time_s", "median"),
                wall_time_s_max=("wall_time_s", "max"), iterations_median=("iterations", "median"),
                iterations_max=("iterations", "max"), batch_size_median=("batch_size", "median"))
    return out.reset_index()


# ---- robustness to the noise model (ours) -----------------------------------------------------
ROBUSTNESS_KEYS = ["profile", "n", "set", "noise_model", "delta", "run", "method"]


def robustness_table(errors: pd.DataFrame, study: Mapping[str, Any]) -> pd.DataFrame:
    """Per (profile, n, set, noise model, δ, run): mean and std over the noise seeds of the errors.

    errors : the error table (:func:`build_error_table`, or read back from its CSV).
    study : the robustness study (``studies.robustness``: its n, sets, profiles, noise models,
        δ > 0, seeds and runs select the rows; cells it shares with other studies count too).

    Columns: :data:`ROBUSTNESS_KEYS`, ``seeds`` (rows), ``n_ok`` (valid γ̂), ``rel_l2_mean``,
    ``rel_l2_std`` (sample std, ddof 1; NaN for one seed), ``rel_l2_min``, ``rel_l2_max`` and
    ``centre_mean``. Means skip NaN metrics; an invalid γ̂ counts with its (finite) error.
    """
    sel = errors[errors["run"].isin(study["runs"]) & errors["n"].isin(study["n"])
                 & errors["set"].isin(study["sets"]) & errors["profile"].isin(study["profiles"])
                 & errors["noise_model"].isin(study["noise_models"]) & errors["seed"].isin(study["seeds"])
                 & np.isin(np.round(errors["delta"].astype(float), 15),
                           np.round([d for d in study["delta"] if d > 0], 15))
                 & (errors["status"] != STATUS_NA)]
    cols = ["seeds", "n_ok", "rel_l2_mean", "rel_l2_std", "rel_l2_min", "rel_l2_max", "centre_mean"]
    if sel.empty:
        return pd.DataFrame(columns=[*ROBUSTNESS_KEYS, *cols])
    g = sel.assign(ok=sel["status"] == STATUS_OK).groupby(ROBUSTNESS_KEYS, sort=True)
    out = g.agg(seeds=("seed", "size"), n_ok=("ok", "sum"), rel_l2_mean=("rel_l2", "mean"),
                rel_l2_std=("rel_l2", "std"), rel_l2_min=("rel_l2", "min"), rel_l2_max=("rel_l2", "max"),
                centre_mean=("centre", "mean"))
    out = out.reset_index()
    out["n_ok"] = out["n_ok"].astype(int)
    return out


# ---- training histories (Fig 3) --------------------------------------------------------------
TRAINING_COLUMNS = [*KEYS, "final_loss", "min_loss", "iterations", "iter_to_plateau", "decades", "drop_ratio"]


def training_row(cell: Mapping[str, Any], history: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """Loss-curve summary of one NN training run (claims of Fig 3).

    ``history``: the run's named history columns (:func:`discrete_eit.artifacts.formats.load_history`);
    ``loss`` is required, ``iteration`` defaults to 0, 1, …

    ``final_loss`` (last recorded loss), ``min_loss``, ``iterations`` (last recorded iteration),
    ``iter_to_plateau`` (first recorded iteration whose loss is within a factor 2 of the final
    loss: a robust "reached its steady state" time), ``decades`` (log10 of first / final loss)
    and ``drop_ratio`` (max over the run of loss / running minimum: 1 for a monotone loss).
    """
    loss = history.get("loss")
    it = history.get("iteration", np.arange(0 if loss is None else len(loss), dtype=float))
    row = {k: cell[k] for k in KEYS}
    if loss is None or loss.size == 0:
        return {**row, "final_loss": math.nan, "min_loss": math.nan, "iterations": math.nan,
                "iter_to_plateau": math.nan, "decades": math.nan, "drop_ratio": math.nan}
    good = np.isfinite(loss)
    it, loss = it[good], loss[good]
    final = float(loss[-1])
    reach = np.nonzero(loss <= 2.0 * final)[0]
    run_min = np.minimum.accumulate(loss)
    return {**row, "final_loss": final, "min_loss": float(loss.min()), "iterations": float(it[-1]),
            "iter_to_plateau": float(it[reach[0]]) if reach.size else math.nan,
            "decades": float(np.log10(loss[0] / final)) if final > 0 else math.inf,
            "drop_ratio": float(np.max(loss / run_min))}


# ---- completion error (Fig 9) ----------------------------------------------------------------
def block_error(completed: np.ndarray, exact: np.ndarray, n: int) -> float:
    """Relative Frobenius error of the leading n×n (N×N) block of a completed Λ."""
    a, b = completed[:n, :n], exact[:n, :n]
    return relative_l2_error(a, b)  # Frobenius norms of the blocks


def completion_summary(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Per (profile, n, set, δ, completion_pinv): median / min / max over seeds of the block error
    and of CM's error after completion; ``ratio_to_delta`` = median block error / δ."""
    df = pd.DataFrame(list(rows))
    if df.empty:
        return df
    g = df.groupby(["profile", "n", "set", "delta", "completion_pinv"], sort=True)
    out = g["block_error"].agg(block_error_median="median", block_error_min="min", block_error_max="max",
                               seeds="size")
    out = out.join(g["cm_rel_l2"].agg(cm_rel_l2_median="median", cm_rel_l2_min="min",
                                          cm_rel_l2_max="max"))
    out = out.join(g["cm_invalid"].sum().astype(int).rename("cm_invalid")).reset_index()
    with np.errstate(divide="ignore", invalid="ignore"):
        out["ratio_to_delta"] = np.where(out["delta"] > 0, out["block_error_median"] / out["delta"],
                                         math.nan)
    return out


# ---- sensitivity (Fig 12, Table 1) -----------------------------------------------------------
def sensitivity_row(profile: str, n: int, pset: str, info: Mapping[str, Any]) -> dict[str, Any]:
    """Rank and predicted relative std per unit δ of one (profile, n, set) (from the sidecar)."""
    return {"profile": profile, "n": int(n), "set": pset, "rank": int(info["rank"]),
            "n_params": int(info["n_params"]), "full_rank": bool(info["full_rank"]),
            "rank_deficiency": int(info["n_params"]) - int(info["rank"]),
            "max_rel_std_per_delta": _num(info.get("max_relative_std_per_delta")),
            "median_rel_std_per_delta": _num(info.get("median_relative_std_per_delta"))}


def table1_row(pset: str, delta: float, gamma_true: np.ndarray, std_per_delta: np.ndarray,
               errors: list[np.ndarray], rank: int, n_params: int, run: str = "nn") -> dict[str, Any]:
    """Table 1: measured pointwise error at small δ vs the linearised prediction, one set.

    errors : γ̂ − γ per noise seed. The measured norm is the RMS over seeds of ‖γ̂ − γ‖₂; the
    predicted norm is δ·sqrt(Σ_e std_e²) (the RMS of ‖dγ‖₂ under the linearised model). Both
    are also reported relative to ‖γ‖₂. ``shape_corr`` is the Pearson correlation over edges of
    the RMS pointwise error and the predicted std (1 = same shape).
    """
    e = np.asarray(errors, dtype=float)
    norm_g = float(np.linalg.norm(gamma_true))
    measured = float(np.sqrt(np.mean(np.sum(e ** 2, axis=1)))) if e.size else math.nan
    full_rank = rank == n_params and np.all(np.isfinite(std_per_delta))
    predicted = float(delta * np.sqrt(np.sum(std_per_delta ** 2))) if full_rank else math.nan
    rms_pointwise = np.sqrt(np.mean(e ** 2, axis=0)) if e.size else np.full_like(gamma_true, np.nan)
    if full_rank and e.size and np.std(rms_pointwise) > 0:
        corr = float(np.corrcoef(rms_pointwise, std_per_delta)[0, 1])
    else:
        corr = math.nan
    return {"set": pset, "run": run, "delta": float(delta), "seeds": int(e.shape[0]) if e.size else 0,
            "rank": int(rank), "n_params": int(n_params), "full_rank": bool(full_rank),
            "err_measured": measured, "err_predicted": predicted,
            "rel_err_measured": measured / norm_g, "rel_err_predicted": predicted / norm_g,
            "ratio": measured / predicted if full_rank and predicted > 0 else math.nan,
            "shape_corr": corr}


# ---- writers ---------------------------------------------------------------------------------
def _fmt(value: Any) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if math.isnan(v):
            return "–"
        if v == 0:
            return "0"
        if v.is_integer() and abs(v) < 1e6:
            return str(int(v))
        return f"{v:.3g}"
    return str(value)


def to_markdown(df: pd.DataFrame) -> str:
    """A GitHub Markdown table (3 significant digits, NaN as an en dash)."""
    cols = [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(_fmt(v) for v in row) + " |")
    return "\n".join(lines) + "\n"


def to_html(df: pd.DataFrame, title: str | None = None, note: str | None = None) -> str:
    """A standalone HTML page of the table (3 significant digits, as the Markdown), for the report."""
    import html

    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)

    def cell(v) -> str:   # numbers right-aligned, text left
        number = isinstance(v, (int, float, np.number)) and not isinstance(v, bool)
        return ("<td>" if number else "<td class=t>") + html.escape(_fmt(v)) + "</td>"

    body = "".join("<tr>" + "".join(cell(v) for v in row) + "</tr>\n" for row in df.itertuples(index=False))
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{html.escape(title or '')}</title>"
            f"<style>{_HTML_STYLE}</style></head><body>\n"
            + (f"<h1>{html.escape(title)}</h1>\n" if title else "")
            + (f"<p>{html.escape(note)}</p>\n" if note else "")
            + f"<table><thead><tr>{head}</tr></thead><tbody>\n{body}</tbody></table>\n</body></html>\n")


_HTML_STYLE = ("body{font-family:sans-serif;font-size:13px;margin:1em}table{border-collapse:collapse}"
               "th,td{border:1px solid #ccc;padding:2px 6px;text-align:right}td.t{text-align:left}"
               "th{background:#eee;position:sticky;top:0}tr:nth-child(even){background:#f8f8f8}")


def write_result(df: pd.DataFrame, outputs: Mapping[str, str], title: str = "", note: str = "",
                 inputs: Sequence[str | Path] = (), params: Mapping[str, Any] | None = None) -> None:
    """A table spec's outputs (:mod:`.specs`): ``outputs['csv']``, ``['md']`` and ``['html']``."""
    write_table(df, outputs["csv"], outputs["md"], title or None, note or None, inputs, params)
    from discrete_eit.artifacts.formats import write_bytes_artifact

    write_bytes_artifact(outputs["html"], to_html(df, title, note).encode(), "table", dict(params or {}),
                         list(inputs))


def write_table(df: pd.DataFrame, csv_path: str | Path, md_path: str | Path | None = None,
                title: str | None = None, note: str | None = None,
                inputs: Sequence[str | Path] = (), params: Mapping[str, Any] | None = None) -> None:
    """Write ``df`` as CSV (full precision, round-trips) and optionally as Markdown.

    Both files are written atomically with a provenance sidecar (kind ``table``) that records the
    sha256 of every input file.
    """
    from discrete_eit.artifacts.formats import write_bytes_artifact

    params = dict(params or {})
    write_bytes_artifact(csv_path, df.to_csv(index=False, float_format="%.17g").encode(), "table",
                         params, list(inputs))
    if md_path is not None:
        text = (f"# {title}\n\n" if title else "") + (f"{note}\n\n" if note else "") + to_markdown(df)
        write_bytes_artifact(md_path, text.encode(), "table", params, list(inputs))


# ---- regional errors (Figs 6, 11) ------------------------------------------------------------
QUADRANTS = ("NW", "NE", "SE", "SW")


def edge_neighbours(lattice, edges: Sequence[int]) -> np.ndarray:
    """Indices of the edges sharing a node with any of ``edges`` (excluding ``edges``)."""
    edges = np.asarray(list(edges), dtype=int)
    if edges.size == 0:
        return edges
    nodes = np.unique(lattice.edges[edges])
    touch = np.isin(lattice.edges, nodes).any(axis=1)
    touch[edges] = False
    return np.nonzero(touch)[0]


def quadrant_masks(lattice) -> dict[str, np.ndarray]:
    """Edges by quadrant of their midpoint (midpoints on a centre line belong to both sides)."""
    c = (lattice.n + 1) / 2
    r, col = lattice.edge_midpoints[:, 0], lattice.edge_midpoints[:, 1]
    north, south, west, east = r <= c, r >= c, col <= c, col >= c
    return {"NW": north & west, "NE": north & east, "SE": south & east, "SW": south & west}


def region_row(cell: Mapping[str, Any], lattice, gamma_hat: np.ndarray, gamma: np.ndarray,
               fixed: Sequence[int] = ()) -> dict[str, Any]:
    """Regional relative ℓ² errors of one reconstruction: quadrants, a fixed edge, its neighbours."""
    row = {k: cell[k] for k in KEYS}

    def rel(mask) -> float:
        if not np.any(mask):
            return math.nan
        with np.errstate(invalid="ignore", over="ignore"):
            return relative_l2_error(gamma_hat[mask], gamma[mask])

    for q, m in quadrant_masks(lattice).items():
        row[f"err_{q}"] = rel(m)
    fixed = [int(e) for e in fixed]
    row["err_fixed"] = rel(np.isin(np.arange(lattice.n_edges), fixed)) if fixed else math.nan
    nb = edge_neighbours(lattice, fixed)
    row["err_neighbours"] = rel(np.isin(np.arange(lattice.n_edges), nb)) if nb.size else math.nan
    centre = ~lattice.boundary_ring
    if fixed:
        centre &= ~np.isin(np.arange(lattice.n_edges), np.concatenate([fixed, nb]))
    row["err_centre"] = rel(centre)
    return row


# ---- Monte Carlo check of the sensitivity prediction (ours) ---------------------------------------
def mc_row(pset: str, n: int, delta: float, errors: np.ndarray, std_per_delta: np.ndarray, rank: int,
           n_params: int, method: str) -> dict[str, Any]:
    """Empirical std per edge over noise draws / predicted std (MATH.md §7), summarised over edges.

    errors : (draws, E) γ̂ − γ. ``ratio_*`` are the median, min and max over the edges of
    empirical std (ddof 1) / (δ · std_per_delta); 1 = the prediction holds.
    """
    e = np.asarray(errors, dtype=float)
    row = {"set": pset, "n": int(n), "delta": float(delta), "draws": int(e.shape[0]), "method": method,
           "rank": int(rank), "n_params": int(n_params), "full_rank": rank == n_params}
    if rank == n_params and e.shape[0] >= 2:
        ratio = e.std(axis=0, ddof=1) / (delta * np.asarray(std_per_delta, dtype=float))
        row.update(ratio_median=float(np.median(ratio)), ratio_min=float(ratio.min()),
                   ratio_max=float(ratio.max()))
    else:
        row.update(ratio_median=math.nan, ratio_min=math.nan, ratio_max=math.nan)
    return row

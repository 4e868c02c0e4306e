"""Figures: conductivities drawn on the lattice edges, error maps, loss curves, Fig 1.

A figure is described by a *layout*: rows of panels, each panel a JSON-able dict naming its kind
and the files it shows (so the workflow can derive a rule's inputs from the same description).
:func:`render_layout` loads the files, shares one linear colour scale among all conductivity
panels and one logarithmic scale among all error panels of the figure, and draws.

Panel kinds
-----------
``truth``      ``data``: the true γ of a dataset.
``gamma``      ``recon``: a reconstruction γ̂.
``error``      ``recon``, ``data``: pointwise relative error ``|γ̂_e − γ_e| / γ_e``.
``rms_error``  ``recons``, ``datas``: RMS over noise seeds of the pointwise relative error.
``std``        ``sens``, ``delta``: predicted relative std ``δ·std_e/γ_e`` (MATH.md §7).
``loss``       ``curves``: list of ``{label, recon}``: training loss vs iteration.
``completion`` ``table``, ``metric``: completion CSV (Fig 9): ``block_error`` (default) or CM's
               ``cm_rel_l2`` after completion vs δ, one line per ``completion_pinv``.
``robustness`` ``table``, ``noise_model``: robustness CSV: mean rel. ℓ² error vs δ under one noise
               model, one line per run, error bars = std over the seeds.
``text``       ``text``: a message (e.g. "not applicable").
Every panel may carry ``title`` and ``mark`` (edge indices outlined, e.g. a fixed edge).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402
from matplotlib.colors import LogNorm, Normalize  # noqa: E402

from discrete_eit.problem.lattice import Lattice  # noqa: E402

GAMMA_CMAP = "viridis"
ERROR_CMAP = "magma_r"
ERROR_FLOOR = 1e-16
ERROR_CAP = 1e2
"""Error colour scales stop at this value (a blown-up Curtis–Morrow must not hide the rest)."""
LATTICE_KINDS = ("truth", "gamma", "error", "rms_error", "std")
PLOT_KINDS = ("loss", "completion", "robustness")
"""Panels with axes (a bottom-row one needs room for its axis label)."""
ERROR_KINDS = ("error", "rms_error", "std")


# ---- drawing primitives ----------------------------------------------------------------------
def edge_segments(lattice: Lattice) -> np.ndarray:
    """(2n(n+1), 2, 2) segment end points ``(x, y) = (column, row)`` of every edge, γ order."""
    pts = lattice.node_points[lattice.edges]  # (E, 2, (r, c))
    return pts[..., ::-1].astype(float)


def draw_edges(ax, lattice: Lattice, values: np.ndarray, norm, cmap: str, mark: Sequence[int] = (),
               linewidth: float | None = None):
    """Draw γ-like ``values`` as coloured lattice edges on ``ax``; returns the collection.

    Non-finite values are drawn in light grey. Row r grows downward (MATH.md §1).
    """
    n = lattice.n
    lw = linewidth if linewidth is not None else max(1.5, 28.0 / (n + 1))
    values = np.asarray(values, dtype=float)
    seg = edge_segments(lattice)
    finite = np.isfinite(values)
    if isinstance(norm, LogNorm):  # exact zeros (and tiny values) take the lowest colour
        values = np.where(finite, np.maximum(values, norm.vmin), values)
    if (~finite).any():
        ax.add_collection(LineCollection(seg[~finite], colors="0.85", linewidths=lw, capstyle="butt"))
    lc = LineCollection(seg[finite], cmap=cmap, norm=norm, linewidths=lw, capstyle="butt")
    lc.set_array(values[finite])
    ax.add_collection(lc)
    if len(mark):
        ax.add_collection(LineCollection(seg[np.asarray(mark, dtype=int)], colors="red",
                                         linewidths=lw * 0.35, linestyles="-"))
    interior = lattice.node_points[lattice.n_boundary:]
    ax.plot(interior[:, 1], interior[:, 0], "o", ms=max(0.8, 6.0 / (n + 1) ** 0.7), color="0.25")
    ax.set_xlim(-0.5, n + 1.5)
    ax.set_ylim(n + 1.5, -0.5)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    return lc


def lattice_from_edges(n_edges: int) -> Lattice:
    """The lattice with ``n_edges = 2n(n+1)`` edges."""
    n = int(round((math.sqrt(1 + 2 * n_edges) - 1) / 2))
    if 2 * n * (n + 1) != n_edges:
        raise ValueError(f"{n_edges} is not 2n(n+1) for any n")
    return Lattice(n)


def pointwise_error(gamma_hat: np.ndarray, gamma: np.ndarray) -> np.ndarray:
    """``|γ̂ − γ| / γ`` per edge (NaN where γ̂ is not finite)."""
    with np.errstate(invalid="ignore", over="ignore"):
        return np.abs(np.asarray(gamma_hat, float) - gamma) / gamma


def log_norm(arrays: Sequence[np.ndarray], decades: float = 8.0) -> LogNorm:
    """One LogNorm for all arrays: top = largest finite value, at most ``decades`` below it."""
    vals = np.concatenate([np.ravel(a) for a in arrays]) if arrays else np.array([1.0])
    vals = vals[np.isfinite(vals) & (vals > 0)]
    if vals.size == 0:
        return LogNorm(1e-3, 1.0)
    vmax = min(float(vals.max()), ERROR_CAP)
    vmin = max(float(vals.min()), vmax * 10.0 ** (-decades), ERROR_FLOOR)
    if vmin >= vmax:
        vmin = vmax / 10.0
    return LogNorm(vmin, vmax)


def linear_norm(arrays: Sequence[np.ndarray]) -> Normalize:
    """One linear norm over the finite values of all arrays; wild values are clipped at the
    range of the first array (the truth when present), widened by 50%."""
    if not arrays:
        return Normalize(0.0, 1.0)
    ref = np.asarray(arrays[0], float)
    ref = ref[np.isfinite(ref)]
    lo, hi = (float(ref.min()), float(ref.max())) if ref.size else (0.0, 1.0)
    vals = np.concatenate([np.ravel(a) for a in arrays])
    vals = vals[np.isfinite(vals)]
    span = max(hi - lo, 1e-12)
    lo = max(float(vals.min()), lo - 0.5 * span)
    hi = min(float(vals.max()), hi + 0.5 * span)
    return Normalize(lo, hi if hi > lo else lo + 1.0)


# ---- layouts ---------------------------------------------------------------------------------
Loader = Callable[[str], dict[str, np.ndarray]]


def _npz_loader(path: str) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def panel_values(panel: dict[str, Any], load: Loader) -> tuple[Lattice, np.ndarray] | None:
    """(lattice, values) of a lattice panel."""
    kind = panel["kind"]
    if kind == "truth":
        d = load(panel["data"])
        return Lattice(int(d["n"])), d["gamma_true"]
    if kind == "gamma":
        g = load(panel["recon"])["gamma"]
        return lattice_from_edges(g.size), g
    if kind == "error":
        d = load(panel["data"])
        return Lattice(int(d["n"])), pointwise_error(load(panel["recon"])["gamma"], d["gamma_true"])
    if kind == "rms_error":
        errs = []
        for rp, dp in zip(panel["recons"], panel["datas"], strict=True):
            d = load(dp)
            errs.append(pointwise_error(load(rp)["gamma"], d["gamma_true"]))
        return Lattice(int(d["n"])), np.sqrt(np.mean(np.square(errs), axis=0))
    if kind == "std":
        s = load(panel["sens"])
        gamma = s["gamma_linearised"]
        return lattice_from_edges(gamma.size), float(panel["delta"]) * s["std_per_delta"] / gamma
    return None


def render_layout(layout: dict[str, Any], load: Loader = _npz_loader,
                  history: Callable[[str], tuple[np.ndarray, np.ndarray]] | None = None):
    """Draw a layout (see the module docstring); returns the matplotlib Figure.

    ``history(recon_path) -> (iterations, loss)`` supplies loss curves (``loss`` panels).
    """
    rows = layout["rows"]
    ncols = max(len(r["panels"]) for r in rows)
    size = layout.get("panel_size", 2.3)
    has_lattice = any(p["kind"] in LATTICE_KINDS for r in rows for p in r["panels"])
    plot_first = any(r["panels"] and r["panels"][0]["kind"] in PLOT_KINDS for r in rows)
    margin_l = layout.get("margin_left", 1.0 if plot_first else 0.4)   # inches: row labels (+ a y label)
    margin_r = 2.0 if has_lattice else 0.2            # inches: colour bars
    width = size * ncols + margin_l + margin_r
    height = size * len(rows) + (0.8 if layout.get("title") else 0.4)
    fig, axes = plt.subplots(len(rows), ncols, figsize=(width, height), squeeze=False)
    values: dict[tuple[int, int], tuple[Lattice, np.ndarray]] = {}
    for i, row in enumerate(rows):
        for j, p in enumerate(row["panels"]):
            if p["kind"] in LATTICE_KINDS:
                values[i, j] = panel_values(p, load)

    def kind(i, j):
        return rows[i]["panels"][j]["kind"]

    gamma_vals = [v for (i, j), (_, v) in values.items() if kind(i, j) == "truth"]
    gamma_vals += [v for (i, j), (_, v) in values.items() if kind(i, j) == "gamma"]
    gnorm = linear_norm(gamma_vals) if gamma_vals else None
    decades = layout.get("error_decades", 8.0)
    per_row = layout.get("error_scale", "figure") == "row"
    enorms: dict[int, LogNorm] = {}
    all_err = [v for (i, j), (_, v) in values.items() if kind(i, j) in ERROR_KINDS]
    for i in range(len(rows)):
        row_err = [v for (r, j), (_, v) in values.items() if r == i and kind(r, j) in ERROR_KINDS]
        if row_err:
            enorms[i] = log_norm(row_err if per_row else all_err, decades)
    maps: dict[str, Any] = {"gamma": None, "errors": {}}
    for i, row in enumerate(rows):
        for j in range(ncols):
            ax = axes[i, j]
            if j >= len(row["panels"]):
                ax.axis("off")
                continue
            p = row["panels"][j]
            if p["kind"] in LATTICE_KINDS:
                _draw_lattice(ax, p, values[i, j], gnorm, enorms.get(i), maps, i)
            else:
                PLOT_DRAWERS[p["kind"]](ax, p, history)
            ax.set_title(p.get("title", ""), fontsize=9)
    gmap, emaps = maps["gamma"], maps["errors"]
    top = 1 - (0.65 if layout.get("title") else 0.25) / height
    # a plot in the bottom row needs room for its axis label and ticks
    plot_last = any(p["kind"] in PLOT_KINDS for p in rows[-1]["panels"])
    fig.subplots_adjust(left=margin_l / width, right=1 - margin_r / width, top=top,
                        bottom=(0.45 if plot_last or not has_lattice else 0.15) / height, wspace=0.3,
                        hspace=0.4)
    for i, row in enumerate(rows):
        if row.get("label"):
            pos = axes[i, 0].get_position()
            fig.text(0.08 / width, pos.y0 + pos.height / 2, row["label"], rotation=90, ha="left",
                     va="center", fontsize=10)
    label = layout.get("error_label", "relative error |γ̂−γ|/γ")
    x_err = 1 - (margin_r - 0.2) / width           # error colour bar(s), then the γ colour bar
    x_gam = 1 - (margin_r - 1.15) / width
    cbar_w = 0.12 / width
    if per_row:
        for i, m in emaps.items():
            pos = axes[i, 0].get_position()
            cax = fig.add_axes([x_err, pos.y0 + 0.1 * pos.height, cbar_w, 0.8 * pos.height])
            row_err = [v for (r, j), (_, v) in values.items() if r == i and kind(r, j) in ERROR_KINDS]
            fig.colorbar(m, cax=cax, extend=extend(row_err, m.norm)).ax.tick_params(labelsize=7)
        if emaps:
            fig.text(x_err + 0.62 / width, 0.5, label + " (scale per row)", rotation=90, va="center",
                     fontsize=8)
    elif emaps:
        cax = fig.add_axes([x_err, 0.15, cbar_w, 0.7])
        m = next(iter(emaps.values()))
        fig.colorbar(m, cax=cax, label=label, extend=extend(all_err, m.norm))
    if gmap is not None:
        cax = fig.add_axes([x_gam, 0.15, cbar_w, 0.7])
        fig.colorbar(gmap, cax=cax, label="conductivity γ")
    if layout.get("title"):
        fig.suptitle(layout["title"], fontsize=11)
    return fig


def extend(arrays: Sequence[np.ndarray], norm) -> str:
    """Colour-bar ``extend`` for values beyond the norm's range (errors below the floor of an
    8-decade log scale, e.g. exact data solved to 1e-15, are drawn in its lowest colour)."""
    vals = np.concatenate([np.ravel(a) for a in arrays]) if len(arrays) else np.empty(0)
    vals = vals[np.isfinite(vals) & (vals > 0)]
    low = bool(vals.size and vals.min() < norm.vmin * (1 - 1e-9))
    high = bool(vals.size and vals.max() > norm.vmax * (1 + 1e-9))
    return {(False, False): "neither", (True, False): "min", (False, True): "max",
            (True, True): "both"}[low, high]


def _draw_lattice(ax, panel: dict[str, Any], lattice_values, gnorm, enorm, maps: dict, row: int) -> None:
    """A lattice panel: γ-like values (one linear scale) or errors (the row's or figure's log scale);
    an error panel without a finite value says so (a rank-deficient prediction)."""
    lattice, v = lattice_values
    if panel["kind"] not in ERROR_KINDS:
        maps["gamma"] = draw_edges(ax, lattice, v, gnorm, GAMMA_CMAP, panel.get("mark", ()))
    elif np.isfinite(v).any():
        maps["errors"][row] = draw_edges(ax, lattice, v, enorm, ERROR_CMAP, panel.get("mark", ()))
    else:
        _draw_text(ax, {"text": panel.get("empty_text", "no prediction\n(Jacobian rank deficient)")})


def _draw_text(ax, panel: dict[str, Any], history=None) -> None:
    ax.axis("off")
    ax.text(0.5, 0.5, panel["text"], ha="center", va="center", wrap=True, fontsize=9, transform=ax.transAxes)


def _draw_loss(ax, panel: dict[str, Any], history) -> None:
    """Training loss against the iteration, one curve per ``{label, recon}`` of ``curves``."""
    for c in panel["curves"]:
        it, loss = history(c["recon"])
        ok = np.isfinite(loss) & (loss > 0)
        ax.semilogy(it[ok], loss[ok], label=c["label"], lw=1.2, ls=c.get("ls", "-"))
    ax.set_xlabel("iteration", fontsize=8)
    ax.set_ylabel("loss ℓ", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.ticklabel_format(axis="x", style="sci", scilimits=(0, 3))
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=7, frameon=False)


_COMPLETION_Y = {"block_error": "rel. error of the N×N block", "cm_rel_l2": "CM rel. ℓ² error of γ̂"}
_PINV_STYLE = {"truncated": ("-", "o", "truncated (ours)"), "plain": ("--", "s", "plain (paper)")}


def _draw_completion(ax, panel: dict[str, Any], history=None) -> None:
    """``metric`` (block_error or cm_rel_l2) vs δ: median and min–max over seeds, one line per n
    and completion_pinv."""
    import pandas as pd

    metric = panel.get("metric", "block_error")
    df = pd.read_csv(panel["table"])
    df = df[(df["delta"] > 0) & (df["set"] == panel.get("set", "last3n"))]
    for (n, pinv), g in df.groupby(["n", "completion_pinv"]):
        g = g.sort_values("delta")
        med = g[f"{metric}_median"].to_numpy(float)
        # CM's error is inf where γ̂ is non-finite: the bar then reaches the top of the axes
        top = np.nan_to_num(g[f"{metric}_max"].to_numpy(float), posinf=1e3)
        err = np.vstack([med - g[f"{metric}_min"].to_numpy(float), top - med])
        ls, marker, label = _PINV_STYLE.get(pinv, ("-", "o", pinv))
        ax.errorbar(g["delta"], med, yerr=err, marker=marker, ms=3, lw=1.2, ls=ls, capsize=2,
                    label=f"n = {n}, {label}")
    if not df.empty and metric == "block_error":
        d = np.array([df["delta"].min(), df["delta"].max()])
        ax.loglog(d, d, "k:", lw=0.8, label="δ")
    _log_axes_vs_delta(ax, _COMPLETION_Y[metric], legend=True)


def _log_axes_vs_delta(ax, ylabel: str, legend: bool) -> None:
    """Log-log axes of a quantity against the noise level δ (Fig 9's completion, the robustness)."""
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("noise level δ", fontsize=8)
    ax.set_ylabel(ylabel, fontsize=8)
    ax.tick_params(which="both", labelsize=7)   # short log ranges label minor ticks too
    ax.grid(True, alpha=0.3)
    if legend:
        ax.legend(fontsize=7, frameon=False)


def _draw_robustness(ax, panel: dict[str, Any], history=None) -> None:
    """Mean rel. ℓ² error vs δ under one noise model, a line per run (markers and dashes differ,
    so that runs with equal errors stay visible), bars = std over the seeds."""
    import pandas as pd

    df = pd.read_csv(panel["table"])
    df = df[df["noise_model"] == panel["noise_model"]]
    for k, (run, g) in enumerate(df.groupby("run", sort=False)):
        g = g.sort_values("delta")
        # a one-seed std is NaN: no bar; a bar may not reach below zero on the log axis
        std = g["rel_l2_std"].fillna(0).to_numpy()
        low = np.minimum(std, 0.9 * g["rel_l2_mean"].to_numpy())
        ax.errorbar(g["delta"], g["rel_l2_mean"], yerr=np.vstack([low, std]), marker=_MARKERS[k % 7],
                    ms=5 - 0.5 * (k % 3), mfc="none", lw=1.2, ls=_DASHES[k % 4], capsize=2, alpha=0.9,
                    label=run)
    _log_axes_vs_delta(ax, "rel. ℓ² error (mean ± std over seeds)", legend=not df.empty)


_MARKERS = ("o", "s", "^", "v", "D", "x", "+")
_DASHES = ("-", "--", "-.", ":")

PLOT_DRAWERS = {"loss": _draw_loss, "completion": _draw_completion, "robustness": _draw_robustness,
                "text": _draw_text}
"""How each panel kind that is not a lattice is drawn: ``drawer(ax, panel, history)``."""


# ---- Fig 1 -----------------------------------------------------------------------------------
def figure_lattice_and_pattern(n: int, pattern: np.ndarray, pattern_name: str = "sigma0"):
    """Fig 1: (a) the lattice with its boundary numbering; (b) a partial set's 4n×4n pattern."""
    lattice = Lattice(n)
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(10.5, 5.0))
    seg = edge_segments(lattice)
    ax.add_collection(LineCollection(seg, colors="0.35", linewidths=1.5))
    bp = lattice.boundary_points
    interior = lattice.node_points[lattice.n_boundary:]
    ax.plot(interior[:, 1], interior[:, 0], "o", color="0.2", ms=5)
    ax.plot(bp[:, 1], bp[:, 0], "s", color="tab:blue", ms=6)
    for t, (r, c) in enumerate(bp):
        dr, dc = (-0.32 if r == 0 else 0.32 if r == n + 1 else 0.0), (
            -0.38 if c == 0 else 0.38 if c == n + 1 else 0.0)
        ax.text(c + dc, r + dr, f"{lattice.boundary_labels[t]}\n({t + 1})", ha="center", va="center",
                fontsize=7, color="tab:blue")
    ax.set_xlim(-0.9, n + 1.9)
    ax.set_ylim(n + 1.9, -0.9)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(f"(a) {n}×{n} lattice: boundary nodes in DtN order (clockwise from N1)", fontsize=9)
    m = 4 * n
    bx.imshow(np.asarray(pattern, bool), cmap="Greys", vmin=0, vmax=1.6, interpolation="nearest")
    for k in range(1, 4):
        bx.axhline(k * n - 0.5, color="tab:blue", lw=0.8)
        bx.axvline(k * n - 0.5, color="tab:blue", lw=0.8)
    ticks = [n * k + (n - 1) / 2 for k in range(4)]
    bx.set_xticks(ticks, ["N", "E", "S", "W"])
    bx.set_yticks(ticks, ["N", "E", "S", "W"])
    bx.set_xlim(-0.5, m - 0.5)
    bx.set_ylim(m - 0.5, -0.5)
    count = int(np.asarray(pattern, bool).sum())
    bx.set_title(f"(b) {pattern_name} in the {m}×{m} DtN matrix: {count} = 2n(n+1) entries",
                 fontsize=9)
    fig.tight_layout()
    return fig


# ---- build functions of the figure specs (:mod:`.specs`) -------------------------------------------
def _history(path: str) -> tuple[np.ndarray, np.ndarray]:
    from discrete_eit.artifacts.formats import load_history

    cols = load_history(path)
    return cols.get("iteration", np.array([])), cols.get("loss", np.array([]))


def build_layout(inputs, params: dict[str, Any]):
    """A figure drawn from its layout (``params['layout']``), reading files as the job's inputs."""
    from discrete_eit.artifacts.formats import load_npz

    return render_layout(params["layout"], load=lambda path: load_npz(path, ()), history=_history)


def build_lattice_and_pattern(inputs, params: dict[str, Any]):
    """Fig 1 at ``params['n']`` with the partial set ``params['pattern']``."""
    from discrete_eit.problem.partial import partial_mask

    n = int(params["n"])
    return figure_lattice_and_pattern(n, partial_mask(params["pattern"], n), params["pattern"])


def write_result(fig, outputs: dict[str, str], title: str = "", note: str = "",
                 inputs: Sequence[str | Path] = (), params: dict[str, Any] | None = None) -> None:
    """A figure spec's outputs (:mod:`.specs`): ``outputs['png']`` and ``['pdf']``."""
    save_figure(fig, outputs["png"], outputs["pdf"], inputs=inputs, params=params)


def save_figure(fig, png: str | Path, pdf: str | Path | None = None, dpi: int = 150,
                inputs: Sequence[str | Path] = (), params: dict[str, Any] | None = None) -> None:
    """Save PNG (+ PDF) atomically, each with a provenance sidecar (kind ``figure``)."""
    import io as _io

    from discrete_eit.artifacts.formats import write_bytes_artifact

    for path, kwargs in ((png, {"dpi": dpi}), (pdf, {})):
        if path is None:
            continue
        buf = _io.BytesIO()
        fmt = Path(path).suffix.lstrip(".")
        fig.savefig(buf, format=fmt, metadata=_fixed_metadata("." + fmt), **kwargs)
        write_bytes_artifact(path, buf.getvalue(), "figure", dict(params or {}), list(inputs))
    plt.close(fig)


def _fixed_metadata(suffix: str) -> dict[str, Any]:
    """Metadata without timestamps so that equal figures give equal bytes."""
    if suffix == ".pdf":
        return {"CreationDate": None, "ModDate": None, "Producer": "discrete-eit"}
    if suffix == ".png":
        return {"Software": "discrete-eit"}
    return {}

"""A study's error curves: median relative ℓ² error over the noise seeds against δ or against n.

Build functions of the ``error_vs_delta`` and ``error_vs_n`` specs (:mod:`.specs`): one line per
run, a panel per combination of the study's other varying keys (profile, n or δ, set, noise model),
bars from the smallest to the largest error over the seeds. Rows where the method does not apply
are left out; an invalid γ̂ counts with its error, as in the summary table.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .tables import STATUS_NA

METRIC = "rel_l2"
FLOOR = 1e-16
"""Errors below this (exact data solved to machine precision) are drawn at it."""
PANEL_KEYS = ("profile", "n", "delta", "set", "noise_model")


def study_rows(errors: pd.DataFrame, study: str) -> pd.DataFrame:
    """The study's rows of the error table where its method applied."""
    return errors[(errors["study"] == study) & (errors["status"] != STATUS_NA)]


def curves(rows: pd.DataFrame, x: str) -> dict[tuple, dict[str, pd.DataFrame]]:
    """``{panel key: {run: DataFrame(x, median, min, max)}}``: the median / min / max of the error
    over the seeds per run and ``x``, one panel per value of the other keys that vary."""
    panel_keys = [k for k in PANEL_KEYS if k != x and rows[k].nunique() > 1]
    out: dict[tuple, dict[str, pd.DataFrame]] = {}
    for key, grp in rows.groupby(panel_keys, sort=True) if panel_keys else [((), rows)]:
        key = key if isinstance(key, tuple) else (key,)
        g = grp.groupby(["run", x], sort=True)[METRIC].agg(["median", "min", "max"]).reset_index()
        out[tuple(zip(panel_keys, key, strict=True))] = {run: r.drop(columns="run")
                                                        for run, r in g.groupby("run", sort=False)}
    return out


def _panel_title(key: tuple) -> str:
    """``n = 6, set full, δ = 0.001``: the keys a panel fixes."""
    named = ("set", "noise_model", "profile")
    return ", ".join(f"δ = {v:g}" if k == "delta" else f"{k.replace('_', ' ')} {v}" if k in named
                     else f"{k} = {v}" for k, v in key)


def _figure(panels: Mapping[tuple, Mapping[str, pd.DataFrame]], x: str, title: str, xlabel: str,
            runs: Sequence[str]):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ncols = min(3, max(1, len(panels)))
    nrows = max(1, math.ceil(len(panels) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.4 * nrows + 0.6), squeeze=False)
    colours = {run: f"C{i % 10}" for i, run in enumerate(runs)}
    exact_at = None
    if x == "delta":
        noisy = [v for p in panels.values() for r in p.values() for v in r["delta"] if v > 0]
        exact_at = min(noisy) / 10 if noisy else 1e-6   # δ = 0 drawn one decade left of the smallest δ
    for ax, (key, by_run) in zip(axes.flat, panels.items(), strict=False):
        for run, r in by_run.items():
            xs = r[x].to_numpy(float)
            med, lo, hi = (np.maximum(r[c].to_numpy(float), FLOOR) for c in ("median", "min", "max"))
            bars = np.vstack([med - lo, hi - med])
            line = xs > 0 if exact_at is not None else np.ones(xs.size, bool)
            ax.errorbar(xs[line], med[line], yerr=bars[:, line], marker="o", ms=4, lw=1.3, capsize=2,
                        color=colours.get(run), label=run)
            if exact_at is not None and (~line).any():   # exact data: a marker apart, no line
                ax.errorbar(np.full((~line).sum(), exact_at), med[~line], yerr=bars[:, ~line], marker="s",
                            ms=4, ls="none", capsize=2, color=colours.get(run))
        ax.set_yscale("log")
        values = sorted({v for r in by_run.values() for v in r[x]})
        if x == "delta":
            ax.set_xscale("log")
            ax.set_xticks([exact_at if v == 0 else v for v in values],
                          ["exact" if v == 0 else f"{v:g}" for v in values])
            ax.minorticks_off()
        else:
            ax.set_xticks(values)
        ax.set_xlabel(xlabel, fontsize=9)
        ax.set_ylabel("rel. ℓ² error (median, min–max over seeds)", fontsize=8)
        ax.set_title(_panel_title(key), fontsize=9)
        ax.tick_params(which="both", labelsize=8)
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=7, frameon=False)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig


def _build(inputs, params: Mapping[str, Any], x: str, xlabel: str):
    errors = pd.read_csv(inputs["errors"][0])
    rows = study_rows(errors, params["study"])
    panels = curves(rows, x)
    runs = list(dict.fromkeys(rows["run"]))
    what = "noise level δ" if x == "delta" else "lattice size n"
    fixed = _panel_title(tuple((k, rows[k].iloc[0]) for k in PANEL_KEYS if k != x and rows[k].nunique() == 1))
    title = f"Study {params['study']}: error vs {what}" + (f" ({fixed})" if fixed else "")
    return _figure(panels, x, title, xlabel, runs)


def error_vs_delta(inputs, params: Mapping[str, Any]):
    """The ``error_vs_delta`` figure of ``params['study']`` (``inputs['errors']``: the error table)."""
    return _build(inputs, params, "delta", "noise level δ")


def error_vs_n(inputs, params: Mapping[str, Any]):
    """The ``error_vs_n`` figure of ``params['study']`` (``inputs['errors']``: the error table)."""
    return _build(inputs, params, "n", "lattice size n")

"""Figure layouts: rows of panels naming the files they show (plain, JSON-able data).

:mod:`.figures` renders a layout; :func:`layout_files` lists what it reads (a figure rule's
inputs). :func:`figure_layouts` gives the paper's Figs 3a–12 and the robustness figure,
:func:`gallery` one study's gallery (the truth and each run's γ̂ at one cell).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from discrete_eit.methods.registry import Method

from .config import fixed_edges
from .grid import gallery_cell, method_applies
from .paths import data_path, recon_path, sensitivity_path, table_paths

LATTICE, EXACT, NOISY, PRIOR, CURTIS_MORROW, PARTIAL, TABLES, ROBUSTNESS = (
    "Paper 1 · the lattice", "Paper 2 · exact data", "Paper 3 · noisy data", "Paper 4 · a known edge",
    "Paper 5 · Curtis–Morrow", "Paper 6 · partial data", "Paper 7 · tables",
    "Paper 8 · robustness to the noise model (ours)")
"""Report sections of the paper's experiment, in paper order (the report sorts them by name)."""

PAPER_FIGURES = (
    ("fig3a", "Fig 3a: NN training loss, exact data", EXACT),
    ("fig3b", "Fig 3b: NN training loss at several noise levels", NOISY),
    ("fig4", "Fig 4: NN reconstructions from exact data", EXACT),
    ("fig5", "Fig 5: NN reconstructions from noisy data", NOISY),
    ("fig6", "Fig 6: NN with a free vs a fixed edge", PRIOR),
    ("fig7", "Fig 7: full vs last3n data", PARTIAL),
    ("fig8", "Fig 8: Curtis–Morrow vs NN, full data", CURTIS_MORROW),
    ("fig9", "Fig 9: last3n, completion, CM vs NN", PARTIAL),
    ("fig10", "Fig 10: sigma0, CM vs NN", PARTIAL),
    ("fig11", "Fig 11: last2n, CM vs NN", PARTIAL),
    ("fig12", "Fig 12: NN error vs the linearised prediction", PARTIAL),
    ("robustness", "Robustness to the noise model (ours)", ROBUSTNESS),
)
"""``(name, report title, report section)`` of the paper's layout figures, in paper order."""


def layout_files(layout: dict[str, Any]) -> list[str]:
    """Every file a layout reads (a rule's ``input:``), in a stable order without repeats."""
    seen: dict[str, None] = {}
    for row in layout["rows"]:
        for p in row["panels"]:
            for key in ("data", "recon", "sens", "table"):
                if key in p:
                    seen.setdefault(p[key], None)
            for key in ("recons", "datas"):
                for path in p.get(key, []):
                    seen.setdefault(path, None)
            for c in p.get("curves", []):
                seen.setdefault(c["recon"], None)
    return list(seen)


def delta_label(delta: float) -> str:
    """``exact`` or ``δ = 0.001``: a row label."""
    return "exact" if float(delta) == 0 else f"δ = {float(delta):g}"


def truth_panel(data: str, title: str = "true γ") -> dict[str, Any]:
    return {"kind": "truth", "data": data, "title": title}


def reconstruction_panels(recon: str, data: str, label: str, applies: bool = True, partial_set: str = "",
                          mark=()) -> list[dict[str, Any]]:
    """[γ̂, pointwise error] of one reconstruction, or two text panels where the run's method does
    not apply to the partial set."""
    if not applies:
        return [{"kind": "text", "title": f"{label}: γ̂",
                 "text": f"{label}: not applicable\n(Λ cannot be completed\nfrom {partial_set})"},
                {"kind": "text", "title": f"{label}: error", "text": ""}]
    return [{"kind": "gamma", "recon": recon, "title": f"{label}: γ̂", "mark": list(mark)},
            {"kind": "error", "recon": recon, "data": data, "title": f"{label}: |γ̂−γ|/γ", "mark": list(mark)}]


class _PaperCells:
    """Paths of the cells the paper's figures show: the figures' profile and noise seed (exact
    data: seed 0), the working size unless a size is given."""

    def __init__(self, cfg: Mapping[str, Any], methods: Mapping[str, Method]):
        self.cfg, self.methods = cfg, methods
        fig = cfg["figures"]
        self.profile, self.seed, self.n = fig["profile"], fig["seed"], fig["working_n"]

    def seed_of(self, delta: float) -> int:
        return 0 if float(delta) == 0 else self.seed

    def data(self, pset: str, delta: float, n: int | None = None) -> str:
        return data_path(self.profile, n or self.n, pset, delta, self.seed_of(delta))

    def recon(self, run: str, pset: str, delta: float, n: int | None = None) -> str:
        return recon_path(run, self.profile, n or self.n, pset, delta, self.seed_of(delta))

    def pair(self, run: str, pset: str, delta: float, label: str, n: int | None = None, mark=()) -> list:
        """[γ̂, error] panels of ``run`` on one cell."""
        applies = method_applies(self.cfg, self.methods, run, pset, n or self.n)
        return reconstruction_panels(self.recon(run, pset, delta, n), self.data(pset, delta, n), label,
                                     applies, pset, mark)

    def truth(self, pset: str = "full", n: int | None = None) -> dict[str, Any]:
        return truth_panel(self.data(pset, 0, n))


def figure_layouts(cfg: Mapping[str, Any], methods: Mapping[str, Method]) -> dict[str, dict]:
    """``{figure name: layout}`` of :data:`PAPER_FIGURES` for this configuration."""
    fig, studies = cfg["figures"], cfg["studies"]
    cells = _PaperCells(cfg, methods)
    wn, nn_run, cm_run = cells.n, fig["nn_run"], fig["cm_run"]

    def cm_vs_nn(pset: str) -> list[dict]:
        return [{"label": delta_label(d), "panels": [cells.truth(pset)] + cells.pair(cm_run, pset, d, "CM")
                 + cells.pair(nn_run, pset, d, "NN")} for d in fig["compare_deltas"]]

    def loss(title: str, curves: list[tuple[str, str, str]]) -> dict[str, Any]:
        return {"kind": "loss", "title": title,
                "curves": [{"label": label, "recon": recon, "ls": ls} for label, recon, ls in curves]}

    out = {}
    out["fig3a"] = {"title": "Fig 3a: NN training loss, exact data", "panel_size": 4.0, "rows": [{"panels": [
        loss("exact data, full Λ", [(f"n = {n}", cells.recon(nn_run, "full", 0, n), "-")
                                    for n in studies["sizes"]["n"]])]}]}
    out["fig3b"] = {"title": f"Fig 3b: NN training loss at several noise levels (n = {wn})",
                    "panel_size": 4.0,
                    "rows": [{"panels": [loss("full Λ", [(delta_label(d), cells.recon(nn_run, "full", d), "-")
                                                         for d in studies["noise"]["delta"]])]}]}
    out["fig4"] = {"title": "Fig 4: NN reconstructions from exact data", "rows": [
        {"label": f"n = {n}", "panels": [cells.truth(n=n)] + cells.pair(nn_run, "full", 0, "NN", n)}
        for n in studies["sizes"]["n"]]}
    out["fig5"] = {"title": f"Fig 5: NN reconstructions from noisy data (n = {wn})", "rows": [
        {"label": delta_label(d), "panels": [cells.truth()] + cells.pair(nn_run, "full", d, "NN")}
        for d in fig["noise_deltas"]]}
    mark = fixed_edges(cfg)
    out["fig6"] = {"title": f"Fig 6: NN with free vs fixed edge (n = {wn}; fixed edge outlined red)",
                   "rows": [
        {"label": delta_label(d), "panels": cells.pair(nn_run, "full", d, "free", mark=mark)
         + cells.pair(fig["fixed_run"], "full", d, "fixed", mark=mark)} for d in studies["prior"]["delta"]]}
    out["fig7"] = {"title": f"Fig 7: full vs last3n data, NN (n = {wn})", "error_scale": "row", "rows": [
        {"label": delta_label(d), "panels": [loss("training loss", [
            ("full", cells.recon(nn_run, "full", d), "-"),
            ("last3n", cells.recon(nn_run, "last3n", d), "--")])]
         + cells.pair(nn_run, "full", d, "full") + cells.pair(nn_run, "last3n", d, "last3n")}
        for d in fig["compare_deltas"]]}
    out["fig8"] = {"title": f"Fig 8: Curtis–Morrow vs NN, full data (n = {wn})", "error_scale": "row",
                   "rows": cm_vs_nn("full")}
    # Fig 9's first row: the completion error and CM's error after completion against δ, for both
    # pseudo-inverses of the rank rule (completion_pinv); then CM vs NN at each δ
    completion = [{"kind": "completion", "table": table_paths("completion")[0], "set": "last3n",
                   "metric": metric, "title": title}
                  for metric, title in (("block_error", "completion error, N×N block"),
                                        ("cm_rel_l2", "CM after completion"))]
    out["fig9"] = {"title": f"Fig 9: last3n — completion error; CM (after completion) vs NN (n = {wn})",
                   "error_scale": "row",
                   "rows": [{"label": "completion vs δ", "panels": completion}, *cm_vs_nn("last3n")]}
    out["fig10"] = {"title": f"Fig 10: sigma0 (minimal set) — CM vs NN (n = {wn})", "error_scale": "row",
                    "rows": cm_vs_nn("sigma0")}
    out["fig11"] = {"title": f"Fig 11: last2n — CM vs NN (n = {wn})", "error_scale": "row",
                    "rows": cm_vs_nn("last2n")}
    small, partial = fig["small_delta"], studies["partial"]
    seeds = partial["seeds"]
    out["fig12"] = {
        "title": f"Fig 12: NN error (RMS over {len(seeds)} seeds) vs linearised prediction (n = {wn}, "
                 f"δ = {small:g})",
        "error_label": "relative error / predicted relative std",
        "rows": [{"label": "NN |γ̂−γ|/γ", "panels": [
                     {"kind": "rms_error", "title": f"{pset}: NN error",
                      "recons": [recon_path(nn_run, cells.profile, wn, pset, small, s) for s in seeds],
                      "datas": [data_path(cells.profile, wn, pset, small, s) for s in seeds]}
                     for pset in partial["sets"]]},
                 {"label": "predicted std/γ", "panels": [
                     {"kind": "std", "title": f"{pset}: predicted", "delta": small,
                      "sens": sensitivity_path(cells.profile, wn, pset)} for pset in partial["sets"]]}]}
    robust = studies["robustness"]
    out["robustness"] = {
        "title": f"Robustness: error vs noise level under each noise model (n = "
                 f"{', '.join(map(str, robust['n']))}, full data; mean ± std over the seeds "
                 f"{', '.join(map(str, robust['seeds']))})",
        "panel_size": 3.6, "margin_left": 1.0, "rows": [{"panels": [
            {"kind": "robustness", "table": table_paths("robustness")[0], "noise_model": m,
             "title": f"noise model: {m}"} for m in robust["noise_models"]]}]}
    return out


def gallery(exp, study: str) -> dict[str, Any]:
    """A study's gallery: the true γ and each run's γ̂ in one row, their pointwise errors below, at
    :func:`gallery_cell` (``exp``: a :class:`.specs.Experiment`)."""
    st = exp.study(study)
    c = gallery_cell(st)
    where = (c["profile"], c["n"], c["set"], c["delta"], c["seed"], c["noise_model"])
    data = data_path(*where)
    gammas, errors = [truth_panel(data)], [{"kind": "text", "text": ""}]
    for run in st["runs"]:
        applies = method_applies(exp.cfg, exp.methods, run, c["set"], c["n"])
        g, e = reconstruction_panels(recon_path(run, *where), data, run, applies, c["set"])
        gammas.append(g)
        errors.append(e)
    rows = [{"label": "γ", "panels": gammas}, {"label": "error", "panels": errors}]
    noise = "" if c["delta"] == 0 else f", noise model {c['noise_model']}, seed {c['seed']}"
    return {"title": f"Study {study}: profile {c['profile']}, n = {c['n']}, set {c['set']}, "
                     f"{delta_label(c['delta'])}{noise}", "rows": rows}

"""Figure layouts of the paper's figures: rows of panels naming the files they show.

A layout is plain data (see :mod:`discrete_eit.experiment.figures`, which renders it); the figure
rules take their inputs from :func:`discrete_eit.experiment.figures.layout_inputs`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from discrete_eit.methods.registry import Method

from .config import fixed_edges
from .grid import method_applies
from .paths import data_path, recon_path, sensitivity_path, table_paths


def figure_layouts(cfg: Mapping[str, Any], methods: Mapping[str, Method]) -> dict[str, dict]:
    """``{figure name: layout}`` of Figs 3a–12 and the robustness figure for this configuration."""
    FIG = cfg["figures"]
    _P, _S, _WN = FIG["profile"], FIG["seed"], FIG["working_n"]
    _NN, _CM = FIG["nn_run"], FIG["cm_run"]
    _ST = cfg["studies"]

    def _seed(delta):
        return 0 if float(delta) == 0 else _S


    def _d(n, pset, delta):
        return data_path(_P, n, pset, delta, _seed(delta))


    def _r(run, n, pset, delta):
        return recon_path(run, _P, n, pset, delta, _seed(delta))


    def _applies(run, n, pset):
        return method_applies(cfg, methods, run, pset, n)


    def _pair(run, n, pset, delta, label, mark=()):
        """[γ̂, error] panels of one reconstruction (or a 'not applicable' note)."""
        if not _applies(run, n, pset):
            return [{"kind": "text", "title": f"{label}: γ̂",
                     "text": f"{label}: not applicable\n(Λ cannot be completed\nfrom `{pset}`)"},
                    {"kind": "text", "title": f"{label}: error", "text": ""}]
        return [{"kind": "gamma", "recon": _r(run, n, pset, delta), "title": f"{label}: γ̂",
                 "mark": list(mark)},
                {"kind": "error", "recon": _r(run, n, pset, delta), "data": _d(n, pset, delta),
                 "title": f"{label}: |γ̂−γ|/γ", "mark": list(mark)}]


    def _truth(n, pset="full"):
        return {"kind": "truth", "data": _d(n, pset, 0), "title": "true γ"}


    def _dlabel(delta):
        return "exact" if float(delta) == 0 else f"δ = {float(delta):g}"


    def _compare(pset, study):
        rows = []
        for delta in FIG["compare_deltas"]:
            rows.append({"label": _dlabel(delta),
                         "panels": [_truth(_WN, pset)] + _pair(_CM, _WN, pset, delta, "CM")
                         + _pair(_NN, _WN, pset, delta, "NN")})
        return rows

    L = {}
    L["fig3a"] = {"title": "Fig 3a: NN training loss, exact data", "panel_size": 4.0, "rows": [
        {"panels": [{"kind": "loss", "title": "exact data, full Λ",
                     "curves": [{"label": f"n = {n}", "recon": _r(_NN, n, "full", 0)}
                                for n in _ST["sizes"]["n"]]}]}]}
    L["fig3b"] = {"title": f"Fig 3b: NN training loss at several noise levels (n = {_WN})",
                  "panel_size": 4.0, "rows": [
        {"panels": [{"kind": "loss", "title": "full Λ",
                     "curves": [{"label": _dlabel(d), "recon": _r(_NN, _WN, "full", d)}
                                for d in _ST["noise"]["delta"]]}]}]}
    L["fig4"] = {"title": "Fig 4: NN reconstructions from exact data", "rows": [
        {"label": f"n = {n}", "panels": [_truth(n)] + _pair(_NN, n, "full", 0, "NN")}
        for n in _ST["sizes"]["n"]]}
    L["fig5"] = {"title": f"Fig 5: NN reconstructions from noisy data (n = {_WN})", "rows": [
        {"label": _dlabel(d), "panels": [_truth(_WN)] + _pair(_NN, _WN, "full", d, "NN")}
        for d in FIG["noise_deltas"]]}
    mark = fixed_edges(cfg)
    L["fig6"] = {"title": f"Fig 6: NN with free vs fixed edge (n = {_WN}; fixed edge outlined red)",
                 "rows": [{"label": _dlabel(d), "panels": _pair(_NN, _WN, "full", d, "free", mark)
                           + _pair(FIG["fixed_run"], _WN, "full", d, "fixed", mark)}
                          for d in _ST["prior"]["delta"]]}
    L["fig7"] = {"title": f"Fig 7: full vs last3n data, NN (n = {_WN})", "error_scale": "row", "rows": [
        {"label": _dlabel(d), "panels": [
            {"kind": "loss", "title": "training loss", "curves": [
                {"label": "full", "recon": _r(_NN, _WN, "full", d)},
                {"label": "last3n", "recon": _r(_NN, _WN, "last3n", d), "ls": "--"}]}]
            + _pair(_NN, _WN, "full", d, "full") + _pair(_NN, _WN, "last3n", d, "last3n")}
        for d in FIG["compare_deltas"]]}
    L["fig8"] = {"title": f"Fig 8: Curtis–Morrow vs NN, full data (n = {_WN})", "error_scale": "row",
                 "rows": _compare("full", "noise")}
    rows9 = _compare("last3n", "partial")
    # first column: the completion error (row 1) and CM's error after completion (row 2), both
    # pseudo-inverses of the rank rule (completion_pinv)
    firsts = [{"kind": "completion", "table": "results/tables/completion.csv", "set": "last3n",
               "metric": "block_error", "title": "completion error, N×N block"},
              {"kind": "completion", "table": "results/tables/completion.csv", "set": "last3n",
               "metric": "cm_rel_l2", "title": "CM after completion"}]
    for i, r in enumerate(rows9):
        r["panels"] = [firsts[i] if i < len(firsts) else {"kind": "text", "text": ""}] + r["panels"]
    L["fig9"] = {"title": f"Fig 9: last3n — completion error; CM (after completion) vs NN (n = {_WN})",
                 "error_scale": "row", "rows": rows9}
    L["fig10"] = {"title": f"Fig 10: sigma0 (minimal set) — CM vs NN (n = {_WN})", "error_scale": "row",
                  "rows": _compare("sigma0", "partial")}
    L["fig11"] = {"title": f"Fig 11: last2n — CM vs NN (n = {_WN})", "error_scale": "row",
                  "rows": _compare("last2n", "partial")}
    sd = FIG["small_delta"]
    seeds = _ST["partial"]["seeds"]
    err_row, std_row = [], []
    for pset in _ST["partial"]["sets"]:
        err_row.append({"kind": "rms_error", "title": f"{pset}: NN error",
                        "recons": [recon_path(_NN, _P, _WN, pset, sd, s) for s in seeds],
                        "datas": [data_path(_P, _WN, pset, sd, s) for s in seeds]})
        std_row.append({"kind": "std", "title": f"{pset}: predicted",
                        "sens": sensitivity_path(_P, _WN, pset), "delta": sd})
    L["fig12"] = {"title": f"Fig 12: NN error (RMS over {len(seeds)} seeds) vs linearised prediction "
                  f"(n = {_WN}, δ = {sd:g})",
                  "error_label": "relative error / predicted relative std",
                  "rows": [{"label": "NN |γ̂−γ|/γ", "panels": err_row},
                           {"label": "predicted std/γ", "panels": std_row}]}
    rb = _ST["robustness"]
    sizes = ", ".join(map(str, rb["n"]))
    L["robustness"] = {"title": f"Robustness: error vs noise level under each noise model (n = {sizes}, "
                       f"full data; mean ± std over the seeds {', '.join(map(str, rb['seeds']))})",
                       "panel_size": 3.6, "margin_left": 1.0, "rows": [{"panels": [
                           {"kind": "robustness", "table": table_paths("robustness")[0], "noise_model": m,
                            "title": f"noise model: {m}"} for m in rb["noise_models"]]}]}
    return L

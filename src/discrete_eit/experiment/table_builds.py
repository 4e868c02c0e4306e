"""Build functions of the tables (:data:`.specs.SPECS`): load a spec's input files, compute the table.

Each ``build(inputs, params) -> DataFrame`` gets the spec's named input files (lists of paths) and
its parameters; the arithmetic is in :mod:`.tables` (pure, tested on synthetic records). The
completion and Monte Carlo tables run methods by name: their specs declare them, so that their
fingerprints follow the methods' code.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from . import tables as T

log = logging.getLogger(__name__)
Files = Mapping[str, Sequence[str]]


def _read_json(path: str) -> dict:
    with open(path) as fh:
        return json.load(fh)


def _errors(inputs: Files) -> pd.DataFrame:
    return pd.read_csv(inputs["errors"][0])


def error_table(inputs: Files, params: Mapping[str, Any]) -> pd.DataFrame:
    """Every reconstruction evaluated once (one process), reported under each of its studies."""
    from discrete_eit.artifacts.evaluation import evaluate_reconstructions

    recons = list(inputs["recons"])
    metrics = evaluate_reconstructions(zip(inputs["datas"], recons, strict=True))
    rows = []
    for cell, studies, m, meta, recon in zip(params["cells"], params["studies"], metrics, inputs["metas"],
                                             recons, strict=True):
        sidecar = _read_json(meta)
        rows += [T.error_row({**cell, "study": s}, m, sidecar, source=recon) for s in studies]
    for cell, studies in zip(params["not_applicable"], params["not_applicable_studies"], strict=True):
        rows += [T.error_row({**cell, "study": s}, None, None) for s in studies]
    df = T.build_error_table(rows)
    log.info("%d rows of %d reconstructions (%d not applicable, %d with invalid γ̂)", len(df), len(recons),
             (df["status"] == T.STATUS_NA).sum(), (df["status"] == T.STATUS_INVALID).sum())
    return df


def error_summary(inputs: Files, params: Mapping[str, Any]) -> pd.DataFrame:
    """:func:`.tables.summarise_errors` of every cell once (whatever the studies reporting it)."""
    return T.summarise_errors(T.unique_cells(_errors(inputs)))


def speed(inputs: Files, params: Mapping[str, Any]) -> pd.DataFrame:
    """:func:`.tables.speed_table` of every cell once."""
    return T.speed_table(T.unique_cells(_errors(inputs)))


def study_summary(inputs: Files, params: Mapping[str, Any]) -> pd.DataFrame:
    """One study's rows summarised over the noise seeds (:func:`.tables.summarise_errors`)."""
    df = _errors(inputs)
    return T.summarise_errors(df[df["study"] == params["study"]])


def robustness_table(inputs: Files, params: Mapping[str, Any]) -> pd.DataFrame:
    """:func:`.tables.robustness_table` of the robustness study's rows."""
    df = _errors(inputs)
    out = T.robustness_table(df[df["study"] == "robustness"], params["study"])
    log.info("%d rows (noise models: %s)", len(out), ", ".join(sorted(out["noise_model"].unique())))
    return out


def training_table(inputs: Files, params: Mapping[str, Any]) -> pd.DataFrame:
    """Loss-curve summary of every training run of the network's method (Figs 3, 7)."""
    from discrete_eit.artifacts.formats import load_history

    rows = [T.training_row(cell, load_history(recon))
            for cell, recon in zip(params["cells"], inputs["recons"], strict=True)]
    df = pd.DataFrame(rows, columns=T.TRAINING_COLUMNS)
    log.info("%d training runs", len(df))
    return df.sort_values(["profile", "n", "set", "delta", "seed", "run"], kind="stable") if len(df) else df


def region_table(inputs: Files, params: Mapping[str, Any]) -> pd.DataFrame:
    """Regional errors (quadrants, fixed edge and neighbours, centre) of every reconstruction."""
    from discrete_eit.artifacts.formats import load_dataset, load_result

    rows = []
    for cell, rp, dp in zip(params["cells"], inputs["recons"], inputs["datas"], strict=True):
        d = load_dataset(dp)
        gamma = load_result(rp)["gamma"]
        rows.append(T.region_row(cell, d.lattice, gamma, d.gamma_true, params["fixed_edges"]))
    return pd.DataFrame(rows).sort_values(["profile", "n", "set", "delta", "seed", "run"], kind="stable")


def completion_rows(dataset, cm_options: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """Both completions of one partial dataset, and Curtis–Morrow after each.

    Parameters
    ----------
    dataset : :class:`~discrete_eit.problem.datasets.Dataset` with ``gamma_true`` (a completable set).
    cm_options : options of the ``cm`` method (e.g. those of ``figures.cm_run``); its
        ``completion_pinv`` is replaced by each of :data:`~discrete_eit.problem.completion.COMPLETION_PINVS`.

    Returns
    -------
    One row per ``completion_pinv``: ``block_error`` (:func:`.tables.block_error` against the exact Λ
    of ``gamma_true``), ``cm_rel_l2`` (CM's relative ℓ² error of γ̂, as computed even when γ̂ is
    invalid as in the error table; ``inf`` when γ̂ has non-finite entries) and ``cm_invalid``
    (γ̂ non-finite or non-positive somewhere).
    """
    from discrete_eit.methods.registry import reconstruct
    from discrete_eit.problem.completion import COMPLETION_PINVS
    from discrete_eit.problem.forward import dtn_matrix
    from discrete_eit.problem.metrics import relative_l2_error

    exact = dtn_matrix(dataset.lattice, dataset.gamma_true)
    rows = []
    for pinv in COMPLETION_PINVS:
        rec = reconstruct("cm", dataset, **{**dict(cm_options or {}), "completion_pinv": pinv})
        finite = bool(np.all(np.isfinite(rec.gamma)))
        rows.append({"profile": dataset.profile, "n": dataset.n, "set": dataset.partial_set,
                     "delta": dataset.delta, "seed": dataset.seed, "completion_pinv": pinv,
                     "block_error": T.block_error(rec.arrays["dtn_completed"], exact, dataset.n),
                     "cm_rel_l2": relative_l2_error(rec.gamma, dataset.gamma_true) if finite else math.inf,
                     "cm_invalid": not (finite and bool(np.all(rec.gamma > 0)))})
    return rows


def completion_table(inputs: Files, params: Mapping[str, Any]) -> pd.DataFrame:
    """Completion of Λ from last3n data vs δ, both pseudo-inverses, and CM after each (Fig 9)."""
    from discrete_eit.artifacts.formats import load_dataset

    rows = []
    for path in inputs["datas"]:
        for row in completion_rows(load_dataset(path), params["cm_options"]):
            rows.append(row)
            log.info("%s (%s): block error %.3g, CM rel. l2 %.3g", path, row["completion_pinv"],
                     row["block_error"], row["cm_rel_l2"])
    return T.completion_summary(rows)


def sensitivity_table(inputs: Files, params: Mapping[str, Any]) -> pd.DataFrame:
    """Predicted error per unit δ (linearised, MATH.md §7) for every (profile, n, set) computed."""
    rows = [T.sensitivity_row(p, n, s, _read_json(path + ".json")["info"])
            for (p, n, s), path in zip(params["targets"], inputs["sens"], strict=True)]
    return pd.DataFrame(rows).sort_values(["profile", "set", "n"], kind="stable")


def table1(inputs: Files, params: Mapping[str, Any]) -> pd.DataFrame:
    """Table 1: pointwise error at small δ vs the linearised prediction, per partial set and run."""
    from discrete_eit.artifacts.formats import load_dataset, load_result

    rows = []
    for entry in params["entries"]:
        sens = load_result(entry["sens"], ("std_per_delta", "gamma_linearised", "rank", "n_params"))
        errors, gamma = [], None
        for rp, dp in zip(entry["recons"], entry["datas"], strict=True):
            gamma = load_dataset(dp).gamma_true
            errors.append(load_result(rp)["gamma"] - gamma)
        rows.append(T.table1_row(entry["set"], float(params["delta"]), gamma, sens["std_per_delta"],
                                 np.array(errors), int(sens["rank"]), int(sens["n_params"]),
                                 run=entry["run"]))
    return pd.DataFrame(rows)


def sensitivity_mc(inputs: Files, params: Mapping[str, Any]) -> pd.DataFrame:
    """Monte Carlo check of the linearised error prediction (ours; MATH.md §7)."""
    from discrete_eit.methods.registry import reconstruct
    from discrete_eit.problem.datasets import generate_dataset
    from discrete_eit.problem.lattice import Lattice
    from discrete_eit.problem.partial import partial_mask
    from discrete_eit.problem.profiles import conductivity_profile
    from discrete_eit.problem.sensitivity import predicted_std

    mc = params["mc"]
    n, delta, draws = int(mc["n"]), float(mc["delta"]), int(mc["draws"])
    lattice = Lattice(n)
    gamma = conductivity_profile(mc["profile"], lattice, int(params["profile_seed"]))
    rows = []
    for pset in mc["sets"]:
        pred = predicted_std(lattice, gamma, partial_mask(pset, lattice))
        errors = []
        if pred.full_rank:
            for k in range(draws):
                data = generate_dataset(gamma, n, delta, 1000 + k, pset)
                errors.append(reconstruct(mc["method"], data, **mc["options"]).gamma - gamma)
        row = T.mc_row(pset, n, delta, np.array(errors).reshape(len(errors), -1), pred.std_per_delta,
                       pred.rank, pred.n_params, mc["method"])
        log.info("%s: %s", pset, row)
        rows.append(row)
    return pd.DataFrame(rows)

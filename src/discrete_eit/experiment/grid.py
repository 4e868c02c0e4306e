"""The experiment grid: which cells (run × dataset) the configuration asks for, and how they batch.

A *cell* is one reconstruction: a run (a method plus options, ``config['runs']``) applied to one
dataset (profile, n, partial set, noise model, δ, noise seed) of a study. Exact data (δ = 0) do not
depend on the noise seed or model and are run with seed 0 under the default model only.

An *experiment* is a set of studies. The paper's experiment is the studies :data:`PAPER_STUDIES`
(with the figures, tables and claims declared for them, :mod:`.specs`); ``paper: false`` in the
config leaves them out, and any other study under ``studies`` is the user's. A cell listed by
several studies is computed once, in the batch of the first of them (:func:`studies` order), and
reported under each (:func:`study_members`). Cells a method cannot handle (CM on a set that does
not determine Λ) are kept apart as *not applicable* and appear so in the error table.

Every run reconstructs the cells of one (run, profile, n, study) in one process: a *batch*, named
``{profile}_n{n}_{study}``. A batched method (``nn``) trains them together in one vectorised loop;
any other method solves them one after another (one process start for the batch, not per cell).
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from functools import cache
from itertools import product
from typing import Any, NamedTuple

from discrete_eit.methods.registry import Method
from discrete_eit.problem.lattice import Lattice
from discrete_eit.problem.noise import DEFAULT_NOISE_MODEL
from discrete_eit.problem.partial import partial_mask

from . import paths

PAPER_STUDIES = ("sizes", "noise", "partial", "prior", "robustness")
"""The studies of the paper's experiment, in the order that decides which computes a shared cell."""


class Cell(NamedTuple):
    """One reconstruction of the grid."""

    study: str
    run: str
    method: str
    profile: str
    n: int
    partial_set: str
    delta: float
    seed: int
    noise_model: str = DEFAULT_NOISE_MODEL

    @property
    def dataset(self) -> tuple:
        """The dataset's identity, as the path functions take it: (profile, n, set, δ, seed, model)."""
        return self.profile, self.n, self.partial_set, self.delta, self.seed, self.noise_model

    @property
    def data(self) -> str:
        return paths.data_path(*self.dataset)

    @property
    def recon(self) -> str:
        return paths.recon_path(self.run, *self.dataset)

    @property
    def recon_meta(self) -> str:
        return paths.sidecar(self.recon)

    @property
    def batch(self) -> str:
        """The batch this cell is reconstructed in (one process per batch)."""
        return f"{self.profile}_n{self.n}_{self.study}"

    @property
    def batch_member(self) -> str:
        """The cell's file inside its batch directory (profile and n are those of the batch)."""
        return f"{paths.batch_dir(self.run, self.batch)}/{self.partial_set}_{self.noise_model}" \
               f"_d{paths.fmt_delta(self.delta)}_s{self.seed}.npz"

    def row(self, study: str | None = None) -> dict[str, Any]:
        """The cell's key columns in the result tables, reported under ``study`` (default: the
        study whose batch computes it)."""
        return {"study": study or self.study, "run": self.run, "method": self.method, "profile": self.profile,
                "n": self.n, "set": self.partial_set, "noise_model": self.noise_model, "delta": self.delta,
                "seed": self.seed}


def paper(cfg: Mapping[str, Any]) -> bool:
    """Whether the configuration runs the paper's experiment (``paper``, default true)."""
    return bool(cfg.get("paper", True))


def study_names(cfg: Mapping[str, Any]) -> list[str]:
    """The studies the configuration runs, in precedence order: the paper's (:data:`PAPER_STUDIES`,
    unless ``paper: false``), then the user's in config order."""
    own = [k for k in cfg["studies"] if k not in PAPER_STUDIES]
    return [*(PAPER_STUDIES if paper(cfg) else ()), *own]


def studies(cfg: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """``(key, study)`` of :func:`study_names`; keys as in the config (``studies.X``)."""
    return [(f"studies.{k}", cfg["studies"][k]) for k in study_names(cfg)]


def _study_cells(study: Mapping[str, Any]):
    """``(run, profile, n, set, δ, noise model, seed)`` of every cell of one study, in grid order."""
    for profile in study["profiles"]:
        for n in study["n"]:
            for pset in study["sets"]:
                for delta in study["delta"]:
                    for model, seed in product(noise_models_for(delta, study), seeds_for(delta, study)):
                        for run in study["runs"]:
                            yield run, profile, n, pset, float(delta), model, seed


def seeds_for(delta: float, study: Mapping[str, Any]) -> list[int]:
    """Noise seeds of a noise level: seed 0 alone for exact data."""
    return [0] if float(delta) == 0 else list(study["seeds"])


def noise_models_for(delta: float, study: Mapping[str, Any]) -> list[str]:
    """Noise models of a noise level: the default alone for exact data (no noise under any model)."""
    return [DEFAULT_NOISE_MODEL] if float(delta) == 0 else list(study["noise_models"])


def gallery_cell(study: Mapping[str, Any]) -> dict[str, Any]:
    """The cell a study's gallery shows: ``study['gallery']`` where given, else the first profile,
    set and noise model, the largest n and δ, and the first seed of that δ."""
    chosen = dict(study.get("gallery") or {})
    delta = chosen.get("delta", max(study["delta"]))
    return {"profile": chosen.get("profile", study["profiles"][0]), "n": chosen.get("n", max(study["n"])),
            "set": chosen.get("set", study["sets"][0]), "delta": delta,
            "noise_model": chosen.get("noise_model", study["noise_models"][0]),
            "seed": chosen.get("seed", seeds_for(delta, study)[0])}


def expand_cells(cfg: Mapping[str, Any], methods: Mapping[str, Method]) -> tuple[list[Cell], list[Cell]]:
    """All cells of all studies, deduplicated: ``(cells, not_applicable)``."""
    seen, cells, skipped = set(), [], []
    for name in study_names(cfg):
        for run, profile, n, pset, delta, model, seed in _study_cells(cfg["studies"][name]):
            ident = (run, profile, n, pset, model, paths.fmt_delta(delta), seed)
            if ident in seen:
                continue
            seen.add(ident)
            method = cfg["runs"][run]["method"]
            c = Cell(name, run, method, profile, n, pset, delta, seed, model)
            (cells if _applies(methods[method], pset, n) else skipped).append(c)
    return cells, skipped


def study_members(cfg: Mapping[str, Any], cells: list[Cell]) -> dict[str, list[Cell]]:
    """``{study: its cells}`` for every study run, each in grid order; a cell shared by studies is
    listed under each (``cells``: those of :func:`expand_cells`, applicable or not)."""
    by_ident = {(c.run, c.profile, c.n, c.partial_set, c.noise_model, paths.fmt_delta(c.delta), c.seed): c
                for c in cells}
    return {name: [by_ident[run, prof, n, pset, model, paths.fmt_delta(delta), seed]
                   for run, prof, n, pset, delta, model, seed in _study_cells(cfg["studies"][name])]
            for name in study_names(cfg)}


@cache
def _applies(method: Method, partial_set: str, n: int) -> bool:
    # cached: CM's completability check is a path search, asked once per figure panel and cell
    return method.applies_to(partial_mask(partial_set, Lattice(n)))


def method_applies(cfg: Mapping[str, Any], methods: Mapping[str, Method], run: str, partial_set: str,
                   n: int) -> bool:
    """Whether run ``run`` can reconstruct from data on ``partial_set`` at size n."""
    return _applies(methods[cfg["runs"][run]["method"]], partial_set, n)


def batched_runs(cfg: Mapping[str, Any], methods: Mapping[str, Method]) -> list[str]:
    """Names of the runs whose method trains batches of datasets together."""
    return [r for r, spec in cfg["runs"].items() if methods[spec["method"]].batched]


def single_runs(cfg: Mapping[str, Any], methods: Mapping[str, Method]) -> list[str]:
    """Names of the runs whose method reconstructs one dataset per job."""
    return [r for r, spec in cfg["runs"].items() if not methods[spec["method"]].batched]


def runs_regex(runs: list[str]) -> str:
    """A wildcard constraint matching exactly these run names (or nothing)."""
    return "|".join(runs) if runs else "(?!)"


def batches(cells: list[Cell]) -> dict[tuple[str, str], list[Cell]]:
    """``{(run, batch): cells}`` for every cell, in grid order."""
    out: dict[tuple[str, str], list[Cell]] = {}
    for c in cells:
        out.setdefault((c.run, c.batch), []).append(c)
    return out


def option_args(spec: Mapping[str, Any]) -> str:
    """A run's options as ``--name value`` CLI flags, every value shell-quoted."""
    parts = []
    for key, value in sorted(spec.get("options", {}).items()):
        text = str(value).lower() if isinstance(value, bool) else str(value)
        parts.append(f"--{key.replace('_', '-')} {shlex.quote(text)}")
    return " ".join(parts)


def sensitivity_targets(cfg: Mapping[str, Any]) -> list[tuple[str, int, str]]:
    """(profile, n, set) of every sensitivity prediction: the partial study's sets at the figures'
    size and profile, and full data at every size of the size study."""
    fig, st = cfg["figures"], cfg["studies"]
    return sorted({(fig["profile"], fig["working_n"], s) for s in st["partial"]["sets"]}
                  | {(p, n, "full") for p in st["sizes"]["profiles"] for n in st["sizes"]["n"]})


def completion_datasets(cfg: Mapping[str, Any]) -> list[str]:
    """Datasets of the partial study on ``last3n`` (the completion table, Fig 9)."""
    st = cfg["studies"]["partial"]
    if "last3n" not in st["sets"]:
        return []
    return sorted({paths.data_path(p, n, "last3n", d, s) for p in st["profiles"] for n in st["n"]
                   for d in st["delta"] for s in seeds_for(d, st)})


def table1_entries(cfg: Mapping[str, Any], methods: Mapping[str, Method]) -> list[dict[str, Any]]:
    """Table 1: every run of the partial study at the small δ, per set, against the prediction."""
    fig, st = cfg["figures"], cfg["studies"]["partial"]
    prof, wn, sd = fig["profile"], fig["working_n"], fig["small_delta"]
    return [{"set": pset, "run": run, "sens": paths.sensitivity_path(prof, wn, pset),
             "recons": [paths.recon_path(run, prof, wn, pset, sd, s) for s in st["seeds"]],
             "datas": [paths.data_path(prof, wn, pset, sd, s) for s in st["seeds"]]}
            for pset in st["sets"] for run in st["runs"] if method_applies(cfg, methods, run, pset, wn)]


def loss_curve_cells(cfg: Mapping[str, Any], cells: list[Cell], methods: Mapping[str, Method]) -> list[dict]:
    """Training-loss curves for ``dvc plots``: full-data cells of methods with a history, at the
    figures' profile and noise seed (exact data: seed 0)."""
    fig = cfg["figures"]
    return [{"label": f"{c.run} n={c.n} δ={c.delta:g}", "recon": c.recon} for c in cells
            if methods[c.method].history_columns and c.partial_set == "full"
            and c.noise_model == DEFAULT_NOISE_MODEL
            and c.profile == fig["profile"] and c.seed == (0 if c.delta == 0 else fig["seed"])]


def training_cells(cfg: Mapping[str, Any], cells: list[Cell]) -> list[Cell]:
    """Cells of the network's method (that of ``figures.nn_run``): the training table (Figs 3, 7)."""
    method = cfg["runs"][cfg["figures"]["nn_run"]]["method"]
    return [c for c in cells if c.method == method]

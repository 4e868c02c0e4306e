"""The registry of every table, figure and document the workflow makes: one :class:`Spec` each.

A spec declares what an output is made from and how: the files it reads (taken from the grid), the
parameters its build function gets, the build function itself (``module:function``, run in the
job; its module is the job's code fingerprint, with the methods the spec runs by name), and how the
result is written (:data:`WRITERS`, by ``kind``). The workflow instantiates one rule per
:class:`Instance` from one template (``workflow/rules/aggregate.smk``), and one entry point
(``workflow/scripts/build.py``) runs any of them. A new table or figure is one entry of
:data:`SPECS`, nothing else.

Scopes: ``all`` outputs are made for every configuration (the error table and what is read off
it), ``paper`` ones for the paper's experiment only (its figures, Table 1, the claims), ``study``
ones once per study run, paper's or the user's (``results/studies/{study}/``), each where its
``applies`` says so (e.g. an error-vs-n figure only where the study varies n).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, NamedTuple

from discrete_eit.methods.registry import Method

from . import grid, layouts, paths
from .config import fixed_edges

# ---- the experiment a configuration describes -------------------------------------------------


@dataclass(frozen=True)
class Experiment:
    """A checked configuration with its grid: what every spec's inputs and parameters derive from.

    Attributes
    ----------
    cfg : the workflow configuration (after the schema's defaults and :mod:`.config`'s checks).
    methods : the method registry (:func:`discrete_eit.methods.load_methods`).
    """

    cfg: Mapping[str, Any]
    methods: Mapping[str, Method]

    @cached_property
    def _expanded(self) -> tuple[list[grid.Cell], list[grid.Cell]]:
        return grid.expand_cells(self.cfg, self.methods)

    @property
    def cells(self) -> list[grid.Cell]:
        """Every reconstruction, once (in the batch of its first study)."""
        return self._expanded[0]

    @property
    def not_applicable(self) -> list[grid.Cell]:
        """Cells whose method cannot run on their partial set (rows of the error table only)."""
        return self._expanded[1]

    @cached_property
    def members(self) -> dict[str, list[grid.Cell]]:
        """``{study: its cells}``; a cell shared by studies is listed under each."""
        return grid.study_members(self.cfg, [*self.cells, *self.not_applicable])

    @cached_property
    def layouts(self) -> dict[str, dict]:
        """The paper's figure layouts (:func:`.layouts.figure_layouts`)."""
        return layouts.figure_layouts(self.cfg, self.methods)

    @property
    def paper(self) -> bool:
        return grid.paper(self.cfg)

    @property
    def figures(self) -> Mapping[str, Any]:
        return self.cfg["figures"]

    def study(self, name: str) -> Mapping[str, Any]:
        return self.cfg["studies"][name]

    def varies(self, study: str, key: str) -> bool:
        """Whether a study has more than one value of ``key`` (``n``, ``delta``, …)."""
        return len(self.study(study)[key]) > 1


# ---- specifications ---------------------------------------------------------------------------
Files = dict[str, list[str]]


def _none(exp: Experiment, study: str | None) -> dict:
    return {}


def _always(exp: Experiment, study: str | None) -> bool:
    return True


@dataclass(frozen=True)
class Spec:
    """One table, figure or document.

    Attributes
    ----------
    name : file stem of the output, and of its report caption ``workflow/report/{name}.rst``.
    kind : key of :data:`WRITERS` (``table``: CSV + Markdown + HTML; ``figure``: PNG + PDF;
        ``claims``: Markdown + HTML + a typed CSV).
    build : ``"module:function"``; ``function(inputs, params)`` returns what the writer writes.
        ``inputs`` maps the names of :attr:`inputs` to lists of paths.
    inputs, params : ``f(experiment, study)``: the files it reads, the parameters it is built with
        (JSON-able; a change reruns it). ``study`` is None unless ``scope`` is ``study``.
    scope : ``all``, ``paper`` or ``study`` (see the module docstring).
    applies : ``f(experiment, study)``: whether the output is made at all.
    methods : ``f(experiment)``: names of registered methods the build runs (its fingerprint follows).
    title, note : the table's or figure's heading and explanation (``str.format`` over the params).
    section : the report category (a paper section; a study's outputs go under the study).
    runtime : minutes (cluster jobs); ``local`` ones always run where Snakemake runs.
    """

    name: str
    kind: str
    build: str
    inputs: Callable[[Experiment, str | None], Files]
    params: Callable[[Experiment, str | None], dict] = _none
    scope: str = "paper"
    applies: Callable[[Experiment, str | None], bool] = _always
    methods: Callable[[Experiment], tuple[str, ...]] = field(default=lambda exp: ())
    title: str = ""
    note: str = ""
    section: str = layouts.TABLES
    runtime: int = 5
    local: bool = True


class Instance(NamedTuple):
    """One output of one configuration: what a rule of the template needs."""

    spec: Spec
    study: str | None
    rule: str
    outputs: dict[str, str]
    inputs: Files
    args: dict[str, Any]
    category: str


WRITERS = {
    "table": "discrete_eit.experiment.tables:write_result",
    "figure": "discrete_eit.experiment.figures:write_result",
    "claims": "discrete_eit.experiment.claims:write_result",
}
"""How each kind of result is written (``module:function(result, outputs, title, note, inputs, params)``)."""

SUFFIXES = {"table": ("csv", "md", "html"), "figure": ("png", "pdf"), "claims": ("md", "html", "csv")}


def output_paths(spec: Spec, study: str | None = None) -> dict[str, str]:
    """``{suffix: path}`` of an output: under ``results/studies/{study}/`` for a study's, else the
    table or figure directory (the claims: ``results/claims.md`` and ``results/tables/claims.csv``)."""
    if spec.kind == "claims":
        return {"md": paths.CLAIMS, "html": paths.CLAIMS.replace(".md", ".html"),
                "csv": paths.table_paths("claims")[0]}
    base = (paths.study_dir(study) if study else
            paths.TABLE_DIR if spec.kind == "table" else paths.FIGURE_DIR)
    return {s: f"{base}/{spec.name}.{s}" for s in SUFFIXES[spec.kind]}


def rule_name(spec: Spec, study: str | None = None) -> str:
    """``table_errors``, ``figure_fig4``, ``figure_gallery_noise``, ``claims``."""
    name = spec.name if spec.kind == spec.name else f"{spec.kind}_{spec.name}"
    return f"{name}_{study}" if study else name


def instances(exp: Experiment) -> list[Instance]:
    """Every output the configuration makes, in registry order (studies in grid order)."""
    out = []
    for spec in SPECS:
        if spec.scope == "paper" and not exp.paper:
            continue
        for study in grid.study_names(exp.cfg) if spec.scope == "study" else [None]:
            if spec.applies(exp, study):
                args = {**({"study": study} if study else {}), **spec.params(exp, study)}
                inputs = {k: list(v) for k, v in spec.inputs(exp, study).items()}
                out.append(Instance(spec, study, rule_name(spec, study), output_paths(spec, study), inputs,
                                    args, f"Study · {study}" if study else spec.section))
    return out


BUILD_SCRIPT = f"{paths.SCRIPT_DIR}/build.py"
"""The entry point every spec's job runs (with ``_common.py`` beside it)."""


def job_params(inst: Instance, exp: Experiment) -> dict[str, Any]:
    """What the entry point needs besides the files: the build and writer functions, the arguments,
    the text, and what the job's code fingerprint covers (``code``: the build and writer modules,
    those of the methods it runs, and the entry point)."""
    modules = [inst.spec.build.split(":")[0], WRITERS[inst.spec.kind].split(":")[0],
               *(exp.methods[m].module for m in inst.spec.methods(exp))]
    return {"build": inst.spec.build, "writer": WRITERS[inst.spec.kind], "args": inst.args,
            "title": inst.spec.title.format(**inst.args), "note": inst.spec.note.format(**inst.args),
            "code": {"roots": modules, "files": [BUILD_SCRIPT, f"{paths.SCRIPT_DIR}/_common.py"]}}


# ---- the registry -----------------------------------------------------------------------------
def _errors(exp: Experiment, study=None) -> Files:
    return {"errors": [paths.table_paths("errors")[0]]}


def _cells(exp: Experiment, cells) -> Files:
    return {"datas": [c.data for c in cells], "recons": [c.recon for c in cells],
            "metas": [c.recon_meta for c in cells]}


def _reported_under(exp: Experiment) -> dict[str, Any]:
    """The error table's cells, each with the studies that report it (computed cells, then the
    not-applicable ones)."""
    under: dict[tuple, list[str]] = {}
    for study, cells in exp.members.items():
        for c in cells:
            under.setdefault(c, []).append(study)
    return {"cells": [c.row() for c in exp.cells],
            "studies": [under[c] for c in exp.cells],
            "not_applicable": [c.row() for c in exp.not_applicable],
            "not_applicable_studies": [under[c] for c in exp.not_applicable]}


def _training_cells(exp: Experiment) -> list[grid.Cell]:
    return grid.training_cells(exp.cfg, exp.cells)


def _paper_figure(name: str, title: str, section: str) -> Spec:
    """A figure of the paper drawn from its layout (:func:`.layouts.figure_layouts`)."""
    return Spec(name, "figure", "discrete_eit.experiment.figures:build_layout",
                lambda exp, s: {"files": layouts.layout_files(exp.layouts[name])},
                lambda exp, s: {"layout": exp.layouts[name]}, title=title, section=section)


_T = "discrete_eit.experiment.table_builds:"
RESULTS = "Results · every study"
CLAIM_TABLES = ("errors", "errors_summary", "training", "regions", "completion", "table1", "sensitivity",
                "sensitivity_mc", "robustness")
"""The tables the claims are computed from (:mod:`.claims`)."""

SPECS: tuple[Spec, ...] = (
    # ---- every configuration: the error table and what is read off it --------------------------
    Spec("errors", "table", _T + "error_table", lambda exp, s: _cells(exp, exp.cells),
         lambda exp, s: _reported_under(exp), scope="all", section=RESULTS, title="Error table",
         note="One row per (study, profile, n, set, noise model, δ, seed, run); a cell shared by "
              "studies is computed once and reported under each. rel_l2 = ‖γ̂−γ‖/‖γ‖, max_rel = "
              "max |γ̂−γ|/γ, centre / boundary = rel. ℓ² on the centre / boundary-ring edges, "
              "dtn_residual = ‖Λ(γ̂)−Λ^δ‖_F/‖Λ^δ‖_F on measured entries. status: ok | invalid (γ̂ not "
              "finite and positive) | not_applicable. wall_time_s of batched NN runs = batch wall "
              "time / batch size. source = the row's reconstruction (`discrete-eit audit errors.csv "
              "--row KEY=VALUE` follows it)."),
    Spec("errors_summary", "table", _T + "error_summary", _errors, scope="all", section=RESULTS,
         title="Error summary over noise seeds",
         note="Median, min and max over the noise seeds of each (profile, n, set, δ, run)."),
    Spec("speed", "table", _T + "speed", _errors, scope="all", section=RESULTS, title="Speed",
         note="Wall time per dataset and iterations, median over the datasets of each method, run and n."),
    # ---- every study: its summary, error curves and gallery -------------------------------------
    Spec("summary", "table", _T + "study_summary", _errors, scope="study",
         title="Study {study}: summary over noise seeds",
         note="Rows of study {study} in the error table: median, min and max over the noise seeds of "
              "each (profile, n, set, noise model, δ, run), with the median wall time per dataset and "
              "iterations (its speed rows)."),
    Spec("error_vs_delta", "figure", "discrete_eit.experiment.study_figures:error_vs_delta", _errors,
         scope="study", applies=lambda exp, s: exp.varies(s, "delta"),
         title="Study {study}: error vs δ"),
    Spec("error_vs_n", "figure", "discrete_eit.experiment.study_figures:error_vs_n", _errors,
         scope="study", applies=lambda exp, s: exp.varies(s, "n"), title="Study {study}: error vs n"),
    Spec("gallery", "figure", "discrete_eit.experiment.figures:build_layout",
         lambda exp, s: {"files": layouts.layout_files(layouts.gallery(exp, s))},
         lambda exp, s: {"layout": layouts.gallery(exp, s)}, scope="study",
         title="Study {study}: gallery"),
    # ---- the paper's experiment -----------------------------------------------------------------
    Spec("training", "table", _T + "training_table", lambda exp, s: {"recons": [c.recon for c in
                                                                               _training_cells(exp)]},
         lambda exp, s: {"cells": [c.row() for c in _training_cells(exp)]}, title="NN training summary",
         note="final_loss / min_loss: last and smallest recorded loss; iterations: last recorded "
              "iteration; iter_to_plateau: first recorded iteration with loss ≤ 2 × final loss; "
              "decades: log10(first / final loss); drop_ratio: max over the run of loss / running "
              "minimum (1 = monotone)."),
    Spec("regions", "table", _T + "region_table", lambda exp, s: _cells(exp, exp.cells),
         lambda exp, s: {"cells": [c.row() for c in exp.cells],
                         "fixed_edges": fixed_edges(exp.cfg)}, title="Regional errors",
         note="Relative ℓ² error per quadrant of the lattice (by edge midpoint), on the fixed edge(s) "
              "{fixed_edges} of the prior run, on their neighbours, and on the centre (boundary ring, "
              "fixed edges and neighbours excluded)."),
    Spec("completion", "table", _T + "completion_table",
         lambda exp, s: {"datas": grid.completion_datasets(exp.cfg)},
         lambda exp, s: {"cm_options": exp.cfg["runs"][exp.figures["cm_run"]].get("options", {})},
         methods=lambda exp: ("cm",), title="Completion of Λ from last3n data",
         note="Relative Frobenius error of the completed leading n×n (N×N) block vs the exact block "
              "(MATH.md §6) and CM's relative ℓ² error after completion (options of figures.cm_run), "
              "for each pseudo-inverse of the rank rule (completion_pinv: truncated = ours, to rank "
              "i; plain = Moore–Penrose, the paper's formula): median / min / max over noise seeds; "
              "ratio_to_delta = median block error / δ; cm_invalid = seeds with non-finite or "
              "non-positive γ̂."),
    Spec("sensitivity", "table", _T + "sensitivity_table",
         lambda exp, s: {"sens": [paths.sensitivity_path(*t) for t in grid.sensitivity_targets(exp.cfg)]},
         lambda exp, s: {"targets": [list(t) for t in grid.sensitivity_targets(exp.cfg)]},
         title="Linearised sensitivity",
         note="Rank of the Jacobian J_Σ and predicted relative std per unit δ (max / median over edges) "
              "at the true γ. Rank-deficient sets have no prediction."),
    Spec("table1", "table", _T + "table1",
         lambda exp, s: {"files": sorted({p for t in grid.table1_entries(exp.cfg, exp.methods)
                                          for p in [t["sens"], *t["recons"], *t["datas"]]})},
         lambda exp, s: {"entries": grid.table1_entries(exp.cfg, exp.methods),
                         "delta": exp.figures["small_delta"]},
         title="Table 1: measured vs predicted error at δ = {delta:g}",
         note="err_measured = RMS over seeds of ‖γ̂−γ‖₂; err_predicted = δ·(Σ_e std_e²)^½ (Thm 6.2); "
              "ratio = measured / predicted; shape_corr = Pearson correlation over edges of the RMS "
              "pointwise error and the predicted std. No prediction where J_Σ is rank deficient."),
    Spec("sensitivity_mc", "table", _T + "sensitivity_mc", lambda exp, s: {},
         lambda exp, s: {"mc": dict(exp.cfg["monte_carlo"]), "profile_seed": exp.cfg["profile_seed"]},
         applies=lambda exp, s: exp.cfg["monte_carlo"]["enabled"],
         methods=lambda exp: (exp.cfg["monte_carlo"]["method"],),
         title="Monte Carlo check of the sensitivity prediction",
         note="{mc[draws]} noise draws at δ = {mc[delta]:g}, n = {mc[n]}, method {mc[method]} "
              "{mc[options]}: empirical std per edge / predicted std (median, min, max over the edges). "
              "1 = prediction holds.", runtime=30, local=False),
    Spec("robustness", "table", _T + "robustness_table", _errors,
         lambda exp, s: {"study": dict(exp.study("robustness"))}, title="Robustness to the noise model",
         note="Per (profile, n, set, noise model, δ, run) of studies.robustness: mean, sample std, min "
              "and max over the noise seeds of the relative ℓ² error, and the mean centre error "
              "(docs/MATH.md §3 defines each model's δ). seeds = rows, n_ok = rows with a valid γ̂.",
         section=layouts.ROBUSTNESS),
    Spec("fig1", "figure", "discrete_eit.experiment.figures:build_lattice_and_pattern", lambda exp, s: {},
         lambda exp, s: {"n": exp.figures["fig1_n"], "pattern": "sigma0"},
         title="Fig 1: the lattice and the sigma0 pattern", section=layouts.LATTICE),
    *(_paper_figure(name, title, section) for name, title, section in layouts.PAPER_FIGURES),
    Spec("claims", "claims", "discrete_eit.experiment.claims:build_claims",
         lambda exp, s: {name: [paths.table_paths(name)[0]] for name in CLAIM_TABLES
                         if name != "sensitivity_mc" or exp.cfg["monte_carlo"]["enabled"]},
         lambda exp, s: {"figures": dict(exp.figures), "fixed_edges": fixed_edges(exp.cfg)},
         title="Claims of the paper checked against this run", section="Claims"),
)
"""Every output, in the order the report lists them."""

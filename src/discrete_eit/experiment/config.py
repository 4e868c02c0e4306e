"""Checks of the workflow configuration beyond its JSON schema, before any job runs.

The schema (``workflow/schemas/config.schema.yaml``) checks the form of every key; this module
checks names against the package registries (methods, partial sets, profiles, noise models), each
run's options against its method's declared options (names, choices, types), that the experiment
has its studies, and that every cell a figure shows is part of its study. Every problem is a
:class:`ConfigError` naming the key, and the config file that set it is found by
:func:`defining_file` (the last, in merge order, that sets the key or one of its ``related`` keys).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from discrete_eit.methods.registry import Method, OptionError
from discrete_eit.problem.edge_sets import fixed_edge_indices
from discrete_eit.problem.forward import check_lattice_size
from discrete_eit.problem.lattice import Lattice
from discrete_eit.problem.noise import NOISE_MODELS
from discrete_eit.problem.partial import PARTIAL_SETS
from discrete_eit.problem.profiles import PROFILES

from .grid import PAPER_STUDIES, gallery_cell, method_applies, paper, seeds_for, studies


class ConfigError(ValueError):
    """An invalid configuration value; ``str()`` is one line naming the key.

    ``related``: further keys whose values together with ``key``'s make the problem (a figure's
    run and the study that lacks it); the file blamed is the last to set any of them.
    """

    def __init__(self, key: str, message: str, related: tuple[str, ...] = ()):
        self.key, self.related = key, related
        super().__init__(f"invalid configuration: {key}: {message}")


def schema_error(err) -> ConfigError:
    """A ``jsonschema.ValidationError`` as a :class:`ConfigError` naming the offending key."""
    key = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err.absolute_path).lstrip(".")
    if err.validator == "additionalProperties":
        allowed = sorted(err.schema.get("properties", {}))
        extra = sorted(set(err.instance) - set(allowed))
        if extra:
            key = ".".join(filter(None, [key, extra[0]]))
            return ConfigError(key, f"unknown key (allowed: {', '.join(allowed)})")
    return ConfigError(key or "<top level>", err.message)


def schema_error_message(err) -> str:
    """A ``jsonschema.ValidationError`` as one line naming the offending key."""
    return str(schema_error(err))


def check_options(key: str, method: Method, options: Mapping[str, Any]) -> None:
    """Names, choices and types of one run's options (checked by the registry, named by key here)."""
    try:
        method.resolve_options(dict(options))
    except OptionError as exc:
        raise ConfigError(f"{key}.{exc.option}", exc.problem) from None


def check_registries(cfg: Mapping[str, Any], methods: Mapping[str, Method]) -> None:
    """Method, partial-set, profile and noise-model names exist; options fit their method."""
    def method_of(key: str, name: str) -> Method:
        if name not in methods:
            raise ConfigError(key, f"unknown method {name!r}; registered: {', '.join(sorted(methods))}")
        return methods[name]

    for run, spec in cfg["runs"].items():
        method = method_of(f"runs.{run}.method", spec["method"])
        check_options(f"runs.{run}.options", method, spec.get("options", {}))
    mc = cfg["monte_carlo"]
    check_options("monte_carlo.options", method_of("monte_carlo.method", mc["method"]), mc["options"])
    for key, study in studies(cfg):
        for run in study["runs"]:
            if run not in cfg["runs"]:
                raise ConfigError(f"{key}.runs", f"unknown run {run!r}; defined runs: "
                                  f"{', '.join(cfg['runs'])}")
        for field, registry, what in (("sets", PARTIAL_SETS, "partial set"),
                                      ("profiles", PROFILES, "profile"),
                                      ("noise_models", NOISE_MODELS, "noise model")):
            for i, name in enumerate(study[field]):
                if name not in registry:
                    raise ConfigError(f"{key}.{field}[{i}]", f"unknown {what} {name!r}; registered: "
                                      f"{', '.join(sorted(registry))}")


def missing_from(study: Mapping[str, Any], run: str, profile: str, n: int, partial_set: str, delta: float,
                 seed: int = 0) -> str | None:
    """The key of ``study`` that lacks the cell (``runs``, ``profiles``, ``n``, ``sets``, ``delta``
    or ``seeds``), or None when the study contains it."""
    for key, ok in (("runs", run in study["runs"]), ("profiles", profile in study["profiles"]),
                    ("n", n in study["n"]), ("sets", partial_set in study["sets"]),
                    ("delta", any(float(d) == float(delta) for d in study["delta"])),
                    ("seeds", seed in seeds_for(delta, study))):
        if not ok:
            return key
    return None


def check_studies(cfg: Mapping[str, Any]) -> None:
    """The paper's experiment has its five studies; a config without it has studies of its own;
    a study's gallery cell is one of its cells."""
    if paper(cfg):
        for name in PAPER_STUDIES:
            if name not in cfg["studies"]:
                raise ConfigError(f"studies.{name}", "missing: the paper's experiment needs it (or set "
                                  "paper: false to run only your own studies)", ("paper",))
    elif not any(name not in PAPER_STUDIES for name in cfg["studies"]):
        raise ConfigError("paper", "false, but no study of your own under studies (the names "
                          f"{', '.join(PAPER_STUDIES)} are the paper's)", ("studies",))
    for key, study in studies(cfg):
        c = gallery_cell(study)
        lacks = missing_from({**study, "runs": [None]}, None, c["profile"], c["n"], c["set"], c["delta"],
                             c["seed"])
        if lacks or (c["delta"] and c["noise_model"] not in study["noise_models"]):
            raise ConfigError(f"{key}.gallery", f"{lacks or 'noise_models'} of the study does not "
                              f"contain the gallery's {c}")


# What each of the paper's figures and tables shows, as (figure, study, run key of `figures`,
# sizes, sets, noise levels): every such cell must be in the study (checked before any job runs).
def _paper_cells(cfg: Mapping[str, Any]):
    f, st = cfg["figures"], cfg["studies"]
    wn, compare = [f["working_n"]], f["compare_deltas"]
    yield "Figs 3a, 4", "sizes", "nn_run", st["sizes"]["n"], ["full"], [0]
    yield "Fig 3b", "noise", "nn_run", wn, ["full"], st["noise"]["delta"]
    yield "Fig 5", "noise", "nn_run", wn, ["full"], f["noise_deltas"]
    yield "Fig 8", "noise", "nn_run", wn, ["full"], compare
    yield "Fig 8", "noise", "cm_run", wn, ["full"], compare
    yield "Figs 7, 9–11", "partial", "nn_run", wn, ["full", "last3n", "sigma0", "last2n"], compare
    yield "Figs 10–11", "partial", "cm_run", wn, f["further_sets"], compare
    yield "Fig 12, Table 1", "partial", "nn_run", wn, st["partial"]["sets"], [f["small_delta"]]
    yield "Fig 6", "prior", "nn_run", wn, ["full"], st["prior"]["delta"]
    yield "Fig 6", "prior", "fixed_run", wn, ["full"], st["prior"]["delta"]


def check_figure_cells(cfg: Mapping[str, Any], methods: Mapping[str, Method]) -> None:
    """Every cell a figure of the paper shows is in its study, and the figures' runs have the right
    methods. The error names the study's key that lacks the cell (and the figure's key beside it)."""
    f, st = cfg["figures"], cfg["studies"]
    prof, seed = f["profile"], f["seed"]
    for role in ("nn_run", "cm_run", "fixed_run"):
        if f[role] not in cfg["runs"]:
            raise ConfigError(f"figures.{role}",
                              f"unknown run {f[role]!r}; defined runs: {', '.join(cfg['runs'])}")
    for figure, study, role, sizes, sets, deltas in _paper_cells(cfg):
        run = f[role]
        for n in sizes:
            for pset in sets:
                for delta in deltas:
                    lacks = missing_from(st[study], run, prof, n, pset, delta, seed)
                    if lacks:
                        raise ConfigError(
                            f"studies.{study}.{lacks}",
                            f"the paper's {figure} {'need' if figure.startswith('Figs') else 'needs'} run "
                            f"{run!r} (figures.{role}) on profile {prof!r}, "
                            f"n = {n}, set {pset!r}, δ = {delta:g}, seed {seed}, which studies.{study} does "
                            "not contain; add it, or set paper: false to run only your own studies",
                            (f"figures.{role}", "figures.working_n"))
    # Figs 8–11 compare the network with Curtis–Morrow; Figs 3–7 show a run of the network's loss.
    nn, cm = f["nn_run"], f["cm_run"]
    if cfg["runs"][cm]["method"] != "cm":
        raise ConfigError("figures.cm_run", f"run {cm!r} is not a Curtis–Morrow run")
    if cfg["runs"][nn]["method"] not in ("nn", "nn_fast"):
        raise ConfigError("figures.nn_run", f"run {nn!r} is not a run of the NN loss (nn or nn_fast)")
    if not method_applies(cfg, methods, nn, "full", f["working_n"]):
        raise ConfigError("figures.nn_run", f"run {nn!r} cannot reconstruct from full data")
    fixed_edges(cfg)  # a malformed fixed-edge spec stops here, naming the key


def check_sizes(cfg: Mapping[str, Any]) -> None:
    """Every lattice size of a study (and the figures') within the limit on n, with its memory."""
    sized = [(f"{key}.n[{i}]", n) for key, study in studies(cfg) for i, n in enumerate(study["n"])]
    figures = [("figures.working_n", cfg["figures"]["working_n"])] if paper(cfg) else []
    mc = [("monte_carlo.n", cfg["monte_carlo"]["n"])] if "n" in cfg.get("monte_carlo", {}) else []
    for key, n in [*sized, *figures, *mc]:
        try:
            check_lattice_size(n)
        except ValueError as exc:
            raise ConfigError(key, str(exc)) from None


def check_config(cfg: Mapping[str, Any], methods: Mapping[str, Method]) -> None:
    """Every check of this module (after the schema)."""
    check_studies(cfg)
    check_sizes(cfg)
    check_registries(cfg, methods)
    if paper(cfg):
        check_figure_cells(cfg, methods)


def defining_file(key: str, files: list[str | Path], related: tuple[str, ...] = ()) -> Path | None:
    """The config file that sets ``key`` (``a.b[2].c``): the last of ``files`` (merge order, later
    files win) holding its longest prefix; None when no file mentions even its first part.

    ``related``: keys that share the blame (:class:`ConfigError`); a file that sets one of them
    completely counts as setting ``key`` (the last such file wins).
    """
    import re

    import yaml

    def parts(k: str) -> list:
        return [int(p[1:-1]) if p.startswith("[") else p for p in re.findall(r"\[\d+\]|[^.\[\]]+", k)]

    def depth(doc, path: list) -> int:
        for i, part in enumerate(path):
            try:
                doc = doc[part]
            except (KeyError, IndexError, TypeError):
                return i
        return len(path)

    best, where = (0, 0), None
    for path in map(Path, files):
        try:
            doc = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError):
            continue
        full = depth(doc, parts(key)) == len(parts(key)) or any(
            depth(doc, parts(k)) == len(parts(k)) for k in related)
        score = (int(full), depth(doc, parts(key)))
        if score[1] and score >= best or full:
            best, where = max(best, score), path
    return where


def config_error_line(error: ConfigError, files: list[str | Path]) -> str:
    """The one line a configuration error is reported as: ``FILE: invalid configuration: KEY: ...``.

    ``files``: the config files in merge order; FILE is the one that sets the key (or, for a key a
    schema default filled in, the list of files).
    """
    def shown(path) -> str:
        path = Path(path)
        return str(path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path)

    # file-level errors (config_files) know their file
    where = getattr(error, "file", None) or defining_file(error.key, files, getattr(error, "related", ()))
    return f"{shown(where) if where else ', '.join(map(shown, files))}: {error}"


def fixed_edges(cfg: Mapping[str, Any]) -> list[int]:
    """Edge indices held fixed by the figures' fixed-edge run (``figures.fixed_run``), at the figures'
    lattice size; parsed by the same function as the method's option."""
    run = cfg["figures"]["fixed_run"]
    spec = cfg["runs"].get(run, {}).get("options", {}).get("fixed_edges", "")
    try:
        idx = fixed_edge_indices(str(spec), Lattice(cfg["figures"]["working_n"]))
    except ValueError as exc:
        raise ConfigError(f"runs.{run}.options.fixed_edges", str(exc)) from None
    return [int(e) for e in np.asarray(idx)]

"""Checks of the workflow configuration beyond its JSON schema, before any job runs.

The schema (``workflow/schemas/config.schema.yaml``) checks the form of every key; this module
checks names against the package registries (methods, partial sets, profiles, noise models), each
run's options against its method's declared options (names, choices, types), and that every cell
a figure shows is part of its study. Every problem is a :class:`ConfigError` naming the key.
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

from .grid import method_applies, seeds_for, studies


class ConfigError(ValueError):
    """An invalid configuration value; ``str()`` is one line naming the key."""

    def __init__(self, key: str, message: str):
        self.key = key
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


def study_has(study: Mapping[str, Any], run: str, profile: str, n: int, partial_set: str, delta: float,
              seed: int = 0) -> bool:
    """Whether a study contains the cell."""
    return (run in study["runs"] and profile in study["profiles"] and n in study["n"]
            and partial_set in study["sets"] and any(float(d) == float(delta) for d in study["delta"])
            and seed in seeds_for(delta, study))


def check_figure_cells(cfg: Mapping[str, Any], methods: Mapping[str, Method]) -> None:
    """Every cell a figure shows is in its study, and the figures' runs have the right methods."""
    f, st = cfg["figures"], cfg["studies"]
    prof, seed, wn = f["profile"], f["seed"], f["working_n"]

    def need(key, study, run, n, pset, delta):
        if run not in cfg["runs"]:
            raise ConfigError(key, f"unknown run {run!r}")
        if not study_has(st[study], run, prof, n, pset, delta, seed):
            raise ConfigError(key, f"figure needs run {run!r}, profile {prof!r}, n = {n}, set {pset!r}, "
                              f"δ = {delta:g}, seed {seed}, which studies.{study} does not contain")

    nn, cm = f["nn_run"], f["cm_run"]
    for delta in f["noise_deltas"]:
        need("figures.noise_deltas", "noise", nn, wn, "full", delta)
    for delta in f["compare_deltas"]:
        need("figures.compare_deltas", "noise", nn, wn, "full", delta)
        need("figures.compare_deltas", "noise", cm, wn, "full", delta)
        for pset in ("full", "last3n", "sigma0", "last2n"):
            need("figures.compare_deltas", "partial", nn, wn, pset, delta)
        for pset in f["further_sets"]:
            need("figures.further_sets", "partial", nn, wn, pset, delta)
            need("figures.further_sets", "partial", cm, wn, pset, delta)
    for pset in st["partial"]["sets"]:
        need("figures.small_delta", "partial", nn, wn, pset, f["small_delta"])
    for delta in st["prior"]["delta"]:
        need("figures.fixed_run", "prior", f["fixed_run"], wn, "full", delta)
        need("figures.nn_run", "prior", nn, wn, "full", delta)
    # Figs 8–11 compare the network with Curtis–Morrow; Figs 3–7 show a run of the network's loss.
    if cfg["runs"][cm]["method"] != "cm":
        raise ConfigError("figures.cm_run", f"run {cm!r} is not a Curtis–Morrow run")
    if cfg["runs"][nn]["method"] not in ("nn", "nn_fast"):
        raise ConfigError("figures.nn_run", f"run {nn!r} is not a run of the NN loss (nn or nn_fast)")
    if not method_applies(cfg, methods, nn, "full", wn):
        raise ConfigError("figures.nn_run", f"run {nn!r} cannot reconstruct from full data")
    fixed_edges(cfg)  # a malformed fixed-edge spec stops here, naming the key


def check_sizes(cfg: Mapping[str, Any]) -> None:
    """Every lattice size of a study (and the figures') within the limit on n, with its memory."""
    sized = [(f"{key}.n[{i}]", n) for key, study in studies(cfg) for i, n in enumerate(study["n"])]
    mc = [("monte_carlo.n", cfg["monte_carlo"]["n"])] if "n" in cfg.get("monte_carlo", {}) else []
    for key, n in [*sized, ("figures.working_n", cfg["figures"]["working_n"]), *mc]:
        try:
            check_lattice_size(n)
        except ValueError as exc:
            raise ConfigError(key, str(exc)) from None


def check_config(cfg: Mapping[str, Any], methods: Mapping[str, Method]) -> None:
    """Every check of this module (after the schema)."""
    check_sizes(cfg)
    check_registries(cfg, methods)
    check_figure_cells(cfg, methods)


def defining_file(key: str, files: list[str | Path]) -> Path | None:
    """The config file that sets ``key`` (``a.b[2].c``): the last of ``files`` (merge order, later
    files win) holding its longest prefix; None when no file mentions even its first part."""
    import re

    import yaml

    parts = [int(p[1:-1]) if p.startswith("[") else p for p in re.findall(r"\[\d+\]|[^.\[\]]+", key)]

    def depth(doc) -> int:
        for i, part in enumerate(parts):
            try:
                doc = doc[part]
            except (KeyError, IndexError, TypeError):
                return i
        return len(parts)

    best, where = 0, None
    for path in map(Path, files):
        try:
            d = depth(yaml.safe_load(path.read_text()))
        except (OSError, yaml.YAMLError):
            continue
        if d and d >= best:
            best, where = d, path
    return where


def config_error_line(error: ConfigError, files: list[str | Path]) -> str:
    """The one line a configuration error is reported as: ``FILE: invalid configuration: KEY: ...``.

    ``files``: the config files in merge order; FILE is the one that sets the key (or, for a key a
    schema default filled in, the list of files).
    """
    def shown(path) -> str:
        path = Path(path)
        return str(path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path)

    where = getattr(error, "file", None) or defining_file(error.key, files)  # file-level errors know it
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

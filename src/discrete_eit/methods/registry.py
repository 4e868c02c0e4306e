"""Registry of reconstruction methods: the plug-in contract.

A method is a function ``f(dataset, **options) -> Reconstruction`` registered with
:func:`register_method`, which also declares its options (these become CLI flags and are checked
against the configuration before any job runs). A method registered with ``batched=True`` instead
takes a list of datasets (all of one n) and returns a list of reconstructions, so that independent
problems share one vectorised solve.

The function receives a validated :class:`~discrete_eit.problem.Dataset`: ``dataset.n`` (lattice
size), ``dataset.dtn`` (4n, 4n) Λ^δ with NaN where unmeasured, ``dataset.mask`` (4n, 4n) bool,
``dataset.gamma_true`` (2n(n+1),) or None. It returns a :class:`Reconstruction`.

Where methods come from: the built-in modules listed in :data:`BUILTIN_MODULES`, plus any module
named by an entry point of group ``discrete_eit.methods`` (``[project.entry-points."discrete_eit.methods"]``
in another package's pyproject). :func:`load_methods` imports them all. Method modules must not
import heavy dependencies (torch) at import time.
"""

from __future__ import annotations

import dataclasses
import importlib
import math
import numbers
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from discrete_eit.problem.datasets import Dataset

BUILTIN_MODULES = ("discrete_eit.methods.cm", "discrete_eit.methods.nn", "discrete_eit.methods.nn_fast",
                   "discrete_eit.methods.ols", "discrete_eit.methods.tikhonov")
"""Modules that register the built-in methods (a new built-in method: one module, one entry here)."""
ENTRY_POINT_GROUP = "discrete_eit.methods"


def _method_modules() -> list[str]:
    """Built-in method modules and those named by ``discrete_eit.methods`` entry points."""
    return [*BUILTIN_MODULES, *_entry_point_values(ENTRY_POINT_GROUP)]


def _entry_point_values(group: str) -> list[str]:
    """Values of the entry points in ``group`` of the distributions installed on ``sys.path``.

    Read from the ``[group]`` section of each ``*.dist-info/entry_points.txt`` (where installers
    put them), the first distribution of a name on the path winning, as importlib.metadata does;
    that reads and parses every distribution's metadata instead, which costs every short CLI
    process about a tenth of a second.
    """
    values, seen = [], set()
    for entry in sys.path:
        try:
            folders = sorted(os.listdir(entry or "."))
        except OSError:
            continue
        for folder in folders:
            if not folder.endswith(".dist-info"):
                continue
            dist = folder.partition("-")[0].lower().replace("-", "_").replace(".", "_")
            if dist in seen:
                continue
            seen.add(dist)
            try:
                text = Path(entry or ".", folder, "entry_points.txt").read_text(encoding="utf-8")
            except OSError:
                continue
            section = None
            for line in text.splitlines():
                line = line.strip()
                if line.startswith("["):
                    section = line.strip("[]").strip()
                elif section == group and "=" in line and not line.startswith(("#", ";")):
                    values.append(line.partition("=")[2].strip())
    return values


class OptionError(ValueError):
    """A method option that does not exist or has a bad value.

    ``str()`` names options as the Python API spells them (``cm: unknown option 'bogus' (known:
    variant, solve)``); :meth:`as_flag` as the CLI does (``--bogus``, ``--variant``). ``problem``
    is the message without the method and option, for callers that name the option themselves
    (the configuration check names its key).
    """

    def __init__(self, method: str, option: str, problem: str, known: tuple[str, ...] | None = None):
        self.method, self.option, self.problem, self.known = method, option, problem, known
        super().__init__(self._text(repr, str))

    def _text(self, spell: Callable[[str], str], listed: Callable[[str], str]) -> str:
        if self.known is not None:
            return (f"{self.method}: unknown option {spell(self.option)} (known: "
                    f"{', '.join(map(listed, self.known)) or 'none'})")
        return f"{self.method}: option {spell(self.option)} {self.problem}"

    def as_flag(self) -> str:
        def flag(name: str) -> str:
            return "--" + name.replace("_", "-")
        return self._text(flag, flag)


@dataclass(frozen=True)
class Option:
    """One method option: ``--name`` on the command line (underscores become dashes).

    ``minimum``: the least value of a numeric (int or float) option; numeric values must also be
    finite. It defaults to 0 because no option of a built-in method is meaningfully negative (an
    iteration count, a seed, a step, a weight, a bound); a plugin option that can be negative
    declares ``minimum=None``. ``positive``: the value must be above ``minimum`` (a step, a
    weight that divides). ``maximum`` (inclusive) and ``below`` (exclusive): upper bounds. Integers
    are also bounded by the int64 range (:data:`INT_RANGE`: seeds and counts end up in numpy and
    JSON as int64). A default of ``None`` means "unset" (the method decides) and is the only value
    outside the type that an option accepts. ``check``: for an option whose ``type`` is none of
    int, float, str (e.g. "a positive number or ``auto``"), ``value -> why it is bad or None``;
    ``type`` then only parses the command line's text.
    """

    name: str
    type: Callable[[str], Any]
    default: Any
    help: str
    choices: tuple | None = None
    minimum: float | None = 0
    positive: bool = False
    maximum: float | None = None
    below: float | None = None
    check: Callable[[Any], str | None] | None = None

    def problem(self, value: Any) -> str | None:
        """Why ``value`` is not valid for this option (type, choices, range), or None if it is."""
        if value is None and self.default is None:
            return None
        if not _type_ok(self.type, value):
            return f"must be of type {getattr(self.type, '__name__', self.type)}, got {value!r}"
        if self.check is not None and (problem := self.check(value)) is not None:
            return problem
        if self.choices is not None and value not in self.choices:
            return f"must be one of {', '.join(map(str, self.choices))}, got {value!r}"
        if self.type in (int, float):
            if not math.isfinite(value):
                return f"must be finite, got {value!r}"
            if self.minimum is not None and self.positive and value <= self.minimum:
                return f"must be > {self.minimum:g}, got {value!r}"
            if self.minimum is not None and value < self.minimum:
                return f"must be >= {self.minimum:g}, got {value!r}"
            if self.maximum is not None and value > self.maximum:
                return f"must be <= {self.maximum:g}, got {value!r}"
            if self.below is not None and value >= self.below:
                return f"must be < {self.below:g}, got {value!r}"
            if self.type is int and not INT_RANGE[0] <= value <= INT_RANGE[1]:
                return f"must be an int64 (|value| < 2**63), got {value!r}"
        return None


INT_RANGE = (-(2 ** 63), 2 ** 63 - 1)
"""The range of an integer option (int64)."""


def _type_ok(option_type, value) -> bool:
    """Whether a value fits an option's declared type (no silent coercion of ``"lots"`` to a number)."""
    if option_type is int:
        return isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if option_type is float:
        return isinstance(value, numbers.Real) and not isinstance(value, bool)
    if option_type is str:
        return isinstance(value, str)
    return True


@dataclass
class Reconstruction:
    """Result of a method.

    Attributes
    ----------
    gamma : (2n(n+1),) float64, reconstructed conductivities (MATH.md edge order).
    arrays : further method-specific arrays saved in the output ``.npz``. ``history``, when present,
        is a (T, c) float64 array whose columns the method declares in ``history_columns`` of
        :func:`register_method` (e.g. ``iteration, loss, …, gamma_error``); :func:`reconstruct_many`
        adds them as the array ``history_columns``.
    info : JSON-serialisable scalars saved in the sidecar: at least ``stop_reason`` for iterative
        methods, ``iterations`` when it has a meaning.
    """

    gamma: np.ndarray
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Method:
    """A registered method (see :func:`register_method`)."""

    name: str
    func: Callable[..., Reconstruction]
    options: tuple[Option, ...]
    help: str
    batched: bool = False
    applies: Callable[[np.ndarray], bool] | None = None
    history_columns: tuple[str, ...] = ()
    relations: tuple[tuple[str, str], ...] = ()

    @property
    def module(self) -> str:
        """The module that defines the method (the root of its code fingerprint)."""
        return self.func.__module__

    def applies_to(self, mask: np.ndarray) -> bool:
        """Whether the method can run on data measured on ``mask`` ((4n, 4n) bool)."""
        return True if self.applies is None else bool(self.applies(mask))

    def resolve_options(self, given: dict[str, Any]) -> dict[str, Any]:
        """Defaults overridden by ``given``.

        :class:`OptionError` for an unknown name or a value of the wrong type, off its choices or
        out of range (:meth:`Option.problem`) — checked here, before the method imports anything
        heavy (torch) or runs.
        """
        known = {o.name: o for o in self.options}
        unknown = sorted(set(given) - set(known))
        if unknown:
            raise OptionError(self.name, unknown[0], f"is unknown (known options: "
                              f"{', '.join(known) or 'none'})", known=tuple(known))
        out = {o.name: o.default for o in self.options}
        for key, value in given.items():
            problem = known[key].problem(value)
            if problem is not None:
                raise OptionError(self.name, key, problem)
            out[key] = value
        for low, high in self.relations:  # e.g. init_low <= init_high (None: unbounded)
            if out[low] is not None and out[high] is not None and not out[low] <= out[high]:
                if high in given:
                    raise OptionError(self.name, high, f"must be >= {low} = {out[low]!r}, got {out[high]!r}")
                raise OptionError(self.name, low, f"must be <= {high} = {out[high]!r}, got {out[low]!r}")
        return out


METHODS: dict[str, Method] = {}


def register_method(name: str, options: tuple[Option, ...] = (), help: str = "", batched: bool = False,
                    applies: Callable[[np.ndarray], bool] | None = None,
                    history_columns: tuple[str, ...] = (),
                    relations: tuple[tuple[str, str], ...] = ()):
    """Decorator: register ``func(dataset, **options) -> Reconstruction`` as method ``name``.

    Parameters
    ----------
    name : the method's name (CLI ``--method``, config ``runs.RUN.method``, table column ``method``).
    options : the options it accepts, with types, defaults and choices.
    help : one line for ``--help`` (default: the first docstring line).
    batched : the signature is ``func(list[Dataset], **options) -> list[Reconstruction]``.
    applies : ``mask -> bool``, whether data on that mask can be handled (default: always); the
        workflow lists cells it rejects as ``not_applicable``.
    history_columns : names of the columns of ``arrays['history']``, if the method returns one.
    relations : pairs ``(low, high)`` of options that must satisfy ``low <= high`` (either may be
        None = unbounded); checked with the options, one pair per message naming the option given.
    """
    def deco(func):
        doc = help or (func.__doc__ or "").strip().split("\n")[0]
        METHODS[name] = Method(name, func, tuple(options), doc, batched, applies, tuple(history_columns),
                               tuple(relations))
        return func
    return deco


def load_methods() -> dict[str, Method]:
    """Import every method module (cheap: torch is imported lazily) and return the registry."""
    for module in _method_modules():
        importlib.import_module(module)
    return METHODS


def get_method(name: str) -> Method:
    """The registered method ``name``; ``ValueError`` naming the known ones otherwise."""
    methods = load_methods()
    try:
        return methods[name]
    except KeyError:
        raise ValueError(f"unknown method {name!r}; known: {', '.join(sorted(methods))}") from None


AUTO_DELTA = "auto"
"""``delta="auto"`` (CLI ``--delta auto``): estimate δ from the data (problem/noise_estimate.py)."""


@dataclass(frozen=True)
class NoiseRequest:
    """How δ is chosen for a run: the method's options without the request, and the request.

    ``options`` are the method's own options (``delta`` kept only when the method declares it and
    a number was given); ``delta`` is ``"auto"``, a number, or None (the dataset's); ``noise_model``
    the model assumed (None: the dataset's, else ``relative``); ``error_bars`` whether to add them.
    """

    options: dict[str, Any]
    delta: Any
    noise_model: str | None
    error_bars: bool


def noise_request(name: str, options: dict[str, Any], error_bars: bool = False,
                  noise_model: str | None = None) -> NoiseRequest:
    """Split δ from ``options`` of method ``name`` and check it, before any data are loaded.

    ``delta="auto"`` is accepted by every method (it sets the dataset's δ, which ``nn_fast`` and
    ``ols`` use in their stopping rule and every method's error bars use). A numeric ``delta`` goes
    to a method that declares it; for any other method it is accepted only with ``error_bars=True``
    (the δ of the error bars) and refused otherwise, as an unknown option. ``noise_model`` must be
    registered, with an estimator when δ is estimated.
    """
    from discrete_eit.problem.noise import NOISE_MODELS
    from discrete_eit.problem.noise_estimate import NOISE_ESTIMATORS

    method = get_method(name)
    options = dict(options)
    declares = any(o.name == "delta" for o in method.options)
    delta = options.get("delta")
    if isinstance(delta, str) and delta == AUTO_DELTA:
        options.pop("delta")
    elif delta is not None and not declares and error_bars:
        options.pop("delta")
        if isinstance(delta, bool) or not isinstance(delta, numbers.Real) or not (math.isfinite(delta)
                                                                                   and 0 <= delta <= 1):
            raise OptionError(name, "delta", f"must be a finite number in [0, 1] or 'auto', got {delta!r}")
        delta = float(delta)
    elif isinstance(delta, str):
        raise OptionError(name, "delta", f"must be a number or 'auto', got {delta!r}")
    if noise_model is not None:
        if noise_model not in NOISE_MODELS:
            raise OptionError(name, "noise_model", f"must be one of {', '.join(sorted(NOISE_MODELS))}, "
                              f"got {noise_model!r}")
        if delta == AUTO_DELTA and noise_model not in NOISE_ESTIMATORS:
            raise OptionError(name, "noise_model", f"{noise_model!r} has no δ estimator (models with one: "
                              f"{', '.join(sorted(NOISE_ESTIMATORS))})")
    method.resolve_options(options)  # OptionError for the method's own options
    return NoiseRequest(options, delta if delta == AUTO_DELTA or not declares else options.get("delta"),
                        noise_model, bool(error_bars))


def reconstruct(name: str, dataset: Dataset, error_bars: bool = False, noise_model: str | None = None,
                **options) -> Reconstruction:
    """Run method ``name`` on one dataset with ``options`` (unspecified ones take defaults).

    ``error_bars=True`` adds ``arrays["gamma_std"]`` ((2n(n+1),), the absolute 1σ of every edge,
    linearised at γ̂: problem/sensitivity.py :func:`error_bars`) and ``info["error_bars"]``;
    ``delta="auto"`` estimates δ from the data under ``noise_model`` (default relative) and records
    ``info["delta_estimate"]``, ``info["delta_model"]`` (see :func:`reconstruct_many`).
    """
    return reconstruct_many(name, [dataset], error_bars=error_bars, noise_model=noise_model, **options)[0]


def reconstruct_many(name: str, datasets: list[Dataset], error_bars: bool = False,
                     noise_model: str | None = None, **options) -> list[Reconstruction]:
    """Run method ``name`` on several datasets: one batched call, or one call per dataset.

    The noise level δ of each dataset: ``delta="auto"`` — estimated from its data under
    ``noise_model`` (problem/noise_estimate.py; the dataset's ``delta`` and ``noise_model`` are set
    to the estimate and the model, so a discrepancy rule uses it); a number — the option (or, for a
    method without a ``delta`` option, the δ of the error bars only); None — the dataset's own.
    Every estimate is made, and every δ the error bars need is checked, before any method runs;
    ``ValueError`` (one line, naming the source) where the data cannot tell δ.

    With ``error_bars`` each reconstruction gets ``arrays["gamma_std"]`` and
    ``info["error_bars"] = {"linearised_at": "estimate", "delta": δ, "delta_source":
    "dataset" | "flag" | "estimate", "noise_model": model}``; ``ValueError`` when γ̂ is not
    positive and finite or the Jacobian at γ̂ is rank deficient.
    """
    from discrete_eit.problem.noise import DEFAULT_NOISE_MODEL
    from discrete_eit.problem.noise_estimate import estimate_dataset_noise

    method = get_method(name)
    request = noise_request(name, options, error_bars, noise_model)
    resolved = method.resolve_options(request.options)
    datasets, notes = list(datasets), [{} for _ in datasets]
    for k, d in enumerate(datasets):
        model = request.noise_model or d.noise_model or DEFAULT_NOISE_MODEL
        if request.delta == AUTO_DELTA:
            estimate = estimate_dataset_noise(d, model)
            datasets[k] = dataclasses.replace(d, delta=estimate.delta, noise_model=model)
            notes[k].update(estimate.as_info())
            source, delta = "estimate", estimate.delta
        elif request.delta is not None:
            source, delta = "flag", float(request.delta)
        else:
            source, delta = "dataset", d.delta
        if request.error_bars and delta is None:
            raise ValueError(f"{d.source}: error bars need a noise level δ and the data carry none: give "
                             "delta (a number) or delta='auto'")
        notes[k]["_error_bars"] = {"linearised_at": "estimate", "delta": delta, "delta_source": source,
                                   "noise_model": model}
    if method.batched:
        ns = {d.n for d in datasets}
        if len(ns) > 1:
            raise ValueError(f"method {name!r} batches datasets of one lattice size, got n = {sorted(ns)}")
        results = list(method.func(list(datasets), **resolved))
    else:
        results = [method.func(d, **resolved) for d in datasets]
    for rec in results:  # a saved history names its columns itself
        if "history" in rec.arrays and method.history_columns:
            rec.arrays.setdefault("history_columns", np.array(method.history_columns))
    for d, rec, note in zip(datasets, results, notes, strict=True):
        bars = note.pop("_error_bars")
        rec.info.update(note)
        if request.error_bars:
            rec.arrays["gamma_std"] = _error_bars(d, rec.gamma, bars)
            rec.info["error_bars"] = bars
    return results


def _error_bars(dataset: Dataset, gamma_hat: np.ndarray, how: dict[str, Any]) -> np.ndarray:
    from discrete_eit.problem.sensitivity import error_bars

    try:
        return error_bars(dataset.lattice, gamma_hat, dataset.mask, how["delta"], how["noise_model"])
    except ValueError as exc:
        raise ValueError(f"{dataset.source}: {exc}") from None

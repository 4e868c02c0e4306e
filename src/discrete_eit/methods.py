"""Registry of reconstruction methods.

A method is a function ``f(dataset, **options) -> Reconstruction`` registered with
:func:`register_method`, which also declares its options (these become CLI flags). A method
registered with ``batched=True`` instead takes a list of datasets (all of one n) and returns a
list of reconstructions, so that independent problems share one vectorised solve. Adding a
method is one new module of this package with a ``@register_method`` function: modules are
discovered by that decorator in their source (:func:`load_methods`), no list to edit. Method
modules must not import heavy dependencies (torch) at import time.
"""

from __future__ import annotations

import importlib
import importlib.resources
import pkgutil
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .datasets import Dataset

_REGISTERS = re.compile(r"^@register_method\(", re.MULTILINE)   # a decorated top-level function


def _method_modules() -> list[str]:
    """Modules of this package whose source registers a method (found without importing the rest)."""
    package = importlib.resources.files(__package__)
    names = []
    for info in pkgutil.iter_modules([str(package)]):
        source = package / f"{info.name}.py"
        if not info.ispkg and source.is_file() and _REGISTERS.search(source.read_text(encoding="utf-8")):
            names.append(info.name)
    return sorted(names)


@dataclass(frozen=True)
class Option:
    """One method option: ``--name`` on the command line (underscores become dashes)."""

    name: str
    type: Callable[[str], Any]
    default: Any
    help: str
    choices: tuple | None = None


@dataclass
class Reconstruction:
    """Result of a method.

    gamma : (2n(n+1),) reconstructed conductivities (MATH.md edge order).
    arrays : further method-specific arrays saved in the output ``.npz`` (e.g. ``history``).
    info : JSON-serialisable scalars (iterations, stopping reason, …) saved in the sidecar.
    """

    gamma: np.ndarray
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Method:
    name: str
    func: Callable[..., Reconstruction]
    options: tuple[Option, ...]
    help: str
    batched: bool = False

    def resolve_options(self, given: dict[str, Any]) -> dict[str, Any]:
        """Defaults overridden by ``given``; unknown option names raise ``ValueError``."""
        known = {o.name: o for o in self.options}
        unknown = sorted(set(given) - set(known))
        if unknown:
            flags = ", ".join("--" + u.replace("_", "-") for u in unknown)
            raise ValueError(f"option(s) {flags} do not apply to method {self.name!r}")
        out = {o.name: o.default for o in self.options}
        for key, value in given.items():
            choices = known[key].choices
            if choices is not None and value not in choices:
                raise ValueError(f"method {self.name!r}: --{key.replace('_', '-')} must be one of "
                                 f"{', '.join(map(str, choices))}, got {value!r}")
            out[key] = value
        return out


METHODS: dict[str, Method] = {}


def register_method(name: str, options: tuple[Option, ...] = (), help: str = "", batched: bool = False):
    """Decorator: register ``func(dataset, **options) -> Reconstruction`` as method ``name``.

    With ``batched=True`` the signature is ``func(list[Dataset], **options) -> list[Reconstruction]``.
    """
    def deco(func):
        doc = help or (func.__doc__ or "").strip().split("\n")[0]
        METHODS[name] = Method(name, func, tuple(options), doc, batched)
        return func
    return deco


def load_methods() -> dict[str, Method]:
    """Import every method module (cheap: torch is imported lazily) and return the registry."""
    for module in _method_modules():
        importlib.import_module(f"{__package__}.{module}")
    return METHODS


def get_method(name: str) -> Method:
    methods = load_methods()
    try:
        return methods[name]
    except KeyError:
        raise ValueError(f"unknown method {name!r}; known: {', '.join(sorted(methods))}") from None


def reconstruct(name: str, dataset: Dataset, **options) -> Reconstruction:
    """Run method ``name`` on one dataset with ``options`` (unspecified ones take defaults)."""
    return reconstruct_many(name, [dataset], **options)[0]


def reconstruct_many(name: str, datasets: list[Dataset], **options) -> list[Reconstruction]:
    """Run method ``name`` on several datasets: one batched call, or one call per dataset."""
    method = get_method(name)
    resolved = method.resolve_options(options)
    if method.batched:
        ns = {d.n for d in datasets}
        if len(ns) > 1:
            raise ValueError(f"method {name!r} batches datasets of one lattice size, got n = {sorted(ns)}")
        return list(method.func(list(datasets), **resolved))
    return [method.func(d, **resolved) for d in datasets]

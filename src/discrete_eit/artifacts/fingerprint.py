"""Code fingerprints: which source a result depends on, hashed so that only real changes count.

A fingerprint covers a set of *roots* (module names such as ``discrete_eit.methods.cm``, and
source files such as a workflow script) and every module of the same top-level package that they
import, transitively — imports inside functions included, so that lazily imported modules count.
Each file enters as its syntax tree with docstrings removed (``ast.dump`` without positions):
comments, docstrings, blank lines and formatting do not change a fingerprint; any change to what
the code does does.

Where it is used (docs/provenance.md, "Results never outlive their code"):

* every job of the workflow has its fingerprint as a Snakemake param, so a code change reruns
  exactly the jobs whose code changed (Snakemake reruns a job whose params changed);
* every artifact's sidecar records its ``code`` fingerprint, and ``discrete-eit audit`` reports an
  artifact whose fingerprint differs from the current tree's as *stale*.

Modules that only describe provenance (:data:`PROVENANCE_ONLY`) are left out: a new sidecar field
does not make a dataset stale. The command-line layer is left out too: it parses arguments and calls
the modules in :data:`COMMAND_ROOTS`, and the arguments themselves are in each artifact's params.
Nothing here imports the modules it hashes (files are located on disk), so computing a fingerprint
costs no heavy imports.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.machinery
import json
import os
import tempfile
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

PACKAGE = "discrete_eit"
PACKAGE_DIR = Path(__file__).resolve().parents[1]

PROVENANCE_ONLY = frozenset({f"{PACKAGE}.artifacts.sidecar", f"{PACKAGE}.artifacts.fingerprint",
                             f"{PACKAGE}.cli", PACKAGE})
"""Modules whose changes do not make results stale (provenance records, argument parsing, and the
package ``__init__``, which only re-exports)."""

_FORMATS = f"{PACKAGE}.artifacts.formats"
COMMAND_ROOTS: dict[str, tuple[str, ...]] = {
    "generate": (f"{PACKAGE}.problem.datasets", f"{PACKAGE}.problem.profiles", _FORMATS),
    "reconstruct": (f"{PACKAGE}.methods.registry", _FORMATS),  # + the method's own module
    "sensitivity": (f"{PACKAGE}.problem.sensitivity", _FORMATS),
    "evaluate": (f"{PACKAGE}.artifacts.evaluation",),
}
"""The modules each CLI command computes with (``reconstruct`` adds the method's module)."""


def _module_file(name: str) -> Path | None:
    """Source file of module ``name`` (a package's ``__init__.py``), found on disk, never imported.

    The package itself is looked up next to this module (the code being run); another top-level
    package (a plug-in method's) on ``sys.path``.
    """
    top, _, rest = name.partition(".")
    if top == PACKAGE:
        base = PACKAGE_DIR
    else:
        spec = importlib.machinery.PathFinder.find_spec(top)
        if spec is None or spec.origin is None:
            return None
        if not spec.submodule_search_locations:  # a single-file module
            return Path(spec.origin) if not rest and spec.origin.endswith(".py") else None
        base = Path(spec.origin).parent
    base = base.joinpath(*rest.split(".")) if rest else base
    for candidate in (base.with_suffix(".py") if rest else None, base / "__init__.py"):
        if candidate is not None and candidate.is_file():
            return candidate
    return None


def _strip_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]
    return tree


def _cache_file() -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "discrete-eit" / "fingerprints.json"


@cache
def _disk_cache() -> dict[str, list]:
    """Parsed files from earlier processes: ``{sha256 of the bytes: [digest, imports]}``.

    Parsing costs ≈ 50 ms per module, so a short command would pay far more for its fingerprint
    than for its work; the cache keeps it at a few stat calls. A corrupt or unwritable cache is
    ignored (the fingerprint is computed afresh).
    """
    try:
        return json.loads(_cache_file().read_text())
    except (OSError, ValueError):
        return {}


def _save_disk_cache() -> None:
    path = _cache_file()
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".fingerprints.", suffix=".tmp")
        with os.fdopen(fd, "w") as fh:
            json.dump(_disk_cache(), fh)
        os.replace(tmp, path)  # concurrent writers: the last one wins, every version is valid
        tmp = None
    except OSError:
        pass
    finally:  # a full disk or a signal mid-write leaves no temporary file behind
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


def _parsed(path: Path) -> tuple[str, list]:
    """(sha256 of the normalised source, its imports as ``[module, level, [names]]``) of one file."""
    raw = path.read_bytes()
    key = hashlib.sha256(raw).hexdigest()  # by content: timestamps are too coarse to tell edits apart
    entry = _disk_cache().get(key)
    if entry:
        return entry[0], entry[1]
    tree = _strip_docstrings(ast.parse(raw.decode("utf-8"), filename=str(path)))
    imports: list = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imports += [[alias.name, 0, []] for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            imports.append([node.module or "", node.level, [alias.name for alias in node.names]])
    digest = hashlib.sha256(ast.dump(tree, annotate_fields=True, include_attributes=False).encode())
    _disk_cache()[key] = [digest.hexdigest(), imports]
    _save_disk_cache()
    return digest.hexdigest(), imports


def _imported_modules(name: str | None, path: Path) -> list[str]:
    """Absolute names of what the module ``name`` (or a script: ``None``) at ``path`` imports.

    ``from pkg import x`` yields ``pkg`` and the candidate ``pkg.x`` (kept by :func:`module_closure`
    only if it is a module); relative imports resolve against the module's package.
    """
    package = None if name is None else (name if path.name == "__init__.py" else name.rpartition(".")[0])
    out: list[str] = []
    for module, level, names in _parsed(path)[1]:
        if level:
            if not package:
                continue
            parts = package.split(".")
            parts = parts[: len(parts) - (level - 1)]
            module = ".".join([*parts, module] if module else parts)
        out += [module, *(f"{module}.{alias}" for alias in names)]
    return out


def module_closure(roots: Iterable[str], files: Iterable[str | Path] = (),
                   base: str | Path = ".") -> dict[str, Path]:
    """Every module the roots (module names and source files) import within their packages.

    Returns ``{module name or file path: source file}``, provenance-only modules excluded.
    """
    tops = {PACKAGE} | {r.partition(".")[0] for r in roots}
    found: dict[str, Path] = {}
    todo: list[tuple[str, Path, bool]] = []
    for name in roots:
        path = _module_file(name)
        if path is None:
            raise ValueError(f"code fingerprint: module {name!r} not found")
        todo.append((name, path, True))
    todo += [(str(f), Path(base) / f, False) for f in files]
    while todo:
        name, path, is_module = todo.pop()
        if name in found or name in PROVENANCE_ONLY:
            continue
        found[name] = path
        for dep in _imported_modules(name if is_module else None, path):
            if dep.partition(".")[0] in tops and dep not in found and dep not in PROVENANCE_ONLY:
                dep_path = _module_file(dep)
                if dep_path is not None:
                    todo.append((dep, dep_path, True))
    return found


def code_fingerprint(roots: Iterable[str] = (), files: Iterable[str | Path] = (),
                     base: str | Path = ".") -> dict[str, Any]:
    """The fingerprint record of the code reached from ``roots`` and ``files``.

    Parameters
    ----------
    roots : module names (``discrete_eit.methods.cm``, or a plug-in's module).
    files : source files (e.g. ``workflow/scripts/build.py``, relative to ``base``, the
        project root); their imports are followed like a module's. They enter the hash under the
        name given, so the fingerprint does not depend on where the project lies.

    Returns
    -------
    ``{"sha256": hex digest, "roots": [...], "files": [...], "modules": [...]}`` — what a sidecar
    stores; :func:`recompute` repeats it on the current tree. Raises ``ValueError`` naming a root
    or file that does not exist.
    """
    roots, files = sorted(set(roots)), sorted({str(f) for f in files})
    for f in files:
        if not (Path(base) / f).is_file():
            raise ValueError(f"code fingerprint: file {f} not found")
    closure = module_closure(roots, files, base)
    h = hashlib.sha256()
    for name in sorted(closure):
        h.update(f"{name}\0{_parsed(closure[name])[0]}\0".encode())
    return {"sha256": h.hexdigest(), "roots": roots, "files": files,
            "modules": sorted(n for n in closure if n not in files)}


def command_fingerprint(command: str, method_module: str | None = None) -> dict[str, Any]:
    """Fingerprint of a CLI command (:data:`COMMAND_ROOTS`; ``reconstruct`` with its method's module)."""
    roots = list(COMMAND_ROOTS[command])
    if method_module is not None:
        roots.append(method_module)
    return code_fingerprint(roots)


def recompute(record: dict[str, Any], base: str | Path = ".") -> str | None:
    """The current tree's sha256 for a stored fingerprint record (its files read under ``base``);
    ``None`` if its code is gone."""
    try:
        return code_fingerprint(record.get("roots", ()), record.get("files", ()), base)["sha256"]
    except (ValueError, OSError, SyntaxError):
        return None

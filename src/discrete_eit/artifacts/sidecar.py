"""Provenance: hashes, code and package versions, and the JSON sidecar every artifact carries.

Each artifact ``FILE`` gets ``FILE.json`` with: the artifact's own sha256, its kind, the
parameters and seed that made it, the sha256 of every input file, the code version (package
version and git commit when the source lives in a git checkout), package versions, platform
and wall time, and the fingerprint of the code that computed it (``code``,
:mod:`.fingerprint`). ``discrete-eit audit`` walks these sidecars.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import sys
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

TRACKED_PACKAGES = ("discrete-eit", "numpy", "scipy", "numba", "torch", "pandas", "matplotlib",
                    "seaborn", "snakemake", "dvc")


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sidecar_path(path: str | Path) -> Path:
    """``FILE`` -> ``FILE.json`` (the sidecar sits next to its artifact)."""
    path = Path(path)
    return path.with_name(path.name + ".json")


def _normalise(name: str) -> str:
    return name.lower().replace("-", "_").replace(".", "_")


def _dist_info_versions() -> dict[str, str]:
    """``{normalised name: version}`` from the ``NAME-VERSION.dist-info`` folders on ``sys.path``.

    The installer names each folder after the distribution's name and version (the wheel spec),
    so one directory listing per path entry gives every version; the first entry on the path
    wins, as for imports. (importlib.metadata reads the same folders but parses each METADATA
    file, which costs short CLI processes tenths of a second.)
    """
    found: dict[str, str] = {}
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for folder in names:
            if folder.endswith(".dist-info") and "-" in folder:
                dist, _, version = folder[: -len(".dist-info")].partition("-")
                found.setdefault(_normalise(dist), version)
    return found


@cache
def package_versions() -> dict[str, str | None]:
    """Installed versions of :data:`TRACKED_PACKAGES` (None: not installed)."""
    listed = _dist_info_versions()
    out: dict[str, str | None] = {}
    for name in TRACKED_PACKAGES:
        out[name] = listed.get(_normalise(name))
        if out[name] is None:  # not installed from a wheel (e.g. an .egg-info): ask the slow way
            import importlib.metadata

            try:
                out[name] = importlib.metadata.version(name)
            except importlib.metadata.PackageNotFoundError:
                pass
    return out


def git_state(path: str | Path = ".", scope: str | Path | None = None) -> dict[str, Any]:
    """Commit and branch of the checkout containing ``path``, and whether it is ``dirty``.

    ``dirty``: a tracked file (under ``scope``, default: anywhere) differs from the commit.
    Untracked files do not count (outputs being written, DVC's ignored outputs). All ``None``
    outside a git checkout (or before its first commit). ``branch`` is ``HEAD`` when detached.
    One ``git status`` gives all three (its ``--branch`` header lines carry commit and branch).
    The project's only git probe: sidecars and the run manifest use it.
    """
    import subprocess

    none = {"commit": None, "branch": None, "dirty": None}
    try:
        res = subprocess.run(["git", "status", "--porcelain=v2", "--branch", "--untracked-files=no", "--",
                              str(scope or ".")], cwd=path, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return none
    if res.returncode != 0:
        return none
    lines = res.stdout.splitlines()
    header = dict(ln[2:].split(" ", 1) for ln in lines if ln.startswith("# ") and " " in ln[2:])
    commit = header.get("branch.oid")
    if commit is None or commit == "(initial)":
        return none
    branch = header.get("branch.head")
    return {"commit": commit, "branch": "HEAD" if branch == "(detached)" else branch,
            "dirty": any(not ln.startswith("#") for ln in lines)}


@cache
def code_version() -> dict[str, Any]:
    """Package version, and git commit + dirty flag of the package source if it is a checkout."""
    here = Path(__file__).resolve().parents[1]  # the package directory
    git = git_state(here, here)
    return {"package": package_versions()["discrete-eit"], "git_commit": git["commit"],
            "git_dirty": git["dirty"]}


_CODE: ContextVar[dict[str, Any] | None] = ContextVar("discrete_eit_code", default=None)


def record_code(fingerprint: dict[str, Any] | None) -> None:
    """From now on, sidecars written by this process (thread) record ``fingerprint`` as their ``code``.

    For a process that is one job (a workflow script); :func:`recording_code` scopes it to a block.
    """
    _CODE.set(fingerprint)


@contextmanager
def recording_code(fingerprint: dict[str, Any] | None):
    """Sidecars written inside the block record ``fingerprint`` as their ``code``.

    A context variable, not a global: the CLI and each workflow script set it once for their
    process, and Snakemake's in-process jobs (threads) each keep their own.
    """
    token = _CODE.set(fingerprint)
    try:
        yield
    finally:
        _CODE.reset(token)


def environment() -> dict[str, Any]:
    return {"python": sys.version.split()[0], "platform": platform.platform(),
            "machine": platform.machine()}


def build_sidecar(kind: str, artifact_sha256: str, params: dict[str, Any], inputs: dict[str, str],
                  wall_time_s: float | None = None, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The sidecar record of one artifact.

    Parameters
    ----------
    kind : "dataset", "reconstruction", "sensitivity", "table", "figure", …
    artifact_sha256 : sha256 of the artifact's bytes.
    params : the parameters (including seeds) that produced it.
    inputs : ``{path: sha256}`` of every input file.
    """
    record = {
        "kind": kind,
        "sha256": artifact_sha256,
        "params": params,
        "inputs": inputs,
        "code_version": code_version(),
        "code": _CODE.get(),
        "packages": package_versions(),
        "environment": environment(),
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "wall_time_s": wall_time_s,
    }
    if extra:
        record.update(extra)
    return record


def read_sidecar(path: str | Path) -> dict[str, Any]:
    """The sidecar of ``path``; ``FileNotFoundError`` if it has none."""
    with open(sidecar_path(path)) as fh:
        return json.load(fh)


def to_json(record: dict[str, Any]) -> str:
    """Strict JSON (non-finite floats become ``null``; numpy scalars/arrays and paths converted)."""
    return json.dumps(_jsonable(record), indent=2, sort_keys=True, allow_nan=False) + "\n"


def _jsonable(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return _jsonable(obj.item())
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Path):
        return str(obj)
    if obj is None or isinstance(obj, (str, int, bool)):
        return obj
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")

"""Provenance: hashes, code and package versions, and the JSON sidecar every artifact carries.

Each artifact ``FILE`` gets ``FILE.json`` with: the artifact's own sha256, its kind, the
parameters and seed that made it, the sha256 of every input file, the code version (package
version and git commit when the source lives in a git checkout), package versions, platform
and wall time, and the fingerprint of the code that computed it (``code``,
:mod:`.fingerprint`). ``discrete-eit audit`` walks these sidecars.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import math
import platform
import subprocess
import sys
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

TRACKED_PACKAGES = ("discrete-eit", "numpy", "scipy", "torch", "pandas", "matplotlib", "seaborn",
                    "snakemake", "dvc")


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


@cache
def package_versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in TRACKED_PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def _git(args: list[str], cwd: str | Path) -> str | None:
    try:
        res = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return res.stdout.strip() if res.returncode == 0 else None


def git_state(path: str | Path = ".", scope: str | Path | None = None) -> dict[str, Any]:
    """Commit and branch of the checkout containing ``path``, and whether it is ``dirty``.

    ``dirty``: a tracked file (under ``scope``, default: anywhere) differs from the commit.
    Untracked files do not count (outputs being written, DVC's ignored outputs). All ``None``
    outside a git checkout. The project's only git probe: sidecars and the run manifest use it.
    """
    commit = _git(["rev-parse", "HEAD"], path)
    if commit is None:
        return {"commit": None, "branch": None, "dirty": None}
    status = _git(["status", "--porcelain", "--untracked-files=no", "--", str(scope or ".")], path)
    return {"commit": commit, "branch": _git(["rev-parse", "--abbrev-ref", "HEAD"], path),
            "dirty": bool(status) if status is not None else None}


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

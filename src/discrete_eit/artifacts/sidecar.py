"""Provenance: hashes, code and package versions, and the JSON sidecar every artifact carries.

Each artifact ``FILE`` gets ``FILE.json`` with: the artifact's own sha256, its kind, the
parameters and seed that made it, the sha256 of every input file, the code version (package
version and git commit when the source lives in a git checkout), package versions, platform
and wall time. ``discrete-eit audit`` walks these sidecars.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import math
import platform
import subprocess
import sys
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


@cache
def code_version() -> dict[str, Any]:
    """Package version, and git commit + dirty flag of the source checkout if there is one."""
    here = Path(__file__).resolve().parent
    info: dict[str, Any] = {"package": package_versions()["discrete-eit"], "git_commit": None,
                            "git_dirty": None}
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True,
                                text=True, timeout=10)
        if commit.returncode == 0:
            info["git_commit"] = commit.stdout.strip()
            status = subprocess.run(["git", "status", "--porcelain", "--", str(here)], cwd=here,
                                    capture_output=True, text=True, timeout=10)
            info["git_dirty"] = bool(status.stdout.strip()) if status.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        pass
    return info


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

"""The run manifest: which outputs a run left, with their hashes, the config, code and platform.

The manifest records, for the run that produced the current outputs:

* ``config``: the config files the run read (path + sha256 of the bytes, in merge order) and, when
  the caller passes it, the effective configuration (the dict the workflow actually used, defaults
  and overrides included) with its canonical sha256 (sorted-key JSON: comments and layout do not
  count);
* ``git``: commit, branch, and whether tracked files differed from the commit (``dirty``);
* ``packages`` (the pinned stack) and ``all_packages`` (every installed distribution);
* ``platform``: Python, OS, machine, CPU count;
* ``started_utc`` / ``finished_utc``: the earliest start (sidecar ``created_utc`` minus
  ``wall_time_s``) and the latest end among the outputs — for an incremental run this spans the
  outputs' whole history, not just the last invocation — and ``written_utc``;
* ``outputs``: ``{path: sha256}`` of every file under the given roots (except the manifest, and
  except the diagnostic directories — logs, benchmarks — listed under ``diagnostics``).

:func:`verify_manifest` re-hashes every listed output and names the first file that is missing or
differs (e.g. after ``dvc pull`` in a fresh clone). Which directories are roots and diagnostics is
the caller's (the experiment's) business; this module knows no workflow path.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import math
import os
import platform
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .sidecar import environment, git_state, package_versions, read_sidecar, sha256_file, to_json

SCHEMA = "discrete-eit/run-manifest/1"
_DOCUMENTATION = {"README.md"}


class ManifestError(Exception):
    """A manifest that cannot be written or does not verify; the message names the file."""


# ---- configuration ---------------------------------------------------------------------------
def canonical_sha256(obj: Any) -> str:
    """sha256 of ``obj`` as sorted-key, compact JSON (independent of YAML layout and comments)."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def config_record(config_files: Sequence[str | Path], effective_config: Mapping[str, Any] | None = None,
                  root: str | Path = ".") -> dict[str, Any]:
    """The ``config`` entry: files in merge order, the effective config and its canonical hash.

    The files are hashed as bytes; merging them is the workflow engine's job, so ``effective`` and
    ``sha256`` are ``None`` unless the caller passes the config it used.
    """
    files = []
    for path in dict.fromkeys(str(p) for p in config_files):  # keep order, drop repeats
        full = Path(root) / path
        if not full.is_file():
            raise ManifestError(f"{path}: config file not found")
        files.append({"path": path, "sha256": sha256_file(full)})
    if effective_config is None:
        return {"files": files, "effective": None, "sha256": None}
    effective = json.loads(json.dumps(dict(effective_config), default=str))  # plain JSON types only
    return {"files": files, "effective": effective, "sha256": canonical_sha256(effective)}


# ---- git, packages, platform -----------------------------------------------------------------
def all_packages() -> dict[str, str]:
    """Every installed distribution (name → version) of the running interpreter."""
    out: dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            out[name.lower()] = dist.version
    return dict(sorted(out.items()))


def platform_record() -> dict[str, Any]:
    return {**environment(), "system": platform.system(), "release": platform.release(),
            "implementation": platform.python_implementation(), "cpu_count": os.cpu_count()}


# ---- outputs ---------------------------------------------------------------------------------
def _is_under(path: str, dirs: Iterable[str]) -> bool:
    return any(path == d or path.startswith(d.rstrip("/") + "/") for d in dirs)


def list_files(roots: Sequence[str | Path], root: str | Path = ".", exclude: Iterable[str] = ()) -> list[str]:
    """Every regular file under ``roots`` (relative to ``root``), as sorted POSIX paths.

    Skips ``exclude``, ``__pycache__``, hidden files and directories (half-written
    temporaries ``.NAME.XXXX.tmp``, the ``.gitignore`` files DVC maintains) and the
    directories' own documentation (``README.md``, versioned in git, never an output).
    """
    root = Path(root)
    excluded = {str(Path(e).as_posix()) for e in exclude}
    found: set[str] = set()
    for top in roots:
        base = root / top
        if base.is_file():
            found.add(Path(top).as_posix())
            continue
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = [d for d in dirnames if d != "__pycache__" and not d.startswith(".")]
            for name in filenames:
                if name.startswith(".") or name in _DOCUMENTATION:
                    continue
                rel = (Path(dirpath) / name).relative_to(root).as_posix()
                if rel not in excluded:
                    found.add(rel)
    return sorted(found)


def hash_files(paths: Iterable[str], root: str | Path = ".") -> dict[str, str]:
    return {p: sha256_file(Path(root) / p) for p in paths}


def _parse_utc(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def run_span(paths: Iterable[str], root: str | Path = ".") -> tuple[datetime | None, datetime | None]:
    """(earliest start, latest end) of the artifacts ``paths``.

    An artifact with a sidecar started at ``created_utc − wall_time_s`` and ended at
    ``created_utc``; any other file counts with its modification time.
    """
    starts, ends = [], []
    root = Path(root)
    for p in paths:
        if p.endswith(".json") and (root / p[: -len(".json")]).is_file():
            continue  # a sidecar: its artifact speaks for it
        full = root / p
        end = start = None
        try:
            record = read_sidecar(full)
            end = _parse_utc(record.get("created_utc"))
            wall = record.get("wall_time_s")
            if end is not None:
                ok = isinstance(wall, (int, float)) and math.isfinite(wall)
                start = datetime.fromtimestamp(end.timestamp() - (wall if ok else 0.0), UTC)
        except (FileNotFoundError, json.JSONDecodeError, OSError, AttributeError):
            pass
        if end is None:
            end = start = datetime.fromtimestamp(full.stat().st_mtime, UTC)
        starts.append(start)
        ends.append(end)
    return (min(starts) if starts else None), (max(ends) if ends else None)


def _iso(stamp: datetime | None) -> str | None:
    return stamp.astimezone(UTC).isoformat(timespec="seconds") if stamp else None


def _relative_to(path: str | Path, root: Path) -> str:
    """``path`` (absolute, or relative to the current directory) relative to ``root`` if inside it."""
    full = Path(path).absolute()
    try:
        return full.relative_to(root.absolute()).as_posix()
    except ValueError:
        return str(full)


def build_manifest(out: str | Path, config_files: Sequence[str | Path], roots: Sequence[str | Path],
                   diagnostic_dirs: Sequence[str] = (), root: str | Path = ".",
                   effective_config: Mapping[str, Any] | None = None,
                   started: datetime | None = None, finished: datetime | None = None) -> dict[str, Any]:
    """The manifest record of the files under ``roots`` (see the module docstring).

    Paths are relative to ``root``; files under ``diagnostic_dirs`` are listed as diagnostics;
    ``out`` (the manifest itself) is left out.
    """
    root = Path(root)
    out_rel = _relative_to(out, root)
    files = list_files(roots, root, exclude=(out_rel,))
    outputs = [f for f in files if not _is_under(f, diagnostic_dirs)]
    diagnostics = [f for f in files if _is_under(f, diagnostic_dirs)]
    hashes = hash_files(outputs, root)
    first, last = run_span(outputs, root)
    now = datetime.now(UTC)
    config = config_record([_relative_to(c, root) for c in config_files], effective_config, root)
    return {
        "schema": SCHEMA,
        "config": config,
        "git": git_state(root),
        "packages": package_versions(),
        "all_packages": all_packages(),
        "platform": platform_record(),
        "started_utc": _iso(started or first),
        "finished_utc": _iso(finished or last),
        "written_utc": _iso(now),
        "roots": [Path(r).as_posix() for r in roots],
        "n_outputs": len(hashes),
        "total_bytes": sum((root / p).stat().st_size for p in outputs),
        "outputs": hashes,
        "diagnostics": hash_files(diagnostics, root),
    }


def write_manifest(out: str | Path, config_files: Sequence[str | Path], roots: Sequence[str | Path],
                   diagnostic_dirs: Sequence[str] = (), root: str | Path = ".",
                   effective_config: Mapping[str, Any] | None = None,
                   log: str | Path | None = None) -> dict[str, Any]:
    """Build the manifest (:func:`build_manifest`) and write it atomically to ``out``; returns the record.

    ``log``: a file to write a one-line summary to (the workflow rule's log).
    """
    from .formats import atomic_write_bytes

    record = build_manifest(out, config_files, roots, diagnostic_dirs, root, effective_config)
    atomic_write_bytes(out, to_json(record).encode())
    if log is not None:
        Path(log).parent.mkdir(parents=True, exist_ok=True)
        Path(log).write_text(f"wrote {out}: {record['n_outputs']} outputs, config "
                             f"{record['config']['sha256']}, commit {record['git']['commit']}\n")
    return record


def verify_manifest(path: str | Path, root: str | Path = ".") -> int:
    """Re-hash every output the manifest lists; raise :class:`ManifestError` at the first mismatch.

    Returns the number of files verified. ``root`` is the directory paths are relative to.
    """
    path = Path(path)
    try:
        with open(path) as fh:
            record = json.load(fh)
    except FileNotFoundError:
        raise ManifestError(f"{path}: file not found") from None
    except json.JSONDecodeError as exc:
        raise ManifestError(f"{path}: not a JSON manifest ({exc})") from None
    if record.get("schema") != SCHEMA or not isinstance(record.get("outputs"), dict):
        raise ManifestError(f"{path}: not a run manifest (schema {record.get('schema')!r})")
    for rel, expected in sorted(record["outputs"].items()):
        full = Path(root) / rel
        if not full.is_file():
            raise ManifestError(f"{rel}: listed in {path} but missing")
        actual = sha256_file(full)
        if actual != expected:
            raise ManifestError(f"{rel}: sha256 {actual[:12]}… differs from {expected[:12]}… in {path}")
    return len(record["outputs"])

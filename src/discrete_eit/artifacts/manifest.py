"""Run manifest results/provenance.json, and the DVC metrics / plot files of a run.

The manifest is written at the end of a run (Snakemake rule ``provenance_manifest``, or
``python -m discrete_eit.manifest``) and records, for the run that produced the current outputs:

* ``config``: the config files Snakemake read (path + sha256 of the bytes, in merge order), the
  effective configuration (files merged the way Snakemake merges them: mappings key by key, lists
  replaced) and its canonical sha256 (sorted-key JSON, so comments and layout do not count);
* ``git``: commit, branch, and whether tracked files differed from the commit (``dirty``);
* ``packages`` (the pinned stack) and ``all_packages`` (every installed distribution);
* ``platform``: Python, OS, machine, CPU count;
* ``started_utc`` / ``finished_utc``: the earliest start (sidecar ``created_utc`` minus
  ``wall_time_s``) and the latest end among the outputs — for an incremental run this spans the
  outputs' whole history, not just the last invocation — and ``written_utc``;
* ``outputs``: ``{path: sha256}`` of every file under ``data/`` and ``results/`` (except the
  manifest, and except logs/benchmarks, which are listed under ``diagnostics`` because DVC does
  not version them).

``python -m discrete_eit.manifest verify`` re-hashes every listed output and exits 1 naming the
first file that is missing or differs (e.g. after ``dvc pull`` in a fresh clone).

The same module writes ``results/metrics.json`` (headline errors for ``dvc metrics``) and the
long-format CSVs behind ``dvc plots`` (error vs δ, loss curves), from the error table and the
reconstructions; see :func:`headline_metrics`, :func:`error_vs_delta` and :func:`loss_curves`.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import json
import math
import os
import platform
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .sidecar import environment, package_versions, read_sidecar, sha256_file, to_json

SCHEMA = "discrete-eit/run-manifest/1"
MANIFEST_PATH = "results/provenance.json"
_DOCUMENTATION = {"README.md"}
DEFAULT_CONFIG = "config/config.yaml"
DEFAULT_ROOTS = ("data", "results")
DIAGNOSTIC_DIRS = ("results/logs", "results/benchmarks")
"""Per-job logs and Snakemake benchmark TSVs: hashed under ``diagnostics``, not ``outputs``
(they change on every run and DVC does not version them)."""
METRIC = "rel_l2"
"""The headline error of :func:`headline_metrics` (relative ℓ² error of γ̂, MATH.md §8)."""


class ManifestError(Exception):
    """A manifest that cannot be written or does not verify; the message names the file."""


# ---- configuration ---------------------------------------------------------------------------
def merge_config(base: dict[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``overlay`` into a copy of ``base`` as Snakemake merges config files.

    Mappings merge key by key (recursively), everything else (lists, scalars) is replaced.
    """
    out = dict(base)
    for key, value in overlay.items():
        if isinstance(value, Mapping):
            prev = out.get(key)
            out[key] = merge_config(prev if isinstance(prev, dict) else {}, value)
        else:
            out[key] = value
    return out


def canonical_sha256(obj: Any) -> str:
    """sha256 of ``obj`` as sorted-key, compact JSON (independent of YAML layout and comments)."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def config_record(config_files: Sequence[str | Path],
                  effective_config: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The ``config`` entry: files in merge order, the effective config and its canonical hash.

    ``merged_sha256`` hashes the files merged with :func:`merge_config`; ``effective`` (hashed as
    ``sha256``) is ``effective_config`` if given — the dict Snakemake actually used, with the
    schema defaults and any ``--config`` overrides — else the merged files.
    """
    import yaml

    files, merged = [], {}
    for path in dict.fromkeys(str(p) for p in config_files):  # keep order, drop repeats
        p = Path(path)
        if not p.is_file():
            raise ManifestError(f"{path}: config file not found")
        with open(p) as fh:
            data = yaml.safe_load(fh) or {}
        if not isinstance(data, dict):
            raise ManifestError(f"{path}: config file is not a YAML mapping")
        merged = merge_config(merged, data)
        files.append({"path": path, "sha256": sha256_file(p)})
    effective = dict(effective_config) if effective_config is not None else merged
    effective = json.loads(json.dumps(effective, default=str))  # plain JSON types only
    return {"files": files, "merged_sha256": canonical_sha256(merged), "effective": effective,
            "sha256": canonical_sha256(effective)}


# ---- git, packages, platform -----------------------------------------------------------------
def _git(args: list[str], cwd: str | Path) -> str | None:
    try:
        res = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return res.stdout.strip() if res.returncode == 0 else None


def git_record(root: str | Path = ".") -> dict[str, Any]:
    """Commit and branch of the checkout at ``root``; ``dirty``: a tracked file differs from it.

    Untracked files (outputs being written, DVC's ``.gitignore`` entries) do not count.
    """
    commit = _git(["rev-parse", "HEAD"], root)
    if commit is None:
        return {"commit": None, "branch": None, "dirty": None}
    status = _git(["status", "--porcelain", "--untracked-files=no"], root)
    return {"commit": commit, "branch": _git(["rev-parse", "--abbrev-ref", "HEAD"], root),
            "dirty": bool(status) if status is not None else None}


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


def list_files(roots: Sequence[str | Path] = DEFAULT_ROOTS, root: str | Path = ".",
               exclude: Iterable[str] = (MANIFEST_PATH,)) -> list[str]:
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


def build_manifest(config_files: Sequence[str | Path] = (DEFAULT_CONFIG,),
                   roots: Sequence[str | Path] = DEFAULT_ROOTS, root: str | Path = ".",
                   out: str | Path = MANIFEST_PATH,
                   effective_config: Mapping[str, Any] | None = None,
                   started: datetime | None = None, finished: datetime | None = None) -> dict[str, Any]:
    """The manifest record (see the module docstring). Paths are relative to ``root``."""
    root = Path(root)
    out_rel = _relative_to(out, root)
    files = list_files(roots, root, exclude=(out_rel,))
    outputs = [f for f in files if not _is_under(f, DIAGNOSTIC_DIRS)]
    diagnostics = [f for f in files if _is_under(f, DIAGNOSTIC_DIRS)]
    hashes = hash_files(outputs, root)
    first, last = run_span(outputs, root)
    now = datetime.now(UTC)
    config_files = [_relative_to(c, root) for c in config_files]
    cwd = os.getcwd()
    try:
        os.chdir(root)
        config = config_record(config_files, effective_config)
    finally:
        os.chdir(cwd)
    return {
        "schema": SCHEMA,
        "config": config,
        "git": git_record(root),
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


def write_manifest(out: str | Path = MANIFEST_PATH, config_files: Sequence[str | Path] = (DEFAULT_CONFIG,),
                   roots: Sequence[str | Path] = DEFAULT_ROOTS, root: str | Path = ".",
                   effective_config: Mapping[str, Any] | None = None,
                   started: datetime | None = None, finished: datetime | None = None,
                   log: str | Path | None = None) -> dict[str, Any]:
    """Build the manifest and write it atomically to ``out``; returns the record.

    ``log``: a file to write a one-line summary to (the Snakemake rule's log).
    """
    from .formats import atomic_write_bytes

    record = build_manifest(config_files, roots, root, out, effective_config, started, finished)
    atomic_write_bytes(out, to_json(record).encode())
    if log is not None:
        Path(log).parent.mkdir(parents=True, exist_ok=True)
        Path(log).write_text(f"wrote {out}: {record['n_outputs']} outputs, config "
                             f"{record['config']['sha256']}, commit {record['git']['commit']}\n")
    return record


def verify_manifest(path: str | Path = MANIFEST_PATH, root: str | Path = ".") -> int:
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


# ---- DVC metrics and plot data ---------------------------------------------------------------
def _delta_key(delta: float) -> str:
    return "exact" if float(delta) == 0 else f"delta_{float(delta):g}".replace(".", "p")


def _finite_or_none(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def headline_metrics(errors, metric: str = METRIC) -> dict[str, Any]:
    """Headline errors for ``dvc metrics`` from the error table (a DataFrame or CSV path).

    ``{metric: {study: {run: {cell: median over seeds}}}}`` where ``cell`` names only what varies
    within the study (e.g. ``n4`` in the size study, ``delta_0p001`` in the noise study,
    ``last3n_delta_1e-05`` in the partial study); medians skip invalid and not-applicable rows
    (``null`` when none is left). Plus ``cells``: row counts per status.
    """
    import pandas as pd

    df = errors if isinstance(errors, pd.DataFrame) else pd.read_csv(errors)
    out: dict[str, Any] = {metric: {}, "cells": {"total": int(len(df))}}
    if "status" in df:
        out["cells"].update({str(k): int(v) for k, v in df["status"].value_counts().sort_index().items()})
    if df.empty:
        return out
    study_col = df["study"] if "study" in df else pd.Series("all", index=df.index)
    df = df.assign(study=study_col.fillna("all").replace("", "all"))
    dims = [c for c in ("profile", "n", "set", "delta") if c in df]
    ok = df[df["status"] == "ok"] if "status" in df else df
    for study, sdf in df.groupby("study", sort=True):
        varying = [c for c in dims if sdf[c].nunique() > 1]
        for run, rdf in sdf.groupby("run", sort=True):
            cells: dict[str, Any] = {}
            for key, _ in rdf.groupby(varying or ["run"], sort=True):
                key = key if isinstance(key, tuple) else (key,)
                parts = []
                for col, val in zip(varying, key, strict=False):
                    if col == "delta":
                        parts.append(_delta_key(val))
                    elif col == "n":
                        parts.append(f"n{int(val)}")
                    else:
                        parts.append(str(val))
                sel = ok[(ok["study"] == study) & (ok["run"] == run)]
                for col, val in zip(varying, key, strict=False):
                    sel = sel[sel[col] == val]
                vals = pd.to_numeric(sel[metric], errors="coerce").dropna()
                cells["_".join(parts) or "all"] = _finite_or_none(vals.median()) if len(vals) else None
            out[metric].setdefault(str(study), {})[str(run)] = cells
    return out


def error_vs_delta(errors, metric: str = METRIC, study: str = "noise"):
    """Long table for the error-vs-δ plot: median ``metric`` over seeds per (series, δ > 0).

    Rows of ``study`` (all rows if the table has no such study) with a valid γ̂; ``series`` is
    the run, plus n / set / profile when they vary. Columns: series, run, profile, n, set, delta,
    ``metric``, seeds.
    """
    import pandas as pd

    df = errors if isinstance(errors, pd.DataFrame) else pd.read_csv(errors)
    cols = ["series", "run", "profile", "n", "set", "delta", metric, "seeds"]
    if df.empty:
        return pd.DataFrame(columns=cols)
    if "study" in df and (df["study"] == study).any():
        df = df[df["study"] == study]
    if "status" in df:
        df = df[df["status"] == "ok"]
    df = df[pd.to_numeric(df["delta"], errors="coerce") > 0]
    keys = ["run", "profile", "n", "set", "delta"]
    g = df.groupby(keys, sort=True)[metric]
    table = g.median().rename(metric).to_frame().join(g.size().rename("seeds")).reset_index()
    extra = [c for c in ("n", "set", "profile") if table[c].nunique() > 1]

    def label(row) -> str:
        return " ".join([str(row["run"])] + [f"{c}={row[c]}" for c in extra])

    table["series"] = table.apply(label, axis=1) if len(table) else []
    return table[cols].reset_index(drop=True)


def _history(recon: str | Path) -> tuple[Any, Any]:
    """(iteration, loss) of a reconstruction's training history (empty arrays if it has none)."""
    import numpy as np

    from .formats import load_npz

    arrays = load_npz(recon, ())
    if "history_loss" in arrays:
        loss = np.asarray(arrays["history_loss"], dtype=float).ravel()
        it = arrays.get("history_iteration", np.arange(loss.size))
        return np.asarray(it, dtype=float).ravel(), loss
    if "history" not in arrays:
        return np.empty(0), np.empty(0)
    hist = np.atleast_2d(np.asarray(arrays["history"], dtype=float))
    try:
        names = list((read_sidecar(recon).get("info") or {}).get("history_columns") or [])
    except (FileNotFoundError, json.JSONDecodeError):
        names = []
    names = names or ["iteration", "loss"]
    col = {name: hist[:, i] for i, name in enumerate(names[: hist.shape[1]])}
    loss = col.get("loss", hist[:, 1] if hist.shape[1] > 1 else hist[:, 0])
    return col.get("iteration", np.arange(loss.size, dtype=float)), loss


def _thin(n: int, max_points: int):
    """Indices of at most ``max_points`` of ``n`` samples, log-spaced (keeps the early descent)."""
    import numpy as np

    if n <= max_points:
        return np.arange(n)
    idx = np.unique(np.round(np.geomspace(1, n, max_points)).astype(int) - 1)
    return np.union1d(idx, [0, n - 1])


def loss_curves(curves: Iterable[Mapping[str, Any]], max_points: int = 200):
    """Long table of training-loss curves for ``dvc plots``: columns curve, iteration, loss.

    ``curves``: ``{"label": ..., "recon": path}`` per curve; a reconstruction without a
    history (e.g. Curtis–Morrow) contributes no rows. Each curve is thinned to ``max_points``.
    """
    import numpy as np
    import pandas as pd

    frames = []
    for c in curves:
        it, loss = _history(c["recon"])
        keep = _thin(len(loss), max_points)
        it, loss = np.asarray(it)[keep], np.asarray(loss)[keep]
        good = np.isfinite(loss)
        frames.append(pd.DataFrame({"curve": str(c["label"]), "iteration": it[good], "loss": loss[good]}))
    if not frames:
        return pd.DataFrame(columns=["curve", "iteration", "loss"])
    return pd.concat(frames, ignore_index=True)


def write_dvc_metrics(errors_csv: str | Path, out: str | Path) -> dict[str, Any]:
    """``results/metrics.json`` (+ sidecar listing the error table as input)."""
    from .formats import write_bytes_artifact

    metrics = headline_metrics(errors_csv)
    write_bytes_artifact(out, to_json(metrics).encode(), "metrics", {"metric": METRIC}, [errors_csv])
    return metrics


def write_plot_csv(df, out: str | Path, kind: str, params: Mapping[str, Any],
                   inputs: Sequence[str | Path]) -> None:
    """A plot's data as CSV (full precision) with a provenance sidecar."""
    from .formats import write_bytes_artifact

    write_bytes_artifact(out, df.to_csv(index=False, float_format="%.17g").encode(), kind, dict(params),
                         list(inputs))


def write_dvc_outputs(errors_csv: str | Path, curves: Sequence[Mapping[str, Any]], metrics_out: str | Path,
                      error_vs_delta_out: str | Path, loss_out: str | Path,
                      log: str | Path | None = None) -> dict[str, Any]:
    """The DVC metrics file and both plot CSVs (each with a sidecar); returns the metrics.

    ``log``: a file to write a one-line summary to (the Snakemake rule's log).
    """
    metrics = write_dvc_metrics(errors_csv, metrics_out)
    write_plot_csv(error_vs_delta(errors_csv), error_vs_delta_out, "plot_data",
                   {"metric": METRIC, "study": "noise"}, [errors_csv])
    write_plot_csv(loss_curves(curves), loss_out, "plot_data", {"curves": [c["label"] for c in curves]},
                   [c["recon"] for c in curves])
    if log is not None:
        Path(log).parent.mkdir(parents=True, exist_ok=True)
        Path(log).write_text(f"wrote {metrics_out} ({metrics['cells']}), {error_vs_delta_out}, {loss_out} "
                             f"({len(curves)} curves)\n")
    return metrics


# ---- command line ----------------------------------------------------------------------------
def _add_actions(sub) -> None:
    w = sub.add_parser("write", help="write the run manifest (default)")
    w.add_argument("--config", action="append", type=Path, metavar="FILE",
                   help=f"config file(s) in Snakemake's merge order (default: {DEFAULT_CONFIG}); repeat "
                        "for an overlay, e.g. --config config/config.yaml --config config/quick.yaml")
    w.add_argument("--root", action="append", metavar="DIR",
                   help=f"output directories to hash (default: {' '.join(DEFAULT_ROOTS)})")
    w.add_argument("--out", type=Path, default=Path(MANIFEST_PATH), help=f"default: {MANIFEST_PATH}")
    v = sub.add_parser("verify", help="re-hash every output a manifest lists; exit 1 at the first mismatch")
    v.add_argument("manifest", type=Path, nargs="?", default=Path(MANIFEST_PATH),
                   help=f"default: {MANIFEST_PATH}")
    m = sub.add_parser("metrics", help="headline errors (JSON for dvc metrics) from the error table")
    m.add_argument("--errors", type=Path, default=Path("results/tables/errors.csv"))
    m.add_argument("--out", type=Path, default=Path("results/metrics.json"))


def add_cli_parser(subparsers) -> None:
    """Register ``discrete-eit manifest write|verify|metrics`` on the CLI's sub-parsers."""
    p = subparsers.add_parser("manifest", help="write or verify the run manifest results/provenance.json",
                              description=__doc__.split("\n")[0])
    _add_actions(p.add_subparsers(dest="manifest_command", required=True))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m discrete_eit.manifest", description=__doc__.split("\n")[0])
    _add_actions(p.add_subparsers(dest="manifest_command"))
    return p


def run_cli(args: argparse.Namespace) -> int:
    """Run a parsed ``manifest`` command; 0 on success, 1 (one line on stderr) on failure."""
    try:
        if args.manifest_command == "write":
            record = write_manifest(args.out, args.config or [DEFAULT_CONFIG], args.root or DEFAULT_ROOTS)
            commit = (record["git"]["commit"] or "none")[:10]
            print(f"wrote {args.out}: {record['n_outputs']} outputs, config "
                  f"{record['config']['sha256'][:12]}, commit {commit}")
        elif args.manifest_command == "verify":
            count = verify_manifest(args.manifest)
            print(f"manifest verified: {count} output(s) match {args.manifest}")
        elif args.manifest_command == "metrics":
            write_dvc_metrics(args.errors, args.out)
            print(f"wrote {args.out}")
    except (ManifestError, OSError, ValueError) as exc:
        print(f"discrete-eit manifest: error: {exc}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m discrete_eit.manifest [write|verify|metrics] ...`` (``write`` by default)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0].startswith("-") and argv[0] not in ("-h", "--help"):
        argv = ["write", *argv]
    return run_cli(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())

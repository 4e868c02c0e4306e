"""Audit an artifact's lineage: walk its provenance sidecars and verify every hash on the way.

``discrete-eit audit PATH`` prints a tree such as::

    results/tables/errors.csv  [table]  sha256 ok
    ├─ results/recon/cm/....npz  [reconstruction]  sha256 ok  method=cm …
    │  └─ data/....npz  [dataset]  sha256 ok  n=6 delta=0.001 seed=3 …

and exits 1 at the first file whose bytes differ from what its sidecar (or its consumer's
sidecar) recorded, naming that file. Relative input paths are resolved against ``root``
(default: the current directory, where the workflow runs).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from .provenance import read_sidecar, sha256_file, sidecar_path


class AuditError(Exception):
    """A hash mismatch or a missing file/sidecar; the message names the file."""


def _summary(record: dict[str, Any]) -> str:
    params = record.get("params") or {}
    flat = {k: v for k, v in params.items() if not isinstance(v, (dict, list))}
    if isinstance(params.get("options"), dict):
        flat.update({k: v for k, v in params["options"].items() if not isinstance(v, (dict, list))})
    text = " ".join(f"{k}={v}" for k, v in list(flat.items())[:10])
    code = record.get("code_version") or {}
    commit = code.get("git_commit")
    # a dirty tree means the commit alone does not reproduce the file: say so on the lineage line
    return text + (f"  code={commit[:10]}{'+dirty' if code.get('git_dirty') else ''}" if commit else "")


def audit_tree(path: str | Path, root: str | Path = ".", expected_sha256: str | None = None,
               depth: int = 0, seen: set | None = None, out=None) -> int:
    """Verify ``path`` and, recursively, its inputs; return the number of files checked."""
    out = out or sys.stdout
    seen = set() if seen is None else seen
    path = Path(path)
    full = path if path.is_absolute() else Path(root) / path
    indent = "   " * depth + ("└─ " if depth else "")
    if not full.is_file():
        raise AuditError(f"{path}: file not found")
    actual = sha256_file(full)
    if expected_sha256 is not None and actual != expected_sha256:
        raise AuditError(f"{path}: sha256 {actual[:12]}… differs from {expected_sha256[:12]}… recorded "
                         "by the artifact that used it (changed after it was consumed)")
    try:
        record = read_sidecar(full)
    except FileNotFoundError:
        if expected_sha256 is not None:  # a plain input (config, user file): its hash is enough
            print(f"{indent}{path}  [input]  sha256 ok", file=out)
            return 1
        raise AuditError(f"{path}: no provenance sidecar {sidecar_path(path).name}") from None
    except json.JSONDecodeError as exc:
        raise AuditError(f"{sidecar_path(path)}: unreadable sidecar ({exc})") from None
    if record.get("sha256") != actual:
        raise AuditError(f"{path}: sha256 {actual[:12]}… does not match its sidecar "
                         f"({str(record.get('sha256'))[:12]}…): the file was modified")
    key = (str(full.resolve()), actual)
    if key in seen:
        print(f"{indent}{path}  [{record.get('kind', '?')}]  sha256 ok (see above)", file=out)
        return 0
    seen.add(key)
    print(f"{indent}{path}  [{record.get('kind', '?')}]  sha256 ok  {_summary(record)}", file=out)
    count = 1
    for child, sha in sorted((record.get("inputs") or {}).items()):
        count += audit_tree(child, root, sha, depth + 1, seen, out)
    return count


def audit(path: str | Path, root: str | Path = ".") -> int:
    """CLI entry: print the lineage of ``path``; 0 if every hash verifies, 1 at the first mismatch."""
    try:
        count = audit_tree(path, root)
    except AuditError as exc:
        print(f"AUDIT FAILED: {exc}", file=sys.stderr)
        return 1
    print(f"audit passed: {count} file(s) verified")
    return 0

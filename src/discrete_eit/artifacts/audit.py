"""Audit an artifact's lineage: walk its provenance sidecars and verify every hash on the way.

``discrete-eit audit PATH`` prints a tree such as::

    results/tables/errors.csv  [table]  sha256 ok
    ├─ results/recon/cm/....npz  [reconstruction]  sha256 ok  method=cm …
    │  └─ data/....npz  [dataset]  sha256 ok  n=6 delta=0.001 seed=3 …

and exits 1 at the first file whose bytes differ from what its sidecar (or its consumer's
sidecar) recorded, naming that file, and at the first dataset whose sidecar's ``params``
disagree with the typed fields of the file (n, δ, seeds, …: the file is what computations
read, so a sidecar that says otherwise is forged or stale), naming the field. An artifact whose
recorded code fingerprint (:mod:`.fingerprint`) differs from the current tree's is *stale*: its
line says so, and when every hash verifies the audit exits 3 (:data:`EXIT_STALE`), listing the
stale files. Relative input paths are resolved against ``root`` (default: the current directory,
where the workflow runs).

``discrete-eit audit TABLE.csv --row KEY=VALUE ...`` audits single rows of a table whose rows
name their source artifact in a ``source`` column (the error table: each row's reconstruction):
the table is verified, then only the lineage of the selected rows (row ← reconstruction ←
dataset).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from .fingerprint import recompute
from .sidecar import read_sidecar, sha256_file, sidecar_path

EXIT_FAILED = 1
"""Exit code of an audit that found a modified, missing or unrecorded file."""
EXIT_STALE = 3
"""Exit code of an audit whose hashes all verify but some artifact was made by other code."""


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


def _verify_file(path: Path, full: Path, expected_sha256: str | None) -> tuple[str, dict | None]:
    """sha256 of ``full`` checked against its consumer's record and its own sidecar.

    Returns ``(sha256, sidecar record)``; the record is ``None`` for a plain input without a
    sidecar whose hash the consumer recorded.
    """
    if not full.is_file():
        raise AuditError(f"{path}: file not found")
    actual = sha256_file(full)
    if expected_sha256 is not None and actual != expected_sha256:
        raise AuditError(f"{path}: sha256 {actual[:12]}… differs from {expected_sha256[:12]}… recorded "
                         "by the artifact that used it (changed after it was consumed)")
    try:
        record = read_sidecar(full)
    except FileNotFoundError:
        if expected_sha256 is not None:
            return actual, None
        raise AuditError(f"{path}: no provenance sidecar {sidecar_path(path).name}") from None
    except json.JSONDecodeError as exc:
        raise AuditError(f"{sidecar_path(path)}: unreadable sidecar ({exc})") from None
    if record.get("sha256") != actual:
        raise AuditError(f"{path}: sha256 {actual[:12]}… does not match its sidecar "
                         f"({str(record.get('sha256'))[:12]}…): the file was modified")
    if record.get("kind") == "dataset":
        _check_dataset_params(path, full, record.get("params") or {})
    return actual, record


def _staleness(record: dict[str, Any], root: str | Path) -> str:
    """``""`` when the artifact's code fingerprint matches the tree under ``root``, else why not."""
    code = record.get("code")
    if not code:
        return ""  # made before fingerprints were recorded, or not by package code (the manifest)
    current = recompute(code, root)
    if current is None:
        return "the code that made it no longer exists"
    if current != code.get("sha256"):
        return f"code changed since it was made (fingerprint {code['sha256'][:12]}… → {current[:12]}…)"
    return ""


def _same(a: Any, b: Any) -> bool:
    """Sidecar value ``a`` (from JSON) equals file value ``b``: numbers numerically, else exactly."""
    def number(x):
        return isinstance(x, (int, float)) and not isinstance(x, bool)
    if number(a) and number(b):
        return float(a) == float(b)
    return type(a) is type(b) and a == b


def _check_dataset_params(path: Path, full: Path, params: dict[str, Any]) -> None:
    """Every dataset field a sidecar's ``params`` name agrees with the field stored in the file.

    Fields the sidecar does not mention are not checked (the file alone defines them).
    """
    from discrete_eit.problem.datasets import METADATA_FIELDS, DataError

    from .formats import load_dataset

    try:
        dataset = load_dataset(full)
    except DataError as exc:
        raise AuditError(f"{path}: not a valid dataset ({exc})") from None
    for name in ("n", *METADATA_FIELDS):
        if name in params and not _same(params[name], getattr(dataset, name)):
            raise AuditError(f"{sidecar_path(path)}: params.{name} = {params[name]!r} disagrees with "
                             f"the dataset file's {name} = {getattr(dataset, name)!r}")


def audit_tree(path: str | Path, root: str | Path = ".", expected_sha256: str | None = None,
               depth: int = 0, seen: set | None = None, out=None, stale: list | None = None) -> int:
    """Verify ``path`` and, recursively, its inputs; return the number of files checked.

    Stale artifacts (see :func:`_staleness`) are appended to ``stale`` as ``(path, reason)``.
    """
    out = out or sys.stdout
    stale = [] if stale is None else stale
    seen = set() if seen is None else seen
    path = Path(path)
    full = path if path.is_absolute() else Path(root) / path
    indent = "   " * depth + ("└─ " if depth else "")
    actual, record = _verify_file(path, full, expected_sha256)
    if record is None:  # a plain input (config, user file): its hash is enough
        print(f"{indent}{path}  [input]  sha256 ok", file=out)
        return 1
    key = (str(full.resolve()), actual)
    if key in seen:
        print(f"{indent}{path}  [{record.get('kind', '?')}]  sha256 ok (see above)", file=out)
        return 0
    seen.add(key)
    why = _staleness(record, root)
    if why:
        stale.append((path, why))
    print(f"{indent}{path}  [{record.get('kind', '?')}]  sha256 ok  {_summary(record)}"
          + (f"  STALE: {why}" if why else ""), file=out)
    count = 1
    for child, sha in sorted((record.get("inputs") or {}).items()):
        count += audit_tree(child, root, sha, depth + 1, seen, out, stale)
    return count


def _matches(value: str, wanted: str) -> bool:
    """Cell equality: numerically when both parse as numbers (``0.001`` = ``1e-3``), else as text."""
    try:
        return float(value) == float(wanted)
    except ValueError:
        return value == wanted


def audit_rows(path: str | Path, selectors: list[str], root: str | Path = ".", out=None,
               shown: tuple[str, ...] = (), stale: list | None = None) -> int:
    """Verify the table ``path`` and the lineage of the rows matching every ``KEY=VALUE``.

    ``shown``: the columns printed for each selected row (default: all but ``source``).
    """
    import csv

    out = out or sys.stdout
    path = Path(path)
    full = path if path.is_absolute() else Path(root) / path
    _, record = _verify_file(path, full, None)
    stale = [] if stale is None else stale
    why = _staleness(record, root)
    if why:
        stale.append((path, why))
    with open(full, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    columns = list(rows[0]) if rows else []
    if "source" not in columns:
        raise AuditError(f"{path}: the table has no 'source' column linking rows to artifacts; "
                         "audit the whole file instead")
    for sel in selectors:
        key, sep, wanted = sel.partition("=")
        if not sep or key not in columns:
            raise AuditError(f"{path}: bad row selector {sel!r} (KEY=VALUE, KEY one of {', '.join(columns)})")
        rows = [r for r in rows if _matches(r[key], wanted)]
    if not rows:
        raise AuditError(f"{path}: no row matches {' '.join(selectors)}")
    print(f"{path}  [{record.get('kind', '?')}]  sha256 ok  {len(rows)} row(s) selected  "
          f"{_summary(record).strip()}", file=out)
    inputs, seen, count = record.get("inputs") or {}, set(), 1
    for row in rows:
        cells = {k: v for k, v in row.items() if (k in shown if shown else k != "source")}
        print(f"   row  {' '.join(f'{k}={v}' for k, v in cells.items())}", file=out)
        source = row["source"]
        if not source:
            print("      └─ (no source: the method does not apply to this cell)", file=out)
            continue
        if source not in inputs:
            raise AuditError(f"{path}: row source {source} is not among the inputs its sidecar records")
        count += audit_tree(source, root, inputs[source], depth=2, seen=seen, out=out, stale=stale)
    return count


def audit(path: str | Path, root: str | Path = ".", rows: list[str] | None = None,
          shown: tuple[str, ...] = ()) -> int:
    """CLI entry: print the lineage of ``path``.

    Returns 0 if every hash verifies and nothing is stale, :data:`EXIT_FAILED` at the first hash
    mismatch or missing file, :data:`EXIT_STALE` if some artifact's code changed since it was made.
    """
    stale: list = []
    try:
        count = (audit_rows(path, rows, root, shown=shown, stale=stale) if rows
                 else audit_tree(path, root, stale=stale))
    except AuditError as exc:
        print(f"AUDIT FAILED: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if stale:
        for file, why in stale:
            print(f"AUDIT STALE: {file}: {why}", file=sys.stderr)
        print(f"audit: {count} file(s) verified, {len(stale)} stale (rerun the workflow to rebuild them)")
        return EXIT_STALE
    print(f"audit passed: {count} file(s) verified")
    return 0

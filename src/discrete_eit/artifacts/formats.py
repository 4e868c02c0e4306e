"""File formats: datasets and results as ``.npz`` with JSON sidecars, written atomically.

Dataset ``.npz`` (loaded with ``allow_pickle=False``):
    ``dtn`` (4n×4n float64, NaN where unmeasured), ``mask`` (4n×4n bool), ``n`` (int),
    ``gamma_true`` (2n(n+1) float64, optional).
Result ``.npz``: ``gamma`` plus method-specific arrays.
Measured DtN matrices (:func:`load_dtn_matrix`, ``--dtn``): ``.npy``, ``.csv`` or ``.mat``, in our
boundary order or a registered foreign one (README "Data formats").

Writes go to a temporary name in the target directory and are renamed into place, so an
interrupted run never leaves a half file under the final name. The ``.npz`` container is
written deterministically (fixed zip timestamps) so equal arrays give byte-identical files.
The sidecar is renamed into place *before* its artifact, so a complete-looking artifact always
has its provenance.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from discrete_eit.problem.boundary_layouts import BOUNDARY_LAYOUTS, to_our_order
from discrete_eit.problem.datasets import METADATA_FIELDS, DataError, Dataset

from .sidecar import build_sidecar, read_sidecar, sha256_bytes, sha256_file, sidecar_path, to_json

_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_FILE_MODE = 0o644  # mkstemp creates 0600; artifacts are meant to be shared


def _write_temp(path: Path, data: bytes) -> Path:
    """Write ``data`` to a fresh temporary file next to ``path``; returns the temporary path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, _FILE_MODE)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def atomic_write_files(files: dict[str | Path, bytes]) -> None:
    """Write several files all-or-nothing: every temporary file first, then rename in order.

    If anything fails, the temporaries and any file already renamed by this call are removed,
    so no final name is left holding new content. Order the dict so that the file whose
    presence means "complete" (the artifact, after its sidecar) comes last.
    """
    temps: list[tuple[Path, Path]] = []
    done: list[Path] = []
    try:
        for path, data in files.items():
            temps.append((_write_temp(Path(path), data), Path(path)))
        for tmp, path in temps:
            if path.is_dir():
                raise IsADirectoryError(f"{path}: is a directory")
            os.replace(tmp, path)
            done.append(path)
    except BaseException:
        for tmp, _ in temps:
            tmp.unlink(missing_ok=True)
        for path in done:
            path.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same directory and ``os.replace``."""
    atomic_write_files({path: data})


def npz_bytes(arrays: dict[str, Any]) -> bytes:
    """Serialise ``arrays`` as an uncompressed ``.npz`` with fixed metadata (byte-reproducible)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        for name in sorted(arrays):
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_EPOCH)
            info.external_attr = 0o644 << 16
            arr = np.asarray(arrays[name])
            if arr.dtype == object:
                raise TypeError(f"array {name!r} has dtype object; refusing to pickle")
            with zf.open(info, "w", force_zip64=True) as fh:
                # not np.ascontiguousarray: it would turn 0-d scalars into 1-d arrays
                arr = arr if arr.flags.c_contiguous else arr.copy(order="C")
                np.lib.format.write_array(fh, arr, allow_pickle=False)
    return buf.getvalue()


def write_artifact(path: str | Path, arrays: dict[str, Any], kind: str, params: dict[str, Any],
                   inputs: list[str | Path] = (), wall_time_s: float | None = None,
                   extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write ``arrays`` to ``path`` (npz) and its provenance sidecar; returns the sidecar record."""
    return write_bytes_artifact(path, npz_bytes(arrays), kind, params, inputs, wall_time_s, extra)


def write_bytes_artifact(path: str | Path, data: bytes, kind: str, params: dict[str, Any],
                         inputs: list[str | Path] = (), wall_time_s: float | None = None,
                         extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write any file (table, figure, JSON) atomically with its provenance sidecar."""
    record = build_sidecar(kind, sha256_bytes(data), params,
                           {str(p): sha256_file(p) for p in inputs}, wall_time_s, extra)
    atomic_write_files({sidecar_path(path): to_json(record).encode(), path: data})
    return record




def load_npz(path: str | Path, required: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Load every array of an ``.npz`` with ``allow_pickle=False``.

    Raises :class:`DataError` naming the file if it is missing, truncated, not an npz, holds
    pickled objects, lacks a required array, or does not match the sha256 in its sidecar.
    """
    path = Path(path)
    _check_npz_file(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError) as exc:
        raise DataError(f"{path}: not a readable .npz file ({type(exc).__name__}: {exc})") from None
    missing = [k for k in required if k not in arrays]
    if missing:
        raise DataError(f"{path}: missing array(s) {', '.join(missing)}")
    verify_sidecar_hash(path)
    return arrays


_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGIC = b"PK"  # local file header or, for an empty archive, end of directory


def _check_npz_file(path: Path) -> None:
    """``DataError`` unless ``path`` is a file that starts like an ``.npz`` (zip) archive.

    Says what it is instead: missing, a directory, a ``.npy`` array, or not an archive at all
    (np.load would call a text file "pickled data").
    """
    if path.is_dir():
        raise DataError(f"{path}: is a directory, not an .npz file")
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    with open(path, "rb") as fh:
        head = fh.read(len(_NPY_MAGIC))
    if head.startswith(_NPY_MAGIC):
        raise DataError(f"{path}: is a .npy array, not an .npz archive (a measured DtN matrix goes "
                        "with --dtn)")
    if not head.startswith(_ZIP_MAGIC):
        raise DataError(f"{path}: not an .npz file (it does not start like a zip archive)")


def verify_sidecar_hash(path: str | Path) -> None:
    """If ``path`` has a sidecar, check the file's sha256 against it (tamper detection)."""
    path = Path(path)
    try:
        record = read_sidecar(path)
    except FileNotFoundError:
        return
    except (json.JSONDecodeError, OSError) as exc:
        raise DataError(f"{sidecar_path(path)}: unreadable provenance sidecar ({exc})") from None
    expected = record.get("sha256")
    actual = sha256_file(path)
    if expected != actual:
        raise DataError(f"{path}: sha256 {actual[:12]}… does not match its sidecar ({str(expected)[:12]}…); "
                        "the file was modified or truncated")


# A dataset's meaning (problem.datasets.METADATA_FIELDS) is stored as 0-d arrays of these dtype kinds.
_KIND = {str: "U", int: "i", float: "f", bool: "b"}
DATASET_FIELDS = {name: (_KIND[kind], kind) for name, kind in METADATA_FIELDS.items()}


def save_dataset(path: str | Path, dataset: Dataset, params: dict[str, Any],
                 inputs: list[str | Path] = (), wall_time_s: float | None = None) -> dict[str, Any]:
    """Write a dataset: its arrays and every known field of :data:`DATASET_FIELDS` go in the file."""
    arrays: dict[str, Any] = {"dtn": dataset.dtn, "mask": dataset.mask, "n": np.int64(dataset.n)}
    if dataset.gamma_true is not None:
        arrays["gamma_true"] = dataset.gamma_true
    for name, (_, kind) in DATASET_FIELDS.items():
        value = getattr(dataset, name)
        if value is not None:
            arrays[name] = np.array(kind(value))
    return write_artifact(path, arrays, "dataset", params, inputs, wall_time_s)


def _dataset_fields(path: str | Path, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    """The typed fields stored in a dataset file (absent ones: None)."""
    out: dict[str, Any] = {}
    for name, (kind, cast) in DATASET_FIELDS.items():
        if name not in arrays:
            continue
        value = arrays[name]
        if value.shape != () or value.dtype.kind != kind:
            raise DataError(f"{path}: '{name}' must be a {cast.__name__} scalar, got {value.dtype} "
                            f"{value.shape}")
        out[name] = cast(value.item())
    return out


def load_dataset(path: str | Path) -> Dataset:
    """Read and validate a dataset ``.npz`` (see module docstring); errors name the file."""
    arrays = load_npz(path, ("dtn", "mask", "n"))
    n = arrays["n"]
    if n.shape != () or not np.issubdtype(n.dtype, np.integer):
        raise DataError(f"{path}: 'n' must be an integer scalar, got {n.dtype} {n.shape}")
    return Dataset(n=int(n), dtn=arrays["dtn"], mask=arrays["mask"], gamma_true=arrays.get("gamma_true"),
                   source=str(path), **_dataset_fields(path, arrays))


def _load_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise DataError(f"{path}: not a readable .npy file ({exc})") from None


DTN_SUFFIXES = (".npy", ".csv", ".mat")
"""File types a measured DtN matrix is read from (:func:`load_dtn_matrix`)."""


def split_matrix_spec(spec: str | Path) -> tuple[Path, str | None]:
    """``FILE.mat:NAME`` -> ``(FILE.mat, NAME)``; any other spec -> ``(spec, None)``."""
    head, sep, name = str(spec).rpartition(":")
    if sep and name and head.lower().endswith(".mat") and "/" not in name:
        return Path(head), name
    return Path(spec), None


def _read_csv_matrix(path: Path) -> np.ndarray:
    """Comma-separated rows of numbers; an empty cell or ``NaN`` is an unmeasured entry."""
    import csv

    try:
        text = path.read_text(encoding="utf-8-sig")  # -sig: spreadsheets often write a BOM
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not a readable CSV text file ({exc})") from None
    rows = [row for row in csv.reader(io.StringIO(text)) if row]  # blank lines carry nothing
    if not rows:
        raise DataError(f"{path}: empty CSV file")
    width = len(rows[0])
    values = np.empty((len(rows), width))
    for i, row in enumerate(rows):
        if len(row) != width:
            raise DataError(f"{path}: row {i + 1} has {len(row)} cells, row 1 has {width}")
        for j, cell in enumerate(row):
            cell = cell.strip()
            if cell == "" or cell.lower() == "nan":
                values[i, j] = np.nan
                continue
            try:
                values[i, j] = float(cell)
            except ValueError:
                raise DataError(f"{path}: row {i + 1}, column {j + 1}: {cell!r} is not a number "
                                "(expected numbers only, no header)") from None
    return values


def _is_dtn_shaped(value: Any) -> bool:
    return (isinstance(value, np.ndarray) and value.dtype.kind in "iuf" and value.ndim == 2
            and value.shape[0] == value.shape[1] and value.shape[0] % 4 == 0 and value.shape[0] > 0)


def _read_mat_matrix(path: Path, name: str | None) -> np.ndarray:
    """Variable ``name`` of a MATLAB v5/v7 ``.mat`` file, or its only 4n×4n numeric variable."""
    import scipy.io

    try:
        contents = scipy.io.loadmat(path)
    except NotImplementedError:  # scipy's answer to an HDF5-based file
        raise DataError(f"{path}: MATLAB v7.3 (HDF5) .mat files are not supported; save with "
                        "save(..., '-v7') or export .csv/.npy") from None
    except (ValueError, TypeError, OSError, EOFError, scipy.io.matlab.MatReadError) as exc:
        raise DataError(f"{path}: not a readable .mat file ({type(exc).__name__}: {exc})") from None
    variables = {k: v for k, v in contents.items() if not k.startswith("__")}
    listing = ", ".join(f"{k} {getattr(v, 'shape', '')}" for k, v in variables.items()) or "none"
    if name is not None:
        if name not in variables:
            raise DataError(f"{path}: no variable {name!r} (variables: {listing})")
        return variables[name]
    candidates = [k for k, v in variables.items() if _is_dtn_shaped(v)]
    if len(candidates) != 1:
        problem = "no 4n×4n numeric variable" if not candidates else "several 4n×4n numeric variables"
        raise DataError(f"{path}: {problem} (variables: {listing}); choose one with {path}:NAME")
    return variables[candidates[0]]


def load_dtn_matrix(spec: str | Path, layout: str = "ours") -> Dataset:
    """A measured 4n×4n DtN matrix as a :class:`Dataset` (NaN = unmeasured -> mask False).

    Parameters
    ----------
    spec : ``FILE.npy`` (a float array), ``FILE.csv`` (4n rows of 4n comma-separated numbers; an
        empty cell or ``NaN`` is unmeasured), ``FILE.mat`` (its only 4n×4n numeric variable) or
        ``FILE.mat:NAME`` (variable ``NAME``; the authors store Λ as ``I``).
    layout : boundary order of the file's rows and columns, a name in
        :data:`~discrete_eit.problem.boundary_layouts.BOUNDARY_LAYOUTS`: ``ours`` (MATH.md §1) or
        ``authors`` (``E_1..E_n, S_n..S_1, W_n..W_1, N_1..N_n``); the result is in our order.

    Errors are :class:`DataError` naming the file.
    """
    if layout not in BOUNDARY_LAYOUTS:
        raise DataError(f"{spec}: unknown boundary layout {layout!r} (known: "
                        f"{', '.join(sorted(BOUNDARY_LAYOUTS))})")
    path, name = split_matrix_spec(spec)
    suffix = path.suffix.lower()
    if suffix not in DTN_SUFFIXES:
        hint = "; a dataset .npz is read with --data / load_dataset" if suffix == ".npz" else ""
        raise DataError(f"{spec}: unsupported DtN matrix format {path.suffix or '(no suffix)'!r} "
                        f"(expected {', '.join(DTN_SUFFIXES)}{hint})")
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    if suffix == ".npy":
        dtn = _load_npy(path)
    elif suffix == ".csv":
        dtn = _read_csv_matrix(path)
    else:
        dtn = _read_mat_matrix(path, name)
    dtn = np.asarray(dtn)
    if dtn.ndim != 2 or dtn.shape[0] != dtn.shape[1] or dtn.shape[0] % 4 or dtn.shape[0] == 0:
        raise DataError(f"{spec}: DtN matrix must be 4n×4n with n >= 1, got shape {dtn.shape}")
    if dtn.dtype.kind not in "iuf":
        raise DataError(f"{spec}: DtN matrix must be real numbers, got dtype {dtn.dtype}")
    dtn = dtn.astype(np.float64)
    if np.isinf(dtn).any():
        raise DataError(f"{spec}: DtN matrix contains ±inf (use NaN only for unmeasured entries)")
    dtn = to_our_order(dtn, layout)
    return Dataset(n=dtn.shape[0] // 4, dtn=dtn, mask=np.isfinite(dtn), source=str(spec))


def load_gamma(path: str | Path, n_edges: int) -> np.ndarray:
    """A user's conductivity vector (``.npy``) in the MATH.md edge order."""
    path = Path(path)
    gamma = _load_npy(path)
    if gamma.shape != (n_edges,):
        raise DataError(f"{path}: gamma must have shape ({n_edges},) = 2n(n+1), got {gamma.shape}")
    if not np.issubdtype(gamma.dtype, np.floating) or not np.all(np.isfinite(gamma)) or np.any(gamma <= 0):
        raise DataError(f"{path}: gamma must be finite, positive floats")
    return gamma.astype(np.float64)


def load_history(path: str | Path) -> dict[str, np.ndarray]:
    """A reconstruction's training history as named columns (``{}`` when it has none).

    The column names are stored beside the history in the file (``history_columns``); files
    written before that fall back to the names in their sidecar's ``info``, then to
    ``iteration, loss``.
    """
    arrays = load_npz(path, ())
    if "history" not in arrays:
        return {}
    history = np.atleast_2d(np.asarray(arrays["history"], dtype=float))
    if "history_columns" in arrays:
        names = [str(c) for c in arrays["history_columns"]]
    else:
        try:
            names = list((read_sidecar(path).get("info") or {}).get("history_columns") or [])
        except (FileNotFoundError, json.JSONDecodeError):
            names = []
        names = names or ["iteration", "loss"]
    return {name: history[:, i] for i, name in enumerate(names[: history.shape[1]])}


def load_result(path: str | Path, required: tuple[str, ...] = ("gamma",)) -> dict[str, np.ndarray]:
    """A reconstruction / sensitivity ``.npz`` as a dict of arrays (checked against its sidecar)."""
    return load_npz(path, required)

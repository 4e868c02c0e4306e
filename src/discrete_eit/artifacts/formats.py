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

import errno
import io
import json
import math
import os
import stat
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from discrete_eit.problem.boundary_layouts import BOUNDARY_LAYOUTS, to_our_order
from discrete_eit.problem.datasets import METADATA_FIELDS, DataError, Dataset
from discrete_eit.problem.forward import (
    check_lattice_size,
    forward_memory_bytes,
    human_bytes,
    max_lattice_size,
)

from .sidecar import build_sidecar, read_sidecar, sha256_bytes, sha256_file, sidecar_path, to_json

_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_FILE_MODE = 0o644  # mkstemp creates 0600; artifacts are meant to be shared


_TEMP_STEM = 64
"""At most this many characters of the target's name go into its temporary name ``.NAME.XXXXXXXX.tmp``,
so that any legal name (up to 255 bytes) has a legal temporary name too."""


class OutputError(OSError):
    """A write error naming the file being written (``str()`` is the message alone, no ``[Errno N]``)."""

    def __str__(self) -> str:
        return self.strerror


def _output_error(path: Path, exc: OSError) -> OSError:
    """``exc`` as an error naming the target ``path`` (not the hidden temporary file it came from)."""
    reason = exc.strerror or str(exc)
    if exc.errno == errno.ENOSPC:
        reason += "; nothing was written"
    return OutputError(exc.errno, f"{path}: cannot write ({reason})")


def _write_temp(path: Path, data: bytes) -> Path:
    """Write ``data`` to a fresh temporary file next to ``path``; returns the temporary path.

    Errors (a read-only or missing folder, a full disk, a name too long) are ``OSError`` naming
    ``path``; the temporary file is removed.
    """
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name[:_TEMP_STEM]}.", suffix=".tmp", dir=path.parent)
        os.fchmod(fd, _FILE_MODE)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise _output_error(path, exc) from None
    except BaseException:
        if tmp is not None:
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
            try:
                os.replace(tmp, path)
            except OSError as exc:
                raise _output_error(path, exc) from None
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

    Raises :class:`DataError` naming the file if it is missing, not a regular file, truncated, not
    an npz, holds pickled objects or an array larger than its data or than any array of an accepted
    lattice size (checked from the headers, before anything is allocated), lacks a required array,
    or does not match the sha256 in its sidecar.
    """
    path = Path(path)
    _check_npz_file(path)
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                if info.filename.endswith(".npy"):
                    with zf.open(info) as fh:
                        _check_npy_header(fh, f"{path}: array {info.filename[:-4]!r}", info.file_size)
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError, KeyError,
            NotImplementedError) as exc:
        if isinstance(exc, DataError):
            raise
        raise DataError(f"{path}: not a readable .npz file ({type(exc).__name__}: {exc})") from None
    missing = [k for k in required if k not in arrays]
    if missing:
        raise DataError(f"{path}: missing array(s) {', '.join(missing)}")
    verify_sidecar_hash(path)
    return arrays


_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGIC = b"PK"  # local file header or, for an empty archive, end of directory
_KINDS = ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def check_input_file(path: str | Path, what: str) -> int:
    """The size of ``path`` if it is a regular file (symlinks followed); else ``DataError`` saying what
    it is: missing, a dangling link, a directory, a FIFO, a device, a socket, unreadable.

    ``what`` completes "is a directory, not ...". Only ``stat`` is called: opening a FIFO would
    block until a writer comes, and ``/dev/zero`` never ends.
    """
    path = Path(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            raise DataError(f"{path}: a symbolic link to a missing file ({os.readlink(path)})") from None
        raise DataError(f"{path}: file not found") from None
    except OSError as exc:  # a symlink loop, a file used as a folder, a name too long, no permission
        raise DataError(f"{path}: cannot be read ({exc.strerror})") from None
    if stat.S_ISDIR(st.st_mode):
        raise DataError(f"{path}: is a directory, not {what}")
    for test, kind in _KINDS:
        if test(st.st_mode):
            raise DataError(f"{path}: is {kind}, not a regular file ({what} is read from a file)")
    if not os.access(path, os.R_OK):
        raise DataError(f"{path}: cannot be read (permission denied)")
    return st.st_size


def max_array_bytes() -> int:
    """The largest array a file may hold: one forward solve's memory at the largest accepted n
    (no file of an accepted lattice size holds more; ``DISCRETE_EIT_MAX_N`` raises both)."""
    return forward_memory_bytes(max_lattice_size())


def _check_npy_header(fh, where: str, size: int) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype from an ``.npy`` header at the start of ``fh`` (``size`` bytes in all).

    ``DataError`` starting with ``where`` if the header is unreadable, holds Python objects, or
    claims more bytes than follow it or than :func:`max_array_bytes` — before anything is allocated.
    """
    fmt = np.lib.format
    try:
        version = fmt.read_magic(fh)
        read = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
        shape, _, dtype = read(fh)
    except (ValueError, EOFError, OSError, SyntaxError, TypeError) as exc:
        raise DataError(f"{where}: not a readable .npy array (bad header: {exc})") from None
    if dtype.hasobject:
        raise DataError(f"{where}: holds Python objects (dtype {dtype}); only numeric arrays are read "
                        "(no pickles)")
    need = math.prod(shape) * dtype.itemsize
    have = size - fh.tell()
    if need > have:
        raise DataError(f"{where}: its header claims a {'×'.join(map(str, shape)) or 'scalar'} {dtype} array "
                        f"({human_bytes(need)}) but {human_bytes(max(have, 0))} of data follow (truncated or "
                        "not what it claims)")
    if need > max_array_bytes():
        raise DataError(f"{where}: a {'×'.join(map(str, shape))} {dtype} array ({human_bytes(need)}) is "
                        f"larger than any array of a lattice size n <= {max_lattice_size()} (the limit "
                        "DISCRETE_EIT_MAX_N)")
    return tuple(shape), dtype


def _check_npz_file(path: Path) -> None:
    """``DataError`` unless ``path`` is a file that starts like an ``.npz`` (zip) archive.

    Says what it is instead: missing, a directory or another kind of file, a ``.npy`` array, or
    not an archive at all (np.load would call a text file "pickled data").
    """
    check_input_file(path, "an .npz file")
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
        bad = _FIELD_RANGES.get(name)
        if bad is not None and bad[0](out[name]):
            raise DataError(f"{path}: '{name}' must be {bad[1]}, got {out[name]!r}")
    return out


_FIELD_RANGES = {
    "delta": (lambda v: not (math.isfinite(v) and 0 <= v <= 1), "a finite noise level in [0, 1]"),
    "seed": (lambda v: v < 0, ">= 0"),
    "profile_seed": (lambda v: v < 0, ">= 0"),
}
"""Dataset fields with a range beyond their type (what ``generate`` accepts for them)."""


def load_dataset(path: str | Path) -> Dataset:
    """Read and validate a dataset ``.npz`` (see module docstring); errors name the file."""
    arrays = load_npz(path, ("dtn", "mask", "n"))
    n = arrays["n"]
    if n.shape != () or not np.issubdtype(n.dtype, np.integer):
        raise DataError(f"{path}: 'n' must be an integer scalar, got {n.dtype} {n.shape}")
    if n >= 1:
        try:
            check_lattice_size(int(n))
        except ValueError as exc:
            raise DataError(f"{path}: {exc}") from None
    return Dataset(n=int(n), dtn=arrays["dtn"], mask=arrays["mask"], gamma_true=arrays.get("gamma_true"),
                   source=str(path), **_dataset_fields(path, arrays))


def _load_npy(path: Path, check_shape=None) -> np.ndarray:
    """An ``.npy`` array; its header is checked first (:func:`_check_npy_header`), then
    ``check_shape(shape)`` (``DataError`` for a shape the caller cannot take), then it is read."""
    size = check_input_file(path, "a .npy file")
    try:
        with open(path, "rb") as fh:
            shape, _ = _check_npy_header(fh, str(path), size)
            if check_shape is not None:
                check_shape(shape)
            fh.seek(0)
            return np.load(fh, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        if isinstance(exc, DataError):
            raise
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


def _mat_kind(value: Any) -> str | None:
    """What a ``.mat`` variable is when it is not a real numeric array (None when it is one)."""
    import scipy.sparse

    if scipy.sparse.issparse(value):
        return "a sparse matrix (save it full: full(NAME))"
    if not isinstance(value, np.ndarray):
        return f"a {type(value).__name__}, not a numeric matrix"
    if value.dtype.kind == "c":
        return "complex; a DtN matrix must be real numbers (save real(NAME))"
    if value.dtype.kind not in "iuf":
        return f"not a numeric matrix (MATLAB class {value.dtype})"
    return None


def _read_mat_matrix(path: Path, name: str | None) -> np.ndarray:
    """Variable ``name`` of a MATLAB v5/v7 ``.mat`` file, or its only 4n×4n numeric variable."""
    import scipy.io
    import scipy.sparse

    try:
        contents = scipy.io.loadmat(path)
    except NotImplementedError:  # scipy's answer to an HDF5-based file
        raise DataError(f"{path}: MATLAB v7.3 (HDF5) .mat files are not supported; save with "
                        "save(..., '-v7') or export .csv/.npy") from None
    except (ValueError, TypeError, OSError, EOFError, MemoryError, scipy.io.matlab.MatReadError) as exc:
        raise DataError(f"{path}: not a readable .mat file ({type(exc).__name__}: {exc})") from None
    variables = {k: v for k, v in contents.items() if not k.startswith("__")}

    def described(k: str, v: Any) -> str:
        kind = ("sparse " if scipy.sparse.issparse(v) else
                "complex " if getattr(v, "dtype", None) is not None and v.dtype.kind == "c" else "")
        return f"{k} {kind}{getattr(v, 'shape', '')}".replace("  ", " ")

    listing = ", ".join(described(k, v) for k, v in variables.items()) or "none"
    if name is not None:
        if name not in variables:
            raise DataError(f"{path}: no variable {name!r} (variables: {listing})")
        kind = _mat_kind(variables[name])
        if kind is not None:
            raise DataError(f"{path}: variable {name!r} is {kind.replace('NAME', name)}")
        return variables[name]
    candidates = [k for k, v in variables.items() if _is_dtn_shaped(v)]
    if len(candidates) != 1:
        shaped = [k for k, v in variables.items() if len(getattr(v, "shape", ())) == 2
                  and v.shape[0] == v.shape[1] and v.shape[0] % 4 == 0 and v.shape[0] > 0]
        if not candidates and len(shaped) == 1:  # the one 4n×4n variable is of the wrong kind: say which
            kind = _mat_kind(variables[shaped[0]]) or "not a numeric matrix"
            raise DataError(f"{path}: variable {shaped[0]!r}, the only 4n×4n one, is "
                            f"{kind.replace('NAME', shaped[0])}")
        problem = "no 4n×4n numeric variable" if not candidates else "several 4n×4n numeric variables"
        raise DataError(f"{path}: {problem} (variables: {listing}); choose one with {path}:NAME")
    return variables[candidates[0]]


_CSV_BYTES_PER_ENTRY = 64
"""A CSV matrix file larger than (4 n_max)² entries of this many bytes is refused unread."""


def _dtn_shape_ok(spec: str | Path):
    """``check_shape`` for a DtN matrix: 4n×4n with 1 <= n <= the size limit (before it is read)."""
    def check(shape: tuple[int, ...]) -> None:
        if len(shape) != 2 or shape[0] != shape[1] or shape[0] % 4 or shape[0] == 0:
            raise DataError(f"{spec}: DtN matrix must be 4n×4n with n >= 1, got shape {tuple(shape)}")
        try:
            check_lattice_size(shape[0] // 4)
        except ValueError as exc:
            raise DataError(f"{spec}: a {shape[0]}×{shape[1]} DtN matrix: {exc}") from None
    return check


def load_dtn_matrix(spec: str | Path, layout: str = "ours",
                    gamma_true: np.ndarray | str | Path | None = None) -> Dataset:
    """A measured 4n×4n DtN matrix as a :class:`Dataset` (NaN = unmeasured -> mask False).

    Parameters
    ----------
    spec : ``FILE.npy`` (a float array), ``FILE.csv`` (4n rows of 4n comma-separated numbers; an
        empty cell or ``NaN`` is unmeasured), ``FILE.mat`` (its only 4n×4n numeric variable) or
        ``FILE.mat:NAME`` (variable ``NAME``; the authors store Λ as ``I``).
    layout : boundary order of the file's rows and columns, a name in
        :data:`~discrete_eit.problem.boundary_layouts.BOUNDARY_LAYOUTS`: ``ours`` (MATH.md §1) or
        ``authors`` (``E_1..E_n, S_n..S_1, W_n..W_1, N_1..N_n``); the result is in our order.
    gamma_true : the true conductivity, when known (to score a reconstruction of these data): a
        (2n(n+1),) array in the MATH.md edge order, or a file :func:`load_gamma` reads
        (``.npy``, ``.csv``, ``.mat``). Default None: unknown.

    Errors are :class:`DataError` naming the file; the shape (and the size limit on n) is checked
    before the data are read where the format allows (``.npy``, ``.csv``).
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
    size = check_input_file(path, f"a {suffix} file")
    check_shape = _dtn_shape_ok(spec)
    if suffix == ".npy":
        dtn = _load_npy(path, check_shape)
    elif suffix == ".csv":
        limit = (4 * max_lattice_size()) ** 2 * _CSV_BYTES_PER_ENTRY
        if size > limit:
            raise DataError(f"{path}: {human_bytes(size)} is more than a CSV DtN matrix of n <= "
                            f"{max_lattice_size()} takes ({human_bytes(limit)} at most)")
        dtn = _read_csv_matrix(path)
    else:
        dtn = _read_mat_matrix(path, name)
    dtn = np.asarray(dtn)
    check_shape(dtn.shape)
    if dtn.dtype.kind not in "iuf":
        raise DataError(f"{spec}: DtN matrix must be real numbers, got dtype {dtn.dtype}")
    dtn = dtn.astype(np.float64)
    if np.isinf(dtn).any():
        raise DataError(f"{spec}: DtN matrix contains ±inf (use NaN only for unmeasured entries)")
    dtn = to_our_order(dtn, layout)
    n = dtn.shape[0] // 4
    if isinstance(gamma_true, (str, Path)):
        gamma_true = load_gamma(gamma_true, 2 * n * (n + 1))
    return Dataset(n=n, dtn=dtn, mask=np.isfinite(dtn), gamma_true=gamma_true, source=str(spec))


GAMMA_SUFFIXES = (".npy", ".csv", ".mat")
"""File types a conductivity vector is read from (:func:`load_gamma`)."""


def load_gamma(path: str | Path, n_edges: int) -> np.ndarray:
    """A user's conductivity vector in the MATH.md edge order (``γ = concat(gh.ravel(), gv.ravel())``).

    Parameters
    ----------
    path : ``FILE.npy`` (a float array of shape (n_edges,)), ``FILE.csv`` (n_edges numbers, one
        line or one column, no header), ``FILE.mat`` (its only numeric variable with n_edges
        entries, a row or column vector as MATLAB stores it) or ``FILE.mat:NAME``.
    n_edges : 2n(n+1), the number of edges of the lattice.

    Returns
    -------
    (n_edges,) float64, finite and positive. ``DataError`` naming the file otherwise.
    """
    spec = str(path)
    path, name = split_matrix_spec(path)
    suffix = path.suffix.lower()
    check_input_file(path, f"a {suffix or 'conductivity'} file")  # what it is first: a device, a folder
    if suffix not in GAMMA_SUFFIXES:
        raise DataError(f"{spec}: unsupported conductivity format {path.suffix or '(no suffix)'!r} "
                        f"(expected {', '.join(GAMMA_SUFFIXES)})")

    def check_shape(shape: tuple[int, ...]) -> None:
        if tuple(shape) != (n_edges,):
            raise DataError(f"{spec}: gamma must have shape ({n_edges},) = 2n(n+1), got {tuple(shape)}")

    if suffix == ".npy":
        gamma = _load_npy(path, check_shape)
        if not np.issubdtype(gamma.dtype, np.floating):
            raise DataError(f"{spec}: gamma must be finite, positive floats")
    else:
        # a spreadsheet column or a MATLAB vector is 2-d with one dimension 1: a vector all the same
        if suffix == ".csv":
            gamma = _read_csv_matrix(path)
        else:
            gamma = _read_mat_vector(path, name, n_edges)
        gamma = np.asarray(gamma)
        if gamma.ndim == 2 and 1 in gamma.shape:
            gamma = gamma.ravel()
        check_shape(gamma.shape)
        if gamma.dtype.kind not in "iuf":
            raise DataError(f"{spec}: gamma must be real numbers, got dtype {gamma.dtype}")
    if not np.all(np.isfinite(gamma)) or np.any(gamma <= 0):
        raise DataError(f"{spec}: gamma must be finite, positive floats")
    return gamma.astype(np.float64)


def _read_mat_vector(path: Path, name: str | None, size: int) -> np.ndarray:
    """Variable ``name`` of a ``.mat`` file, or its only numeric variable with ``size`` entries."""
    import scipy.io

    try:
        contents = scipy.io.loadmat(path)
    except NotImplementedError:
        raise DataError(f"{path}: MATLAB v7.3 (HDF5) .mat files are not supported; save with "
                        "save(..., '-v7') or export .csv/.npy") from None
    except (ValueError, TypeError, OSError, EOFError, MemoryError, scipy.io.matlab.MatReadError) as exc:
        raise DataError(f"{path}: not a readable .mat file ({type(exc).__name__}: {exc})") from None
    variables = {k: v for k, v in contents.items() if not k.startswith("__")}
    listing = ", ".join(f"{k} {getattr(v, 'shape', '')}" for k, v in variables.items()) or "none"
    if name is not None:
        if name not in variables:
            raise DataError(f"{path}: no variable {name!r} (variables: {listing})")
        return variables[name]
    candidates = [k for k, v in variables.items() if isinstance(v, np.ndarray) and v.dtype.kind in "iuf"
                  and v.size == size]
    if len(candidates) != 1:
        problem = f"no numeric variable with {size} entries" if not candidates else "several candidates"
        raise DataError(f"{path}: {problem} (variables: {listing}); choose one with {path}:NAME")
    return variables[candidates[0]]


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

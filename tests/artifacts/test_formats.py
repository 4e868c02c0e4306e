"""Measured DtN matrices read from .npy, .csv and .mat, and the authors' boundary order."""

import json

import numpy as np
import pytest
import scipy.io

from discrete_eit import DataError, Lattice, conductivity_profile, generate_dataset, reconstruct
from discrete_eit.artifacts import load_dtn_matrix
from discrete_eit.artifacts.sidecar import sha256_file
from discrete_eit.cli import main
from discrete_eit.problem import BOUNDARY_LAYOUTS, dtn_matrix, from_our_order, to_our_order
from discrete_eit.problem.boundary_layouts import boundary_permutation

N = 4


def authors_positions(n: int) -> list[tuple[int, int]]:
    """The authors' boundary order as points (r, c), written out from their numbering
    E_1..E_n, S_n..S_1, W_n..W_1, N_1..N_n (E_i = (i, n+1), S_j = (n+1, j), W_i = (i, 0), N_j = (0, j))."""
    return ([(i, n + 1) for i in range(1, n + 1)] + [(n + 1, j) for j in range(n, 0, -1)]
            + [(i, 0) for i in range(n, 0, -1)] + [(0, j) for j in range(1, n + 1)])


def in_authors_order(ours: np.ndarray, n: int) -> np.ndarray:
    """Λ with rows/columns in the authors' order, built from node coordinates (not the layout code)."""
    points = Lattice(n).boundary_points.tolist()
    index = [points.index([r, c]) for r, c in authors_positions(n)]
    return ours[np.ix_(index, index)]


@pytest.mark.parametrize("n", [1, 2, 5])
def test_authors_layout_is_ours_rotated_by_n(n):
    lattice = Lattice(n)
    gamma = conductivity_profile("random", lattice, seed=n)
    ours = dtn_matrix(lattice, gamma)
    theirs = in_authors_order(ours, n)
    assert np.array_equal(theirs, np.roll(ours, -n, axis=(0, 1)))         # the statement
    assert np.array_equal(from_our_order(ours, "authors"), theirs)
    assert np.array_equal(to_our_order(theirs, "authors"), ours)
    assert np.array_equal(to_our_order(ours, "ours"), ours)
    # Row 0 of theirs is E_1 = (1, n+1): its diagonal entry is its spike γ (gh[0, n]) minus what
    # leaks away, so it lies in (0, γ_spike]; and rows stay zero-sum.
    spike = gamma[lattice.horizontal_index(0, n)]
    assert 0 < theirs[0, 0] <= spike and abs(theirs.sum(axis=1)).max() < 1e-12


def test_every_layout_is_a_permutation():
    for name in BOUNDARY_LAYOUTS:
        for n in (1, 3, 6):
            assert sorted(boundary_permutation(name, n)) == list(range(4 * n)), name
    with pytest.raises(ValueError, match="unknown boundary layout 'spiral'.*authors, ours"):
        boundary_permutation("spiral", 3)


# ---- one dataset, every format --------------------------------------------------------------
@pytest.fixture(scope="module")
def measured():
    """Noisy partial data (last3n: the N×N block is NaN), n = 4."""
    gamma = conductivity_profile("wave", N)
    return generate_dataset(gamma, N, delta=1e-4, seed=3, partial_set="last3n")


def write_csv(path, dtn):
    """Full-precision cells; unmeasured cells alternate between empty and ``NaN``."""
    rows = []
    for i, row in enumerate(dtn):
        cells = [repr(float(v)) if np.isfinite(v) else ("" if (i + j) % 2 else "NaN")
                 for j, v in enumerate(row)]
        rows.append(", ".join(cells))
    path.write_text("\n".join(rows) + "\n")


@pytest.fixture(scope="module")
def files(measured, tmp_path_factory):
    """The same Λ^δ as .npy, .csv, .mat (single variable, and named among several), each in our
    order and in the authors' order. Returns {label: (spec, layout)}."""
    root = tmp_path_factory.mktemp("formats")
    out = {}
    for layout, dtn in (("ours", measured.dtn), ("authors", in_authors_order(measured.dtn, N))):
        np.save(root / f"{layout}.npy", dtn)
        write_csv(root / f"{layout}.csv", dtn)
        scipy.io.savemat(root / f"{layout}.mat", {"I": dtn, "n": float(N)})  # n: not 4n×4n, ignored
        scipy.io.savemat(root / f"{layout}_two.mat", {"I": dtn, "other": np.zeros_like(dtn)})
        out |= {f"npy-{layout}": (root / f"{layout}.npy", layout),
                f"csv-{layout}": (root / f"{layout}.csv", layout),
                f"mat-{layout}": (root / f"{layout}.mat", layout),
                f"mat-name-{layout}": (f"{root / f'{layout}_two.mat'}:I", layout)}
    return out


LABELS = [f"{kind}-{layout}" for layout in ("ours", "authors") for kind in ("npy", "csv", "mat", "mat-name")]


@pytest.fixture(scope="module")
def reference(files):
    """The .npy in our order, loaded and reconstructed by Curtis–Morrow (the reference)."""
    data = load_dtn_matrix(files["npy-ours"][0])
    return data, reconstruct("cm", data).gamma


@pytest.mark.parametrize("label", LABELS)
def test_python_api_reads_each_format_alike(label, files, measured, reference):
    spec, layout = files[label]
    data = load_dtn_matrix(spec, layout=layout)
    assert data.n == N and data.source == str(spec)
    assert np.array_equal(data.mask, measured.mask) and not data.mask[:N, :N].any()
    assert np.array_equal(data.dtn, measured.dtn, equal_nan=True)
    assert np.array_equal(reconstruct("cm", data).gamma, reference[1])


@pytest.mark.parametrize("label", LABELS)
def test_cli_reconstructs_each_format_alike(label, files, reference, tmp_path, cli_run):
    spec, layout = files[label]
    out = tmp_path / "r.npz"
    code, _, err = cli_run(["reconstruct", "--method", "cm", "--dtn", spec, "--layout", layout,
                            "--out", out])
    assert code == 0, err
    with np.load(out) as z:
        assert np.array_equal(z["gamma"], reference[1])
    assert np.max(np.abs(reference[1] / conductivity_profile("wave", N) - 1)) < 0.05  # a real recovery
    side = json.loads((tmp_path / "r.npz.json").read_text())
    file = str(spec).removesuffix(":I")
    assert side["inputs"] == {file: sha256_file(file)}  # FILE.mat:NAME hashes FILE.mat
    assert side["params"]["data"] == str(spec) and side["params"]["layout"] == layout


def test_an_unmarked_authors_file_is_not_ours(files, reference):
    """Reading the authors' file as ours gives a different Λ (the flag matters)."""
    data = load_dtn_matrix(files["npy-authors"][0])
    assert not np.array_equal(data.mask, reference[0].mask)


# ---- bad input: one line naming the file, nothing written ------------------------------------
def _bad_csv(tmp_path, text):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    return path


@pytest.mark.parametrize("make, words", [
    (lambda p: _bad_csv(p, "1,2,3,4\n" * 5), ["bad.csv", "4n×4n", "(5, 4)"]),
    (lambda p: _bad_csv(p, "1,2,3,4\n1,2,3\n1,2,3,4\n1,2,3,4\n"), ["bad.csv", "row 2 has 3 cells"]),
    (lambda p: _bad_csv(p, "1,2,3,4\n1,two,3,4\n1,2,3,4\n1,2,3,4\n"),
     ["bad.csv", "row 2, column 2", "'two' is not a number"]),
    (lambda p: _bad_csv(p, "1,2,3,4\n1,inf,3,4\n1,2,3,4\n1,2,3,4\n"), ["bad.csv", "±inf"]),
    (lambda p: _bad_csv(p, ""), ["bad.csv", "empty CSV"]),
    (lambda p: _save_mat(p, {"A": np.eye(4), "B": np.eye(4)}), ["bad.mat", "several 4n×4n", "bad.mat:NAME"]),
    (lambda p: _save_mat(p, {"A": np.eye(3)}), ["bad.mat", "no 4n×4n numeric variable", "A (3, 3)"]),
    (lambda p: f"{_save_mat(p, {'A': np.eye(4)})}:I", ["bad.mat", "no variable 'I'", "A (4, 4)"]),
    (lambda p: f"{_save_mat(p, {'A': np.eye(4) * 1j})}:A", ["bad.mat", "real numbers", "complex"]),
    (lambda p: _v73_mat(p), ["v73.mat", "v7.3 (HDF5)", "not supported"]),
    (lambda p: _write(p / "junk.mat", b"not a mat file at all" * 10), ["junk.mat", "not a readable .mat"]),
    (lambda p: _write(p / "m.txt", b"1"), ["m.txt", "unsupported DtN matrix format '.txt'"]),
    (lambda p: _write(p / "d.npz", b"1"), ["d.npz", "is an .npz archive", "goes with --data"]),
    (lambda p: p / "missing.csv", ["missing.csv", "file not found"]),
])
def test_bad_matrix_files_refused(make, words, tmp_path, cli_run):
    spec = make(tmp_path)
    out = tmp_path / "r.npz"
    code, _, err = cli_run(["reconstruct", "--method", "cm", "--dtn", spec, "--out", out])
    assert code == 1 and err.count("\n") == 1, err
    for word in words:
        assert word in err, (word, err)
    assert not out.exists()
    with pytest.raises(DataError, match=words[0]):
        load_dtn_matrix(spec)


def _write(path, data):
    path.write_bytes(data)
    return path


def _save_mat(tmp_path, variables):
    path = tmp_path / "bad.mat"
    scipy.io.savemat(path, variables)
    return path


def _v73_mat(tmp_path):
    """The header of a MATLAB v7.3 file (HDF5 container; version 0x0200), as MATLAB writes it."""
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64".ljust(116) + bytes(8) + b"\x00\x02IM"
    return _write(tmp_path / "v73.mat", header + bytes(384))


def test_layout_errors(files, tmp_path, capsys, cli_run):
    out = tmp_path / "r.npz"
    with pytest.raises(SystemExit) as exc:  # argparse: the choices are the registry
        main(["reconstruct", "--method", "cm", "--dtn", str(files["npy-ours"][0]), "--layout", "spiral",
              "--out", str(out)])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "--layout" in err and "'spiral'" in err and err.count("\n") == 1
    with pytest.raises(DataError, match="ours.npy: unknown boundary layout 'spiral'"):
        load_dtn_matrix(files["npy-ours"][0], layout="spiral")
    data = tmp_path / "d.npz"
    assert main(["generate", "--n", "2", "--out", str(data)]) == 0
    code, _, err = cli_run(["reconstruct", "--method", "cm", "--data", data, "--layout", "authors",
                            "--out", out])
    assert code == 1 and "--layout applies to --dtn only" in err and not out.exists()

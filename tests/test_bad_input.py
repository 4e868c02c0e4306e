"""Bad input to the CLI and the configuration: refused with one line, exit != 0, nothing written.

Every CLI case runs ``discrete-eit`` in-process on a shared folder of valid and broken files and
asserts the exit code, that stderr is a single line naming the flag or file and the problem, and
that no file of the folder was created, changed or removed (names, sizes, mtimes and sha256 before
and after). Configuration cases go through the package's checks directly (schema errors as the
workflow reports them); a few run ``snakemake -n`` on an overlay to show the line a user sees.
Faults (a full disk, a read-only folder, SIGINT/SIGTERM mid-write) are injected and must leave no
debris. docs/bad_input.md is generated from these cases (``tools/bad-input-doc.sh``) and checked
against them by the last test of this file.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import yaml

from discrete_eit.cli import main
from discrete_eit.experiment.config import ConfigError, check_config, config_error_line, schema_error
from discrete_eit.experiment.config_files import check_config_files

# ---- the shared folder ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Valid inputs (n = 3) and broken ones, made once; the cases only read them."""
    d = tmp_path_factory.mktemp("inputs")
    for name, extra in (("d.npz", []), ("d2.npz", ["--seed", "8"]), ("d4.npz", ["--n", "4"])):
        argv = ["generate", "--n", "3", "--noise", "1e-3", "--seed", "7", *extra, "--out", str(d / name)]
        assert main(argv) == 0
    assert main(["reconstruct", "--method", "cm", "--data", str(d / "d.npz"), "--out", str(d / "r.npz")]) == 0
    with np.load(d / "d.npz") as z:
        np.save(d / "m.npy", z["dtn"])
        gamma = z["gamma_true"]
    np.save(d / "g.npy", gamma)
    np.save(d / "g_nan.npy", np.where(np.arange(gamma.size) == 3, np.nan, gamma))
    np.save(d / "g_neg.npy", -gamma)
    np.save(d / "g_int.npy", np.ones(gamma.size, dtype=int))
    np.save(d / "g_short.npy", gamma[:-1])
    np.save(d / "zeros.npy", np.zeros((12, 12)))
    np.save(d / "m_10.npy", np.ones((10, 10)))
    np.save(d / "m_rect.npy", np.ones((12, 8)))
    np.save(d / "m_inf.npy", np.where(np.eye(12, dtype=bool), np.inf, 1.0))
    np.save(d / "m_int.npy", np.ones((12, 12), dtype=int))
    (d / "text.npz").write_text("not an archive\n")
    (d / "empty.npz").write_bytes(b"")
    (d / "adir").mkdir()
    np.savez(d / "no_mask.npz", dtn=np.ones((12, 12)), n=np.int64(3))
    np.savez(d / "bad_delta.npz", dtn=np.ones((12, 12)), mask=np.ones((12, 12), bool), n=np.int64(3),
             delta=np.array("small"))
    np.savez(d / "wrong_n.npz", dtn=np.ones((12, 12)), mask=np.ones((12, 12), bool), n=np.int64(4))
    np.savez(d / "nan_measured.npz", dtn=np.full((12, 12), np.nan), mask=np.ones((12, 12), bool),
             n=np.int64(3))
    np.savez(d / "recon_n4.npz", gamma=np.ones(40))
    _round_two_files(d)
    _real_data_files(d)
    return d


def _real_data_files(d: Path) -> None:
    """Inputs of the real-data path (δ from the data, error bars, scoring with a separate truth)."""
    import scipy.io

    for name, extra in (("d_sym.npz", ["--symmetric-noise"]), ("d_sigma0.npz", ["--partial-set", "sigma0"]),
                        ("d6.npz", ["--n", "6", "--seed", "3"])):
        assert main(["generate", "--n", "3", "--noise", "1e-3", *extra, "--out", str(d / name)]) == 0
    with np.load(d / "d_sym.npz") as z:
        np.save(d / "m_sym.npy", z["dtn"])
        gamma = z["gamma_true"]
    np.savetxt(d / "g.csv", gamma, delimiter=",")
    (d / "g_word.csv").write_text("0.5\nhigh\n")
    np.savetxt(d / "g_neg.csv", -gamma, delimiter=",")
    scipy.io.savemat(d / "g.mat", {"gamma": gamma[None, :]})
    (d / "g.txt").write_text("1\n")


def _npy_claiming(path: Path, shape: tuple, descr: str = "<f8", data: bytes = b"") -> None:
    """An .npy file whose header claims ``shape`` but holds only ``data``."""
    with open(path, "wb") as fh:
        np.lib.format.write_array_header_1_0(fh, {"descr": descr, "fortran_order": False, "shape": shape})
        fh.write(data)


def _round_two_files(d: Path) -> None:
    """The broken inputs of the second round (issue "Bad input, second round") and of our own."""
    import scipy.io
    import scipy.sparse

    with np.load(d / "d.npz") as z:
        base = {k: z[k] for k in z.files}
    dtn, gamma = base["dtn"], base["gamma_true"]
    scale = np.abs(dtn).max()

    def variant(name: str, **override):
        arrays = {**base, **override}
        np.savez(d / name, **{k: v for k, v in arrays.items() if v is not None})

    # not-a-DtN maps
    np.save(d / "m_neg.npy", -dtn)
    np.save(d / "m_asym.npy", dtn + np.triu(np.full_like(dtn, scale), 1))
    np.save(d / "m_plus1.npy", dtn + 1)
    np.save(d / "m_1e308.npy", np.where(np.arange(144).reshape(12, 12) == 5, 1e308, dtn))
    np.save(d / "m_tiny.npy", dtn * 1e-200)
    partial = np.where(np.triu(np.ones((12, 12), bool)), -dtn, np.nan)
    np.save(d / "m_neg_partial.npy", partial)
    variant("d_delta_neg.npz", delta=np.array(-1.0))
    # special files
    os.mkfifo(d / "fifo.npz")
    os.mkfifo(d / "fifo.npy")
    (d / "x.npy").mkdir()
    (d / "link_missing.npz").symlink_to("gone.npz")
    (d / "loop.npz").symlink_to("loop.npz")
    # .mat variables of the wrong kind
    scipy.io.savemat(d / "m_sparse.mat", {"I": scipy.sparse.csc_matrix(dtn)})
    scipy.io.savemat(d / "m_complex.mat", {"I": dtn * (1 + 1j)})
    scipy.io.savemat(d / "m_str.mat", {"S": "hello"})
    (d / "garbage.mat").write_bytes(b"MATLAB? no\n" * 20)
    # sizes claimed beyond the data
    _npy_claiming(d / "m_claims_huge.npy", (400000, 400000))
    _npy_claiming(d / "g_claims_huge.npy", (10 ** 12,))
    _npy_claiming(d / "m_trunc.npy", (12, 12), data=b"\0" * 100)
    (d / "empty.npy").write_bytes(b"")
    (d / "text.npy").write_text("1,2,3\n")
    np.save(d / "m_obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    np.save(d / "m_complex.npy", dtn + 0j)
    np.save(d / "m_bool.npy", np.ones((12, 12), bool))
    np.save(d / "m_3d.npy", dtn[:, :, None])
    np.save(d / "m_0d.npy", np.float64(1.0))
    np.save(d / "m_allnan.npy", np.full((12, 12), np.nan))
    np.save(d / "m_n300.npy", np.zeros((1200, 1200), np.float16))  # 1200 = 4 · 300 > the limit
    (d / "header.csv").write_text("a,b,c\n1,2,3\n")
    (d / "ragged.csv").write_text("1,2,3\n1,2\n")
    (d / "latin1.csv").write_bytes("1,2,\xe9\n".encode("latin-1"))
    (d / "inf.csv").write_text("\n".join(",".join(["inf"] + ["0"] * 11) for _ in range(12)) + "\n")
    (d / "m.txt").write_text("1\n")
    (d / "matrix").write_text("1\n")
    np.save(d / "g_2d.npy", gamma[:, None])
    np.save(d / "g_inf.npy", np.where(np.arange(gamma.size) == 0, np.inf, gamma))
    np.save(d / "g_zero.npy", np.zeros_like(gamma))
    # datasets and results of the wrong kind
    np.savez(d / "r_nan.npz", gamma=np.where(np.arange(gamma.size) == 3, np.nan, gamma))
    np.savez(d / "r_str.npz", gamma=np.array(["x"] * gamma.size))
    np.savez(d / "r_neg.npz", gamma=-gamma)
    raw = (d / "d.npz").read_bytes()
    (d / "trunc.npz").write_bytes(raw[: len(raw) // 2])
    np.savez(d / "obj.npz", dtn=np.array([None, 1], dtype=object), mask=base["mask"], n=base["n"])
    variant("d_int_dtn.npz", dtn=np.ones((12, 12), dtype=np.int64))
    variant("d_mask_int.npz", mask=base["mask"].astype(np.int8))
    variant("d_n_float.npz", n=np.float64(3.0))
    variant("d_n_zero.npz", n=np.int64(0))
    variant("d_n_huge.npz", n=np.int64(10 ** 6))
    variant("d_n_array.npz", n=np.array([3]))
    variant("d_delta_nan.npz", delta=np.array(np.nan))
    variant("d_delta_bool.npz", delta=np.array(True))
    variant("d_seed_neg.npz", seed=np.array(-5))
    variant("d_model_pink.npz", noise_model=np.array("pink"))
    variant("d_mask_mismatch.npz", mask=np.eye(12, dtype=bool))
    variant("d_mask_none.npz", dtn=np.full((12, 12), np.nan), mask=np.zeros((12, 12), bool))
    variant("d_gamma_neg.npz", gamma_true=-gamma)
    with zipfile.ZipFile(d / "d_forged.npz", "w") as zf:  # a member whose header claims 40000²
        for name in ("mask", "n"):
            buf = __import__("io").BytesIO()
            np.save(buf, base[name])
            zf.writestr(f"{name}.npy", buf.getvalue())
        with zf.open("dtn.npy", "w") as fh:
            np.lib.format.write_array_header_1_0(fh, {"descr": "<f8", "fortran_order": False,
                                                      "shape": (40000, 40000)})
    with zipfile.ZipFile(d / "empty_zip.npz", "w"):
        pass
    shutil.copy(d / "d2.npz", d / "tampered.npz")  # d2's bytes under d's sidecar
    shutil.copy(d / "d.npz.json", d / "tampered.npz.json")
    shutil.copy(d / "d.npz", d / "badside.npz")
    (d / "badside.npz.json").write_text("{")


def snapshot(root: Path) -> dict[str, tuple]:
    """Every entry under ``root``: size, mtime and sha256 of files, directories by name, symlinks by
    target, FIFOs by kind (never opened: that would block)."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        st = path.lstat()
        if stat.S_ISLNK(st.st_mode):
            out[rel] = ("link", os.readlink(path))
        elif stat.S_ISDIR(st.st_mode):
            out[rel] = ("dir", stat.S_IMODE(st.st_mode))
        elif not stat.S_ISREG(st.st_mode):
            out[rel] = ("special", st.st_mode, st.st_mtime_ns)
        else:
            out[rel] = (st.st_size, st.st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest())
    return out


def one_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    return lines[0]


# ---- CLI cases -------------------------------------------------------------------------------------
# (id, argv with {d} for the folder, words the line must contain, environment)
R = ["reconstruct", "--method"]
CLI_CASES = [
    # data loss: outputs that would overwrite an input, repeat, or misname their format
    ("out_is_input", [*R, "cm", "--data", "{d}/d.npz", "--out", "{d}/d.npz"],
     ["--out", "d.npz", "is also the input --data"]),
    ("out_is_input_spelled_differently", [*R, "cm", "--data", "{d}/d.npz", "--out", "{d}/./adir/../d.npz"],
     ["--out", "is also the input"]),
    ("out_is_another_batch_input", [*R, "cm", "--data", "{d}/d.npz", "{d}/d2.npz", "--out", "{d}/x.npz",
                                    "{d}/d2.npz"], ["--out", "d2.npz", "is also the input"]),
    ("duplicate_out", [*R, "cm", "--data", "{d}/d.npz", "{d}/d2.npz", "--out", "{d}/x.npz", "{d}/x.npz"],
     ["--out", "x.npz", "given twice"]),
    ("out_suffix_reconstruct", [*R, "cm", "--data", "{d}/d.npz", "--out", "{d}/r.npy"],
     ["--out", "r.npy", "must end in .npz"]),
    ("out_suffix_generate", ["generate", "--n", "3", "--out", "{d}/new.npy"], ["--out", "new.npy", ".npz"]),
    ("out_suffix_sensitivity", ["sensitivity", "--data", "{d}/d.npz", "--out", "{d}/s.csv"],
     ["--out", "s.csv", ".npz"]),
    ("out_suffix_evaluate", ["evaluate", "--data", "{d}/d.npz", "--recon", "{d}/r.npz", "--out", "{d}/e.npz"],
     ["--out", "e.npz", "must end in .json"]),
    ("out_is_an_input_sidecar", ["evaluate", "--data", "{d}/d.npz", "--recon", "{d}/r.npz", "--out",
                                 "{d}/d.npz.json"], ["--out", "d.npz.json", "is also the input --data"]),
    ("out_sidecar_is_an_input", ["evaluate", "--data", "{d}/d.npz", "--recon", "{d}/r.npz", "--out",
                                 "{d}/d"], ["--out", "must end in .json"]),
    ("sensitivity_out_is_input", ["sensitivity", "--data", "{d}/d.npz", "--out", "{d}/d.npz"],
     ["--out", "is also the input --data"]),
    ("out_is_a_directory", ["sensitivity", "--data", "{d}/d.npz", "--out", "{d}/adir"], ["adir"]),
    ("more_outs_than_inputs", [*R, "cm", "--data", "{d}/d.npz", "--out", "{d}/x.npz", "{d}/y.npz"],
     ["1 input file(s) but 2 --out"]),
    # files of the wrong kind
    ("npz_as_dtn", [*R, "cm", "--dtn", "{d}/d.npz", "--out", "{d}/x.npz"], ["--dtn", "d.npz", "--data"]),
    ("npy_as_data", [*R, "cm", "--data", "{d}/m.npy", "--out", "{d}/x.npz"], ["m.npy", "is a .npy array"]),
    ("directory_as_data", [*R, "cm", "--data", "{d}/adir", "--out", "{d}/x.npz"], ["adir", "is a directory"]),
    ("text_named_npz", [*R, "cm", "--data", "{d}/text.npz", "--out", "{d}/x.npz"],
     ["text.npz", "not an .npz file"]),
    ("empty_file_as_data", ["evaluate", "--data", "{d}/empty.npz", "--recon", "{d}/r.npz"],
     ["empty.npz", "not an .npz file"]),
    ("npz_as_gamma", ["generate", "--n", "3", "--gamma", "{d}/d.npz", "--out", "{d}/x.npz"],
     ["--gamma", "d.npz", "is an .npz archive"]),
    ("dataset_as_recon", ["evaluate", "--data", "{d}/d.npz", "--recon", "{d}/d2.npz"],
     ["d2.npz", "missing array(s) gamma"]),
    # missing files
    ("missing_data", [*R, "cm", "--data", "{d}/nope.npz", "--out", "{d}/x.npz"], ["nope.npz", "not found"]),
    ("missing_dtn", [*R, "cm", "--dtn", "{d}/nope.npy", "--out", "{d}/x.npz"], ["nope.npy"]),
    ("missing_gamma", ["generate", "--n", "3", "--gamma", "{d}/nope.npy", "--out", "{d}/x.npz"],
     ["nope.npy"]),
    ("missing_recon", ["evaluate", "--data", "{d}/d.npz", "--recon", "{d}/nope.npz"],
     ["nope.npz", "not found"]),
    # malformed contents
    ("gamma_with_nan", ["generate", "--n", "3", "--gamma", "{d}/g_nan.npy", "--out", "{d}/x.npz"],
     ["g_nan.npy", "finite, positive"]),
    ("gamma_negative", ["generate", "--n", "3", "--gamma", "{d}/g_neg.npy", "--out", "{d}/x.npz"],
     ["g_neg.npy", "positive"]),
    ("gamma_int", ["generate", "--n", "3", "--gamma", "{d}/g_int.npy", "--out", "{d}/x.npz"],
     ["g_int.npy", "floats"]),
    ("gamma_wrong_shape", ["generate", "--n", "3", "--gamma", "{d}/g_short.npy", "--out", "{d}/x.npz"],
     ["g_short.npy", "shape (24,)"]),
    ("dtn_not_4n", [*R, "cm", "--dtn", "{d}/m_10.npy", "--out", "{d}/x.npz"], ["m_10.npy", "4n×4n"]),
    ("dtn_not_square", [*R, "cm", "--dtn", "{d}/m_rect.npy", "--out", "{d}/x.npz"], ["m_rect.npy", "4n×4n"]),
    ("dtn_with_inf", [*R, "cm", "--dtn", "{d}/m_inf.npy", "--out", "{d}/x.npz"], ["m_inf.npy", "inf"]),
    # an integer matrix is read as float (tests/test_formats.py); an all-ones "DtN" is no DtN map
    ("dtn_int", [*R, "cm", "--dtn", "{d}/m_int.npy", "--out", "{d}/x.npz"], ["m_int.npy", "not a DtN map"]),
    ("dataset_without_mask", [*R, "cm", "--data", "{d}/no_mask.npz", "--out", "{d}/x.npz"],
     ["no_mask.npz", "missing array(s) mask"]),
    ("dataset_field_wrong_type", [*R, "cm", "--data", "{d}/bad_delta.npz", "--out", "{d}/x.npz"],
     ["bad_delta.npz", "'delta' must be a float"]),
    ("dataset_n_disagrees_with_shape", [*R, "cm", "--data", "{d}/wrong_n.npz", "--out", "{d}/x.npz"],
     ["wrong_n.npz", "shape (16, 16)"]),
    ("dataset_nan_measured", [*R, "cm", "--data", "{d}/nan_measured.npz", "--out", "{d}/x.npz"],
     ["nan_measured.npz", "non-finite measured entry"]),
    ("recon_of_other_n", ["evaluate", "--data", "{d}/d.npz", "--recon", "{d}/recon_n4.npz"],
     ["recon_n4.npz", "(24,)"]),
    ("batch_of_two_sizes", [*R, "nn", "--data", "{d}/d.npz", "{d}/d4.npz", "--out", "{d}/x.npz",
                            "{d}/y.npz"], ["d4.npz", "one lattice size"]),
    ("all_zero_dtn_cm", [*R, "cm", "--dtn", "{d}/zeros.npy", "--out", "{d}/x.npz"],
     ["zeros.npy", "not a DtN map", "every measured entry is zero"]),
    # flags: size guard, types, ranges, choices, unknown options
    ("n_too_large", ["generate", "--n", "10000", "--out", "{d}/x.npz"], ["--n", "n <= 256", "TB of memory"]),
    ("n_above_configured_limit", ["generate", "--n", "5", "--out", "{d}/x.npz"], ["--n", "n <= 4", "MAX_N"],
     {"DISCRETE_EIT_MAX_N": "4"}),
    ("n_zero", ["generate", "--n", "0", "--out", "{d}/x.npz"], ["--n", ">= 1"]),
    ("n_not_a_number", ["generate", "--n", "three", "--out", "{d}/x.npz"], ["--n", "'three'"]),
    ("seed_negative", ["generate", "--n", "3", "--seed=-1", "--out", "{d}/x.npz"], ["--seed", ">= 0"]),
    ("delta_negative", ["generate", "--n", "3", "--delta", "-0.1", "--out", "{d}/x.npz"],
     ["--delta", ">= 0"]),
    ("delta_nan", ["generate", "--n", "3", "--delta", "nan", "--out", "{d}/x.npz"], ["--delta", "finite"]),
    ("profile_unknown", ["generate", "--n", "3", "--profile", "zigzag", "--out", "{d}/x.npz"],
     ["--profile", "zigzag"]),
    ("partial_set_unknown", ["generate", "--n", "3", "--partial-set", "half", "--out", "{d}/x.npz"],
     ["--partial-set", "half"]),
    ("gamma_and_profile", ["generate", "--n", "3", "--gamma", "{d}/g.npy", "--profile", "random", "--out",
                           "{d}/x.npz"], ["--profile", "--gamma"]),
    ("unknown_flag", ["generate", "--n", "3", "--colour", "red", "--out", "{d}/x.npz"], ["--colour"]),
    ("out_missing", ["generate", "--n", "3"], ["--out"]),
    ("method_unknown", [*R, "magic", "--data", "{d}/d.npz", "--out", "{d}/x.npz"], ["--method", "magic"]),
    ("option_of_another_method", [*R, "cm", "--lam", "3", "--data", "{d}/d.npz", "--out", "{d}/x.npz"],
     ["--lam"]),
    ("option_bad_choice", [*R, "ols", "--solver", "qr", "--data", "{d}/d.npz", "--out", "{d}/x.npz"],
     ["--solver", "qr"]),
    ("option_wrong_type", [*R, "nn_fast", "--lam", "abc", "--data", "{d}/d.npz", "--out", "{d}/x.npz"],
     ["--lam", "'abc'"]),
    ("option_below_minimum", [*R, "ols", "--max-iterations", "0", "--data", "{d}/d.npz", "--out",
                              "{d}/x.npz"], ["--max-iterations", ">= 1"]),
    ("option_negative", [*R, "ols", "--tau", "-1", "--data", "{d}/d.npz", "--out", "{d}/x.npz"],
     ["--tau", ">= 0"]),
    ("option_delta_negative", [*R, "nn_fast", "--delta=-1e-3", "--dtn", "{d}/m.npy", "--out", "{d}/x.npz"],
     ["--delta", ">= 0"]),
    ("option_not_finite", [*R, "nn", "--lr", "nan", "--data", "{d}/d.npz", "--out", "{d}/x.npz"],
     ["--lr", "finite"]),
    ("nn_seed_negative", [*R, "nn", "--seed=-1", "--data", "{d}/d.npz", "--out", "{d}/x.npz"],
     ["--seed", ">= 0"]),
    ("discrepancy_without_delta", [*R, "ols", "--stop", "discrepancy", "--dtn", "{d}/m.npy", "--out",
                                   "{d}/x.npz"], ["m.npy", "delta"]),
    ("log_level_unknown", ["--log-level", "LOUD", "generate", "--n", "3", "--out", "{d}/x.npz"],
     ["--log-level", "LOUD"]),
    ("sensitivity_delta_negative", ["sensitivity", "--data", "{d}/d.npz", "--delta", "-1", "--out",
                                    "{d}/s.npz"], ["--delta", ">= 0"]),
    ("command_unknown", ["transmogrify"], ["transmogrify"]),
]


# The second round: every case of the issue "Bad input, second round" (CLI part).
D = ["--data", "{d}/d.npz"]
X = ["--out", "{d}/x.npz"]
ISSUE_CASES = [
    # not-a-DtN input (before: cm exited 0 with γ all negative or ±1e308)
    ("cm_on_negated_dtn", [*R, "cm", "--dtn", "{d}/m_neg.npy", *X],
     ["m_neg.npy", "diagonal is not positive"]),
    ("cm_on_nonsymmetric_dtn", [*R, "cm", "--dtn", "{d}/m_asym.npy", *X], ["m_asym.npy", "not symmetric"]),
    ("cm_on_dtn_plus_one", [*R, "cm", "--dtn", "{d}/m_plus1.npy", *X], ["m_plus1.npy", "row 0 sums to"]),
    ("cm_on_dtn_entry_1e308", [*R, "cm", "--dtn", "{d}/m_1e308.npy", *X], ["m_1e308.npy", "1e+308"]),
    ("sensitivity_dataset_delta_minus_one", ["sensitivity", "--data", "{d}/d_delta_neg.npz", "--out",
                                             "{d}/s.npz"], ["d_delta_neg.npz", "'delta'", "-1.0"]),
    # special files: refused by kind, without opening them
    ("data_is_a_fifo", [*R, "cm", "--data", "{d}/fifo.npz", *X], ["fifo.npz", "named pipe"]),
    ("data_is_dev_zero", [*R, "cm", "--data", "/dev/zero", *X], ["/dev/zero", "character device"]),
    ("data_is_a_directory_named_npy", [*R, "cm", "--data", "{d}/x.npy", *X], ["x.npy", "is a directory"]),
    ("dtn_is_a_directory_named_npy", [*R, "cm", "--dtn", "{d}/x.npy", *X], ["x.npy", "is a directory"]),
    ("generate_gamma_is_a_fifo", ["generate", "--n", "3", "--gamma", "{d}/fifo.npy", *X],
     ["fifo.npy", "named pipe"]),
    # .mat variables named as what they are
    ("mat_sparse_variable", [*R, "cm", "--dtn", "{d}/m_sparse.mat", *X], ["m_sparse.mat", "'I'", "sparse"]),
    ("mat_complex_variable", [*R, "cm", "--dtn", "{d}/m_complex.mat", *X], ["m_complex.mat", "complex"]),
    ("mat_sparse_variable_by_name", [*R, "cm", "--dtn", "{d}/m_sparse.mat:I", *X],
     ["m_sparse.mat", "sparse"]),
    # option checks before any data are loaded (the data file does not even exist), one condition each
    ("nn_lr_zero", [*R, "nn", "--lr", "0", "--data", "{d}/nope.npz", *X], ["nn: option --lr must be > 0"]),
    ("nn_factor_two", [*R, "nn", "--factor", "2", "--data", "{d}/nope.npz", *X],
     ["nn: option --factor must be < 1"]),
    ("nn_log_every_zero", [*R, "nn", "--log-every", "0", "--data", "{d}/nope.npz", *X],
     ["nn: option --log-every must be >= 1"]),
    ("nn_fast_lam_zero", [*R, "nn_fast", "--lam", "0", "--data", "{d}/nope.npz", *X],
     ["nn_fast: option --lam must be > 0"]),
    # numbers bounded where the types end; sizes before allocation
    ("generate_seed_2_to_64", ["generate", "--n", "3", "--seed", str(2 ** 64), *X], ["--seed", "2**63 - 1"]),
    ("ols_delta_1e308", [*R, "ols", "--delta", "1e308", *D, *X], ["ols: option --delta must be <= 1"]),
    ("dtn_header_claims_400000_squared", [*R, "cm", "--dtn", "{d}/m_claims_huge.npy", *X],
     ["m_claims_huge.npy", "400000×400000", "1.28 TB"]),
    ("evaluate_recon_with_nan_edge", ["evaluate", *D, "--recon", "{d}/r_nan.npz"],
     ["r_nan.npz", "non-finite edge"]),
]

# Our own round: what a hostile tester tries next.
OWN_CASES = [
    ("data_dangling_symlink", [*R, "cm", "--data", "{d}/link_missing.npz", *X],
     ["link_missing.npz", "symbolic link to a missing file"]),
    ("data_symlink_loop", [*R, "cm", "--data", "{d}/loop.npz", *X], ["loop.npz", "levels of symbolic links"]),
    ("data_path_through_a_file", [*R, "cm", "--data", "{d}/d.npz/inner.npz", *X],
     ["inner.npz", "Not a directory"]),
    ("data_name_with_newline", [*R, "cm", "--data", "{d}/evil\n.npz", *X], ["evil\\n.npz", "not found"]),
    ("data_name_with_spaces", [*R, "cm", "--data", "{d}/my data.npz", *X], ["my data.npz", "not found"]),
    ("data_name_undecodable_bytes", [*R, "cm", "--data", "{d}/\udcff.npz", *X], ["\\udcff.npz", "not found"]),
    ("data_truncated_npz", [*R, "cm", "--data", "{d}/trunc.npz", *X], ["trunc.npz", "not a readable .npz"]),
    ("data_npz_with_object_array", [*R, "cm", "--data", "{d}/obj.npz", *X], ["obj.npz", "Python objects"]),
    ("data_npz_header_claims_40000_squared", [*R, "cm", "--data", "{d}/d_forged.npz", *X],
     ["d_forged.npz", "'dtn'", "40000×40000"]),
    ("data_empty_zip", [*R, "cm", "--data", "{d}/empty_zip.npz", *X],
     ["empty_zip.npz", "missing array(s) dtn"]),
    ("data_dtn_of_ints", [*R, "cm", "--data", "{d}/d_int_dtn.npz", *X], ["d_int_dtn.npz", "float array"]),
    ("data_mask_of_ints", [*R, "cm", "--data", "{d}/d_mask_int.npz", *X], ["d_mask_int.npz", "bool array"]),
    ("data_n_float", [*R, "cm", "--data", "{d}/d_n_float.npz", *X],
     ["d_n_float.npz", "'n' must be an integer"]),
    ("data_n_zero", [*R, "cm", "--data", "{d}/d_n_zero.npz", *X],
     ["d_n_zero.npz", "n must be an integer >= 1"]),
    ("data_n_a_million", [*R, "cm", "--data", "{d}/d_n_huge.npz", *X], ["d_n_huge.npz", "n <= 256"]),
    ("data_n_an_array", [*R, "cm", "--data", "{d}/d_n_array.npz", *X], ["d_n_array.npz", "'n' must be"]),
    ("data_delta_nan", [*R, "ols", "--data", "{d}/d_delta_nan.npz", *X], ["d_delta_nan.npz", "'delta'"]),
    ("data_delta_bool", [*R, "ols", "--data", "{d}/d_delta_bool.npz", *X], ["d_delta_bool.npz", "got bool"]),
    ("data_seed_negative", [*R, "cm", "--data", "{d}/d_seed_neg.npz", *X],
     ["d_seed_neg.npz", "'seed'", ">= 0"]),
    ("data_noise_model_unknown", [*R, "cm", "--data", "{d}/d_model_pink.npz", *X],
     ["d_model_pink.npz", "unknown noise model 'pink'"]),
    ("data_mask_disagrees_with_nans", [*R, "cm", "--data", "{d}/d_mask_mismatch.npz", *X],
     ["d_mask_mismatch.npz", "must be NaN"]),
    ("data_mask_selects_nothing", [*R, "cm", "--data", "{d}/d_mask_none.npz", *X],
     ["d_mask_none.npz", "selects no entry"]),
    ("data_gamma_true_negative", ["sensitivity", "--data", "{d}/d_gamma_neg.npz", "--out", "{d}/s.npz"],
     ["d_gamma_neg.npz", "gamma_true"]),
    ("data_hash_differs_from_sidecar", [*R, "cm", "--data", "{d}/tampered.npz", *X],
     ["tampered.npz", "does not match its sidecar"]),
    ("data_sidecar_not_json", [*R, "cm", "--data", "{d}/badside.npz", *X],
     ["badside.npz.json", "unreadable"]),
    ("dtn_empty_npy", [*R, "cm", "--dtn", "{d}/empty.npy", *X], ["empty.npy", "not a readable .npy"]),
    ("dtn_text_named_npy", [*R, "cm", "--dtn", "{d}/text.npy", *X], ["text.npy", "not a readable .npy"]),
    ("dtn_npy_truncated", [*R, "cm", "--dtn", "{d}/m_trunc.npy", *X], ["m_trunc.npy", "of data follow"]),
    ("dtn_npy_pickled_objects", [*R, "cm", "--dtn", "{d}/m_obj.npy", *X], ["m_obj.npy", "Python objects"]),
    ("dtn_complex", [*R, "cm", "--dtn", "{d}/m_complex.npy", *X], ["m_complex.npy", "real numbers"]),
    ("dtn_bool", [*R, "cm", "--dtn", "{d}/m_bool.npy", *X], ["m_bool.npy", "real numbers"]),
    ("dtn_three_dimensional", [*R, "cm", "--dtn", "{d}/m_3d.npy", *X], ["m_3d.npy", "4n×4n"]),
    ("dtn_scalar", [*R, "cm", "--dtn", "{d}/m_0d.npy", *X], ["m_0d.npy", "4n×4n"]),
    ("dtn_all_nan", [*R, "cm", "--dtn", "{d}/m_allnan.npy", *X], ["m_allnan.npy", "selects no entry"]),
    ("dtn_n_300_above_limit", [*R, "cm", "--dtn", "{d}/m_n300.npy", *X], ["m_n300.npy", "n <= 256"]),
    ("dtn_entries_1e_minus_200", [*R, "cm", "--dtn", "{d}/m_tiny.npy", *X],
     ["m_tiny.npy", "[1e-100, 1e100]"]),
    ("dtn_negated_partial", [*R, "ols", "--dtn", "{d}/m_neg_partial.npy", *X],
     ["m_neg_partial.npy", "diagonal is not positive"]),
    ("dtn_dev_zero_npy", [*R, "cm", "--dtn", "/dev/zero", *X],
     ["/dev/zero", "unsupported DtN matrix format"]),
    ("csv_with_header_row", [*R, "cm", "--dtn", "{d}/header.csv", *X], ["header.csv", "'a' is not a number"]),
    ("csv_ragged", [*R, "cm", "--dtn", "{d}/ragged.csv", *X], ["ragged.csv", "row 2 has 2 cells"]),
    ("csv_latin1", [*R, "cm", "--dtn", "{d}/latin1.csv", *X], ["latin1.csv", "not a readable CSV"]),
    ("csv_inf", [*R, "cm", "--dtn", "{d}/inf.csv", *X], ["inf.csv", "±inf"]),
    ("mat_not_matlab", [*R, "cm", "--dtn", "{d}/garbage.mat", *X], ["garbage.mat", "not a readable .mat"]),
    ("mat_variable_missing", [*R, "cm", "--dtn", "{d}/m_sparse.mat:J", *X],
     ["m_sparse.mat", "no variable 'J'"]),
    ("mat_string_variable", [*R, "cm", "--dtn", "{d}/m_str.mat:S", *X],
     ["m_str.mat", "not a numeric matrix"]),
    ("dtn_unsupported_suffix", [*R, "cm", "--dtn", "{d}/m.txt", *X], ["m.txt", "unsupported"]),
    ("dtn_no_suffix", [*R, "cm", "--dtn", "{d}/matrix", *X], ["matrix", "(no suffix)"]),
    ("layout_with_data", [*R, "cm", "--layout", "authors", *D, *X], ["--layout applies to --dtn only"]),
    ("gamma_column_vector", ["generate", "--n", "3", "--gamma", "{d}/g_2d.npy", *X], ["g_2d.npy", "(24, 1)"]),
    ("gamma_inf", ["generate", "--n", "3", "--gamma", "{d}/g_inf.npy", *X], ["g_inf.npy", "finite"]),
    ("gamma_zero", ["generate", "--n", "3", "--gamma", "{d}/g_zero.npy", *X], ["g_zero.npy", "positive"]),
    ("gamma_header_claims_1e12", ["generate", "--n", "3", "--gamma", "{d}/g_claims_huge.npy", *X],
     ["g_claims_huge.npy", "8 TB"]),
    ("gamma_dev_zero", ["generate", "--n", "3", "--gamma", "/dev/zero", *X],
     ["/dev/zero", "character device"]),
    ("seed_in_exponent_notation", ["generate", "--n", "3", "--seed", "1e3", *X], ["--seed", "'1e3'"]),
    ("n_with_decimal_point", ["generate", "--n", "3.0", *X], ["--n", "'3.0'"]),
    ("n_empty_string", ["generate", "--n", "", *X], ["--n", "''"]),
    ("n_minus_zero", ["generate", "--n", "-0", *X], ["--n", ">= 1"]),
    ("n_googol", ["generate", "--n", str(10 ** 100), *X], ["--n", "n <= 256", "TB of memory"]),
    ("delta_1e999", ["generate", "--n", "3", "--delta", "1e999", *X], ["--delta", "finite"]),
    ("delta_minus_inf", ["generate", "--n", "3", "--delta=-inf", *X], ["--delta", "finite"]),
    ("delta_hex", ["generate", "--n", "3", "--delta", "0x1", *X], ["--delta", "'0x1'"]),
    ("delta_above_one", ["generate", "--n", "3", "--delta", "2", *X], ["--delta", "<= 1"]),
    ("sensitivity_delta_1e308", ["sensitivity", *D, "--delta", "1e308", "--out", "{d}/s.npz"],
     ["--delta", "<= 1"]),
    ("profile_seed_2_to_63", ["generate", "--n", "3", "--profile-seed", str(2 ** 63), *X],
     ["--profile-seed"]),
    ("nn_iterations_2_to_63", [*R, "nn", "--iterations", str(2 ** 63), *D, *X], ["--iterations", "int64"]),
    ("nn_init_high_below_init_low", [*R, "nn", "--init-high", "0.1", *D, *X],
     ["nn: option --init-high must be >= init_low"]),
    ("nn_gamma_max_below_gamma_min", [*R, "nn", "--gamma-max", "0.05", *D, *X], ["--gamma-max"]),
    ("nn_min_lr_zero", [*R, "nn", "--min-lr", "0", *D, *X], ["--min-lr must be > 0"]),
    ("nn_progress_negative", [*R, "nn", "--progress=-1", *D, *X], ["--progress must be >= 0"]),
    ("ols_tol_inf", [*R, "ols", "--tol", "inf", *D, *X], ["--tol must be finite"]),
    ("tikhonov_alpha_negative", [*R, "tikhonov", "--alpha=-1", "--data", "{d}/nope.npz", *X],
     ["tikhonov: option --alpha must be > 0 or auto"]),
    ("tikhonov_alpha_word", [*R, "tikhonov", "--alpha", "lots", "--data", "{d}/nope.npz", *X],
     ["--alpha must be a number > 0 or auto", "'lots'"]),
    ("tikhonov_prior_unknown", [*R, "tikhonov", "--prior", "flat", "--data", "{d}/nope.npz", *X],
     ["--prior must be one of identity, smooth"]),
    ("tikhonov_alpha_rule_unknown", [*R, "tikhonov", "--alpha-rule", "best", "--data", "{d}/nope.npz", *X],
     ["--alpha-rule must be one of auto, discrepancy, gcv, lcurve"]),
    ("tikhonov_reference_zero", [*R, "tikhonov", "--reference", "0", "--data", "{d}/nope.npz", *X],
     ["--reference must be > 0"]),
    ("tikhonov_discrepancy_without_delta", [*R, "tikhonov", "--alpha-rule", "discrepancy", "--dtn",
                                            "{d}/m.npy", *X], ["m.npy", "alpha_rule=discrepancy", "delta"]),
    ("evaluate_recon_of_strings", ["evaluate", *D, "--recon", "{d}/r_str.npz"],
     ["r_str.npz", "real numbers"]),
    ("sensitivity_recon_negative", ["sensitivity", *D, "--recon", "{d}/r_neg.npz", "--out", "{d}/s.npz"],
     ["r_neg.npz", "cannot linearise"]),
    ("out_through_a_file", ["evaluate", *D, "--recon", "{d}/r.npz", "--out", "{d}/d.npz/e.json"],
     ["--out", "d.npz is not a directory"]),
    ("out_name_too_long", ["generate", "--n", "3", "--out", "{d}/" + "x" * 248 + ".npz"],
     ["--out", "name too long", "255"]),
]

# Real data: the noise level from the data (--delta auto), error bars, scoring without a dataset.
REAL_DATA_CASES = [
    ("delta_auto_on_symmetrised_noise", [*R, "ols", "--delta", "auto", "--dtn", "{d}/m_sym.npy", *X],
     ["m_sym.npy", "rounding level", "symmetrised", "give δ explicitly"]),
    ("delta_auto_on_too_few_entries", [*R, "cm", "--delta", "auto", "--data", "{d}/d_sigma0.npz", *X],
     ["d_sigma0.npz", "too few measured entries"]),
    ("delta_neither_number_nor_auto", [*R, "ols", "--delta", "lots", *D, *X], ["--delta", "'lots'", "auto"]),
    ("delta_auto_misspelt", [*R, "nn_fast", "--delta", "Auto", *D, *X], ["--delta", "'Auto'"]),
    ("noise_model_unknown", [*R, "ols", "--delta", "auto", "--noise-model", "pink", *D, *X],
     ["--noise-model", "'pink'"]),
    ("noise_model_without_auto_or_error_bars", [*R, "ols", "--noise-model", "additive", "--data",
                                                "{d}/nope.npz", *X], ["--noise-model", "--delta auto"]),
    ("error_bars_on_dtn_without_delta", [*R, "cm", "--error-bars", "--dtn", "{d}/nope.npy", *X],
     ["--error-bars", "no noise level", "--delta auto"]),
    ("delta_for_cm_without_error_bars", [*R, "cm", "--delta", "1e-3", *D, *X],
     ["cm: unknown option --delta"]),
    ("error_bars_delta_above_one", [*R, "cm", "--error-bars", "--delta", "2", "--data", "{d}/nope.npz", *X],
     ["cm: option --delta", "[0, 1]"]),
    ("error_bars_at_a_negative_reconstruction", [*R, "cm", "--error-bars", "--data", "{d}/d6.npz", *X],
     ["d6.npz", "error bars: cannot linearise at γ̂", "strictly positive"]),
    ("sensitivity_delta_auto_on_symmetrised_noise", ["sensitivity", "--data", "{d}/d_sym.npz", "--delta",
                                                     "auto", "--out", "{d}/s.npz"],
     ["d_sym.npz", "rounding level"]),
    ("sensitivity_delta_word", ["sensitivity", *D, "--delta", "big", "--out", "{d}/s.npz"],
     ["--delta", "'big'", "auto"]),
    ("evaluate_gamma_true_wrong_length", ["evaluate", "--dtn", "{d}/m.npy", "--gamma-true", "{d}/g_short.npy",
                                          "--recon", "{d}/r.npz"], ["g_short.npy", "(24,)"]),
    ("evaluate_gamma_true_is_a_dataset", ["evaluate", "--dtn", "{d}/m.npy", "--gamma-true", "{d}/d.npz",
                                          "--recon", "{d}/r.npz"], ["--gamma-true", "d.npz", ".npz archive"]),
    ("evaluate_gamma_true_csv_word", ["evaluate", "--dtn", "{d}/m.npy", "--gamma-true", "{d}/g_word.csv",
                                      "--recon", "{d}/r.npz"], ["g_word.csv", "'high' is not a number"]),
    ("evaluate_gamma_true_csv_negative", ["evaluate", *D, "--gamma-true", "{d}/g_neg.csv", "--recon",
                                          "{d}/r.npz"], ["g_neg.csv", "positive"]),
    ("evaluate_gamma_true_mat_no_such_variable", ["evaluate", "--dtn", "{d}/m.npy", "--gamma-true",
                                                  "{d}/g.mat:beta", "--recon", "{d}/r.npz"],
     ["g.mat", "no variable 'beta'"]),
    ("evaluate_gamma_true_unsupported", ["evaluate", "--dtn", "{d}/m.npy", "--gamma-true", "{d}/g.txt",
                                         "--recon", "{d}/r.npz"],
     ["g.txt", "unsupported conductivity format"]),
    ("evaluate_layout_with_data", ["evaluate", *D, "--layout", "authors", "--recon", "{d}/r.npz"],
     ["--layout applies to --dtn only"]),
    ("evaluate_data_and_dtn", ["evaluate", *D, "--dtn", "{d}/m.npy", "--recon", "{d}/r.npz"],
     ["--dtn", "not allowed with argument --data"]),
]

GROUPS = {"CLI: first round": CLI_CASES, "CLI: the issue's cases": ISSUE_CASES, "CLI: our own": OWN_CASES,
          "CLI: real data": REAL_DATA_CASES}
ALL_CLI = [(group, case) for group, cases in GROUPS.items() for case in cases]
SEEN: dict[tuple[str, str], tuple] = {}
"""(group, id) -> (argv shown, exit code, line): what docs/bad_input.md is generated from."""


def shown(text: str, folder: Path) -> str:
    return text.replace(f"{folder}/", "")


@pytest.mark.parametrize("group, case", ALL_CLI, ids=[c[0] for _, c in ALL_CLI])
def test_cli_refuses_bad_input(group, case, folder, capsys, monkeypatch):
    name, argv, words, *env = case
    for key, value in (env[0] if env else {}).items():
        monkeypatch.setenv(key, value)
    before = snapshot(folder)
    capsys.readouterr()
    start = time.perf_counter()
    try:
        code = main([a.format(d=folder) for a in argv])
    except SystemExit as exc:  # argparse's usage errors
        code = exc.code
    line = one_line(capsys.readouterr().err)
    assert time.perf_counter() - start < 10, "no hang"
    assert code not in (0, None), line
    assert line.startswith("discrete-eit"), line
    assert "Traceback" not in line and ".tmp" not in line, line
    for word in words:
        assert word in line, (word, line)
    assert snapshot(folder) == before, "a file was created, changed or removed"
    prefix = " ".join(f"{k}={v}" for k, v in (env[0] if env else {}).items())
    SEEN[group, name] = (" ".join(filter(None, [prefix, *(shown(a.format(d=folder), folder) for a in argv)])),
                         code, shown(line, folder))


def test_enough_cli_cases():
    assert len(CLI_CASES) >= 40 and len(OWN_CASES) >= 40
    ids = [c[0] for _, c in ALL_CLI]
    assert len(ids) == len(set(ids))


def test_nn_options_are_checked_before_torch_is_imported(folder):
    """``--iterations -5`` fails at once: the registry checks it before the method imports torch."""
    before = snapshot(folder)
    code = ("import sys; from discrete_eit.cli import main; rc = main(sys.argv[1:]); "
            "print('torch imported' if 'torch' in sys.modules else 'no torch'); sys.exit(rc)")
    res = subprocess.run([sys.executable, "-c", code, *R, "nn", "--iterations", "-5", "--data",
                          str(folder / "d.npz"), "--out", str(folder / "x.npz")],
                         capture_output=True, text=True)
    assert res.returncode == 1 and res.stdout.strip() == "no torch"
    assert "--iterations must be >= 0, got -5" in one_line(res.stderr)
    assert snapshot(folder) == before


# ---- faults: a full disk, a read-only folder, a long name, signals mid-write ------------------------
def _enospc(monkeypatch, folder):
    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(os, "fsync", full)  # the disk fills while the temporary file is flushed


def _read_only(monkeypatch, folder):
    ro = folder / "ro"
    ro.mkdir(exist_ok=True)
    ro.chmod(0o555)
    if os.geteuid() == 0:  # root writes anywhere: the folder says no through access() as for a user
        real = os.access
        monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if Path(p) == ro and mode & os.W_OK
                            else real(p, mode, **kw))


# (id, argv, fault, words): the fault is injected, then the command must fail naming the target
FAULT_CASES = [
    ("disk_full_generate", ["generate", "--n", "3", "--out", "{d}/new.npz"], _enospc,
     ["new.npz", "cannot write", "No space left on device", "nothing was written"]),
    ("disk_full_reconstruct", [*R, "cm", *D, "--out", "{d}/new.npz"], _enospc, ["new.npz", "No space left"]),
    ("disk_full_evaluate", ["evaluate", *D, "--recon", "{d}/r.npz", "--out", "{d}/e.json"], _enospc,
     ["e.json", "No space left"]),
    ("disk_full_sensitivity", ["sensitivity", *D, "--out", "{d}/s.npz"], _enospc, ["s.npz", "No space left"]),
    ("read_only_folder", ["generate", "--n", "3", "--out", "{d}/ro/x.npz"], _read_only,
     ["--out", "ro/x.npz", "cannot write in", "permission denied"]),
]


@pytest.mark.parametrize("case", FAULT_CASES, ids=[c[0] for c in FAULT_CASES])
def test_faults_name_the_target_and_leave_nothing(case, tmp_path, folder, capsys, monkeypatch):
    name, argv, fault, words = case
    work = tmp_path / "f"
    work.mkdir()
    for f in ("d.npz", "d.npz.json", "r.npz", "r.npz.json"):
        shutil.copy2(folder / f, work / f)
    fault(monkeypatch, work)
    before = snapshot(work)
    capsys.readouterr()
    try:
        code = main([a.format(d=work) for a in argv])
    except SystemExit as exc:
        code = exc.code
    line = one_line(capsys.readouterr().err)
    assert code == 1 and line.startswith("discrete-eit: error: "), line
    assert ".tmp" not in line and "Traceback" not in line, line
    for word in words:
        assert word in line, (word, line)
    assert snapshot(work) == before, "a file was created, changed or removed"
    (work / "ro").exists() and (work / "ro").chmod(0o755)
    SEEN["Faults", name] = (" ".join(shown(a.format(d=work), work) for a in argv), code, shown(line, work))


def test_a_long_legal_output_name_is_written(tmp_path):
    """A 240-character name: its sidecar (245) and both temporary names must fit in 255 bytes."""
    out = tmp_path / ("x" * 236 + ".npz")
    assert main(["generate", "--n", "2", "--out", str(out)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name, out.name + ".json"]


_SLOW_WRITE = """
import os, sys, time
from pathlib import Path
from discrete_eit.cli import main
real = os.fsync
def slow(fd):
    Path(sys.argv[1]).touch()   # the temporary file is open: the parent may signal now
    time.sleep(30)
os.fsync = slow
sys.exit(main(sys.argv[2:]))
"""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_mid_write_leaves_no_debris(sig, tmp_path):
    """Killed while its temporary file is being written: one line, exit 128 + signal, no file left
    (no .NAME.XXXX.tmp, no sidecar without its artifact)."""
    work, marker = tmp_path / "w", tmp_path / "writing"
    work.mkdir()
    # SIGINT at its default (a shell's background job, e.g. a CI started with `&`, ignores it, and
    # an ignored SIGINT stays ignored in the child: Python then installs no KeyboardInterrupt)
    proc = subprocess.Popen([sys.executable, "-c", _SLOW_WRITE, str(marker), "generate", "--n", "2",
                             "--out", str(work / "x.npz")], stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    line = one_line(err)
    assert proc.returncode == 128 + sig, line
    assert line.startswith(f"discrete-eit: interrupted ({signal.Signals(sig).name})"), line
    assert list(work.iterdir()) == []
    SEEN["Faults", f"{signal.Signals(sig).name.lower()}_mid_write"] = (
        f"generate --n 2 --out x.npz, {signal.Signals(sig).name} while writing", proc.returncode, line)


# ---- a DtN map within what noise allows --------------------------------------------------------------
@pytest.mark.parametrize("model", ["relative", "additive", "student_t", "gain"])
def test_noisy_datasets_pass_the_dtn_check(model):
    """Every noise model at δ = 1e-2 (the workflow's largest), every set, both symmetries, three
    profiles, n up to 12, several seeds: accepted — also with δ unknown (a measured matrix)."""
    from discrete_eit.problem import Lattice, conductivity_profile
    from discrete_eit.problem.datasets import check_dtn_map, generate_dataset
    from discrete_eit.problem.partial import PARTIAL_SETS

    for n in (2, 3, 4, 6, 8, 12):
        for profile in ("wave", "random", "constant"):
            gamma = conductivity_profile(profile, Lattice(n), 0)
            for pset in PARTIAL_SETS:
                for symmetric in (False, True):
                    for seed in range(4 if n <= 6 else 1):
                        d = generate_dataset(gamma, n, 1e-2, seed, pset, symmetric, model)
                        check_dtn_map(d)
                        d.delta = None
                        check_dtn_map(d)


def test_the_workflows_datasets_pass_the_dtn_check():
    """Every dataset the default configuration generates (cells of every study) passes."""
    from snakemake.utils import validate

    from discrete_eit.experiment import grid
    from discrete_eit.methods import load_methods
    from discrete_eit.problem import Lattice, conductivity_profile
    from discrete_eit.problem.datasets import check_dtn_map, generate_dataset

    cfg = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    validate(cfg, str(SCHEMA))
    cells, _ = grid.expand_cells(cfg, load_methods())
    datasets = {c.dataset for c in cells}
    assert len(datasets) > 50
    for profile, n, pset, delta, seed, model in sorted(datasets):
        gamma = conductivity_profile(profile, Lattice(n), cfg["profile_seed"])
        check_dtn_map(generate_dataset(gamma, n, delta, seed, pset, cfg["symmetric_noise"], model))


@pytest.mark.parametrize("model", ["relative", "additive", "student_t", "gain"])
def test_cm_reconstructs_noisy_data_of_every_model(model, tmp_path):
    """Through the CLI: generate at δ = 1e-2, reconstruct with cm (exit 0)."""
    data, out = tmp_path / "d.npz", tmp_path / "r.npz"
    assert main(["generate", "--n", "4", "--delta", "1e-2", "--noise-model", model, "--out", str(data)]) == 0
    assert main([*R, "cm", "--data", str(data), "--out", str(out)]) == 0


# ---- configuration cases -----------------------------------------------------------------------------
ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "workflow/schemas/config.schema.yaml"


def checked(files: list[Path]):
    """The workflow's check of the merged config files (schema with defaults, then the package's)."""
    import jsonschema
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import update_config, validate

    from discrete_eit.methods import load_methods

    check_config_files(files)  # the first line of the workflow's checked(), as in common.smk
    cfg: dict = {}
    for f in files:
        update_config(cfg, yaml.safe_load(f.read_text()))
    try:
        validate(cfg, str(SCHEMA))
    except WorkflowError as exc:
        assert isinstance(exc.__context__, jsonschema.ValidationError)
        raise schema_error(exc.__context__) from None
    check_config(cfg, load_methods())


# (id, overlay on config/config.yaml, key named, words)
CONFIG_CASES = [
    ("unknown_top_key", {"bogus": 1}, "bogus", "unknown key"),
    ("unknown_study_key", {"studies": {"noise": {"typo": 1}}}, "studies.noise.typo", "unknown key"),
    ("n_wrong_type", {"studies": {"sizes": {"n": ["four"]}}}, "studies.sizes.n[0]", "'four'"),
    ("n_too_large", {"studies": {"sizes": {"n": [4, 10000]}}}, "studies.sizes.n[1]", "TB of memory"),
    ("working_n_too_large", {"figures": {"working_n": 300}}, "figures.working_n", "n <= 256"),
    ("delta_negative", {"studies": {"noise": {"delta": [0, -1e-3]}}}, "studies.noise.delta[1]",
     "less than the minimum of 0"),
    ("unknown_method", {"runs": {"magic": {"method": "magic"}}}, "runs.magic.method", "unknown method"),
    ("option_unknown", {"runs": {"cm": {"options": {"bogus": 1}}}}, "runs.cm.options.bogus", "bogus"),
    ("option_bad_choice", {"runs": {"cm": {"options": {"variant": "three-sided"}}}},
     "runs.cm.options.variant", "one of"),
    ("option_wrong_type", {"runs": {"nn": {"options": {"iterations": "lots"}}}},
     "runs.nn.options.iterations", "type int"),
    ("option_injection", {"runs": {"ols": {"options": {"tau": "1.0; touch X; true"}}}},
     "runs.ols.options.tau", "type float"),
    ("fixed_edges_injection",
     {"runs": {"nn_fixed": {"options": {"fixed_edges": "7 --threads 1; touch X; true"}}}},
     "runs.nn_fixed.options.fixed_edges", "expected INDEX, INDEX=VALUE, spikes or ring"),
    ("option_negative", {"runs": {"nn": {"options": {"iterations": -5}}}}, "runs.nn.options.iterations",
     ">= 0"),
    ("option_below_minimum", {"runs": {"ols": {"options": {"max_iterations": 0}}}},
     "runs.ols.options.max_iterations", ">= 1"),
    ("option_not_finite", {"runs": {"nn": {"options": {"lr": float("nan")}}}}, "runs.nn.options.lr",
     "finite"),
    ("unknown_partial_set", {"studies": {"partial": {"sets": ["full", "nosuch"]}}},
     "studies.partial.sets[1]", "unknown partial set"),
    ("unknown_profile", {"studies": {"noise": {"profiles": ["flat"]}}}, "studies.noise.profiles[0]",
     "unknown profile"),
]


# The second round: overlays as YAML text (duplicate keys, tags and NaN have no safe_dump form).
# (id, text of bad.yaml, key named (None: the file as a whole), words)
CONFIG_ISSUE_CASES = [
    ("study_delta_nan", "studies:\n  noise:\n    delta: [0, .nan]\n", "studies.noise.delta[1]",
     "not a finite number"),
    ("study_delta_inf", "studies:\n  noise:\n    delta: [0, .inf]\n", "studies.noise.delta[1]",
     "not a finite number"),
    ("monte_carlo_delta_nan", "monte_carlo:\n  delta: .nan\n", "monte_carlo.delta", "not a finite number"),
    ("monte_carlo_delta_inf", "monte_carlo:\n  delta: .inf\n", "monte_carlo.delta", "not a finite number"),
    ("seed_2_to_64", "studies:\n  noise:\n    seeds: [18446744073709551616]\n", "studies.noise.seeds[0]",
     "greater than the maximum of 9223372036854775807"),
    ("profile_seed_2_to_64", "profile_seed: 18446744073709551616\n", "profile_seed", "maximum"),
    ("figure_seed_2_to_63", "figures:\n  seed: 9223372036854775808\n", "figures.seed", "maximum"),
    ("monte_carlo_n_257", "monte_carlo:\n  n: 257\n", "monte_carlo.n", "n <= 256"),
    ("n_float", "studies:\n  sizes:\n    n: [4.0]\n", "studies.sizes.n[0]", "must be an integer, got 4.0"),
    ("run_name_with_final_newline", 'runs:\n  "evil\\n": {method: cm}\n', "runs", "does not match"),
    ("study_run_with_final_newline", 'studies:\n  sizes:\n    runs: ["cm\\n"]\n', "studies.sizes.runs[0]",
     "does not match"),
    ("duplicate_top_key", "profile_seed: 1\nprofile_seed: 2\n", "profile_seed",
     "key given twice (lines 1 and 2)"),
    ("duplicate_nested_key", "runs:\n  cm:\n    method: cm\n    method: ols\n", "runs.cm.method",
     "key given twice"),
    ("python_name_tag", "profile_seed: !!python/name:os.system\n", "profile_seed",
     "YAML tag '!!python/name:os.system'"),
    ("empty_overlay", "", None, "empty; expected a mapping"),
    ("null_overlay", "null\n", None, "null at its top level"),
    ("list_overlay", "- runs\n- studies\n", None, "its top level is a list"),
]
CONFIG_OWN_CASES = [
    ("python_object_apply_tag", 'x: !!python/object/apply:os.system ["touch X"]\n', "x", "not allowed"),
    ("local_tag", "profile_seed: !seed 3\n", "profile_seed", "YAML tag '!seed'"),
    ("binary_tag", "profile_seed: !!binary aGVsbG8=\n", "profile_seed", "YAML tag '!!binary'"),
    ("set_tag", "studies:\n  sizes:\n    n: !!set {4: null}\n", "studies.sizes.n", "!!set"),
    ("billion_laughs", "a: &a [1,1,1,1,1,1,1,1,1,1]\n" + "".join(
        f"{x}: &{x} [{', '.join(['*' + p] * 10)}]\n" for p, x in zip("abcd", "bcde", strict=True)), None,
     "aliases expand to"),
    ("not_utf8", b"profile_seed: 1 # \xff\n", None, "not UTF-8"),
    ("tab_indentation", "studies:\n\tsizes: {}\n", None, "not valid YAML"),
    ("unclosed_bracket", "studies: [\n", None, "not valid YAML"),
    ("scalar_top_level", "hello\n", None, "its top level is the value 'hello'"),
    ("draws_float", "monte_carlo:\n  draws: 100.0\n", "monte_carlo.draws", "must be an integer"),
    ("working_n_float", "figures:\n  working_n: 6.0\n", "figures.working_n", "must be an integer"),
    ("fig1_n_above_12", "figures:\n  fig1_n: 13\n", "figures.fig1_n", "maximum of 12"),
    ("delta_above_one", "studies:\n  noise:\n    delta: [2]\n", "studies.noise.delta[0]", "maximum of 1"),
    ("delta_as_string", "studies:\n  noise:\n    delta: ['1e-3']\n", "studies.noise.delta[0]",
     "is not of type 'number'"),
    ("delta_bool", "studies:\n  noise:\n    delta: [true]\n", "studies.noise.delta[0]",
     "is not of type 'number'"),
    ("n_bool", "studies:\n  sizes:\n    n: [true]\n", "studies.sizes.n[0]", "is not of type 'integer'"),
    ("option_inf", "runs:\n  nn:\n    options: {lr: .inf}\n", "runs.nn.options.lr", "not a finite number"),
    ("option_lr_zero", "runs:\n  nn:\n    options: {lr: 0}\n", "runs.nn.options.lr", "must be > 0"),
    ("option_iterations_2_to_63", "runs:\n  nn:\n    options: {iterations: 9223372036854775808}\n",
     "runs.nn.options.iterations", "int64"),
    ("option_init_high_below_low", "runs:\n  nn:\n    options: {init_high: 0.1}\n",
     "runs.nn.options.init_high", "must be >= init_low"),
    ("run_name_uppercase", "runs:\n  CM: {method: cm}\n", "runs", "does not match"),
    ("profile_name_with_newline", 'monte_carlo:\n  profile: "wave\\n"\n', "monte_carlo.profile",
     "does not match"),
    ("seed_negative_float", "studies:\n  noise:\n    seeds: [-1.0]\n", "studies.noise.seeds[0]",
     "must be an integer"),
]
TEXT_CASES = [("Configuration: the issue's cases", c) for c in CONFIG_ISSUE_CASES] + [
    ("Configuration: our own", c) for c in CONFIG_OWN_CASES]


@pytest.mark.parametrize("case", CONFIG_CASES, ids=[c[0] for c in CONFIG_CASES])
def test_config_errors_are_one_line_naming_file_and_key(case, tmp_path, monkeypatch):
    _, overlay, key, words = case
    text = yaml.safe_dump(overlay, default_flow_style=True).strip()
    _config_case("Configuration: first round", case[0], text, key, words, tmp_path, monkeypatch)


@pytest.mark.parametrize("group, case", TEXT_CASES, ids=[c[0] for _, c in TEXT_CASES])
def test_config_files_are_read_strictly(group, case, tmp_path, monkeypatch):
    _config_case(group, *case, tmp_path, monkeypatch)


def _config_case(group, name, text, key, words, tmp_path, monkeypatch):
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(text if isinstance(text, bytes) else text.encode())
    files = [ROOT / "config/config.yaml", bad]
    before = snapshot(tmp_path)
    with pytest.raises(ConfigError) as info:
        checked(files)
    monkeypatch.chdir(tmp_path)
    line = config_error_line(info.value, files)
    what = "not a valid configuration file: " if key is None else f"invalid configuration: {key}: "
    assert "\n" not in line and line.startswith(f"bad.yaml: {what}"), line
    assert words in line, line
    assert snapshot(tmp_path) == before
    SEEN[group, name] = (text.decode("latin-1") if isinstance(text, bytes) else text, 1, line)


def test_config_error_names_the_file_that_sets_the_key(tmp_path):
    """Merge order decides: the last file that sets a key is the one named; a key only the default
    file sets is blamed on it."""
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    first.write_text(yaml.safe_dump({"runs": {"cm": {"options": {"variant": "three-sided"}}}}))
    second.write_text(yaml.safe_dump({"runs": {"cm": {"options": {"variant": "four-sided"}}}}))
    err = ConfigError("runs.cm.options.variant", "must be one of ...")
    assert config_error_line(err, [first, second]).startswith(f"{second}: ")
    assert config_error_line(err, [second, first]).startswith(f"{first}: ")
    default = ROOT / "config/config.yaml"
    line = config_error_line(ConfigError("studies.sizes.n[0]", "x"), [default, first])
    assert line.endswith("config/config.yaml: invalid configuration: studies.sizes.n[0]: x"), line


def test_valid_configs_still_pass():
    checked([ROOT / "config/config.yaml"])
    for name in ("quick.yaml", "paper.yaml"):
        checked([ROOT / "config/config.yaml", ROOT / "config" / name])


def test_enough_config_cases():
    assert len(CONFIG_OWN_CASES) >= 20
    ids = [c[0] for c in CONFIG_CASES + CONFIG_ISSUE_CASES + CONFIG_OWN_CASES]
    assert len(ids) == len(set(ids))


@pytest.fixture(scope="module")
def workflow_copy(tmp_path_factory):
    from _workflow import copy_workflow

    return copy_workflow(tmp_path_factory.mktemp("wf"))


@pytest.mark.parametrize("overlay, key", [
    ({"bogus": 1}, "bogus"),
    # the second round: strict reading of the overlay itself (duplicate keys, NaN)
    ("profile_seed: 1\nprofile_seed: 2\n", "profile_seed"),
    ("studies:\n  noise:\n    delta: [0, .nan]\n", "studies.noise.delta[1]"),
    # the two injection strings of the trust work: refused before any job, nothing runs (no file X)
    ({"runs": {"ols": {"options": {"tau": "1.0; touch X; true"}}}}, "runs.ols.options.tau"),
    ({"runs": {"nn_fixed": {"options": {"fixed_edges": "7 --threads 1; touch X; true"}}}},
     "runs.nn_fixed.options.fixed_edges"),
    ({"studies": {"sizes": {"n": [4, 10000]}}}, "studies.sizes.n[1]"),
])
def test_snakemake_reports_config_errors_in_one_line(overlay, key, workflow_copy):
    """What a user sees: one line naming the overlay file and the key, no WorkflowError header or
    stack line (Snakemake's own notices — that config.yaml was extended, that the workflow profile
    profiles/default is used — are the only other lines)."""
    wd = workflow_copy
    (wd / "bad.yaml").write_text(overlay if isinstance(overlay, str) else yaml.safe_dump(overlay))
    before = snapshot(wd)
    res = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--configfile", "config/quick.yaml",
                          "bad.yaml"], cwd=wd, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONHASHSEED": "0"})
    lines = [ln for ln in (res.stdout + res.stderr).splitlines()
             if ln.strip() and not ln.startswith(("Config file ", "Using workflow specific profile "))]
    assert res.returncode != 0 and len(lines) == 1, lines
    assert lines[0].startswith(f"bad.yaml: invalid configuration: {key}: "), lines[0]
    shutil.rmtree(wd / ".snakemake", ignore_errors=True)
    assert {k: v for k, v in snapshot(wd).items() if not k.startswith(".snakemake")} == before


def test_config_cases_do_not_edit_the_real_configs():
    """The overlays are written to temporary files; config/*.yaml stay as committed."""
    for name in ("config.yaml", "quick.yaml"):
        text = (ROOT / "config" / name).read_text()
        assert "bogus" not in text and "touch X" not in text



# ---- docs/bad_input.md, generated from the cases above ---------------------------------------------
DOC = ROOT / "docs/bad_input.md"
DOC_HEAD = """\
# Bad input: what the CLI and the configuration check say

<!-- Generated by tests/test_bad_input.py (tools/bad-input-doc.sh); edit DOC_HEAD there, not here. -->

Every case below is a case of `tests/test_bad_input.py`, which asserts the exit code (≠ 0), that
stderr is this one line, naming the flag, file or config key and the problem, that nothing hangs,
and that no file was created, changed or removed (a snapshot of names, sizes, mtimes and sha256
before and after; FIFOs and links by kind). The tables are written by the test file itself
(`tools/bad-input-doc.sh`), and its last test fails when they differ from what the cases print.
Paths are shown relative to the test's input folder; `argparse`'s usage errors exit 2 and end with
`(see discrete-eit … --help)`, data and output errors exit 1, signals 128 + the signal.

## The rules

* **Option checks come first.** Method options are checked by the registry (type, choices, finite,
  `minimum` — 0 unless declared otherwise —, `positive`, `maximum`/`below`, int64 range, and
  relations such as `init_low <= init_high`) before any data are loaded or a method imports
  anything heavy: `reconstruct --method nn --iterations -5` fails without importing torch (tested),
  and `nn --lr 0 --data nope.npz` names `--lr`, not the missing file. One condition per message.
* **Numbers are bounded where the types end.** Seeds are int64 (the dataset file stores them so):
  `--seed`, `--profile-seed` and the configuration's seeds are at most 2**63 − 1. A noise level δ
  (`--delta` of every command, the dataset field `delta`, the configuration's δ) is a finite number
  in [0, 1] — 1 is noise as large as the data; nothing reconstructs from more. The limit on n
  (`DISCRETE_EIT_MAX_N`, default 256) applies to `generate --n`, to every n of the configuration
  (`monte_carlo.n` included), to a dataset's `n` and to the size of a `--dtn` matrix; the message
  gives the memory one forward solve would take.
* **Files are refused by kind and sizes before allocation.** An input is `stat`ed before it is
  opened: a directory, a FIFO, a device, a socket, a dangling link or a link loop is named as such
  (a FIFO is never opened, so nothing blocks). An `.npy` header (and every array header inside an
  `.npz`) is read first: an array that claims more bytes than follow it, or more than one forward
  solve at the size limit takes, or Python objects, is refused before anything is allocated.
* **A DtN map is validated** (`discrete_eit.problem.datasets.check_dtn_map`) before any method runs,
  whatever the method: one condition per message, in this order —
  1. its largest measured entry lies in [1e-100, 1e100] (beyond, squares and the inverse squares of
     the least-squares weights leave the float range; an all-zero matrix is refused too);
  2. its measured diagonal is positive (median > 0): Λ_ii > 0 in the sign convention of MATH.md §2
     (current into the network) — a negated matrix is refused whatever the method;
  3. it is symmetric on the measured pairs: max |Λ_ij − Λ_ji| ≤ t · max |Λ|;
  4. the rows measured completely sum to zero: |Σ_j Λ_ij| ≤ t · Σ_j |Λ_ij|;

  with t = 0.5 + 5 δ, δ the known noise level (`--delta`, else the dataset's, else 0 for a measured
  matrix). Why these numbers (measured, `tests/test_bad_input.py` keeps them true): noisy Λ^δ is
  not symmetric (MATH.md §3: independent noise per entry, unless `--symmetric-noise`), and over
  every noise model at δ = 1e-2 (the workflow's largest), n = 1…24, three profiles, both symmetry
  options and 10 seeds the largest asymmetry is 0.054 × max |Λ| and the largest row-sum ratio 0.21
  (both from the `additive` model; `relative` 0.021 / 0.019). At the ratios that t = 0.5 refuses,
  no method recovers γ: ols, nn_fast and cm have relative errors of 30 % to 10⁸ already where
  asymmetries reach 0.3 (relative noise δ = 0.3, additive δ = 0.03). Λ + 1 has row-sum ratio 1.
* **Outputs name the target.** A read-only folder, a folder that is a file and a name too long for
  its sidecar (`NAME.json`, 255 bytes at most) are refused before any work; a full disk (ENOSPC) or
  any other write error names the file being written, never its hidden temporary
  `.NAME.XXXXXXXX.tmp` (whose name keeps at most 64 characters of NAME, so a legal 240-character
  name is written — tested). Temporary files are removed on every error and on SIGINT, SIGTERM and
  SIGHUP (turned into an exception that unwinds), so no command leaves debris (`.tmp` files or a
  sidecar without its artifact).
* **One line.** Control characters and undecodable bytes in a message (a file name with a newline)
  are escaped.

## Configuration

Every config file is first read strictly on its own (`discrete_eit.experiment.config_files`, the
first call of the workflow's `checked()`): not UTF-8 or not YAML, a YAML tag beyond plain YAML
(`!!python/name:…`, `!!binary`, local tags), aliases that expand beyond 100 000 values, a key given
twice in one mapping, a top level that is empty, `null`, a list or a scalar, a number that is not
finite anywhere (`.nan`, `.inf`: the schema's comparisons cannot refuse NaN), and a float where
the schema asks for an integer (`n: [4.0]`). Then the merged configuration goes through the schema
(`workflow/schemas/config.schema.yaml`: every name pattern ends in `(?!\\n)$`, because Python's `$`
also matches before a final newline) and the package's checks. The error names the file that sets
the key (the last in merge order) — for a file-level error the file itself.

Through Snakemake (`snakemake -n --configfile config/quick.yaml bad.yaml`) this is the only line
besides Snakemake's own notices (that config.yaml was extended, that the workflow profile
`profiles/default` is used); the exit code is 1 and no job runs (six of these cases run Snakemake
in the tests; the rest call the checks directly). One limit: Snakemake itself refuses an empty,
`null`, list or scalar overlay before the workflow's code runs, with its own
`WorkflowError: Config file must be given as JSON or YAML with keys at top level.` (no file
named); `python -m discrete_eit.experiment.config_files FILE...` names it.
"""


def _cell(text: str) -> str:
    from discrete_eit.cli import one_line as printable

    text = printable(text).replace("|", "\\|")
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def render_doc(seen: dict[tuple[str, str], tuple]) -> str:
    out = [DOC_HEAD]
    groups: dict[str, list] = {}
    for (group, _), row in seen.items():
        groups.setdefault(group, []).append(row)
    for group, rows in groups.items():
        out.append(f"\n## {group} ({len(rows)} cases)\n")
        if group.startswith("Configuration"):
            out.append("| overlay `bad.yaml` | message |\n|---|---|")
            out += [f"| {_cell(case)} | {_cell(line)} |" for case, _, line in rows]
        else:
            out.append("| command | exit | stderr |\n|---|---|---|")
            out += [f"| {_cell(case)} | {code} | {_cell(line.split(' (see discrete-eit')[0])} |"
                    for case, code, line in rows]
    return "\n".join(out) + "\n"


def test_zz_docs_bad_input_md_is_generated_from_these_cases():
    """Runs last: the doc is what the cases printed (``DISCRETE_EIT_WRITE_DOC=1`` rewrites it)."""
    expected = ([(g, c[0]) for g, c in ALL_CLI] + [("Faults", c[0]) for c in FAULT_CASES]
                + [("Faults", "sigint_mid_write"), ("Faults", "sigterm_mid_write")]
                + [("Configuration: first round", c[0]) for c in CONFIG_CASES]
                + [(g, c[0]) for g, c in TEXT_CASES])
    missing = [k for k in expected if k not in SEEN]
    if missing:
        pytest.skip(f"only a part of the cases ran ({len(missing)} missing, e.g. {missing[0]})")
    order = {k: i for i, k in enumerate(expected)}
    text = render_doc(dict(sorted(SEEN.items(), key=lambda kv: order[kv[0]])))
    if os.environ.get("DISCRETE_EIT_WRITE_DOC") == "1":
        DOC.write_text(text, encoding="utf-8")
    assert DOC.read_text(encoding="utf-8") == text, "docs/bad_input.md is stale: run tools/bad-input-doc.sh"

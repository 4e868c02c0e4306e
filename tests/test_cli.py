"""The ``discrete-eit`` command line: file formats, provenance, determinism and bad input."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from discrete_eit.artifacts.sidecar import sha256_file
from discrete_eit.cli import main


def run(argv, capsys):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def generate(tmp_path, capsys, name="d.npz", *extra):
    path = tmp_path / name
    code, _, err = run(["generate", "--n", 3, "--noise", 1e-3, "--seed", 7, *extra, "--out", path], capsys)
    assert code == 0, err
    return path


def test_generate_format_and_sidecar(tmp_path, capsys):
    path = generate(tmp_path, capsys, "d.npz", "--partial", "last3n")
    with np.load(path, allow_pickle=False) as z:
        assert sorted(z.files) == ["delta", "dtn", "gamma_true", "mask", "n", "noise_model", "partial_set",
                                   "profile", "profile_seed", "seed", "symmetric_noise"]
        assert str(z["noise_model"]) == "relative"
        assert float(z["delta"]) == 1e-3 and int(z["seed"]) == 7 and str(z["partial_set"]) == "last3n"
        assert z["dtn"].shape == (12, 12) and z["dtn"].dtype == np.float64
        assert z["mask"].dtype == bool and int(z["n"]) == 3 and z["gamma_true"].shape == (24,)
        assert np.isnan(z["dtn"][:, :3]).all()
    side = json.loads((tmp_path / "d.npz.json").read_text())
    assert side["sha256"] == sha256_file(path)
    assert side["params"] == {"n": 3, "profile": "wave", "profile_seed": 0, "delta": 1e-3, "seed": 7,
                              "partial_set": "last3n", "symmetric_noise": False, "noise_model": "relative"}
    assert side["packages"]["numpy"] == np.__version__ and "git_commit" in side["code_version"]
    assert side["wall_time_s"] >= 0


def test_meaning_lives_in_the_file_not_the_sidecar(tmp_path, capsys):
    """δ (and the rest) are read from the dataset file: editing or deleting the sidecar changes
    no result."""
    from discrete_eit.artifacts.formats import load_dataset

    data = generate(tmp_path, capsys, "d.npz")
    out_a, out_b = tmp_path / "a.npz", tmp_path / "b.npz"
    assert run(["reconstruct", "--method", "ols", "--data", data, "--out", out_a], capsys)[0] == 0
    side = tmp_path / "d.npz.json"
    record = json.loads(side.read_text())
    record["params"]["delta"] = 0.5
    side.write_text(json.dumps(record))
    assert load_dataset(data).delta == 1e-3
    assert run(["reconstruct", "--method", "ols", "--data", data, "--out", out_b], capsys)[0] == 0
    with np.load(out_a) as a, np.load(out_b) as b:
        assert np.array_equal(a["gamma"], b["gamma"])
    side.unlink()
    assert load_dataset(data).delta == 1e-3 and load_dataset(data).partial_set == "full"
    out_c = tmp_path / "c.npz"
    assert run(["reconstruct", "--method", "ols", "--data", data, "--out", out_c], capsys)[0] == 0
    with np.load(out_a) as a, np.load(out_c) as c:
        assert np.array_equal(a["gamma"], c["gamma"])
    assert json.loads((tmp_path / "c.npz.json").read_text())["info"]["stop"] == "discrepancy"


def test_same_arguments_byte_identical(tmp_path, capsys):
    a = generate(tmp_path, capsys, "a.npz")
    b = generate(tmp_path, capsys, "b.npz")
    assert a.read_bytes() == b.read_bytes()
    c = tmp_path / "c.npz"
    assert run(["generate", "--n", 3, "--noise", 1e-3, "--seed", 8, "--out", c], capsys)[0] == 0
    assert a.read_bytes() != c.read_bytes()


def test_user_gamma_and_dtn_inputs(tmp_path, capsys):
    gamma = np.linspace(0.5, 1.5, 12)
    np.save(tmp_path / "g.npy", gamma)
    out = tmp_path / "d.npz"
    assert run(["generate", "--n", 2, "--gamma", tmp_path / "g.npy", "--out", out], capsys)[0] == 0
    with np.load(out) as z:
        np.testing.assert_array_equal(z["gamma_true"], gamma)
    side = json.loads((tmp_path / "d.npz.json").read_text())
    assert side["inputs"] == {str(tmp_path / "g.npy"): sha256_file(tmp_path / "g.npy")}


def test_sensitivity_and_evaluate(tmp_path, capsys):
    data = generate(tmp_path, capsys)
    code, out, err = run(["sensitivity", "--data", data, "--out", tmp_path / "s.npz"], capsys)
    assert code == 0, err
    summary = json.loads(out)
    assert summary["full_rank"] and summary["rank"] == 24
    with np.load(tmp_path / "s.npz") as z:
        np.testing.assert_allclose(z["std"], 1e-3 * z["std_per_delta"])
    # evaluate the truth as a "reconstruction": zero error, residual at the noise level
    with np.load(data) as z:
        np.save(tmp_path / "truth.npy", z["gamma_true"])
        from discrete_eit.artifacts.formats import write_artifact
        write_artifact(tmp_path / "r.npz", {"gamma": z["gamma_true"]}, "reconstruction", {}, [data])
    code, out, err = run(["evaluate", "--data", data, "--recon", tmp_path / "r.npz"], capsys)
    assert code == 0, err
    m = json.loads(out)
    assert m["relative_l2_error"] == 0 and m["max_relative_error"] == 0
    assert 1e-4 < m["dtn_residual"] < 3e-3


@pytest.mark.parametrize("method", ["cm", "ols"])
def test_a_batch_of_a_per_dataset_method_equals_single_runs(tmp_path, capsys, method):
    """Several --data in one process (the workflow's `reconstruct` jobs): each result bit-identical
    to its own run, timed on its own, batch_size 1."""
    datas = [generate(tmp_path, capsys, f"d{i}.npz", "--seed", str(i)) for i in (1, 2)]
    singles = [tmp_path / f"single{i}.npz" for i in (1, 2)]
    for data, out in zip(datas, singles, strict=True):
        assert run(["reconstruct", "--method", method, "--data", data, "--out", out], capsys)[0] == 0
    batch = [tmp_path / f"batch{i}.npz" for i in (1, 2)]
    code, _, err = run(["reconstruct", "--method", method, "--data", *datas, "--out", *batch], capsys)
    assert code == 0, err
    walls = []
    for single, member, data in zip(singles, batch, datas, strict=True):
        with np.load(single) as a, np.load(member) as b:
            np.testing.assert_array_equal(a["gamma"], b["gamma"])
        meta = json.loads(Path(f"{member}.json").read_text())
        assert meta["batch_size"] == 1 and meta["params"]["data"] == str(data)
        assert list(meta["inputs"]) == [str(data)] and meta["wall_time_s"] > 0
        walls.append(meta["wall_time_s"])
    assert walls[0] != walls[1]  # each timed on its own, not the batch's time split evenly


def one_line_error(code, err, *needles):
    assert code != 0
    lines = [ln for ln in err.strip().splitlines() if "INFO" not in ln]
    assert len(lines) == 1, err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


@pytest.mark.parametrize("argv, needles", [
    (["generate", "--n", "0"], ["--n", "must be an integer >= 1"]),
    (["generate", "--n", "3", "--profile", "zigzag"], ["--profile", "zigzag"]),
    (["generate", "--n", "3", "--partial", "half"], ["--partial", "half"]),
    (["generate", "--n", "3", "--noise", "-0.1"], ["--noise", ">= 0"]),
    (["generate", "--n", "3", "--noise", "nan"], ["--noise"]),
])
def test_bad_generate_arguments(argv, needles, tmp_path, capsys):
    out = tmp_path / "x.npz"
    with pytest.raises(SystemExit) as exc:
        main(argv + ["--out", str(out)])
    one_line_error(exc.value.code, capsys.readouterr().err, *needles)
    assert not out.exists()


def test_bad_gamma_file(tmp_path, capsys):
    np.save(tmp_path / "g.npy", np.ones(5))
    out = tmp_path / "x.npz"
    code, _, err = run(["generate", "--n", 2, "--gamma", tmp_path / "g.npy", "--out", out], capsys)
    one_line_error(code, err, "g.npy", "shape")
    assert not out.exists()


def corrupt(path, how):
    data = bytearray(path.read_bytes())
    if how == "truncate":
        path.write_bytes(bytes(data[: len(data) // 2]))
    else:  # flip one bit in the middle of the payload
        data[len(data) // 2] ^= 1
        path.write_bytes(bytes(data))


@pytest.mark.parametrize("how", ["truncate", "tamper"])
def test_truncated_or_tampered_dataset(how, tmp_path, capsys):
    data = generate(tmp_path, capsys)
    corrupt(data, how)
    out = tmp_path / "s.npz"
    code, _, err = run(["sensitivity", "--data", data, "--out", out], capsys)
    one_line_error(code, err, str(data))
    assert not out.exists() and not (tmp_path / "s.npz.json").exists()


def test_tampered_array_detected_by_sidecar_hash(tmp_path, capsys):
    # a well-formed npz whose values were edited is caught by the sidecar's sha256
    data = generate(tmp_path, capsys)
    with np.load(data) as z:
        arrays = dict(z)
    arrays["dtn"][4, 4] *= 1.01
    np.savez(data, **arrays)
    code, _, err = run(["sensitivity", "--data", data, "--out", tmp_path / "s.npz"], capsys)
    one_line_error(code, err, str(data), "sha256")
    assert not (tmp_path / "s.npz").exists() and not (tmp_path / "s.npz.json").exists()


@pytest.mark.parametrize("problem, needles", [
    ("shape", ["dtn must have shape (12, 12)"]),
    ("nonfinite", ["non-finite measured entry"]),
    ("n", ["n must be an integer >= 1"]),
    ("mask", ["mask must be"]),
])
def test_malformed_dataset_refused(problem, needles, tmp_path, capsys):
    n = 3
    dtn, mask = np.ones((12, 12)), np.ones((12, 12), bool)
    if problem == "shape":
        dtn = np.ones((12, 11))
    elif problem == "nonfinite":
        dtn[2, 3] = np.inf
    elif problem == "n":
        n = 0
    else:
        mask = mask.astype(int)
    path = tmp_path / "bad.npz"
    np.savez(path, dtn=dtn, mask=mask, n=np.int64(n))
    out = tmp_path / "s.npz"
    code, _, err = run(["sensitivity", "--data", path, "--out", out], capsys)
    one_line_error(code, err, str(path), *needles)
    assert not out.exists()


def test_user_dtn_matrix_refused_when_malformed(tmp_path, capsys):
    np.save(tmp_path / "m.npy", np.ones((10, 10)))
    out = tmp_path / "r.npz"
    code, _, err = run(["reconstruct", "--method", "cm", "--dtn", tmp_path / "m.npy", "--out", out], capsys)
    one_line_error(code, err, "m.npy", "4n×4n")
    assert not out.exists()


@pytest.mark.parametrize("partial", ["sigma0", "corners"])
def test_cm_refuses_a_mask_it_cannot_complete(partial, tmp_path, capsys):
    data = generate(tmp_path, capsys, "d.npz", "--partial", partial)
    out = tmp_path / "r.npz"
    code, _, err = run(["reconstruct", "--method", "cm", "--data", data, "--out", out], capsys)
    one_line_error(code, err, str(data), partial, "cannot complete")
    assert not out.exists()


def test_cm_roundtrip_and_option_checks(tmp_path, capsys):
    data = generate(tmp_path, capsys, "d.npz", "--noise", "0")
    out = tmp_path / "r.npz"
    code, _, err = run(["reconstruct", "--method", "cm", "--variant", "one-sided", "--data", data,
                        "--out", out], capsys)
    assert code == 0, err
    code, metrics, _ = run(["evaluate", "--data", data, "--recon", out], capsys)
    assert json.loads(metrics)["max_relative_error"] < 1e-10
    side = json.loads((tmp_path / "r.npz.json").read_text())
    assert side["params"]["options"] == {"variant": "one-sided", "solve": "pinv",
                                         "completion_pinv": "truncated"}
    assert side["inputs"] == {str(data): sha256_file(data)}
    code, _, err = run(["reconstruct", "--method", "cm", "--variant", "diagonal", "--data", data,
                        "--out", out], capsys)
    one_line_error(code, err, "--variant", "diagonal")
    code, _, err = run(["reconstruct", "--method", "cm", "--data", data, "--out", out, out], capsys)
    one_line_error(code, err, "1 input file(s) but 2 --out")


def test_cm_completion_pinv_option(tmp_path, capsys):
    """--completion-pinv picks the completion's pseudo-inverse; it is recorded, and checked."""
    data = generate(tmp_path, capsys, "d.npz", "--partial", "last3n")     # n = 3, δ = 1e-3
    outs = {p: tmp_path / f"{p}.npz" for p in ("truncated", "plain")}
    for pinv, out in outs.items():
        code, _, err = run(["reconstruct", "--method", "cm", "--completion-pinv", pinv, "--data", data,
                            "--out", out], capsys)
        assert code == 0, err
        side = json.loads(out.with_name(out.name + ".json").read_text())
        assert side["params"]["options"]["completion_pinv"] == pinv
        assert side["info"]["completion_pinv"] == pinv and side["info"]["completion"] == "rank-rule"
    with np.load(outs["truncated"]) as a, np.load(outs["plain"]) as b:
        assert not np.array_equal(a["dtn_completed"], b["dtn_completed"])   # noisy data: they differ
    bad = tmp_path / "bad.npz"
    code, _, err = run(["reconstruct", "--method", "cm", "--completion-pinv", "exact", "--data", data,
                        "--out", bad], capsys)
    one_line_error(code, err, "--completion-pinv", "exact")
    assert not bad.exists()


def test_unknown_method(tmp_path, capsys):
    data = generate(tmp_path, capsys)
    with pytest.raises(SystemExit) as exc:
        main(["reconstruct", "--method", "magic", "--data", str(data), "--out", str(tmp_path / "r.npz")])
    one_line_error(exc.value.code, capsys.readouterr().err, "--method", "magic")
    assert not (tmp_path / "r.npz").exists() and not (tmp_path / "r.npz.json").exists()


def test_console_script_and_module_entry_points(tmp_path):
    out = tmp_path / "d.npz"
    subprocess.run([sys.executable, "-m", "discrete_eit", "generate", "--n", "2", "--out", str(out)],
                   check=True, capture_output=True)
    assert out.exists()
    res = subprocess.run([sys.executable, "-m", "discrete_eit", "generate", "--n", "2", "--partial", "x",
                          "--out", str(tmp_path / "y.npz")], capture_output=True, text=True)
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("command", [
    ["reconstruct", "--method", "cm"],
    ["reconstruct", "--method", "nn_fast"],
    ["reconstruct", "--method", "ols"],
    ["reconstruct", "--method", "nn", "--iterations", "300", "--compile", "off", "--device", "cpu"],
    ["sensitivity"],
])
def test_same_arguments_byte_identical_results(command, tmp_path, capsys):
    data = generate(tmp_path, capsys)
    outs = [tmp_path / "r1.npz", tmp_path / "r2.npz"]
    for out in outs:
        code, _, err = run([*command, "--data", data, "--out", out], capsys)
        assert code == 0, err
    assert outs[0].read_bytes() == outs[1].read_bytes()


def test_more_bad_inputs_one_line_and_nothing_left(tmp_path, capsys):
    data = generate(tmp_path, capsys)
    # output path that is a directory: neither it nor a stray sidecar appears
    target = tmp_path / "adir"
    target.mkdir()
    code, _, err = run(["sensitivity", "--data", data, "--out", target], capsys)
    one_line_error(code, err, str(target))
    assert not (tmp_path / "adir.json").exists() and not list(target.iterdir())
    # a reconstruction that cannot be linearised at names the file
    from discrete_eit.artifacts.formats import write_artifact
    write_artifact(tmp_path / "neg.npz", {"gamma": -np.ones(24)}, "reconstruction", {})
    code, _, err = run(["sensitivity", "--data", data, "--recon", tmp_path / "neg.npz",
                        "--out", tmp_path / "s.npz"], capsys)
    one_line_error(code, err, "neg.npz", "positive")
    assert not (tmp_path / "s.npz").exists()
    with pytest.raises(SystemExit) as exc:
        main(["generate", "--n", "3", "--seed", "-1", "--out", str(tmp_path / "x.npz")])
    one_line_error(exc.value.code, capsys.readouterr().err, "--seed", ">= 0")


def test_cuda_request_without_cuda_is_a_clean_error(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    data = generate(tmp_path, capsys)
    out = tmp_path / "r.npz"
    code, _, err = run(["reconstruct", "--method", "nn", "--device", "cuda", "--iterations", "10",
                        "--data", data, "--out", out], capsys)
    one_line_error(code, err, str(data), "cuda")
    assert not out.exists()


def test_every_builtin_module_registers_a_method():
    from discrete_eit.methods.registry import BUILTIN_MODULES, load_methods

    methods = load_methods()
    assert sorted(methods) == ["cm", "nn", "nn_fast", "ols", "tikhonov"]
    for module in BUILTIN_MODULES:
        assert any(m.func.__module__.startswith(module) for m in methods.values()), module


def test_methods_of_other_packages_come_through_entry_points(tmp_path, monkeypatch):
    import sys

    from _workflow import install_plugin

    from discrete_eit.methods.registry import METHODS, _method_modules, load_methods

    monkeypatch.syspath_prepend(str(install_plugin(tmp_path)))
    assert "constant_method" in _method_modules()
    try:
        assert "constant" in load_methods()
    finally:
        METHODS.pop("constant", None)
        sys.modules.pop("constant_method", None)


def cli(*argv):
    """The CLI in a fresh process, as a user runs it: ``(exit code, stdout, stderr)`` (real log lines)."""
    res = subprocess.run([sys.executable, "-m", "discrete_eit", *map(str, argv)], capture_output=True,
                         text=True)
    return res.returncode, res.stdout, res.stderr


def test_capped_solver_reports_max_iterations_everywhere(tmp_path, capsys):
    """A run stopped by its cap says so on stderr (one warning line), in its sidecar and in the
    error table's stop_reason."""
    from discrete_eit.experiment.tables import error_row

    data = generate(tmp_path, capsys, "d.npz", "--noise", "0")
    out = tmp_path / "r.npz"
    code, _, err = cli("reconstruct", "--method", "ols", "--max-iterations", 2, "--data", data, "--out", out)
    assert code == 0, err
    warnings = [ln for ln in err.splitlines() if "WARNING" in ln]
    assert len(warnings) == 1 and "ols" in warnings[0] and "cap of 2 iterations" in warnings[0]
    assert str(data) in warnings[0] and "max_iterations" in warnings[0]
    side = json.loads((tmp_path / "r.npz.json").read_text())
    assert side["info"]["stop_reason"] == "max_iterations" and side["info"]["max_iterations"] == 2
    _, metrics, _ = run(["evaluate", "--data", data, "--recon", out], capsys)
    cell = {"profile": "wave", "n": 3, "set": "full", "noise_model": "relative", "delta": 0.0, "seed": 7,
            "run": "ols", "method": "ols"}
    assert error_row(cell, json.loads(metrics), side)["stop_reason"] == "max_iterations"
    # by default the cap grows with n and exact data converge, without a warning
    code, _, err = cli("reconstruct", "--method", "nn_fast", "--data", data, "--out", out)
    side = json.loads((tmp_path / "r.npz.json").read_text())
    assert code == 0 and "WARNING" not in err and side["info"]["stop_reason"] != "max_iterations"
    assert side["info"]["max_iterations"] == 200 and side["params"]["options"]["max_iterations"] is None


@pytest.mark.parametrize("method", ["ols", "nn_fast"])
def test_measured_dtn_takes_delta_and_names_its_stop_rule(method, tmp_path, capsys):
    """A --dtn matrix has no δ: without --delta the rule is converge, with it discrepancy; one
    stderr line says which, and why."""
    data = generate(tmp_path, capsys, "d.npz", "--noise", "1e-2")
    with np.load(data) as z:
        np.save(tmp_path / "m.npy", z["dtn"])
    stops = {}
    for extra, rule in (([], "stop rule converge (δ unknown)"),
                        (["--delta", "1e-2"], "stop rule discrepancy (δ = 0.01 from --delta)")):
        out = tmp_path / f"r{len(extra)}.npz"
        code, _, err = cli("reconstruct", "--method", method, "--dtn", tmp_path / "m.npy", *extra,
                           "--out", out)
        assert code == 0, err
        lines = [ln for ln in err.splitlines() if "stop rule" in ln]
        assert len(lines) == 1 and lines[0].endswith(f"{method}: {rule}"), err
        stops[rule] = json.loads((tmp_path / f"{out.name}.json").read_text())["info"]
    assert [i["stop"] for i in stops.values()] == ["converge", "discrepancy"]
    assert stops["stop rule discrepancy (δ = 0.01 from --delta)"]["delta"] == 1e-2


def test_sidecar_package_versions_are_the_installed_ones():
    """The fast dist-info listing of the sidecar gives what importlib.metadata reports."""
    import importlib.metadata

    from discrete_eit.artifacts.sidecar import TRACKED_PACKAGES, package_versions

    def installed(name):
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return None

    assert package_versions() == {name: installed(name) for name in TRACKED_PACKAGES}
    assert package_versions()["numpy"] == np.__version__


def test_short_commands_import_neither_scipy_nor_the_methods(tmp_path):
    """generate, evaluate and cm start without scipy (and generate/evaluate without any method
    module): their start-up is numpy's plus little (benchmarks/startup.py)."""
    data, recon = tmp_path / "d.npz", tmp_path / "r.npz"
    probe = ("import sys; from discrete_eit.cli import main; rc = main(sys.argv[1:]); "
             "print(sorted(m for m in sys.modules if m.split('.')[0] in ('scipy', 'torch') "
             "or m.startswith('discrete_eit.methods.') and not m.endswith('.registry'))); sys.exit(rc)")
    for argv, loaded in ((["generate", "--n", "4", "--delta", "1e-3", "--out", data], []),
                         (["reconstruct", "--method", "cm", "--data", data, "--out", recon], None),
                         (["evaluate", "--data", data, "--recon", recon], [])):
        res = subprocess.run([sys.executable, "-c", probe, *map(str, argv)], capture_output=True, text=True)
        assert res.returncode == 0, res.stderr
        modules = eval(res.stdout.strip().splitlines()[-1])
        assert not [m for m in modules if m.split(".")[0] in ("scipy", "torch")], (argv[0], modules)
        if loaded is not None:
            assert modules == loaded, (argv[0], modules)


# ---- real data: δ from the data, error bars, scoring with a separate truth -------------------------
def test_delta_auto_error_bars_and_scoring_measured_data(tmp_path, capsys):
    """A measured matrix (no δ, no truth): --delta auto estimates δ, prints it, records it and stops
    ols by the discrepancy rule with it; --error-bars stores gamma_std; evaluate scores it against a
    truth given as .csv or .mat (the loaders of generate --gamma)."""
    import scipy.io

    data = generate(tmp_path, capsys, "d.npz", "--n", 4)
    with np.load(data) as z:
        np.save(tmp_path / "m.npy", z["dtn"])
        gamma = z["gamma_true"]
    np.savetxt(tmp_path / "g.csv", gamma, delimiter=",")
    scipy.io.savemat(tmp_path / "g.mat", {"gamma": gamma[:, None]})
    out = tmp_path / "r.npz"
    code, _, err = run(["reconstruct", "--method", "ols", "--dtn", tmp_path / "m.npy", "--delta", "auto",
                        "--error-bars", "--out", out], capsys)
    assert code == 0, err
    line = [ln for ln in err.splitlines() if "estimated" in ln]
    assert len(line) == 1 and line[0].startswith("reconstruct: δ estimated from the data: ")
    assert line[0].endswith(" (model relative)")
    info = json.loads((tmp_path / "r.npz.json").read_text())["info"]
    assert 0.8e-3 <= info["delta_estimate"] <= 1.25e-3 and info["delta_model"] == "relative"
    assert info["stop"] == "discrepancy" and info["delta"] == info["delta_estimate"]
    assert info["error_bars"] == {"linearised_at": "estimate", "delta": info["delta_estimate"],
                                  "delta_source": "estimate", "noise_model": "relative"}
    with np.load(out) as z:
        assert z["gamma_std"].shape == (40,) and np.all(z["gamma_std"] > 0)
    metrics = []
    for truth in ("g.csv", "g.mat", "g.mat:gamma"):
        code, text, err = run(["evaluate", "--dtn", tmp_path / "m.npy", "--gamma-true", tmp_path / truth,
                               "--recon", out], capsys)
        assert code == 0, err
        metrics.append(json.loads(text))
    code, text, _ = run(["evaluate", "--data", data, "--recon", out], capsys)
    assert metrics[0] == metrics[1] == metrics[2] == json.loads(text)
    assert 0 < metrics[0]["relative_l2_error"] < 0.05
    # generate --gamma reads the same files
    argv = ["generate", "--n", 4, "--gamma", tmp_path / "g.mat", "--out", tmp_path / "g.npz"]
    assert run(argv, capsys)[0] == 0
    with np.load(tmp_path / "g.npz") as z:
        assert np.array_equal(z["gamma_true"], gamma)


def test_error_bars_off_changes_nothing(tmp_path, capsys):
    data = generate(tmp_path, capsys, "d.npz")
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    assert run(["reconstruct", "--method", "nn_fast", "--data", data, "--out", a], capsys)[0] == 0
    argv = ["reconstruct", "--method", "nn_fast", "--data", data, "--error-bars", "--out", b]
    assert run(argv, capsys)[0] == 0
    with np.load(a) as za, np.load(b) as zb:
        assert np.array_equal(za["gamma"], zb["gamma"]) and "gamma_std" not in za.files
        assert "gamma_std" in zb.files
    side = json.loads((tmp_path / "b.npz.json").read_text())
    assert side["params"]["error_bars"] is True and side["info"]["error_bars"]["delta_source"] == "dataset"

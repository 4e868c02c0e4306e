"""Bad input to the CLI and the configuration: refused with one line, exit != 0, nothing written.

Every CLI case runs ``discrete-eit`` in-process on a shared folder of valid and broken files and
asserts the exit code, that stderr is a single line naming the flag or file and the problem, and
that no file of the folder was created, changed or removed (names, sizes, mtimes and sha256 before
and after). Configuration cases go through the package's checks directly (schema errors as the
workflow reports them); a few run ``snakemake -n`` on an overlay to show the line a user sees.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from discrete_eit.cli import main
from discrete_eit.experiment.config import ConfigError, check_config, config_error_line, schema_error

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
    return d


def snapshot(root: Path) -> dict[str, tuple]:
    """Every entry under ``root``: size, mtime and sha256 of files, and directories by name."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if path.is_dir():
            out[rel] = ("dir",)
        else:
            st = path.stat()
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
    ("dtn_int", [*R, "cm", "--dtn", "{d}/m_int.npy", "--out", "{d}/x.npz"], ["m_int.npy", "non-finite γ"]),
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
     ["zeros.npy", "non-finite γ", "nothing written"]),
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


@pytest.mark.parametrize("case", CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_cli_refuses_bad_input(case, folder, capsys, monkeypatch):
    _, argv, words, *env = case
    for key, value in (env[0] if env else {}).items():
        monkeypatch.setenv(key, value)
    before = snapshot(folder)
    capsys.readouterr()
    try:
        code = main([a.format(d=folder) for a in argv])
    except SystemExit as exc:  # argparse's usage errors
        code = exc.code
    line = one_line(capsys.readouterr().err)
    assert code not in (0, None), line
    assert line.startswith("discrete-eit"), line
    for word in words:
        assert word in line, (word, line)
    assert snapshot(folder) == before, "a file was created, changed or removed"


def test_enough_cli_cases():
    assert len(CLI_CASES) >= 40


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


# ---- configuration cases -----------------------------------------------------------------------------
ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "workflow/schemas/config.schema.yaml"


def checked(files: list[Path]):
    """The workflow's check of the merged config files (schema with defaults, then the package's)."""
    import jsonschema
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import update_config, validate

    from discrete_eit.methods import load_methods

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


@pytest.mark.parametrize("case", CONFIG_CASES, ids=[c[0] for c in CONFIG_CASES])
def test_config_errors_are_one_line_naming_file_and_key(case, tmp_path, monkeypatch):
    _, overlay, key, words = case
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(overlay))
    files = [ROOT / "config/config.yaml", bad]
    with pytest.raises(ConfigError) as info:
        checked(files)
    monkeypatch.chdir(tmp_path)
    line = config_error_line(info.value, files)
    assert "\n" not in line and line.startswith(f"bad.yaml: invalid configuration: {key}: "), line
    assert words in line, line


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
    checked([ROOT / "config/config.yaml", ROOT / "config/quick.yaml"])


@pytest.fixture(scope="module")
def workflow_copy(tmp_path_factory):
    from _workflow import copy_workflow

    return copy_workflow(tmp_path_factory.mktemp("wf"))


@pytest.mark.parametrize("overlay, key", [
    ({"bogus": 1}, "bogus"),
    # the two injection strings of issue 11: refused before any job, nothing runs (no file X)
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
    (wd / "bad.yaml").write_text(yaml.safe_dump(overlay))
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

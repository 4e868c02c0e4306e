"""Data versioning and provenance: the run manifest (unit tests) and the DVC pipeline (workflow tests).

Unit tests of :mod:`discrete_eit.artifacts.manifest` and :mod:`discrete_eit.experiment.dvc_outputs`
run on synthetic files. The tests marked ``workflow``
clone the repository (committed files only, as CI does) into a temporary directory and run the
quick configuration through ``dvc repro``; see docs/provenance.md.
"""

from __future__ import annotations

import io
import json
import math
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from _workflow import QUICK_CONFIG as QUICK  # tests/ on sys.path
from _workflow import ROOT
from _workflow import clone_repo as _clone
from _workflow import dvc_status as _status
from _workflow import run_cmd as _run
from _workflow import timed as _timed
from _workflow import versioned_outputs as _outputs
from _workflow import workflow_test as _workflow_test

from discrete_eit.artifacts import manifest as mf
from discrete_eit.artifacts.audit import audit_tree
from discrete_eit.artifacts.formats import write_artifact, write_bytes_artifact
from discrete_eit.artifacts.sidecar import git_state, sha256_file
from discrete_eit.cli import main as cli
from discrete_eit.experiment import dvc_outputs as dv
from discrete_eit.experiment import paths


# ---- manifest: unit tests ----------------------------------------------------------------------
def _fake_run(root):
    """A miniature run tree: a dataset, a reconstruction, a table, a log, a config overlay."""
    (root / "config").mkdir()
    (root / "config" / "config.yaml").write_text(
        "# base\nprofile_seed: 0\nruns:\n  nn: {method: nn, options: {}}\n"
        "studies:\n  noise: {n: [6], delta: [0, 0.001]}\n")
    (root / "config" / "quick.yaml").write_text("studies:\n  noise:\n    n: [4]\n")
    write_artifact(root / "data/dtn/wave/n4/full/d0_s0.npz", {"dtn": np.eye(4)}, "dataset", {"n": 4}, [], 0.5)
    write_artifact(root / "results/recon/nn/d0_s0.npz", {"gamma": np.ones(3)}, "reconstruction",
                   {"method": "nn"}, [root / "data/dtn/wave/n4/full/d0_s0.npz"], 2.0)
    write_bytes_artifact(root / "results/tables/errors.csv", b"run,rel_l2\nnn,0.1\n", "table", {},
                         [root / "results/recon/nn/d0_s0.npz"])
    (root / "results/logs").mkdir(parents=True)
    (root / "results/logs/x.log").write_text("log\n")
    (root / "results/tables/.errors.csv.abc.tmp").write_text("half")
    (root / "results/.gitignore").write_text("/tables\n")
    (root / "data/README.md").write_text("what data/ holds\n")       # documentation, not an output


def test_effective_config_hash_ignores_key_order(tmp_path):
    a = tmp_path / "a.yaml"
    a.write_text("x: 1\ny: [1, 2]\n")
    ra = mf.config_record([a], {"x": 1, "y": [1, 2]})
    assert ra["sha256"] == mf.config_record([a], {"y": [1, 2], "x": 1})["sha256"]
    assert ra["files"] == [{"path": str(a), "sha256": sha256_file(a)}]
    assert mf.config_record([a], {"x": 2, "y": [1, 2]})["sha256"] != ra["sha256"]
    assert mf.config_record([a]) == {"files": ra["files"], "effective": None, "sha256": None}
    with pytest.raises(mf.ManifestError, match="missing.yaml"):
        mf.config_record([tmp_path / "missing.yaml"])


def test_manifest_records_every_output(tmp_path, monkeypatch):
    _fake_run(tmp_path)
    monkeypatch.chdir(tmp_path)
    effective = {"profile_seed": 0, "studies": {"noise": {"n": [4], "delta": [0, 0.001]}}}
    rec = mf.write_manifest("results/provenance.json", ["config/config.yaml", "config/quick.yaml"],
                            paths.OUTPUT_ROOTS, paths.DIAGNOSTIC_DIRS, effective_config=effective)
    on_disk = json.loads((tmp_path / "results/provenance.json").read_text())
    assert on_disk == json.loads(json.dumps(rec))
    assert rec["schema"] == mf.SCHEMA
    expected = {"data/dtn/wave/n4/full/d0_s0.npz", "data/dtn/wave/n4/full/d0_s0.npz.json",
                "results/recon/nn/d0_s0.npz", "results/recon/nn/d0_s0.npz.json",
                "results/tables/errors.csv", "results/tables/errors.csv.json"}
    assert set(rec["outputs"]) == expected  # not the manifest, temporaries, logs or README.md
    assert rec["outputs"]["results/tables/errors.csv"] == sha256_file("results/tables/errors.csv")
    assert set(rec["diagnostics"]) == {"results/logs/x.log"}
    assert [f["path"] for f in rec["config"]["files"]] == ["config/config.yaml", "config/quick.yaml"]
    assert rec["config"]["effective"]["studies"]["noise"] == {"n": [4], "delta": [0, 0.001]}
    assert rec["config"]["effective"]["profile_seed"] == 0
    assert set(rec["packages"]) >= {"numpy", "torch", "snakemake", "dvc"}
    assert rec["all_packages"]["numpy"] == np.__version__
    assert rec["platform"]["python"] and rec["platform"]["cpu_count"] >= 1
    for key in ("started_utc", "finished_utc", "written_utc"):
        datetime.fromisoformat(rec[key])
    assert rec["started_utc"] <= rec["finished_utc"] <= rec["written_utc"]
    assert rec["git"] == {"commit": None, "branch": None, "dirty": None}  # not a checkout


def test_run_span_uses_sidecar_times(tmp_path):
    end = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    write_artifact(tmp_path / "a.npz", {"x": np.zeros(1)}, "dataset", {}, [], 10.0)
    sidecar = tmp_path / "a.npz.json"
    rec = json.loads(sidecar.read_text())
    rec["created_utc"] = end.isoformat()
    sidecar.write_text(json.dumps(rec))  # the sidecar's own hash is not in it: still consistent
    start, stop = mf.run_span(["a.npz", "a.npz.json"], tmp_path)
    assert stop == end and start == end - timedelta(seconds=10)


def test_verify_detects_tampering_and_missing_files(tmp_path, monkeypatch, capsys):
    _fake_run(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert cli(["manifest", "write", "--config", "config/config.yaml"]) == 0
    assert cli(["manifest", "verify"]) == 0
    assert "manifest verified: 6 output(s)" in capsys.readouterr().out
    data = tmp_path / "data/dtn/wave/n4/full/d0_s0.npz"
    raw = bytearray(data.read_bytes())
    raw[-1] ^= 0xFF
    data.write_bytes(bytes(raw))
    assert cli(["manifest", "verify", "results/provenance.json"]) == 1
    assert "data/dtn/wave/n4/full/d0_s0.npz: sha256" in capsys.readouterr().err
    data.unlink()
    with pytest.raises(mf.ManifestError, match="d0_s0.npz: listed in .* but missing"):
        mf.verify_manifest("results/provenance.json")
    with pytest.raises(mf.ManifestError, match="not a run manifest"):
        mf.verify_manifest("results/tables/errors.csv.json")


def test_git_record_commit_and_dirty(tmp_path):
    def git(*args):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=tmp_path,
                       check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    (tmp_path / "f.txt").write_text("1\n")
    git("add", "f.txt")
    git("commit", "-q", "-m", "x")
    rec = git_state(tmp_path)
    assert len(rec["commit"]) == 40 and rec["branch"] == "main" and rec["dirty"] is False
    (tmp_path / "untracked.txt").write_text("u\n")
    assert git_state(tmp_path)["dirty"] is False  # untracked outputs do not count
    (tmp_path / "f.txt").write_text("2\n")
    assert git_state(tmp_path)["dirty"] is True


@pytest.mark.parametrize("value", ["config/quick.yaml; touch INJECTED; true", "$(touch INJECTED)",
                                   "../outside.yaml", "/etc/passwd", "config/missing.yaml", "7"])
def test_dvc_stage_refuses_a_configfile_that_is_not_a_repository_yaml(tmp_path, value):
    """dvc.yaml's commands take params.yaml's configfile through tools/dvc_stage.py, never a shell."""
    (tmp_path / "config").mkdir()
    (tmp_path / "config/quick.yaml").write_text("{}\n")
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"configfile": value}))
    res = subprocess.run([sys.executable, str(ROOT / "tools/dvc_stage.py"), "datasets"], cwd=tmp_path,
                         capture_output=True, text=True)
    assert res.returncode != 0
    assert res.stderr.startswith("dvc_stage: error: params.yaml: configfile") and res.stderr.count("\n") == 1
    assert not (tmp_path / "INJECTED").exists() and sorted(p.name for p in tmp_path.iterdir()) == [
        "config", "params.yaml"]


def test_no_dvc_command_interpolates_a_value():
    for name, stage in yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"].items():
        assert "${" not in stage["cmd"] and stage["cmd"].startswith("python tools/dvc_stage.py "), name


def _errors_table():
    rows = []
    for run, base in (("nn", 1e-3), ("cm", 1e-2)):
        for delta in (0.0, 1e-4, 1e-2):
            for seed in (0, 1, 2):
                rows.append({"profile": "wave", "n": 4, "set": "full", "delta": delta, "seed": seed,
                             "run": run, "study": "noise", "rel_l2": base * (1 + 100 * delta) * (1 + seed),
                             "status": "ok"})
        rows.append({"profile": "wave", "n": 3, "set": "full", "delta": 0.0, "seed": 0, "run": run,
                     "study": "sizes", "rel_l2": base / 2, "status": "ok"})
        rows.append({"profile": "wave", "n": 4, "set": "full", "delta": 0.0, "seed": 0, "run": run,
                     "study": "sizes", "rel_l2": base, "status": "ok"})
    rows.append({"profile": "wave", "n": 4, "set": "sigma0", "delta": 1e-4, "seed": 0, "run": "cm",
                 "study": "partial", "rel_l2": float("nan"), "status": "not_applicable"})
    rows.append({"profile": "wave", "n": 4, "set": "last3n", "delta": 1e-4, "seed": 0, "run": "cm",
                 "study": "partial", "rel_l2": 5.0, "status": "invalid"})
    return pd.DataFrame(rows)


def test_cell_metrics():
    m = dv.cell_metrics(_errors_table())
    # 24 rows, 22 cells: n = 4 exact data of nn and cm are listed by the noise and the size study
    assert m["cells"] == {"total": 22, "ok": 20, "invalid": 1, "not_applicable": 1}
    noise = m["rel_l2"]["noise"]
    assert set(noise) == {"cm", "nn"}
    assert set(noise["nn"]) == {"exact", "delta_0p0001", "delta_0p01"}
    assert noise["nn"]["delta_0p01"] == pytest.approx(1e-3 * 2 * 2)  # median over seeds 1, 2, 3
    assert m["rel_l2"]["sizes"]["cm"] == {"n3": pytest.approx(5e-3), "n4": pytest.approx(1e-2)}
    # invalid and not-applicable rows do not count: no value left
    assert m["rel_l2"]["partial"]["cm"] == {"last3n": None, "sigma0": None}
    json.dumps(m, allow_nan=False)  # valid JSON for dvc metrics


DEFAULT_HEADLINE = (
    ["fig3a.log10_max_loss_jump"] + [f"fig4.log10_error.nn.n{n}" for n in (4, 6, 8, 10, 12)]
    + [f"fig5.log10_error.nn.delta_{d}" for d in ("0p0001", "0p001", "0p01")]
    + [f"fig6.log10_error.{r}.delta_0p001" for r in ("nn", "nn_fixed")]
    + [f"fig8.log10_error.cm.{d}" for d in ("exact", "delta_0p0001", "delta_0p001")]
    + [f"fig9.log10_error.{r}.delta_{d}" for r in ("nn", "cm") for d in ("0p0001", "0p001")]
    + ["fig9.max_amplification.truncated", "fig9.max_amplification.plain"]
    + [f"fig10_11.log10_error.nn.{s}_{d}" for s in ("sigma0", "last2n") for d in ("exact", "delta_0p001")]
    + [f"fig10_11.log10_error.cm.last2n_{d}" for d in ("exact", "delta_0p001")]   # CM cannot complete sigma0
    + [f"table1.ratio.{s}" for s in ("full", "last3n", "last2n", "sigma0", "corners")]
    + ["claims.pass", "claims.fail", "claims.na", "cells.total", "cells.invalid"])


def test_headline_names_of_the_default_grid(load_config, methods):
    """The names depend on the configuration only; without tables every value is null."""
    flat = dv.flatten(dv.headline_metrics({}, load_config(), methods))
    assert list(flat) == DEFAULT_HEADLINE and len(flat) == 36 <= dv.HEADLINE_MAX
    assert {k: v for k, v in flat.items() if v is not None} == {"cells.total": 0, "cells.invalid": 0}
    quick = dv.flatten(dv.headline_metrics({}, load_config("config/quick.yaml"), methods))
    assert len(quick) <= dv.HEADLINE_MAX and "fig4.log10_error.nn.n3" in quick


def test_headline_values_are_log10_of_the_tables(load_config, methods):
    from discrete_eit.experiment import claims as cl
    from discrete_eit.experiment import tables as tb

    cfg = load_config("config/quick.yaml")          # working n = 4, compare δ 0, 1e-2, sizes n 3, 4
    rows = []
    for run, pset, n, delta, errs, status in (
            ("nn", "full", 3, 0.0, [2e-9], "ok"), ("nn", "full", 4, 0.0, [3e-7], "ok"),
            ("cm", "full", 4, 1e-2, [0.2, 0.5, 40.0], "invalid"),      # an invalid γ̂ counts with its error
            ("nn", "last3n", 4, 1e-2, [1e-2, 3e-2], "ok"),
            ("cm", "last2n", 4, 0.0, [0.0], "ok"),                      # exact: log10 undefined -> null
            ("cm", "sigma0", 4, 0.0, [math.nan], "not_applicable")):
        for seed, e in enumerate(errs):
            rows.append({"profile": "wave", "n": n, "set": pset, "noise_model": "relative", "delta": delta,
                         "seed": seed, "run": run, "method": run, **{m: e for m in tb.METRICS},
                         "iterations": 1, "wall_time_s": 1, "status": status})
    errors = pd.DataFrame(rows)
    training = pd.DataFrame([{"profile": "wave", "n": n, "set": "full", "delta": 0.0, "run": "nn",
                              "drop_ratio": r} for n, r in ((3, 12.0), (4, 2.2e9))])
    completion = pd.DataFrame([
        {"profile": "wave", "n": 4, "set": "last3n", "delta": d, "completion_pinv": p, "ratio_to_delta": r}
        for p, d, r in (("plain", 1e-4, 0.9), ("plain", 1e-2, 1.3), ("truncated", 1e-2, 1.1))])
    table1 = pd.DataFrame([{"set": "full", "run": "nn", "ratio": 1.1},
                           {"set": "full", "run": "ols", "ratio": 9.0}])
    claims = cl.claims_table([cl.Claim("Fig 4", "s", "t", "e", v) for v in ("PASS", "PASS", "FAIL")])
    # a cell a second study reports: a row more, the same cell
    errors = pd.concat([errors.assign(study="sizes"), errors.iloc[:1].assign(study="mine")],
                       ignore_index=True)
    tables = {"errors": errors, "summary": tb.summarise_errors(tb.unique_cells(errors)), "training": training,
              "completion": completion, "table1": table1, "claims": claims}
    m = dv.headline_metrics(tables, cfg, methods)
    flat = dv.flatten(m)
    assert flat["fig4.log10_error.nn.n3"] == pytest.approx(math.log10(2e-9))
    assert flat["fig4.log10_error.nn.n4"] == pytest.approx(math.log10(3e-7))
    assert flat["fig8.log10_error.cm.delta_0p01"] == pytest.approx(math.log10(0.5))   # median of 3 seeds
    assert flat["fig8.log10_error.cm.exact"] is None                                  # no such row
    assert flat["fig9.log10_error.nn.delta_0p01"] == pytest.approx(math.log10(2e-2))
    assert flat["fig10_11.log10_error.cm.last2n_exact"] is None
    assert not any(k.startswith("fig10_11.log10_error.cm.sigma0") for k in flat)
    assert flat["fig3a.log10_max_loss_jump"] == pytest.approx(math.log10(2.2e9))
    assert m["fig9"]["max_amplification"] == {"truncated": 1.1, "plain": 1.3}
    assert m["table1"]["ratio"]["full"] == 1.1 and m["table1"]["ratio"]["sigma0"] is None
    assert m["claims"] == {"pass": 2, "fail": 1, "na": 0}
    assert m["cells"] == {"total": len(errors) - 1, "invalid": 3}
    assert dv.headline_metrics({"errors": errors}, {**cfg, "paper": False}, methods) == {"cells": m["cells"]}
    json.dumps(m, allow_nan=False)  # valid JSON for dvc metrics


def test_error_vs_delta_and_loss_curves(tmp_path):
    t = dv.error_vs_delta(_errors_table())
    assert list(t.columns) == ["series", "run", "profile", "n", "set", "delta", "rel_l2", "seeds"]
    assert (t["delta"] > 0).all() and set(t["series"]) == {"nn", "cm"} and (t["seeds"] == 3).all()
    hist = np.column_stack([np.arange(1000.0), np.geomspace(1, 1e-8, 1000), np.zeros(1000)])
    write_artifact(tmp_path / "r1.npz", {"gamma": np.ones(2), "history": hist}, "reconstruction", {},
                   extra={"info": {"history_columns": ["iteration", "loss", "step"]}})
    write_artifact(tmp_path / "r2.npz", {"gamma": np.ones(2)}, "reconstruction", {})
    curves = dv.loss_curves([{"label": "a", "recon": tmp_path / "r1.npz"},
                             {"label": "b", "recon": tmp_path / "r2.npz"}], max_points=50)
    assert set(curves["curve"]) == {"a"} and 40 <= len(curves) <= 52
    assert curves["iteration"].iloc[0] == 0 and curves["iteration"].iloc[-1] == 999
    assert curves["loss"].iloc[-1] == pytest.approx(1e-8)


def test_cli_manifest_write_verify(tmp_path, monkeypatch, capsys):
    _fake_run(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert cli(["manifest", "write", "--config", "config/config.yaml"]) == 0
    assert (tmp_path / "results/provenance.json").is_file()
    assert cli(["manifest", "verify"]) == 0
    (tmp_path / "results/tables/errors.csv").write_text("run,rel_l2\nnn,0.2\n")
    assert cli(["manifest", "verify"]) == 1
    assert "results/tables/errors.csv: sha256" in capsys.readouterr().err


def test_write_dvc_metrics_has_sidecar(tmp_path, capsys):
    _errors_table().to_csv(tmp_path / "errors.csv", index=False)
    assert cli(["manifest", "metrics", "--errors", str(tmp_path / "errors.csv"),
                "--out", str(tmp_path / "metrics.json")]) == 0
    side = json.loads((tmp_path / "metrics.json.json").read_text())
    assert side["kind"] == "metrics" and str(tmp_path / "errors.csv") in side["inputs"]
    assert json.loads((tmp_path / "metrics.json").read_text())["cells"]["total"] == 22   # 24 rows


# ---- DVC pipeline: workflow tests on the quick configuration ------------------------------------
STAGES = ("datasets", "reconstructions", "tables", "figures", "studies", "provenance")
CHANGED_DELTA = 3.0e-3  # the prior study's noise level after the parameter change
# `timings` and `reproduced` (the `dvc repro` of the quick grid) are session fixtures in conftest.py,
# shared with tests/test_ssh_remote.py.


@pytest.fixture(scope="module")
def pulled(reproduced, timings):
    """`dvc push` from the reproduction, then a fresh clone of it and `dvc pull`."""
    _timed(["dvc", "push"], reproduced, timings, "dvc_push")
    fresh = reproduced.parent / "fresh"
    _run(["git", "clone", "-q", str(reproduced), str(fresh)], reproduced.parent)
    _run(["dvc", "remote", "add", "--local", "-d", "scratch", str(reproduced.parent / "remote")], fresh)
    _timed(["dvc", "pull"], fresh, timings, "dvc_pull")
    return fresh


@pytest.fixture(scope="module")
def snakemake_errors(request, tmp_path_factory, timings) -> Path:
    """errors.csv of plain `snakemake` on the quick config.

    Reuses a session-wide quick run (fixture ``quick_run`` in a conftest.py) when there is one,
    else runs Snakemake on the error table's target in a clone of its own.
    """
    try:
        wd = Path(request.getfixturevalue("quick_run"))
    except pytest.FixtureLookupError:
        wd = _clone(ROOT, tmp_path_factory.mktemp("plain") / "plain")
        _timed(["snakemake", "results/tables/errors.csv", "--cores", "2", "--configfile", QUICK], wd,
               timings, "snakemake_errors_table")
    return wd / "results/tables/errors.csv"


@_workflow_test
def test_dvc_repro_matches_snakemake(reproduced, snakemake_errors):
    """`dvc repro` and plain `snakemake` on the same config give the same error table."""
    a = pd.read_csv(reproduced / "results/tables/errors.csv")
    b = pd.read_csv(snakemake_errors)
    assert list(a.columns) == list(b.columns) and len(a) == len(b) > 0
    for col in a.columns:
        if col == "wall_time_s":
            continue
        if pd.api.types.is_numeric_dtype(a[col]) and pd.api.types.is_numeric_dtype(b[col]):
            np.testing.assert_allclose(a[col].to_numpy(float), b[col].to_numpy(float), rtol=1e-9,
                                       atol=0, equal_nan=True, err_msg=f"column {col}")
        else:
            assert a[col].fillna("").astype(str).tolist() == b[col].fillna("").astype(str).tolist(), col


@_workflow_test
def test_dvc_status_clean_and_lock_lists_every_output(reproduced):
    assert _status(reproduced) == {}
    # plain Snakemake agrees that the phases together built its whole default target
    dry = _run(["snakemake", "-n", "--configfile", QUICK], reproduced).stdout
    assert "Nothing to be done" in dry, dry[-3000:]
    lock = yaml.safe_load((reproduced / "dvc.lock").read_text())
    spec = yaml.safe_load((reproduced / "dvc.yaml").read_text())
    assert set(lock["stages"]) == set(spec["stages"]) == set(STAGES)
    covered = []
    for name, stage in spec["stages"].items():
        declared = [next(iter(o)) if isinstance(o, dict) else o
                    for key in ("outs", "metrics", "plots") for o in stage.get(key, [])]
        locked = {o["path"]: o for o in lock["stages"][name].get("outs", [])}
        assert set(declared) == set(locked), name
        for path, out in locked.items():
            assert out.get("md5") and out.get("size") is not None, (name, path)
            covered.append(path)
    # every file the run produced (diagnostics aside) is inside some stage output
    for rel in _outputs(reproduced):
        assert any(mf._is_under(rel, [c]) for c in covered), f"{rel} is not a DVC output"
    assert mf.verify_manifest(reproduced / "results/provenance.json", reproduced) > 0
    shown = _run(["dvc", "metrics", "show", "--json"], reproduced).stdout
    assert "results/metrics.json" in shown and "fig4" in shown and "metrics_full" not in shown
    _run(["dvc", "plots", "show", "-o", "dvc_plots"], reproduced)
    html = (reproduced / "dvc_plots" / "index.html").read_text()
    assert "error_vs_delta" in html and "loss_curves" in html


@_workflow_test
def test_push_pull_round_trip_restores_without_recomputation(reproduced, pulled):
    assert _status(pulled) == {}
    assert not (pulled / ".snakemake").exists(), "dvc pull must not run the workflow"
    original, restored = _outputs(reproduced), _outputs(pulled)
    assert {k: v[1] for k, v in restored.items()} == {k: v[1] for k, v in original.items()}
    assert any(p.startswith("results/recon/") for p in restored)
    assert mf.verify_manifest(pulled / "results/provenance.json", pulled) == len(restored) - 1
    artifacts = [p for p in sorted(restored)
                 if p.startswith(("results/tables/", "results/figures/")) and not p.endswith(".json")]
    assert len(artifacts) >= 4
    for rel in artifacts:
        audit_tree(rel, pulled, out=io.StringIO())  # raises AuditError naming the file
    res = _run([sys.executable, "-m", "discrete_eit", "audit", "results/tables/errors.csv"], pulled)
    assert "audit passed" in res.stdout
    # checkout order leaves arbitrary mtimes; `snakemake --touch` fixes them without recomputing
    _run(["snakemake", "--touch", "--cores", "1", "--configfile", QUICK], pulled)
    assert "Nothing to be done" in _run(["snakemake", "-n", "--configfile", QUICK], pulled).stdout
    assert {k: v[1] for k, v in _outputs(pulled).items()} == {k: v[1] for k, v in original.items()}
    assert _status(pulled) == {}


@_workflow_test
def test_parameter_change_reruns_only_dependents(reproduced, tmp_path, timings):
    clone = tmp_path / "changed"
    shutil.copytree(reproduced, clone, symlinks=True)  # keeps mtimes, .snakemake and the DVC cache
    before = _outputs(clone)
    quick = clone / QUICK
    cfg = yaml.safe_load(quick.read_text())
    assert CHANGED_DELTA not in cfg["studies"]["prior"]["delta"]
    cfg["studies"]["prior"]["delta"] = [CHANGED_DELTA]
    quick.write_text(yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True))
    status = _status(clone)
    assert set(status) == set(STAGES) and QUICK in json.dumps(status["datasets"]), status
    assert "studies.prior.delta" in _run(["dvc", "params", "diff"], clone).stdout
    _timed(["dvc", "repro"], clone, timings, "dvc_repro_after_param_change")
    assert _status(clone) == {}
    after = _outputs(clone)
    tag = f"/d{CHANGED_DELTA:g}_s"
    added = sorted(set(after) - set(before))
    new_inputs = [p for p in added if p.startswith(("data/", "results/recon/"))]
    assert new_inputs and all(tag in p for p in new_inputs), added
    assert any(p.startswith("results/recon/") for p in new_inputs)
    for rel, stamp in before.items():  # nothing upstream that the change does not touch was rebuilt
        if rel.startswith(("data/", "results/recon/", "results/sensitivity/")):
            assert after[rel] == stamp, f"{rel} was rebuilt although its inputs did not change"
    assert after["results/tables/errors.csv"] != before["results/tables/errors.csv"]
    diff = json.loads(_run(["dvc", "metrics", "diff", "--json"], clone).stdout)
    changed = diff.get("diff", diff).get("results/metrics.json", {})
    assert any(key.startswith("fig6.log10_error.") for key in changed), diff


@_workflow_test
def test_code_change_reruns_exactly_its_jobs_under_dvc(reproduced, tmp_path, timings):
    """A real change to one method's module: `dvc repro` rebuilds that method's reconstructions (and
    what consumes them) and nothing upstream or beside them; afterwards no artifact is stale, so
    dvc.lock records no output next to code that did not make it."""
    clone = tmp_path / "code"
    shutil.copytree(reproduced, clone, symlinks=True)
    before = _outputs(clone)
    module = clone / "src/discrete_eit/methods/cm.py"
    module.write_text(module.read_text() + "\n\ndef _unused():  # a real change\n    return 0\n")
    _timed(["dvc", "repro"], clone, timings, "dvc_repro_after_code_change")
    assert _status(clone) == {}
    after = _outputs(clone)
    cm_runs = tuple(f"results/{kind}/{run}/" for kind in ("recon", "recon_batches") for run in ("cm", "cm1"))
    rebuilt = {rel for rel in before if after.get(rel, (None,))[0] != before[rel][0]}
    assert {rel for rel in before if rel.startswith(cm_runs)} <= rebuilt
    untouched = ("data/", "results/recon/", "results/sensitivity/", "results/recon_batches/")
    assert not {rel for rel in rebuilt if rel.startswith(untouched) and not rel.startswith(cm_runs)}
    # the completion table runs cm by name (no import says so): its fingerprint names cm's module
    assert "results/tables/completion.csv" in rebuilt
    res = _run(["discrete-eit", "audit", "results/tables/errors.csv", "results/tables/completion.csv"], clone,
               check=False)
    assert res.returncode == 0 and "STALE" not in res.stdout, res.stdout[-3000:] + res.stderr


@_workflow_test
def test_tampering_is_named_by_audit(pulled, tmp_path):
    clone = tmp_path / "tampered"
    shutil.copytree(pulled, clone, symlinks=True)
    # a dataset in the recorded lineage of some figure or table
    lineage = {}
    arts = [*sorted((clone / "results/figures").glob("*.png")),
            *sorted((clone / "results/tables").glob("*.csv"))]
    for art in arts:
        out = io.StringIO()
        audit_tree(art.relative_to(clone), clone, out=out)
        for line in out.getvalue().splitlines():
            words = line.replace("└─", " ").split()
            if words and words[0].startswith("data/") and words[0].endswith(".npz"):
                lineage.setdefault(words[0], str(art.relative_to(clone)))
    assert lineage, "no table or figure traces back to a dataset"
    dataset, artifact = sorted(lineage.items())[0]
    raw = bytearray((clone / dataset).read_bytes())
    raw[len(raw) // 2] ^= 0x01
    (clone / dataset).write_bytes(bytes(raw))
    for target in (dataset, artifact):
        res = _run([sys.executable, "-m", "discrete_eit", "audit", target], clone, check=False)
        assert res.returncode == 1 and f"AUDIT FAILED: {dataset}" in res.stderr, (target, res.stderr)
    assert "data" in json.dumps(_status(clone))  # DVC sees it too
    # a number edited in a table
    errors = clone / "results/tables/errors.csv"
    lines = errors.read_text().splitlines()
    header, row = lines[0].split(","), lines[1].split(",")
    col = header.index("rel_l2")
    row[col] = "0.5" if row[col] != "0.5" else "0.25"
    errors.write_text("\n".join([lines[0], ",".join(row), *lines[2:]]) + "\n")
    res = _run([sys.executable, "-m", "discrete_eit", "audit", "results/tables/errors.csv"], clone,
               check=False)
    assert res.returncode == 1 and "AUDIT FAILED: results/tables/errors.csv" in res.stderr, res.stderr

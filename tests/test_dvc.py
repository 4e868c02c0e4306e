"""Data versioning and provenance: the run manifest (unit tests) and the DVC pipeline (workflow tests).

Unit tests of :mod:`discrete_eit.manifest` run on synthetic files. The tests marked ``workflow``
clone the repository (committed files only, as CI does) into a temporary directory and run the
quick configuration through ``dvc repro``; see docs/provenance.md.
"""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from discrete_eit import manifest as mf
from discrete_eit.io import write_artifact, write_bytes_artifact
from discrete_eit.provenance import sha256_file


# ---- manifest: unit tests ----------------------------------------------------------------------
def _fake_run(root):
    """A miniature run tree: a dataset, a reconstruction, a table, a log, a config overlay."""
    (root / "config").mkdir()
    (root / "config" / "config.yaml").write_text(
        "# base\nprofile_seed: 0\nruns:\n  nn: {method: nn, options: {}}\n"
        "studies:\n  noise: {n: [6], delta: [0, 0.001]}\n")
    (root / "config" / "quick.yaml").write_text("studies:\n  noise:\n    n: [4]\n")
    write_artifact(root / "data/wave/n4/full/d0_s0.npz", {"dtn": np.eye(4)}, "dataset", {"n": 4}, [], 0.5)
    write_artifact(root / "results/recon/nn/d0_s0.npz", {"gamma": np.ones(3)}, "reconstruction",
                   {"method": "nn"}, [root / "data/wave/n4/full/d0_s0.npz"], 2.0)
    write_bytes_artifact(root / "results/tables/errors.csv", b"run,rel_l2\nnn,0.1\n", "table", {},
                         [root / "results/recon/nn/d0_s0.npz"])
    (root / "results/logs").mkdir(parents=True)
    (root / "results/logs/x.log").write_text("log\n")
    (root / "results/tables/.errors.csv.abc.tmp").write_text("half")


def test_merge_config_like_snakemake():
    base = {"a": 1, "runs": {"nn": {"method": "nn", "threads": 1}}, "studies": {"s": {"n": [4, 6]}}}
    over = {"runs": {"nn": {"threads": 2}}, "studies": {"s": {"n": [3]}}, "b": [1]}
    merged = mf.merge_config(base, over)
    assert merged == {"a": 1, "b": [1], "runs": {"nn": {"method": "nn", "threads": 2}},
                      "studies": {"s": {"n": [3]}}}
    assert base["runs"]["nn"]["threads"] == 1  # inputs untouched


def test_config_hash_ignores_layout_and_comments(tmp_path):
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text("x: 1\ny: [1, 2]\n")
    b.write_text("# comment\ny:\n  - 1\n  - 2\nx: 1\n")
    ra, rb = mf.config_record([a]), mf.config_record([b])
    assert ra["sha256"] == rb["sha256"]
    assert ra["files"][0]["sha256"] != rb["files"][0]["sha256"]
    b.write_text("x: 2\ny: [1, 2]\n")
    assert mf.config_record([b])["sha256"] != ra["sha256"]
    with pytest.raises(mf.ManifestError, match="missing.yaml"):
        mf.config_record([tmp_path / "missing.yaml"])


def test_manifest_records_every_output(tmp_path, monkeypatch):
    _fake_run(tmp_path)
    monkeypatch.chdir(tmp_path)
    rec = mf.write_manifest("results/provenance.json", ["config/config.yaml", "config/quick.yaml"])
    on_disk = json.loads((tmp_path / "results/provenance.json").read_text())
    assert on_disk == json.loads(json.dumps(rec))
    assert rec["schema"] == mf.SCHEMA
    expected = {"data/wave/n4/full/d0_s0.npz", "data/wave/n4/full/d0_s0.npz.json",
                "results/recon/nn/d0_s0.npz", "results/recon/nn/d0_s0.npz.json",
                "results/tables/errors.csv", "results/tables/errors.csv.json"}
    assert set(rec["outputs"]) == expected  # not the manifest, not temporaries, not logs
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
    assert mf.main(["--config", "config/config.yaml"]) == 0
    assert mf.main(["verify"]) == 0
    assert "manifest verified: 6 output(s)" in capsys.readouterr().out
    data = tmp_path / "data/wave/n4/full/d0_s0.npz"
    raw = bytearray(data.read_bytes())
    raw[-1] ^= 0xFF
    data.write_bytes(bytes(raw))
    assert mf.main(["verify", "results/provenance.json"]) == 1
    assert "data/wave/n4/full/d0_s0.npz: sha256" in capsys.readouterr().err
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
    rec = mf.git_record(tmp_path)
    assert len(rec["commit"]) == 40 and rec["branch"] == "main" and rec["dirty"] is False
    (tmp_path / "untracked.txt").write_text("u\n")
    assert mf.git_record(tmp_path)["dirty"] is False  # untracked outputs do not count
    (tmp_path / "f.txt").write_text("2\n")
    assert mf.git_record(tmp_path)["dirty"] is True


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


def test_headline_metrics():
    m = mf.headline_metrics(_errors_table())
    assert m["cells"] == {"total": 24, "ok": 22, "invalid": 1, "not_applicable": 1}
    noise = m["rel_l2"]["noise"]
    assert set(noise) == {"cm", "nn"}
    assert set(noise["nn"]) == {"exact", "delta_0p0001", "delta_0p01"}
    assert noise["nn"]["delta_0p01"] == pytest.approx(1e-3 * 2 * 2)  # median over seeds 1, 2, 3
    assert m["rel_l2"]["sizes"]["cm"] == {"n3": pytest.approx(5e-3), "n4": pytest.approx(1e-2)}
    # invalid and not-applicable rows do not count: no value left
    assert m["rel_l2"]["partial"]["cm"] == {"last3n": None, "sigma0": None}
    json.dumps(m, allow_nan=False)  # valid JSON for dvc metrics


def test_error_vs_delta_and_loss_curves(tmp_path):
    t = mf.error_vs_delta(_errors_table())
    assert list(t.columns) == ["series", "run", "profile", "n", "set", "delta", "rel_l2", "seeds"]
    assert (t["delta"] > 0).all() and set(t["series"]) == {"nn", "cm"} and (t["seeds"] == 3).all()
    hist = np.column_stack([np.arange(1000.0), np.geomspace(1, 1e-8, 1000), np.zeros(1000)])
    write_artifact(tmp_path / "r1.npz", {"gamma": np.ones(2), "history": hist}, "reconstruction", {},
                   extra={"info": {"history_columns": ["iteration", "loss", "step"]}})
    write_artifact(tmp_path / "r2.npz", {"gamma": np.ones(2)}, "reconstruction", {})
    curves = mf.loss_curves([{"label": "a", "recon": tmp_path / "r1.npz"},
                             {"label": "b", "recon": tmp_path / "r2.npz"}], max_points=50)
    assert set(curves["curve"]) == {"a"} and 40 <= len(curves) <= 52
    assert curves["iteration"].iloc[0] == 0 and curves["iteration"].iloc[-1] == 999
    assert curves["loss"].iloc[-1] == pytest.approx(1e-8)


def test_write_dvc_metrics_has_sidecar(tmp_path, capsys):
    _errors_table().to_csv(tmp_path / "errors.csv", index=False)
    assert mf.main(["metrics", "--errors", str(tmp_path / "errors.csv"),
                    "--out", str(tmp_path / "metrics.json")]) == 0
    side = json.loads((tmp_path / "metrics.json.json").read_text())
    assert side["kind"] == "metrics" and str(tmp_path / "errors.csv") in side["inputs"]
    assert json.loads((tmp_path / "metrics.json").read_text())["cells"]["total"] == 24

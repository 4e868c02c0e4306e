"""The Snakemake workflow end to end on the quick configuration (docs/workflow.md).

Each test works in a temporary copy of the workflow files (Snakefile, workflow/, config/), so the
repository is never written to. Marked ``workflow``: ``pytest -m workflow``. The full quick run
takes a few minutes on 2 cores; the module runs it once and shares it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from _workflow import QUICK, ROOT, SNAKEMAKE, copy_workflow, install_plugin, snakemake  # tests/ on sys.path

from discrete_eit.artifacts.evaluation import evaluate_reconstruction

pytestmark = pytest.mark.workflow

TABLES = ["errors", "errors_summary", "speed", "training", "regions", "completion", "sensitivity", "table1",
          "sensitivity_mc", "robustness", "claims"]
STUDIES = ["sizes", "noise", "partial", "prior", "robustness"]
FIGURES = ["fig1", "fig3a", "fig3b", "fig4", "fig5", "fig6", "fig7", "fig8", "fig9", "fig10", "fig11",
           "fig12", "robustness"]
# Rows of these tables must carry finite numbers (NaN allowed only where documented).
FINITE = {"errors": ["rel_l2", "max_rel", "boundary", "dtn_residual", "wall_time_s"],
          "errors_summary": ["rel_l2_median", "max_rel_median", "boundary_median"],
          "training": ["final_loss", "iterations"],
          "completion": ["block_error_median"],
          "sensitivity": ["rank", "n_params"],
          "table1": ["err_measured"],
          "sensitivity_mc": ["ratio_median"],
          "robustness": ["rel_l2_mean", "rel_l2_min"]}


def job_counts(output: str) -> dict[str, int]:
    """The 'Job stats' table of a (dry) run as {rule: count}."""
    counts: dict[str, int] = {}
    if "Job stats:" not in output:
        return counts
    block = output.split("Job stats:", 1)[1].splitlines()
    for line in block[3:]:
        m = re.match(r"^(\S+)\s+(\d+)$", line.strip())
        if not m:
            break
        counts[m.group(1)] = int(m.group(2))
    return counts


def _tables(wd: Path) -> dict[str, pd.DataFrame]:
    return {t: pd.read_csv(wd / "results/tables" / f"{t}.csv") for t in TABLES}


# ---- end to end ----------------------------------------------------------------------------------
def test_quick_run_outputs(quick_run):
    wd = quick_run
    for t in TABLES:
        for ext in ("csv", "md", "html") if t != "claims" else ("csv",):
            assert (wd / "results/tables" / f"{t}.{ext}").stat().st_size > 0, f"{t}.{ext}"
    for f in FIGURES:
        for ext in ("png", "pdf"):
            assert (wd / "results/figures" / f"{f}.{ext}").stat().st_size > 1000, f"{f}.{ext}"
    claims = (wd / "results/claims.md").read_text()
    assert re.search(r"\*\*\d+ PASS, \d+ FAIL, \d+ N/A\*\* of \d+ claims", claims)
    tables = _tables(wd)
    errors = tables["errors"]
    ok = errors[errors["status"] == "ok"]
    assert len(ok) >= 0.8 * len(errors)
    for name, cols in FINITE.items():
        df = tables[name]
        assert len(df) > 0, name
        if name == "errors":
            df = ok
        elif name == "errors_summary":
            df = df[df["n_ok"] > 0]
        elif name == "sensitivity_mc":
            df = df[df["full_rank"].astype(bool)]
        for col in cols:
            vals = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)
            assert np.isfinite(vals).all(), f"{name}.{col} has non-finite values"
    # centre errors exist wherever the lattice has a centre (n >= 4)
    assert np.isfinite(ok[ok["n"] >= 4]["centre"]).all()
    # every method of the quick grid produced rows; CM is not applicable where Λ is not determined
    assert {"nn", "nn_fast", "ols", "cm"} <= set(errors["method"])
    na = errors[errors["status"] == "not_applicable"]
    assert (na["method"] == "cm").all()
    # Table 1 reports the rank-deficient set without a prediction
    t1 = tables["table1"]
    assert (~t1[t1["set"] == "corners"]["full_rank"].astype(bool)).all()
    assert np.isfinite(t1[t1["full_rank"].astype(bool)]["ratio"]).all()
    # provenance: every table has its sidecar; the run manifest lists every output with its hash
    for t in TABLES:
        assert (wd / "results/tables" / f"{t}.csv.json").is_file(), t
    manifest = json.loads((wd / "results/provenance.json").read_text())
    listed = json.dumps(manifest)
    for rel in ("results/tables/errors.csv", "results/claims.md", "results/figures/fig8.png",
                "results/metrics.json"):
        assert rel in listed, rel
    # one dataset and reconstruction per cell of the error table; the row names the reconstruction
    for row in ok.head(20).itertuples():
        cell = f"{row.profile}/n{row.n}/{row.set}/{row.noise_model}/d{row.delta:g}_s{row.seed}"
        assert (wd / f"data/dtn/{cell}.npz").is_file(), cell
        assert row.source == f"results/recon/{row.run}/{cell}.npz" and (wd / row.source).is_file()
    cells = errors.drop_duplicates(["profile", "n", "set", "noise_model", "delta", "seed", "run"])
    metrics = json.loads((wd / "results/metrics.json").read_text())   # the headline subset
    assert metrics["cells"]["total"] == len(cells) < len(errors) and metrics["fig4"]["log10_error"]
    assert metrics["claims"] == {k: int((tables["claims"]["verdict"] == v).sum())
                                 for k, v in (("pass", "PASS"), ("fail", "FAIL"), ("na", "N/A"))}
    full = json.loads((wd / "results/metrics_full.json").read_text())  # every cell
    assert full["cells"]["total"] == len(cells) and full["rel_l2"]


def test_every_study_is_reported_with_its_own_outputs(quick_run):
    """Each cell's rows name every study that lists it; each study has its summary and figures."""
    errors = pd.read_csv(quick_run / "results/tables/errors.csv")
    assert list(dict.fromkeys(errors["study"])) != [] and set(errors["study"]) == set(STUDIES)
    # the robustness study repeats the noise study's cells of the relative model: same file, two rows
    shared = errors[(errors["noise_model"] == "relative") & (errors["delta"] == 1e-2) & (errors["n"] == 4)
                    & (errors["set"] == "full") & (errors["run"] == "cm")]
    assert sorted(shared["study"]) == ["noise", "partial", "robustness"] and shared["source"].nunique() == 1
    assert (shared.drop(columns="study").nunique() <= 1).all()
    for study in STUDIES:
        rows = errors[errors["study"] == study]
        summary = pd.read_csv(quick_run / f"results/studies/{study}/summary.csv")
        assert summary["n_seeds"].sum() == len(rows), study
        assert (quick_run / f"results/studies/{study}/gallery.png").stat().st_size > 10_000
    made = {p.name for p in (quick_run / "results/studies").glob("*/error_vs_*.png")}
    assert made == {"error_vs_n.png", "error_vs_delta.png"}
    assert (quick_run / "results/studies/sizes/error_vs_n.png").is_file()
    assert (quick_run / "results/studies/noise/error_vs_delta.png").is_file()


def test_a_study_repeating_a_noise_cell_adds_rows_not_work(quick_run, tmp_path):
    """The quick config plus a study of one cell of the paper's noise study: nothing to compute but
    the tables that list it (a dry run on the finished quick run)."""
    overlay = tmp_path / "repeat.yaml"
    overlay.write_text(yaml.safe_dump({"studies": {"repeat": {"n": [4], "delta": [1.0e-4], "runs": ["nn"]}}}))
    counts = job_counts(snakemake(quick_run, "-n", *QUICK, str(overlay), timeout=300))
    assert not {"generate", "reconstruct", "reconstruct_batch", "file_batch_member"} & set(counts), counts
    assert {"table_errors", "table_summary_repeat", "figure_gallery_repeat"} <= set(counts), counts


def test_an_own_experiment_runs_only_its_study(tmp_path):
    """config/own_study.yaml (paper: false): no paper work planned; 12 rows labelled with the study,
    its four outputs; a further study repeating one of its cells plans no reconstruction."""
    wd = copy_workflow(tmp_path / "own")
    own = ["--configfile", "config/own_study.yaml"]
    counts = job_counts(snakemake(wd, "-n", *own, timeout=300))
    assert not {"reconstruct_batch", "sensitivity", "claims", "figure_fig4", "table_table1",
                "table_sensitivity_mc"} & set(counts), counts
    assert counts["generate"] == 6 and counts["file_batch_member"] == 12, counts
    snakemake(wd, "--cores", "2", *own, timeout=900)
    errors = pd.read_csv(wd / "results/tables/errors.csv")
    assert len(errors) == 12 and set(errors["study"]) == {"mine"} and (errors["status"] == "ok").all()
    assert sorted(errors["run"].unique()) == ["cm", "nn_fast"] and sorted(errors["n"].unique()) == [4, 5]
    for name in ("summary.csv", "summary.md", "error_vs_delta.png", "error_vs_n.png", "gallery.png"):
        assert (wd / "results/studies/mine" / name).stat().st_size > 0, name
    assert not (wd / "results/claims.md").exists() and not (wd / "results/figures").exists()
    assert json.loads((wd / "results/metrics.json").read_text()) == {"cells": {"total": 12, "invalid": 0}}
    # the same cells under a second study: nothing to recompute, only what lists them
    (wd / "again.yaml").write_text(yaml.safe_dump({"studies": {"again": {
        "n": [5], "delta": [1.0e-3], "seeds": [1], "runs": ["cm"]}}}))
    counts = job_counts(snakemake(wd, "-n", *own, "again.yaml", timeout=300))
    assert not {"generate", "reconstruct", "file_batch_member"} & set(counts), counts
    assert {"table_errors", "table_summary_again", "figure_gallery_again"} <= set(counts), counts


def test_rerun_is_a_noop(quick_run):
    text = snakemake(quick_run, "-n", *QUICK)
    assert "Nothing to be done" in text, text[-3000:]


def test_deleting_one_reconstruction_rebuilds_only_it(quick_run, tmp_path):
    wd = copy_workflow(tmp_path / "wd")
    for d in ("data", "results", ".snakemake"):
        shutil.copytree(quick_run / d, wd / d, symlinks=True)
    # a per-dataset method's result: filed again from its batch (no solve), the tables redone
    victim = wd / "results/recon/cm/wave/n4/full/relative/d0.01_s0.npz"
    assert victim.is_file()
    victim.unlink()
    counts = job_counts(snakemake(wd, "-n", *QUICK))
    assert counts.get("file_batch_member") == 1 and "reconstruct" not in counts, counts
    assert "generate" not in counts and "reconstruct_batch" not in counts, counts
    assert counts.get("table_errors") == 1 and counts.get("claims") == 1
    # a batched NN result: likewise filed again from its batch (no training), nothing else upstream
    nn_victim = wd / "results/recon/nn/wave/n4/last3n/relative/d0_s0.npz"
    nn_victim.unlink()
    counts = job_counts(snakemake(wd, "-n", *QUICK))
    assert counts.get("file_batch_member") == 2, counts  # the two victims
    assert "reconstruct_batch" not in counts and "reconstruct" not in counts, counts
    # deleting the batch retrains that batch (one job) and refiles its members
    batch = wd / "results/recon_batches/nn/wave_n4_partial"
    members = len(list(batch.glob("*.npz")))
    assert members > 1 and (batch / "last3n_relative_d0_s0.npz").is_file()
    shutil.rmtree(batch)
    counts = job_counts(snakemake(wd, "-n", *QUICK))
    assert counts.get("reconstruct_batch") == 1, counts
    assert counts.get("file_batch_member") == members + 1 and "generate" not in counts, counts
    # and running it rebuilds exactly that
    snakemake(wd, "--cores", "2", *QUICK)
    assert victim.is_file() and nn_victim.is_file()
    assert "Nothing to be done" in snakemake(wd, "-n", *QUICK)


def _invalid(tmp_path: Path, overlay: dict, key: str) -> None:
    wd = copy_workflow(tmp_path / "inv")
    (wd / "bad.yaml").write_text(yaml.safe_dump(overlay))
    rc, text = snakemake(wd, "--cores", "1", *QUICK, "bad.yaml", check=False, timeout=300)
    assert rc != 0, text[-2000:]
    assert f"invalid configuration: {key}" in text, text[-2000:]
    assert not (wd / "data/dtn").exists() and not (wd / "results").exists(), "a job ran"
    shutil.rmtree(wd)


@pytest.mark.parametrize("overlay, key", [
    ({"bogus": 1}, "bogus"),
    ({"studies": {"noise": {"n": [4], "delta": [0, -1e-3], "runs": ["nn"]}}}, "studies.noise.delta[1]"),
    ({"studies": {"sizes": {"n": [0, 4], "delta": [0], "runs": ["nn"]}}}, "studies.sizes.n[0]"),
    ({"runs": {"magic": {"method": "magic"}}}, "runs.magic.method"),
    ({"studies": {"partial": {"n": [4], "delta": [0], "sets": ["full", "nosuch"], "runs": ["nn"]}}},
     "studies.partial.sets[1]"),
    ({"studies": {"prior": {"n": [4], "delta": [0.01], "runs": ["nn", "nope"]}}}, "studies.prior.runs"),
    ({"studies": {"noise": {"n": [4], "delta": [0], "runs": ["nn"], "profiles": ["flat"]}}},
     "studies.noise.profiles[0]"),
    ({"monte_carlo": {"method": "magic"}}, "monte_carlo.method"),
    ({"runs": {"cm": {"options": {"bogus": 1}}}}, "runs.cm.options"),
    ({"runs": {"cm": {"options": {"variant": "three-sided"}}}}, "runs.cm.options"),
    ({"figures": {"working_n": 5}}, "studies.noise.n"),
    ({"studies": {"noise": {"runs": ["cm", "nn_fast"]}}}, "studies.noise.runs"),
    ({"runs": {"cm2": {"method": "cm"}}, "studies": {"sizes": {"runs": ["cm2"]}}}, "studies.sizes.runs"),
    ({"studies": {"noise": {"n": [4], "delta": [0], "runs": ["nn"], "typo": 1}}}, "studies.noise.typo"),
])
def test_invalid_config_stops_before_any_job(tmp_path, overlay, key):
    _invalid(tmp_path, overlay, key)


def test_registered_names_need_no_schema_change():
    """Methods, sets and profiles are validated against the registries, not schema enums."""
    schema = yaml.safe_load((ROOT / "workflow/schemas/config.schema.yaml").read_text())
    defs = schema["$defs"]
    for name in ("method", "partial_set", "profile"):
        assert "enum" not in defs[name] and defs[name]["type"] == "string", name


@pytest.mark.parametrize("configs", [[], QUICK], ids=["default", "quick"])
def test_dry_run_lists_the_dag(tmp_path, configs):
    wd = copy_workflow(tmp_path / "dry")
    counts = job_counts(snakemake(wd, "-n", *configs, timeout=600))
    assert counts.get("all") == 1 and counts.get("generate", 0) > (20 if not configs else 10), counts
    assert counts.get("reconstruct_batch", 0) > 0 and counts.get("reconstruct", 0) > 0
    assert counts.get("file_batch_member", 0) > counts["reconstruct_batch"]
    assert counts.get("provenance_manifest") == 1 and counts.get("claims") == 1
    assert counts.get("table_summary_noise") == 1 and counts.get("figure_gallery_sizes") == 1


@pytest.mark.parametrize("configs", [[], QUICK], ids=["default", "quick"])
def test_lint_clean_for_workflow_rules(tmp_path, configs):
    wd = copy_workflow(tmp_path / "lint")
    rc, text = snakemake(wd, "--lint", *configs, check=False, timeout=600)
    assert rc == 0 and "Congratulations, your workflow is in a good condition!" in text, text[-4000:]
    assert not [line for line in text.splitlines() if line.startswith("Lints for")], text[-4000:]


@pytest.mark.slow
def test_kill_and_rerun_gives_identical_tables(quick_run, tmp_path):
    """kill -9 in the middle of a run, unlock, rerun: the tables equal those of the clean run.

    Wall times differ from run to run and are excluded from the comparison.
    """
    wd = copy_workflow(tmp_path / "kill")
    proc = subprocess.Popen([*SNAKEMAKE, "--cores", "2", *QUICK], cwd=wd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 900
    recon = wd / "results/recon"
    while time.time() < deadline and proc.poll() is None:
        if recon.is_dir() and sum(1 for _ in recon.rglob("*.npz")) >= 10:
            break
        time.sleep(0.5)
    assert proc.poll() is None, "the run finished before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    snakemake(wd, "--unlock", *QUICK)
    snakemake(wd, "--cores", "2", "--rerun-incomplete", *QUICK)
    a, b = _tables(quick_run), _tables(wd)
    for name in TABLES:
        x, y = a[name], b[name]
        drop = [c for c in x.columns if "wall_time" in c]
        pd.testing.assert_frame_equal(x.drop(columns=drop), y.drop(columns=drop), check_exact=True,
                                      obj=name)


def _planned(text: str) -> dict[str, int]:
    """Jobs per rule of a dry run (Snakemake's job-stats table), {} when nothing is to be done."""
    rows = re.findall(r"^(\w+)\s+(\d+)$", text, flags=re.M)
    return {rule: int(count) for rule, count in rows if rule != "total"}


def _code_change_reruns_exactly_its_jobs(wd: Path, module: Path, target: str) -> None:
    """A comment/docstring-only edit of a method's module plans nothing; a real edit plans exactly
    the jobs that run it (and their consumers), and audit calls their old outputs stale."""
    source = module.read_text()
    module.write_text(source.replace('"""γ = c·1', '# a comment\n    """γ = c·1, fitted').replace(
        "import numpy as np", "import numpy as np  # arrays"))
    assert _planned(snakemake(wd, "-n", target, *QUICK, "plugin.yaml", timeout=300)) == {}
    module.write_text(source.replace("scale * c", "c * scale"))  # same numbers, different code
    assert _planned(snakemake(wd, "-n", target, *QUICK, "plugin.yaml", timeout=300)) == {
        "reconstruct": 1, "file_batch_member": 1}
    audit = subprocess.run(["discrete-eit", "audit", target], cwd=wd, capture_output=True, text=True)
    assert audit.returncode == 3, audit.stdout + audit.stderr
    assert f"AUDIT STALE: {target}: code changed since it was made" in audit.stderr
    snakemake(wd, target, "--cores", "2", *QUICK, "plugin.yaml", timeout=600)
    audit = subprocess.run(["discrete-eit", "audit", target], cwd=wd, capture_output=True, text=True)
    assert audit.returncode == 0, audit.stdout + audit.stderr


def test_report_has_every_figure_and_table(quick_run, tmp_path):
    html = tmp_path / "report.html"
    text = snakemake(quick_run, *QUICK, "--report", str(html), timeout=600)
    assert html.stat().st_size > 100_000, text[-2000:]
    assert "ERROR/" not in text, text[-2000:]  # a broken caption
    page = html.read_text()
    # the landing page (workflow description and facts), claims first, sections, then the studies
    assert "discrete-eit: the run" in page and "claims of the paper checked" in page
    categories = ["Claims", *(f"Paper {i} \\u00b7" for i in range(1, 9)), "Results \\u00b7 every study",
                  *(f"Study \\u00b7 {s}" for s in STUDIES)]
    assert all(c in page for c in categories), [c for c in categories if c not in page]
    assert 'Morrow (run <tt class=\\"docutils literal\\">cm</tt>)' in page  # captions name the runs


def test_a_new_method_is_one_module(tmp_path, monkeypatch):
    """A method module (found through its entry point) is usable by naming a run of it in a config
    overlay: no file of the package, the rules or the configs is edited."""
    wd = copy_workflow(tmp_path / "plugin")
    monkeypatch.setenv("PYTHONPATH", str(install_plugin(tmp_path / "plugins")))
    quick = yaml.safe_load((ROOT / "config/quick.yaml").read_text())
    sizes = {**quick["studies"]["sizes"], "runs": [*quick["studies"]["sizes"]["runs"], "const"]}
    (wd / "plugin.yaml").write_text(yaml.safe_dump({"runs": {"const": {"method": "constant",
                                                                       "options": {"scale": 1.0}}},
                                                    "studies": {"sizes": sizes}}))
    target = "results/recon/const/wave/n3/full/relative/d0_s0.npz"
    snakemake(wd, target, "--cores", "2", *QUICK, "plugin.yaml", timeout=600)
    metrics = evaluate_reconstruction(wd / "data/dtn/wave/n3/full/relative/d0_s0.npz", wd / target)
    assert 0 < metrics["relative_l2_error"] < 1
    meta = json.loads((wd / "results/recon/const/wave/n3/full/relative/d0_s0.npz.json").read_text())
    assert meta["params"]["method"] == "constant" and meta["info"]["constant"] > 0
    _code_change_reruns_exactly_its_jobs(wd, tmp_path / "plugins" / "constant_method.py", target)
    # without the plugin on the path the same overlay is refused before any job, naming the key
    monkeypatch.delenv("PYTHONPATH")
    rc, text = snakemake(wd, "-n", *QUICK, "plugin.yaml", check=False, timeout=300)
    assert rc != 0 and "invalid configuration: runs.const.method: unknown method 'constant'" in text

"""The examples under examples/ run as documented (README "Python API")."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_quickstart_runs(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
           "OPENBLAS_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    out = tmp_path / "qs"
    command = [sys.executable, str(ROOT / "examples/quickstart.py"), "--n", "4", "--out", str(out)]
    proc = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "cm: unknown option 'lam' (known: variant, solve, completion_pinv)" in proc.stdout
    png = (out / "quickstart.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
    assert (out / "data.npz").is_file() and (out / "data.npz.json").is_file()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n"] == 4 and summary["sensitivity_rank"] == summary["n_params"] == 40
    errors = {name: m["relative_l2_error"] for name, m in summary["errors"].items()}
    assert set(errors) == {"cm", "nn_fast", "ols"}
    # δ = 1e-3 at n = 4: every method is within a few times the predicted noise-driven error
    predicted = summary["predicted_relative_l2_error"]
    assert 1e-3 < predicted < 1e-2
    for name, error in errors.items():
        assert 0 < error < 5 * predicted, (name, error, predicted)


def test_the_top_level_exports_what_it_lists():
    import discrete_eit

    assert len(set(discrete_eit.__all__)) == len(discrete_eit.__all__)
    assert [name for name in discrete_eit.__all__ if not hasattr(discrete_eit, name)] == []
    for name in ("reconstruct", "load_dtn_matrix", "predicted_std", "error_metrics", "OptionError"):
        assert name in discrete_eit.__all__


def test_real_data_runs(tmp_path):
    """The real-data path (examples/real_data.py): .mat in the authors' layout, δ from the data, two
    methods with error bars, a figure; the truth from its own file scores them (n = 4: about 3 s)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
           "OPENBLAS_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    out = tmp_path / "rd"
    command = [sys.executable, str(ROOT / "examples/real_data.py"), "--n", "4", "--delta", "1e-3",
               "--out", str(out)]
    proc = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "δ estimated from the data" in proc.stdout
    png = (out / "real_data.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
    summary = json.loads((out / "summary.json").read_text())
    assert 0.8 <= summary["delta_estimate"] / summary["delta"] <= 1.25
    assert set(summary["methods"]) == {"cm", "ols"}
    ols = summary["methods"]["ols"]
    assert ols["relative_l2_error"] < 0.05 and ols["within_2sigma"] >= 0.9  # ols's bars are conservative

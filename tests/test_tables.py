"""Unit tests of the result tables (discrete_eit.tables) and the claims check (discrete_eit.claims)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from discrete_eit.experiment import claims as cl
from discrete_eit.experiment import tables as tb
from discrete_eit.problem.lattice import Lattice


def _cell(**kw):
    base = {"profile": "wave", "n": 4, "set": "full", "delta": 0.0, "seed": 0, "run": "nn",
            "method": "nn", "study": "noise"}
    base.update(kw)
    return base


def _metrics(rel, centre=None, boundary=None, residual=1e-3):
    return {"relative_l2_error": rel, "max_relative_error": 3 * rel,
            "centre_error": rel * 2 if centre is None else centre,
            "boundary_error": rel / 2 if boundary is None else boundary, "dtn_residual": residual}


def _side(iterations=100, wall=1.5, batch=4, stop="budget"):
    return {"info": {"iterations": iterations, "stop_reason": stop}, "wall_time_s": wall, "batch_size": batch}


# ---- error table -------------------------------------------------------------------------------
def test_error_row_maps_metrics_and_sidecar():
    row = tb.error_row(_cell(), _metrics(0.1), _side())
    assert row["rel_l2"] == 0.1 and row["max_rel"] == pytest.approx(0.3)
    assert row["centre"] == 0.2 and row["boundary"] == 0.05 and row["dtn_residual"] == 1e-3
    assert row["iterations"] == 100 and row["wall_time_s"] == 1.5 and row["batch_size"] == 4
    assert row["status"] == tb.STATUS_OK and row["stop_reason"] == "budget"


def test_error_row_invalid_and_not_applicable():
    bad = tb.error_row(_cell(run="cm", method="cm"), _metrics(float("nan"), residual=float("nan")),
                       {"info": {}, "wall_time_s": 0.01})
    assert bad["status"] == tb.STATUS_INVALID and math.isnan(bad["iterations"])
    na = tb.error_row(_cell(run="cm", method="cm", set="last2n"), None, None)
    assert na["status"] == tb.STATUS_NA and math.isnan(na["rel_l2"])


def test_error_row_none_metrics_become_nan():
    row = tb.error_row(_cell(n=3), {**_metrics(0.1), "centre_error": None}, _side())
    assert math.isnan(row["centre"]) and row["status"] == tb.STATUS_OK


def _error_df():
    rows = []
    for delta, base in ((0.0, 1e-8), (1e-3, 1e-2), (1e-2, 1e-1)):
        for seed in ((0,) if delta == 0 else (0, 1, 2)):
            for run, method, f in (("nn", "nn", 1.0), ("cm", "cm", 5.0)):
                rel = base * f * (1 + 0.1 * seed)
                rows.append(tb.error_row(_cell(delta=delta, seed=seed, run=run, method=method),
                                         _metrics(rel), _side(iterations=10 * (seed + 1))))
    return tb.build_error_table(rows)


def test_build_error_table_sorted_and_typed():
    df = _error_df()
    assert list(df.columns[:7]) == tb.KEYS
    assert df["n"].dtype.kind == "i" and df["seed"].dtype.kind == "i"
    keys = df[["delta", "seed", "run"]].to_records(index=False).tolist()
    assert keys == sorted(keys)
    assert tb.build_error_table([]).empty


def test_summarise_median_and_spread_over_seeds():
    s = tb.summarise_errors(_error_df())
    row = s[(s["run"] == "nn") & (s["delta"] == 1e-3)].iloc[0]
    assert row["n_seeds"] == 3 and row["n_ok"] == 3
    assert row["rel_l2_median"] == pytest.approx(1.1e-2)
    assert row["rel_l2_min"] == pytest.approx(1e-2) and row["rel_l2_max"] == pytest.approx(1.2e-2)
    assert row["iterations_median"] == 20
    assert len(s) == 6  # 3 δ × 2 runs


def test_speed_table():
    sp = tb.speed_table(_error_df())
    assert set(sp["run"]) == {"nn", "cm"}
    assert (sp["wall_time_s_median"] == 1.5).all()


# ---- training ------------------------------------------------------------------------------
def test_training_row_plateau_and_decades():
    it = np.arange(0, 1000, 10, dtype=float)
    loss = 1e2 * np.exp(-it / 50) + 1e-6
    row = tb.training_row(_cell(), {"history_columns": ["iteration", "loss"]}, np.c_[it, loss])
    assert row["final_loss"] == pytest.approx(loss[-1])
    assert row["decades"] == pytest.approx(np.log10(loss[0] / loss[-1]))
    assert row["drop_ratio"] == pytest.approx(1.0)
    assert 0 < row["iter_to_plateau"] < 1000
    spiky = loss.copy()
    spiky[50] = 1e3 * spiky[49]
    assert tb.training_row(_cell(), {}, np.c_[it, spiky])["drop_ratio"] > 100
    empty = tb.training_row(_cell(), {}, np.empty((0, 2)))
    assert math.isnan(empty["final_loss"])


def test_history_columns_named_by_sidecar():
    h = np.arange(12.0).reshape(4, 3)
    cols = tb.history_columns({"history_columns": ["iteration", "loss", "gamma_error"]}, h)
    assert list(cols) == ["iteration", "loss", "gamma_error"] and (cols["loss"] == h[:, 1]).all()
    assert list(tb.history_columns({}, h)) == ["iteration", "loss", "col2"]


# ---- completion, sensitivity, Table 1 -----------------------------------------------------
def test_block_error_and_completion_summary():
    exact = np.arange(1.0, 65.0).reshape(8, 8)
    noisy = exact.copy()
    noisy[:2, :2] *= 1.01
    assert tb.block_error(noisy, exact, 2) == pytest.approx(0.01)
    rows = [{"profile": "wave", "n": 2, "set": "last3n", "delta": d, "seed": s, "block_error": d * (5 + s)}
            for d in (0.0, 1e-3) for s in (0, 1, 2)]
    out = tb.completion_summary(rows)
    r = out[out["delta"] == 1e-3].iloc[0]
    assert r["block_error_median"] == pytest.approx(6e-3) and r["ratio_to_delta"] == pytest.approx(6)
    assert math.isnan(out[out["delta"] == 0]["ratio_to_delta"].iloc[0])


def test_table1_row_matches_prediction_for_gaussian_errors():
    rng = np.random.default_rng(0)
    gamma = np.full(40, 0.7)
    std = rng.uniform(1, 10, 40)
    delta = 1e-5
    errors = [delta * std * rng.standard_normal(40) for _ in range(400)]
    row = tb.table1_row("full", delta, gamma, std, errors, 40, 40)
    assert row["full_rank"] and 0.9 < row["ratio"] < 1.1 and row["shape_corr"] > 0.8
    deficient = tb.table1_row("corners", delta, gamma, np.full(40, np.nan), errors[:3], 39, 40)
    assert not deficient["full_rank"] and math.isnan(deficient["ratio"])


def test_sensitivity_row():
    info = {"rank": 83, "n_params": 84, "full_rank": False, "rank_deficiency": 1}
    row = tb.sensitivity_row("wave", 6, "corners", info)
    assert row["rank_deficiency"] == 1 and math.isnan(row["max_rel_std_per_delta"])


# ---- regions -----------------------------------------------------------------------------
def test_region_row_fixed_edge_and_quadrants():
    lat = Lattice(4)
    gamma = np.ones(lat.n_edges)
    hat = gamma.copy()
    ne = tb.quadrant_masks(lat)["NE"] & ~tb.quadrant_masks(lat)["NW"]
    hat[ne] = 1.5
    row = tb.region_row(_cell(), lat, hat, gamma, fixed=[0])
    assert row["err_NE"] > 0 and row["err_SW"] == 0 and row["err_fixed"] == 0
    nb = tb.edge_neighbours(lat, [0])
    assert 0 not in nb and len(nb) >= 1
    assert all(set(lat.edges[e]) & set(lat.edges[0]) for e in nb)
    assert math.isnan(tb.region_row(_cell(), lat, hat, gamma)["err_fixed"])


# ---- writers -----------------------------------------------------------------------------
def test_markdown_and_csv_roundtrip(tmp_path):
    df = _error_df()
    tb.write_table(df, tmp_path / "t.csv", tmp_path / "t.md", "T", "note")
    back = pd.read_csv(tmp_path / "t.csv")
    assert np.allclose(back["rel_l2"], df["rel_l2"], rtol=0, atol=0)
    md = (tmp_path / "t.md").read_text()
    assert md.startswith("# T\n\nnote\n\n| profile |") and md.count("\n|") == len(df) + 2
    assert (tmp_path / "t.csv.json").is_file()  # provenance sidecar
    assert tb._fmt(float("nan")) == "–" and tb._fmt(1e-5) == "1e-05" and tb._fmt(3.0) == "3"


# ---- claims ------------------------------------------------------------------------------
FIG = {"profile": "wave", "seed": 0, "working_n": 4, "nn_run": "nn", "cm_run": "cm", "fixed_run": "nn_fixed",
       "compare_deltas": [0.0, 1e-3], "noise_deltas": [1e-3], "small_delta": 1e-5,
       "further_sets": ["sigma0", "last2n"]}


def _claim_tables(good: bool = True):
    rows = []
    for n in (3, 4, 5):
        rows.append(tb.error_row(_cell(n=n, study="sizes"), _metrics(1e-6 * n ** 3), _side()))
    for pset in ("full", "last3n", "sigma0", "last2n"):
        for d in (0.0, 1e-3):
            nn_rel = (1e-5 if d == 0 else 3e-2) * (1.2 if pset != "full" else 1)
            rows.append(tb.error_row(_cell(set=pset, delta=d), _metrics(nn_rel), _side()))
            if pset == "last2n":
                rows.append(tb.error_row(_cell(set=pset, delta=d, run="cm", method="cm"), None, None))
                continue
            cm_rel = 1e-12 if d == 0 else (5.0 if good else 1e-3)
            rows.append(tb.error_row(_cell(set=pset, delta=d, run="cm", method="cm"), _metrics(cm_rel),
                                     _side()))
    errors = tb.build_error_table(rows)
    training = pd.DataFrame([
        {**{k: v for k, v in _cell(n=n).items() if k in tb.KEYS}, "final_loss": 1e-12 * n, "decades": 8,
         "drop_ratio": 1.5, "iter_to_plateau": 1000}
        for n in (3, 4, 5)])
    return {"errors": errors, "summary": tb.summarise_errors(errors), "training": training,
            "completion": pd.DataFrame(), "regions": pd.DataFrame(), "table1": pd.DataFrame(),
            "sensitivity": pd.DataFrame()}


def _verdicts(claims):
    return {(c.source, c.statement[:30]): c.verdict for c in claims}


def test_claims_pass_fail_and_na():
    good = cl.evaluate_claims(_claim_tables(True), FIG, [])
    bad = cl.evaluate_claims(_claim_tables(False), FIG, [])
    assert len(good) == len(cl.CLAIMS)
    g = {c.source + c.statement: c for c in good}
    b = {c.source + c.statement: c for c in bad}
    key = next(k for k in g if k.startswith("Fig 8") and "blows up" in k)
    assert g[key].verdict == cl.PASS and b[key].verdict == cl.FAIL
    assert "CM" in g[key].evidence
    acc = next(k for k in g if k.startswith("Fig 4") and "accurate" in k)
    assert g[acc].verdict == cl.PASS
    slower = next(k for k in g if "more slowly" in k)
    assert g[slower].verdict == cl.PASS
    # empty tables → N/A with the reason, statement kept
    fig6 = next(c for c in good if c.source == "Fig 6")
    assert fig6.verdict == cl.NA and "not evaluated" in fig6.evidence and fig6.statement
    t1 = next(c for c in good if c.source.startswith("Fig 12"))
    assert t1.verdict == cl.NA


def test_render_claims_counts():
    claims = [cl.Claim("Fig 1", "a | b", "t", "e", cl.PASS), cl.Claim("Fig 2", "c", "t", "e", cl.FAIL)]
    md = cl.render_claims(claims, "ctx")
    assert "**1 PASS, 1 FAIL, 0 N/A** of 2 claims." in md
    assert "a \\| b" in md and md.count("\n| ") == 3


def test_increasing_and_spearman():
    assert cl.increasing([1, 2, 3, 4], [1, 2, 4, 8], 0.7)[0]
    assert not cl.increasing([1, 2, 3, 4], [8, 4, 2, 1], 0.7)[0]
    assert cl.increasing([1, 2], [1, 2], 0.7)[0] and not cl.increasing([1, 2], [2, 1], 0.7)[0]
    assert cl.increasing([1, 2, 3], [2, 2, 2], 0.7) == (False, "Spearman ρ = –")   # constant: NaN


def test_mc_row_ratio_of_empirical_to_predicted_std():
    rng = np.random.default_rng(1)
    std = rng.uniform(1, 5, 24)
    delta = 1e-6
    errors = delta * std * rng.standard_normal((2000, 24))
    row = tb.mc_row("full", 3, delta, errors, std, 24, 24, "ols")
    assert row["full_rank"] and abs(row["ratio_median"] - 1) < 0.05
    assert row["ratio_min"] <= row["ratio_median"] <= row["ratio_max"]
    assert math.isnan(tb.mc_row("corners", 3, delta, np.empty((0, 24)), std, 23, 24, "ols")["ratio_median"])


def test_claim_mc_pass_and_fail():
    base = _claim_tables(True)
    good = pd.DataFrame([{"set": "full", "n": 3, "delta": 1e-6, "draws": 50, "full_rank": True,
                          "ratio_median": 1.02, "ratio_min": 0.8, "ratio_max": 1.3}])
    bad = good.assign(ratio_median=0.5)
    verdict = {name: next(c for c in cl.evaluate_claims({**base, "sensitivity_mc": df}, FIG, [])
                          if c.source == "ours: MC").verdict for name, df in (("good", good), ("bad", bad))}
    assert verdict == {"good": cl.PASS, "bad": cl.FAIL}

"""The experiment layer without a workflow run: grid expansion, paths, batching, config checks, layouts.

The configurations are the real ones (config/config.yaml, config/quick.yaml), merged and given their
schema defaults by Snakemake's own utilities, in-process (no Snakemake run).
"""

from __future__ import annotations

import copy
import shlex
from pathlib import Path

import numpy as np
import pytest
import yaml

from discrete_eit.experiment import grid, paths, specs
from discrete_eit.experiment.config import ConfigError, check_config, fixed_edges, schema_error_message
from discrete_eit.experiment.layouts import figure_layouts, layout_files
from discrete_eit.methods import load_methods
from discrete_eit.problem import Lattice

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "workflow/schemas/config.schema.yaml"
METHODS = load_methods()


@pytest.fixture(scope="module")
def default_cfg(load_config):
    return load_config()


@pytest.fixture(scope="module")
def quick_cfg(load_config):
    return load_config("config/quick.yaml")


# ---- paths -----------------------------------------------------------------------------------
def test_paths_fill_the_wildcard_patterns():
    args = dict(profile="wave", n=6, partial_set="last3n", delta=1e-3, seed=2)
    assert paths.data_path(**args) == "data/dtn/wave/n6/last3n/relative/d0.001_s2.npz"
    filled = {**args, "delta": "0.001", "noise_model": "relative"}
    assert paths.data_path(**args) == paths.DATA_PATTERN.format(**filled)
    assert paths.recon_path("nn", **args) == paths.RECON_PATTERN.format(run="nn", **filled)
    assert paths.data_path(**args, noise_model="gain") == "data/dtn/wave/n6/last3n/gain/d0.001_s2.npz"
    # exact data are the same under every model: filed under the default
    assert paths.recon_path("cm", **{**args, "delta": 0}, noise_model="gain") == \
        "results/recon/cm/wave/n6/last3n/relative/d0_s2.npz"
    assert [paths.fmt_delta(d) for d in (0, 1e-5, 1e-4, 0.001)] == ["0", "1e-05", "0.0001", "0.001"]
    assert paths.sensitivity_path("wave", 6, "full") == "results/sensitivity/wave/n6/full.npz"


# ---- grid ------------------------------------------------------------------------------------
def test_default_grid_cells(default_cfg):
    cells, na = grid.expand_cells(default_cfg, METHODS)
    keys = [(c.run, c.profile, c.n, c.partial_set, c.noise_model, c.delta, c.seed) for c in cells + na]
    assert len(keys) == len(set(keys)), "a cell listed by two studies is expanded once"
    assert all(c.seed == 0 for c in cells if c.delta == 0), "exact data are run with seed 0 only"
    # Curtis–Morrow cannot complete sigma0 / corners: those cells are not applicable, nothing else is
    assert {(c.method, c.partial_set) for c in na} == {("cm", "sigma0"), ("cm", "corners")}
    # n = 6, δ = 1e-3, seed 1, full data: listed by the noise and the partial study; noise comes first
    shared = [c for c in cells if (c.run, c.n, c.partial_set, c.noise_model, c.delta, c.seed)
              == ("nn", 6, "full", "relative", 1e-3, 1)]
    assert [c.study for c in shared] == ["noise"]
    sizes = [c for c in cells if c.study == "sizes"]
    assert len(sizes) == 5 * 5  # n ∈ {4..12} × runs {nn, nn_fast, ols, cm, cm1}
    # the noise study's 13 datasets × 7 runs; robustness: 3 new models × 3 δ × 3 seeds × 6 runs
    assert len(cells) == 212 + 162 and len(na) == 14


def test_robustness_study_cells(default_cfg):
    cells, _ = grid.expand_cells(default_cfg, METHODS)
    rb = [c for c in cells if c.study == "robustness"]
    # the relative model's cells are the noise study's (same datasets, same runs): computed once
    assert {c.noise_model for c in rb} == {"additive", "student_t", "gain"}
    assert len(rb) == 3 * 3 * 3 * 6 and {c.run for c in rb} == {"nn", "nn_early", "nn_fast", "ols", "cm",
                                                                 "tikhonov"}
    noise = {(c.run, c.delta, c.seed) for c in cells if c.study == "noise" and c.run != "cm1"}
    assert {(c.run, c.delta, c.seed) for c in rb} <= noise
    assert len({c.data for c in rb}) == 27 and all(f"/full/{c.noise_model}/d" in c.data for c in rb)
    batches = grid.batches(cells)
    assert len(batches["nn", "wave_n6_robustness"]) == len(batches["nn_early", "wave_n6_robustness"]) == 27
    assert all("_gain_d" in c.batch_member for c in cells if c.noise_model == "gain" and c.run == "nn")
    # every cell of the study maps to a unique key of the workflow's wildcards (common.smk CELL_OF)
    assert len({(c.run, c.data) for c in cells}) == len(cells)


def test_exact_data_are_run_once_whatever_the_noise_models(default_cfg):
    cfg = copy.deepcopy(default_cfg)
    cfg["studies"]["robustness"]["delta"] = [0, 1.0e-3]
    cells, _ = grid.expand_cells(cfg, METHODS)
    exact = [c for c in cells if c.delta == 0 and c.n == 6 and c.partial_set == "full" and c.run == "nn_fast"]
    assert [(c.noise_model, c.seed) for c in exact] == [("relative", 0)]
    assert grid.noise_models_for(0.0, cfg["studies"]["robustness"]) == ["relative"]
    assert grid.noise_models_for(1e-3, cfg["studies"]["robustness"])[1] == "additive"


def test_robustness_layout_reads_the_robustness_table(default_cfg):
    layout = figure_layouts(default_cfg, METHODS)["robustness"]
    assert layout_files(layout) == [paths.table_paths("robustness")[0]]
    models = [p["noise_model"] for p in layout["rows"][0]["panels"]]
    assert models == ["relative", "additive", "student_t", "gain"]


def test_noise_model_wildcard_is_strict():
    import re

    pattern = re.compile(f"(?:{paths.WILDCARD_CONSTRAINTS['noise_model']})")
    assert all(pattern.fullmatch(m) for m in ("relative", "additive", "student_t", "gain"))
    assert not any(pattern.fullmatch(m) for m in ("gains", "relative/d0", "", "Relative"))


def test_batches_cover_every_cell_once(default_cfg):
    cells, _ = grid.expand_cells(default_cfg, METHODS)
    batches = grid.batches(cells)
    members = [c for group in batches.values() for c in group]
    assert sorted(members) == sorted(cells)
    for (run, batch), group in batches.items():
        assert {c.n for c in group} == {int(batch.split("_n")[1].split("_")[0])}
        assert len({c.batch_member for c in group}) == len(group)
        assert all(c.batch_member.startswith(paths.batch_dir(run, batch) + "/") for c in group)
    assert ("nn", "wave_n6_noise") in batches and ("cm", "wave_n6_noise") in batches
    assert set(grid.batched_runs(default_cfg, METHODS)) == {"nn", "nn_fixed", "nn_early"}
    assert set(grid.single_runs(default_cfg, METHODS)) == {"nn_fast", "ols", "cm", "cm1", "tikhonov"}


def test_option_args_are_shell_words():
    spec = {"options": {"tau": "1.0; touch X; true", "fixed_edges": "7 --threads 1", "compile": False,
                        "iterations": 5}}
    words = shlex.split(grid.option_args(spec))
    assert words == ["--compile", "false", "--fixed-edges", "7 --threads 1", "--iterations", "5",
                     "--tau", "1.0; touch X; true"]


def test_tables_and_layouts_read_only_files_the_grid_makes(quick_cfg):
    cells, _ = grid.expand_cells(quick_cfg, METHODS)
    outputs = specs.instances(specs.Experiment(quick_cfg, METHODS))
    made = {c.data for c in cells} | {c.recon for c in cells}
    made |= {p for o in outputs for p in o.outputs.values()}
    made |= {paths.sensitivity_path(*t) for t in grid.sensitivity_targets(quick_cfg)}
    for name, layout in figure_layouts(quick_cfg, METHODS).items():
        missing = set(layout_files(layout)) - made
        assert not missing, (name, sorted(missing)[:3])
    for entry in grid.table1_entries(quick_cfg, METHODS):
        assert {entry["sens"], *entry["recons"], *entry["datas"]} <= made
    assert set(grid.completion_datasets(quick_cfg)) <= made
    assert all(c["recon"] in made for c in grid.loss_curve_cells(quick_cfg, cells, METHODS))


def test_training_cells_are_the_networks(default_cfg):
    cells, _ = grid.expand_cells(default_cfg, METHODS)
    assert {c.method for c in grid.training_cells(default_cfg, cells)} == {"nn"}


# ---- config checks ---------------------------------------------------------------------------
def _broken(cfg, edit):
    bad = copy.deepcopy(cfg)
    edit(bad)
    return bad


@pytest.mark.parametrize("edit, key, words", [
    (lambda c: c["runs"]["ols"].update(method="magic"), "runs.ols.method", "unknown method 'magic'"),
    (lambda c: c["runs"]["ols"].update(options={"bogus": 1}), "runs.ols.options.bogus",
     "unknown (known options: max_iterations"),
    (lambda c: c["runs"]["cm"]["options"].update(variant="diagonal"), "runs.cm.options.variant", "one of"),
    (lambda c: c["runs"]["nn"]["options"].update(iterations="lots"), "runs.nn.options.iterations",
     "type int"),
    (lambda c: c["runs"]["ols"].update(options={"tau": "1.0; touch X"}), "runs.ols.options.tau",
     "type float"),
    (lambda c: c["studies"]["noise"]["runs"].append("ghost"), "studies.noise.runs", "unknown run 'ghost'"),
    (lambda c: c["studies"]["partial"]["sets"].append("half"), "studies.partial.sets[5]", "unknown partial"),
    (lambda c: c["studies"]["robustness"]["noise_models"].append("pink"),
     "studies.robustness.noise_models[4]", "unknown noise model 'pink'"),
    (lambda c: c["studies"]["sizes"].update(profiles=["stripes"]), "studies.sizes.profiles[0]",
     "unknown profile"),
    (lambda c: c["figures"].update(noise_deltas=[0.5]), "studies.noise.delta", "does not contain"),
    (lambda c: c["studies"]["noise"].update(runs=["cm", "nn_fast"]), "studies.noise.runs",
     "the paper's Fig 3b needs run 'nn'"),
    (lambda c: (c["runs"].update(cm2={"method": "cm"}), c["studies"]["sizes"].update(runs=["cm2"])),
     "studies.sizes.runs", "the paper's Figs 3a, 4 need run 'nn'"),
    (lambda c: c.update(paper=False), "paper", "no study of your own"),
    (lambda c: c["studies"]["noise"].update(gallery={"n": 7}), "studies.noise.gallery", "does not contain"),
    (lambda c: c["figures"].update(cm_run="ols"), "figures.cm_run", "not a Curtis–Morrow run"),
    (lambda c: c["runs"]["nn_fixed"]["options"].update(fixed_edges="9,centre"),
     "runs.nn_fixed.options.fixed_edges", "expected INDEX"),
    (lambda c: c["monte_carlo"].update(method="magic"), "monte_carlo.method", "unknown method"),
])
def test_config_errors_name_the_key(default_cfg, edit, key, words):
    with pytest.raises(ConfigError) as info:
        check_config(_broken(default_cfg, edit), METHODS)
    message = str(info.value)
    assert info.value.key == key and words in message and "\n" not in message, message
    assert message.startswith(f"invalid configuration: {key}: ")


def test_valid_configs_pass(default_cfg, quick_cfg):
    check_config(default_cfg, METHODS)
    check_config(quick_cfg, METHODS)


def test_schema_errors_are_one_line_naming_the_key(default_cfg):
    import jsonschema

    schema = yaml.safe_load(SCHEMA.read_text())
    bad = _broken(default_cfg, lambda c: c["studies"]["noise"].update(colour="red"))
    err = next(jsonschema.Draft202012Validator(schema).iter_errors(bad))
    assert schema_error_message(err).startswith("invalid configuration: studies.noise.colour: unknown key")
    bad = _broken(default_cfg, lambda c: c["studies"]["sizes"].update(n=[0]))
    err = next(jsonschema.Draft202012Validator(schema).iter_errors(bad))
    assert schema_error_message(err).startswith("invalid configuration: studies.sizes.n[0]: ")


def test_fixed_edges_come_from_the_fixed_run(default_cfg, quick_cfg):
    assert fixed_edges(default_cfg) == [9]
    assert fixed_edges(quick_cfg) == [7]
    cfg = _broken(default_cfg, lambda c: c["runs"]["nn_fixed"]["options"].update(fixed_edges="ring, 9"))
    ring = set(np.flatnonzero(Lattice(6).boundary_ring))
    assert set(fixed_edges(cfg)) == ring | {9}

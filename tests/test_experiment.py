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

from discrete_eit.experiment import grid, paths
from discrete_eit.experiment.config import ConfigError, check_config, fixed_edges, schema_error_message
from discrete_eit.experiment.figures import layout_inputs
from discrete_eit.experiment.layouts import figure_layouts
from discrete_eit.methods import load_methods
from discrete_eit.problem import Lattice

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "workflow/schemas/config.schema.yaml"
METHODS = load_methods()


def load_config(*overlays: str) -> dict:
    from snakemake.utils import update_config, validate

    cfg = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    for name in overlays:
        update_config(cfg, yaml.safe_load((ROOT / name).read_text()))
    validate(cfg, str(SCHEMA))
    return cfg


@pytest.fixture(scope="module")
def default_cfg():
    return load_config()


@pytest.fixture(scope="module")
def quick_cfg():
    return load_config("config/quick.yaml")


# ---- paths -----------------------------------------------------------------------------------
def test_paths_fill_the_wildcard_patterns():
    args = dict(profile="wave", n=6, partial_set="last3n", delta=1e-3, seed=2)
    assert paths.data_path(**args) == "data/dtn/wave/n6/last3n/d0.001_s2.npz"
    assert paths.data_path(**args) == paths.DATA_PATTERN.format(**{**args, "delta": "0.001"})
    filled = {**args, "delta": "0.001"}
    assert paths.recon_path("nn", **args) == paths.RECON_PATTERN.format(run="nn", **filled)
    assert paths.eval_path("cm", **{**args, "delta": 0}) == "results/eval/cm/wave/n6/last3n/d0_s2.json"
    assert [paths.fmt_delta(d) for d in (0, 1e-5, 1e-4, 0.001)] == ["0", "1e-05", "0.0001", "0.001"]
    assert paths.sensitivity_path("wave", 6, "full") == "results/sensitivity/wave/n6/full.npz"


# ---- grid ------------------------------------------------------------------------------------
def test_default_grid_cells(default_cfg):
    cells, na = grid.expand_cells(default_cfg, METHODS)
    keys = [(c.run, c.profile, c.n, c.partial_set, c.delta, c.seed) for c in cells + na]
    assert len(keys) == len(set(keys)), "a cell listed by two studies is expanded once"
    assert all(c.seed == 0 for c in cells if c.delta == 0), "exact data are run with seed 0 only"
    # Curtis–Morrow cannot complete sigma0 / corners: those cells are not applicable, nothing else is
    assert {(c.method, c.partial_set) for c in na} == {("cm", "sigma0"), ("cm", "corners")}
    # n = 6, δ = 1e-3, seed 1, full data: listed by the noise and the partial study; noise comes first
    shared = [c for c in cells if (c.run, c.n, c.partial_set, c.delta, c.seed) == ("nn", 6, "full", 1e-3, 1)]
    assert [c.study for c in shared] == ["noise"]
    sizes = [c for c in cells if c.study == "sizes"]
    assert len(sizes) == 5 * 5  # n ∈ {4..12} × runs {nn, nn_fast, ols, cm, cm1}
    assert len(cells) == 199 and len(na) == 14


def test_batches_cover_every_batched_cell_once(default_cfg):
    cells, _ = grid.expand_cells(default_cfg, METHODS)
    batches = grid.batches(cells, METHODS)
    members = [c for group in batches.values() for c in group]
    assert sorted(members) == sorted(c for c in cells if METHODS[c.method].batched)
    for (run, batch), group in batches.items():
        assert {c.n for c in group} == {int(batch.split("_n")[1].split("_")[0])}
        assert len({c.batch_member for c in group}) == len(group)
        assert all(c.batch_member.startswith(paths.batch_dir(run, batch) + "/") for c in group)
    assert ("nn", "wave_n6_noise") in batches
    assert set(grid.batched_runs(default_cfg, METHODS)) == {"nn", "nn_fixed", "nn_early"}
    assert set(grid.single_runs(default_cfg, METHODS)) == {"nn_fast", "ols", "cm", "cm1"}


def test_option_args_are_shell_words():
    spec = {"options": {"tau": "1.0; touch X; true", "fixed_edges": "7 --threads 1", "compile": False,
                        "iterations": 5}}
    words = shlex.split(grid.option_args(spec))
    assert words == ["--compile", "false", "--fixed-edges", "7 --threads 1", "--iterations", "5",
                     "--tau", "1.0; touch X; true"]


def test_tables_and_layouts_read_only_files_the_grid_makes(quick_cfg):
    cells, _ = grid.expand_cells(quick_cfg, METHODS)
    made = {c.data for c in cells} | {c.recon for c in cells} | set(grid.table_files(quick_cfg))
    made |= {paths.sensitivity_path(*t) for t in grid.sensitivity_targets(quick_cfg)}
    for name, layout in figure_layouts(quick_cfg, METHODS).items():
        missing = set(layout_inputs(layout)) - made
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
    (lambda c: c["studies"]["sizes"].update(profiles=["stripes"]), "studies.sizes.profiles[0]",
     "unknown profile"),
    (lambda c: c["figures"].update(noise_deltas=[0.5]), "figures.noise_deltas", "does not contain"),
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

"""The registry of tables and figures (discrete_eit.experiment.specs), without Snakemake.

Every output the quick configuration makes is rebuilt here, in this process, from the files of the
session's quick run (read only), by its spec's build and writer functions, and compared with what
the workflow wrote: the same bytes for every table and figure. Plus the experiment's structure:
study membership, ``paper: false``, and the rule of one output per spec.
"""

from __future__ import annotations

import copy
from importlib import import_module
from pathlib import Path

import pandas as pd
import pytest

from discrete_eit.experiment import grid, specs

QUICK_STUDIES = ["sizes", "noise", "partial", "prior", "robustness"]


def resolve(ref: str):
    module, _, name = ref.partition(":")
    return getattr(import_module(module), name)


@pytest.fixture(scope="module")
def quick_exp(load_config, methods):
    return specs.Experiment(load_config("config/quick.yaml"), methods)


def test_every_spec_is_made_by_the_quick_config(quick_exp):
    made = {o.spec.name for o in specs.instances(quick_exp)}
    # error_vs_n: the size study varies n; error_vs_delta: noise and partial vary δ
    assert made == {s.name for s in specs.SPECS}
    rules = [o.rule for o in specs.instances(quick_exp)]
    assert len(rules) == len(set(rules))
    paths = [p for o in specs.instances(quick_exp) for p in o.outputs.values()]
    assert len(paths) == len(set(paths))


@pytest.mark.workflow
def test_each_output_rebuilt_in_process_equals_the_workflows(quick_run, quick_exp, tmp_path, monkeypatch):
    """Build and write every output of the quick run again, here, from the run's own input files."""
    monkeypatch.chdir(quick_run)
    differ = []
    for out in specs.instances(quick_exp):
        job = specs.job_params(out, quick_exp)
        result = resolve(job["build"])(out.inputs, job["args"])
        mine = {kind: str(tmp_path / out.rule / Path(p).name) for kind, p in out.outputs.items()}
        resolve(job["writer"])(result, mine, job["title"], job["note"],
                               [p for files in out.inputs.values() for p in files], job["args"])
        for kind, path in out.outputs.items():
            if Path(mine[kind]).read_bytes() != (quick_run / path).read_bytes():
                differ.append(path)
    assert not differ, differ


def test_a_cell_of_several_studies_is_computed_once_and_listed_under_each(load_config, methods):
    cfg = load_config("config/quick.yaml")
    cfg["studies"]["repeat"] = {**copy.deepcopy(cfg["studies"]["noise"]), "n": [4], "delta": [1e-2],
                                "runs": ["cm"]}
    exp = specs.Experiment(cfg, methods)
    shared = [c for c in exp.members["repeat"]]
    assert len(shared) == 1 and shared[0] in exp.members["noise"] and shared[0].study == "noise"
    assert sum(c == shared[0] for c in exp.cells) == 1
    quick = specs.Experiment(load_config("config/quick.yaml"), methods)
    assert exp.cells == quick.cells and grid.batches(exp.cells) == grid.batches(quick.cells)
    errors_table = next(o for o in specs.instances(exp) if o.rule == "table_errors")
    reported = specs.job_params(errors_table, exp)["args"]
    where = reported["cells"].index(shared[0].row())
    assert reported["studies"][where] == ["noise", "partial", "robustness", "repeat"]
    assert {o.rule for o in specs.instances(exp)} - {o.rule for o in specs.instances(quick)} == \
        {"table_summary_repeat", "figure_gallery_repeat"}


def test_paper_false_runs_only_the_own_studies(load_config, methods):
    cfg = load_config()
    cfg["paper"] = False
    cfg["studies"]["mine"] = {"n": [4, 5], "delta": [0, 1e-3], "seeds": [0, 1], "runs": ["cm", "nn_fast"],
                              "sets": ["full"], "profiles": ["wave"], "noise_models": ["relative"]}
    exp = specs.Experiment(cfg, methods)
    assert grid.study_names(cfg) == ["mine"] and set(exp.members) == {"mine"}
    assert len(exp.cells) == 12 and {c.study for c in exp.cells} == {"mine"}
    assert {c.run for c in exp.cells} == {"cm", "nn_fast"}            # no network trained
    made = {o.rule for o in specs.instances(exp)}
    assert made == {"table_errors", "table_errors_summary", "table_speed", "table_summary_mine",
                    "figure_error_vs_delta_mine", "figure_error_vs_n_mine", "figure_gallery_mine"}


def test_the_default_config_is_the_papers(load_config, methods):
    exp = specs.Experiment(load_config(), methods)
    assert exp.paper and grid.study_names(exp.cfg) == QUICK_STUDIES
    categories = sorted({o.category for o in specs.instances(exp)})   # as the report lists them
    assert [c.split(" · ")[0] for c in categories] == [
        "Claims", *(f"Paper {i}" for i in range(1, 9)), "Results", *(["Study"] * 5)]
    figures = [o.spec.name for c in categories for o in specs.instances(exp) if o.category == c
               and o.spec.kind == "figure" and o.study is None]
    assert figures == ["fig1", "fig3a", "fig4", "fig3b", "fig5", "fig6", "fig8", "fig7", "fig9", "fig10",
                       "fig11", "fig12", "robustness"]


def test_study_summary_reports_the_studys_rows_only(tmp_path):
    from discrete_eit.experiment import table_builds as tbb

    rows = [{"study": s, "profile": "wave", "n": 4, "set": "full", "noise_model": "relative", "delta": 1e-3,
             "seed": seed, "run": "cm", "method": "cm", "rel_l2": e, "max_rel": e, "centre": e, "boundary": e,
             "dtn_residual": e, "iterations": 1.0, "wall_time_s": 0.1, "batch_size": 1.0, "stop_reason": "",
             "status": "ok", "source": f"r{seed}"}
            for s, seed, e in (("noise", 0, 0.1), ("noise", 1, 0.3), ("mine", 0, 0.1))]
    pd.DataFrame(rows).to_csv(tmp_path / "errors.csv", index=False)
    inputs = {"errors": [str(tmp_path / "errors.csv")]}
    mine = tbb.study_summary(inputs, {"study": "mine"})
    noise = tbb.study_summary(inputs, {"study": "noise"})
    assert (mine["n_seeds"].tolist(), mine["rel_l2_median"].tolist()) == ([1], [0.1])
    assert (noise["n_seeds"].tolist(), noise["rel_l2_median"].tolist()) == ([2], [pytest.approx(0.2)])
    assert tbb.error_summary(inputs, {})["n_seeds"].tolist() == [2]   # every cell once


def test_the_report_landing_facts_are_the_codes(load_config, methods):
    import yaml

    from discrete_eit.experiment.claims import CLAIMS
    from discrete_eit.experiment.layouts import PAPER_FIGURES

    facts = yaml.safe_load((Path(__file__).parents[2] / "workflow/report/metadata.yaml").read_text())
    assert facts == {"claims of the paper checked": len(CLAIMS),
                     "figures of the paper drawn": len(PAPER_FIGURES) + 1,   # + Fig 1
                     "studies of the paper's experiment": len(grid.PAPER_STUDIES)}

"""The README's figure caption quotes results/metrics.json truthfully (tools/readme_figure.py).

Fast: no workflow run; the caption is recomputed from the committed metrics with the tool's own
function and compared as text.
"""

from __future__ import annotations

import copy
import importlib.util
import math
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


def _tool():
    spec = importlib.util.spec_from_file_location("readme_figure", ROOT / "tools/readme_figure.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tool = _tool()


def test_readme_caption_matches_committed_metrics():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    expected = tool.block(tool.load_metrics(), tool.load_config())
    assert tool.current_block(readme) == expected, (
        "README.md's figure caption has drifted from results/metrics.json; run "
        f"`python tools/readme_figure.py`. Expected:\n{expected}")


def test_caption_numbers_are_the_metrics():
    # Every number the caption quotes is a headline metric (10 ** log10_error, 2 significant digits).
    metrics, cfg = tool.load_metrics(), tool.load_config()
    text = tool.block(metrics, cfg)
    F = cfg["figures"]
    cm, nn, n = F["cm_run"], F["nn_run"], F["working_n"]
    for delta in F["compare_deltas"]:
        key = "exact" if delta == 0 else f"delta_{float(delta):g}".replace(".", "p")
        fig, nn_key = ("fig4", f"n{n}") if key == "exact" else ("fig5", key)
        for value in (metrics["fig8"]["log10_error"][cm][key], metrics[fig]["log10_error"][nn][nn_key]):
            quoted = tool.fmt_error(value)
            assert quoted in text
            assert math.isclose(float(quoted), 10 ** value, rel_tol=0.06)


def test_caption_says_what_is_pictured():
    cfg = tool.load_config()
    text = " ".join(tool.block(tool.load_metrics(), cfg).split())
    assert f"picture one noise seed (seed {cfg['figures']['seed']})" in text
    seeds = len(cfg["studies"]["noise"]["seeds"])
    assert f"median over {seeds} noise seeds" in text
    assert f"n = {cfg['figures']['working_n']}" in text
    assert f"]({tool.IMAGE})" in text and (ROOT / tool.IMAGE).is_file()


def test_noise_seeds_are_the_union_over_studies():
    cfg = copy.deepcopy(tool.load_config())
    assert tool.noise_seeds(cfg, "cm", 1e-3) == [0, 1, 2]
    assert tool.noise_seeds(cfg, "cm", 0.0) == [0]  # exact data: one dataset
    cfg["studies"]["prior"]["runs"] = ["nn", "nn_fixed", "cm"]
    cfg["studies"]["prior"]["seeds"] = [7]
    assert tool.noise_seeds(cfg, "cm", 1e-3) == [0, 1, 2, 7]


@pytest.mark.parametrize(("log10", "text"), [(math.log10(0.433), "0.43"), (math.log10(2.59e-2), "2.6e-2"),
                                             (math.log10(4.28e-13), "4.3e-13"), (math.log10(1.74), "1.7")])
def test_fmt_error(log10, text):
    assert tool.fmt_error(log10) == text


def test_missing_or_null_metric_is_an_error():
    metrics, cfg = tool.load_metrics(), tool.load_config()
    broken = copy.deepcopy(metrics)
    broken["fig8"]["log10_error"][cfg["figures"]["cm_run"]]["delta_0p001"] = None
    with pytest.raises(ValueError, match="delta_0p001"):
        tool.block(broken, cfg)
    del broken["fig8"]
    with pytest.raises(KeyError, match="fig8"):
        tool.block(broken, cfg)


def test_check_mode_and_block_parsing(tmp_path, monkeypatch):
    text = f"intro\n{tool.START}\nold caption\n{tool.END}\nrest\n"
    assert tool.current_block(text) == f"{tool.START}\nold caption\n{tool.END}"
    readme = tmp_path / "README.md"
    readme.write_text(text, encoding="utf-8")
    monkeypatch.setattr(tool, "README", readme)
    assert tool.main(["--check"]) == 1
    monkeypatch.setattr(tool, "FIGURE", tmp_path / "absent.png")  # no run: the image is not touched
    assert tool.main([]) == 0
    assert tool.main(["--check"]) == 0
    new = readme.read_text(encoding="utf-8")
    assert new.startswith("intro\n") and new.endswith("\nrest\n") and "old caption" not in new
    assert re.search(r"median over\s+\d+\s+noise seeds", new)

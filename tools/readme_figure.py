"""The README's figure and its caption, from the current run and the committed headline metrics.

    python tools/readme_figure.py            # copy the figure (if the run made one), rewrite the caption
    python tools/readme_figure.py --check    # exit 1 if README.md's caption is not what it would write

* copies ``results/figures/fig8.png`` (Fig 8 of the last run) to ``docs/img/fig8_cm_vs_nn.png``
  when it exists; otherwise the committed image stays;
* rewrites the README's figure block (between ``<!-- readme-figure:start -->`` and
  ``<!-- readme-figure:end -->``) with numbers read from ``results/metrics.json``, the DVC headline
  metrics: ``log10_error`` is log10 of the median relative ℓ² error of γ̂ over noise seeds, at the
  figures' profile and working size (``discrete_eit.experiment.dvc_outputs.headline_metrics``).

Fig 8 pictures one noise seed (``figures.seed``); the caption quotes medians over the seeds of the
grid, says so, and makes no claim about the pictured seed's numbers. The grid is
``config/config.yaml`` (the default run, whose figure the README shows), with the study defaults of
``workflow/schemas/config.schema.yaml`` filled in. Run it after a default run
(``bash tools/reproduce.sh``), not after a ``config/quick.yaml`` one. ``tests/test_readme_figure.py``
fails when the caption drifts from ``results/metrics.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import shutil
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from discrete_eit.experiment.config import missing_from
from discrete_eit.experiment.dvc_outputs import _delta_key
from discrete_eit.experiment.grid import seeds_for, studies

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
METRICS = ROOT / "results/metrics.json"
CONFIG = ROOT / "config/config.yaml"
SCHEMA = ROOT / "workflow/schemas/config.schema.yaml"
FIGURE = ROOT / "results/figures/fig8.png"
IMAGE = "docs/img/fig8_cm_vs_nn.png"
START = "<!-- readme-figure:start -->"
END = "<!-- readme-figure:end -->"
WIDTH = 100  # the README's line width


def load_config(path: Path = CONFIG, schema: Path = SCHEMA) -> dict[str, Any]:
    """The grid of ``path`` with every study's defaults from the schema filled in."""
    cfg = yaml.safe_load(path.read_text(encoding="utf-8"))
    props = yaml.safe_load(schema.read_text(encoding="utf-8"))["$defs"]["study"]["properties"]
    defaults = {k: v["default"] for k, v in props.items() if "default" in v}
    for name, study in (cfg.get("studies") or {}).items():
        cfg["studies"][name] = {**defaults, **study}
    return cfg


def load_metrics(path: Path = METRICS) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _metric(metrics: Mapping[str, Any], dotted: str) -> float:
    node: Any = metrics
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            raise KeyError(f"{METRICS.name} has no {dotted}")
        node = node[part]
    if node is None or not math.isfinite(float(node)):
        raise ValueError(f"{METRICS.name}: {dotted} is {node!r}, not a number")
    return float(node)


def fmt_error(log10_error: float) -> str:
    """A relative error from its log10, two significant digits: ``0.43``, ``2.6e-2``, ``4.3e-13``."""
    value = 10.0 ** log10_error
    if 0.1 <= value < 10:
        return f"{value:.2g}"
    mantissa, exponent = f"{value:.1e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def fmt_delta(delta: float) -> str:
    """A noise level as the README writes it: ``1e-3``."""
    mantissa, exponent = f"{float(delta):.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def noise_seeds(cfg: Mapping[str, Any], run: str, delta: float) -> list[int]:
    """The noise seeds a headline median of ``run`` at ``delta`` is over: every seed of every study
    holding the cell (figures' profile and working size, full data, the relative noise model)."""
    F = cfg["figures"]
    return sorted({seed for _, study in studies(cfg) if "relative" in study["noise_models"]
                   for seed in seeds_for(delta, study)
                   if missing_from(study, run, F["profile"], F["working_n"], "full", delta, seed) is None})


def block(metrics: Mapping[str, Any], cfg: Mapping[str, Any]) -> str:
    """The README's figure block, markers included: the image and its caption."""
    F = cfg["figures"]
    n, nn, cm = F["working_n"], F["nn_run"], F["cm_run"]

    def errors(delta: float) -> tuple[str, str]:
        key = _delta_key(delta)
        nn_key = f"fig4.log10_error.{nn}.n{n}" if key == "exact" else f"fig5.log10_error.{nn}.{key}"
        cm_key = f"fig8.log10_error.{cm}.{key}"
        return fmt_error(_metric(metrics, cm_key)), fmt_error(_metric(metrics, nn_key))

    parts = []
    for delta in F["compare_deltas"]:
        cm_err, nn_err = errors(delta)
        if float(delta) == 0:
            parts.append(f"exact data: Curtis–Morrow {cm_err}, the network {nn_err}")
            continue
        counts = {len(noise_seeds(cfg, run, delta)) for run in (cm, nn)}
        over = (f"median over {counts.pop()} noise seeds" if len(counts) == 1 else
                f"medians over {len(noise_seeds(cfg, cm, delta))} (Curtis–Morrow) and "
                f"{len(noise_seeds(cfg, nn, delta))} (network) noise seeds")
        parts.append(f"δ = {fmt_delta(delta)} ({over}): Curtis–Morrow {cm_err}, the network {nn_err}")
    caption = (f"*Fig 8 of the default run: Curtis–Morrow vs the network, n = {n}, {F['profile']} profile, "
               f"full data; its noisy rows picture one noise seed (seed {F['seed']}). Relative ℓ² error of "
               f"γ̂ (`results/metrics.json`) — {'; '.join(parts)}.*")
    image = f"![Curtis–Morrow vs the network on exact and noisy data, n = {n}]({IMAGE})"
    lines = textwrap.wrap(caption, width=WIDTH, break_long_words=False, break_on_hyphens=False)
    return "\n".join([START, image, "", *lines, END])


def current_block(text: str) -> str:
    """The figure block of a README text, markers included."""
    match = re.search(re.escape(START) + r".*?" + re.escape(END), text, flags=re.S)
    if match is None:
        raise ValueError(f"README.md has no {START} … {END} block")
    return match.group(0)


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="only compare README.md's figure block with what would be written")
    args = parser.parse_args(argv)
    text = README.read_text(encoding="utf-8")
    old = current_block(text)
    new = block(load_metrics(), load_config())
    if args.check:
        if old != new:
            print(f"README.md's figure caption is stale; run: python tools/readme_figure.py\n{new}")
            return 1
        return 0
    if FIGURE.exists():
        shutil.copyfile(FIGURE, ROOT / IMAGE)
        print(f"copied {_shown(FIGURE)} -> {IMAGE}")
    else:
        print(f"no {_shown(FIGURE)} (no run here): {IMAGE} left as it is")
    if old != new:
        README.write_text(text.replace(old, new), encoding="utf-8")
        print("README.md: figure caption rewritten")
    else:
        print("README.md: figure caption already current")
    return 0


if __name__ == "__main__":
    sys.exit(main())

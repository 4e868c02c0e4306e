"""Where the workflow keeps every artifact (one dataset per (profile, n, set, noise model, δ, seed),
shared by runs).

::

    data/dtn/{profile}/n{n}/{partial_set}/{noise_model}/d{delta}_s{seed}.npz     dataset (+ .npz.json)
    results/recon/{run}/{profile}/n{n}/{partial_set}/{noise_model}/d{delta}_s{seed}.npz  reconstruction
    results/recon_batches/{run}/{batch}/                                          a batched run's output
    results/sensitivity/{profile}/n{n}/{partial_set}.npz                          linearised prediction
    results/tables/{name}.csv|.md|.html, results/figures/{name}.png|.pdf          tables, figures
    results/studies/{study}/{name}.…                                              a study's own outputs

δ is written with Python's ``g`` format (0, 1e-05, 0.001, …). The noise model is a registered name
(:data:`discrete_eit.problem.noise.NOISE_MODELS`); exact data (δ = 0) are the same under every
model and are filed under the default, ``relative``. The ``*_PATTERN`` constants are the same
paths with Snakemake wildcards; the functions fill them in.
"""

from __future__ import annotations

from discrete_eit.problem.noise import DEFAULT_NOISE_MODEL, NOISE_MODELS

CELL = "{profile}/n{n}/{partial_set}/{noise_model}/d{delta}_s{seed}"
DATA_PATTERN = f"data/dtn/{CELL}.npz"
RECON_PATTERN = f"results/recon/{{run}}/{CELL}.npz"
SENSITIVITY_PATTERN = "results/sensitivity/{profile}/n{n}/{partial_set}.npz"
BATCH_PATTERN = "results/recon_batches/{run}/{batch}"
SCRIPT_DIR = "workflow/scripts"
LOG_DIR = "results/logs"
BENCHMARK_DIR = "results/benchmarks"
TABLE_DIR = "results/tables"
FIGURE_DIR = "results/figures"
STUDY_DIR = "results/studies"
CLAIMS = "results/claims.md"
MANIFEST = "results/provenance.json"
METRICS = "results/metrics.json"
METRICS_FULL = "results/metrics_full.json"
PLOT_DIR = "results/plots"
ERROR_VS_DELTA_PLOT = f"{PLOT_DIR}/error_vs_delta.csv"
LOSS_CURVES_PLOT = f"{PLOT_DIR}/loss_curves.csv"
OUTPUT_ROOTS = ("data", "results")
"""Directories whose files the run manifest hashes."""
DIAGNOSTIC_DIRS = (LOG_DIR, BENCHMARK_DIR)
"""Per-job logs and benchmark TSVs: hashed as diagnostics, not outputs (they change on every run)."""

WILDCARD_CONSTRAINTS = {
    "profile": r"[a-z][a-z0-9_]*",
    "partial_set": r"[a-z][a-z0-9_]*",
    "n": r"[1-9][0-9]*",
    "delta": r"[0-9][0-9.e+-]*",
    "seed": r"[0-9]+",
    "batch": r"[a-z0-9_]+",
    "noise_model": "|".join(sorted(NOISE_MODELS)),   # strict: exactly the registered models
}


def fmt_delta(delta: float) -> str:
    """Canonical δ path component: ``0``, ``1e-05``, ``0.001``, …"""
    return f"{float(delta):g}"


def noise_model_of(delta: float, noise_model: str = DEFAULT_NOISE_MODEL) -> str:
    """The model a dataset is filed under: the default for exact data (no noise, whatever the model)."""
    return noise_model if float(delta) != 0 else DEFAULT_NOISE_MODEL


def _cell(profile: str, n: int, partial_set: str, delta: float, seed: int, noise_model: str) -> str:
    return CELL.format(profile=profile, n=n, partial_set=partial_set,
                       noise_model=noise_model_of(delta, noise_model), delta=fmt_delta(delta), seed=seed)


def data_path(profile: str, n: int, partial_set: str, delta: float, seed: int,
              noise_model: str = DEFAULT_NOISE_MODEL) -> str:
    """The dataset of one cell."""
    return f"data/dtn/{_cell(profile, n, partial_set, delta, seed, noise_model)}.npz"


def recon_path(run: str, profile: str, n: int, partial_set: str, delta: float, seed: int,
               noise_model: str = DEFAULT_NOISE_MODEL) -> str:
    """The reconstruction of one cell by one run."""
    return f"results/recon/{run}/{_cell(profile, n, partial_set, delta, seed, noise_model)}.npz"


def sensitivity_path(profile: str, n: int, partial_set: str) -> str:
    """The linearised error prediction for one index set (at the exact data's γ)."""
    return SENSITIVITY_PATTERN.format(profile=profile, n=n, partial_set=partial_set)


def batch_dir(run: str, batch: str) -> str:
    """Where a batched run writes the reconstructions of one batch before they are filed per cell."""
    return BATCH_PATTERN.format(run=run, batch=batch)


def sidecar(path: str) -> str:
    """The provenance sidecar of an artifact."""
    return f"{path}.json"


def study_dir(study: str) -> str:
    """Where a study's own tables and figures go."""
    return f"{STUDY_DIR}/{study}"


def table_paths(name: str) -> tuple[str, str]:
    """(CSV, Markdown) of a result table."""
    return f"{TABLE_DIR}/{name}.csv", f"{TABLE_DIR}/{name}.md"


def figure_paths(name: str) -> tuple[str, str]:
    """(PNG, PDF) of a figure."""
    return f"{FIGURE_DIR}/{name}.png", f"{FIGURE_DIR}/{name}.pdf"


def log_path(rule: str, *name: str) -> str:
    """A job's log: ``results/logs/RULE/NAME….log`` (name parts joined by ``/``)."""
    return f"{LOG_DIR}/{rule}/{'/'.join(name)}.log"


def benchmark_path(rule: str, *name: str) -> str:
    """A job's Snakemake benchmark TSV: ``results/benchmarks/RULE/NAME….tsv``."""
    return f"{BENCHMARK_DIR}/{rule}/{'/'.join(name)}.tsv"

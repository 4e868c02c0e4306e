# Configuration checks and the grid, computed by the package's experiment layer
# (discrete_eit.experiment: grid, paths, config), which is unit-tested without Snakemake. Only
# input functions that need Snakemake's wildcards live here.

import os
import shutil
import sys
from pathlib import Path

import jsonschema
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from discrete_eit.experiment import fingerprints, grid, paths, specs
from discrete_eit.experiment.config import (
    ConfigError,
    check_config,
    config_error_line,
    schema_error,
)
from discrete_eit.experiment.config_files import check_config_files
from discrete_eit.methods import load_methods


envvars:
    "PATH",


# Jobs call the package CLI `discrete-eit`: put the bin directory of the interpreter that runs
# Snakemake (the project's venv) first on PATH, so that it is found without activating the venv.
os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
if shutil.which("discrete-eit") is None:
    raise WorkflowError(
        "the `discrete-eit` command was not found; install the package "
        "(pip install -e .) into the environment that runs Snakemake"
    )

METHODS = load_methods()


# The config files in merge order (later ones win): the Snakefile's, then the command line's.
CONFIG_FILES = [
    *(f for f in workflow.configfiles if f not in workflow.overwrite_configfiles),
    *workflow.overwrite_configfiles,
]


def checked(cfg):
    """The config after the schema and the package's checks; one line naming file and key otherwise.

    An error exits at once: a WorkflowError would add Snakemake's header and a stack line.
    """
    try:
        check_config_files(CONFIG_FILES)  # each file strictly: duplicate keys, tags, NaN, 4.0 for 4
        try:
            validate(cfg, "../schemas/config.schema.yaml")
        except WorkflowError as exc:
            err = exc.__context__  # Snakemake wraps the jsonschema error into a message string
            if isinstance(err, jsonschema.ValidationError):
                raise schema_error(err) from None
            raise
        check_config(cfg, METHODS)
    except ConfigError as exc:
        print(config_error_line(exc, CONFIG_FILES), file=sys.stderr)
        sys.exit(1)
    return cfg


checked(config)
EXPERIMENT = specs.Experiment(config, METHODS)
CELLS = EXPERIMENT.cells
CELL_OF = {
    (c.run, c.profile, str(c.n), c.partial_set, c.noise_model, paths.fmt_delta(c.delta), str(c.seed)): c
    for c in CELLS
}
BATCHES = grid.batches(CELLS)
SENS_TARGETS = grid.sensitivity_targets(config) if EXPERIMENT.paper else []
OUTPUTS = specs.instances(EXPERIMENT)
ALL_OUTPUTS = [p for out in OUTPUTS for p in out.outputs.values()]
REPORTED = {"table": "html", "claims": "html", "figure": "png"}  # the file of each kind the report shows


def cell_of(wildcards):
    """The grid cell a per-cell job's wildcards name."""
    w = wildcards
    return CELL_OF[w.run, w.profile, w.n, w.partial_set, w.noise_model, w.delta, w.seed]


def run_method(wildcards):
    return config["runs"][wildcards.run]["method"]


def run_options(wildcards):
    """The run's options as CLI flags, each value shell-quoted."""
    return grid.option_args(config["runs"][wildcards.run])


def report_outputs(out):
    """An output's files, the one the report shows marked for it (caption, category, order)."""
    order = [o for o in OUTPUTS if o.category == out.category].index(out)
    files = dict(out.outputs)
    kind = REPORTED[out.spec.kind]
    # three labels: with two, a category of two results would show the second as a toggle
    labels = {
        "#": f"{order + 1:02d}",
        "output": out.spec.title.format(**out.args),
        "file": Path(files[kind]).name,
    }
    files[kind] = report(
        files[kind],
        caption=f"../report/{out.spec.kind}/{out.spec.name}.rst",
        category=out.category,
        labels=labels,
    )
    return files

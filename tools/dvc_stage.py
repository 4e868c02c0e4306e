#!/usr/bin/env python3
"""Run one DVC stage of dvc.yaml: Snakemake on that phase's target, with params.yaml's configfile.

Usage: ``python tools/dvc_stage.py STAGE`` (STAGE: datasets, reconstructions, tables, figures,
provenance), from the repository root — what each ``cmd`` of dvc.yaml runs.

Why a script and not ``snakemake … --configfile ${configfile}`` in dvc.yaml: DVC pastes
interpolated values into a shell command unquoted, so a configfile value such as
``config/quick.yaml; touch X`` would run ``touch``. Here the value is read from params.yaml, checked
(a YAML file inside the repository) and passed to Snakemake as one argument, with no shell.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

PROFILE = ["--profile", "workflow/profiles/local"]
STAGES = {
    "datasets": ["--until", "generate"],
    "reconstructions": ["phase_reconstructions"],
    "tables": ["phase_tables"],
    "figures": ["phase_figures"],
    "studies": ["phase_studies"],
    "provenance": ["results/provenance.json", "--forcerun", "provenance_manifest"],
}


def configfile(params: Path = Path("params.yaml")) -> str:
    """params.yaml's ``configfile``: a YAML file inside the repository, else a one-line error."""
    try:
        value = (yaml.safe_load(params.read_text()) or {}).get("configfile")
    except (OSError, yaml.YAMLError) as exc:
        raise SystemExit(f"dvc_stage: error: {params}: unreadable ({exc})") from None
    if not isinstance(value, str) or not value:
        raise SystemExit(f"dvc_stage: error: {params}: configfile must be a path, got {value!r}")
    path = Path(value)
    inside = not path.is_absolute() and ".." not in path.parts
    if not (inside and path.suffix in (".yaml", ".yml") and path.is_file()):
        raise SystemExit(f"dvc_stage: error: {params}: configfile {value!r} is not a .yaml file inside "
                         "the repository")
    return value


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in STAGES:
        raise SystemExit(f"usage: dvc_stage.py {{{','.join(STAGES)}}}")
    cmd = [sys.executable, "-m", "snakemake", *STAGES[argv[0]], *PROFILE, "--configfile", configfile()]
    return subprocess.run(cmd, env=os.environ).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

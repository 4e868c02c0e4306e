#!/usr/bin/env bash
# One-command reproduction: set up .venv (pinned), then run the whole workflow.
# Usage: bash tools/reproduce.sh [extra snakemake arguments]
#   CONFIG=config/quick.yaml bash tools/reproduce.sh     # the few-minute grid
set -euo pipefail
cd "$(dirname "$0")/.."
venv=$(tools/setup-env.sh .venv)
export PATH="$PWD/$venv/bin:$PATH"
config=${CONFIG:-config/config.yaml}
start=$(date +%s)
snakemake --cores all --configfile "$config" "$@"
echo "== reproduction finished in $(( $(date +%s) - start )) s (config $config); see results/"

#!/usr/bin/env bash
# Restore pushed results in a clone and check them: `dvc pull`, `snakemake --touch`, `discrete-eit audit`.
# Usage: tools/pull-touch-audit.sh [-r REMOTE] [CONFIGFILE ...]
#   REMOTE       DVC remote to pull from (default: the clone's default remote, .dvc/config)
#   CONFIGFILE   Snakemake --configfile(s), relative to the repository root
#                (default: `configfile:` in params.yaml, the file `dvc repro` used)
# Nothing is recomputed: --touch marks the pulled outputs up to date (dvc pull leaves their
# modification times in arbitrary order), then every table and figure is audited down to its data.
# Needs dvc, snakemake and discrete-eit on PATH (the project's environment: tools/setup-env.sh).
# Exit status 0 when all three steps pass; otherwise the failing step's, with a line naming it.
set -euo pipefail
usage="usage: tools/pull-touch-audit.sh [-r REMOTE] [CONFIGFILE ...]"
cd "$(dirname "$0")/.."

remote=()
while getopts ":r:h" opt; do
  case "$opt" in
    r) remote=(-r "$OPTARG") ;;
    h) echo "$usage"; exit 0 ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))

configs=("$@")
if [ "${#configs[@]}" -eq 0 ]; then
  configs=("$(python -c 'import yaml; print(yaml.safe_load(open("params.yaml"))["configfile"])')")
fi
config_args=()
for config in "${configs[@]}"; do
  if [ ! -f "$config" ]; then
    echo "pull-touch-audit: $config: config file not found (paths are relative to $PWD)" >&2
    exit 2
  fi
  config_args+=(--configfile "$config")
done

step() {  # step NAME COMMAND...: run COMMAND; on failure name the step and exit with its status
  local name=$1 rc=0 start=$SECONDS
  shift
  echo "== $name" >&2
  "$@" || rc=$?
  if [ "$rc" -ne 0 ]; then
    echo "pull-touch-audit: step '$name' failed (exit $rc)" >&2
    exit "$rc"
  fi
  echo "== $name: done in $((SECONDS - start)) s" >&2
}

audit_all() {  # every table, figure, claims and metrics file that has a sidecar, down to its data
  local artifacts=() artifact
  for artifact in results/claims.md results/metrics.json results/tables/* results/figures/*; do
    case "$artifact" in results/metrics.json) ;; *.json) continue ;; esac
    if [ -f "$artifact.json" ]; then artifacts+=("$artifact"); fi
  done
  if [ "${#artifacts[@]}" -eq 0 ]; then
    echo "pull-touch-audit: no table or figure with a sidecar under results/" >&2
    return 1
  fi
  # one process for all of them (its lineage trees go to a log; failures name the file on stderr)
  mkdir -p results/logs
  discrete-eit audit "${artifacts[@]}" > results/logs/pull-touch-audit.log || return $?  # 3: stale
  echo "audit passed: ${#artifacts[@]} artifact(s)"
}

step "dvc pull" dvc pull "${remote[@]}"
step "snakemake --touch" snakemake --touch --cores 1 "${config_args[@]}"
step "discrete-eit audit" audit_all

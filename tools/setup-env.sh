#!/usr/bin/env bash
# Create (or reuse) a virtual environment with the project and its pinned dependencies.
# Usage: tools/setup-env.sh [VENV_DIR]   (default .venv). Idempotent; prints the venv path.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${1:-.venv}
python=${PYTHON:-$(command -v python3.11 || command -v python3)}   # Python 3.11 (pyproject)
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip >&2
# torch first and exactly pinned: an open range would pull several GB of CUDA wheels.
"$venv/bin/python" -m pip install --quiet "torch==2.13.0" >&2
"$venv/bin/python" -m pip install --quiet -e ".[workflow,test]" >&2
"$venv/bin/python" - <<'PY' >&2
import torch
assert torch.__version__.startswith("2.13.0"), torch.__version__
PY
echo "$venv"

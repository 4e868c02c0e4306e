#!/usr/bin/env bash
# Regenerate docs/bad_input.md from the cases of tests/test_bad_input.py (runs the whole file, ~30 s).
# Usage: tools/bad-input-doc.sh [PYTHON]   (default: .venv/bin/python)
set -euo pipefail
cd "$(dirname "$0")/.."
python=${1:-.venv/bin/python}
DISCRETE_EIT_WRITE_DOC=1 "$python" -m pytest tests/test_bad_input.py -q -p no:cacheprovider
git diff --stat -- docs/bad_input.md

#!/usr/bin/env bash
# Create a separate benchmark venv with the peer libraries (shap) on top of the project venv.
# Usage: benchmarks/setup_bench_env.sh [/path/to/project-venv] [/path/to/bench-venv]
# The project itself never imports shap; only benchmarks/bench_shapley.py does.
set -euo pipefail
BASE_VENV="${1:-/work/venv}"
BENCH_VENV="${2:-/work/venv-bench}"
if [ ! -x "$BENCH_VENV/bin/python" ]; then
    "$BASE_VENV/bin/python" -m venv --system-site-packages "$BENCH_VENV"
fi
"$BENCH_VENV/bin/python" -m pip install --quiet "shap>=0.44"
"$BENCH_VENV/bin/python" -c "import shap, crowd_sft; print('shap', shap.__version__, 'ready in', '$BENCH_VENV')"

#!/usr/bin/env bash
# Create benchmarks/.venv-sql: the baseline libraries for benchmarks/sql_lineage.py (NOT package deps).
# Usage: benchmarks/setup_sql_bench_env.sh   (idempotent; uses the uv found in .venv)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
uv="$root/.venv/bin/uv"
venv="$here/.venv-sql"
if [ ! -x "$venv/bin/python" ]; then
    "$uv" venv -q -p 3.11 "$venv"
fi
"$uv" pip install -q -p "$venv/bin/python" \
    "openlineage-sql==1.54.0" "sqllineage==1.5.9" "sqlglot==30.30.0" "sqlparse==0.6.1"
echo "baseline venv ready: $venv"

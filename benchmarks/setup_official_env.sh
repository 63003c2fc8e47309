#!/usr/bin/env bash
# Create benchmarks/.venv-official: the same packages as .venv (same versions) plus the official
# apache-airflow-providers-openlineage==2.20.3, WITHOUT airflow-lineage-provider, so benchmarks can run
# the official provider side by side with ours (benchmarks/listener_overhead.py).
# Usage: benchmarks/setup_official_env.sh   (idempotent; uses the uv found in .venv)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
uv="$root/.venv/bin/uv"
venv="$here/.venv-official"
pins="$(mktemp)"
trap 'rm -f "$pins"' EXIT

# Everything .venv holds, at the same versions, except this package (editable or not) and uv/pip themselves.
"$uv" pip freeze -p "$root/.venv/bin/python" \
    | grep -v -i -E '^(-e |airflow-lineage-provider|airflow_lineage_provider|uv==|pip==)' \
    | grep -v -E ' @ file://' >"$pins"

if [ ! -x "$venv/bin/python" ]; then
    "$uv" venv -q -p "$root/.venv/bin/python" "$venv"
fi
"$uv" pip install -q -p "$venv/bin/python" -r "$pins" "apache-airflow-providers-openlineage==2.20.3"
# .pyc files as after a pip install (both sides of a benchmark must import the same way; see bootstrap.sh)
"$venv/bin/python" -m compileall -q -j 0 "$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" >/dev/null || true

# (run from / so the working directory, possibly this repo, is not on sys.path)
if (cd / && "$venv/bin/python" -c "import airflow_lineage_provider") 2>/dev/null; then
    echo "error: airflow_lineage_provider is importable in $venv; remove it (the benchmark needs it absent)" >&2
    exit 1
fi
echo "official-provider venv ready: $venv"

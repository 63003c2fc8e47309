#!/usr/bin/env bash
# Create the virtualenv and install the provider with its dev/test extras. Idempotent.
set -euo pipefail
python=${1:-python3}
venv=${2:-.venv}

# The MySQL provider (tests against MariaDB) compiles mysqlclient, which needs the MariaDB/MySQL client
# headers. Install them when we can (root with apt), otherwise say what is missing.
if ! command -v mariadb_config >/dev/null && ! command -v mysql_config >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing libmariadb-dev (needed to build mysqlclient for the MySQL provider)"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libmariadb-dev pkg-config >/dev/null
  else
    echo "warning: no mariadb_config/mysql_config: install libmariadb-dev (Debian) or mysql-client headers" >&2
  fi
fi

# tests/test_graph.py checks the lineage picture in a real headless browser: Debian's chromium.
if ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing chromium (headless browser for the lineage-picture test)"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "warning: no chromium: install it (Debian: apt-get install chromium) for tests/test_graph.py" >&2
  fi
fi

if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --upgrade pip uv >/dev/null
# --compile-bytecode: write the .pyc files at install, as pip does. Without them every Airflow process
# (task runs, CLI calls, tests) compiles its imports from source when PYTHONDONTWRITEBYTECODE is set.
"$venv/bin/uv" pip install -q --compile-bytecode -p "$venv/bin/python" -e ".[dev]"
echo "virtualenv ready: $venv"

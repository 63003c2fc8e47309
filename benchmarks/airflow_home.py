"""An isolated Airflow environment for benchmark subprocesses: own AIRFLOW_HOME, SQLite metadata DB."""

from __future__ import annotations

from pathlib import Path


def isolated_airflow_env(home: Path) -> dict[str, str]:
    """Variables pointing Airflow at ``home`` (dags/ and logs/ inside it), to merge into os.environ."""
    (home / "dags").mkdir(parents=True, exist_ok=True)
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": "http://localhost:8080/execution/",
    }

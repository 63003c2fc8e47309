"""The single source of provider metadata (the ``apache_airflow_provider`` entry point).

Every ``[lineage_provider]`` option is declared here, so ``airflow config list --section lineage_provider``
shows it; ``conf.py`` has one accessor per option and a test keeps the two in step.
"""

from __future__ import annotations

from typing import Any

from airflow_lineage_provider import __version__

SECTION = "lineage_provider"


def _opt(
    description: str,
    type_: str,
    default: str | None,
    example: str | None = None,
    *,
    sensitive: bool = False,
    version_added: str = "0.1.0",
) -> dict[str, Any]:
    option: dict[str, Any] = {
        "description": description,
        "version_added": version_added,
        "type": type_,
        "example": example,
        "default": default,
    }
    if sensitive:
        option["sensitive"] = True
    return option


OPTIONS: dict[str, dict[str, Any]] = {
    # --- switch and identity -------------------------------------------------------------------
    "disabled": _opt(
        "Set to True to switch lineage off entirely: the listener is not registered and no event is "
        "emitted. The quality-gate operator keeps working.",
        "boolean",
        "False",
    ),
    "namespace": _opt(
        "OpenLineage job namespace for this Airflow deployment (used for task and DAG-run jobs). "
        "Precedence: this option, then the OPENLINEAGE_NAMESPACE environment variable, then 'default'.",
        "string",
        "default",
        "prod-airflow",
    ),
    # --- transport ---------------------------------------------------------------------------
    "transport": _opt(
        "Transport as JSON, in openlineage-python's shape: http (url, endpoint, timeout, auth), file, "
        "console, kafka, composite, transform. Empty: use config_path, then the environment variables "
        "openlineage-python reads, in its order (OPENLINEAGE_CONFIG, OPENLINEAGE__TRANSPORT__*, "
        "OPENLINEAGE_URL), and if none is set the embedded default: a size-bounded file of events under "
        "$AIRFLOW_HOME/lineage/. Marked sensitive: it may hold an API key.",
        "string",
        "",
        '{"type": "http", "url": "http://marquez:5000", "endpoint": "api/v1/lineage", '
        '"auth": {"type": "api_key", "apiKey": "..."}}',
        sensitive=True,
    ),
    "config_path": _opt(
        "Path to an openlineage.yml whose 'transport' key configures the transport. Used only when "
        "'transport' is empty.",
        "string",
        "",
        "/opt/airflow/openlineage.yml",
    ),
    "default_file_max_mb": _opt(
        "Size bound, in MiB, of the embedded default event file ($AIRFLOW_HOME/lineage/events.jsonl); when "
        "it would grow past this it is rotated once (events.jsonl.1), so at most twice this is kept.",
        "integer",
        "64",
    ),
    # --- what gets lineage -------------------------------------------------------------------
    "disabled_for_operators": _opt(
        "Semicolon-separated full import paths of operator classes whose tasks emit no events (those exact "
        "classes: a subclass is not matched, so list it too).",
        "string",
        "",
        "airflow.providers.standard.operators.bash.BashOperator;airflow.providers.standard.operators.empty.EmptyOperator",
    ),
    "selective_enable": _opt(
        "Set to True to send events only for DAGs and tasks a DAG author switched on with "
        "airflow_lineage_provider.enable_lineage(dag or task), for a rollout one DAG at a time. False: every "
        "DAG emits, except what was switched off with airflow_lineage_provider.disable_lineage().",
        "boolean",
        "False",
    ),
    "extractors": _opt(
        "Semicolon-separated full import paths of custom extractor classes (subclasses of "
        "airflow_lineage_provider.extractors.base.BaseExtractor); each declares the operator class names "
        "it handles and wins over the built-in extractors.",
        "string",
        "",
        "my_company.lineage.S3CopyExtractor",
    ),
    "custom_run_facets": _opt(
        "Semicolon-separated full import paths of functions called on every task START, COMPLETE and "
        "FAIL with (task_instance, state) that return a dict of extra run facets (openlineage-python "
        "RunFacet objects, or dicts of JSON values) or None. A function that raises, returns something "
        "else or runs past extraction_timeout costs a warning and an extractionError facet, never the "
        "task; facet names the provider sets itself (parent, nominalTime, airflow, ...) are kept.",
        "string",
        "",
        "my_company.lineage.cost_center_facet",
    ),
    "include_airflow_facet": _opt(
        "Attach the 'airflow' run facet (DAG, task and run attributes; never source code or secrets).",
        "boolean",
        "True",
    ),
    "include_source_code": _opt(
        "Attach a 'sourceCode' job facet to task events: the source of the python_callable of "
        "PythonOperator and @task tasks, the rendered bash_command of BashOperator and @task.bash. Off by "
        "default: code can hold secrets Airflow does not know. Secrets Airflow knows, credentials in URIs "
        "and assignments to names such as password, token or api_key are masked either way.",
        "boolean",
        "False",
    ),
    "spark_inject_parent_job_info": _opt(
        "Add the spark.openlineage.parent* and rootParent* properties of the running task try to the Spark "
        "properties of SparkSubmitOperator (and its subclasses), SparkSqlOperator, SparkPipelinesOperator "
        "and PySparkOperator, so the Spark application's own OpenLineage events name the task run as parent. "
        "Properties a DAG author set are kept. Same name and default as the official provider's option.",
        "boolean",
        "False",
    ),
    # --- delivery ----------------------------------------------------------------------------
    "queue_size": _opt(
        "Capacity of the in-memory queue between tasks and the background sender. When full, new events go "
        "straight to the spool (never dropped, never blocking).",
        "integer",
        "10000",
    ),
    "send_timeout": _opt(
        "Seconds the background sender gives the transport to deliver one event before it is spooled.",
        "float",
        "5.0",
    ),
    "flush_timeout": _opt(
        "Seconds a process waits at exit for queued events to be delivered; what is left is spooled.",
        "float",
        "2.0",
    ),
    "spool_dir": _opt(
        "Directory of the durable outbox for events that could not be delivered. "
        "Empty: $AIRFLOW_HOME/lineage/spool.",
        "string",
        "",
        "/var/lib/airflow/lineage-spool",
    ),
    "spool_max_mb": _opt(
        "Size cap of the spool in MiB; past it the oldest events are evicted (counted and logged).",
        "integer",
        "512",
    ),
    "replay_on_success": _opt(
        "After an event is delivered, re-deliver spooled events from the same process in the background.",
        "boolean",
        "True",
    ),
    "max_event_bytes": _opt(
        "Events larger than this many bytes are trimmed, largest optional facets first, and carry a facet "
        "listing what was dropped.",
        "integer",
        "1048576",
    ),
    # --- redaction ---------------------------------------------------------------------------
    "mask_sql_literals": _opt(
        "Replace every literal in the SQL job facet by '?'. Credentials in SQL (COPY ... CREDENTIALS, "
        "CREATE USER ... PASSWORD, connection strings) are always redacted.",
        "boolean",
        "False",
    ),
    # --- SQL extraction ----------------------------------------------------------------------
    "schema_lookup": _opt(
        "Read table schemas from the database's catalog (pg_catalog, information_schema, PRAGMA table_info) "
        "to expand SELECT * and attach schema facets: one metadata round trip per task at most.",
        "boolean",
        "True",
    ),
    "schema_cache_ttl": _opt(
        "Seconds a looked-up table schema is cached per connection.",
        "integer",
        "300",
    ),
    "schema_query_timeout": _opt(
        "Seconds the schema lookup may take before extraction goes on without it.",
        "float",
        "2.0",
    ),
    "extraction_timeout": _opt(
        "Time budget in seconds for extracting lineage of one task event; over budget the extractor emits "
        "what it has and marks the extraction status partial.",
        "float",
        "1.0",
    ),
    "hook_lineage_child_jobs": _opt(
        "Also emit a child job per distinct query for SQL run through a DbApiHook inside a task; the task "
        "keeps the lineage either way.",
        "boolean",
        "False",
    ),
    "emit_asset_events": _opt(
        "Publish outputs inferred from SQL as Airflow asset events through the asset alias "
        "'lineage_provider_sql_outputs', so asset-scheduled DAGs can react to tables written by SQL.",
        "boolean",
        "False",
    ),
    # --- coexistence ---------------------------------------------------------------------------
    "warn_on_official_provider": _opt(
        "Warn once per process when apache-airflow-providers-openlineage is installed and enabled too "
        "(both would emit events for the same runs).",
        "boolean",
        "True",
    ),
}


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "airflow-lineage-provider",
        "name": "Lineage Provider",
        "description": "OpenLineage lineage (listener, SQL extractors, durable delivery) and null-rate "
        "quality gates for Apache Airflow 3.",
        "versions": [__version__],
        "plugins": [
            {
                "name": "lineage_provider",
                "plugin-class": "airflow_lineage_provider.plugins.LineageProviderPlugin",
            }
        ],
        "config": {
            SECTION: {
                "description": "airflow-lineage-provider: OpenLineage emission, SQL lineage and delivery.",
                "options": OPTIONS,
            }
        },
    }

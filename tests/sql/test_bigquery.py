"""BigQuery: partition decorators (``t$20240101``), snapshot and external tables (``WITH CONNECTION``,
``WITH PARTITION COLUMNS``), and what BigQuery operators generate (``MERGE ... INSERT ROW``, ``EXPORT DATA``).

LOAD DATA / EXPORT DATA are in test_load_unload.py, ``UNNEST ... WITH OFFSET`` in test_table_functions.py,
script variables in test_scripts.py."""

from __future__ import annotations

import pytest

from airflow_lineage_provider.sql import analyze

from .readers import indirect_rows as _rows
from .readers import plain as _plain
from .readers import tables as _tables

# ---------------------------------------------------------------------- names: partition decorators


@pytest.mark.parametrize(
    ("sql", "inputs", "outputs"),
    [
        pytest.param(
            "INSERT INTO `p.ds.daily$20240101` SELECT a FROM `p.ds.events`",
            ["p.ds.events"],
            ["p.ds.daily"],
            id="rendered-ds-nodash-target",
        ),
        pytest.param(
            "INSERT INTO p.ds.daily SELECT a FROM `p.ds.events$2024010112`",
            ["p.ds.events"],
            ["p.ds.daily"],
            id="hour",
        ),
        pytest.param(
            "SELECT a FROM `p.ds.events$__UNPARTITIONED__`", ["p.ds.events"], [], id="unpartitioned"
        ),
    ],
)
def test_a_bigquery_partition_decorator_names_the_table(
    sql: str, inputs: list[str], outputs: list[str]
) -> None:
    assert _tables(sql, "bigquery") == (inputs, outputs)


def test_documents_a_dollar_in_a_name_stays_elsewhere() -> None:
    assert _tables("SELECT a FROM t$1", "snowflake") == (["t$1"], [])


# ---------------------------------------------------------------------- snapshots and external tables


def test_bigquery_snapshot_table_copies_its_source() -> None:
    sql = (
        "CREATE SNAPSHOT TABLE ds.snap CLONE ds.t FOR SYSTEM_TIME AS OF "
        "TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 1 HOUR) "
        "OPTIONS (expiration_timestamp = TIMESTAMP '2030-01-01')"
    )
    assert _tables(sql, "bigquery") == (["ds.t"], ["ds.snap"])


@pytest.mark.parametrize(
    "sql",
    [
        pytest.param(
            "CREATE EXTERNAL TABLE ds.t WITH CONNECTION `proj.us.conn` "
            "OPTIONS (format = 'PARQUET', uris = ['gs://b/p/*'])",
            id="with-connection",
        ),
        pytest.param(
            "CREATE OR REPLACE EXTERNAL TABLE ds.t (a INT64) WITH PARTITION COLUMNS "
            "WITH CONNECTION proj.us.conn OPTIONS (format = 'PARQUET', uris = ['gs://b/p/*'], "
            "hive_partition_uri_prefix = 'gs://b/p')",
            id="with-partition-columns-and-connection",
        ),
        pytest.param(
            "CREATE EXTERNAL TABLE ds.t WITH PARTITION COLUMNS (dt DATE) "
            "OPTIONS (format = 'PARQUET', uris = ['gs://b/p/*'])",
            id="with-partition-column-list",
        ),
    ],
)
def test_bigquery_external_table_clauses_parse_like_the_plain_form(sql: str) -> None:
    result = analyze(sql, "bigquery")
    assert not result.errors and not result.partial, result.errors
    assert [s.kind for s in result.statements] == ["create_table"]
    assert _tables(sql, "bigquery") == ([], ["ds.t"])


# ---------------------------------------------------------------------- operator-generated SQL


def test_documents_bigquery_merge_insert_row_and_export_data() -> None:
    merge = (
        "MERGE ds.t T USING ds.s S ON T.id = S.id WHEN MATCHED THEN UPDATE SET v = S.v "
        "WHEN NOT MATCHED THEN INSERT ROW"
    )
    assert _plain(merge, "bigquery", schema={"ds.s": ["id", "v"], "ds.t": ["id", "v"]}) == {
        "ds.t.id": {"ds.s.id"},
        "ds.t.v": {"ds.s.v"},
    }
    export = (
        "EXPORT DATA OPTIONS(uri='gs://b/e/*.csv', format='CSV', overwrite=true, header=true) AS "
        "SELECT id, name FROM ds.t WHERE dt = '2024-01-01' ORDER BY id"
    )
    assert _plain(export, "bigquery") == {
        "gs://b/e/*.csv.id": {"ds.t.id"},
        "gs://b/e/*.csv.name": {"ds.t.name"},
    }
    assert _rows(export, "bigquery") == {
        ("gs://b/e/*.csv", "ds.t.dt", "FILTER"),
        ("gs://b/e/*.csv", "ds.t.id", "SORT"),
    }

"""Review 7, pure units: spatial columns' blank test, the counter limit, a table name that is not a string."""

from __future__ import annotations

import pytest

from airflow_lineage_provider.exceptions import QualityGateError
from airflow_lineage_provider.quality import (
    ColumnSpec,
    MetricsQuery,
    build_metrics_query,
    dialect_for,
    parse_table_name,
)


def test_mysql_spatial_columns_are_read_as_bytes_for_the_blank_test() -> None:
    mysql = dialect_for("mariadb")
    query = build_metrics_query(
        mysql, parse_table_name("t"), [ColumnSpec("g", count_blank=True, opaque=True), ColumnSpec("s", True)]
    )
    assert query.sql == (
        "SELECT COUNT(*), COUNT(`g`), COUNT(CASE WHEN TRIM(CAST(`g` AS BINARY)) = '' THEN 1 END), "
        "COUNT(`s`), COUNT(CASE WHEN TRIM(CAST(`s` AS CHAR)) = '' THEN 1 END) FROM `t`"
    )
    assert 255 in mysql.opaque_type_codes  # GEOMETRY in mysqlclient, PyMySQL and mysql-connector
    # engines without such types keep their one cast
    postgres = dialect_for("postgres")
    assert postgres.blank_test('"g"', opaque=True) == postgres.blank_test('"g"')


def test_a_serialised_query_keeps_the_opaque_flag_and_reads_older_ones() -> None:
    query = build_metrics_query(
        dialect_for("mysql"), parse_table_name("t"), [ColumnSpec("g", count_blank=True, opaque=True)]
    )
    assert MetricsQuery.from_dict(query.to_dict()) == query
    older = {"sql": "SELECT 1", "columns": [{"name": "g", "count_blank": True}]}  # a trigger stored before
    assert MetricsQuery.from_dict(older).columns == (ColumnSpec("g", True, False),)


@pytest.mark.parametrize(("engine", "limit"), [("postgres", 1664), ("sqlite", 2000)])
def test_more_counters_than_one_row_holds_is_refused_before_running(engine: str, limit: int) -> None:
    dialect = dialect_for(engine)
    assert dialect.max_result_columns == limit
    fits = [ColumnSpec(f"c{i}") for i in range(limit - 1)]  # + COUNT(*): exactly the limit
    build_metrics_query(dialect, parse_table_name("t"), fits)
    too_many = [ColumnSpec(f"c{i}", count_blank=i == 0) for i in range(limit - 1)]
    with pytest.raises(QualityGateError) as info:
        build_metrics_query(dialect, parse_table_name("s.t"), too_many)
    assert str(info.value).startswith(
        f"measuring {limit - 1} columns of {dialect.render_table(parse_table_name('s.t'))} takes "
        f"{limit + 1} counters"
    )
    assert f"{engine} allows at most {limit}: split null_thresholds over two gates" in str(info.value)
    assert dialect_for("mysql").max_result_columns is None  # MySQL/MariaDB: thousands, never reached


@pytest.mark.parametrize("table", [None, 3, b"t", ("s", "t")])
def test_a_table_name_must_be_a_string(table: object) -> None:
    with pytest.raises(QualityGateError, match=r"^table must be a table name string such as 'schema.table'"):
        parse_table_name(table)  # type: ignore[arg-type]

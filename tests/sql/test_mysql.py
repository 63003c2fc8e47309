"""MySQL / MariaDB: multi-table ``UPDATE`` / ``DELETE`` with joins (also of several targets), ``CREATE TABLE
... SELECT`` and the ``INSERT ... AS new(...)`` row alias of ``ON DUPLICATE KEY UPDATE``.

``LOAD DATA`` and ``INTO OUTFILE`` are in test_load_unload.py, executable comments in test_text.py,
``ON DUPLICATE KEY UPDATE`` itself in test_insert_update_delete.py."""

from __future__ import annotations

import pytest

from .readers import edges as _edges
from .readers import indirect_rows as _rows
from .readers import plain as _plain
from .readers import tables as _tables

# ---------------------------------------------------------------------- multi-table UPDATE / DELETE


def test_mysql_update_join_writes_the_table_its_set_clause_names() -> None:
    sql = (
        "UPDATE orders o JOIN customers c ON o.customer_id = c.id "
        "SET c.last_order_at = o.created_at WHERE o.status = 'paid'"
    )
    assert _tables(sql, "mysql") == (["orders"], ["customers"])
    assert _edges(sql, "mysql") == {"customers.last_order_at": ({"orders.created_at"}, "IDENTITY")}


def test_mysql_update_of_two_tables_writes_both() -> None:
    sql = "UPDATE t1, t2 SET t1.a = t2.b, t2.c = t1.d WHERE t1.id = t2.id"
    assert _tables(sql, "mysql") == (["t1", "t2"], ["t1", "t2"])
    assert _plain(sql, "mysql") == {"t1.a": {"t2.b"}, "t2.c": {"t1.d"}}


def test_mysql_update_join_setting_the_first_table_is_unchanged() -> None:
    sql = "UPDATE orders o JOIN customers c ON o.cid = c.id SET o.region = c.region"
    assert _tables(sql, "mysql") == (["customers"], ["orders"])
    assert _plain(sql, "mysql") == {"orders.region": {"customers.region"}}


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE tgt t JOIN (SELECT id, MAX(ts) AS mts FROM stg WHERE ok GROUP BY id) s ON t.id = s.id "
        "SET t.last_ts = s.mts",
        "UPDATE tgt t INNER JOIN (SELECT id, MAX(ts) AS mts FROM stg WHERE ok GROUP BY id) AS s "
        "ON t.id = s.id SET last_ts = s.mts",
    ],
)
def test_mysql_update_join_derived_table(sql: str) -> None:
    assert _edges(sql, "mysql") == {"tgt.last_ts": ({"stg.ts"}, "AGGREGATION")}
    assert _rows(sql, "mysql") == {
        ("tgt", "stg.id", "GROUP_BY"),
        ("tgt", "stg.id", "JOIN"),
        ("tgt", "stg.ok", "FILTER"),
        ("tgt", "tgt.id", "JOIN"),
    }


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        pytest.param(
            "UPDATE t1 JOIN t2 USING (id) SET t1.v = t2.v WHERE t2.ok",
            {("t1", "t1.id", "JOIN"), ("t1", "t2.id", "JOIN"), ("t1", "t2.ok", "FILTER")},
            id="update-join-using",
        ),
        pytest.param(
            "DELETE t1 FROM t1 JOIN t2 USING (id) WHERE t2.gone",
            {("t1", "t1.id", "JOIN"), ("t1", "t2.id", "JOIN"), ("t1", "t2.gone", "FILTER")},
            id="delete-join-using",
        ),
    ],
)
def test_mysql_dml_join_using_joins_on_both_columns(sql: str, expected: set[tuple[str, str, str]]) -> None:
    assert _rows(sql, "mysql") == expected


def test_documents_mysql_multi_table_update_and_delete() -> None:
    sql = (
        "UPDATE orders o JOIN customers c ON o.cid = c.id SET o.region = c.region, c.last_order = o.ts "
        "WHERE o.ts > '2024-01-01'"
    )
    assert _tables(sql, "mysql") == (["customers", "orders"], ["customers", "orders"])
    sql = "DELETE o, i FROM orders o JOIN items i ON i.oid = o.id WHERE o.status = 'x'"
    assert _tables(sql, "mysql") == ([], ["items", "orders"])


# ---------------------------------------------------------------------- CREATE TABLE ... SELECT


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("CREATE TABLE t (a INT PRIMARY KEY) SELECT x AS a, y AS b FROM s", {"t.a": {"s.x"}, "t.b": {"s.y"}}),
        ("CREATE TABLE t (b TEXT, a INT) SELECT x AS a, y AS b FROM s", {"t.a": {"s.x"}, "t.b": {"s.y"}}),
        ("CREATE TABLE t (a INT, b TEXT) AS SELECT x, y FROM s", {"t.x": {"s.x"}, "t.y": {"s.y"}}),
    ],
)
def test_mysql_create_table_select_matches_columns_by_name(sql: str, expected: dict[str, set[str]]) -> None:
    assert _plain(sql, "mysql") == expected


def test_mysql_create_table_select_columns_are_known_to_later_statements() -> None:
    sql = "CREATE TABLE t (b TEXT, a INT) SELECT x AS a FROM s; INSERT INTO u SELECT * FROM t"
    assert _plain(sql, "mysql") == {"t.a": {"s.x"}, "u.a": {"t.a"}, "u.b": {"t.b"}}


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE VIEW v (a, b) AS SELECT x, y FROM s",
        "CREATE OR REPLACE VIEW v (a, b) AS SELECT x, y FROM s",
        "CREATE ALGORITHM=MERGE DEFINER=`etl`@`%` SQL SECURITY DEFINER VIEW v (a, b) AS SELECT x, y FROM s",
    ],
)
def test_mysql_view_column_list_names_by_position(sql: str) -> None:
    """Only a table's defined columns match the SELECT by name; a view's list renames its columns in order."""
    assert _plain(sql, "mysql") == {"v.a": {"s.x"}, "v.b": {"s.y"}}


# ---------------------------------------------------------------------- INSERT ... AS row alias


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        (
            "INSERT INTO t (a, b) VALUES (%s, %s) AS new(m, n) ON DUPLICATE KEY UPDATE b = t.b + n",
            {"t.b": {"t.b"}},
        ),
        (
            "INSERT INTO t (a, b) VALUES ((SELECT max(x) FROM s), 2) AS new(m, n) "
            "ON DUPLICATE KEY UPDATE b = new.m",
            {"t.a": {"s.x"}, "t.b": {"s.x"}},
        ),
        (
            "INSERT INTO t (a, b) VALUES ((SELECT max(x) FROM s), 2) AS new(m, n) "
            "ON DUPLICATE KEY UPDATE b = m",
            {"t.a": {"s.x"}, "t.b": {"s.x"}},
        ),
    ],
)
def test_mysql_row_alias_column_names_are_the_inserted_values(
    sql: str, expected: dict[str, set[str]]
) -> None:
    assert _plain(sql, "mysql") == expected


# ---------------------------------------------------------------------- client DELIMITER lines


def test_mysql_client_delimiter_ends_statements_until_the_next_delimiter_line() -> None:
    sql = (
        "DELIMITER //\n"
        "INSERT INTO t SELECT a, 's3://b//k' AS u FROM s//\n"
        "CREATE PROCEDURE p() BEGIN INSERT INTO w SELECT c FROM x; END//\n"
        "INSERT INTO u SELECT b FROM v -- a // in a comment\n//\n"
        "DELIMITER ;\n"
        "INSERT INTO y SELECT d FROM z;"
    )
    assert _tables(sql, "mysql") == (["s", "v", "x", "z"], ["t", "u", "w", "y"])
    assert _plain(sql, "mysql") == {"t.a": {"s.a"}, "w.c": {"x.c"}, "u.b": {"v.b"}, "y.d": {"z.d"}}

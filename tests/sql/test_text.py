"""Statement splitting and text helpers."""

from __future__ import annotations

import pytest

from airflow_lineage_provider.sql.text import clean_templating, shorten_values, split_statements


@pytest.mark.parametrize(
    ("sql", "count"),
    [
        ("SELECT 1; SELECT 2;", 2),
        ("SELECT ';'; SELECT \";\"", 2),
        ("SELECT 1 -- ; comment\n; SELECT 2 /* ; */", 2),
        ("CREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END; SELECT 3", 2),
        ("BEGIN; INSERT INTO t VALUES (1); COMMIT;", 3),
        ("SELECT CASE WHEN a THEN 1 END; SELECT 2", 2),
        ("BEGIN IF x THEN SELECT 1; END IF; LOOP SELECT 2; END LOOP; END; SELECT 3", 2),
        ("CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql; SELECT 2", 2),
        (";;  ;", 0),
    ],
)
def test_split_statements(sql: str, count: int) -> None:
    assert len(split_statements(sql)) == count


def test_clean_templating() -> None:
    assert clean_templating("a = %(x)s AND b = %s {# c #}") == "a = ? AND b = ?  "


def test_shorten_values() -> None:
    sql = "INSERT INTO t VALUES (1, ')'), " + ", ".join(["(2, 'x')"] * 100)
    assert shorten_values(sql, 50) == "INSERT INTO t VALUES (1, ')')"
    assert shorten_values("INSERT INTO t VALUES (1)", 50) is None

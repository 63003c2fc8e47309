"""The table-level token scan used for statements the parser cannot handle."""

from __future__ import annotations

import pytest

from airflow_lineage_provider.sql.fallback import scan_tables


@pytest.mark.parametrize(
    ("sql", "inputs", "outputs"),
    [
        ("SELECT a FROM s.t JOIN u ON t.x = u.x WHERE ???", ["s.t", "u"], []),
        ("INSERT INTO tgt (a) SELECT ?? FROM src", ["src"], ["tgt"]),
        ("WITH c AS (SELECT 1 FROM base) INSERT INTO tgt SELECT * FROM c !!", ["base"], ["tgt"]),
        ('UPDATE "Sch"."T" SET a = 1 FROM [o].[x] ???', ["o.x"], ["Sch.T"]),
        ("DELETE FROM logs WHERE ts < !!", [], ["logs"]),
        ("MERGE dbo.t USING dbo.s ON ?? WHEN MATCHED", ["dbo.s"], ["dbo.t"]),
        ("CREATE VIEW v AS SELECT Name, DOB (TITLE 'x') FROM Employee", ["employee"], ["v"]),
        ("SELECT * FROM f(1) JOIN 'text FROM fake' AS s -- FROM comment", [], []),
        # a table argument is read, also inside a write (BigQuery change history, Trino table functions)
        ("INSERT INTO d.t SELECT * FROM APPENDS(TABLE d.s, NULL, NULL)", ["d.s"], ["d.t"]),
        ("SELECT * FROM CHANGES(TABLE d.s, NULL, NULL) ??", ["d.s"], []),
        ("SELECT * FROM TABLE(FLATTEN(input => x)) ??", [], []),
    ],
)
def test_scan_tables(sql: str, inputs: list[str], outputs: list[str]) -> None:
    ins, outs = scan_tables(sql)
    assert [t.qualified for t in ins] == inputs
    assert [t.qualified for t in outs] == outputs

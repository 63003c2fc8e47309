"""SQL Server (T-SQL) and Oracle: ``db..t`` and four-part names, ``INSERT`` table hints, ``TOP``, ``INSERT ...
EXEC``, table variables, ``OUTPUT [INTO]``; Oracle ``CONNECT BY`` and database links."""

from __future__ import annotations

import pytest

from airflow_lineage_provider.sql import analyze

from .readers import column_sources
from .readers import edges as _edges
from .readers import indirect_rows as _rows
from .readers import plain as _plain
from .readers import tables as _tables

# ---------------------------------------------------------------------- T-SQL names


def test_tsql_database_dot_dot_table_keeps_the_database_and_fills_the_schema() -> None:
    sql = "INSERT INTO other_db..tgt SELECT id FROM src"
    got = _tables(sql, "tsql", default_database="db", default_schema="dbo")
    assert got == (["db.dbo.src"], ["other_db.dbo.tgt"])
    assert _plain(sql, "tsql", default_database="db", default_schema="dbo") == {
        "other_db.dbo.tgt.id": {"db.dbo.src.id"}
    }


def test_tsql_four_part_linked_server_names_are_kept() -> None:
    sql = "INSERT INTO srv.db.dbo.tgt (id) SELECT id FROM [srv2].[db2].[dbo].[src]"
    assert _tables(sql, "tsql") == (["srv2.db2.dbo.src"], ["srv.db.dbo.tgt"])
    assert _plain(sql, "tsql") == {"srv.db.dbo.tgt.id": {"srv2.db2.dbo.src.id"}}


# ---------------------------------------------------------------------- T-SQL INSERT: hints, TOP, EXEC


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO dbo.t WITH (TABLOCK) (a) SELECT a FROM dbo.s WITH (NOLOCK)",
        "INSERT INTO dbo.t WITH (TABLOCK, HOLDLOCK) (a) SELECT a FROM dbo.s",
        "INSERT dbo.t WITH (TABLOCK) (a) SELECT a FROM dbo.s",
    ],
)
def test_tsql_insert_table_hints_keep_the_target(sql: str) -> None:
    assert _tables(sql, "tsql") == (["dbo.s"], ["dbo.t"])
    assert _plain(sql, "tsql") == {"dbo.t.a": {"dbo.s.a"}}


def test_an_unparseable_insert_is_not_taken_for_its_select() -> None:
    res = analyze("INSERT INTO dbo.t SOMETHING ODD (a) SELECT a FROM dbo.s", "tsql")
    assert [t.qualified for t in res.outputs] == ["dbo.t"]
    assert res.partial


@pytest.mark.parametrize(
    ("sql", "inputs", "outputs"),
    [
        ("-- purge\nDELETE TOP (500) FROM dbo.Log WHERE ts < 1", [], ["dbo.log"]),
        ("UPDATE TOP (1000) dbo.T SET Processed = 1 WHERE Processed = 0", [], ["dbo.t"]),
        ("INSERT TOP (10) PERCENT INTO dbo.X (a) SELECT a FROM dbo.Y", ["dbo.y"], ["dbo.x"]),
        (
            "WHILE 1 = 1 BEGIN DELETE TOP (5000) FROM dbo.Big WHERE dt < @d; IF @@ROWCOUNT = 0 BREAK; END",
            [],
            ["dbo.big"],
        ),
        ("IF @x > 0 RETURN; INSERT INTO dbo.A SELECT * FROM dbo.B", ["dbo.b"], ["dbo.a"]),
    ],
)
def test_tsql_top_clauses_and_break(sql: str, inputs: list[str], outputs: list[str]) -> None:
    assert _tables(sql, "tsql") == (inputs, outputs)


@pytest.mark.parametrize(
    ("sql", "outputs"),
    [
        ("INSERT INTO t EXEC proc", ["t"]),
        ("INSERT INTO dbo.t (a, b) EXEC dbo.load_proc @x = 1", ["dbo.t"]),
        ("INSERT INTO [dbo].[t] ([a]) EXECUTE [dbo].[p]", ["dbo.t"]),
    ],
)
def test_insert_exec_procedure_writes_the_target_only(sql: str, outputs: list[str]) -> None:
    res = analyze(sql, "tsql")
    assert not res.errors and not res.partial
    assert [t.qualified for t in res.outputs] == outputs
    assert not res.inputs and not res.column_lineage
    assert any("INSERT ... EXEC" in w for w in res.warnings)


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO dbo.t (a, b) EXEC ('SELECT x, y FROM dbo.s WHERE z = 1')",
        "INSERT INTO dbo.t (a, b) EXEC sp_executesql "
        "N'SELECT x, y FROM dbo.s WHERE z = @z', N'@z int', @z = 1",
    ],
)
def test_insert_exec_dynamic_query_is_the_inserted_query(sql: str) -> None:
    assert _plain(sql, "tsql") == {"dbo.t.a": {"dbo.s.x"}, "dbo.t.b": {"dbo.s.y"}}
    assert _rows(sql, "tsql") == {("dbo.t", "dbo.s.z", "FILTER")}


# ---------------------------------------------------------------------- T-SQL table variables


def test_tsql_table_variable_passes_lineage_through_like_a_temp_table() -> None:
    sql = """DECLARE @t TABLE (id INT, v INT);
INSERT INTO @t (id, v) SELECT id, v FROM dbo.src;
INSERT INTO dbo.tgt (id, v) SELECT id, upper(v) FROM @t;"""
    assert _tables(sql, "tsql") == (["dbo.src"], ["dbo.tgt"])
    assert _edges(sql, "tsql") == {
        "dbo.tgt.id": ({"dbo.src.id"}, "IDENTITY"),
        "dbo.tgt.v": ({"dbo.src.v"}, "TRANSFORMATION"),
    }


def test_table_variable_declared_columns_take_a_positional_insert() -> None:
    sql = (
        "DECLARE @t TABLE (a int PRIMARY KEY, b varchar(10) NOT NULL); "
        "INSERT INTO @t SELECT x, y FROM dbo.s; INSERT INTO dbo.o (a, b) SELECT a, b FROM @t"
    )
    assert _tables(sql, "tsql") == (["dbo.s"], ["dbo.o"])
    assert _plain(sql, "tsql") == {"dbo.o.a": {"dbo.s.x"}, "dbo.o.b": {"dbo.s.y"}}


def test_table_variable_declared_columns_expand_its_star() -> None:
    sql = "DECLARE @t TABLE (a int, b int); INSERT INTO @t SELECT x, y FROM s; INSERT INTO o SELECT * FROM @t"
    assert _plain(sql, "tsql") == {"o.a": {"s.x"}, "o.b": {"s.y"}}


# ---------------------------------------------------------------------- T-SQL OUTPUT [INTO]


def test_tsql_insert_output_into_writes_both_tables() -> None:
    res = analyze(
        "INSERT INTO dbo.o (id, v) OUTPUT inserted.id, inserted.v INTO dbo.audit (oid, val) "
        "SELECT id, v FROM dbo.t",
        "tsql",
    )
    assert not res.errors
    assert [t.qualified for t in res.inputs] == ["dbo.t"]
    assert sorted(t.qualified for t in res.outputs) == ["dbo.audit", "dbo.o"]
    got = column_sources(res)
    assert got == {
        "dbo.o.id": {"dbo.t.id"},
        "dbo.o.v": {"dbo.t.v"},
        "dbo.audit.oid": {"dbo.t.id"},
        "dbo.audit.val": {"dbo.t.v"},
    }


def test_tsql_merge_output_into_carries_the_source_alias_columns() -> None:
    """A MERGE's OUTPUT may name the USING table's columns (``s.c``): the log gets them from that table."""
    res = analyze(
        "MERGE INTO dbo.dim AS t USING dbo.stg AS s ON t.id = s.id AND t.is_current = 1 "
        "WHEN MATCHED AND t.name <> s.name THEN UPDATE SET t.is_current = 0 "
        "WHEN NOT MATCHED BY TARGET THEN INSERT (id, name, is_current) VALUES (s.id, s.name, 1) "
        "OUTPUT $action, S.id, s.name, inserted.name INTO audit.merge_log (act, id, name, new_name);",
        "tsql",
    )
    assert not res.errors
    assert sorted(t.qualified for t in res.outputs) == ["audit.merge_log", "dbo.dim"]
    got = column_sources(res)
    assert got["audit.merge_log.id"] == {"dbo.stg.id"}
    assert got["audit.merge_log.name"] == {"dbo.stg.name"}
    assert got["audit.merge_log.new_name"] == {"dbo.stg.name"}
    assert "audit.merge_log.act" not in got


def test_tsql_delete_output_deleted_into_archive_reads_the_target() -> None:
    res = analyze(
        "DELETE FROM dbo.q OUTPUT deleted.id, deleted.payload INTO dbo.q_archive WHERE ts < '2024-01-01'",
        "tsql",
    )
    assert not res.errors
    assert [t.qualified for t in res.inputs] == ["dbo.q"]
    assert sorted(t.qualified for t in res.outputs) == ["dbo.q", "dbo.q_archive"]
    got = column_sources(res)
    assert got == {"dbo.q_archive.id": {"dbo.q.id"}, "dbo.q_archive.payload": {"dbo.q.payload"}}


def test_tsql_merge_output_into_log() -> None:
    res = analyze(
        "MERGE dbo.o AS tgt USING dbo.t AS src ON tgt.id = src.id "
        "WHEN MATCHED THEN UPDATE SET v = src.v "
        "WHEN NOT MATCHED THEN INSERT (id, v) VALUES (src.id, src.v) "
        "OUTPUT $action, inserted.id INTO dbo.merge_log (act, id);",
        "tsql",
    )
    assert not res.errors
    assert sorted(t.qualified for t in res.outputs) == ["dbo.merge_log", "dbo.o"]
    got = column_sources(res)
    assert got["dbo.merge_log.id"] == {"dbo.t.id"}
    assert "dbo.merge_log.act" not in got


def test_tsql_update_output_without_into_keeps_column_lineage() -> None:
    res = analyze("UPDATE dbo.o SET v = s.v OUTPUT inserted.v FROM dbo.o JOIN dbo.s ON o.id = s.id", "tsql")
    assert not res.errors and not res.partial
    assert [t.qualified for t in res.outputs] == ["dbo.o"]
    assert {c.output.qualified for c in res.column_lineage} == {"dbo.o.v"}


def test_tsql_output_into_table_variable_is_not_a_dataset() -> None:
    res = analyze("INSERT INTO dbo.o (id) OUTPUT inserted.id INTO @ids SELECT id FROM dbo.t", "tsql")
    assert not res.errors
    assert [t.qualified for t in res.outputs] == ["dbo.o"]


def test_column_named_output_is_not_an_output_clause() -> None:
    res = analyze("INSERT INTO dbo.o (x) SELECT output FROM dbo.t", "tsql")
    got = column_sources(res)
    assert got == {"dbo.o.x": {"dbo.t.output"}}


def test_output_into_a_table_variable_passes_through_to_the_final_target() -> None:
    sql = (
        "DECLARE @log TABLE (id int, v int); "
        "UPDATE dbo.t SET v = v + 1 OUTPUT inserted.id, inserted.v INTO @log WHERE id > 10; "
        "INSERT INTO dbo.audit SELECT id, v FROM @log"
    )
    assert _tables(sql, "tsql") == (["dbo.t"], ["dbo.audit", "dbo.t"])
    assert _edges(sql, "tsql") == {
        "dbo.t.v": ({"dbo.t.v"}, "TRANSFORMATION"),
        "dbo.audit.id": ({"dbo.t.id"}, "IDENTITY"),
        "dbo.audit.v": ({"dbo.t.v"}, "TRANSFORMATION"),
    }
    assert _rows(sql, "tsql") == {("dbo.t", "dbo.t.id", "FILTER"), ("dbo.audit", "dbo.t.id", "FILTER")}


def test_output_into_keeps_the_statement_rows_and_gives_them_to_the_sink() -> None:
    sql = (
        "UPDATE dbo.t SET v = s.v OUTPUT deleted.id, deleted.v INTO dbo.hist (id, old_v) "
        "FROM dbo.t JOIN dbo.s ON t.id = s.id WHERE s.ok = 1"
    )
    assert _rows(sql, "tsql") == {
        (target, col, subtype)
        for target in ("dbo.t", "dbo.hist")
        for col, subtype in (("dbo.s.id", "JOIN"), ("dbo.t.id", "JOIN"), ("dbo.s.ok", "FILTER"))
    }


def test_delete_output_into_table_variable_then_archive() -> None:
    sql = (
        "DECLARE @gone TABLE (id int, payload nvarchar(max)); "
        "DELETE FROM dbo.q OUTPUT deleted.id, deleted.payload INTO @gone WHERE ts < '2024-01-01'; "
        "INSERT INTO dbo.q_archive (id, payload) SELECT id, payload FROM @gone"
    )
    assert _tables(sql, "tsql") == (["dbo.q"], ["dbo.q", "dbo.q_archive"])
    assert _plain(sql, "tsql") == {
        "dbo.q_archive.id": {"dbo.q.id"},
        "dbo.q_archive.payload": {"dbo.q.payload"},
    }
    assert ("dbo.q_archive", "dbo.q.ts", "FILTER") in _rows(sql, "tsql")


# ---------------------------------------------------------------------- Oracle


def test_oracle_update_of_a_join_view_writes_its_first_table() -> None:
    """Oracle's key-preserved join view: ``UPDATE (SELECT ... FROM t JOIN s ...) SET tv = sv``."""
    sql = "UPDATE (SELECT t.v AS tv, s.v AS sv FROM dw.t t JOIN stg.s s ON t.id = s.id) SET tv = sv"
    assert _tables(sql, "oracle") == (["stg.s"], ["dw.t"])
    assert _plain(sql, "oracle") == {"dw.t.v": {"stg.s.v"}}
    assert ("dw.t", "stg.s.id", "JOIN") in _rows(sql, "oracle")


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE (SELECT t.v AS tv FROM dw.t t WHERE t.flag = 1) x SET x.tv = 0",
        "DELETE FROM (SELECT * FROM dw.t WHERE flag = 1)",
        "DELETE (SELECT t.* FROM dw.t t JOIN stg.gone g ON t.id = g.id) v",
    ],
)
def test_oracle_dml_on_an_inline_view_writes_its_table(sql: str) -> None:
    assert _tables(sql, "oracle")[1] == ["dw.t"]


def test_oracle_connect_by_decides_rows() -> None:
    sql = (
        "CREATE TABLE dw.h AS SELECT employee_id, LEVEL AS lvl FROM hr.emp "
        "START WITH manager_id IS NULL CONNECT BY PRIOR employee_id = manager_id"
    )
    assert _plain(sql, "oracle") == {"dw.h.employee_id": {"hr.emp.employee_id"}}
    assert _rows(sql, "oracle") == {
        ("dw.h", "hr.emp.manager_id", "FILTER"),
        ("dw.h", "hr.emp.manager_id", "JOIN"),
        ("dw.h", "hr.emp.employee_id", "JOIN"),
    }


@pytest.mark.parametrize(
    ("sql", "parts"),
    [
        pytest.param(
            "INSERT INTO x SELECT a FROM sales.orders@remote.example.com",
            [(None, "sales", "orders@remote.example.com"), (None, None, "x")],
            id="schema-and-dotted-link",
        ),
        pytest.param(
            "INSERT INTO x SELECT a FROM orders@remote.example.com",
            [(None, None, "orders@remote.example.com"), (None, None, "x")],
            id="dotted-link",
        ),
        pytest.param(
            "INSERT INTO sales.orders@remote.acme SELECT a FROM s",
            [(None, None, "s"), (None, "sales", "orders@remote.acme")],
            id="write",
        ),
        pytest.param(
            "SELECT a FROM sales.orders@remote",
            [(None, "sales", "orders@remote")],
            id="documents-plain-link",
        ),
    ],
)
def test_a_dotted_database_link_is_part_of_the_table_name(
    sql: str, parts: list[tuple[str | None, str | None, str]]
) -> None:
    result = analyze(sql, "oracle")
    assert not result.errors, result.errors
    assert [(t.database, t.schema, t.name) for t in (*result.inputs, *result.outputs)] == parts


def test_documents_a_dotted_database_link_names_the_columns_read_through_it() -> None:
    assert _tables("SELECT o.a FROM sales.orders@remote.example.com o", "oracle") == (
        ["sales.orders@remote.example.com"],
        [],
    )
    assert _plain("SELECT o.a FROM sales.orders@remote.example.com o", "oracle") == {
        "a": {"sales.orders@remote.example.com.a"}
    }


@pytest.mark.parametrize(
    ("sql", "expected_tables", "expected_columns"),
    [
        ("INSERT INTO (SELECT a, b FROM sales.t) VALUES (1, 2)", ([], ["sales.t"]), {}),
        (
            "INSERT INTO (SELECT e.a, e.b FROM sales.t e WHERE e.a > 0 WITH CHECK OPTION) v "
            "SELECT x, y FROM src",
            (["src"], ["sales.t"]),
            {"sales.t.a": {"src.x"}, "sales.t.b": {"src.y"}},
        ),
        ("INSERT INTO (SELECT * FROM t) SELECT * FROM src", (["src"], ["t"]), {"t.*": {"src.*"}}),
    ],
)
def test_oracle_insert_into_an_inline_view_writes_its_table(
    sql: str, expected_tables: tuple[list[str], list[str]], expected_columns: dict[str, set[str]]
) -> None:
    """``INSERT INTO (SELECT a, b FROM t) VALUES ...``: the view's columns are ``t``'s."""
    assert _tables(sql, "oracle") == expected_tables
    assert _plain(sql, "oracle") == expected_columns


@pytest.mark.parametrize(
    "sql",
    [
        "TRUNCATE TABLE hr.t REUSE STORAGE",
        "TRUNCATE TABLE hr.t DROP ALL STORAGE",
        "TRUNCATE TABLE hr.t PRESERVE MATERIALIZED VIEW LOG DROP STORAGE",
    ],
)
def test_oracle_truncate_storage_clauses_empty_the_table(sql: str) -> None:
    """The clause says what happens to the freed space: the statement is a plain TRUNCATE, no parse error."""
    assert _tables(sql, "oracle") == ([], ["hr.t"])


def test_oracle_outer_join_mark_makes_a_where_condition_a_join() -> None:
    """``WHERE a.id = b.id(+)`` is Oracle's outer join: that condition joins ``b`` (JOIN), the others still
    filter."""
    sql = "INSERT INTO dw.t (id, name) SELECT a.id, b.name FROM a, b WHERE a.id = b.id(+) AND a.ok = 1"
    assert _rows(sql, "oracle") == {
        ("dw.t", "a.id", "JOIN"),
        ("dw.t", "b.id", "JOIN"),
        ("dw.t", "a.ok", "FILTER"),
    }


def test_tsql_identity_function_reads_no_column() -> None:
    """``SELECT IDENTITY(INT, 1, 1) AS rid, ... INTO #t`` numbers the rows: ``INT`` is a type, no column."""
    sql = (
        "SELECT IDENTITY(INT, 1, 1) AS rid, name INTO #t FROM dbo.s; "
        "INSERT INTO dbo.o SELECT rid, name FROM #t"
    )
    assert _plain(sql, "tsql") == {"dbo.o.name": {"dbo.s.name"}}

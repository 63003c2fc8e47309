"""Procedural SQL: ``BEGIN ... END`` blocks, ``IF`` / ``WHILE`` conditions, ``FOR`` loops (PL/pgSQL,
PL/SQL, BigQuery), Snowflake Scripting ``LET``, routine parameters, cursors, and dynamic SQL (``EXECUTE
IMMEDIATE`` / ``EXEC`` of a constant string, which is analysed, or of built SQL, which gives nothing).

Also the pieces of a script split on ``;`` that begin with a block keyword: ``ELSE`` branches, ``LOOP`` /
``REPEAT`` / ``label: LOOP`` heads, ``IF|WHILE <cond> THEN|DO <procedural line>``, ``UNTIL <cond> END
REPEAT``, BigQuery ``EXCEPTION WHEN ERROR THEN``, T-SQL ``BEGIN TRY`` / ``BEGIN CATCH`` outside a routine,
a T-SQL ``IF NOT EXISTS (...)`` prefix and Snowflake's ``DECLARE`` section (``RESULTSET DEFAULT (query)``,
``CURSOR FOR query``). Their linear cost is guarded in test_scaling.py."""

from __future__ import annotations

import pytest

from airflow_lineage_provider.sql import analyze

from .readers import indirect_rows as _rows
from .readers import plain as _plain
from .readers import tables as _tables

# ---------------------------------------------------------------------- blocks, conditions and loops


def test_snowflake_let_is_procedural() -> None:
    assert _tables("BEGIN LET n INTEGER := 0; INSERT INTO a.t SELECT x FROM a.s; END;", "snowflake") == (
        ["a.s"],
        ["a.t"],
    )


@pytest.mark.parametrize(
    "let",
    [
        pytest.param("LET cnt INTEGER := (SELECT count(*) FROM staging);", id="let-typed"),
        pytest.param("LET res RESULTSET := (SELECT id FROM staging);", id="let-resultset"),
        pytest.param("LET cnt NUMBER(10, 0) DEFAULT (SELECT count(*) FROM staging);", id="let-default"),
    ],
)
def test_snowflake_scripting_let_reads_its_query(let: str) -> None:
    sql = (
        "EXECUTE IMMEDIATE $$\nDECLARE\n  n INTEGER;\nBEGIN\n"
        f"  {let}\n"
        "  IF (cnt > 0) THEN\n    INSERT INTO target SELECT id, a FROM staging;\n  END IF;\n"
        "  RETURN 'ok';\nEND;\n$$"
    )
    result = analyze(sql, "snowflake")
    assert not result.errors, result.errors
    assert not result.partial
    assert _tables(sql, "snowflake") == (["staging"], ["target"])
    assert _plain(sql, "snowflake") == {"target.id": {"staging.id"}, "target.a": {"staging.a"}}


@pytest.mark.parametrize(
    ("sql", "dialect", "inputs"),
    [
        (
            "IF EXISTS (SELECT 1 FROM dbo.control WHERE ready = 1) INSERT INTO dbo.t SELECT * FROM dbo.s",
            "tsql",
            ["dbo.control", "dbo.s"],
        ),
        (
            "IF (SELECT COUNT(*) FROM dbo.control) > 0 BEGIN INSERT INTO dbo.t SELECT * FROM dbo.s END",
            "tsql",
            ["dbo.control", "dbo.s"],
        ),
        ("WHILE EXISTS (SELECT 1 FROM dbo.q) BEGIN DELETE TOP (100) FROM dbo.q; END", "tsql", ["dbo.q"]),
        (
            "IF (SELECT COUNT(*) FROM ds.control) > 0 THEN INSERT INTO ds.t SELECT * FROM ds.s; END IF;",
            "bigquery",
            ["ds.control", "ds.s"],
        ),
        (
            "BEGIN IF EXISTS (SELECT 1 FROM sch.control) THEN "
            "INSERT INTO sch.t SELECT * FROM sch.s; END IF; END",
            "snowflake",
            ["sch.control", "sch.s"],
        ),
    ],
)
def test_procedural_conditions_read_their_tables(sql: str, dialect: str, inputs: list[str]) -> None:
    assert _tables(sql, dialect)[0] == inputs


def test_bigquery_for_in_reads_its_query_and_runs_its_body() -> None:
    sql = (
        "FOR rec IN (SELECT dt FROM ds.days) DO "
        "INSERT INTO ds.t SELECT a FROM ds.s WHERE d = rec.dt; END FOR;"
    )
    assert _tables(sql, "bigquery") == (["ds.days", "ds.s"], ["ds.t"])
    assert _plain(sql, "bigquery") == {"ds.t.a": {"ds.s.a"}}
    assert _rows(sql, "bigquery") == {("ds.t", "ds.s.d", "FILTER")}  # rec.dt is the loop row's, no column


@pytest.mark.parametrize(
    ("sql", "dialect"),
    [
        pytest.param(
            "DO $$ DECLARE r record; BEGIN FOR r IN SELECT id FROM s LOOP "
            "INSERT INTO t (id) VALUES (r.id); END LOOP; END $$;",
            "postgres",
            id="plpgsql-for-query-loop",
        ),
        pytest.param(
            "BEGIN FOR r IN (SELECT id FROM s WHERE ok = 1) LOOP "
            "INSERT INTO t (id) VALUES (r.id); END LOOP; END;",
            "oracle",
            id="plsql-cursor-for-loop",
        ),
    ],
)
def test_for_loop_query_tables_are_read(sql: str, dialect: str) -> None:
    assert _tables(sql, dialect) == (["s"], ["t"])


def test_documents_numeric_for_loop_body_is_analysed() -> None:
    sql = "DO $$ BEGIN FOR i IN 1..10 LOOP INSERT INTO t SELECT a FROM s; END LOOP; END $$;"
    assert _plain(sql, "postgres") == {"t.a": {"s.a"}}


def test_documents_a_begin_end_block_is_still_a_block() -> None:
    sql = "CREATE PROCEDURE p() BEGIN EXECUTE IMMEDIATE 'INSERT INTO t SELECT a FROM s'; END"
    assert _tables(sql, "mysql") == (["s"], ["t"])


# --------------------------------------------------- pieces of a split script that begin with a block keyword


def test_else_branch_of_a_script_if_is_not_lost() -> None:
    sql = (
        "BEGIN\n"
        "  IF (SELECT count(*) FROM ctl WHERE ready) > 0 THEN\n"
        "    INSERT INTO t SELECT a FROM s;\n"
        "  ELSE\n"
        "    INSERT INTO t2 SELECT a FROM s2;\n"
        "  END IF;\n"
        "END"
    )
    assert _tables(sql, "bigquery") == (["ctl", "s", "s2"], ["t", "t2"])
    assert _plain(sql, "bigquery") == {"t.a": {"s.a"}, "t2.a": {"s2.a"}}


@pytest.mark.parametrize("dialect", ["mysql", "postgres", "snowflake"])
def test_else_piece_is_analysed_in_every_dialect(dialect: str) -> None:
    sql = "IF x > 0 THEN\n  INSERT INTO t SELECT a FROM s;\nELSE\n  INSERT INTO t2 SELECT b FROM s2;\nEND IF"
    result = analyze(sql, dialect)
    assert sorted(t.qualified for t in result.outputs) == ["t", "t2"]
    assert sorted(t.qualified for t in result.inputs) == ["s", "s2"]


@pytest.mark.parametrize(
    ("sql", "dialect", "inputs", "outputs"),
    [
        pytest.param(
            "CREATE TEMP TABLE stage AS SELECT id, amt FROM ds.raw;\n"
            "LOOP\n"
            "  IF (SELECT count(*) FROM ds.ctl) = 0 THEN LEAVE; END IF;\n"
            "  DELETE FROM stage WHERE TRUE;\n"
            "END LOOP;\n"
            "INSERT INTO ds.final SELECT id, amt FROM stage;",
            "bigquery",
            ["ds.ctl", "ds.raw"],
            ["ds.final"],
            id="bigquery-loop-if-then-leave",
        ),
        pytest.param(
            "IF (SELECT count(*) FROM ds.ctl) = 0 THEN RETURN; END IF",
            "bigquery",
            ["ds.ctl"],
            [],
            id="if-then-return",
        ),
        pytest.param(
            "REPEAT\n  INSERT INTO t SELECT a FROM s;\n  UNTIL (SELECT count(*) FROM t) > 10\nEND REPEAT",
            "bigquery",
            ["s", "t"],
            ["t"],
            id="repeat-until-query",
        ),
        pytest.param(
            "CREATE PROCEDURE p()\nBEGIN\n  read_loop: LOOP\n"
            "    IF (SELECT count(*) FROM q) = 0 THEN LEAVE read_loop;\n    END IF;\n"
            "    DELETE FROM q LIMIT 100;\n  END LOOP read_loop;\nEND",
            "mysql",
            ["q"],
            ["q"],
            id="mysql-labelled-loop",
        ),
        pytest.param(
            "BEGIN\n  INSERT INTO t SELECT a FROM s;\nEXCEPTION WHEN ERROR THEN\n"
            "  INSERT INTO errors (msg) VALUES (@@error.message);\nEND",
            "bigquery",
            ["s"],
            ["errors", "t"],
            id="bigquery-exception-handler",
        ),
        pytest.param(
            "DECLARE\n  res RESULTSET DEFAULT (SELECT id FROM src);\n  c1 CURSOR FOR SELECT id FROM other;\n"
            "  n INTEGER DEFAULT 0;\nBEGIN\n  INSERT INTO tgt (id) SELECT id FROM src;\nEND",
            "snowflake",
            ["other", "src"],
            ["tgt"],
            id="snowflake-declare-section",
        ),
    ],
)
def test_procedural_heads_are_no_errors(
    sql: str, dialect: str, inputs: list[str], outputs: list[str]
) -> None:
    assert _tables(sql, dialect) == (inputs, outputs)


def test_tsql_try_catch_script_without_a_routine() -> None:
    sql = (
        "SELECT * INTO #s FROM dbo.src WHERE dt = @d;\n"
        "BEGIN TRY\n  BEGIN TRAN;\n  DELETE FROM dbo.tgt WHERE dt = @d;\n"
        "  INSERT INTO dbo.tgt SELECT * FROM #s;\n  COMMIT;\nEND TRY\nBEGIN CATCH\n  ROLLBACK;\n"
        "  INSERT INTO dbo.err (msg) VALUES (ERROR_MESSAGE());\n  THROW;\nEND CATCH"
    )
    assert _tables(sql, "tsql") == (["dbo.src"], ["dbo.err", "dbo.tgt"])


def test_loop_head_keeps_the_statement_lineage() -> None:
    sql = "LOOP\n  INSERT INTO t SELECT a FROM s;\n  IF (SELECT count(*) FROM s) = 0 THEN BREAK; END IF;\n"
    sql += "END LOOP"
    assert _plain(sql, "bigquery") == {"t.a": {"s.a"}}


def test_documents_a_procedural_prefix_still_reaches_its_statement() -> None:
    sql = "IF NOT EXISTS (SELECT 1 FROM dbo.ctl WHERE done = 1) INSERT INTO dbo.t SELECT a FROM dbo.s"
    assert _tables(sql, "tsql") == (["dbo.ctl", "dbo.s"], ["dbo.t"])


# ---------------------------------------------------------------------- procedures and functions


@pytest.mark.parametrize(
    ("sql", "dialect"),
    [
        (
            "CREATE PROCEDURE p(IN d DATE, OUT n INT) BEGIN INSERT INTO t SELECT id FROM s WHERE dt = d; END",
            "mysql",
        ),
        (
            "CREATE OR REPLACE PROCEDURE p(d IN DATE) AS BEGIN "
            "INSERT INTO t SELECT id FROM s WHERE dt = d; END;",
            "oracle",
        ),
        (
            "CREATE OR REPLACE PROCEDURE ds.p(d DATE) BEGIN INSERT INTO t SELECT id FROM s WHERE dt = d; END",
            "bigquery",
        ),
    ],
)
def test_routine_parameters_are_not_columns(sql: str, dialect: str) -> None:
    assert _rows(sql, dialect) == {("t", "s.dt", "FILTER")}


def test_routine_parameters_do_not_outlive_the_routine() -> None:
    sql = (
        "CREATE PROCEDURE p(d DATE) BEGIN INSERT INTO t SELECT id FROM s WHERE dt = d; END; "
        "INSERT INTO u SELECT d FROM w"
    )
    assert _plain(sql, "mysql") == {"t.id": {"s.id"}, "u.d": {"w.d"}}


def test_postgres_unnamed_function_parameters_are_no_names() -> None:
    sql = (
        "CREATE FUNCTION f(text, integer) RETURNS void AS $$ BEGIN "
        "INSERT INTO t SELECT text FROM s WHERE integer > 0; END; $$ LANGUAGE plpgsql"
    )
    assert _plain(sql, "postgres") == {"t.text": {"s.text"}}


def test_plpgsql_function_body_in_tagged_dollar_quotes_is_analysed() -> None:
    sql = (
        "CREATE OR REPLACE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $fn$ "
        "BEGIN INSERT INTO b SELECT a FROM c; END; $fn$"
    )
    assert _plain(sql, "postgres") == {"b.a": {"c.a"}}


def test_cursor_commands_read_nothing() -> None:
    sql = (
        "DECLARE c CURSOR FOR SELECT id FROM dbo.T; OPEN c; FETCH NEXT FROM c INTO @id; "
        "CLOSE c; DEALLOCATE c;"
    )
    assert _tables(sql, "tsql") == (["dbo.t"], [])


# ---------------------------------------------------------------------- dynamic SQL


@pytest.mark.parametrize(
    ("sql", "dialect"),
    [
        ("EXECUTE IMMEDIATE 'INSERT INTO tgt SELECT a FROM src'", "bigquery"),
        ("EXECUTE IMMEDIATE 'INSERT INTO tgt SELECT a FROM src WHERE d = ''x'''", "snowflake"),
        ("EXECUTE IMMEDIATE $$INSERT INTO tgt SELECT a FROM src$$", "snowflake"),
        ("EXEC('INSERT INTO tgt SELECT a FROM src')", "tsql"),
        (
            "EXEC sp_executesql N'INSERT INTO tgt SELECT a FROM src WHERE d = @d', "
            "N'@d date', @d = '2024-01-01'",
            "tsql",
        ),
        ("EXECUTE IMMEDIATE 'INSERT INTO tgt SELECT a FROM src WHERE d = ?' USING '2024-01-01'", "bigquery"),
        ('EXECUTE IMMEDIATE "INSERT INTO tgt SELECT a FROM src WHERE d = ?" USING d', "bigquery"),
        ('EXECUTE IMMEDIATE """INSERT INTO tgt SELECT a FROM src WHERE d = \'x\'"""', "bigquery"),
        ("DO $$ BEGIN EXECUTE 'INSERT INTO tgt SELECT a FROM src WHERE d = ''x'''; END $$", "postgres"),
        ("CREATE PROCEDURE p() BEGIN EXECUTE 'INSERT INTO tgt SELECT a FROM src' USING x; END", "postgres"),
        (
            "PREPARE stmt FROM 'INSERT INTO tgt SELECT a FROM src'; EXECUTE stmt; DEALLOCATE PREPARE stmt",
            "mysql",
        ),
    ],
)
def test_execute_of_a_constant_string_is_analysed(sql: str, dialect: str) -> None:
    assert _tables(sql, dialect) == (["src"], ["tgt"])
    assert _plain(sql, dialect) == {"tgt.a": {"src.a"}}


def test_snowflake_execute_immediate_anonymous_block() -> None:
    sql = """EXECUTE IMMEDIATE $$
BEGIN
  CREATE OR REPLACE TEMPORARY TABLE stage AS SELECT a, b FROM db.s.src;
  INSERT INTO db.s.tgt SELECT a, b FROM stage;
  DELETE FROM db.s.src WHERE a IS NULL;
END;
$$"""
    assert _tables(sql, "snowflake") == (["db.s.src"], ["db.s.src", "db.s.tgt"])
    assert _plain(sql, "snowflake") == {"db.s.tgt.a": {"db.s.src.a"}, "db.s.tgt.b": {"db.s.src.b"}}


@pytest.mark.parametrize(
    ("sql", "dialect"),
    [
        ("EXECUTE 'INSERT INTO tgt SELECT a FROM ' || tbl", "postgres"),
        ("EXECUTE IMMEDIATE 'INSERT INTO ' || tbl || ' SELECT a FROM src'", "snowflake"),
        ("EXEC('INSERT INTO ' + @t + ' SELECT a FROM src')", "tsql"),
        ("EXECUTE my_prepared_statement(1, 2)", "postgres"),
        ("EXEC dbo.load_orders @day = '2024-01-01'", "tsql"),
    ],
)
def test_execute_of_built_sql_or_a_procedure_gives_nothing(sql: str, dialect: str) -> None:
    res = analyze(sql, dialect)
    assert (res.inputs, res.outputs, res.errors) == ((), (), ())


# ------------------------------------------------- round 16: declaration sections and loop indexes


@pytest.mark.parametrize(
    ("sql", "dialect"),
    [
        pytest.param(
            "CREATE OR REPLACE PROCEDURE m.load() RETURNS STRING LANGUAGE SQL AS $$ DECLARE "
            "res RESULTSET DEFAULT (SELECT id FROM raw.o); c1 CURSOR FOR res; BEGIN FOR r IN c1 DO "
            "INSERT INTO m.o (id) VALUES (r.id); END FOR; RETURN 'ok'; END; $$;",
            "snowflake",
            id="snowflake-procedure-declare-section",
        ),
        pytest.param(
            "DO $$ DECLARE cur CURSOR FOR SELECT id FROM raw.o; total numeric := (SELECT sum(v) FROM raw.b); "
            "BEGIN INSERT INTO m.o (id) VALUES (total); END $$;",
            "postgres",
            id="plpgsql-do-declare-section",
        ),
        pytest.param(
            "CREATE OR REPLACE PROCEDURE m.p AS CURSOR c IS SELECT k, v FROM raw.o; BEGIN FOR r IN c LOOP "
            "UPDATE m.o SET v = r.v WHERE k = r.k; END LOOP; END;",
            "oracle",
            id="plsql-procedure-cursor-is",
        ),
    ],
)
def test_the_declaration_section_of_a_routine_reads_its_queries(sql: str, dialect: str) -> None:
    res = analyze(sql, dialect)
    assert not res.errors, res.errors
    assert {t.qualified for t in res.inputs} >= {"raw.o"}
    assert {t.qualified for t in res.outputs} == {"m.o"}
    assert all(c.output.table is not None for c in res.column_lineage)


def test_an_oracle_cursor_declaration_reads_its_query_and_returns_no_columns() -> None:
    sql = (
        "DECLARE\n  CURSOR c1 (p_day DATE) IS SELECT id, name FROM stg.batches;\n  v_n NUMBER := 0;\nBEGIN\n"
        "  FOR r IN c1 LOOP\n    INSERT INTO mart.facts (batch_id) VALUES (r.id);\n  END LOOP;\nEND;\n/\n"
    )
    res = analyze(sql, "oracle")
    assert not res.errors, res.errors
    assert [t.qualified for t in res.inputs] == ["stg.batches"]
    assert [t.qualified for t in res.outputs] == ["mart.facts"]
    assert res.column_lineage == ()  # the cursor's columns go to no dataset


@pytest.mark.parametrize(
    ("sql", "dialect"),
    [
        pytest.param(
            "BEGIN FOR i IN 1 .. 10 LOOP UPDATE s.o SET bucket = i WHERE mod(id, 10) = i; END LOOP; "
            "END;\n/\n",
            "oracle",
            id="plsql-numeric-for",
        ),
        pytest.param(
            "DECLARE TYPE t_ids IS TABLE OF NUMBER; l_ids t_ids; BEGIN "
            "FORALL i IN 1 .. l_ids.COUNT UPDATE s.o SET bucket = 1 WHERE id = l_ids(i); END;\n/\n",
            "oracle",
            id="plsql-forall",
        ),
        pytest.param(
            "DO $$ BEGIN FOR i IN 1..10 LOOP UPDATE s.o SET bucket = i WHERE id = i; END LOOP; END $$;",
            "postgres",
            id="plpgsql-numeric-for",
        ),
    ],
)
def test_a_loop_index_is_no_column(sql: str, dialect: str) -> None:
    res = analyze(sql, dialect)
    assert not res.errors, res.errors
    assert [t.qualified for t in res.outputs] == ["s.o"]
    assert "s.o.i" not in {str(r.input) for r in res.indirect}
    assert all("s.o.i" not in {c.qualified for c in e.inputs} for e in res.column_lineage)


def test_variables_declared_in_a_routine_are_no_columns() -> None:
    sql = (
        "CREATE OR REPLACE PROCEDURE dw.p IS\n  v_day DATE := trunc(sysdate);\n  v_cnt NUMBER;\nBEGIN\n"
        "  DELETE FROM dw.f WHERE load_day = v_day;\n"
        "  INSERT INTO dw.f (id, load_day) SELECT id, v_day FROM stg.f;\nEND;\n"
    )
    res = analyze(sql, "oracle")
    assert not res.errors, res.errors
    assert {(str(r.output), str(r.input)) for r in res.indirect} == {("dw.f", "dw.f.load_day")}
    assert {c.output.qualified: {i.qualified for i in c.inputs} for c in res.column_lineage} == {
        "dw.f.id": {"stg.f.id"}
    }


_PLPGSQL_BODY = (
    "CREATE OR REPLACE PROCEDURE m.sp(p_day date) AS $$ DECLARE v_cnt int; v_max int; "
    "BEGIN {} END; $$ LANGUAGE plpgsql;"
)


@pytest.mark.parametrize("dialect", ["postgres", "redshift"])
@pytest.mark.parametrize(
    "line",
    [
        pytest.param("SELECT count(*) INTO v_cnt FROM stg.o WHERE day = p_day;", id="select-list-into"),
        pytest.param("SELECT INTO v_cnt count(*) FROM stg.o WHERE day = p_day;", id="select-into-first"),
        pytest.param("SELECT INTO v_cnt, v_max count(*), max(id) FROM stg.o;", id="select-into-two"),
        pytest.param("SELECT count(*) INTO STRICT v_cnt FROM stg.o WHERE day = p_day;", id="into-strict"),
        pytest.param("PERFORM 1 FROM stg.o WHERE day = p_day;", id="perform-query"),
        pytest.param("PERFORM m.notify((SELECT max(id) FROM stg.o));", id="perform-call"),
    ],
)
def test_plpgsql_select_into_and_perform_read_without_writing(line: str, dialect: str) -> None:
    sql = _PLPGSQL_BODY.format(line + " INSERT INTO m.o SELECT id FROM stg.o;")
    res = analyze(sql, dialect)
    assert not res.errors, res.errors
    assert [t.qualified for t in res.inputs] == ["stg.o"]
    assert [t.qualified for t in res.outputs] == ["m.o"]
    assert {c.output.qualified for c in res.column_lineage} == {"m.o.id"}


def test_a_temp_table_selected_into_in_a_routine_is_still_a_table() -> None:
    sql = _PLPGSQL_BODY.format(
        "SELECT id INTO TEMP TABLE tmp_o FROM stg.o; INSERT INTO m.o SELECT id FROM tmp_o;"
    )
    assert _plain(sql, "redshift") == {"m.o.id": {"stg.o.id"}}


def test_plpgsql_foreach_runs_its_body() -> None:
    sql = (
        "DO $$ DECLARE t text; BEGIN FOREACH t IN ARRAY ARRAY['a', 'b'] LOOP "
        "INSERT INTO m.o (k) SELECT k FROM stg.o WHERE kind = t; END LOOP; END $$;"
    )
    assert _plain(sql, "postgres") == {"m.o.k": {"stg.o.k"}}
    assert _rows(sql, "postgres") == {("m.o", "stg.o.kind", "FILTER")}


@pytest.mark.parametrize("dialect", ["postgres", "mysql", "oracle", "redshift"])
def test_select_into_several_variables_in_a_routine_reads_only(dialect: str) -> None:
    sql = "CREATE PROCEDURE p() BEGIN SELECT count(*), max(id) INTO v_cnt, v_max FROM stg.o; END"
    res = analyze(sql, dialect)
    assert not res.errors, res.errors
    assert [t.qualified for t in res.inputs] == ["stg.o"]
    assert res.outputs == ()


@pytest.mark.parametrize(
    ("sql", "dialect"),
    [
        pytest.param(
            "CREATE PROCEDURE dbo.p AS BEGIN DECLARE @id INT; "
            "DECLARE c CURSOR LOCAL FAST_FORWARD FOR SELECT id FROM stg.items WHERE ready = 1; "
            "OPEN c; FETCH NEXT FROM c INTO @id; INSERT INTO dbo.items (id) VALUES (@id); CLOSE c; END",
            "tsql",
            id="tsql-cursor-options",
        ),
        pytest.param(
            "DECLARE c INSENSITIVE SCROLL CURSOR FOR SELECT id FROM stg.items; "
            "INSERT INTO dbo.items (id) VALUES (1);",
            "tsql",
            id="tsql-cursor-iso",
        ),
        pytest.param(
            "DECLARE\n  CURSOR c_emp (p_dept NUMBER) IS SELECT id FROM stg.items WHERE dept = p_dept;\n"
            "  TYPE t_tab IS TABLE OF c_emp%ROWTYPE;\n  l_tab t_tab;\n  l_one stg.items.id%TYPE;\n"
            "  TYPE t_rec IS RECORD (id NUMBER, sal NUMBER);\n  PRAGMA AUTONOMOUS_TRANSACTION;\nBEGIN\n"
            "  FORALL i IN INDICES OF l_tab\n    INSERT INTO dbo.items (id) VALUES (l_tab(i).id);\nEND;\n/\n",
            "oracle",
            id="plsql-types-and-cursor",
        ),
    ],
)
def test_cursor_and_type_declarations_read_without_returning_columns(sql: str, dialect: str) -> None:
    res = analyze(sql, dialect)
    assert not res.errors, res.errors
    assert [t.qualified for t in res.inputs] == ["stg.items"]
    assert [t.qualified for t in res.outputs] == ["dbo.items"]
    assert res.column_lineage == ()


def test_raiserror_is_procedural() -> None:
    sql = "BEGIN TRY RAISERROR('starting', 0, 1) WITH NOWAIT; INSERT INTO dbo.t SELECT a FROM stg.s; END TRY "
    sql += "BEGIN CATCH RAISERROR(@msg, 16, 1); END CATCH"
    assert _tables(sql, "tsql") == (["stg.s"], ["dbo.t"])


def test_plpgsql_foreach_head_is_procedural() -> None:
    sql = (
        "DO $$ BEGIN FOREACH t SLICE 1 IN ARRAY ARRAY[['a']] LOOP EXECUTE 'TRUNCATE stg.' || t[1]; END LOOP; "
        "INSERT INTO m.o SELECT k FROM stg.o; END $$;"
    )
    assert _tables(sql, "postgres") == (["stg.o"], ["m.o"])

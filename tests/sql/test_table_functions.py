"""Table functions and nested values: ``UNNEST`` (aliases, several arrays, arrays of rows, ``WITH
OFFSET`` / ``WITH ORDINALITY``, ``ROWS FROM``), arrays of structs, ``LATERAL (VALUES ...)``, ``json_each`` /
``jsonb_each_text``, Snowflake ``FLATTEN``, T-SQL ``APPLY``, polymorphic table functions, reads of another
server (``dblink``, ``remote()``), struct fields, lambdas and list comprehensions."""

from __future__ import annotations

import pytest

from .readers import edges as _edges
from .readers import indirect_rows as _rows
from .readers import plain as _plain
from .readers import tables as _tables

# ---------------------------------------------------------------------- UNNEST


@pytest.mark.parametrize("dialect", ["postgres", "trino", "duckdb"])
def test_unnest_alias_names_its_column(dialect: str) -> None:
    got = _plain("INSERT INTO o SELECT t.id, x AS tag FROM t CROSS JOIN UNNEST(t.tags) AS x", dialect)
    assert got == {"o.id": {"t.id"}, "o.tag": {"t.tags"}}


def test_unqualified_unnest_alias_next_to_unqualified_table_column() -> None:
    got = _plain("INSERT INTO o SELECT id, x FROM t, unnest(t.tags) AS x", "postgres")
    assert got == {"o.id": {"t.id"}, "o.x": {"t.tags"}}


@pytest.mark.parametrize(
    ("sql", "dialect", "expected"),
    [
        pytest.param(
            "INSERT INTO dbo.o SELECT id, value FROM dbo.s CROSS APPLY STRING_SPLIT(tags, ',')",
            "tsql",
            {"dbo.o.id": {"dbo.s.id"}, "dbo.o.value": {"dbo.s.tags"}},
            id="tsql-string-split",
        ),
        pytest.param(
            "INSERT INTO dbo.o SELECT id, value, ordinal FROM dbo.s "
            "CROSS APPLY STRING_SPLIT(tags, ',', 1) AS sp",
            "tsql",
            {"dbo.o.id": {"dbo.s.id"}, "dbo.o.value": {"dbo.s.tags"}, "dbo.o.ordinal": {"dbo.s.tags"}},
            id="tsql-string-split-aliased",
        ),
        pytest.param(
            "INSERT INTO dbo.o SELECT id, [key], value FROM dbo.s CROSS APPLY OPENJSON(doc)",
            "tsql",
            {"dbo.o.id": {"dbo.s.id"}, "dbo.o.key": {"dbo.s.doc"}, "dbo.o.value": {"dbo.s.doc"}},
            id="tsql-openjson",
        ),
        pytest.param(
            "INSERT INTO dbo.o SELECT s.id, j.* FROM dbo.s s "
            "CROSS APPLY OPENJSON(s.doc) WITH (name nvarchar(50) '$.name', age int '$.age') AS j",
            "tsql",
            {"dbo.o.id": {"dbo.s.id"}, "dbo.o.name": {"dbo.s.doc"}, "dbo.o.age": {"dbo.s.doc"}},
            id="tsql-openjson-with",
        ),
        pytest.param(
            "INSERT INTO o SELECT s.id, jt.* FROM s, JSON_TABLE(s.doc, '$.items[*]' COLUMNS "
            "(sku VARCHAR2(20) PATH '$.sku', NESTED PATH '$.tags[*]' COLUMNS (tag VARCHAR2(9) PATH '$'))) jt",
            "oracle",
            {"o.id": {"s.id"}, "o.sku": {"s.doc"}, "o.tag": {"s.doc"}},
            id="oracle-json-table-star",
        ),
        pytest.param(
            "INSERT INTO o SELECT jt.* FROM s, JSON_TABLE(s.doc, '$[*]' COLUMNS (rn FOR ORDINALITY, "
            "x INT PATH '$.x')) AS jt",
            "mysql",
            {"o.rn": {"s.doc"}, "o.x": {"s.doc"}},
            id="mysql-json-table-star",
        ),
        pytest.param(
            "INSERT INTO o SELECT s.id, value FROM s, TABLE(SPLIT_TO_TABLE(s.tags, ','))",
            "snowflake",
            {"o.id": {"s.id"}, "o.value": {"s.tags"}},
            id="snowflake-split-to-table",
        ),
        pytest.param(
            "INSERT INTO o SELECT id, generate_series AS n FROM s, generate_series(1, s.cnt)",
            "postgres",
            {"o.id": {"s.id"}, "o.n": {"s.cnt"}},
            id="postgres-generate-series",
        ),
        pytest.param(
            "INSERT INTO o SELECT id, col FROM s LATERAL VIEW explode(s.arr) t",
            "spark",
            {"o.id": {"s.id"}, "o.col": {"s.arr"}},
            id="spark-explode",
        ),
        pytest.param(
            "INSERT INTO o SELECT id, pos, col FROM s LATERAL VIEW OUTER posexplode(s.arr) t",
            "hive",
            {"o.id": {"s.id"}, "o.pos": {"s.arr"}, "o.col": {"s.arr"}},
            id="hive-posexplode",
        ),
        pytest.param(
            "INSERT INTO o SELECT id, unnest AS tag FROM s, unnest(s.tags)",
            "postgres",
            {"o.id": {"s.id"}, "o.tag": {"s.tags"}},
            id="postgres-unnest",
        ),
        pytest.param(
            "INSERT INTO o SELECT id, value->>'sku' AS sku FROM s, jsonb_array_elements(s.items)",
            "postgres",
            {"o.id": {"s.id"}, "o.sku": {"s.items"}},
            id="postgres-jsonb-array-elements",
        ),
        pytest.param(
            "INSERT INTO o SELECT id, regexp_split_to_table AS w FROM s, regexp_split_to_table(s.txt, ' ')",
            "postgres",
            {"o.id": {"s.id"}, "o.w": {"s.txt"}},
            id="postgres-regexp-split-to-table",
        ),
    ],
)
def test_a_table_function_without_column_names_has_its_default_columns(
    sql: str, dialect: str, expected: dict[str, set[str]]
) -> None:
    """``JSON_TABLE`` (its ``COLUMNS``, nested ones too), T-SQL ``STRING_SPLIT`` (``value``, ``ordinal``)
    and ``OPENJSON`` (``key``, ``value``, ``type``, or its ``WITH`` columns), Spark/Hive ``explode`` (``col``;
    ``posexplode``: ``pos``, ``col``), a PostgreSQL set-returning function without alias (named after the
    function; ``json[b]_array_elements``: ``value``)."""
    assert _plain(sql, dialect) == expected


@pytest.mark.parametrize(
    ("sql", "dialect", "expected"),
    [
        pytest.param(
            "INSERT INTO o SELECT t.id, u.x, u.y FROM t, unnest(t.a, t.b) AS u(x, y)",
            "postgres",
            {"o.id": {"t.id"}, "o.x": {"t.a"}, "o.y": {"t.b"}},
            id="postgres-unnest-two-arrays",
        ),
        pytest.param(
            "INSERT INTO o SELECT t.id, u.x, u.y, u.n FROM t, unnest(t.a, t.b) WITH ORDINALITY AS u(x, y, n)",
            "postgres",
            {"o.id": {"t.id"}, "o.x": {"t.a"}, "o.y": {"t.b"}, "o.n": {"t.a", "t.b"}},
            id="postgres-unnest-two-arrays-with-ordinality",
        ),
        pytest.param(
            "INSERT INTO o SELECT r.id, k, v FROM raw r CROSS JOIN UNNEST(r.keys, r.vals) AS u(k, v)",
            "trino",
            {"o.id": {"raw.id"}, "o.k": {"raw.keys"}, "o.v": {"raw.vals"}},
            id="trino-cross-join-unnest-two-arrays",
        ),
        pytest.param(
            "INSERT INTO o SELECT r.id, li.sku, li.qty FROM raw r CROSS JOIN UNNEST(r.items) AS li(sku, qty)",
            "trino",
            {"o.id": {"raw.id"}, "o.sku": {"raw.items"}, "o.qty": {"raw.items"}},
            id="documents-trino-unnest-of-rows-fields-all-read-the-array",
        ),
        pytest.param(
            "INSERT INTO o SELECT t.id, r.x, r.y "
            "FROM t, ROWS FROM (unnest(t.a), generate_series(1, t.k)) AS r(x, y)",
            "postgres",
            {"o.id": {"t.id"}, "o.x": {"t.a"}, "o.y": {"t.k"}},
            id="postgres-rows-from",
        ),
        pytest.param(
            "INSERT INTO o SELECT t.id, x FROM t, ROWS FROM (unnest(t.a)) AS x",
            "postgres",
            {"o.id": {"t.id"}, "o.x": {"t.a"}},
            id="postgres-rows-from-alias-names-its-column",
        ),
    ],
)
def test_table_functions_of_several_arrays_pair_columns_by_position(
    sql: str, dialect: str, expected: dict[str, set[str]]
) -> None:
    assert _plain(sql, dialect) == expected


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        pytest.param(
            "INSERT INTO o SELECT u.x, u.y, u.z FROM t CROSS JOIN UNNEST(t.rows_arr, t.b) AS u(x, y, z)",
            {"o.x": {"t.rows_arr"}, "o.y": {"t.rows_arr", "t.b"}, "o.z": {"t.b"}},
            id="rows-first",
        ),
        pytest.param(
            "INSERT INTO o SELECT u.x, u.y, u.z FROM t CROSS JOIN UNNEST(t.a, t.rows_arr) AS u(x, y, z)",
            {"o.x": {"t.a"}, "o.y": {"t.a", "t.rows_arr"}, "o.z": {"t.rows_arr"}},
            id="rows-last",
        ),
        pytest.param(
            "INSERT INTO o SELECT u.x, u.y, u.z, u.n FROM t "
            "CROSS JOIN UNNEST(t.rows_arr, t.b) WITH ORDINALITY AS u(x, y, z, n)",
            {
                "o.x": {"t.rows_arr"},
                "o.y": {"t.rows_arr", "t.b"},
                "o.z": {"t.b"},
                "o.n": {"t.rows_arr", "t.b"},
            },
            id="with-ordinality",
        ),
        pytest.param(
            "INSERT INTO o SELECT u.k, u.v FROM t CROSS JOIN UNNEST(t.keys, t.vals) AS u(k, v)",
            {"o.k": {"t.keys"}, "o.v": {"t.vals"}},
            id="documents-as-many-names-as-arrays-pair-by-position",
        ),
    ],
)
def test_zipped_unnest_with_more_names_than_arrays_keeps_each_name_to_its_possible_arrays(
    sql: str, expected: dict[str, set[str]]
) -> None:
    assert _plain(sql, "trino") == expected


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        pytest.param(
            "INSERT INTO d.items (id, sku, pos) SELECT o.id, item.sku, off "
            "FROM `p.d.orders` o, UNNEST(o.items) AS item WITH OFFSET AS off",
            {
                "d.items.id": {"p.d.orders.id"},
                "d.items.sku": {"p.d.orders.items"},
                "d.items.pos": {"p.d.orders.items"},
            },
            id="offset-alias",
        ),
        pytest.param(
            "INSERT INTO d.items SELECT o.id, item, offset "
            "FROM `p.d.orders` o, UNNEST(o.items) AS item WITH OFFSET",
            {
                "d.items.id": {"p.d.orders.id"},
                "d.items.item": {"p.d.orders.items"},
                "d.items.offset": {"p.d.orders.items"},
            },
            id="default-offset-name",
        ),
        pytest.param(
            "INSERT INTO d.items SELECT o.id, pos FROM `p.d.orders` o, UNNEST(o.items) WITH OFFSET pos",
            {"d.items.id": {"p.d.orders.id"}, "d.items.pos": {"p.d.orders.items"}},
            id="unaliased-unnest",
        ),
    ],
)
def test_unnest_offset_is_the_position_in_the_array(sql: str, expected: dict[str, set[str]]) -> None:
    assert _plain(sql, "bigquery") == expected


def test_unnest_offset_in_where_filters_on_the_array() -> None:
    sql = "INSERT INTO d.x SELECT o.id FROM d.o o, UNNEST(o.items) AS i WITH OFFSET AS off WHERE off < 3"
    assert _rows(sql, "bigquery") == {("d.x", "d.o.items", "FILTER")}


def test_unnest_offset_transformation() -> None:
    sql = "INSERT INTO d.x SELECT off FROM d.o o, UNNEST(o.items) AS i WITH OFFSET AS off"
    assert _edges(sql, "bigquery") == {"d.x.off": ({"d.o.items"}, "TRANSFORMATION")}


# ---------------------------------------------------------------------- arrays of structs


def test_star_of_an_unnested_struct_array_reads_the_array() -> None:
    got = _plain("INSERT INTO ds.o SELECT t.id, s.* FROM ds.t AS t, UNNEST(t.items) AS s", "bigquery")
    assert got == {"ds.o.id": {"ds.t.id"}, "ds.o.*": {"ds.t.items"}}


def test_field_of_an_unnested_struct_array() -> None:
    got = _plain("INSERT INTO ds.o SELECT t.id, s.sku FROM ds.t AS t, UNNEST(t.items) AS s", "bigquery")
    assert got == {"ds.o.id": {"ds.t.id"}, "ds.o.sku": {"ds.t.items"}}


# ------------------------------------------------------ LATERAL VALUES, key/value and FLATTEN table functions


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        pytest.param(
            "INSERT INTO o SELECT t.id, v.val, v.name FROM t "
            "CROSS JOIN LATERAL (VALUES (t.a, 'a'), (t.b, 'b')) AS v(val, name)",
            {"o.id": ({"t.id"}, "IDENTITY"), "o.val": ({"t.a", "t.b"}, "TRANSFORMATION")},
            id="lateral-values-unpivot",
        ),
        pytest.param(
            "INSERT INTO o SELECT t.id, v.column1 FROM t CROSS JOIN LATERAL (VALUES (t.a), (t.b)) v",
            {"o.id": ({"t.id"}, "IDENTITY"), "o.column1": ({"t.a", "t.b"}, "TRANSFORMATION")},
            id="lateral-values-default-names",
        ),
        pytest.param(
            "INSERT INTO u SELECT * FROM (VALUES (1, 'a'), (2, 'b')) AS v(id, nm)",
            {},
            id="documents-constant-values-give-no-edge",
        ),
    ],
)
def test_lateral_values_columns_read_their_rows(sql: str, expected: dict[str, tuple[set[str], str]]) -> None:
    assert _edges(sql, "postgres") == expected


@pytest.mark.parametrize(
    ("sql", "dialect", "expected"),
    [
        pytest.param(
            "INSERT INTO o SELECT t.id, key, value FROM t, json_each(t.doc)",
            "sqlite",
            {"o.id": {"t.id"}, "o.key": {"t.doc"}, "o.value": {"t.doc"}},
            id="sqlite-json-each-unaliased",
        ),
        pytest.param(
            "INSERT INTO o SELECT t.id, json_each.value FROM t, json_each(t.doc)",
            "sqlite",
            {"o.id": {"t.id"}, "o.value": {"t.doc"}},
            id="sqlite-json-each-by-function-name",
        ),
        pytest.param(
            "INSERT INTO o SELECT t.id, key, value FROM t, jsonb_each_text(t.doc)",
            "postgres",
            {"o.id": {"t.id"}, "o.key": {"t.doc"}, "o.value": {"t.doc"}},
            id="postgres-jsonb-each-text-unaliased",
        ),
        pytest.param(
            "INSERT INTO o SELECT t.id, j.key, j.value FROM t CROSS JOIN LATERAL jsonb_each(t.doc) AS j",
            "postgres",
            {"o.id": {"t.id"}, "o.key": {"t.doc"}, "o.value": {"t.doc"}},
            id="documents-postgres-jsonb-each-aliased",
        ),
    ],
)
def test_key_value_table_functions_have_their_columns(
    sql: str, dialect: str, expected: dict[str, set[str]]
) -> None:
    assert _plain(sql, dialect) == expected


def test_snowflake_table_flatten() -> None:
    got = _plain(
        "INSERT INTO o SELECT t.id, f.value::string AS v, f.index AS i FROM t, TABLE(FLATTEN(t.arr)) f",
        "snowflake",
    )
    assert got == {"o.id": {"t.id"}, "o.v": {"t.arr"}, "o.i": {"t.arr"}}


def test_snowflake_table_flatten_unqualified_value() -> None:
    got = _plain("INSERT INTO o SELECT t.id, value AS v FROM t, TABLE(FLATTEN(input => t.arr))", "snowflake")
    assert got == {"o.id": {"t.id"}, "o.v": {"t.arr"}}


# -------------------------------------------------------------------- functions over tables and other servers


@pytest.mark.parametrize("apply", ["OUTER APPLY", "CROSS APPLY"])
def test_tsql_apply_of_a_schema_function_derives_from_its_arguments(apply: str) -> None:
    sql = f"INSERT INTO o SELECT t.id, x.v FROM t {apply} dbo.fn(t.id) x"
    assert _tables(sql, "tsql") == (["t"], ["o"])
    assert _edges(sql, "tsql") == {"o.id": ({"t.id"}, "IDENTITY"), "o.v": ({"t.id"}, "TRANSFORMATION")}


def test_polymorphic_table_function_reads_its_input_table() -> None:
    sql = (
        "INSERT INTO o SELECT * FROM TABLE(exclude_columns(input => TABLE(cat.sch.s), "
        "columns => DESCRIPTOR(b)))"
    )
    assert _tables(sql, "trino") == (["cat.sch.s"], ["o"])


@pytest.mark.parametrize(
    ("sql", "dialect"),
    [
        (
            "INSERT INTO t SELECT * FROM dblink('dbname=other', 'SELECT id, name FROM users') "
            "AS u(id int, name text)",
            "postgres",
        ),
        ("INSERT INTO t SELECT * FROM remote('host:9000', db.src, 'user', 'pw')", "clickhouse"),
        ("INSERT INTO t SELECT a, b FROM remoteSecure('host:9440', 'db', 'src')", "clickhouse"),
    ],
)
def test_tables_of_another_server_are_not_invented(sql: str, dialect: str) -> None:
    assert _tables(sql, dialect) == ([], ["t"])


# ---------------------------------------------------------------------- struct fields


@pytest.mark.parametrize("dialect", ["bigquery", "spark", "duckdb"])
def test_struct_field_of_an_unqualified_column(dialect: str) -> None:
    got = _plain("INSERT INTO o SELECT id, addr.zip AS zip, addr.geo.lat AS lat FROM t", dialect)
    assert got == {"o.id": {"t.id"}, "o.zip": {"t.addr"}, "o.lat": {"t.addr"}}


def test_table_qualifier_still_wins_over_struct_reading() -> None:
    got = _plain("INSERT INTO o SELECT addr.zip FROM t AS addr JOIN u ON addr.id = u.id", "bigquery")
    assert got == {"o.zip": {"t.zip"}}


def test_nested_struct_field_reads_the_struct_column() -> None:
    sql = "INSERT INTO dw.t SELECT s.id, s.info.address.city FROM raw.people s"
    assert _plain(sql, "spark") == {"dw.t.id": {"raw.people.id"}, "dw.t.city": {"raw.people.info"}}


@pytest.mark.parametrize(
    ("sql", "dialect"),
    [
        ("INSERT INTO o SELECT id, addr.* FROM t", "bigquery"),
        ("INSERT INTO o SELECT s.id, s.addr.* FROM t AS s", "bigquery"),
        ("INSERT INTO o SELECT t.id, t.addr.* FROM t", "spark"),
    ],
)
def test_star_of_a_struct_column_reads_the_struct(sql: str, dialect: str) -> None:
    assert _plain(sql, dialect) == {"o.id": {"t.id"}, "o.*": {"t.addr"}}


# ---------------------------------------------------------------------- lambdas and list comprehensions


@pytest.mark.parametrize(
    ("sql", "dialect", "expected"),
    [
        pytest.param(
            "INSERT INTO o SELECT id, [x * 2 FOR x IN t.arr] AS dbl FROM t",
            "duckdb",
            {"o.id": {"t.id"}, "o.dbl": {"t.arr"}},
            id="duckdb-comprehension",
        ),
        pytest.param(
            "INSERT INTO o SELECT id, [x * k FOR x IN arr IF x > lo] AS dbl FROM t",
            "duckdb",
            {"o.id": {"t.id"}, "o.dbl": {"t.arr", "t.k", "t.lo"}},
            id="duckdb-comprehension-with-condition",
        ),
        pytest.param(
            "INSERT INTO o SELECT id, [x FOR x IN arr] AS l, x FROM t",
            "duckdb",
            {"o.id": {"t.id"}, "o.l": {"t.arr"}, "o.x": {"t.x"}},
            id="duckdb-variable-only-inside",
        ),
        pytest.param(
            "INSERT INTO o SELECT id, transform(arr, x -> x + t.a) AS arr2 FROM t",
            "trino",
            {"o.id": {"t.id"}, "o.arr2": {"t.arr", "t.a"}},
            id="documents-trino-lambda",
        ),
        pytest.param(
            "INSERT INTO o SELECT id, reduce(arr, 0, (s, x) -> s + x, s -> s) AS tot FROM t",
            "trino",
            {"o.id": {"t.id"}, "o.tot": {"t.arr"}},
            id="documents-trino-two-parameter-lambda",
        ),
        pytest.param(
            "INSERT INTO o SELECT id, arrayMap(x -> x * k, arr) AS arr2 FROM t",
            "clickhouse",
            {"o.id": {"t.id"}, "o.arr2": {"t.arr", "t.k"}},
            id="documents-clickhouse-lambda",
        ),
    ],
)
def test_loop_variables_are_no_columns(sql: str, dialect: str, expected: dict[str, set[str]]) -> None:
    assert _plain(sql, dialect) == expected


@pytest.mark.parametrize(
    ("sql", "expected_tables", "expected_edges"),
    [
        (
            "INSERT INTO rpt.pv SELECT * FROM crosstab('SELECT region, month, sum(amt) FROM sales.orders "
            "GROUP BY 1, 2 ORDER BY 1, 2', 'SELECT DISTINCT month FROM sales.months ORDER BY 1') "
            "AS ct(Region text, jan numeric, feb numeric)",
            (["sales.months", "sales.orders"], ["rpt.pv"]),
            {
                "rpt.pv.region": {"sales.orders.region"},
                "rpt.pv.jan": {"sales.orders.amt", "sales.orders.month"},
                "rpt.pv.feb": {"sales.orders.amt", "sales.orders.month"},
            },
        ),
        (
            "CREATE TABLE o AS SELECT ct.k FROM crosstab($$SELECT k, cat, v FROM s ORDER BY 1, 2$$) "
            "AS ct(k text, c1 int)",
            (["s"], ["o"]),
            {"o.k": {"s.k"}},
        ),
        (
            "CREATE TABLE o AS SELECT * FROM crosstab('SELECT * FROM s') AS ct(a text, b int)",
            (["s"], ["o"]),
            {"o.a": {"s.*"}, "o.b": {"s.*"}},
        ),
    ],
)
def test_postgres_crosstab_reads_the_queries_in_its_strings(
    sql: str, expected_tables: tuple[list[str], list[str]], expected_edges: dict[str, set[str]]
) -> None:
    """tablefunc's ``crosstab('source', 'categories') AS ct(row_name, c1, ...)`` runs the SQL in its strings:
    their tables are read; the row name is the source's first column, each category column a value (the
    last column) placed by its category (the one before)."""
    assert _tables(sql, "postgres") == expected_tables
    assert _plain(sql, "postgres") == expected_edges

"""ClickHouse: ``WITH <expression> AS name`` aliases, dictionaries, subcolumns, ``LIMIT BY``, ``ARRAY JOIN``,
``FINAL`` / ``PREWHERE``, ``cluster()`` / ``remote()`` / file table functions, ``INSERT INTO FUNCTION``,
``INSERT ... FORMAT``, materialized views ``TO``, mutations (``ALTER TABLE ... UPDATE / DELETE``),
``EXCHANGE TABLES`` and database and table names, which keep their case."""

from __future__ import annotations

import pytest

from airflow_lineage_provider.sql import analyze

from .readers import cpu_at_n_and_4n
from .readers import edges as _edges
from .readers import indirect_rows as _rows
from .readers import plain as _plain
from .readers import tables as _tables

# ---------------------------------------------------------------------- WITH <expression> AS name


def test_clickhouse_with_expression_alias_is_a_value_not_a_column() -> None:
    sql = (
        "WITH 10 AS lim, (SELECT max(ts) FROM b.m) AS mx "
        "INSERT INTO a.t SELECT id, mx AS latest FROM b.s WHERE ts > mx LIMIT lim"
    )
    assert _tables(sql, "clickhouse") == (["b.m", "b.s"], ["a.t"])
    assert _edges(sql, "clickhouse") == {
        "a.t.id": ({"b.s.id"}, "IDENTITY"),
        "a.t.latest": ({"b.m.ts"}, "AGGREGATION"),
    }
    assert _rows(sql, "clickhouse") == {("a.t", "b.m.ts", "FILTER"), ("a.t", "b.s.ts", "FILTER")}


def test_clickhouse_with_subquery_as_name_is_still_a_table() -> None:
    sql = "WITH recent AS (SELECT id FROM b.m) INSERT INTO a.t SELECT id FROM recent"
    assert _plain(sql, "clickhouse") == {"a.t.id": {"b.m.id"}}


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        pytest.param(
            "INSERT INTO o WITH a * 2 AS dbl SELECT id, dbl FROM t",
            {"o.id": ({"t.id"}, "IDENTITY"), "o.dbl": ({"t.a"}, "TRANSFORMATION")},
            id="expression-alias",
        ),
        pytest.param(
            "INSERT INTO o WITH a AS b SELECT b FROM t",
            {"o.b": ({"t.a"}, "IDENTITY")},
            id="column-alias",
        ),
        pytest.param(
            "INSERT INTO o WITH t.a + u.b AS total SELECT t.id, total FROM t JOIN u ON t.id = u.id",
            {"o.id": ({"t.id"}, "IDENTITY"), "o.total": ({"t.a", "u.b"}, "TRANSFORMATION")},
            id="expression-over-two-tables",
        ),
        pytest.param(
            "INSERT INTO o WITH sum(x) AS s SELECT g, s FROM t GROUP BY g",
            {"o.g": ({"t.g"}, "IDENTITY"), "o.s": ({"t.x"}, "AGGREGATION")},
            id="aggregate-alias",
        ),
        pytest.param(
            "INSERT INTO o WITH 10 AS lim, toDate('2024-01-01') AS d0 "
            "SELECT id, a + lim AS b FROM t WHERE dt >= d0",
            {"o.id": ({"t.id"}, "IDENTITY"), "o.b": ({"t.a"}, "TRANSFORMATION")},
            id="documents-constants",
        ),
        pytest.param(
            "INSERT INTO o WITH (SELECT max(ts) FROM m) AS mx SELECT id, mx FROM t",
            {"o.id": ({"t.id"}, "IDENTITY"), "o.mx": ({"m.ts"}, "AGGREGATION")},
            id="documents-scalar-subquery",
        ),
    ],
)
def test_clickhouse_expression_aliases_read_the_query_columns(
    sql: str, expected: dict[str, tuple[set[str], str]]
) -> None:
    assert _edges(sql, "clickhouse") == expected


@pytest.mark.parametrize(
    ("sql", "expected_edges", "expected_rows"),
    [
        pytest.param(
            "INSERT INTO o WITH x AS (a * 2) SELECT id, x FROM t",
            {"o.id": {"t.id"}, "o.x": {"t.a"}},
            set(),
            id="name-first-expression",
        ),
        pytest.param(
            "INSERT INTO o WITH lim AS (10) SELECT id FROM t WHERE a > lim",
            {"o.id": {"t.id"}},
            {("o", "t.a", "FILTER")},
            id="name-first-constant",
        ),
        pytest.param(
            "INSERT INTO o WITH r AS (SELECT id FROM s WHERE ts > now() - 3600) "
            "SELECT id FROM t WHERE id IN r",
            {"o.id": {"t.id"}},
            {("o", "t.id", "FILTER"), ("o", "s.id", "FILTER"), ("o", "s.ts", "FILTER")},
            id="in-a-cte-name",
        ),
        pytest.param(
            "INSERT INTO o SELECT id FROM t WHERE id GLOBAL NOT IN db.allowed",
            {"o.id": {"t.id"}},
            {("o", "t.id", "FILTER")},
            id="in-a-table-name",
        ),
        pytest.param(
            "INSERT INTO o WITH ['a', 'b'] AS names SELECT id FROM t WHERE a IN names",
            {"o.id": {"t.id"}},
            {("o", "t.a", "FILTER")},
            id="in-a-value-name",
        ),
    ],
)
def test_clickhouse_names_of_values_and_tables(
    sql: str, expected_edges: dict[str, set[str]], expected_rows: set[tuple[str, str, str]]
) -> None:
    assert _plain(sql, "clickhouse") == expected_edges
    assert _rows(sql, "clickhouse") == expected_rows


def test_clickhouse_in_a_table_name_reads_it() -> None:
    assert _tables("INSERT INTO o SELECT id FROM t WHERE id IN db.allowed", "clickhouse") == (
        ["db.allowed", "t"],
        ["o"],
    )


def test_clickhouse_expression_alias_in_where_filters() -> None:
    sql = "INSERT INTO o WITH toDate(ts) AS d SELECT id FROM t WHERE d >= '2024-01-01'"
    assert _rows(sql, "clickhouse") == {("o", "t.ts", "FILTER")}


def test_clickhouse_self_referencing_alias_terminates() -> None:
    sql = "INSERT INTO o WITH a + 1 AS a SELECT a FROM t"
    result = analyze(sql, "clickhouse")
    assert [str(t) for t in result.outputs] == ["o"]


def test_clickhouse_aliases_of_aliases_are_expanded_once() -> None:
    def sql(n: int) -> str:
        chain = ", ".join(f"x{i - 1} + x{i - 1} AS x{i}" for i in range(1, n))
        return f"INSERT INTO o WITH a AS x0, {chain} SELECT x{n - 1} AS y FROM t"

    assert _plain(sql(30), "clickhouse") == {"o.y": {"t.a"}}
    small, large = cpu_at_n_and_4n(sql, "clickhouse", 40)
    assert large < max(small, 0.01) * 10, (small, large)


# ---------------------------------------------------------------------- dictionaries and subcolumns


@pytest.mark.parametrize(
    ("sql", "tables", "expected"),
    [
        pytest.param(
            "INSERT INTO o SELECT id, dictGet('db.users_dict', 'name', user_id) AS uname FROM t",
            (["db.users_dict", "t"], ["o"]),
            {"o.id": {"t.id"}, "o.uname": {"db.users_dict.name", "t.user_id"}},
            id="dict-get-quoted",
        ),
        pytest.param(
            "INSERT INTO o SELECT dictGetOrDefault(users, ('a', 'b'), toUInt64(id), tuple('x', 'y')) AS ab "
            "FROM t",
            (["t", "users"], ["o"]),
            {"o.ab": {"users.a", "users.b", "t.id"}},
            id="dict-get-or-default-tuple-unquoted",
        ),
        pytest.param(
            "INSERT INTO o SELECT id FROM t WHERE dictHas('geo', ip)",
            (["geo", "t"], ["o"]),
            {"o.id": {"t.id"}},
            id="dict-has-filter",
        ),
    ],
)
def test_clickhouse_dictionary_lookups_read_the_dictionary(
    sql: str, tables: tuple[list[str], list[str]], expected: dict[str, set[str]]
) -> None:
    assert _tables(sql, "clickhouse") == tables
    assert _plain(sql, "clickhouse") == expected


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        pytest.param(
            "INSERT INTO o SELECT id, payload.a.b AS ab FROM t",
            {"o.id": {"t.id"}, "o.ab": {"t.payload"}},
            id="json-subcolumn",
        ),
        pytest.param("INSERT INTO o SELECT tup.1 AS f FROM t", {"o.f": {"t.tup"}}, id="tuple-element"),
        pytest.param(
            "INSERT INTO o SELECT t.n.x AS nx, u.y FROM t JOIN u ON t.id = u.id",
            {"o.nx": {"t.n"}, "o.y": {"u.y"}},
            id="nested-subcolumn-qualified",
        ),
        pytest.param(
            "INSERT INTO o SELECT db.t.a FROM db.t", {"o.a": {"db.t.a"}}, id="documents-database-qualified"
        ),
    ],
)
def test_clickhouse_subcolumns_read_their_column(sql: str, expected: dict[str, set[str]]) -> None:
    assert _plain(sql, "clickhouse") == expected


# --------------------------------------------------------------------- LIMIT BY, ARRAY JOIN, FINAL / PREWHERE


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        pytest.param(
            "INSERT INTO o SELECT id, ts FROM t ORDER BY ts DESC LIMIT 1 BY id",
            {("o", "t.ts", "SORT"), ("o", "t.id", "GROUP_BY")},
            id="limit-by",
        ),
        pytest.param(
            "INSERT INTO o SELECT id, ts FROM t ORDER BY ts DESC LIMIT 2 BY id, cat LIMIT 100",
            {("o", "t.ts", "SORT"), ("o", "t.id", "GROUP_BY"), ("o", "t.cat", "GROUP_BY")},
            id="limit-by-then-limit",
        ),
        pytest.param(
            "INSERT INTO o SELECT id, ts FROM t ORDER BY ts LIMIT 5 OFFSET 1 BY id LIMIT 10 OFFSET 2",
            {("o", "t.ts", "SORT"), ("o", "t.id", "GROUP_BY")},
            id="limit-offset-by-then-limit-offset",
        ),
    ],
)
def test_clickhouse_limit_by_keeps_rows_per_key(sql: str, expected: set[tuple[str, str, str]]) -> None:
    assert _plain(sql, "clickhouse") == {"o.id": {"t.id"}, "o.ts": {"t.ts"}}
    assert _rows(sql, "clickhouse") == expected


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        (
            "INSERT INTO a.t SELECT id, tag FROM b.s ARRAY JOIN tags AS tag",
            {"a.t.id": {"b.s.id"}, "a.t.tag": {"b.s.tags"}},
        ),
        (
            "INSERT INTO a.t SELECT s.id, tag, n FROM b.s AS s LEFT ARRAY JOIN tags AS tag, nums AS n",
            {"a.t.id": {"b.s.id"}, "a.t.tag": {"b.s.tags"}, "a.t.n": {"b.s.nums"}},
        ),
        (
            "INSERT INTO a.t SELECT id, tags FROM b.s ARRAY JOIN tags",
            {"a.t.id": {"b.s.id"}, "a.t.tags": {"b.s.tags"}},
        ),
    ],
)
def test_clickhouse_array_join_alias_is_the_element(sql: str, expected: dict[str, set[str]]) -> None:
    assert _plain(sql, "clickhouse") == expected


def test_clickhouse_array_join_alias_in_where_filters_on_the_array() -> None:
    sql = "INSERT INTO a.t SELECT id, tag FROM b.s ARRAY JOIN tags AS tag WHERE tag != ''"
    assert _rows(sql, "clickhouse") == {("a.t", "b.s.tags", "FILTER")}


def test_clickhouse_final_and_prewhere() -> None:
    sql = (
        "INSERT INTO x SELECT a.id, b.v FROM raw.a AS a FINAL JOIN raw.b AS b FINAL ON a.id = b.id "
        "PREWHERE a.status = 1 WHERE a.dt > 0"
    )
    assert _plain(sql, "clickhouse") == {"x.id": {"raw.a.id"}, "x.v": {"raw.b.v"}}
    assert _rows(sql, "clickhouse") == {
        ("x", "raw.a.id", "JOIN"),
        ("x", "raw.b.id", "JOIN"),
        ("x", "raw.a.status", "FILTER"),
        ("x", "raw.a.dt", "FILTER"),
    }


# -------------------------------- cluster(), remote() and file table functions, INSERT INTO FUNCTION / FORMAT


@pytest.mark.parametrize(
    "source",
    [
        "cluster('c1', db.src)",
        "clusterAllReplicas('c1', db, src)",
        "cluster('c1', 'db', 'src')",
        "cluster('{cluster}', 'db.src')",
    ],
)
def test_clickhouse_cluster_reads_the_table(source: str) -> None:
    sql = f"INSERT INTO t SELECT a FROM {source}"
    assert _tables(sql, "clickhouse") == (["db.src"], ["t"])
    assert _plain(sql, "clickhouse") == {"t.a": {"db.src.a"}}


def test_documents_clickhouse_remote_reads_nothing_known() -> None:
    assert _tables("INSERT INTO t SELECT id, a FROM remote('host:9000', db.s)", "clickhouse") == ([], ["t"])


@pytest.mark.parametrize(
    ("reader", "path"),
    [
        (
            "s3('https://b.s3.amazonaws.com/data/*.parquet', 'Parquet')",
            "https://b.s3.amazonaws.com/data/*.parquet",
        ),
        ("url('https://example.com/data.csv', CSVWithNames)", "https://example.com/data.csv"),
        ("file('data/*.csv', 'CSVWithNames')", "data/*.csv"),
        ("hdfs('hdfs://nn:9000/x/*.tsv', 'TSV')", "hdfs://nn:9000/x/*.tsv"),
        (
            "s3Cluster('main', 'https://b.s3.amazonaws.com/x/*.csv', 'CSV')",
            "https://b.s3.amazonaws.com/x/*.csv",
        ),
    ],
)
def test_clickhouse_file_table_functions_are_file_datasets(reader: str, path: str) -> None:
    sql = f"INSERT INTO analytics.t SELECT id, name FROM {reader}"
    assert _tables(sql, "clickhouse") == ([path], ["analytics.t"])
    assert _plain(sql, "clickhouse") == {
        "analytics.t.id": {f"{path}.id"},
        "analytics.t.name": {f"{path}.name"},
    }


def test_clickhouse_insert_into_function_writes_the_file() -> None:
    sql = (
        "INSERT INTO FUNCTION s3('https://b.s3.amazonaws.com/out/x.parquet', 'Parquet') "
        "SELECT id FROM a.users"
    )
    assert _tables(sql, "clickhouse") == (["a.users"], ["https://b.s3.amazonaws.com/out/x.parquet"])
    assert _plain(sql, "clickhouse") == {"https://b.s3.amazonaws.com/out/x.parquet.id": {"a.users.id"}}


@pytest.mark.parametrize(
    ("sql", "inputs"),
    [
        ("INSERT INTO a.t FORMAT CSV", []),
        ('INSERT INTO a.t (id, v) FORMAT JSONEachRow {"id": 1, "v": "x"}', []),
        ("INSERT INTO a.t SETTINGS async_insert=1 FORMAT Values (1, 'a')", []),
        (
            "INSERT INTO TABLE a.t FROM INFILE '/data/t.csv.gz' COMPRESSION 'gzip' FORMAT CSV",
            ["/data/t.csv.gz"],
        ),
    ],
)
def test_clickhouse_insert_format_writes_the_table(sql: str, inputs: list[str]) -> None:
    res = analyze(sql, "clickhouse")
    assert not res.errors and not res.partial
    assert _tables(sql, "clickhouse") == (inputs, ["a.t"])


# ---------------------------------------------------------------------- materialized views


def test_clickhouse_materialized_view_to_writes_its_target() -> None:
    sql = (
        "CREATE MATERIALIZED VIEW analytics.mv_daily TO analytics.daily AS "
        "SELECT toDate(ts) AS day, count() AS n FROM raw.events GROUP BY day"
    )
    assert _tables(sql, "clickhouse") == (["raw.events"], ["analytics.daily"])
    assert _edges(sql, "clickhouse") == {
        "analytics.daily.day": ({"raw.events.ts"}, "TRANSFORMATION"),
        "analytics.daily.n": ({"raw.events.*"}, "AGGREGATION"),
    }


def test_clickhouse_materialized_view_with_engine_writes_itself() -> None:
    sql = (
        "CREATE MATERIALIZED VIEW a.mv ENGINE = SummingMergeTree ORDER BY d AS "
        "SELECT d, sum(v) AS v FROM r.e GROUP BY d"
    )
    assert _tables(sql, "clickhouse") == (["r.e"], ["a.mv"])


# ---------------------------------------------------------------------- mutations and EXCHANGE TABLES


def test_clickhouse_mutations_are_update_and_delete() -> None:
    update = (
        "ALTER TABLE a.t ON CLUSTER main UPDATE v = v * 2, w = (SELECT max(x) FROM r.m) "
        "WHERE id IN (SELECT id FROM r.fix)"
    )
    assert _tables(update, "clickhouse") == (["r.fix", "r.m"], ["a.t"])
    assert _edges(update, "clickhouse") == {
        "a.t.v": ({"a.t.v"}, "TRANSFORMATION"),
        "a.t.w": ({"r.m.x"}, "AGGREGATION"),
    }
    delete = "ALTER TABLE a.t DELETE WHERE dt < today() - 30"
    assert _tables(delete, "clickhouse") == ([], ["a.t"])
    assert _rows(delete, "clickhouse") == {("a.t", "a.t.dt", "FILTER")}


@pytest.mark.parametrize(
    "sql",
    [
        pytest.param(
            "ALTER TABLE t UPDATE a = b * 2 IN PARTITION '202401' WHERE id = 1", id="string-partition"
        ),
        pytest.param(
            "ALTER TABLE t ON CLUSTER '{cluster}' UPDATE a = b * 2 IN PARTITION tuple(2024, 1) WHERE id = 1",
            id="quoted-cluster-tuple-partition",
        ),
        pytest.param("ALTER TABLE t UPDATE a = b * 2 IN PARTITION ID 'all' WHERE id = 1", id="partition-id"),
    ],
)
def test_clickhouse_mutation_in_a_partition(sql: str) -> None:
    assert _edges(sql, "clickhouse") == {"t.a": ({"t.b"}, "TRANSFORMATION")}
    assert _rows(sql, "clickhouse") == {("t", "t.id", "FILTER")}


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        pytest.param(
            "ALTER TABLE db.t DELETE WHERE dt < '2024-01-01'", {("db.t", "db.t.dt", "FILTER")}, id="delete"
        ),
        pytest.param("ALTER TABLE t UPDATE a = b + 1 WHERE id > 10", {("t", "t.id", "FILTER")}, id="update"),
    ],
)
def test_documents_clickhouse_mutations(sql: str, expected: set[tuple[str, str, str]]) -> None:
    assert _rows(sql, "clickhouse") == expected


def test_clickhouse_exchange_tables_swaps_both() -> None:
    assert _tables("EXCHANGE TABLES a.t AND a.t_new", "clickhouse") == (
        ["a.t", "a.t_new"],
        ["a.t", "a.t_new"],
    )


# ---------------------------------------------------------------------- names: case


def test_clickhouse_table_names_keep_their_case() -> None:
    """ClickHouse databases and tables are case-sensitive: ``Analytics.DailyEvents`` is not
    ``analytics.dailyevents`` (another table, or none)."""
    sql = "INSERT INTO Analytics.DailyEvents SELECT UserId, count() AS n FROM Raw.Events GROUP BY UserId"
    assert _tables(sql, "clickhouse") == (["Raw.Events"], ["Analytics.DailyEvents"])
    assert _plain(sql, "clickhouse") == {
        "Analytics.DailyEvents.userid": {"Raw.Events.userid"},
        "Analytics.DailyEvents.n": {"Raw.Events.*"},
    }
    schema = {"Raw.Events": ["UserId", "Ts"]}
    assert _plain("INSERT INTO o SELECT * FROM Raw.Events", "clickhouse", schema=schema) == {
        "o.UserId": {"Raw.Events.UserId"},
        "o.Ts": {"Raw.Events.Ts"},
    }  # the schema's spelling of the columns


# ------------------------------------------------- round 16: CREATE DICTIONARY reads its ClickHouse source

_DICT = (
    "CREATE DICTIONARY db.d (id UInt64, name String DEFAULT '') PRIMARY KEY id {source} "
    "LAYOUT(HASHED()) LIFETIME(300)"
)


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("SOURCE(CLICKHOUSE(TABLE 'users' DB 'db'))", id="table-db"),
        pytest.param(
            "SOURCE(CLICKHOUSE(HOST 'localhost' PORT 9000 USER 'default' TABLE 'users' DB 'db'))", id="local"
        ),
        pytest.param("SOURCE(CLICKHOUSE(QUERY 'SELECT id, name FROM db.users WHERE active'))", id="query"),
    ],
)
def test_a_dictionary_reads_its_clickhouse_source(source: str) -> None:
    sql = _DICT.format(source=source)
    assert _tables(sql, "clickhouse") == (["db.users"], ["db.d"])
    assert _plain(sql, "clickhouse") == {"db.d.id": {"db.users.id"}, "db.d.name": {"db.users.name"}}


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("SOURCE(CLICKHOUSE(HOST 'other.example.com' TABLE 'users' DB 'db'))", id="other-server"),
        pytest.param(
            "SOURCE(MYSQL(HOST 'h' PORT 3306 USER 'u' PASSWORD 'p' DB 'x' TABLE 'users'))", id="mysql"
        ),
    ],
)
def test_a_dictionary_of_another_server_reads_no_dataset_of_this_one(source: str) -> None:
    assert _tables(_DICT.format(source=source), "clickhouse") == ([], ["db.d"])


def test_a_dictionary_source_table_without_db_is_in_the_default_database() -> None:
    sql = _DICT.format(source="SOURCE(CLICKHOUSE(TABLE 'users'))")
    assert _tables(sql, "clickhouse", default_schema="analytics") == (["analytics.users"], ["db.d"])

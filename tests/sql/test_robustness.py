"""analyze() never raises and stays bounded on hostile input (timings are measured in benchmarks/)."""

from __future__ import annotations

import pytest

from airflow_lineage_provider.sql import analyze

GARBAGE = [
    "",
    "   ;;; ",
    "\x00\x01\x02",
    "((((((((",
    "'unterminated string",
    '"unterminated identifier',
    "/* unterminated comment",
    "SELECT FROM WHERE",
    "}}{{ %} {%",
    "BEGIN; END; BEGIN",
    "CREATE PROCEDURE p() BEGIN",
    "END END END",
    "SELECT * FROM " + "a." * 50 + "b",
    "\u202e SELECT 'ünïcödé' FROM \"täble\"",
]


@pytest.mark.parametrize("sql", GARBAGE)
@pytest.mark.parametrize("dialect", [None, "postgres", "tsql", "bigquery", "snowflake", "mysql", "bogus"])
def test_never_raises(sql: str, dialect: str | None) -> None:
    result = analyze(sql, dialect)
    assert isinstance(result.to_dict(), dict)


def test_non_string_input_does_not_raise() -> None:
    assert analyze(None).to_dict()["inputs"] == []  # type: ignore[arg-type]
    assert analyze(b"SELECT 1").to_dict()["inputs"] == []  # type: ignore[arg-type]


def test_500_nested_subqueries_fall_back_to_table_scan() -> None:
    sql = "SELECT a FROM t"
    for i in range(500):
        sql = f"SELECT a FROM ({sql}) s{i}"
    result = analyze(sql)
    assert result.to_dict()["inputs"] == ["t"]
    assert result.partial and "nesting" in result.errors[0]


def test_deep_case_nesting_is_caught() -> None:
    sql = "SELECT " + "CASE WHEN a = 1 THEN " * 600 + "1" + " END" * 600 + " FROM t"
    result = analyze(sql, "postgres")
    assert result.to_dict()["inputs"] == ["t"]


def test_huge_insert_values_keeps_lineage() -> None:
    rows = ",".join(f"({i}, 'name {i}', {i}.5)" for i in range(10_000))
    result = analyze(f"INSERT INTO s.big (a, b, c) VALUES {rows}", "postgres")
    assert result.to_dict() == {"inputs": [], "outputs": ["s.big"], "column_lineage": []}
    assert not result.partial


def test_long_union_chain_is_walked_without_recursion() -> None:
    sql = "INSERT INTO t (a) " + " UNION ALL ".join(f"SELECT x FROM s{i % 3}" for i in range(1500))
    result = analyze(sql, "postgres")
    assert sorted(result.to_dict()["column_lineage"]) == [["t.a", "s0.x"], ["t.a", "s1.x"], ["t.a", "s2.x"]]


@pytest.mark.parametrize("levels", [400, 3000])
def test_deeply_nested_begin_end_blocks_stay_bounded(levels: int) -> None:
    """Each BEGIN ... END level used to cost a failed parse of the whole remaining text (quadratic, 12 s for
    800 levels in 9 KB) and 3000 levels ended in a RecursionError that lost every table."""
    import time

    sql = "BEGIN " * levels + "INSERT INTO tgt SELECT a FROM src; " + "END; " * levels
    started = time.process_time()  # CPU time: a loaded machine stretched the wall clock past 3 s once
    result = analyze(sql, "postgres")
    elapsed = time.process_time() - started
    assert elapsed < 3.0, f"{levels} nested blocks took {elapsed:.1f}s of CPU"
    assert result.to_dict()["inputs"] == ["src"]
    assert result.to_dict()["outputs"] == ["tgt"]


def test_a_long_comment_does_not_count_against_the_size_limit() -> None:
    """A generated header of 300,000 characters of comment on an ordinary statement: full analysis (column
    lineage), not the table-level scan."""
    header = "-- " + "x" * 300_000 + "\n/* " + "y" * 10_000 + " */\n"
    result = analyze(header + "INSERT INTO tgt (a) SELECT b FROM src", "postgres")
    assert not result.partial and not result.errors
    assert [str(e.output) for e in result.column_lineage] == ["tgt.a"]


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE TABLE " + "a" * 100_000 + " (x int)",  # a 100,000-character name: quadratic took minutes
        "CREATE TABLE t " + "x 'y " * 20_000 + " AS SELECT 1",  # an unterminated literal in the options
    ],
    ids=["long-name", "unterminated-literal"],
)
def test_the_create_as_rewrite_stays_linear(sql: str) -> None:
    """The vendor CREATE ... AS rewrite runs on every CREATE the parser rejects: no backtracking blow-up."""
    import time

    started = time.perf_counter()
    analyze(sql, "postgres")
    elapsed = time.perf_counter() - started
    assert elapsed < 5.0, f"took {elapsed:.1f}s"


def test_a_deadline_stops_the_analysis_between_statements() -> None:
    """Past ``deadline`` no further statement is analysed: the result holds the statements before it, says
    so, and comes back at once (the extractor's budget relies on it: a cut-short analysis used to run on)."""
    import time

    script = ";\n".join(
        f"INSERT INTO t{i} SELECT a, b FROM s{i} JOIN u ON u.id = s{i}.id" for i in range(2000)
    )
    whole = analyze(script, "postgres")
    assert len(whole.statements) == 2000 and not whole.stopped_early and not whole.errors
    started = time.monotonic()
    cut = analyze(script, "postgres", deadline=started + 0.5)  # the whole script: about 3 s
    assert time.monotonic() - started < 0.5 + 1.0  # one statement's analysis past the deadline, at most
    assert cut.stopped_early and cut.partial
    done = len(cut.statements)
    assert 0 < done < 2000
    assert cut.errors[-1] == (
        f"analysis stopped at its time limit after {done} statement{'s' if done != 1 else ''}: "
        "the tables of the rest of the SQL are missing"
    )
    assert [t.qualified for t in cut.outputs] == [f"t{i}" for i in range(done)]
    assert cut.statements == whole.statements[:done]
    late = analyze(script, "postgres", deadline=time.monotonic() - 1)
    assert late.stopped_early and not late.statements and not late.outputs
    assert not analyze("SELECT 1", "postgres", deadline=time.monotonic() + 60).stopped_early

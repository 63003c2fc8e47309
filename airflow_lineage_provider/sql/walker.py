"""Column lineage of queries: our own walk over sqlglot's AST (scopes, CTEs, subqueries, aliases, stars).

Every result column gets the dataset columns its expression reads, through derived tables; columns used
only in WHERE/JOIN/GROUP BY/ORDER BY give no edge (OpenLineage's convention). Those are collected apart, per
query, as the columns that decide its rows (``last_rows``: OpenLineage's dataset-level INDIRECT lineage).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp

from airflow_lineage_provider.sql.model import (
    AGGREGATION,
    FILTER,
    GROUP_BY,
    IDENTITY,
    JOIN,
    SORT,
    TRANSFORMATION,
    ColumnLineage,
    ColumnRef,
    TableRef,
)
from airflow_lineage_provider.sql.names import cte_key, dictionary_read, ident, is_quoted, paths_of, table_ref
from airflow_lineage_provider.sql.text import JINJA_PLACEHOLDER

#: the dataset columns a result column derives from
Deps = frozenset[ColumnRef]
#: dataset columns that decide which rows a query returns (or their order), with the OpenLineage subtype
Rows = frozenset[tuple[ColumnRef, str]]


@dataclass
class OutCol:
    """One result column of a query: its name, the dataset columns it derives from, how."""

    name: str
    deps: Deps
    transformation: str
    quoted: bool = False


@dataclass
class Source:
    """A FROM item visible in a scope: a dataset, or a derived table (subquery/CTE) with known columns."""

    alias: str
    table: TableRef | None = None
    columns: list[OutCol] | None = None
    names: tuple[str, ...] = ()  # extra qualifiers that address it (table name, schema.table, ...)
    #: a table function (UNNEST, FLATTEN, LATERAL VIEW explode): any of its columns derives from these
    any_column: Deps | None = None
    #: columns a PIVOT/UNPIVOT adds over a dataset whose other columns are unknown (no schema)
    extra: list[OutCol] | None = None
    #: its one column is named after the alias (``unnest(a) AS x``); its ``*`` may be struct fields
    implied: bool = False
    #: further datasets with the same columns (a file reader over a list of files)
    also: tuple[TableRef, ...] = ()
    #: what decided the rows of a derived table (its WHERE, JOIN, GROUP BY ... columns)
    rows: Rows = frozenset()
    #: ``id()`` of the FROM item (AST node) it was made from: the key of the columns the SQL shows it has
    node: int = 0

    @property
    def tables(self) -> tuple[TableRef, ...]:
        return (self.table, *self.also) if self.table is not None else ()

    def find(self, name: str, quoted: bool) -> OutCol | None:
        for col in self.columns or ():
            if col.name == name or (not quoted and col.name.lower() == name.lower()):
                return col
        return None

    def find_extra(self, name: str, quoted: bool) -> OutCol | None:
        for col in self.extra or ():
            if col.name == name or (not quoted and col.name.lower() == name.lower()):
                return col
        return None

    @property
    def star_tables(self) -> list[TableRef]:
        """Datasets whose columns pass through this derived table unexpanded (``SELECT *`` without schema)."""
        return [d.table for c in self.columns or () if c.name == "*" for d in c.deps if d.table is not None]


@dataclass
class Scope:
    sources: list[Source]
    parent: Scope | None = None
    lateral: dict[str, OutCol] = field(default_factory=dict)
    #: ``JOIN ... USING (c)``: the joined sources that hold ``c`` (an unqualified ``c`` reads them)
    using: dict[str, list[Source]] = field(default_factory=dict)
    #: ``WINDOW w AS (...)`` definitions of the SELECT, by name
    windows: dict[str, exp.Window] = field(default_factory=dict)
    #: ``UPDATE ... SET`` / ``MERGE ... UPDATE SET`` values: the one joined source an unqualified column no
    #: source is known to hold is taken from (the target's own columns are the ones it sets or qualifies)
    prefer: Source | None = None
    #: lookup tables over ``sources`` for wide FROM clauses (see ``StatementWalker.index``)
    index: SourceIndex | None = field(default=None, repr=False, compare=False)


#: scopes with at least this many sources resolve names through a ``SourceIndex`` (fewer: a plain scan)
INDEX_AT = 16
#: ``StatementWalker.cast_written``: names looked up through its index (others: a regex search)
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_]+")
_CAST_OPERATOR = re.compile(r"::")
#: a cast (``::varchar(10)``), a semi-structured path (``:a.b[0]``) or JSON arrow (``->> 'k'``) after an
#: expression's last placed token
_UNPLACED_SUFFIX = re.compile(
    r"(?:\s*::\s*[A-Za-z_]\w*(?:\s*\(\s*\d+(?:\s*,\s*\d+)?\s*\))?"
    r"|:[A-Za-z_$\"][\w$\"]*|\.[A-Za-z_\"][\w\"]*|\[\s*(?:\d+|'[^']*')\s*\]"
    r"|\s*(?:->>?|#>>?)\s*(?:'[^']*'|\d+))*"
)
#: what PostgreSQL names an unaliased expression of these kinds
_POSTGRES_EXPRESSION_NAMES: tuple[tuple[type[exp.Expression], str], ...] = (
    (exp.Case, "case"),
    (exp.Array, "array"),
    (exp.AtTimeZone, "timezone"),
)
#: the name and opening of a call up to its first positioned token (``date_part('month', ``)
_CALL_OPENING = re.compile(r"[A-Za-z_][\w$]*(?:\s*\.\s*[A-Za-z_][\w$]*)*\s*\([^()]*$")
#: the non-ASCII letters a case-insensitive ``re`` match equates with ASCII ones
_ASCII_FOLDS = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"})
#: ``StatementWalker._holder_kind``: a source surely holds a column, may hold it, does not
_DEFINITE, _UNKNOWN, _NOT_HELD = 2, 1, 0


@dataclass
class SourceIndex:
    """Positions in ``Scope.sources`` by the keys name resolution looks up, so that a name is resolved in
    time proportional to the sources that may hold it, not to all of them (a FROM clause with thousands of
    items, each reading columns of the ones before it, would otherwise cost quadratic time). Sources are
    only ever appended to a scope: the index is extended, never rebuilt."""

    size: int = 0
    last: Source | None = None
    #: lower-case column name -> sources that may hold it (derived columns, PIVOT columns, schema columns)
    by_column: dict[str, list[int]] = field(default_factory=dict)
    #: datasets without a schema and derived tables with unexpanded ``*``: they may hold any column
    unknown: list[int] = field(default_factory=list)
    unknown_set: set[int] = field(default_factory=set)
    by_alias: dict[str, list[int]] = field(default_factory=dict)
    #: ``Source.names`` entries of datasets
    by_name: dict[str, list[int]] = field(default_factory=dict)
    by_node: dict[int, list[int]] = field(default_factory=dict)
    #: ``id()`` of a source -> its position
    by_id: dict[int, int] = field(default_factory=dict)


def _add_position(table: dict[Any, list[int]], key: Any, pos: int) -> None:
    positions = table.setdefault(key, [])
    if not positions or positions[-1] != pos:
        positions.append(pos)


#: Snowflake FLATTEN's result columns
_FLATTEN_COLUMNS = ("seq", "key", "path", "index", "value", "this")
_PG_EACH = ("key", "value")
_SQLITE_JSON = ("key", "value", "type", "atom", "id", "parent", "fullkey", "path")
#: table functions whose columns are fixed names (used when the SQL gives no column list)
_KEY_VALUE_FUNCTIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "postgres": {n: _PG_EACH for n in ("json_each", "jsonb_each", "json_each_text", "jsonb_each_text")},
    "sqlite": {"json_each": _SQLITE_JSON, "json_tree": _SQLITE_JSON},
}
#: PostgreSQL set-returning functions of one column whose name is not the function's
_PG_VALUE_FUNCTIONS = frozenset(
    {"json_array_elements", "jsonb_array_elements", "json_array_elements_text", "jsonb_array_elements_text"}
)
#: PostgreSQL set-returning functions of one column named after the function when it has no alias
_PG_SCALAR_FUNCTIONS = frozenset(
    {
        "unnest",
        "regexp_split_to_table",
        "string_to_table",
        "generate_subscripts",
        "json_object_keys",
        "jsonb_object_keys",
        "regexp_matches",
    }
)
_SPARK_DIALECTS = frozenset({"spark", "spark2", "databricks", "hive"})
#: the function name of a call as written (``pg_catalog.unnest (arr)``: ``unnest``)
_CALLED_NAME = re.compile(r"^(?:[A-Za-z_][\w$]*\s*\.\s*)*([A-Za-z_][\w$]*)\s*\(")


def _default_columns(function: exp.Func, dialect: str, aliased: bool) -> tuple[str, ...] | None:
    """The columns a table function has when the SQL lists none: ``JSON_TABLE``'s ``COLUMNS``, T-SQL
    ``STRING_SPLIT`` / ``OPENJSON`` and Snowflake ``SPLIT_TO_TABLE`` (also aliased: the alias names the row
    there), Spark/Hive ``explode`` /
    ``posexplode``, and a PostgreSQL (or DuckDB) set-returning function of one column without an alias (with
    one, the alias names the column)."""
    name = function.name.lower() if isinstance(function, exp.Anonymous) else ""
    if isinstance(function, exp.JSONTable):  # JSON_TABLE(doc, path COLUMNS (a ... PATH ..., NESTED ...))
        return (
            tuple(
                ident(c.this)
                for c in function.find_all(exp.JSONColumnDef)
                if isinstance(c.this, exp.Identifier)
            )
            or None
        )
    if dialect in ("tsql", "fabric"):
        if isinstance(function, exp.OpenJSON):
            listed = tuple(
                ident(c.this) for c in function.expressions if isinstance(c, exp.OpenJSONColumnDef)
            )
            return listed or ("key", "value", "type")
        return ("value", "ordinal") if name == "string_split" else None
    if dialect == "snowflake" and isinstance(function, exp.SplitToTable | exp.StrtokSplitToTable):
        return ("seq", "index", "value")
    if (
        dialect in _SPARK_DIALECTS
        and isinstance(function, exp.Explode)
        and not isinstance(function, exp.Inline)
    ):
        return ("pos", "col") if isinstance(function, exp.Posexplode) else ("col",)
    if aliased or dialect not in ("postgres", "duckdb"):
        return None
    if isinstance(function, exp.Unnest) and len(function.expressions) == 1:
        return ("unnest",)
    if dialect == "postgres" and name in _PG_VALUE_FUNCTIONS:
        return ("value",)
    if dialect == "postgres" and name in _PG_SCALAR_FUNCTIONS:
        return (name,)
    if dialect == "postgres" and isinstance(function, exp.ExplodingGenerateSeries):
        return ("generate_series",)
    return None


def _field_base(proj: exp.Expression) -> exp.Column | None:
    """The column of an unaliased field access ``(rec).f1`` / ``(t.rec).f1.g`` / ``(t.rec).*``; else None."""
    if not isinstance(proj, exp.Dot) or not isinstance(proj.expression, exp.Identifier | exp.Star):
        return None
    inner = proj.this
    while isinstance(inner, exp.Dot) and isinstance(inner.expression, exp.Identifier):
        inner = inner.this
    while isinstance(inner, exp.Paren):
        inner = inner.this
    return inner if isinstance(inner, exp.Column) and not isinstance(inner.this, exp.Star) else None


def _stacked(function: Any, width: int) -> list[list[exp.Expression]] | None:
    """The arguments of each column of Spark/Hive ``stack(n, a1, b1, a2, b2)``: its rows are the arguments
    taken ``width`` at a time (``[[a1, a2], [b1, b2]]``); None for another function or a non-constant n."""
    if not isinstance(function, exp.Stack) or width <= 0:
        return None
    rows = function.this
    if not isinstance(rows, exp.Literal) or rows.is_string or not str(rows.this).isdigit():
        return None
    values = list(function.expressions)
    return [values[j::width] for j in range(width)]


#: window functions that pick a value from another row or number the rows (``rank()``, ``ntile(4)``): a
#: transformation, not an aggregation (``rank(10) WITHIN GROUP (ORDER BY v)``, not over a window, aggregates)
_NAVIGATION = (
    exp.Lag,
    exp.Lead,
    exp.FirstValue,
    exp.LastValue,
    exp.NthValue,
    exp.First,  # Spark / DuckDB first(v) OVER (...) is first_value(v)
    exp.Last,
    exp.Rank,
    exp.DenseRank,
    exp.PercentRank,
    exp.CumeDist,
    exp.Ntile,
)

#: aggregates of one engine or another that the parser reads as plain calls (exp.Anonymous); a name that
#: is a scalar function in another engine (T-SQL ``checksum``) is left out
_ANONYMOUS_AGGREGATES = frozenset(
    {
        "approx_most_frequent",
        "approx_set",
        "arbitrary",
        "bitstring_agg",
        "checksum_agg",
        "collect",
        "count_min_sketch",
        "entropy",
        "every",
        "favg",
        "fsum",
        "geomean",
        "geometric_mean",
        "histogram",
        "histogram_numeric",
        "hll_sketch_agg",
        "json_arrayagg",
        "json_group_array",
        "json_group_object",
        "json_objectagg",
        "jsonb_agg",
        "mad",
        "map_agg",
        "map_union",
        "multimap_agg",
        "numeric_histogram",
        "product",
        "range_agg",
        "reduce_agg",
        "reservoir_quantile",
        "st_union_agg",
        "stats_mode",
        "stdevp",
        "sumkahan",
        "tdigest_agg",
        "total",
        "try_avg",
        "try_sum",
        "var",
        "varp",
        "xmlagg",
    }
)


def is_aggregate(node: Any) -> bool:
    """An aggregate call (``sum``, an engine's own ``map_agg``), not a navigation function over a window."""
    if isinstance(node, exp.Anonymous):
        return node.name.lower() in _ANONYMOUS_AGGREGATES
    if isinstance(node, exp.WithinGroup):  # f(...) WITHIN GROUP (ORDER BY ...): an ordered-set aggregate
        return True
    return isinstance(node, exp.AggFunc) and not _navigation(node)


def _from_items(select: exp.Expression) -> list[exp.Expression]:
    items: list[exp.Expression] = []
    frm = select.args.get("from_") or select.args.get("from")
    if frm is not None:
        items.append(frm.this)
        items.extend(e for e in frm.expressions or ())
    for join in select.args.get("joins") or ():
        items.append(join.this)
        if str(join.args.get("kind") or "").upper() == "ARRAY":  # ARRAY JOIN a AS x, b AS y
            items.extend(e for e in join.expressions if isinstance(e, exp.Alias))
    for lat in select.args.get("laterals") or ():
        items.append(lat)
    return items


def _flatten_item(item: exp.Expression) -> Iterator[exp.Expression]:
    """A FROM item and the items joined inside it (``FROM (a JOIN b ON ...)``, ``((a JOIN b))``)."""
    while isinstance(item, exp.Final):  # ClickHouse FROM t FINAL
        item = item.this
    inner = item
    wrapped: list[exp.Expression] = []  # ((a JOIN b ON ...) JOIN c ON ...): joins hang on each level
    while isinstance(inner, exp.Subquery | exp.Paren) and isinstance(
        inner.this, exp.Subquery | exp.Paren | exp.Table
    ):
        wrapped.append(inner)
        inner = inner.this
    if isinstance(inner, exp.Table):
        item = inner  # a parenthesised join, not a derived table
    else:
        wrapped = []
    yield item
    for level in (item, *reversed(wrapped)):
        for join in level.args.get("joins") or ():
            yield from _flatten_item(join.this)


def nested_joins(items: Iterable[exp.Expression]) -> Iterator[exp.Join]:
    """The joins inside FROM items: ``FROM (a JOIN b ON ...)``, ``a JOIN (b JOIN c ON ...) ON ...``, and the
    joins sqlglot hangs on the target of an UPDATE/DELETE (``UPDATE a JOIN b ON ...``)."""
    stack = list(items)
    while stack:
        inner = stack.pop()
        while isinstance(inner, exp.Final):
            inner = inner.this
        levels = [inner]
        while isinstance(inner, exp.Subquery | exp.Paren) and isinstance(
            inner.this, exp.Subquery | exp.Paren | exp.Table
        ):
            inner = inner.this
            levels.append(inner)
        if not isinstance(inner, exp.Table):
            continue
        for level in levels:
            for join in level.args.get("joins") or ():
                yield join
                stack.append(join.this)


def _dml_items(dml: exp.Expression) -> list[exp.Expression]:
    """The FROM / USING items of an UPDATE, DELETE or MERGE (not its own joins)."""
    items: list[exp.Expression] = []
    for key in ("from_", "from", "using"):
        val = dml.args.get(key)
        if isinstance(val, exp.From):
            items.extend([val.this, *(val.expressions or ())])
        elif isinstance(val, list):
            items.extend(val)
        elif isinstance(val, exp.Expression):
            items.append(val)
    return items


def _item_aliases(node: exp.Expression) -> dict[str, int]:
    """The FROM items a SELECT / UPDATE / DELETE / MERGE defines, by alias (else table name): ``id()``s."""
    if isinstance(node, exp.Select):
        tops = _from_items(node)
    else:
        tops = [node.this, *_dml_items(node), *(j.this for j in node.args.get("joins") or ())]
    out: dict[str, int] = {}
    for item in (i for top in tops if isinstance(top, exp.Expression) for i in _flatten_item(top)):
        alias = item.args.get("alias")
        if alias is not None and alias.this is not None:
            out[ident(alias.this).lower()] = id(item)
        elif isinstance(item, exp.Table) and isinstance(item.this, exp.Identifier):
            out[ident(item.this).lower()] = id(item)
    return out


def _spread_star(cols: list[OutCol], other: list[OutCol]) -> list[OutCol]:
    """One branch of a set operation, position by position against the other one: an unexpanded ``*`` (no
    schema) stands for as many positions as the other branch has there (``SELECT a, b FROM s1 UNION ALL
    SELECT * FROM s2`` pairs both ``a`` and ``b`` with some column of ``s2``)."""
    stars = [i for i, c in enumerate(cols) if c.name == "*"] if len(cols) < len(other) else []
    if len(stars) != 1:
        return cols
    k = stars[0]
    return [*cols[:k], *[cols[k]] * (len(other) - len(cols) + 1), *cols[k + 1 :]]


def _using_columns_once(
    out: list[OutCol], owners: list[Source], using: dict[str, list[Source]]
) -> list[OutCol]:
    """``SELECT *`` over ``a JOIN b USING (k)`` (or a NATURAL JOIN) has one ``k`` column, first, reading every
    joined side's ``k`` (standard SQL), not one ``k`` per side: an INSERT mapping the star by position would
    otherwise shift every later column onto the wrong target column."""
    holders = {name.lower(): {id(s) for s in sources} for name, sources in using.items()}
    merged: list[OutCol] = []
    at: dict[str, int] = {}
    rest: list[OutCol] = []
    for col, owner in zip(out, owners, strict=True):
        key = col.name.lower()
        if id(owner) not in holders.get(key, ()):
            rest.append(col)
        elif key in at:
            first = merged[at[key]]
            merged[at[key]] = OutCol(first.name, first.deps | col.deps, IDENTITY, first.quoted)
        else:
            at[key] = len(merged)
            merged.append(col)
    return [*merged, *rest] if merged else out


class StatementWalker:
    """Column lineage of queries (tables are collected by ``statement.read_tables``)."""

    def __init__(
        self,
        schema: Mapping[str, list[str]] | None,
        raw_sql: str,
        dialect: str,
        qualify: Callable[[TableRef], TableRef] | None = None,
        variables: frozenset[str] = frozenset(),
    ) -> None:
        self.schema = schema or {}
        self.qualify = qualify
        #: script variables declared before the statement (BigQuery ``DECLARE d DATE``), lower-case
        self.variables = variables
        self.raw_sql = raw_sql
        self.dialect = dialect
        self.ctes: list[dict[str, list[OutCol]]] = []
        self._inherited = IDENTITY  # strongest transformation met through derived columns (see deps_and_how)
        #: the row-deciding columns of the query ``query_columns`` walked last, and of each CTE in scope
        self.last_rows: Rows = frozenset()
        self.cte_rows: list[dict[str, Rows]] = []
        #: ClickHouse ``WITH <expression> AS name``: the values the names stand for, per WITH in scope
        self.scalars: list[dict[str, OutCol | exp.Expression]] = []
        self._expanding: set[str] = set()  # the WITH <expression> AS name aliases being expanded
        #: (id of the expression, id of the scope) -> (the scope, kept alive, and what the alias read there):
        #: aliases built from aliases (``x2 = x1 + x1``) are expanded once per scope, not once per path
        self._expanded: dict[tuple[int, int], tuple[Scope, set[ColumnRef], str]] = {}
        #: while a filter expression is walked: the row-deciding columns of the subqueries inside it
        self._subquery_rows: list[Rows] | None = None
        #: while GROUP BY / HAVING / QUALIFY / ORDER BY of a SELECT are walked: its scope and output aliases
        self._aliases: tuple[Scope, dict[str, OutCol]] | None = None
        #: while the body of a list comprehension is walked: its variables (lower-case), no columns
        self._loop_vars: frozenset[str] = frozenset()
        self._reparses = 50  # budget of source_text re-parses per statement (bounded cost on wide SELECTs)
        #: ``id()`` of a FROM item -> column names the statement shows it has (``b.y``, ``SET c = ...``)
        self.inferred: dict[int, set[str]] = {}
        self._infer_from: exp.Expression | None = None  # the statement, until ``inferred`` is computed
        #: ``cast_written``: where the text before each ``::`` ends, and those texts by length (case-folded)
        self._cast_ends: list[int] | None = None
        self._cast_texts: dict[int, set[str]] = {}
        #: ``inferred`` turned around: column name -> ``id()`` of the FROM items shown to have it
        self._shown_by: tuple[dict[int, set[str]], dict[str, set[int]]] | None = None
        #: table -> its known columns by lower-case name (``spelled``), None when the schema lacks it
        self._spellings: dict[TableRef, dict[str, list[str]] | None] = {}

    # ------------------------------------------------------------------ columns the SQL itself shows
    def infer_holders(self, tree: exp.Expression) -> None:
        """Record, per FROM item, the columns the statement qualifies with its alias or name (``b.y``): in
        valid SQL an unqualified ``y`` in the same scope can then only be ``b.y`` (else it would be
        ambiguous). Done on first need (most statements never ask), in one pass over the tree."""
        self.inferred, self._infer_from = {}, tree

    def _infer(self, tree: exp.Expression) -> None:
        """The pass of ``infer_holders``: each qualifier is looked up along the enclosing queries."""
        stack: list[tuple[exp.Expression, Any]] = [(tree, None)]
        while stack:
            node, chain = stack.pop()
            if isinstance(node, exp.Column):
                qualifier = node.args.get("table")
                if qualifier is not None and not node.args.get("db") and not isinstance(node.this, exp.Star):
                    key, link = ident(qualifier).lower(), chain
                    while link is not None:
                        item = link[0].get(key)
                        if item is not None:
                            self.inferred.setdefault(item, set()).add(ident(node.this).lower())
                            break
                        link = link[1]
                continue
            if isinstance(node, exp.Select | exp.Update | exp.Delete | exp.Merge):
                aliases = _item_aliases(node)
                if aliases:
                    chain = (aliases, chain)
                    self._target_columns(node, aliases)
            stack.extend((child, chain) for child in node.iter_expressions())

    def _target_columns(self, dml: exp.Expression, aliases: dict[str, int]) -> None:
        """``UPDATE t SET c = ...`` (not MySQL's multi-table form), ``MERGE ... UPDATE SET c`` / ``INSERT
        (c)``: the target has ``c``."""
        target = dml.this
        if not isinstance(dml, exp.Update | exp.Merge) or not isinstance(target, exp.Table):
            return
        if dml.args.get("joins") or target.args.get("joins"):
            return
        alias = target.args.get("alias")
        item = aliases.get((ident(alias.this) if alias is not None else ident(target.this)).lower())
        if item is None:
            return
        columns: list[Any] = []
        if isinstance(dml, exp.Update):
            columns = [eq.this for eq in dml.expressions if isinstance(eq, exp.EQ)]
        else:
            whens = dml.args.get("whens")
            for when in whens.expressions if whens is not None else ():
                then = when.args.get("then")
                if isinstance(then, exp.Update):
                    columns.extend(eq.this for eq in then.expressions if isinstance(eq, exp.EQ))
                elif isinstance(then, exp.Insert) and isinstance(then.this, exp.Tuple | exp.Schema):
                    columns.extend(then.this.expressions)
        for col in columns:
            if isinstance(col, exp.Column) and not isinstance(col.this, exp.Star):
                self.inferred.setdefault(item, set()).add(ident(col.this).lower())
            elif isinstance(col, exp.Identifier):
                self.inferred.setdefault(item, set()).add(ident(col).lower())

    def shown(self, src: Source, name: str) -> bool:
        """Whether the statement shows ``src`` has a column ``name`` (see ``infer_holders``)."""
        if not src.node:
            return False
        if self._infer_from is not None:
            tree, self._infer_from = self._infer_from, None
            self._infer(tree)
        return name.lower() in self.inferred.get(src.node, ())

    def shown_nodes(self, name: str) -> set[int]:
        """``id()`` of the FROM items the statement shows to have a column ``name`` (``shown`` reversed)."""
        if self._infer_from is not None:
            tree, self._infer_from = self._infer_from, None
            self._infer(tree)
        if self._shown_by is None or self._shown_by[0] is not self.inferred:
            by_name: dict[str, set[int]] = {}
            for node, names in self.inferred.items():
                for column in names:
                    by_name.setdefault(column, set()).add(node)
            self._shown_by = (self.inferred, by_name)
        return self._shown_by[1].get(name.lower(), set())

    def index(self, scope: Scope) -> SourceIndex:
        """The lookup tables of ``scope``, extended with the sources appended since the last call."""
        sources = scope.sources
        idx = scope.index
        if idx is None or idx.size > len(sources) or (idx.size and sources[idx.size - 1] is not idx.last):
            idx = scope.index = SourceIndex()
        for pos in range(idx.size, len(sources)):
            src = sources[pos]
            for col in (*(src.columns or ()), *(src.extra or ())):
                _add_position(idx.by_column, col.name.lower(), pos)
            if src.table is not None:
                known = self.schema_columns(src.table)
                for key in known or ():
                    _add_position(idx.by_column, key.lower(), pos)
                for key in src.names:
                    _add_position(idx.by_name, key, pos)
                unknown = known is None
            else:
                unknown = bool(src.star_tables)
            if unknown:
                idx.unknown.append(pos)
                idx.unknown_set.add(pos)
            _add_position(idx.by_alias, src.alias.lower(), pos)
            if src.node:
                _add_position(idx.by_node, src.node, pos)
            idx.by_id.setdefault(id(src), pos)
        idx.size, idx.last = len(sources), sources[-1] if sources else None
        return idx

    def may_hold(self, scope: Scope, name: str) -> list[int]:
        """Positions of the sources of ``scope`` that ``holds`` may accept for ``name`` (a superset)."""
        idx = self.index(scope)
        found = set(idx.by_column.get(name.lower(), ()))
        for node in self.shown_nodes(name):
            found.update(idx.by_node.get(node, ()))
        return sorted(found)

    def any_holds(self, scope: Scope, name: str) -> bool:
        """``any(self.holds(s, name) for s in scope.sources)``, through the index on wide scopes."""
        if len(scope.sources) < INDEX_AT:
            return any(self.holds(s, name) for s in scope.sources)
        return any(self.holds(scope.sources[i], name) for i in self.may_hold(scope, name))

    # ------------------------------------------------------------------ schema
    def spelled(self, table: TableRef, name: str) -> str:
        """``name`` as ``table``'s known columns spell it, when written in another case and exactly one
        column matches (``amount`` for Snowflake's ``AMOUNT``, T-SQL ``customerid`` for ``CustomerId``), so
        a reference and a ``*`` over the same column name it alike (and a script's temp tables chain)."""
        if table not in self._spellings:
            known = self.schema_columns(table)
            by_lower: dict[str, list[str]] | None = None
            if known is not None:
                by_lower = {}
                for col in known:
                    by_lower.setdefault(col.lower(), []).append(col)
            self._spellings[table] = by_lower
        names = (self._spellings[table] or {}).get(name.lower(), [])
        return names[0] if len(names) == 1 and name not in names else name

    def schema_columns(self, table: TableRef) -> list[str] | None:
        """Known columns of a dataset: schema keys are tried as written, then with the defaults applied,
        then by shorter suffixes (``db.s.t``, ``s.t``, ``t``), then a single longer key ending the same."""
        if not self.schema:
            return None
        forms = [table]
        if self.qualify is not None:
            forms.insert(0, self.qualify(table))
        for form in forms:
            parts = [p.lower() for p in (form.database, form.schema, form.name) if p]
            for i in range(len(parts)):
                cols = self.schema.get(".".join(parts[i:]))
                if cols is not None:
                    return list(cols)
        # a key more qualified than the SQL (``public.o`` for ``o``), when only one key fits
        suffix = "." + ".".join(p.lower() for p in (table.database, table.schema, table.name) if p)
        fits = [cols for key, cols in self.schema.items() if key.endswith(suffix)]
        return list(fits[0]) if len(fits) == 1 else None

    # ------------------------------------------------------------------ queries
    def query_columns(self, query: Any, scope: Scope | None = None) -> list[OutCol]:
        """Result columns of a query expression (SELECT, set operation, subquery, VALUES); sets
        ``last_rows`` to the columns that decided its rows."""
        cols, self.last_rows = self._query_columns(query, scope)
        return cols

    def _query_columns(self, query: Any, scope: Scope | None) -> tuple[list[OutCol], Rows]:
        if query is None:
            return [], frozenset()
        if isinstance(query, exp.Pivot) and query.this is not None:  # DuckDB WITH p AS (PIVOT s ON k ...)
            src = self.pivot_statement(query, "", scope)
            return (src.columns or [], src.rows) if src is not None else ([], frozenset())
        if isinstance(query, exp.Subquery | exp.Paren):
            pushed = self.push_ctes(query)
            try:
                cols, rows = self._query_columns(query.this, scope)
                if query.args.get("order") is not None:  # (... UNION ...) ORDER BY 1: the merged columns
                    rows = rows | self._set_order(query, cols)
                return cols, rows
            finally:
                self.pop_ctes(pushed)
        if isinstance(query, exp.SetOperation):
            # a long UNION chain is a left-deep tree: walk it with a loop, not recursion
            chain: list[exp.Expression] = []
            node: exp.Expression = query
            while isinstance(node, exp.SetOperation):
                chain.append(node)
                node = node.this
            pushed_all = [self.push_ctes(n) for n in reversed(chain)]
            try:
                merged, rows = self._query_columns(node, scope)
                for op in reversed(chain):
                    right, right_rows = self._query_columns(op.expression, scope)
                    rows |= right_rows
                    if op.args.get("by_name") and isinstance(op, exp.SetOperation):
                        merged, right = _by_name(op, merged, right)
                    else:
                        merged, right = _spread_star(merged, right), _spread_star(right, merged)
                    if isinstance(op, exp.Except | exp.Intersect):  # the right side decides which rows stay
                        rows |= {(d, FILTER) for c in right for d in c.deps if d.column != "*"}
                    if isinstance(op, exp.Except):  # the values are the left side's; the right only removes
                        rows |= self._set_order(op, merged)
                        continue
                    merged = [
                        OutCol(
                            col.name,
                            col.deps | right[i].deps,
                            stronger(col.transformation, stronger(right[i].transformation, TRANSFORMATION)),
                            col.quoted,
                        )
                        # fed by different columns; a side of constants (NULL, BY NAME padding) feeds none
                        if i < len(right) and col.deps and right[i].deps - col.deps
                        else OutCol(
                            col.name,
                            col.deps | right[i].deps,
                            stronger(col.transformation, right[i].transformation)
                            if col.deps
                            else right[i].transformation,
                            col.quoted,
                        )
                        if i < len(right) and right[i].deps
                        else col
                        for i, col in enumerate(merged)
                    ]
                    rows |= self._set_order(op, merged)
            finally:
                for p in reversed(pushed_all):
                    self.pop_ctes(p)
            return merged, rows
        if isinstance(query, exp.Select):
            cols = self.select_columns(query, scope)
            return cols, self.last_rows
        if isinstance(query, exp.Insert | exp.Update | exp.Delete | exp.Merge):
            return self.returning_columns(query, scope)
        if isinstance(query, exp.Values) and scope is not None:
            return self.values_columns(query, scope), frozenset()
        return [], frozenset()

    def _set_order(self, op: exp.Expression, merged: list[OutCol]) -> Rows:
        """``... UNION ... ORDER BY 1|name``: the sorted output column reads every branch merged so far."""
        order = op.args.get("order")
        return self._sorted_by(order, merged) if order is not None else frozenset()

    def values_columns(self, values: exp.Values, scope: Scope) -> list[OutCol]:
        """``(VALUES (t.a, 'a'), (t.b, 'b')) AS v(val, name)`` (a LATERAL unpivot): column i of every row,
        named ``column1``, ... (PostgreSQL) until an alias list renames them."""
        rows = [r.expressions if isinstance(r, exp.Tuple) else [r] for r in values.expressions]
        width = max((len(r) for r in rows), default=0)
        out: list[OutCol] = []
        for i in range(width):
            deps: set[ColumnRef] = set()
            how = IDENTITY
            for row in rows:
                if i < len(row):
                    found, row_how = self.deps_and_how(row[i], scope)
                    deps |= found
                    how = stronger(how, row_how) if found else how
            if len(rows) > 1 and len(deps) > 1:
                how = stronger(how, TRANSFORMATION)
            out.append(OutCol(f"column{i + 1}", frozenset(deps), how))
        return out

    def returning_columns(self, dml: exp.Expression, parent: Scope | None) -> tuple[list[OutCol], Rows]:
        """``RETURNING`` columns of a data-modifying statement (PostgreSQL ``WITH x AS (DELETE ... RETURNING
        ...)``): they read the modified table and the statement's FROM/USING items; its rows are the rows
        its WHERE and joins chose."""
        returning = dml.args.get("returning")
        target = dml.this
        if isinstance(target, exp.Schema):  # INSERT INTO t (cols) ... RETURNING: the rows of t
            target = target.this
        if not isinstance(returning, exp.Returning) or not isinstance(target, exp.Table):
            return [], frozenset()
        scope = Scope([], parent)
        src = self.source(target, scope)
        if src is not None:
            scope.sources.append(src)
        items = _dml_items(dml)
        items.extend(j.this for j in dml.args.get("joins") or ())
        for item in (i for top in items for i in _flatten_item(top)):
            found = self.source(item, scope)
            if found is not None:
                scope.sources.append(found)
        out: list[OutCol] = []
        for proj in returning.expressions:
            out.extend(self.projection(proj, scope))
        if isinstance(dml, exp.Insert):  # the rows it returns are the rows its query chose
            query = dml.expression
            return out, self._query_columns(query, parent)[1] if isinstance(query, exp.Query) else frozenset()
        return out, self.dml_rows(dml, scope)

    def dml_rows(self, dml: exp.Expression, scope: Scope) -> Rows:
        """The columns that choose the rows an UPDATE / DELETE / MERGE changes: its WHERE and WHEN
        conditions (FILTER), its join conditions and MERGE ... ON (JOIN), and its derived tables' own."""
        rows = self._sources_and_where(dml, scope)
        joins = [*(dml.args.get("joins") or ()), *nested_joins([dml.this, *_dml_items(dml)])]
        joins += nested_joins(j.this for j in dml.args.get("joins") or ())
        rows |= self.join_rows(joins, scope)
        if dml.args.get("on") is not None:  # MERGE ... ON
            rows |= self.rows_of(dml.args["on"], scope, JOIN)
        order = dml.args.get("order")
        if isinstance(order, exp.Order) and dml.args.get("limit") is not None:
            # MySQL / SQLite UPDATE|DELETE ... ORDER BY k LIMIT n: the order decides which n rows change
            for ordered in order.expressions:
                rows |= self.rows_of(ordered, scope, SORT)
        whens = dml.args.get("whens")
        for when in whens.expressions if whens is not None else ():
            # WHEN NOT MATCHED [BY TARGET] sees the source row only, BY SOURCE the target row only: an
            # unqualified column there is theirs
            side = scope
            if isinstance(dml, exp.Merge) and len(scope.sources) > 1 and not when.args.get("matched"):
                by_source = when.args.get("source")
                side = Scope(scope.sources[:1] if by_source else scope.sources[1:], parent=scope.parent)
            if when.args.get("condition") is not None:
                rows |= self.rows_of(when.args["condition"], side, FILTER)
            # Oracle WHEN ... THEN UPDATE SET ... WHERE c / INSERT ... VALUES (...) WHERE c
            then = when.args.get("then")
            where = then.args.get("where") if isinstance(then, exp.Update | exp.Insert) else None
            if isinstance(where, exp.Where):
                rows |= self.rows_of(where.this, side, FILTER)
        return frozenset(rows)

    def _sources_and_where(self, node: exp.Expression, scope: Scope) -> set[tuple[ColumnRef, str]]:
        """What decided the rows of the sources in ``scope`` (derived tables, CTEs), and ``node``'s WHERE."""
        rows: set[tuple[ColumnRef, str]] = set()
        for src in scope.sources:
            rows |= src.rows
        for key in ("where", "prewhere"):  # ClickHouse PREWHERE filters like WHERE
            where = node.args.get(key)
            if where is not None:
                rows |= self.rows_of(where.this, scope, FILTER)
        return rows

    def join_rows(self, joins: Iterable[exp.Join], scope: Scope) -> Rows:
        """Join conditions: ``ON`` columns, ``USING (k)`` and ``NATURAL`` (the shared columns) as JOIN."""
        rows: set[tuple[ColumnRef, str]] = set()
        used: set[str] = set()  # USING names already counted: a chain of USING (id) reads the same holders
        for join in joins:
            if join.args.get("on") is not None:
                rows |= self.rows_of(join.args["on"], scope, JOIN)
            if join.args.get("match_condition") is not None:  # Snowflake ASOF JOIN ... MATCH_CONDITION (...)
                rows |= self.rows_of(join.args["match_condition"], scope, JOIN)
            for node in join.args.get("using") or ():
                name = node.this if isinstance(node, exp.Column) else node
                key = name.sql() if isinstance(name, exp.Expression) else str(name)
                if key in used:
                    continue
                used.add(key)
                holders = self._using_holders(join, ident(name), scope)
                if holders:  # UPDATE a JOIN b USING (k), no SELECT scope has set up USING names: k of both
                    rows |= {(d, JOIN) for s in holders for d in self.from_source(s, ident(name), False)}
                    continue
                rows |= self.rows_of(
                    exp.column(name.copy() if isinstance(name, exp.Expression) else name), scope, JOIN
                )
            if str(join.args.get("method") or "").upper() == "NATURAL":
                rows |= self._natural_rows(join, scope)
        return frozenset(rows)

    def _using_holders(self, join: exp.Join, name: str, scope: Scope) -> list[Source]:
        """The sources ``join ... USING (name)`` joins on, when the scope has no USING entry for ``name`` (a
        DML statement's joins): the joined item and the one item before it that holds ``name``."""
        if name in scope.using or len(scope.sources) >= INDEX_AT:
            return []
        right = next((s for s in (self.source_of(i, scope) for i in _flatten_item(join.this)) if s), None)
        if right is None or right not in scope.sources:
            return []
        before = scope.sources[: scope.sources.index(right)]
        holders = [s for s in before if self.holds(s, name)] or (before if len(before) == 1 else [])
        return [*holders, right] if holders else []

    def _natural_rows(self, join: exp.Join, scope: Scope) -> Rows:
        """``a NATURAL JOIN b``: the columns ``b`` shares with the items before it (known by schema or as
        derived-table columns) join them."""
        right = next((s for s in (self.source_of(i, scope) for i in _flatten_item(join.this)) if s), None)
        if right is None:
            return frozenset()
        names = self.known_columns(right)
        before = scope.sources[: scope.sources.index(right)]
        rows: set[tuple[ColumnRef, str]] = set()
        for name in (n.lower() for n in names or ()):  # ``holds`` takes unquoted (lower-case) names
            holders = [s for s in before if self.holds(s, name)]
            for src in [*holders, right] if holders else ():
                rows |= {(d, JOIN) for d in self.from_source(src, name, False) if d.column != "*"}
        return frozenset(rows)

    def source_of(self, item: exp.Expression, scope: Scope) -> Source | None:
        """The source of ``scope`` a FROM item became (matched by its alias or name)."""
        alias = ident(item.args.get("alias") and item.args["alias"].this) if item.args.get("alias") else ""
        name = alias or (ident(item.this) if isinstance(item, exp.Table) and item.this is not None else "")
        return next((s for s in scope.sources if name and s.alias.lower() == name.lower()), None)

    def known_columns(self, src: Source) -> list[str] | None:
        if src.columns is not None:
            return [c.name for c in src.columns if c.name != "*"]
        return self.schema_columns(src.table) if src.table is not None else None

    def push_ctes(self, node: exp.Expression) -> bool:
        with_ = node.args.get("with_") or node.args.get("with")
        if not with_:
            return False
        frame: dict[str, list[OutCol]] = {}
        rows_frame: dict[str, Rows] = {}
        scalars: dict[str, OutCol | exp.Expression] = {}
        self.ctes.append(frame)
        self.cte_rows.append(rows_frame)
        self.scalars.append(scalars)
        for cte in with_.expressions:
            name = ident(cte.args.get("alias") and cte.args["alias"].this)
            if cte.args.get("scalar"):  # ClickHouse WITH (SELECT max(ts) FROM m) AS mx: a value, not a table
                value: exp.Expression = cte.this
                if isinstance(value, exp.Subquery | exp.Query):
                    deps, how = self.deps_and_how(value, Scope([]))
                    scalars[name.lower()] = OutCol(name, frozenset(deps), how)
                else:  # WITH a * 2 AS dbl: the expression stands where the name is used, over that query
                    scalars[name.lower()] = value
                continue
            if with_.args.get("recursive"):
                frame[
                    name
                ] = []  # self-references of a recursive CTE are not datasets; the anchor carries lineage
            cols = self.query_columns(cte.this)
            rows_frame[name] = self.last_rows
            alias_cols = cte.args.get("alias") and cte.args["alias"].columns
            if alias_cols:
                cols = renamed_columns([ident(a) for a in alias_cols], cols)
            if with_.args.get("recursive") and isinstance(cte.this, exp.SetOperation):
                # the rows of the recursive step are decided through its self-reference, whose columns are
                # what the first walk found (the column lineage keeps that first walk)
                frame[name] = cols
                self.query_columns(cte.this)
                rows_frame[name] = self.last_rows
            frame[name] = cols
        return True

    def pop_ctes(self, pushed: bool) -> None:
        if pushed:
            self.ctes.pop()
            self.cte_rows.pop()
            self.scalars.pop()

    def scalar(self, name: str) -> OutCol | exp.Expression | None:
        """The ClickHouse ``WITH <expression> AS name`` in scope for ``name``, innermost first."""
        for frame in reversed(self.scalars):
            found = frame.get(name.lower())
            if found is not None:
                return found
        return None

    def cte(self, table: exp.Table) -> list[OutCol] | None:
        found = self._cte_frame(table)
        return found[0][found[1]] if found is not None else None

    def _cte_frame(self, table: exp.Table) -> tuple[dict[str, list[OutCol]], str, int] | None:
        """(frame, key, frame index) of the CTE a table reference names, innermost first."""
        if table.args.get("db") or not isinstance(table.this, exp.Identifier):
            return None
        name = ident(table.this)
        for index in range(len(self.ctes) - 1, -1, -1):
            frame = self.ctes[index]
            if name in frame:
                return frame, name, index
            if not is_quoted(table.this):
                for key in frame:
                    if cte_key(key) == name:
                        return frame, key, index
        return None

    def cte_rows_of(self, table: exp.Table) -> Rows:
        found = self._cte_frame(table)
        if found is None or found[2] >= len(self.cte_rows):
            return frozenset()
        return self.cte_rows[found[2]].get(found[1], frozenset())

    def source(self, item: exp.Expression, scope: Scope | None) -> Source | None:
        """The FROM item as a source, with its ``PIVOT``/``UNPIVOT`` clauses applied."""
        src = self._base_source(item, scope)
        pivots = [p for p in item.args.get("pivots") or () if isinstance(p, exp.Pivot)]
        for pivot in pivots:
            if src is None:
                break
            src = self.pivoted(src, pivot)
        if src is not None and not pivots:
            src.node = id(item)
        return src

    def _base_source(self, item: exp.Expression, scope: Scope | None) -> Source | None:
        alias = ident(item.args.get("alias") and item.args["alias"].this) if item.args.get("alias") else ""
        paths = paths_of(item) if isinstance(item, exp.Table) else []
        if paths:  # a file or stage, also through read_parquet('...') / read_parquet(['...', '...'])
            path = paths[0]
            return Source(alias or path.name, table=path, names=(path.name,), also=tuple(paths[1:]))
        rows_from = item.args.get("rows_from") if isinstance(item, exp.Table) else None
        if rows_from and scope is not None:
            # PostgreSQL ROWS FROM (f(t.a), g(t.b)) AS r(x, y): the functions side by side, x from f, y from g
            parts = [frozenset(self.expr_deps(f, scope)) for f in rows_from]
            every = frozenset().union(*parts)
            alias_node = item.args.get("alias")
            listed = [ident(a) for a in (alias_node.columns if alias_node else [])]
            implied = not listed and bool(alias)  # ROWS FROM (unnest(t.a)) AS x: x names its column too
            cols = [
                OutCol(n, parts[i] if i < len(parts) else every, TRANSFORMATION)
                for i, n in enumerate(listed or ([alias] if alias else []))
            ]
            return Source(alias, columns=cols or None, any_column=every, implied=implied)
        if isinstance(item, exp.Table) and isinstance(item.this, exp.Predict):
            predicted = self._predict_source(item.this, alias)
            if predicted is not None:
                return predicted
        if isinstance(item, exp.Table) and (
            not isinstance(item.this, exp.Func) or table_ref(item) is not None  # Snowflake IDENTIFIER('t')
        ):
            cte_cols = self.cte(item)
            if cte_cols is not None:
                return Source(alias or ident(item.this), columns=cte_cols, rows=self.cte_rows_of(item))
            ref = table_ref(item)
            if ref is None:
                return None
            names = (ref.name, ".".join(p for p in (ref.schema, ref.name) if p), ref.qualified)
            return Source(alias or ref.name, table=ref, names=names)
        if isinstance(item, exp.Table) and isinstance(item.this, exp.Func):
            # Trino TABLE(exclude_columns(input => TABLE(t), ...)): the rows and columns of its input table
            arguments = (
                n for n in item.this.find_all(exp.Table) if isinstance(n.parent, exp.Kwarg | exp.Func)
            )
            given = [r for r in (table_ref(n) for n in arguments) if r is not None]
            if len(given) == 1:
                ref = given[0]
                return Source(alias or ref.name, table=ref, names=(ref.name, ref.qualified))
        function: Any = item.this if isinstance(item, exp.Lateral | exp.Table | exp.TableFromRows) else item
        if isinstance(item, exp.Lateral) and isinstance(function, exp.Dot):
            function = function.expression  # T-SQL CROSS|OUTER APPLY dbo.fn(t.id) x: a schema's function
        if isinstance(item, exp.Unnest | exp.Lateral | exp.Table | exp.TableFromRows) and isinstance(
            function, exp.Func
        ):
            # a table function over columns of the FROM items before it
            deps = frozenset(self.expr_deps(function, scope)) if scope is not None else frozenset()
            alias_node = item.args.get("alias")
            col_names = [ident(a) for a in (alias_node.columns if alias_node else [])]
            implied = False
            known = _KEY_VALUE_FUNCTIONS.get(self.dialect, {}).get(
                function.name.lower() if isinstance(function, exp.Anonymous) else ""
            )
            if not col_names and isinstance(function, exp.Explode) and self.dialect == "snowflake":
                col_names = list(_FLATTEN_COLUMNS)  # TABLE(FLATTEN(...))
            elif not col_names and known:  # json_each(t.doc) [AS j]: key, value, ... (j.key and key)
                col_names, alias = list(known), alias or function.name.lower()
            elif not col_names and (default := _default_columns(function, self.dialect, bool(alias))):
                col_names = list(default)  # STRING_SPLIT(...): value, ordinal; explode(arr): col; ...
            elif not col_names and alias:
                col_names, implied = [alias], True  # unnest(arr) AS x: x names its column too (PostgreSQL)
            elif len(col_names) == 1 and not alias:
                alias, implied = col_names[0], True  # BigQuery UNNEST(arr) AS x: x.field, x.*
            cols = [OutCol(n, deps, TRANSFORMATION) for n in col_names]
            stacked = _stacked(function, len(cols))
            if stacked is not None and scope is not None:
                # LATERAL VIEW stack(2, 'a', a, 'b', b) s AS k, v: k holds constants, v <- a, b
                cols = [
                    OutCol(c.name, self.deps_of_all(args, scope), TRANSFORMATION)
                    for c, args in zip(cols, stacked, strict=True)
                ]
            arrays = function.expressions if isinstance(function, exp.Unnest) else []
            if len(arrays) > 1 and scope is not None:
                # UNNEST(t.a, t.b) AS u(x, y) zips its arrays: x is an element of a, y of b (WITH ORDINALITY's
                # position, in ``offset``, reads them all). More names than arrays: some arrays hold rows of
                # several fields, and which ones the SQL does not tell; every array gives at least one
                # column, in order, so name i comes from one of the arrays i - extra ... i
                per_array = [frozenset(self.expr_deps(array, scope)) for array in arrays]
                extra = max(0, len(cols) - len(arrays))
                for i in range(min(len(cols), len(arrays) + extra)):
                    first, last = max(0, i - extra), min(i, len(arrays) - 1)
                    read = frozenset().union(*per_array[first : last + 1])
                    cols[i] = OutCol(cols[i].name, read, TRANSFORMATION)
            offset = item.args.get("offset") if isinstance(item, exp.Unnest) else None
            position = (
                [OutCol(ident(offset), deps, TRANSFORMATION)] if isinstance(offset, exp.Identifier) else []
            )
            # BigQuery UNNEST(arr) WITH OFFSET AS pos / WITH ORDINALITY: the position in the array
            return Source(
                alias,
                columns=cols + position if cols else None,
                any_column=deps,
                implied=implied,
                extra=None if cols else position or None,
            )
        if (
            isinstance(item, exp.AtIndex)
            and isinstance(item.this, exp.Alias)
            and isinstance(item.expression, exp.Identifier)
        ):
            # Redshift PartiQL ``FROM t, t.arr AS x AT i``: x is each element of arr, i its position
            deps = frozenset(self.expr_deps(item.this.this, scope)) if scope is not None else frozenset()
            name = ident(item.this.args["alias"]) if item.this.args.get("alias") else ""
            cols = [OutCol(name, deps, TRANSFORMATION), OutCol(ident(item.expression), deps, TRANSFORMATION)]
            return Source(name, columns=cols, any_column=deps, implied=True)
        if isinstance(item, exp.Alias) and isinstance(item.parent, exp.Join) and item.parent.args.get("kind"):
            # ClickHouse ``ARRAY JOIN arr AS x``: x is each element of arr
            deps = frozenset(self.expr_deps(item.this, scope)) if scope is not None else frozenset()
            name = ident(item.args["alias"]) if item.args.get("alias") else ""
            return Source(name, columns=[OutCol(name, deps, TRANSFORMATION)], any_column=deps, implied=True)
        if isinstance(item, exp.Values):  # (VALUES 1, 2) AS v(id): a relation of constants (or of columns)
            cols = self.values_columns(item, scope) if scope is not None else []
            alias_cols = item.args.get("alias") and item.args["alias"].columns
            if alias_cols:
                cols = renamed_columns([ident(a) for a in alias_cols], cols)
            return Source(alias, columns=cols)
        if isinstance(item, exp.Subquery) and isinstance(item.this, exp.Pivot) and item.this.this is not None:
            return self.pivot_statement(item.this, alias, scope)  # DuckDB FROM (PIVOT s ON k USING sum(v))
        if isinstance(item, exp.Subquery | exp.Lateral):
            inner = item.this
            if isinstance(item, exp.Subquery) and not isinstance(inner, exp.Query | exp.Subquery | exp.Paren):
                return None  # (a JOIN b): its tables are flattened by _flatten_item
            cols = self.query_columns(inner, scope)
            rows = self.last_rows
            alias_cols = item.args.get("alias") and item.args["alias"].columns
            if alias_cols:
                cols = renamed_columns([ident(a) for a in alias_cols], cols)
            return Source(alias, columns=cols, rows=rows)
        return None

    def _predict_source(self, predict: exp.Predict, alias: str) -> Source | None:
        """BigQuery ``ML.PREDICT(MODEL m, (query) | TABLE t)``: the input's columns pass through; the columns
        the model adds (``predicted_label``, ...) are the model's."""
        model = predict.this
        ref = table_ref(model) if isinstance(model, exp.Table) else None
        data = predict.expression
        if ref is None or not isinstance(data, exp.Subquery | exp.Table):
            return None
        query = data.this if isinstance(data, exp.Subquery) else exp.select("*").from_(data.copy())
        passed = self.query_columns(query) if isinstance(query, exp.Query) else []
        names = (ref.name, ref.qualified)
        return Source(alias or ref.name, table=ref, names=names, extra=passed or None, rows=self.last_rows)

    def pivoted(self, base: Source, pivot: exp.Pivot) -> Source:
        """``base PIVOT (agg(x) FOR k IN (...))`` / ``base UNPIVOT (v FOR k IN (c1, c2))`` as a source: the
        new columns derive from the aggregate and the ``FOR`` column (pivot) or the listed columns (unpivot);
        the other columns of ``base`` pass through."""
        inner = Scope([base])
        fields = [f for f in pivot.args.get("fields") or () if isinstance(f, exp.In)]
        values = [v for f in fields for v in f.expressions]
        consumed: set[str] = set()
        added: list[OutCol] = []
        if pivot.args.get("unpivot"):
            value_names = [
                ident(n.this if isinstance(n, exp.Column) else n)
                for e in pivot.expressions
                # Oracle UNPIVOT ((v) FOR k IN ((a) AS 'A', ...)): the parentheses hold one column
                for n in (e.expressions if isinstance(e, exp.Tuple) else [e.unnest()])
            ]
            per_value: list[set[ColumnRef]] = [set() for _ in value_names]
            how = [TRANSFORMATION for _ in value_names]
            for v in values:
                v = v.this if isinstance(v, exp.PivotAlias) else v
                cols = v.expressions if isinstance(v, exp.Tuple) else [v]
                for i, col in enumerate(cols[: len(value_names)]):
                    consumed.update(c.name.lower() for c in col.find_all(exp.Column))
                    deps, col_how = self.deps_and_how(col, inner)
                    per_value[i] |= deps
                    how[i] = stronger(how[i], col_how)
            added = [OutCol(n, frozenset(d), h) for n, d, h in zip(value_names, per_value, how, strict=True)]
            name_cols = [OutCol(ident(f.this), frozenset(), TRANSFORMATION) for f in fields]
            # the name column comes before the values, except in BigQuery (``SELECT *`` maps by position)
            added = added + name_cols if self.dialect == "bigquery" else name_cols + added
        else:
            keys: set[ColumnRef] = set()
            for f in fields:
                consumed.update(c.name.lower() for c in f.this.find_all(exp.Column))
                keys |= self.deps_and_how(f.this, inner)[0]
            aggs: list[set[ColumnRef]] = []
            for agg in pivot.expressions:
                consumed.update(c.name.lower() for c in agg.find_all(exp.Column))
                aggs.append(self.deps_and_how(agg, inner)[0] | keys)
            names = [ident(c) for c in pivot.args.get("columns") or ()]
            if any(isinstance(v, exp.Query | exp.Subquery) for v in values):
                names = []  # IN (SELECT ...): the pivot columns are the query's rows, unknown here
            elif not names:  # not computed by the parser: the IN values' aliases or texts
                names = [
                    ident(v.args["alias"]) if isinstance(v, exp.PivotAlias) else v.name.lower()
                    for v in values
                ]
            # T-SQL IN ([Jan], [Feb]): the columns are Jan and Feb, in the case the brackets keep
            bracketed = {
                v.this.this.lower(): ident(v.this)
                for v in values
                if isinstance(v, exp.Column) and isinstance(v.this, exp.Identifier) and v.this.quoted
            }
            names = [bracketed.get(n.lower(), n) for n in names]
            every = set().union(*aggs) if aggs else keys
            same_shape = aggs and len(names) == len(values) * len(aggs)
            added = [
                OutCol(n, frozenset(aggs[i % len(aggs)] if same_shape else every), AGGREGATION)
                for i, n in enumerate(names)
                if n  # IN (ANY ...) / IN (subquery): the pivot columns are unknown
            ]
        alias_node = pivot.args.get("alias")
        alias = ident(alias_node.this) if alias_node is not None and alias_node.this else base.alias
        renamed = [ident(c) for c in (alias_node.columns if alias_node is not None else ())]
        if renamed and len(renamed) >= len(
            added
        ):  # ... PIVOT (...) AS p (k, a, b): the last names are its own
            tail = renamed[len(renamed) - len(added) :]
            added = [OutCol(n, c.deps, c.transformation) for n, c in zip(tail, added, strict=True)]
        known = base.columns
        if base.table is not None:
            table = base.table
            in_schema = self.schema_columns(table)
            known = (
                None
                if in_schema is None
                else [OutCol(c, frozenset({ColumnRef(table, c)}), IDENTITY) for c in in_schema]
            )
        if known is None and added and len(renamed) > len(added) and base.tables:
            # AS p (k, jan, feb) over a dataset without schema: the first names are the columns it passes
            # through, each some column of the dataset (as a column list over an unexpanded star names them)
            some = frozenset(ColumnRef(t, "*") for t in base.tables)
            passed = [OutCol(n, some, IDENTITY) for n in renamed[: len(renamed) - len(added)]]
            return Source(alias, columns=passed + added, rows=base.rows)
        if known is None:  # a dataset without schema: its other columns stay reachable by name
            return Source(
                alias,
                table=base.table,
                names=base.names,
                extra=added,
                any_column=base.any_column,
                rows=base.rows,
            )
        kept = [c for c in known if c.name.lower() not in consumed]
        if renamed and len(renamed) == len(kept) + len(added):
            kept = [
                OutCol(n, c.deps, c.transformation, c.quoted) for n, c in zip(renamed, kept, strict=False)
            ]
        rows = base.rows
        if not pivot.args.get("unpivot"):  # PIVOT groups by the columns it passes through
            rows = rows | {(d, GROUP_BY) for c in kept for d in c.deps if d.column != "*"}
        return Source(alias, columns=kept + added, rows=rows)

    def pivot_statement(self, pivot: exp.Pivot, alias: str, scope: Scope | None) -> Source | None:
        """DuckDB's ``PIVOT s ON k [IN (...)] USING agg(v) [GROUP BY g]`` and ``UNPIVOT s ON a, b INTO NAME k
        VALUE v`` as a source. PIVOT: the group columns pass through (without ``GROUP BY``, every column not
        pivoted), each pivot column derives from the aggregates and the ``ON`` columns (``AGGREGATION``; one
        ``*`` column when no ``IN`` list names them). UNPIVOT: the value columns derive from the listed ones,
        the name column holds column names (constants), the other columns pass through."""
        base = self.source(pivot.this, scope)
        if base is None:
            return None
        inner = Scope([base])
        consumed: set[str] = set()
        added: list[OutCol] = []
        rows: set[tuple[ColumnRef, str]] = set(base.rows)
        group = pivot.args.get("group")
        if pivot.args.get("unpivot"):
            listed: set[ColumnRef] = set()
            for e in pivot.expressions:
                consumed.update(c.name.lower() for c in e.find_all(exp.Column))
                listed |= self.expr_deps(e, inner)
            into = pivot.args.get("into")
            if isinstance(into, exp.UnpivotColumns):
                added.append(OutCol(into.this.name, frozenset(), TRANSFORMATION))
                added += [OutCol(v.name, frozenset(listed), TRANSFORMATION) for v in into.expressions]
        else:
            keys: set[ColumnRef] = set()
            values: list[exp.Expression] = []
            for e in pivot.expressions:
                consumed.update(c.name.lower() for c in e.find_all(exp.Column))
                keys |= self.expr_deps(e.this if isinstance(e, exp.In) else e, inner)
                if isinstance(e, exp.In):
                    values.extend(e.expressions)
            aggs: list[tuple[str, set[ColumnRef]]] = []
            for agg in pivot.args.get("using") or ():
                consumed.update(c.name.lower() for c in agg.find_all(exp.Column))
                name = agg.alias if isinstance(agg, exp.Alias) else self.implicit_name(agg)[0]
                aggs.append((name, self.expr_deps(agg, inner) | keys))
            every = frozenset(set().union(*(d for _, d in aggs)) if aggs else keys)
            if not values or any(isinstance(v, exp.Query | exp.Subquery) for v in values):
                added.append(OutCol("*", every, AGGREGATION))
            for v in values:
                value = ident(v.args["alias"]) if isinstance(v, exp.PivotAlias) else v.name or v.sql()
                for name, deps in aggs if len(aggs) > 1 else [("", set(every))]:
                    added.append(OutCol(f"{value}_{name}" if name else value, frozenset(deps), AGGREGATION))
        if group is not None and not pivot.args.get("unpivot"):
            kept = [c for e in group.expressions for c in self.projection(e, inner)]
            rows |= {(d, GROUP_BY) for c in kept for d in c.deps if d.column != "*"}
            return Source(alias, columns=kept + added, rows=frozenset(rows))
        known = self.known_columns(base)
        if known is None or (base.columns is not None and any(c.name == "*" for c in base.columns)):
            rest = OutCol("*", frozenset(self.star_deps(exp.Star(), inner)), IDENTITY)
            if added and added[0].name == "*":  # the pivot columns are unknown too: one * for all
                rest = OutCol("*", rest.deps | added.pop(0).deps, AGGREGATION)
            return Source(alias, columns=[rest, *added])
        kept = [c for n in known if n.lower() not in consumed for c in self.projection(exp.column(n), inner)]
        if not pivot.args.get("unpivot"):  # PIVOT groups by the columns it passes through
            rows |= {(d, GROUP_BY) for c in kept for d in c.deps if d.column != "*"}
        return Source(alias, columns=kept + added, rows=frozenset(rows))

    def matched(self, base: Source, match: exp.MatchRecognize, parent: Scope | None) -> Source:
        """``FROM t MATCH_RECOGNIZE (PARTITION BY p ORDER BY o MEASURES expr AS m ... DEFINE B AS cond)`` as a
        source: ``ONE ROW PER MATCH`` (the default) gives the partition columns and the measures, ``ALL ROWS
        PER MATCH`` every column of ``t`` and the measures. A pattern variable (``B.price``) stands for the
        rows of ``t`` it matched. ``PARTITION BY`` groups the rows (``GROUP_BY``), ``ORDER BY`` sorts them
        (``SORT``), ``DEFINE`` conditions decide the matches (``FILTER``)."""
        pattern = match.args.get("pattern")
        variables = {v.lower() for v in re.findall(r"[A-Za-z_]\w*", pattern.name if pattern else "")}
        variables |= {d.alias.lower() for d in match.args.get("define") or () if isinstance(d, exp.Alias)}
        same = [
            Source(v, table=base.table, columns=base.columns, any_column=base.any_column, extra=base.extra)
            for v in sorted(variables - {base.alias.lower()})
        ]
        inner = Scope([base], Scope(same, parent))
        measures = []
        for measure in match.args.get("measures") or ():
            node = measure.this if isinstance(measure, exp.MatchRecognizeMeasure) else measure
            if isinstance(node, exp.Alias):
                deps, how = self.deps_and_how(node.this, inner)
                if how == AGGREGATION and not any(
                    isinstance(n, exp.AggFunc) and not isinstance(n, exp.First | exp.Last)
                    for n in node.walk()
                ):
                    how = TRANSFORMATION  # FIRST(x) / LAST(x) of a match pick a row's value
                measures.append(
                    OutCol(ident(node.args["alias"]), frozenset(deps), stronger(how, TRANSFORMATION))
                )
        partition = [c for e in match.args.get("partition_by") or () for c in self.projection(e, inner)]
        rows: set[tuple[ColumnRef, str]] = set(base.rows)
        rows |= {(d, GROUP_BY) for c in partition for d in c.deps if d.column != "*"}
        if match.args.get("order") is not None:
            rows |= self._sorted_by(match.args["order"], [], inner)
        for condition in match.args.get("define") or ():
            rows |= self.rows_of(condition, inner, FILTER)
        every = "ALL" in (match.args["rows"].name.upper() if match.args.get("rows") else "")
        kept = self.expand_star(exp.Star(), Scope([base])) if every else partition
        alias_node = match.args.get("alias")
        alias = ident(alias_node.this) if alias_node is not None and alias_node.this else base.alias
        return Source(alias, columns=kept + measures, rows=frozenset(rows))

    def select_columns(self, select: exp.Select, parent: Scope | None) -> list[OutCol]:
        pushed = self.push_ctes(select)
        try:
            scope = Scope([], parent)
            by_item: dict[int, Source] = {}
            for item in (i for top in _from_items(select) for i in _flatten_item(top)):
                src = self.source(item, scope)  # LATERAL items and table functions see the items before them
                if src is not None:
                    scope.sources.append(src)
                    by_item[id(item)] = src
            if select.args.get("joins"):
                self.using_columns(select, scope, by_item)
            match = select.args.get("match")
            if isinstance(match, exp.MatchRecognize) and len(scope.sources) == 1:
                scope.sources[0] = self.matched(scope.sources[0], match, parent)
            for window in select.args.get("windows") or ():
                if isinstance(window, exp.Window) and isinstance(window.this, exp.Identifier):
                    scope.windows[ident(window.this)] = window
            out: list[OutCol] = []
            shown = self._projection_scope(select, scope, by_item)
            for proj in select.expressions:
                out.extend(self.projection(proj, shown))
                # an unqualified bare column names itself, no alias (a script variable stays a variable)
                bare = isinstance(proj, exp.Column) and not proj.args.get("table")
                if out and not isinstance(proj, exp.Star) and not bare:
                    scope.lateral.setdefault(out[-1].name, out[-1])
            rows = self.select_rows(select, scope, out)
            self.last_rows = rows
            return out
        finally:
            self.pop_ctes(pushed)

    def _projection_scope(self, select: exp.Select, scope: Scope, by_item: dict[int, Source]) -> Scope:
        """The scope the select list sees: without the tables of a ``[LEFT] SEMI`` / ``ANTI JOIN`` (Spark,
        Hive, Databricks, DuckDB), whose columns only decide which left rows are kept (their join condition
        is read with the full scope)."""
        if self.dialect == "clickhouse":  # its SEMI / ANTI joins still return the right side's columns
            return scope
        hidden = {
            id(src)
            for join in select.args.get("joins") or ()
            if str(join.args.get("kind") or "").upper() in ("SEMI", "ANTI")
            for item in _flatten_item(join.this)
            if (src := by_item.get(id(item))) is not None
        }
        if not hidden:
            return scope
        return Scope(
            [s for s in scope.sources if id(s) not in hidden],
            scope.parent,
            lateral=scope.lateral,
            using=scope.using,
            windows=scope.windows,
            prefer=scope.prefer,
        )

    # ------------------------------------------------------------------ rows (indirect lineage)
    def select_rows(self, select: exp.Select, scope: Scope, out: list[OutCol]) -> Rows:
        """The columns that decide which rows a SELECT returns, and in which order: its derived tables'
        own, WHERE / HAVING / QUALIFY (FILTER), join conditions (JOIN), GROUP BY and DISTINCT ON (GROUP_BY),
        ORDER BY (SORT). In GROUP BY, HAVING, QUALIFY and ORDER BY an unqualified name no source is known to
        hold reads the output column of that alias (``GROUP BY day`` for ``date_trunc(...) AS day``)."""
        rows = self._sources_and_where(select, scope)
        joins = list(select.args.get("joins") or ())
        rows |= self.join_rows([*joins, *nested_joins(_from_items(select))], scope)
        named = {c.name: c for c in out}
        aliases = {
            name.lower(): named[name]
            for name in (ident(p.args["alias"]) for p in select.expressions if isinstance(p, exp.Alias))
            if name in named
        }
        saved, self._aliases = self._aliases, (scope, aliases) if aliases else None
        try:
            group = select.args.get("group")
            if group is not None:
                rows |= self._positional_rows(group.expressions, out, GROUP_BY)
                rows |= self.rows_of(group, scope, GROUP_BY)
                if group.args.get("all"):  # GROUP BY ALL: every result column that aggregates nothing
                    rows |= {
                        (d, GROUP_BY)
                        for c in out
                        if c.transformation != AGGREGATION
                        for d in c.deps
                        if d.column != "*"
                    }
            distinct = select.args.get("distinct")
            on = distinct.args.get("on") if isinstance(distinct, exp.Distinct) else None
            if on is not None:  # DISTINCT ON (k): one row per k, like a GROUP BY
                items = on.expressions if isinstance(on, exp.Tuple) else [on]
                rows |= {(c, GROUP_BY) for c, _ in self._sorted_by(exp.Tuple(expressions=items), out, scope)}
            for key in ("limit", "offset"):  # ClickHouse LIMIT n [OFFSET m] BY k: n rows per k
                clause = select.args.get(key)
                if isinstance(clause, exp.Limit | exp.Offset) and clause.expressions:
                    by = exp.Tuple(expressions=list(clause.expressions))
                    rows |= {(c, GROUP_BY) for c, _ in self._sorted_by(by, out, scope)}
            for key in ("having", "qualify"):
                clause = select.args.get(key)
                if clause is not None:
                    rows |= self.rows_of(clause.this, scope, FILTER)
            connect = select.args.get("connect")
            if isinstance(connect, exp.Connect):  # Oracle START WITH picks the roots, CONNECT BY links rows
                if connect.args.get("start") is not None:
                    rows |= self.rows_of(connect.args["start"], scope, FILTER)
                if connect.args.get("connect") is not None:
                    rows |= self.rows_of(connect.args["connect"], scope, JOIN)
            if select.args.get("order") is not None:
                rows |= self._sorted_by(select.args["order"], out, scope)
        finally:
            self._aliases = saved
        return frozenset(rows)

    def rows_of(self, expr: exp.Expression, scope: Scope, subtype: str) -> Rows:
        """The dataset columns ``expr`` reads, as row-deciding columns of ``subtype``, plus the row-deciding
        columns of the subqueries inside it (``WHERE id IN (SELECT ... WHERE ...)``)."""
        if subtype == FILTER and any(c.args.get("join_mark") for c in expr.find_all(exp.Column)):
            # Oracle ``WHERE a.id = b.id(+)``: a condition with the outer-join mark joins, it does not filter
            rows: set[tuple[ColumnRef, str]] = set()
            parts: list[Any] = list(expr.flatten()) if isinstance(expr, exp.And) else [expr]
            for part in parts:
                marked = any(c.args.get("join_mark") for c in part.find_all(exp.Column))
                rows |= self.rows_of(part, scope, JOIN) if marked else self.rows_of(part, scope, FILTER)
            return frozenset(rows)
        saved, self._inherited = self._inherited, IDENTITY
        collected: list[Rows] = []
        outer, self._subquery_rows = self._subquery_rows, collected
        try:
            deps = self.expr_deps(expr, scope)
        finally:
            self._inherited, self._subquery_rows = saved, outer
        rows = {(d, subtype) for d in deps if d.column != "*"}
        for inner in collected:
            rows |= inner
        return frozenset(rows)

    def _positional_rows(self, items: Sequence[exp.Expression], out: list[OutCol], subtype: str) -> Rows:
        """``GROUP BY 1`` / ``ORDER BY 2``: the deps of that output column."""
        rows: set[tuple[ColumnRef, str]] = set()
        for item in items:
            node = item.this if isinstance(item, exp.Ordered) else item
            if isinstance(node, exp.PositionalColumn):  # DuckDB #2: the second result column
                node = node.this
            if isinstance(node, exp.Literal) and not node.is_string and node.this.isdigit():
                index = int(node.this) - 1
                if 0 <= index < len(out):
                    rows |= {(d, subtype) for d in out[index].deps if d.column != "*"}
        return frozenset(rows)

    def _sorted_by(self, order: exp.Expression, out: list[OutCol], scope: Scope | None = None) -> Rows:
        """ORDER BY: positions and output names read the output columns, other expressions the sources."""
        rows: set[tuple[ColumnRef, str]] = set(self._positional_rows(order.expressions, out, SORT))
        by_name = {c.name.lower(): c for c in out}
        for item in order.expressions:
            node = item.this if isinstance(item, exp.Ordered) else item
            if isinstance(node, exp.Var) and node.name.upper() == "ALL":  # DuckDB / Databricks ORDER BY ALL
                rows |= {(d, SORT) for c in out for d in c.deps if d.column != "*"}
            elif (
                isinstance(node, exp.Column)
                and not node.args.get("table")
                and ident(node.this).lower() in by_name
            ):
                rows |= {(d, SORT) for d in by_name[ident(node.this).lower()].deps if d.column != "*"}
            elif scope is not None and not isinstance(node, exp.Literal):
                rows |= self.rows_of(node, scope, SORT)
        return frozenset(rows)

    def using_columns(self, select: exp.Select, scope: Scope, by_item: dict[int, Source]) -> None:
        """``a JOIN b USING (k)``: an unqualified ``k`` reads ``b.k`` and the ``k`` of the items joined
        before (the one holding it by schema, the earlier USING holders, or the single item before)."""
        for join in select.args.get("joins") or ():
            using: Iterable[Any] = join.args.get("using") or ()
            right = next((by_item.get(id(i)) for i in _flatten_item(join.this)), None)
            natural = not using and str(join.args.get("method") or "").upper() == "NATURAL"
            if natural and right is not None:
                # USING the columns it shares with the items before (unquoted names: Oracle DEPTNO is deptno)
                using = [c.lower() for c in self.known_columns(right) or ()]
            if not using or right is None:
                continue
            wide = len(scope.sources) >= INDEX_AT
            pos = self._position(scope, right) if wide else None
            if not wide and right in scope.sources:
                pos = scope.sources.index(right)
            if pos is None:
                continue
            for node in using:
                name = (
                    node
                    if isinstance(node, str)
                    else ident(node.this if isinstance(node, exp.Column) else node)
                )
                before: Iterable[Source] = (
                    [scope.sources[i] for i in self.may_hold(scope, name) if i < pos]
                    if wide
                    else scope.sources[:pos]
                )
                holders = [s for s in before if self.holds(s, name)] or scope.using.get(name, [])
                if natural and not holders:
                    continue  # a column of its own, or one the items before may hold: unknown
                if not holders and pos == 1:
                    holders = scope.sources[:1]
                scope.using[name] = [*holders, right]

    def _position(self, scope: Scope, src: Source) -> int | None:
        """``scope.sources.index(src)`` (the first source equal to ``src``; None when there is none)."""
        idx = self.index(scope)
        same = idx.by_id.get(id(src))
        for pos in idx.by_alias.get(src.alias.lower(), ()):
            if same is not None and pos >= same:
                break
            if scope.sources[pos] == src:
                return pos
        return same

    def holds(self, src: Source, name: str) -> bool:
        """Whether ``src`` is known to have a column ``name``."""
        if (
            src.find(name, False) is not None
            or src.find_extra(name, False) is not None
            or self.shown(src, name)
        ):
            return True
        known = self.schema_columns(src.table) if src.table is not None else None
        return known is not None and name in {k.lower() for k in known}

    # ------------------------------------------------------------------ projections
    def projection(self, proj: exp.Expression, scope: Scope) -> list[OutCol]:
        if isinstance(proj, exp.Star) or (isinstance(proj, exp.Column) and isinstance(proj.this, exp.Star)):
            return self.expand_star(proj, scope)
        if not isinstance(proj, exp.Alias) and isinstance(proj, exp.Expression):
            columns = next(iter(proj.find_all(exp.Columns)), None)
            if columns is not None:
                return self.columns_expression(proj, columns, scope)
        if isinstance(proj, exp.QueryTransform):  # Hive SELECT TRANSFORM (a, b) USING 'script' AS (c, d)
            fed = frozenset(d for e in proj.expressions for d in self.expr_deps(e, scope))
            schema = proj.args.get("schema")
            items = schema.expressions if isinstance(schema, exp.Schema) else []
            names = [ident(i.this if isinstance(i, exp.ColumnDef) else i) for i in items] or ["key", "value"]
            return [OutCol(n, fed, TRANSFORMATION) for n in names]
        if isinstance(proj, exp.Dot) and isinstance(proj.expression, exp.Identifier | exp.Star):
            # a field of a value: PostgreSQL / DuckDB (rec).f1, (t.rec).* of a composite column, BigQuery
            # ARRAY_AGG(STRUCT(a, b) ORDER BY ts DESC LIMIT 1)[OFFSET(0)].* (the fields of the struct)
            base = _field_base(proj)
            deps, how = self.deps_and_how(base if base is not None else proj.this, scope)
            field = proj.expression
            if isinstance(field, exp.Star):
                star_how = TRANSFORMATION if base is not None else how
                return [OutCol("*", frozenset(deps), star_how)] if deps else []
            return [OutCol(ident(field), frozenset(deps), how, is_quoted(field))]
        generated = self.generated_columns(proj)
        if generated is not None:  # Spark posexplode(arr) [AS (p, c)]: one result column per name
            stacked = _stacked(proj.this, len(generated)) if isinstance(proj, exp.Aliases) else None
            if stacked is not None:  # stack(2, 'a', a, 'b', b) AS (k, v): each name its own arguments
                return [
                    OutCol(n, self.deps_of_all(args, scope), TRANSFORMATION, q)
                    for (n, q), args in zip(generated, stacked, strict=True)
                ]
            deps, how = self.deps_and_how(proj.this if isinstance(proj, exp.Aliases) else proj, scope)
            return [OutCol(n, frozenset(deps), how, q) for n, q in generated]
        if isinstance(proj, exp.Alias):
            name, quoted, expr = ident(proj.args["alias"]), is_quoted(proj.args["alias"]), proj.this
        else:
            expr = proj
            name, quoted = self.implicit_name(proj)
        deps, how = self.deps_and_how(expr, scope)
        return [OutCol(name, frozenset(deps), how, quoted)]

    def deps_of_all(self, exprs: list[exp.Expression], scope: Scope) -> frozenset[ColumnRef]:
        """The dataset columns any of ``exprs`` reads."""
        return frozenset(d for e in exprs for d in self.expr_deps(e, scope))

    def generated_columns(self, proj: exp.Expression) -> list[tuple[str, bool]] | None:
        """Names (and quotedness) of the columns a generator in a SELECT list gives: ``expr AS (a, b)``
        (Spark/Hive, one per name) and, in Spark/Hive, an unaliased ``explode(arr)`` (``col``),
        ``posexplode(arr)`` (``pos``, ``col``), as Spark names them, or ``inline(arr)`` (the fields of its
        structs: ``*``); None for any other projection."""
        if isinstance(proj, exp.Aliases):
            return [
                (ident(a), is_quoted(a)) for a in proj.expressions if isinstance(a, exp.Identifier)
            ] or None
        if self.dialect not in _SPARK_DIALECTS:
            return None
        if isinstance(proj, exp.Inline) or (
            isinstance(proj, exp.Anonymous) and proj.name.lower() == "inline_outer"
        ):
            return [("*", False)]  # inline(array of structs): the fields of the structs
        if isinstance(proj, exp.Explode):
            names = _default_columns(proj, self.dialect or "", aliased=False)
            return [(n, False) for n in names] if names else None
        return None

    def columns_expression(self, proj: exp.Expression, columns: exp.Columns, scope: Scope) -> list[OutCol]:
        """DuckDB ``COLUMNS('regex')`` / ``COLUMNS(*)`` (also inside an expression, ``min(COLUMNS('a_.*'))``):
        one result column per matching column of the FROM items (an unknown ``*`` stays one column; a lambda
        keeps the names it passes, ``c -> c LIKE 'amt%'``, or every name when it is not decidable here)."""
        pattern = (
            columns.this.this if isinstance(columns.this, exp.Literal) and columns.this.is_string else None
        )
        try:
            matcher = re.compile(pattern) if pattern is not None else None
        except re.error:
            matcher = None
        selector = columns.this
        lam = selector if isinstance(selector, exp.Lambda) and len(selector.expressions) == 1 else None
        var = ident(lam.expressions[0]).lower() if lam is not None else ""
        chosen = [
            c
            # COLUMNS(* EXCLUDE (id)): the star's modifiers apply
            for c in self.expand_star(selector if isinstance(selector, exp.Star) else exp.Star(), scope)
            if c.name == "*"
            or (
                (matcher is None or matcher.search(c.name))
                and (lam is None or _name_test(lam.this, var, c.name) is not False)
            )
        ]
        if proj is columns:
            return chosen
        other, how = self.deps_and_how(_replaced(proj, exp.null()), scope)
        out: list[OutCol] = []
        for col in chosen:
            name = "*" if col.name == "*" else self.implicit_name(_replaced(proj, exp.column(col.name)))[0]
            out.append(OutCol(name, col.deps | frozenset(other), stronger(how, col.transformation)))
        return out

    def deps_and_how(self, expr: exp.Expression, scope: Scope) -> tuple[set[ColumnRef], str]:
        """Dataset columns ``expr`` derives from, and the transformation type along the whole path."""
        saved, self._inherited = self._inherited, IDENTITY
        try:
            deps = self.expr_deps(expr, scope)
            return deps, stronger(self.transformation(expr), self._inherited)
        finally:
            self._inherited = saved

    def implicit_name(self, expr: exp.Expression) -> tuple[str, bool]:
        if isinstance(expr, exp.Column):  # t.$1 of a Snowflake stage is named $1, like $1
            return _positional(expr.this, self.dialect) or ident(expr.this), is_quoted(expr.this)
        if self.dialect == "postgres":
            named = self.postgres_name(expr)
            if named is not None:
                return named
        if isinstance(expr, exp.Cast) and isinstance(expr.this, exp.Column):
            col = expr.this.name
            if self.cast_written(col):
                return ident(expr.this.this), is_quoted(expr.this.this)
        try:
            text = expr.sql(dialect=self.dialect)
        except Exception:
            text = str(expr)
        written = self.source_text(expr, text)
        called_function = isinstance(expr, exp.Func) or (
            isinstance(expr, exp.Dot) and isinstance(expr.expression, exp.Func)  # pg_catalog.upper(a)
        )
        if self.dialect == "postgres" and called_function and not isinstance(expr, exp.Cast):
            # PostgreSQL names an unaliased call after its function: unnest(arr) is "unnest", upper(a) "upper"
            called = _CALLED_NAME.match(written or text)
            if called is not None:
                return called.group(1).lower(), False
        return " ".join((written or text).split()).lower(), False

    def postgres_name(self, expr: exp.Expression) -> tuple[str, bool] | None:
        """The name PostgreSQL gives an unaliased expression that is no plain call: ``CAST(x AS t)`` and
        ``x::t`` x's (a column's name, a call's function), a scalar subquery its column's, ``CASE`` ``case``,
        ``ARRAY[...]`` ``array``, ``AT TIME ZONE`` ``timezone``; None for the others."""
        inner: exp.Expression | None = expr.this if type(expr) is exp.Cast else None
        if isinstance(inner, exp.Column | exp.Func):
            return self.implicit_name(inner)
        query = expr.this if isinstance(expr, exp.Subquery) else None
        if isinstance(query, exp.Select) and len(query.expressions) == 1:
            inner = query.expressions[0]
            if isinstance(inner, exp.Alias):
                return ident(inner.args["alias"]), is_quoted(inner.args["alias"])
            return self.implicit_name(inner)
        for kind, name in _POSTGRES_EXPRESSION_NAMES:
            if isinstance(expr, kind):
                return name, False
        return None

    def cast_written(self, col: str) -> bool:
        """Whether the SQL text has ``col::`` (optionally ``col"::``, spaces before ``::``), as
        ``re.search(rf'{re.escape(col)}["`\\]]?\\s*::', raw_sql, re.IGNORECASE)`` finds it. Plain names are
        looked up among the texts ending before each ``::`` (gathered once per length), so a SELECT of
        thousands of ``c::type`` columns does not scan the statement once per column."""
        if _PLAIN_NAME.fullmatch(col) is None:
            return re.search(rf"{re.escape(col)}[\"`\]]?\s*::", self.raw_sql, re.IGNORECASE) is not None
        if self._cast_ends is None:
            raw, ends = self.raw_sql, []
            for m in _CAST_OPERATOR.finditer(raw):
                end = m.start()
                while end > 0 and raw[end - 1].isspace():
                    end -= 1
                if end > 0 and raw[end - 1] in '"`]':
                    end -= 1
                ends.append(end)
            self._cast_ends, self._cast_texts = ends, {}
        texts = self._cast_texts.get(len(col))
        if texts is None:
            size, raw = len(col), self.raw_sql
            texts = {raw[e - size : e].translate(_ASCII_FOLDS).lower() for e in self._cast_ends if e >= size}
            self._cast_texts[size] = texts
        return col.lower() in texts

    def source_text(self, expr: exp.Expression, generated: str) -> str | None:
        """The expression as written in the SQL (``ifnull(b, 0)``, not sqlglot's ``COALESCE(b, 0)``), when
        token positions delimit it and it parses back to the same expression; else None."""
        if self._reparses <= 0:
            return None
        self._reparses -= 1
        spans = [
            (n.meta["start"], n.meta["end"]) for n in expr.walk() if "start" in n.meta and "end" in n.meta
        ]
        if not spans:
            return None
        start, end = min(a for a, _ in spans), max(b for _, b in spans) + 1
        raw = self.raw_sql
        while start > 0 and isinstance(expr, exp.Paren) and raw[start - 1] in " \t\n(":
            start -= 1
        depth = raw[start:end].count("(") - raw[start:end].count(")")
        while depth > 0 and end < len(raw):
            depth += {"(": 1, ")": -1}.get(raw[end], 0)
            end += 1
        text = raw[start:end].strip()
        if not text or len(text) > 500:
            return None
        if self._parses_back(text, generated):
            return text
        # the tokens of a call's name and first arguments (``date_part('month', ``), of a trailing
        # ``::string`` or of a Snowflake path ``:a.b[0]`` may carry no position
        call = _CALL_OPENING.search(raw, max(0, start - 200), start) if isinstance(expr, exp.Func) else None
        suffix = _UNPLACED_SUFFIX.match(raw, end)
        tried = {text}
        for first in (start, call.start() if call is not None else start):
            for last in (end, suffix.end() if suffix is not None else end):
                longer = raw[first:last].strip()
                if longer not in tried:
                    tried.add(longer)
                    if self._parses_back(longer, generated):
                        return longer
        return None

    def _parses_back(self, text: str, generated: str) -> bool:
        try:
            import sqlglot

            again = sqlglot.parse_one(text, read=self.dialect or None)
        except Exception:
            return False
        return again is not None and again.sql(dialect=self.dialect) == generated

    @staticmethod
    def transformation(expr: exp.Expression) -> str:
        while isinstance(expr, exp.Paren):
            expr = expr.this
        if isinstance(expr, exp.Column | exp.Parameter):  # a Parameter with lineage is a $1 column
            return IDENTITY
        if isinstance(expr, exp.Dot) and isinstance(expr.expression, exp.Identifier) and _field_base(expr):
            return IDENTITY  # (rec).f1: a field of a composite column, as t.struct_col.f1 is
        if (
            isinstance(expr, exp.Subquery)
            and isinstance(expr.this, exp.Select)
            and len(expr.this.expressions) == 1
        ):
            # a scalar subquery is what its one column is: (SELECT v FROM t ...) as SELECT v FROM t
            inner = expr.this.expressions[0]
            return StatementWalker.transformation(inner.this if isinstance(inner, exp.Alias) else inner)
        if any(is_aggregate(n) for n in expr.walk()):
            return AGGREGATION
        return TRANSFORMATION

    def expand_star(self, star: exp.Expression, scope: Scope) -> list[OutCol]:
        qualifier = star.args.get("table") if isinstance(star, exp.Column) else None
        sources = scope.sources
        if qualifier is not None:
            found = self.find_source(ident(qualifier), is_quoted(qualifier), scope, star)
            sources = [found] if found else []
            if found is None and self.dialect in _STRUCT_DIALECTS:
                # addr.* / t.addr.*: the fields of the struct column addr
                column = exp.Column(this=qualifier.copy())
                for part, key in ((star.args.get("db"), "table"), (star.args.get("catalog"), "db")):
                    if part is not None:
                        column.set(key, part.copy())
                deps = self.column_deps(column, scope)
                return [OutCol("*", frozenset(deps), TRANSFORMATION)] if deps else []
        inner = star.this if isinstance(star, exp.Column) else star
        excluded = {
            ident(e.this if isinstance(e, exp.Column) else e) for e in inner.args.get("except_") or ()
        }
        excluded |= {
            ident(e.this if isinstance(e, exp.Column) else e) for e in inner.args.get("except") or ()
        }
        out: list[OutCol] = []
        owners: list[Source] = []  # the source of each column of ``out``
        for src in sources:
            if src.implied and qualifier is not None:  # x.* of UNNEST(structs) AS x: the fields
                out.append(OutCol("*", src.any_column or frozenset(), TRANSFORMATION))
            elif src.columns is not None:
                out.extend(
                    OutCol(c.name, c.deps, c.transformation, c.quoted)
                    for c in src.columns
                    if c.name not in excluded and c.name.lower() not in excluded
                )
            elif src.table is not None:
                cols = self.schema_columns(src.table)
                if cols is None:
                    out.append(OutCol("*", frozenset(ColumnRef(t, "*") for t in src.tables), IDENTITY))
                    out.extend(src.extra or ())
                else:
                    out.extend(
                        OutCol(c, frozenset({ColumnRef(src.table, c)}), IDENTITY)
                        for c in cols
                        if c not in excluded and c.lower() not in excluded
                    )
            owners.extend([src] * (len(out) - len(owners)))
        if qualifier is None and scope.using:
            out = _using_columns_once(out, owners, scope.using)
        pattern = _ilike_pattern(inner.args.get("ilike"))
        if pattern is not None:  # Snowflake * ILIKE 'pat': only the names that match (an unexpanded * stays)
            out = [c for c in out if c.name == "*" or pattern.fullmatch(c.name)]
        return self.star_modifiers(inner, out, scope)

    def star_modifiers(self, star: exp.Expression, cols: list[OutCol], scope: Scope) -> list[OutCol]:
        """``* REPLACE (expr AS c)`` (BigQuery, DuckDB) and ``* RENAME (a AS b)`` (Snowflake)."""
        replace = {
            ident(a.args["alias"]): a.this for a in star.args.get("replace") or () if isinstance(a, exp.Alias)
        }
        rename = {
            ident(a.this.this if isinstance(a.this, exp.Column) else a.this): ident(a.args["alias"])
            for a in star.args.get("rename") or ()
            if isinstance(a, exp.Alias)
        }
        if not replace and not rename:
            return cols
        out: list[OutCol] = []
        seen: set[str] = set()
        for col in cols:
            key = col.name.lower()
            seen.add(key)
            if key in replace:
                deps, how = self.deps_and_how(replace[key], scope)
                col = OutCol(col.name, frozenset(deps), how, col.quoted)
            if key in rename:
                col = OutCol(rename[key], col.deps, col.transformation)
            out.append(col)
        # a star over a dataset without known columns: the replaced and renamed columns are still named
        unexpanded = [d.table for c in cols if c.name == "*" for d in c.deps if d.column == "*"]
        if unexpanded:
            for key, expr in replace.items():
                if key not in seen:
                    deps, how = self.deps_and_how(expr, scope)
                    out.append(OutCol(key, frozenset(deps), how))
            for old, new in rename.items():
                if old not in seen:
                    out.append(OutCol(new, frozenset(ColumnRef(t, old) for t in unexpanded), IDENTITY))
        return out

    # ------------------------------------------------------------------ expressions
    def expr_deps(self, expr: Any, scope: Scope) -> set[ColumnRef]:
        deps: set[ColumnRef] = set()
        stack = [expr]
        windows_seen: set[int] = set()  # WINDOW w2 AS (w1 ORDER BY ...): w1's columns too, each once
        while stack:
            node = stack.pop()
            if isinstance(node, exp.Column):
                if isinstance(node.this, exp.Star):
                    deps.update(self.star_deps(node, scope))
                else:
                    deps.update(self.column_deps(node, scope))
                continue
            positional = _positional(node, self.dialect)
            if positional is not None:  # Snowflake $1 of a staged file: its first column
                deps.update(self.unqualified_deps(positional, False, scope))
                continue
            if isinstance(node, exp.Star) or (
                isinstance(node, exp.Count) and node.this is None and not node.expressions
            ):  # count(*), and ClickHouse count(): the rows of every dataset in scope
                deps.update(self.star_deps(node, scope))
                continue
            if isinstance(node, exp.Query | exp.Subquery) and not isinstance(node, exp.Paren):
                cols = self.query_columns(node, scope)
                if self._subquery_rows is not None:
                    self._subquery_rows.append(self.last_rows)
                    if isinstance(node.parent, exp.Exists):
                        continue  # WHERE EXISTS (SELECT y ...): only its rows' existence decides, not y
                elif isinstance(node.parent, exp.Exists):
                    # EXISTS (...) as a value (CASE WHEN EXISTS ..., AS has_x): what it selects is never
                    # read, the columns that decide whether it has rows are
                    deps.update(c for c, _ in self.last_rows if c.column != "*")
                    self._inherited = stronger(self._inherited, TRANSFORMATION)
                    continue
                if isinstance(node.parent, exp.In | exp.Any | exp.All):
                    # k IN (...) / k > ALL (...) as a value: the rows the subquery keeps decide it too
                    deps.update(c for c, _ in self.last_rows if c.column != "*")
                    self._inherited = stronger(self._inherited, TRANSFORMATION)
                for col in cols:  # how the value is shaped around the subquery is transformation()'s
                    deps.update(col.deps)
                    self._inherited = stronger(self._inherited, col.transformation)
                continue
            if _generated_identity(node, self.dialect):
                continue  # T-SQL SELECT IDENTITY(INT, 1, 1) AS id INTO t: numbers made up, INT is a type
            read = dictionary_read(node) if self.dialect == "clickhouse" else None
            if read is not None:  # ClickHouse dictGet('db.d', 'attr', key): the attribute of the dictionary
                deps.update(ColumnRef(read[0], attr) for attr in read[1])
                stack.extend(read[2])
                continue
            if isinstance(node, exp.Comprehension):  # DuckDB [x * 2 FOR x IN t.arr IF x > 0]: x is an element
                names = {
                    ident(v).lower() for v in (node.expression, node.args.get("position")) if v is not None
                }
                saved, self._loop_vars = self._loop_vars, self._loop_vars | names
                try:
                    for part in (node.this, node.args.get("condition")):
                        if part is not None:
                            deps.update(self.expr_deps(part, scope))
                finally:
                    self._loop_vars = saved
                stack.append(node.args["iterator"])
                continue
            if isinstance(node, exp.Window) and isinstance(node.args.get("alias"), exp.Identifier):
                named = self.named_window(ident(node.args["alias"]), scope)  # OVER w ... WINDOW w AS (...)
                if named is not None and named is not node and id(named) not in windows_seen:
                    windows_seen.add(id(named))
                    stack.append(named)  # its PARTITION BY, ORDER BY and the window it extends
            stack.extend(v for v in node.iter_expressions())
        return deps

    @staticmethod
    def named_window(name: str, scope: Scope | None) -> exp.Window | None:
        while scope is not None:
            if name in scope.windows:
                return scope.windows[name]
            scope = scope.parent
        return None

    def star_deps(self, star: exp.Expression, scope: Scope) -> set[ColumnRef]:
        """``count(*)``: the rows of every dataset in scope (sqllineage writes that as ``table.*``); over a
        derived table (subquery, CTE) the rows of the datasets its columns come from, over a table function
        (``UNNEST(s.items)``) the elements of what it unnests."""
        deps = {ColumnRef(t, "*") for s in scope.sources for t in s.tables} | {
            ColumnRef(t, "*") for s in scope.sources for t in s.star_tables
        }
        for src in scope.sources:
            if src.any_column:
                deps.update(src.any_column)
            elif src.table is None and src.columns:
                deps.update(
                    ColumnRef(d.table, "*") for c in src.columns for d in c.deps if d.table is not None
                )
        return deps

    def find_source(
        self, qualifier: str, quoted: bool, scope: Scope | None, node: exp.Expression | None = None
    ) -> Source | None:
        full = qualifier
        if node is not None and isinstance(node, exp.Column) and node.args.get("db"):
            full = ".".join(
                p for p in (ident(node.args.get("catalog")), ident(node.args.get("db")), qualifier) if p
            )
        while scope is not None:
            found = self._find_in(scope, qualifier, quoted, full)
            if found is not None:
                return found
            scope = scope.parent
        return None

    def _find_in(self, scope: Scope, qualifier: str, quoted: bool, full: str) -> Source | None:
        """The source of one scope ``find_source`` picks: by alias first, then by the dataset's name."""
        sources: Sequence[Source] = scope.sources
        by_name: Iterable[Source] = sources
        if len(sources) >= INDEX_AT:
            idx = self.index(scope)
            sources = [scope.sources[i] for i in idx.by_alias.get(qualifier.lower(), ())]
            positions = {*idx.by_name.get(full, ()), *idx.by_name.get(full.lower(), ())}
            by_name = [scope.sources[i] for i in sorted(positions)]
        for src in sources:
            if src.alias == qualifier or (not quoted and src.alias.lower() == qualifier.lower()):
                if full == qualifier or (src.table is not None and full in src.names):
                    return src
        for src in by_name:
            if src.table is not None and (full in src.names or full.lower() in src.names):
                return src
        return None

    def column_deps(self, col: exp.Column, scope: Scope) -> set[ColumnRef]:
        name, quoted = _positional(col.this, self.dialect) or ident(col.this), is_quoted(col.this)
        if JINJA_PLACEHOLDER in name:  # {{ params.col }} left unrendered: no column we can name
            return set()
        qualifier = col.args.get("table")
        if qualifier is not None and ident(qualifier):
            src = self.find_source(ident(qualifier), is_quoted(qualifier), scope, col)
            if src is None and col.args.get("db") is not None and not col.args.get("catalog"):
                # BigQuery/Snowflake struct access: alias.struct_column.field
                db = col.args["db"]
                src = self.find_source(ident(db), is_quoted(db), scope)
                name, quoted = ident(qualifier), is_quoted(qualifier)
            catalog = col.args.get("catalog")
            if src is None and isinstance(catalog, exp.Identifier) and self.dialect in _STRUCT_DIALECTS:
                # alias.struct_column.field.field
                src = self.find_source(ident(catalog), is_quoted(catalog), scope)
                db = col.args["db"]
                name, quoted = ident(db), is_quoted(db)
            if src is None and self.dialect in _STRUCT_DIALECTS:
                # struct access on an unqualified column: struct_column.field[.field]
                outer = col.args.get("catalog") or col.args.get("db") or qualifier
                if ident(outer).lower() in self.variables and not self.in_scope(ident(outer), scope):
                    return set()  # a field of a script variable (BigQuery FOR rec IN ... DO: rec.dt)
                if not (col.args.get("db") and self.find_source(ident(col.args["db"]), False, scope)):
                    return self.unqualified_deps(ident(outer), is_quoted(outer), scope)
            if src is None:
                return set()
            return self.from_source(src, name, quoted)
        if self._aliases is not None and self._aliases[0] is scope:
            alias = self._aliases[1].get(name.lower())
            if alias is not None and not self.any_holds(scope, name):
                return set(alias.deps)
        if name.lower() in self.variables and not self.in_scope(name, scope):
            return set()  # a script variable, not a column of the datasets read
        if self._loop_vars and name.lower() in self._loop_vars:
            return set()  # the variable of a list comprehension
        value = self.scalar(name) if self.scalars else None
        if isinstance(value, exp.Expression) and name.lower() not in self._expanding:
            key = (id(value), id(scope))
            known = self._expanded.get(key)
            if known is None:
                self._expanding.add(name.lower())  # WITH a + 1 AS a: the inner a is the column
                try:
                    deps, how = self.deps_and_how(value, scope)
                finally:
                    self._expanding.discard(name.lower())
                known = self._expanded[key] = (scope, deps, how)
            self._inherited = stronger(self._inherited, known[2])
            return set(known[1])
        if isinstance(value, OutCol):  # ClickHouse WITH ... AS name: the alias wins over columns
            self._inherited = stronger(self._inherited, stronger(value.transformation, TRANSFORMATION))
            return set(value.deps)
        row = self.whole_row(name, quoted, scope)
        if row is not None:
            self._inherited = stronger(self._inherited, TRANSFORMATION)
            return row
        return self.unqualified_deps(name, quoted, scope)

    def whole_row(self, name: str, quoted: bool, scope: Scope) -> set[ColumnRef] | None:
        """A FROM item's alias used as a value (``row_to_json(t)``, BigQuery ``TO_JSON_STRING(t)``,
        ``ARRAY_AGG(t ORDER BY ts LIMIT 1)``): the whole row, every column of that item; ``None`` when
        ``name`` is (or may be) a column. A table named without an alias counts only when its schema lacks
        ``name`` (a table often has a column of its own name); a table function's alias names its element."""
        current: Scope | None = scope
        while current is not None:
            if self.any_holds(current, name) or name in current.lateral:
                return None
            for src in current.sources:
                if src.alias != name if quoted else src.alias.lower() != name.lower():
                    continue
                if src.implied or src.any_column is not None or src.extra:
                    return None
                if any(
                    o is not src and self._holder_kind(o, name.lower(), quoted) != _NOT_HELD
                    for o in current.sources
                ):
                    return None  # another FROM item may have a column of that name: it would win
                if src.table is not None:
                    unaliased = src.alias.lower() in {n.lower() for n in src.names}
                    if self._holder_kind(src, name.lower(), quoted) != _NOT_HELD and (
                        unaliased or self._holder_kind(src, name.lower(), quoted) == _DEFINITE
                    ):
                        return None
                    return {ColumnRef(t, "*") for t in src.tables}
                if src.columns is None:
                    return None
                return {d for c in src.columns for d in c.deps}
            current = current.parent
        return None

    def in_scope(self, name: str, scope: Scope | None) -> bool:
        """Whether a source of ``scope`` or its parents is known to have a column ``name``."""
        while scope is not None:
            if self.any_holds(scope, name) or name in scope.lateral:
                return True
            scope = scope.parent
        return False

    def unqualified_deps(self, name: str, quoted: bool, scope: Scope) -> set[ColumnRef]:
        current: Scope | None = scope
        while current is not None:
            found = self.resolve_unqualified(name, quoted, current)
            if found is not None:
                return found
            current = current.parent
        return set()

    def from_source(self, src: Source, name: str, quoted: bool) -> set[ColumnRef]:
        added = src.find_extra(name, quoted)
        if added is not None:
            self._inherited = stronger(self._inherited, added.transformation)
            return set(added.deps)
        if src.table is not None:
            if self.pseudo_column(src.table, name):
                return set()
            return {ColumnRef(t, self.spelled(t, name)) for t in src.tables}
        hit = src.find(name, quoted)
        if hit is not None:
            self._inherited = stronger(self._inherited, hit.transformation)
            return set(hit.deps)
        if src.any_column is not None:
            self._inherited = stronger(self._inherited, TRANSFORMATION)
            return set(src.any_column)
        stars = src.star_tables
        if len(stars) == 1 and not self.pseudo_column(stars[0], name):
            return {ColumnRef(stars[0], name)}
        return set()

    def pseudo_column(self, table: TableRef, name: str) -> bool:
        """Whether ``name`` is a column every table of the dialect has without declaring it (BigQuery
        ``_PARTITIONTIME``, Oracle ``ROWNUM``, PostgreSQL ``ctid``, ClickHouse ``_part``...): metadata, not a
        data column (``SELECT *`` does not return it), unless the given schema lists it."""
        if name.lower() not in _PSEUDO_COLUMNS.get(self.dialect, ()):
            return False
        known = self.schema_columns(table)
        return known is None or name.lower() not in {k.lower() for k in known}

    def _holder_kind(self, src: Source, name: str, quoted: bool) -> int:
        """Whether ``src`` holds the unqualified column ``name``: surely, maybe (columns unknown), or not."""
        if src.find_extra(name, quoted) is not None:
            return _DEFINITE
        if src.table is not None:
            known = self.schema_columns(src.table)
            if known is None:
                return _UNKNOWN
            return _DEFINITE if name in {k.lower() for k in known} or name in known else _NOT_HELD
        if src.find(name, quoted) is not None:
            return _DEFINITE
        return _UNKNOWN if src.star_tables else _NOT_HELD

    def _holders_indexed(
        self, name: str, quoted: bool, scope: Scope
    ) -> tuple[list[Source], list[Source], list[Source], int]:
        """``resolve_unqualified``'s definite, shown and unknown holders of ``name`` on a wide scope, and how
        many unknown ones there are, looking only at the sources the index names for it. The unknown ones are
        listed only when the caller reads them (just one, or a preferred UPDATE/MERGE source to look for)."""
        sources = scope.sources
        idx = self.index(scope)
        definite: list[Source] = []
        maybe: list[int] = []  # named by the index and of unknown columns
        named = sorted(set(idx.by_column.get(name.lower(), ())))
        for pos in named:
            kind = self._holder_kind(sources[pos], name, quoted)
            if kind == _DEFINITE:
                definite.append(sources[pos])
            elif kind == _UNKNOWN:
                maybe.append(pos)
        named_set = set(named)
        # every source of unknown columns the index did not name for ``name`` is one
        others = len(idx.unknown) - len(named_set & idx.unknown_set)
        count = others + len(maybe)
        shown: list[Source] = []
        if not definite and count:
            maybe_set = set(maybe)
            positions = {
                pos
                for node in self.shown_nodes(name)
                for pos in idx.by_node.get(node, ())
                if pos in maybe_set or (pos in idx.unknown_set and pos not in named_set)
            }
            shown = [sources[pos] for pos in sorted(positions)]
        if count == 1 or scope.prefer is not None:
            every = sorted([*maybe, *(p for p in idx.unknown if p not in named_set)])
            return definite, shown, [sources[pos] for pos in every], count
        return definite, shown, [], count

    def resolve_unqualified(self, name: str, quoted: bool, scope: Scope) -> set[ColumnRef] | None:
        holders = scope.using.get(name if quoted else name.lower())
        if holders:
            found: set[ColumnRef] = set()
            for src in holders:
                found |= self.from_source(src, name, quoted)
            return found
        sources = scope.sources
        if not sources:
            lateral = scope.lateral.get(name)
            return set(lateral.deps) if lateral is not None else None
        if len(sources) == 1:
            src = sources[0]
            if src.table is not None:
                known = self.schema_columns(src.table)
                if known is not None and name not in {k.lower() for k in known} and name in scope.lateral:
                    return set(scope.lateral[name].deps)
            elif src.find(name, quoted) is None and not src.star_tables and name in scope.lateral:
                return set(scope.lateral[name].deps)
            if (
                scope.parent is not None
                and self._holder_kind(src, name, quoted) == _NOT_HELD
                and self.in_scope(name, scope.parent)
            ):
                return None  # correlated: the only source lacks it, an outer one has it (SQL's scoping)
            return self.from_source(src, name, quoted)
        if len(sources) >= INDEX_AT:
            definite, shown, unknown, count = self._holders_indexed(name, quoted, scope)
        else:
            definite, unknown = [], []
            for src in sources:
                kind = self._holder_kind(src, name, quoted)
                if kind == _DEFINITE:
                    definite.append(src)
                elif kind == _UNKNOWN:
                    unknown.append(src)
            # columns not known, but the statement qualifies ``name`` with that source elsewhere (``b.y``)
            # (valid SQL names it unqualified only when one source has it: several shown is left unresolved)
            shown = [s for s in unknown if self.shown(s, name)] if not definite else []
            count = len(unknown)
        chosen = definite or (shown if len(shown) == 1 else []) or (unknown if count == 1 else [])
        if not chosen and scope.prefer is not None and scope.prefer in unknown:
            chosen = [scope.prefer]
        if not chosen:
            lateral = scope.lateral.get(name)
            if lateral is not None:
                return set(lateral.deps)
            return None if scope.parent is not None else set()
        deps: set[ColumnRef] = set()
        for src in chosen:
            deps |= self.from_source(src, name, quoted)
        return deps


_STRENGTH = {IDENTITY: 0, TRANSFORMATION: 1, AGGREGATION: 2}
_HIVE_VIRTUAL = frozenset({"input__file__name", "block__offset__inside__file", "row__offset__inside__block"})
#: Spark/Databricks file metadata and the Change Data Feed columns of table_changes()
_SPARK_HIDDEN = _HIVE_VIRTUAL | {"_metadata", "_change_type", "_commit_version", "_commit_timestamp"}
_LAKE_HIDDEN = frozenset({"$path", "$file_size", "$file_modified_time", "$partition", "$bucket"})
#: per sqlglot dialect: pseudo-columns, virtual and hidden system columns of every table (lower-case)
_PSEUDO_COLUMNS: dict[str, frozenset[str]] = {
    "bigquery": frozenset(
        {
            "_partitiontime",
            "_partitiondate",
            "_table_suffix",
            "_file_name",
            "_change_type",
            "_change_timestamp",
        }
    ),
    "oracle": frozenset(
        {"rownum", "rowid", "level", "ora_rowscn", "connect_by_isleaf", "connect_by_iscycle", "column_value"}
    ),
    "postgres": frozenset({"ctid", "xmin", "xmax", "cmin", "cmax", "tableoid"}),
    "sqlite": frozenset({"rowid", "oid", "_rowid_"}),
    "duckdb": frozenset({"rowid"}),
    "snowflake": frozenset(
        {
            "metadata$filename",
            "metadata$file_row_number",
            "metadata$file_content_key",
            "metadata$file_last_modified",
            "metadata$start_scan_time",
            # the change columns of a stream and of SELECT ... CHANGES(INFORMATION => ...)
            "metadata$action",
            "metadata$isupdate",
            "metadata$row_id",
        }
    ),
    "clickhouse": frozenset(
        {
            "_part",
            "_part_index",
            "_part_uuid",
            "_part_offset",
            "_partition_id",
            "_partition_value",
            "_sample_factor",
            "_row_exists",
            "_block_number",
            "_shard_num",
            "_file",
            "_path",
        }
    ),
    "hive": _HIVE_VIRTUAL,
    "spark": _SPARK_HIDDEN,
    "spark2": _SPARK_HIDDEN,
    "databricks": _SPARK_HIDDEN,
    "redshift": frozenset({"$path", "$size", "$spectrum_oid"}),
    "trino": _LAKE_HIDDEN,
    "presto": _LAKE_HIDDEN,
    "athena": _LAKE_HIDDEN,
}
#: dialects where ``a.b`` may be field ``b`` of a struct column ``a`` of a table in scope
_STRUCT_DIALECTS = {
    "bigquery",
    "spark",
    "spark2",
    "databricks",
    "hive",
    "duckdb",
    "trino",
    "presto",
    "athena",
    "redshift",
    "clickhouse",  # tuple elements (tup.1), Nested and JSON subcolumns (n.x, payload.a.b)
}


def _replaced(expr: exp.Expression, by: exp.Expression) -> exp.Expression:
    """A copy of ``expr`` with its first DuckDB ``COLUMNS(...)`` replaced by ``by``."""
    copy = expr.copy()
    found = copy.find(exp.Columns)
    if found is not None:
        found.replace(by)
    return copy


def _ilike_pattern(node: exp.Expression | None) -> re.Pattern[str] | None:
    """Snowflake ``* ILIKE 'pat'``: the pattern as a case-insensitive regex; None without one or when it is
    no string literal."""
    if not isinstance(node, exp.Literal) or not node.is_string:
        return None
    return _like_regex(node.this, re.IGNORECASE)


def _like_regex(pattern: str, flags: int = 0) -> re.Pattern[str]:
    """A SQL ``LIKE`` pattern as a regex to ``fullmatch``: ``%`` any text, ``_`` one character, a backslash
    escapes."""
    parts: list[str] = []
    chars = iter(pattern)
    for ch in chars:
        if ch == "\\":
            parts.append(re.escape(next(chars, "")))
        elif ch == "%":
            parts.append(".*")
        elif ch == "_":
            parts.append(".")
        else:
            parts.append(re.escape(ch))
    return re.compile("".join(parts), flags | re.DOTALL)


def _name_test(node: exp.Expression, var: str, name: str) -> bool | None:
    """Whether the column ``name`` passes DuckDB's ``COLUMNS(c -> <node>)`` (``c`` is ``var``): comparisons
    of ``c`` with string constants (``LIKE``, ``ILIKE``, ``IN``, ``=``, ``<>``, ``GLOB``, ``SIMILAR TO``,
    ``regexp_matches``, ``starts_with``, ``ends_with``, ``contains``) under ``AND`` / ``OR`` / ``NOT``; None
    when the body is anything else (the column may pass)."""
    if isinstance(node, exp.Paren):
        return _name_test(node.this, var, name)
    if isinstance(node, exp.Not):
        inner = _name_test(node.this, var, name)
        return None if inner is None else not inner
    if isinstance(node, exp.And | exp.Or):
        left, right = _name_test(node.this, var, name), _name_test(node.expression, var, name)
        if isinstance(node, exp.And):
            return False if False in (left, right) else (True if left and right else None)
        return True if True in (left, right) else (False if left is False and right is False else None)
    subject = node.this if isinstance(node, exp.Binary | exp.In | exp.Func) else None
    if not isinstance(subject, exp.Identifier | exp.Column) or subject.name.lower() != var:
        return None
    if isinstance(node, exp.In):
        values = node.expressions
    else:
        values = [node.args.get("expression")]
    if not values or not all(isinstance(v, exp.Literal) and v.is_string for v in values):
        return None
    texts = [str(v.this) for v in values]
    verdict: bool | None
    if isinstance(node, exp.In | exp.EQ):
        verdict = name in texts
    elif isinstance(node, exp.NEQ):
        verdict = name != texts[0]
    elif isinstance(node, exp.Like | exp.ILike):
        flags = re.IGNORECASE if isinstance(node, exp.ILike) else 0
        verdict = _like_regex(texts[0], flags).fullmatch(name) is not None
    elif isinstance(node, exp.Glob):
        verdict = fnmatch.fnmatchcase(name, texts[0])
    elif isinstance(node, exp.SimilarTo | exp.RegexpLike):
        try:
            found = re.compile(texts[0])
        except re.error:
            return None
        verdict = (found.fullmatch if isinstance(node, exp.SimilarTo) else found.search)(name) is not None
    elif isinstance(node, exp.StartsWith):
        verdict = name.startswith(texts[0])
    elif isinstance(node, exp.EndsWith):
        verdict = name.endswith(texts[0])
    elif isinstance(node, exp.Contains):
        verdict = texts[0] in name
    else:
        return None
    return not verdict if node.args.get("negate") else verdict


def renamed_columns(names: list[str], cols: list[OutCol]) -> list[OutCol]:
    """``AS x(a, b)`` / ``WITH c(a, b) AS (...)``: the columns by position under the listed names; further
    columns keep their own names (PostgreSQL); one unexpanded ``*`` stands for the names between the ones
    before and after it (each is some column of its tables)."""
    stars = [i for i, c in enumerate(cols) if c.name == "*"]
    if len(stars) == 1 and len(names) >= len(cols):
        at, after = stars[0], len(cols) - stars[0] - 1
        star = cols[at]
        mapped = [*cols[:at], *([star] * (len(names) - at - after)), *cols[at + 1 :]]
        return [OutCol(n, c.deps, c.transformation) for n, c in zip(names, mapped, strict=False)]
    out = [OutCol(n, c.deps, c.transformation) for n, c in zip(names, cols, strict=False)]
    return out + cols[len(names) :]


def _by_name(
    op: exp.SetOperation, left: list[OutCol], right: list[OutCol]
) -> tuple[list[OutCol], list[OutCol]]:
    """``UNION [ALL] BY NAME`` (DuckDB, Spark) and BigQuery ``CORRESPONDING [BY (cols)]`` pair columns by
    name, not position: ``right`` is reordered to ``left``'s names. DuckDB / Spark add the right side's
    other columns; ``CORRESPONDING`` keeps the names both sides have (or the listed ones). A side with an
    unexpanded ``*`` keeps the positional pairing."""
    if any(c.name == "*" for c in (*left, *right)):
        return left, right
    by_name = {c.name.lower(): c for c in reversed(right)}
    listed = [ident(c.this if isinstance(c, exp.Column) else c).lower() for c in op.args.get("on") or ()]
    if listed:
        keep = {n: i for i, n in enumerate(listed)}
        left = sorted((c for c in left if c.name.lower() in keep), key=lambda c: keep[c.name.lower()])
    elif op.args.get("kind"):  # CORRESPONDING: the common names only
        left = [c for c in left if c.name.lower() in by_name]
    else:
        names = {c.name.lower() for c in left}
        left = left + [
            OutCol(c.name, frozenset(), IDENTITY, c.quoted) for c in right if c.name.lower() not in names
        ]
    return left, [by_name.get(c.name.lower(), OutCol(c.name, frozenset(), IDENTITY)) for c in left]


def _generated_identity(node: Any, dialect: str) -> bool:
    """T-SQL ``IDENTITY(data_type [, seed, increment])`` of ``SELECT ... INTO``: a generated number whose
    first argument is a type name, not a column."""
    return dialect == "tsql" and isinstance(node, exp.Anonymous) and node.name.upper() == "IDENTITY"


def _positional(node: Any, dialect: str) -> str | None:
    """Snowflake ``$1``, ``t.$2``: a positional column of a staged file, named ``$1``."""
    if dialect != "snowflake" or not isinstance(node, exp.Parameter):
        return None
    inner = node.this
    if isinstance(inner, exp.Literal) and not inner.is_string and str(inner.this).isdigit():
        return f"${inner.this}"
    return None


def _navigation(node: Any) -> bool:
    """``lag``/``lead``/``first_value``/... over a window: they pick a row's value, they do not aggregate."""
    if not isinstance(node, _NAVIGATION):
        return False
    parent = node.parent
    while isinstance(parent, exp.IgnoreNulls | exp.RespectNulls):
        parent = parent.parent
    return isinstance(parent, exp.Window)


def stronger(a: str, b: str) -> str:
    """The more transforming of two OpenLineage transformation types."""
    return a if _STRENGTH.get(a, 1) >= _STRENGTH.get(b, 1) else b


def merge_edges(edges: Iterable[ColumnLineage]) -> list[ColumnLineage]:
    """One entry per output column: inputs united, the strongest transformation kept."""
    merged: dict[ColumnRef, tuple[dict[ColumnRef, None], str]] = {}
    for edge in edges:
        if edge.output in merged:
            inputs, how = merged[edge.output]
            inputs.update(dict.fromkeys(edge.inputs))
            merged[edge.output] = (inputs, stronger(how, edge.transformation))
        else:
            merged[edge.output] = (dict.fromkeys(edge.inputs), edge.transformation)
    return [ColumnLineage(out, tuple(ins), how) for out, (ins, how) in merged.items()]


def column_edges(target: TableRef | None, names: list[str] | None, cols: list[OutCol]) -> list[ColumnLineage]:
    """Column lineage into ``target`` (None: a plain SELECT) from query result columns, by position; one
    unexpanded ``*`` under a longer column list (``INSERT INTO t (a, b) SELECT * FROM s``) stands for the
    listed names it covers (each some column of its tables), as under ``AS x(a, b)``."""
    if names is not None and len(names) >= len(cols) and sum(c.name == "*" for c in cols) == 1:
        cols, names = renamed_columns(names, cols), None
    merged: dict[str, tuple[set[ColumnRef], str]] = {}
    # as many names as columns: every ``*`` stands for exactly one column (each covers at least one)
    one_each = names is not None and len(names) == len(cols)
    for i, col in enumerate(cols):
        name = col.name
        if names is not None and (col.name != "*" or one_each):
            if i >= len(names):
                break
            name = names[i]
        if not col.deps:
            continue
        if name in merged:  # the same output named twice (SELECT a, A / several stars): one edge set
            merged[name][0].update(col.deps)
        else:
            merged[name] = (set(col.deps), col.transformation)
    return [
        ColumnLineage(ColumnRef(target, name), tuple(sorted(deps, key=str)), how)
        for name, (deps, how) in merged.items()
    ]

"""Table and column lineage of one parsed statement, per statement kind."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp

from airflow_lineage_provider.sql.model import (
    FILTER,
    IDENTITY,
    JOIN,
    ColumnLineage,
    ColumnRef,
    IndirectLineage,
    TableRef,
)
from airflow_lineage_provider.sql.names import (
    PSEUDO_TABLES,
    cte_key,
    dictionary_read,
    ident,
    path_of,
    paths_of,
    reader_files,
    table_ref,
)
from airflow_lineage_provider.sql.walker import (
    OutCol,
    Rows,
    Scope,
    Source,
    StatementWalker,
    column_edges,
    merge_edges,
)

#: statements that move no data between datasets
_NO_LINEAGE = (
    exp.Uncache,
    exp.Refresh,
    exp.Describe,
    exp.Show,
    exp.Pragma,
    exp.Transaction,
    exp.Commit,
    exp.Rollback,
    exp.Analyze,
)


#: dialects whose FROM items may be ``STREAM(t)`` / ``STREAM t`` (Delta Live Tables)
_STREAM_DIALECTS = frozenset({"databricks", "spark"})


def _unwrap_streams(tree: exp.Expression) -> None:
    """Delta Live Tables ``FROM STREAM(s) [AS x]`` / ``STREAM s x`` / ``STREAM read_files(...)``: the rows
    appended to ``s`` since the last update, with ``s``'s columns; the reference itself, for the walker."""
    for stream in list(tree.find_all(exp.Stream)):
        inner = stream.this
        alias = None
        if isinstance(inner, exp.Subquery | exp.Paren) and isinstance(inner.this, exp.Table):
            alias, inner = inner.args.get("alias"), inner.this
        if not isinstance(inner, exp.Table):
            continue
        if alias is not None and inner.args.get("alias") is None:
            inner.set("alias", alias)
        stream.replace(inner)


def _clickhouse_names(tree: exp.Expression) -> None:
    """ClickHouse: ``WITH x AS (a * 2)`` / ``WITH lim AS (10)`` name values like ``WITH a * 2 AS x`` (only a
    query in parentheses is a table); ``k IN t`` / ``k IN db.t`` (a table or CTE name on the right) reads that
    table's rows, as ``k IN (SELECT * FROM t)``, unless ``t`` names a value (``WITH [1, 2] AS t``)."""
    ins: list[exp.In] = []
    values: set[str] = set()
    for node in tree.walk():
        if isinstance(node, exp.CTE):
            if not isinstance(node.this, _CTE_QUERIES):
                node.set("scalar", True)
            if node.args.get("scalar") and node.alias:
                values.add(node.alias.lower())
        elif isinstance(node, exp.In) and isinstance(node.args.get("field"), exp.Column):
            ins.append(node)
    for node in ins:
        field = node.args["field"]
        if not isinstance(field.this, exp.Identifier) or (
            not field.args.get("table") and field.name.lower() in values
        ):
            continue
        parts = {"this": field.this, "db": field.args.get("table"), "catalog": field.args.get("db")}
        table = exp.Table(**{k: v.copy() for k, v in parts.items() if v is not None})
        node.set("field", None)
        node.set("query", exp.Subquery(this=exp.select("*").from_(table)))


#: what a CTE may hold besides a query: a value, in ClickHouse
_CTE_QUERIES = (exp.Query, exp.Subquery, exp.Values, exp.Insert, exp.Update, exp.Delete, exp.Merge)


#: dialects with polymorphic table functions over ``input => TABLE(t)`` (Trino and its relatives)
_PTF_DIALECTS = frozenset({"trino", "presto", "athena"})


def _table_arguments(tree: exp.Expression) -> None:
    """Trino ``TABLE(exclude_columns(input => TABLE(cat.sch.t), ...))`` (also positional): the ``TABLE(t)``
    argument of a table function names a table it reads; made a Table node (a table argument, see
    ``StatementWalker``)."""
    for call in list(tree.find_all(exp.Anonymous)):
        if (
            call.name.upper() != "TABLE"
            or not isinstance(call.parent, exp.Kwarg | exp.Func)
            or len(call.expressions) != 1
        ):
            continue  # TABLE(f(...)) around the call itself has a Table node as parent
        arg = call.expressions[0]
        if isinstance(arg, exp.Column) and isinstance(arg.this, exp.Identifier):
            parts = {"this": arg.this, "db": arg.args.get("table"), "catalog": arg.args.get("db")}
            call.replace(exp.Table(**{k: v.copy() for k, v in parts.items() if v is not None}))


def _inline_view_target(tree: exp.Expression) -> None:
    """Oracle ``DELETE [FROM] (SELECT ... FROM t ...) [v] WHERE ...``: a delete through an inline view, made
    ``WITH v AS (SELECT ...) DELETE FROM v`` (the view's first table loses the rows, as through a CTE)."""
    if not isinstance(tree, exp.Delete | exp.Update) or tree.args.get("with_") is not None:
        return
    view = tree.this
    tables = tree.args.get("tables") or []
    listed = not isinstance(view, exp.Expression) and len(tables) == 1  # DELETE (SELECT ...) v: no FROM
    if listed:
        view = tables[0]
    if not isinstance(view, exp.Subquery) or not isinstance(view.this, exp.Query):
        return
    if listed:
        tree.set("tables", None)
    name = view.alias or "inline_view"
    cte = exp.CTE(this=view.this.copy(), alias=exp.TableAlias(this=exp.to_identifier(name)))
    tree.set("with_", exp.With(expressions=[cte]))
    tree.set("this", exp.Table(this=exp.to_identifier(name)))


#: dialects where ``a -> 'k'`` extracts JSON (the parser reads it as a lambda inside a function call)
_JSON_ARROW_DIALECTS = frozenset(
    {"postgres", "redshift", "mysql", "sqlite", "duckdb", "doris", "starrocks", "materialize", "risingwave"}
)


def _json_arrows(tree: exp.Expression) -> None:
    """``f(doc->'items')`` / ``f(doc->0)`` parse as a lambda ``doc -> 'items'`` (parameter ``doc``); a
    one-parameter "lambda" whose body names nothing (a key, an index, a path) is the JSON operator on the
    column ``doc``, made a ``JSONExtract`` so the column is read. A real lambda (``x -> x + 1``) names its
    parameter."""
    for node in list(tree.find_all(exp.Lambda)):
        params = node.expressions
        body = node.this
        if (
            len(params) != 1
            or not isinstance(params[0], exp.Identifier)
            or not isinstance(body, exp.Expression)
            or not isinstance(node.parent, exp.Func)
            or any(isinstance(n, exp.Identifier | exp.Column | exp.Star) for n in body.walk())
        ):
            continue
        node.replace(exp.JSONExtract(this=exp.column(params[0].copy()), expression=body))


def _drop_live_schema(tree: exp.Expression) -> None:
    """Delta Live Tables ``LIVE.t``: ``LIVE`` is no schema but the pipeline's own (legacy spelling of ``t``),
    so ``CREATE LIVE TABLE t ...`` and a later ``FROM LIVE.t`` name the same table."""
    for table in tree.find_all(exp.Table):
        db = table.args.get("db")
        if (
            isinstance(db, exp.Identifier)
            and not db.quoted
            and db.name.lower() == "live"
            and not table.args.get("catalog")
        ):
            table.set("db", None)


@dataclass
class Result:
    """What one statement reads, writes and tells the script driver (USE, temp/created/dropped tables)."""

    kind: str
    inputs: list[TableRef] = field(default_factory=list)
    outputs: list[TableRef] = field(default_factory=list)
    columns: list[ColumnLineage] = field(default_factory=list)
    temporary: list[TableRef] = field(default_factory=list)
    use: tuple[str | None, str | None] | None = None  # (database, schema) set by USE
    use_kind: str = ""
    #: columns of tables this statement creates (CTAS, CREATE TABLE (...), SELECT INTO): a script-local schema
    created_columns: dict[TableRef, list[str]] = field(default_factory=dict)
    #: the named columns of a table this statement creates from a query that also has a ``*`` (``SELECT 'x'
    #: AS kind, s.*``): such a name without an edge holds constants, it is no column behind the star
    named_columns: dict[TableRef, list[str]] = field(default_factory=dict)
    dropped: list[TableRef] = field(default_factory=list)
    renamed: list[TableRef] = field(default_factory=list)  # old names of renamed tables
    #: input columns that decide which rows an output gets (WHERE, JOIN, GROUP BY ... of what writes it)
    indirect: list[IndirectLineage] = field(default_factory=list)
    #: script variables the statement declares (BigQuery ``DECLARE a, b INT64``), lower-case
    variables: list[str] = field(default_factory=list)


def _global_temp_view(node: exp.Expression, props: exp.Properties) -> None:
    """Spark / Databricks ``CREATE GLOBAL TEMPORARY VIEW v``: the view lives in the ``global_temp`` schema,
    where readers name it (``global_temp.v``)."""
    table = node.this if isinstance(node, exp.Schema) else node
    kinds = {type(p) for p in props.expressions}
    if (
        isinstance(table, exp.Table)
        and not table.args.get("db")
        and exp.GlobalProperty in kinds
        and exp.TemporaryProperty in kinds
    ):
        table.set("db", exp.to_identifier("global_temp"))


def dataset_of(node: exp.Expression | None) -> TableRef | None:
    if node is None:
        return None
    if isinstance(node, exp.Schema):
        node = node.this
    if isinstance(node, exp.Func):  # ClickHouse INSERT INTO FUNCTION s3('url', ...)
        files = reader_files(node)
        return TableRef(files[0]) if files else None
    path = path_of(node)
    if path is not None:
        return path
    if isinstance(node, exp.Table):
        return table_ref(node)
    return None


def _unwrap_table(node: exp.Expression | None) -> exp.Expression | None:
    if isinstance(node, exp.Schema):
        return node.this
    if isinstance(node, exp.UserDefinedFunction):
        return node.this
    return node


def _holds_ctes(node: Any) -> bool:
    return isinstance(node, exp.With) or isinstance(node.args.get("with_") or node.args.get("with"), exp.With)


Hops = dict[int, tuple[Any, Any]]


def _hop(node: exp.Expression, hops: Hops | None) -> tuple[Any, Any]:
    """``(child, parent)``: the nearest ancestor of ``node`` that is a WITH or holds one, and its child on
    the way (``(None, None)`` at the root). ``hops`` remembers the answer of every node passed, so the
    references of a statement cost time for the WITHs above them, not for all their ancestors (a table in
    branch k of a left-deep UNION chain has k ancestors)."""
    child: Any = node
    parent: Any = node.parent
    if hops is None:
        while parent is not None and not _holds_ctes(parent):
            child, parent = parent, parent.parent
        return child, parent
    passed: list[int] = []
    found: tuple[Any, Any] | None = None
    while parent is not None and not _holds_ctes(parent):
        if id(child) in hops:
            found = hops[id(child)]
            break
        passed.append(id(child))
        child, parent = parent, parent.parent
    if found is None:
        found = (child, parent) if parent is not None else (None, None)
    hops[id(child)] = found
    for key in passed:
        hops[key] = found
    return found


def enclosing_ctes(node: exp.Expression, hops: Hops | None = None) -> list[int]:
    """The ids of the CTEs ``node`` is inside of."""
    out: list[int] = []
    child, parent = _hop(node, hops)
    while parent is not None:
        if isinstance(parent, exp.With) and isinstance(child, exp.CTE):
            out.append(id(child))
        child, parent = _hop(parent, hops)
    return out


def cte_of(
    node: exp.Table, names: dict[int, dict[str, list[int]]] | None = None, hops: Hops | None = None
) -> exp.CTE | None:
    """The CTE a table reference names. A CTE sees the CTEs before it in its WITH (itself too when
    RECURSIVE) and those of enclosing queries; anything else with that name is a real table. ``names``
    caches, per WITH, the positions of its CTEs by name (a statement's references are then resolved in
    time independent of the number of CTEs); ``hops`` the way up to the WITHs (see :func:`_hop`)."""
    if node.args.get("db") or not isinstance(node.this, exp.Identifier):
        return None
    name = cte_key(node.this)
    cache = names if names is not None else {}
    child, parent = _hop(node, hops)
    while parent is not None:
        if isinstance(parent, exp.With):
            ctes = parent.expressions
            positions = _cte_positions(parent, cache).get(name, ())
            at = len(ctes)  # the position of ``child`` among the CTEs (past them when it is none)
            if child.arg_key == "expressions":
                at = child.index if child.index is not None else at
                if at >= len(ctes) or ctes[at] is not child:
                    at = next((i for i, c in enumerate(ctes) if c is child), len(ctes))
            if at < len(ctes) and parent.args.get("recursive") and at in positions:
                return ctes[at]
            before = bisect.bisect_left(positions, at)
            if before:
                return ctes[positions[before - 1]]
        else:
            with_ = parent.args.get("with_") or parent.args.get("with")
            if isinstance(with_, exp.With) and with_ is not child:
                positions = _cte_positions(with_, cache).get(name, ())
                if positions:
                    return with_.expressions[positions[-1]]
        child, parent = _hop(parent, hops)
    return None


#: dialects where a CTE may refer to itself without ``WITH RECURSIVE`` (T-SQL, Oracle, DB2, Snowflake)
_IMPLICIT_RECURSION = frozenset({"tsql", "oracle", "snowflake", "fabric"})


def _mark_implicit_recursion(tree: exp.Expression) -> None:
    """``WITH r (c) AS (anchor UNION ALL SELECT ... FROM x JOIN r ...)`` without ``RECURSIVE``: where the
    dialect allows that, a UNION whose later branches read the CTE's own name is its recursive step, not a
    table."""
    for with_ in tree.find_all(exp.With):
        if with_.args.get("recursive"):
            continue
        for cte in with_.expressions:
            body = cte.this
            name = _alias(cte).lower()
            if not name or not isinstance(body, exp.Union):
                continue
            anchor = body
            while isinstance(anchor, exp.Union):
                anchor = anchor.this
            in_anchor = {id(a) for a in anchor.find_all(exp.Table)}
            reads_itself = any(
                not t.args.get("db") and isinstance(t.this, exp.Identifier) and ident(t.this).lower() == name
                for t in body.find_all(exp.Table)
                if id(t) not in in_anchor
            )
            if reads_itself:
                with_.set("recursive", True)
                break


def _cte_positions(with_: exp.With, cache: dict[int, dict[str, list[int]]]) -> dict[str, list[int]]:
    """Positions of the CTEs of ``with_`` by their lower-case alias, ascending."""
    found = cache.get(id(with_))
    if found is None:
        found = {}
        for i, cte in enumerate(with_.expressions):
            alias = cte.args.get("alias")
            if alias is not None:
                found.setdefault(cte_key(alias.this), []).append(i)
        cache[id(with_)] = found
    return found


def _alias(node: exp.Expression) -> str:
    alias = node.args.get("alias")
    return ident(alias.this) if alias is not None and alias.this is not None else ""


def _names_a_file_format(node: exp.Table) -> bool:
    """Snowflake ``FILE_FORMAT = (FORMAT_NAME = x)``, ``FILE_FORMAT = x`` and ``@stage (FILE_FORMAT => x)``
    name a file format, no dataset."""
    parent = node.parent
    if isinstance(parent, exp.Table) and parent.args.get("format") is node:
        return True
    if isinstance(parent, exp.Property) and parent.args.get("value") is node:
        return ident(parent.this) in ("format_name", "file_format")
    return False


def read_tables(tree: exp.Expression, skip: set[int]) -> list[TableRef]:
    """Every dataset a statement reads: Table nodes that are not targets, functions or references to a
    CTE; tables read only inside CTEs the statement never uses are left out."""
    refs: list[tuple[TableRef | None, exp.CTE | None, list[int]]] = []
    has_ctes = tree.find(exp.With) is not None  # ancestor walks only when there are CTEs to resolve
    cte_names: dict[int, dict[str, list[int]]] = {}
    hops: Hops = {}
    for node in tree.find_all(exp.Table):
        if id(node) in skip or isinstance(node.parent, exp.Use) or _names_a_file_format(node):
            continue
        enclosing = enclosing_ctes(node, hops) if has_ctes else []
        paths = paths_of(node)
        cte = None if paths or not has_ctes else cte_of(node, cte_names, hops)
        refs.extend((p, None, enclosing) for p in paths[1:])  # a reader over several files
        refs.append(
            ((paths[0] if paths else None) or (table_ref(node) if cte is None else None), cte, enclosing)
        )
    # ClickHouse WITH <expression> AS name: a value the query reads by name, so its tables are read
    used: set[int] = {id(c) for c in tree.find_all(exp.CTE) if c.args.get("scalar")} if has_ctes else set()
    # a CTE is used when a reference outside unused CTEs names it: propagated along a worklist (a chain of
    # CTEs each reading the one before is settled in one pass, not in one pass over all references per CTE)
    waiting: dict[int, list[int]] = {}  # CTE -> references inside it
    unmet: list[int] = []  # per reference: its enclosing CTEs not (yet) used
    ready: list[int] = []
    for i, (_, cte, enclosing) in enumerate(refs):
        missing = [e for e in enclosing if e not in used] if cte is not None else []
        unmet.append(len(missing))
        for e in missing:
            waiting.setdefault(e, []).append(i)
        if cte is not None and not missing:
            ready.append(i)
    while ready:
        cte_id = id(refs[ready.pop()][1])
        if cte_id in used:
            continue
        used.add(cte_id)
        for j in waiting.pop(cte_id, ()):
            unmet[j] -= 1
            if unmet[j] == 0 and refs[j][1] is not None:
                ready.append(j)
    found: dict[TableRef, None] = {}
    for ref, _, enclosing in refs:
        if ref is None or (not ref.schema and ref.name.lower() in PSEUDO_TABLES):
            continue
        if all(e in used for e in enclosing):
            found[ref] = None
    return list(found)


def _from_tables(tree: exp.Expression) -> list[exp.Table]:
    """Tables in the FROM/USING/JOIN parts of an UPDATE or DELETE (and joined to its target)."""
    items: list[exp.Expression] = []
    for key in ("from_", "from", "using"):
        val = tree.args.get(key)
        if isinstance(val, exp.From):
            items.append(val.this)
            items.extend(val.expressions or ())
        elif isinstance(val, list):
            items.extend(val)
        elif isinstance(val, exp.Expression):
            items.append(val)
    for join in tree.args.get("joins") or ():
        items.append(join.this)
    this = tree.this
    if isinstance(this, exp.Table):
        items.extend(j.this for j in this.args.get("joins") or ())
    out: list[exp.Table] = []
    stack = list(items)
    while stack:
        item = stack.pop(0)
        while isinstance(item, exp.Final):  # ClickHouse FROM t FINAL
            item = item.this
        if isinstance(item, exp.Table):
            out.append(item)
            stack.extend(j.this for j in item.args.get("joins") or ())
        elif isinstance(item, exp.Subquery) and isinstance(item.this, exp.Table):
            stack.append(item.this)
    return out


def _derived_joins(tree: exp.Expression) -> list[exp.Expression]:
    """The items of a DELETE that are no tables (derived tables, table functions): in its FROM or USING
    (``DELETE FROM t USING (SELECT ...) s``), or joined to its target (MySQL ``DELETE t FROM t JOIN (SELECT
    ...) s``), to its FROM or USING item, or to the statement."""
    joins = list(tree.args.get("joins") or ())
    items: list[exp.Expression] = []
    for key in ("from_", "from", "using"):
        for node in _as_list(tree.args.get(key)):
            if isinstance(node, exp.From):
                items.extend([node.this, *(node.expressions or ())])
            elif isinstance(node, exp.Expression):
                items.append(node)
    derived = [i for i in items if isinstance(i, exp.Subquery | exp.Lateral | exp.Unnest)]
    for node in (tree.this, *items):
        if isinstance(node, exp.Expression):
            joins.extend(node.args.get("joins") or ())
    joined = [j.this for j in joins if isinstance(j, exp.Join) and not isinstance(j.this, exp.Table)]
    return derived + joined


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value] if value is not None else []


def _partitioned_names(node: exp.Expression | None, names: list[str] | None) -> list[str] | None:
    """Hive/Spark ``INSERT ... PARTITION (dt='x', hr)`` into a table whose columns are known: the SELECT
    gives the other columns in order, then the dynamic partition columns (static ones are constants)."""
    partition = node.args.get("partition") if isinstance(node, exp.Table) else None
    if names is None or not isinstance(partition, exp.Partition):
        return names
    static: list[str] = []
    dynamic: list[str] = []
    for part in partition.expressions:
        if isinstance(part, exp.EQ) and isinstance(part.this, exp.Column):
            static.append(ident(part.this.this))
        elif isinstance(part, exp.Column):
            dynamic.append(ident(part.this))
    taken = {n.lower() for n in (*static, *dynamic)}
    return [n for n in names if n.lower() not in taken] + dynamic


def _resolve_target(target: exp.Table, candidates: list[exp.Table]) -> exp.Table:
    """``UPDATE sr ... FROM x AS sr`` / ``DELETE t FROM x AS t``: the FROM table the target alias names."""
    if target.args.get("db"):
        return target
    name = ident(target.this)
    for cand in candidates:
        if cand is not target and _alias(cand) == name:
            return cand
    return target


def _data_source_path(props: exp.Expression | None) -> TableRef | None:
    """The files a Spark data-source table or view is over: ``OPTIONS (path '...')`` or ``LOCATION '...'``."""
    for prop in props.expressions if isinstance(props, exp.Properties) else ():
        if isinstance(prop, exp.LocationProperty) and isinstance(prop.this, exp.Literal):
            return TableRef(prop.this.this)
        if isinstance(prop, exp.OptionsProperty):
            for option in prop.expressions:
                value = option.args.get("value") if isinstance(option, exp.Property) else None
                if ident(option.this) == "path" and isinstance(value, exp.Literal) and value.is_string:
                    return TableRef(value.this)
    return None


def _assigns_variables(select: exp.Expression) -> bool:
    """T-SQL ``SELECT @a = x, @b = y FROM t``: every projection assigns a variable."""
    items = select.expressions if isinstance(select, exp.Select) else []
    return bool(items) and all(isinstance(e, exp.EQ) and isinstance(e.this, exp.Parameter) for e in items)


def _joined_source(scope: Scope) -> Source | None:
    """The one source an UPDATE / MERGE joins to its target (the first source; T-SQL ``UPDATE t ... FROM t
    JOIN s`` names the target twice), if exactly one."""
    target = scope.sources[0].table if scope.sources else None
    others = [s for s in scope.sources[1:] if target is None or s.table != target]
    return others[0] if len(others) == 1 else None


def _written_names(tree: exp.Insert | exp.Merge) -> list[exp.Identifier]:
    """The identifiers naming the target columns an INSERT's column list or a MERGE's ``UPDATE SET`` /
    ``INSERT (cols)`` write."""
    lists: list[Any] = []
    if isinstance(tree, exp.Insert) and isinstance(tree.this, exp.Schema):
        lists.append(tree.this.expressions)
    whens = tree.args.get("whens") if isinstance(tree, exp.Merge) else None
    for when in whens.expressions if whens is not None else ():
        then = when.args.get("then")
        if isinstance(then, exp.Update):
            lists.append([e.this for e in then.expressions if isinstance(e, exp.EQ)])
        elif isinstance(then, exp.Insert) and isinstance(then.this, exp.Tuple | exp.Schema):
            lists.append(then.this.expressions)
    found = []
    for node in (n for names in lists for n in names):
        name = node.this if isinstance(node, exp.Column) else node
        if isinstance(name, exp.Identifier):
            found.append(name)
    return found


def _cte_base(node: exp.Expression | None) -> exp.Table | None:
    """T-SQL ``WITH c AS (SELECT ... FROM t ...) DELETE FROM c`` / ``UPDATE c``: the statement changes the
    rows of ``t``, the table the CTE selects from first (through CTEs over CTEs); None when ``node`` does not
    name a CTE or its base is no table."""
    found: exp.Table | None = None
    for _ in range(16):
        cte = cte_of(node) if isinstance(node, exp.Table) else None
        if cte is None:
            return found if found is not None and table_ref(found) is not None else None
        query = cte.this
        frm = query.args.get("from_") if isinstance(query, exp.Select) else None
        item = frm.this if frm is not None else None
        if not isinstance(item, exp.Table):
            return None
        found = node = item
    return None


#: ``USE <kind> x`` forms that change the default namespace (not ``USE ROLE``, ``USE WAREHOUSE``)
_USE_NAMESPACE_KINDS = frozenset({"", "DATABASE", "SCHEMA", "CATALOG", "NAMESPACE"})


class StatementAnalyzer:
    """Lineage of one parsed statement."""

    def __init__(self, walker: StatementWalker, *, select_into_tables: bool = True) -> None:
        """``walker`` resolves the statement's columns (it holds the schema, the text and the dialect)."""
        self.walker = walker
        #: T-SQL updates and deletes through a CTE, Oracle's through an inline view (made a CTE); elsewhere a
        #: DML target is always a table
        self._dml_on_ctes = walker.dialect in ("tsql", "oracle")
        #: whether ``SELECT ... INTO x`` creates the table x (else x are variables: Oracle, MySQL, PL/pgSQL)
        self.select_into_tables = select_into_tables
        self._rows: dict[IndirectLineage, None] = {}
        self._named: dict[TableRef, list[str]] = {}

    def analyze(self, tree: exp.Expression) -> Result:
        if isinstance(tree, _NO_LINEAGE):
            return Result(tree.key)
        handler = getattr(self, f"_{tree.key}", None)
        if handler is None:
            return Result(tree.key, inputs=read_tables(tree, set()))
        if self.walker.dialect in _IMPLICIT_RECURSION:
            _mark_implicit_recursion(tree)
        if self.walker.dialect in _STREAM_DIALECTS and "stream" in self.walker.raw_sql.lower():
            _unwrap_streams(tree)
        if self.walker.dialect in _STREAM_DIALECTS and "live" in self.walker.raw_sql.lower():
            _drop_live_schema(tree)
        if self.walker.dialect == "clickhouse":
            _clickhouse_names(tree)
        if self.walker.dialect == "oracle":
            _inline_view_target(tree)
        if self.walker.dialect in _JSON_ARROW_DIALECTS and "->" in self.walker.raw_sql:
            _json_arrows(tree)
        if self.walker.dialect in _PTF_DIALECTS and "table" in self.walker.raw_sql.lower():
            _table_arguments(tree)
        self.walker.infer_holders(tree)
        result: Result = handler(tree)
        self._nested_writes(tree, result)
        if self.walker.dialect == "clickhouse" and "dict" in self.walker.raw_sql.lower():
            # dictGet('db.d', 'attr', key) / dictHas('db.d', key) read the dictionary db.d
            read = (dictionary_read(n) for n in tree.find_all(exp.Anonymous))
            result.inputs = list(dict.fromkeys([*result.inputs, *(r[0] for r in read if r is not None)]))
        written = set(result.outputs)
        result.indirect = [r for r in self._rows if r.output in written and r.input.table is not None]
        result.named_columns = {t: names for t, names in self._named.items() if t in written}
        return result

    def _shape(self, target: TableRef | None, rows: Rows) -> None:
        """Record ``rows`` as the row-deciding columns of ``target``."""
        if target is not None:
            self._rows.update((IndirectLineage(target, col, subtype), None) for col, subtype in rows)

    def _shape_dml(self, target: TableRef, tree: exp.Expression, scope: Scope) -> None:
        """UPDATE / DELETE / MERGE: WHERE and WHEN conditions filter the rows written, ON and the joins in
        its FROM / USING / target (``UPDATE a JOIN b ON ...``) join them."""
        self._shape(target, self.walker.dml_rows(tree, scope))

    def _nested_writes(self, tree: exp.Expression, result: Result) -> None:
        """PostgreSQL data-modifying CTEs (``WITH x AS (DELETE/UPDATE/INSERT ... RETURNING ...)``) write their
        target whether or not the main query reads them: their tables and edges join the statement's."""
        nested = [
            cte.this
            for cte in tree.find_all(exp.CTE)
            if isinstance(cte.this, exp.Insert | exp.Update | exp.Delete | exp.Merge)
        ]
        if not nested:
            return
        pushed = self._with_ctes(tree)  # the DML may read the CTEs of the statement
        try:
            for dml in nested:
                sub: Result = getattr(self, f"_{dml.key}")(dml)
                result.outputs = list(dict.fromkeys([*result.outputs, *sub.outputs]))
                result.inputs = list(dict.fromkeys([*result.inputs, *sub.inputs]))
                result.columns = merge_edges([*result.columns, *sub.columns])
        finally:
            self.walker.pop_ctes(pushed)

    # ------------------------------------------------------------------ helpers
    def _with_ctes(self, tree: exp.Expression) -> bool:
        return self.walker.push_ctes(tree)  # WITH attached to INSERT/UPDATE/MERGE/DELETE

    def _write(
        self, tree: exp.Expression, kind: str, targets: list[exp.Expression], skip: set[int]
    ) -> Result:
        outs = [t for t in (dataset_of(n) for n in targets) if t is not None]
        for n in targets:
            skip.add(id(_unwrap_table(n)))
        return Result(kind, inputs=read_tables(tree, skip), outputs=list(dict.fromkeys(outs)))

    def _target_names(self, node: exp.Expression | None, target: TableRef | None) -> list[str] | None:
        """The column names a column list gives (``t (a, b)``, ``CREATE TABLE t (a INT, b INT, PRIMARY KEY
        (a))``: constraints and ``LIKE`` are no columns), else the known columns of ``target``."""
        if isinstance(node, exp.Schema) and node.expressions:
            names = [
                ident(c.this if isinstance(c, exp.ColumnDef | exp.Column) else c)
                for c in node.expressions
                if isinstance(c, exp.ColumnDef | exp.Column | exp.Identifier)
            ]
            if names:
                return names
            like = next((c for c in node.expressions if isinstance(c, exp.LikeProperty)), None)
            source = dataset_of(like.this) if like is not None else None
            return self.walker.schema_columns(source) if source is not None else None
        if target is not None:
            return self.walker.schema_columns(target)
        return None

    def _query_edges(
        self,
        target: TableRef | None,
        names: list[str] | None,
        query: Any,
        created: dict[TableRef, list[str]] | None = None,
    ) -> list[ColumnLineage]:
        """Edges from ``query`` into ``target``; with ``created``, also records the target's column names."""
        cols = (
            self.walker.query_columns(query)
            if isinstance(query, exp.Query | exp.Subquery | exp.Paren)
            else []
        )
        if cols:
            self._shape(target, self.walker.last_rows)
        stars = sum(c.name == "*" for c in cols)
        if names is not None and stars and len(names) != len(cols) and (stars > 1 or len(names) < len(cols)):
            # INSERT INTO t (a, b) SELECT * FROM s: one * stands for a and b (column_edges); as many names
            # as columns pair them one to one, stars too
            names = None
        if (
            created is not None
            and names
            and not stars
            and len(names) < len(cols)
            and self.walker.dialect == "postgres"
        ):
            # CREATE TABLE|VIEW t (k) AS SELECT x, y: the list renames the first columns, y keeps its name
            names = names + [c.name for c in cols[len(names) :]]
        if created is not None and target is not None:
            known = names or [c.name for c in cols]
            if known and "*" not in known:
                created[target] = known
            elif known:
                self._named[target] = [n for n in known if n != "*"]
        return column_edges(target, names, cols)

    # ------------------------------------------------------------------ statement kinds
    def _select(self, tree: exp.Expression) -> Result:
        first = tree
        while isinstance(first, exp.SetOperation | exp.Subquery):
            first = first.this
        into: Any = first.args.get("into")
        # INTO a file (MySQL INTO OUTFILE, rewritten by the engine) is always written
        # INTO TEMP|UNLOGGED [TABLE] t names a table also where a plain INTO assigns variables
        writes = into is not None and (
            self.select_into_tables
            or isinstance(into.this, exp.Literal)
            or bool(into.args.get("temporary") or into.args.get("unlogged"))
        )
        target = dataset_of(into.this) if writes else None
        skip = {id(into.this)} if into is not None else set()
        res = Result("select", inputs=read_tables(tree, skip), outputs=[target] if target else [])
        if target is not None and (
            into.args.get("temporary") or (into.this and getattr(into.this.this, "args", {}).get("temporary"))
        ):
            res.temporary.append(target)
        # SELECT ... INTO v / T-SQL SELECT @x = max(ts) FROM t: sets variables, returns no rows
        if target is None and (into is not None or _assigns_variables(first)):
            return res
        res.columns = self._query_edges(target, None, tree, res.created_columns)
        return res

    _union = _except = _intersect = _subquery = _paren = _select

    def _set(self, tree: exp.Set) -> Result:
        """``SET x = (SELECT ...)`` (Snowflake, BigQuery, T-SQL, MySQL): the query's tables are read."""
        return Result("set", inputs=read_tables(tree, set()))

    def _into_cte_base(self, tree: exp.Insert | exp.Merge) -> Rows | None:
        """T-SQL ``WITH c AS (SELECT ... FROM t ...) INSERT INTO c ...`` / ``MERGE c ...``: like an UPDATE or
        DELETE through a CTE, the statement writes ``t``, the CTE's base table (a CTE is never a dataset).
        The target becomes ``t`` under the name the statement calls it by; returns the columns that decide
        which rows the CTE shows (a MERGE only matches those), None when the target is no such CTE."""
        named = _unwrap_table(tree.this)
        base = _cte_base(named) if self._dml_on_ctes and isinstance(named, exp.Table) else None
        if base is None or not isinstance(named, exp.Table):
            return None
        pushed = self._with_ctes(tree)
        try:
            shown = self.walker.source(named, Scope([]))
        finally:
            self.walker.pop_ctes(pushed)
        table = base.copy()
        table.set("alias", exp.TableAlias(this=exp.to_identifier(_alias(named) or named.name)))
        named.replace(table)
        if shown is None:
            return frozenset()
        written = dataset_of(base)
        renamed = {  # WITH c AS (SELECT Status AS st ...): writing c.st writes the base column Status
            c.name.lower(): dep.column
            for c in shown.columns or ()
            if c.transformation == IDENTITY and len(c.deps) == 1
            for dep in c.deps
            if dep.table == written and dep.column != "*" and dep.column.lower() != c.name.lower()
        }
        if renamed:
            for name in _written_names(tree):
                base_name = renamed.get(name.name.lower())
                if base_name is not None:
                    name.replace(exp.to_identifier(base_name))
        return shown.rows

    def _insert(self, tree: exp.Insert) -> Result:
        self._into_cte_base(tree)  # the CTE's own filter does not decide which rows are inserted
        node = tree.this
        res = self._write(tree, "insert", [node], set())
        target = dataset_of(node)
        if target is None:  # INSERT INTO @table_variable: no dataset to attach columns to
            return res
        pushed = self._with_ctes(tree)
        try:
            names = _partitioned_names(node, self._target_names(node, target))
            known: set[str] = set()  # INSERT BY NAME: the target's known columns
            if tree.args.get("by_name") and not isinstance(node, exp.Schema):
                # DuckDB / Spark INSERT INTO t BY NAME query: the query's names, not positions
                known, names = {n.lower() for n in names or ()}, None
            values = tree.expression
            source = tree.args.get("source")
            if values is None and isinstance(source, exp.Table):
                # Spark / Hive INSERT INTO t TABLE s: all of s, as SELECT * FROM s
                values = exp.select("*").from_(source.copy())
            if isinstance(values, exp.Values) and names:
                # VALUES rows: only subqueries in them carry lineage (huge lists were cut to one row)
                for row in values.expressions[:100]:
                    if isinstance(row, exp.Tuple) and row.find(exp.Query):
                        columns = exp.Tuple(expressions=[exp.column(n) for n in names])
                        res.columns.extend(self._tuple_edges(target, columns, row, Scope([])))
                res.columns = merge_edges(res.columns)
            else:
                res.columns = self._query_edges(target, names, values)
            if known:  # a name the target does not have is no column of it (DuckDB rejects it)
                res.columns = [
                    c for c in res.columns if c.output.column == "*" or c.output.column.lower() in known
                ]
            replace = tree.args.get("where")
            if isinstance(replace, exp.Expression) and isinstance(node, exp.Table):
                # Databricks INSERT INTO t REPLACE WHERE cond query: the rows of t cond picks are replaced
                scope = self._scope_for(node, target, tree, [])
                self._shape(target, self.walker.rows_of(replace, scope, FILTER))
            conflict = tree.args.get("conflict")
            if isinstance(conflict, exp.OnConflict):
                upsert = self._upsert_scope(tree, node, target, res.columns)
                if conflict.expressions:
                    res.columns = merge_edges([*res.columns, *self._upsert_edges(tree, target, upsert)])
                self._shape_upsert(target, conflict, upsert)
        finally:
            self.walker.pop_ctes(pushed)
        return res

    def _upsert_scope(
        self, tree: exp.Insert, node: exp.Expression, target: TableRef, inserted: list[ColumnLineage]
    ) -> Scope:
        """The scope of ``ON CONFLICT`` / ``ON DUPLICATE KEY UPDATE``: unqualified and target-qualified
        columns are the existing row; ``excluded.c`` and the MySQL row alias are the row being inserted
        (the lineage of the insert into ``c``)."""
        table = _unwrap_table(node)
        proposed = [OutCol(e.output.column, frozenset(e.inputs), e.transformation) for e in inserted]
        row_alias = _alias(tree.expression) if isinstance(tree.expression, exp.Values) else ""
        outer = Scope([Source(a, columns=proposed) for a in dict.fromkeys(("excluded", row_alias)) if a])
        names = (target.name, target.qualified)
        alias = _alias(table) if isinstance(table, exp.Table) else ""
        return Scope([Source(alias or target.name, table=target, names=names)], outer)

    def _shape_upsert(self, target: TableRef, conflict: exp.OnConflict, scope: Scope) -> None:
        """``ON CONFLICT (k) ... [DO UPDATE ... WHERE c]``: the conflict key matches the new rows to the
        existing ones like ``MERGE ... ON`` (JOIN: the target's ``k`` and what is inserted into it), the
        ``WHERE`` chooses the rows updated (FILTER)."""
        walker = self.walker
        for key in conflict.args.get("conflict_keys") or ():
            column = key.this if isinstance(key, exp.Ordered) else key
            if isinstance(column, exp.Identifier):
                column = exp.column(column.copy())
            if not isinstance(column, exp.Column):
                continue
            excluded = exp.column(column.this.copy(), table="excluded")
            self._shape(target, walker.rows_of(exp.EQ(this=column, expression=excluded), scope, JOIN))
        where = conflict.args.get("where")
        if isinstance(where, exp.Where):
            self._shape(target, walker.rows_of(where.this, scope, FILTER))

    def _upsert_edges(self, tree: exp.Insert, target: TableRef, scope: Scope) -> list[ColumnLineage]:
        """``ON CONFLICT ... DO UPDATE SET`` / ``ON DUPLICATE KEY UPDATE``: edges per assignment
        (``VALUES(c)`` is ``excluded.c``)."""

        # MySQL VALUES (...) AS new(m, n): m and n (also new.m) are the inserted values, in column order
        alias = tree.expression.args.get("alias") if isinstance(tree.expression, exp.Values) else None
        renamed: dict[str, str] = {}
        if isinstance(alias, exp.TableAlias) and alias.columns:
            node = tree.this
            inserted = [ident(e) for e in node.expressions] if isinstance(node, exp.Schema) else None
            inserted = inserted or self.walker.schema_columns(target) or []
            renamed = {ident(a).lower(): c for a, c in zip(alias.columns, inserted, strict=False)}
        row = ident(alias.this).lower() if isinstance(alias, exp.TableAlias) and alias.this else ""

        def values_function(n: exp.Expression) -> exp.Expression:
            if isinstance(n, exp.Anonymous) and n.name.upper() == "VALUES" and len(n.expressions) == 1:
                return exp.column(ident(n.expressions[0]), table="excluded")
            if renamed and isinstance(n, exp.Column) and ident(n.this).lower() in renamed:
                qualifier = ident(n.args.get("table")).lower() if n.args.get("table") else ""
                if qualifier in ("", row):
                    return exp.column(renamed[ident(n.this).lower()], table="excluded")
            return n

        conflict = tree.args["conflict"]
        assignments = [
            exp.EQ(this=eq.this, expression=eq.expression.transform(values_function))
            for eq in conflict.expressions
            if isinstance(eq, exp.EQ)
        ]
        return self._set_edges(target, assignments, scope)

    def _create(self, tree: exp.Create) -> Result:
        kind = str(tree.args.get("kind") or "").upper()
        node = tree.this
        if kind in (
            "FUNCTION",
            "PROCEDURE",
            "MACRO",
            "SEQUENCE",
            "SCHEMA",
            "DATABASE",
            "INDEX",
            "ROLE",
            "USER",
            "WAREHOUSE",
            "TYPE",
            "EXTENSION",
            "TRIGGER",
            "TAG",
            "INTEGRATION",
            "FILE FORMAT",
        ):
            return Result("create_" + kind.lower())
        props = tree.args.get("properties")
        if props is not None and self.walker.dialect in _STREAM_DIALECTS:
            _global_temp_view(node, props)
        to_table = (
            next((p for p in props.expressions if isinstance(p, exp.ToTableProperty)), None)
            if props
            else None
        )
        skip: set[int] = set()
        if to_table is not None and dataset_of(to_table.this) is not None:
            # ClickHouse CREATE MATERIALIZED VIEW mv TO t AS SELECT ...: the rows go to t, the view holds none
            skip.update({id(node), id(_unwrap_table(node))})
            node = to_table.this
        parent = (
            next((p for p in props.expressions if isinstance(p, exp.PartitionedOfProperty)), None)
            if props
            else None
        )
        if parent is not None:
            # PostgreSQL CREATE TABLE t PARTITION OF p FOR VALUES ...: a new, empty part of p (reads no row)
            skip.update(id(n) for n in parent.this.walk() if isinstance(n, exp.Table))
        res = self._write(tree, "create_" + (kind.lower() or "table"), [node], skip)
        target = dataset_of(node)
        if props is not None:
            for prop in props.expressions:
                # Teradata VOLATILE tables live for the session, like temporary ones
                volatile = isinstance(prop, exp.VolatileProperty) or (
                    isinstance(prop, exp.StabilityProperty) and prop.name.upper() == "VOLATILE"
                )
                if (isinstance(prop, exp.TemporaryProperty) or volatile) and target is not None:
                    res.temporary.append(target)
                if kind == "STAGE" and isinstance(prop, exp.Property) and ident(prop.this) == "url":
                    if isinstance(prop.args.get("value"), exp.Literal):
                        res.inputs.append(TableRef(prop.args["value"].this))
        like = (
            next((p for p in props.expressions if isinstance(p, exp.LikeProperty)), None) if props else None
        )
        source_like = dataset_of(like.this) if like is not None else None
        known_like = self.walker.schema_columns(source_like) if source_like is not None else None
        parent_table = dataset_of(parent.this) if parent is not None else None
        if known_like is None and parent_table is not None:
            known_like = self.walker.schema_columns(parent_table)  # a partition has the columns of p
        if target is not None and known_like:  # CREATE TABLE t LIKE s: the columns of s, no rows
            res.created_columns[target] = known_like
        table = _unwrap_table(node)
        if (
            isinstance(table, exp.Table)
            and isinstance(table.this, exp.Identifier)
            and table.this.args.get("temporary")
        ):
            if target is not None:
                res.temporary.append(target)
        names = self._target_names(node, target)
        if (
            names
            and target is not None
            and self.walker.dialect == "mysql"
            and isinstance(tree.expression, exp.Query)
            and isinstance(node, exp.Schema)
            and any(isinstance(c, exp.ColumnDef) for c in node.expressions)
        ):
            # MySQL CREATE TABLE t (a INT, ...) SELECT ...: SELECT columns match defined ones by name, the
            # others are added after them (a view's column list, CREATE VIEW v (a, b), names by position)
            res.columns = self._query_edges(target, None, tree.expression)
            written = [e.output.column for e in res.columns if e.output.column != "*"]
            defined = {n.lower() for n in names}
            res.created_columns[target] = names + [n for n in written if n.lower() not in defined]
        else:
            res.columns = self._query_edges(target, names, tree.expression, res.created_columns)
        files = _data_source_path(props) if target in res.temporary and tree.expression is None else None
        if target is not None and files is not None:
            # Spark CREATE TEMPORARY VIEW v [(cols)] USING parquet OPTIONS (path 's3://...') / LOCATION
            # '...': the view is the files (a script collapses it, so they are what its readers read)
            res.inputs.append(files)
            res.columns = [
                ColumnLineage(ColumnRef(target, c), (ColumnRef(files, c),), IDENTITY) for c in names or ["*"]
            ]
        clone = tree.args.get("clone")
        source = dataset_of(clone.this) if isinstance(clone, exp.Clone) else None
        if target is not None and source is not None:  # CLONE copies every column with its data
            known = self.walker.schema_columns(source)
            if known:
                res.created_columns[target] = known
            res.columns = [
                ColumnLineage(ColumnRef(target, c), (ColumnRef(source, c),), IDENTITY) for c in known or ["*"]
            ]
        copied = dataset_of(tree.expression) if isinstance(tree.expression, exp.Table) else None
        if target is not None and copied is not None and kind == "TABLE":
            # Teradata CREATE TABLE t AS s WITH [NO] DATA: a copy of s (its rows too, WITH DATA)
            known = self.walker.schema_columns(copied)
            if known:
                res.created_columns[target] = known
            res.columns = [
                ColumnLineage(ColumnRef(target, c), (ColumnRef(copied, c),), IDENTITY) for c in known or ["*"]
            ]
        no_data = any(
            isinstance(p, exp.WithDataProperty) and p.args.get("no")
            for p in (props.expressions if props else ())
        )
        if target is not None and no_data and kind == "TABLE":
            # CREATE TABLE t AS query WITH NO DATA (PostgreSQL, Redshift, Trino, Teradata): the query's
            # columns, no rows: like CREATE TABLE t LIKE s, the tables are read but no column edge is drawn
            res.columns = []
            self._rows = {k: v for k, v in self._rows.items() if k.output != target}
        return res

    def _cache(self, tree: exp.Cache) -> Result:
        """Spark ``CACHE [LAZY] TABLE c [OPTIONS (...)] AS query``: a temporary view ``c`` of the query (plain
        ``CACHE TABLE t`` moves no data)."""
        query = tree.args.get("expression")
        if not isinstance(query, exp.Query):
            return Result("cache")
        res = self._write(tree, "cache", [tree.this], set())
        target = dataset_of(tree.this)
        if target is not None:
            res.temporary.append(target)
            res.columns = self._query_edges(target, None, query, res.created_columns)
        return res

    def _scope_for(
        self, target_node: exp.Table, target: TableRef, tree: exp.Expression, sources: list[exp.Expression]
    ) -> Scope:
        srcs = [
            Source(
                _alias(target_node) or target.name,
                table=target,
                names=(target.name, target.qualified),
                node=id(target_node),
            )
        ]
        scope = Scope(srcs)
        for item in sources:
            src = self.walker.source(item, scope)
            if src is not None:
                srcs.append(src)
        return scope

    def _through_cte(self, tree: exp.Update | exp.Delete, base: exp.Table) -> Result:
        """UPDATE / DELETE of a CTE (T-SQL): the CTE's base table is written; the CTE's columns decide the
        rows, its other tables are read; ``SET c = ...`` writes the base column the CTE's ``c`` is."""
        kind = "update" if isinstance(tree, exp.Update) else "delete"
        res = self._write(tree, kind, [base], set())
        target = dataset_of(base)
        if target is None:
            return res
        pushed = self._with_ctes(tree)
        try:
            scope = Scope([])
            for item in [tree.this, *(c for c in _from_tables(tree) if c is not tree.this)]:
                src = self.walker.source(item, scope)
                if src is not None:
                    scope.sources.append(src)
            cte = scope.sources[0] if scope.sources else None
            if isinstance(tree, exp.Update) and cte is not None:
                for edge in self._set_edges(target, tree.expressions, scope):
                    col = cte.find(edge.output.column, False)
                    deps = list(col.deps) if col is not None and col.transformation == IDENTITY else []
                    name = (
                        deps[0].column if len(deps) == 1 and deps[0].table == target else edge.output.column
                    )
                    res.columns.append(
                        ColumnLineage(ColumnRef(target, name), edge.inputs, edge.transformation)
                    )
            self._shape_dml(target, tree, scope)
        finally:
            self.walker.pop_ctes(pushed)
        return res

    def _update(self, tree: exp.Update) -> Result:
        candidates = _from_tables(tree)
        target_node = (
            _resolve_target(tree.this, candidates) if isinstance(tree.this, exp.Table) else tree.this
        )
        base = _cte_base(target_node) if target_node is tree.this and self._dml_on_ctes else None
        if base is not None:
            return self._through_cte(tree, base)
        skip = {id(tree.this), id(target_node)}
        if isinstance(target_node, exp.Table):  # UPDATE t ... FROM t AS x JOIN s: the FROM t is the target
            same = table_ref(target_node)
            skip.update(id(c) for c in candidates if table_ref(c) == same)
        target = dataset_of(target_node)
        res = Result("update", inputs=read_tables(tree, skip), outputs=[target] if target else [])
        if target is None:
            return res
        pushed = self._with_ctes(tree)
        try:
            items: list[exp.Expression] = [c for c in candidates if c is not target_node]
            frm = tree.args.get("from_") or tree.args.get("from")
            if frm is not None:
                items += [i for i in [frm.this, *(frm.expressions or ())] if not isinstance(i, exp.Table)]
                for join in frm.this.args.get("joins") or ():
                    if not isinstance(join.this, exp.Table):
                        items.append(join.this)
            joined = [*(tree.args.get("joins") or ())]
            if isinstance(tree.this, exp.Table):  # MySQL UPDATE t JOIN (SELECT ...) s ON ... SET ...
                joined += tree.this.args.get("joins") or ()
            for join in joined:
                if not isinstance(join.this, exp.Table):
                    items.append(join.this)
            scope = self._scope_for(target_node, target, tree, items)
            written = self._set_targets(tree.expressions, scope, target)
            if all(t == target for t in written):
                scope.prefer = _joined_source(scope)
                res.columns = self._set_edges(target, tree.expressions, scope)
                scope.prefer = None
            else:  # MySQL multi-table UPDATE: each SET column names the table it writes
                self._multi_table_update(tree, res, written, scope)
            for table in dict.fromkeys(written):
                self._shape_dml(table, tree, scope)
        finally:
            self.walker.pop_ctes(pushed)
        return res

    def _set_targets(self, assignments: Sequence[Any], scope: Scope, target: TableRef) -> list[TableRef]:
        """The table each ``SET`` assignment writes: the dataset its column's qualifier names (MySQL
        ``UPDATE a JOIN b ... SET b.c = ...``), else the UPDATE's target."""
        out: list[TableRef] = []
        for eq in assignments:
            column = eq.this if isinstance(eq, exp.EQ | exp.PropertyEQ) else None
            table = column.args.get("table") if isinstance(column, exp.Column) else None
            src = self.walker.find_source(ident(table), False, scope) if table is not None else None
            out.append(src.table if src is not None and src.table is not None else target)
        return out

    def _multi_table_update(
        self, tree: exp.Update, res: Result, written: list[TableRef], scope: Scope
    ) -> None:
        """Outputs are the tables the SET clause writes; a written table is also an input when another
        written table's new values read it."""
        edges: list[ColumnLineage] = []
        for table in dict.fromkeys(written):
            mine = [eq for eq, t in zip(tree.expressions, written, strict=True) if t == table]
            edges.extend(self._set_edges(table, mine, scope))
        res.columns = edges
        res.outputs = list(dict.fromkeys(written))
        fed = {d.table for e in edges for d in e.inputs if d.table != e.output.table}
        res.inputs = [t for t in read_tables(tree, set()) if t not in res.outputs or t in fed]

    def _set_edges(self, target: TableRef, assignments: Sequence[Any], scope: Scope) -> list[ColumnLineage]:
        edges: list[ColumnLineage] = []
        for eq in assignments:
            if not isinstance(eq, exp.EQ | exp.PropertyEQ):
                continue
            if isinstance(eq.this, exp.Tuple):  # SET (a, b) = (SELECT x, y ...) / (x, y)
                edges.extend(self._tuple_edges(target, eq.this, eq.expression, scope))
                continue
            column = eq.this.this if isinstance(eq.this, exp.Paren) else eq.this  # PostgreSQL SET (v) = (...)
            if not isinstance(column, exp.Column):
                continue
            deps, how = self.walker.deps_and_how(eq.expression, scope)
            if deps:
                edges.append(
                    ColumnLineage(ColumnRef(target, ident(column.this)), tuple(sorted(deps, key=str)), how)
                )
        return edges

    def _tuple_edges(self, target: TableRef, names: Any, values: Any, scope: Scope) -> list[ColumnLineage]:
        """``(a, b) = (SELECT x, y ...)`` or ``(a, b) = (x, y)``: edges by position."""
        columns = [c for c in names.expressions if isinstance(c, exp.Column)]
        if isinstance(values, exp.Subquery | exp.Query):
            outs = self.walker.query_columns(values, scope)
            return [
                ColumnLineage(
                    ColumnRef(target, ident(c.this)), tuple(sorted(o.deps, key=str)), o.transformation
                )
                for c, o in zip(columns, outs, strict=False)
                if o.deps
            ]
        if isinstance(values, exp.Tuple | exp.Paren):
            items = values.expressions if isinstance(values, exp.Tuple) else [values.this]
            pairs = [exp.EQ(this=c, expression=v) for c, v in zip(columns, items, strict=False)]
            return self._set_edges(target, pairs, scope)
        return []

    def _delete(self, tree: exp.Delete) -> Result:
        listed = tree.args.get("tables") or []
        if (
            not isinstance(tree.this, exp.Expression)
            and len(listed) == 1
            and isinstance(listed[0], exp.Table)
        ):
            # DELETE t WHERE ... (T-SQL, Oracle: FROM is optional) is DELETE FROM t, also of a CTE
            tree.set("this", listed[0].pop())
            tree.set("tables", None)
        base = _cte_base(tree.this) if self._dml_on_ctes and not tree.args.get("tables") else None
        if base is not None:
            return self._through_cte(tree, base)
        candidates = _from_tables(tree)
        if isinstance(tree.this, exp.Table):
            candidates.insert(0, tree.this)
        targets = list(tree.args.get("tables") or []) or [tree.this]
        skip: set[int] = set()
        nodes: list[exp.Expression] = []
        for t in targets:
            if not isinstance(t, exp.Table):
                continue
            resolved = _resolve_target(t, candidates)
            if resolved is t:
                same = [
                    c for c in candidates if c is not t and not _alias(c) and table_ref(c) == table_ref(t)
                ]
                skip.update(id(c) for c in same)
            skip.update({id(t), id(resolved)})
            nodes.append(resolved)
        res = self._write(tree, "delete", nodes, skip)
        node = nodes[0] if len(nodes) == 1 else None
        target = dataset_of(node) if isinstance(node, exp.Table) else None
        if isinstance(node, exp.Table) and target is not None:  # which rows: WHERE and the joined tables
            pushed = self._with_ctes(tree)
            try:
                others: list[exp.Expression] = [c for c in candidates if c is not node and c is not tree.this]
                others += _derived_joins(tree)  # DELETE t FROM t JOIN (SELECT ...) s ON ...
                self._shape_dml(target, tree, self._scope_for(node, target, tree, others))
            finally:
                self.walker.pop_ctes(pushed)
        return res

    def _merge(self, tree: exp.Merge) -> Result:
        shown = self._into_cte_base(tree)
        target_node = tree.this
        res = self._write(tree, "merge", [target_node], set())
        target = dataset_of(target_node)
        if target is None or not isinstance(target_node, exp.Table):
            return res
        if shown:
            self._shape(target, shown)
        pushed = self._with_ctes(tree)
        try:
            using = tree.args.get("using")
            scope = self._scope_for(target_node, target, tree, [using] if using is not None else [])
            self._shape_dml(target, tree, scope)
            whens = tree.args.get("whens")
            for when in (whens.expressions if whens is not None else tree.expressions) or ():
                then = when.args.get("then")
                star = isinstance(then, exp.Update) and any(isinstance(e, exp.Star) for e in then.expressions)
                # INSERT * (Databricks) and INSERT ROW (BigQuery): every source column
                every = isinstance(then, exp.Insert) and (
                    isinstance(then.this, exp.Star)
                    or (isinstance(then.this, exp.Var) and then.this.name.upper() == "ROW")
                )
                if star or every:
                    source = scope.sources[1] if len(scope.sources) > 1 else None
                    res.columns.extend(self._star_edges(target, source))
                elif isinstance(then, exp.Update):
                    scope.prefer = _joined_source(scope)
                    res.columns.extend(self._set_edges(target, then.expressions, scope))
                    scope.prefer = None
                elif isinstance(then, exp.Insert):
                    cols: list[Any] = (
                        list(then.this.expressions) if isinstance(then.this, exp.Tuple | exp.Schema) else []
                    )
                    if not cols:  # INSERT VALUES (...) without a column list: the target's columns
                        cols = [exp.column(n) for n in self.walker.schema_columns(target) or ()]
                    vals = then.expression.expressions if isinstance(then.expression, exp.Tuple) else []
                    pairs = [
                        exp.EQ(this=c if isinstance(c, exp.Column) else exp.column(c), expression=v)
                        for c, v in zip(cols, vals, strict=False)
                    ]
                    # WHEN NOT MATCHED: there is no target row, the values read the source only
                    res.columns.extend(self._set_edges(target, pairs, Scope(scope.sources[1:])))
        finally:
            self.walker.pop_ctes(pushed)
        return res

    def _star_edges(self, target: TableRef, source: Source | None) -> list[ColumnLineage]:
        """``MERGE ... UPDATE SET * / INSERT *``: every source column into the same-named target column."""
        if source is None:
            return []
        into = self.walker.schema_columns(target)
        if into is not None:
            # Delta: UPDATE SET * / INSERT * set every column of the target from the source's column of that
            # name (the source's other columns are not written)
            known = self.walker.known_columns(source)
            if (
                known is not None
                and source.columns is not None
                and any(c.name == "*" for c in source.columns)
            ):
                known = None
            held = {k.lower() for k in known} if known is not None else None
            inner = Scope([source])
            cols = []
            for name in into:
                if held is None or name.lower() in held:
                    deps, how = self.walker.deps_and_how(exp.column(name, table=source.alias), inner)
                    cols.append(OutCol(name, frozenset(deps), how))
            return column_edges(target, None, cols)
        if source.columns is not None:
            cols = source.columns
        elif source.table is not None:
            names = self.walker.schema_columns(source.table) or ["*"]
            cols = [OutCol(n, frozenset({ColumnRef(source.table, n)}), IDENTITY) for n in names]
        else:
            return []
        return column_edges(target, None, cols)

    def _multitableinserts(self, tree: exp.Expression) -> Result:
        """Oracle ``INSERT ALL INTO t1 ... INTO t2 ... SELECT ...`` and Hive ``FROM src INSERT ... SELECT ...
        INSERT ... SELECT ...`` (each SELECT reads the shared FROM item)."""
        branches = [c if isinstance(c, exp.Insert) else c.this for c in tree.expressions]
        inserts = [i for i in branches if isinstance(i, exp.Insert)]
        res = self._write(tree, "insert", [i.this for i in inserts], set())
        source: Any = tree.args.get("source") or tree.expression
        if any(isinstance(i.expression, exp.Select) for i in inserts) and isinstance(
            source, exp.Table | exp.Subquery
        ):
            for ins in inserts:
                target = dataset_of(ins.this)
                select = ins.expression
                if target is None or not isinstance(select, exp.Select):
                    continue
                if not select.args.get("from_"):
                    select = select.copy()
                    select.set("from_", exp.From(this=source.copy()))
                    shared = tree.args.get("with_")
                    if shared is not None and not select.args.get("with_"):
                        # WITH x AS (...) FROM x INSERT ...: every branch sees the statement's CTEs
                        select.set("with_", shared.copy())
                names = _partitioned_names(ins.this, self._target_names(ins.this, target))
                res.columns.extend(self._query_edges(target, names, select))
            return res
        if not isinstance(source, exp.Query | exp.Subquery):
            return res
        selected = self.walker.query_columns(source)
        scope = Scope([Source("", columns=selected)])
        rows = set(self.walker.last_rows)  # the source query's WHERE ... decides every target's rows
        first = str(tree.args.get("kind") or "").upper() == "FIRST"
        conditions: set[tuple[ColumnRef, str]] = set()  # the WHEN conditions of the branches so far
        for branch in tree.expressions:
            condition = branch.args.get("expression") if isinstance(branch, exp.ConditionalInsert) else None
            own = set(self.walker.rows_of(condition, scope, FILTER)) if condition is not None else set()
            conditions |= own
            ins = branch if isinstance(branch, exp.Insert) else branch.this
            target = dataset_of(ins.this) if isinstance(ins, exp.Insert) else None
            if target is None:
                continue
            # INSERT ALL: a branch's own WHEN; INSERT FIRST: the ones before it too; ELSE: every WHEN
            decided = conditions if first or branch.args.get("else_") else own
            self._shape(target, frozenset(rows | decided))
            values = ins.expression
            if values is None:  # INTO t [(cols)] without VALUES: the source's columns, by position
                names = self._target_names(ins.this, target)
                star = any(c.name == "*" for c in selected)
                res.columns.extend(column_edges(target, None if star else names, selected))
                continue
            if not isinstance(values, exp.Values) or not values.expressions:
                continue
            row = values.expressions[0].expressions
            # no column list: the target's known columns, else the names of the values (INTO t VALUES (x))
            names = self._target_names(ins.this, target) or [
                ident(v.this) if isinstance(v, exp.Column) else "" for v in row
            ]
            pairs = [exp.EQ(this=exp.column(n), expression=v) for n, v in zip(names, row, strict=False) if n]
            res.columns.extend(self._set_edges(target, pairs, scope))
        return res

    def _declare(self, tree: exp.Expression) -> Result:
        """``DECLARE a, b INT64 DEFAULT (SELECT ...)``: names that later statements read as variables."""
        res = Result("declare", inputs=read_tables(tree, set()))
        for item in tree.expressions:
            names = item.this if isinstance(item.this, list) else [item.this]
            res.variables.extend(ident(n) for n in names if isinstance(n, exp.Identifier))
            kind = item.args.get("kind")
            if isinstance(kind, exp.Schema):  # T-SQL DECLARE @t TABLE (a INT, ...): its columns, in order
                columns = [ident(c.this) for c in kind.expressions if isinstance(c, exp.ColumnDef)]
                for name in names:
                    if isinstance(name, exp.Parameter) and isinstance(name.this, exp.Var) and columns:
                        res.created_columns[TableRef("@" + name.this.name)] = columns
        return res

    def _export(self, tree: exp.Export) -> Result:
        """BigQuery ``EXPORT DATA OPTIONS (uri = '...') AS SELECT ...``."""
        uri = None
        options = tree.args.get("options")
        for prop in options.expressions if options is not None else ():
            if isinstance(prop, exp.Property) and ident(prop.this) == "uri":
                value = prop.args.get("value")
                uri = TableRef(value.this) if isinstance(value, exp.Literal) else None
        connection = tree.args.get("connection")  # WITH CONNECTION `p.us.c`: credentials, no dataset
        skip: set[int] = set()
        if isinstance(connection, exp.Expression):
            skip = {id(n) for n in connection.find_all(exp.Table)}
        res = Result("export", inputs=read_tables(tree, skip), outputs=[uri] if uri else [])
        res.columns = self._query_edges(uri, None, tree.this) if uri else []
        return res

    def _loaddata(self, tree: exp.Expression) -> Result:
        """BigQuery ``LOAD DATA [OVERWRITE|INTO] t FROM FILES (uris = [...])``, Hive ``LOAD DATA INPATH``."""
        files: list[TableRef] = []
        inpath = tree.args.get("inpath")
        if isinstance(inpath, exp.Literal) and inpath.is_string:
            files.append(TableRef(inpath.this))
        options = tree.args.get("files")
        for prop in options.expressions if isinstance(options, exp.Properties) else ():
            if isinstance(prop, exp.Property) and ident(prop.this) == "uris":
                value = prop.args.get("value")
                items = value.expressions if isinstance(value, exp.Array) else [value]
                files.extend(TableRef(i.this) for i in items if isinstance(i, exp.Literal) and i.is_string)
        target = dataset_of(tree.this)
        res = Result("load", inputs=list(dict.fromkeys(files)), outputs=[target] if target else [])
        if target is not None and tree.args.get("temp"):  # BigQuery LOAD DATA INTO TEMP TABLE t
            res.temporary.append(target)
        return res

    def _drop(self, tree: exp.Drop) -> Result:
        kind = str(tree.args.get("kind") or "").upper()
        if kind not in ("TABLE", "VIEW", "MATERIALIZED VIEW", "EXTERNAL TABLE", "DYNAMIC TABLE", "STAGE"):
            return Result("drop")
        tables = list(tree.args.get("tables") or []) or [tree.this]
        res = self._write(tree, "drop", tables, set())
        res.dropped = list(res.outputs)
        return res

    def _undrop(self, tree: exp.Expression) -> Result:
        """Snowflake ``UNDROP TABLE t``: t is back, with its rows (a write of t, as its DROP was)."""
        if "TABLE" not in str(tree.args.get("kind") or "").upper():
            return Result("undrop")  # UNDROP SCHEMA|DATABASE: no dataset named
        return self._write(tree, "undrop", [tree.this], set())

    def _truncatetable(self, tree: exp.TruncateTable) -> Result:
        return self._write(tree, "truncate", list(tree.expressions), set())

    def _alter(self, tree: exp.Alter) -> Result:
        node = tree.this
        res = self._write(tree, "alter", [node], set())
        source = dataset_of(node)
        actions = tree.args.get("actions") or []
        if (
            str(tree.args.get("kind") or "").upper() == "VIEW"
            and len(actions) == 1
            and isinstance(actions[0], exp.Query)
        ):
            # T-SQL / MySQL ALTER VIEW v [(cols)] AS query: the view's new query, as CREATE VIEW maps it
            names = [ident(c) for c in node.expressions] if isinstance(node, exp.Schema) else None
            res.columns = self._query_edges(source, names or None, actions[0], res.created_columns)
            return res
        for action in actions:
            if isinstance(action, exp.Delete) and source is not None and isinstance(node, exp.Table):
                # ClickHouse ALTER TABLE t DELETE WHERE ...: the WHERE decides the rows removed
                self._shape_dml(source, action, self._scope_for(node, source, tree, []))
            if isinstance(action, exp.AlterRename):
                new = dataset_of(action.this)
                if new is not None and source is not None:
                    if not new.schema and source.schema:
                        new = TableRef(new.name, source.schema, source.database)
                    res.inputs = [source]
                    res.outputs = [new]
                    res.renamed.append(source)
                    known = self.walker.schema_columns(source)
                    if known:
                        res.created_columns[new] = known
                    res.columns = [
                        ColumnLineage(ColumnRef(new, c), (ColumnRef(source, c),), IDENTITY)
                        for c in known or ["*"]
                    ]
            elif isinstance(action, exp.SwapTable):
                other = dataset_of(action.this)
                if other is not None and source is not None:
                    res.inputs = [source, other]
                    res.outputs = [source, other]
                    res.columns = [  # each takes the other's rows
                        ColumnLineage(ColumnRef(a, "*"), (ColumnRef(b, "*"),), IDENTITY)
                        for a, b in ((source, other), (other, source))
                        if a != b
                    ]
        return res

    def _copy(self, tree: exp.Copy) -> Result:
        this = tree.this
        files = list(tree.args.get("files") or [])
        # COPY t (a, b) FROM ...: the table inside the column list is the target, not something read
        skip = {id(this), id(_unwrap_table(this)), *(id(f) for f in files)}
        reads = read_tables(tree, skip)
        here = [t for t in [dataset_of(this)] if t is not None]
        there = [t for t in (dataset_of(f) for f in files) if t is not None]
        if tree.args.get("kind"):  # COPY [INTO] x FROM files | (SELECT ... FROM files)
            res = Result("copy", inputs=list(dict.fromkeys(there + reads)), outputs=here)
            query = next((f for f in files if isinstance(f, exp.Subquery | exp.Query)), None)
            if here and query is not None:
                pushed = self._with_ctes(tree)
                try:
                    res.columns = self._query_edges(here[0], self._target_names(this, here[0]), query)
                finally:
                    self.walker.pop_ctes(pushed)
            elif (
                here
                and there
                and isinstance(this, exp.Expression)
                and path_of(_unwrap_table(this) or this) is not None
                and not any(path_of(f) for f in files)
            ):  # Snowflake COPY INTO @stage FROM table: an unload of every column
                names = self.walker.schema_columns(there[0]) or ["*"]
                res.columns = [
                    ColumnLineage(ColumnRef(here[0], c), (ColumnRef(there[0], c),), IDENTITY) for c in names
                ]
            return res
        if isinstance(this, exp.Subquery | exp.Query):  # COPY (SELECT ...) TO file: like EXPORT DATA
            res = Result("copy", inputs=reads, outputs=there)
            if there:
                res.columns = self._query_edges(there[0], None, this)
            return res
        res = Result("copy", inputs=list(dict.fromkeys(here + reads)), outputs=there)
        if here and there:  # COPY t TO file: every column of t, as the table holds them
            names = self.walker.schema_columns(here[0]) or ["*"]
            res.columns = [
                ColumnLineage(ColumnRef(there[0], c), (ColumnRef(here[0], c),), IDENTITY) for c in names
            ]
        return res

    def _use(self, tree: exp.Use) -> Result:
        res = Result("use")
        node = tree.this
        if isinstance(node, exp.Table):
            parts = [
                ident(p) for p in (node.args.get("catalog"), node.args.get("db"), node.this) if p is not None
            ]
            parts = [p for p in parts if p]
            res.use_kind = str(tree.args.get("kind") or "").upper()
            if res.use_kind not in _USE_NAMESPACE_KINDS:  # Snowflake USE ROLE r / USE WAREHOUSE w
                return res
            if len(parts) >= 2:
                res.use = (parts[-2], parts[-1])
            elif parts:
                res.use = (parts[0], None)
        return res

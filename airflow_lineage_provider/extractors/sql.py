"""Lineage of SQL operators: every operator built on common.sql's ``BaseSQLOperator`` (and look-alikes).

The connection's hook decides everything database-specific: the dialect the SQL is parsed with
(``sql.dialect_for_conn_type``), the namespace and names of datasets (``naming``), the default database and
schema, and how table schemas are read (``extractors.schema``). Per event the extractor:

1. reads the operator's rendered SQL (templates are rendered before the START event),
2. analyses it (``sql.analyze``) within the ``[lineage_provider] extraction_timeout`` budget,
3. on START uses only schemas already cached; on COMPLETE/FAIL does at most ONE metadata query covering
   every referenced table not cached plus the tables the task wrote (so created tables get their schema),
4. returns input/output datasets with ``schema`` facets (where the columns are known from the database) and
   ``columnLineage`` facets on outputs, a redacted ``sql`` job facet, and an ``sqlExtraction`` run facet
   (status ok/partial/failed with the reasons) on every event.

With ``[lineage_provider] emit_asset_events`` the outputs are also published as Airflow asset events through
the ``lineage_provider_sql_outputs`` asset alias (see :mod:`airflow_lineage_provider.extractors.assets`).
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import logging
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import attrs
from openlineage.client.facet_v2 import RunFacet

from airflow_lineage_provider import conf
from airflow_lineage_provider.extractors.base import BaseExtractor, OperatorLineage, warn_once
from airflow_lineage_provider.extractors.budget import Budget, BudgetExceeded, call_with_timeout

if TYPE_CHECKING:
    from openlineage.client.event_v2 import InputDataset, OutputDataset

    from airflow_lineage_provider.extractors.schema import Columns
    from airflow_lineage_provider.naming import DatasetId
    from airflow_lineage_provider.sql import SqlLineage, TableRef

log = logging.getLogger(__name__)

FACET_KEY = "sqlExtraction"
#: SQL up to this size is analysed inline (milliseconds); longer SQL in a thread bounded by the budget
INLINE_ANALYSIS_CHARS = 20_000
#: the share of the extraction budget the SQL analysis may use; the rest builds the event from what it found
_ANALYSIS_SHARE = 0.8
#: bytes of SQL the ``sql`` facet's redaction gets through per second (measured 3-4 MB/s on a loaded 2-core
#: machine; taken lower): the analysis leaves that much of the budget for it
_REDACTION_BYTES_PER_SECOND = 2_500_000


@attrs.define
class SqlExtractionRunFacet(RunFacet):
    """How SQL lineage extraction went for this event: ``status`` ok / partial / failed, and why."""

    status: str
    reasons: list[str] = attrs.field(factory=list)
    dialect: str | None = None
    statements: int = 0
    schemaSource: str = "none"  # database | cache | disabled | none
    metadataRoundTrips: int = 0
    durationMs: float = 0.0

    @staticmethod
    def _get_schema() -> str:  # the JSON Schema is schemas/SqlExtractionRunFacet.json in this repository
        return f"{_producer()}/schemas/SqlExtractionRunFacet.json#/$defs/SqlExtractionRunFacet"


def _producer() -> str:
    from airflow_lineage_provider import PRODUCER

    return str(PRODUCER)


def rendered_sql(operator: Any) -> str:
    """The operator's (rendered) SQL as one script; '' when it has none."""
    sql = getattr(operator, "sql", None)
    if isinstance(sql, str):
        return sql.strip()
    if isinstance(sql, Sequence):
        parts = [part.strip().rstrip(";") for part in sql if isinstance(part, str) and part.strip()]
        return ";\n".join(parts)
    return ""


def hook_defaults(hook: Any, conn: Any) -> tuple[str | None, str | None]:
    """(database, schema) unqualified names resolve to, honouring an operator's ``database`` override and
    a ``search_path`` in the hook's own ``options`` (``hook_params``)."""
    from airflow_lineage_provider.naming import default_database_schema, search_path_schema, source_kind

    database, schema = default_database_schema(conn)
    kind = source_kind(getattr(conn, "conn_type", None))
    options = getattr(hook, "options", None)  # PostgresHook(options=...), e.g. through hook_params
    if kind in ("postgres", "redshift") and isinstance(options, str):
        schema = search_path_schema(options) or schema
    override = getattr(hook, "database", None) if kind == "postgres" else None
    if kind != "postgres" and getattr(hook, "schema", None) and isinstance(hook.schema, str):
        override = hook.schema
    if isinstance(override, str) and override:
        if kind in ("mysql", "hive", "teradata"):  # two-level sources: the database plays the schema part
            return None, override
        if kind != "sqlite":
            return override, schema
    return database, schema


def _analyze_plain(
    sql: str, dialect: str | None, database: str | None, schema: str | None, deadline: float | None
) -> SqlLineage:
    """Schema-less analysis, memoised for SQL up to 64 KB: START and COMPLETE of a task parse it once.

    A result cut short by ``deadline`` is not memoised (the next event tries again with its own budget).
    """
    from airflow_lineage_provider.sql import analyze

    key = (sql, dialect, database, schema)
    memo = len(sql) <= _MEMO_MAX_CHARS  # keep the memo small: huge scripts are rare, re-parsing them bounded
    if memo:
        with _memo_lock:
            if key in _memo:
                _memo.move_to_end(key)
                return _memo[key]
    result = analyze(sql, dialect, default_database=database, default_schema=schema, deadline=deadline)
    if memo and not result.stopped_early:
        with _memo_lock:
            _memo[key] = result
            while len(_memo) > _MEMO_SIZE:
                _memo.popitem(last=False)
    return result


_MEMO_MAX_CHARS = 65_536
_MEMO_SIZE = 64
_memo: collections.OrderedDict[tuple[str, str | None, str | None, str | None], SqlLineage] = (
    collections.OrderedDict()
)
_memo_lock = threading.Lock()


@functools.cache
def load_engine() -> None:
    """Import the SQL engine (and sqlglot) once per process, before any budget starts ticking."""
    import airflow_lineage_provider.sql.engine  # noqa: F401


def _column_mapping(columns: Mapping[str, Columns]) -> dict[str, dict[str, str]]:
    return {key: {col.name: col.type or "" for col in cols} for key, cols in columns.items()}


@attrs.define
class _Source:
    """What the hook tells about where the SQL runs."""

    hook: Any
    conn: Any
    conn_type: str | None
    dialect: str | None
    database: str | None
    schema: str | None
    connection_key: str


def source_for_hook(hook: Any) -> _Source:
    """Dialect, defaults and cache key of the connection behind a DbApiHook."""
    from airflow_lineage_provider.naming import namespace_for_connection
    from airflow_lineage_provider.sql import dialect_for_conn_type

    conn = getattr(hook, "connection", None) or hook.get_connection(hook.get_conn_id())
    conn_type = getattr(conn, "conn_type", None) or getattr(hook, "conn_type", None)
    database, schema = hook_defaults(hook, conn)
    return _Source(
        hook=hook,
        conn=conn,
        conn_type=conn_type,
        dialect=dialect_for_conn_type(conn_type),
        database=database,
        schema=schema,
        connection_key=f"{getattr(conn, 'conn_id', '')}|{namespace_for_connection(conn)}",
    )


class SqlExtractor(BaseExtractor):
    """For operators built on common.sql (``BaseSQLOperator``) or anything with a DbApiHook and SQL."""

    operator_class_names: ClassVar[tuple[str, ...]] = ("BaseSQLOperator",)

    @classmethod
    def can_extract(cls, operator: Any) -> bool:
        if super().can_extract(operator):  # the common.sql family, whatever methods it overrides
            return True
        if _has_own_lineage_methods(operator):
            return False
        return callable(getattr(operator, "get_db_hook", None)) and (
            isinstance(getattr(operator, "sql", None), (str, list, tuple))
        )

    def extract_on_start(self, context: Any) -> OperatorLineage | None:
        lineage = self._extract(terminal=False)
        if lineage is not None and lineage.outputs and conf.emit_asset_events():
            from airflow_lineage_provider.extractors.assets import publish_outputs

            publish_outputs(self.operator, context, lineage.outputs)
        return lineage

    def extract_on_complete(self, context: Any, task_instance: Any) -> OperatorLineage | None:
        return self._extract(terminal=True)

    def extract_on_failure(
        self, context: Any, task_instance: Any, error: BaseException | str | None
    ) -> OperatorLineage | None:
        return self._extract(terminal=True)

    # --- the work --------------------------------------------------------------------------------------

    def _extract(self, *, terminal: bool) -> OperatorLineage | None:
        sql = rendered_sql(self.operator)
        table = getattr(self.operator, "table", None) or getattr(self.operator, "table_name", None)
        if not sql and not isinstance(table, str):
            return None
        load_engine()
        status = Status(self.operator)
        try:  # the hook is the operator's own (it runs the SQL with it): creating it is not lineage time
            source = source_for_hook(self.operator.get_db_hook())
        except Exception as exc:
            status.fail(f"cannot resolve the connection's hook: {type(exc).__name__}: {str(exc)[:200]}")
            status.warn(None)
            return OperatorLineage(
                run_facets={"extractionError": status.error_facet(), FACET_KEY: status.facet(Budget(0), None)}
            )
        budget = Budget(conf.extraction_timeout())
        if not sql:  # row-insert / bulk-load operators: the named table is the output
            return self._table_output(source, str(table), status, budget)
        lineage = Extraction(source, sql, budget, status, terminal=terminal).run()
        if terminal:  # a check operator's results exist once it ran (also when a check failed it)
            self._attach_checks(lineage, source)
        return lineage

    def _attach_checks(self, lineage: OperatorLineage, source: _Source) -> None:
        from airflow_lineage_provider.extractors import checks
        from airflow_lineage_provider.naming import dataset_for_table
        from airflow_lineage_provider.sql.redact import redact_sql

        found = checks.outcomes(self.operator)
        if not found:
            return

        def resolve(table: str) -> DatasetId | None:
            try:
                return dataset_for_table(
                    source.conn, table, default_database=source.database, default_schema=source.schema
                )
            except ValueError:
                return None

        def redact(text: str) -> str:
            return redact_sql(text, mask_literals=conf.mask_sql_literals())

        try:
            checks.attach(lineage, found, resolve, redact=redact, producer=_producer())
        except Exception as exc:  # lineage only: the event goes out without them
            log.warning("lineage: check results of %s not attached: %s", self.operator.task_id, exc)

    def _table_output(self, source: _Source, table: str, status: Status, budget: Budget) -> OperatorLineage:
        from openlineage.client.event_v2 import OutputDataset

        from airflow_lineage_provider.naming import dataset_for_table

        schema = getattr(self.operator, "schema", None)
        qualified = f"{schema}.{table}" if isinstance(schema, str) and schema and "." not in table else table
        ident = dataset_for_table(
            source.conn, qualified, default_database=source.database, default_schema=source.schema
        )
        return OperatorLineage(
            outputs=[OutputDataset(namespace=ident.namespace, name=ident.name)],
            run_facets={FACET_KEY: status.facet(budget, source.dialect)},
        )


def _has_own_lineage_methods(operator: Any) -> bool:
    """True when a look-alike (not a BaseSQLOperator) has its own OpenLineage methods: defer to them."""
    for name in ("get_openlineage_facets_on_start", "get_openlineage_facets_on_complete"):
        method = getattr(type(operator), name, None)
        module = getattr(method, "__module__", "") or ""
        if method is not None and not module.startswith("airflow.providers.common.sql"):
            return True
    return False


#: a parser error quoting a piece of the SQL (sqlglot: ``Error tokenizing '<some characters>'``): cut off
#: mid-literal, the piece defeats redaction (a secret whose keyword fell before the cut, half a literal)
_QUOTED_SQL_IN_ERROR = re.compile(r"(?P<head>Error tokenizing)\s+'.*'", re.DOTALL)


def redact_message(text: str) -> str:
    """An error text fit for an event or a log line: driver and parser errors quote DSNs and SQL, so the
    quoted SQL is dropped (the ``sql`` facet has it, redacted), and credentials are redacted as in the ``sql``
    facet (literals masked too with ``mask_sql_literals``)."""
    from airflow_lineage_provider.sql.redact import redact_sql

    text = _QUOTED_SQL_IN_ERROR.sub(lambda m: f"{m.group('head')} the statement", text)
    return redact_sql(text, mask_literals=conf.mask_sql_literals())


class Status:
    """Accumulates the outcome of one extraction into the ``sqlExtraction`` facet."""

    def __init__(self, owner: Any = None) -> None:
        #: the operator whose task this extraction is for: its warning line is logged once per task
        self.owner = owner
        self.reasons: list[str] = []
        #: the reasons that are errors (lookup failed, budget spent ...), not limits of a source: they also go
        #: into the ``extractionError`` facet and the one warning line
        self.errors: list[str] = []
        self.failed = False
        self.partial = False
        self.schema_source = "none"
        self.round_trips = 0
        self.statements = 0

    def fail(self, reason: str) -> None:
        self.failed = True
        self.errors.append(self._add(reason))

    def degrade(self, reason: str, *, error: bool = False) -> None:
        self.partial = True
        added = self._add(reason)
        if error:
            self.errors.append(added)

    def _add(self, reason: str) -> str:
        safe = " ".join(redact_message(reason).split())  # one line: driver messages span several (libpq)
        self.reasons.append(safe)
        return safe

    def error_facet(self, statement_errors: Sequence[Any] = (), total: int = 1) -> Any:
        """The ``extractionError`` facet for the statements that failed and this status's errors."""
        from openlineage.client.facet_v2 import extraction_error_run as ee

        errors = [*statement_errors, *(ee.Error(errorMessage=e[:1000], stackTrace=None) for e in self.errors)]
        return ee.ExtractionErrorRunFacet(
            totalTasks=max(total + len(self.errors), 1),
            failedTasks=max(len(errors), 1),
            errors=errors,
            producer=_producer(),
        )

    def warn(self, dialect: str | None) -> None:
        """The one warning line of an extraction that met errors (none when it met none)."""
        if self.errors:
            warn_once(
                log,
                self.owner,
                "lineage: SQL extraction (%s) incomplete: %s",
                dialect or "?",
                "; ".join(self.errors)[:1000],
            )

    def facet(self, budget: Budget, dialect: str | None) -> SqlExtractionRunFacet:
        status = "failed" if self.failed else "partial" if self.partial else "ok"
        return SqlExtractionRunFacet(
            status=status,
            reasons=self.reasons[:20],
            dialect=dialect,
            statements=self.statements,
            schemaSource=self.schema_source,
            metadataRoundTrips=self.round_trips,
            durationMs=round(budget.elapsed_ms(), 3),
            producer=_producer(),
        )


class Extraction:
    """One extraction: analyse, look schemas up, build datasets and facets."""

    def __init__(self, source: _Source, sql: str, budget: Budget, status: Status, *, terminal: bool) -> None:
        self.source = source
        self.sql = sql
        self.budget = budget
        self.status = status
        self.terminal = terminal
        self._ids: dict[TableRef, DatasetId] = {}
        self._moved: dict[str, TableRef] = {}  # tables the search path resolves elsewhere (schema lookup)

    def run(self) -> OperatorLineage:
        source, status = self.source, self.status
        lineage = self._analyze(None)
        columns: dict[str, Columns] = {}
        if lineage is not None and lineage.stopped_early:
            lineage = self._cut_short(lineage)
        elif lineage is not None:
            columns = self._schemas(lineage)
            spent = "extraction budget spent before the schemas could be applied"
            if columns and self.budget.expired:
                status.degrade(spent, error=True)
            elif columns:
                with_columns = self._analyze(columns)  # None: over budget, and said so
                if with_columns is not None and with_columns.stopped_early:
                    status.degrade(spent, error=True)  # all statements' tables beat some statements' columns
                elif with_columns is not None:
                    lineage = with_columns
        if lineage is None:
            status.warn(source.dialect)
            return OperatorLineage(
                job_facets=self._job_facets(),
                run_facets={
                    "extractionError": status.error_facet(),
                    FACET_KEY: status.facet(self.budget, source.dialect),
                },
            )
        status.statements = len(lineage.statements)
        for error in lineage.errors:
            status.degrade(error[:300])
        if lineage.partial and not lineage.errors:
            status.degrade("some statements were analysed at table level only")
        if not lineage.statements and not (lineage.inputs or lineage.outputs):
            if lineage.errors or status.errors:  # none parsed, or the budget ran out before the first
                status.fail("no statement could be analysed")
            else:  # comments or empty statements only (a load moved elsewhere): nothing read or written
                status.reasons.append("no SQL statement: only comments or empty statements")
        inputs, outputs = self._datasets(lineage, columns)
        job_facets = self._job_facets()
        run_facets: dict[str, Any] = {}
        if lineage.errors or status.errors:
            run_facets["extractionError"] = self._error_facet(lineage)
        status.warn(source.dialect)
        run_facets[FACET_KEY] = status.facet(self.budget, source.dialect)  # last: durationMs covers all
        return OperatorLineage(inputs=inputs, outputs=outputs, run_facets=run_facets, job_facets=job_facets)

    def _cut_short(self, lineage: SqlLineage) -> SqlLineage:
        """The lineage of the statements analysed before the budget's share for analysis ran out: the
        engine's note becomes a budget error of the extraction (it also reaches the warning line)."""
        stopped = lineage.errors[-1]  # the engine adds its note last
        self.status.degrade(f"{stopped} (extraction budget {conf.extraction_timeout()}s)", error=True)
        partial = any(statement.partial for statement in lineage.statements)  # said above, if not by these
        return dataclasses.replace(lineage, errors=lineage.errors[:-1], partial=partial)

    def _analyze(self, columns: Mapping[str, Columns] | None) -> SqlLineage | None:
        from airflow_lineage_provider.sql import analyze

        source = self.source
        # the analysis stops between statements at this point of the budget, so that what it found still
        # makes the event (and its thread does not go on competing with the task for the GIL)
        deadline = min(self.budget.at(_ANALYSIS_SHARE), self.budget.deadline - self._redaction_seconds())
        if columns:
            mapping = _column_mapping(columns)

            def work() -> SqlLineage:
                return analyze(
                    self.sql,
                    source.dialect,
                    default_database=source.database,
                    default_schema=source.schema,
                    schema=mapping,
                    deadline=deadline,
                )
        else:

            def work() -> SqlLineage:
                return _analyze_plain(self.sql, source.dialect, source.database, source.schema, deadline)

        if len(self.sql) <= INLINE_ANALYSIS_CHARS:  # a few ms: no thread (and no GIL hand-offs) needed
            return work()
        try:
            return call_with_timeout(work, self.budget.remaining(), name="lineage-sql-analysis")
        except BudgetExceeded:
            reason = f"SQL analysis exceeded the extraction budget ({conf.extraction_timeout()}s)"
            if columns:
                self.status.degrade(reason + "; column lineage without table schemas", error=True)
            else:
                self.status.fail(reason)
            return None

    def _schemas(self, lineage: SqlLineage) -> dict[str, Columns]:
        from airflow_lineage_provider.extractors import schema

        source, status = self.source, self.status
        tables = [t for t in (*lineage.inputs, *lineage.outputs) if _location(source.conn, t) is None]
        if not tables:
            return {}
        if not conf.schema_lookup():
            status.schema_source = "disabled"
            return {}
        if not self.terminal:  # START: the cache only; the one round trip happens on the terminal event
            cached = schema.cached_lookup(source.connection_key, tables)
            self._moved = cached.moved
            status.schema_source = "cache" if cached.columns else "none"
            return cached.columns
        result = schema.lookup_schemas(
            source.hook,
            source.conn_type,
            source.connection_key,
            tables,
            refresh={table.qualified for table in lineage.outputs},
            timeout=min(conf.schema_query_timeout(), self.budget.remaining()),
            ttl=conf.schema_cache_ttl(),
            default_schema=source.schema,
        )
        self._moved = result.moved
        status.round_trips = result.round_trips
        status.schema_source = "database" if result.round_trips else ("cache" if result.columns else "none")
        if result.error:  # a source without lookup is a limit; a lookup that failed or timed out an error
            status.degrade(result.error, error=result.round_trips > 0 or self.budget.expired)
        return result.columns

    def _dataset_id(self, table: TableRef) -> DatasetId:
        from airflow_lineage_provider.naming import dataset_for_table

        found = self._ids.get(table)
        if found is None:
            source = self.source
            found = _location(source.conn, table) or dataset_for_table(
                source.conn,
                self._moved.get(table.qualified, table),  # where the database found a name the path resolves
                default_database=source.database,
                default_schema=source.schema,
            )
            self._ids[table] = found
        return found

    def _fold(self, column: str) -> str:
        from airflow_lineage_provider.naming import fold_column

        return fold_column(self.source.conn, column)

    def _datasets(
        self, lineage: SqlLineage, columns: Mapping[str, Columns]
    ) -> tuple[list[InputDataset], list[OutputDataset]]:
        from openlineage.client.event_v2 import InputDataset, OutputDataset
        from openlineage.client.facet_v2 import schema_dataset

        producer = _producer()

        def facets(table: TableRef) -> dict[str, Any]:
            cols = columns.get(table.qualified)
            if not cols:
                return {}
            fields = [  # fields=None: flat columns (no empty nested "fields" lists on the wire)
                schema_dataset.SchemaDatasetFacetFields(name=c.name, type=c.type, fields=None) for c in cols
            ]
            return {"schema": schema_dataset.SchemaDatasetFacet(fields=fields, producer=producer)}

        inputs = []
        for table in _unique(lineage.inputs):
            ident = self._dataset_id(table)
            inputs.append(InputDataset(namespace=ident.namespace, name=ident.name, facets=facets(table)))
        column_facets = self._column_lineage(
            lineage, producer, _guessed_targets(lineage, columns), _catalog_spelling(columns, self._fold)
        )
        outputs = []
        for table in _unique(lineage.outputs):
            ident = self._dataset_id(table)
            dataset_facets = facets(table)
            if table in column_facets:
                dataset_facets["columnLineage"] = column_facets[table]
            outputs.append(OutputDataset(namespace=ident.namespace, name=ident.name, facets=dataset_facets))
        return inputs, outputs

    def _column_lineage(
        self,
        lineage: SqlLineage,
        producer: str,
        guessed: set[TableRef],
        spell: Callable[[TableRef, str], str] = lambda table, column: column,
    ) -> dict[TableRef, Any]:
        """``columnLineage`` per output table; edges into ``guessed`` targets and ``*`` edges are left out.

        Column names take the catalog's spelling (``spell``), so they match the schema facets' fields. The
        columns that decide which rows are written (``lineage.indirect``) go to the facet's ``dataset`` list
        as INDIRECT transformations (FILTER, JOIN, GROUP_BY, SORT).
        """
        from openlineage.client.facet_v2 import column_lineage_dataset as cl

        per_table: dict[TableRef, dict[str, list[Any]]] = {}
        for edge in lineage.column_lineage:
            out_table = edge.output.table
            if out_table is None or out_table in guessed or edge.output.column == "*":
                continue
            output = spell(out_table, edge.output.column)
            fields = per_table.setdefault(out_table, {}).setdefault(output, [])
            for ref in edge.inputs:
                if ref.table is None or ref.column == "*":
                    continue
                ident = self._dataset_id(ref.table)
                field = spell(ref.table, ref.column)
                if any(
                    f.namespace == ident.namespace and f.name == ident.name and f.field == field
                    for f in fields
                ):
                    continue
                fields.append(
                    cl.InputField(
                        namespace=ident.namespace,
                        name=ident.name,
                        field=field,
                        transformations=[cl.Transformation(type="DIRECT", subtype=edge.transformation)],
                    )
                )
        # columns that filter, join, group or sort the rows written; one entry per dataset field and one
        # transformation per subtype, also when two spellings of a column meet in the catalog's
        shaped: dict[TableRef, dict[tuple[str, str, str], dict[str, None]]] = {}
        for row in lineage.indirect:
            if row.input.table is None or row.input.column == "*":
                continue
            ident = self._dataset_id(row.input.table)
            key = (ident.namespace, ident.name, spell(row.input.table, row.input.column))
            shaped.setdefault(row.output, {}).setdefault(key, {})[row.subtype] = None
        facets: dict[TableRef, Any] = {}
        for table in dict.fromkeys([*per_table, *shaped]):
            direct = {
                column: cl.Fields(inputFields=inputs)
                for column, inputs in per_table.get(table, {}).items()
                if inputs
            }
            dataset = [
                cl.InputField(
                    namespace=ns,
                    name=name,
                    field=field,
                    transformations=[cl.Transformation(type="INDIRECT", subtype=k) for k in kinds],
                )
                for (ns, name, field), kinds in shaped.get(table, {}).items()
            ]
            if direct or dataset:
                facets[table] = cl.ColumnLineageDatasetFacet(
                    fields=direct, dataset=dataset or None, producer=producer
                )
        return facets

    def _sql_facet_fits(self) -> bool:
        """Whether the ``sql`` facet can go in an event at all: SQL longer than ``max_event_bytes`` would be
        redacted (seconds for megabytes) only for the size cap to drop it."""
        return len(self.sql) <= conf.max_event_bytes()

    def _redaction_seconds(self) -> float:
        return len(self.sql) / _REDACTION_BYTES_PER_SECOND if self._sql_facet_fits() else 0.0

    def _job_facets(self) -> dict[str, Any]:
        from openlineage.client.facet_v2 import sql_job

        from airflow_lineage_provider.sql.redact import redact_sql

        if not self._sql_facet_fits():
            self.status.reasons.append(
                f"sql facet left out: the SQL ({len(self.sql)} characters) is longer than max_event_bytes "
                f"({conf.max_event_bytes()})"
            )
            return {}

        query = redact_sql(self.sql, mask_literals=conf.mask_sql_literals())
        return {"sql": sql_job.SQLJobFacet(query=query, dialect=self.source.dialect, producer=_producer())}

    def _error_facet(self, lineage: SqlLineage) -> Any:
        """``extractionError``: the statements that failed (messages redacted: parser errors quote the SQL)
        and the errors of the extraction itself (schema lookup, budget)."""
        from openlineage.client.facet_v2 import extraction_error_run as ee

        failed = [(i, s) for i, s in enumerate(lineage.statements) if s.errors]
        errors = [
            ee.Error(
                errorMessage=redact_message("; ".join(s.errors))[:1000],
                stackTrace=None,
                task=None,
                taskNumber=i,
            )
            for i, s in failed
        ]
        if not errors:
            errors = [
                ee.Error(errorMessage=redact_message(e)[:1000], stackTrace=None) for e in lineage.errors
            ]
        return self.status.error_facet(errors, len(lineage.statements))


_EXPLICIT_INSERT_COLUMNS = re.compile(
    r"^\s*(?:INSERT|REPLACE)\b[^(]*?\bINTO\s+[^\s(]+\s*\(\s*(?!SELECT\b|WITH\b|VALUES\b)", re.IGNORECASE
)


def _catalog_spelling(
    columns: Mapping[str, Columns], fold: Callable[[str], str] = lambda column: column
) -> Callable[[TableRef, str], str]:
    """``spell(table, column)``: the column as the table's catalog spells it, when the SQL wrote it in
    another case and exactly one catalog column matches (``email`` for ``"Email"`` on MySQL or SQLite,
    ``email`` for ``EMAIL`` on Snowflake); ``fold(column)`` when the catalog does not list it (upper case on
    Snowflake); otherwise as written."""
    folded: dict[str, dict[str, list[str]]] = {}
    for key, cols in columns.items():
        by_lower: dict[str, list[str]] = {}
        for col in cols:
            by_lower.setdefault(col.name.lower(), []).append(col.name)
        folded[key] = by_lower

    def spell(table: TableRef, column: str) -> str:
        names = folded.get(table.qualified, {}).get(column.lower(), [])
        if not names:
            return fold(column)
        return names[0] if len(names) == 1 and column not in names else column

    return spell


def _guessed_targets(lineage: SqlLineage, columns: Mapping[str, Columns]) -> set[TableRef]:
    """Tables filled by a positional ``INSERT INTO t SELECT ...`` whose columns are unknown.

    Without the target's schema the engine can only name the target columns after the SELECT's, which is
    wrong as often as not: such edges are left out (the terminal event, with the schema, has them right).
    """
    guessed: set[TableRef] = set()
    for statement in lineage.statements:
        if statement.kind != "insert" or _EXPLICIT_INSERT_COLUMNS.match(statement.sql):
            continue
        guessed.update(t for t in statement.outputs if t.qualified not in columns)
    return guessed


def _location(conn: Any, table: TableRef) -> DatasetId | None:
    """The dataset of a file or URI the SQL names instead of a table (``COPY t FROM 's3://b/k'``): the engine
    gives those as one-part names as written; None for a table."""
    from airflow_lineage_provider.naming import dataset_for_location

    if table.schema is not None or table.database is not None:
        return None
    return dataset_for_location(conn, table.name)


def _unique(tables: Sequence[TableRef]) -> list[TableRef]:
    return list(dict.fromkeys(tables))

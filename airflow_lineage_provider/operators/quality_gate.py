"""``QualityGateOperator``: null-rate thresholds that stop downstream work until the data is fit.

One scan measures every column (``quality.metrics``); on an error-level breach ``on_breach`` decides:
``pause`` (default: defer to ``QualityGateTrigger`` and re-measure until the thresholds hold), ``skip``
(skip every downstream task), ``fail`` (fail without retries, downstream ends ``upstream_failed``) or
``warn`` (alert and go on). Results go to XCom and to OpenLineage as ``dataQualityMetrics`` and
``dataQualityAssertions`` facets on the measured table.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import closing
from typing import TYPE_CHECKING, Any, TypeVar

import attrs
from airflow.sdk import BaseOperator, SkipMixin
from airflow.sdk.exceptions import AirflowFailException

from airflow_lineage_provider.exceptions import QualityGateBreach, QualityGateError
from airflow_lineage_provider.extractors.base import report_progress
from airflow_lineage_provider.quality import (
    ON_BREACH_MODES,
    ON_EMPTY_POLICIES,
    ColumnSpec,
    GateResult,
    GateSpec,
    Measurement,
    MetricsQuery,
    NamePart,
    NullRule,
    QualityDialect,
    build_metrics_query,
    dialect_for,
    input_facets,
    parse_table_name,
    probe_query,
    quoting_probe,
    read_thresholds,
    resolve_columns,
    run_facets,
    validate_row_filter,
)
from airflow_lineage_provider.quality.dialects import granted_columns_query, lacks_privilege
from airflow_lineage_provider.quality.evaluation import BREACH, WARN
from airflow_lineage_provider.quality.metrics import cancellable, error_line, query_stopper
from airflow_lineage_provider.quality.rules import check_choice, check_number, parse_thresholds

if TYPE_CHECKING:
    from airflow.sdk import Connection
    from airflow.sdk.definitions.context import Context

    from airflow_lineage_provider.extractors.base import OperatorLineage


class QualityGateFailed(QualityGateBreach, AirflowFailException):
    """The gate failed on purpose (breach with ``on_breach='fail'``, or a pause that timed out): no retry."""


class QualityGateInputFailed(QualityGateError, AirflowFailException):
    """Bad input found at run time (missing connection, unknown column ...): fail at once, without retry."""


class _DatabaseRefused(QualityGateError):
    """The database refused the probe or the measuring query: maybe a passing problem, so retries apply."""


def _shown_sql(text: str | None) -> str | None:
    """SQL as the XCom, alerts, logs and error messages show it: credentials (and, with
    ``[lineage_provider] mask_sql_literals``, every literal) masked, as in lineage events."""
    if not text:
        return text
    from airflow_lineage_provider import conf
    from airflow_lineage_provider.sql.redact import redact_sql

    return redact_sql(text, mask_literals=conf.mask_sql_literals())


def _templated(value: Any) -> bool:
    """Whether ``value`` is only known once rendered: it holds a Jinja template (in a string, or a string
    inside a mapping of rules) or is a task's output (``XComArg``)."""
    if isinstance(value, str):
        return "{{" in value or "{%" in value
    if isinstance(value, Mapping):
        return any(_templated(item) for item in value.values())
    from airflow.sdk.definitions.xcom_arg import XComArg

    return isinstance(value, XComArg)


#: ``next_kwargs["error"]`` when Airflow ends a deferral at its timeout (``TriggerFailureReason``)
_DEFERRAL_TIMEOUT = "Trigger timeout"

#: how long a stopped task waits for its cancelled query to end before it goes on ending
_CANCEL_GRACE = 10.0

T = TypeVar("T")

#: the longest poke_interval or timeout: the deferral's own timeout must still be a datetime Airflow can store
_MAX_WAIT = dt.timedelta(days=365)


def _shown_seconds(seconds: float) -> str:
    """``1800s``, ``0.5s``: a duration in log and error messages, as the author wrote it in seconds."""
    return f"{seconds:.0f}s" if float(seconds).is_integer() or seconds >= 10 else f"{seconds:.1f}s"


def _seconds(option: str, value: float | dt.timedelta) -> float:
    raw = value.total_seconds() if isinstance(value, dt.timedelta) else value
    return check_number(option, raw, minimum=0, maximum=_MAX_WAIT.total_seconds(), strict=True)


class QualityGateOperator(BaseOperator, SkipMixin):
    """Measure null rates of ``table`` in one scan and hold, skip, fail or warn when a threshold is exceeded.

    :param conn_id: an Airflow connection whose hook is a ``DbApiHook`` (SQLite, PostgreSQL, MySQL, ...).
        Templated.
    :param table: ``[database.][schema.]table``; quote parts that need it (``'"Sales"."Order Lines"'``).
        Unquoted parts follow the engine's case folding. Templated.
    :param null_thresholds: ``{column: max_null_rate}`` (rates in [0, 1]) or ``{column: NullRule(...)}`` /
        ``{column: {"max_null_rate": 0.1, "severity": "warn", "blank_is_null": True}}``. Templated: the
        whole value (``"{{ params.thresholds }}"``, rendered to a dict with ``render_template_as_native_obj``,
        or to JSON text such as ``"{{ var.value.thresholds }}"``) or any rate or rule in it. Written out, it
        is checked when the DAG is parsed; templated, right after rendering (bad input: no retry).
    :param row_filter: one SQL boolean expression limiting the rows measured (e.g. one partition). Templated.
    :param sample_percent: measure a sample of about this percentage of the table (0 < p <= 100), where the
        engine supports it (PostgreSQL ``TABLESAMPLE SYSTEM``, Snowflake, BigQuery, SQL Server, Trino ...)
    :param min_rows: fewer evaluated rows than this (but more than 0) is an error-level breach
    :param on_empty: when no row is evaluated: ``breach`` (default), ``warn`` or ``pass``
    :param on_breach: ``pause`` (default), ``skip``, ``fail`` or ``warn``
    :param blank_is_null: default for rules that do not say whether blank strings count as nulls
    :param poke_interval: seconds between measurements while paused
    :param timeout: how long a pause may last (seconds or timedelta) before the gate fails. It alone bounds
        the pause: Airflow 3 does not count time deferred in ``execution_timeout``, which limits each run of
        the gate's code (the measurement, the resume); a longer ``timeout`` is logged with both values
    :param notifiers: ``BaseNotifier`` instances (or callables taking the context) called on breach, on a
        warn-level breach, on recovery and when a pause times out; ``context["quality_gate"]`` holds the
        event and the results
    :param pause_downstream_dags: pause mode only: ``True`` pauses the DAGs scheduled on the table's asset,
        a list pauses those DAG ids; they are unpaused on recovery (only those this gate paused)
    :param airflow_api_conn_id: HTTP connection to Airflow's REST API (login/password or extra ``token``),
        required with ``pause_downstream_dags``
    :param ignore_downstream_trigger_rules: skip mode only, as for ``ShortCircuitOperator``: ``True``
        (default) skips every task downstream whatever its ``trigger_rule``; ``False`` skips the direct
        downstream tasks only and lets the trigger rules of the others decide (an ``all_done`` clean-up runs);
        teardown tasks are never skipped
    :param notifier_timeout: how long (seconds or timedelta) each notifier may run; one still running then is
        logged as a warning and left behind, so a hung alert never holds the gate
    """

    template_fields: Sequence[str] = ("conn_id", "table", "null_thresholds", "row_filter")
    template_fields_renderers = {"row_filter": "sql", "null_thresholds": "json"}
    ui_color = "#f6d7a7"

    def __init__(
        self,
        *,
        conn_id: str,
        table: str,
        null_thresholds: Mapping[str, float | NullRule | Mapping[str, Any]],
        row_filter: str | None = None,
        sample_percent: float | None = None,
        min_rows: int = 0,
        on_empty: str = "breach",
        on_breach: str = "pause",
        blank_is_null: bool = False,
        poke_interval: float | dt.timedelta = 60.0,
        timeout: float | dt.timedelta = dt.timedelta(hours=6),
        notifiers: Sequence[Callable[..., Any]] | Callable[..., Any] | None = (),
        pause_downstream_dags: bool | Sequence[str] = False,
        airflow_api_conn_id: str | None = None,
        ignore_downstream_trigger_rules: bool = True,
        notifier_timeout: float | dt.timedelta = 60.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        try:  # every message names the task: a DAG file may hold many gates
            self.conn_id = conn_id
            if not _templated(conn_id):
                self._check_conn_id()
            self.table = table
            self.row_filter = row_filter
            if not isinstance(blank_is_null, bool):  # bool("false") is True: never guess
                msg = f"blank_is_null must be True or False, got {blank_is_null!r}"
                raise QualityGateError(msg)
            self.blank_is_null = blank_is_null
            self.null_thresholds = null_thresholds
            #: the rules; those of a templated ``null_thresholds`` once it is rendered
            self.rules: tuple[NullRule, ...] = ()
            self._thresholds_templated = _templated(null_thresholds)
            if not self._thresholds_templated:
                self.rules = parse_thresholds(read_thresholds(null_thresholds), blank_is_null=blank_is_null)
            elif isinstance(null_thresholds, Mapping):  # the rules written out are checked now all the same
                fixed = {c: rule for c, rule in null_thresholds.items() if not _templated(rule)}
                if fixed:
                    parse_thresholds(fixed, blank_is_null=blank_is_null)
            self.on_breach = check_choice("on_breach", on_breach, ON_BREACH_MODES)
            self.on_empty = check_choice("on_empty", on_empty, ON_EMPTY_POLICIES)
            self.sample_percent = (
                None
                if sample_percent is None
                else check_number("sample_percent", sample_percent, minimum=0, maximum=100, strict=True)
            )
            if isinstance(min_rows, bool) or not isinstance(min_rows, int) or min_rows < 0:
                msg = f"min_rows must be an integer >= 0, got {min_rows!r}"
                raise QualityGateError(msg)
            self.min_rows = min_rows
            self.poke_interval = _seconds("poke_interval", poke_interval)
            self.gate_timeout = _seconds("timeout", timeout)
            if notifiers is None:
                notifiers = ()
            elif callable(notifiers):  # one notifier, as Airflow's on_*_callback arguments take one or a list
                notifiers = (notifiers,)
            if isinstance(notifiers, (str, bytes)) or not isinstance(notifiers, Iterable):
                msg = f"notifiers must be one BaseNotifier (or callable) or a list of them, got {notifiers!r}"
                raise QualityGateError(msg)
            self.notifiers = list(notifiers)
            for notifier in self.notifiers:
                if not callable(notifier):
                    msg = f"notifiers must be BaseNotifier instances or callables, got {notifier!r}"
                    raise QualityGateError(msg)
            self.notifier_timeout = _seconds("notifier_timeout", notifier_timeout)
            if isinstance(pause_downstream_dags, str) or not isinstance(
                pause_downstream_dags, (bool, Sequence)
            ):
                msg = "pause_downstream_dags must be True/False or a list of DAG ids"
                raise QualityGateError(msg)
            self.pause_downstream_dags = (
                pause_downstream_dags
                if isinstance(pause_downstream_dags, bool)
                else list(pause_downstream_dags)
            )
            if isinstance(self.pause_downstream_dags, list) and self.has_dag():
                if self.dag_id in self.pause_downstream_dags:
                    msg = (
                        f"pause_downstream_dags lists the gate's own DAG {self.dag_id!r}: a paused DAG never "
                        "resumes the gate; remove it (its downstream tasks already wait for the gate)"
                    )
                    raise QualityGateError(msg)
            if self.pause_downstream_dags and self.on_breach != "pause":
                msg = f"pause_downstream_dags only works with on_breach='pause', not {self.on_breach!r}"
                raise QualityGateError(msg)
            if self.pause_downstream_dags and not airflow_api_conn_id:
                msg = "pause_downstream_dags needs airflow_api_conn_id (an HTTP connection to Airflow's API)"
                raise QualityGateError(msg)
            self.airflow_api_conn_id = airflow_api_conn_id
            if not isinstance(ignore_downstream_trigger_rules, bool):
                msg = (
                    "ignore_downstream_trigger_rules must be True or False, "
                    f"got {ignore_downstream_trigger_rules!r}"
                )
                raise QualityGateError(msg)
            if not ignore_downstream_trigger_rules and self.on_breach != "skip":
                msg = (
                    f"ignore_downstream_trigger_rules=False only applies to on_breach='skip', not "
                    f"{self.on_breach!r}; remove it"
                )
                raise QualityGateError(msg)
            self.ignore_downstream_trigger_rules = ignore_downstream_trigger_rules
            if not _templated(table):
                parse_table_name(table)
            if not _templated(row_filter):
                validate_row_filter(row_filter)
        except QualityGateError as exc:
            # not retryable: a mapped gate is only built when each map index starts, so this may be run time
            raise QualityGateInputFailed(f"{self.task_id}: {exc}") from None
        self._connection: Connection | None = None
        self._query: MetricsQuery | None = None
        self._result: GateResult | None = None
        self._stop_query: Callable[[], str] | None = None  # cancels the measuring query while it runs

    # ------------------------------------------------------------------ templated arguments

    def _check_conn_id(self) -> None:
        if not isinstance(self.conn_id, str) or not self.conn_id.strip():
            msg = f"conn_id must name an Airflow connection, got {self.conn_id!r}"
            raise QualityGateError(msg)

    def _do_render_template_fields(
        self,
        parent: Any,
        template_fields: Iterable[str],
        context: Context,
        jinja_env: Any,
        seen_oids: set[int],
    ) -> None:
        """Render, then check the rendered arguments at once: before any query, any alert, any waiting.

        The hook every rendering goes through, also a mapped gate's (``MappedOperator`` renders the
        unmapped task with it) and the nested objects of a field (``parent`` is then that object).
        """
        super()._do_render_template_fields(parent, template_fields, context, jinja_env, seen_oids)
        if parent is self:
            self._check_rendered()

    def _check_rendered(self) -> None:
        """The checks made at parse time for arguments written out, made for the rendered ones.

        Bad input: the gate fails without retry, naming the task and the argument.
        """
        try:
            self._check_conn_id()
            if self._thresholds_templated:
                rendered = read_thresholds(self.null_thresholds, rendered=True)
                self.rules = parse_thresholds(rendered, blank_is_null=self.blank_is_null)
            parse_table_name(self.table)
            validate_row_filter(self.row_filter)
        except QualityGateError as exc:
            raise QualityGateInputFailed(f"{self.task_id}: {exc}") from None

    # ------------------------------------------------------------------ measuring

    def _get_connection(self) -> Connection:
        if self._connection is None:
            from airflow.sdk import BaseHook

            try:
                self._connection = BaseHook.get_connection(self.conn_id)
            except Exception as exc:
                msg = (
                    f"{self.task_id}: connection {self.conn_id!r} is not defined or cannot be read "
                    f"({error_line(exc)}); create it (UI, CLI or AIRFLOW_CONN_{self.conn_id.upper()})"
                )
                raise QualityGateError(msg) from exc
        return self._connection

    def _table_parts(self) -> tuple[NamePart, ...]:
        return parse_table_name(self.table)

    def _measure_now(self) -> tuple[MetricsQuery, GateSpec, Measurement]:
        """Check the table and columns (no row read), build the query and run it: one DB connection."""
        from airflow.providers.common.sql.hooks.sql import DbApiHook

        conn = self._get_connection()
        try:
            hook = conn.get_hook()
        except Exception as exc:  # "Unknown hook type": a typo, or the provider package is not installed
            msg = (
                f"{self.task_id}: connection {self.conn_id!r} (type {conn.conn_type!r}) has no hook here "
                f"({error_line(exc)}); fix the connection type or install the provider package for it"
            )
            raise QualityGateError(msg) from exc
        if not isinstance(hook, DbApiHook):
            msg = (
                f"{self.task_id}: connection {self.conn_id!r} (type {conn.conn_type!r}) has no SQL "
                "(DbApiHook) hook; use a database connection"
            )
            raise QualityGateError(msg)
        dialect = dialect_for(conn.conn_type, getattr(hook, "escape_word_format", None))
        parts = self._table_parts()
        dialect.check_table(parts, self.table)  # before any query: a wrong name is not worth retrying
        with closing(hook.get_conn()) as db:
            cursor = db.cursor()
            granted: list[str] | None = None
            try:
                try:
                    cursor.execute(probe_query(dialect, parts))
                    description = list(cursor.description or [])
                    available = [str(d[0]) for d in description]
                    opaque = {
                        str(d[0]) for d in description if len(d) > 1 and d[1] in dialect.opaque_type_codes
                    }
                    cursor.fetchall()
                except Exception as exc:
                    granted = self._granted_columns(db, cursor, dialect, parts, exc)
                    if granted is None:
                        msg = (
                            f"{self.task_id}: table {self.table!r} cannot be read on connection "
                            f"{self.conn_id!r} ({error_line(exc)}); check the name, its schema and case, "
                            "and the grants"
                        )
                        raise _DatabaseRefused(msg) from exc
                    available, opaque = granted, set()
                if not dialect.known:
                    self._check_quoting(db, cursor, dialect, parts, conn.conn_type)
                try:
                    query, spec = self._build(dialect, parts, available, opaque)
                except QualityGateError as exc:
                    if granted is None:
                        raise
                    msg = (
                        f"{exc}. Only the columns the user of connection {self.conn_id!r} may SELECT are "
                        "listed (it has no SELECT on the whole table): grant SELECT on the others"
                    )
                    raise QualityGateError(msg) from exc
                try:  # with the dialect's session settings for it
                    row = self._run_stoppable(db, conn.conn_type, hook, lambda: query.execute(cursor))
                except Exception as exc:
                    msg = (
                        f"{self.task_id}: measuring {self.table!r} failed ({error_line(exc)}); "
                        f"{self._what_to_check()}. The query was: {_shown_sql(query.sql)}"
                    )
                    raise _DatabaseRefused(msg) from exc
                return query, spec, query.parse(row)
            finally:
                cursor.close()

    def _granted_columns(
        self, db: Any, cursor: Any, dialect: QualityDialect, parts: tuple[NamePart, ...], exc: Exception
    ) -> list[str] | None:
        """When the probe's ``SELECT *`` was refused for lack of privilege: the columns the user may read.

        A user granted ``SELECT`` on some columns only (``GRANT SELECT (a, b) ON t``) cannot run
        ``SELECT *``, yet may measure those columns. ``None`` when the catalog cannot tell (another error,
        another engine, no column granted): the probe's error then stands.
        """
        catalog = granted_columns_query(dialect, parts)
        if catalog is None or not lacks_privilege(exc):
            return None
        try:
            db.rollback()  # PostgreSQL: the refused probe aborted the transaction
            cursor.execute(catalog)
            columns = [str(row[0]) for row in cursor.fetchall()]
        except Exception as catalog_exc:
            self.log.warning("quality gate could not list the columns granted: %s", error_line(catalog_exc))
            return None
        if not columns:
            return None
        self.log.info(
            "quality gate: %s is not readable whole on connection %s (%s); measuring the columns granted: %s",
            self.table,
            self.conn_id,
            error_line(exc),
            ", ".join(columns),
        )
        return columns

    def _run_stoppable(self, db: Any, conn_type: str | None, hook: Any, run: Callable[[], T]) -> T:
        """``run()`` (the measuring query on ``db``), cancelled on the database if the task is stopped.

        A driver blocked in C (psycopg2, mysqlclient) runs no signal handler until the statement returns, so
        neither ``execution_timeout`` nor ``on_kill`` would act before a long scan ends: where the query can
        be cancelled from another thread, it runs in one, and this thread waits where signals are handled.
        """
        self._stop_query = query_stopper(db, conn_type, hook.get_conn)
        try:
            if not cancellable(db, conn_type):  # e.g. SQLite: a connection belongs to its thread
                return run()
            outcome: list[Any] = []
            done = threading.Event()

            def work() -> None:
                try:
                    outcome.append((True, run()))
                except BaseException as exc:
                    outcome.append((False, exc))
                finally:
                    done.set()

            _in_thread(work, f"quality-gate-query {self.task_id}")
            try:
                done.wait()
            except BaseException:  # execution_timeout (AirflowTaskTimeout), or the process told to stop
                self.on_kill()
                done.wait(_CANCEL_GRACE)
                raise
            ok, value = outcome[0]
            if not ok:
                raise value
            return value
        finally:
            self._stop_query = None

    def on_kill(self) -> None:
        """The task is stopped (``execution_timeout``, marked failed ...): cancel the measuring query."""
        stop = self._stop_query
        if stop is None:
            return
        self._stop_query = None
        try:
            how = stop()
        except Exception as exc:
            self.log.warning("quality gate could not cancel its measuring query: %s", error_line(exc))
            return
        self.log.warning(
            "quality gate stopped: its measuring query on %s was cancelled (%s)", self.table, how
        )

    def _check_quoting(
        self,
        db: Any,
        cursor: Any,
        dialect: QualityDialect,
        parts: tuple[NamePart, ...],
        conn_type: str | None,
    ) -> None:
        """On an engine the gate does not know, make sure its quoted names are names, not string literals."""
        try:
            cursor.execute(quoting_probe(dialect, parts))
            cursor.fetchall()
        except Exception:
            try:
                db.rollback()
            except Exception as exc:  # no transaction to roll back on this driver
                self.log.debug("rollback after the quoting probe: %s", error_line(exc))
            return  # refused, as it must be: the quoted name is a column name
        msg = (
            f"{self.task_id}: connection type {conn_type!r} is not one the quality gate knows, and on this "
            f"database {dialect.quote('x')} is not a column name (a string, most likely), so null counts "
            "would be wrong; set the connection's extra escape_word_format to its identifier quoting, e.g. "
            '{"escape_word_format": "`{}`"}'
        )
        raise QualityGateError(msg)

    def _what_to_check(self) -> str:
        """What the author may have got wrong when the database refuses the measuring query."""
        options = []
        if validate_row_filter(self.row_filter):
            options.append("row_filter")
        if self.sample_percent is not None:
            options.append("sample_percent (engines sample tables, not views)")
        if options:
            return f"check {' and '.join(options)}"
        return "check the columns' types and the grants"

    def _build(
        self,
        dialect: QualityDialect,
        parts: tuple[NamePart, ...],
        available: list[str],
        opaque: set[str] | frozenset[str] = frozenset(),
    ) -> tuple[MetricsQuery, GateSpec]:
        resolved = resolve_columns([r.column for r in self.rules], available, table=self.table)
        spec = GateSpec(
            table=self.table,
            rules=tuple(attrs.evolve(rule, column=resolved[rule.column]) for rule in self.rules),
            min_rows=self.min_rows,
            on_empty=self.on_empty,
            sampled_percent=self.sample_percent,
            row_filter=_shown_sql(validate_row_filter(self.row_filter)),  # shown only: XCom, alerts, logs
        )
        query = build_metrics_query(
            dialect,
            parts,
            [
                ColumnSpec(r.column, count_blank=bool(r.blank_is_null), opaque=r.column in opaque)
                for r in spec.rules
            ],
            row_filter=self.row_filter,
            sample_percent=self.sample_percent,
        )
        return query, spec

    def _evaluate(self, spec: GateSpec, measurement: Measurement) -> GateResult:
        self._result = spec.evaluate(measurement)
        return self._result

    # ------------------------------------------------------------------ running

    def execute(self, context: Context) -> dict[str, Any]:
        try:
            query, spec, measurement = self._measure_now()
        except _DatabaseRefused:
            raise
        except QualityGateError as exc:
            raise QualityGateInputFailed(str(exc)) from exc
        self._query = query
        result = self._evaluate(spec, measurement)
        if result.status == WARN:
            self.log.warning("quality gate warning: %s", result.summary())
            self._notify(context, "warn", result)
        if result.status != BREACH:
            released = self._release_dags(context, [])  # DAGs an earlier, timed-out try left paused
            extra: dict[str, Any] = {"unpaused_dags": released} if released else {}
            return self._publish(context, result, **extra)
        self.log.warning("quality gate breached (on_breach=%s): %s", self.on_breach, result.summary())
        if self.on_breach == "warn":
            self._notify(context, "breach", result)
            return self._publish(context, result)
        if self.on_breach == "skip":
            self._notify(context, "breach", result)
            self._publish(context, result, push=True)
            self._skip_downstream(context)  # raises DownstreamTasksSkipped (the gate itself succeeds)
            return self._publish(context, result)  # no downstream task: nothing to skip
        if self.on_breach == "fail":
            self._notify(context, "breach", result)
            self._publish(context, result, push=True)
            raise QualityGateFailed(f"quality gate failed: {result.summary()}")
        paused = self._pause_dags(context)
        self._notify(context, "breach", result, paused_dags=paused)
        self._publish(context, result, push=True, paused_dags=paused)
        report_progress(context["ti"], self)  # the breach reaches lineage now, not only after the wait
        self._defer(query, spec, paused)
        return result.to_dict()  # not reached: defer() raises

    def _skip_downstream(self, context: Context) -> None:
        """Skip the tasks downstream of the gate, also when the gate is one map index of a mapped task.

        Every task downstream, or with ``ignore_downstream_trigger_rules=False`` the direct ones only (the
        others then follow their trigger rules); teardown tasks never.

        ``SkipMixin.skip()`` skips nothing from a mapped task instance (it only records the skip in XCom,
        which direct mapped children with the same map index read): a mapped gate would let ``publish``
        run on a breached partition. Here, unmapped downstream tasks are skipped, and mapped ones at the
        gate's own map index (the partition that breached).
        """
        from airflow.sdk.exceptions import DownstreamTasksSkipped

        ti = context["ti"]
        gate = context["task"]
        relatives = (
            gate.get_flat_relatives(upstream=False)
            if self.ignore_downstream_trigger_rules
            else list(gate.downstream_list)
        )
        # never a teardown task (as ShortCircuitOperator): it cleans up what a setup task made, so it must run
        downstream = [task for task in relatives if not getattr(task, "is_teardown", False)]
        self.skip(ti, downstream)  # an unmapped gate: raises DownstreamTasksSkipped
        map_index = getattr(ti, "map_index", None)
        if not downstream or map_index is None or map_index < 0:
            return

        def mapped(task: Any) -> bool:
            return bool(getattr(task, "is_mapped", False)) or task.get_closest_mapped_task_group() is not None

        tasks: list[str | tuple[str, int]] = [
            (task.task_id, map_index) if mapped(task) else task.task_id for task in downstream
        ]
        raise DownstreamTasksSkipped(tasks=tasks)

    def _defer(self, query: MetricsQuery, spec: GateSpec, paused: list[str]) -> None:
        from airflow_lineage_provider.triggers.quality_gate import QualityGateTrigger

        trigger = QualityGateTrigger(
            conn_id=self.conn_id,
            query=query.to_dict(),
            spec=spec.to_dict(),
            poke_interval=self.poke_interval,
            deadline=time.time() + self.gate_timeout,
            gate_state={"paused_dags": paused, "paused_at": time.time()},
            # the gate has just measured: the trigger's first poll comes one poke_interval later (an
            # immediate one repeats the scan, and a resume within a second of the deferral can meet
            # Airflow's race of a resumed try against the deferring process's end, same try number)
            first_poll_at=time.time() + self.poke_interval,
        )
        limit = self._execution_timeout_seconds()
        if limit is not None and limit < self.gate_timeout:
            self.log.warning(
                "quality gate pauses for up to timeout=%s; execution_timeout=%s does not limit the pause: "
                "Airflow applies execution_timeout to each run of the gate's code (this measurement, the "
                "resume after the pause), not to the time it waits deferred",
                _shown_seconds(self.gate_timeout),
                _shown_seconds(limit),
            )
        # safety net only: the trigger ends itself at the deadline with a clear event
        safety = dt.timedelta(seconds=self.gate_timeout + 2 * self.poke_interval + 60)
        self.defer(trigger=trigger, method_name="execute_complete", timeout=safety)

    def resume_execution(self, next_method: str, next_kwargs: dict[str, Any] | None, context: Context) -> Any:
        """Resume after the deferral; Airflow's own deferral timeout ends the pause as timed out too.

        Airflow fails the deferral itself (``next_method="__fail__"``) when the safety timeout set in
        ``_defer`` passes without a trigger event, i.e. when no triggerer ran the trigger up to its deadline
        (the triggerer was down that long). Its ``TaskDeferralTimeout`` would be retried, and a retry
        breaches again and waits a fresh full ``timeout``: the gate fails as a timed-out pause instead.
        When that comes before the gate's own ``timeout`` (an Airflow that cuts a deferral at
        ``execution_timeout``, as Airflow 2 did), the failure says so and names both values.
        """
        error = (next_kwargs or {}).get("error")
        if next_method != "__fail__" or error != _DEFERRAL_TIMEOUT:
            return super().resume_execution(next_method, next_kwargs, context)
        ti = context["ti"]
        started = getattr(ti, "start_date", None)  # the first start, kept across the deferral
        paused: list[str] = []
        try:  # pushed when the gate breached
            pushed = ti.xcom_pull(task_ids=ti.task_id, key="return_value", map_indexes=ti.map_index)
            paused = list((pushed or {}).get("paused_dags") or [])
        except Exception as exc:
            self.log.warning("quality gate could not read the DAGs it paused: %s", error_line(exc))
        waited = time.time() - started.timestamp() if started is not None else None
        if waited is not None and waited < self.gate_timeout:
            # not the safety net (it passes after the gate's own deadline): Airflow cut the pause short
            why = f"Airflow ended the pause before the gate's timeout={_shown_seconds(self.gate_timeout)}"
            limit = self._execution_timeout_seconds()
            if limit is not None and limit < self.gate_timeout:
                why += (
                    f": most likely this Airflow counts the time deferred in execution_timeout="
                    f"{_shown_seconds(limit)}; give the gate an execution_timeout above its timeout "
                    "(or a shorter timeout)"
                )
            else:
                why += " (its deferral timeout passed)"
        else:
            why = "no triggerer ran the wait to its deadline (Airflow's deferral timeout passed)"
        self.log.warning("quality gate: %s", why)
        event = {
            "status": "timeout",
            "measurement": None,
            "error": why,
            "gate_state": {
                "paused_dags": paused,
                "paused_at": started.timestamp() if started is not None else None,
            },
        }
        return self.execute_complete(context, event)

    def _execution_timeout_seconds(self) -> float | None:
        limit = getattr(self, "execution_timeout", None)
        return limit.total_seconds() if isinstance(limit, dt.timedelta) else None

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """Resume after the trigger: succeed on recovery, fail (no retry) on timeout."""
        event = event or {}
        state = event.get("gate_state") or {}
        paused = list(state.get("paused_dags") or [])
        result: GateResult | None = None
        if event.get("measurement"):
            self._query = MetricsQuery.from_dict(event["query"])
            result = self._evaluate(
                GateSpec.from_dict(event["spec"]), Measurement.from_dict(event["measurement"])
            )
        waited = time.time() - float(state.get("paused_at") or time.time())
        if event.get("status") == "recovered" and result is not None:
            self.log.info(
                "quality gate recovered after %.1fs (%s polls): %s",
                waited,
                event.get("polls"),
                result.summary(),
            )
            unpaused = self._release_dags(context, paused)
            self._notify(context, "recovery", result, paused_dags=paused, waited_seconds=waited)
            return self._publish(
                context, result, paused_dags=paused, unpaused_dags=unpaused, waited_seconds=waited
            )
        detail = result.summary() if result else (event.get("error") or "no measurement")
        if result is not None and event.get("error"):  # an earlier poll measured; the last ones failed
            detail += f"; the last measurement failed: {event['error']}"
        self._end_holds(context)
        self._notify(context, "timeout", result, paused_dags=paused, waited_seconds=waited, detail=detail)
        if result is not None:
            self._publish(context, result, push=True, paused_dags=paused, waited_seconds=waited)
        still = f"; DAGs paused by this gate stay paused: {', '.join(paused)}" if paused else ""
        raise QualityGateFailed(
            f"quality gate timed out after {waited:.0f}s, still breached: {detail}{still}"
        )

    # ------------------------------------------------------------------ side effects

    def _publish(
        self, context: Context, result: GateResult, *, push: bool = False, **extra: Any
    ) -> dict[str, Any]:
        """The XCom value (returned, or pushed when the task ends another way than returning)."""
        value = {
            **result.to_dict(),
            "on_breach": self.on_breach,
            "conn_id": self.conn_id,
            "sql": _shown_sql(self._query.sql) if self._query else None,
            **extra,
        }
        if push:
            context["ti"].xcom_push(key="return_value", value=value)
        return value

    def _notify(self, context: Context, event: str, result: GateResult | None, **extra: Any) -> None:
        if not self.notifiers:
            return
        ti = context["ti"]
        details = {
            "event": event,
            **(result.to_dict() if result is not None else self._unmeasured(extra.get("detail"))),
            "on_breach": self.on_breach,
            "dag_id": ti.dag_id,
            "task_id": ti.task_id,
            "run_id": ti.run_id,
            "link": getattr(ti, "log_url", None),
            **extra,
        }
        for notifier in self.notifiers:
            notifier_context = dict(context)
            notifier_context["quality_gate"] = details
            self._call_notifier(notifier, notifier_context)

    def _call_notifier(self, notifier: Callable[..., Any], context: dict[str, Any]) -> None:
        """Call one notifier in a thread of its own, for at most ``notifier_timeout`` seconds.

        An alert that cannot be sent (it raises, or hangs on a network call without a timeout) must not
        change the gate's outcome, nor hold the gate: a notifier still running is left behind (a daemon
        thread, which ends with the task's process).
        """
        raised: list[BaseException] = []

        def call() -> None:
            try:
                notifier(context)
            except BaseException as exc:
                raised.append(exc)

        thread = _in_thread(call, f"quality-gate-notifier {self.task_id}")
        thread.join(self.notifier_timeout)
        if thread.is_alive():
            self.log.warning(
                "quality gate notifier %r still running after %.0fs (notifier_timeout): left behind",
                notifier,
                self.notifier_timeout,
            )
            return
        if not raised:
            return
        if not isinstance(raised[0], Exception):  # SystemExit, KeyboardInterrupt ... are not alerts failing
            raise raised[0]
        self.log.warning("quality gate notifier %r failed: %s", notifier, error_line(raised[0]))

    def _unmeasured(self, detail: str | None) -> dict[str, Any]:
        """The result keys of an alert when no measurement exists (every poll of a pause failed).

        Same keys as ``GateResult.to_dict()``: a notifier written for a breach reads a timeout alike. The
        rates are ``None`` (not measured); the thresholds are the gate's.
        """
        unknown = {"rows": None, "null_count": None, "blank_count": None, "counted_as_null": None}
        columns = {
            rule.column: {
                "column": rule.column,
                **unknown,
                "null_rate": None,
                "max_null_rate": rule.max_null_rate,
                "severity": rule.severity,
                "blank_is_null": bool(rule.blank_is_null),
                "passed": None,
            }
            for rule in self.rules
        }
        return {
            "table": self.table,
            "status": BREACH,
            "row_count": None,
            "columns": columns,
            "row_check": None,
            "sampled_percent": self.sample_percent,
            "row_filter": _shown_sql((self.row_filter or "").strip()) or None,
            "breaches": [],
            "summary": f"{self.table}: not measured ({detail or 'no measurement'})",
        }

    def _api(self) -> Any:
        from airflow_lineage_provider.hooks.airflow_api import AirflowApiClient

        return AirflowApiClient(str(self.airflow_api_conn_id))

    @staticmethod
    def _holder(context: Context) -> str:
        """This run in the pause ledger: its run id, and for a mapped gate its map index (``run_id[2]``).

        The map indexes of a mapped gate share the run id: one that passes must not release the DAGs
        another partition of the same run still holds paused.
        """
        ti = context["ti"]
        map_index = getattr(ti, "map_index", None)
        return str(ti.run_id) if map_index is None or map_index < 0 else f"{ti.run_id}[{map_index}]"

    @staticmethod
    def _task_ref(context: Context) -> Any:
        """This task instance try in the pause ledger, so that other runs can tell when it is over."""
        from airflow_lineage_provider.operators.pause_ledger import TaskRef

        ti = context["ti"]
        map_index = getattr(ti, "map_index", None)
        return TaskRef(
            str(ti.dag_id),
            str(ti.task_id),
            str(ti.run_id),
            -1 if map_index is None else int(map_index),
            int(getattr(ti, "try_number", 0) or 0),
        )

    def _store(self, context: Context, api: Any) -> Any:
        """Where the holds of this gate are kept (see :mod:`operators.pause_ledger`)."""
        from airflow_lineage_provider.operators.pause_ledger import VariableHoldStore

        ti = context["ti"]
        return VariableHoldStore(ti.dag_id, ti.task_id, api)

    def _pause_targets(self, context: Context, api: Any) -> list[str]:
        own = context["ti"].dag_id
        if isinstance(self.pause_downstream_dags, list):
            if own in self.pause_downstream_dags:
                self.log.warning("quality gate will not pause its own DAG %s (it could never resume)", own)
            return [d for d in self.pause_downstream_dags if d != own]
        return list(api.dags_scheduled_on(self._dataset_id(), exclude=own))

    def _pause_dags(self, context: Context) -> list[str]:
        """Pause the target DAGs that are running; the DAGs this run now holds paused.

        A missing API connection or refused credentials is bad input: it fails the gate before any waiting.
        Any other API failure (the network, a DAG that cannot be changed) costs one warning.
        """
        if not self.pause_downstream_dags:
            return []
        from airflow_lineage_provider.hooks.airflow_api import AirflowApiError
        from airflow_lineage_provider.operators import pause_ledger

        try:
            api = self._api()
            api.check()
        except AirflowApiError as exc:
            if exc.status not in (401, 403):
                self.log.warning("quality gate could not reach Airflow's API to pause DAGs: %s", exc)
                return []
            msg = (
                f"{self.task_id}: airflow_api_conn_id {self.airflow_api_conn_id!r} was refused by Airflow's "
                f"REST API ({exc}); give it a login/password (or extra token) allowed to edit DAGs"
            )
            raise QualityGateInputFailed(msg) from exc
        except Exception as exc:
            from airflow.sdk.exceptions import AirflowNotFoundException

            if isinstance(exc, AirflowNotFoundException):
                msg = (
                    f"{self.task_id}: airflow_api_conn_id {self.airflow_api_conn_id!r} is not defined; "
                    "create an HTTP connection to Airflow's API server (host, port, login/password)"
                )
                raise QualityGateInputFailed(msg) from exc
            self.log.warning("quality gate could not reach Airflow's API to pause DAGs: %s", error_line(exc))
            return []
        try:
            targets = self._pause_targets(context, api)
            store, holder, ref = self._store(context, api), self._holder(context), self._task_ref(context)
            held = pause_ledger.hold(store, api, holder, targets, ti=ref)
        except Exception as exc:
            self.log.warning("quality gate could not pause downstream DAGs: %s", error_line(exc))
            return []
        if held:
            self.log.warning("quality gate holds DAGs paused until the data recovers: %s", ", ".join(held))
        return held

    def _end_holds(self, context: Context) -> None:
        """This run stops waiting without recovery: its DAGs stay paused until a later run passes."""
        if not self.pause_downstream_dags:
            return
        from airflow_lineage_provider.operators import pause_ledger

        try:
            api = self._api()
            pause_ledger.end(self._store(context, api), self._holder(context), ti=self._task_ref(context))
        except Exception as exc:
            self.log.warning("quality gate could not record the DAGs it leaves paused: %s", error_line(exc))

    def _release_dags(self, context: Context, paused: list[str]) -> list[str]:
        """This run's data is fit: drop its hold; unpause what no waiting run of this gate holds.

        DAGs left paused by timed-out runs are released too, and those of runs whose task stopped waiting
        another way (marked success or failed by hand, DAG run failed, cleared or deleted). A DAG that
        cannot be unpaused stays recorded, so the next passing run tries again. If the holds cannot be read,
        only what this run paused itself is unpaused. Returns the ids unpaused.
        """
        if not self.pause_downstream_dags:
            return []
        from airflow_lineage_provider.operators import pause_ledger

        try:
            api = self._api()
        except Exception as exc:
            self.log.warning(
                "quality gate could not reach Airflow's API to unpause DAGs: %s", error_line(exc)
            )
            return []
        try:
            store, holder, ref = self._store(context, api), self._holder(context), self._task_ref(context)
            return pause_ledger.release(store, api, holder, paused, ti=ref)
        except Exception as exc:
            if not paused:
                self.log.warning(
                    "quality gate could not read which DAGs it holds paused: %s", error_line(exc)
                )
                return []
            self.log.warning("quality gate could not read which DAGs it holds paused (%s); unpausing those "
                             "this run paused: %s", error_line(exc), ", ".join(paused))  # fmt: skip
        try:
            unpaused, _ = api.unpause(sorted(paused))
        except Exception as exc:
            self.log.warning("quality gate could not unpause DAGs %s: %s", paused, error_line(exc))
            return []
        return list(unpaused)

    # ------------------------------------------------------------------ OpenLineage

    def _dataset_id(self) -> Any:
        from airflow_lineage_provider.naming import dataset_for_table
        from airflow_lineage_provider.sql import TableRef, dialect_for_conn_type
        from airflow_lineage_provider.sql.names import keeps_table_case

        conn = self._get_connection()
        keep = keeps_table_case(dialect_for_conn_type(conn.conn_type))  # named as the SQL extractor names it
        names = [p.text if p.quoted or keep else p.text.lower() for p in self._table_parts()]
        padded: list[str | None] = [None] * (3 - len(names)) + list(names)
        return dataset_for_table(conn, TableRef(padded[2] or "", padded[1], padded[0]))

    def _lineage(self) -> OperatorLineage:
        from openlineage.client.event_v2 import InputDataset

        from airflow_lineage_provider.extractors.base import OperatorLineage

        dataset = self._dataset_id()
        sql = self._query.sql if self._query else None
        facets = input_facets(self._result, sql=sql) if self._result else {}
        return OperatorLineage(
            inputs=[InputDataset(namespace=dataset.namespace, name=dataset.name, inputFacets=facets or None)],
            run_facets=run_facets(self._result, sql=sql) if self._result else {},
        )

    def get_openlineage_facets_on_start(self) -> OperatorLineage:
        return self._lineage()

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage:
        return self._lineage()

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> OperatorLineage:
        return self._lineage()


def _in_thread(work: Callable[[], None], name: str) -> threading.Thread:
    """``work`` started on a daemon thread with the task's context variables, as if called in line
    (``get_current_context()``, connections the task runner set up)."""
    thread = threading.Thread(target=contextvars.copy_context().run, args=(work,), name=name, daemon=True)
    thread.start()
    return thread

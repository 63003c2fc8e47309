"""Task and DAG-run events under ``[lineage_provider]`` option combinations the other tests leave out.

Every case is a real ``dag.test()`` run on the SQLite metadata DB with its options set as
``AIRFLOW__LINEAGE_PROVIDER__*`` variables; the events are read back from the ``lineage_events`` file
transport (each one schema-validated) and compared with what README.md "Options" and docs/ promise, together
with the provider's WARNING-or-worse log lines. A promise the provider does not keep is an ``xfail(strict)``.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lineage_helpers import dags_folder, reset_lineage, run_dag, summary, task_events

pytestmark = pytest.mark.airflow

ENV = "AIRFLOW__LINEAGE_PROVIDER__"

#: operators, extractors and callables the DAG files import, written as a module of its own so their class
#: paths are stable (``disabled_for_operators`` and ``extractors`` name them)
HELPERS = """
import functools

from airflow.sdk import BaseOperator

from airflow_lineage_provider.extractors.base import BaseExtractor, OperatorLineage
from openlineage.client.event_v2 import InputDataset, OutputDataset


class Base(BaseOperator):
    def execute(self, context):
        return None


class Sub(Base):
    pass


class BrokenOnStart(BaseExtractor):
    operator_class_names = ("Sub",)

    def extract_on_start(self, context):
        raise RuntimeError("start is broken for postgresql://etl:Start-Secret-9@db/dw")

    def extract_on_complete(self, context, task_instance):
        return OperatorLineage(outputs=[OutputDataset(namespace="custom", name="sub-out")])


class SaysNothing(BaseExtractor):
    operator_class_names = ("Base",)


class SilentOnSql(BaseExtractor):
    operator_class_names = ("SQLExecuteQueryOperator",)


class ClaimsSql(BaseExtractor):
    operator_class_names = ("SQLExecuteQueryOperator",)

    def extract_on_start(self, context):
        return OperatorLineage(inputs=[InputDataset(namespace="custom", name="claimed")])


#: (task_id, try_number, state) of every call of record_state (a custom_run_facets function)
calls = []


def record_state(task_instance, state):
    calls.append((task_instance.task_id, task_instance.try_number, str(state.value)))
    return {"seenState": {"state": str(state.value), "try": task_instance.try_number}}


def add(a, b):
    token = "tok-Partial-Secret-1"
    return a + b + len(token)


class Loader:
    def __call__(self):
        password = "pw-Callable-Secret-2"
        return len(password)


added = functools.partial(add, 1)
"""


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def warnings(self) -> list[str]:
        return [r.getMessage() for r in self.records if r.levelno >= logging.WARNING]


@pytest.fixture
def provider_log() -> Iterator[_Records]:
    """The provider's log records (not caplog: Airflow's logging set-up may stop propagation to the root)."""
    handler = _Records()
    package = logging.getLogger("airflow_lineage_provider")
    level = package.level
    package.addHandler(handler)
    package.setLevel(logging.DEBUG)
    yield handler
    package.removeHandler(handler)
    package.setLevel(level)


@pytest.fixture
def helpers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The name of an importable module holding HELPERS."""
    module = f"cfg_variants_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{module}.py").write_text(textwrap.dedent(HELPERS))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield module
    sys.modules.pop(module, None)


@pytest.fixture
def options(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """``options(name=value, ...)`` sets ``AIRFLOW__LINEAGE_PROVIDER__<NAME>`` and resets the provider."""

    def set_options(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(ENV + name.upper(), value)
        reset_lineage()

    yield set_options
    reset_lineage()


@pytest.fixture
def warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A SQLite file with two small tables, as connection ``cfg_wh``; returns its namespace."""
    path = (tmp_path / "wh.db").resolve()
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE orders (id INTEGER, customer TEXT, amount REAL, email TEXT)")
        db.execute("CREATE TABLE totals (customer TEXT, total REAL)")
        db.execute("INSERT INTO orders VALUES (1, 'ann', 10.5, 'a@x'), (2, 'bob', 20.0, 'b@x')")
    monkeypatch.setenv("AIRFLOW_CONN_CFG_WH", json.dumps({"conn_type": "sqlite", "host": str(path)}))
    return f"sqlite://{path}"


def _jobs(events: list[dict[str, Any]]) -> set[str]:
    return {name for _, name in summary(events)}


def _by_type(events: list[dict[str, Any]], job: str) -> dict[str, dict[str, Any]]:
    return {e["eventType"]: e for e in task_events(events, job)}


HEAD = """
import datetime
from airflow.sdk import DAG, TaskGroup, task
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.python import PythonOperator
from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow_lineage_provider import disable_lineage, enable_lineage
from {helpers} import Base, Sub, Loader, added

D = dict(schedule=None, start_date=datetime.datetime(2024, 1, 1))
"""


def _run(helpers: str, dag_id: str, body: str) -> Any:
    source = HEAD.format(helpers=helpers) + textwrap.dedent(body).replace("DAG_ID", repr(dag_id))
    try:
        return run_dag(source, dag_id)
    finally:
        # the file imports this test's helper module: later parses of the dags folder would fail on it
        (dags_folder() / f"{dag_id}.py").unlink(missing_ok=True)


# --- selective_enable, disable_lineage and disabled_for_operators together ---------------------------------

SELECTION_BODY = """
with DAG(DAG_ID, **D) as dag:
    with TaskGroup("grp") as grp:
        base = Base(task_id="base")
        sub = Sub(task_id="sub")
        EmptyOperator(task_id="quiet")
    @task
    def double(n):
        return n * 2
    doubled = double.expand(n=[1, 2, 3])
    other = EmptyOperator(task_id="other")
    grp >> doubled >> other
"""


def test_selective_mapped_task_group(lineage_events, options, helpers, provider_log):
    """enable_lineage on what a mapped @task_group call returns (the result of its last task)."""
    options(selective_enable="True")
    body = """
    from airflow.sdk import task_group
    @task_group
    def per_item(n):
        @task
        def one(n):
            return n
        @task
        def two(m):
            return m
        return two(one(n))
    with DAG(DAG_ID, **D) as dag:
        mapped = per_item.expand(n=[1, 2])
        EmptyOperator(task_id="other")
    enable_lineage(mapped)
    """
    assert str(_run(helpers, "cfg_sel_mtg", body).state) == "success"
    # the function returns a task's result: docs/listener.md says that marks only that task (each map index)
    events = lineage_events()
    assert sorted(summary(events)) == sorted(
        [("START", "cfg_sel_mtg"), ("COMPLETE", "cfg_sel_mtg")]
        + [("START", "cfg_sel_mtg.per_item.two"), ("COMPLETE", "cfg_sel_mtg.per_item.two")] * 2
    )
    indexes = [
        e["run"]["facets"]["airflow"]["taskInstance"]["map_index"]
        for e in task_events(events, "cfg_sel_mtg.per_item.two")
    ]
    assert sorted(indexes) == [0, 0, 1, 1]
    assert provider_log.warnings() == []


def test_selective_group_and_mapped_task_minus_a_task_switched_off(lineage_events, options, helpers):
    """A group and a mapped task switched on, one task of the group switched off again: exactly the rest."""
    options(selective_enable="True")
    marks = "\nenable_lineage(grp)\nenable_lineage(doubled)\ndisable_lineage(dag.task_dict['grp.quiet'])\n"
    assert str(_run(helpers, "cfg_sel_mix", SELECTION_BODY + marks).state) == "success"
    events = lineage_events()
    assert _jobs(events) == {
        "cfg_sel_mix",
        "cfg_sel_mix.grp.base",
        "cfg_sel_mix.grp.sub",
        "cfg_sel_mix.double",
    }
    mapped = task_events(events, "cfg_sel_mix.double")
    indexes = sorted(e["run"]["facets"]["airflow"]["taskInstance"]["map_index"] for e in mapped)
    assert indexes == [0, 0, 1, 1, 2, 2]


@pytest.mark.parametrize(
    ("listed", "silent"),
    [
        ("Sub", {"grp.sub"}),
        # the docs say "operator classes whose tasks emit no events": a subclass's task is not one of them
        ("Base", {"grp.base"}),
        ("Base;Sub", {"grp.base", "grp.sub"}),
    ],
)
def test_disabled_for_operators_names_exact_classes(lineage_events, options, helpers, listed, silent):
    options(disabled_for_operators=";".join(f"{helpers}.{name}" for name in listed.split(";")))
    dag_id = f"cfg_off_{listed.replace(';', '_').lower()}"
    assert str(_run(helpers, dag_id, SELECTION_BODY).state) == "success"
    every = {"grp.base", "grp.sub", "grp.quiet", "double", "other"}
    assert _jobs(lineage_events()) == {dag_id} | {f"{dag_id}.{t}" for t in every - silent}


def test_disabled_for_operators_wins_over_enable_lineage_under_selective_enable(
    lineage_events, options, helpers
):
    """docs/listener.md: "disabled_for_operators wins over all of these"."""
    options(selective_enable="True", disabled_for_operators=f"{helpers}.Sub")
    body = SELECTION_BODY + "\nenable_lineage(dag)\nenable_lineage(sub)\ndisable_lineage(other)\n"
    assert str(_run(helpers, "cfg_sel_ops", body).state) == "success"
    assert _jobs(lineage_events()) == {
        "cfg_sel_ops",
        "cfg_sel_ops.grp.base",
        "cfg_sel_ops.grp.quiet",
        "cfg_sel_ops.double",
    }


def test_a_dag_whose_only_selected_task_is_a_disabled_operator(lineage_events, options, helpers):
    """Only a task of a disabled class is switched on: no task event; the DAG run is still selected by it."""
    options(selective_enable="True", disabled_for_operators=f"{helpers}.Sub")
    body = SELECTION_BODY + "\nenable_lineage(sub)\n"
    assert str(_run(helpers, "cfg_sel_only_off", body).state) == "success"
    events = lineage_events()
    assert [e for e in events if e["job"]["name"] != "cfg_sel_only_off"] == []
    # docs/listener.md: a run is sent when any of its tasks is switched on, whatever disabled_for_operators
    assert summary(events) == [("START", "cfg_sel_only_off"), ("COMPLETE", "cfg_sel_only_off")]


# --- include_source_code ---------------------------------------------------------------------------------

SOURCE_BODY = """
with DAG(DAG_ID, **D) as dag:
    PythonOperator(task_id="lam", python_callable=lambda: len("api_key = 'lambda-Secret-3'"))
    PythonOperator(task_id="part", python_callable=added, op_args=[2])
    PythonOperator(task_id="obj", python_callable=Loader())
    BashOperator(task_id="bash",
                 bash_command="export API_TOKEN=bash-Secret-4; echo {{ dag.dag_id }} $API_TOKEN")
    @task
    def deco():
        secret = "deco-Secret-5"
        return len(secret)
    deco()
"""


def test_source_code_of_lambdas_partials_callable_objects_and_bash(
    lineage_events, options, helpers, provider_log
):
    options(include_source_code="True")
    assert str(_run(helpers, "cfg_src", SOURCE_BODY).state) == "success"
    events = lineage_events()
    wire = json.dumps(events)
    for secret in (
        "lambda-Secret-3",
        "tok-Partial-Secret-1",
        "pw-Callable-Secret-2",
        "bash-Secret-4",
        "deco-Secret-5",
    ):
        assert secret not in wire, secret
    code = {
        task: _by_type(events, f"cfg_src.{task}")["COMPLETE"]["job"]["facets"].get("sourceCode", {})
        for task in ("lam", "part", "obj", "bash", "deco")
    }
    # a lambda's source is the line that holds it (what inspect gives), masked like any code
    assert code["lam"]["language"] == "python"
    assert code["lam"]["sourceCode"].startswith('PythonOperator(task_id="lam", python_callable=lambda: len(')
    assert code["part"]["sourceCode"] == 'def add(a, b):\n    token = "***"\n    return a + b + len(token)\n'
    assert code["obj"]["sourceCode"].startswith(
        'class Loader:\n    def __call__(self):\n        password = "***"'
    )
    assert code["bash"] == {**code["bash"], "language": "bash"}
    assert code["bash"]["sourceCode"].startswith("export API_TOKEN=***; echo cfg_src")  # rendered
    assert "def deco()" in code["deco"]["sourceCode"]
    assert provider_log.warnings() == []


def test_source_code_of_a_bash_script_file_is_the_rendered_script(
    lineage_events, options, helpers, tmp_path, provider_log
):
    """README: "the rendered bash_command of BashOperator": a ``.sh`` command is rendered from its file."""
    options(include_source_code="True")
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "load.sh").write_text('PASSWORD="sh-Secret-6"\necho "{{ dag.dag_id }} $PASSWORD" | wc -c\n')
    body = f"""
    with DAG(DAG_ID, template_searchpath=[{str(scripts)!r}], **D) as dag:
        BashOperator(task_id="script", bash_command="load.sh")
    """
    assert str(_run(helpers, "cfg_src_sh", body).state) == "success"
    events = lineage_events()
    assert "sh-Secret-6" not in json.dumps(events)
    code = _by_type(events, "cfg_src_sh.script")["COMPLETE"]["job"]["facets"]["sourceCode"]
    assert code["language"] == "bash"
    assert code["sourceCode"].startswith('PASSWORD="***"') or code["sourceCode"].startswith("PASSWORD=***")
    assert 'echo "cfg_src_sh $PASSWORD" | wc -c' in code["sourceCode"]
    assert provider_log.warnings() == []


# --- include_airflow_facet, namespace --------------------------------------------------------------------


def test_no_airflow_facet_and_a_namespace_with_odd_characters(lineage_events, options, helpers, provider_log):
    namespace = "prod airflow/Ünïcode:1?x=y#z"
    options(include_airflow_facet="False", namespace=namespace)
    body = """
    with DAG(DAG_ID, **D) as dag:
        EmptyOperator(task_id="a") >> Sub(task_id="b")
    """
    assert str(_run(helpers, "cfg_ns", body).state) == "success"
    events = lineage_events()
    assert summary(events) == [
        ("START", "cfg_ns"),
        ("START", "cfg_ns.a"),
        ("COMPLETE", "cfg_ns.a"),
        ("START", "cfg_ns.b"),
        ("COMPLETE", "cfg_ns.b"),
        ("COMPLETE", "cfg_ns"),
    ]
    for event in events:
        assert event["job"]["namespace"] == namespace
        assert "airflow" not in event["run"].get("facets", {})
        if event["job"]["name"] != "cfg_ns":
            parent = event["run"]["facets"]["parent"]
            for job in (parent["job"], parent["root"]["job"]):
                assert (job["namespace"], job["name"]) == (namespace, "cfg_ns")
    assert provider_log.warnings() == []


@pytest.mark.parametrize(
    ("option", "env", "expected"),
    [
        (None, "ns-from-env", "ns-from-env"),
        ("ns-from-option", "ns-from-env", "ns-from-option"),
        ("default", "ns-from-env", "ns-from-env"),  # docs/configuration.md: the option "when not default"
    ],
)
def test_namespace_precedence_over_openlineage_namespace(
    lineage_events, options, helpers, monkeypatch, option, env, expected
):
    monkeypatch.setenv("OPENLINEAGE_NAMESPACE", env)
    options(**({} if option is None else {"namespace": option}))
    dag_id = f"cfg_ns_prec_{option or 'unset'}".replace("-", "_")
    body = """
    with DAG(DAG_ID, **D) as dag:
        EmptyOperator(task_id="a")
    """
    assert str(_run(helpers, dag_id, body).state) == "success"
    events = lineage_events()
    assert len(events) == 4
    assert {e["job"]["namespace"] for e in events} == {expected}
    assert {e["run"]["facets"]["parent"]["job"]["namespace"] for e in task_events(events, f"{dag_id}.a")} == {
        expected
    }


# --- extractors -------------------------------------------------------------------------------------------

EXTRACTOR_BODY = """
with DAG(DAG_ID, **D) as dag:
    Sub(task_id="sub") >> Base(task_id="base") >> SQLExecuteQueryOperator(
        task_id="sql", conn_id="cfg_wh",
        sql="INSERT INTO totals SELECT customer, SUM(amount) FROM orders GROUP BY customer")
"""


def test_custom_extractors_broken_on_start_silent_and_claiming_sql(
    lineage_events, options, helpers, warehouse, provider_log
):
    # docs/configuration.md: the lists are separated by ";" (a "," works too)
    options(extractors=f"{helpers}.BrokenOnStart, {helpers}.SaysNothing;{helpers}.ClaimsSql")
    assert str(_run(helpers, "cfg_ext", EXTRACTOR_BODY).state) == "success"
    events = lineage_events()
    assert "Start-Secret-9" not in json.dumps(events)

    sub = _by_type(events, "cfg_ext.sub")
    assert set(sub) == {"START", "COMPLETE"}
    errors = sub["START"]["run"]["facets"]["extractionError"]["errors"]
    assert len(errors) == 1 and "start is broken" in errors[0]["errorMessage"]
    assert "extractionError" not in sub["COMPLETE"]["run"]["facets"]
    assert [(d["namespace"], d["name"]) for d in sub["COMPLETE"]["outputs"]] == [("custom", "sub-out")]

    base = _by_type(events, "cfg_ext.base")
    assert set(base) == {"START", "COMPLETE"}
    for event in base.values():
        assert not event.get("inputs") and not event.get("outputs")
        assert "extractionError" not in event["run"]["facets"]

    # the custom extractor wins over the built-in SQL extractor (README "extractors")
    sql = _by_type(events, "cfg_ext.sql")
    for event in sql.values():
        assert [(d["namespace"], d["name"]) for d in event.get("inputs", [])] == [("custom", "claimed")]
        assert "sql" not in event["job"].get("facets", {})

    warnings = provider_log.warnings()
    assert len(warnings) == 1, warnings
    assert "start is broken" in warnings[0] and "Start-Secret-9" not in warnings[0]


def test_a_custom_extractor_saying_nothing_for_a_sql_task(
    lineage_events, options, helpers, warehouse, provider_log
):
    """It wins over the SQL extractor (README): START has no dataset; COMPLETE falls back to the queries the
    task ran through its hook (docs: hook lineage is used on complete/failure when no dataset was found)."""
    options(extractors=f"{helpers}.SilentOnSql")
    assert str(_run(helpers, "cfg_ext_silent", EXTRACTOR_BODY).state) == "success"
    sql = _by_type(lineage_events(), "cfg_ext_silent.sql")
    start, complete = sql["START"], sql["COMPLETE"]
    assert not start.get("inputs") and not start.get("outputs") and "sql" not in start["job"]["facets"]
    assert [d["name"] for d in complete["inputs"]] == ["orders"]
    assert [d["name"] for d in complete["outputs"]] == ["totals"]
    assert complete["job"]["facets"]["sql"]["query"].startswith("INSERT INTO totals SELECT")
    assert provider_log.warnings() == []


@pytest.mark.parametrize(
    ("path", "named"),
    [
        ("no_such_module_cfg.Extractor", "no_such_module_cfg.Extractor"),
        ("{helpers}.NoSuchExtractor", "NoSuchExtractor"),
    ],
)
def test_an_extractor_path_that_cannot_be_imported_is_one_clear_warning(
    lineage_events, options, helpers, warehouse, provider_log, path, named
):
    options(extractors=path.format(helpers=helpers))
    dag_id = "cfg_ext_bad_module" if path.startswith("no_such") else "cfg_ext_bad_class"
    assert str(_run(helpers, dag_id, EXTRACTOR_BODY).state) == "success"
    events = lineage_events()
    sql = _by_type(events, f"{dag_id}.sql")
    assert set(sql) == {"START", "COMPLETE"}
    assert ("custom", "claimed") not in [
        (d["namespace"], d["name"]) for d in sql["COMPLETE"].get("inputs", [])
    ]
    assert {d["name"] for d in sql["COMPLETE"]["outputs"]} == {"totals"}  # built-in SQL extractor still on
    warnings = provider_log.warnings()
    assert len(warnings) == 1, warnings
    assert "[lineage_provider] extractors" in warnings[0] and named in warnings[0]


def test_an_extractor_path_to_something_that_is_not_an_extractor_is_one_clear_warning(
    lineage_events, options, helpers, warehouse, provider_log
):
    """``extractors`` naming a function or a non-extractor class: README says subclasses of BaseExtractor."""
    options(extractors=f"{helpers}.add;{helpers}.Loader")
    assert str(_run(helpers, "cfg_ext_notext", EXTRACTOR_BODY).state) == "success"
    events = lineage_events()
    sql = _by_type(events, "cfg_ext_notext.sql")
    assert {d["name"] for d in sql["COMPLETE"]["outputs"]} == {"totals"}
    warnings = provider_log.warnings()
    assert len(warnings) == 2, warnings
    assert all("[lineage_provider] extractors" in w for w in warnings), warnings


# --- custom_run_facets on failing and retried tries ----------------------------------------------------


def test_custom_run_facets_see_each_try_and_its_failure(lineage_events, options, helpers, provider_log):
    """README: called on every task START, COMPLETE and FAIL with (task_instance, state)."""
    options(custom_run_facets=f"{helpers}.record_state", include_airflow_facet="False")
    body = """
    import datetime as dt
    tries = []
    def flaky():
        tries.append(1)
        if len(tries) == 1:
            raise ValueError("first try fails")
    with DAG(DAG_ID, **D) as dag:
        PythonOperator(task_id="flaky", python_callable=flaky, retries=1, retry_delay=dt.timedelta(0))
        PythonOperator(task_id="dies", python_callable=lambda: 1 / 0)
    """
    assert str(_run(helpers, "cfg_facets_retry", body).state) == "failed"
    events = lineage_events()
    seen = {
        name: [
            (e["eventType"], e["run"]["facets"]["seenState"]["state"], e["run"]["facets"]["seenState"]["try"])
            for e in task_events(events, f"cfg_facets_retry.{name}")
        ]
        for name in ("flaky", "dies")
    }
    assert seen == {
        # the first try of flaky ends up_for_retry; the function is told the FAIL event's state
        "flaky": [
            ("START", "running", 1),
            ("FAIL", "failed", 1),
            ("START", "running", 2),
            ("COMPLETE", "success", 2),
        ],
        "dies": [("START", "running", 1), ("FAIL", "failed", 1)],
    }
    for event in events:
        assert "airflow" not in event["run"]["facets"]
        if event["eventType"] == "FAIL":
            assert "extractionError" not in event["run"]["facets"]
            assert event["run"]["facets"]["errorMessage"]["message"]
    assert provider_log.warnings() == []


def test_custom_run_facets_are_not_called_for_tasks_that_send_nothing(lineage_events, options, helpers):
    """A function may be costly (a lookup per call): tasks whose lineage is off send no event to add to."""
    options(
        custom_run_facets=f"{helpers}.record_state",
        selective_enable="True",
        disabled_for_operators=f"{helpers}.Sub",
    )
    body = """
    with DAG(DAG_ID, **D) as dag:
        Base(task_id="unselected") >> Sub(task_id="disabled") >> Base(task_id="selected")
    enable_lineage(dag.task_dict["disabled"])
    enable_lineage(dag.task_dict["selected"])
    """
    assert str(_run(helpers, "cfg_facets_off", body).state) == "success"
    assert _jobs(lineage_events()) == {"cfg_facets_off", "cfg_facets_off.selected"}
    calls = sys.modules[helpers].calls
    assert {task for task, _, _ in calls} == {"selected"}, calls


# --- emit_asset_events with lineage switched off for the SQL task -------------------------------------------


def _asset_events_of(dag_id: str) -> list[tuple[str, str]]:
    from airflow.models.asset import AssetEvent
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.scalars(select(AssetEvent).where(AssetEvent.source_dag_id == dag_id)).all()
        return sorted((e.source_task_id, e.asset.uri) for e in rows)


ASSET_BODY = """
with DAG(DAG_ID, **D) as dag:
    load = SQLExecuteQueryOperator(task_id="load", conn_id="cfg_wh",
                                   sql="INSERT INTO totals SELECT customer, amount FROM orders")
"""


def test_asset_events_of_sql_outputs(lineage_events, options, helpers, warehouse):
    options(emit_asset_events="True")
    assert str(_run(helpers, "cfg_assets_on", ASSET_BODY).state) == "success"
    assert _asset_events_of("cfg_assets_on") == [
        ("load", f"sqlite:{warehouse.removeprefix('sqlite://')}/totals")
    ]
    assert len(lineage_events()) == 4


@pytest.mark.parametrize(
    ("switched_off", "marks"),
    [
        ({"selective_enable": "True"}, ""),  # the rollout mode: this DAG is not switched on yet
        ({"selective_enable": "False"}, "disable_lineage(load)"),
        (
            {"disabled_for_operators": "airflow.providers.common.sql.operators.sql.SQLExecuteQueryOperator"},
            "",
        ),
    ],
    ids=["selective_enable", "disable_lineage", "disabled_for_operators"],
)
def test_asset_events_of_sql_outputs_when_the_tasks_lineage_is_off(
    lineage_events, options, helpers, warehouse, request, switched_off, marks
):
    """docs/sql-extractors.md: with emit_asset_events "every table a SQL operator writes is published as an
    Airflow asset event" so asset-scheduled DAGs run; switching a task's lineage events off (selective_enable,
    disable_lineage, disabled_for_operators) is documented as "no event" (OpenLineage), not as "no asset
    event"."""
    options(emit_asset_events="True", **switched_off)
    dag_id = f"cfg_assets_{request.node.callspec.id}"
    assert str(_run(helpers, dag_id, ASSET_BODY + marks).state) == "success"
    assert [(e["eventType"], e["job"]["name"]) for e in lineage_events() if e["job"]["name"] != dag_id] == []
    assert _asset_events_of(dag_id) == [("load", f"sqlite:{warehouse.removeprefix('sqlite://')}/totals")]


# --- disabled --------------------------------------------------------------------------------------------


def test_disabled_sends_nothing_and_the_quality_gate_still_decides(
    lineage_events, options, helpers, warehouse, provider_log
):
    """README: "no event is emitted. The quality-gate operator keeps working"."""
    options(disabled="True")
    with sqlite3.connect(warehouse.removeprefix("sqlite://")) as db:
        db.execute("INSERT INTO orders VALUES (3, 'cy', 1.0, NULL)")  # a third of the emails are null
    body = """
    from airflow_lineage_provider.operators.quality_gate import QualityGateOperator
    with DAG(DAG_ID, **D) as dag:
        ok = QualityGateOperator(task_id="ok", conn_id="cfg_wh", table="orders",
                                 null_thresholds={"customer": 0.0}, on_breach="fail")
        bad = QualityGateOperator(task_id="bad", conn_id="cfg_wh", table="orders",
                                  null_thresholds={"email": 0.1}, on_breach="fail")
        ok >> EmptyOperator(task_id="after_ok")
        bad >> EmptyOperator(task_id="after_bad")
    """
    dag_run = _run(helpers, "cfg_disabled", body)
    states = {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}
    assert states == {"ok": "success", "after_ok": "success", "bad": "failed", "after_bad": "upstream_failed"}
    assert [_xcom(dag_run, task)["status"] for task in ("ok", "bad")] == ["pass", "breach"]
    assert lineage_events() == []
    assert provider_log.warnings() == []


def _xcom(dag_run: Any, task_id: str) -> Any:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = (
            session.query(XComModel)
            .filter_by(dag_id=dag_run.dag_id, run_id=dag_run.run_id, task_id=task_id, key="return_value")
            .one()
        )
        return XComModel.deserialize_value(row)


# --- mask_sql_literals -----------------------------------------------------------------------------------

MASK_BODY = """
from airflow.providers.common.sql.operators.sql import SQLCheckOperator, SQLColumnCheckOperator
with DAG(DAG_ID, **D) as dag:
    SQLExecuteQueryOperator(
        task_id="load", conn_id="cfg_wh",
        sql="INSERT INTO totals SELECT customer, SUM(amount) FROM orders "
            "WHERE customer <> 'Lit-A1' AND amount > 12345.5 GROUP BY customer")
    SQLColumnCheckOperator(
        task_id="columns", conn_id="cfg_wh", table="orders", partition_clause="customer <> 'Lit-B2'",
        column_mapping={"amount": {"min": {"geq_to": 0}}, "email": {"null_check": {"equal_to": 0}}})
    SQLCheckOperator(task_id="check", conn_id="cfg_wh",
                     sql="SELECT COUNT(*) FROM orders WHERE customer <> 'Lit-C3'")
"""


def test_mask_sql_literals_across_facets_assertions_and_errors(
    lineage_events, options, helpers, warehouse, provider_log
):
    options(mask_sql_literals="True")
    dag_run = _run(helpers, "cfg_mask", MASK_BODY)
    states = {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}
    assert states == {"load": "success", "columns": "success", "check": "success"}
    events = lineage_events()
    load = _by_type(events, "cfg_mask.load")["COMPLETE"]
    query = load["job"]["facets"]["sql"]["query"]
    assert "Lit-A1" not in query and "12345" not in query and "customer <> ?" in query
    assert {d["name"] for d in load["outputs"]} == {"totals"}

    columns = _by_type(events, "cfg_mask.columns")["COMPLETE"]
    [orders] = [d for d in columns["inputs"] if d["name"] == "orders"]
    assertions = orders["inputFacets"]["dataQualityAssertions"]["assertions"]
    assert assertions and all("Lit-B2" not in json.dumps(a) for a in assertions)
    check = _by_type(events, "cfg_mask.check")["COMPLETE"]
    assert "test" in check["run"]["facets"]
    by_name = {a["name"]: a for a in assertions}
    assert by_name["email.null_check"]["content"] == "SUM(CASE WHEN email IS NULL THEN ? ELSE ? END)"
    assert by_name["amount.min"]["params"]["partition_clause"] == "customer <> ?"
    [test] = check["run"]["facets"]["test"]["tests"]
    assert test["content"] == "SELECT COUNT(*) FROM orders WHERE customer <> ?"

    wire = json.dumps(events)
    leaks = [lit for lit in ("Lit-A1", "Lit-B2", "Lit-C3", "12345") if lit in wire]
    assert leaks == [], [
        (e["job"]["name"], e["eventType"], path)
        for e in events
        for path, value in _strings(e)
        if any(lit in value for lit in leaks)
    ]
    logged = " | ".join(provider_log.warnings())
    assert not [lit for lit in ("Lit-A1", "Lit-B2", "Lit-C3") if lit in logged], logged


def test_mask_sql_literals_covers_a_literal_left_open(lineage_events, options, helpers, warehouse):
    """A statement the database refuses still has its literals masked in the ``sql`` job facet."""
    options(mask_sql_literals="True")
    body = """
    with DAG(DAG_ID, **D) as dag:
        SQLExecuteQueryOperator(task_id="broken", conn_id="cfg_wh",
                                sql="SELECT 'Lit-D4' FROM orders WHERE customer = 'Lit-E5")
    """
    assert str(_run(helpers, "cfg_mask_open", body).state) == "failed"
    broken = _by_type(lineage_events(), "cfg_mask_open.broken")
    assert set(broken) == {"START", "FAIL"}
    for event in broken.values():
        query = event["job"]["facets"]["sql"]["query"]
        assert "Lit-D4" not in query and "Lit-E5" not in query, query


def _strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """``(path, text)`` of every string in a JSON value."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _strings(item, f"{path}[{i}]")


# --- max_event_bytes -------------------------------------------------------------------------------------

WIDE = 60


@pytest.fixture
def wide_tables(warehouse: str) -> str:
    columns = ", ".join(f"c{i:02d}_a_rather_long_column_name REAL" for i in range(WIDE))
    with sqlite3.connect(warehouse.removeprefix("sqlite://")) as db:
        db.execute(f"CREATE TABLE wide_src ({columns})")
        db.execute(f"CREATE TABLE wide_dst ({columns})")
    return warehouse


WIDE_BODY = f"""
with DAG(DAG_ID, **D) as dag:
    SQLExecuteQueryOperator(
        task_id="wide", conn_id="cfg_wh",
        sql="INSERT INTO wide_dst SELECT "
            + ", ".join(f"c{{i:02d}}_a_rather_long_column_name * 2 + {{i}}" for i in range({WIDE}))
            + " FROM wide_src")
"""


def test_a_small_max_event_bytes_trims_column_lineage_and_keeps_the_event_valid(
    lineage_events, options, helpers, wide_tables, provider_log
):
    options(max_event_bytes="4096")
    assert str(_run(helpers, "cfg_trim", WIDE_BODY).state) == "success"
    events = lineage_events()  # each one schema-validated
    assert [t for t, _ in summary(events)] == ["START", "START", "COMPLETE", "COMPLETE"]
    wide = _by_type(events, "cfg_trim.wide")
    for event in wide.values():
        assert len(json.dumps(event, separators=(",", ":")).encode()) <= 4096
        trimmed = event["run"]["facets"]["lineageProviderTrimmed"]
        assert trimmed["maxEventBytes"] == 4096 and trimmed["originalBytes"] > 4096
        assert trimmed["dropped"]
        assert event["run"]["facets"]["parent"]["job"]["name"] == "cfg_trim"
    complete = wide["COMPLETE"]
    dropped = complete["run"]["facets"]["lineageProviderTrimmed"]["dropped"]
    assert any("columnLineage" in label for label in dropped), dropped
    assert {d["name"] for d in complete.get("outputs", [])} <= {"wide_dst"}
    for warning in provider_log.warnings():
        assert "max_event_bytes" in warning, warning


def test_a_max_event_bytes_below_its_minimum_is_one_line_and_tasks_run(
    lineage_events, options, helpers, provider_log, tmp_path
):
    """docs/configuration.md: at least 4096; a bad value is one line naming the option, lineage off."""
    options(max_event_bytes="2000")
    body = """
    with DAG(DAG_ID, **D) as dag:
        EmptyOperator(task_id="a") >> Sub(task_id="b")
    """
    assert str(_run(helpers, "cfg_small_cap", body).state) == "success"
    # not lineage_events(): its flush would build the emitter in the test, which the bad value refuses
    events_file = tmp_path / "lineage-events.jsonl"
    assert not events_file.exists() or events_file.read_text() == ""
    warnings = provider_log.warnings()
    assert len(warnings) == 1, warnings
    assert "[lineage_provider] max_event_bytes" in warnings[0] and "4096" in warnings[0]
    assert "switched off" in warnings[0]

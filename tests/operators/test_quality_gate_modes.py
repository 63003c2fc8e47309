"""Every ``on_breach`` mode in real ``dag.test()`` runs: downstream task states, XCom, notifiers, events."""

from __future__ import annotations

from typing import Any

import pytest
from gate_helpers import ORDERS, Repairer, gate_xcom, pg_execute, sqlite_execute, ti_states

from airflow_lineage_provider import PRODUCER
from airflow_lineage_provider.naming import dataset_for_table
from airflow_lineage_provider.operators.quality_gate import QualityGateOperator

pytestmark = pytest.mark.airflow


def _gate_events(events: list[dict[str, Any]], dag_id: str) -> list[dict[str, Any]]:
    return [
        e for e in events if e["job"]["name"] == f"{dag_id}.gate" and e["eventType"] in ("COMPLETE", "FAIL")
    ]


def _check_gate_event(event: dict[str, Any], *, namespace: str, name: str, success: bool) -> dict[str, Any]:
    [dataset] = [d for d in event["inputs"] if d["name"] == name]
    assert dataset["namespace"] == namespace
    facets = dataset["inputFacets"]
    metrics = facets["dataQualityMetrics"]
    assertions = facets["dataQualityAssertions"]["assertions"]
    assert metrics["_producer"] == facets["dataQualityAssertions"]["_producer"] == PRODUCER
    assert all(a["success"] for a in assertions if a["severity"] == "error") == success
    tests = event["run"]["facets"]["test"]["tests"]  # the same checks, run-level
    assert [(t["name"], t["status"], t["severity"]) for t in tests] == [
        (a["name"], "pass" if a["success"] else "fail", a["severity"]) for a in assertions
    ]
    return metrics


def test_warn_mode_alerts_and_downstream_runs(sqlite_db, gate_dag, lineage_events, capfd) -> None:
    conn_id, path = sqlite_db
    sqlite_execute(path, *ORDERS)
    dag_run = gate_dag.run(
        conn_id=conn_id, table="orders", thresholds={"email": 0.25, "amount": 0.5}, on_breach="warn"
    )
    assert ti_states(dag_run) == {"gate": "success", "downstream": "success", "further": "success"}
    result = gate_xcom(dag_run)
    assert result["status"] == "breach" and result["breaches"] == ["email"]
    assert result["columns"]["email"]["null_rate"] == 0.5
    assert result["columns"]["amount"]["passed"] is True
    [note] = gate_dag.notes_read()
    assert note["event"] == "breach" and note["table"] == "orders" and note["breaches"] == ["email"]
    assert note["rates"] == {"email": 0.5, "amount": 0.25} and note["thresholds"] == {
        "email": 0.25,
        "amount": 0.5,
    }
    assert (note["dag_id"], note["task_id"], note["run_id"]) == (gate_dag.dag_id, "gate", dag_run.run_id)
    assert note["link"]
    log = capfd.readouterr().out  # dag.test() prints the task log
    assert (
        "[warning  ] quality gate breached (on_breach=warn): orders: breach (email: null rate 50.0000%" in log
    )

    from airflow.sdk import BaseHook

    dataset = dataset_for_table(BaseHook.get_connection(conn_id), "orders")
    [event] = _gate_events(lineage_events(), gate_dag.dag_id)
    assert event["eventType"] == "COMPLETE"
    metrics = _check_gate_event(event, namespace=dataset.namespace, name=dataset.name, success=False)
    assert metrics["rowCount"] == 4
    assert metrics["columnMetrics"]["email"] == {"nullCount": 2, "count": 2}


def test_skip_mode_skips_every_downstream_task(sqlite_db, gate_dag) -> None:
    conn_id, path = sqlite_db
    sqlite_execute(path, *ORDERS)
    dag_run = gate_dag.run(conn_id=conn_id, table="orders", thresholds={"email": 0.1}, on_breach="skip")
    assert ti_states(dag_run) == {"gate": "success", "downstream": "skipped", "further": "skipped"}
    assert gate_xcom(dag_run)["breaches"] == ["email"]
    assert [n["event"] for n in gate_dag.notes_read()] == ["breach"]
    assert gate_dag.marks_read() == []


def test_fail_mode_fails_without_retry(sqlite_db, gate_dag, lineage_events) -> None:
    conn_id, path = sqlite_db
    sqlite_execute(path, *ORDERS)
    dag_run = gate_dag.run(conn_id=conn_id, table="orders", thresholds={"email": 0.1}, on_breach="fail")
    assert ti_states(dag_run) == {
        "gate": "failed",
        "downstream": "upstream_failed",
        "further": "upstream_failed",
    }
    [gate_ti] = [ti for ti in dag_run.get_task_instances() if ti.task_id == "gate"]
    assert gate_ti.try_number == 1  # retries=2 in default_args, but a breach is not retried
    assert gate_xcom(dag_run)["status"] == "breach"
    assert [n["event"] for n in gate_dag.notes_read()] == ["breach"]
    [event] = _gate_events(lineage_events(), gate_dag.dag_id)
    assert event["eventType"] == "FAIL"
    from airflow.sdk import BaseHook

    dataset = dataset_for_table(BaseHook.get_connection(conn_id), "orders")
    _check_gate_event(event, namespace=dataset.namespace, name=dataset.name, success=False)


def test_pass_runs_downstream_quietly(sqlite_db, gate_dag) -> None:
    conn_id, path = sqlite_db
    sqlite_execute(path, *ORDERS)
    dag_run = gate_dag.run(
        conn_id=conn_id, table="orders", thresholds={"id": 0.0, "email": 0.5}, on_breach="fail"
    )
    assert ti_states(dag_run) == {"gate": "success", "downstream": "success", "further": "success"}
    assert gate_xcom(dag_run)["status"] == "pass"
    assert gate_dag.notes_read() == []


def _run_pause(
    gate_dag: Any, repair: Any, *, poke_interval: float = 1.0, **run_kwargs: Any
) -> tuple[Any, Any]:
    repairer = Repairer(gate_dag, repair, wait_polls=2.5, poke_interval=poke_interval)
    repairer.start()
    dag_run = gate_dag.run(on_breach="pause", poke_interval=poke_interval, timeout=120, **run_kwargs)
    repairer.join(10)
    assert repairer.error is None, repairer.error
    return dag_run, repairer


def _assert_paused_then_resumed(dag_run: Any, gate_dag: Any, repairer: Any) -> dict[str, Any]:
    # while paused: the gate waits on its trigger, nothing downstream has started
    assert repairer.seen_while_paused["downstream"] is None, repairer.seen_while_paused
    assert repairer.seen_while_paused["further"] is None
    assert repairer.seen_while_paused["gate"] in ("deferred", "queued")  # dag.test() runs triggers inline
    assert ti_states(dag_run) == {"gate": "success", "downstream": "success", "further": "success"}
    marks = gate_dag.marks_read()
    assert [m["task"] for m in marks] == ["downstream", "further"]
    assert marks[0]["at"] > repairer.repaired_at  # downstream ran only after the repair
    assert [n["event"] for n in gate_dag.notes_read()] == ["breach", "recovery"]
    result = gate_xcom(dag_run)
    assert result["status"] == "pass"
    assert result["waited_seconds"] > 0
    return result


def test_pause_mode_waits_then_resumes_after_repair_sqlite(sqlite_db, gate_dag, lineage_events) -> None:
    conn_id, path = sqlite_db
    sqlite_execute(path, *ORDERS)
    dag_run, repairer = _run_pause(
        gate_dag,
        lambda: sqlite_execute(path, "UPDATE orders SET email = 'fixed@x' WHERE email IS NULL"),
        conn_id=conn_id,
        table="orders",
        thresholds={"email": 0.1},
    )
    result = _assert_paused_then_resumed(dag_run, gate_dag, repairer)
    assert result["columns"]["email"]["null_count"] == 0
    events = _gate_events(lineage_events(), gate_dag.dag_id)
    assert events and events[-1]["eventType"] == "COMPLETE"
    from airflow.sdk import BaseHook

    dataset = dataset_for_table(BaseHook.get_connection(conn_id), "orders")
    metrics = _check_gate_event(events[-1], namespace=dataset.namespace, name=dataset.name, success=True)
    assert metrics["columnMetrics"]["email"]["nullCount"] == 0
    # the breach reached lineage when the gate began to wait: a RUNNING event of the same run
    [running] = [e for e in lineage_events() if e["job"]["name"] == f"{gate_dag.dag_id}.gate"
                 and e["eventType"] == "RUNNING"]  # fmt: skip
    assert running["run"]["runId"] == events[-1]["run"]["runId"]
    assert running["eventTime"] < events[-1]["eventTime"]
    breached = _check_gate_event(running, namespace=dataset.namespace, name=dataset.name, success=False)
    assert breached["columnMetrics"]["email"]["nullCount"] > 0


@pytest.mark.integration
def test_pause_mode_waits_then_resumes_after_repair_postgres(pg_schema, gate_dag) -> None:
    conn_id, schema = pg_schema
    pg_execute(
        f'CREATE TABLE {schema}."Orders" ("Id" int, "order" text, "select" text)',
        f"INSERT INTO {schema}.\"Orders\" SELECT g, CASE WHEN g % 4 = 0 THEN NULL ELSE 'x' END, "
        f"CASE WHEN g % 2 = 0 THEN '  ' ELSE 'y' END FROM generate_series(1, 1000) g",
    )
    dag_run, repairer = _run_pause(
        gate_dag,
        lambda: pg_execute(f'UPDATE {schema}."Orders" SET "order" = \'repaired\' WHERE "order" IS NULL'),
        conn_id=conn_id,
        table=f'{schema}."Orders"',
        thresholds={"order": 0.05, "select": {"max_null_rate": 0.1, "blank_is_null": False}},
    )
    result = _assert_paused_then_resumed(dag_run, gate_dag, repairer)
    assert result["columns"]["order"]["null_count"] == 0
    assert result["columns"]["select"]["blank_count"] is None  # blanks not counted for this rule


@pytest.mark.integration
@pytest.mark.parametrize(
    ("mode", "states"),
    [
        ("skip", {"gate": "success", "downstream": "skipped", "further": "skipped"}),
        ("fail", {"gate": "failed", "downstream": "upstream_failed", "further": "upstream_failed"}),
        ("warn", {"gate": "success", "downstream": "success", "further": "success"}),
    ],
)
def test_modes_on_postgres_mixed_case_and_reserved_words(pg_schema, gate_dag, mode, states) -> None:
    conn_id, schema = pg_schema
    pg_execute(
        f'CREATE TABLE {schema}."Mixed Table" ("CustomerId" int, "order" text, "we""ird" text, "select" int)',
        f"INSERT INTO {schema}.\"Mixed Table\" SELECT g, CASE WHEN g % 10 = 0 THEN NULL ELSE 'o' END, "
        f"CASE WHEN g % 3 = 0 THEN '' ELSE 'w' END, CASE WHEN g % 2 = 0 THEN NULL ELSE g END "
        f"FROM generate_series(1, 300) g",
    )
    dag_run = gate_dag.run(
        conn_id=conn_id,
        table=f'{schema}."Mixed Table"',
        thresholds={
            "CustomerId": 0.0,
            "ORDER": 0.2,  # resolved case-insensitively to "order"
            'we"ird': {"max_null_rate": 0.2, "blank_is_null": True},
            "select": {"max_null_rate": 0.1, "severity": "warn"},
        },
        on_breach=mode,
    )
    assert ti_states(dag_run) == states
    result = gate_xcom(dag_run)
    assert result["breaches"] == ['we"ird', "select"]
    assert result["columns"]['we"ird']["blank_count"] == 100
    assert result["columns"]["order"]["null_count"] == 30
    assert result["columns"]["select"]["severity"] == "warn"


@pytest.mark.integration
def test_fail_mode_on_mariadb_backticks_and_blanks(mariadb_table, gate_dag) -> None:
    conn_id, table, hook = mariadb_table
    hook.run(
        [f"CREATE TABLE `{table}` (`order` TEXT, `Mixed Col` INT, `we``ird` TEXT)",
         f"INSERT INTO `{table}` VALUES (NULL, 1, ''), ('a', NULL, ' '), ('b', 2, 'x'), ('c', 3, 'y')"],
        autocommit=True,
    )  # fmt: skip
    dag_run = gate_dag.run(
        conn_id=conn_id,
        table=f"test.{table}",
        thresholds={
            "ORDER": 0.25,
            "mixed col": 0.25,
            "we`ird": {"max_null_rate": 0.25, "blank_is_null": True},
        },
        on_breach="fail",
    )
    assert ti_states(dag_run) == {
        "gate": "failed",
        "downstream": "upstream_failed",
        "further": "upstream_failed",
    }
    result = gate_xcom(dag_run)
    assert result["breaches"] == ["we`ird"]
    assert result["columns"]["we`ird"]["blank_count"] == 2 and result["columns"]["order"]["null_rate"] == 0.25
    assert "FROM `test`." in result["sql"]


# ---------------------------------------------------------------- the trigger's polls and the SQL they log


def test_a_pause_does_not_log_the_unmasked_query_at_every_poll(sqlite_db, capfd, caplog, monkeypatch) -> None:
    """The gate shows its SQL masked (``mask_sql_literals``) in logs, XCom and alerts. While paused on SQLite
    or MySQL, the trigger ran it through ``DbApiHook.get_first``, which logs "Running statement: <sql>" at
    INFO on every poll: the filter's literals, unmasked, in the triggerer log every ``poke_interval``."""
    import asyncio
    import logging
    import time

    from lineage_helpers import reset_lineage

    from airflow_lineage_provider.triggers.quality_gate import QualityGateTrigger

    conn_id, path = sqlite_db
    sqlite_execute(path, *ORDERS)
    gate = QualityGateOperator(task_id="g", conn_id=conn_id, table="orders", null_thresholds={"email": 0.1},
                 row_filter="email IS NULL OR email <> 'vip.customer@example.com'")  # fmt: skip
    monkeypatch.setenv("AIRFLOW__LINEAGE_PROVIDER__MASK_SQL_LITERALS", "True")
    reset_lineage()
    try:
        query, spec, _ = gate._measure_now()
    finally:  # the option is cached: later tests must not see it
        monkeypatch.delenv("AIRFLOW__LINEAGE_PROVIDER__MASK_SQL_LITERALS")
        reset_lineage()
    trigger = QualityGateTrigger(conn_id=conn_id, query=query.to_dict(), spec=spec.to_dict(),
                                 poke_interval=0.2, deadline=time.time() + 0.5)  # fmt: skip

    async def first_event() -> Any:
        return await anext(trigger.run())

    with caplog.at_level(logging.DEBUG):
        event = asyncio.run(first_event()).payload
    assert event["status"] == "timeout" and event["polls"] >= 2 and event["error"] is None
    logged = capfd.readouterr().out + capfd.readouterr().err + caplog.text
    assert "quality gate on orders still breached" in logged
    assert "vip.customer@example.com" not in logged

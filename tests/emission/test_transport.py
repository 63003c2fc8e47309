"""Transport resolution (precedence, embedded default), hardening, real file and HTTP transports."""

from __future__ import annotations

import json
import logging

import ol_schema
import pytest

from airflow_lineage_provider.emission import transport
from airflow_lineage_provider.emission.emitter import get_emitter
from airflow_lineage_provider.emission.transport import (
    RotatingFileConfig,
    RotatingFileTransport,
    TransportSpec,
    build,
    resolve,
)
from airflow_lineage_provider.exceptions import ConfigError

from .conftest import http_config
from .factory import assert_exactly_once_in_order, run_pairs


@pytest.fixture
def clean_env(monkeypatch, lineage_options):
    for name in ("OPENLINEAGE_URL", "OPENLINEAGE_CONFIG", "OPENLINEAGE_API_KEY", "OPENLINEAGE_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    return lineage_options


def test_embedded_default_when_nothing_configured(clean_env, airflow_home):
    clean_env()
    spec = resolve()
    assert spec.is_default
    assert spec.config["log_file_path"] == str(airflow_home / "lineage" / "events.jsonl")
    assert spec.config["max_bytes"] == 64 * 1024 * 1024
    emitter = get_emitter()
    assert emitter.is_default_transport


def test_default_file_max_mb_option(clean_env):
    clean_env(default_file_max_mb="3")
    assert resolve().config["max_bytes"] == 3 * 1024 * 1024


def test_precedence_option_over_config_path_over_env(clean_env, tmp_path, monkeypatch):
    yml = tmp_path / "openlineage.yml"
    yml.write_text("transport:\n  type: file\n  log_file_path: /tmp/from-yaml.jsonl\n")
    env_yml = tmp_path / "env.yml"
    env_yml.write_text("transport:\n  type: console\n")
    monkeypatch.setenv("OPENLINEAGE_URL", "http://from-env:5000")
    clean_env()
    assert resolve().source == "OPENLINEAGE_URL"
    assert resolve().config["url"] == "http://from-env:5000"
    monkeypatch.setenv("OPENLINEAGE_CONFIG", str(env_yml))
    clean_env()
    assert resolve().config == {"type": "console"}
    clean_env(config_path=str(yml))
    assert resolve().config["log_file_path"] == "/tmp/from-yaml.jsonl"
    clean_env(transport=json.dumps({"type": "http", "url": "http://from-option:5000"}))
    spec = resolve()
    assert spec.source == "[lineage_provider] transport" and not spec.is_default


def test_openlineage_transport_env_variables(clean_env, monkeypatch):
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__TYPE", "http")
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__URL", "http://marquez:5000")
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__AUTH", '{"type": "api_key", "apiKey": "k-123456"}')
    clean_env()
    spec = resolve()
    assert spec.config == {
        "type": "http",
        "url": "http://marquez:5000",
        "auth": {"type": "api_key", "apiKey": "k-123456"},
    }
    assert spec.masked()["auth"]["apiKey"] == "***"


def test_bad_config_path_yaml_names_the_option(clean_env, tmp_path):
    yml = tmp_path / "openlineage.yml"
    yml.write_text("facets: {}\n")
    clean_env(config_path=str(yml))
    with pytest.raises(ConfigError, match=r"config_path.*'transport'"):
        resolve()


def test_unbuildable_transport_is_a_config_error(clean_env):
    clean_env(transport=json.dumps({"type": "http", "url": "not a url"}))
    with pytest.raises(ConfigError, match="transport"):
        get_emitter()


def test_http_is_hardened():
    config = {
        "type": "composite",
        "transports": [
            {"type": "http", "url": "http://a:1", "timeout": 60, "retry": {"total": 9}},
            {
                "type": "transform",
                "transformer_class": "x.Y",
                "transport": {"type": "http", "url": "http://b:1"},
            },
        ],
    }
    hardened = transport._harden(json.loads(json.dumps(config)), 0.5)
    first, inner = hardened["transports"][0], hardened["transports"][1]["transport"]
    assert first["timeout"] == 1.0 and inner["timeout"] == 1.0
    assert first["retry"]["total"] == 0 and inner["retry"]["total"] == 0
    built = build(
        TransportSpec(config={"type": "http", "url": "http://a:1", "timeout": 0.2}, source="t"),
        send_timeout=0.5,
    )
    assert built.timeout == 0.2  # a smaller configured timeout is kept


def test_rotating_file_rotates_once_and_bounds_size(tmp_path):
    path = tmp_path / "events.jsonl"
    rotating = RotatingFileTransport(RotatingFileConfig(log_file_path=str(path), max_bytes=4000))
    events = run_pairs(30)
    for event in events:
        rotating.emit(event)
    current = ol_schema.read_events(path)
    previous = ol_schema.read_events(str(path) + ".1")
    assert path.stat().st_size <= 4000 and (tmp_path / "events.jsonl.1").stat().st_size <= 4000
    kept = previous + current
    assert [e["run"]["runId"] for e in kept] == [e.run.runId for e in events[-len(kept) :]]


def test_file_transport_end_to_end(make_emitter, tmp_path):
    path = tmp_path / "ol.jsonl"
    em = make_emitter({"type": "file", "log_file_path": str(path), "append": True})
    events = run_pairs(10)
    for event in events:
        em.emit(event)
    assert em.flush(10)
    assert_exactly_once_in_order(ol_schema.read_events(path), events)


def test_http_token_never_logged_or_printed(receiver, make_emitter, caplog):
    token = "tok-5ecret-abcdef123456"
    rec = receiver("503")
    config = http_config(rec, auth={"type": "api_key", "apiKey": token})
    with caplog.at_level(logging.DEBUG):
        em = make_emitter(config)
        for event in run_pairs(2):
            em.emit(event)
        assert em.flush(10)
    assert rec.headers and rec.headers[0]["Authorization"] == f"Bearer {token}"  # it was used...
    assert token not in caplog.text  # ...and never logged
    assert token not in json.dumps(TransportSpec(config=config, source="t").masked())


def test_transport_spec_repr_shows_no_secret():
    config = {
        "type": "http",
        "url": "http://alice:pw-spec-repr-1@h:1/?code=QUERY-SECRET-2",
        "auth": {"type": "api_key", "apiKey": "key-spec-repr-3"},
    }
    shown = repr(TransportSpec(config=config, source="t"))
    assert "pw-spec-repr-1" not in shown and "QUERY-SECRET-2" not in shown and "key-spec-repr-3" not in shown
    assert shown.startswith("TransportSpec(config={'type': 'http', 'url': 'http://alice:***@h:1/?code=***'")


@pytest.mark.parametrize("timeout", ["abc", -1, 0, "nan", "inf", True, [1]])
def test_bad_http_timeout_is_a_config_error_naming_the_option(clean_env, timeout):
    clean_env(transport=json.dumps({"type": "http", "url": "http://127.0.0.1:9", "timeout": timeout}))
    expected = r'\[lineage_provider\] transport .*"timeout" must be a number of seconds'
    with pytest.raises(ConfigError, match=expected):
        resolve()


def test_bad_http_timeout_never_reaches_a_send(lineage_options):
    """A configuration that skipped validation still fails at build, as a ConfigError naming the key."""
    for timeout in ("abc", -1, float("nan"), float("inf"), "2.5"):
        config = {"type": "http", "url": "http://127.0.0.1:9", "timeout": timeout}
        spec = TransportSpec(config=config, source="t")
        if timeout == "2.5":
            assert build(spec, send_timeout=5.0).timeout == 2.5
            continue
        with pytest.raises(ConfigError, match=r'from t: .*"timeout" must be a number of seconds > 0'):
            build(spec, send_timeout=1.0)


def test_openlineage_url_is_validated_without_echoing_the_password(clean_env, monkeypatch):
    monkeypatch.setenv("OPENLINEAGE_URL", "http://alice:pa#ss1234word@127.0.0.1:9")
    clean_env()
    with pytest.raises(ConfigError) as raised:
        resolve()
    message = str(raised.value)
    assert message.startswith("OPENLINEAGE_URL: ") and "percent-encode" in message
    assert "ss1234word" not in message and "pa#" not in message


def test_file_transport_creates_a_missing_directory(make_emitter, tmp_path):
    path = tmp_path / "not" / "there" / "ol.jsonl"
    em = make_emitter({"type": "file", "log_file_path": str(path), "append": True})
    events = run_pairs(2)
    for event in events:
        em.emit(event)
    assert em.flush(10)
    assert_exactly_once_in_order(ol_schema.read_events(path), events)


def test_file_transport_directory_that_cannot_be_made_is_a_config_error(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    spec = TransportSpec(
        config={"type": "file", "log_file_path": str(blocker / "sub" / "ol.jsonl"), "append": True},
        source="[lineage_provider] transport",
    )
    with pytest.raises(ConfigError, match=r"log_file_path.*create it"):
        build(spec)


# ---------------------------------------------------------------- kafka message keys


def _kafka(extra: dict | None = None) -> dict:
    config = {"bootstrap.servers": "127.0.0.1:1"}  # nothing listens: the key is computed before producing
    return {"type": "kafka", "topic": "lineage", "config": config, **(extra or {})}


@pytest.mark.airflow
def test_kafka_messages_of_one_dag_run_share_its_key(lineage_events):
    """The events go to the transport as JSON objects; openlineage-python keys only its own event classes,
    so without this every message had no key (any partition, out of order). No broker is needed: the key
    is computed before producing."""
    from lineage_helpers import run_dag

    from airflow_lineage_provider.emission.transport import TransportSpec, build

    run_dag(
        "from datetime import datetime\n"
        "from airflow.providers.standard.operators.empty import EmptyOperator\n"
        "from airflow.sdk import DAG\n"
        "with DAG('kafka_keys', schedule=None, start_date=datetime(2026, 1, 1)) as dag:\n"
        "    EmptyOperator(task_id='a') >> EmptyOperator(task_id='b')\n",
        "kafka_keys",
    )
    events = [e for e in lineage_events() if e["job"]["name"].startswith("kafka_keys")]
    assert len(events) == 6
    plain = build(TransportSpec(_kafka(), "test"))
    composite = build(
        TransportSpec({"type": "composite", "transports": {"k": _kafka(), "c": {"type": "console"}}}, "test")
    )
    [member] = [m for m in composite.transports if type(m).__name__ == "KafkaTransport"]
    namespace = events[0]["job"]["namespace"]
    for kafka in (plain, member):
        assert {kafka._get_message_key(e) for e in events} == {f"run:{namespace}/kafka_keys"}
    plain.close(0)
    composite.close(0)


def test_a_configured_kafka_message_key_still_wins():
    from airflow_lineage_provider.emission.transport import TransportSpec, build

    kafka = build(TransportSpec(_kafka({"messageKey": "airflow"}), "test"))
    assert kafka.message_key == "airflow"  # openlineage-python uses it before any computed key
    kafka.close(0)


def test_openlineage_python_event_objects_keep_its_own_key():
    from openlineage.client.event_v2 import Job, Run, RunEvent, RunState

    from airflow_lineage_provider.emission.transport import TransportSpec, build

    kafka = build(TransportSpec(_kafka(), "test"))
    event = RunEvent(eventType=RunState.START, eventTime="2026-11-21T00:00:00+00:00",
                     run=Run(runId="0192e1f0-0000-7000-8000-000000000000"), job=Job(namespace="n", name="j"),
                     producer="p")  # fmt: skip
    assert kafka._get_message_key(event) == "run:n/j"
    kafka.close(0)

"""``[lineage_provider]`` options: a bad value is a ConfigError naming the option and the fix."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from airflow_lineage_provider import conf
from airflow_lineage_provider.exceptions import ConfigError


@pytest.fixture
def options(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """Set options through the environment, as an admin would."""

    def set_options(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(f"AIRFLOW__LINEAGE_PROVIDER__{name.upper()}", value)
        conf.clear_cache()

    conf.clear_cache()
    yield set_options
    monkeypatch.undo()
    conf.clear_cache()


SECONDS = ["send_timeout", "flush_timeout", "schema_query_timeout", "extraction_timeout"]


@pytest.mark.parametrize("option", SECONDS)
@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "NaN", "1e400", "1e300"])
def test_seconds_must_be_finite(options, option, value) -> None:
    options(**{option: value})
    with pytest.raises(ConfigError, match=rf"\[lineage_provider\] {option} .*must be .*got '{value}'"):
        conf.ACCESSORS[option]()


def test_finite_seconds_accepted(options) -> None:
    options(send_timeout="0.5", flush_timeout="30")
    assert conf.send_timeout() == 0.5 and conf.flush_timeout() == 30.0


@pytest.mark.parametrize(
    "password",
    # "12#34...": the part before "#" reads as a port, so the URL parsed as host "alice", port 12
    ["pa#ss1234word", "pa/ss1234word", "pa?ss1234word", "12#ss1234word", "pa@s#1234word"],
)
def test_url_with_unencoded_special_characters_is_rejected_without_echoing_it(password) -> None:
    config = {"type": "http", "url": f"http://alice:{password}@127.0.0.1:9/"}
    with pytest.raises(ConfigError) as raised:
        conf.validate_transport(config)
    message = str(raised.value)
    assert message.startswith(
        "[lineage_provider] transport (env AIRFLOW__LINEAGE_PROVIDER__TRANSPORT, or transport_cmd / "
        "transport_secret): "
    )
    assert "percent-encode" in message and "ss1234word" not in message and "pa" + password[2] not in message


def test_percent_encoded_url_is_accepted() -> None:
    config = {"type": "http", "url": "http://alice:pa%23ss%2Fw%40rd@127.0.0.1:9/", "timeout": "2.5"}
    assert conf.validate_transport(config) is config


@pytest.mark.parametrize("timeout", ["abc", -1, 0, "0", float("nan"), float("inf"), True, {}])
def test_http_timeout_must_be_seconds_above_zero(timeout) -> None:
    for kind in ("http", "async_http"):
        expected = r'\[lineage_provider\] transport .*: "timeout" must be a number'
        with pytest.raises(ConfigError, match=expected):
            conf.validate_transport({"type": kind, "url": "http://127.0.0.1:9", "timeout": timeout})
    member = {"type": "http", "url": "http://h:1", "timeout": timeout}
    composite = {"type": "composite", "transports": [member]}
    with pytest.raises(ConfigError, match='"timeout"'):
        conf.validate_transport(composite)


def test_other_sources_are_named_as_they_are() -> None:
    with pytest.raises(ConfigError, match=r"^OPENLINEAGE_URL: an http transport needs"):
        conf.validate_transport({"type": "http"}, "OPENLINEAGE_URL")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"compression": "zstd"}, r'"compression" must be "gzip" or left out, got \'zstd\''),
        ({"auth": {"type": "api_key"}}, r'"auth" of type "api_key" needs "apiKey"'),
        ({"auth": {"type": "api_key", "apiKey": ""}}, r'"auth" of type "api_key" needs "apiKey"'),
    ],
)
def test_http_settings_that_could_never_send_are_refused_at_once(extra, message) -> None:
    with pytest.raises(ConfigError, match=r"\[lineage_provider\] transport.*" + message):
        conf.validate_transport({"type": "http", "url": "http://127.0.0.1:9", **extra})
    ok = {"type": "http", "url": "http://127.0.0.1:9", "compression": "gzip",
          "auth": {"type": "api_key", "apiKey": "k"}}  # fmt: skip
    assert conf.validate_transport(ok) is ok


def test_embedded_default_delivers_in_a_fresh_airflow_home(options, tmp_path, monkeypatch) -> None:
    """No transport configured, $AIRFLOW_HOME/lineage not there yet (a new deployment, `airflow dags test`
    on a fresh home): the first event is written to events.jsonl, not failed and spooled."""
    from airflow_lineage_provider.emission.doctor import _test_event
    from airflow_lineage_provider.emission.emitter import create_emitter

    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("AIRFLOW_HOME", str(home))
    options(spool_dir=str(tmp_path / "spool"))  # elsewhere: creating it must not be what saves the day
    emitter = create_emitter()
    try:
        error = emitter.send_now(_test_event("fresh-home"))
    finally:
        emitter.close(0)
    assert error is None
    assert (home / "lineage" / "events.jsonl").read_text().count("\n") == 1

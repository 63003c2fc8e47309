from __future__ import annotations

import pytest

from airflow_lineage_provider import conf
from airflow_lineage_provider.exceptions import ConfigError
from airflow_lineage_provider.get_provider_info import OPTIONS, get_provider_info


def test_every_declared_option_has_an_accessor_and_vice_versa() -> None:
    assert set(conf.ACCESSORS) == set(OPTIONS)


@pytest.mark.parametrize("name", sorted(OPTIONS))
def test_option_declaration_is_complete(name: str) -> None:
    option = OPTIONS[name]
    for key in ("description", "version_added", "type", "example", "default"):
        assert key in option, f"{name} lacks {key}"
    assert option["type"] in {"string", "boolean", "integer", "float"}


def test_transport_is_sensitive() -> None:
    assert OPTIONS["transport"].get("sensitive") is True
    info = get_provider_info()
    assert info["package-name"] == "airflow-lineage-provider"
    assert "lineage_provider" in info["config"]


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("not json", "not valid JSON"),
        ('{"type": "carrier-pigeon"}', "unknown transport type 'carrier-pigeon'"),
        ('{"type": "http"}', 'needs "url"'),
        ("[]", "must be a JSON object"),
    ],
)
def test_bad_transport_names_the_option(monkeypatch: pytest.MonkeyPatch, value: str, fragment: str) -> None:
    monkeypatch.setenv("AIRFLOW__LINEAGE_PROVIDER__TRANSPORT", value)
    conf.clear_cache()
    try:
        with pytest.raises(ConfigError) as info:
            conf.transport()
        assert "[lineage_provider] transport" in str(info.value)
        assert fragment in str(info.value)
    finally:
        monkeypatch.delenv("AIRFLOW__LINEAGE_PROVIDER__TRANSPORT")
        conf.clear_cache()


def test_defaults() -> None:
    conf.clear_cache()
    assert conf.is_disabled() is False
    assert conf.transport() is None
    assert conf.max_event_bytes() == 1024 * 1024
    assert conf.spool_dir().endswith("lineage/spool")

"""No secret in an event or a log line; oversized events trimmed with a facet saying what went."""

from __future__ import annotations

import json
import logging

import ol_schema
import pytest
from openlineage.client.serde import Serde

from airflow_lineage_provider.emission.redaction import (
    TRIM_FACET,
    config_secrets,
    enforce_size_cap,
    mask_config,
    redact_event,
    redact_text,
    register_secrets,
    safe_error,
)
from airflow_lineage_provider.sql.redact import redact_uri_credentials

from .conftest import http_config
from .factory import run_event

RUN_ID = "01890000-0000-7000-8000-000000000042"


def _sql_event(query: str) -> dict:
    facets = {
        "sql": {
            "_producer": "https://example.com/p",
            "_schemaURL": "https://openlineage.io/spec/facets/1-1-0/SQLJobFacet.json#/$defs/SQLJobFacet",
            "query": query,
        }
    }
    return Serde.to_dict(run_event("START", RUN_ID, job_facets=facets))


def test_uri_credentials_anywhere():
    event = Serde.to_dict(run_event("START", RUN_ID))
    event["run"]["facets"]["custom"] = {
        "_producer": "https://example.com/p",
        "_schemaURL": "https://example.com/s",
        "source": "postgresql://user:s3cret@host/db",
        "nested": [{"dsn_like": "mysql://root:hunter22@db:3306/x"}],
    }
    text = json.dumps(redact_event(event))
    assert "s3cret" not in text and "hunter22" not in text
    assert "postgresql://user:***@host/db" in text


def test_snowflake_credentials_in_sql():
    query = (
        "COPY INTO t FROM 's3://bucket/p' "
        "CREDENTIALS=(AWS_KEY_ID='AKIAEXAMPLEKEY' AWS_SECRET_KEY='wJalrXUtnFEMIK7MDENG')"
    )
    out = redact_event(_sql_event(query))
    text = out["job"]["facets"]["sql"]["query"]
    assert "AKIAEXAMPLEKEY" not in text and "wJalrXUtnFEMIK7MDENG" not in text
    assert text.startswith("COPY INTO t FROM 's3://bucket/p'")
    ol_schema.validate(out)


def test_create_user_password():
    out = redact_event(_sql_event("CREATE USER analyst PASSWORD 'Pa55word!'"))
    assert "Pa55word!" not in json.dumps(out)
    assert "CREATE USER analyst PASSWORD" in out["job"]["facets"]["sql"]["query"]


def test_mask_sql_literals_option():
    out = redact_event(_sql_event("SELECT * FROM t WHERE email = 'a@b.c' AND n > 5"), mask_sql_literals=True)
    assert out["job"]["facets"]["sql"]["query"] == "SELECT * FROM t WHERE email = ? AND n > ?"


def test_values_known_to_the_airflow_secrets_masker():
    from airflow.sdk.log import mask_secret

    mask_secret("conn-password-98765")
    event = Serde.to_dict(run_event("START", RUN_ID))
    event["run"]["facets"]["custom"] = {
        "_producer": "https://example.com/p",
        "_schemaURL": "https://example.com/s",
        "message": "login with conn-password-98765 failed",
    }
    text = json.dumps(redact_event(event))
    assert "conn-password-98765" not in text and "login with *** failed" in text


def test_sensitive_keys_masked():
    event = Serde.to_dict(run_event("START", RUN_ID))
    event["run"]["facets"]["custom"] = {
        "_producer": "https://example.com/p",
        "_schemaURL": "https://example.com/s",
        "connection": {"host": "db", "password": "plain-pw", "extra": {"api_key": "k-1", "token": "t-1"}},
    }
    custom = redact_event(event)["run"]["facets"]["custom"]["connection"]
    assert custom == {"host": "db", "password": "***", "extra": {"api_key": "***", "token": "***"}}


def test_input_not_modified_and_plain_event_untouched():
    event = Serde.to_dict(run_event("COMPLETE", RUN_ID, "dag.task"))
    before = json.dumps(event, sort_keys=True)
    assert redact_event(event) == event
    assert json.dumps(event, sort_keys=True) == before


def test_transport_config_masked_and_errors_safe():
    config = http_config(
        type("R", (), {"url": "http://u:pw-123456@h:1"})(),
        auth={"type": "api_key", "apiKey": "key-abcdef"},
        custom_headers={"X-Token": "hdr-secret-1"},
    )
    text = json.dumps(mask_config(config))
    assert "pw-123456" not in text and "key-abcdef" not in text and "hdr-secret-1" not in text
    assert safe_error(RuntimeError("cannot reach http://u:pw-123456@h:1/api")) == (
        "RuntimeError: cannot reach http://u:***@h:1/api"
    )


def test_emitter_logs_no_secret(receiver, make_emitter, caplog):
    rec = receiver("refuse")
    em = make_emitter({"type": "http", "url": rec.url.replace("http://", "http://user:pw-in-url-42@")})
    with caplog.at_level(logging.DEBUG):
        em.emit(run_event("START", RUN_ID))
        assert em.flush(10)
    assert "pw-in-url-42" not in caplog.text
    assert "not delivered" in caplog.text


# --- size cap --------------------------------------------------------------------------------------


def _big_event() -> dict:
    event = _sql_event("SELECT 1")
    event["run"]["facets"]["big"] = {
        "_producer": "https://example.com/p",
        "_schemaURL": "https://example.com/s",
        "blob": "x" * 300_000,
    }
    event["run"]["facets"]["medium"] = {
        "_producer": "https://example.com/p",
        "_schemaURL": "https://example.com/s",
        "blob": "y" * 100_000,
    }
    event["run"]["facets"]["small"] = {
        "_producer": "https://example.com/p",
        "_schemaURL": "https://example.com/s",
        "note": "keep me",
    }
    event["run"]["facets"]["parent"] = {
        "_producer": "https://example.com/p",
        "_schemaURL": "https://openlineage.io/spec/facets/1-1-0/ParentRunFacet.json#/$defs/ParentRunFacet",
        "run": {"runId": RUN_ID},
        "job": {"namespace": "tests", "name": "dag"},
    }
    return event


def test_size_cap_drops_largest_optional_facets_first():
    event, dropped = enforce_size_cap(_big_event(), 200_000)
    assert dropped == ["run.facets.big"]
    facets = event["run"]["facets"]
    assert {"medium", "small", "parent", TRIM_FACET} <= set(facets)
    assert facets[TRIM_FACET]["dropped"] == ["run.facets.big"]
    assert facets[TRIM_FACET]["maxEventBytes"] == 200_000
    assert len(json.dumps(event)) <= 200_000
    ol_schema.validate(event)


def test_size_cap_keeps_parent_and_trims_datasets_last():
    event = _big_event()
    event["outputs"] = [{"namespace": "db", "name": f"t{i}", "facets": {}} for i in range(300)]
    event, dropped = enforce_size_cap(event, 8_000)
    assert "run.facets.parent" not in dropped and "parent" in event["run"]["facets"]
    assert dropped[:2] == ["run.facets.big", "run.facets.medium"]
    assert dropped[-1].startswith("outputs[") and dropped[-1].endswith(":300]")  # the tail, as a slice
    assert len(json.dumps(event)) <= 8_000
    ol_schema.validate(event)


def test_under_cap_untouched():
    event = _sql_event("SELECT 1")
    assert enforce_size_cap(event, 1 << 20) == (event, [])


def test_emitter_applies_size_cap(tmp_path, make_emitter):
    path = tmp_path / "ol.jsonl"
    em = make_emitter({"type": "file", "log_file_path": str(path), "append": True}, max_event_bytes=50_000)
    em.emit(_big_event())
    assert em.flush(10)
    (event,) = ol_schema.read_events(path)
    assert set(event["run"]["facets"][TRIM_FACET]["dropped"]) == {"run.facets.big", "run.facets.medium"}


def test_null_fields_left_out_as_openlineage_python_does():
    """The wire form drops nulls and empty-object list items, like ``Serde.to_json`` (no schema sees null)."""
    event = Serde.to_dict(run_event("START", RUN_ID))
    event["run"]["facets"]["custom"] = {
        "_producer": "https://example.com/p",
        "_schemaURL": "https://example.com/s",
        "gone": None,
        "items": [None, {}, {"kept": 1, "gone": None}],
        "zero": 0,
        "off": False,
    }
    custom = redact_event(event)["run"]["facets"]["custom"]
    assert custom == {
        "_producer": "https://example.com/p",
        "_schemaURL": "https://example.com/s",
        "items": [{"kept": 1}],
        "zero": 0,
        "off": False,
    }


def test_secret_registered_between_events_is_masked_in_the_next():
    from airflow.sdk._shared.secrets_masker import mask_secret

    def event() -> dict:
        built = Serde.to_dict(run_event("START", RUN_ID))
        built["run"]["facets"]["custom"] = {
            "_producer": "https://example.com/p",
            "_schemaURL": "https://example.com/s",
            "message": "token late-secret-4711 used",
        }
        return built

    assert "late-secret-4711" in json.dumps(redact_event(event()))
    mask_secret("late-secret-4711")
    assert "late-secret-4711" not in json.dumps(redact_event(event()))


# --- secrets in configured URLs --------------------------------------------------------------------


def test_query_values_masked_in_config_and_left_out_of_logged_errors(
    receiver, make_emitter, caplog, tmp_path, monkeypatch
):
    config = {
        "type": "http",
        "url": "http://h:1/?api_key=QUERY-SECRET-91&x=2",
        "endpoint": "api/v1/lineage?code=QUERY-SECRET-92",
    }
    assert mask_config(config) == {
        "type": "http",
        "url": "http://h:1/?api_key=***&x=***",
        "endpoint": "api/v1/lineage?code=***",
    }
    rec = receiver("503")
    with caplog.at_level(logging.DEBUG):
        direct = make_emitter(http_config(rec, endpoint="api/v1/lineage?code=QUERY-SECRET-93"))
        direct.emit(run_event("START", RUN_ID))
        assert direct.flush(10)
        # a ~/.netrc entry for the host: openlineage-python's transport, whose errors quote the URL's path
        netrc = tmp_path / "netrc"
        netrc.write_text("machine 127.0.0.1 login someone password pw-in-netrc\n")
        netrc.chmod(0o600)
        monkeypatch.setenv("NETRC", str(netrc))
        through_requests = make_emitter(http_config(rec, endpoint="api/v1/lineage?api_key=QUERY-SECRET-94"))
        through_requests.emit(run_event("START", RUN_ID))
        assert through_requests.flush(10)
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("airflow_lineage_provider"))
    assert rec.requests == 2 and ours.count("not delivered") == 2, ours
    assert "QUERY-SECRET" not in ours
    message = (
        "HTTPConnectionPool(host='h', port=1): Max retries exceeded with url: /api?code=QUERY-SECRET-96 (x)"
    )
    assert safe_error(RuntimeError(message)) == (
        "RuntimeError: HTTPConnectionPool(host='h', port=1): Max retries exceeded with url: /api (x)"
    )
    assert safe_error(RuntimeError("503 Server Error: x for url: http://h:1/a?code=QUERY-SECRET-97")) == (
        "RuntimeError: 503 Server Error: x for url: http://h:1/a"
    )


def test_token_only_userinfo_masked_and_registered():
    url = "http://tok3n-only-user-97@127.0.0.1:9/api"
    assert mask_config({"url": url}) == {"url": "http://***@127.0.0.1:9/api"}
    assert config_secrets({"type": "http", "url": url}) == ["tok3n-only-user-97"]
    register_secrets(config_secrets({"type": "http", "url": url}))
    assert "tok3n-only-user-97" not in safe_error(RuntimeError(f"cannot reach {url}"))


@pytest.mark.parametrize(
    ("password", "valid"),
    [
        ("p@ss-w0rd-98", True),
        ("a@b@c-99x", True),
        ("pa/ss1234word", False),
        ("pa#ss1234word", False),
        ("pa?ss1234word", False),
        ("p%40ssword99", True),
    ],
)
def test_passwords_with_special_characters_masked_whole(password, valid):
    from urllib.parse import unquote, urlsplit

    url = f"http://alice:{password}@127.0.0.1:9/api/v1"
    assert mask_config({"url": url}) == {"url": "http://alice:***@127.0.0.1:9/api/v1"}
    secrets = config_secrets({"url": url})
    assert secrets[0] == password and set(secrets) == {password, unquote(password)}
    if valid:  # what requests reads (and sends) is what is masked and registered
        assert urlsplit(url).password == password
        masked = redact_uri_credentials(f"error at {url} ...")
        assert masked == "error at http://alice:***@127.0.0.1:9/api/v1 ..."


def test_uri_credentials_take_the_last_at_sign_before_the_path():
    assert redact_uri_credentials("postgresql://etl:p@ss@db:5432/x and mysql://r:h@t@db/y") == (
        "postgresql://etl:***@db:5432/x and mysql://r:***@db/y"
    )
    in_path = "http://h:8080/x?mail=a@b.c"  # an '@' after the path is no userinfo
    assert redact_uri_credentials(in_path) == in_path


def test_redaction_time_is_linear_in_long_words():
    """The scheme is matched from the start of a word only: from every letter, 200 kB would take ~30 s."""
    import time

    text = "x" * 200_000 + " postgresql://etl:pw-linear-1@db/x " + "a://b:" * 30_000 + "?code=1"
    started = time.perf_counter()
    assert "pw-linear-1" not in redact_text(text) and "pw-linear-1" not in safe_error(RuntimeError(text))
    assert time.perf_counter() - started < 2.0


def test_credentials_in_url_query_strings_masked_in_events_and_identities_kept():
    """An api key, an access token or a presigned URL's signature in a URL in an event is a secret; other
    query parameters stay as they are (a URL is often a dataset's identity)."""
    event = {
        "run": {"facets": {"http": {"url": "https://api.example.com/v1/items?api_key=AKEY123&page=2"}}},
        "inputs": [
            {
                "namespace": "s3://bucket",
                "name": "data.csv",
                "facets": {
                    "source": {
                        "uri": "s3://bucket/data.csv?X-Amz-Credential=AKIA%2F2026&X-Amz-Expires=60"
                        "&X-Amz-Signature=5f2a9c&X-Amz-Security-Token=IQoJb3"
                    }
                },
            },
            {"namespace": "https://host", "name": "table?partition_key=2026&access_token=TOK"},
        ],
    }
    text = json.dumps(redact_event(event))
    for secret in ("AKEY123", "AKIA", "5f2a9c", "IQoJb3"):
        assert secret not in text
    assert "page=2" in text and "X-Amz-Expires=60" in text
    # a name without "://" is no URL: left alone (the dataset's identity)
    assert "partition_key=2026" in text


def test_bare_key_query_parameter_masked_in_urls_only():
    """``?key=`` is how Google APIs take an API key: masked in a URL's query string, in any case, in an
    event and in text; a name that merely contains "key", a fragment, and ``key=`` outside a URL stay."""
    google = "https://maps.googleapis.com/maps/api/geocode/json?address=Paris&key=AIzaSyD-gk3yQ1x9Zk"
    event = {
        "run": {"facets": {"http": {"url": google}}},
        "inputs": [
            {
                "namespace": "gs://bucket",
                "name": "obj",
                "facets": {"src": {"uri": "gs://bucket/o?KEY=AIzaSyUP"}},
            }
        ],
    }
    text = json.dumps(redact_event(event))
    assert "AIzaSy" not in text
    assert "address=Paris&key=***" in text and "KEY=***" in text
    assert redact_text("GET https://www.googleapis.com/books/v1/volumes?key=AIzaSyQ7&q=x failed") == (
        "GET https://www.googleapis.com/books/v1/volumes?key=***&q=x failed"
    )
    kept = [
        "https://host/a?monkey=1&key_id=2&pkey=3&sort_key=name#key=anchor",  # other names, a fragment
        "https://host/a?key=",  # nothing to mask
        "sort by key=value",  # no URL at all
        "see https://host/docs and then set key=abc",  # key= after a URL, not in its query string
        "partition key=2026 for s3://bucket/path",  # key= before a URL
        "table?key=1",  # no scheme: not a URL (a dataset name)
    ]
    for value in kept:
        assert redact_text(value) == value, value
        assert redact_event({"job": {"name": value}}) == {"job": {"name": value}}, value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "callback https://app.example/cb#access_token=eyJabc.def&token_type=bearer done",
            "callback https://app.example/cb#access_token=***&token_type=bearer done",
        ),
        ("https://x.example/api?q=1#token=abc", "https://x.example/api?q=1#token=***"),
        ("see https://d.example/p#section-2 or #key=v", "see https://d.example/p#section-2 or #key=v"),
        ("https://docs.example/page#/route?tab=1", "https://docs.example/page#/route?tab=1"),
    ],
)  # fmt: skip
def test_credentials_in_url_fragments_are_masked(text: str, expected: str):
    from airflow_lineage_provider.emission.redaction import redact_text

    assert redact_text(text) == expected


def test_non_finite_numbers_are_left_out_so_the_event_stays_json() -> None:
    """A facet holding NaN or an infinity (a float column's min, a ratio over zero rows) would make
    ``json.dumps`` write bare ``NaN``, which a backend's JSON parser rejects with the whole event."""
    facets = {
        "stats": {
            "_producer": "https://example.com/p",
            "_schemaURL": "https://example.com/s.json#/$defs/Stats",
            "min": float("nan"),
            "max": float("inf"),
            "ratio": 0.5,
            "samples": [1.0, float("-inf"), 2],
        }
    }
    wire = redact_event(Serde.to_dict(run_event("COMPLETE", RUN_ID, run_facets=facets)))
    stats = wire["run"]["facets"]["stats"]
    assert stats == {"_producer": "https://example.com/p", "_schemaURL": "https://example.com/s.json#/$defs/Stats",
                     "ratio": 0.5, "samples": [1.0, 2]}  # fmt: skip
    json.dumps(wire, allow_nan=False)  # strict JSON
    assert not ol_schema.errors(wire)

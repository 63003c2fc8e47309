"""A backend that answers 429 or 503 with ``Retry-After``: no send before then, at most 60 s, never on the
task's path. Real HTTP receivers on 127.0.0.1 and real spool directories throughout."""

from __future__ import annotations

import email.utils
import time

import pytest
from openlineage.client.transport.http import HttpTransport

from airflow_lineage_provider.emission.direct import DirectHttpTransport
from airflow_lineage_provider.emission.emitter import parse_retry_after, rejection_status, retry_after
from airflow_lineage_provider.emission.transport import TransportSpec, build

from .conftest import http_config
from .factory import assert_exactly_once_in_order, run_event, run_pairs
from .test_emitter import NON_BLOCKING

NOW = 1_800_000_000.0  # a fixed wall-clock time for the HTTP-date cases


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0", 0.0),
        ("7", 7.0),
        (" 12 ", 12.0),
        ("60", 60.0),
        ("61", 60.0),  # capped at the longest backoff
        ("86400", 60.0),
        ("9" * 400, 60.0),
        (email.utils.formatdate(NOW + 30, usegmt=True), 30.0),  # IMF-fixdate
        (email.utils.formatdate(NOW + 7 * 86400, usegmt=True), 60.0),  # a week ahead: capped
        (email.utils.formatdate(NOW - 30, usegmt=True), 0.0),  # in the past: at once
        ("Sunday, 06-Nov-94 08:49:37 GMT", 0.0),  # RFC 850 date, long past
        ("-5", None),
        ("1.5", None),
        ("+5", None),
        ("\uff15", None),  # a full-width digit is no number of seconds
        ("soon", None),
        ("", None),
        (None, None),
        (30, None),
    ],
)
def test_parse_retry_after(value, expected):
    assert parse_retry_after(value, now=NOW) == expected


def _openlineage_python_http(rec, tmp_path, monkeypatch):
    """An ``http`` transport built by openlineage-python (requests): a ~/.netrc entry for the host does it."""
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login someone password pw-in-netrc\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    transport = build(TransportSpec(config=http_config(rec), source="test"), send_timeout=1.0)
    assert type(transport) is HttpTransport
    return transport


@pytest.mark.parametrize("status", [429, 503])
@pytest.mark.parametrize("side", ["direct", "openlineage-python"])
def test_retry_after_is_read_from_either_http_transport(receiver, tmp_path, monkeypatch, status, side):
    rec = receiver(str(status), retry_after="17")
    monkeypatch.setenv("NETRC", "/nonexistent-netrc")
    if side == "direct":
        transport = build(TransportSpec(config=http_config(rec), source="test"), send_timeout=1.0)
        assert type(transport) is DirectHttpTransport
    else:
        transport = _openlineage_python_http(rec, tmp_path, monkeypatch)
    event = {"eventType": "START", "run": {"runId": "r"}, "job": {"namespace": "n", "name": "j"}}
    with pytest.raises(Exception) as raised:
        transport.emit(event)
    assert retry_after(raised.value) == 17.0
    assert rejection_status(raised.value) is None  # retried later, never set aside
    assert rec.requests == 1  # no retry inside the transport


def test_no_retry_before_retry_after_seconds_then_all_delivered_in_order(receiver, make_emitter):
    """503 with ``Retry-After: 2``: the next request comes 2 s later at the earliest (the backoff alone
    would retry after 1 s); meanwhile the events wait in the spool, then all arrive once, in order."""
    rec = receiver("503", retry_after="2")
    em = make_emitter(http_config(rec), send_timeout=1.0)
    events = run_pairs(2)
    for event in events:
        em.emit(event)
    assert em.flush(10)
    assert em.backend_wait <= 2
    assert len(em.spool.names()) == 4
    rec.set_mode("healthy")
    received = rec.wait_for(4, timeout=30)
    assert_exactly_once_in_order(received, events)
    gap = rec.request_times[1] - rec.request_times[0]
    assert gap >= 1.95, f"retried {gap:.2f}s after an answer saying Retry-After: 2"
    assert em.flush(10) and em.spool.names() == []


def test_no_retry_before_a_retry_after_http_date(receiver, make_emitter):
    """429 with ``Retry-After: <HTTP-date>``: the next request comes after that date."""
    when = time.time() + 3
    rec = receiver("429", retry_after=email.utils.formatdate(when, usegmt=True))
    em = make_emitter(http_config(rec), send_timeout=1.0)
    events = run_pairs(1)
    for event in events:
        em.emit(event)
    assert em.flush(10)
    rec.set_mode("healthy")
    assert_exactly_once_in_order(rec.wait_for(2, timeout=30), events)
    second = time.time() - (time.monotonic() - rec.request_times[1])  # its wall-clock time
    assert second >= int(when) - 0.2, f"retried {int(when) - second:.2f}s before the Retry-After date"


@pytest.mark.parametrize("replay_on_success", [True, False])
def test_retry_after_is_capped_and_never_reaches_the_task(receiver, make_emitter, replay_on_success):
    """``Retry-After: 86400`` waits 60 s at most. Meanwhile ``emit`` stays instant, nothing is sent, every
    event goes to the spool, and the exit does not wait for the backend (nor for ``flush_timeout``)."""
    rec = receiver("503", retry_after="86400")
    em = make_emitter(
        http_config(rec), send_timeout=1.0, flush_timeout=10.0, replay_on_success=replay_on_success
    )
    em.emit(run_event("START", "01890000-0000-7000-8000-0000000000a1"))
    assert em.flush(10)
    assert 50 < em.backend_wait <= 60
    slowest = 0.0
    for event in run_pairs(100):
        started = time.perf_counter()
        em.emit(event)
        slowest = max(slowest, time.perf_counter() - started)
    assert slowest < NON_BLOCKING
    started = time.monotonic()
    em.close()
    assert time.monotonic() - started < 5, "the exit waited for a backend that asked to be left alone"
    assert len(em.spool.names()) == 201
    assert rec.requests == 1

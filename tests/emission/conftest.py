"""Fixtures for delivery tests: real HTTP receivers on 127.0.0.1, emitters wired to real transports."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_lineage_provider import conf
from airflow_lineage_provider.emission import emitter as emitter_module
from airflow_lineage_provider.emission.emitter import Emitter
from airflow_lineage_provider.emission.spool import Spool
from airflow_lineage_provider.emission.transport import TransportSpec, build

from .receiver import Receiver


@pytest.fixture(scope="session", autouse=True)
def _airflow_imported() -> None:
    """Import what an Airflow process has already imported (secrets masker, Stats) before any timing."""
    from airflow_lineage_provider.emission import metrics, redaction

    redaction.redact_text("warm-up")
    metrics.incr("warm_up")


@pytest.fixture
def receiver() -> Iterator[Callable[..., Receiver]]:
    started: list[Receiver] = []

    def start(mode: str = "healthy", **kwargs: Any) -> Receiver:
        rec = Receiver(mode, **kwargs)
        started.append(rec)
        return rec

    yield start
    for rec in started:
        rec.stop()


def http_config(rec: Receiver, **extra: Any) -> dict[str, Any]:
    return {"type": "http", "url": rec.url, "endpoint": "api/v1/lineage", **extra}


@pytest.fixture
def make_emitter(tmp_path: Path) -> Iterator[Callable[..., Emitter]]:
    """Build an Emitter on a real transport (built like production: timeouts capped, no retries)."""
    made: list[Emitter] = []

    def make(
        config: dict[str, Any],
        *,
        spool_dir: Path | None = None,
        spool_max_bytes: int = 64 << 20,
        **kwargs: Any,
    ) -> Emitter:
        kwargs.setdefault("send_timeout", 0.5)
        kwargs.setdefault("flush_timeout", 5.0)
        transport = build(TransportSpec(config=config, source="test"), send_timeout=kwargs["send_timeout"])
        spool = Spool(str(spool_dir or tmp_path / "spool"), spool_max_bytes)
        em = Emitter(transport, spool, **kwargs)
        made.append(em)
        return em

    yield make
    for em in made:
        em.close(0.5)


@pytest.fixture
def lineage_options(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Callable[..., None]]:
    """Set ``[lineage_provider]`` options through the environment, as an admin would."""
    monkeypatch.setenv("AIRFLOW__LINEAGE_PROVIDER__SPOOL_DIR", str(tmp_path / "spool"))

    def set_options(**options: Any) -> None:
        for name, value in options.items():
            monkeypatch.setenv(f"AIRFLOW__LINEAGE_PROVIDER__{name.upper()}", str(value))
        conf.clear_cache()
        emitter_module.reset_emitter()

    conf.clear_cache()
    emitter_module.reset_emitter()
    yield set_options
    emitter_module.reset_emitter()
    monkeypatch.undo()
    conf.clear_cache()


@pytest.fixture(autouse=True)
def fresh_spool_warnings() -> Iterator[None]:
    """The spool's warnings are throttled per process (once a minute): each test starts as a new process
    would, whatever test ran before it in the same worker."""
    from airflow_lineage_provider.emission import spool

    for throttle in (spool._rejected_log, spool._unreadable_log):
        throttle._next, throttle._held, throttle._last = 0.0, 0, None
    yield

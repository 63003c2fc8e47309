"""``airflow-lineage doctor``: effective configuration (secrets masked), one test event, spool state.

Exit code: 0 when the configuration is valid and the test event was delivered (or ``--no-send``),
1 when the test event could not be delivered, 2 when the configuration is invalid (including a
``spool_dir`` this process cannot write to or lock), whether or not the test event was delivered.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import datetime, timezone
from typing import Any

from airflow_lineage_provider.exceptions import ConfigError

DOCTOR_JOB = "airflow_lineage_provider.doctor"


def _option_value(name: str, accessor: Any) -> str:
    from airflow_lineage_provider.emission.redaction import mask_config

    try:
        value = accessor()
        if name in _PATH_CHECKS:
            _check_paths(name, value)
    except ConfigError as exc:
        return f"INVALID: {exc}"
    if name == "transport":
        return "(empty)" if value is None else json.dumps(mask_config(value))
    if name.endswith("_mb"):  # the accessors return bytes
        return f"{value // (1024 * 1024)}"
    if isinstance(value, (frozenset, tuple)):
        return ", ".join(sorted(value)) or "(empty)"
    return str(value) if value != "" else "(empty)"


def _extractor_problem(found: Any) -> str | None:
    from airflow_lineage_provider.extractors.base import BaseExtractor

    if isinstance(found, type) and issubclass(found, BaseExtractor):
        return None
    return f"is not a subclass of {BaseExtractor.__module__}.BaseExtractor"


def _function_problem(found: Any) -> str | None:
    return None if callable(found) else f"is a {type(found).__name__}, not a function"


#: options holding import paths, and what each path must name
_PATH_CHECKS = {"extractors": _extractor_problem, "custom_run_facets": _function_problem}


def _check_paths(option: str, paths: Any) -> None:
    """ConfigError naming every path of ``option`` that does not import or names the wrong kind of thing.

    At task time such a path only logs a warning per process; the doctor is where an admin checks it.
    """
    from airflow_lineage_provider.extractors.manager import _import

    problems = []
    for path in paths:
        try:
            found = _import(path)
        except Exception as exc:
            problems.append(f"{path!r} cannot be imported ({type(exc).__name__}: {exc})")
            continue
        problem = _PATH_CHECKS[option](found)
        if problem is not None:
            problems.append(f"{path!r} {problem}")
    if problems:
        from airflow_lineage_provider import conf

        msg = f"{conf._where(option)}: {'; '.join(problems)}; fix the path or drop it"
        raise ConfigError(msg)


def _test_event(namespace: str) -> Any:
    from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
    from openlineage.client.uuid import generate_new_uuid

    from airflow_lineage_provider import PRODUCER

    return RunEvent(
        eventType=RunState.COMPLETE,
        eventTime=datetime.now(timezone.utc).isoformat(),
        run=Run(runId=str(generate_new_uuid())),
        job=Job(namespace=namespace, name=DOCTOR_JOB),
        producer=PRODUCER,
    )


def _human_bytes(count: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024  # type: ignore[assignment]
    return str(count)


def run(args: argparse.Namespace) -> int:
    from airflow_lineage_provider import conf
    from airflow_lineage_provider.emission import transport
    from airflow_lineage_provider.emission.emitter import create_emitter
    from airflow_lineage_provider.emission.spool import Spool, SpoolError

    conf.clear_cache()
    print("[lineage_provider] effective configuration")
    invalid = False
    for name, accessor in conf.ACCESSORS.items():
        shown = _option_value(name, accessor)
        invalid = invalid or shown.startswith("INVALID")
        print(f"  {name:26} {shown}")

    print("\ntransport")
    try:
        spec = transport.resolve()
    except ConfigError as exc:
        print(f"  INVALID: {exc}")
        return 2
    note = " (no transport configured)" if spec.is_default else ""
    print(f"  source                     {spec.source}{note}")
    print(f"  config                     {json.dumps(spec.masked())}")
    discarded = not spec.is_default and transport.openlineage_disabled()
    if discarded:
        print(f"  DISCARDS EVERY EVENT       {transport.OPENLINEAGE_DISABLED_NOTE}")
        transport.mark_disabled_warned()  # said here already: not again as a log line

    print("\nspool")
    try:
        spool = Spool(conf.spool_dir(), conf.spool_max_bytes())
        state = spool.state()
        print(f"  directory                  {state.directory}")
        print(
            f"  events waiting             {state.count} ({_human_bytes(state.bytes)} of "
            f"{_human_bytes(state.max_bytes)} cap)"
        )
        if state.count:
            print(f"  oldest / newest            {state.oldest} / {state.newest}")
            print("  deliver them with        airflow-lineage replay")
        try:
            spool.check()
            print("  writable                   yes")
        except SpoolError as exc:
            print(
                f"  writable                   NO: {exc.detail}; set [lineage_provider] spool_dir to a "
                "directory this user can write"
            )
            invalid = True
    except (ConfigError, OSError) as exc:
        print(f"  cannot read the spool: {exc}")
        invalid = True

    print("\ntest event")
    if getattr(args, "no_send", False):
        print("  skipped (--no-send)")
        return 2 if invalid else 0
    try:
        emitter = create_emitter()
    except ConfigError as exc:
        print(f"  INVALID: {exc}")
        return 2
    try:
        started = time.perf_counter()
        error = emitter.send_now(_test_event(conf.namespace()))
        latency_ms = (time.perf_counter() - started) * 1000
    finally:
        emitter.close(0)
    if error is None and discarded:
        print("  NOT delivered              discarded by openlineage-python (OPENLINEAGE_DISABLED=true)")
        return 2 if invalid else 1
    if error is None:
        print(f"  delivered                  job {DOCTOR_JOB} in {latency_ms:.1f} ms")
        return 2 if invalid else 0
    print(f"  NOT delivered              after {latency_ms:.1f} ms: {error}")
    return 2 if invalid else 1

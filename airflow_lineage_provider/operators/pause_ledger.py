"""Which runs of a quality gate hold which DAGs paused (``pause_downstream_dags``).

Several runs of one gate can wait at once (partitions, a mapped gate's map indexes, catch-up runs), and a
DAG may be held by several of them: it is unpaused only when none holds it any more. There is no lock to
take in Airflow, so the record is built to need none:

* every holder (a run id, ``run_id[i]`` for map index ``i``) has a Variable of its own, so no two runs ever
  rewrite the same value;
* a run that breaches records the DAGs it *means* to hold before it pauses anything, then keeps those it
  paused itself or that another holder holds (a DAG paused by a person is left alone);
* a run that recovers drops its record first, unpauses what no other holder holds, then looks again and
  pauses anything another run began holding in the meantime.

So whichever way two runs interleave, a DAG some run still waits on ends paused. A holder that timed out
is marked ``ended``: its DAGs stay paused until a later run of the gate passes or recovers.

Records are written through the Task SDK (``Variable.set``) and listed through the REST API (the SDK cannot
list Variables), with the same credentials the gate pauses DAGs with.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from typing import Any, Protocol

import attrs

log = logging.getLogger(__name__)

#: every record's key starts so (then a digest of the gate, then one of the holder: keys stay < 250 chars)
KEY_PREFIX = "lineage_provider.quality_gate_hold."
#: how holds were kept before one Variable per holder: ``{dag_id: [run_id | "*"]}`` (or a plain list)
_LEGACY_KEY = "lineage_provider.quality_gate.{dag_id}.{task_id}.paused_dags"
_LEGACY_ENDED = "*"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@attrs.frozen
class Hold:
    """The DAGs one holder keeps paused; ``ended``: it stopped waiting without recovery (timed out)."""

    holder: str
    dags: tuple[str, ...]
    ended: bool = False


class HoldStore(Protocol):
    def records(self) -> dict[str, Hold]: ...

    def put(self, hold: Hold) -> None: ...

    def drop(self, holder: str) -> None: ...


class VariableHoldStore:
    """Holds of gate ``dag_id.task_id`` in Airflow Variables (one per holder); ``api`` lists them."""

    def __init__(self, dag_id: str, task_id: str, api: Any) -> None:
        self.gate = f"{dag_id}.{task_id}"
        self.prefix = f"{KEY_PREFIX}{_digest(self.gate)}."
        self.legacy_key = _LEGACY_KEY.format(dag_id=dag_id, task_id=task_id)
        self.api = api

    def key(self, holder: str) -> str:
        return self.prefix + _digest(holder)

    def records(self) -> dict[str, Hold]:
        """Every holder's record (raises when they cannot be listed)."""
        found: dict[str, Hold] = {}
        for key, value in self.api.variables(self.prefix).items():
            try:
                data = json.loads(value)
                hold = Hold(str(data["holder"]), tuple(str(d) for d in data["dags"]), bool(data.get("ended")))
            except (ValueError, TypeError, KeyError) as exc:
                log.warning("quality gate %s: ignoring unreadable hold record %s (%s)", self.gate, key, exc)
                continue
            found[hold.holder] = hold
        for hold in self._adopt_legacy():
            found.setdefault(hold.holder, hold)
        return found

    def put(self, hold: Hold) -> None:
        from airflow.sdk import Variable

        value = {"gate": self.gate, "holder": hold.holder, "dags": list(hold.dags), "ended": hold.ended}
        note = f"DAGs that quality gate {self.gate} keeps paused for {hold.holder}; removed on recovery"
        Variable.set(self.key(hold.holder), value, serialize_json=True, description=note)

    def drop(self, holder: str) -> None:
        from airflow.sdk import Variable

        Variable.delete(self.key(holder))

    def _adopt_legacy(self) -> list[Hold]:
        """Holds kept in the one shared Variable of earlier versions, moved to records of their own."""
        from airflow.sdk import Variable

        stored = Variable.get(self.legacy_key, default=None, deserialize_json=True)
        if not stored:
            return []
        if isinstance(stored, list):  # the oldest form: DAGs left paused by a timeout
            stored = {str(dag_id): [_LEGACY_ENDED] for dag_id in stored}
        by_holder: dict[str, list[str]] = {}
        for dag_id, holders in dict(stored).items():
            for holder in holders or ():
                by_holder.setdefault(str(holder), []).append(str(dag_id))
        holds = [
            Hold(
                f"legacy:{holder}" if holder == _LEGACY_ENDED else holder,
                tuple(sorted(dags)),
                ended=holder == _LEGACY_ENDED,
            )
            for holder, dags in by_holder.items()
        ]
        for hold in holds:
            self.put(hold)
        Variable.delete(self.legacy_key)
        return holds


def _held(records: Iterable[Hold], *, besides: str, active_only: bool) -> set[str]:
    return {
        dag_id
        for hold in records
        if hold.holder != besides and not (active_only and hold.ended)
        for dag_id in hold.dags
    }


def hold(store: HoldStore, api: Any, holder: str, targets: list[str]) -> list[str]:
    """Pause the running DAGs among ``targets`` for ``holder``; the DAGs it now holds.

    A DAG already paused is held too when another holder of the gate holds it (its pause is this gate's),
    and left alone otherwise (a person paused it).
    """
    if not targets:
        return []
    store.put(Hold(holder, tuple(targets)))  # intent first: a run recovering meanwhile will not unpause them
    try:
        paused_now = set(api.pause(targets))
        others = _held(store.records().values(), besides=holder, active_only=False)
    except Exception:
        store.drop(holder)
        raise
    mine = sorted(d for d in targets if d in paused_now or d in others)
    if mine:
        store.put(Hold(holder, tuple(mine)))
    else:
        store.drop(holder)
    return mine


def end(store: HoldStore, holder: str) -> None:
    """``holder`` stops waiting without recovery: its DAGs stay paused until a later run passes."""
    own = store.records().get(holder)
    if own is not None and not own.ended:
        store.put(attrs.evolve(own, ended=True))


def release(store: HoldStore, api: Any, holder: str, known: Iterable[str] = ()) -> list[str]:
    """``holder``'s data is fit: unpause its DAGs (and those of ended holders) that no waiting holder holds.

    ``known``: DAGs the caller paused itself (in case its record could not be written). Returns the DAGs
    unpaused. A DAG that cannot be unpaused is kept as an ended hold, so the next passing run tries again.
    """
    records = store.records()
    own = records.get(holder)
    ended = [h for h in records.values() if h.ended and h.holder != holder]
    candidates = set(known) | set(own.dags if own else ()) | {d for h in ended for d in h.dags}
    if not candidates:
        return []
    if own is not None:
        store.drop(holder)  # first: from now on a new holder sees this run's DAGs as nobody's
    waiting = _held(store.records().values(), besides=holder, active_only=True)
    releasable = sorted(candidates - waiting)
    if not releasable:
        return []
    unpaused, failed = api.unpause(releasable)
    began = _held(store.records().values(), besides=holder, active_only=True) & set(unpaused)
    if began:  # another run started holding one of them while it was being unpaused: pause it again
        api.pause(sorted(began))
        log.info("quality gate: DAGs %s stay paused, another run now holds them", sorted(began))
    kept: set[str] = set()  # DAGs that could not be unpaused and stay recorded by an ended hold
    for ended_hold in ended:
        left = tuple(d for d in ended_hold.dags if d not in releasable or d in failed)
        kept.update(left)
        if left != ended_hold.dags:
            if left:
                store.put(attrs.evolve(ended_hold, dags=left))
            else:
                store.drop(ended_hold.holder)
    retry = sorted(set(failed) - kept)
    if retry:
        store.put(Hold(holder, tuple(retry), ended=True))
    return [d for d in unpaused if d not in began]

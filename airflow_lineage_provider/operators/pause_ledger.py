"""Which runs of a quality gate hold which DAGs paused (``pause_downstream_dags``).

Several runs of one gate can wait at once (partitions, a mapped gate's map indexes, catch-up runs), and a
DAG may be held by several of them: it is unpaused only when none holds it any more. There is no lock to
take in Airflow, so the record is built to need none:

* every holder (a run id, ``run_id[i]`` for map index ``i``) has a Variable of its own (one per try of its
  task instance), so no two runs ever rewrite the same value;
* a run that breaches records the DAGs it *means* to hold before it pauses anything, then keeps those it
  paused itself or that another holder holds (a DAG paused by a person is left alone);
* a run that recovers drops its record first, unpauses what no other holder holds, then looks again and
  pauses anything another run began holding in the meantime.

So whichever way two runs interleave, a DAG some run still waits on ends paused. A holder that timed out
is marked ``ended``: its DAGs stay paused until a later run of the gate passes or recovers.

A holder whose task stopped waiting some other way (marked success or failed by hand, its DAG run marked
failed, cleared or deleted) never ends its own hold. So a record also names its task instance and try
(``TaskRef``), and is kept under a key of that try: a run that releases asks Airflow for the task instance
of every other record, and treats as ended those whose try is over (the task instance finished, moved on
to a later try, or is gone). Only that try ever writes its key, and a try that is over never comes back
(a clear starts a new try), so ending its record needs no lock either. A record without a task instance
(written by an earlier version) is checked by its holder, which is the run id (and map index): it ends when
that task instance finished or is gone, and counts as waiting in any other state (the try that wrote it may
still be waiting, deferred since before the upgrade).

A record that cannot be read at all (not a JSON hold) is left alone, with one warning per process naming its
Variable and what to do: nothing can tell which DAGs it holds, so it never unpauses one by guess.

Records are written through the Task SDK (``Variable.set``) and listed through the REST API (the SDK cannot
list Variables), with the same credentials the gate pauses DAGs with.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
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


#: task instance states after which a try holds nothing any more (it will not resume the gate)
FINISHED_STATES = frozenset({"success", "failed", "skipped", "upstream_failed", "removed"})

#: a holder's run id and map index (``run_id[3]``), as ``QualityGateOperator`` names holders
_HOLDER = re.compile(r"^(?P<run_id>.+)\[(?P<map_index>\d+)\]$")

#: the unreadable records already reported by this process (Variable keys)
_reported: set[str] = set()


@attrs.frozen
class TaskRef:
    """The task instance try that keeps a hold: a hold outlives it only by mistake."""

    dag_id: str
    task_id: str
    run_id: str
    map_index: int
    try_number: int

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TaskRef:
        return cls(
            str(data["dag_id"]),
            str(data["task_id"]),
            str(data["run_id"]),
            int(data["map_index"]),
            int(data["try_number"]),
        )


@attrs.frozen
class Hold:
    """The DAGs one holder keeps paused; ``ended``: it stopped waiting without recovery (timed out).

    ``ti``: the task instance try that holds them (``None`` in records of earlier versions).
    """

    holder: str
    dags: tuple[str, ...]
    ended: bool = False
    ti: TaskRef | None = None

    @property
    def record(self) -> str:
        """The record's id in its store: the holder, and the try when known (one key per try)."""
        return self.holder if self.ti is None else f"{self.holder}#{self.ti.try_number}"


class HoldStore(Protocol):
    """``records()`` maps ids of the store's choosing (``VariableHoldStore``: ``Hold.record``, one per try)
    to holds; ``drop`` takes such an id. The ledger finds a holder's records by their content."""

    def records(self) -> dict[str, Hold]: ...

    def put(self, hold: Hold) -> None: ...

    def drop(self, record: str) -> None: ...


class TaskStates(Protocol):
    def task_instance(self, ref: TaskRef) -> tuple[str | None, int] | None:
        """``(state, try_number)`` of the task instance now, ``None`` if Airflow no longer has it."""
        ...


class VariableHoldStore:
    """Holds of gate ``dag_id.task_id`` in Airflow Variables (one per holder); ``api`` lists them."""

    def __init__(self, dag_id: str, task_id: str, api: Any) -> None:
        self.gate = f"{dag_id}.{task_id}"
        self.prefix = f"{KEY_PREFIX}{_digest(self.gate)}."
        self.legacy_key = _LEGACY_KEY.format(dag_id=dag_id, task_id=task_id)
        self.api = api

    def key(self, record: str) -> str:
        return self.prefix + _digest(record)

    def records(self) -> dict[str, Hold]:
        """Every holder's record (raises when they cannot be listed)."""
        found: dict[str, Hold] = {}
        for key, value in self.api.variables(self.prefix).items():
            try:
                data = json.loads(value)
                ti = TaskRef.from_dict(data["ti"]) if data.get("ti") else None
                dags = tuple(str(d) for d in data["dags"])
                hold = Hold(str(data["holder"]), dags, bool(data.get("ended")), ti)
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                self._report_unreadable(key, value, exc)
                continue
            found[hold.record] = hold
        for hold in self._adopt_legacy():
            found.setdefault(hold.record, hold)
        return found

    def _report_unreadable(self, key: str, value: Any, exc: Exception) -> None:
        """One warning per process for a record nothing can read: which Variable, and what to do."""
        if key in _reported:
            return
        _reported.add(key)
        shown = str(value) if len(str(value)) <= 200 else f"{str(value)[:200]}..."
        log.warning(
            "quality gate %s: cannot read the hold record in Variable %s (%s: %s), value %s; the DAGs it "
            "holds paused stay paused. Unpause them yourself if no run of the gate still waits, then delete "
            "the record: airflow variables delete %s",
            self.gate,
            key,
            type(exc).__name__,
            exc,
            shown,
            key,
        )

    def put(self, hold: Hold) -> None:
        from airflow.sdk import Variable

        value: dict[str, Any] = {
            "gate": self.gate,
            "holder": hold.holder,
            "dags": list(hold.dags),
            "ended": hold.ended,
        }
        if hold.ti is not None:
            value["ti"] = hold.ti.to_dict()
        note = f"DAGs that quality gate {self.gate} keeps paused for {hold.holder}; removed on recovery"
        Variable.set(self.key(hold.record), value, serialize_json=True, description=note)

    def drop(self, record: str) -> None:
        from airflow.sdk import Variable

        Variable.delete(self.key(record))

    def _adopt_legacy(self) -> list[Hold]:
        """Holds kept in the one shared Variable of earlier versions, moved to records of their own."""
        from airflow.sdk import Variable

        stored = Variable.get(self.legacy_key, default=None)
        if not stored:
            return []
        by_holder: dict[str, list[str]] = {}
        try:
            value = json.loads(stored)
            if isinstance(value, list):  # the oldest form: DAGs left paused by a timeout
                value = {str(dag_id): [_LEGACY_ENDED] for dag_id in value}
            for dag_id, holders in dict(value).items():
                if isinstance(holders, (str, bytes)):
                    raise TypeError(f"holders of {dag_id!r} are not a list")
                for holder in holders or ():
                    by_holder.setdefault(str(holder), []).append(str(dag_id))
        except (ValueError, TypeError, AttributeError) as exc:
            self._report_unreadable(self.legacy_key, stored, exc)
            return []
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


def _mine(records: Mapping[str, Hold], holder: str, ti: TaskRef | None, *, legacy: bool) -> set[str]:
    """The ids of ``holder``'s records for try ``ti`` (``legacy``: and its records naming no try, written
    before records named their try). Found by content: a store files records under ids of its own."""
    return {
        record
        for record, hold in records.items()
        if hold.holder == holder and (hold.ti == ti or (legacy and hold.ti is None))
    }


def _held(
    records: Mapping[str, Hold],
    *,
    besides: AbstractSet[str],
    active_only: bool,
    over: AbstractSet[str] = frozenset(),
) -> set[str]:
    """DAGs held by records other than ``besides``; ``active_only``: by waiting ones (not ended nor over)."""
    return {
        dag_id
        for record, hold in records.items()
        if record not in besides and not (active_only and (hold.ended or record in over))
        for dag_id in hold.dags
    }


def _is_over(ti: TaskRef, now: tuple[str | None, int] | None) -> bool:
    """Whether try ``ti`` holds nothing any more, the task instance being ``now`` (``None``: gone)."""
    if now is None:
        return True
    state, try_number = now
    return try_number > ti.try_number or (try_number == ti.try_number and state in FINISHED_STATES)


def _untried(hold: Hold, gate: TaskRef | None) -> TaskRef | None:
    """The task instance of a record written before records named their try: the gate's task (that of
    ``gate``, the releasing try) in the run the holder names; try 0 stands for "unknown"."""
    if gate is None or hold.holder.startswith("legacy:"):
        return None
    named = _HOLDER.match(hold.holder)
    run_id, map_index = (named["run_id"], int(named["map_index"])) if named else (hold.holder, -1)
    return TaskRef(gate.dag_id, gate.task_id, run_id, map_index, 0)


def over(
    records: Mapping[str, Hold],
    api: TaskStates,
    *,
    besides: AbstractSet[str] = frozenset(),
    gate: TaskRef | None = None,
) -> set[str]:
    """The ids of the records (besides ``besides``, and ended ones) whose task instance try is over.

    Asked of Airflow one task instance at a time; a record that cannot be checked (the API fails) counts as
    waiting. A record naming no try (an earlier version's) is over when the task instance its holder names
    in ``gate``'s task finished or is gone: any other state may be the very try that wrote it.
    """
    found: set[str] = set()
    for record, hold in records.items():
        if record in besides or hold.ended:
            continue
        ref = hold.ti or _untried(hold, gate)
        if ref is None:
            continue
        try:
            now = api.task_instance(ref)
        except Exception as exc:
            log.warning("quality gate: could not read the state of %s (it counts as waiting): %s", ref, exc)
            continue
        finished = now is None or now[0] in FINISHED_STATES
        if finished if hold.ti is None else _is_over(ref, now):
            state = "gone" if now is None else f"{now[0]}, try {now[1]}"
            log.warning(
                "quality gate: %s stopped waiting without releasing DAGs %s (its task instance: %s); "
                "ending its hold",
                hold.holder,
                ", ".join(hold.dags),
                state,
            )
            found.add(record)
    return found


def _drop(store: HoldStore, hold: Hold) -> None:
    """Drop ``hold``'s record, found by content (its id if the records cannot be listed)."""
    try:
        records = _mine(store.records(), hold.holder, hold.ti, legacy=False)
    except Exception:
        records = set()
    for record in records or {hold.record}:
        store.drop(record)


def hold(
    store: HoldStore, api: Any, holder: str, targets: list[str], *, ti: TaskRef | None = None
) -> list[str]:
    """Pause the running DAGs among ``targets`` for ``holder`` (try ``ti``); the DAGs it now holds.

    A DAG already paused is held too when another holder of the gate holds it (its pause is this gate's),
    and left alone otherwise (a person paused it).
    """
    if not targets:
        return []
    intent = Hold(holder, tuple(targets), ti=ti)
    store.put(intent)  # intent first: a run recovering meanwhile leaves these DAGs paused
    try:
        paused_now = set(api.pause(targets))
        records = store.records()
    except Exception:
        _drop(store, intent)
        raise
    mine = _mine(records, holder, ti, legacy=False)
    others = _held(records, besides=mine, active_only=False)
    held = sorted(d for d in targets if d in paused_now or d in others)
    if held:
        store.put(Hold(holder, tuple(held), ti=ti))
    else:
        for record in mine or {intent.record}:
            store.drop(record)
    return held


def end(store: HoldStore, holder: str, *, ti: TaskRef | None = None) -> None:
    """``holder`` stops waiting without recovery: its DAGs stay paused until a later run passes."""
    records = store.records()
    for record in _mine(records, holder, ti, legacy=True):
        if not records[record].ended:
            store.put(attrs.evolve(records[record], ended=True))


def release(
    store: HoldStore, api: Any, holder: str, known: Iterable[str] = (), *, ti: TaskRef | None = None
) -> list[str]:
    """``holder``'s data is fit: unpause its DAGs (and those of ended holders) that no waiting holder holds.

    Holders whose task instance try is over (see :func:`over`) count as ended. ``known``: DAGs the caller
    paused itself (in case its record could not be written). Returns the DAGs unpaused. A DAG that cannot be
    unpaused is kept as an ended hold, so the next passing run tries again.
    """
    records = store.records()
    own = _mine(records, holder, ti, legacy=True)
    gone = over(records, api, besides=own, gate=ti)
    ended = {r: h for r, h in records.items() if r not in own and (h.ended or r in gone)}
    candidates = set(known) | {d for r in own for d in records[r].dags}
    candidates |= {d for h in ended.values() for d in h.dags}
    if not candidates:
        return []
    for record in own:
        store.drop(record)  # first: from now on a new holder sees this run's DAGs as nobody's
    waiting = _held(store.records(), besides=own, active_only=True, over=gone)
    releasable = sorted(candidates - waiting)
    if not releasable and not gone:
        return []
    unpaused, failed = api.unpause(releasable) if releasable else ([], [])
    began = _held(store.records(), besides=own, active_only=True, over=gone) & set(unpaused)
    if began:  # another run started holding one of them while it was being unpaused: pause it again
        api.pause(sorted(began))
        log.info("quality gate: DAGs %s stay paused, another run now holds them", sorted(began))
    kept: set[str] = set()  # DAGs that could not be unpaused and stay recorded by an ended hold
    for record, ended_hold in ended.items():
        left = tuple(d for d in ended_hold.dags if d not in releasable or d in failed)
        kept.update(left)
        if left != ended_hold.dags or not ended_hold.ended:
            if left:  # a try that is over never writes its record again: ending it here is safe
                store.put(attrs.evolve(ended_hold, dags=left, ended=True))
            else:
                store.drop(record)
    retry = sorted(set(failed) - kept)
    if retry:
        store.put(Hold(holder, tuple(retry), ended=True, ti=ti))
    return [d for d in unpaused if d not in began]

"""The pause ledger's protocol under concurrent runs: one record per holder, intent before action, a second
look after unpausing. The interleavings a real deployment produces (map indexes and partitions finishing at
once) are forced here by running one run's step inside another's API call.

The store and the API are in-memory stand-ins: the point is the order of reads and writes, which a real
``airflow api-server`` cannot be made to interleave on demand (tests/operators/test_quality_gate_pause_dags.py
runs the same code against a real one).
"""

from __future__ import annotations

from collections.abc import Callable

from gate_helpers import MemoryHoldStore as Store

from airflow_lineage_provider.operators import pause_ledger
from airflow_lineage_provider.operators.pause_ledger import Hold


class Api:
    """DAG pause states; ``during_unpause`` runs once inside the next unpause call (another run's step)."""

    def __init__(self, paused: dict[str, bool], missing: tuple[str, ...] = ()) -> None:
        self.paused = paused
        self.missing = missing
        self.during_unpause: Callable[[], None] | None = None
        self.during_pause: Callable[[], None] | None = None

    def pause(self, dag_ids: list[str]) -> list[str]:
        if self.during_pause is not None:
            step, self.during_pause = self.during_pause, None
            step()
        changed = [d for d in dag_ids if d not in self.missing and not self.paused[d]]
        self.paused.update(dict.fromkeys(changed, True))
        return changed

    def unpause(self, dag_ids: list[str]) -> tuple[list[str], list[str]]:
        changed = [d for d in dag_ids if d not in self.missing and self.paused[d]]
        self.paused.update(dict.fromkeys(changed, False))
        if self.during_unpause is not None:
            step, self.during_unpause = self.during_unpause, None
            step()
        return changed, [d for d in dag_ids if d in self.missing]


def test_a_run_that_passes_leaves_what_another_run_holds_paused() -> None:
    store, api = Store(), Api({"x": False, "y": False})
    assert pause_ledger.hold(store, api, "run_a", ["x", "y"]) == ["x", "y"]
    assert pause_ledger.hold(store, api, "run_b", ["x"]) == ["x"]  # already paused, but by this gate
    assert pause_ledger.release(store, api, "run_a") == ["y"]
    assert api.paused == {"x": True, "y": False}
    assert pause_ledger.release(store, api, "run_b") == ["x"]
    assert api.paused == {"x": False, "y": False} and store.holds == {}


def test_a_dag_paused_by_a_person_is_never_held() -> None:
    store, api = Store(), Api({"x": True, "y": False})
    assert pause_ledger.hold(store, api, "run_a", ["x", "y"]) == ["y"]
    assert store.holds == {"run_a": Hold("run_a", ("y",))}
    assert pause_ledger.release(store, api, "run_a") == ["y"]
    assert api.paused == {"x": True, "y": False}


def test_a_run_beginning_to_hold_while_another_unpauses_gets_its_dag_paused_again() -> None:
    """Run A recovers and unpauses x; at that moment run B breaches (its record is written after A looked at
    the records): A's second look sees B and pauses x again, and B holds it."""
    store, api = Store(), Api({"x": False})
    pause_ledger.hold(store, api, "run_a", ["x"])
    api.during_unpause = lambda: pause_ledger.hold(store, api, "run_b", ["x"])
    assert pause_ledger.release(store, api, "run_a") == []
    assert api.paused == {"x": True}
    assert store.holds == {"run_b": Hold("run_b", ("x",))}
    assert pause_ledger.release(store, api, "run_b") == ["x"]
    assert api.paused == {"x": False}


def test_a_run_breaching_while_another_still_holds_keeps_the_dag() -> None:
    """Run B breaches while run A's record still lists x (x already paused, so B pauses nothing itself):
    B holds x anyway, and A's recovery then leaves x paused."""
    store, api = Store(), Api({"x": False})
    pause_ledger.hold(store, api, "run_a", ["x"])
    assert pause_ledger.hold(store, api, "run_b", ["x"]) == ["x"]
    assert pause_ledger.release(store, api, "run_a") == []
    assert api.paused == {"x": True}


def test_a_run_breaching_during_a_release_that_already_looked() -> None:
    """Run A dropped its record and looked (nobody else holds x); run B writes its intent and pauses before
    A unpauses: B's intent makes A's second look pause x again."""
    store, api = Store(), Api({"x": False})
    pause_ledger.hold(store, api, "run_a", ["x"])

    def b_breaches_before_the_unpause() -> None:
        store.put(Hold("run_b", ("x",)))  # B's intent, then B's pause finds x paused (A's) and keeps it

    original = api.unpause

    def unpause(dag_ids: list[str]) -> tuple[list[str], list[str]]:
        b_breaches_before_the_unpause()
        return original(dag_ids)

    api.unpause = unpause  # type: ignore[method-assign]
    assert pause_ledger.release(store, api, "run_a") == []
    assert api.paused == {"x": True} and "run_b" in store.holds


def test_timed_out_holds_wait_for_the_next_passing_run_and_failures_are_retried() -> None:
    store, api = Store(), Api({"x": False, "gone": False}, missing=("gone",))
    pause_ledger.hold(store, api, "run_a", ["x"])
    pause_ledger.end(store, "run_a")
    assert store.holds == {"run_a": Hold("run_a", ("x",), ended=True)} and api.paused["x"]
    store.put(Hold("legacy:*", ("gone",), ended=True))  # a DAG the API can no longer find
    assert pause_ledger.release(store, api, "run_c") == ["x"]  # a later run that passes
    assert api.paused["x"] is False
    assert store.holds == {"legacy:*": Hold("legacy:*", ("gone",), ended=True)}  # tried again next time


def test_a_pause_that_raises_leaves_no_intent_behind() -> None:
    store, api = Store(), Api({"x": False})

    def broken() -> None:
        raise RuntimeError("API down")

    api.during_pause = broken
    try:
        pause_ledger.hold(store, api, "run_a", ["x"])
    except RuntimeError:
        pass
    assert store.holds == {}

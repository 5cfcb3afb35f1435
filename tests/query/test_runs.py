"""One run by uid (query.runs.get_run) when the partition the engine remembers for it no
longer holds it."""

from datetime import timedelta

from layout import retention
from layout.inbox import write_inbox
from query.engine import Engine
from query.runs import get_run
from tests.helpers.rows import T0, row
from tests.helpers.stages import materialize


def _expire(store, engine: Engine, uid: str) -> None:
    runs = retention.runs_from_rows(engine.query(retention.RUNS_SQL))
    gone = [run for run in runs if run.uid == uid]
    retention.apply(store, [retention.Expired(gone[0], "test", gone)])


def test_runs_get_run_of_a_run_retention_deleted_is_none(store):
    write_inbox(store, [row("a", status="Succeeded", created_at=T0)])
    materialize(store)
    engine = Engine(store)
    assert get_run(engine, "a", None)["status"] == "Succeeded"

    _expire(store, engine, "a")

    assert get_run(engine, "a", None) is None


def test_runs_get_run_finds_a_run_again_stored_in_another_partition(store):
    """The same uid imported again with another creation day (a re-created archive, say) is
    read from its new partition, not looked for in the one remembered."""
    write_inbox(store, [row("a", status="Succeeded", created_at=T0)])
    materialize(store)
    engine = Engine(store)
    assert get_run(engine, "a", None)["created_at"] == "2026-03-01T12:00:00Z"
    _expire(store, engine, "a")
    later = T0 + timedelta(days=3)  # 2026-03-04

    write_inbox(store, [row("a", status="Failed", created_at=later, received_at=later)])

    found = get_run(engine, "a", None)
    assert (found["status"], found["created_at"]) == ("Failed", "2026-03-04T12:00:00Z")

"""The archive's writer jobs as `runlake materialize|compact|retention|migrate`, `runlake
serve` and the scheduled Lambdas run them: layout/ does the work; this module takes the
store's writer lease around each job (waiting for a running materializer to hand it over)
and, for retention, asks the views which runs exist, since retention decides over the
latest snapshot of each run."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from layout import retention as rules
from layout.compaction import CompactionReport, check_target_size
from layout.compaction import compact as compact_tables
from layout.lease import Lease
from layout.materializer import CycleReport, Materializer
from layout.migrate import MigrationReport
from layout.migrate import migrate as migrate_store
from layout.store import Store, StoreError
from query.engine import Engine

# How long a job waits for the lease: a materializer hands it over at the end of its cycle.
LEASE_WAIT_S = 120.0


def materialize_once(store: Store, wait_s: float = LEASE_WAIT_S) -> list[CycleReport]:
    """Move the whole inbox into the tables now (cycles until it is empty)."""
    with Lease(store, "materialize").hold(wait_s) as lease:
        return _drain(store, lease)


def _drain(store: Store, lease: Lease) -> list[CycleReport]:
    reports = []
    materializer = Materializer(store)
    try:
        while True:
            report = materializer.cycle(lease)
            if not report.files:
                return reports
            reports.append(report)
    finally:
        materializer.close()


def materialize_if_free(store: Store) -> int | None:
    """Materialize the inbox now unless another writer holds the lease (a running
    materializer will do it); the rows moved, or None."""
    try:
        reports = materialize_once(store, wait_s=0.0)
    except StoreError as exc:
        if "lease is held" in str(exc):
            return None
        raise
    return sum(report.rows for report in reports)


def materialize_forever(
    store: Store,
    interval_s: float,
    stop: threading.Event,
    on_cycle: Callable[[CycleReport], None] | None = None,
) -> None:
    """The materializer's loop, until `stop` is set (see Materializer.run)."""
    Materializer(store).run(interval_s, stop, on_cycle=on_cycle)


def compact(store: Store, wait_s: float = LEASE_WAIT_S, **options: Any) -> CompactionReport:
    if "target_size" in options:
        check_target_size(options["target_size"])  # before anything is written
    with Lease(store, "compact").hold(wait_s):
        return compact_tables(store, **options)


def migrate(
    store: Store, progress: Callable[[str, int], None] | None = None, wait_s: float = LEASE_WAIT_S
) -> MigrationReport:
    with Lease(store, "migrate").hold(wait_s):
        return migrate_store(store, progress)


def expired_results(
    store: Store, policy: rules.Policy, sql_timeout_s: float, now: datetime | None = None
) -> list[rules.Expired]:
    """The results of the store that `policy` lets go."""
    engine = Engine(store, sql_timeout_s)
    try:
        runs = rules.runs_from_rows(engine.query(rules.RUNS_SQL))
    finally:
        engine.close()
    return rules.expired_results(runs, policy, now)


def retention(
    store: Store,
    policy: rules.Policy,
    sql_timeout_s: float,
    dry_run: bool = False,
    wait_s: float = LEASE_WAIT_S,
) -> rules.RetentionPlan:
    """Delete (or, dry, only plan) the rows and logs of every expired result. The inbox is
    moved into the tables first, under the same lease: a run still waiting there would
    otherwise outlive its deletion."""
    if dry_run:
        return rules.plan(store, expired_results(store, policy, sql_timeout_s))
    with Lease(store, "retention").hold(wait_s) as lease:
        _drain(store, lease)
        return rules.apply(store, expired_results(store, policy, sql_timeout_s))

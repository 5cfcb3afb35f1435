"""Retention as `runlake retention` and the scheduled Lambda (runlake.lambda_lifecycle) run
it: layout.retention does the work; this module asks the views which runs exist, since
retention decides over the latest snapshot of each run."""

from __future__ import annotations

from datetime import datetime

from layout import retention as rules
from layout.store import Store
from query.engine import Engine


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
    store: Store, policy: rules.Policy, sql_timeout_s: float, dry_run: bool = False
) -> rules.RetentionPlan:
    """Delete (or, dry, only plan) the records and logs of every expired result."""
    expired = expired_results(store, policy, sql_timeout_s)
    return rules.plan(store, expired) if dry_run else rules.apply(store, expired)

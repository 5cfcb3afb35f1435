"""AWS Lambda entry points of the writer jobs, invoked by EventBridge Scheduler: `handler` runs
compaction, then retention, one after the other under the store's writer lease; `materialize`
runs the materializer every minute.

The schedule's input (terraform/ writes it) says what to do, in the units of the CLI's flags
(layout.units: a bare number is days); every key is optional:

    {"older_than": "1h",            # compaction leaves younger files alone (default 1h)
     "target_size": "128MiB",       # size of the merged files
     "retention_policy": "..."}     # Tekton Results' retention policy, YAML or JSON; none: keep

The store comes from RUNLAKE_STORE as for the other services. A failure raises, so that the
invocation fails, shows in CloudWatch and is retried by the scheduler's retry policy; both
jobs are safe to re-run (a killed run's leftovers are finished by the next).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from layout import settings
from layout.units import parse_duration, parse_size

if TYPE_CHECKING:
    from layout.retention import Policy

logger = logging.getLogger(__name__)

DEFAULT_OLDER_THAN = "1h"


def handler(event: dict[str, Any] | None, context: Any) -> dict[str, Any]:
    """Lambda entry point: run compaction, then retention if the event carries a policy.
    Returns what was done, as JSON-able data (it shows in the invocation's result)."""
    # Imported here: a cold start of this function pays for them, no other function does.
    from layout.store import open_store
    from runlake.lifecycle import compact, retention

    # Parse everything before touching the store: a bad schedule input fails whole.
    options, policy = schedule_options(event or {})
    config = settings.load()
    store = open_store(config["RUNLAKE_STORE"], config["RUNLAKE_S3_ENDPOINT"])

    report = compact(store, **options)
    result: dict[str, Any] = {
        "compaction": report.summary() if report.partitions else "nothing to compact",
        "skipped": list(report.skipped),
    }
    logger.info("compaction: %s", result["compaction"])
    if policy is not None:
        result["retention"] = retention(store, policy, config["RUNLAKE_SQL_TIMEOUT_S"]).lines()
        logger.info("retention: %s", result["retention"])
    return result


def schedule_options(event: dict[str, Any]) -> tuple[dict[str, Any], Policy | None]:
    """compact()'s keyword arguments and the retention policy (None: no retention) from the
    schedule's input, in the units every flag takes (layout.units); a key that is absent,
    null or "" takes its default. Raises ValueError."""
    from layout.retention import parse_policy

    given = {k: v for k, v in event.items() if v is not None and v != ""}
    options: dict[str, Any] = {
        "older_than": parse_duration(given.get("older_than", DEFAULT_OLDER_THAN))
    }
    if "target_size" in given:
        options["target_size"] = parse_size(given["target_size"])
    policy = parse_policy(given["retention_policy"]) if "retention_policy" in given else None
    return options, policy


# Stop starting cycles this long before the invocation's deadline: a cycle must finish (its
# commits and the inbox deletes) before Lambda freezes the environment.
MATERIALIZE_MARGIN_S = 15.0


def materialize(event: dict[str, Any] | None, context: Any) -> dict[str, Any]:
    """Lambda entry point of the materializer, invoked every minute by EventBridge Scheduler
    (reserved concurrency 1): hold the writer lease and run cycles every
    RUNLAKE_MATERIALIZE_S until the invocation is nearly out of time, then hand the lease
    back. If the previous invocation still holds it (or a lifecycle job does), return at
    once: the next minute tries again."""
    import time

    from layout.lease import Lease
    from layout.materializer import Materializer
    from layout.store import open_store

    config = settings.load()
    store = open_store(config["RUNLAKE_STORE"], config["RUNLAKE_S3_ENDPOINT"])
    lease = Lease(store, "materialize")
    if not lease.acquire():
        return {"cycles": 0, "held_by": getattr(lease.holder(), "owner", None)}
    materializer = Materializer(store)
    cycles = rows = 0
    try:
        while context.get_remaining_time_in_millis() / 1000 > MATERIALIZE_MARGIN_S:
            report = materializer.cycle(lease)
            cycles, rows = cycles + 1, rows + report.rows
            if lease.wanted_by_other():
                break
            time.sleep(float(config["RUNLAKE_MATERIALIZE_S"]))
    finally:
        materializer.close()
        lease.release()
    logger.info("materializer: %d cycles, %d rows", cycles, rows)
    return {"cycles": cycles, "rows": rows}

"""AWS Lambda entry point of the lifecycle jobs, invoked by EventBridge Scheduler: compaction,
then retention, one after the other in one invocation (the two must never overlap on a store,
see layout.compaction).

The schedule's input (terraform/ writes it) says what to do; every key is optional:

    {"older_than": "1h",            # compaction leaves younger files alone (default 1h)
     "target_size": "128MiB",       # size of the merged files
     "latest_only_after": "30d",    # also drop superseded snapshots of runs finished earlier
     "retention_policy": "..."}     # Tekton Results' retention policy, YAML or JSON; none: keep

The store comes from RUNLAKE_STORE as for the other services. A failure raises, so that the
invocation fails, shows in CloudWatch and is retried by the scheduler's retry policy; both
jobs are safe to re-run (a killed run's leftovers are finished by the next).
"""

from __future__ import annotations

import logging
from typing import Any

from layout import settings

logger = logging.getLogger(__name__)

DEFAULT_OLDER_THAN = "1h"


def handler(event: dict[str, Any] | None, context: Any) -> dict[str, Any]:
    """Lambda entry point: run compaction, then retention if the event carries a policy.
    Returns what was done, as JSON-able data (it shows in the invocation's result)."""
    # Imported here: a cold start of this function pays for them, no other function does.
    from layout.compaction import compact
    from layout.retention import parse_duration, parse_policy
    from layout.store import open_store
    from runlake.cli.lifecycle import parse_size
    from runlake.lifecycle import retention

    event = event or {}
    config = settings.load()
    store = open_store(config["RUNLAKE_STORE"], config["RUNLAKE_S3_ENDPOINT"])
    # Parse everything before touching the store: a bad schedule input fails whole.
    older_than = parse_duration(str(event.get("older_than", DEFAULT_OLDER_THAN)))
    latest_after = event.get("latest_only_after")
    options: dict[str, Any] = {"older_than": older_than}
    if event.get("target_size"):
        options["target_size"] = parse_size(str(event["target_size"]))
    if latest_after:
        options["latest_only_after"] = parse_duration(str(latest_after))
    policy = parse_policy(event["retention_policy"]) if event.get("retention_policy") else None

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

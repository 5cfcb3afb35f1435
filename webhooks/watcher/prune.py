"""Marking archived runs, and deleting them from the cluster only once that is safe.

The rule (never delete anything unarchived): a run is deleted only when it carries
`runlake.dev/archived: "true"` (set after its final snapshot and all its logs were
acknowledged), finished at least `prune_after` ago, and has no owner (a child goes with its
PipelineRun); a PipelineRun only once every child it names is archived too. Each delete
carries a UID precondition, so a run re-created under the same name is never hit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from kubernetes.client import CustomObjectsApi, V1DeleteOptions, V1Preconditions

from webhooks.normalize import parse_time
from webhooks.status import SUCCEEDED_CONDITION

ARCHIVED = "runlake.dev/archived"
GROUP = "tekton.dev"


def is_archived(obj: Mapping) -> bool:
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    return annotations.get(ARCHIVED) == "true"


def is_finished(obj: Mapping) -> bool:
    status = obj.get("status") or {}
    if status.get("completionTime"):
        return True
    return any(
        c.get("type") == SUCCEEDED_CONDITION and c.get("status") in ("True", "False")
        for c in status.get("conditions") or []
    )


@dataclass
class RunRef:
    """What pruning needs to know of a run the watcher has seen."""

    kind: str
    plural: str
    version: str
    namespace: str
    name: str
    uid: str
    owners: tuple[str, ...]
    completed_at: datetime | None
    archived: bool
    children: tuple[str, ...]  # names from a PipelineRun's status.childReferences

    @classmethod
    def of(cls, obj: Mapping, plural: str, version: str) -> RunRef:
        meta = obj.get("metadata") or {}
        status = obj.get("status") or {}
        return cls(
            kind=obj.get("kind") or "",
            plural=plural,
            version=version,
            namespace=meta.get("namespace") or "",
            name=meta.get("name") or "",
            uid=meta.get("uid") or "",
            owners=tuple(o.get("uid", "") for o in meta.get("ownerReferences") or []),
            completed_at=_completed_at(status),
            archived=is_archived(obj),
            children=tuple(
                c.get("name", "") for c in status.get("childReferences") or [] if c.get("name")
            ),
        )


def _completed_at(status: Mapping) -> datetime | None:
    try:
        return parse_time(status.get("completionTime"))
    except (TypeError, ValueError):
        return None


def prunable(
    runs: Iterable[RunRef], now: datetime, prune_after: timedelta
) -> list[tuple[RunRef, str | None]]:
    """Each top-level run with the reason it must stay (None: delete it). Pure logic."""
    runs = list(runs)
    by_owner: dict[str, list[RunRef]] = {}
    by_name = {(r.namespace, r.name): r for r in runs}
    for run in runs:
        for owner in run.owners:
            by_owner.setdefault(owner, []).append(run)
    verdicts = []
    for run in runs:
        if run.owners:
            continue  # goes with its owner
        verdicts.append((run, _keep_reason(run, now, prune_after, by_owner, by_name)))
    return verdicts


def _keep_reason(
    run: RunRef,
    now: datetime,
    prune_after: timedelta,
    by_owner: Mapping[str, list[RunRef]],
    by_name: Mapping[tuple[str, str], RunRef],
) -> str | None:
    if not run.archived:
        return "not archived"
    if run.completed_at is None:
        return "not finished"
    if now - run.completed_at < prune_after:
        return "finished too recently"
    children = {c.uid: c for c in by_owner.get(run.uid, [])}
    for name in run.children:
        child = by_name.get((run.namespace, name))
        if child is None:
            return f"child {name} not seen yet"
        children[child.uid] = child
    if unarchived := sorted(c.name for c in children.values() if not c.archived):
        return f"children not archived: {', '.join(unarchived)}"
    return None


def mark_archived(custom: CustomObjectsApi, run: RunRef) -> dict:
    """Merge-patch the archived annotation onto the run; returns the patched object."""
    body = {"metadata": {"annotations": {ARCHIVED: "true"}}}
    return custom.patch_namespaced_custom_object(
        GROUP, run.version, run.namespace, run.plural, run.name, body
    )


def delete_run(custom: CustomObjectsApi, run: RunRef) -> None:
    """Delete with a UID precondition; children go with it (they name it as owner)."""
    options = V1DeleteOptions(
        preconditions=V1Preconditions(uid=run.uid), propagation_policy="Background"
    )
    custom.delete_namespaced_custom_object(
        GROUP, run.version, run.namespace, run.plural, run.name, body=options
    )

"""One archive for two clusters that hold the same namespaces and run names (uids differ), sent
through ingest with one cluster-bound token each, with a step log per cluster."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass

from layout.store import Store
from tests.helpers.apps import app_for, close_writer
from tests.helpers.history import history

EU, STAGING = "prod-eu", "staging"
INGEST_TOKENS = "eu-ingest=prod-eu,staging-ingest=staging"
# The namespace staging lacks, so the clusters' counts differ.
ONLY_IN_EU = "ci"


@dataclass
class Twins:
    runs: dict[str, list[dict]]  # cluster -> its objects

    def uids(self, cluster: str, namespace: str | None = None) -> set[str]:
        return {
            o["metadata"]["uid"]
            for o in self.runs[cluster]
            if namespace in (None, o["metadata"]["namespace"])
        }

    def first(self, cluster: str, kind: str, with_steps: bool = False) -> dict:
        return next(
            o
            for o in self.runs[cluster]
            if o["kind"] == kind
            and (not with_steps or o.get("status", {}).get("steps"))
            and (kind != "PipelineRun" or o["status"].get("completionTime"))
        )

    def twin_of(self, obj: dict, cluster: str) -> dict:
        """The run of `cluster` with the same namespace and name as `obj`."""
        meta = obj["metadata"]
        return next(
            o
            for o in self.runs[cluster]
            if (o["metadata"]["namespace"], o["metadata"]["name"])
            == (meta["namespace"], meta["name"])
        )


def with_other_uids(objects: list[dict], tag: str) -> list[dict]:
    """The same runs under other uids (owner references follow), as another cluster would
    hold them after running the same pipelines."""
    text = json.dumps(objects)
    for uid in {o["metadata"]["uid"] for o in objects}:
        text = text.replace(uid, tag + uid[len(tag) :])
    return json.loads(text)


def step_log(cluster: str, step: str) -> str:
    return f"{cluster}: the log of {step}\n"


def archive_two_clusters(store: Store) -> Twins:
    """Send both clusters' runs through ingest, each with its cluster's token, and the step
    logs of every finished TaskRun that lists steps."""
    eu = history(40)
    staging = [
        o
        for o in with_other_uids(copy.deepcopy(eu), "5a")
        if o["metadata"]["namespace"] != ONLY_IN_EU
    ]
    twins = Twins({EU: eu, STAGING: staging})
    app = app_for(store, RUNLAKE_INGEST_TOKENS=INGEST_TOKENS)
    client = app.test_client()
    try:
        for cluster, token in ((EU, "eu-ingest"), (STAGING, "staging-ingest")):
            headers = {"Authorization": f"Bearer {token}"}
            answer = client.post(
                "/v1/snapshots", json={"items": twins.runs[cluster]}, headers=headers
            )
            assert answer.status_code == 202, answer.get_json()
            for obj in twins.runs[cluster]:
                if obj["kind"] != "TaskRun" or not obj["status"].get("completionTime"):
                    continue
                meta = obj["metadata"]
                for step in obj["status"].get("steps") or []:
                    put = client.put(
                        f"/v1/logs/{meta['namespace']}/{meta['uid']}/{step['name']}",
                        data=step_log(cluster, step["name"]),
                        headers=headers,
                    )
                    assert put.status_code == 201, put.get_json()
    finally:
        close_writer(app)
    return twins

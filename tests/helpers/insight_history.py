"""A crafted history where every insight is known by hand (tests/query/test_insights.py says
each answer and why), as Tekton v1 objects in the shapes the API server returns.

Namespace `shop`, pipeline `diamond` (status.pipelineSpec):

    fetch -> test  -------(result reference)--+
          -> lint  ---------(runAfter)--------+-> build      finally: notify

    run     input   outcome                        critical path
    pr-a1   aaa     all pass                       fetch, test, build, notify
    pr-a2   aaa     test fails (build never runs)  fetch, test, notify
    pr-a3   aaa     all pass; lint passes on retry fetch, test, build, notify
    pr-b1   bbb     all pass; lint slow            fetch, lint, build, notify

Namespace `data`: standalone TaskRuns with known CPU requests (task-level, steps, v1beta1
`resources`, stepSpecs, a sidecar, none) and two failures of the same step.

Times are seconds after T0; each TaskRun starts 1 s after it is created and its pod's first
step a known number of seconds later.
"""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta

from layout.keys import log_key
from layout.store import Store

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
PIPELINE = "diamond"

PIPELINE_SPEC = {
    "tasks": [
        {"name": "fetch", "taskRef": {"name": "git-clone"}},
        {"name": "test", "taskRef": {"name": "go-test"}, "runAfter": ["fetch"]},
        {"name": "lint", "taskRef": {"name": "golangci-lint"}, "runAfter": ["fetch"]},
        {
            "name": "build",
            "taskRef": {"name": "kaniko"},
            "runAfter": ["lint"],
            "params": [{"name": "report", "value": "$(tasks.test.results.report)"}],
        },
    ],
    "finally": [{"name": "notify", "taskRef": {"name": "slack"}}],
}
TASK_OF = {
    "fetch": "git-clone",
    "test": "go-test",
    "lint": "golangci-lint",
    "build": "kaniko",
    "notify": "slack",
}

TEST_LOG = (
    "=== RUN   TestCheckout\n"
    "\x1b[31m--- FAIL: TestCheckout (0.01s)\x1b[0m\n"
    "    checkout_test.go:42: expected 3 items, got 4\n"
    "FAIL\n"
)
ETL_LOG = "dbt run\n21:04:05  Running with dbt=1.7.4\nDatabase Error in model orders\n"


def ts(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def _condition(status: str) -> dict:
    return {
        "Succeeded": {"type": "Succeeded", "status": "True", "reason": "Succeeded"},
        "Failed": {"type": "Succeeded", "status": "False", "reason": "Failed"},
        "Cancelled": {"type": "Succeeded", "status": "False", "reason": "TaskRunCancelled"},
    }[status]


def _step(name: str, start: float, end: float, code: int = 0, term: str = "Completed") -> dict:
    return {
        "name": name,
        "container": f"step-{name}",
        "terminationReason": term,
        "terminated": {
            "exitCode": code,
            "reason": "Completed" if code == 0 else "Error",
            "startedAt": ts(start),
            "finishedAt": ts(end),
        },
    }


def pipelinerun(uid: str, revision: str, created: float, end: float, status: str) -> dict:
    return {
        "apiVersion": "tekton.dev/v1",
        "kind": "PipelineRun",
        "metadata": {
            "name": f"{PIPELINE}-{uid}",
            "namespace": "shop",
            "uid": uid,
            "resourceVersion": "10",
            "creationTimestamp": ts(created),
            "labels": {"tekton.dev/pipeline": PIPELINE, "team": "checkout"},
        },
        "spec": {
            "pipelineRef": {"name": PIPELINE},
            "params": [
                {"name": "git-url", "value": "https://git.example/shop.git"},
                {"name": "git-revision", "value": revision},
            ],
        },
        "status": {
            "conditions": [_condition(status)],
            "startTime": ts(created + 3),  # every PipelineRun waits 3 s
            "completionTime": ts(end),
            "pipelineSpec": PIPELINE_SPEC,
        },
    }


def taskrun(
    run: dict,
    pipeline_task: str,
    created: float,
    end: float,
    *,
    pending: float = 2,
    status: str = "Succeeded",
    steps: list[dict] | None = None,
    retried: list[tuple[float, float]] = (),
    cpu: str | None = "500m",
) -> dict:
    """A TaskRun of `run` that started 1 s after `created` (its final attempt after the
    `retried` (start, end) attempts) and whose pod's first step started `pending` s later."""
    start = retried[-1][1] + 2 if retried else created + 1
    first_step = start + pending
    name = f"{run['metadata']['name']}-{pipeline_task}"
    resources = {"computeResources": {"requests": {"cpu": cpu}}} if cpu else {}
    body = {
        "apiVersion": "tekton.dev/v1",
        "kind": "TaskRun",
        "metadata": {
            "name": name,
            "namespace": run["metadata"]["namespace"],
            "uid": f"{run['metadata']['uid']}-{pipeline_task}",
            "resourceVersion": "5",
            "creationTimestamp": ts(created),
            "labels": {
                **run["metadata"]["labels"],
                "tekton.dev/pipelineRun": run["metadata"]["name"],
                "tekton.dev/pipelineTask": pipeline_task,
                "tekton.dev/task": TASK_OF[pipeline_task],
            },
            "ownerReferences": [
                {
                    "kind": "PipelineRun",
                    "name": run["metadata"]["name"],
                    "uid": run["metadata"]["uid"],
                }
            ],
        },
        "spec": {"taskRef": {"name": TASK_OF[pipeline_task]}},
        "status": {
            "conditions": [_condition(status)],
            "podName": f"{name}-pod",
            "startTime": ts(start),
            "completionTime": ts(end),
            "steps": steps or [_step("main", first_step, end)],
            "taskSpec": {
                "steps": [
                    {"name": step["name"], "image": "busybox", **resources}
                    for step in steps or [{"name": "main"}]
                ]
            },
        },
    }
    if retried:
        body["status"]["retriesStatus"] = [
            {
                "conditions": [_condition("Failed")],
                "podName": f"{name}-pod-retry{n}",
                "startTime": ts(a_start),
                "completionTime": ts(a_end),
            }
            for n, (a_start, a_end) in enumerate(retried)
        ]
        body["spec"]["retries"] = len(retried)
    return body


def shop_runs() -> list[dict]:
    a1 = pipelinerun("pr-a1", "aaa", 0, 110, "Succeeded")
    a2 = pipelinerun("pr-a2", "aaa", 200, 247, "Failed")
    a3 = pipelinerun("pr-a3", "aaa", 400, 501, "Succeeded")
    b1 = pipelinerun("pr-b1", "bbb", 600, 730, "Succeeded")
    test_steps = [_step("run", 18, 70), _step("report", 70, 75)]
    failed_test_steps = [
        _step("run", 218, 240, code=2, term="Error"),
        _step("report", 240, 240, code=1, term="Skipped"),
    ]
    return [
        a1,
        taskrun(a1, "fetch", 3, 14),
        taskrun(a1, "test", 14, 75, pending=3, steps=test_steps, cpu="1"),
        taskrun(a1, "lint", 14, 35),
        taskrun(a1, "build", 75, 100, pending=3),
        taskrun(a1, "notify", 100, 108),
        a2,
        taskrun(a2, "fetch", 203, 214),
        taskrun(a2, "test", 214, 240, status="Failed", pending=3, steps=failed_test_steps),
        taskrun(a2, "lint", 214, 235),
        taskrun(a2, "notify", 241, 246),
        a3,
        taskrun(a3, "fetch", 403, 414),
        taskrun(a3, "test", 414, 470),
        taskrun(a3, "lint", 414, 430, retried=[(415, 420)]),
        taskrun(a3, "build", 470, 495),
        taskrun(a3, "notify", 495, 500),
        b1,
        taskrun(b1, "fetch", 603, 614),
        taskrun(b1, "test", 614, 650),
        taskrun(b1, "lint", 614, 690),
        taskrun(b1, "build", 690, 720),
        taskrun(b1, "notify", 720, 728, cpu=None),
    ]


def _standalone(uid: str, created: float, end: float, **status: object) -> dict:
    return {
        "apiVersion": "tekton.dev/v1",
        "kind": "TaskRun",
        "metadata": {
            "name": uid,
            "namespace": "data",
            "uid": uid,
            "resourceVersion": "3",
            "creationTimestamp": ts(created),
            "labels": {"tekton.dev/task": "dbt-run", "team": "analytics"},
        },
        "spec": {"taskRef": {"name": "dbt-run"}},
        "status": {
            "conditions": [_condition(str(status.pop("outcome", "Succeeded")))],
            "startTime": ts(created + 10),
            "completionTime": ts(end),
            **status,
        },
    }


def data_runs() -> list[dict]:
    two_steps = {"steps": [{"name": "deps", "image": "dbt"}, {"name": "run", "image": "dbt"}]}
    task_level = _standalone("etl-1", 1000, 2810, taskSpec=two_steps)
    # Tekton divides a task-level request among the steps: 2 cores whatever the steps ask.
    task_level["spec"]["computeResources"] = {"requests": {"cpu": "2", "memory": "4Gi"}}
    v1beta1 = _standalone(
        "etl-2",
        3000,
        3910,
        taskSpec={
            "steps": [
                {"name": "deps", "resources": {"requests": {"cpu": "1"}}},
                {"name": "run", "resources": {"requests": {"cpu": "1"}}},
            ],
            "sidecars": [{"name": "proxy", "resources": {"requests": {"cpu": "100m"}}}],
        },
    )
    v1beta1["apiVersion"] = "tekton.dev/v1beta1"
    overridden = _standalone(
        "etl-3",
        5000,
        5370,
        taskSpec={
            "steps": [
                {"name": "deps", "computeResources": {"requests": {"cpu": "250m"}}},
                {"name": "run", "computeResources": {"requests": {"cpu": "250m"}}},
            ]
        },
    )
    overridden["spec"]["stepSpecs"] = [
        {"name": "run", "computeResources": {"requests": {"cpu": "1500m"}}}
    ]
    unknown = _standalone("etl-4", 6000, 6100, taskSpec=two_steps)
    failed = [
        _standalone(
            f"etl-fail-{n}",
            7000 + 1000 * n,
            7100 + 1000 * n,
            outcome="Failed",
            steps=[
                _step("deps", 7010 + 1000 * n, 7020 + 1000 * n),
                _step("run", 7020 + 1000 * n, 7100 + 1000 * n, code=1, term="Error"),
            ],
        )
        for n in (1, 2)
    ]
    cancelled = _standalone(
        "etl-cancel",
        10_000,
        10_050,
        outcome="Cancelled",
        steps=[_step("run", 10_011, 10_050, code=1, term="TaskRunCancelled")],
    )
    cancelled["status"]["steps"][0]["terminated"]["reason"] = "TaskRunCancelled"
    return [task_level, v1beta1, overridden, unknown, *failed, cancelled]


def crafted_history() -> list[dict]:
    return shop_runs() + data_runs()


def store_crafted_logs(store: Store) -> None:
    """The failing steps' logs (the newest of each failure group has one)."""
    for namespace, uid, step, text in (
        ("shop", "pr-a2-test", "run", TEST_LOG),
        ("data", "etl-fail-2", "run", ETL_LOG),
    ):
        store.write_bytes(log_key(namespace, uid, step), gzip.compress(text.encode()))

"""A small history as Tekton Results' watcher records it, for the tests that compare runlake
with upstream: a PipelineRun `hello` with one TaskRun `hello-hello` (failed, its log
stored), and a TaskRun `solo` of its own (failed before it finished). The objects are the
v1 shapes the watcher stores (tektoncd/results pkg/watcher/convert), the uids those of the
research fixture the expected outcomes were worked out on (PostgreSQL, Results' schema).
"""

from __future__ import annotations

import json
from typing import Any

NAMESPACE = "default"
PR, TR, SOLO = "pr-uid-1", "tr-uid-1", "tr-uid-9"
STEP = "hello"
# The step's text: 83 bytes, as the Log record's size in the research fixture.
STEP_TEXT = (
    "hello world!\nthe pipeline says hello\nand the task says hello back\nexit status 1\nbye"
)
assert len(STEP_TEXT.encode()) == 83


def pipeline_run(uid: str = PR) -> dict[str, Any]:
    return {
        "apiVersion": "tekton.dev/v1",
        "kind": "PipelineRun",
        "metadata": {
            "name": "hello",
            "namespace": NAMESPACE,
            "uid": uid,
            "resourceVersion": "1201",
            "creationTimestamp": "2023-08-22T09:08:59Z",
            "labels": {"tekton.dev/pipeline": "hello"},
            "annotations": {
                "foo": "bar",
                "results.tekton.dev/resultAnnotations": json.dumps({"repo": "tektoncd/results"}),
                "results.tekton.dev/recordSummaryAnnotations": json.dumps({"branch": "main"}),
            },
        },
        "spec": {"pipelineRef": {"name": "hello"}, "timeouts": {"pipeline": "1h0m0s"}},
        "status": {
            "startTime": "2023-08-22T09:08:59Z",
            "completionTime": "2023-08-22T09:09:31Z",
            "conditions": [
                {
                    "type": "Succeeded",
                    "status": "True",
                    "reason": "Succeeded",
                    "message": "Tasks Completed: 1 (Failed: 0, Cancelled 0), Skipped: 0",
                    "lastTransitionTime": "2023-08-22T09:09:31Z",
                }
            ],
            "childReferences": [
                {
                    "apiVersion": "tekton.dev/v1",
                    "kind": "TaskRun",
                    "name": "hello-hello",
                    "pipelineTaskName": "hello",
                }
            ],
        },
    }


def task_run(uid: str = TR, owner: str = PR) -> dict[str, Any]:
    return {
        "apiVersion": "tekton.dev/v1",
        "kind": "TaskRun",
        "metadata": {
            "name": "hello-hello",
            "namespace": NAMESPACE,
            "uid": uid,
            "resourceVersion": "1188",
            "creationTimestamp": "2023-08-22T09:09:00Z",
            "labels": {"tekton.dev/pipelineRun": "hello", "tekton.dev/pipelineTask": "hello"},
            "ownerReferences": [
                {
                    "apiVersion": "tekton.dev/v1",
                    "kind": "PipelineRun",
                    "name": "hello",
                    "uid": owner,
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": {"taskSpec": {"steps": [{"name": STEP, "image": "alpine"}]}},
        "status": {
            "podName": "hello-hello-pod",
            "startTime": "2023-08-22T09:09:00Z",
            "completionTime": "2023-08-22T09:09:30Z",
            "conditions": [
                {"type": "Succeeded", "status": "False", "reason": "Failed", "message": "x"}
            ],
            "steps": [
                {
                    "name": STEP,
                    "container": f"step-{STEP}",
                    "terminated": {
                        "exitCode": 1,
                        "reason": "Error",
                        "startedAt": "2023-08-22T09:09:10Z",
                        "finishedAt": "2023-08-22T09:09:29Z",
                    },
                }
            ],
        },
    }


def solo_task_run(uid: str = SOLO) -> dict[str, Any]:
    return {
        "apiVersion": "tekton.dev/v1",
        "kind": "TaskRun",
        "metadata": {
            "name": "solo",
            "namespace": NAMESPACE,
            "uid": uid,
            "resourceVersion": "1300",
            "creationTimestamp": "2023-08-23T09:08:59Z",
        },
        "spec": {"taskRef": {"name": "solo"}},
        "status": {
            "podName": "solo-pod",
            "startTime": "2023-08-23T09:08:59Z",
            "conditions": [
                {"type": "Succeeded", "status": "False", "reason": "Failed", "message": "x"}
            ],
        },
    }


def results_log_text(step: str = STEP, text: str = STEP_TEXT) -> str:
    """The TaskRun's log as Results stores it (tkn's log writer, prefixes on)."""
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return "".join(f"[{step}] {line}\n" for line in lines) + "\n"

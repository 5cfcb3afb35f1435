from datetime import UTC, datetime

import pytest

from webhooks.normalize import normalize
from webhooks.status import run_status

# Every reason DESIGN.md names ("The records table", status mapping), plus CustomRun's own.
DESIGN_TABLE = [
    ("True", "Succeeded", "Succeeded"),
    ("True", "Completed", "Succeeded"),
    ("False", "Cancelled", "Cancelled"),
    ("False", "TaskRunCancelled", "Cancelled"),
    ("False", "PipelineRunCancelled", "Cancelled"),
    ("False", "CustomRunCancelled", "Cancelled"),
    ("False", "TaskRunTimeout", "TimedOut"),
    ("False", "PipelineRunTimeout", "TimedOut"),
    ("False", "CustomRunTimedOut", "TimedOut"),
    ("False", "CustomRunTimeout", "TimedOut"),
    ("False", "Failed", "Failed"),
    ("False", "TaskRunValidationFailed", "Failed"),
    ("False", "CouldntGetTask", "Failed"),
    ("False", "TaskRunImagePullFailed", "Failed"),
    ("False", None, "Failed"),
    ("Unknown", "Pending", "Pending"),
    ("Unknown", "PipelineRunPending", "Pending"),
    ("Unknown", "Running", "Running"),
    ("Unknown", "Started", "Running"),
    ("Unknown", "StoppedRunningFinally", "Running"),
    ("Unknown", "CancelledRunningFinally", "Running"),
    ("Unknown", None, "Running"),
    (None, None, "Pending"),
]


@pytest.mark.parametrize(("condition", "reason", "expected"), DESIGN_TABLE)
def test_status_design_table(condition, reason, expected):
    assert run_status(condition, reason) == expected


@pytest.mark.parametrize(("condition", "reason", "expected"), DESIGN_TABLE)
def test_status_through_normalize(condition, reason, expected):
    status = {}
    if condition is not None:
        status["conditions"] = [{"type": "Succeeded", "status": condition, "reason": reason}]
    obj = {
        "apiVersion": "tekton.dev/v1",
        "kind": "PipelineRun",
        "metadata": {"uid": "u1", "namespace": "ns", "name": "pr"},
        # spec.status values are not reasons: they must not change the outcome.
        "spec": {"status": "StoppedRunFinally"},
        "status": status,
    }
    row = normalize(obj, received_at=datetime.now(UTC), event_id="e", source="watcher")
    assert (row["status"], row["reason"]) == (expected, reason)


def test_status_unknown_condition_value_is_an_error():
    with pytest.raises(ValueError, match="Maybe"):
        run_status("Maybe", None)


def test_status_only_the_succeeded_condition_counts():
    obj = {
        "kind": "TaskRun",
        "metadata": {"uid": "u"},
        "status": {
            "conditions": [
                {"type": "SignedResultsVerified", "status": "False", "reason": "Nope"},
                {
                    "type": "Succeeded",
                    "status": "True",
                    "reason": "Succeeded",
                    "message": "All Steps have completed executing",
                },
            ]
        },
    }
    row = normalize(obj, received_at=datetime.now(UTC), event_id="e", source="watcher")
    assert (row["status"], row["reason"], row["message"]) == (
        "Succeeded",
        "Succeeded",
        "All Steps have completed executing",
    )

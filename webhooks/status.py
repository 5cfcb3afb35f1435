"""DESIGN.md's status mapping: the `Succeeded` condition's status and reason -> a run status.

Kept as data so the table can be read (and tested) against DESIGN.md line by line.
"""

from __future__ import annotations

from collections.abc import Mapping

from layout.schema import CANCELLED, FAILED, PENDING, RUNNING, SUCCEEDED, TIMED_OUT

# The condition whose status and reason say how a run went (Tekton's `apis.ConditionSucceeded`).
SUCCEEDED_CONDITION = "Succeeded"

# `PipelineRunCancelled` is the pre-v0.44 spelling; CustomRun controllers use their own.
CANCEL_REASONS = frozenset(
    {"Cancelled", "TaskRunCancelled", "PipelineRunCancelled", "CustomRunCancelled"}
)
# Tekton's CustomRun constant is `CustomRunTimedOut`; `CustomRunTimeout` is accepted because
# custom controllers copy the TaskRun/PipelineRun spelling.
TIMEOUT_REASONS = frozenset(
    {"TaskRunTimeout", "PipelineRunTimeout", "CustomRunTimedOut", "CustomRunTimeout"}
)
PENDING_REASONS = frozenset({"Pending", "PipelineRunPending"})

# condition status -> (reason -> run status, run status for any other reason or none).
# `True` needs no reasons: `Succeeded` and `Completed` (tasks were skipped) both succeeded.
# Under `Unknown`, `StoppedRunningFinally`/`CancelledRunningFinally` fall to Running on
# purpose: finally tasks are still executing.
RULES: Mapping[str, tuple[Mapping[str, str], str]] = {
    "True": ({}, SUCCEEDED),
    "False": (
        {**dict.fromkeys(CANCEL_REASONS, CANCELLED), **dict.fromkeys(TIMEOUT_REASONS, TIMED_OUT)},
        FAILED,
    ),
    "Unknown": (dict.fromkeys(PENDING_REASONS, PENDING), RUNNING),
}
CONDITION_STATUSES = tuple(RULES)


def run_status(condition_status: str | None, reason: str | None) -> str:
    """The run status; `condition_status` None means the run has no Succeeded condition yet.
    Raises ValueError for a condition status other than True, False or Unknown."""
    if condition_status is None:
        return PENDING
    try:
        by_reason, default = RULES[condition_status]
    except KeyError:
        raise ValueError(
            f"condition status {condition_status!r} is not one of {', '.join(CONDITION_STATUSES)}"
        ) from None
    return by_reason.get(reason or "", default)

"""A deterministic, realistic demo history of Tekton runs, as the API server returns them.

`generate(runs)` yields `tekton.dev/v1` PipelineRuns, their child TaskRuns and some standalone
TaskRuns (about a tenth of the objects), spread over the last `days` days with a weekday and
daytime bias, drawn from runlake.demo.catalog. Each object is the run's final snapshot as of
`now`: most runs finished (Succeeded, Completed with tasks skipped by `when` expressions,
Failed, Cancelled, TimedOut, some after retries), and the newest few are still Running or
Pending.

Pure logic: no I/O, no clock except the default `now`, no global random state. The same
`seed` and `now` give the same objects; memory stays flat however many runs are asked for.
"""

from __future__ import annotations

import copy
import json
import math
import random
import time
from bisect import bisect_right
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import cache
from itertools import accumulate

from runlake.demo.catalog import (
    AUTHORS,
    FEATURES,
    MAX_STEP_SECONDS,
    PIPELINES,
    SERVICE_ACCOUNTS,
    STANDALONE,
    STEP_CPU,
    TEAMS,
    TEKTON_RELEASE,
    Pipeline,
    PipelineTask,
    Standalone,
    Step,
    T,
    Task,
)

# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------

_ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"  # Kubernetes' generateName alphabet
_SUFFIX_SPACE = len(_ALPHANUMS) ** 5
_SUFFIX_STRIDE = 7_368_787  # coprime with 27**5: the first 14 M suffixes are all different

_DAY_PREFIX: dict[int, str] = {}


def _ts(t: int) -> str:
    """RFC 3339 UTC with a 'Z', from epoch seconds."""
    day, s = divmod(t, 86400)
    prefix = _DAY_PREFIX.get(day)
    if prefix is None:
        prefix = _DAY_PREFIX[day] = time.strftime("%Y-%m-%dT", time.gmtime(day * 86400))
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    return f"{prefix}{h:02d}:{m:02d}:{s:02d}Z"


def _go_duration(seconds: int, nanos: int = 0) -> str:
    """Go's time.Duration.String(): 1h0m0s, 59m41.401438347s, 45s."""
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    sec = f"{s}.{nanos:09d}".rstrip("0") if nanos else str(s)
    if h:
        return f"{h}h{m}m{sec}s"
    if m:
        return f"{m}m{sec}s"
    return f"{sec}s"


def _uuid(rng: random.Random) -> str:
    n = rng.getrandbits(128) & ~(0xF000 << 64) & ~(0xC000 << 48)
    h = f"{n | (0x4000 << 64) | (0x8000 << 48):032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def random_hex(rng: random.Random, chars: int) -> str:
    return f"{rng.getrandbits(chars * 4):0{chars}x}"


def _suffix(n: int) -> str:
    out = []
    for _ in range(5):
        n, r = divmod(n, 27)
        out.append(_ALPHANUMS[r])
    return "".join(out)


def _duration(rng: random.Random, step: Step) -> int:
    d = step.median * math.exp(step.sigma * rng.gauss(0.0, 1.0))
    return max(1, min(MAX_STEP_SECONDS, int(d + 0.5)))


def _resolve(params: tuple[tuple[str, str], ...], ctx: dict[str, str]) -> list[dict]:
    return [{"name": name, "value": src[1:] if src[0] == "=" else ctx[src]} for name, src in params]


@cache
def _task_spec(task_name: str) -> dict:
    """status.taskSpec as Tekton records the resolved Task: its steps and their requests."""
    steps = []
    for step in T[task_name].steps:
        body: dict = {"name": step.name, "image": step.image_id.split("@")[0]}
        if task_name in STEP_CPU:
            body["computeResources"] = {"requests": {"cpu": STEP_CPU[task_name], "memory": "512Mi"}}
        steps.append(body)
    return {"steps": steps}


@cache
def _pipeline_spec(pipeline_name: str) -> dict:
    """status.pipelineSpec as Tekton records the resolved Pipeline: each stage's tasks run after
    every task of the stage before; finally tasks after them all."""
    pl = next(p for p in PIPELINES if p.name == pipeline_name)
    tasks: list[dict] = []
    previous: list[str] = []
    for stage in pl.stages:
        for pt in stage:
            body: dict = {"name": pt.name, "taskRef": _task_ref(pt.task)}
            if previous:
                body["runAfter"] = list(previous)
            if pt.retries:
                body["retries"] = pt.retries
            tasks.append(body)
        previous = [pt.name for pt in stage]
    spec: dict = {"tasks": tasks}
    if pl.final:
        spec["finally"] = [{"name": pt.name, "taskRef": _task_ref(pt.task)} for pt in pl.final]
    return spec


def _task_ref(task: Task) -> dict:
    if task.hub:
        return {
            "resolver": "hub",
            "params": [{"name": "kind", "value": "task"}, {"name": "name", "value": task.name}],
        }
    return {"kind": "Task", "name": task.name}


# --------------------------------------------------------------------------------------------
# Simulation: plain records of what happened when, rendered to objects as seen at `now`
# --------------------------------------------------------------------------------------------

OK, FAIL, CANCEL, TIMEOUT, NO_TASK = "ok", "fail", "cancel", "timeout", "no-task"
_KILL_REASON = {CANCEL: "TaskRunCancelled", TIMEOUT: "TaskRunTimeout"}


class _StepRun:
    __slots__ = ("container_id", "exit_code", "finished", "reason", "started", "step", "term")

    def __init__(
        self,
        step: Step,
        started: int | None,
        finished: int,
        exit_code: int,
        reason: str,
        term: str,
        container_id: str | None,
    ) -> None:
        self.step, self.started, self.finished = step, started, finished
        self.exit_code, self.reason, self.term = exit_code, reason, term
        self.container_id = container_id


class _Attempt:
    __slots__ = ("end", "outcome", "pod", "pod_start", "start", "steps")

    def __init__(self, start: int, pod_start: int, pod: str) -> None:
        self.start, self.pod_start, self.pod = start, pod_start, pod
        self.steps: list[_StepRun] = []
        self.end = start
        self.outcome = OK


class _TaskRunPlan:
    __slots__ = (
        "attempts",
        "created",
        "member",
        "name",
        "ptask",
        "results",
        "task",
        "timeout",
        "uid",
        "when",
    )

    def __init__(self, name: str, uid: str, task: Task, created: int) -> None:
        self.name, self.uid, self.task, self.created = name, uid, task, created
        self.attempts: list[_Attempt] = []
        self.ptask: PipelineTask | None = None
        self.member = "tasks"
        self.results: list[dict] = []
        self.timeout = ""
        self.when: list[dict] | None = None

    @property
    def end(self) -> int:
        return self.attempts[-1].end

    @property
    def outcome(self) -> str:
        return self.attempts[-1].outcome


def _container_id(rng: random.Random) -> str:
    return f"containerd://{random_hex(rng, 64)}"


def _attempt(
    rng: random.Random, task: Task, start: int, pod: str, *, fail: bool = False, hang: bool = False
) -> _Attempt:
    """One pod's run of `task`, undisturbed; `fail` makes its main step exit non-zero and
    `hang` makes its main step run (practically) forever."""
    pod_start = start + 2 + int(rng.expovariate(1 / 5))  # scheduling, image pulls, init
    a = _Attempt(start, pod_start, pod)
    t = pod_start
    main = task.main_step
    if fail and len(task.steps) > 1 and task.steps[0].median > 4 and rng.random() < 0.3:
        main = 0
    failed_at: int | None = None
    for i, step in enumerate(task.steps):
        cid = _container_id(rng)
        if failed_at is not None:  # the entrypoint skips every step after a failure
            a.steps.append(_StepRun(step, failed_at, failed_at, 1, "Error", "Skipped", cid))
            continue
        d = _duration(rng, step)
        if i == main and hang:
            d = 10**7
        if i == main and fail:
            d = max(1, int(d * rng.uniform(0.2, 1.0)))
            if task.build and rng.random() < 0.15:
                code, reason = 137, "OOMKilled"
            else:
                code, reason = rng.choice((1, 1, 1, 1, 1, 2, 2, 126)), "Error"
            a.steps.append(_StepRun(step, t, t + d, code, reason, "Error", cid))
            failed_at = t + d
            a.outcome = FAIL
        else:
            a.steps.append(_StepRun(step, t, t + d, 0, "Completed", "Completed", cid))
        t += d
    a.end = t + rng.randint(0, 1)
    return a


def _kill(a: _Attempt, at: int, why: str) -> None:
    """Stop an attempt at `at` as Tekton does on cancel or timeout: steps still running or
    waiting get exit code 1 and the TaskRun's reason."""
    reason = _KILL_REASON[why]
    for s in a.steps:
        if s.finished <= at:
            continue
        if a.pod_start <= at:
            s.started = s.started if s.started is not None and s.started <= at else a.pod_start
        else:
            s.started, s.container_id = None, None
        s.finished, s.exit_code, s.reason, s.term = at, 1, reason, reason
    a.end, a.outcome = at, why


def _kill_taskrun(tr: _TaskRunPlan, at: int, why: str) -> None:
    """Stop `tr` at `at`: the attempt running then is killed, later ones never happen."""
    while len(tr.attempts) > 1 and tr.attempts[-1].start > at:
        if tr.attempts[-2].end <= at:  # between attempts: stopped as the retry starts
            at = tr.attempts[-1].start
            break
        tr.attempts.pop()
    a = tr.attempts[-1]
    if a.end > at:
        _kill(a, max(at, a.start), why)


def _sim_taskrun(
    rng: random.Random, tr: _TaskRunPlan, *, fail: bool, hang: bool, retries: int, flaky: float
) -> None:
    start = tr.created + rng.randint(0, 1)
    pod = f"{tr.name}-pod"
    flake = not fail and retries > 0 and rng.random() < flaky
    for n in range(retries + 1):
        a = _attempt(
            rng,
            tr.task,
            start,
            pod if n == 0 else f"{pod}-retry{n}",
            fail=fail or (flake and n == 0),
            hang=hang,
        )
        tr.attempts.append(a)
        if a.outcome == OK:
            break
        start = a.end + rng.randint(1, 3)


def _results(rng: random.Random, task: Task, ctx: dict[str, str]) -> list[dict]:
    out = []
    for name in task.results:
        if name == "commit":
            value = ctx["git-revision"]
        elif name == "url":
            value = ctx["git-url"]
        elif name == "IMAGE_DIGEST":
            value = ctx.setdefault("image-digest", f"sha256:{random_hex(rng, 64)}")
        elif name == "IMAGE_URL":
            value = ctx["image-ref"]
        elif name == "SCAN_OUTPUT":
            counts = {
                "critical": rng.choice((0, 0, 0, 1)),
                "high": rng.randint(0, 3),
                "medium": rng.randint(0, 9),
                "low": rng.randint(0, 20),
            }
            value = json.dumps({"vulnerabilities": counts}, separators=(",", ":"))
        else:  # TEST_OUTPUT
            value = json.dumps(
                {
                    "result": "SUCCESS",
                    "failures": 0,
                    "successes": rng.randint(40, 900),
                    "warnings": rng.randint(0, 3),
                },
                separators=(",", ":"),
            )
        out.append({"name": name, "type": "string", "value": value})
    return out


class _PipelineRunPlan:
    __slots__ = (
        "cancel_at",
        "children",
        "created",
        "ctx",
        "end",
        "final_start",
        "name",
        "old_cancel",
        "outcome",
        "pending",
        "pipeline",
        "skipped",
        "start",
        "uid",
    )

    def __init__(self) -> None:
        self.children: list[_TaskRunPlan] = []
        self.skipped: list[tuple[str, str, list[dict] | None, int]] = []  # name, why, when, at
        self.final_start: int | None = None
        self.cancel_at: int | None = None
        self.old_cancel = False
        self.pending = False


def _context(rng: random.Random, ns: str, repo: str, pipeline: str) -> dict[str, str]:
    team = TEAMS[repo]
    sha = random_hex(rng, 40)
    if pipeline == "preview-deploy" or rng.random() < 0.4:
        branch = f"{rng.choice(AUTHORS)}/{rng.choice(FEATURES)}"
    else:
        branch = "main"
    image = f"registry.acme.dev/{team}/{repo}"
    minor, patch = rng.randint(3, 40), rng.randint(0, 12)
    preview = f"pr-{rng.randint(100, 2400)}"
    deploy_ns = (
        f"{repo}-{preview}"
        if pipeline == "preview-deploy"
        else f"{repo}-staging"
        if pipeline != "release"
        else f"{repo}-prod"
    )
    return {
        "namespace": ns,
        "repo": repo,
        "team": team,
        "git-url": f"https://github.com/acme/{repo}.git",
        "git-revision": sha,
        "git-branch": branch,
        "image": image,
        "image-ref": f"{image}:{sha[:12]}",
        "mirror-ref": f"mirror.acme.dev/{team}/{repo}:{sha[:12]}",
        "version": f"v1.{minor}.{patch}",
        "preview-id": preview,
        "run-smoke": "true" if rng.random() < 0.6 else "false",
        "run-e2e": "true" if rng.random() < 0.7 else "false",
        "deploy-namespace": deploy_ns,
        "helm-values": f"image.tag={sha[:12]}",
        "slack-message": f"{pipeline} for {repo}@{sha[:7]}",
        "author": rng.choice(AUTHORS),
    }


def _when(ptask: PipelineTask, ctx: dict[str, str]) -> tuple[list[dict], bool]:
    key, op, values = ptask.when  # type: ignore[misc]
    value = ctx[key]
    passes = (value in values) == (op == "in")
    return [{"input": value, "operator": op, "values": list(values)}], passes


def _sim_pipelinerun(rng: random.Random, pl: Pipeline, name: str, created: int) -> _PipelineRunPlan:
    pr = _PipelineRunPlan()
    pr.pipeline, pr.name, pr.uid, pr.created = pl, name, _uuid(rng), created
    ns, repo = rng.choice(pl.targets)
    pr.ctx = ctx = _context(rng, ns, repo, pl.name)
    pr.start = start = created + rng.randint(0, 1)
    deadline = start + pl.timeout

    r = rng.random()
    tasks = [pt for stage in pl.stages for pt in stage]
    fail_pt = hang_pt = None
    cancel_stage = None
    if r < pl.fail_rate:
        fail_pt = rng.choices(tasks, [pt.task.fail_weight for pt in tasks])[0]
    elif r < pl.fail_rate + 0.025:
        cancel_stage = rng.randrange(len(pl.stages))
        pr.old_cancel = rng.random() < 0.3
    elif r < pl.fail_rate + 0.04:
        hang_pt = rng.choice([pt for pt in tasks if pt.hangs] or tasks)

    stopped_at: int | None = None  # a task failed, or the run was cancelled or timed out
    stop_why = ""
    t = start + 1
    for si, stage in enumerate(pl.stages):
        if stopped_at is None and t >= deadline:
            stopped_at, stop_why = deadline, "PipelineRun timeout has been reached"
        if stopped_at is not None:
            pr.skipped.extend((pt.name, stop_why, None, stopped_at) for pt in stage)
            continue
        stage_end = t
        running: list[_TaskRunPlan] = []
        for pt in stage:
            when = None
            if pt.when is not None:
                when, passes = _when(pt, ctx)
                if not passes:
                    pr.skipped.append((pt.name, "When Expressions evaluated to false", when, t))
                    continue
            tr = _TaskRunPlan(f"{name}-{pt.name}", _uuid(rng), pt.task, t + rng.randint(0, 1))
            tr.ptask, tr.when = pt, when
            _sim_taskrun(
                rng, tr, fail=pt is fail_pt, hang=pt is hang_pt, retries=pt.retries, flaky=pt.flaky
            )
            pr.children.append(tr)
            running.append(tr)
        if not running:
            continue
        if cancel_stage is not None and si >= cancel_stage:
            first = min(tr.attempts[0].start for tr in running)
            last = max(tr.end for tr in running)
            at = rng.randint(first + 1, max(first + 1, last - 1))
            for tr in running:
                if tr.end > at:
                    _kill_taskrun(tr, at + rng.randint(0, 1), CANCEL)
            pr.cancel_at = at
            stopped_at, stop_why = at, "PipelineRun was stopping"
            cancel_stage = None
        for tr in running:
            if tr.end > deadline:
                _kill_taskrun(tr, deadline + rng.randint(0, 1), TIMEOUT)
                stopped_at, stop_why = deadline, "PipelineRun timeout has been reached"
            elif tr.outcome == FAIL and (stopped_at is None or tr.end < stopped_at):
                stopped_at, stop_why = tr.end, "PipelineRun was stopping"
            stage_end = max(stage_end, tr.end)
        t = stage_end + rng.randint(0, 2)

    timed_out = any(tr.outcome == TIMEOUT for tr in pr.children) or any(
        s[1].startswith("PipelineRun timeout") for s in pr.skipped
    )
    if pl.final and pr.cancel_at is None and not timed_out:
        pr.final_start = t
        for pt in pl.final:
            tr = _TaskRunPlan(f"{name}-{pt.name}", _uuid(rng), pt.task, t + rng.randint(0, 1))
            tr.ptask, tr.member = pt, "finally"
            _sim_taskrun(rng, tr, fail=False, hang=False, retries=pt.retries, flaky=0)
            pr.children.append(tr)
            t = max(t, tr.end)
    elif pl.final:
        why = (
            "PipelineRun was stopping"
            if pr.cancel_at is not None
            else "PipelineRun timeout has been reached"
        )
        at = pr.cancel_at if pr.cancel_at is not None else deadline
        pr.skipped.extend((pt.name, why, None, at) for pt in pl.final)

    ends = [tr.end for tr in pr.children]
    pr.end = max([start + 1, *ends]) + rng.randint(0, 1)
    if pr.cancel_at is not None:
        pr.outcome = "Cancelled"
    elif timed_out:
        pr.outcome = "TimedOut"
        pr.end = max(pr.end, deadline + 1)
    elif any(tr.outcome == FAIL for tr in pr.children):
        pr.outcome = "Failed"
    elif pr.skipped:
        pr.outcome = "Completed"
    else:
        pr.outcome = "Succeeded"
    for tr in pr.children:
        tr.timeout = _go_duration(
            max(1, pl.timeout - (tr.created - start)), rng.randrange(1, 10**9)
        )
        if tr.outcome == OK:
            tr.results = _results(rng, tr.task, ctx)
    return pr


def _sim_standalone(
    rng: random.Random, sa: Standalone, name: str, created: int, *, healthy: bool = False
) -> tuple[_TaskRunPlan, dict[str, str]]:
    ctx = _context(rng, sa.namespace, sa.repo, "standalone")
    tr = _TaskRunPlan(name, _uuid(rng), sa.task, created)
    tr.timeout = _go_duration(sa.timeout)
    r = rng.random()
    if healthy:
        r = 0.5
    if r < 0.005:  # the Task could not be resolved: no pod at all
        a = _Attempt(created + rng.randint(0, 1), 0, "")
        a.end, a.outcome = a.start + rng.randint(0, 1), NO_TASK
        tr.attempts.append(a)
        return tr, ctx
    fail, hang = 0.005 <= r < 0.095, 0.095 <= r < 0.115
    _sim_taskrun(rng, tr, fail=fail, hang=hang, retries=sa.retries, flaky=0.1)
    deadline = tr.attempts[0].start + sa.timeout
    if tr.end > deadline:
        _kill_taskrun(tr, deadline + rng.randint(0, 1), TIMEOUT)
    elif 0.115 <= r < 0.135:
        a = tr.attempts[0]
        _kill_taskrun(tr, rng.randint(a.start + 1, max(a.start + 1, tr.end - 1)), CANCEL)
    if tr.outcome == OK:
        tr.results = _results(rng, tr.task, ctx)
    return tr, ctx


# --------------------------------------------------------------------------------------------
# Rendering: plans -> Kubernetes objects as of `now`
# --------------------------------------------------------------------------------------------


def _render_steps(a: _Attempt, now: int) -> list[dict]:
    out = []
    for s in a.steps:
        step = s.step
        if s.finished <= now:
            term: dict = {
                "exitCode": s.exit_code,
                "reason": s.reason,
                "startedAt": None if s.started is None else _ts(s.started),
                "finishedAt": _ts(s.finished),
            }
            if s.container_id:
                term["containerID"] = s.container_id
            state: dict = {"terminated": term}
        elif a.pod_start <= now:
            state = {"running": {"startedAt": _ts(a.pod_start)}}
        else:
            state = {"waiting": {"reason": "PodInitializing"}}
        state["name"] = step.name
        state["container"] = f"step-{step.name}"
        state["imageID"] = step.image_id
        if "terminated" in state:
            state["terminationReason"] = s.term
        out.append(state)
    return out


def _tr_condition(
    tr: _TaskRunPlan,
    a: _Attempt,
    ns: str,
    now: int,
    cancel_msg: str,
) -> tuple[str, str, str, int]:
    """(status, reason, message, lastTransitionTime) of attempt `a` as of `now`."""
    if a.start > now:  # not started yet: a retry waiting for its pod, or just created
        if a is tr.attempts[0]:
            return "Unknown", "Pending", "", tr.created
        return (
            "Unknown",
            "ToBeRetried",
            f'"step-{a.steps[0].step.name}" exited with code 1',
            tr.created,
        )
    if a.end > now:
        if a.pod_start > now:
            return (
                "Unknown",
                "Pending",
                'pod status "Initialized":"False"; message: '
                '"containers with incomplete status: [prepare place-scripts]"',
                a.start,
            )
        return (
            "Unknown",
            "Running",
            "Not all Steps in the Task have finished executing",
            a.pod_start,
        )
    outcome = a.outcome
    if outcome == OK:
        return "True", "Succeeded", "All Steps have completed executing", a.end
    if outcome == FAIL:
        s = next(s for s in a.steps if s.exit_code and s.term == "Error")
        msg = (
            f'"step-{s.step.name}" exited with code {s.exit_code} (image: '
            f'"{s.step.image_id}"); for logs run: kubectl -n {ns} logs {a.pod} '
            f"-c step-{s.step.name}"
        )
        return "False", "Failed", msg, a.end
    if outcome == CANCEL:
        return (
            "False",
            "TaskRunCancelled",
            f'TaskRun "{tr.name}" was cancelled. {cancel_msg}',
            a.end,
        )
    if outcome == TIMEOUT:
        return (
            "False",
            "TaskRunTimeout",
            f'TaskRun "{tr.name}" failed to finish within "{tr.timeout}"',
            a.end,
        )
    return (
        "False",
        "CouldntGetTask",
        f"[User error] error when listing tasks for taskRun {tr.name}: tasks.tekton.dev "
        f'"{tr.task.name}" not found',
        a.end,
    )


def _attempt_status(tr: _TaskRunPlan, a: _Attempt, ns: str, now: int, cancel_msg: str) -> dict:
    status_, reason, message, at = _tr_condition(tr, a, ns, now, cancel_msg)
    st: dict = {
        "conditions": [
            {
                "type": "Succeeded",
                "status": status_,
                "reason": reason,
                "message": message,
                "lastTransitionTime": _ts(at),
            }
        ]
    }
    if a.start > now:
        return st
    if a.pod:
        st["podName"] = a.pod
    st["startTime"] = _ts(a.start)
    if a.end <= now:
        st["completionTime"] = _ts(a.end)
    if a.steps:
        st["steps"] = _render_steps(a, now)
    return st


def _render_taskrun(
    tr: _TaskRunPlan,
    ns: str,
    params: list[dict],
    labels: dict,
    annotations: dict,
    sa: str,
    now: int,
    *,
    owner: _PipelineRunPlan | None,
    generate_name: str | None,
    retries: int,
    workspace: str | None,
) -> dict:
    done = [a for a in tr.attempts[:-1] if a.end <= now]
    current = tr.attempts[len(done)]
    cancelled = current.outcome == CANCEL and current.end <= now
    cancel_msg = (
        "TaskRun cancelled as the PipelineRun it belongs to has been cancelled."
        if owner is not None
        else ""
    )
    meta: dict = {"name": tr.name}
    if generate_name:
        meta["generateName"] = generate_name
    meta["namespace"] = ns
    meta["uid"] = tr.uid
    meta["resourceVersion"] = ""
    meta["generation"] = 2 if cancelled else 1
    meta["creationTimestamp"] = _ts(tr.created)
    meta["labels"] = labels
    meta["annotations"] = annotations
    if owner is not None:
        meta["ownerReferences"] = [
            {
                "apiVersion": "tekton.dev/v1",
                "kind": "PipelineRun",
                "name": owner.name,
                "uid": owner.uid,
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]
    spec: dict = {}
    if params:
        spec["params"] = params
    spec["serviceAccountName"] = sa
    spec["taskRef"] = _task_ref(tr.task)
    if retries:
        spec["retries"] = retries
    spec["timeout"] = tr.timeout
    if workspace:
        spec["workspaces"] = [{"name": "source", "persistentVolumeClaim": {"claimName": workspace}}]
    if cancelled:
        spec["status"] = "TaskRunCancelled"
        if cancel_msg:
            spec["statusMessage"] = cancel_msg
    status = _attempt_status(tr, current, ns, now, cancel_msg)
    if tr.attempts[0].start <= now:
        status["taskSpec"] = copy.deepcopy(_task_spec(tr.task.name))
    if done:
        status["retriesStatus"] = [_attempt_status(tr, a, ns, now, cancel_msg) for a in done]
    if current.end <= now and tr.results:
        status["results"] = tr.results
    return {
        "apiVersion": "tekton.dev/v1",
        "kind": "TaskRun",
        "metadata": meta,
        "spec": spec,
        "status": status,
    }


def _pr_labels(pl: Pipeline, ctx: dict[str, str], event_id: str) -> dict:
    labels = {
        "app.kubernetes.io/managed-by": "tekton-pipelines",
        "tekton.dev/pipeline": pl.name,
        "team": ctx["team"],
        "repo": ctx["repo"],
    }
    if pl.trigger:
        labels["triggers.tekton.dev/eventlistener"] = (
            "github" if pl.trigger != "nightly-cron" else "cron"
        )
        labels["triggers.tekton.dev/trigger"] = pl.trigger
        labels["triggers.tekton.dev/triggers-eventid"] = event_id
    return labels


def _render_pipelinerun(
    rng: random.Random, pr: _PipelineRunPlan, now: int, generate_name: str
) -> Iterator[dict]:
    """The PipelineRun, then its child TaskRuns created by `now`, all as of `now`."""
    pl, ctx = pr.pipeline, pr.ctx
    ns = ctx["namespace"]
    sa = SERVICE_ACCOUNTS[ns]
    labels = _pr_labels(pl, ctx, _uuid(rng))
    annotations = {
        "runlake.dev/demo": "true",
        "acme.dev/git-branch": ctx["git-branch"],
        "acme.dev/commit-author": ctx["author"],
    }
    if pl.name == "release":
        annotations["acme.dev/version"] = ctx["version"]
    pvc = f"pvc-{random_hex(rng, 10)}"
    params = [{"name": k, "value": ctx[k]} for k in pl.params]
    done = pr.end <= now and not pr.pending
    children = [tr for tr in pr.children if tr.created <= now]
    cancelled = pr.cancel_at is not None and pr.cancel_at <= now

    meta = {
        "name": pr.name,
        "generateName": generate_name,
        "namespace": ns,
        "uid": pr.uid,
        "resourceVersion": "",
        "generation": 2 if cancelled else 1,
        "creationTimestamp": _ts(pr.created),
        "labels": labels,
        "annotations": annotations,
    }
    spec: dict = {
        "params": params,
        "pipelineRef": {"name": pl.name},
        "taskRunTemplate": {"serviceAccountName": sa},
        "timeouts": {"pipeline": _go_duration(pl.timeout)},
        "workspaces": [
            {
                "name": "source",
                "volumeClaimTemplate": {
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        "resources": {"requests": {"storage": "1Gi"}},
                    }
                },
            }
        ],
    }
    if pr.pending:
        spec["status"] = "PipelineRunPending"
    elif cancelled:
        spec["status"] = "PipelineRunCancelled" if pr.old_cancel else "Cancelled"

    skipped = [s for s in pr.skipped if s[3] <= now]
    if pr.pending:
        cond = ("Unknown", "PipelineRunPending", f'PipelineRun "{pr.name}" is pending', pr.created)
    elif done:
        o = pr.outcome
        if o in ("Succeeded", "Completed", "Failed"):
            failed = sum(tr.outcome != OK for tr in children)
            msg = (
                f"Tasks Completed: {len(children)} (Failed: {failed}, Cancelled 0), "
                f"Skipped: {len(skipped)}"
            )
            cond = ("True" if o != "Failed" else "False", o, msg, pr.end)
        elif o == "Cancelled":
            cond = (
                "False",
                "PipelineRunCancelled" if pr.old_cancel else "Cancelled",
                f'PipelineRun "{pr.name}" was cancelled',
                pr.end,
            )
        else:
            cond = (
                "False",
                "PipelineRunTimeout",
                f'PipelineRun "{pr.name}" failed to finish within "{_go_duration(pl.timeout)}"',
                pr.end,
            )
    else:
        finished = [tr for tr in children if tr.end <= now]
        failed = sum(tr.outcome in (FAIL, TIMEOUT) for tr in finished)
        cancelled_n = sum(tr.outcome == CANCEL for tr in finished)
        total = sum(len(s) for s in pl.stages) + len(pl.final)
        msg = (
            f"Tasks Completed: {len(finished)} (Failed: {failed}, Cancelled {cancelled_n}), "
            f"Incomplete: {total - len(finished) - len(skipped)}, Skipped: {len(skipped)}"
        )
        cond = ("Unknown", "Running", msg, max([pr.start, *(tr.created for tr in children)]))
    status: dict = {
        "conditions": [
            {
                "type": "Succeeded",
                "status": cond[0],
                "reason": cond[1],
                "message": cond[2],
                "lastTransitionTime": _ts(cond[3]),
            }
        ]
    }
    if not pr.pending:
        status["startTime"] = _ts(pr.start)
        status["pipelineSpec"] = copy.deepcopy(_pipeline_spec(pl.name))
        if done:
            status["completionTime"] = _ts(pr.end)
        if children:
            refs = []
            for tr in children:
                ref = {
                    "apiVersion": "tekton.dev/v1",
                    "kind": "TaskRun",
                    "name": tr.name,
                    "pipelineTaskName": tr.ptask.name,
                }  # type: ignore[union-attr]
                if tr.when:
                    ref["whenExpressions"] = tr.when
                refs.append(ref)
            status["childReferences"] = refs
        if skipped:
            status["skippedTasks"] = [
                {"name": n, "reason": why, **({"whenExpressions": w} if w else {})}
                for n, why, w, _ in skipped
            ]
        if pr.final_start is not None and pr.final_start <= now:
            status["finallyStartTime"] = _ts(pr.final_start)
        if done and pr.outcome in ("Succeeded", "Completed") and "image-digest" in ctx:
            status["results"] = [
                {"name": "IMAGE_URL", "value": ctx["image-ref"]},
                {"name": "IMAGE_DIGEST", "value": ctx["image-digest"]},
                {"name": "CHAINS-GIT_URL", "value": ctx["git-url"]},
                {"name": "CHAINS-GIT_COMMIT", "value": ctx["git-revision"]},
            ]
    yield {
        "apiVersion": "tekton.dev/v1",
        "kind": "PipelineRun",
        "metadata": meta,
        "spec": spec,
        "status": status,
    }

    for tr in children:
        pt = tr.ptask
        assert pt is not None
        tr_labels = {
            **labels,
            "tekton.dev/memberOf": tr.member,
            "tekton.dev/pipelineRun": pr.name,
            "tekton.dev/pipelineRunUID": pr.uid,
            "tekton.dev/pipelineTask": pt.name,
            "tekton.dev/task": tr.task.name,
        }
        tr_annotations = {**annotations, "pipeline.tekton.dev/release": TEKTON_RELEASE}
        if tr.task.build and tr.outcome == OK and tr.end <= now:
            tr_annotations["chains.tekton.dev/signed"] = "true"
        yield _render_taskrun(
            tr,
            ns,
            _resolve(pt.params, ctx),
            tr_labels,
            tr_annotations,
            sa,
            now,
            owner=pr,
            generate_name=None,
            retries=pt.retries,
            workspace=pvc,
        )


def _render_standalone(
    rng: random.Random,
    tr: _TaskRunPlan,
    sa: Standalone,
    ctx: dict[str, str],
    now: int,
    generate_name: str,
) -> dict:
    labels = {
        "app.kubernetes.io/managed-by": "tekton-pipelines",
        "team": ctx["team"],
        "repo": ctx["repo"],
    }
    if tr.outcome != NO_TASK:
        labels["tekton.dev/task"] = tr.task.name
    annotations = {
        "runlake.dev/demo": "true",
        "pipeline.tekton.dev/release": TEKTON_RELEASE,
        "acme.dev/triggered-by": ctx["author"],
    }
    return _render_taskrun(
        tr,
        sa.namespace,
        _resolve(sa.params, ctx),
        labels,
        annotations,
        SERVICE_ACCOUNTS[sa.namespace],
        now,
        owner=None,
        generate_name=generate_name,
        retries=sa.retries,
        workspace=None,
    )


# --------------------------------------------------------------------------------------------
# When runs happen
# --------------------------------------------------------------------------------------------


def _hour_weight(t: int) -> float:
    tm = time.gmtime(t)
    day = 1.0 if tm.tm_wday < 5 else 0.15
    h = tm.tm_hour
    hour = 1.2 if 10 <= h < 16 else 1.0 if 8 <= h < 19 else 0.45 if h in (7, 19, 20) else 0.08
    return day * hour


class _Clock:
    """Maps a fraction of the history (0 to 1) to a time in the window: busy weekday hours
    get more of it than nights and weekends."""

    def __init__(self, start: int, end: int) -> None:
        self.start, self.end = start, end
        self.edges = list(range(start, end, 3600)) + [end]
        weights = [
            _hour_weight((a + b) // 2) * (b - a)
            for a, b in zip(self.edges, self.edges[1:], strict=False)
        ]
        self.cum = [0.0, *accumulate(weights)]

    def at(self, q: float) -> int:
        target = q * self.cum[-1]
        i = min(bisect_right(self.cum, target) - 1, len(self.edges) - 2)
        lo, hi = self.cum[i], self.cum[i + 1]
        frac = (target - lo) / (hi - lo) if hi > lo else 0.0
        a, b = self.edges[i], self.edges[i + 1]
        return min(self.end - 1, int(a + frac * (b - a)))


# --------------------------------------------------------------------------------------------
# The public API
# --------------------------------------------------------------------------------------------


def _now_seconds(now: datetime | None) -> int:
    if now is None:
        now = datetime.now(UTC)
    elif now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return int(now.timestamp())


def generate(
    runs: int, *, seed: int = 7, now: datetime | None = None, days: int = 21
) -> Iterator[dict]:
    """Yield `runs` Tekton objects (PipelineRuns and TaskRuns together, child TaskRuns counted)
    making up a demo history of the `days` days before `now` (default: the current UTC time,
    to the second; a naive `now` is taken as UTC).

    Each PipelineRun comes right before its child TaskRuns. `resourceVersion` grows with
    every object. The last objects are runs still in flight at `now` (Running, and for
    `runs` >= 9 a pending PipelineRun and a pending TaskRun at the very end). Deterministic
    for `seed` and `now`; memory stays flat however large `runs` is."""
    if runs < 0:
        raise ValueError(f"runs must be >= 0, not {runs}")
    if days <= 0:
        raise ValueError(f"days must be > 0, not {days}")
    return _generate(runs, seed, _now_seconds(now), days)


def _generate(runs: int, seed: int, now: int, days: int) -> Iterator[dict]:
    rng = random.Random(seed)
    clock = _Clock(now - days * 86400, now)
    pipelines, pweights = PIPELINES, [p.weight for p in PIPELINES]
    standalone, sweights = STANDALONE, [s.weight for s in STANDALONE]
    rv = 4_200_000 + rng.randrange(1_000_000)
    name_offset = rng.randrange(_SUFFIX_SPACE)
    counter = 0
    emitted = 0
    # the tail: runs still in flight at `now`, ending with a pending PipelineRun and TaskRun
    tail = min(max(runs // 500, 12), 60, runs // 3) if runs >= 9 else 0

    def next_name() -> str:
        nonlocal counter
        counter += 1
        return _suffix((counter * _SUFFIX_STRIDE + name_offset) % _SUFFIX_SPACE)

    def standalone_run(created: int | None, healthy: bool = False) -> list[dict]:
        """One standalone TaskRun; created at `created`, or (None) in flight at `now`."""
        sa = rng.choices(standalone, sweights)[0]
        prefix = f"{sa.task.name}-run-" if rng.random() < 0.7 else f"{sa.task.name}-"
        name = prefix + next_name()
        if created is None:
            at = rng.uniform(0.1, 0.9)
            state = rng.getstate()
            probe, _ = _sim_standalone(rng, sa, name, 0)
            rng.setstate(state)
            created = now - max(1, int(probe.end * at))
        tr, ctx = _sim_standalone(rng, sa, name, created, healthy=healthy)
        return [_render_standalone(rng, tr, sa, ctx, now, prefix)]

    def pipeline_run(created: int | None, room: int) -> list[dict] | None:
        pl = rng.choices(pipelines, pweights)[0]
        prefix = f"{pl.name}-run-" if pl.trigger is None else f"{pl.name}-"
        name = prefix + next_name()
        if created is None:
            at = rng.uniform(0.1, 0.9)
            state = rng.getstate()
            probe = _sim_pipelinerun(rng, pl, name, 0)
            rng.setstate(state)
            created = now - max(1, int(probe.end * at))
        pr = _sim_pipelinerun(rng, pl, name, created)
        if 1 + sum(tr.created <= now for tr in pr.children) > room:
            return None
        return list(_render_pipelinerun(rng, pr, now, prefix))

    def pending_pipeline_run() -> Iterator[dict]:
        pl = rng.choices(pipelines, pweights)[0]
        prefix = f"{pl.name}-"
        name = prefix + next_name()
        pr = _sim_pipelinerun(rng, pl, name, now - rng.randint(5, 240))
        pr.pending = True
        pr.children, pr.skipped, pr.final_start, pr.cancel_at = [], [], None, None
        return _render_pipelinerun(rng, pr, now, prefix)

    while emitted < runs:
        remaining = runs - emitted
        if remaining > tail:
            created = clock.at((emitted + rng.random()) / runs)
            objs = (
                pipeline_run(created, remaining) if rng.random() < 0.62 else None
            ) or standalone_run(created)
        elif remaining == 2:
            objs = list(pending_pipeline_run())
        elif remaining == 1:
            objs = standalone_run(now - 1, healthy=True)  # its pod is still initializing
        else:
            objs = (
                pipeline_run(None, remaining - 2) if rng.random() < 0.8 else None
            ) or standalone_run(None)
        for obj in objs:
            rv += rng.randint(1, 40)
            obj["metadata"]["resourceVersion"] = str(rv)
            emitted += 1
            yield obj

"""A deterministic, realistic demo history of Tekton runs, as the API server returns them.

`generate(runs)` yields `tekton.dev/v1` PipelineRuns, their child TaskRuns and some standalone
TaskRuns (about a tenth of the objects), spread over the last `days` days with a weekday and
daytime bias. Each object is the run's final snapshot as of `now`: most runs finished
(Succeeded, Completed with tasks skipped by `when` expressions, Failed, Cancelled, TimedOut,
some after retries), and the newest few are still Running or Pending. `demo_step_log` makes
up the log of one step of a generated TaskRun.

Pure logic: no I/O, no clock except the default `now`, no global random state. The same
`seed` and `now` give the same objects; memory stays flat however many runs are asked for.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import time
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import accumulate

__all__ = ["demo_step_log", "generate"]

# --------------------------------------------------------------------------------------------
# The catalog: images, Tasks, Pipelines, standalone TaskRuns
# --------------------------------------------------------------------------------------------


def _image(ref: str) -> str:
    """The imageID a kubelet reports for `ref`: its repository at a digest fixed per tag."""
    return f"{ref.rsplit(':', 1)[0]}@sha256:{hashlib.sha256(ref.encode()).hexdigest()}"


GIT_INIT = _image("gcr.io/tekton-releases/github.com/tektoncd/pipeline/cmd/git-init:v0.40.2")
GOLANG = _image("docker.io/library/golang:1.22")
GOLANGCI = _image("docker.io/golangci/golangci-lint:v1.57.2")
PYTHON = _image("docker.io/library/python:3.11-slim")
NODE = _image("docker.io/library/node:20-alpine")
KANIKO = _image("gcr.io/kaniko-project/executor:v1.21.0")
BASH = _image("docker.io/library/bash:5.2")
BUILDAH = _image("quay.io/buildah/stable:v1.35")
TRIVY = _image("docker.io/aquasec/trivy:0.50.1")
HELM = _image("docker.io/alpine/helm:3.14.3")
ARGOCD = _image("quay.io/argoproj/argocd:v2.10.5")
COSIGN = _image("gcr.io/projectsigstore/cosign:v2.2.3")
CURL = _image("docker.io/curlimages/curl:8.7.1")
CYPRESS = _image("docker.io/cypress/included:13.7.1")
DBT = _image("ghcr.io/dbt-labs/dbt-postgres:1.7.4")
FLYWAY = _image("docker.io/flyway/flyway:10.10")
POSTGRES = _image("docker.io/library/postgres:16")
AWSCLI = _image("docker.io/amazon/aws-cli:2.15.30")
KUBECTL = _image("docker.io/bitnami/kubectl:1.29")
SKOPEO = _image("quay.io/skopeo/stable:v1.15")
GITLEAKS = _image("docker.io/zricethezav/gitleaks:v8.18.2")

TEKTON_RELEASE = "v0.59.2"
MAX_STEP_SECONDS = 22 * 60


@dataclass(frozen=True, slots=True)
class _Step:
    name: str
    image_id: str
    median: float  # seconds
    sigma: float  # of the log-normal


@dataclass(frozen=True, slots=True)
class _Task:
    name: str
    steps: tuple[_Step, ...]
    results: tuple[str, ...] = ()
    fail_weight: float = 0.3
    hub: bool = False  # resolved from Tekton Hub rather than a namespaced Task
    build: bool = False  # may be OOMKilled

    @property
    def main_step(self) -> int:
        return max(range(len(self.steps)), key=lambda i: self.steps[i].median)


def _task(name: str, *steps: tuple[str, str, float, float], **kw: object) -> _Task:
    return _Task(name, tuple(_Step(*s) for s in steps), **kw)  # type: ignore[arg-type]


T = {
    t.name: t
    for t in (
        _task(
            "git-clone",
            ("clone", GIT_INIT, 6, 0.5),
            results=("commit", "url"),
            fail_weight=0.2,
            hub=True,
        ),
        _task(
            "golang-test", ("unit-test", GOLANG, 140, 0.45), results=("TEST_OUTPUT",), fail_weight=3
        ),
        _task("golangci-lint", ("lint", GOLANGCI, 55, 0.4), fail_weight=1.5),
        _task("python-lint", ("ruff", PYTHON, 6, 0.4), ("mypy", PYTHON, 45, 0.4), fail_weight=1.5),
        _task(
            "pytest",
            ("install-deps", PYTHON, 40, 0.4),
            ("pytest", PYTHON, 150, 0.5),
            results=("TEST_OUTPUT",),
            fail_weight=3,
        ),
        _task("npm-ci", ("npm-ci", NODE, 75, 0.4), fail_weight=0.4),
        _task("eslint", ("eslint", NODE, 35, 0.4), fail_weight=1.5),
        _task("jest", ("jest", NODE, 100, 0.45), results=("TEST_OUTPUT",), fail_weight=3),
        _task(
            "kaniko",
            ("build-and-push", KANIKO, 220, 0.5),
            ("write-url", BASH, 1, 0.3),
            results=("IMAGE_DIGEST", "IMAGE_URL"),
            fail_weight=1.5,
            hub=True,
            build=True,
        ),
        _task(
            "buildah",
            ("build", BUILDAH, 260, 0.5),
            ("push", BUILDAH, 35, 0.5),
            results=("IMAGE_DIGEST", "IMAGE_URL"),
            fail_weight=1.5,
            build=True,
        ),
        _task(
            "trivy-scanner",
            ("trivy-scan", TRIVY, 40, 0.6),
            results=("SCAN_OUTPUT",),
            fail_weight=1.2,
            hub=True,
        ),
        _task(
            "trivy-fs",
            ("scan-filesystem", TRIVY, 50, 0.5),
            results=("SCAN_OUTPUT",),
            fail_weight=1.2,
        ),
        _task("gitleaks", ("detect", GITLEAKS, 12, 0.5), fail_weight=0.8),
        _task("helm-upgrade-from-repo", ("upgrade", HELM, 45, 0.5), fail_weight=1, hub=True),
        _task("helm-uninstall", ("uninstall", HELM, 12, 0.4), fail_weight=0.2),
        _task(
            "argocd-task-sync-and-wait",
            ("login", ARGOCD, 3, 0.3),
            ("sync-and-wait", ARGOCD, 80, 0.5),
            fail_weight=1,
            hub=True,
        ),
        _task("cosign-sign", ("sign", COSIGN, 7, 0.4), fail_weight=0.3),
        _task(
            "integration-tests",
            ("setup", BASH, 12, 0.4),
            ("run-tests", GOLANG, 360, 0.45),
            results=("TEST_OUTPUT",),
            fail_weight=3,
        ),
        _task(
            "cypress-e2e",
            ("cypress-run", CYPRESS, 520, 0.4),
            results=("TEST_OUTPUT",),
            fail_weight=3,
        ),
        _task("send-to-webhook-slack", ("post", CURL, 2, 0.3), fail_weight=0.1, hub=True),
        _task("dbt-deps", ("deps", DBT, 18, 0.4), fail_weight=0.3),
        _task("dbt-run", ("run", DBT, 420, 0.6), fail_weight=2),
        _task("dbt-test", ("test", DBT, 150, 0.5), results=("TEST_OUTPUT",), fail_weight=2),
        _task("flyway-migrate", ("migrate", FLYWAY, 25, 0.5), fail_weight=1),
        _task(
            "pg-backup", ("pg-dump", POSTGRES, 240, 0.5), ("upload", AWSCLI, 40, 0.5), fail_weight=1
        ),
        _task("cleanup-previews", ("cleanup", KUBECTL, 14, 0.5), fail_weight=0.5),
        _task("skopeo-copy", ("copy", SKOPEO, 35, 0.6), fail_weight=1, hub=True),
    )
}

# A pipeline task's params: (name, run context key), or (name, "=literal").
_CLONE = (("url", "git-url"), ("revision", "git-revision"))
_IMAGE = (("IMAGE", "image-ref"), ("DOCKERFILE", "=./Dockerfile"), ("CONTEXT", "=."))
_DEPLOY = (
    ("release_name", "repo"),
    ("release_namespace", "deploy-namespace"),
    ("overwrite_values", "helm-values"),
)


@dataclass(frozen=True, slots=True)
class _PTask:
    name: str
    task: _Task
    params: tuple[tuple[str, str], ...] = ()
    when: tuple[str, str, tuple[str, ...]] | None = None  # (run context key, operator, values)
    retries: int = 0
    flaky: float = 0.0  # chance the first attempt fails and a retry succeeds
    hangs: bool = False  # a plausible task to hang until the pipeline's timeout


def _pt(name: str, task: str, params: tuple[tuple[str, str], ...] = (), **kw: object) -> _PTask:
    return _PTask(name, T[task], params, **kw)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class _Pipeline:
    name: str
    weight: float
    targets: tuple[tuple[str, str], ...]  # (namespace, repo)
    stages: tuple[tuple[_PTask, ...], ...]  # each stage runs after the previous one
    final: tuple[_PTask, ...]
    params: tuple[str, ...]  # run context keys passed as PipelineRun params
    trigger: str | None  # Tekton Triggers trigger name, or None for `tkn pipeline start`
    timeout: int = 3600
    fail_rate: float = 0.11


_MAIN = ("git-branch", "in", ("main",))

PIPELINES = (
    _Pipeline(
        "go-service-ci",
        20,
        (("payments", "payments-api"), ("payments", "ledger-service"), ("ci", "platform-tools")),
        (
            (_pt("fetch-source", "git-clone", _CLONE),),
            (_pt("unit-tests", "golang-test"), _pt("lint", "golangci-lint")),
            (_pt("build-image", "kaniko", _IMAGE, hangs=True),),
            (_pt("scan", "trivy-scanner", (("IMAGE", "image-ref"),)),),
            (_pt("deploy-staging", "helm-upgrade-from-repo", _DEPLOY, when=_MAIN, hangs=True),),
        ),
        (_pt("notify", "send-to-webhook-slack", (("message", "slack-message"),)),),
        ("git-url", "git-revision", "git-branch", "image"),
        "github-push",
    ),
    _Pipeline(
        "python-service-ci",
        14,
        (("data-platform", "ingestion-api"), ("ci", "release-bot")),
        (
            (_pt("fetch-source", "git-clone", _CLONE),),
            (_pt("lint", "python-lint"), _pt("unit-tests", "pytest")),
            (_pt("build-image", "buildah", _IMAGE, hangs=True),),
            (
                _pt(
                    "deploy",
                    "argocd-task-sync-and-wait",
                    (("application-name", "repo"),),
                    when=_MAIN,
                    hangs=True,
                ),
            ),
        ),
        (),
        ("git-url", "git-revision", "git-branch", "image"),
        "github-push",
    ),
    _Pipeline(
        "web-frontend-ci",
        18,
        (("web-frontend", "storefront"), ("web-frontend", "admin-portal")),
        (
            (_pt("git-clone", "git-clone", _CLONE),),
            (_pt("install", "npm-ci"),),
            (_pt("lint", "eslint"), _pt("unit-tests", "jest")),
            (_pt("build-image", "kaniko", _IMAGE, hangs=True),),
            (
                _pt(
                    "e2e-tests",
                    "cypress-e2e",
                    (("baseUrl", "=http://localhost:3000"),),
                    when=("run-e2e", "in", ("true",)),
                    retries=1,
                    flaky=0.08,
                    hangs=True,
                ),
            ),
        ),
        (),
        ("git-url", "git-revision", "git-branch", "image", "run-e2e"),
        "github-pull-request",
        fail_rate=0.13,
    ),
    _Pipeline(
        "preview-deploy",
        15,
        (("previews", "storefront"), ("previews", "payments-api"), ("previews", "admin-portal")),
        (
            (_pt("git-clone", "git-clone", _CLONE),),
            (_pt("build-image", "kaniko", _IMAGE, hangs=True),),
            (_pt("deploy-preview", "helm-upgrade-from-repo", _DEPLOY, hangs=True),),
            (
                _pt(
                    "smoke-tests",
                    "integration-tests",
                    (("target", "deploy-namespace"),),
                    when=("run-smoke", "in", ("true",)),
                    retries=1,
                    flaky=0.1,
                    hangs=True,
                ),
            ),
        ),
        (),
        ("git-url", "git-revision", "git-branch", "image", "preview-id", "run-smoke"),
        "github-pull-request",
        timeout=1800,
    ),
    _Pipeline(
        "release",
        5,
        (("ci", "payments-api"), ("ci", "storefront"), ("ci", "ingestion-api")),
        (
            (_pt("fetch-source", "git-clone", _CLONE),),
            (_pt("build-image", "buildah", _IMAGE, hangs=True),),
            (
                _pt("scan", "trivy-scanner", (("IMAGE", "image-ref"),)),
                _pt("sign", "cosign-sign", (("image", "image-ref"),)),
            ),
            (
                _pt(
                    "deploy-production",
                    "argocd-task-sync-and-wait",
                    (("application-name", "repo"),),
                    hangs=True,
                ),
            ),
        ),
        (_pt("notify", "send-to-webhook-slack", (("message", "slack-message"),)),),
        ("git-url", "git-revision", "version", "image"),
        None,
        timeout=7200,
        fail_rate=0.07,
    ),
    _Pipeline(
        "integration-suite",
        8,
        (("payments", "payments-api"), ("payments", "ledger-service")),
        (
            (_pt("fetch-source", "git-clone", _CLONE),),
            (_pt("deploy-test-env", "helm-upgrade-from-repo", _DEPLOY, hangs=True),),
            (
                _pt(
                    "integration-tests",
                    "integration-tests",
                    (("target", "deploy-namespace"),),
                    retries=2,
                    flaky=0.15,
                    hangs=True,
                ),
            ),
        ),
        (_pt("teardown", "helm-uninstall", (("release_name", "repo"),)),),
        ("git-url", "git-revision", "git-branch"),
        "github-push",
        fail_rate=0.14,
    ),
    _Pipeline(
        "dbt-nightly",
        3,
        (("data-platform", "warehouse-models"),),
        (
            (_pt("git-clone", "git-clone", _CLONE),),
            (_pt("deps", "dbt-deps"),),
            (_pt("run-models", "dbt-run", (("target", "=prod"),), hangs=True),),
            (_pt("test-models", "dbt-test", (("target", "=prod"),)),),
        ),
        (),
        ("git-url", "git-revision"),
        "nightly-cron",
        timeout=10800,
    ),
    _Pipeline(
        "security-scan",
        6,
        (("ci", "payments-api"), ("ci", "storefront"), ("ci", "platform-tools")),
        (
            (_pt("git-clone", "git-clone", _CLONE),),
            (_pt("dependency-scan", "trivy-fs", (("path", "=."),)), _pt("secret-scan", "gitleaks")),
        ),
        (),
        ("git-url", "git-revision", "git-branch"),
        "github-push",
        fail_rate=0.09,
    ),
)


@dataclass(frozen=True, slots=True)
class _Standalone:
    namespace: str
    repo: str
    task: _Task
    params: tuple[tuple[str, str], ...]
    weight: float
    timeout: int = 3600
    retries: int = 0


STANDALONE = (
    _Standalone(
        "payments",
        "payments-api",
        T["flyway-migrate"],
        (("target", "deploy-namespace"),),
        5,
        600,
        retries=1,
    ),
    _Standalone(
        "data-platform", "warehouse-models", T["pg-backup"], (("database", "=warehouse"),), 3, 1800
    ),
    _Standalone("previews", "storefront", T["cleanup-previews"], (("older-than", "=72h"),), 4, 600),
    _Standalone("ci", "platform-tools", T["git-clone"], _CLONE, 3),
    _Standalone(
        "ci",
        "platform-tools",
        T["skopeo-copy"],
        (("srcImageURL", "image-ref"), ("destImageURL", "mirror-ref")),
        3,
        900,
    ),
    _Standalone("ci", "release-bot", T["kaniko"], _IMAGE, 2),
    _Standalone("web-frontend", "admin-portal", T["jest"], (), 2),
)

TEAMS = {
    "payments-api": "payments",
    "ledger-service": "payments",
    "storefront": "web",
    "admin-portal": "web",
    "ingestion-api": "data",
    "warehouse-models": "data",
    "platform-tools": "platform",
    "release-bot": "platform",
}
SERVICE_ACCOUNTS = {
    "ci": "pipeline",
    "payments": "payments-ci",
    "web-frontend": "pipeline",
    "data-platform": "data-ci",
    "previews": "preview-deployer",
}
AUTHORS = (
    "alice",
    "bob",
    "chen",
    "dmitri",
    "esra",
    "farah",
    "goran",
    "hana",
    "ivan",
    "jules",
    "kofi",
    "lena",
    "mateo",
    "nia",
    "oskar",
    "priya",
)
FEATURES = (
    "fix-rounding",
    "retry-webhooks",
    "new-checkout",
    "bump-deps",
    "refactor-ledger",
    "dark-mode",
    "faster-ingest",
    "cache-layer",
    "audit-log",
    "i18n",
    "otel-tracing",
    "flaky-test",
    "schema-v2",
    "rate-limit",
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


def _hex(rng: random.Random, chars: int) -> str:
    return f"{rng.getrandbits(chars * 4):0{chars}x}"


def _suffix(n: int) -> str:
    out = []
    for _ in range(5):
        n, r = divmod(n, 27)
        out.append(_ALPHANUMS[r])
    return "".join(out)


def _duration(rng: random.Random, step: _Step) -> int:
    d = step.median * math.exp(step.sigma * rng.gauss(0.0, 1.0))
    return max(1, min(MAX_STEP_SECONDS, int(d + 0.5)))


def _resolve(params: tuple[tuple[str, str], ...], ctx: dict[str, str]) -> list[dict]:
    return [{"name": name, "value": src[1:] if src[0] == "=" else ctx[src]} for name, src in params]


def _task_ref(task: _Task) -> dict:
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
        step: _Step,
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

    def __init__(self, name: str, uid: str, task: _Task, created: int) -> None:
        self.name, self.uid, self.task, self.created = name, uid, task, created
        self.attempts: list[_Attempt] = []
        self.ptask: _PTask | None = None
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
    return f"containerd://{_hex(rng, 64)}"


def _attempt(
    rng: random.Random, task: _Task, start: int, pod: str, *, fail: bool = False, hang: bool = False
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


def _results(rng: random.Random, task: _Task, ctx: dict[str, str]) -> list[dict]:
    out = []
    for name in task.results:
        if name == "commit":
            value = ctx["git-revision"]
        elif name == "url":
            value = ctx["git-url"]
        elif name == "IMAGE_DIGEST":
            value = ctx.setdefault("image-digest", f"sha256:{_hex(rng, 64)}")
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
    sha = _hex(rng, 40)
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


def _when(ptask: _PTask, ctx: dict[str, str]) -> tuple[list[dict], bool]:
    key, op, values = ptask.when  # type: ignore[misc]
    value = ctx[key]
    passes = (value in values) == (op == "in")
    return [{"input": value, "operator": op, "values": list(values)}], passes


def _sim_pipelinerun(
    rng: random.Random, pl: _Pipeline, name: str, created: int
) -> _PipelineRunPlan:
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
    rng: random.Random, sa: _Standalone, name: str, created: int, *, healthy: bool = False
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


def _pr_labels(pl: _Pipeline, ctx: dict[str, str], event_id: str) -> dict:
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
    pvc = f"pvc-{_hex(rng, 10)}"
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
    sa: _Standalone,
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


# --------------------------------------------------------------------------------------------
# Step logs
# --------------------------------------------------------------------------------------------

GREEN, RED, YELLOW, CYAN, BOLD, DIM, RESET = (
    "\x1b[32m",
    "\x1b[31m",
    "\x1b[33m",
    "\x1b[36m",
    "\x1b[1m",
    "\x1b[2m",
    "\x1b[0m",
)

_GO_PKGS = (
    "internal/ledger",
    "internal/settlement",
    "internal/api",
    "internal/store",
    "internal/webhooks",
    "pkg/money",
    "pkg/retry",
    "cmd/server",
)
_GO_TESTS = (
    "TestSettlementRounding",
    "TestLedgerBalance",
    "TestWebhookRetry",
    "TestIdempotencyKey",
    "TestCurrencyConversion",
    "TestRefundFlow",
    "TestPagination",
    "TestRateLimiter",
    "TestStoreMigrations",
    "TestAuthMiddleware",
)
_PY_MODULES = (
    "test_ingest.py",
    "test_schema.py",
    "test_api.py",
    "test_batching.py",
    "test_s3_sink.py",
    "test_dedupe.py",
    "test_config.py",
)
_JS_SUITES = (
    "src/cart/Cart.test.tsx",
    "src/checkout/Payment.test.tsx",
    "src/components/Button.test.tsx",
    "src/hooks/useSession.test.ts",
    "src/pages/Orders.test.tsx",
    "src/utils/format.test.ts",
)


def _find_step(obj: dict, step_name: str) -> tuple[dict, list[dict]]:
    """The step named `step_name`, and the steps before it."""
    steps = (obj.get("status") or {}).get("steps") or []
    for i, step in enumerate(steps):
        if step.get("name") == step_name:
            return step, steps[:i]
    raise KeyError(
        f"{obj.get('kind', 'object')} {obj['metadata'].get('name')!r} has no step {step_name!r}"
    )


def _param(obj: dict, name: str, default: str = "") -> str:
    for p in (obj.get("spec") or {}).get("params") or ():
        if p.get("name") == name:
            return str(p.get("value"))
    return default


def _result(obj: dict, name: str, default: str = "") -> str:
    for r in (obj.get("status") or {}).get("results") or ():
        if r.get("name") == name:
            return str(r.get("value"))
    return default


def _epoch(ts: str | None) -> int:
    if not ts:
        return 0
    return int(datetime.strptime(ts, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp())


def demo_step_log(obj: dict, step_name: str) -> str:
    """A plausible log for step `step_name` of a TaskRun from `generate`: git, test, lint,
    build, scan or deploy output according to its Task, a failing test or error when the
    step exited non-zero, cut short when it was cancelled, timed out or is still running,
    and empty when it never ran. Deterministic; some tools' output carries ANSI colours.
    Raises KeyError for a step the TaskRun does not have."""
    step, before = _find_step(obj, step_name)
    term = step.get("terminated")
    if term is None and "running" not in step:
        return ""  # waiting: the container has not started
    if term is not None and (
        term.get("startedAt") is None or step.get("terminationReason") == "Skipped"
    ):
        return ""
    if any((s.get("terminated") or {}).get("reason") != "Completed" for s in before):
        return ""  # an earlier step is still running, or was stopped: this one never ran
    labels = obj["metadata"].get("labels") or {}
    task = labels.get("tekton.dev/task", "")
    rng = random.Random(f"{obj['metadata'].get('uid')}/{step_name}")
    started = _epoch((term or step["running"]).get("startedAt"))
    exit_code = term.get("exitCode", 0) if term else 0
    failed = bool(term) and exit_code != 0 and term.get("reason") in ("Error", "OOMKilled")
    interrupted = term is None or (exit_code != 0 and not failed)
    maker = _LOGS.get((task, step_name), _generic_log)
    lines = maker(rng, obj, step_name, started, failed, exit_code)
    if interrupted:  # still running, or killed by a cancel or timeout: output stops mid-way
        lines = lines[: max(1, int(len(lines) * rng.uniform(0.3, 0.8)))]
    return "\n".join(lines) + "\n"


def _zap(level: str, ts: float, caller: str, msg: str) -> str:
    """A line as Tekton's git-init (zap's JSON encoder) logs it."""
    return json.dumps(
        {"level": level, "ts": round(ts, 6), "caller": caller, "msg": msg}, separators=(",", ":")
    )


def _git_log(
    rng: random.Random, obj: dict, step: str, t: int, failed: bool, code: int
) -> list[str]:
    url = _param(obj, "url", "https://github.com/acme/app.git")
    rev = _param(obj, "revision", _hex(rng, 40))
    ts = t + rng.random()
    lines = [
        "+ '[' false = true ']'",
        "+ '[' false = true ']'",
        "+ CHECKOUT_DIR=/workspace/output/",
        "+ '[' true = true ']'",
        "+ cleandir",
        "+ '[' -d /workspace/output/ ']'",
        "+ rm -rf '/workspace/output/*'",
        "+ test -z ''",
        "+ test -z ''",
        "+ test -z ''",
        f"+ /ko-app/git-init -url={url} -revision={rev} -refspec= -path=/workspace/output/ "
        "-sslVerify=true -submodules=true -depth=1 -sparseCheckoutDirectories=",
    ]
    if failed:
        lines.append(
            _zap(
                "error",
                ts + 1.3,
                "git/git.go:53",
                (
                    "Error running git [fetch --recurse-submodules=yes --depth=1 origin "
                    f"--update-head-ok --force {rev}]: exit status 128\n"
                    "remote: Repository not found."
                    f"\nfatal: repository '{url.removesuffix('.git')}/' not found\n"
                ),
            )
        )
        lines.append(
            _zap(
                "fatal",
                ts + 1.3,
                "git-init/main.go:54",
                (f"Error fetching git repository: failed to fetch [{rev}]: exit status 128"),
            )
        )
        return lines
    took = rng.uniform(0.8, 9.0)
    lines += [
        _zap(
            "info",
            ts + took,
            "git/git.go:176",
            f"Successfully cloned {url} @ {rev} (grafted, HEAD) in path /workspace/output/",
        ),
        _zap(
            "info",
            ts + took + 0.05,
            "git/git.go:215",
            "Successfully initialized and updated submodules in path /workspace/output/",
        ),
        "+ cd /workspace/output/",
        "++ git rev-parse HEAD",
        f"+ RESULT_SHA={rev}",
        "+ EXIT_CODE=0",
        "+ '[' 0 '!=' 0 ']'",
        "++ git log -1 --pretty=%ct",
        f"+ RESULT_COMMITTER_DATE={t - rng.randint(60, 90000)}",
        f"+ printf '%s' {rev}",
        f"+ printf '%s' {url}",
    ]
    return lines


def _go_test_log(
    rng: random.Random, obj: dict, step: str, t: int, failed: bool, code: int
) -> list[str]:
    repo = (obj["metadata"].get("labels") or {}).get("repo", "app")
    mod = f"github.com/acme/{repo}"
    lines = [
        f"go: downloading {dep}"
        for dep in rng.sample(
            (
                "github.com/stretchr/testify v1.9.0",
                "github.com/jackc/pgx/v5 v5.5.5",
                "go.uber.org/zap v1.27.0",
                "github.com/google/uuid v1.6.0",
                "golang.org/x/sync v0.7.0",
                "github.com/prometheus/client_golang v1.19.0",
            ),
            4,
        )
    ]
    bad_pkg = rng.choice(_GO_PKGS) if failed else None
    for pkg in _GO_PKGS:
        if pkg == bad_pkg:
            test = rng.choice(_GO_TESTS)
            want = rng.randint(100, 99999)
            lines += [
                f"=== RUN   {test}",
                f"    {test.removeprefix('Test').lower()}_test.go:{rng.randint(20, 300)}: ",
                f"        \tError Trace:\t{test.removeprefix('Test').lower()}_test.go:88",
                f"        \tError:      \tNot equal: expected: {want}, actual  : {want - 1}",
                f"        \tTest:       \t{test}",
                f"--- FAIL: {test} ({rng.uniform(0, 0.5):.2f}s)",
                "FAIL",
                f"FAIL\t{mod}/{pkg}\t{rng.uniform(0.05, 4):.3f}s",
            ]
        elif rng.random() < 0.2:
            lines.append(f"?   \t{mod}/{pkg}\t[no test files]")
        else:
            lines.append(
                f"ok  \t{mod}/{pkg}\t{rng.uniform(0.02, 6):.3f}s\t"
                f"coverage: {rng.uniform(45, 92):.1f}% of statements"
            )
    if failed:
        lines.append("FAIL")
    return lines


def _pytest_log(
    rng: random.Random, obj: dict, step: str, t: int, failed: bool, code: int
) -> list[str]:
    if step == "install-deps":
        lines = [
            f"Collecting {p}"
            for p in (
                "fastapi==0.110.0",
                "pydantic==2.6.4",
                "boto3==1.34.69",
                "pytest==8.1.1",
                "httpx==0.27.0",
            )
        ]
        if failed:
            return [
                *lines,
                f"{RED}ERROR: Could not find a version that satisfies the "
                f"requirement internal-sdk==2.3.1 (from versions: none){RESET}",
                f"{RED}ERROR: No matching distribution found for internal-sdk==2.3.1{RESET}",
            ]
        return [
            *lines,
            "Installing collected packages: ...",
            f"Successfully installed {rng.randint(30, 80)} packages",
        ]
    n = rng.randint(120, 480)
    lines = [
        f"{BOLD}============================= test session starts "
        f"=============================={RESET}",
        "platform linux -- Python 3.11.8, pytest-8.1.1, pluggy-1.4.0",
        "rootdir: /workspace/source",
        "configfile: pyproject.toml",
        f"collected {n} items",
        "",
    ]
    bad = rng.choice(_PY_MODULES) if failed else None
    for mod in _PY_MODULES:
        dots = "".join(
            RED + "F" + RESET + GREEN if mod == bad and rng.random() < 0.1 else "."
            for _ in range(rng.randint(8, 40))
        )
        if mod == bad and "F" not in dots:
            dots += RED + "F" + RESET
        lines.append(f"tests/{mod} {GREEN}{dots}{RESET}{'':<4}[{rng.randint(1, 100):>3}%]")
    elapsed = rng.uniform(20, 200)
    if failed:
        test = f"test_{rng.choice(('dedupe_window', 'schema_evolution', 'retry_backoff'))}"
        lines += [
            "",
            f"{BOLD}{RED}=================================== FAILURES "
            f"==================================={RESET}",
            f"{RED}{BOLD}____________________ {test} ____________________{RESET}",
            "",
            f"    def {test}():",
            "        batch = make_batch(size=3)",
            f"{BOLD}{RED}>       assert dedupe(batch) == 2{RESET}",
            f"{BOLD}{RED}E       assert 3 == 2{RESET}",
            "",
            f"tests/{bad}:{rng.randint(10, 200)}: AssertionError",
            f"{BOLD}========================= short test summary info "
            f"=========================={RESET}",
            f"{RED}FAILED{RESET} tests/{bad}::{test} - assert 3 == 2",
            f"{RED}================== {RED}{BOLD}1 failed{RESET}, {GREEN}{n - 1} passed"
            f"{RESET}{RED} in {elapsed:.2f}s =================={RESET}",
        ]
    else:
        lines += [
            "",
            f"{GREEN}============================= {BOLD}{n} passed{RESET}{GREEN}"
            f" in {elapsed:.2f}s ============================={RESET}",
        ]
    return lines


def _lint_log(
    rng: random.Random, obj: dict, step: str, t: int, failed: bool, code: int
) -> list[str]:
    if step == "eslint":
        if not failed:
            return ["> storefront@0.1.0 lint", "> eslint . --max-warnings=0", ""]
        f = rng.choice(_JS_SUITES).replace(".test", "")
        return [
            "> storefront@0.1.0 lint",
            "> eslint . --max-warnings=0",
            "",
            f"{BOLD}/workspace/source/{f}{RESET}",
            f"  {DIM}{rng.randint(3, 120)}:{rng.randint(1, 40)}{RESET}  {RED}error{RESET}"
            f"  'session' is assigned a value but never used  "
            f"{DIM}@typescript-eslint/no-unused-vars{RESET}",
            f"  {DIM}{rng.randint(3, 120)}:{rng.randint(1, 40)}{RESET}  {YELLOW}warning"
            f"{RESET}  Unexpected console statement  {DIM}no-console{RESET}",
            "",
            f"{RED}{BOLD}✖ 2 problems (1 error, 1 warning){RESET}",
            "",
        ]
    if step == "ruff":
        if not failed:
            return ["All checks passed!"]
        return [
            f"{BOLD}src/ingest/batch.py{RESET}{CYAN}:{RESET}41{CYAN}:{RESET}5{CYAN}:{RESET}"
            f" {RED}{BOLD}F841{RESET} Local variable `started` is assigned to but never "
            "used",
            "Found 1 error.",
            "[*] 1 fixable with the `--fix` option.",
        ]
    if step == "mypy":
        if not failed:
            return [
                f"{GREEN}{BOLD}Success: no issues found in {rng.randint(40, 160)} source "
                f"files{RESET}"
            ]
        return [
            'src/ingest/sink.py:88: error: Argument 1 to "put" has incompatible type '
            '"bytes | None"; expected "bytes"  [arg-type]',
            f"{RED}{BOLD}Found 1 error in 1 file (checked {rng.randint(40, 160)} source "
            f"files){RESET}",
        ]
    # golangci-lint
    lines = [
        'level=info msg="[config_reader] Config search paths: [./ /workspace/source /]"',
        f'level=info msg="[lintersdb] Active {rng.randint(8, 20)} linters: [errcheck '
        'gosimple govet ineffassign staticcheck unused]"',
        f'level=info msg="[loader] Go packages loading at mode 575 took {rng.uniform(2, 30):.6f}s"',
        f'level=info msg="Execution took {rng.uniform(10, 60):.6f}s"',
    ]
    if failed:
        lines[3:3] = [
            f"internal/ledger/post.go:{rng.randint(10, 300)}:{rng.randint(2, 30)}: "
            "Error return value of `tx.Rollback` is not checked (errcheck)",
            "\tdefer tx.Rollback()",
            "\t            ^",
        ]
    return lines


def _jest_log(
    rng: random.Random, obj: dict, step: str, t: int, failed: bool, code: int
) -> list[str]:
    lines = ["> storefront@0.1.0 test", "> jest --ci --coverage", ""]
    bad = rng.choice(_JS_SUITES) if failed else None
    for suite in _JS_SUITES:
        if suite == bad:
            lines += [
                f"{RED}{BOLD} FAIL {RESET} {DIM}src/{RESET}{BOLD}{suite[4:]}{RESET}",
                f"  {RED}● {suite.rsplit('/', 1)[1].split('.')[0]} › renders the total{RESET}",
                "",
                "    expect(received).toBe(expected) // Object.is equality",
                "",
                f'    Expected: {GREEN}"€42.00"{RESET}',
                f'    Received: {RED}"€42"{RESET}',
                "",
            ]
        else:
            lines.append(
                f"{GREEN}{BOLD} PASS {RESET} {DIM}src/{RESET}{BOLD}{suite[4:]}{RESET}"
                f" ({rng.uniform(0.5, 9):.3f} s)"
            )
    n = rng.randint(80, 400)
    suites = len(_JS_SUITES)
    if failed:
        lines += [
            "",
            f"{BOLD}Test Suites: {RESET}{RED}{BOLD}1 failed{RESET}, {GREEN}{BOLD}"
            f"{suites - 1} passed{RESET}, {suites} total",
            f"{BOLD}Tests:       {RESET}{RED}{BOLD}1 failed{RESET}, {GREEN}{BOLD}{n - 1} "
            f"passed{RESET}, {n} total",
        ]
    else:
        lines += [
            "",
            f"{BOLD}Test Suites: {RESET}{GREEN}{BOLD}{suites} passed{RESET}, {suites} total",
            f"{BOLD}Tests:       {RESET}{GREEN}{BOLD}{n} passed{RESET}, {n} total",
        ]
    lines.append(f"{BOLD}Time:{RESET}        {rng.uniform(10, 120):.3f} s")
    return lines


def _npm_ci_log(
    rng: random.Random, obj: dict, step: str, t: int, failed: bool, code: int
) -> list[str]:
    if failed:
        return [
            "npm ERR! code ECONNRESET",
            "npm ERR! network aborted",
            "npm ERR! network This is a problem related to network connectivity.",
            "npm ERR! A complete log of this run can be found in: /root/.npm/_logs/debug-0.log",
        ]
    return [
        "npm WARN deprecated inflight@1.0.6: This module is not supported, and leaks memory.",
        "",
        f"added {rng.randint(900, 1900)} packages, and audited {rng.randint(1900, 2000)} "
        f"packages in {rng.randint(20, 120)}s",
        "",
        f"{rng.randint(150, 260)} packages are looking for funding",
        "  run `npm fund` for details",
        "",
        f"{rng.randint(0, 6)} moderate severity vulnerabilities",
    ]


def _kaniko_log(
    rng: random.Random, obj: dict, step: str, t: int, failed: bool, code: int
) -> list[str]:
    if step == "write-url":
        return [_param(obj, "IMAGE", "registry.acme.dev/app:latest")]
    image = _param(obj, "IMAGE", "registry.acme.dev/app:latest")
    digest = _result(obj, "IMAGE_DIGEST", f"sha256:{_hex(rng, 64)}")
    s = 0
    lines = []
    for msg in (
        "Retrieving image manifest golang:1.22-alpine",
        "Retrieving image golang:1.22-alpine from registry index.docker.io",
        "Built cross stage deps: map[0:[/out/server]]",
        "Executing 0 build triggers",
        "Building stage 'golang:1.22-alpine' [idx: '0']",
        "Unpacking rootfs as cmd COPY go.mod go.sum ./ requires it.",
        "COPY go.mod go.sum ./",
        "Taking snapshot of files...",
        "RUN go mod download",
        "Initializing snapshotter ...",
        "Taking snapshot of full filesystem...",
        "COPY . .",
        "RUN CGO_ENABLED=0 go build -trimpath -o /out/server ./cmd/server",
        "Taking snapshot of full filesystem...",
        "Retrieving image manifest gcr.io/distroless/static:nonroot",
        "COPY --from=build /out/server /server",
        "USER nonroot:nonroot",
        'ENTRYPOINT ["/server"]',
    ):
        s += rng.randint(0, 25)
        lines.append(f"{CYAN}INFO{RESET}[{s:04d}] {msg}")
    if failed:
        if code == 137:
            return lines[: rng.randint(9, 14)]
        lines.append(
            f"{RED}ERRO{RESET}[{s:04d}] error building image: error building stage: "
            "failed to execute command: waiting for process to exit: exit status 1"
        )
        return lines
    lines.append(f"{CYAN}INFO{RESET}[{s + 2:04d}] Pushing image to {image}")
    lines.append(
        f"{CYAN}INFO{RESET}[{s + rng.randint(5, 30):04d}] Pushed {image.rsplit(':', 1)[0]}@{digest}"
    )
    return lines


def _buildah_log(
    rng: random.Random, obj: dict, step: str, t: int, failed: bool, code: int
) -> list[str]:
    image = _param(obj, "IMAGE", "registry.acme.dev/app:latest")
    if step == "push":
        digest = _result(obj, "IMAGE_DIGEST", f"sha256:{_hex(rng, 64)}")
        if failed:
            return [
                f'Error: pushing image "{image}": writing blob: initiating layer upload '
                "to registry.acme.dev: unexpected status: 503 Service Unavailable"
            ]
        return [
            "Getting image source signatures",
            *(f"Copying blob sha256:{_hex(rng, 64)}" for _ in range(rng.randint(3, 6))),
            f"Copying config sha256:{_hex(rng, 64)}",
            "Writing manifest to image destination",
            digest,
        ]
    lines = [
        "STEP 1/9: FROM docker.io/library/python:3.11-slim AS build",
        "STEP 2/9: WORKDIR /app",
        "STEP 3/9: COPY requirements.txt .",
        "STEP 4/9: RUN pip install --no-cache-dir -r requirements.txt",
        f"Successfully installed {rng.randint(25, 70)} packages",
        "STEP 5/9: COPY . .",
        "STEP 6/9: RUN python -m compileall -q src",
        "STEP 7/9: USER 1001",
        "STEP 8/9: EXPOSE 8080",
        'STEP 9/9: CMD ["python", "-m", "ingest"]',
    ]
    if failed:
        if code == 137:
            return lines[:5]
        return [
            *lines[:4],
            "ERROR: Could not find a version that satisfies the requirement internal-sdk==2.3.1",
            'error building at STEP "RUN pip install '
            '--no-cache-dir -r requirements.txt": exit status 1',
        ]
    return [
        *lines,
        f"COMMIT {image}",
        f"--> {_hex(rng, 12)}",
        f"Successfully tagged {image}",
        _hex(rng, 64),
    ]


def _trivy_log(
    rng: random.Random, obj: dict, step: str, t: int, failed: bool, code: int
) -> list[str]:
    target = _param(obj, "IMAGE", "") or "/workspace/source"
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t))
    high = rng.randint(1, 3) if failed else 0
    crit = rng.randint(1, 2) if failed else 0
    ms = sorted(rng.sample(range(100, 1000), 3))
    lines = [
        f"{stamp}.{ms[0]}Z\t{CYAN}INFO{RESET}\tVulnerability scanning is enabled",
        f"{stamp}.{ms[1]}Z\t{CYAN}INFO{RESET}\tDetected OS: debian",
        f"{stamp}.{ms[2]}Z\t{CYAN}INFO{RESET}\tNumber of language-specific "
        f"files: {rng.randint(1, 4)}",
        "",
        f"{target} (debian 12.5)",
        "=" * 40,
        f"Total: {high + crit} (HIGH: {high}, CRITICAL: {crit})",
        "",
    ]
    if failed:
        lines += [
            "┌──────────┬────────────────┬──────────┬───────────────────┐",
            "│ Library  │ Vulnerability  │ Severity │ Installed Version │",
            "├──────────┼────────────────┼──────────┼───────────────────┤",
            f"│ openssl  │ CVE-2024-{rng.randint(1000, 9999)}  │ {RED}CRITICAL{RESET} │ "
            "3.0.11-1~deb12u2  │",
            f"│ libexpat │ CVE-2024-{rng.randint(1000, 9999)}  │ {YELLOW}HIGH{RESET}     "
            "│ 2.5.0-1           │",
            "└──────────┴────────────────┴──────────┴───────────────────┘",
        ]
    return lines


def _gitleaks_log(
    rng: random.Random, obj: dict, step: str, t: int, failed: bool, code: int
) -> list[str]:
    lines = [
        "",
        "    ○",
        "    │╲",
        "    │ ○",
        "    ○ ░",
        "    ░    gitleaks",
        "",
        f"{DIM}{time.strftime('%I:%M%p', time.gmtime(t))}{RESET} {GREEN}INF{RESET} "
        f"{rng.randint(1, 400)} commits scanned.",
        f"{DIM}{time.strftime('%I:%M%p', time.gmtime(t))}{RESET} {GREEN}INF{RESET} scan "
        f"completed in {rng.randint(200, 4000)}ms",
    ]
    if failed:
        lines.append(
            f"{DIM}{time.strftime('%I:%M%p', time.gmtime(t))}{RESET} {RED}WRN{RESET} leaks found: 1"
        )
    else:
        lines.append(
            f"{DIM}{time.strftime('%I:%M%p', time.gmtime(t))}{RESET} {GREEN}INF{RESET}"
            " no leaks found"
        )
    return lines


def _helm_log(
    rng: random.Random, obj: dict, step: str, t: int, failed: bool, code: int
) -> list[str]:
    release = _param(obj, "release_name", "app")
    ns = _param(obj, "release_namespace", "default")
    if step == "uninstall":
        return [f'release "{release}" uninstalled']
    lines = [
        f"history.go:56: [debug] getting history for release {release}",
        f"upgrade.go:164: [debug] preparing upgrade for {release}",
        f"upgrade.go:172: [debug] performing update for {release}",
        f"upgrade.go:344: [debug] waiting for release {release} resources (created: 0 "
        f"updated: {rng.randint(3, 9)}  deleted: 0)",
        "wait.go:48: [debug] beginning wait for 6 resources with timeout of 5m0s",
        f"ready.go:297: [debug] Deployment is not ready: {ns}/{release}. 0 out of 2 "
        "expected pods are ready",
    ]
    if failed:
        return [
            *lines,
            "Error: UPGRADE FAILED: context deadline exceeded",
            "helm.go:84: [debug] context deadline exceeded",
        ]
    stamp = time.strftime("%a %b %d %H:%M:%S %Y", time.gmtime(t))
    return [
        *lines,
        f'Release "{release}" has been upgraded. Happy Helming!',
        f"NAME: {release}",
        f"LAST DEPLOYED: {stamp}",
        f"NAMESPACE: {ns}",
        "STATUS: deployed",
        f"REVISION: {rng.randint(2, 400)}",
        "TEST SUITE: None",
    ]


def _argocd_log(
    rng: random.Random, obj: dict, step: str, t: int, failed: bool, code: int
) -> list[str]:
    app = _param(obj, "application-name", "app")
    if step == "login":
        return [
            "'admin:login' logged in successfully",
            "Context 'argocd-server.argocd.svc.cluster.local' updated",
        ]
    lines = [
        "TIMESTAMP                  GROUP        KIND   NAMESPACE   NAME    STATUS    "
        "HEALTH        HOOK  MESSAGE",
        f"{time.strftime('%Y-%m-%dT%H:%M:%S+00:00', time.gmtime(t))}  apps  Deployment  "
        f"{app}  {app}  OutOfSync  Healthy",
        "",
        f"Name:               argocd/{app}",
        f"Sync Revision:      {_hex(rng, 40)}",
    ]
    if failed:
        return [
            *lines,
            "Phase:              Failed",
            "Message:            one or more objects failed to apply, reason: "
            'Deployment.apps "' + app + '" is invalid: spec.template.spec.containers[0]'
            ".image: Required value",
            f"FATA[{rng.randint(30, 200):04d}] Operation has completed with phase: Failed",
        ]
    return [
        *lines,
        "Phase:              Succeeded",
        "Message:            successfully synced (all tasks run)",
        "",
        "Health Status:      Healthy",
    ]


def _integration_log(
    rng: random.Random, obj: dict, step: str, t: int, failed: bool, code: int
) -> list[str]:
    if step == "setup":
        target = _param(obj, "target", "staging")
        lines = [f"waiting for deployment in {target} to become ready..."]
        if failed:
            return [
                *lines,
                f"{RED}error: timed out waiting for the condition on deployments/api{RESET}",
            ]
        return [
            *lines,
            'deployment "api" successfully rolled out',
            "seeding test data: "
            f"{rng.randint(20, 200)} accounts, {rng.randint(100, 5000)} transactions",
        ]
    return _go_test_log(rng, obj, step, t, failed, code)


def _cypress_log(
    rng: random.Random, obj: dict, step: str, t: int, failed: bool, code: int
) -> list[str]:
    specs = ("checkout.cy.ts", "login.cy.ts", "search.cy.ts", "orders.cy.ts")
    bad = rng.choice(specs) if failed else None
    lines = [
        "",
        "=" * 80,
        "",
        "  (Run Starting)",
        "",
        "  │ Cypress:        13.7.1",
        "  │ Browser:        Electron 118 (headless)",
        f"  │ Specs:          {len(specs)} found ({', '.join(specs)})",
        "",
    ]
    for spec in specs:
        lines += [f"  Running:  {spec}", ""]
        if spec == bad:
            lines += [
                f"    {RED}1) adds an item and pays{RESET}",
                "",
                f"  {GREEN}{rng.randint(2, 9)} passing{RESET}",
                f"  {RED}1 failing{RESET}",
                "",
                f"  1) {spec}",
                "       adds an item and pays:",
                f"     {RED}AssertionError: Timed out retrying after 4000ms: Expected to "
                f"find element: `[data-test=order-confirmation]`, but never found it."
                f"{RESET}",
                "",
            ]
        else:
            lines += [
                f"  {GREEN}✓{RESET} {DIM}renders ({rng.randint(100, 3000)}ms){RESET}",
                f"  {GREEN}{rng.randint(2, 12)} passing{RESET}",
                "",
            ]
    lines.append(
        f"  {RED}✖  1 of {len(specs)} failed{RESET}"
        if failed
        else f"  {GREEN}✔  All specs passed!{RESET}"
    )
    return lines


def _dbt_log(
    rng: random.Random, obj: dict, step: str, t: int, failed: bool, code: int
) -> list[str]:
    def at(k: int) -> str:
        return time.strftime("%H:%M:%S", time.gmtime(t + k))

    lines = [f"{at(0)}  Running with dbt=1.7.4", f"{at(1)}  Registered adapter: postgres=1.7.4"]
    if step == "deps":
        return [
            *lines,
            f"{at(2)}  Installing dbt-labs/dbt_utils",
            f"{at(4)}  Installed from version 1.1.1",
            f"{at(4)}  Up to date!",
        ]
    models = rng.randint(30, 140)
    lines.append(f"{at(2)}  Found {models} models, {rng.randint(50, 300)} tests, 12 sources")
    lines.append(f"{at(3)}  Concurrency: 8 threads (target='prod')")
    k = 3
    for i in range(1, 9):
        k += rng.randint(1, 30)
        verb = "table model" if step == "run" else "test"
        lines.append(
            f"{at(k)}  {i} of {models} OK created sql {verb} analytics.fct_orders_{i}"
            f" {'.' * 20} [{GREEN}SELECT {rng.randint(100, 900000)}{RESET} in "
            f"{rng.uniform(0.2, 60):.2f}s]"
        )
    if failed:
        lines += [
            f"{at(k + 1)}  {RED}Failure in test not_null_fct_orders_customer_id{RESET}",
            f"{at(k + 1)}    Got {rng.randint(1, 90)} results, configured to fail if != 0",
            f"{at(k + 2)}  Done. PASS={models - 1} WARN=0 {RED}ERROR=1{RESET} SKIP=0 "
            f"TOTAL={models}",
        ]
    else:
        lines += [
            f"{at(k + 1)}  {GREEN}Completed successfully{RESET}",
            f"{at(k + 2)}  Done. PASS={models} WARN=0 ERROR=0 SKIP=0 TOTAL={models}",
        ]
    return lines


def _generic_log(
    rng: random.Random, obj: dict, step: str, t: int, failed: bool, code: int
) -> list[str]:
    task = (obj["metadata"].get("labels") or {}).get("tekton.dev/task", "task")
    lines = [f"+ {task} {step}"]
    samples = {
        "migrate": [
            "Flyway Community Edition 10.10.0 by Redgate",
            "Successfully validated 42 migrations (execution time 00:00.081s)",
            'Current version of schema "public": 41',
            'Migrating schema "public" to version "42 - add refund reason"',
        ],
        "pg-dump": [
            'pg_dump: dumping contents of table "public.events"',
            'pg_dump: dumping contents of table "public.orders"',
        ],
        "upload": ["upload: ./warehouse.dump to s3://acme-backups/warehouse/warehouse.dump"],
        "cleanup": [
            'namespace "storefront-pr-1812" deleted',
            'namespace "payments-api-pr-377" deleted',
        ],
        "copy": [
            "Getting image source signatures",
            "Copying blob sha256:" + _hex(rng, 64),
            "Writing manifest to image destination",
        ],
        "sign": ["Pushing signature to: registry.acme.dev/" + _hex(rng, 8)],
        "post": ['{"ok":true}'],
    }
    lines += samples.get(step, [f"{step}: working ({rng.randint(1, 100)} items)"])
    if failed:
        lines.append(f"{RED}error: {step} failed with exit code {code}{RESET}")
    else:
        lines.append(f"{GREEN}done{RESET}")
    return lines


_LOGS = {
    ("git-clone", "clone"): _git_log,
    ("golang-test", "unit-test"): _go_test_log,
    ("golangci-lint", "lint"): _lint_log,
    ("python-lint", "ruff"): _lint_log,
    ("python-lint", "mypy"): _lint_log,
    ("eslint", "eslint"): _lint_log,
    ("pytest", "install-deps"): _pytest_log,
    ("pytest", "pytest"): _pytest_log,
    ("npm-ci", "npm-ci"): _npm_ci_log,
    ("jest", "jest"): _jest_log,
    ("kaniko", "build-and-push"): _kaniko_log,
    ("kaniko", "write-url"): _kaniko_log,
    ("buildah", "build"): _buildah_log,
    ("buildah", "push"): _buildah_log,
    ("trivy-scanner", "trivy-scan"): _trivy_log,
    ("trivy-fs", "scan-filesystem"): _trivy_log,
    ("gitleaks", "detect"): _gitleaks_log,
    ("helm-upgrade-from-repo", "upgrade"): _helm_log,
    ("helm-uninstall", "uninstall"): _helm_log,
    ("argocd-task-sync-and-wait", "login"): _argocd_log,
    ("argocd-task-sync-and-wait", "sync-and-wait"): _argocd_log,
    ("integration-tests", "setup"): _integration_log,
    ("integration-tests", "run-tests"): _integration_log,
    ("cypress-e2e", "cypress-run"): _cypress_log,
    ("dbt-deps", "deps"): _dbt_log,
    ("dbt-run", "run"): _dbt_log,
    ("dbt-test", "test"): _dbt_log,
}

"""The demo's catalog: the container images, Tasks (with their steps' typical durations),
Pipelines, standalone TaskRuns, teams and people that the simulation draws its runs from.

Data only: what exists, not what happened (runlake.demo.simulate decides that).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


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
class Step:
    name: str
    image_id: str
    median: float  # seconds
    sigma: float  # of the log-normal


@dataclass(frozen=True, slots=True)
class Task:
    name: str
    steps: tuple[Step, ...]
    results: tuple[str, ...] = ()
    fail_weight: float = 0.3
    hub: bool = False  # resolved from Tekton Hub rather than a namespaced Task
    build: bool = False  # may be OOMKilled

    @property
    def main_step(self) -> int:
        return max(range(len(self.steps)), key=lambda i: self.steps[i].median)


def _task(name: str, *steps: tuple[str, str, float, float], **kw: object) -> Task:
    return Task(name, tuple(Step(*s) for s in steps), **kw)  # type: ignore[arg-type]


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


# CPU each step of a Task requests (Kubernetes quantities); Tasks not listed request none, so
# their pods get the namespace's LimitRange default, which no object records.
STEP_CPU = {
    "git-clone": "250m",
    "golang-test": "2",
    "golangci-lint": "1",
    "python-lint": "500m",
    "pytest": "1",
    "npm-ci": "1",
    "eslint": "500m",
    "jest": "1",
    "kaniko": "2",
    "buildah": "2",
    "trivy-scanner": "500m",
    "trivy-fs": "500m",
    "integration-tests": "1",
    "cypress-e2e": "2",
    "dbt-run": "1",
    "dbt-test": "1",
    "pg-backup": "500m",
}


@dataclass(frozen=True, slots=True)
class PipelineTask:
    name: str
    task: Task
    params: tuple[tuple[str, str], ...] = ()
    when: tuple[str, str, tuple[str, ...]] | None = None  # (run context key, operator, values)
    retries: int = 0
    flaky: float = 0.0  # chance the first attempt fails and a retry succeeds
    hangs: bool = False  # a plausible task to hang until the pipeline's timeout


def _pt(
    name: str, task: str, params: tuple[tuple[str, str], ...] = (), **kw: object
) -> PipelineTask:
    return PipelineTask(name, T[task], params, **kw)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Pipeline:
    name: str
    weight: float
    targets: tuple[tuple[str, str], ...]  # (namespace, repo)
    stages: tuple[tuple[PipelineTask, ...], ...]  # each stage runs after the previous one
    final: tuple[PipelineTask, ...]
    params: tuple[str, ...]  # run context keys passed as PipelineRun params
    trigger: str | None  # Tekton Triggers trigger name, or None for `tkn pipeline start`
    timeout: int = 3600
    fail_rate: float = 0.11


_MAIN = ("git-branch", "in", ("main",))

PIPELINES = (
    Pipeline(
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
    Pipeline(
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
    Pipeline(
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
    Pipeline(
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
    Pipeline(
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
    Pipeline(
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
    Pipeline(
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
    Pipeline(
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
class Standalone:
    namespace: str
    repo: str
    task: Task
    params: tuple[tuple[str, str], ...]
    weight: float
    timeout: int = 3600
    retries: int = 0


STANDALONE = (
    Standalone(
        "payments",
        "payments-api",
        T["flyway-migrate"],
        (("target", "deploy-namespace"),),
        5,
        600,
        retries=1,
    ),
    Standalone(
        "data-platform", "warehouse-models", T["pg-backup"], (("database", "=warehouse"),), 3, 1800
    ),
    Standalone("previews", "storefront", T["cleanup-previews"], (("older-than", "=72h"),), 4, 600),
    Standalone("ci", "platform-tools", T["git-clone"], _CLONE, 3),
    Standalone(
        "ci",
        "platform-tools",
        T["skopeo-copy"],
        (("srcImageURL", "image-ref"), ("destImageURL", "mirror-ref")),
        3,
        900,
    ),
    Standalone("ci", "release-bot", T["kaniko"], _IMAGE, 2),
    Standalone("web-frontend", "admin-portal", T["jest"], (), 2),
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

"""The insight views through SQL (what `runlake sql` and POST /v1/sql run) over the crafted
history of tests/helpers/insight_history.py, where every answer is known by hand, and over
the real Tekton fixtures.

Objects go in the way ingest and `runlake import` store them (normalize -> Parquet), so
each test is a round trip: Tekton object -> store -> DuckDB views -> the number."""

from __future__ import annotations

import copy

import pytest

from ingest.archive import import_document, import_objects
from layout.store import Store
from query.engine import Engine
from query.scope import ANY, Readable
from query.views import VIEWS
from tests.helpers.insight_history import (
    crafted_history,
    data_runs,
    pipelinerun,
    shop_runs,
    store_crafted_logs,
    taskrun,
)
from tests.helpers.tekton import fixture_files, fixture_object


def _engine(store: Store, objects: list[dict]) -> Engine:
    import_objects(store, objects)
    return Engine(store)


@pytest.fixture(scope="module")
def crafted(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    from layout.store import LocalStore

    store = LocalStore(str(tmp_path_factory.mktemp("insights") / "store"))
    store_crafted_logs(store)
    return _engine(store, crafted_history())


def _rows(engine: Engine, sql: str, readable: Readable | None = None) -> list[dict]:
    result = engine.sql(sql, limit=10_000, readable=readable)
    return [dict(zip(result.columns, row, strict=True)) for row in result.rows]


def test_insight_views_retries_one_row_per_attempt(crafted: Engine) -> None:
    rows = _rows(
        crafted,
        "SELECT uid, attempt, attempts, final, status, reason, started_at, duration_seconds, "
        "pod_name FROM retries WHERE uid = 'pr-a3-lint' ORDER BY attempt",
    )
    # The first attempt (415..420 s) failed and moved to retriesStatus; the retry passed.
    assert rows == [
        {
            "uid": "pr-a3-lint",
            "attempt": 0,
            "attempts": 2,
            "final": False,
            "status": "Failed",
            "reason": "Failed",
            "started_at": "2026-03-02T10:06:55Z",
            "duration_seconds": 5.0,
            "pod_name": "diamond-pr-a3-lint-pod-retry0",
        },
        {
            "uid": "pr-a3-lint",
            "attempt": 1,
            "attempts": 2,
            "final": True,
            "status": "Succeeded",
            "reason": "Succeeded",
            "started_at": "2026-03-02T10:07:02Z",
            "duration_seconds": 8.0,
            "pod_name": "diamond-pr-a3-lint-pod",
        },
    ]
    # Every other TaskRun has its one, final attempt.
    counts = _rows(crafted, "SELECT count(*) AS n, count(DISTINCT uid) AS runs FROM retries")
    taskruns = _rows(crafted, "SELECT count(*) AS n FROM taskruns")[0]["n"]
    assert counts == [{"n": taskruns + 1, "runs": taskruns}]


def test_insight_views_flaky_tasks_count_retries_and_flips(crafted: Engine) -> None:
    rows = _rows(
        crafted,
        "SELECT pipeline_task, task, runs, failures, passed_on_retry, flips, inputs, flip_rate, "
        "failure_rate, newest_flaky_uids FROM flaky_tasks ORDER BY pipeline_task",
    )
    by_task = {row.pop("pipeline_task"): row for row in rows}
    # test: commit aaa passed (pr-a1), failed (pr-a2), passed (pr-a3): one flip of 2 inputs.
    assert by_task["test"] == {
        "task": "go-test",
        "runs": 4,
        "failures": 1,
        "passed_on_retry": 0,
        "flips": 1,
        "inputs": 2,
        "flip_rate": 0.5,
        "failure_rate": 0.25,
        "newest_flaky_uids": ["pr-a3-test", "pr-a2-test", "pr-a1-test"],
    }
    # lint: never failed in the end, once only after a retry.
    assert by_task["lint"]["passed_on_retry"] == 1
    assert by_task["lint"]["failures"] == 0 and by_task["lint"]["flips"] == 0
    assert by_task["lint"]["newest_flaky_uids"] == ["pr-a3-lint"]
    # build never ran in pr-a2 (its dependency failed): 3 runs, nothing flaky.
    assert by_task["build"]["runs"] == 3 and by_task["build"]["newest_flaky_uids"] is None
    assert set(by_task) == {"fetch", "test", "lint", "build", "notify"}


@pytest.mark.parametrize(
    ("labels", "annotations", "params", "same"),
    [
        # the Pipelines-as-Code sha decides, whatever the params say
        ({"pipelinesascode.tekton.dev/sha": "c0ffee"}, {}, ["x", "y"], True),
        ({}, {"pipelinesascode.tekton.dev/sha": "c0ffee"}, ["x", "y"], True),
        # else a revision-like param (git-revision here), whatever the other params
        ({}, {}, ["aaa", "aaa"], True),
        ({}, {}, ["aaa", "bbb"], False),
    ],
)
def test_insight_views_same_input_is_decided_by_sha_then_revision(
    local_store, labels, annotations, params, same
) -> None:
    objects = []
    for n, (revision, outcome) in enumerate(zip(params, ("Succeeded", "Failed"), strict=True)):
        run = pipelinerun(f"pr-{n}", revision, 1000 * n, 1000 * n + 100, outcome)
        run["metadata"]["labels"].update(labels)
        run["metadata"].setdefault("annotations", {}).update(annotations)
        run["spec"]["params"][0]["value"] = f"https://git.example/{n}.git"  # differs each run
        objects += [run, taskrun(run, "test", 1000 * n + 3, 1000 * n + 90, status=outcome)]
    engine = _engine(local_store, objects)
    assert _rows(engine, "SELECT flips FROM flaky_tasks") == [{"flips": 1 if same else 0}]


def test_insight_views_same_input_falls_back_to_the_params_hash(local_store) -> None:
    objects = []
    for n, (params, outcome) in enumerate(
        [
            ([{"name": "image", "value": "a"}, {"name": "env", "value": "prod"}], "Succeeded"),
            ([{"name": "env", "value": "prod"}, {"name": "image", "value": "a"}], "Failed"),
            ([{"name": "image", "value": "b"}, {"name": "env", "value": "prod"}], "Failed"),
            ([], "Succeeded"),  # no params: no known input, never a flip
            ([], "Failed"),
        ]
    ):
        run = pipelinerun(f"pr-{n}", "", 1000 * n, 1000 * n + 100, outcome)
        run["spec"]["params"] = params
        objects += [run, taskrun(run, "test", 1000 * n + 3, 1000 * n + 90, status=outcome)]
    engine = _engine(local_store, objects)
    # The same params in another order are the same input: runs 0 and 1 flipped.
    assert _rows(engine, "SELECT runs, failures, flips, inputs FROM flaky_tasks") == [
        {"runs": 5, "failures": 3, "flips": 1, "inputs": 2}
    ]


def test_insight_views_queue_times_known(crafted: Engine) -> None:
    rows = _rows(
        crafted,
        "SELECT uid, kind, queued_seconds, pod_pending_seconds FROM queue_times "
        "WHERE uid IN ('pr-a1', 'pr-a1-test', 'pr-a3-lint', 'etl-1') ORDER BY created_at",
    )
    assert rows == [
        # every PipelineRun starts 3 s after it was created
        {"uid": "pr-a1", "kind": "PipelineRun", "queued_seconds": 3.0, "pod_pending_seconds": None},
        # a TaskRun starts 1 s after creation; this one's first step 3 s after that
        {"uid": "pr-a1-test", "kind": "TaskRun", "queued_seconds": 1.0, "pod_pending_seconds": 3.0},
        # retried: queued until its first attempt started, the pod of its last attempt 2 s
        {"uid": "pr-a3-lint", "kind": "TaskRun", "queued_seconds": 1.0, "pod_pending_seconds": 2.0},
        # no steps listed: no pod time known
        {"uid": "etl-1", "kind": "TaskRun", "queued_seconds": 10.0, "pod_pending_seconds": None},
    ]


def test_insight_views_critical_path_of_the_diamond(crafted: Engine) -> None:
    rows = _rows(
        crafted,
        "SELECT pipeline_run, list(pipeline_task ORDER BY position) AS path, "
        "list(duration_seconds ORDER BY position) AS seconds, any_value(wall_seconds) AS wall "
        "FROM critical_path GROUP BY ALL ORDER BY pipeline_run",
    )
    assert rows == [
        # build waits for lint (runAfter) and test (its result): test ended later
        {
            "pipeline_run": "pr-a1",
            "path": ["fetch", "test", "build", "notify"],
            "seconds": [10.0, 60.0, 24.0, 7.0],
            "wall": 107.0,
        },
        # build never ran: the finally task waited for test, which ended after lint
        {
            "pipeline_run": "pr-a2",
            "path": ["fetch", "test", "notify"],
            "seconds": [10.0, 25.0, 4.0],
            "wall": 44.0,
        },
        # lint's two attempts count from the first one's start
        {
            "pipeline_run": "pr-a3",
            "path": ["fetch", "test", "build", "notify"],
            "seconds": [10.0, 55.0, 24.0, 4.0],
            "wall": 98.0,
        },
        {
            "pipeline_run": "pr-b1",
            "path": ["fetch", "lint", "build", "notify"],
            "seconds": [10.0, 75.0, 29.0, 7.0],
            "wall": 127.0,
        },
    ]
    finals = _rows(crafted, "SELECT DISTINCT pipeline_task FROM critical_path WHERE final")
    assert finals == [{"pipeline_task": "notify"}]


def test_insight_views_usage_cpu_hours_from_requests(crafted: Engine) -> None:
    rows = _rows(
        crafted,
        "SELECT uid, day, attempts, taskrun_seconds, cpu_cores, round(cpu_hours, 6) AS cpu_hours "
        "FROM usage WHERE uid LIKE 'etl-_' OR uid IN ('pr-a1-test', 'pr-a3-lint', 'pr-b1-notify') "
        "ORDER BY uid",
    )
    assert rows == [
        # task-level computeResources: 2 cores whatever the steps ask; 1800 s -> 1 CPU-hour
        {"uid": "etl-1", "day": "2026-03-02", "attempts": 1, "taskrun_seconds": 1800.0,
         "cpu_cores": 2.0, "cpu_hours": 1.0},
        # v1beta1 step `resources`: 1 + 1, plus a 100m sidecar
        {"uid": "etl-2", "day": "2026-03-02", "attempts": 1, "taskrun_seconds": 900.0,
         "cpu_cores": 2.1, "cpu_hours": 0.525},
        # stepSpecs replace the run step's 250m by 1500m
        {"uid": "etl-3", "day": "2026-03-02", "attempts": 1, "taskrun_seconds": 360.0,
         "cpu_cores": 1.75, "cpu_hours": 0.175},
        # no request anywhere: time known, CPU not
        {"uid": "etl-4", "day": "2026-03-02", "attempts": 1, "taskrun_seconds": 90.0,
         "cpu_cores": None, "cpu_hours": None},
        # two steps of 1 core each, 60 s
        {"uid": "pr-a1-test", "day": "2026-03-02", "attempts": 1, "taskrun_seconds": 60.0,
         "cpu_cores": 2.0, "cpu_hours": round(2 * 60 / 3600, 6)},
        # both attempts ran a pod: 5 s + 8 s at 500m
        {"uid": "pr-a3-lint", "day": "2026-03-02", "attempts": 2, "taskrun_seconds": 13.0,
         "cpu_cores": 0.5, "cpu_hours": round(0.5 * 13 / 3600, 6)},
        {"uid": "pr-b1-notify", "day": "2026-03-02", "attempts": 1, "taskrun_seconds": 7.0,
         "cpu_cores": None, "cpu_hours": None},
    ]  # fmt: skip
    per_namespace = _rows(
        crafted,
        "SELECT namespace, sum(taskrun_seconds) AS seconds FROM usage GROUP BY 1 ORDER BY 1",
    )
    # data: 1800 + 900 + 360 + 90 + 2 x 90 (failures) + 40 (cancelled)
    assert per_namespace[0] == {"namespace": "data", "seconds": 3370.0}


def test_insight_views_step_failures_with_first_error_line(store: Store) -> None:
    store_crafted_logs(store)
    engine = _engine(store, crafted_history())
    rows = _rows(
        engine,
        "SELECT namespace, task, step, exit_code, failures, newest_uid, newest_uids, "
        "first_error_line FROM step_failures ORDER BY namespace",
    )
    assert rows == [
        # the cancelled run's killed step is no failure
        {
            "namespace": "data",
            "task": "dbt-run",
            "step": "run",
            "exit_code": 1,
            "failures": 2,
            "newest_uid": "etl-fail-2",
            "newest_uids": ["etl-fail-2", "etl-fail-1"],
            "first_error_line": "Database Error in model orders",
        },
        # the step skipped after the failure (exit 1, terminationReason Skipped) is none either;
        # the log's colour codes are gone from its line
        {
            "namespace": "shop",
            "task": "go-test",
            "step": "run",
            "exit_code": 2,
            "failures": 1,
            "newest_uid": "pr-a2-test",
            "newest_uids": ["pr-a2-test"],
            "first_error_line": "--- FAIL: TestCheckout (0.01s)",
        },
    ]


def test_insight_views_step_failures_without_a_stored_log(local_store) -> None:
    engine = _engine(local_store, data_runs())
    assert _rows(engine, "SELECT failures, first_error_line FROM step_failures") == [
        {"failures": 2, "first_error_line": None}
    ]


def test_insight_views_confined_token_sees_only_its_namespaces(crafted: Engine) -> None:
    data = Readable(frozenset({(ANY, "data")}))
    for view in ("retries", "flaky_tasks", "queue_times", "critical_path", "usage"):
        seen = _rows(crafted, f"SELECT DISTINCT namespace FROM {view}", readable=data)
        assert seen in ([], [{"namespace": "data"}]), view
    assert _rows(crafted, "SELECT count(*) AS n FROM critical_path", readable=data) == [{"n": 0}]
    assert _rows(crafted, "SELECT count(*) AS n FROM flaky_tasks", readable=data) == [{"n": 0}]
    failures = _rows(crafted, "SELECT newest_uid FROM step_failures", readable=data)
    assert failures == [{"newest_uid": "etl-fail-2"}]
    # the internal views behind them are not for user SQL
    assert "_task_outcomes" not in VIEWS


def test_insight_views_link_taskruns_by_name_without_owner_or_uid_label(local_store) -> None:
    objects = copy.deepcopy(shop_runs()[:6])  # pr-a1 and its TaskRuns
    for obj in objects[1:]:
        del obj["metadata"]["ownerReferences"]
    engine = _engine(local_store, objects)
    path = _rows(engine, "SELECT list(pipeline_task ORDER BY position) AS p FROM critical_path")
    assert path == [{"p": ["fetch", "test", "build", "notify"]}]


# -- the real fixtures ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    from layout.store import LocalStore

    store = LocalStore(str(tmp_path_factory.mktemp("fixtures") / "store"))
    for path in fixture_files():
        import_document(store, fixture_object(path.name))
    return Engine(store)


def _path(engine: Engine, run_name: str) -> list[tuple[str, float]]:
    rows = _rows(
        engine,
        "SELECT pipeline_task, duration_seconds FROM critical_path "
        f"WHERE pipeline_run_name = '{run_name}' ORDER BY position",
    )
    return [(r["pipeline_task"], r["duration_seconds"]) for r in rows]


def test_insight_views_critical_path_of_real_pipelineruns(fixtures: Engine) -> None:
    # 003 embeds its TaskRuns' status (v1beta1); 004-006 are three of them archived on their
    # own, which win where they exist: the path has all five, finally task last.
    assert _path(fixtures, "nodejs-builder-2022-04-12-002742") == [
        ("appstudio-init", 6.0),
        ("git-clone", 9.0),
        ("appstudio-configure-build", 8.0),
        ("build-container", 57.0),
        ("show-summary", 6.0),
    ]
    archived = _rows(
        fixtures,
        "SELECT pipeline_task FROM critical_path WHERE taskrun_uid IS NOT NULL "
        "AND pipeline_run_name = 'nodejs-builder-2022-04-12-002742' ORDER BY position",
    )
    assert [r["pipeline_task"] for r in archived] == [
        "git-clone",
        "build-container",
        "show-summary",
    ]
    # 031: prefetch-dependencies was skipped; build-container waited for clone-repository
    # through it; of the two finally tasks show-summary ended last.
    assert _path(fixtures, "devfile-sample-go-basic-a8bq-llf8v") == [
        ("init", 6.0),
        ("clone-repository", 13.0),
        ("build-container", 141.0),
        ("show-summary", 7.0),
    ]
    # 024: everything after appstudio-init was skipped by when expressions.
    assert _path(fixtures, "python-sample-942fq") == [
        ("appstudio-init", 10.0),
        ("show-summary", 9.0),
    ]
    # 025 timed out in clone-repository: still its path, to the finally task.
    assert [t for t, _ in _path(fixtures, "go-sample-s2f4f")] == [
        "appstudio-init",
        "clone-repository",
        "show-summary",
    ]
    # 030 lists only childReferences and none of its TaskRuns is archived: no path.
    assert _path(fixtures, "human-resources-on-push-z79cl") == []


def test_insight_views_on_real_taskruns(fixtures: Engine) -> None:
    # No fixture was retried: every TaskRun is its one final attempt.
    assert _rows(fixtures, "SELECT DISTINCT attempt, final FROM retries") == [
        {"attempt": 0, "final": True}
    ]
    # print-date's steps have computeResources {}: its time counts, its CPU is unknown.
    assert _rows(
        fixtures,
        "SELECT taskrun_seconds, cpu_cores, cpu_hours FROM usage WHERE name = 'print-date-q4hv8'",
    ) == [{"taskrun_seconds": 12.0, "cpu_cores": None, "cpu_hours": None}]
    # 009 exited 2 in build-build; 012 1 in build-and-push (a TaskRun without a task label
    # counts under its pipeline task).
    failures = _rows(
        fixtures, "SELECT task, step, exit_code, failures FROM step_failures ORDER BY step"
    )
    assert failures == [
        {"task": "build-skaffold-app", "step": "build-and-push", "exit_code": 1, "failures": 1},
        {"task": None, "step": "build-build", "exit_code": 2, "failures": 1},
    ]
    # The build-container TaskRun (004) started 6 s before its first step.
    queue = _rows(
        fixtures,
        "SELECT queued_seconds, pod_pending_seconds FROM queue_times "
        "WHERE name = 'nodejs-builder-2022-04-12-002742-build-container-mqf5p'",
    )
    assert queue == [{"queued_seconds": 0.0, "pod_pending_seconds": 6.0}]

"""The insight views (DESIGN: SQL views; README: Insights), as SQL text over the `runs`,
`taskruns`, `pipelineruns` and `steps` views, never over files: each insight is decided here
once, and the API, the web page and user SQL all read these views.

Some views are facts (one row per run, attempt or path step) and some roll facts up; a rollup
reads only its facts, so the runs behind any number are the fact rows it counted. Views whose
name starts with `_` are internal: user SQL cannot name them (query.views.VIEWS lists what it
may), but the public views read them, and under a query token they see only its namespaces,
since every one of them reads `runs` and the engine shadows `runs` per connection.
"""

from __future__ import annotations

from layout.literals import sql_string
from layout.schema import FAILED, PENDING, PIPELINE_RUN, SUCCEEDED, TASK_RUN, TIMED_OUT
from webhooks.status import CANCEL_REASONS, RULES

# What every insight is grouped and confined by: a query token reads (cluster, namespace)
# pairs, and two clusters may hold a namespace and pipeline of the same name.
SCOPE_COLUMNS: tuple[str, ...] = ("cluster", "namespace")
_SCOPE = ", ".join(SCOPE_COLUMNS)

INSIGHT_VIEWS: tuple[str, ...] = (
    "retries",
    "flaky_tasks",
    "queue_times",
    "critical_path",
    "usage",
    "step_failures",
)

# Where the first error line of a step's stored log is kept once read (query.engine fills it
# for the newest failure of each step_failures group before a query that names the view).
ERROR_LINES = "_log_error_lines"
ERROR_LINES_TABLE = (
    f"CREATE TABLE IF NOT EXISTS {ERROR_LINES} (uid VARCHAR, step VARCHAR, line VARCHAR, "
    "PRIMARY KEY (uid, step))"
)


_PIPELINE_RUN = sql_string(PIPELINE_RUN)
_FAILED = f"({sql_string(FAILED)}, {sql_string(TIMED_OUT)})"
_CANCEL_REASONS = "(" + ", ".join(sql_string(r) for r in sorted(CANCEL_REASONS)) + ")"


def status_sql(condition: str) -> str:
    """The run status of a `Succeeded` condition (a JSON value), by webhooks.status.RULES:
    the same mapping ingest applies to a run's own condition, here for a retried attempt."""
    status, reason = f"({condition} ->> 'status')", f"({condition} ->> 'reason')"
    whens = []
    for condition_status, (by_reason, default) in RULES.items():
        for known, mapped in sorted(by_reason.items()):
            whens.append(
                f"WHEN {status} = {sql_string(condition_status)} "
                f"AND {reason} = {sql_string(known)} THEN {sql_string(mapped)}"
            )
        whens.append(f"WHEN {status} = {sql_string(condition_status)} THEN {sql_string(default)}")
    return f"CASE {' '.join(whens)} ELSE {sql_string(PENDING)} END"


def cpu_cores_sql(quantity: str) -> str:
    """A Kubernetes CPU quantity (`2`, `0.5`, `500m`) in cores; null for any other form."""
    return (
        f"CASE WHEN regexp_full_match({quantity}, '[0-9]+(\\.[0-9]+)?m') "
        f"THEN TRY_CAST(rtrim({quantity}, 'm') AS DOUBLE) / 1000 "
        f"WHEN regexp_full_match({quantity}, '[0-9]+(\\.[0-9]+)?') "
        f"THEN TRY_CAST({quantity} AS DOUBLE) END"
    )


def _requested_cpu(resources: str) -> str:
    """The CPU request of a step or sidecar: v1 `computeResources`, v1beta1 `resources`."""
    return cpu_cores_sql(
        f"coalesce({resources} -> 'computeResources' -> 'requests' ->> 'cpu', "
        f"{resources} -> 'resources' -> 'requests' ->> 'cpu')"
    )


# One row per attempt of each TaskRun: the earlier ones from status.retriesStatus (Tekton
# moves an attempt's status there before it retries), then the final one, the TaskRun's own.
_RUN_COLUMNS = f"uid, {_SCOPE}, name, pipeline, pipeline_run, pipeline_task, task, created_at"
RETRIES_VIEW = f"""CREATE OR REPLACE VIEW retries AS
WITH parsed AS (
    -- one parse of each object for both fields (each json_extract call parses it again)
    SELECT {_RUN_COLUMNS}, status, reason, started_at, completed_at,
           json_extract("object", ['$.status.retriesStatus', '$.status.podName']) AS found
    FROM taskruns
), tried AS (
    SELECT *, CAST(coalesce(found[1], '[]') AS JSON[]) AS earlier, found[2] ->> '$' AS final_pod
    FROM parsed
), each_earlier AS (
    SELECT {_RUN_COLUMNS}, unnest(earlier) AS attempt_status,
           generate_subscripts(earlier, 1) - 1 AS attempt, len(earlier) + 1 AS attempts
    FROM tried
)
-- the run's columns carried along, not joined back: every read of taskruns ranks snapshots
SELECT {_RUN_COLUMNS}, attempt, attempts, false AS final,
       {status_sql("(attempt_status -> '$.conditions[0]')")} AS status,
       attempt_status -> 'conditions' -> 0 ->> 'reason' AS reason,
       TRY_CAST(attempt_status ->> 'startTime' AS TIMESTAMPTZ) AS started_at,
       TRY_CAST(attempt_status ->> 'completionTime' AS TIMESTAMPTZ) AS completed_at,
       epoch(TRY_CAST(attempt_status ->> 'completionTime' AS TIMESTAMPTZ))
           - epoch(TRY_CAST(attempt_status ->> 'startTime' AS TIMESTAMPTZ)) AS duration_seconds,
       attempt_status ->> 'podName' AS pod_name
FROM each_earlier
UNION ALL
SELECT {_RUN_COLUMNS}, len(earlier) AS attempt, len(earlier) + 1 AS attempts, true AS final,
       status, reason, started_at, completed_at,
       epoch(completed_at) - epoch(started_at) AS duration_seconds, final_pod AS pod_name
FROM tried"""


# Each TaskRun of a PipelineRun with that PipelineRun's uid: the pipelineRunUID label (set by
# Tekton since v0.48), else the owner reference, else the PipelineRun of that name in its
# namespace created last before it (names of deleted runs can be used again).
TASKRUN_PARENTS_VIEW = f"""CREATE OR REPLACE VIEW _taskrun_parents AS
WITH owners AS (
    SELECT uid, {_SCOPE}, pipeline_run, created_at,
           labels['tekton.dev/pipelineRunUID'] AS labelled,
           CASE WHEN labels['tekton.dev/pipelineRunUID'] IS NULL
                THEN json_extract_string("object", ['$.metadata.ownerReferences[0].kind',
                                                    '$.metadata.ownerReferences[0].uid'])
           END AS owner
    FROM taskruns
), linked AS (
    SELECT uid, {_SCOPE}, pipeline_run, created_at,
           coalesce(labelled, CASE WHEN owner[1] = {_PIPELINE_RUN} THEN owner[2] END)
               AS parent_uid
    FROM owners
    WHERE labelled IS NOT NULL OR owner[1] = {_PIPELINE_RUN} OR pipeline_run IS NOT NULL
)
SELECT uid, parent_uid AS pipeline_run_uid FROM linked WHERE parent_uid IS NOT NULL
UNION ALL
-- apart, so that the name match is a hash join (with `parent_uid IS NULL` in its condition
-- DuckDB plans a nested loop)
SELECT l.uid, p.uid FROM linked l
JOIN pipelineruns p ON p.cluster = l.cluster AND p.namespace = l.namespace
    AND p.name = l.pipeline_run
WHERE l.parent_uid IS NULL
QUALIFY row_number() OVER (
    PARTITION BY l.uid ORDER BY p.created_at <= l.created_at DESC NULLS LAST,
    p.created_at DESC NULLS LAST) = 1"""


# The input of each PipelineRun, for "the same input" (README: Insights): the commit
# Pipelines-as-Code ran (its sha label or annotation), else the first param whose name is a
# revision, commit or sha (`revision`, `git-revision`, `COMMIT_SHA`, ...), else a hash of all
# its params by name; a PipelineRun without params has no known input.
PIPELINERUN_INPUTS_VIEW = """CREATE OR REPLACE VIEW _pipelinerun_inputs AS
WITH params AS (
    SELECT uid, unnest(json_extract("object", '$.spec.params[*]')) AS param,
           generate_subscripts(json_extract("object", '$.spec.params[*]'), 1) AS position
    FROM pipelineruns
), by_run AS (
    SELECT uid,
           arg_min(param ->> 'value', position) FILTER (
               WHERE regexp_matches(replace(lower(param ->> 'name'), '_', '-'),
                                    '(^|-)(revision|commit|sha)$')
                 AND json_type(param -> 'value') = 'VARCHAR' AND (param ->> 'value') <> ''
           ) AS revision,
           md5(string_agg((param ->> 'name') || '=' || CAST(param -> 'value' AS VARCHAR), chr(10)
                          ORDER BY param ->> 'name')) AS params_hash
    FROM params GROUP BY uid
)
SELECT p.uid,
       CASE WHEN coalesce(p.labels['pipelinesascode.tekton.dev/sha'],
                          p.annotations['pipelinesascode.tekton.dev/sha']) IS NOT NULL
            THEN 'sha:' || coalesce(p.labels['pipelinesascode.tekton.dev/sha'],
                                    p.annotations['pipelinesascode.tekton.dev/sha'])
            WHEN b.revision IS NOT NULL THEN 'revision:' || b.revision
            WHEN b.params_hash IS NOT NULL THEN 'params:' || b.params_hash
       END AS input
FROM pipelineruns p LEFT JOIN by_run b USING (uid)"""


# One row per TaskRun of a pipeline task, with what flaky_tasks counts of it.
TASK_OUTCOMES_VIEW = f"""CREATE OR REPLACE VIEW _task_outcomes AS
WITH outcomes AS (
    SELECT t.uid, {", ".join(f"t.{c}" for c in SCOPE_COLUMNS)}, t.pipeline, t.pipeline_task,
           t.task, t.created_at, t.status, i.input, r.attempts,
           CASE WHEN t.status = {sql_string(SUCCEEDED)} THEN 'pass'
                WHEN t.status IN {_FAILED} THEN 'fail'
           END AS outcome
    FROM taskruns t
    LEFT JOIN _taskrun_parents tp USING (uid)
    LEFT JOIN _pipelinerun_inputs i ON i.uid = tp.pipeline_run_uid
    LEFT JOIN retries r ON r.uid = t.uid AND r.final
    WHERE t.pipeline IS NOT NULL AND t.pipeline_task IS NOT NULL
), flipped AS (
    SELECT {_SCOPE}, pipeline, pipeline_task, input FROM outcomes
    WHERE input IS NOT NULL AND outcome IS NOT NULL
    GROUP BY ALL HAVING count(DISTINCT outcome) = 2
)
SELECT o.*, o.outcome = 'fail' AS failed,
       o.outcome = 'pass' AND o.attempts > 1 AS passed_on_retry,
       f.input IS NOT NULL AS flipped
FROM outcomes o LEFT JOIN flipped f USING ({_SCOPE}, pipeline, pipeline_task, input)"""


FLAKY_TASKS_VIEW = f"""CREATE OR REPLACE VIEW flaky_tasks AS
SELECT {_SCOPE}, pipeline, pipeline_task, mode(task) AS task,
       count(*) AS runs,
       count(*) FILTER (WHERE failed) AS failures,
       count(*) FILTER (WHERE passed_on_retry) AS passed_on_retry,
       count(DISTINCT input) FILTER (WHERE flipped) AS flips,
       count(DISTINCT input) AS inputs,
       count(DISTINCT input) FILTER (WHERE flipped) / nullif(count(DISTINCT input), 0)
           AS flip_rate,
       count(*) FILTER (WHERE failed) / nullif(count(*) FILTER (WHERE outcome IS NOT NULL), 0)
           AS failure_rate,
       list(uid ORDER BY created_at DESC, uid DESC)
           FILTER (WHERE passed_on_retry OR flipped)[1:5] AS newest_flaky_uids,
       max(created_at) AS newest_at
FROM _task_outcomes
GROUP BY {_SCOPE}, pipeline, pipeline_task"""


# The wait before work started: creation to the first attempt's start, and for a TaskRun
# also its pod's pending time, from the start of the (final) attempt to its first step's.
QUEUE_TIMES_VIEW = f"""CREATE OR REPLACE VIEW queue_times AS
WITH first_attempt AS (
    SELECT uid, started_at FROM retries WHERE attempt = 0
), first_step AS (
    SELECT uid, min(started_at) AS started_at FROM steps GROUP BY uid
)
SELECT r.uid, r.kind, {", ".join(f"r.{c}" for c in SCOPE_COLUMNS)}, r.name, r.pipeline,
       r.pipeline_run, r.pipeline_task, r.task, r.status, r.created_at,
       coalesce(a.started_at, r.started_at) AS started_at,
       epoch(coalesce(a.started_at, r.started_at)) - epoch(r.created_at) AS queued_seconds,
       CASE WHEN r.kind = {sql_string(TASK_RUN)} THEN epoch(s.started_at) - epoch(r.started_at)
       END AS pod_pending_seconds
FROM runs r
LEFT JOIN first_attempt a USING (uid)
LEFT JOIN first_step s USING (uid)
WHERE r.started_at IS NOT NULL"""


# Per finished PipelineRun, the chain of pipeline tasks that decided its duration, from the
# task graph in status.pipelineSpec (runAfter, result and status references; finally tasks
# after every other task) and each task's start and end (its TaskRuns', or the v1beta1
# embedded status.taskRuns where its TaskRuns were never archived). From the task that ended
# last, each step goes back to the ancestor that ended last. Ancestors are followed only through
# tasks that did not run (skipped, or never archived): a task that ran ended after its own
# ancestors, so going past it could only find one that ended earlier.
# Memory (a month of 1 M runs, 155,000 PipelineRuns, within DuckDB's 768 MB): the relations
# used more than once are MATERIALIZED (inlined, each use computed them again, inside the
# recursions too: 3 GB), keyed by a number per PipelineRun rather than its uid, and without
# JSON (the task bodies are read once, into each task's dependency names); the path's length
# per run is a join, since a window would hold every column of every row.
CRITICAL_PATH_VIEW = f"""CREATE OR REPLACE VIEW critical_path AS
WITH RECURSIVE specs AS MATERIALIZED (
    SELECT uid AS run_uid, row_number() OVER () AS run_key, {_SCOPE}, name AS run_name,
           pipeline, created_at, duration_seconds AS wall_seconds
    FROM pipelineruns WHERE completed_at IS NOT NULL
), bodies AS (
    SELECT run_key, unnest(generate_series(1, len(tasks) + len(finals))) > len(tasks) AS final,
           unnest(list_concat(tasks, finals)) AS body
    FROM (SELECT specs.run_key,
                 coalesce(json_extract(spec, '$.tasks[*]'), []) AS tasks,
                 coalesce(json_extract(spec, '$.finally[*]'), []) AS finals
          FROM (SELECT uid, coalesce(json_extract("object", '$.status.pipelineSpec'),
                                     json_extract("object", '$.spec.pipelineSpec')) AS spec
                FROM pipelineruns WHERE completed_at IS NOT NULL) p
          JOIN specs ON specs.run_uid = p.uid)
), nodes AS MATERIALIZED (
    SELECT run_key, body ->> 'name' AS task, final,
           list_concat(
               json_extract_string(body, '$.runAfter[*]'),
               regexp_extract_all(CAST(body AS VARCHAR), '\\$\\(tasks\\.([a-z0-9-]+)\\.', 1)
           ) AS deps
    FROM bodies
), edges AS MATERIALIZED (
    SELECT DISTINCT m.run_key, m.task, m.dep
    FROM (SELECT run_key, task, unnest(deps) AS dep FROM nodes) m
    SEMI JOIN nodes n ON n.run_key = m.run_key AND n.task = m.dep
    WHERE m.dep <> m.task
    UNION
    SELECT f.run_key, f.task, n.task FROM nodes f
    JOIN nodes n ON n.run_key = f.run_key AND NOT n.final WHERE f.final
), archived AS (
    SELECT s.run_key, t.pipeline_task AS task,
           arg_max(t.uid, t.completed_at) AS taskrun_uid,
           arg_max(t.name, t.completed_at) AS taskrun, mode(t.task) AS task_ref,
           -- the first attempt's start (retries' attempt 0), read here rather than joined
           -- from retries, which holds every column of every TaskRun's every attempt
           min(coalesce(TRY_CAST(json_extract_string(
                            t."object", '$.status.retriesStatus[0].startTime') AS TIMESTAMPTZ),
                        t.started_at)) AS started_at,
           max(t.completed_at) AS completed_at, count(*) AS taskruns
    FROM taskruns t JOIN _taskrun_parents tp USING (uid)
    JOIN specs s ON s.run_uid = tp.pipeline_run_uid
    WHERE t.pipeline_task IS NOT NULL AND t.completed_at IS NOT NULL
    GROUP BY ALL
), embedded AS (
    SELECT run_key, entry.value ->> 'pipelineTaskName' AS task,
           CAST(NULL AS VARCHAR) AS taskrun_uid, arg_max(entry.key, completed_at) AS taskrun,
           CAST(NULL AS VARCHAR) AS task_ref, min(started_at) AS started_at,
           max(completed_at) AS completed_at, count(*) AS taskruns
    FROM (
        SELECT run_key, entry,
               TRY_CAST(coalesce(entry.value -> 'status' -> 'retriesStatus' -> 0 ->> 'startTime',
                                 entry.value -> 'status' ->> 'startTime') AS TIMESTAMPTZ)
                   AS started_at,
               TRY_CAST(entry.value -> 'status' ->> 'completionTime' AS TIMESTAMPTZ)
                   AS completed_at
        FROM (SELECT specs.run_key, unnest(map_entries(CAST(
                  json_extract(p."object", '$.status.taskRuns') AS MAP(VARCHAR, JSON)))) AS entry
              FROM pipelineruns p JOIN specs ON specs.run_uid = p.uid)
    )
    WHERE completed_at IS NOT NULL
    GROUP BY ALL
), ran AS MATERIALIZED (
    SELECT n.run_key, n.task, n.final, x.taskrun_uid, x.taskrun, x.task_ref, x.started_at,
           x.completed_at, x.taskruns
    FROM (SELECT *, 0 AS source FROM archived UNION ALL BY NAME
          SELECT *, 1 AS source FROM embedded) x
    JOIN nodes n ON n.run_key = x.run_key AND n.task = x.task
    QUALIFY row_number() OVER (PARTITION BY x.run_key, x.task ORDER BY x.source) = 1
), ancestors (run_key, task, ancestor) AS (
    SELECT e.run_key, e.task, e.dep FROM edges e SEMI JOIN ran USING (run_key, task)
    UNION
    SELECT a.run_key, a.task, e.dep FROM ancestors a
    JOIN edges e ON e.run_key = a.run_key AND e.task = a.ancestor
    ANTI JOIN ran r ON r.run_key = a.run_key AND r.task = a.ancestor
), previous AS MATERIALIZED (
    SELECT a.run_key, a.task, a.ancestor AS previous FROM ancestors a
    JOIN ran r ON r.run_key = a.run_key AND r.task = a.ancestor
    WHERE a.ancestor <> a.task
    QUALIFY row_number() OVER (
        PARTITION BY a.run_key, a.task ORDER BY r.completed_at DESC, r.task) = 1
), walk (run_key, task, depth) AS (
    SELECT run_key, task, 0 FROM ran
    QUALIFY row_number() OVER (PARTITION BY run_key ORDER BY completed_at DESC, final DESC, task)
        = 1
    UNION ALL
    SELECT w.run_key, p.previous, w.depth + 1 FROM walk w
    JOIN previous p ON p.run_key = w.run_key AND p.task = w.task
    WHERE w.depth < 256
), lengths AS (
    -- a join, not a window over the result: a window holds every column of every row
    SELECT run_key, max(depth) AS deepest FROM walk GROUP BY run_key
)
SELECT {", ".join(f"s.{c}" for c in SCOPE_COLUMNS)}, s.pipeline, s.run_uid AS pipeline_run,
       s.run_name AS pipeline_run_name, w.task AS pipeline_task,
       l.deepest - w.depth AS position,
       r.final, r.taskrun_uid, r.taskrun, r.task_ref AS task, r.taskruns, r.started_at,
       r.completed_at, epoch(r.completed_at) - epoch(r.started_at) AS duration_seconds,
       s.wall_seconds,
       (epoch(r.completed_at) - epoch(r.started_at)) / nullif(s.wall_seconds, 0) AS wall_share,
       s.created_at
FROM walk w
JOIN lengths l ON l.run_key = w.run_key
JOIN specs s ON s.run_key = w.run_key
JOIN ran r ON r.run_key = w.run_key AND r.task = w.task"""


# CPU requested by each TaskRun's pod, in cores: the TaskRun's task-level
# spec.computeResources (Tekton divides it among the steps), else the sum of its steps'
# requests (spec.stepSpecs / stepOverrides replacing a step's own), plus its sidecars'. The
# steps are those of status.taskSpec, or spec.taskSpec before the run resolved its Task.
# Null where the object names no CPU request at all.
_TASK_LEVEL_CPU = cpu_cores_sql("(found[3] ->> '$')")
TASKRUN_CPU_VIEW = f"""CREATE OR REPLACE VIEW _taskrun_cpu AS
WITH parsed AS (
    SELECT uid, json_extract("object", ['$.status.taskSpec', '$.spec.taskSpec',
                                        '$.spec.computeResources.requests.cpu',
                                        '$.spec.stepSpecs', '$.spec.stepOverrides']) AS found
    FROM taskruns
), specs AS (
    SELECT uid, coalesce(found[1], found[2]) AS spec, {_TASK_LEVEL_CPU} AS task_level,
           list_concat(coalesce(CAST(found[4] AS JSON[]), []),
                       coalesce(CAST(found[5] AS JSON[]), [])) AS overrides
    FROM parsed
), steps AS (
    SELECT uid, step ->> 'name' AS name,
           coalesce((SELECT max({_requested_cpu("o")}) FROM unnest(overrides) AS u(o)
                     WHERE (o ->> 'name') = (step ->> 'name')),
                    {_requested_cpu("step")}) AS cores
    FROM (SELECT uid, overrides, unnest(CAST(json_extract(spec, '$.steps') AS JSON[])) AS step
          FROM specs)
), sidecars AS (
    SELECT uid, sum({_requested_cpu("sidecar")}) AS cores
    FROM (SELECT uid, unnest(CAST(json_extract(spec, '$.sidecars') AS JSON[])) AS sidecar
          FROM specs)
    GROUP BY uid
)
SELECT s.uid,
       CASE WHEN s.task_level IS NULL AND st.cores IS NULL AND sc.cores IS NULL THEN NULL
            ELSE coalesce(s.task_level, st.cores, 0) + coalesce(sc.cores, 0) END AS cpu_cores
FROM specs s
LEFT JOIN (SELECT uid, sum(cores) AS cores FROM steps GROUP BY uid) st USING (uid)
LEFT JOIN sidecars sc USING (uid)"""


# CI time, one row per TaskRun: its attempts' wall time summed (a retry runs a new pod), and
# CPU-hours where the object says what its pod requested. Roll it up by any column or label.
USAGE_VIEW = f"""CREATE OR REPLACE VIEW usage AS
WITH attempts AS (
    SELECT uid, count(*) AS attempts, sum(duration_seconds) AS taskrun_seconds
    FROM retries GROUP BY uid
)
SELECT t.uid, {", ".join(f"t.{c}" for c in SCOPE_COLUMNS)}, t.name, t.pipeline,
       t.pipeline_task, t.task, t.status, t.labels, t.created_at,
       CAST(date_trunc('day', t.created_at) AS DATE) AS day,
       CAST(date_trunc('week', t.created_at) AS DATE) AS week,
       a.attempts, coalesce(a.taskrun_seconds, 0) AS taskrun_seconds, c.cpu_cores,
       c.cpu_cores * coalesce(a.taskrun_seconds, 0) / 3600 AS cpu_hours
FROM taskruns t
LEFT JOIN attempts a USING (uid)
LEFT JOIN _taskrun_cpu c USING (uid)"""


# A step failed when it terminated with a non-zero exit code, except the steps Tekton skipped
# after an earlier step failed (terminationReason Skipped) and those it stopped because the
# run was cancelled. A TaskRun without a Task (an inline taskSpec) counts under its pipeline
# task's name.
FAILED_STEPS_VIEW = f"""CREATE OR REPLACE VIEW _failed_steps AS
SELECT s.uid, {", ".join(f"t.{c}" for c in SCOPE_COLUMNS)}, coalesce(t.task, t.pipeline_task)
       AS task, s.step, s.exit_code, s.reason, t.pipeline, t.pipeline_task, t.created_at
FROM steps s JOIN taskruns t USING (uid)
WHERE s.exit_code IS NOT NULL AND s.exit_code <> 0
  AND coalesce(s.termination_reason, '') <> 'Skipped'
  AND coalesce(s.reason, '') NOT IN {_CANCEL_REASONS}"""


STEP_FAILURES_VIEW = f"""CREATE OR REPLACE VIEW step_failures AS
WITH groups AS (
    SELECT {_SCOPE}, task, step, exit_code, count(*) AS failures,
           count(DISTINCT uid) AS taskruns, mode(reason) AS reason,
           arg_max(uid, (created_at, uid)) AS newest_uid, max(created_at) AS newest_at,
           list(uid ORDER BY created_at DESC, uid DESC)[1:5] AS newest_uids
    FROM _failed_steps
    GROUP BY {_SCOPE}, task, step, exit_code
)
SELECT g.*, e.line AS first_error_line
FROM groups g LEFT JOIN {ERROR_LINES} e ON e.uid = g.newest_uid AND e.step = g.step"""


def insight_statements() -> list[str]:
    """CREATE statements of the insight views, in dependency order (after `steps`; the
    engine creates ERROR_LINES_TABLE first)."""
    return [
        RETRIES_VIEW,
        TASKRUN_PARENTS_VIEW,
        PIPELINERUN_INPUTS_VIEW,
        TASK_OUTCOMES_VIEW,
        FLAKY_TASKS_VIEW,
        QUEUE_TIMES_VIEW,
        CRITICAL_PATH_VIEW,
        TASKRUN_CPU_VIEW,
        USAGE_VIEW,
        FAILED_STEPS_VIEW,
        STEP_FAILURES_VIEW,
    ]


def names_step_failures(sql: str) -> bool:
    """Whether a query may read step_failures (and so needs its error lines read first)."""
    return "step_failures" in sql.lower()

"""CEL filters: each supported construct selects the right rows of a known archive (and the
same rows as the SQL a person would write for it); each unsupported one is refused by name."""

import json
from datetime import timedelta

import pytest

from layout.inbox import write_inbox
from layout.store import LocalStore
from query.cel import RECORDS, RESULTS, CelError, Params, parse, translate
from query.engine import Engine
from tests.helpers.rows import T0, row

DAY = timedelta(days=1)


def _obj(kind, reason, **extra):
    return {
        "kind": kind,
        "spec": extra.pop("spec", {}),
        "status": {"conditions": [{"type": "Succeeded", "reason": reason}], **extra},
    }


ROWS = [
    row(
        "a",
        kind="TaskRun",
        name="build-a",
        status="Succeeded",
        labels={"tekton.dev/pipeline": "build", "app": "web"},
        annotations={"team": "blue"},
        completed_at=T0 + timedelta(seconds=30),
        obj=_obj("TaskRun", "Succeeded", podCount=3, spec={"serviceAccountName": "sa1"}),
    ),
    row(
        "b",
        kind="PipelineRun",
        name="deploy-b",
        status="Failed",
        api_version="tekton.dev/v1beta1",
        labels={"tekton.dev/pipeline": "deploy"},
        completed_at=T0 + timedelta(minutes=10),
        obj=_obj("PipelineRun", "Failed", podCount=1, spec={"debug": True}),
    ),
    row(
        "c",
        kind="TaskRun",
        name="test-c",
        namespace="team-b",
        status="Running",
        labels={},
        created_at=T0 + DAY,
        received_at=DAY + timedelta(hours=1),
        obj=_obj("TaskRun", "Running"),
    ),
    row(
        "d",
        kind="TaskRun",
        name="lint-d",
        status="TimedOut",
        api_version="tekton.dev/v1beta1",
        labels={"tekton.dev/pipeline": "build"},
        completed_at=T0 + timedelta(hours=1),
        obj=_obj("TaskRun", "TaskRunTimeout"),
    ),
    row(
        "e",
        kind="CustomRun",
        name="approve-e",
        status="Cancelled",
        labels={},
        completed_at=T0 + timedelta(minutes=2),
        obj=_obj("CustomRun", "Cancelled"),
    ),
]

# The Results API's record rows, as query.http.results builds them (every run its own result).
RECORDS_SQL = """SELECT uid FROM (
    SELECT *, namespace || '/results/' || uid || '/records/' || uid AS record_name,
           uid AS result_uid, api_version || '.' || kind AS data_type,
           coalesce(created_at, received_at) AS create_time, received_at AS update_time
    FROM runs) WHERE {} ORDER BY uid"""


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    store = LocalStore(str(tmp_path_factory.mktemp("cel")))
    write_inbox(store, ROWS)
    engine = Engine(store)
    yield engine
    engine.close()


def select(engine, text, scope=RECORDS):
    params = Params()
    condition = translate(text, scope, params)
    assert "'" not in condition.replace("'SUCCESS'", "").replace("'FAILURE'", "").replace(
        "'TIMEOUT'", ""
    ).replace("'CANCELLED'", "").replace("'UNKNOWN'", "").replace("'Succeeded'", "").replace(
        "'Failed'", ""
    ).replace("'TimedOut'", "").replace(
        "'Cancelled'", ""
    )  # no user text inside the SQL, only $n parameters
    return "".join(r["uid"] for r in engine.query(RECORDS_SQL.format(condition), params.values))


def sql_select(engine, where):
    return "".join(
        r["uid"] for r in engine.query(f"SELECT uid FROM runs WHERE {where} ORDER BY uid")
    )


TS = 'timestamp("2026-03-01T12:05:00Z")'

# (CEL, uids it selects, the same question in plain SQL over `runs`)
CASES = [
    (
        'data_type == "tekton.dev/v1.TaskRun"',
        "ac",
        "api_version = 'tekton.dev/v1' AND kind = 'TaskRun'",
    ),
    ("data_type == TASK_RUN", "ac", "api_version = 'tekton.dev/v1' AND kind = 'TaskRun'"),
    (
        'data_type != "tekton.dev/v1.TaskRun"',
        "bde",
        "NOT (api_version = 'tekton.dev/v1' AND kind = 'TaskRun')",
    ),
    ("data_type == 'tekton.dev/v1beta1.PipelineRun'", "b", "kind = 'PipelineRun'"),
    ('parent == "team-b"', "c", "namespace = 'team-b'"),
    ('name == "ci/results/a/records/a"', "a", "uid = 'a'"),
    ('result_name == "d"', "d", "uid = 'd'"),
    ('name.startsWith("ci/")', "abde", "namespace = 'ci'"),
    ('data.metadata.name.endsWith("-b")', "b", "name LIKE '%-b'"),
    ('data.metadata.name.contains("in")', "d", "name LIKE '%in%'"),
    (
        'data.metadata.name.matches("^(build|test)-")',
        "ac",
        "regexp_matches(name, '^(build|test)-')",
    ),
    ('matches(data.metadata.name, "-e$")', "e", "name LIKE '%-e'"),
    (
        'data.metadata.labels["tekton.dev/pipeline"] == "build"',
        "ad",
        "labels['tekton.dev/pipeline'] = 'build'",
    ),
    ("data.metadata.labels['app'] in ['web', 'api']", "a", "labels['app'] IN ('web', 'api')"),
    ("data.metadata.labels.app == 'web'", "a", "labels['app'] = 'web'"),
    ('"app" in data.metadata.labels', "a", "map_contains(labels, 'app')"),
    ("data.metadata.annotations.contains('blue')", "a", "annotations['team'] = 'blue'"),
    ('data.metadata.annotations["team"] == "blue"', "a", "annotations['team'] = 'blue'"),
    ('data.metadata.namespace == "ci" && data.kind == "CustomRun"', "e", "kind = 'CustomRun'"),
    ("summary.status == SUCCESS", "a", "status = 'Succeeded'"),
    ("summary.status == FAILURE", "b", "status = 'Failed'"),
    ("summary.status == TIMEOUT", "d", "status = 'TimedOut'"),
    ("summary.status == CANCELLED", "e", "status = 'Cancelled'"),
    ("summary.status == UNKNOWN", "c", "status = 'Running'"),
    ("summary.status == 2", "b", "status = 'Failed'"),
    ("summary.status in [FAILURE, TIMEOUT]", "bd", "status IN ('Failed', 'TimedOut')"),
    ("summary.status != SUCCESS", "bcde", "status <> 'Succeeded'"),
    (
        f"data.status.completionTime > {TS}",
        "bd",
        "completed_at > TIMESTAMPTZ '2026-03-01T12:05:00Z'",
    ),
    (
        f"data.status.completionTime <= {TS}",
        "ae",
        "completed_at <= TIMESTAMPTZ '2026-03-01T12:05:00Z'",
    ),
    (f"data.metadata.creationTimestamp >= {TS}", "c", "created_at >= TIMESTAMPTZ '2026-03-02'"),
    ('create_time < timestamp("2026-03-02T00:00:00+00:00")', "abde", "namespace = 'ci'"),
    ('update_time > timestamp("2026-03-02T00:00:00Z")', "c", "namespace = 'team-b'"),
    ('data.status.conditions[0].reason == "Failed"', "b", "status = 'Failed'"),
    (
        'data.status.conditions[0].reason in ["Failed", "Succeeded"]',
        "ab",
        "status IN ('Failed', 'Succeeded')",
    ),
    ("data.spec.serviceAccountName == 'sa1'", "a", "uid = 'a'"),
    ("data.spec.serviceAccountName != null", "a", "uid = 'a'"),
    ("data.status.podCount > 2", "a", "uid = 'a'"),
    ("data.status.podCount >= 1.0 && data.status.podCount < 3", "b", "uid = 'b'"),
    ("data.spec.debug == true", "b", "uid = 'b'"),
    ("data.spec.debug", "b", "uid = 'b'"),
    (
        "!(data_type == TASK_RUN) && parent == 'ci'",
        "bde",
        "namespace = 'ci' AND NOT (api_version = 'tekton.dev/v1' AND kind = 'TaskRun')",
    ),
    (
        "parent == 'team-b' || data.metadata.name == 'deploy-b'",
        "bc",
        "namespace = 'team-b' OR name = 'deploy-b'",
    ),
    ("!!(parent == 'team-b')", "c", "namespace = 'team-b'"),
    ("data.metadata.name in []", "", "false"),
    ("", "abcde", "true"),
]


@pytest.mark.parametrize(("cel", "expected", "sql"), CASES, ids=[c[0] or "empty" for c in CASES])
def test_cel_filter_selects_the_runs_the_equivalent_sql_selects(engine, cel, expected, sql):
    assert select(engine, cel) == expected
    assert sql_select(engine, sql) == expected


UNSUPPORTED = [
    ("data.status.podCount + 1 > 2", "'+'"),
    ("data.status.podCount - 1 > 2", "'-'"),
    ("data.status.podCount * 2 > 2", "'*'"),
    ("data.status.podCount % 2 == 0", "'%'"),
    ("-data.status.podCount == 1", "'-'"),
    ("size(data.status.conditions) > 1", "size()"),
    ("data.status.completionTime - data.status.startTime > duration('5m')", "'-'"),
    ("duration('5m') == data.spec.timeout", "duration()"),
    ("data.status.completionTime.getDate() == 7", "getDate()"),
    ("has(data.spec.debug)", "has()"),
    ("string(data.status.podCount) == '3'", "string()"),
    ("data.status.conditions.exists(c, c.reason == 'Failed')", "exists()"),
    ("data.spec.debug ? true : false", "?:"),
    ("data.metadata.labels == {'app': 'web'}", "map"),
    ("data.metadata.name == b'x'", "bytes"),
    ("uid == 'a'", "unknown field `uid`"),
    ("annotations['x'] == 'y'", "unknown field `annotations.x`"),
    ("data == 'x'", "`data`"),
    ("create_time > '2026-03-01T00:00:00Z'", 'timestamp("'),
    ("summary.status == 'SUCCESS'", "summary.status"),
    ("summary.status == 9", "not a summary.status"),
    ("summary.status < FAILURE", "== or !="),
    ("data.metadata.labels == data.metadata.annotations", "map"),
    ("data.metadata.name", "boolean"),
    ("data.metadata.labels[data.metadata.name] == 'x'", "index"),
    ("create_time > timestamp('yesterday')", "RFC 3339"),
    ("create_time > timestamp('2026-03-01T00:00:00')", "RFC 3339"),
    ("data.metadata.name ==", "end of the filter"),
    ("data.metadata.name == 'x' )", "')'"),
    ("data.metadata.name = 'x'", "'='"),
    ("data.metadata.name == 'x", "unterminated"),
    ("data.metadata.name == 'x' # y", "'#'"),
    ("1 < data.metadata.labels", "map"),
    ("'a' in data.metadata.name", "`in`"),
    ("data.metadata.name.startsWith(1)", "string"),
    ("data.metadata.labels.startsWith('a')", "map"),
    ("(" * 100 + "true" + ")" * 100, "deeper"),
]


@pytest.mark.parametrize(("cel", "named"), UNSUPPORTED, ids=[c[0][:40] for c in UNSUPPORTED])
def test_cel_filter_outside_the_subset_is_refused_naming_it(cel, named):
    with pytest.raises(CelError) as caught:
        translate(cel, RECORDS, Params())
    assert named in str(caught.value)


def test_cel_literals_are_parameters_never_sql(engine):
    params = Params()
    hostile = "x'); DROP TABLE runs; --"
    condition = translate(f"data.metadata.name == {json.dumps(hostile)}", RECORDS, params)
    assert hostile not in condition and params.values == [hostile]
    assert select(engine, f"data.metadata.name == {json.dumps(hostile)}") == ""


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        (r'"tab\there"', "tab\there"),
        (r"'q\'uote'", "q'uote"),
        (r'"\x41\u00e9\101"', "Aé" + "A"),
        (r'r"raw\n"', "raw\\n"),
        ('"""tri"ple"""', 'tri"ple'),
        ("0x1F", 31),
        ("-2.5e1", -25.0),
        ("7u", 7),
        ("true", True),
        ("null", None),
    ],
)
def test_cel_literals_parse_as_cel_defines_them(literal, value):
    assert parse(literal).value == value


@pytest.mark.parametrize(
    ("cel", "named"),
    [
        ("data_type == TASK_RUN", "unknown field `data_type`"),
        ("data.metadata.name == 'x'", "unknown field `data.metadata.name`"),
    ],
)
def test_cel_results_scope_knows_only_result_fields(cel, named):
    with pytest.raises(CelError, match=named):
        translate(cel, RESULTS, Params())

"""CEL filters: each supported construct selects the right rows of a known archive (and the
same rows as the SQL a person would write for it); each unsupported one is refused by name,
with the words of Tekton Results' cel-go checker and cel2sql. (tests/query/http/
test_results_upstream.py checks the filters of upstream's docs and tests.)"""

import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from layout.inbox import write_inbox
from layout.store import LocalStore
from query.cel import (
    LOGS,
    RECORDS,
    RESULTS,
    CelError,
    Params,
    parse,
    record_types,
    timestamp_literal,
    translate,
)
from query.engine import Engine
from tests.helpers.rows import T0, row

DAY = timedelta(days=1)


def _row(uid, kind, name, reason, labels, annotations=None, spec=None, **extra):
    """A row whose object holds what its columns say, as ingest writes it."""
    status = extra.pop("status_fields", {})
    obj = {
        "kind": kind,
        "metadata": {"name": name, "namespace": extra.get("namespace", "ci"), "uid": uid},
        "spec": spec or {},
        "status": {"conditions": [{"type": "Succeeded", "reason": reason}], **status},
    }
    if labels:
        obj["metadata"]["labels"] = labels
    if annotations:
        obj["metadata"]["annotations"] = annotations
    completed = extra.get("completed_at")
    if completed:
        obj["status"]["completionTime"] = completed.isoformat().replace("+00:00", "Z")
    columns = {  # the label columns, as webhooks.normalize fills them
        "pipeline": labels.get("tekton.dev/pipeline") or None,
        "pipeline_run": labels.get("tekton.dev/pipelineRun") or None,
        "pipeline_task": labels.get("tekton.dev/pipelineTask") or None,
    }
    return row(
        uid,
        kind=kind,
        name=name,
        labels=labels,
        annotations=annotations or {},
        obj=obj,
        **{**columns, **extra},
    )


ROWS = [
    _row(
        "a",
        "TaskRun",
        "build-a",
        "Succeeded",
        {"tekton.dev/pipeline": "build", "app": "web"},
        {"team": "blue"},
        {"serviceAccountName": "sa1"},
        status="Succeeded",
        completed_at=T0 + timedelta(seconds=30),
        status_fields={"podCount": 3},
    ),
    _row(
        "b",
        "PipelineRun",
        "deploy-b",
        "Failed",
        {"tekton.dev/pipeline": "deploy"},
        spec={"debug": True},
        status="Failed",
        api_version="tekton.dev/v1beta1",
        completed_at=T0 + timedelta(minutes=10),
        status_fields={"podCount": 1},
    ),
    _row(
        "c",
        "TaskRun",
        "test-c",
        "Running",
        {},
        namespace="team-b",
        status="Running",
        created_at=T0 + DAY,
        received_at=DAY + timedelta(hours=1),
    ),
    _row(
        "d",
        "TaskRun",
        "lint-d",
        "TaskRunTimeout",
        {"tekton.dev/pipeline": "build"},
        status="TimedOut",
        api_version="tekton.dev/v1beta1",
        completed_at=T0 + timedelta(hours=1),
    ),
    _row(
        "e",
        "CustomRun",
        "approve-e",
        "Cancelled",
        {},
        status="Cancelled",
        completed_at=T0 + timedelta(days=3, minutes=2),
    ),
]

# The Results API's record rows, as query.http.results_sql builds them (every run its own
# result).
RECORDS_SQL = """SELECT uid FROM (
    SELECT *, uid AS short_name, namespace || '/results/' || uid || '/records/' || uid
           AS record_name, uid AS result_uid, api_version || '.' || kind AS data_type
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
    assert "'" not in condition  # no user text inside the SQL, only $n parameters
    return "".join(r["uid"] for r in engine.query(RECORDS_SQL.format(condition), params.values))


def sql_select(engine, where):
    return "".join(
        r["uid"] for r in engine.query(f"SELECT uid FROM runs WHERE {where} ORDER BY uid")
    )


TS = 'timestamp("2026-03-01T12:05:00Z")'

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
    (
        "data_type in [TASK_RUN, PIPELINE_RUN]",
        "ac",
        "api_version = 'tekton.dev/v1' AND kind IN ('TaskRun', 'PipelineRun')",
    ),
    ('parent == "team-b"', "c", "namespace = 'team-b'"),
    # `name` is the short record name (the run's uid), as upstream stores it.
    ('name == "a"', "a", "uid = 'a'"),
    ('name.startsWith("ci/")', "", "false"),
    ('name + "-x" == "d-x"', "d", "uid = 'd'"),
    ('name + "-" + data.metadata.name == "d-lint-d"', "d", "uid = 'd'"),
    ('result_name == "d"', "d", "uid = 'd'"),
    ('data.metadata.name.endsWith("-b")', "b", "name LIKE '%-b'"),
    ('data.metadata.name.contains("in")', "d", "name LIKE '%in%'"),
    ('data.metadata.name.startsWith("lint_")', "", "false"),  # not LIKE: _ is no wildcard
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
    ('"debug" in data.spec', "b", "uid = 'b'"),
    # contains() over a whole object is over its JSON text (a key or a value).
    ("data.metadata.annotations.contains('blue')", "a", "annotations['team'] = 'blue'"),
    ("data.metadata.annotations.contains('team')", "a", "annotations['team'] = 'blue'"),
    # As upstream's SQL: a run without annotations matches neither this nor its negation.
    ("!data.metadata.annotations.contains('red')", "a", "uid = 'a'"),
    ('data.metadata.annotations["team"] == "blue"', "a", "annotations['team'] = 'blue'"),
    ('!(data.metadata.annotations["team"] == "red")', "a", "uid = 'a'"),
    ('data.metadata.namespace == "ci" && data.kind == "CustomRun"', "e", "kind = 'CustomRun'"),
    (
        f"data.status.completionTime > {TS}",
        "bde",
        "completed_at > TIMESTAMPTZ '2026-03-01T12:05:00Z'",
    ),
    (f"data.status.completionTime <= {TS}", "a", "uid = 'a'"),
    ('data.status.completionTime < timestamp("2026/03/02")', "abd", "uid IN ('a', 'b', 'd')"),
    (
        'data.status.completionTime > timestamp("2026-03-01 13:00:00+01:00")',
        "abde",
        "true AND completed_at IS NOT NULL",
    ),
    ("data.status.completionTime > timestamp(1772366400)", "abde", "completed_at IS NOT NULL"),
    # A data field compared with another is text, as in Results' SQL.
    ("data.status.completionTime > data.metadata.name", "", "false"),
    ("data.status.completionTime.getDayOfWeek() == 0", "abd", "uid IN ('a', 'b', 'd')"),
    ("data.status.completionTime.getDate() == 4", "e", "uid = 'e'"),
    ("data.status.completionTime.getDayOfMonth() == 0", "abd", "uid IN ('a', 'b', 'd')"),
    ("data.status.completionTime.getDayOfYear() == 59", "abd", "uid IN ('a', 'b', 'd')"),
    ("data.status.completionTime.getFullYear() == 2026", "abde", "completed_at IS NOT NULL"),
    ('data.status.completionTime.getDate("Asia/Tokyo") == 1', "abd", "uid IN ('a', 'b', 'd')"),
    ('data.status.completionTime.getDate("Asia/Tokyo") == 2', "", "false"),
    ('data.status.conditions[0].reason == "Failed"', "b", "status = 'Failed'"),
    (
        'data.status.conditions[0].reason in ["Failed", "Succeeded"]',
        "ab",
        "status IN ('Failed', 'Succeeded')",
    ),
    ("data.spec.serviceAccountName == 'sa1'", "a", "uid = 'a'"),
    ("data.spec.serviceAccountName != null", "a", "uid = 'a'"),
    ("has(data.spec.serviceAccountName)", "a", "uid = 'a'"),
    ("data.status.podCount > 2", "a", "uid = 'a'"),
    ("data.status.podCount + 1 > 3", "a", "uid = 'a'"),
    ("data.status.podCount * 2 == 2 && data.status.podCount % 2 == 1", "b", "uid = 'b'"),
    ("data.status.podCount >= 1.0 && data.status.podCount < 3", "b", "uid = 'b'"),
    ("data.spec.debug == true", "b", "uid = 'b'"),
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
    ('data.metadata.name == "o\'brien"', "", "false"),
    ("", "abcde", "true"),
]


@pytest.mark.parametrize(("cel", "expected", "sql"), CASES, ids=[c[0] or "empty" for c in CASES])
def test_cel_filter_selects_the_runs_the_equivalent_sql_selects(engine, cel, expected, sql):
    assert select(engine, cel) == expected
    assert sql_select(engine, sql) == expected


LABELLED = [
    _row("x", "TaskRun", "x", "Succeeded", {"tekton.dev/pipeline": "build"}),
    _row("y", "TaskRun", "y", "Succeeded", {"tekton.dev/pipeline": ""}),  # kept, column NULL
    _row("z", "TaskRun", "z", "Succeeded", {"tekton.dev/pipelineRun": "pr-1"}),
]


@pytest.mark.parametrize(
    ("cel", "expected"),
    [
        ('data.metadata.labels["tekton.dev/pipeline"] == "build"', "x"),
        ('"build" == data.metadata.labels["tekton.dev/pipeline"]', "x"),
        ('data.metadata.labels["tekton.dev/pipeline"] == ""', "y"),
        ('data.metadata.labels["tekton.dev/pipeline"] != "build"', "y"),
        ('!(data.metadata.labels["tekton.dev/pipeline"] == "build")', "y"),
        ('data.metadata.labels["tekton.dev/pipelineRun"] == "pr-1"', "z"),
        ('data.metadata.labels["tekton.dev/pipelineTask"] == "pr-1"', ""),
    ],
)
def test_cel_label_equality_answers_as_the_label_does(tmp_path, cel, expected):
    # An equality with a label that has a column reads the column (far cheaper than the
    # map); it must answer as the label itself, an empty label included.
    store = LocalStore(str(tmp_path))
    write_inbox(store, LABELLED)
    engine = Engine(store)
    try:
        assert select(engine, cel) == expected
    finally:
        engine.close()


UNSUPPORTED = [
    ("-data.status.podCount == 1", "unsupported CEL `-_` function statement"),
    ("size(data.status.conditions) > 1", "unsupported CEL `size` function statement"),
    (
        "data.status.completionTime - data.status.startTime > duration('5m')",
        "found no matching overload for '_-_'",
    ),
    ("duration('5m') == data.spec.timeout", "unsupported CEL `duration` function statement"),
    ("data.status.completionTime.getHours() > 7", "unsupported CEL `getHours` function"),
    ("string(data.status.podCount) == '3'", "unsupported CEL `string` function statement"),
    (
        "data.status.conditions.exists(c, c.reason == 'Failed')",
        "unsupported CEL statement at line 1, column 29",
    ),
    ("data.spec.debug ? true : false", "unsupported CEL `_?_:_` function statement"),
    ("data.metadata.labels == {'app': 'web'}", "map"),
    ("data.metadata.name == b'x'", "bytes"),
    ("nosuch(data.metadata.name)", "undeclared reference to 'nosuch'"),
    ("uid == 'a'", "ERROR: <input>:1:1: undeclared reference to 'uid' (in container '')"),
    ("summary.status == SUCCESS", "undeclared reference to 'summary'"),
    ("create_time > timestamp('2026-03-01T00:00:00Z')", "undeclared reference to 'create_time'"),
    ("data_type == SUCCESS", "undeclared reference to 'SUCCESS'"),
    ("data.metadata.name", "expected boolean expression, but data.metadata.name is a data"),
    ("data.spec.debug", "expected boolean expression"),
    ("data_type", "expected boolean expression, but got string"),
    ("data.metadata.labels[data.metadata.name] == 'x'", "index"),
    ("data.status.completionTime > timestamp('not a time')", "not a time"),
    ("data.status.completionTime > timestamp('1612305452')", "not a time"),
    ("data.metadata.name ==", "end of the filter"),
    ("data.metadata.name == 'x' )", "')'"),
    ("data.metadata.name = 'x'", "'='"),
    ("data.metadata.name == 'x", "unterminated"),
    ("data.metadata.name == 'x' # y", "'#'"),
    ("data.metadata.name.startsWith(1)", "found no matching overload for 'startsWith'"),
    ("data_type.startsWith(1)", "applied to 'string.(int)'"),
    ("name == 1", "found no matching overload for '_==_' applied to '(string, int)'"),
    ("has(name)", "invalid argument to has() macro"),
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
        ("data_type == TASK_RUN", "undeclared reference to 'data_type'"),
        ("data.metadata.name == 'x'", "undeclared reference to 'data'"),
        ("id == 'x'", "undeclared reference to 'id'"),
        ("summary.status == 'SUCCESS'", "applied to '(int, string)'"),
        ("create_time > '2026-03-01T00:00:00Z'", "(google.protobuf.Timestamp, string)"),
        ("annotations.contains('x')", "applied to 'map(string, string).(string)'"),
        ("annotations.repo == 'x'", "unsupported CEL select statement at line 1, column 11"),
        ("summary.annotations.branch == 'x'", "summary: not recognized field"),
        ("summary.nosuch == 'x'", "undefined field 'nosuch'"),
        ("summary.status", "expected boolean expression, but got int"),
        ("summary", "but got tekton.results.v1alpha2.RecordSummary"),
        ("has(summary.record)", "has() is supported for data fields only"),
    ],
)
def test_cel_results_scope_is_results_environment(cel, named):
    with pytest.raises(CelError, match=re.escape(named)):
        translate(cel, RESULTS, Params())


@pytest.mark.parametrize(
    ("cel", "named"),
    [
        ("parent == 'ci'", "undeclared reference to 'parent'"),
        ("data_type == PIPELINE_RUN", "undeclared reference to 'PIPELINE_RUN'"),
        ("data.status.completionTime > timestamp('2023-01-01T00:00:00Z')", "no such key"),
        ("data.metadata.name", "expected boolean expression"),
    ],
)
def test_cel_logs_scope_is_the_logs_list_environment(cel, named):
    with pytest.raises(CelError, match=re.escape(named)):
        translate(cel, LOGS, Params())
    assert translate("data.status.isStored && data.status.size > 0", LOGS, Params())


@pytest.mark.parametrize(
    ("literal", "expected"),
    [
        ("2021-02-02T22:37:32Z", datetime(2021, 2, 2, 22, 37, 32, tzinfo=UTC)),
        ("2022/10/30T21:45:00.000Z", datetime(2022, 10, 30, 21, 45, tzinfo=UTC)),
        ("2021-02-02T22:37:32.123456789Z", datetime(2021, 2, 2, 22, 37, 32, 123456, tzinfo=UTC)),
        ("2021-02-02T22:37:32+05:30", datetime(2021, 2, 2, 17, 7, 32, tzinfo=UTC)),
        ("2021-02-02 22:37:32", datetime(2021, 2, 2, 22, 37, 32, tzinfo=UTC)),
        ("2021-02-02", datetime(2021, 2, 2, tzinfo=UTC)),
        ("20210202T223732Z", datetime(2021, 2, 2, 22, 37, 32, tzinfo=UTC)),
        ("Feb 2 2021 22:37", datetime(2021, 2, 2, 22, 37, tzinfo=UTC)),
        ("02/03/2021", datetime(2021, 2, 3, tzinfo=UTC)),
        ("epoch", datetime(1970, 1, 1, tzinfo=UTC)),
        ("today", datetime(2026, 3, 1, tzinfo=UTC)),
        ("yesterday", datetime(2026, 2, 28, tzinfo=UTC)),
        ("now", T0),
        ("infinity", "infinity"),
    ],
)
def test_cel_timestamp_takes_the_forms_postgresql_takes(literal, expected):
    assert timestamp_literal(literal, now=T0) == expected


@pytest.mark.parametrize("literal", ["not a time", "1612305452", "2021-13-01", "2021"])
def test_cel_timestamp_refuses_what_postgresql_refuses(literal):
    with pytest.raises(ValueError):
        timestamp_literal(literal, now=T0)


@pytest.mark.parametrize(
    ("cel", "types"),
    [
        (
            '(data_type=="tekton.dev/v1.TaskRun" || data_type==TASK_RUN) && name == "x"',
            {"tekton.dev/v1.TaskRun"},
        ),
        ("data_type in [TASK_RUN, 'x'] && data_type == 'x'", {"x"}),
        ('name == "x"', None),
        ('data_type == "a" || name == "x"', None),
        ("", None),
    ],
)
def test_cel_record_types_says_which_types_a_filter_can_match(cel, types):
    assert record_types(cel) == (None if types is None else frozenset(types))

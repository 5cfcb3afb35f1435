import copy
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from layout.schema import SNAPSHOT_COLUMNS
from tests.helpers.rows import as_table
from tests.helpers.tekton import FIXTURES, fixture_files, load_fixture
from webhooks.errors import InvalidInput
from webhooks.normalize import infer_api_version, normalize, parse_time

NOW = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


def index_rows() -> dict[str, dict[str, str]]:
    """INDEX.md's table, by file name, so the expectations stay the fixtures' own."""
    lines = (FIXTURES / "INDEX.md").read_text().splitlines()
    table = [line for line in lines if line.startswith("|")]
    header = [cell.strip() for cell in table[0].strip("|").split("|")]
    rows = {}
    for line in table[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        rows[cells[0]] = dict(zip(header, cells, strict=True))
    return rows


INDEX = index_rows()


def run_of(name: str) -> tuple[dict, str | None]:
    """The run in a fixture, and the kind hint a CloudEvent body's key gives."""
    document = load_fixture(name)
    if "taskRun" in document:
        return document["taskRun"], "TaskRun"
    return document, None


def norm(obj: dict, **kwargs) -> dict:
    return normalize(obj, received_at=NOW, event_id="ev", source="watcher", **kwargs)


def minimal(**changes) -> dict:
    obj = {
        "apiVersion": "tekton.dev/v1",
        "kind": "TaskRun",
        "metadata": {"uid": "u-1", "namespace": "ns", "name": "tr"},
    }
    obj.update(changes)
    return obj


def problems_of(obj, **kwargs) -> list[str]:
    with pytest.raises(InvalidInput) as caught:
        norm(obj, **kwargs)
    return caught.value.errors


def test_normalize_index_lists_every_fixture():
    assert sorted(INDEX) == [path.name for path in fixture_files()]


@pytest.mark.parametrize("name", sorted(INDEX))
def test_normalize_fixture_status(name):
    expected = INDEX[name]
    obj, kind = run_of(name)
    row = norm(obj, kind=kind)
    assert expected["kind"].startswith(row["kind"])
    assert row["status"] == expected["status"]
    assert row["reason"] == (None if expected["reason"] == "(none)" else expected["reason"])
    if expected["apiVersion"] != "(none)":
        assert row["api_version"] == expected["apiVersion"]


@pytest.mark.parametrize("name", sorted(INDEX))
def test_normalize_fixture_columns(name):
    obj, kind = run_of(name)
    row = norm(obj, kind=kind)
    assert tuple(row) == SNAPSHOT_COLUMNS
    metadata = obj["metadata"]
    assert (row["uid"], row["namespace"], row["name"]) == (
        metadata["uid"],
        metadata["namespace"],
        metadata["name"],
    )
    assert row["labels"] == metadata.get("labels", {})
    assert row["annotations"] == metadata.get("annotations", {})
    assert json.loads(row["object"]) == obj
    assert row["received_at"] == NOW
    for column in ("created_at", "started_at", "completed_at"):
        assert row[column] is None or row[column].utcoffset() == timedelta(0)


def test_normalize_fixture_rows_fit_the_arrow_schema():
    runs = [run_of(path.name) for path in fixture_files()]
    rows = [norm(obj, kind=kind) for obj, kind in runs]
    table = as_table(rows)
    assert table.num_rows == len(rows)


def test_normalize_times_and_duration():
    row = norm(load_fixture("025_PipelineRun_konflux-go-sample-pipelineruntimeout-v1beta1.json"))
    assert row["created_at"] == datetime(2022, 7, 5, 14, 15, 26, tzinfo=UTC)
    assert row["started_at"] == datetime(2022, 7, 5, 14, 15, 28, tzinfo=UTC)
    assert row["completed_at"] == datetime(2022, 7, 5, 15, 15, 29, tzinfo=UTC)
    assert row["duration_seconds"] == 3601.0


def test_normalize_unfinished_run_has_no_duration():
    row = norm(load_fixture("016_TaskRun_experimental-echo-incomplete.json"))
    assert row["started_at"] == datetime(2020, 8, 27, 15, 21, 37, tzinfo=UTC)
    assert row["completed_at"] is None
    assert row["duration_seconds"] is None


def test_normalize_labels_give_pipeline_and_task_columns():
    row = norm(load_fixture("004_TaskRun_ec-nodejs-build-container.json"))
    assert (row["pipeline"], row["task"], row["pipeline_task"]) == (
        "nodejs-builder",
        "s2i-nodejs",
        "build-container",
    )
    assert row["pipeline_run"] == "nodejs-builder-2022-04-12-002742"
    assert row["resource_version"] == "2605438"


def test_normalize_cluster_task_label_fills_task():
    obj = minimal()
    obj["metadata"]["labels"] = {"tekton.dev/clusterTask": "git-clone"}
    assert norm(obj)["task"] == "git-clone"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-06T07:08:09Z", datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)),
        ("2024-05-06T07:08:09.123456789Z", datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)),
        ("2024-05-06T09:08:09.5+02:00", datetime(2024, 5, 6, 7, 8, 9, 500000, tzinfo=UTC)),
        ("2024-05-06t07:08:09z", datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)),
        (
            datetime(2024, 5, 6, 9, 8, 9, tzinfo=timezone(timedelta(hours=2))),
            datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC),
        ),
        (None, None),
    ],
)
def test_normalize_parse_time(text, expected):
    parsed = parse_time(text)
    assert parsed == expected
    assert parsed is None or parsed.tzinfo == UTC


@pytest.mark.parametrize(
    "text", ["yesterday", "2024-05-06", "2024-05-06T07:08:09", "2024-13-06T07:08:09Z", 1714979289]
)
def test_normalize_parse_time_rejects(text):
    with pytest.raises(ValueError):
        parse_time(text)


def test_normalize_duration_with_offsets_and_fractions():
    obj = minimal(
        status={
            "startTime": "2024-05-06T09:00:00.25+02:00",
            "completionTime": "2024-05-06T07:00:10.75Z",
        }
    )
    assert norm(obj)["duration_seconds"] == 10.5


def test_normalize_collects_every_problem():
    obj = {
        "apiVersion": "tekton.dev/v1",
        "kind": "TaskRun",
        "metadata": {
            "name": "tr",
            "namespace": 7,
            "labels": {"a": "b", "team": 3},
            "annotations": ["x"],
            "creationTimestamp": "soon",
        },
        "status": {"startTime": "2024-05-06", "conditions": "done"},
    }
    assert problems_of(obj) == [
        "metadata.uid is missing",
        "metadata.namespace is a number, not a string",
        "metadata.labels['team'] is a number, not a string",
        "metadata.annotations is an array, not an object",
        "metadata.creationTimestamp 'soon' is not an RFC 3339 time",
        "status.startTime '2024-05-06' is not an RFC 3339 time",
        "status.conditions is a string, not an array",
    ]


def test_normalize_missing_metadata_means_missing_uid():
    assert problems_of({"kind": "TaskRun"}) == ["metadata.uid is missing"]


def test_normalize_metadata_not_an_object():
    assert problems_of({"kind": "TaskRun", "metadata": []}) == [
        "metadata is an array, not an object",
        "metadata.uid is missing",
    ]


def test_normalize_not_an_object():
    assert problems_of([]) == ["the run is an array, not an object"]


def test_normalize_absent_namespace_is_null():
    obj = minimal()
    del obj["metadata"]["namespace"]
    assert norm(obj)["namespace"] is None


def test_normalize_resource_version_number_becomes_string():
    obj = minimal()
    obj["metadata"]["resourceVersion"] = 12345
    assert norm(obj)["resource_version"] == "12345"


@pytest.mark.parametrize("kind", ["Pod", "List", "Run"])
def test_normalize_other_kinds_are_rejected(kind):
    assert problems_of(minimal(kind=kind)) == [
        f"kind {kind!r} is not one of TaskRun, PipelineRun, CustomRun"
    ]


def test_normalize_non_tekton_api_version_is_rejected():
    assert problems_of(minimal(apiVersion="argoproj.io/v1alpha1")) == [
        "apiVersion 'argoproj.io/v1alpha1' is not a tekton.dev version"
    ]


def test_normalize_kind_cannot_be_inferred():
    obj = {"metadata": {"uid": "u"}, "status": {}}
    assert problems_of(obj) == ["kind is missing and cannot be inferred"]


def test_normalize_kind_inferred_from_shape():
    taskrun = norm(load_fixture("034_TaskRun_chains-taskrun1-provenance-refsource.json"))
    pipelinerun = norm(load_fixture("035_PipelineRun_chains-pipelinerun-childrefs.json"))
    customrun = norm({"metadata": {"uid": "u"}, "spec": {"customRef": {"kind": "Wait"}}})
    assert (taskrun["kind"], pipelinerun["kind"], customrun["kind"]) == (
        "TaskRun",
        "PipelineRun",
        "CustomRun",
    )
    # v1-only fields (status.results, spec.taskRunTemplate) and no v1beta1-only ones.
    assert taskrun["api_version"] == pipelinerun["api_version"] == "tekton.dev/v1"
    assert customrun["api_version"] == "tekton.dev/v1beta1"


def test_normalize_kind_inference_ignores_a_nested_copy_in_spec():
    obj = copy.deepcopy(load_fixture("026_PipelineRun_konflux-cancelledrunfinally-hybrid.json"))
    del obj["kind"]
    assert norm(obj)["kind"] == "PipelineRun"


def test_normalize_conflicting_shape_is_not_guessed():
    obj = {"metadata": {"uid": "u"}, "spec": {"taskRef": {}, "pipelineRef": {}}}
    assert problems_of(obj) == [
        "kind is missing and cannot be inferred (it has fields of PipelineRun and TaskRun)"
    ]


def test_normalize_hints_apply_only_when_absent():
    obj = minimal()
    assert norm(obj, kind="PipelineRun", api_version="tekton.dev/v1beta1")["kind"] == "TaskRun"
    assert norm(obj, api_version="tekton.dev/v1beta1")["api_version"] == "tekton.dev/v1"
    del obj["apiVersion"], obj["kind"]
    row = norm(obj, kind="PipelineRun", api_version="tekton.dev/v1beta1")
    assert (row["kind"], row["api_version"]) == ("PipelineRun", "tekton.dev/v1beta1")


@pytest.mark.parametrize(
    ("kind", "spec", "status", "expected"),
    [
        ("PipelineRun", {"serviceAccountName": "sa"}, {}, "tekton.dev/v1beta1"),
        ("PipelineRun", {}, {"taskRuns": {}}, "tekton.dev/v1beta1"),
        ("PipelineRun", {"taskRunTemplate": {}}, {}, "tekton.dev/v1"),
        ("PipelineRun", {"taskRunTemplate": {}}, {"taskRuns": {}}, None),
        ("PipelineRun", {}, {"childReferences": []}, None),
        ("TaskRun", {"serviceAccountName": "sa"}, {}, None),
        ("TaskRun", {}, {"taskResults": []}, "tekton.dev/v1beta1"),
        ("TaskRun", {}, {"results": []}, "tekton.dev/v1"),
    ],
)
def test_normalize_infer_api_version(kind, spec, status, expected):
    assert infer_api_version(kind, spec, status) == expected


def test_normalize_object_is_compact_json_as_received():
    obj = minimal(spec={"params": [{"name": "greeting", "value": "grüße"}]})
    row = norm(obj)
    assert row["object"] == json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    assert "grüße" in row["object"]


def test_normalize_event_fields_and_received_at_in_utc():
    local = datetime(2025, 1, 2, 5, 4, 5, tzinfo=timezone(timedelta(hours=2)))
    row = normalize(
        minimal(),
        received_at=local,
        event_id="id-1",
        source="cloudevent",
        event_type="dev.tekton.event.taskrun.started.v1",
    )
    assert (row["event_id"], row["source"], row["event_type"]) == (
        "id-1",
        "cloudevent",
        "dev.tekton.event.taskrun.started.v1",
    )
    assert row["received_at"] == NOW and row["received_at"].tzinfo == UTC


def test_normalize_cluster_is_what_the_caller_passes_never_the_object():
    obj = minimal()
    obj["metadata"]["labels"] = {"cluster": "from-a-label"}
    obj["metadata"]["clusterName"] = "from-metadata"  # a field older Kubernetes had
    assert norm(obj)["cluster"] == "default"
    assert norm(obj, cluster="prod-eu")["cluster"] == "prod-eu"
    assert as_table([norm(obj, cluster="prod-eu")]).column("cluster").to_pylist() == ["prod-eu"]


def test_normalize_object_text_is_what_json_writes_for_every_fixture():
    # orjson writes it now; it must be byte for byte what json.dumps wrote before.
    compared = 0
    for path in fixture_files():
        obj, kind = run_of(path.name)
        try:
            row = norm(obj, kind=kind)
        except InvalidInput:
            continue  # the fixtures of malformed objects
        assert row["object"] == json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
        compared += 1
    assert compared >= 20


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"big": 2**70}, '"big":1180591620717411303424'),
        ({"keys": {1: "one"}}, '"keys":{"1":"one"}'),
        ({"when": datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)}, '"when":"2025-01-02T03:04:05Z"'),
    ],
)
def test_normalize_object_text_of_python_built_values_as_json_writes_them(extra, expected):
    obj = minimal(spec={"params": [], **extra})
    assert expected in norm(obj)["object"]


def test_normalize_refuses_nan_and_infinity_even_beside_a_null():
    for value in (float("nan"), float("inf")):
        obj = minimal(spec={"timeout": None, "ratio": [value]})
        with pytest.raises(InvalidInput, match="cannot be stored as JSON"):
            norm(obj)

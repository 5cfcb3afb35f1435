"""The Tekton Results v1alpha2 REST API over an archive built from the demo generator and
the real Tekton fixtures: the shapes a Results client expects (tektoncd/results'
proto/v1alpha2/resources.proto, JSON with proto names), naming, paging, wildcards, CEL
filters, record summaries, logs, token confinement and grpc-gateway errors."""

from __future__ import annotations

import base64
import copy
import gzip
import json
import re
import uuid
from collections import Counter
from datetime import UTC, datetime

import pytest

from ingest.archive import import_objects
from layout.keys import log_key
from layout.store import LocalStore
from query.http.app import create_app
from runlake.demo import demo_step_log, generate
from tests.helpers.stages import materialize
from tests.helpers.tekton import fixture_index, fixture_object

P = "/apis/results.tekton.dev/v1alpha2/parents"
NOW = datetime(2026, 3, 1, tzinfo=UTC)
STATUS = {
    "Succeeded": "SUCCESS",
    "Failed": "FAILURE",
    "TimedOut": "TIMEOUT",
    "Cancelled": "CANCELLED",
}


def _owner(obj: dict) -> str | None:
    for ref in obj["metadata"].get("ownerReferences") or []:
        if ref.get("kind") == "PipelineRun":
            return ref["uid"]
    return None


def _result_of(obj: dict) -> str:
    return (
        obj["metadata"]["uid"]
        if obj["kind"] == "PipelineRun"
        else (_owner(obj) or obj["metadata"]["uid"])
    )


def _condition(obj: dict) -> dict:
    return next(
        (c for c in obj.get("status", {}).get("conditions", []) if c.get("type") == "Succeeded"), {}
    )


class Archive:
    def __init__(self, root: str) -> None:
        self.store = LocalStore(root)
        objects = list(generate(150, seed=11, now=NOW))
        # One child TaskRun known to its PipelineRun only by the tekton.dev/pipelineRun label.
        self.label_only = copy.deepcopy(next(o for o in objects if _owner(o)))
        self.label_only_result = _owner(self.label_only)
        del self.label_only["metadata"]["ownerReferences"]
        self.label_only["metadata"]["uid"] = "label-only-0000"
        self.label_only["metadata"]["name"] += "-label"
        objects.append(self.label_only)
        import_objects(self.store, objects)
        self.objects = {o["metadata"]["uid"]: o for o in objects}
        self.result_of = {uid: _result_of(o) for uid, o in self.objects.items()}
        self.result_of["label-only-0000"] = self.label_only_result
        # Step logs for the first few finished TaskRuns with steps.
        self.logs: dict[str, dict[str, str]] = {}
        for obj in objects:
            steps = obj.get("status", {}).get("steps") or []
            if obj["kind"] != "TaskRun" or not steps or len(self.logs) == 4:
                continue
            ns, uid = obj["metadata"]["namespace"], obj["metadata"]["uid"]
            self.logs[uid] = {}
            for step in steps:
                text = demo_step_log(obj, step["name"])
                self.store.write_bytes(log_key(ns, uid, step["name"]), gzip.compress(text.encode()))
                self.logs[uid][step["name"]] = text

    def results(self, namespace: str | None = None) -> set[str]:
        return {
            f"{self.objects[uid]['metadata']['namespace']}/results/{res}"
            for uid, res in self.result_of.items()
            if namespace in (None, self.objects[uid]["metadata"]["namespace"])
        }

    def records(self, result: str) -> set[str]:
        return {uid for uid, res in self.result_of.items() if res == result}


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Archive:
    return Archive(str(tmp_path_factory.mktemp("results-api")))


@pytest.fixture(scope="module")
def client(archive):
    return create_app({"RUNLAKE_STORE": archive.store.root}).test_client()


def _get(client, path, status=200, **params):
    response = client.get(P + path, query_string=params)
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


def _all_pages(client, path, key, **params):
    names, token, pages = [], "", 0
    while True:
        body = _get(client, path, page_size=params.pop("page_size", 7), page_token=token, **params)
        names += [item["name"] for item in body.get(key, [])]
        pages += 1
        token = body.get("next_page_token")
        if not token:
            return names, pages
        params["page_size"] = 7


def _grpc_error(response, status, code):
    """grpc-gateway's error body since Results v0.15: empty `details` left out."""
    body = response.get_json()
    assert response.status_code == status, body
    assert set(body) == {"code", "message"}
    assert body["code"] == code and body["message"]
    return body["message"]


def _stream_error(response, status, code):
    """An error of the streaming log call, as grpc-gateway words it."""
    assert response.status_code == status and response.mimetype == "application/json"
    body = json.loads(response.get_data(as_text=True))
    assert set(body) == {"error"} and body["error"]["code"] == code
    return body["error"]["message"]


def _log_text(obj: dict, texts: dict[str, str], task: str = "") -> str:
    """A TaskRun's step logs as Results stores them: each line prefixed with its step (and
    pipeline task), an empty line after each step."""
    prefix = f"[{task} : {{}}] " if task else "[{}] "
    out = ""
    for step in obj["status"]["steps"]:
        text = texts[step["name"]]
        lines = text.split("\n")
        if lines[-1] == "":
            lines.pop()
        out += "".join(prefix.format(step["name"]) + line + "\n" for line in lines) + "\n"
    return out


# -- results -----------------------------------------------------------------------------


def test_results_api_lists_every_result_once_across_pages(client, archive):
    names, pages = _all_pages(client, "/-/results", "results")
    assert len(names) == len(set(names))
    assert set(names) == archive.results()
    assert pages > 3


def test_results_api_result_names_its_top_run_and_summarizes_it(client, archive):
    body = _get(client, "/-/results", page_size=1000)
    assert "next_page_token" not in body
    for result in body["results"]:
        namespace, _, uid = result["name"].split("/")
        assert result["uid"] == result["id"] == uid
        assert result["create_time"] and result["update_time"] and result["etag"]
        top = archive.objects[uid]
        summary = result["summary"]
        assert summary["record"] == f"{namespace}/results/{uid}/records/{uid}"
        assert summary["type"] == f"{top['apiVersion']}.{top['kind']}"
        status = {"True": "Succeeded"}.get(_condition(top).get("status"))
        if status:
            assert summary["status"] == "SUCCESS"
        assert result["annotations"]["object.metadata.name"] == top["metadata"]["name"]
        if top.get("status", {}).get("completionTime"):
            assert summary["end_time"] == top["status"]["completionTime"]
        assert (
            summary["start_time"] == top["status"]["startTime"]
            if top.get("status", {}).get("startTime")
            else "start_time" not in summary
        )


def test_results_api_get_result_and_unknown_is_not_found(client, archive):
    name = sorted(archive.results("payments"))[0]
    assert _get(client, "/" + name)["name"] == name
    message = _grpc_error(client.get(f"{P}/payments/results/no-such-uid"), 404, 5)
    assert message == "record not found"


def test_results_api_parent_narrows_and_wildcard_spans_namespaces(client, archive):
    names, _ = _all_pages(client, "/previews/results", "results", page_size=1000)
    assert set(names) == archive.results("previews") and names
    assert _get(client, "/nowhere/results") == {}  # an empty list is left out


def test_results_api_results_filter_on_summary_status(client, archive):
    body = _get(
        client,
        "/-/results",
        page_size=1000,
        filter="summary.status == SUCCESS && summary.type == PIPELINE_RUN",
    )
    expected = {
        f"{o['metadata']['namespace']}/results/{uid}"
        for uid, o in archive.objects.items()
        if o["kind"] == "PipelineRun" and _condition(o).get("status") == "True"
    }
    assert {r["name"] for r in body["results"]} == expected and expected


def test_results_api_order_by_create_time_desc(client):
    body = _get(client, "/-/results", page_size=1000, order_by="create_time desc")
    times = [r["create_time"] for r in body["results"]]
    assert times == sorted(times, reverse=True)
    names, _ = _all_pages(client, "/-/results", "results", order_by="create_time desc")
    assert names == [r["name"] for r in body["results"]]


# -- records -----------------------------------------------------------------------------


def test_results_api_records_of_a_result_are_its_run_and_the_runs_it_owns(client, archive):
    result = archive.label_only_result
    namespace = archive.objects[result]["metadata"]["namespace"]
    body = _get(client, f"/{namespace}/results/{result}/records", page_size=1000)
    runs = [r for r in body["records"] if r["data"]["type"] != "results.tekton.dev/v1alpha3.Log"]
    uids = {r["uid"] for r in runs}
    assert uids == archive.records(result)
    logs_of = {
        json.loads(base64.b64decode(r["data"]["value"]))["spec"]["resource"]["uid"]
        for r in body["records"]
        if r not in runs
    }
    assert logs_of <= uids
    assert {result, "label-only-0000"} <= uids
    for record in body["records"]:
        assert record["name"] == f"{namespace}/results/{result}/records/{record['uid']}"


def test_results_api_record_data_is_the_object_in_base64(client, archive):
    uid = next(u for u, o in archive.objects.items() if o["kind"] == "TaskRun")
    obj = archive.objects[uid]
    name = f"{obj['metadata']['namespace']}/results/{archive.result_of[uid]}/records/{uid}"
    record = _get(client, "/" + name)
    assert set(record) >= {"name", "id", "uid", "data", "etag", "create_time", "update_time"}
    assert record["name"] == name and record["data"]["type"] == "tekton.dev/v1.TaskRun"
    stored = json.loads(base64.b64decode(record["data"]["value"]))
    assert stored["metadata"]["uid"] == uid and stored["spec"] == obj["spec"]
    assert record["create_time"] == obj["metadata"]["creationTimestamp"]


def test_results_api_records_across_results_filtered_and_paged(client, archive):
    pipeline = "go-service-ci"
    names, _ = _all_pages(
        client,
        "/-/results/-/records",
        "records",
        filter=f'data.metadata.labels["tekton.dev/pipeline"] == "{pipeline}"'
        " && data_type == TASK_RUN",
    )
    expected = {
        uid
        for uid, o in archive.objects.items()
        if o["kind"] == "TaskRun" and o["metadata"]["labels"].get("tekton.dev/pipeline") == pipeline
    }
    assert len(names) == len(set(names)) and {n.rsplit("/", 1)[1] for n in names} == expected
    assert expected


def test_results_api_records_filter_lists_log_records_exactly_where_they_can_match(client, archive):
    """A filter on what only runs have (a label) lists no Log record; one that a Log record
    can meet (its data_type or its data, beside the label) lists those Log records too."""
    pipeline = "go-service-ci"
    label = f'data.metadata.labels["tekton.dev/pipeline"] == "{pipeline}"'
    runs = {
        uid
        for uid, o in archive.objects.items()
        if o["metadata"]["labels"].get("tekton.dev/pipeline") == pipeline
    }
    log_records = _log_records(client)  # by the run they are the log of
    logs = {r["name"].rsplit("/", 1)[1] for r in log_records.values()}
    taskrun_logs = {
        r["name"].rsplit("/", 1)[1]
        for uid, r in log_records.items()
        if archive.objects[uid]["kind"] == "TaskRun"
    }
    assert runs and taskrun_logs < logs

    def listed(text):
        names, _ = _all_pages(client, "/-/results/-/records", "records", filter=text)
        return {name.rsplit("/", 1)[1] for name in names}

    assert listed(label) == runs
    assert listed(f'{label} || data_type == "results.tekton.dev/v1alpha3.Log"') == runs | logs
    assert listed(f'{label} || data.spec.resource.kind == "TaskRun"') == runs | taskrun_logs


def test_results_api_record_wrong_result_is_not_found(client, archive):
    uid = next(u for u, o in archive.objects.items() if _owner(o))
    namespace = archive.objects[uid]["metadata"]["namespace"]
    _grpc_error(client.get(f"{P}/{namespace}/results/{uid}/records/{uid}"), 404, 5)
    assert _get(client, f"/{namespace}/results/-/records/{uid}")["uid"] == uid


def test_results_api_bad_filter_is_invalid_argument_naming_it(client):
    message = _grpc_error(
        client.get(
            f"{P}/-/results/-/records",
            query_string={
                "filter": "data.status.completionTime - data.status.startTime > duration('5m')"
            },
        ),
        400,
        3,
    )
    assert "found no matching overload for '_-_'" in message
    message = _grpc_error(
        client.get(f"{P}/-/results", query_string={"filter": "size(annotations) > 1"}), 400, 3
    )
    assert message == "unsupported CEL `size` function statement at line 1, column 4"


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"order_by": "name desc"}, "name: field is unknown or cannot be used in the order by"),
        ({"order_by": "create_time desc, update_time"}, "invalid order by statement"),
        ({"page_size": "ten"}, 'parsing field "page_size": strconv.ParseInt: parsing "ten"'),
        ({"page_size": "-1"}, "invalid page size (-1)"),
        ({"page_size": "4"}, "invalid page size (4)"),
        ({"page_size": "10001"}, "invalid page size (10001)"),
        ({"page_token": "not-a-token"}, "invalid page token"),
        ({"page_token": "bm90IGEgdG9rZW4"}, "invalid page token"),  # base64, not a token
    ],
)
def test_results_api_bad_paging_is_invalid_argument(client, params, named):
    assert named in _grpc_error(client.get(f"{P}/-/results/-/records", query_string=params), 400, 3)


def test_results_api_page_token_of_another_query_is_refused(client):
    token = _get(client, "/-/results/-/records", page_size=5)["next_page_token"]
    assert token
    message = _grpc_error(
        client.get(
            f"{P}/-/results/-/records",
            query_string={"page_size": 5, "page_token": token, "filter": "parent == 'ci'"},
        ),
        400,
        3,
    )
    assert "the provided filter differs from the filter used in the previous query" in message


# -- summary -----------------------------------------------------------------------------


def test_results_api_record_summary_groups_by_pipeline(client, archive):
    body = _get(
        client,
        "/-/results/-/records/summary",
        summary="total,succeeded,failed,avg_duration,last_runtime",
        group_by="pipeline",
        filter="data_type == PIPELINE_RUN",
        order_by="DESC total",
    )
    expected = Counter(
        f"{o['metadata']['namespace']}/{o['metadata']['labels'].get('tekton.dev/pipeline', '')}"
        for o in archive.objects.values()
        if o["kind"] == "PipelineRun"
    )
    groups = body["summary"]
    assert {g["group_value"]: g["total"] for g in groups} == dict(expected)
    assert [g["total"] for g in groups] == sorted((g["total"] for g in groups), reverse=True)
    for group in groups:
        assert set(group) == {
            "total",
            "succeeded",
            "failed",
            "avg_duration",
            "last_runtime",
            "group_value",
        }
        if group["avg_duration"] is not None:
            assert len(group["avg_duration"].split(":")) == 3


def test_results_api_record_summary_total_and_time_groups(client, archive):
    # As in Results, the records are the runs and the Log records.
    logs = _get(client, "/-/results/-/logs", page_size=1000)["records"]
    total = _get(client, "/-/results/-/records/summary")["summary"]
    assert total == [{"total": len(archive.objects) + len(logs)}]
    runs = _get(
        client,
        "/-/results/-/records/summary",
        filter="data_type in [TASK_RUN, PIPELINE_RUN, 'tekton.dev/v1beta1.TaskRun', "
        "'tekton.dev/v1beta1.PipelineRun', 'tekton.dev/v1beta1.CustomRun']",
    )["summary"]
    assert runs == [{"total": len(archive.objects)}]
    days = _get(client, "/-/results/-/records/summary", group_by="day")["summary"]
    assert sum(g["total"] for g in days) == len(archive.objects) + len(logs)
    assert all(g["group_value"] % 86400 == 0 for g in days)


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"summary": "total,bogus"}, "bogus"),
        ({"group_by": "color"}, "color"),
        ({"group_by": "day finishTime"}, "finishTime"),
        ({"group_by": "namespace", "order_by": "DESC failed"}, "field name failed"),
        ({"group_by": "namespace", "order_by": "total"}, "order_by does not recognize total"),
    ],
)
def test_results_api_record_summary_refuses_unknown_fields(client, params, named):
    assert named in _grpc_error(
        client.get(f"{P}/-/results/-/records/summary", query_string=params), 400, 3
    )


# -- logs --------------------------------------------------------------------------------


def _log_records(client, path="/-/results/-/logs"):
    """Log records by the run they are the log of."""
    names, _ = _all_pages(client, path, "records", page_size=3)
    records = _get(client, path, page_size=1000)["records"]
    assert sorted(names) == sorted(r["name"] for r in records)
    return {
        json.loads(base64.b64decode(r["data"]["value"]))["spec"]["resource"]["uid"]: r
        for r in records
    }


def test_results_api_logs_list_and_content(client, archive):
    logs = _log_records(client)
    # A Log record for each TaskRun with stored logs, and for each PipelineRun owning one.
    owners = {archive.result_of[uid] for uid in archive.logs} - set(archive.logs)
    assert set(logs) == set(archive.logs) | owners
    uid, steps = next(iter(archive.logs.items()))
    obj = archive.objects[uid]
    record = logs[uid]
    assert record["data"]["type"] == "results.tekton.dev/v1alpha3.Log"
    log = json.loads(base64.b64decode(record["data"]["value"]))
    assert log["kind"] == "Log" and log["apiVersion"] == "results.tekton.dev/v1alpha3"
    assert log["spec"]["resource"] == {
        "kind": "TaskRun",
        "namespace": obj["metadata"]["namespace"],
        "name": obj["metadata"]["name"],
        "uid": uid,
    }
    assert log["status"]["isStored"] is True
    assert log["status"]["size"] == sum(len(t.encode()) for t in steps.values())
    # Named as Results' watcher names it: UUIDv3 of the run's uid in the result's.
    result = archive.result_of[uid]
    log_uid = str(uuid.uuid3(uuid.UUID(result), uid))
    assert record["name"] == f"{obj['metadata']['namespace']}/results/{result}/logs/{log_uid}"
    assert log["metadata"] == {
        "name": obj["metadata"]["name"] + "-log",
        "namespace": obj["metadata"]["namespace"],
        "uid": log_uid,
        "creationTimestamp": None,
    }
    # The content by the Log record's name and by the run's record name, in Results' format.
    for name in (record["name"], record["name"].replace(log_uid, uid)):
        response = client.get(f"{P}/{name}")
        assert response.status_code == 200 and response.mimetype == "text/plain"
        assert response.get_data(as_text=True) == _log_text(obj, steps)
    # The Log record is a record too.
    as_record = _get(client, "/" + record["name"].replace("/logs/", "/records/"))
    assert as_record["data"] == record["data"]


def test_results_api_pipelinerun_log_is_its_taskruns_logs(client, archive):
    uid = next(u for u in archive.logs if archive.result_of[u] != u)
    pipeline_run = archive.objects[archive.result_of[uid]]
    ns, pr_uid = pipeline_run["metadata"]["namespace"], pipeline_run["metadata"]["uid"]
    response = client.get(f"{P}/{ns}/results/{pr_uid}/logs/{pr_uid}")
    assert response.status_code == 200
    expected = "".join(
        _log_text(archive.objects[child], archive.logs[child], task)
        for child, task in sorted(
            (
                (u, archive.objects[u]["metadata"]["labels"]["tekton.dev/pipelineTask"])
                for u in archive.logs
                if archive.result_of[u] == pr_uid and u != pr_uid
            ),
            key=lambda pair: archive.objects[pair[0]]["status"]["startTime"],
        )
    )
    assert response.get_data(as_text=True) == expected


def test_results_api_log_of_a_run_without_logs_is_not_found(client, archive):
    uid = next(
        u for u, o in archive.objects.items() if u not in archive.logs and o["kind"] == "TaskRun"
    )
    obj = archive.objects[uid]
    path = f"{P}/{obj['metadata']['namespace']}/results/{archive.result_of[uid]}/logs/{uid}"
    assert _stream_error(client.get(path), 404, 5) == "record not found"
    assert _stream_error(client.get(path + "x"), 404, 5) == "record not found"


# -- tenancy -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def confined(archive):
    return create_app(
        {"RUNLAKE_STORE": archive.store.root, "RUNLAKE_QUERY_TOKENS": "pay=payments;all=*"}
    ).test_client()


def test_results_api_token_confines_wildcards_to_its_namespaces(confined, archive):
    auth = {"Authorization": "Bearer pay"}
    body = confined.get(f"{P}/-/results?page_size=1000", headers=auth).get_json()
    assert {r["name"] for r in body["results"]} == archive.results("payments")
    records = confined.get(f"{P}/-/results/-/records?page_size=1000", headers=auth).get_json()
    assert {r["name"].split("/")[0] for r in records["records"]} == {"payments"}
    summary = confined.get(
        f"{P}/-/results/-/records/summary?group_by=namespace", headers=auth
    ).get_json()["summary"]
    assert [g["group_value"] for g in summary] == ["payments"]
    everything = confined.get(
        f"{P}/-/results?page_size=1000", headers={"Authorization": "Bearer all"}
    ).get_json()
    assert {r["name"] for r in everything["results"]} == archive.results()


def test_results_api_other_namespaces_are_denied_alike_whether_they_exist_or_not(confined, archive):
    """Results answers Unauthenticated (401, code 16) for a namespace RBAC refuses."""
    auth = {"Authorization": "Bearer pay"}
    uid = next(iter(archive.logs))
    obj = archive.objects[uid]
    ns, result = obj["metadata"]["namespace"], archive.result_of[uid]
    assert ns != "payments"
    answers = [
        confined.get(P + path, headers=auth)
        for path in (
            f"/{ns}/results",
            "/no-such-ns/results",
            f"/{ns}/results/{result}",
            f"/{ns}/results/{result}/records/{uid}",
            f"/{ns}/results/-/records/summary",
            f"/{ns}/results/{result}/logs",
        )
    ]
    assert {(a.status_code, a.get_data()) for a in answers} == {(401, answers[0].get_data())}
    assert _grpc_error(answers[0], 401, 16) == "permission denied"
    log = confined.get(f"{P}/{ns}/results/{result}/logs/{uid}", headers=auth)
    assert _stream_error(log, 401, 16) == "permission denied"


def test_results_api_missing_or_wrong_token_is_unauthenticated(confined):
    _grpc_error(confined.get(f"{P}/-/results"), 401, 16)
    _grpc_error(confined.get(f"{P}/-/results", headers={"Authorization": "Bearer nope"}), 401, 16)


# -- the real fixtures -------------------------------------------------------------------


def test_results_api_real_fixtures_type_and_status(tmp_path):
    store = LocalStore(str(tmp_path))
    index = fixture_index()
    objects = {name: fixture_object(name) for name in index}
    import_objects(store, objects.values())
    client = create_app({"RUNLAKE_STORE": str(tmp_path)}).test_client()
    records = _get(client, "/-/results/-/records", page_size=1000)["records"]
    by_uid = {r["uid"]: r for r in records}
    # Some fixtures are one run in two versions (same uid): the archive keeps one of them.
    uids = Counter(o["metadata"]["uid"] for o in objects.values())
    assert set(by_uid) == set(uids)
    for name, row in index.items():
        uid = objects[name]["metadata"]["uid"]
        if uids[uid] > 1:
            continue
        data_type = by_uid[uid]["data"]["type"]
        if objects[name].get("apiVersion"):
            assert data_type == f"{objects[name]['apiVersion']}.{row['kind']}", name
        else:  # the version ingest inferred, and the kind
            assert re.fullmatch(rf"tekton\.dev/v1(beta1)?\.{row['kind']}", data_type), name
    results = _get(client, "/-/results", page_size=1000)["results"]
    for result in results:
        summary = result.get("summary")
        if summary is None:
            continue  # a result whose top-level PipelineRun is not among the fixtures
        if uids[result["uid"]] > 1:
            continue
        name = next(n for n, o in objects.items() if o["metadata"]["uid"] == result["uid"])
        # UNKNOWN is the enum's zero, which protojson leaves out.
        assert summary.get("status", "UNKNOWN") == STATUS.get(index[name]["status"], "UNKNOWN"), (
            name
        )


# -- errors from the store ---------------------------------------------------------------


def test_results_api_log_streams_from_s3(s3_store, moto_s3):
    obj = next(
        o
        for o in generate(12, seed=4, now=NOW)
        if o["kind"] == "TaskRun" and o.get("status", {}).get("steps")
    )
    import_objects(s3_store, [obj])
    ns, uid = obj["metadata"]["namespace"], obj["metadata"]["uid"]
    step = obj["status"]["steps"][0]["name"]
    text = "line one\n" + "x" * 200_000 + "\nlast line without newline"
    s3_store.write_bytes(log_key(ns, uid, step), gzip.compress(text.encode()))
    client = create_app(
        {"RUNLAKE_STORE": s3_store.url, "RUNLAKE_S3_ENDPOINT": moto_s3.endpoint}
    ).test_client()
    listed = _get(client, f"/{ns}/results/-/logs")["records"]
    log = json.loads(base64.b64decode(listed[0]["data"]["value"]))
    assert len(listed) == 1 and log["spec"]["resource"]["uid"] == uid
    response = client.get(f"{P}/{listed[0]['name']}")
    lines = text.split("\n")
    assert response.get_data(as_text=True) == "".join(f"[{step}] {line}\n" for line in lines) + "\n"


def test_results_api_store_unreachable_is_unavailable(s3_store, moto_s3):
    import_objects(s3_store, list(generate(5, seed=2, now=NOW)))
    app = create_app({"RUNLAKE_STORE": s3_store.url, "RUNLAKE_S3_ENDPOINT": moto_s3.endpoint})
    client = app.test_client()
    assert client.get(f"{P}/-/results").status_code == 200
    app.extensions.pop("runlake.engine").close()  # a fresh process meeting the outage
    moto_s3.stop()
    try:
        response = client.get(f"{P}/-/results")
    finally:
        moto_s3.start()
    _grpc_error(response, 503, 14)
    assert response.headers["Retry-After"]


def test_results_api_bad_names_and_regex_are_invalid_argument(client):
    assert "name must match" in _grpc_error(client.get(f"{P}/Not_A_Namespace/results"), 400, 3)
    assert "name must match" in _grpc_error(client.get(f"{P}/ci/results/UPPER/records"), 400, 3)
    message = _grpc_error(
        client.get(
            f"{P}/-/results/-/records", query_string={"filter": 'data.metadata.name.matches("(")'}
        ),
        400,
        3,
    )
    assert "filter" in message


@pytest.mark.parametrize(
    "path",
    [
        "/apis/results.tekton.dev/v1alpha2/parents/ci/results/r/records/x/extra",
        "/apis/results.tekton.dev/v1alpha2/nothing",
        "/apis/results.tekton.dev/v1alpha3/parents/ci/results",
        "/apis/results.tekton.dev/v1alpha2/parents/ci/results/",
    ],
)
def test_results_api_unknown_path_is_grpc_not_found(client, path):
    assert _grpc_error(client.get(path), 404, 5) == "Not Found"


def test_results_api_wrong_method_is_grpc_unimplemented(client):
    response = client.post(f"{P}/ci/results/-/records", json={})
    assert _grpc_error(response, 405, 12) == "Method Not Allowed"
    assert "GET" in response.headers["Allow"]
    # Outside the Results API the service's own shape stays.
    assert set(client.get("/v1/nothing").get_json()) == {"error", "errors", "status"}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"pageSize": "5"}, 5),
        ({"page_size": "6"}, 6),
        ({}, 50),
        ({"page_size": "0"}, 50),
    ],
)
def test_results_api_takes_proto_and_json_parameter_names(client, params, expected):
    body = _get(client, "/-/results/-/records", **params)
    assert len(body["records"]) == expected


def test_results_api_camel_case_order_and_token(client):
    first = _get(client, "/-/results", pageSize=5, orderBy="create_time desc")
    second = _get(
        client,
        "/-/results",
        pageSize=5,
        orderBy="create_time desc",
        pageToken=first["next_page_token"],
    )
    times = [r["create_time"] for r in first["results"] + second["results"]]
    assert (
        times == sorted(times, reverse=True)
        and len(set(r["name"] for r in first["results"] + second["results"])) == 10
    )


def test_results_api_repeated_parameter_is_refused(client):
    response = client.get(f"{P}/-/results/-/records?page_size=5&page_size=6")
    assert _grpc_error(response, 400, 3) == 'too many values for field "page_size": 5, 6'


@pytest.mark.parametrize("field", ["summary.start_time", "summary.end_time"])
def test_results_api_results_order_by_summary_times(client, field):
    names, _ = _all_pages(client, "/-/results", "results", order_by=f"{field} desc")
    body = _get(client, "/-/results", page_size=1000, order_by=f"{field} desc")
    assert names == [r["name"] for r in body["results"]]
    key = field.split(".")[1]
    times = [r["summary"].get(key) for r in body["results"] if "summary" in r]
    present = [t for t in times if t is not None]
    assert present == sorted(present, reverse=True)
    assert times[len(present) :] == [None] * (len(times) - len(present))  # unset ones last


def test_results_api_records_order_by_summary_time_is_refused(client):
    message = _grpc_error(
        client.get(f"{P}/-/results/-/records", query_string={"order_by": "summary.end_time"}),
        400,
        3,
    )
    assert message.startswith("summary.end_time: field is unknown")
    assert "<create_time|update_time> [asc|desc]" in message


def test_results_api_fields_keeps_only_the_listed_fields(client, archive):
    body = _get(
        client,
        "/-/results/-/records",
        page_size=5,
        filter="data_type == TASK_RUN",
        fields="records.name, records.data.value.metadata.name,records.data.value.status.podName",
    )
    assert set(body) == {"records"}  # next_page_token is not listed
    for record in body["records"]:
        assert set(record) == {"name", "data"} and set(record["data"]) == {"value"}
        value = json.loads(base64.b64decode(record["data"]["value"]))
        uid = record["name"].rsplit("/", 1)[1]
        assert value == {
            "metadata": {"name": archive.objects[uid]["metadata"]["name"]},
            "status": {"podName": archive.objects[uid]["status"].get("podName")},
        }
    result = _get(client, "/-/results", page_size=5, fields="results.summary.status,results.uid")
    assert all(set(r) <= {"uid", "summary"} for r in result["results"])
    assert all(set(r.get("summary", {})) <= {"status"} for r in result["results"])
    summary = _get(client, "/-/results/-/records/summary", fields="summary")
    assert set(summary) == {"summary"}


def test_results_api_a_run_known_by_its_label_joins_its_pipelinerun_whenever_it_arrives(
    tmp_path,
):
    # A store of runs stored with their ownerReferences answers without the join by label;
    # a run stored without them, arriving later, is still a record of its PipelineRun's
    # result: from the inbox, and from the table once materialized.
    store = LocalStore(str(tmp_path))
    objects = list(generate(40, seed=5, now=NOW))
    import_objects(store, objects)
    materialize(store)
    client = create_app({"RUNLAKE_STORE": store.root}).test_client()
    child = copy.deepcopy(next(o for o in objects if _owner(o)))
    result, namespace = _owner(child), child["metadata"]["namespace"]
    path = f"/{namespace}/results/{result}/records"
    before = {r["uid"] for r in _get(client, path, page_size=1000)["records"]}
    assert result in before
    del child["metadata"]["ownerReferences"]
    child["metadata"]["uid"], child["metadata"]["name"] = "label-later-0000", "label-later"
    import_objects(store, [child])
    for stage in ("inbox", "table"):
        if stage == "table":
            materialize(store)
        records = _get(client, path, page_size=1000)["records"]
        assert {r["uid"] for r in records} == before | {"label-later-0000"}, stage
        one = _get(client, f"{path}/label-later-0000")
        assert one["name"] == f"{namespace}/results/{result}/records/label-later-0000", stage

"""tkn-results' REST flows, replayed as the CLI sends them (tektoncd/results pkg/cli at
b2abcb69: cmd/taskrun, cmd/pipelinerun, client/records, client/logs, client/base.go).

Every request carries what DoRequest sets (Content-Type and Accept application/json, the
bearer token) and, for list calls, the JSON body it marshals (grpc-gateway ignores it); the
query strings are Go's url.Values.Encode() (keys sorted, space as +). Every answer is read
as the CLI reads it: protojson.Unmarshal, which refuses a field its message lacks, so the
shapes are checked field by field against Results' protos.
"""

from __future__ import annotations

import base64
import io
import json
import re
from urllib.parse import urlencode

import pytest

from ingest.archive import import_objects
from layout.logs import write_log
from layout.store import LocalStore
from query.http.app import create_app
from tests.helpers import results_upstream as up

B = "/apis/results.tekton.dev/v1alpha2"
TOKEN = "tkn-token"
HEADERS = {
    "Content-Type": "application/json",
    "Accept": "application/json",
    "Authorization": f"Bearer {TOKEN}",
}
# pkg/cli/common/constants.go
LIST_FIELDS = (
    "records.name,records.uid,records.create_time,records.update_time,"
    "records.data.value.metadata,records.data.value.status,next_page_token"
)
NAME_UID_AND_DATA = "records.name,records.uid,records.data.value"
TR_PAIR = '(data_type=="tekton.dev/v1.TaskRun" || data_type=="tekton.dev/v1beta1.TaskRun")'
PR_PAIR = '(data_type=="tekton.dev/v1.PipelineRun" || data_type=="tekton.dev/v1beta1.PipelineRun")'

# The fields of Results' messages (proto/v1alpha2/resources.proto, api.proto), by proto
# name and JSON name: what protojson.Unmarshal accepts.
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z")
MESSAGES = {
    "ListRecordsResponse": {"records": "Record*", "next_page_token": "string"},
    "Record": {
        "name": "string",
        "id": "string",
        "uid": "string",
        "data": "Any",
        "etag": "string",
        "created_time": "Timestamp",
        "create_time": "Timestamp",
        "updated_time": "Timestamp",
        "update_time": "Timestamp",
    },
    "Any": {"type": "string", "value": "bytes"},
}


def assert_proto(message: str, value: dict) -> None:
    """What protojson.Unmarshal would refuse: an unknown field, or a value of the wrong type."""
    fields = MESSAGES[message]
    for name, item in value.items():
        assert name in fields, f"{message} has no field {name!r}"
        kind = fields[name]
        if kind.endswith("*"):
            for element in item:
                assert_proto(kind[:-1], element)
        elif kind in MESSAGES:
            assert_proto(kind, item)
        elif kind == "Timestamp":
            assert _TIMESTAMP.fullmatch(item), item
        elif kind == "bytes":
            base64.b64decode(item, validate=True)
        else:
            assert isinstance(item, str), (name, item)


def go_query(params: dict[str, str]) -> str:
    """url.Values.Encode(): keys sorted, values QueryEscape'd (space as +)."""
    return urlencode(sorted(params.items()))


def list_records(client, parent: str, filter_: str, page_size: int, fields: str) -> dict:
    """recordClient.ListRecords, as pkg/cli/client/records/records.go sends it."""
    query = go_query(
        {"filter": filter_, "order_by": "create_time desc", "page_size": str(page_size)}
        | ({"fields": fields} if fields else {})
    )
    body = json.dumps(
        {"parent": parent, "filter": filter_, "orderBy": "create_time desc", "pageSize": page_size}
    )
    response = client.get(f"{B}/parents/{parent}/records?{query}", headers=HEADERS, data=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    answer = response.get_json()
    assert_proto("ListRecordsResponse", answer)
    return answer


def get_record(client, namespace: str, uid: str):
    """recordClient.GetRecord: "direct primary key lookup", the name <uid>/records/<uid>."""
    return client.get(f"{B}/parents/{namespace}/results/{uid}/records/{uid}", headers=HEADERS)


def get_log(client, record_name: str):
    """logs.Client.GetLog: the record's name with its first `records` made `logs`."""
    return client.get(f"{B}/parents/{record_name.replace('records', 'logs', 1)}", headers=HEADERS)


def find_by_uid(client, namespace: str, uid: str, fallback_filter: str, fields: str) -> dict:
    """describe/logs --uid: GetRecord, and on any error the list with the fallback filter."""
    response = get_record(client, namespace, uid)
    if response.status_code == 200:
        record = response.get_json()
        assert_proto("Record", record)
        return record
    assert response.status_code >= 400 and response.mimetype == "application/json"
    listed = list_records(client, f"{namespace}/results/-", fallback_filter, 5, fields)
    assert listed.get("records"), f"no record found with UID {uid}"
    return listed["records"][0]


def decoded(record: dict) -> dict:
    return json.loads(base64.b64decode(record["data"]["value"]))


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    store = LocalStore(str(tmp_path_factory.mktemp("tkn")))
    import_objects(store, [up.pipeline_run(), up.task_run(), up.solo_task_run()])
    write_log(store, up.NAMESPACE, up.TR, up.STEP, io.BytesIO(up.STEP_TEXT.encode()).read)
    config = {"RUNLAKE_STORE": store.root, "RUNLAKE_QUERY_TOKENS": f"{TOKEN}=default"}
    return create_app(config).test_client()


def test_tkn_query_strings_are_go_url_values():
    # The taskrun list request of the research notes, byte for byte.
    assert go_query(
        {
            "fields": LIST_FIELDS,
            "filter": TR_PAIR,
            "order_by": "create_time desc",
            "page_size": "50",
        }
    ) == (
        "fields=records.name%2Crecords.uid%2Crecords.create_time%2Crecords.update_time%2C"
        "records.data.value.metadata%2Crecords.data.value.status%2Cnext_page_token"
        "&filter=%28data_type%3D%3D%22tekton.dev%2Fv1.TaskRun%22+%7C%7C+data_type%3D%3D%22"
        "tekton.dev%2Fv1beta1.TaskRun%22%29&order_by=create_time+desc&page_size=50"
    )


@pytest.mark.parametrize(
    ("pair", "names"), [(TR_PAIR, ["solo", "hello-hello"]), (PR_PAIR, ["hello"])]
)
def test_tkn_taskrun_and_pipelinerun_list(client, pair, names):
    """`tkn-results taskrun list` / `pipelinerun list`: the partial fields, newest first;
    data.value holds only metadata and status, and data.type is dropped."""
    for parent in ("default/results/-", "-/results/-"):  # -n default, and -A
        answer = list_records(client, parent, pair, 50, LIST_FIELDS)
        assert "next_page_token" not in answer
        records = answer["records"]
        assert [decoded(r)["metadata"]["name"] for r in records] == names
        for record in records:
            assert set(record) == {"name", "uid", "create_time", "update_time", "data"}
            assert set(record["data"]) == {"value"} and set(decoded(record)) == {
                "metadata",
                "status",
            }


def test_tkn_taskrun_describe_by_name(client):
    filter_ = f'{TR_PAIR} && data.metadata.name=="hello-hello"'
    records = list_records(client, "default/results/-", filter_, 5, "")["records"]
    assert [r["uid"] for r in records] == [up.TR]
    record = records[0]
    assert record["data"]["type"] == "tekton.dev/v1.TaskRun"
    assert decoded(record) == up.task_run()


def test_tkn_taskrun_describe_by_uid_of_a_taskrun_inside_a_pipelinerun(client):
    """Step a is a 404 (the record is <pipelinerun uid>/records/<uid>), as upstream; the
    fallback `name=="<uid>"` finds it, `name` being the short record name."""
    response = get_record(client, up.NAMESPACE, up.TR)
    assert response.status_code == 404
    assert response.get_json() == {"code": 5, "message": "record not found"}
    record = find_by_uid(client, up.NAMESPACE, up.TR, f'name=="{up.TR}"', "")
    assert record["name"] == f"default/results/{up.PR}/records/{up.TR}"
    assert decoded(record)["metadata"]["uid"] == up.TR


def test_tkn_taskrun_logs_by_uid(client):
    """`taskrun logs --uid`: the lookup with name, uid and data.value, the completion check,
    then the record's log, printed as it comes."""
    record = find_by_uid(client, up.NAMESPACE, up.TR, f'name=="{up.TR}"', NAME_UID_AND_DATA)
    assert set(record) == {"name", "uid", "data"}
    assert decoded(record)["status"]["completionTime"]
    response = get_log(client, record["name"])
    assert response.status_code == 200 and response.mimetype == "text/plain"
    assert response.get_data(as_text=True) == up.results_log_text()


def test_tkn_taskrun_logs_by_name(client):
    filter_ = f'{TR_PAIR} && data.metadata.name=="hello-hello"'
    record = list_records(client, "default/results/-", filter_, 5, NAME_UID_AND_DATA)["records"][0]
    assert get_log(client, record["name"]).get_data(as_text=True) == up.results_log_text()


def test_tkn_taskrun_logs_of_a_standalone_taskrun_without_logs(client):
    """Step a finds a standalone TaskRun; solo never completed, so the CLI stops there."""
    record = find_by_uid(client, up.NAMESPACE, up.SOLO, f'name=="{up.SOLO}"', NAME_UID_AND_DATA)
    assert record["name"] == f"default/results/{up.SOLO}/records/{up.SOLO}"
    assert "completionTime" not in decoded(record)["status"]
    # Were it asked anyway: no Log record, as upstream (`record not found`).
    response = get_log(client, record["name"])
    assert response.status_code == 404
    assert json.loads(response.get_data()) == {"error": {"code": 5, "message": "record not found"}}


def test_tkn_pipelinerun_describe_and_logs_by_uid(client):
    """Step a works for a PipelineRun (result and record both named by its uid); its log is
    every TaskRun's, prefixed `[<pipeline task> : <step>]`."""
    fallback = f'name.endsWith("records/{up.PR}")'
    record = find_by_uid(client, up.NAMESPACE, up.PR, fallback, NAME_UID_AND_DATA)
    assert record["name"] == f"default/results/{up.PR}/records/{up.PR}"
    assert decoded(record) == up.pipeline_run()
    response = get_log(client, record["name"])
    assert response.status_code == 200
    expected = up.results_log_text().replace(f"[{up.STEP}]", f"[hello : {up.STEP}]")
    assert response.get_data(as_text=True) == expected


def test_tkn_pipelinerun_logs_by_name(client):
    filter_ = f'{PR_PAIR} && data.metadata.name=="hello"'
    record = list_records(client, "default/results/-", filter_, 5, NAME_UID_AND_DATA)["records"][0]
    assert get_log(client, record["name"]).get_data(as_text=True).startswith("[hello : hello] ")


def test_tkn_errors_are_what_the_cli_prints(client):
    """Status >= 400 becomes `client error: <body> (code: <status>)`; the body is
    grpc-gateway's."""
    no_token = client.get(f"{B}/parents/default/results/-/records")
    assert no_token.status_code == 401 and no_token.get_json()["code"] == 16
    other = client.get(f"{B}/parents/other/results/-/records", headers=HEADERS)
    assert other.status_code == 401 and other.get_json() == {
        "code": 16,
        "message": "permission denied",
    }
    small = client.get(f"{B}/parents/default/results/-/records?page_size=4", headers=HEADERS)
    assert small.get_json() == {
        "code": 3,
        "message": "invalid page size (4): value must be greater than 5 and less than 10000",
    }

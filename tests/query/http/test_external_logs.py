"""GET /v1/external-logs/<namespace>/<podName>/<container>, as the Tekton Dashboard's backend
sends it once a pod is gone (tektoncd/dashboard pkg/endpoints/externallogs.go,
pkg/utils/proxy.go, src/api/index.js): the flag's URL + the path + `?` + the browser's query
(the TaskRun's startTime and completionTime, URL-encoded, or nothing), a new request with Go's
default headers only; a token in the flag's URL reaches runlake as Basic auth."""

from __future__ import annotations

import base64
import io
from urllib.parse import urlencode

import pytest

from ingest.archive import import_objects
from layout.logs import write_log
from layout.store import LocalStore
from query.http.app import create_app
from tests.helpers import results_upstream as up

TOKEN = "dash-token"
# What Go's http.Client sends for --external-logs=https://runlake:dash-token@<host>/v1/external-logs
GO_HEADERS = {
    "User-Agent": "Go-http-client/1.1",
    "Accept-Encoding": "gzip",
    "Authorization": "Basic " + base64.b64encode(f"runlake:{TOKEN}".encode()).decode(),
}


def dashboard_request(client, namespace, pod, container, task_run=None, headers=GO_HEADERS):
    """The Dashboard backend's LogsProxy: `ExternalLogsURL + uri`, uri = path + "?" + query."""
    times = {}
    if task_run is not None:  # the browser adds the TaskRun's times when it has them
        for name in ("startTime", "completionTime"):
            if task_run["status"].get(name):
                times[name] = task_run["status"][name]
    uri = f"/{namespace}/{pod}/{container}?{urlencode(times)}"
    return client.get("/v1/external-logs" + uri, headers=headers)


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    store = LocalStore(str(tmp_path_factory.mktemp("dashboard")))
    import_objects(store, [up.pipeline_run(), up.task_run(), up.solo_task_run()])
    write_log(store, up.NAMESPACE, up.TR, up.STEP, io.BytesIO(up.STEP_TEXT.encode()).read)
    config = {"RUNLAKE_STORE": store.root, "RUNLAKE_QUERY_TOKENS": f"{TOKEN}=default;other=ci"}
    return create_app(config).test_client()


@pytest.mark.parametrize("with_times", [True, False], ids=["with-times", "bare-question-mark"])
def test_external_logs_answer_the_dashboard_with_the_step_text(client, with_times):
    task_run = up.task_run() if with_times else None
    response = dashboard_request(client, "default", "hello-hello-pod", "step-hello", task_run)
    assert response.status_code == 200
    # The Dashboard reads the body as text only when the type says text/plain.
    assert "text/plain" in response.headers["Content-Type"]
    assert response.get_data(as_text=True) == up.STEP_TEXT  # byte for byte, no prefixes


def test_external_logs_times_are_encoded_as_the_browser_encodes_them(client):
    query = urlencode({"startTime": "2023-08-22T09:09:00Z"})
    assert query == "startTime=2023-08-22T09%3A09%3A00Z"
    path = f"/v1/external-logs/default/hello-hello-pod/step-hello?{query}"
    assert client.get(path, headers=GO_HEADERS).get_data(as_text=True) == up.STEP_TEXT


def test_external_logs_token_also_as_bearer_or_query(client):
    path = "/v1/external-logs/default/hello-hello-pod/step-hello"
    assert client.get(path, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert client.get(f"{path}?token={TOKEN}").status_code == 200


@pytest.mark.parametrize(
    ("namespace", "pod", "container"),
    [
        ("default", "no-such-pod", "step-hello"),
        ("default", "hello-hello-pod", "step-nosuch"),
        ("default", "hello-hello-pod", "sidecar"),
        ("default", "solo-pod", "step-solo"),  # a TaskRun whose log was never stored
        ("Not_A_Namespace", "hello-hello-pod", "step-hello"),
    ],
)
def test_external_logs_unknown_is_not_found(client, namespace, pod, container):
    response = dashboard_request(client, namespace, pod, container)
    # The Dashboard shows "Unable to fetch log" for any non-2xx answer.
    assert response.status_code == 404
    assert response.get_json()["error"] == "no such log"


def test_external_logs_other_namespaces_look_unknown(client):
    other = {**GO_HEADERS, "Authorization": "Basic " + base64.b64encode(b"x:other").decode()}
    response = dashboard_request(client, "default", "hello-hello-pod", "step-hello", None, other)
    assert response.status_code == 404


def test_external_logs_without_token_are_refused(client):
    response = dashboard_request(client, "default", "hello-hello-pod", "step-hello", None, {})
    assert response.status_code == 401
    wrong = {"Authorization": "Basic " + base64.b64encode(b"runlake:nope").decode()}
    assert (
        dashboard_request(
            client, "default", "hello-hello-pod", "step-hello", None, wrong
        ).status_code
        == 401
    )


def test_external_logs_is_listed_in_the_openapi(client):
    spec = client.get("/openapi.json", headers={"Authorization": f"Bearer {TOKEN}"}).get_json()
    assert "/v1/external-logs/{namespace}/{pod}/{container}" in spec["paths"]

import pytest

from layout.inbox import write_inbox
from layout.store import LocalStore
from query.http.app import create_app
from tests.helpers.rows import row
from tests.helpers.servers import free_port


@pytest.fixture
def app(tmp_path):
    write_inbox(LocalStore(str(tmp_path)), [row("a"), row("b")])
    return create_app({"RUNLAKE_STORE": str(tmp_path), "RUNLAKE_SQL_TIMEOUT_S": 1.0})


def _error_shape(response, status):
    body = response.get_json()
    assert response.status_code == status
    assert set(body) == {"error", "errors", "status"} and body["status"] == status
    assert isinstance(body["errors"], list) and body["errors"]
    return body


def test_api_sql_answers_columns_rows_truncated(app):
    assert "runlake.engine" not in app.extensions  # made on the first query, not before
    response = app.test_client().post(
        "/v1/sql", json={"sql": "SELECT uid, received_at FROM runs ORDER BY uid", "limit": 1}
    )
    assert response.status_code == 200
    assert response.get_json() == {
        "columns": ["uid", "received_at"],
        "rows": [["a", "2026-03-01T12:00:00Z"]],
        "truncated": True,
    }
    assert "runlake.engine" in app.extensions


def test_api_sql_refused_is_400_with_the_reason(app):
    body = _error_shape(
        app.test_client().post("/v1/sql", json={"sql": "SELECT * FROM read_csv('/etc/passwd')"}),
        400,
    )
    assert body["error"] == "the query was refused"
    assert "read_csv" in body["errors"][0]


def test_api_sql_timeout_is_400(app):
    body = _error_shape(
        app.test_client().post(
            "/v1/sql",
            json={"sql": "SELECT count(*) FROM range(1000000000000) a, range(1000000000000) b"},
        ),
        400,
    )
    assert "cancelled" in body["errors"][0]


@pytest.mark.parametrize(
    ("payload", "problems"),
    [
        ({}, ["sql"]),
        ({"sql": "  ", "limit": 0}, ["sql", "limit"]),
        ({"sql": "SELECT 1", "limit": 10001}, ["limit"]),
        ({"sql": "SELECT 1", "limit": "5"}, ["limit"]),
        ([1, 2], ["expected"]),
    ],
)
def test_api_sql_invalid_request_lists_every_problem(app, payload, problems):
    body = _error_shape(app.test_client().post("/v1/sql", json=payload), 400)
    assert [p.split(":")[0].split(" ")[0] for p in body["errors"]] == problems


def test_api_sql_bad_json_and_content_type(app):
    client = app.test_client()
    _error_shape(client.post("/v1/sql", data="{not json", content_type="application/json"), 400)
    _error_shape(client.post("/v1/sql", data="sql=SELECT 1"), 415)


def test_api_sql_query_error_is_400(app):
    body = _error_shape(
        app.test_client().post("/v1/sql", json={"sql": "SELECT nope FROM runs"}), 400
    )
    assert "nope" in body["errors"][0]


def test_api_sql_store_unreachable_is_503_with_retry_after():
    app = create_app(
        {
            "RUNLAKE_STORE": "s3://nowhere/x",
            "RUNLAKE_S3_ENDPOINT": f"http://127.0.0.1:{free_port()}",
        }
    )
    response = app.test_client().post("/v1/sql", json={"sql": "SELECT count(*) FROM runs"})
    _error_shape(response, 503)
    assert response.headers["Retry-After"]


def test_api_healthz(app):
    assert app.test_client().get("/healthz").get_json() == {"ok": True}

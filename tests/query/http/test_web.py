"""The web page (query/http/web.py): pages, assets, query tokens kept in the session, and the API
calls the page's script makes, over the demo history on a local store and on S3."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from layout.store import LocalStore, Store
from query.http.app import create_app
from runlake.demo.write import write_demo
from runlake.serve import create_combined_app
from tests.helpers.servers import free_port
from tests.helpers.tekton import fixture_files, fixture_object

STATIC = Path(__file__).resolve().parents[3] / "query" / "http" / "static"
TOKENS = "ops=web-frontend;admin=*"


def app_for(store: Store, **config) -> Flask:
    app = create_app(
        {
            "RUNLAKE_STORE": store.url,
            "RUNLAKE_S3_ENDPOINT": getattr(store, "endpoint", None),
            **config,
        }
    )
    app.testing = True
    return app


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("web-demo")
    write_demo(LocalStore(str(root)), 120)
    return root


@pytest.fixture
def demo(demo_dir: Path) -> FlaskClient:
    return app_for(LocalStore(str(demo_dir))).test_client()


def _html(response) -> str:
    assert response.mimetype == "text/html"
    return response.get_data(as_text=True)


def _assets(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="(/assets/[^"]+)"', html)


# -------------------------------------------------------------------------------- pages


def test_web_runs_page_shows_the_filter_bar_with_the_urls_filters(demo: FlaskClient) -> None:
    response = demo.get(
        "/?status=Failed&pipeline=web-frontend-ci&kind=TaskRun&since=7d"
        "&q=lint&label=team%3Dweb&label=tier&task=eslint&page_size=20"
    )
    html = _html(response)
    assert response.status_code == 200
    assert '<option value="Failed" selected>' in html
    assert '<option value="TaskRun" selected>' in html
    assert '<option value="7d" selected>' in html
    assert 'name="pipeline" list="pipelines" value="web-frontend-ci"' in html
    assert 'name="q" type="search" value="lint"' in html
    assert 'name="task" list="tasks" value="eslint"' in html
    assert 'name="label" value="team=web, tier"' in html  # one box, comma-separated
    # Filters without a control of their own still travel with the next submit.
    assert '<input type="hidden" name="page_size" value="20">' in html
    assert 'type="hidden" name="label"' not in html and 'type="hidden" name="task"' not in html
    assert 'id="runs-table"' in html


def test_web_runs_page_keeps_an_unlisted_time_range(demo: FlaskClient) -> None:
    html = _html(demo.get("/?since=2026-01-01T00:00:00Z"))
    assert '<option value="2026-01-01T00:00:00Z" selected>since 2026-01-01T00:00:00Z' in html


def test_web_page_escapes_hostile_filter_values(demo: FlaskClient) -> None:
    hostile = '"><script>alert(1)</script>'
    html = _html(demo.get("/", query_string={"pipeline": hostile, "q": hostile}))
    assert "<script>alert(1)" not in html
    assert "&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_web_pages_are_served_with_a_strict_content_policy(demo: FlaskClient) -> None:
    for url in ("/", "/trends", "/runs/0a1b2c3d-1111-2222-3333-444455556666"):
        response = demo.get(url)
        assert response.status_code == 200, url
        policy = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "default-src 'self'" in policy
        assert response.headers["Cache-Control"] == "no-store"


def test_web_run_page_is_a_page_for_any_well_formed_uid(demo: FlaskClient) -> None:
    html = _html(demo.get("/runs/0a1b2c3d-1111-2222-3333-444455556666?status=Failed"))
    assert 'data-uid="0a1b2c3d-1111-2222-3333-444455556666"' in html
    assert 'id="back-link"' in html


def test_web_run_page_refuses_a_malformed_uid_in_the_error_shape(demo: FlaskClient) -> None:
    response = demo.get("/runs/NOT_A_UID!")
    assert response.status_code == 404
    body = response.get_json()
    assert set(body) == {"error", "errors", "status"} and body["status"] == 404


def test_web_trends_page_defaults_to_the_last_30_days(demo: FlaskClient) -> None:
    html = _html(demo.get("/trends"))
    assert '<option value="30d" selected>' in html
    assert 'id="chart-daily"' in html and 'id="chart-pipelines"' in html
    # Trends do not filter by status (the charts count every status) nor search names.
    assert 'name="status"' not in html and 'name="q"' not in html


def test_web_assets_are_served_by_the_app_with_versioned_urls(demo: FlaskClient) -> None:
    html = _html(demo.get("/"))
    urls = _assets(html)
    assert {u.split("?")[0] for u in urls} >= {
        "/assets/runlake.css",
        "/assets/app.js",
        "/assets/format.js",
        "/assets/charts.js",
        "/assets/api.js",
    }
    versions = {u.split("?v=")[1] for u in urls}
    assert len(versions) == 1 and re.fullmatch(r"[0-9a-f]{12}", versions.pop())
    types = {".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml"}
    for url in urls:
        response = demo.get(url)
        assert response.status_code == 200, url
        assert response.mimetype == types[Path(url.split("?")[0]).suffix]


def test_web_page_loads_nothing_from_other_hosts(demo: FlaskClient) -> None:
    texts = [_html(demo.get(u)) for u in ("/", "/trends", "/runs/abc-123")]
    texts += [p.read_text() for p in STATIC.iterdir()]
    for text in texts:
        hosts = set(re.findall(r"https?://[^\s\"')]+", text)) - {"http://www.w3.org/2000/svg"}
        assert not hosts


def test_web_combined_app_serves_the_page_on_get_and_ingest_on_post(
    local_store: LocalStore,
) -> None:
    app = create_combined_app({"RUNLAKE_STORE": local_store.url})
    client = app.test_client()
    assert client.get("/").status_code == 200
    assert "runs-table" in client.get("/").get_data(as_text=True)
    posted = client.post("/", data=b"{}", headers={"content-type": "application/json"})
    assert posted.status_code == 400  # ingest answered: not a CloudEvent
    assert posted.get_json()["status"] == 400


# ---------------------------------------------------------------------- the page's data


@pytest.mark.parametrize("store", ["local", "s3"], indirect=True)
def test_web_page_data_is_served_from_local_and_s3_stores(store: Store) -> None:
    write_demo(store, 40)
    client = app_for(store).test_client()
    assert client.get("/").status_code == 200
    runs = client.get("/v1/runs?status=Failed").get_json()["runs"]
    days = client.get("/v1/summary?group_by=day&since=30d").get_json()["groups"]
    assert days and sum(d["total"] for d in days) <= 40 + 200
    if runs:
        assert client.get(f"/runs/{runs[0]['uid']}").status_code == 200
        assert client.get(f"/v1/runs/{runs[0]['uid']}").get_json()["uid"] == runs[0]["uid"]


def test_web_page_on_an_empty_store_shows_the_page_and_no_runs(local_store: LocalStore) -> None:
    client = app_for(local_store).test_client()
    assert client.get("/").status_code == 200
    assert client.get("/trends").status_code == 200
    assert client.get("/v1/runs").get_json() == {"runs": [], "next_page_token": None}
    assert client.get("/v1/summary?group_by=day").get_json() == {"groups": []}


def test_web_page_when_the_store_is_unreachable_is_served_and_its_data_is_503() -> None:
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    app = create_app({"RUNLAKE_STORE": "s3://nowhere/archive", "RUNLAKE_S3_ENDPOINT": dead})
    client = app.test_client()
    assert client.get("/").status_code == 200  # the page itself reads nothing from the store
    response = client.get("/v1/runs")
    assert response.status_code == 503
    assert response.get_json()["status"] == 503 and response.headers["Retry-After"]


def test_web_page_data_pages_through_a_large_history(tmp_path: Path) -> None:
    store = LocalStore(str(tmp_path))
    write_demo(store, 600, logs=False)
    client = app_for(store).test_client()
    seen, url = [], "/v1/runs?page_size=200"
    while url:
        body = client.get(url).get_json()
        seen += [r["uid"] for r in body["runs"]]
        token = body["next_page_token"]
        url = f"/v1/runs?page_size=200&page_token={token}" if token else None
    assert len(seen) == len(set(seen)) == 600
    html = _html(client.get("/", query_string={"q": "x" * 10_000}))
    assert "x" * 10_000 in html


# --------------------------------------------------------------------------- query tokens


@pytest.fixture
def guarded(demo_dir: Path) -> FlaskClient:
    return app_for(LocalStore(str(demo_dir)), RUNLAKE_QUERY_TOKENS=TOKENS).test_client()


def test_web_page_asks_for_a_token_when_tokens_are_configured(guarded: FlaskClient) -> None:
    for url in ("/", "/trends", "/runs/abc-123"):
        response = guarded.get(url)
        assert response.status_code == 401
        assert 'name="token"' in _html(response)
    assert guarded.get("/v1/runs").status_code == 401


def test_web_wrong_token_is_refused_and_not_kept(guarded: FlaskClient) -> None:
    response = guarded.post("/signin", data={"token": "nope", "next": "/"})
    assert response.status_code == 401
    assert "the token is not accepted" in _html(response)
    assert guarded.get("/").status_code == 401


def test_web_token_entered_once_confines_the_pages_api_calls(guarded: FlaskClient) -> None:
    response = guarded.post("/signin", data={"token": "ops", "next": "/?status=Failed"})
    assert response.status_code == 303 and response.location == "/?status=Failed"
    page = guarded.get("/")
    assert page.status_code == 200 and "web-frontend" in _html(page)
    runs = guarded.get("/v1/runs?page_size=1000").get_json()["runs"]
    assert runs and {r["namespace"] for r in runs} == {"web-frontend"}
    namespaces = guarded.get("/v1/summary?group_by=namespace").get_json()["groups"]
    assert [g["key"] for g in namespaces] == ["web-frontend"]
    assert guarded.post("/signout").status_code == 303
    assert guarded.get("/").status_code == 401
    assert guarded.get("/v1/runs").status_code == 401


def test_web_token_in_the_url_is_kept_and_dropped_from_the_url(guarded: FlaskClient) -> None:
    response = guarded.get("/trends?token=admin&pipeline=go-service-ci")
    assert response.status_code == 303
    assert response.location == "/trends?pipeline=go-service-ci"
    assert guarded.get("/trends").status_code == 200
    runs = guarded.get("/v1/runs?page_size=1000").get_json()["runs"]
    assert len({r["namespace"] for r in runs}) > 1


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/x", "evil", "/\\evil.example"]
)
def test_web_sign_in_never_redirects_off_site(guarded: FlaskClient, target: str) -> None:
    response = guarded.post("/signin", data={"token": "ops", "next": target})
    assert response.status_code == 303 and response.location == "/"


def test_web_session_key_is_shared_by_workers_with_the_same_tokens(tmp_path: Path) -> None:
    def app(tokens: str):
        return create_app({"RUNLAKE_STORE": str(tmp_path), "RUNLAKE_QUERY_TOKENS": tokens})

    worker_a, worker_b, rotated = app("ops=*"), app("ops=*"), app("ops2=*")
    assert worker_a.secret_key == worker_b.secret_key != rotated.secret_key
    signed_in = worker_a.test_client()
    signed_in.post("/signin", data={"token": "ops", "next": "/"})
    cookie = signed_in.get_cookie("session")
    other = worker_b.test_client()
    other.set_cookie("session", cookie.value)
    assert other.get("/v1/runs").status_code == 200  # the other worker honours the session
    open_a = create_app({"RUNLAKE_STORE": str(tmp_path)})
    open_b = create_app({"RUNLAKE_STORE": str(tmp_path)})
    assert open_a.secret_key and open_a.secret_key != open_b.secret_key
    kept = create_app({"RUNLAKE_STORE": str(tmp_path), "SECRET_KEY": "from-config"})
    assert kept.secret_key == "from-config"
    assert open_a.config["SESSION_COOKIE_SAMESITE"] == "Lax"


# ------------------------------------------------------- the script's pure helpers, in node

NODE = shutil.which("node")


def _node(script: str, data: object = None) -> object:
    """Evaluate `script` with format.js as F (and `data`, sent on stdin, as DATA)."""
    program = (
        f"const F = require({json.dumps(str(STATIC / 'format.js'))});\n"
        "const DATA = JSON.parse(require('fs').readFileSync(0, 'utf8'));\n"
        f"process.stdout.write(JSON.stringify(({script})));"
    )
    done = subprocess.run(
        [NODE, "-e", program],
        input=json.dumps(data),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return json.loads(done.stdout)


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_web_ansi_colours_become_spans_and_text_is_escaped() -> None:
    html = _node('F.ansiToHtml("\\u001b[1;31mFAIL\\u001b[0m <b>&\\u001b[K done")')
    assert html == (
        '<span style="color:rgb(205,49,49);font-weight:bold">FAIL</span> &lt;b&gt;&amp; done'
    )


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_web_ansi_sequence_cut_between_chunks_still_applies() -> None:
    parts = _node(
        "(() => { const r = new F.AnsiRenderer(); "
        'return [r.feed("ok \\u001b[3", false), r.feed("2mgreen", false), '
        'r.feed("\\u001b[0m end", true)]; })()'
    )
    assert "".join(parts) == 'ok <span style="color:rgb(13,188,121)">green</span> end'


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_web_ansi_hostile_colour_parameters_cannot_inject_markup() -> None:
    html = _node('F.ansiToHtml("\\u001b[38;2;999;-1;x\\"mred\\u001b[38;5;300mz")')
    assert "<" not in html.replace("<span", "").replace("</span>", "")
    assert '"' not in re.sub(r'style="[^"]*"', "", html)


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_web_durations_read_as_a_person_would_write_them() -> None:
    assert _node("[0.4, 7, 42, 185, 3725, 180000, null].map(F.humanDuration)") == [
        "400 ms",
        "7.0s",
        "42s",
        "3m 05s",
        "1h 02m",
        "2d 02h",
        "—",
    ]


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_web_yaml_of_every_fixture_reads_back_as_the_object() -> None:
    import yaml

    objects = [json.loads(path.read_text()) for path in fixture_files()]
    tricky = {
        "scalars": ["", " lead", "trail ", "a: b", "#x", "- y", "yes", "No", "on", "1.5", "~"],
        "more": ["null", "0x1f", "2021-01-29T14:47:57Z", "é\u2028x\x85", "tab\tin", "@at"],
        "scripts": ["#!/bin/sh\necho hi\n", "no newline\nat end", "two\n\n", "  indented\nx"],
        "numbers": [0, -1, 2.5, True, False, None],
        "": "empty key",
        "empty": [{}, []],
    }
    texts = _node("DATA.map((o) => F.toYaml(o))", [*objects, tricky])
    for obj, text in zip([*objects, tricky], texts, strict=True):
        assert yaml.safe_load(text) == obj


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_web_run_progress_of_running_stale_pending_and_finished_runs() -> None:
    def run(status, started, seen, duration=None):
        return {
            "status": status,
            "started_at": started,
            "received_at": seen,
            "duration_seconds": duration,
        }

    runs = [
        run("Running", "2026-12-01T11:56:00Z", "2026-12-01T11:59:00Z"),
        run("Running", "2020-08-27T15:21:37Z", "2026-11-01T12:00:00Z"),  # unheard of since
        run("Pending", "2021-01-29T14:47:57Z", "2026-12-01T11:59:00Z"),  # make run's event
        run("Succeeded", "2026-10-01T12:00:00Z", "2026-10-01T12:05:00Z", 185),
    ]
    now = "Date.parse('2026-12-01T12:00:00Z')"
    progress = _node(f"DATA.map((r) => F.runProgress(r, {now}).text)", runs)
    assert progress == ["running 4m 00s", "last seen 30 d ago", "—", "3m 05s"]


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_web_only_a_failed_runs_message_reads_as_an_error() -> None:
    statuses = ["Failed", "TimedOut", "Cancelled", "Running", "Pending", "Succeeded"]
    assert _node(f"{json.dumps(statuses)}.map(F.messageTone)") == [
        "bad",
        "bad",
        "warn",
        "info",
        "info",
        "info",
    ]


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_web_source_names_the_revision_author_and_branch_ci_systems_record() -> None:
    pac = fixture_object("030_PipelineRun_konflux-pac-on-push-childrefs-when-v1.json")
    found = _node("F.source(DATA)", pac)
    annotations = pac["metadata"]["annotations"]
    assert found["revision"] == annotations["pipelinesascode.tekton.dev/sha"]
    assert found["author"] == annotations["pipelinesascode.tekton.dev/sender"]
    assert found["branch"] == annotations["pipelinesascode.tekton.dev/branch"]


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_web_results_and_params_of_v1_and_v1beta1_runs() -> None:
    v1 = fixture_object("029_TaskRun_konflux-succeeded-results-v1.json")
    v1beta1 = fixture_object("004_TaskRun_ec-nodejs-build-container.json")
    shown = _node("DATA.map(F.results)", [v1, v1beta1])
    expected_v1 = v1["status"]["results"]
    expected_v1beta1 = v1beta1["status"]["taskResults"]
    assert [r["name"] for r in shown[0]] == [r["name"] for r in expected_v1]
    assert [r["name"] for r in shown[1]] == [r["name"] for r in expected_v1beta1]

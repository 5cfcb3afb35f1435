"""One archive, two clusters with the same namespaces and run names (only uids differ), sent
through ingest with one cluster-bound token each: the `cluster` column, its filter and
group_by, PipelineRuns that keep to their own cluster's TaskRuns, and query tokens limited by
cluster, which learn nothing of the other cluster over any endpoint."""

from __future__ import annotations

import base64
import json

import pytest

from query.views import VIEWS
from tests.helpers.apps import query_client
from tests.helpers.clusters import EU, ONLY_IN_EU, STAGING, Twins, archive_two_clusters, step_log

RESULTS = "/apis/results.tekton.dev/v1alpha2/parents"
LOG_TYPE = "results.tekton.dev/v1alpha3.Log"
NOT_LOGS = f"filter=!(data_type == '{LOG_TYPE}')"  # the runs' records, not their Log records


def _runs(records: list[dict]) -> list[dict]:
    return [r for r in records if r["data"]["type"] != LOG_TYPE]


def _logged_run(record: dict) -> str:
    return json.loads(base64.b64decode(record["data"]["value"]))["spec"]["resource"]["uid"]


TOKENS = ";".join(
    (
        "eu=prod-eu/*",
        "staging=staging/*",
        "mixed=prod-eu/data-platform,staging/*",
        "payments=payments",
        "all=*",
    )
)


@pytest.fixture(scope="module")
def twins(tmp_path_factory: pytest.TempPathFactory):
    from layout.store import LocalStore

    store = LocalStore(str(tmp_path_factory.mktemp("clusters") / "store"))
    return store, archive_two_clusters(store)


@pytest.fixture(scope="module")
def client(twins):
    store, _ = twins
    return query_client(store, RUNLAKE_QUERY_TOKENS=TOKENS)


def _get(client, path: str, token: str = "all", status: int = 200):
    response = client.get(path, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == status, (path, response.get_data(as_text=True)[:300])
    return response


def _uids(client, query: str = "", token: str = "all") -> set[str]:
    body = _get(client, f"/v1/runs?page_size=1000&{query}", token).get_json()
    assert body["next_page_token"] is None
    return {run["uid"] for run in body["runs"]}


def _sql(client, text: str, token: str = "all") -> list[list]:
    response = client.post(
        "/v1/sql", json={"sql": text}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()["rows"]


# -- the column, the filter, group_by ---------------------------------------------------------


def test_clusters_every_run_carries_the_cluster_its_token_names(client, twins):
    _, archive = twins
    runs = _get(client, "/v1/runs?page_size=1000").get_json()["runs"]
    assert {r["uid"]: r["cluster"] for r in runs} == {
        **{uid: EU for uid in archive.uids(EU)},
        **{uid: STAGING for uid in archive.uids(STAGING)},
    }
    # The same namespace and name in both clusters, as two runs.
    pipelinerun = archive.first(EU, "PipelineRun")
    meta = pipelinerun["metadata"]
    same = [r for r in runs if (r["namespace"], r["name"]) == (meta["namespace"], meta["name"])]
    assert sorted(r["cluster"] for r in same) == [EU, STAGING]
    assert len({r["uid"] for r in same}) == 2


def test_clusters_filter_by_cluster_alone_or_with_other_filters(client, twins):
    _, archive = twins
    assert _uids(client, "cluster=prod-eu") == archive.uids(EU)
    assert _uids(client, "cluster=staging") == archive.uids(STAGING)
    assert _uids(client, "cluster=prod-eu&cluster=staging") == archive.uids(EU) | archive.uids(
        STAGING
    )
    assert _uids(client, "cluster=staging&namespace=data-platform") == archive.uids(
        STAGING, "data-platform"
    )
    assert _uids(client, f"cluster=staging&namespace={ONLY_IN_EU}") == set()
    assert _uids(client, "cluster=nowhere") == set()
    # Paging with a cluster filter: the token keeps it.
    page = _get(client, "/v1/runs?cluster=staging&page_size=7").get_json()
    follow = _get(
        client, f"/v1/runs?cluster=staging&page_size=1000&page_token={page['next_page_token']}"
    ).get_json()
    assert {r["uid"] for r in page["runs"] + follow["runs"]} == archive.uids(STAGING)
    refused = _get(client, f"/v1/runs?page_token={page['next_page_token']}", status=400)
    assert refused.get_json()["status"] == 400


def test_clusters_summary_groups_and_filters_by_cluster(client, twins):
    _, archive = twins
    groups = _get(client, "/v1/summary?group_by=cluster").get_json()["groups"]
    assert [(g["key"], g["total"]) for g in groups] == [
        (EU, len(archive.runs[EU])),
        (STAGING, len(archive.runs[STAGING])),
    ]
    by_namespace = _get(client, "/v1/summary?group_by=namespace&cluster=staging").get_json()
    namespaces = {g["key"]: g["total"] for g in by_namespace["groups"]}
    assert ONLY_IN_EU not in namespaces
    assert namespaces["data-platform"] == len(archive.uids(STAGING, "data-platform"))
    both = _get(client, "/v1/summary?group_by=namespace").get_json()["groups"]
    totals = {g["key"]: g["total"] for g in both}
    assert totals["data-platform"] == 2 * namespaces["data-platform"]


def test_clusters_a_pipelinerun_has_only_its_own_clusters_taskruns_and_logs(client, twins):
    _, archive = twins
    for cluster in (EU, STAGING):
        pipelinerun = archive.first(cluster, "PipelineRun")
        uid = pipelinerun["metadata"]["uid"]
        children = _get(client, f"/v1/runs/{uid}").get_json()["steps"]
        expected = {
            o["metadata"]["uid"]
            for o in archive.runs[cluster]
            if (o["metadata"].get("labels") or {}).get("tekton.dev/pipelineRun")
            == pipelinerun["metadata"]["name"]
        }
        assert expected and {c["uid"] for c in children} == expected
        text = _get(client, f"/v1/runs/{uid}/logs").get_data(as_text=True)
        other = STAGING if cluster == EU else EU
        assert f"{cluster}: the log of" in text and f"{other}:" not in text
        # The Results API finds the same records under the PipelineRun's result.
        namespace = pipelinerun["metadata"]["namespace"]
        records = _get(client, f"{RESULTS}/{namespace}/results/{uid}/records").get_json()
        assert {r["uid"] for r in _runs(records["records"])} == expected | {uid}


def test_clusters_results_api_selects_a_cluster_with_a_cel_field(client, twins):
    _, archive = twins
    pick = "filter=" + 'cluster == "staging"'
    results = _get(client, f"{RESULTS}/-/results?page_size=1000&{pick}").get_json()["results"]
    tops = {
        o["metadata"]["uid"]
        for o in archive.runs[STAGING]
        if not o["metadata"].get("ownerReferences")
    }
    assert {r["uid"] for r in results} == tops
    records = _get(
        client, f"{RESULTS}/data-platform/results/-/records?page_size=1000&{pick}"
    ).get_json()["records"]
    assert {r["uid"] for r in _runs(records)} == archive.uids(STAGING, "data-platform")
    summary = _get(
        client, f"{RESULTS}/-/results/-/records/summary?summary=total&group_by=cluster&{NOT_LOGS}"
    ).get_json()["summary"]
    assert {s["group_value"]: s["total"] for s in summary} == {
        EU: len(archive.runs[EU]),
        STAGING: len(archive.runs[STAGING]),
    }


# -- tokens limited by cluster -----------------------------------------------------------------


def test_clusters_tokens_read_what_their_entries_name(client, twins):
    _, archive = twins
    assert _uids(client, token="eu") == archive.uids(EU)
    assert _uids(client, token="staging") == archive.uids(STAGING)
    assert _uids(client, token="mixed") == archive.uids(EU, "data-platform") | archive.uids(STAGING)
    # A namespace without a cluster is that namespace in every cluster.
    assert _uids(client, token="payments") == archive.uids(EU, "payments") | archive.uids(
        STAGING, "payments"
    )
    groups = _get(client, "/v1/summary?group_by=cluster", "mixed").get_json()["groups"]
    assert {g["key"]: g["total"] for g in groups} == {
        EU: len(archive.uids(EU, "data-platform")),
        STAGING: len(archive.runs[STAGING]),
    }


def _others(archive: Twins) -> dict[str, dict]:
    """Staging's runs that the `eu` token must not see: a finished PipelineRun, and a
    TaskRun with stored logs."""
    return {
        "pipelinerun": archive.first(STAGING, "PipelineRun"),
        "taskrun": next(
            o
            for o in archive.runs[STAGING]
            if o["kind"] == "TaskRun"
            and o["status"].get("completionTime")
            and o["status"].get("steps")
        ),
    }


def test_clusters_a_token_for_one_cluster_learns_nothing_of_the_other(client, twins):
    _, archive = twins
    hidden = _others(archive)
    pr, tr = hidden["pipelinerun"]["metadata"], hidden["taskrun"]["metadata"]
    unknown = "00000000-0000-4000-8000-000000000000"

    # Lists, filters and summaries.
    assert _uids(client, token="eu") == archive.uids(EU)
    assert _uids(client, "cluster=staging", token="eu") == set()
    assert _uids(client, "namespace=data-platform", token="eu") == archive.uids(EU, "data-platform")
    groups = _get(client, "/v1/summary?group_by=cluster", "eu").get_json()["groups"]
    assert [g["key"] for g in groups] == [EU]
    assert _get(client, "/v1/summary?group_by=status&cluster=staging", "eu").get_json() == {
        "groups": []
    }

    # One run, its logs: exactly as for an unknown uid.
    for path in ("/v1/runs/{}", "/v1/runs/{}/logs", "/v1/runs/{}/logs?step=build"):
        for uid in (pr["uid"], tr["uid"]):
            hidden_answer = _get(client, path.format(uid), "eu", status=404).get_json()
            unknown_answer = _get(client, path.format(unknown), "eu", status=404).get_json()
            assert hidden_answer["error"] == unknown_answer["error"]
    # Its twin in the token's own cluster answers.
    twin = archive.twin_of(hidden["taskrun"], EU)
    assert step_log(EU, twin["status"]["steps"][0]["name"]) in _get(
        client, f"/v1/runs/{twin['metadata']['uid']}/logs", "eu"
    ).get_data(as_text=True)

    # SQL: every view shows only the token's cluster.
    for view in VIEWS:
        assert _sql(client, f"SELECT DISTINCT cluster FROM {view}", "eu") in ([[EU]], []), view
    assert _sql(client, "SELECT count(*) FROM runs", "eu") == [[len(archive.runs[EU])]]
    assert _sql(client, f"SELECT * FROM snapshots WHERE uid = '{tr['uid']}'", "eu") == []
    assert _sql(client, f"SELECT * FROM logs WHERE uid = '{tr['uid']}'", "eu") == []
    assert _sql(client, "SELECT count(*) FROM steps WHERE cluster <> 'prod-eu'", "eu") == [[0]]

    # The Tekton Results API: lists, one result, its records, summaries and logs.
    namespace = pr["namespace"]
    results = _get(client, f"{RESULTS}/-/results?page_size=1000", "eu").get_json()["results"]
    assert {r["uid"] for r in results} <= archive.uids(EU)
    assert pr["uid"] not in {r["uid"] for r in results}
    _get(client, f"{RESULTS}/{namespace}/results/{pr['uid']}", "eu", status=404)
    _get(client, f"{RESULTS}/{namespace}/results/{pr['uid']}/records", "eu")  # empty list
    # An empty list is left out, as protojson leaves it.
    assert _get(client, f"{RESULTS}/{namespace}/results/{pr['uid']}/records", "eu").get_json() == {}
    _get(client, f"{RESULTS}/{tr['namespace']}/results/-/records/{tr['uid']}", "eu", status=404)
    records = _get(client, f"{RESULTS}/-/results/-/records?page_size=1000", "eu").get_json()
    assert {r["uid"] for r in _runs(records["records"])} == archive.uids(EU)
    for record in _runs(records["records"]):
        value = json.loads(base64.b64decode(record["data"]["value"]))
        assert value["metadata"]["uid"] in archive.uids(EU)
    summary = _get(
        client, f"{RESULTS}/-/results/-/records/summary?summary=total&{NOT_LOGS}", "eu"
    ).get_json()["summary"]
    assert summary == [{"total": len(archive.runs[EU])}]
    logs = _get(client, f"{RESULTS}/-/results/-/logs?page_size=1000", "eu").get_json()["records"]
    assert logs and {_logged_run(r) for r in logs} <= archive.uids(EU)
    _get(client, f"{RESULTS}/{tr['namespace']}/results/-/logs/{tr['uid']}", "eu", status=404)

    # The web page, signed in with the token: the shell names only what the token reads, and
    # its data comes from the API above, with the session's token.
    store, _ = twins
    browser = query_client(store, RUNLAKE_QUERY_TOKENS=TOKENS)
    assert browser.get("/?token=eu").status_code == 303
    page = browser.get("/")
    assert page.status_code == 200
    assert "prod-eu/*" in page.get_data(as_text=True)
    assert STAGING not in page.get_data(as_text=True)
    assert browser.get(f"/runs/{pr['uid']}").status_code == 200  # a shell; its data below
    assert browser.get(f"/v1/runs/{pr['uid']}").status_code == 404
    suggestions = browser.get("/v1/summary?group_by=cluster").get_json()["groups"]
    assert {g["key"] for g in suggestions} == {EU}
    listed = browser.get("/v1/runs?page_size=1000").get_json()["runs"]
    assert {r["uid"] for r in listed} == archive.uids(EU)


def test_clusters_the_results_parent_stays_a_namespace_of_any_readable_cluster(client, twins):
    _, archive = twins
    # A parent no entry of the token covers is denied, whether or not it exists, as Results
    # denies a namespace (Unauthenticated, 401: Results never answers 403).
    denied = _get(client, f"{RESULTS}/data-platform/results", "payments", status=401).get_json()
    assert denied == {"code": 16, "message": "permission denied"}
    _get(client, f"{RESULTS}/no-such-ns/results", "payments", status=401)
    # `ci` exists only in prod-eu; staging's token may read a `ci` of staging, which has none:
    # the same empty answer as for a namespace that exists nowhere.
    for parent in (ONLY_IN_EU, "no-such-ns"):
        body = _get(client, f"{RESULTS}/{parent}/results", "staging").get_json()
        assert body == {}  # empty fields are left out
    # `data-platform` in both: the parent lists only the readable cluster's results.
    results = _get(client, f"{RESULTS}/data-platform/results?page_size=1000", "staging").get_json()[
        "results"
    ]
    assert results and {r["uid"] for r in results} <= archive.uids(STAGING, "data-platform")
    payments = _get(client, f"{RESULTS}/payments/results?page_size=1000", "payments").get_json()
    assert {r["uid"] for r in payments["results"]} & archive.uids(EU)
    assert {r["uid"] for r in payments["results"]} & archive.uids(STAGING)

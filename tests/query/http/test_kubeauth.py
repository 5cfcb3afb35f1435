"""Readers checked by Kubernetes (RUNLAKE_QUERY_AUTH=kubernetes): the real `kubernetes` client
against the test API server's TokenReview and SubjectAccessReview, over an archive of two
clusters where this query service answers for prod-eu. Allowed, denied, unknown token, API
server down, answers cached until they expire, on every endpoint."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests

from query.http.kubeauth import MISSING, KubeReviewer, TtlCache
from query.scope import ANY, Readable
from tests.helpers.apps import query_client
from tests.helpers.clusters import EU, STAGING, archive_two_clusters
from tests.helpers.kubeapi import FakeKube

RESULTS = "/apis/results.tekton.dev/v1alpha2/parents"


@pytest.fixture(scope="module")
def twins(tmp_path_factory: pytest.TempPathFactory):
    from layout.store import LocalStore

    store = LocalStore(str(tmp_path_factory.mktemp("kubeauth") / "store"))
    return store, archive_two_clusters(store)


@pytest.fixture
def kube(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """prod-eu's API server: alice may list PipelineRuns in data-platform (a RoleBinding),
    bob's group in payments, root everywhere (a ClusterRoleBinding), carol nowhere."""
    server = FakeKube().start()
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)  # never this machine's own
    monkeypatch.setenv("KUBECONFIG", str(server.write_kubeconfig(tmp_path / "kubeconfig")))
    server.add_user("alice-token", "alice")
    server.add_user("bob-token", "bob", groups=("payments-devs",))
    server.add_user("root-token", "root")
    server.add_user("carol-token", "carol")
    server.bind("alice", "data-platform", resources=("pipelineruns",), verbs=("list",))
    server.bind("payments-devs", "payments", group_subject=True)
    server.bind("root", None)
    # Rights that must not count: another verb, another group's resource, another namespace.
    server.bind("carol", "data-platform", verbs=("get",))
    server.bind("carol", "payments", api_group="results.tekton.dev", resources=("results",))
    yield server
    server.stop()


def _client(twins, **config):
    store, _ = twins
    return query_client(store, RUNLAKE_QUERY_AUTH="kubernetes", RUNLAKE_CLUSTER=EU, **config)


def _call(client, method: str, path: str, token: str | None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if method == "POST":
        return client.post(path, json={"sql": "SELECT count(*) FROM runs"}, headers=headers)
    return client.get(path, headers=headers)


def _endpoints(archive) -> list[tuple[str, str]]:
    taskrun = archive.first(EU, "TaskRun", with_steps=True)["metadata"]
    return [
        ("GET", "/v1/runs"),
        ("GET", f"/v1/runs/{taskrun['uid']}"),
        ("GET", f"/v1/runs/{taskrun['uid']}/logs"),
        ("GET", "/v1/summary?group_by=namespace"),
        ("POST", "/v1/sql"),
        ("GET", f"{RESULTS}/-/results"),
        ("GET", f"{RESULTS}/{taskrun['namespace']}/results/-/records"),
        ("GET", f"{RESULTS}/-/results/-/logs"),
        ("GET", "/"),
    ]


def _uids(client, token: str) -> set[str]:
    body = _call(client, "GET", "/v1/runs?page_size=1000", token).get_json()
    return {run["uid"] for run in body["runs"]}


def _reviews(kube: FakeKube) -> int:
    return kube.count("POST", "tokenreviews") + kube.count("POST", "subjectaccessreviews")


# -- allowed and denied -------------------------------------------------------------------------


def test_kubeauth_a_rolebinding_reads_that_namespace_of_this_cluster_only(kube, twins):
    _, archive = twins
    client = _client(twins)
    assert _uids(client, "alice-token") == archive.uids(EU, "data-platform")
    mine = archive.first(EU, "PipelineRun")  # data-platform
    twin = archive.twin_of(mine, STAGING)  # same namespace and name, the other cluster
    elsewhere = next(o for o in archive.runs[EU] if o["metadata"]["namespace"] == "payments")
    assert (
        _call(client, "GET", f"/v1/runs/{mine['metadata']['uid']}", "alice-token").status_code
        == 200
    )
    for hidden in (twin, elsewhere):
        uid = hidden["metadata"]["uid"]
        for path in (f"/v1/runs/{uid}", f"/v1/runs/{uid}/logs"):
            assert _call(client, "GET", path, "alice-token").status_code == 404
    groups = _call(client, "GET", "/v1/summary?group_by=cluster", "alice-token").get_json()
    assert [(g["key"], g["total"]) for g in groups["groups"]] == [
        (EU, len(archive.uids(EU, "data-platform")))
    ]
    rows = _call(client, "POST", "/v1/sql", "alice-token").get_json()["rows"]
    assert rows == [[len(archive.uids(EU, "data-platform"))]]
    results = _call(client, "GET", f"{RESULTS}/-/results?page_size=1000", "alice-token")
    assert {r["uid"] for r in results.get_json()["results"]} <= archive.uids(EU, "data-platform")
    denied = _call(client, "GET", f"{RESULTS}/payments/results", "alice-token")
    assert denied.status_code == 401 and denied.get_json()["code"] == 16  # as Results denies


def test_kubeauth_cluster_wide_reads_every_namespace_of_this_cluster_not_others(kube, twins):
    _, archive = twins
    client = _client(twins)
    assert _uids(client, "root-token") == archive.uids(EU)
    sql = client.post(
        "/v1/sql",
        json={"sql": "SELECT DISTINCT cluster FROM snapshots"},
        headers={"Authorization": "Bearer root-token"},
    )
    assert sql.get_json()["rows"] == [[EU]]
    # One review of the token and one cluster-wide access review: no namespace is asked.
    assert kube.count("POST", "tokenreviews") == 1
    assert kube.count("POST", "subjectaccessreviews") == 1


def test_kubeauth_a_group_binding_counts(kube, twins):
    _, archive = twins
    assert _uids(_client(twins), "bob-token") == archive.uids(EU, "payments")


def test_kubeauth_denied_everywhere_reads_nothing(kube, twins):
    _, archive = twins
    client = _client(twins)
    assert _uids(client, "carol-token") == set()
    uid = archive.first(EU, "TaskRun", with_steps=True)["metadata"]["uid"]
    assert _call(client, "GET", f"/v1/runs/{uid}", "carol-token").status_code == 404
    assert _call(client, "POST", "/v1/sql", "carol-token").get_json()["rows"] == [[0]]
    assert _call(client, "GET", "/v1/summary?group_by=status", "carol-token").get_json() == {
        "groups": []
    }
    listed = _call(client, "GET", f"{RESULTS}/-/results", "carol-token").get_json()
    assert listed == {}  # no results: the empty list is left out
    assert _call(client, "GET", f"{RESULTS}/payments/results", "carol-token").status_code == 401


@pytest.mark.parametrize("token", [None, "not-a-kubernetes-token"])
def test_kubeauth_a_missing_or_unknown_token_is_401_on_every_endpoint(kube, twins, token):
    _, archive = twins
    client = _client(twins)
    for method, path in _endpoints(archive):
        response = _call(client, method, path, token)
        assert response.status_code == 401, path
        if path.startswith(RESULTS):
            assert response.get_json()["code"] == 16
        elif path != "/":
            assert response.get_json()["status"] == 401
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
    if token:
        assert kube.count("POST", "tokenreviews") == 1  # the refusal is cached too


# -- the API server cannot answer ------------------------------------------------------------


def test_kubeauth_api_server_down_is_503_on_every_endpoint_never_allowed(kube, twins):
    _, archive = twins
    client = _client(twins, RUNLAKE_QUERY_AUTH_CACHE_S="0")
    assert _uids(client, "root-token") == archive.uids(EU)  # answered while it was up
    kube.stop()
    for token in ("root-token", "alice-token"):
        for method, path in _endpoints(archive):
            response = _call(client, method, path, token)
            assert response.status_code == 503, path
            assert response.headers["Retry-After"]
            body = response.get_json()
            if path.startswith(RESULTS):
                assert body["code"] == 14
            else:
                assert body["status"] == 503 and "Kubernetes" in body["error"]


def test_kubeauth_this_service_without_review_rights_is_503(kube, twins):
    kube.reviewers.clear()  # its ServiceAccount lacks system:auth-delegator
    response = _call(_client(twins), "GET", "/v1/runs", "root-token")
    assert response.status_code == 503
    assert "system:auth-delegator" in " ".join(response.get_json()["errors"])


def test_kubeauth_no_kubernetes_configuration_is_503(twins, monkeypatch, tmp_path):
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))
    response = _call(_client(twins), "GET", "/v1/runs", "root-token")
    assert response.status_code == 503 and response.headers["Retry-After"]


# -- caching ---------------------------------------------------------------------------------


def test_kubeauth_answers_are_reused_until_they_expire(kube, twins):
    _, archive = twins
    cached = _client(twins, RUNLAKE_QUERY_AUTH_CACHE_S="600")
    short = _client(twins, RUNLAKE_QUERY_AUTH_CACHE_S="0.2")
    for client in (cached, short):
        assert _uids(client, "alice-token") == archive.uids(EU, "data-platform")
    before = _reviews(kube)
    for _ in range(3):
        assert _uids(cached, "alice-token") == archive.uids(EU, "data-platform")
    assert _reviews(kube) == before  # nothing asked again
    kube.bindings.clear()  # alice loses her RoleBinding
    assert _uids(cached, "alice-token") == archive.uids(EU, "data-platform")  # still cached
    time.sleep(0.3)
    assert _uids(short, "alice-token") == set()  # asked again, and now denied
    assert _reviews(kube) > before


def test_kubeauth_cache_expires_and_stays_bounded():
    now = [0.0]
    cache = TtlCache(10, size=3, clock=lambda: now[0])
    for key in "abcd":
        cache.put(key, key.upper())
    assert len(cache) == 3
    assert cache.get("a") is MISSING  # the least recently used went
    assert cache.get("b") == "B"
    cache.put("e", "E")  # "b" was just used: "c" goes
    assert cache.get("c") is MISSING and cache.get("b") == "B"
    now[0] = 9.9
    assert cache.get("e") == "E"
    now[0] = 10.0
    assert cache.get("e") is MISSING
    off = TtlCache(0)
    off.put("a", 1)
    assert off.get("a") is MISSING and len(off) == 0


def test_kubeauth_reviewer_asks_again_after_the_ttl(kube):
    now = [0.0]
    reviewer = KubeReviewer(30, clock=lambda: now[0])
    names = ["data-platform", "payments"]
    assert reviewer.readable("alice-token", EU, lambda: names) == Readable(
        frozenset({(EU, "data-platform")})
    )
    asked = _reviews(kube)
    kube.bind("alice", "payments")
    assert reviewer.readable("alice-token", EU, lambda: names).grants == {(EU, "data-platform")}
    assert _reviews(kube) == asked
    now[0] = 31.0
    assert reviewer.readable("alice-token", EU, lambda: names).grants == {
        (EU, "data-platform"),
        (EU, "payments"),
    }
    assert reviewer.readable("root-token", EU, lambda: names).grants == {(EU, ANY)}
    assert reviewer.readable("nobody", EU, lambda: names) is None


# -- beside static tokens, and the web page ----------------------------------------------------


def test_kubeauth_static_query_tokens_keep_working_beside_it(kube, twins):
    _, archive = twins
    client = _client(twins, RUNLAKE_QUERY_TOKENS="robot=staging/*")
    assert _uids(client, "robot") == archive.uids(STAGING)
    assert _uids(client, "alice-token") == archive.uids(EU, "data-platform")
    assert kube.count("POST", "tokenreviews") == 1  # the static token never left the service


def test_kubeauth_web_page_signs_in_with_a_kubernetes_token(kube, twins):
    _, archive = twins
    client = _client(twins)
    signin = client.get("/")
    assert signin.status_code == 401 and "Kubernetes token" in signin.get_data(as_text=True)
    assert client.post("/signin", data={"token": "nope", "next": "/"}).status_code == 401
    assert client.get("/?token=alice-token").status_code == 303
    page = client.get("/").get_data(as_text=True)
    assert "prod-eu/data-platform" in page
    listed = client.get("/v1/runs?page_size=1000").get_json()["runs"]
    assert {r["uid"] for r in listed} == archive.uids(EU, "data-platform")


# -- the test API server speaks as kube-apiserver does ------------------------------------------


def test_kubeapi_reviews_validate_as_the_api_server_does(kube):
    reviewer = {"Authorization": "Bearer fake-token"}
    url = kube.url + "/apis/authentication.k8s.io/v1/tokenreviews"
    empty = requests.post(url, json={"spec": {}}, headers=reviewer, timeout=5)
    assert empty.status_code == 400 and empty.json()["reason"] == "BadRequest"
    unknown = requests.post(url, json={"spec": {"token": "x"}}, headers=reviewer, timeout=5)
    assert unknown.status_code == 201 and "authenticated" not in unknown.json()["status"]
    sar = kube.url + "/apis/authorization.k8s.io/v1/subjectaccessreviews"
    invalid = requests.post(sar, json={"spec": {}}, headers=reviewer, timeout=5)
    assert invalid.status_code == 422 and invalid.json()["reason"] == "Invalid"
    denied = requests.post(
        sar,
        json={"spec": {"user": "carol", "resourceAttributes": {"verb": "list"}}},
        headers=reviewer,
        timeout=5,
    )
    assert denied.json()["status"] == {"allowed": False}
    stranger = requests.post(url, json={"spec": {"token": "x"}}, timeout=5)
    assert stranger.status_code == 401
    user = requests.post(
        url,
        json={"spec": {"token": "x"}},
        headers={"Authorization": "Bearer alice-token"},
        timeout=5,
    )
    assert user.status_code == 403 and "cannot create resource" in user.json()["message"]

"""The watcher driven with the official kubernetes client against a fake API server over HTTP,
sending to a recording sink (or the real ingest app) over HTTP."""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import requests

from tests.helpers.kubeapi import FakeKube
from tests.helpers.servers import free_port
from tests.helpers.sinkapp import RecordingSink
from tests.helpers.tekton import fixture_object
from tests.helpers.watchkit import (
    add_with_pods,
    all_archived,
    archived,
    demo_runs,
    finished,
    wait_for,
    watching,
)
from webhooks.watcher.metrics import WatchMetrics, serve_metrics

RUNLAKE = Path(sys.executable).with_name("runlake")


def _no_duplicates(sink: RecordingSink) -> None:
    repeated = [key for key, n in Counter(sink.sent()).items() if n > 1]
    assert repeated == []


def test_watcher_archives_every_run_once(kube, sink, tmp_path):
    runs = demo_runs(25)
    add_with_pods(kube, runs)
    with watching(kube, sink.url, tmp_path) as h:
        wait_for(lambda: all_archived(kube, runs), "every finished run archived")
        wait_for(lambda: len(sink.sent()) >= len(runs), "every run sent")
    assert {uid for uid, _ in sink.sent()} == {r["metadata"]["uid"] for r in runs}
    _no_duplicates(sink)
    # the archived mark's own MODIFIED event is not sent as another snapshot
    assert len(sink.sent()) == len(runs)
    unfinished = [r for r in runs if r not in finished(runs)]
    assert not any(
        archived(kube.get(r["kind"], r["metadata"]["namespace"], r["metadata"]["name"]))
        for r in unfinished
    )
    assert set(sink.tokens) == {"Bearer s3cret"}
    assert h.metrics.value("runlake_watch_runs_archived_total") == len(finished(runs))


def test_watcher_sends_step_logs_in_step_order(kube, sink, tmp_path):
    runs = demo_runs(25)
    add_with_pods(kube, runs)
    with watching(kube, sink.url, tmp_path):
        wait_for(lambda: all_archived(kube, runs), "every finished run archived")
    taskruns = [r for r in finished(runs) if r["kind"] == "TaskRun"]
    assert any(len(r["status"]["steps"]) > 1 for r in taskruns)
    for run in taskruns:
        steps = [s["name"] for s in run["status"]["steps"]]
        assert sink.log_steps(run["metadata"]["uid"]) == steps
    ns, uid, step, body = sink.logs[0]
    run = next(r for r in runs if r["metadata"]["uid"] == uid)
    pod = kube.pods[(ns, run["status"]["podName"])]
    assert body == pod[f"step-{step}"]


def test_watcher_pod_gone_logs_unavailable_not_retried(kube, sink, tmp_path):
    run = next(
        r
        for r in finished(demo_runs(25))
        if r["kind"] == "TaskRun" and len(r["status"]["steps"]) > 1
    )
    kube.apply(run)  # its pod is not there: deleted before the logs were read
    with watching(kube, sink.url, tmp_path) as h:
        wait_for(lambda: all_archived(kube, [run]), "the run archived")
        unavailable = h.actions("log_unavailable")
    assert sink.logs == []
    assert [a["step"] for a in unavailable] == [s["name"] for s in run["status"]["steps"]]
    # one read found the pod gone; the other steps were not asked for again
    assert len(kube.log_reads) == 1


def test_watcher_relists_after_410_without_resending(kube, sink, tmp_path):
    runs = demo_runs(15)
    add_with_pods(kube, runs)
    with watching(kube, sink.url, tmp_path) as h:
        wait_for(lambda: all_archived(kube, runs), "every finished run archived")
        sent_before = len(sink.sent())
        kube.compact()  # the watch's resourceVersion is now too old
        kube.drop_watches()
        wait_for(lambda: h.actions("watch_expired"), "a 410 Gone")
        newcomer = copy.deepcopy(fixture_object("029_TaskRun_konflux-succeeded-results-v1.json"))
        kube.apply(newcomer)
        wait_for(lambda: all_archived(kube, [newcomer]), "the new run archived")
        relists = h.metrics.value("runlake_watch_relists_total", kind="TaskRun")
    assert relists >= 2
    _no_duplicates(sink)
    assert len(sink.sent()) == sent_before + 1


def test_watcher_reconnects_after_disconnect(kube, sink, tmp_path):
    runs = demo_runs(20)
    first, second = runs[:10], runs[10:]
    add_with_pods(kube, first)
    with watching(kube, sink.url, tmp_path) as h:
        wait_for(lambda: all_archived(kube, first), "the first runs archived")
        kube.drop_watches()
        wait_for(lambda: h.actions("watch_reconnect"), "a reconnect")
        add_with_pods(kube, second)
        wait_for(lambda: all_archived(kube, second), "runs created after the drop archived")
    _no_duplicates(sink)


def test_watcher_sink_down_then_up_loses_nothing(kube, tmp_path):
    sink = RecordingSink()  # not listening yet: connections are refused
    runs = demo_runs(20)
    running = [copy.deepcopy(r) for r in finished(runs)[:5]]
    for r in running:  # first seen while still running; they finish during the outage
        r["status"].pop("completionTime")
        r["status"]["conditions"] = [
            {"type": "Succeeded", "status": "Unknown", "reason": "Running"}
        ]
    add_with_pods(kube, running)
    try:
        with watching(kube, sink.url, tmp_path, prune_after=_zero()) as h:
            wait_for(lambda: h.metrics.value("runlake_watch_retries_total") >= 3, "retries")
            add_with_pods(kube, runs)
            wait_for(lambda: h.metrics.value("runlake_watch_events_total") >= 25, "events seen")
            assert not any(archived(o) for o in kube.objects())
            assert kube.deletes == []
            sink.start()
            wait_for(
                lambda: h.metrics.value("runlake_watch_runs_archived_total") >= len(finished(runs)),
                "every finished run archived",
            )
            wait_for(lambda: kube.deletes, "pruning, once archived")
    finally:
        sink.stop()
    finals = {o["metadata"]["uid"]: o["metadata"]["resourceVersion"] for o in runs}
    latest = {uid: rv for uid, rv in sink.sent()}
    assert latest.keys() == finals.keys()
    last_sent = {o["metadata"]["uid"]: o for o in sink.snapshots}
    for r in finished(runs):
        uid = r["metadata"]["uid"]
        # the last snapshot sent is the finished one (resourceVersions are cluster-wide, as
        # in etcd, so other runs' changes may come between it and the archived mark)
        assert last_sent[uid]["status"].get("completionTime"), uid
        assert last_sent[uid]["status"]["conditions"][0]["status"] != "Unknown", uid
        stored = kube.get(r["kind"], r["metadata"]["namespace"], r["metadata"]["name"])
        if stored is not None:  # else pruned, after being archived
            assert int(latest[uid]) < int(stored["metadata"]["resourceVersion"])


def _zero():
    from datetime import timedelta

    return timedelta(0)


def test_watcher_restarted_archives_missed_and_nothing_twice(kube, sink, tmp_path):
    runs = demo_runs(24)
    first, second = runs[:12], runs[12:]
    add_with_pods(kube, first)
    with watching(kube, sink.url, tmp_path):
        wait_for(lambda: all_archived(kube, first), "the first runs archived")
    add_with_pods(kube, second)  # created while no watcher runs
    with watching(kube, sink.url, tmp_path):
        wait_for(lambda: all_archived(kube, second), "the missed runs archived")
    _no_duplicates(sink)
    assert Counter(uid for uid, _ in sink.sent()) == Counter(
        r["metadata"]["uid"] for r in first + second
    )
    puts = Counter((uid, step) for _, uid, step, _ in sink.logs)
    assert puts and max(puts.values()) == 1


def test_watcher_falls_back_to_v1beta1(sink, tmp_path):
    kube = FakeKube(
        versions={
            "taskruns": ("v1beta1",),
            "pipelineruns": ("v1beta1",),
            "customruns": ("v1beta1",),
        }
    ).start()
    try:
        run = fixture_object("029_TaskRun_konflux-succeeded-results-v1.json")
        kube.apply(run)
        with watching(kube, sink.url, tmp_path) as h:
            wait_for(lambda: all_archived(kube, [run]), "the run archived")
            found = {a["kind"]: a["api_version"] for a in h.actions("resource_found")}
    finally:
        kube.stop()
    assert found == {
        "TaskRun": "tekton.dev/v1beta1",
        "PipelineRun": "tekton.dev/v1beta1",
        "CustomRun": "tekton.dev/v1beta1",
    }
    assert sink.snapshots[0]["apiVersion"] == "tekton.dev/v1beta1"


def test_watcher_selector_and_namespace_limit_what_is_archived(kube, sink, tmp_path):
    runs = demo_runs(20)
    add_with_pods(kube, runs)
    namespace = runs[0]["metadata"]["namespace"]
    with watching(kube, sink.url, tmp_path, namespaces=[namespace]):
        mine = [r for r in runs if r["metadata"]["namespace"] == namespace]
        wait_for(lambda: all_archived(kube, mine), "that namespace archived")
    assert {o["metadata"]["namespace"] for o in sink.snapshots} == {namespace}


def test_watch_metrics_endpoint_serves_counters_and_health():
    metrics = WatchMetrics()
    metrics.add("runlake_watch_events_total", 3, kind="TaskRun", type="ADDED")
    metrics.gauge("runlake_watch_queue_depth", lambda: 7)
    server = serve_metrics(metrics, free_port(), host="127.0.0.1")
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        health = requests.get(f"{base}/healthz", timeout=5)
        text = requests.get(f"{base}/metrics", timeout=5).text
        missing = requests.get(f"{base}/nope", timeout=5)
    finally:
        server.shutdown()
    assert health.status_code == 200
    assert 'runlake_watch_events_total{kind="TaskRun",type="ADDED"} 3.0' in text
    assert "runlake_watch_queue_depth 7.0" in text
    for name in ("snapshots_sent", "retries", "logs_archived", "runs_pruned"):
        assert f"runlake_watch_{name}_total" in text
    assert missing.status_code == 404 and missing.json()["status"] == 404


def test_watcher_into_real_ingest_archives_runs_and_logs(kube, local_store, tmp_path):
    import threading

    from werkzeug.serving import make_server

    from tests.helpers.apps import app_for, close_writer
    from tests.helpers.apps import runs as stored_runs

    app = app_for(local_store, RUNLAKE_INGEST_TOKENS="s3cret")
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    runs = demo_runs(20)
    add_with_pods(kube, runs)
    try:
        with watching(kube, f"http://127.0.0.1:{port}", tmp_path):
            wait_for(lambda: all_archived(kube, runs), "every finished run archived")
    finally:
        server.shutdown()
        close_writer(app)
    assert {r["uid"] for r in stored_runs(local_store, "uid")} == {
        r["metadata"]["uid"] for r in runs
    }
    taskrun = next(r for r in finished(runs) if r["kind"] == "TaskRun")
    meta = taskrun["metadata"]
    keys = {o.key for o in local_store.list(f"logs/{meta['namespace']}/{meta['uid']}")}
    assert keys == {
        f"logs/{meta['namespace']}/{meta['uid']}/{s['name']}.log.gz"
        for s in taskrun["status"]["steps"]
    }


def test_watcher_names_its_cluster_and_ingest_holds_it_to_the_token(kube, local_store, tmp_path):
    import threading

    from werkzeug.serving import make_server

    from tests.helpers.apps import app_for, close_writer
    from tests.helpers.apps import runs as stored_runs

    app = app_for(local_store, RUNLAKE_INGEST_TOKENS="s3cret=prod-eu")
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    first, second = demo_runs(12)[:6], demo_runs(12, seed=12)[:6]
    try:
        add_with_pods(kube, first)
        with watching(kube, f"http://127.0.0.1:{port}", tmp_path, cluster="prod-eu"):
            wait_for(lambda: all_archived(kube, first), "every finished run archived")
        stored = {r["uid"]: r["cluster"] for r in stored_runs(local_store, "uid, cluster")}
        assert stored == {r["metadata"]["uid"]: "prod-eu" for r in first}
        # A watcher that says it is staging while holding prod-eu's token is refused (403),
        # and keeps retrying, so nothing is filed under the wrong cluster or marked archived.
        add_with_pods(kube, second)
        with watching(kube, f"http://127.0.0.1:{port}", tmp_path, cluster="staging") as h:
            wait_for(lambda: any("403" in a["error"] for a in h.actions("sink_retry")), "a refusal")
    finally:
        server.shutdown()
        close_writer(app)
    assert not any(
        archived(kube.get(r["kind"], r["metadata"]["namespace"], r["metadata"]["name"]))
        for r in second
    )
    assert {r["uid"] for r in stored_runs(local_store, "uid")} == {
        r["metadata"]["uid"] for r in first
    }


def test_watcher_container_never_started_is_unavailable_others_archived(kube, sink, tmp_path):
    run = next(
        r
        for r in finished(demo_runs(25))
        if r["kind"] == "TaskRun" and len(r["status"]["steps"]) > 1
    )
    add_with_pods(kube, [run])
    first = run["status"]["steps"][0]
    del kube.pods[(run["metadata"]["namespace"], run["status"]["podName"])][
        first.get("container") or f"step-{first['name']}"
    ]
    with watching(kube, sink.url, tmp_path) as h:
        wait_for(lambda: all_archived(kube, [run]), "the run archived")
        unavailable = [a["step"] for a in h.actions("log_unavailable")]
    assert unavailable == [first["name"]]
    assert sink.log_steps(run["metadata"]["uid"]) == [s["name"] for s in run["status"]["steps"][1:]]


def test_watch_command_archives_serves_metrics_and_stops_on_sigterm(kube, sink, tmp_path):
    runs = demo_runs(10)
    add_with_pods(kube, runs)
    port = free_port()
    proc = subprocess.Popen(
        [
            str(RUNLAKE),
            "watch",
            "--sink",
            sink.url,
            "--token",
            "s3cret",
            "--kubeconfig",
            str(kube.write_kubeconfig(tmp_path / "kubeconfig")),
            "--metrics-port",
            str(port),
            "--cluster",
            "prod-eu",
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: all_archived(kube, runs), "every finished run archived", 30)
        metrics = wait_for(lambda: _get(f"http://127.0.0.1:{port}/metrics"), "metrics")
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    actions = [json.loads(line)["action"] for line in stderr.splitlines()]
    assert actions[0] == "watch_started" and actions[-1] == "watch_stopped"
    assert json.loads(stderr.splitlines()[0])["cluster"] == "prod-eu"
    assert sink.clusters and set(sink.clusters) == {"prod-eu"}
    assert actions.count("run_archived") == len(finished(runs))
    assert 'runlake_watch_runs_archived_total{kind="TaskRun"}' in metrics


def _get(url: str) -> str | None:
    try:
        return requests.get(url, timeout=2).text
    except requests.ConnectionError:
        return None


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
@pytest.mark.parametrize("phase", ["api-unreachable", "watching"])
def test_watch_command_stopped_by_a_signal_exits_0_after_watch_stopped(
    kube, sink, tmp_path, signum, phase
):
    config = kube.write_kubeconfig(tmp_path / "kubeconfig")
    if phase == "api-unreachable":
        kube.stop()  # the API server is still starting: discovery is being retried
    err = (tmp_path / "stderr").open("w+")
    proc = subprocess.Popen(
        [str(RUNLAKE), "watch", "--sink", sink.url, "--kubeconfig", str(config)]
        + ["--metrics-port", "0"],
        stderr=err,
        start_new_session=True,
    )
    waiting_for = "discovery_retry" if phase == "api-unreachable" else "resource_found"
    try:
        wait_for(lambda: waiting_for in (tmp_path / "stderr").read_text(), waiting_for, 30)
        os.killpg(proc.pid, signum)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        err.close()
    text = (tmp_path / "stderr").read_text()
    assert proc.returncode == 0, text
    assert "Traceback" not in text
    assert json.loads(text.splitlines()[-1])["action"] == "watch_stopped"

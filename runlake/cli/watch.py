"""`runlake watch`: the Kubernetes watcher (webhooks.watcher) as a command."""

from __future__ import annotations

import signal
import threading

import click

from runlake.cli.common import DURATION, Failed, fails_cleanly


def _cluster(ctx: click.Context, param: click.Parameter, value: str | None):
    if value is None:
        return None
    from layout.settings import cluster_name

    try:
        return cluster_name(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command()
@click.option(
    "--sink",
    required=True,
    envvar="RUNLAKE_SINK",
    help="The ingest service's base URL, e.g. http://runlake-ingest:8080.",
)
@click.option(
    "--token",
    envvar="RUNLAKE_SINK_TOKEN",
    default=None,
    help="Bearer token for the sink (one of its RUNLAKE_INGEST_TOKENS).",
)
@click.option(
    "--cluster",
    envvar="RUNLAKE_CLUSTER",
    default=None,
    callback=_cluster,
    help="The cluster's name in the archive; a sink token bound to a cluster must name the same.",
)
@click.option(
    "--namespace",
    "namespaces",
    multiple=True,
    help="Watch only this namespace (repeatable); default: all.",
)
@click.option("--selector", default=None, help="Label selector, e.g. app=ci.")
@click.option(
    "--kubeconfig",
    default=None,
    type=click.Path(dir_okay=False),
    help="Kubeconfig file; default: in-cluster config, else ~/.kube/config.",
)
@click.option(
    "--prune-after",
    type=DURATION,
    default=None,
    help="Delete archived runs this long after completionTime (90s, 1.5h, 7d, 2w; bare: days).",
)
@click.option(
    "--metrics-port",
    default=9090,
    show_default=True,
    type=int,
    help="Port for /healthz and /metrics (0: none).",
)
@click.option("--sidecar-logs", is_flag=True, help="Archive sidecar containers' logs too.")
@fails_cleanly
def watch(
    sink: str,
    token: str | None,
    cluster: str | None,
    namespaces: tuple[str, ...],
    selector: str | None,
    kubeconfig: str | None,
    prune_after,
    metrics_port: int,
    sidecar_logs: bool,
) -> None:
    """Archive every TaskRun, PipelineRun and CustomRun with its step logs, then (with
    --prune-after) delete archived runs from the cluster. One JSON line per action on stderr."""
    # First, so that a signal during start-up (the API server may be retried for a while)
    # also ends the watcher the quiet way.
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    from webhooks.watcher.metrics import ActionLog, WatchMetrics, serve_metrics
    from webhooks.watcher.sink import Sink, Stopped
    from webhooks.watcher.watch import Watcher, WatchOptions

    api_client = _api_client(kubeconfig)
    metrics, log = WatchMetrics(), ActionLog()
    options = WatchOptions(
        namespaces=namespaces, selector=selector, prune_after=prune_after, sidecar_logs=sidecar_logs
    )
    watcher = Watcher(
        api_client,
        Sink(sink, token, cluster=cluster, metrics=metrics, log=log),
        options,
        metrics=metrics,
        log=log,
    )
    server = serve_metrics(metrics, metrics_port) if metrics_port else None
    log(
        "watch_started",
        sink=sink,
        cluster=cluster,
        namespaces=list(namespaces) or None,
        selector=selector,
        prune_after_s=prune_after.total_seconds() if prune_after else None,
    )
    try:
        watcher.run(stop)
    except Stopped:
        watcher.join()  # stopped while still discovering the API: nothing else to wait for
    finally:
        if server is not None:
            server.shutdown()
        log("watch_stopped")
    if watcher.failure is not None:
        raise Failed(f"the watcher stopped: {watcher.failure}")


def _api_client(kubeconfig: str | None):
    from kubernetes import config
    from kubernetes.config.config_exception import ConfigException

    try:
        if kubeconfig:
            return config.new_client_from_config(config_file=kubeconfig)
        try:
            config.load_incluster_config()
            from kubernetes.client import ApiClient

            return ApiClient()
        except ConfigException:
            return config.new_client_from_config()
    except (ConfigException, OSError) as exc:
        raise Failed(f"no Kubernetes configuration: {exc}") from exc


commands: list[click.Command] = [watch]

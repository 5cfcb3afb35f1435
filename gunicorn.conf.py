"""gunicorn settings for `gunicorn 'ingest.app:create_app()'` and the query app.

Requests must overlap in one process: group commit shares an inbox object between requests
that wait at the same time, and with sync workers no two requests ever overlap. Ingest runs on
gevent: its requests are greenlets, and its store writes run on gevent's thread pool
(ingest/context.py), which measured 1.3 to 1.6 times gthread's events per second at less CPU
per event (bench/RESULTS.md). The query app runs on gthread's threads: a DuckDB query holds
its thread, and on gevent it would stop every request of its worker. RUNLAKE_WORKER_CLASS
chooses another class for either.
"""

import os
import sys

from gunicorn.config import Config


def _default_worker_class(argv: list[str]) -> str:
    """gevent for the ingest app, gthread for anything else, read from the app named on
    gunicorn's command line (parsed by gunicorn's own parser)."""
    known, _ = Config().parser().parse_known_args(argv)
    apps = known.args or []
    return "gevent" if any(app.startswith("ingest.") for app in apps) else "gthread"


bind = os.environ.get("RUNLAKE_BIND", "0.0.0.0:8080")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = os.environ.get("RUNLAKE_WORKER_CLASS") or _default_worker_class(sys.argv[1:])
threads = int(os.environ.get("RUNLAKE_THREADS", "32"))  # gthread's threads per worker
worker_connections = 1000  # gevent's connections per worker
# A worker whose heartbeat stops for 30 s is replaced. That does not free a thread (or a
# greenlet) waiting on a stalled sender (the heartbeat goes on): service/body.py cuts such
# bodies off with 408.
timeout = 30
graceful_timeout = 30
keepalive = 5
# Each worker opens its own store and writer lazily; nothing is shared across the fork.
preload_app = False
accesslog = None
# If you turn the access log on (accesslog = "-"), keep this format: the default one logs the
# query string, and Tekton's sink sends its token as ?token=.
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(L)ss "%(a)s"'

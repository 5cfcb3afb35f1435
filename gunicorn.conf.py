"""gunicorn settings for `gunicorn 'ingest.app:create_app()'` (and the query app).

Requests must overlap in one process: group commit shares an inbox object between requests
that wait at the same time, and with sync workers no two requests ever overlap. gthread's
threads do that for both apps (a DuckDB query holds its thread). RUNLAKE_WORKER_CLASS=gevent
also works for ingest (its store writes then run on gevent's thread pool, ingest/context.py;
gevent itself is not a runtime requirement): bench/RESULTS.md measures both.
"""

import os

bind = os.environ.get("RUNLAKE_BIND", "0.0.0.0:8080")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = os.environ.get("RUNLAKE_WORKER_CLASS") or "gthread"
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

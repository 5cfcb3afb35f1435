"""The Kubernetes watcher behind `runlake watch`: list/watch of Tekton runs, the sink client
that posts snapshots and step logs to ingest, pod logs, marking and pruning, its metrics.

Does I/O: the Kubernetes API (the official client) and HTTP to the sink and for /metrics.
It reaches the store only through ingest's HTTP API, never directly, and uses no Flask."""

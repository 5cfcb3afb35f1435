"""The ingest service: its Flask app (`ingest.app:create_app()`) and Lambda entry point, ingest
tokens (and the cluster each one's runs come from) and request limits; events and snapshots are
decoded and normalized by webhooks/, group-committed to the store (durable before 202); step
logs streamed in; /metrics.

Does I/O: HTTP, and writes to the store through layout/. Never imports query/."""

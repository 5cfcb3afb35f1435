"""The shell: what wires the rooms together. The click CLI (runlake.cli), `runlake serve`
(ingest and query in one gunicorn process), the lifecycle jobs and their Lambda handler, and
the demo (runlake.demo).

Its I/O is the terminal and what its commands and jobs ask of the rooms (the store, HTTP,
Kubernetes); no other package imports it."""

"""The shapes that arrive, turned into `records` rows: CloudEvents decoding (binary, structured,
batch), normalizing Tekton objects (TaskRun, PipelineRun, CustomRun; v1 and v1beta1), Kubernetes
snapshot bodies, run statuses.

Pure logic: (headers, body) in, rows or every problem out; no I/O, no web framework, no store.
The Kubernetes watcher, which does I/O, is the subpackage webhooks.watcher."""

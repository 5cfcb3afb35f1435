"""What arrives over HTTP, turned into `records` rows: CloudEvents decoding, Tekton object
normalizing, Kubernetes snapshots. Pure logic: no I/O, no web framework."""

"""`runlake demo`: a deterministic, realistic history of Tekton runs (generate: pure), written
into the store as `runlake import` writes runs, with the step logs (write: store I/O)."""

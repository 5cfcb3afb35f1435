"""The storage contract: store URLs and the one Store API (local directory or S3), object keys,
the Arrow schema of `records`, Parquet settings, the settings table, the latest-snapshot rule,
step logs, schema evolution, compaction and retention.

Does store I/O (layout.store and what builds on it); knows nothing of HTTP or Flask."""

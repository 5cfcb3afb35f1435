"""The storage contract: store URLs, object keys, table schemas, Parquet settings, the
latest-snapshot rule. Knows nothing of HTTP."""

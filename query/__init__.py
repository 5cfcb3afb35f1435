"""The read core of the query service: DuckDB over the store (engine and views), the SQL guard,
filters, paging, run listings, summaries, CEL translation, log assembly, and the scope of what
a reader may read (clusters and namespaces).

Reads the store (DuckDB, layout.store) and writes no records; no Flask: the HTTP layer is the
subpackage query.http. Never imports ingest/."""

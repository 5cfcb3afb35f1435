"""The query service: DuckDB views over the store, the SQL sandbox, the HTTP API and output
formats. Writes no records."""

"""The query service's HTTP layer: its Flask app (`query.http.app:create_app()`) and Lambda
entry point, with one module per resource (runs, summary, logs, sql, the Tekton Results API
and its SQL, the web page) and access (query tokens).

Does HTTP I/O; reads the store through the core's engine and layout.logs, and writes nothing."""

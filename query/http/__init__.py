"""The query service's HTTP layer: its Flask app (`query.http.app:create_app()`) and Lambda
entry point, with one module per resource (runs, summary, logs, sql, the Tekton Results API
and its SQL, the web page), access (query tokens, or Kubernetes RBAC) and kubeauth (the
TokenReviews and SubjectAccessReviews behind it).

Does HTTP I/O, to the Kubernetes API server too; reads the store through the core's engine and
layout.logs, and writes nothing."""

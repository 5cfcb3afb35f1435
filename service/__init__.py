"""Flask plumbing both HTTP services share: the one JSON error shape and its handlers, the 503
with Retry-After, bearer and `?token=` parsing, limited body reading, the Lambda adapter and
the OpenAPI error schema.

Its I/O is reading request bodies and, in Lambda, the tokens' SSM parameters; it knows
nothing of ingest, query or Tekton shapes."""

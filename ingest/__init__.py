"""The ingest service: authenticate, decode and normalize (webhooks/), group-commit to the store."""

"""AWS Lambda entry point of ingest: API Gateway v2 HTTP API events into the same Flask app.

`handler` is what terraform/ names (`ingest.lambda_handler.handler`). The group-commit writer
has no background thread, and `submit` returns only once the request's rows are durable, so
each invocation writes its own rows before it answers 202 (service.lambda_app says why that
matters in Lambda). The ingest tokens come from the SSM parameter that
RUNLAKE_INGEST_TOKENS_PARAMETER names.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from service.lambda_app import LambdaApp

# The setting each variable's SSM parameter holds.
TOKEN_PARAMETERS = {"RUNLAKE_INGEST_TOKENS_PARAMETER": "RUNLAKE_INGEST_TOKENS"}


def _build(config: dict[str, str]) -> Flask:
    from ingest.app import create_app

    return create_app(config)


_app = LambdaApp(_build, TOKEN_PARAMETERS)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point: one API Gateway v2 HTTP API request."""
    return _app(event, context)


def reset() -> None:
    _app.reset()

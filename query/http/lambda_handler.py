"""AWS Lambda entry point of the query service: API Gateway v2 HTTP API events into the same
Flask app (`query.http.app:create_app`), built on first use and kept for the environment's life.

DuckDB writes nothing outside /tmp there: query.engine puts its home, extension and spill
directories under the temporary directory (TMPDIR=/tmp in the image), and the image's working
directory is read-only. The query tokens come from an SSM parameter (see service.lambda_app).
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from service.lambda_app import LambdaApp

TOKEN_PARAMETERS = {"RUNLAKE_QUERY_TOKENS_PARAMETER": "RUNLAKE_QUERY_TOKENS"}


def _build(config: dict[str, str]) -> Flask:
    from query.http.app import create_app

    return create_app(config)


_app = LambdaApp(_build, TOKEN_PARAMETERS)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point: one API Gateway v2 HTTP API request."""
    return _app(event, context)


def reset() -> None:
    _app.reset()

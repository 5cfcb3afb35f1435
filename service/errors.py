"""The one JSON error shape of both services:

    {"error": "<one line>", "errors": ["<each problem>", ...], "status": <code>}

Views raise ApiError (or let a ValueError from parsing become one); a single handler renders it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

RETRY_AFTER_S = 5


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        error: str,
        errors: Iterable[str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.errors = list(errors) if errors is not None else [error]
        self.headers = dict(headers or {})


class StoreUnavailable(ApiError):
    """503 with Retry-After: senders (Tekton among them) retry on 503."""

    def __init__(self, detail: str) -> None:
        super().__init__(
            503,
            "the store cannot be written; retry later",
            [detail],
            {"Retry-After": str(RETRY_AFTER_S)},
        )


def error_response(
    status: int,
    error: str,
    errors: list[str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    response = jsonify({"error": error, "errors": errors or [error], "status": status})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def http_error_response(exc: HTTPException) -> Response:
    """Werkzeug's own errors (404, 405, 413, ...) in the one shape."""
    status = exc.code or 500
    error = (exc.description or exc.name).split("\n")[0]
    headers = {k: v for k, v in exc.get_headers() if k.lower() in ("allow", "retry-after")}
    return error_response(status, error, headers=headers)


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        return error_response(exc.status, exc.error, exc.errors, exc.headers)

    app.register_error_handler(HTTPException, http_error_response)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        # A bug must not become a 500 that Tekton drops; log it, and let the sender retry.
        app.logger.exception("unexpected error")
        return error_response(
            503,
            "internal error; retry later",
            [type(exc).__name__],
            {"Retry-After": str(RETRY_AFTER_S)},
        )

"""Running a Flask app as an AWS Lambda function behind an API Gateway v2 HTTP API.

The app is built on the first invocation, not at import (nothing reads configuration at
import time), and kept for the life of the execution environment. Lambda runs one request at
a time per environment and may freeze it as soon as the answer is returned, so nothing may be
left for a background thread: each invocation finishes its own work before it answers.

Tokens are not plain environment variables (they would show in the console and in
Terraform's plan): the environment names SSM parameters (SecureString), read once per
environment. A new token reaches new environments; publish a new version (or change any
setting) to make every environment read it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from typing import Any

import boto3
from apig_wsgi import make_lambda_handler
from botocore.exceptions import BotoCoreError, ClientError
from flask import Flask

LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]


class ParameterUnavailable(RuntimeError):
    """An SSM parameter named by the environment could not be read."""


def read_parameter(name: str) -> str:
    """The decrypted value of an SSM parameter. Raises ParameterUnavailable."""
    try:
        answer = boto3.client("ssm").get_parameter(Name=name, WithDecryption=True)
    except (BotoCoreError, ClientError) as exc:
        raise ParameterUnavailable(f"cannot read SSM parameter {name}: {exc}") from exc
    return answer["Parameter"]["Value"]


def parameter_settings(
    parameters: Mapping[str, str], environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Settings read from the SSM parameters the environment names: for each
    `{variable: setting}` whose variable is set, `{setting: value of that parameter}`."""
    environ = os.environ if environ is None else environ
    return {
        setting: read_parameter(environ[variable])
        for variable, setting in parameters.items()
        if environ.get(variable)
    }


def unavailable(detail: str) -> dict[str, Any]:
    """The 503 an HTTP API answers when the app cannot start (its store or tokens are out of
    reach): the one JSON error shape, with Retry-After, so Tekton retries."""
    body = {"error": "the service cannot start", "errors": [detail], "status": 503}
    return {
        "statusCode": 503,
        "isBase64Encoded": False,
        "cookies": [],
        "headers": {"content-type": "application/json", "retry-after": "5"},
        "body": json.dumps(body),
    }


class LambdaApp:
    """A Flask app built on first use and wrapped for API Gateway v2 (payload 2.0) events;
    a failed start is answered 503 and tried again on the next invocation."""

    def __init__(
        self, build: Callable[[dict[str, str]], Flask], parameters: Mapping[str, str]
    ) -> None:
        self._build = build
        self._parameters = parameters
        self._handler: LambdaHandler | None = None
        self.app: Flask | None = None

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        if self._handler is None:
            try:
                self.app = self._build(parameter_settings(self._parameters))
            except (ParameterUnavailable, ValueError) as exc:  # SettingError is a ValueError
                return unavailable(str(exc))
            self._handler = make_lambda_handler(self.app)
        return self._handler(event, context)

    def reset(self) -> None:
        """Forget the app, as a new execution environment would (tests use it)."""
        self._handler = None
        self.app = None

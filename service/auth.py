"""Bearer tokens, for both services: `Authorization: Bearer <token>`, or `?token=<token>`
because Tekton's sink is a bare URL. Compared in constant time."""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence

from service.errors import ApiError


def presented_token(headers: Mapping[str, str], args: Mapping[str, str]) -> str | None:
    header = headers.get("Authorization", "")
    scheme, _, credential = header.partition(" ")
    if scheme.lower() == "bearer" and credential.strip():
        return credential.strip()
    return args.get("token") or None


def token_matches(presented: str, accepted: Sequence[str]) -> bool:
    """Constant-time against every accepted token, so timing tells nothing of which is close."""
    found = False
    for token in accepted:
        found |= hmac.compare_digest(presented.encode(), token.encode())
    return found


def require_token(
    headers: Mapping[str, str], args: Mapping[str, str], accepted: Sequence[str]
) -> None:
    if not accepted:
        return
    presented = presented_token(headers, args)
    if presented is None:
        raise ApiError(
            401,
            "a token is required",
            ["send Authorization: Bearer <token> or ?token=<token>"],
            {"WWW-Authenticate": 'Bearer realm="runlake"'},
        )
    if not token_matches(presented, accepted):
        raise ApiError(
            401,
            "the token is not accepted",
            ["the token is not accepted"],
            {"WWW-Authenticate": 'Bearer realm="runlake", error="invalid_token"'},
        )

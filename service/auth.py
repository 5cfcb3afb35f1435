"""Bearer tokens, for both services: `Authorization: Bearer <token>`, or `?token=<token>`
because Tekton's sink is a bare URL. Compared in constant time."""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping, Sequence

from service.errors import ApiError


def presented_token(headers: Mapping[str, str], args: Mapping[str, str]) -> str | None:
    header = headers.get("Authorization", "")
    scheme, _, credential = header.partition(" ")
    if scheme.lower() == "bearer" and credential.strip():
        return credential.strip()
    return args.get("token") or None


def matching_token(presented: str, accepted: Iterable[str]) -> str | None:
    """The accepted token equal to `presented`, or None. Every token is compared, in constant
    time, so timing tells nothing of which one is close."""
    found = None
    for token in accepted:
        if hmac.compare_digest(presented.encode(), token.encode()):
            found = token
    return found


def token_matches(presented: str, accepted: Sequence[str]) -> bool:
    return matching_token(presented, accepted) is not None


def token_required() -> ApiError:
    return ApiError(
        401,
        "a token is required",
        ["send Authorization: Bearer <token> or ?token=<token>"],
        {"WWW-Authenticate": 'Bearer realm="runlake"'},
    )


def token_refused() -> ApiError:
    return ApiError(
        401,
        "the token is not accepted",
        ["the token is not accepted"],
        {"WWW-Authenticate": 'Bearer realm="runlake", error="invalid_token"'},
    )


def require_token(
    headers: Mapping[str, str], args: Mapping[str, str], accepted: Sequence[str]
) -> str | None:
    """The accepted token the request presents; None when nothing is required (`accepted`
    empty). Raises ApiError 401 otherwise."""
    if not accepted:
        return None
    presented = presented_token(headers, args)
    if presented is None:
        raise token_required()
    token = matching_token(presented, accepted)
    if token is None:
        raise token_refused()
    return token

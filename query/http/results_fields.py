"""Partial responses of the Tekton Results API (AIP-157): `?fields=records.name,...` keeps
only the listed fields, as Results' field mask does (tektoncd/results internal/fieldmask):

- paths are proto field names joined by dots (`records.create_time`, `next_page_token`);
  a field no path names is left out, and a list applies the rest of a path to each item;
- in a map (`annotations`) only the listed keys stay;
- `data.value`, the base64 JSON of a record, is rebuilt with only the listed JSON paths
  (`records.data.value.metadata.name` gives `{"metadata": {"name": ...}}`, a missing path
  null), so tkn-results can ask for `records.data.value.metadata` and `...status` alone.

Pure: the HTTP module applies it to successful list, get and summary answers, never to
errors or log text.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

Mask = dict[str, "Mask"]
_MAPS = ("annotations",)  # map fields of Results' messages


def parse_mask(text: str | None) -> Mask | None:
    """The mask of a `fields` value; None (everything) when absent or blank."""
    paths = [p.strip() for p in (text or "").split(",") if p.strip()]
    if not paths:
        return None
    # As fieldmaskpb.Normalize: a path covered by a shorter one adds nothing.
    paths = sorted(set(paths))
    kept = [p for p in paths if not any(p.startswith(q + ".") for q in paths if q != p)]
    mask: Mask = {}
    for path in kept:
        node = mask
        for name in path.split("."):
            node = node.setdefault(name, {})
    return mask


def apply_mask(message: dict[str, Any], mask: Mask | None) -> dict[str, Any]:
    if not mask:
        return message
    out: dict[str, Any] = {}
    for name, value in message.items():
        if name not in mask:
            continue
        below = mask[name]
        out[name] = _masked(name, value, below) if below else value
    return out


def _masked(name: str, value: Any, mask: Mask) -> Any:
    if isinstance(value, list):
        return [_masked(name, item, mask) for item in value]
    if name in _MAPS and isinstance(value, dict):
        return {k: v for k, v in value.items() if k in mask}
    if name == "value" and isinstance(value, str):
        return _masked_json(value, mask)
    if isinstance(value, dict):
        return apply_mask(value, mask)
    return value


def _masked_json(encoded: str, mask: Mask) -> str:
    try:
        document = json.loads(base64.b64decode(encoded, validate=True))
    except (ValueError, binascii.Error):
        return encoded  # not JSON: left as it is, as Results leaves it
    return base64.b64encode(json.dumps(_pick(document, mask)).encode()).decode()


def _pick(document: Any, mask: Mask) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, below in mask.items():
        value = document.get(name) if isinstance(document, dict) else None
        out[name] = _pick(value, below) if below else value
    return out

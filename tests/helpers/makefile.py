"""What `make run` tells a new user to try, read from the Makefile itself."""

from __future__ import annotations

import re
from pathlib import Path

from tests.helpers.tekton import FIXTURES

MAKEFILE = Path(__file__).resolve().parents[2] / "Makefile"


def demo_event() -> tuple[dict[str, str], Path]:
    """The headers and body file of the curl `make run` prints for the user to try."""
    text = MAKEFILE.read_text()
    headers = dict(re.findall(r"-H '(ce-[a-z]+|content-type): ([^']+)'", text))
    body = re.search(r"--data @\.\./shared/fixtures/tekton/(\S+?\.json)", text).group(1)
    return headers, FIXTURES / body

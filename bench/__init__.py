"""Benchmarks of runlake at the sizes the issues name; `make bench` runs them all."""

from __future__ import annotations

import argparse
from collections.abc import Callable


def count_list(minimum: int, noun: str) -> Callable[[str], list[int]]:
    """An argparse type for comma-separated counts such as `100_000,1_000_000`."""

    def parse(text: str) -> list[int]:
        try:
            counts = [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a list of {noun}s: {text!r}") from None
        if not counts or min(counts) < minimum:
            raise argparse.ArgumentTypeError(f"each {noun} must be at least {minimum:,}")
        return counts

    return parse

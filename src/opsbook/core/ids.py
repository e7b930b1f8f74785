"""Identifiers: time-ordered, URL-safe, with a short prefix that says what they name."""

from __future__ import annotations

import os
import time


def new_id(prefix: str) -> str:
    """``inc_`` + 12 hex digits of milliseconds + 16 random hex digits: sorts by creation time."""
    return f"{prefix}_{time.time_ns() // 1_000_000:012x}{os.urandom(8).hex()}"

"""Alertmanager-compatible fingerprints: FNV-1a 64 over sorted label names and values.

Computing the same value as Prometheus's ``model.LabelSet.Fingerprint`` means an alert that
arrives through Alertmanager (which sends its fingerprint) and directly from Prometheus (which
does not) deduplicates to the same identity.
"""

from __future__ import annotations

from collections.abc import Mapping

_OFFSET = 14695981039346656037
_PRIME = 1099511628211
_MASK = 0xFFFFFFFFFFFFFFFF
_SEPARATOR = 0xFF


def _fnv_add(h: int, data: bytes) -> int:
    for byte in data:
        h ^= byte
        h = (h * _PRIME) & _MASK
    return h


def fingerprint(labels: Mapping[str, str]) -> str:
    """The 16-hex-digit fingerprint of a label set, as Alertmanager prints it."""
    if not labels:
        return f"{_OFFSET:016x}"
    h = _OFFSET
    for name in sorted(labels):
        h = _fnv_add(h, name.encode())
        h = _fnv_add(h, bytes([_SEPARATOR]))
        h = _fnv_add(h, labels[name].encode())
        h = _fnv_add(h, bytes([_SEPARATOR]))
    return f"{h:016x}"

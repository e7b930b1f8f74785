"""Stable pseudonyms for people: ``person-`` + an HMAC prefix of (tenant, identity).

The same person always gets the same pseudonym, so an erased person's acts still line up on a
timeline; without the key nobody can tell whose they were.
"""

from __future__ import annotations

import hashlib
import hmac

PREFIX = "person-"
SYSTEM_PREFIXES = ("system", "integration:", "operator", "cli", "retention", "token:")


def pseudonym(key: bytes, tenant: str, identity: str) -> str:
    """``person-<12 hex>`` for ``identity`` (a user name or an email, case-insensitive) in ``tenant``."""
    mac = hmac.new(key, f"{tenant}\0{identity.strip().lower()}".encode(), hashlib.sha256)
    return PREFIX + mac.hexdigest()[:12]


def is_pseudonym(value: str) -> bool:
    return value.startswith(PREFIX) and len(value) == len(PREFIX) + 12


def is_system(actor: str) -> bool:
    """Actors that are not people (the worker, an integration, the operator's CLI) stay readable."""
    return actor.startswith(SYSTEM_PREFIXES) or is_pseudonym(actor)

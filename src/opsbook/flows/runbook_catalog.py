"""The runbooks the config points at, loaded once per (re)load and shared read-only.

Paths in ``services[].runbooks`` are files, directories or globs relative to the config file.
A runbook is visible to a tenant when one of the tenant's services names it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from opsbook.config.models import Config
from opsbook.runbooks.catalog import load_paths
from opsbook.runbooks.match import Match, match_section
from opsbook.runbooks.models import Runbook


def runbook_id(path: str) -> str:
    """A short stable id for a runbook file, from its path as shown."""
    return "rb_" + hashlib.sha256(path.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class RunbookCatalog:
    """Parsed runbooks by id, and which (tenant, service) uses which."""

    runbooks: Mapping[str, Runbook] = field(default_factory=dict)
    by_service: Mapping[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def load(cls, config: Config, base_dir: Path | str = ".") -> RunbookCatalog:
        """Read every service's runbooks; a file shared by services is parsed once."""
        cache: dict[str, tuple[Runbook, ...]] = {}
        runbooks: dict[str, Runbook] = {}
        by_service: dict[tuple[str, str], tuple[str, ...]] = {}
        for svc in config.services:
            ids: list[str] = []
            for pattern in svc.runbooks:
                if pattern not in cache:
                    cache[pattern] = tuple(load_paths([pattern], base_dir))
                for rb in cache[pattern]:
                    rid = runbook_id(rb.path)
                    runbooks.setdefault(rid, rb)
                    if rid not in ids:
                        ids.append(rid)
            by_service[(svc.tenant, svc.name)] = tuple(ids)
        return cls(runbooks, by_service)

    def for_service(self, tenant: str, service: str) -> list[Runbook]:
        return [self.runbooks[i] for i in self.by_service.get((tenant, service), ())]

    def ids_for_tenant(self, tenant: str) -> list[str]:
        seen: dict[str, None] = {}
        for (t, _), ids in self.by_service.items():
            if t == tenant:
                seen.update(dict.fromkeys(ids))
        return list(seen)

    def services_of(self, tenant: str, rid: str) -> list[str]:
        return [s for (t, s), ids in self.by_service.items() if t == tenant and rid in ids]

    def get(self, tenant: str, rid: str) -> Runbook | None:
        """The runbook if this tenant may see it."""
        return self.runbooks.get(rid) if rid in self.ids_for_tenant(tenant) else None

    def match(
        self,
        tenant: str,
        service: str,
        alertname: str,
        labels: Mapping[str, str],
        annotations: Mapping[str, str],
    ) -> Match | None:
        """The section for an alert among the service's runbooks (never another service's)."""
        books = self.for_service(tenant, service)
        if not books:
            return None
        return match_section(books, alertname, labels, annotations)

    def errors(self) -> list[str]:
        return [e for rb in self.runbooks.values() for e in rb.errors]

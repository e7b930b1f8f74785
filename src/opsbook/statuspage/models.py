"""Status-page vocabulary: the five component states (Atlassian Statuspage's names) and update statuses."""

from __future__ import annotations

from enum import StrEnum

from opsbook.incidents.models import Severity


class ComponentState(StrEnum):
    OPERATIONAL = "operational"
    UNDER_MAINTENANCE = "under_maintenance"
    DEGRADED_PERFORMANCE = "degraded_performance"
    PARTIAL_OUTAGE = "partial_outage"
    MAJOR_OUTAGE = "major_outage"

    @property
    def rank(self) -> int:
        """Worse is higher; planned maintenance ranks above operational and below any outage."""
        return _RANK[self]

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


_RANK = {s: i for i, s in enumerate(ComponentState)}


def worst(states: list[ComponentState]) -> ComponentState:
    return max(states, key=lambda s: s.rank, default=ComponentState.OPERATIONAL)


SEVERITY_STATE: dict[Severity, ComponentState] = {
    Severity.P0: ComponentState.MAJOR_OUTAGE,
    Severity.P1: ComponentState.PARTIAL_OUTAGE,
    Severity.P2: ComponentState.DEGRADED_PERFORMANCE,
    Severity.P3: ComponentState.OPERATIONAL,
}


class UpdateStatus(StrEnum):
    """The status a public update announces (incident ones, then maintenance ones)."""

    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"
    SCHEDULED = "scheduled"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"

    @property
    def closes(self) -> bool:
        """After this update the public incident is no longer shown as ongoing."""
        return self in (UpdateStatus.RESOLVED, UpdateStatus.COMPLETED)


# Statuspage's page indicator for the worst component state
INDICATOR: dict[ComponentState, tuple[str, str]] = {
    ComponentState.OPERATIONAL: ("none", "All Systems Operational"),
    ComponentState.UNDER_MAINTENANCE: ("maintenance", "Service Under Maintenance"),
    ComponentState.DEGRADED_PERFORMANCE: ("minor", "Minor Service Outage"),
    ComponentState.PARTIAL_OUTAGE: ("major", "Partial System Outage"),
    ComponentState.MAJOR_OUTAGE: ("critical", "Major System Outage"),
}

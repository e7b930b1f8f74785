"""Signed acknowledge/resolve links: check one (read-only) and use one (exactly once).

A link in a page is the credential: whoever holds it acts as the person it was sent to, without
logging in, from a phone. So a link does only what it says, once, in time, and no more than that
person could do through the API:

- the token must verify (``notify.links``: HMAC with ``OPSBOOK_SECRET_KEY``, not expired);
- its nonce must not be in ``used_links`` — using a link inserts the nonce, whose primary key
  makes "once" hold even when two taps race (the second insert does nothing and is refused);
- the person must still be a user of the incident's tenant with the role the API asks for
  (acknowledge: responder, resolve: commander), so a link can never reach another tenant;
- the incident must be in a state that allows the action.

:func:`check_link` changes nothing (a GET shows it: mail scanners prefetch links, and a
prefetch must never acknowledge a page nobody read); :func:`use_link` acts, in the caller's
transaction. Both raise :class:`LinkRefused` with a ``code`` the API maps to a status.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from opsbook.config.models import Config
from opsbook.core.errors import Conflict
from opsbook.flows import incidents as incident_flows
from opsbook.incidents.models import Status
from opsbook.notify.links import InvalidLink, LinkClaims, verify
from opsbook.storage.tables import Incident, UsedLink

RefusalCode = Literal[
    "disabled", "invalid", "expired", "used", "not_found", "not_allowed", "conflict"
]

_ROLE_RANK = {"viewer": 0, "responder": 1, "commander": 2, "admin": 3}
_NEEDS = {"acknowledge": "responder", "resolve": "commander"}  # as the incidents API asks
_USED: Table = UsedLink.__table__  # type: ignore[assignment]


class LinkRefused(Exception):
    """The link does nothing; ``message`` says why and what to do instead (safe to show)."""

    def __init__(self, code: RefusalCode, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass(frozen=True)
class LinkTarget:
    """A valid link and the incident it acts on, as shown to the person before they confirm."""

    claims: LinkClaims
    tenant: str
    incident_id: str
    title: str
    severity: str
    service: str
    status: str
    actor: str  # who the timeline will name: "alice via link"


def _claims(secret: str | None, token: str, now: datetime) -> LinkClaims:
    if not secret:
        raise LinkRefused(
            "disabled",
            "One-tap links are turned off on this server (OPSBOOK_SECRET_KEY is not set). "
            "Open the incident in opsbook and act there.",
        )
    try:
        return verify(token, secret, now)
    except InvalidLink as exc:
        if exc.reason == "link expired":
            raise LinkRefused(
                "expired",
                "This link has expired. Open the incident in opsbook to acknowledge or resolve it.",
            ) from None
        raise LinkRefused(
            "invalid",
            "This link is not valid: it may have been cut off or changed. Copy the whole link "
            "from the message, or open the incident in opsbook.",
        ) from None
    except ValueError:  # a secret shorter than 16 bytes: the server's setup, not the link
        raise LinkRefused(
            "disabled",
            "One-tap links are turned off on this server (OPSBOOK_SECRET_KEY is too short). "
            "Open the incident in opsbook and act there.",
        ) from None


def _target(
    s: Session, config: Config, claims: LinkClaims, *, lock: bool
) -> tuple[Incident, LinkTarget]:
    used = s.get(UsedLink, claims.nonce)
    if used is not None:
        raise LinkRefused(
            "used",
            "This link was already used (each link works once). Open the incident in opsbook "
            "to see where it stands.",
        )
    # The signed token is the credential and names the incident: look it up by id, then hold
    # everything to that incident's tenant.
    q = select(Incident).where(Incident.id == claims.incident_id)
    if lock:
        q = q.with_for_update()
    inc = s.scalars(q).first()
    if inc is None:
        raise LinkRefused("not_found", "The incident of this link no longer exists.")
    user = config.user(inc.tenant, claims.user)
    need = _NEEDS[claims.action]
    if user is None or _ROLE_RANK.get(user.role, 0) < _ROLE_RANK[need]:
        raise LinkRefused(
            "not_allowed",
            f"{claims.user} may not {claims.action} this incident (a {need} of its team in "
            "opsbook.yaml can). Nothing was changed.",
        )
    status = Status(inc.status)
    if claims.action == "acknowledge" and status != Status.TRIGGERED:
        who = inc.acknowledged_by or inc.resolved_by
        raise LinkRefused(
            "conflict",
            f"Nothing to do: the incident is already {status.value}"
            + (f" (by {who})." if who else "."),
        )
    if claims.action == "resolve" and not status.is_open:
        who = inc.resolved_by
        raise LinkRefused(
            "conflict",
            f"Nothing to do: the incident is already {status.value}"
            + (f" (by {who})." if who else "."),
        )
    return inc, LinkTarget(
        claims=claims,
        tenant=inc.tenant,
        incident_id=inc.id,
        title=inc.title,
        severity=inc.severity,
        service=inc.service,
        status=inc.status,
        actor=f"{claims.user} via link",
    )


def check_link(
    s: Session, config: Config, secret: str | None, token: str, now: datetime
) -> LinkTarget:
    """What ``token`` would do, if it may; changes nothing. Raises :class:`LinkRefused`."""
    return _target(s, config, _claims(secret, token, now), lock=False)[1]


def _insert_nonce(s: Session, nonce: str, now: datetime) -> bool:
    """Mark the nonce used; False if it already was (a race the primary key settles)."""
    row: dict[str, Any] = {"nonce": nonce, "used_at": now}
    dialect = postgresql if s.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(_USED).values(row).on_conflict_do_nothing(index_elements=["nonce"])
    return s.execute(stmt.returning(_USED.c.nonce)).first() is not None


def use_link(
    s: Session, config: Config, secret: str | None, token: str, now: datetime
) -> LinkTarget:
    """Carry out ``token``'s action once, in the caller's transaction; returns the result.

    On any refusal nothing is stored: the caller's transaction rolls back with the exception,
    so a link refused for a conflict (already acknowledged) is not used up either.
    """
    claims = _claims(secret, token, now)
    inc, target = _target(s, config, claims, lock=True)
    if not _insert_nonce(s, claims.nonce, now):
        raise LinkRefused("used", "This link was already used (each link works once).")
    try:
        if claims.action == "acknowledge":
            inc = incident_flows.acknowledge(s, inc.tenant, inc.id, target.actor, now)
        else:
            inc = incident_flows.resolve(
                s, inc.tenant, inc.id, target.actor, now, note="", config=config
            )
    except Conflict as exc:
        raise LinkRefused("conflict", f"Nothing to do: {exc.detail}.") from None
    return replace(target, status=inc.status)

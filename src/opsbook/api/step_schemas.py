"""Request and response bodies of the steps API: run requests, their reviews, approvals.

A run request (``run_…``) is shown with its review — the exact command, every variable with its
source, the target, the safety reason — and ``shown_hash``, which an approval sends back.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from opsbook.flows.step_review import Review
from opsbook.flows.steps import Pending
from opsbook.storage.tables import Approval, StepRun

HASH = Field(
    pattern=r"^[0-9a-f]{64}$",
    description="the shown_hash of the request as you saw it (GET …/runs/{run_id})",
)


class RunIn(BaseModel):
    variables: dict[str, str] = Field(
        default_factory=dict,
        max_length=50,
        description="values for variables the service does not define",
    )
    dry_run: bool = Field(default=False, description="only show the resolved command and the gate")
    confirmation: str | None = Field(
        default=None, max_length=500, description="the step's name, for destructive steps"
    )
    approve: bool = Field(
        default=False,
        description="approve your own request at once (self-approval), where your role and the "
        "gate allow it; otherwise a gated request waits for approval",
    )
    self_approve: bool = Field(default=False, description="the same as approve")


class ApproveIn(BaseModel):
    shown_hash: str = HASH
    confirmation: str | None = Field(default=None, max_length=500)
    comment: str = Field(default="", max_length=2000)
    self_approve: bool = Field(
        default=False, description="true to approve your own request (where policy allows it)"
    )


class BreakGlassIn(BaseModel):
    reason: str = Field(
        max_length=2000, description="why no second person approves (paged to the team)"
    )
    shown_hash: str = HASH
    confirmation: str | None = Field(default=None, max_length=500)


class RejectIn(BaseModel):
    comment: str = Field(default="", max_length=2000)


class VariableOut(BaseModel):
    name: str
    value: str = Field(description="as shown: secrets are ******")
    source: str = Field(description="service, secret, request, default or unset")
    used: bool = Field(description="false for a request value the step does not declare")


class ReviewOut(BaseModel):
    """What the approver is shown; ``shown_hash`` covers all of it."""

    run_id: str
    step: int
    step_text: str
    kind: str
    command: str
    argv: list[list[str]] | None
    variables: list[VariableOut]
    target: str = Field(description="where the step connects, or 'local process'")
    safety: str
    reason: str
    shown_hash: str

    @classmethod
    def of(cls, r: Review) -> ReviewOut:
        return cls(
            run_id=r.run_id,
            step=r.step,
            step_text=r.step_text,
            kind=r.kind,
            command=r.command,
            argv=r.argv,
            variables=[VariableOut(**vars(v)) for v in r.variables],
            target=r.target,
            safety=r.safety,
            reason=r.reason,
            shown_hash=r.shown_hash,
        )


class DecisionOut(BaseModel):
    actor: str
    role: str
    decision: str
    at: datetime
    comment: str
    self_approved: bool
    break_glass: bool

    @classmethod
    def of(cls, a: Approval) -> DecisionOut:
        return cls(
            actor=a.actor,
            role=a.role,
            decision=a.decision,
            at=a.at,
            comment=a.comment,
            self_approved=bool(a.self_approved),
            break_glass=bool(a.break_glass),
        )


class RunOut(BaseModel):
    id: str
    run_id: str = Field(description="the request id approvals name (the same as id)")
    step: int
    title: str
    kind: str
    safety: str
    command: str
    status: str
    automatic: bool
    requested_by: str
    requested_at: datetime
    approval_expires_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    result: dict[str, Any] | None
    review: ReviewOut | None = Field(description="what the approver is shown, with shown_hash")
    decisions: list[DecisionOut] = []
    current: bool | None = Field(
        default=None,
        description="waiting requests: whether it would still run exactly as shown",
    )
    second_person: bool | None = Field(
        default=None, description="waiting requests: the requester may not approve it alone"
    )

    @classmethod
    def of(
        cls, r: StepRun, decisions: Sequence[Approval] = (), pending: Pending | None = None
    ) -> RunOut:
        review = Review.from_dict(r.review) if r.review else None
        return cls(
            id=r.id,
            run_id=r.id,
            step=r.step_index,
            title=r.step_title,
            kind=r.kind,
            safety=r.safety,
            command=r.command,
            status=r.status,
            automatic=r.automatic,
            requested_by=r.requested_by,
            requested_at=r.requested_at,
            approval_expires_at=r.approval_expires_at,
            started_at=r.started_at,
            finished_at=r.finished_at,
            result=r.result,
            review=ReviewOut.of(review) if review else None,
            decisions=[DecisionOut.of(a) for a in decisions],
            current=pending.current if pending else None,
            second_person=pending.second_person if pending else None,
        )


class StepOut(BaseModel):
    step: int
    phase: str
    title: str
    text: str
    executable: bool
    kind: str
    safety: str
    reason: str
    variables: list[str] = Field(description="the placeholders the step names, as written")
    interactive: bool = Field(
        False,
        description="never ends by itself or needs a terminal: not run automatically, and a "
        "run request is refused (run it by hand)",
    )
    interactive_reason: str = ""
    bounded: str | None = Field(
        None,
        description="for an interactive step that only runs too long: the form that ends by "
        "itself, which a run request runs instead",
    )
    request_variables: list[str] = Field(
        description="the names a run request may set for it (the rest come from the service's "
        "config); send these in `variables`"
    )
    needs_role: str | None
    confirmation: str | None
    second_person: bool = Field(description="the requester may not approve it alone")
    last_run: RunOut | None
    pending: list[RunOut] = Field(description="requests waiting for approval, oldest first")


class DryRunOut(BaseModel):
    step: int
    command: str
    argv: list[list[str]] | None
    variables: list[VariableOut]
    target: str
    kind: str
    safety: str
    reason: str
    needs_role: str | None
    second_person: bool
    confirmation: str | None

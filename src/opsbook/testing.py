"""Fakes shipped for tests and plugin authors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from opsbook.executors.models import ExecContext, StepResult
from opsbook.notify.apprise_channel import DeliveryResult
from opsbook.runbooks.models import Step


class FrozenClock:
    """A clock that only moves when told to: ``advance(minutes=5)``."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, **delta: float) -> datetime:
        self._now += timedelta(**delta)
        return self._now

    def set(self, when: datetime) -> None:
        self._now = when


class FakeExecutor:
    """Stands in for ``opsbook.executors.execute``: records each step and answers from a table.

    ``FakeExecutor({"redis-cli PING": StepResult(status="ok", summary="PONG")})``; unknown commands
    answer ``default``. Pass it as ``StepRunner(..., execute=fake)``.
    """

    def __init__(
        self, answers: dict[str, StepResult] | None = None, default: StepResult | None = None
    ) -> None:
        self.answers = dict(answers or {})
        self.default = default or StepResult(status="ok", summary="ok (fake)")
        self.ran: list[str] = []

    def __call__(self, step: Step, ctx: ExecContext) -> StepResult:
        self.ran.append(step.text)
        return self.answers.get(step.text, self.default)


class RecordingNotifier:
    """Stands in for ``opsbook.notify.apprise_channel.send``: records messages, answers ok.

    ``Deliverer(..., send=RecordingNotifier())``; set ``fail_with`` to a DeliveryResult to script failures.
    """

    def __init__(self, fail_with: DeliveryResult | None = None) -> None:
        self.sent: list[tuple[str, str, str]] = []
        self.fail_with = fail_with

    def __call__(
        self,
        url: str,
        title: str,
        body: str,
        timeout: float = 10.0,
        *,
        delivery_id: str | None = None,
    ) -> DeliveryResult:
        self.sent.append((url, title, body))
        return self.fail_with or DeliveryResult(True, False, "recorded")

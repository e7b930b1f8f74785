"""The fakes shipped in opsbook.testing behave as documented."""

from __future__ import annotations

from opsbook.executors.models import ExecContext, StepResult
from opsbook.notify.apprise_channel import DeliveryResult
from opsbook.runbooks.models import Step
from opsbook.testing import FakeExecutor, FrozenClock, RecordingNotifier


def _step(text: str) -> Step:
    return Step(
        line=1,
        title="",
        text=text,
        executable=True,
        kind="redis",
        inner_kind=None,
        safety="read-only",
        reason="",
    )


def test_fake_executor_answers_from_its_table_and_records() -> None:
    fake = FakeExecutor(
        {"redis-cli PING": StepResult(status="ok", summary="PONG")},
        default=StepResult(status="failed", summary="nope"),
    )
    assert fake(_step("redis-cli PING"), ExecContext()).summary == "PONG"
    assert fake(_step("redis-cli INFO"), ExecContext()).status == "failed"
    assert fake.ran == ["redis-cli PING", "redis-cli INFO"]


def test_recording_notifier_and_frozen_clock() -> None:
    rec = RecordingNotifier()
    assert rec("json://x", "t", "b").ok and rec.sent == [("json://x", "t", "b")]
    failing = RecordingNotifier(fail_with=DeliveryResult(False, True, "503"))
    assert failing("json://x", "t", "b").retryable
    clock = FrozenClock()
    start = clock.now()
    assert (clock.advance(minutes=5) - start).total_seconds() == 300

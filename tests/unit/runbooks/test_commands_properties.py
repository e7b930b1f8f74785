"""Property tests of the command readers: any text (prompts, prose, inline code, tables)
reads without an exception, every step's text comes from the document, and an interactive step
always says why."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsbook.runbooks.inline import command_line, prose_commands
from opsbook.runbooks.interactive import interactive_reason
from opsbook.runbooks.parse import parse_runbook
from opsbook.runbooks.transcript import read_transcript

_PIECES = [
    "mysql> ",
    "    -> ",
    "postgres=# ",
    "postgres-# ",
    "127.0.0.1:6379> ",
    "redis> ",
    ">>> ",
    "... ",
    "PS C:\\> ",
    ">> ",
    "# ",
    "$ ",
    "root@h:~# ",
    "neo4j> ",
    "rs0:PRIMARY> ",
    "```",
    "```text\n",
    "```console\n",
    "\n",
    "`",
    "| a | `b c` |\n|---|---|\n",
    "1. ",
    "- ",
    "run ",
    "never ",
    "STOP SLAVE;",
    "SELECT 1",
    "growpart /dev/sda 1",
    "tail -f x",
    "kubectl exec -it p -- sh",
    "<<EOF\n",
    "EOF\n",
    "\\\n",
    "'",
    '"',
    "(",
    "NAME   READY   STATUS",
    "Query OK",
    "export A=1",
    "Get-Process | Remove-Item",
]

_text = st.lists(st.sampled_from(_PIECES) | st.text(max_size=12), max_size=50).map("".join)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_text)
def test_any_text_reads(text: str) -> None:
    rb = parse_runbook(text, "fuzz.md")
    assert rb.errors == ()
    for section in rb.sections:
        for step in section.steps:
            assert step.reason
            assert step.interactive == bool(step.interactive_reason)
            if step.interactive:
                assert step.executable


@settings(max_examples=120, deadline=None)
@given(_text)
def test_transcript_commands_come_from_the_text(text: str) -> None:
    for roots in (True, False):
        raws = read_transcript(text, 1, roots=roots, foreign_only=not roots) or []
        for raw in raws:
            assert raw.text
            first = raw.text.split("\n", 1)[0].split()[0]
            assert first in text
            assert 1 <= raw.line <= text.count("\n") + 1


@settings(max_examples=120, deadline=None)
@given(_text)
def test_inline_readers_never_raise(text: str) -> None:
    command_line(text)
    command_line(text, block=True)
    command_line(text, block=True, strict=True)
    for cmd in prose_commands(text, text[:40]):
        assert cmd in text
    for kind in ("shell", "kubectl", "docker", "redis", "sql"):
        reason = interactive_reason(text, kind)
        assert reason is None or reason

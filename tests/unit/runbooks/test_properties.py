"""Property tests: any text parses without an exception, in bounded time; a generated
50,000-line runbook parses whole."""

from __future__ import annotations

import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsbook.runbooks.classify import classify
from opsbook.runbooks.export import to_json_dict
from opsbook.runbooks.models import KINDS, PHASES, SAFETY_CLASSES
from opsbook.runbooks.parse import parse_runbook
from opsbook.runbooks.variables import find_variables
from tests.support.big_runbook import generated_runbook

_PIECES = [
    "# ",
    "## ",
    "### ",
    "#### ",
    "- ",
    "* ",
    "1. ",
    "   ",
    "> ",
    "| a | b |\n|---|---|\n",
    "```",
    "```bash\n",
    "```sql\n",
    "~~~",
    "\n",
    "\n\n",
    "**",
    "`",
    "$ ",
    "\\\n",
    "---\n",
    "+++\n",
    "**Alert:** ",
    "**Severity:** ",
    "**Detect**: ",
    "Symptoms:",
    "<<EOF\n",
    "EOF\n",
    "kubectl delete pod x",
    "redis-cli FLUSHDB",
    'psql -c "',
    "SELECT 1;",
    "$(",
    ")",
    "'",
    '"',
    "|",
    "&&",
    ";",
    "<pod>",
    "[X]",
    "{{ v }}",
    "HighErrorRate",
    "Problem:",
    "title: A\n",
]
markdownish = st.lists(st.one_of(st.sampled_from(_PIECES), st.text(max_size=12)), max_size=60).map(
    "".join
)


def _check(rb_text: str) -> None:
    started = time.process_time()  # CPU time: a busy machine must not fail a linear-time parse
    rb = parse_runbook(rb_text, "fuzz.md")
    assert time.process_time() - started < 2.0
    assert rb.errors == () or all("could not read" not in e for e in rb.errors)
    for section in rb.sections:
        assert section.line >= 1 or section.level == 0
        for phase in section.phases:
            assert phase.phase in PHASES and phase.steps
            for step in phase.steps:
                assert step.kind in KINDS and step.safety in SAFETY_CLASSES
                assert step.reason and "\n" not in step.reason
    to_json_dict([rb])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(markdownish)
def test_markdown_like_text_never_raises(text: str) -> None:
    _check(text)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_any_text_never_raises(text: str) -> None:
    _check(text)


@settings(max_examples=300, deadline=None)
@given(
    st.text(max_size=200),
    st.sampled_from(
        [
            None,
            "bash",
            "sql",
            "cypher",
            "redis",
            "promql",
            "python",
            "console",
            "http",
            "yaml",
            "weird",
        ]
    ),
)
def test_classify_and_variables_never_raise(command: str, lang: str | None) -> None:
    c = classify(command, lang)
    assert c.kind in KINDS and c.safety in SAFETY_CLASSES
    assert c.reason and "\n" not in c.reason
    find_variables(command)


def test_pathological_nesting_is_bounded() -> None:
    deep = [
        "```bash\n" + "echo $(" * 20000 + "\n```\n",
        "```bash\n" + "kubectl exec x -- " * 3000 + "ls\n```\n",
        "```sql\n" + "SELECT a FROM t WHERE x = 'y'\n" * 20000 + "```\n",
    ]
    for text in deep:
        rb = parse_runbook(text, "deep.md")
        assert rb.errors == ()
        assert all(st.reason for s in rb.sections for st in s.steps)
    for text in (
        "> " * 5000 + "x",
        "- " * 5000 + "x",
        "[" * 20000,
        "`" * 20000,
        "*" * 20000 + "a",
        "```\n" + "$(" * 5000 + "\n```\n",
        '```bash\n"' + "a\n" * 20000 + "```\n",
    ):
        _check(text)


def test_fifty_thousand_line_runbook_parses_whole() -> None:
    """Every section and step of a generated 50,000-line runbook is found (its speed is measured
    by bench/parse.py, next to markdown-it itself, not here)."""
    text, sections = generated_runbook(50_000)
    assert text.count("\n") >= 50_000
    classify.cache_clear()  # no help from the memo of an earlier test
    rb = parse_runbook(text, "big.md")
    assert rb.errors == ()
    assert len(rb.sections) == sections
    assert [s.heading for s in rb.sections[:2]] == ["Service 0 error rate", "Service 1 error rate"]
    assert sum(len(s.steps) for s in rb.sections) >= 7 * len(rb.sections)
    last = [s.steps[-1] for s in rb.sections[-3:]]
    assert all("kubectl rollout undo" in st.text and st.safety != "read-only" for st in last)


def test_parse_leaves_the_garbage_collector_as_it_found_it() -> None:
    import gc

    assert gc.isenabled()
    parse_runbook("## X\n- `kubectl get pods`\n", "x.md")
    assert gc.isenabled()
    gc.disable()
    try:
        parse_runbook("## X\n", "x.md")
        assert not gc.isenabled()
    finally:
        gc.enable()

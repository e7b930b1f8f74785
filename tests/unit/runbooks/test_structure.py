"""Document structure a responder relies on: unique section ids and unambiguous lookups,
inherited severities, alert-table rows, the per-document score and the line-by-line reading
that `runbooks explain` prints."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from opsbook.runbooks.explain import explain, find_section
from opsbook.runbooks.lint import lint
from opsbook.runbooks.models import Runbook
from opsbook.runbooks.review import review

from .conftest import parse

TIERS = """
    # Tier runbooks

    ## Web tier

    ### Disk full

    ```bash
    df -h /var/www
    ```

    ## Database tier

    ### Disk full

    **Severity:** P1

    ```bash
    df -h /var/lib/postgresql
    ```
"""


def test_a_heading_used_twice_is_never_picked_silently() -> None:
    rb = parse(TIERS)
    assert [s.id for s in rb.sections] == ["disk-full", "disk-full-1"]
    assert rb.section("Disk full") is None  # which one? the caller must say
    assert [s.id for s in rb.ambiguous("Disk full")] == ["disk-full", "disk-full-1"]
    picked = rb.section("database-tier/disk-full")
    assert picked is not None and picked.id == "disk-full-1" and picked.severity == "P1"
    first = rb.section("disk-full")  # an id is exact, as the GitHub anchor is
    assert first is not None and first.parent == "web-tier"
    section, candidates = find_section(rb, "Disk full")
    assert section is None and len(candidates) == 2


def test_the_review_names_the_duplicate_heading_and_how_to_link() -> None:
    rb = parse(TIERS)
    rev = review(rb, lint([rb]))
    dup = [u for u in rev.unclassified if "heading used by 2 sections" in u.why]
    assert dup and "web-tier/disk-full" in dup[0].why and dup[0].line == rb.sections[1].line
    assert rev.score == 97 and rev.reasons == (("duplicate-heading", 1, 3),)


def test_score_drops_for_what_an_author_can_fix_and_says_why() -> None:
    rb = parse("""
        # Cache

        ## CacheDown

        Restart it:

        sudo systemctl restart redis

        ```bash
        ./bin/flush-everything
        redis-cli FLUSHALL
        ```
    """)
    text = "# Cache\n\n## CacheDown\n\nRestart it:\n\nsudo systemctl restart redis\n"
    rev = review(rb, lint([rb]), text)
    codes = {code: lost for code, _, lost in rev.reasons}
    assert codes["destructive-without-warning"] == 10
    assert codes["unknown-safety"] == 5
    assert codes["no-severity"] == 2
    assert codes["read-as-prose"] == 4
    assert rev.score == 100 - sum(codes.values())
    assert rev.reasons[0][0] == "destructive-without-warning"  # costliest first
    assert any(
        u.text == "sudo systemctl restart redis" and "read as prose" in u.why
        for u in rev.unclassified
    )
    assert "score" in rev.summary() and "destructive steps without a warning" in rev.summary()


def test_severity_of_an_enclosing_section_and_of_a_severity_table_is_inherited() -> None:
    rb = parse("""
        # Platform

        | Incident | Severity |
        |----------|----------|
        | Queue stuck | P2 |

        ## Critical incidents

        ### Control plane unreachable

        ```bash
        kubectl get --raw /readyz
        ```

        ## Queue stuck

        ```bash
        kubectl -n q get pods
        ```
    """)
    assert rb.section("Control plane unreachable").severity_normalized == "P0"  # type: ignore[union-attr]
    assert rb.section("Queue stuck").severity_normalized == "P2"  # type: ignore[union-attr]


def test_alert_table_rows_linking_elsewhere_are_sections_without_no_steps_errors() -> None:
    rb = parse("""
        # Storage alerts

        | Name | Summary | Severity | Runbook |
        |---|---|---|---|
        | `VolumeFull` | Volume almost full | critical | [VolumeFull](https://ops.example/volumefull) |
        | `VolumeSlow` | Slow volume | warning | |
    """)
    full, slow = rb.section("volumefull"), rb.section("volumeslow")
    assert full is not None and full.runbook_url == "https://ops.example/volumefull"
    assert slow is not None and slow.severity_normalized == "P2"
    assert [(f.line, f.code) for f in lint([rb])] == [(slow.line, "no-steps")]


def test_explain_reads_every_line_of_the_section() -> None:
    text = """# Cache

## CacheDown

**Severity:** critical

### Diagnosis

```bash
# how full is it
redis-cli INFO memory
```

Then look at the dashboard.
"""
    from opsbook.runbooks.parse import parse_runbook

    rb = parse_runbook(text, "cache.md")
    section = rb.section("cachedown")
    assert section is not None and section.end_line == len(text.split("\n"))
    by_line = {r.line: r.reading for r in explain(rb, section, text)}
    assert by_line[3] == "heading: section"
    assert by_line[5].startswith("field:severity critical")
    assert by_line[7].startswith("heading: phase investigate")
    assert by_line[9] == "fence bash"
    assert by_line[10].startswith("ignored")
    assert by_line[11].startswith("step 1 redis read-only")
    assert by_line[12] == "fence end"
    assert by_line[14] == "prose"


_PIECES = [
    "\n",
    "\n\n",
    "# ",
    "## ",
    "### ",
    "{#x}",
    "{#",
    "}",
    "<!--",
    "-->",
    "| Name | Summary | Severity | Runbook |\n|---|---|---|---|\n",
    "| `AlertA` | s | critical | [r](#alerta) |\n",
    "| Incident | Severity |\n|---|---|\n| Disk full | P1 |\n",
    "SEV-1: ",
    "Severity: ",
    "**Alarm**: ",
    "AlertA",
    "alert-b-c",
    " | ",
    " / ",
    "Diagnosis",
    "Mitigation",
    "Symptoms",
    "Disk full",
    "```bash\nkubectl delete pod x\n```\n",
    "```yaml\n- alert: R\n  labels:\n    severity: page\n```\n",
    "- ",
    "---\ntitle: T\n---\n",
    "---\ntitle: AlertA\n---\n",
]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=40).map("".join))
def test_any_structure_reads_with_unique_ids_and_explainable_lines(text: str) -> None:
    from opsbook.runbooks.parse import parse_runbook

    rb = parse_runbook(text, "fuzz/AlertFile.md")
    assert all("could not read" not in e for e in rb.errors)
    ids = [s.id for s in rb.sections]
    assert len(ids) == len(set(ids)), ids
    n_lines = len(text.split("\n"))
    for s in rb.sections:
        assert rb.section(s.id) is s
        assert s.line <= s.end_line <= max(n_lines, s.line)
        assert all(1 <= line <= n_lines for line, _ in s.readings if line)
        readings = explain(rb, s, text)
        assert [r.line for r in readings] == list(range(max(s.line, 1), s.end_line + 1))


def test_product_tool_and_file_names_are_not_alerts() -> None:
    from opsbook.runbooks.parse import parse_runbook

    text = (
        "# Logging\n\n## PubSub\n\n```bash\ngcloud pubsub topics list\n```\n\n"
        "### set-server-state\n\n```bash\necho 'show stat' | socat stdio /run/haproxy.sock\n```\n\n"
        "## VaultSealed\n\n```bash\nvault status\n```\n\n"
        "## edge-proxy-5xx-rate\n\n```bash\nkubectl -n edge get pods\n```\n"
    )
    rb = parse_runbook(text, "docs/rotating-db-password.md")
    bound = {s.id: s.alerts for s in rb.sections}
    assert bound["pubsub"] == () and bound["set-server-state"] == ()
    assert bound["vaultsealed"] == ("VaultSealed",)
    assert bound["edge-proxy-5xx-rate"] == ("edge-proxy-5xx-rate",)
    one = parse_runbook(
        "# Rotate the password\n\n```bash\nvault write x\n```\n", "rotate-db-password.md"
    )
    assert one.sections[0].alerts == ()  # a kebab-case file name is a doc name
    page = parse_runbook(
        "# Broker offline\n\n```bash\nkubectl get pods\n```\n", "KafkaBrokerOffline.md"
    )
    assert page.sections[0].alerts == ("KafkaBrokerOffline",)
    sentence = parse_runbook(
        '# Praefect\n\n* Alert: "The `praefect` service (`main` stage) is slow"\n\n'
        "```bash\nkubectl get pods\n```\n",
        "praefect.md",
    )
    assert sentence.sections[0].alerts == ()


def test_a_heading_that_is_one_lowercase_code_span_documents_a_function() -> None:
    from opsbook.runbooks.parse import parse_runbook

    rb = parse_runbook(
        "# Helpers\n\n### `mongo_rs_lag`\n\n```bash\nmongo_rs_lag primary\n```\n\n"
        "### `log_error <operation> <message>`\n\n```bash\nlog_error task oops\n```\n\n"
        "## `orders_backlog_high`, `orders_backlog_critical`\n\n```bash\nkubectl get pods\n```\n",
        "helpers.md",
    )
    assert [s.alerts for s in rb.sections] == [
        (),
        (),
        ("orders_backlog_high", "orders_backlog_critical"),
    ]


def test_seed_alert_sections_inherit_the_severity_of_their_group(seeds: dict[str, Runbook]) -> None:
    """Seed 001 writes the severity once, on the heading that groups its critical alerts."""
    for alert in ("MaestroServiceDown", "Neo4jDatabaseDown", "HighErrorRate", "SecurityEventSpike"):
        section = seeds["001"].section(alert.lower())
        assert section is not None and section.alerts == (alert,)
        assert section.severity_normalized == "P0"

"""parse_runbook() on the styles teams write: field blocks, CamelCase headings, bold phase
labels, front matter, console transcripts, untagged and indented fences, tables of alerts."""

from __future__ import annotations

from opsbook.runbooks.models import Runbook, Section
from opsbook.runbooks.parse import parse_runbook

from .conftest import parse, steps_of


def only(rb: Runbook, heading: str) -> Section:
    section = rb.section(heading)
    assert section is not None, [s.heading for s in rb.sections]
    return section


def test_alert_field_block_with_symptoms_and_phases() -> None:
    rb = parse("""
        # Runbook

        ## Queue Backlog

        **Alert:** `QueueBacklog`
        **Severity:** Critical (P0)
        **Threshold:** >1000 jobs for 10 minutes

        ### Symptoms
        - jobs wait
        - Alert: `QueueBacklogWarning`

        ### Investigation Steps
        1. **Check depth**
           ```bash
           redis-cli -u $REDIS_URL LLEN jobs
           ```

        ### Remediation
        - Scale the workers
    """)
    s = only(rb, "Queue Backlog")
    assert s.alerts == ("QueueBacklog", "QueueBacklogWarning")
    assert (s.severity, s.severity_normalized) == ("Critical (P0)", "P0")
    assert s.threshold == ">1000 jobs for 10 minutes"
    assert s.symptoms == ("jobs wait",)
    assert [(p.phase, p.label) for p in s.phases] == [
        ("investigate", "Investigation Steps"),
        ("mitigate", "Remediation"),
    ]
    step = s.phases[0].steps[0]
    assert (step.line, step.title, step.kind, step.safety) == (
        16,
        "Check depth",
        "redis",
        "read-only",
    )
    assert step.variables == ("REDIS_URL",)
    assert s.line == 3 and s.kind == "alert" and s.id == "queue-backlog"


def test_several_alerts_in_one_field() -> None:
    rb = parse("""
        ## Disk
        **Alerts:** `NodeDiskFull`, `NodeDiskFillingUp`
        - check `df -h`
    """)
    assert only(rb, "Disk").alerts == ("NodeDiskFull", "NodeDiskFillingUp")


def test_alert_heading_with_severity_in_parentheses() -> None:
    rb = parse("""
        ## Alert: EtcdNoLeader (severity: critical)
        - Check members: `etcdctl member list`
    """)
    s = rb.sections[0]
    assert s.alerts == ("EtcdNoLeader",)
    assert (s.severity, s.severity_normalized) == ("critical", "P0")
    assert s.steps[0].kind == "shell" and s.steps[0].safety == "read-only"


def test_camel_case_heading_is_an_alert_and_subheadings_are_phases() -> None:
    rb = parse("""
        ## Critical alerts
        ### KafkaConsumerLag
        #### Immediate Actions:
        ```bash
        kafka-consumer-groups --describe --group app
        ```
        #### Resolution
        1. Add consumers
    """)
    s = only(rb, "KafkaConsumerLag")
    assert s.alerts == ("KafkaConsumerLag",)
    assert [(p.phase, p.label) for p in s.phases] == [
        ("mitigate", "Immediate Actions"),
        ("mitigate", "Resolution"),
    ]


def test_bold_phase_paragraphs_keep_the_documents_label() -> None:
    rb = parse("""
        ## Incidents
        ### 1.4 Cache stampede
        **Detect**: hit ratio falls below 50%.

        **Triage:**
        * Look at `redis-cli INFO stats`

        **Fix**: raise the TTL.

        **Verify**: hit ratio back above 90%.

        **Follow-up**: add jitter to TTLs.
    """)
    s = only(rb, "1.4 Cache stampede")
    assert s.kind == "incident" and s.alerts == ()
    assert [(p.phase, p.label) for p in s.phases] == [
        ("detect", "Detect"),
        ("investigate", "Triage"),
        ("mitigate", "Fix"),
        ("validate", "Verify"),
        ("postmortem", "Follow-up"),
    ]
    triage = s.phases[1].steps[0]
    assert (triage.kind, triage.text) == ("redis", "redis-cli INFO stats")
    assert s.phases[0].steps[0].text == "hit ratio falls below 50%."


def test_list_intro_opens_a_phase() -> None:
    rb = parse("""
        ## Runbook: API down
        Immediate actions:

        - `kubectl get pods -n api`

        Escalation:

        - page the lead
    """)
    s = only(rb, "Runbook: API down")
    assert [(p.phase, p.label) for p in s.phases] == [
        ("mitigate", "Immediate actions"),
        ("escalate", "Escalation"),
    ]
    assert s.kind == "incident"


def test_hugo_yaml_front_matter_names_the_alert() -> None:
    text = (
        "---\ntitle: KubePodCrashLooping\nweight: 20\n---\n\n"
        "## Meaning\n\nA pod restarts again and again.\n\n"
        "## Diagnosis\n\n- Inspect events: `kubectl describe pod <pod> -n <namespace>`\n\n"
        "## Mitigation\n\nSee the logs:\n\n```shell\n$ kubectl logs <pod> --previous\n```\n"
    )
    rb = parse_runbook(text, "content/runbooks/kubernetes/kubepodcrashlooping.md")
    assert rb.title == "KubePodCrashLooping"
    assert rb.front_matter["weight"] == 20
    s = rb.sections[0]
    assert s.alerts == ("KubePodCrashLooping",) and len(rb.sections) == 1
    assert [(p.phase, p.label) for p in s.phases] == [
        ("investigate", "Diagnosis"),
        ("mitigate", "Mitigation"),
    ]
    assert [st.line for st in s.steps] == [12, 19]
    assert s.steps[0].variables == ("pod", "namespace")
    assert s.steps[1].text == "kubectl logs <pod> --previous"


def test_toml_front_matter_and_matching_h1_make_one_section() -> None:
    rb = parse("""
        +++
        title = "Redis Down"
        alert = "RedisDown"
        severity = "critical"
        +++
        # Redis Down
        ## Overview
        The cache is gone.
        ## Steps
        - `redis-cli ping`
    """)
    assert len(rb.sections) == 1
    s = rb.sections[0]
    assert (s.heading, s.alerts, s.severity_normalized) == ("Redis Down", ("RedisDown",), "P0")
    assert s.steps[0].kind == "redis"


def test_bad_front_matter_is_recorded_and_the_rest_still_read() -> None:
    rb = parse_runbook("---\ntitle: [unclosed\n---\n## X\n- `kubectl get pods`\n", "x.md")
    assert rb.errors and "front matter" in rb.errors[0]
    assert any(st.kind == "kubectl" for st in steps_of(rb))


def test_file_name_binds_an_alert_when_nothing_else_does() -> None:
    rb = parse_runbook(
        "# Crash looping pods\n\n- `kubectl get pods`\n", "runbooks/KubePodCrashLooping.md"
    )
    assert rb.sections[0].alerts == ("KubePodCrashLooping",)


def test_console_transcript_keeps_only_prompted_lines() -> None:
    rb = parse("""
        ## Check
        ```console
        $ kubectl get pods
        NAME    READY   STATUS
        api-1   1/1     Running
        $ redis-cli ping
        PONG
        ```
    """)
    assert [(st.text, st.line) for st in steps_of(rb)] == [
        ("kubectl get pods", 3),
        ("redis-cli ping", 6),
    ]


def test_prompted_untagged_fence_and_tilde_fence() -> None:
    rb = parse("""
        ## Check
        ```
        user@host:~$ curl -s localhost:8080/healthz
        {"ok": true}
        ```
        ~~~sql
        SELECT 1;
        ~~~
    """)
    assert [(st.kind, st.executable) for st in steps_of(rb)] == [("http", True), ("sql", True)]


def test_untagged_fences_are_sniffed() -> None:
    rb = parse("""
        ## Things
        ```
        kubectl get nodes
        ```
        ```
        MATCH (n) RETURN count(n)
        ```
        ```
        {"status": "ok"}
        ```
        ```
        Hello [NAME], we are on it.
        ```
    """)
    assert [st.kind for st in steps_of(rb)] == ["kubectl", "cypher", "json", "text"]


def test_multi_command_block_comments_continuations_and_heredoc() -> None:
    rb = parse("""
        ## Fix
        ```bash
        # Restart the API
        kubectl rollout restart deploy/api \\
          -n prod

        # Apply the patch
        cat <<EOF | kubectl apply -f -
        apiVersion: v1
        kind: ConfigMap
        EOF
        kubectl get cm
        ```
    """)
    steps = steps_of(rb)
    assert [(st.line, st.title) for st in steps] == [
        (4, "Restart the API"),
        (8, "Apply the patch"),
        (12, ""),
    ]
    assert steps[0].text == "kubectl rollout restart deploy/api -n prod"
    assert "kind: ConfigMap" in steps[1].text and steps[1].safety == "mutating"


def test_sql_and_cypher_blocks_split_on_statements() -> None:
    rb = parse("""
        ## DB
        ```sql
        -- who is connected
        SELECT usename FROM pg_stat_activity;
        -- clean up
        DELETE FROM sessions WHERE expires_at < now();
        ```
        ```cypher
        MATCH (n) RETURN count(n);
        MATCH (n:Tmp) DETACH DELETE n;
        ```
    """)
    steps = steps_of(rb)
    assert [(st.title, st.safety) for st in steps] == [
        ("who is connected", "read-only"),
        ("clean up", "destructive"),
        ("", "read-only"),
        ("", "destructive"),
    ]
    assert [st.line for st in steps] == [4, 6, 9, 10]


def test_fence_indented_in_a_list_item_takes_the_item_as_title() -> None:
    rb = parse("""
        ## Steps
        1. Roll back the release
           ```bash
           helm rollback api 4
           ```
        2. Tell the team
    """)
    steps = steps_of(rb)
    assert [(st.title, st.kind, st.executable) for st in steps] == [
        ("Roll back the release", "shell", True),
        ("", "text", False),
    ]
    assert steps[1].text == "Tell the team"


def test_inline_commands_in_list_items_and_checklists() -> None:
    rb = parse("""
        ## Checks
        - [ ] Confirm the pods: `kubectl get pods -n web`
        - [x] Nothing to run here
        - See `/metrics` and `REDIS_URL`
    """)
    steps = steps_of(rb)
    assert [(st.title, st.text, st.executable) for st in steps] == [
        ("Confirm the pods", "kubectl get pods -n web", True),
        ("", "Nothing to run here", False),
        ("", "See /metrics and REDIS_URL", False),
    ]


def test_table_listing_alerts_gives_one_section_per_row() -> None:
    rb = parse("""
        ## Alerts
        | Alert | Severity | Threshold | Action |
        |-------|----------|-----------|--------|
        | `DiskAlmostFull` | warning | > 85% | Run `df -h` on the node |
        | `DiskFull` | critical | > 95% | Free space |
    """)
    disk = only(rb, "DiskAlmostFull")
    assert (disk.alerts, disk.severity, disk.threshold, disk.line) == (
        ("DiskAlmostFull",),
        "warning",
        "> 85%",
        4,
    )
    assert disk.steps[0].kind == "shell" and disk.phases[0].label == "Action"
    assert only(rb, "DiskFull").severity_normalized == "P0"


def test_problem_entries_under_troubleshooting() -> None:
    rb = parse("""
        ## Troubleshooting
        ### Postgres
        **Problem:** "too many connections"

        **Solution:**
        ```bash
        psql -c "SHOW max_connections"
        ```

        **Problem:** Slow queries

        **Solution:** add an index.
    """)
    first = only(rb, "too many connections")
    assert first.kind == "incident" and first.phases[0].phase == "mitigate"
    assert first.steps[0].kind == "sql"
    assert only(rb, "Slow queries").steps[0].text == "add an index."


def test_setext_headings_and_unique_ids() -> None:
    rb = parse("""
        Redis down
        ==========
        - `redis-cli ping`

        Redis down
        ----------
        - `redis-cli INFO`
    """)
    assert [s.id for s in rb.sections] == ["redis-down", "redis-down-1"]
    assert rb.title == "Redis down"


def test_steps_before_any_phase_are_general() -> None:
    rb = parse("""
        ## Cache flush
        - `redis-cli INFO keyspace`
        ### Remediation
        - ⚠ drops every key: `redis-cli FLUSHALL`
    """)
    s = rb.sections[0]
    assert [(p.phase, p.label) for p in s.phases] == [("general", ""), ("mitigate", "Remediation")]
    flush = s.phases[1].steps[0]
    assert flush.safety == "destructive" and flush.warned


def test_sections_without_steps_or_alerts_are_dropped() -> None:
    rb = parse("""
        # Title
        Some intro.
        ## Contacts
        Mail us.
        ## Table of contents
        - [Contacts](#contacts)
    """)
    assert rb.sections == ()


def test_crlf_and_empty_input() -> None:
    rb = parse_runbook("## X\r\n- `kubectl get pods`\r\n", "x.md")
    assert rb.sections[0].steps[0].line == 2
    empty = parse_runbook("", "empty.md")
    assert (empty.title, empty.sections, empty.errors) == ("empty", (), ())


def test_field_headings_and_key_value_tables() -> None:
    rb = parse("""
        # Alert: DiskFilling

        | Field | Value |
        |-------|-------|
        | **Alert Name** | `DiskFilling` |
        | **Severity** | warning |

        ## Threshold
        Less than 10% free for 30 minutes

        ## Diagnosis
        - `df -h /var/lib/data`
    """)
    s = rb.sections[0]
    assert (s.alerts, s.severity, s.threshold) == (
        ("DiskFilling",),
        "warning",
        "Less than 10% free for 30 minutes",
    )
    assert [p.phase for p in s.phases] == ["investigate"]


def test_alert_rule_yaml_binds_the_section() -> None:
    rb = parse("""
        ## Queue stuck
        ### Alert Definition
        ```yaml
        - alert: QueueStuck
          expr: queue_oldest_job_age_seconds > 600
        ```
        ### Fix
        - `kubectl rollout restart deploy/worker`
    """)
    s = rb.sections[0]
    assert s.alerts == ("QueueStuck",)
    assert s.steps[0].kind == "yaml" and not s.steps[0].executable


def test_index_tables_of_runbook_links_are_not_sections() -> None:
    rb = parse("""
        ## Runbooks
        | Runbook | Alert(s) | Severity |
        |---------|----------|----------|
        | [pod-not-ready.md](pod-not-ready.md) | KubePodNotReady | Warning |
        | [job-failed.md](job-failed.md) | KubeJobFailed | Warning |
    """)
    assert all(not s.alerts for s in rb.sections)


def test_note_paragraphs_inside_a_phase_are_not_steps() -> None:
    rb = parse("""
        ## Disk full
        ### Mitigation
        **Note**: the node keeps serving reads.

        - `kubectl cordon node-1`
    """)
    assert [st.text for st in steps_of(rb)] == ["kubectl cordon node-1"]


def test_promql_in_a_console_block_without_prompts() -> None:
    rb = parse("""
        ## Quota
        ```console
        (etcd_mvcc_db_total_size_in_bytes / etcd_server_quota_backend_bytes) * 100
        ```
    """)
    assert [(st.kind, st.safety) for st in steps_of(rb)] == [("promql", "read-only")]


def test_names_set_by_an_earlier_block_of_the_section_are_not_variables() -> None:
    rb = parse("""
        ## Etcd
        ```console
        $ NAMESPACE="kube-etcd"
        ```
        ```console
        $ kubectl get pods -n $NAMESPACE
        ```
        ## Other
        - `kubectl get pods -n $NAMESPACE`
    """)
    steps = steps_of(rb)
    assert steps[1].variables == ()
    assert steps[2].variables == ("NAMESPACE",)


def test_alert_headings_in_other_shapes() -> None:
    rb = parse("""
        ## 🔴 KubeAPIDown
        - `kubectl get --raw /healthz`
        ## `EtcdNoLeader` in the control plane
        - `etcdctl endpoint status`
        ## DiskFull alert
        - `df -h`
        ## KubeletDown: nodes stop reporting
        - `kubectl get nodes`
        ## Database down (P1)
        - `pg_isready -h db`
        ## High Error Rate (5xx Errors)
        - `kubectl logs deploy/api`
    """)
    got = [(s.alerts, s.severity) for s in rb.sections]
    assert got == [
        (("KubeAPIDown",), None),
        (("EtcdNoLeader",), None),
        (("DiskFull",), None),
        (("KubeletDown",), None),
        ((), "P1"),
        ((), None),  # "5xx Errors" is not a severity
    ]


def test_numbered_step_headings_are_phases_not_sections() -> None:
    rb = parse("""
        ## Incidents
        ### Queue stuck
        #### Step 1: Check the workers
        - `kubectl get pods -l app=worker`
        #### Step 2: Restart them
        - `kubectl rollout restart deploy/worker`
    """)
    s = only(rb, "Queue stuck")
    assert [(p.phase, p.label) for p in s.phases] == [
        ("investigate", "Step 1: Check the workers"),
        ("investigate", "Step 2: Restart them"),
    ]
    assert len(rb.sections) == 1


def test_alert_heading_with_a_sentence_name_is_an_incident() -> None:
    rb = parse("## Alert: High CPU usage\n- `top -b -n 1`\n")
    s = rb.sections[0]
    assert (s.alerts, s.kind) == ((), "incident")


def test_heredoc_with_a_quoted_delimiter_stays_with_its_command() -> None:
    rb = parse("""
        ## Clean
        ```bash
        psql "$DATABASE_URL" <<'SQL'
        DELETE FROM sessions WHERE expired;
        SQL
        kubectl get pods
        ```
    """)
    steps = steps_of(rb)
    assert [(st.line, st.kind, st.safety) for st in steps] == [
        (3, "sql", "destructive"),
        (6, "kubectl", "read-only"),
    ]

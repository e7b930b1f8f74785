"""Styles seen in public runbook collections beyond the seeds: per-alert pages with
Meaning/Impact/Diagnosis/Mitigation, node debug pods, interactive transcripts, untagged
scripts, troubleshooting Q&A. Texts are written for these tests."""

from __future__ import annotations

from opsbook.runbooks.classify import classify
from opsbook.runbooks.match import match_section

from .conftest import parse, steps_of

PER_ALERT_PAGE = """
---
title: Node Disk Filling Up
weight: 20
---

# NodeDiskFillingUp

## Meaning

A node file system is predicted to fill up within hours.

## Impact

Pods are evicted; images cannot be pulled.

## Diagnosis

1. Find the node from the alert labels:

   ```shell
   oc get nodes <NODE_NAME> -o wide
   ```

2. Look at usage from a debug pod:

   ```shell
   oc debug node/<NODE_NAME> -- \\
     chroot /host du -h --max-depth=1 /var/lib | sort -hr
   ```

## Mitigation

### Unused images

```shell
oc debug node/<NODE_NAME> -- chroot /host crictl rmi --prune
```

### Journal

- Trim the journal: `oc debug node/<NODE_NAME> -- chroot /host journalctl --vacuum-time=1d`

### Stop scheduling

```shell
oc adm cordon <NODE_NAME>
```
"""


def test_per_alert_page_is_one_alert_section_with_phases() -> None:
    rb = parse(PER_ALERT_PAGE, "alerts/NodeDiskFillingUp.md")
    assert rb.title == "Node Disk Filling Up"
    assert len(rb.sections) == 1
    s = rb.sections[0]
    assert s.alerts == ("NodeDiskFillingUp",)
    assert [(p.phase, p.label) for p in s.phases] == [
        ("investigate", "Diagnosis"),
        ("mitigate", "Unused images"),
        ("mitigate", "Journal"),
        ("mitigate", "Stop scheduling"),
    ]
    got = [(st.kind, st.inner_kind, st.safety) for st in s.steps]
    assert got == [
        ("kubectl", None, "read-only"),
        ("kubectl", "shell", "read-only"),  # debug pod running du | sort
        ("kubectl", "shell", "destructive"),  # crictl rmi --prune
        ("kubectl", "shell", "destructive"),  # journalctl --vacuum
        ("kubectl", None, "mutating"),  # oc adm cordon
    ]
    assert s.steps[0].variables == ("NODE_NAME",)


def test_interactive_transcripts_keep_only_typed_lines() -> None:
    rb = parse("""
        ## Slow Redis
        ```shell
        > slowlog get 10
        1) 1) (integer) 5100
           2) "del"
        > config get slowlog-max-len
        ```
        ```
        postgres=# SELECT count(*) FROM pg_stat_activity;
         count
        -------
            42
        ```
        ```
        127.0.0.1:6379> FLUSHDB
        OK
        ```
    """)
    got = [(st.text, st.kind, st.safety) for st in steps_of(rb)]
    assert got == [
        ("slowlog get 10", "redis", "read-only"),
        ("config get slowlog-max-len", "redis", "read-only"),
        ("SELECT count(*) FROM pg_stat_activity;", "sql", "read-only"),
        ("FLUSHDB", "redis", "destructive"),
    ]


def test_untagged_script_that_starts_with_an_assignment() -> None:
    rb = parse("""
        ## Redis up?
        ```
        REDISCLI_AUTH=$(sudo grep ^masterauth /etc/redis/redis.conf | cut -d'"' -f2)
        /usr/local/bin/redis-cli info replication
        ```
    """)
    steps = steps_of(rb)
    assert [(st.kind, st.safety) for st in steps] == [
        ("shell", "read-only"),
        ("redis", "read-only"),
    ]
    assert steps[1].variables == ()  # set by the line above


def test_troubleshooting_questions_as_headings() -> None:
    rb = parse("""
        # Troubleshooting
        ## Is the queue draining?
        - look at the depth: `redis-cli LLEN queue:default`
        ## Why are workers restarting?
        - `kubectl get pods -l app=worker`
    """)
    assert [s.heading for s in rb.sections] == [
        "Is the queue draining?",
        "Why are workers restarting?",
    ]
    assert all(s.kind == "incident" or s.kind == "reference" for s in rb.sections)


def test_command_with_trailing_comment_and_sudo_pipeline() -> None:
    c = classify(
        "sudo lsof -i tcp:6379 | grep ESTABLISHED | sort | uniq -c  # who is connected", "bash"
    )
    assert (c.kind, c.safety) == ("shell", "read-only")
    c = classify("sudo tcpdump -G 30 -W 1 tcp port 6379 -w redis.pcap -i ens4", "bash")
    assert c.safety == "mutating"  # writes a capture file


def test_possible_causes_and_fixes_and_bare_command_paragraphs() -> None:
    rb = parse("""
        ## Replication flapping
        ### Symptoms
        - You see alerts like `RedisReplicationBroken`.
        ### Possible causes
        - the primary is overloaded
        ### Possible fixes
        If the service is down, restart it with

        `gitlab-ctl restart redis`.
    """)
    s = rb.sections[0]
    assert s.alerts == ("RedisReplicationBroken",)
    assert s.symptoms == ("You see alerts like RedisReplicationBroken.",)
    assert [(p.phase, p.label) for p in s.phases] == [  # an empty phase is left out
        ("investigate", "Possible causes"),
        ("mitigate", "Possible fixes"),
    ]
    restart = s.phases[-1].steps[0]
    assert (restart.text, restart.safety) == ("gitlab-ctl restart redis", "mutating")


def test_fences_inside_content_tabs() -> None:
    rb = parse("""
        ## Restart
        === "Kubernetes"

            ```bash
            kubectl rollout restart deploy/api
            ```

        === "Compose"

            ```bash
            docker compose restart api
            ```
    """)
    assert [(st.line, st.kind, st.safety) for st in steps_of(rb)] == [
        (5, "kubectl", "mutating"),
        (11, "docker", "mutating"),
    ]


def test_tree_and_table_output_inside_a_shell_block() -> None:
    rb = parse("""
        ## Packages
        ```bash
        npm ls --depth=1
        +-- express@4.18.2
        |   `-- body-parser@1.20.1
        `-- redis@4.6.7
        kubectl get pods
        ```
    """)
    steps = steps_of(rb)
    assert [(st.kind, st.executable) for st in steps] == [
        ("shell", True),
        ("text", False),
        ("kubectl", True),
    ]


def test_scenarios_questions_and_admonitions() -> None:
    rb = parse("""
        # Payments troubleshooting

        ## Scenario 1: Database failover
        **Symptom:** writes fail with read-only errors.

        **Cause:** the primary was demoted.

        **Resolution:**
        1. Confirm the new primary: `psql -h db -c "SELECT pg_is_in_recovery()"`
        2. Restart the API: `kubectl rollout restart deploy/payments`

        ## FAQ
        ### Q: Why are webhooks delayed?
        > [!WARNING]
        > Purging drops every pending webhook.

        ```bash
        redis-cli -n 3 DEL webhooks:pending
        ```
    """)
    failover, question = rb.sections
    assert failover.symptoms == ("writes fail with read-only errors.",)
    assert [(p.phase, p.label) for p in failover.phases] == [
        ("investigate", "Cause"),
        ("mitigate", "Resolution"),
    ]
    assert question.kind == "incident"
    purge = question.steps[0]
    assert (purge.safety, purge.warned) == ("destructive", True)
    m = match_section([rb], "DatabaseFailover", {}, {})
    assert m is not None and (m.rule, m.section.heading) == ("normalized", failover.heading)


def test_mixin_style_alert_list_with_italic_fields() -> None:
    rb = parse("""
        # Alert runbooks

        ### Group Name: "apps"

        ##### Alert Name: "KubePodCrashLooping"
        + *Message*: `{{ $labels.pod }} is restarting`
        + *Severity*: critical
        + *Action*: read the previous logs with `kubectl logs -n <namespace> <pod> --previous`

        ##### Alert Name: "KubePodNotReady"
        + *Severity*: warning
        + *Action*: `kubectl describe pod -n <namespace> <pod>`
    """)
    got = [(s.alerts, s.severity_normalized, [st.kind for st in s.steps]) for s in rb.sections]
    assert got == [
        (("KubePodCrashLooping",), "P0", ["text", "kubectl"]),
        (("KubePodNotReady",), "P2", ["kubectl"]),
    ]

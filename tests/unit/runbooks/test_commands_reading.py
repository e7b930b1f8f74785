"""Every command a runbook holds becomes a classified step: prompt transcripts (output lines
dropped), command lines of untagged/text blocks (unknown programs classed unknown), inline
commands in prose, lists and table columns — while English stays prose."""

from __future__ import annotations

import pytest

from opsbook.runbooks.lint import lint
from opsbook.runbooks.models import Step
from opsbook.runbooks.parse import parse_runbook


def steps(markdown: str) -> list[Step]:
    rb = parse_runbook(markdown, "doc.md")
    assert rb.errors == ()
    return [st for s in rb.sections for st in s.steps if st.executable]


def read(markdown: str) -> list[tuple[str, str, str]]:
    return [(st.kind, st.safety, st.text) for st in steps(markdown)]


def fence(body: str, lang: str = "") -> str:
    return f"# Doc\n\n## Fix it\n\n```{lang}\n{body}\n```\n"


TRANSCRIPTS = [
    (
        "mysql> STOP SLAVE;\nQuery OK, 0 rows affected (0.01 sec)\nmysql> START SLAVE;",
        "text",
        [("sql", "mutating", "STOP SLAVE;"), ("sql", "mutating", "START SLAVE;")],
    ),
    (
        "mysql> SELECT id\n    ->   FROM t\n    ->  WHERE x = 1;\n+----+\n| id |\n+----+",
        "",
        [("sql", "read-only", "SELECT id\nFROM t\nWHERE x = 1;")],
    ),
    (
        "MariaDB [(none)]> SET GLOBAL read_only = ON;",
        "",
        [("sql", "mutating", "SET GLOBAL read_only = ON;")],
    ),
    (
        "postgres=# LOCK TABLE a IN ACCESS EXCLUSIVE MODE;\nLOCK TABLE\npostgres=> \\dt",
        "console",
        [
            ("sql", "mutating", "LOCK TABLE a IN ACCESS EXCLUSIVE MODE;"),
            ("sql", "read-only", "\\dt"),
        ],
    ),
    (
        "127.0.0.1:6379> FLUSHDB\nOK\n127.0.0.1:6379> DBSIZE\n(integer) 0",
        "",
        [("redis", "destructive", "FLUSHDB"), ("redis", "read-only", "DBSIZE")],
    ),
    ('redis> GET k\n"v"', "text", [("redis", "read-only", "GET k")]),
    (
        ">>> import os\n>>> os.remove('/tmp/x')\n>>> print(1)\n1",
        "",
        [("python", "destructive", "import os\nos.remove('/tmp/x')\nprint(1)")],
    ),
    (
        "PS C:\\> Stop-Service -Name Spooler\nPS C:\\> Get-Service Spooler\n\n"
        "Status   Name\n------   ----\nStopped  Spooler",
        "powershell",
        [
            ("shell", "mutating", "Stop-Service -Name Spooler"),
            ("shell", "read-only", "Get-Service Spooler"),
        ],
    ),
    (
        "# lsblk\nNAME   MAJ:MIN RM SIZE\nsda      8:0    0 20G\n# growpart /dev/sda 1\nCHANGED: partition=1",
        "",
        [("shell", "read-only", "lsblk"), ("shell", "mutating", "growpart /dev/sda 1")],
    ),
    (
        "root@db-1:~# systemctl restart mysql\nroot@db-1:~# mysql -e 'SHOW SLAVE STATUS'",
        "bash",
        [
            ("shell", "mutating", "systemctl restart mysql"),
            ("sql", "read-only", "mysql -e 'SHOW SLAVE STATUS'"),
        ],
    ),
    (
        "$ mysql -u root\nWelcome to the MySQL monitor.\nmysql> RESET SLAVE ALL;",
        "console",
        [("sql", "unknown", "mysql -u root"), ("sql", "destructive", "RESET SLAVE ALL;")],
    ),
    (
        "neo4j> MATCH (n) DETACH DELETE n;",
        "",
        [("cypher", "destructive", "MATCH (n) DETACH DELETE n;")],
    ),
    ("cqlsh> DROP TABLE shop.carts;", "", [("sql", "destructive", "DROP TABLE shop.carts;")]),
    (
        "rs0:PRIMARY> rs.stepDown()\nrs0:SECONDARY> db.carts.deleteMany({})",
        "",
        [
            ("shell", "mutating", "rs.stepDown()"),
            ("shell", "destructive", "db.carts.deleteMany({})"),
        ],
    ),
    (
        "$ cat <<EOF > /tmp/x.conf\n> a = 1\n> EOF\n$ ls /tmp",
        "console",
        [("shell", "mutating", "cat <<EOF > /tmp/x.conf"), ("shell", "read-only", "ls /tmp")],
    ),
]


@pytest.mark.parametrize(("body", "lang", "expected"), TRANSCRIPTS)
def test_prompt_transcripts(body: str, lang: str, expected: list[tuple[str, str, str]]) -> None:
    """Lines typed at a prompt are steps of their language, prompt stripped, continuations
    joined; whatever the commands printed is not a step."""
    got = read(fence(body, lang))
    assert [(k, s) for k, s, _ in got] == [(k, s) for k, s, _ in expected], got
    for (_, _, text), (_, _, want) in zip(got, expected, strict=True):
        assert text.startswith(want.split("\n")[0]), (text, want)


def test_root_hash_lines_stay_comments_in_a_script() -> None:
    """In an untagged block of commands, ``# restart it`` is a comment and the commands
    around it are all steps (not a root transcript whose other lines are output)."""
    got = read(
        fence("# stop it first\nsystemctl stop api\n# systemctl mask api\nrm -rf /var/cache/api")
    )
    assert [t for _, _, t in got] == ["systemctl stop api", "rm -rf /var/cache/api"]


COMMAND_LINES = [
    ("growpart /dev/nvme0n1 1", "mutating"),
    ("resize2fs /dev/nvme0n1p1", "mutating"),
    ("sudo apt-get purge -y nginx", "destructive"),
    ("reboot", "destructive"),
    ('azcopy remove "https://a.blob.core.windows.net/c/d" --recursive', "destructive"),
    ("orderctl drain --region eu-1", "unknown"),
    ("./scripts/rotate-keys.sh prod", "unknown"),
    ("xfs_growfs /data", "mutating"),
]


@pytest.mark.parametrize(("line", "safety"), COMMAND_LINES)
@pytest.mark.parametrize("lang", ["", "text", "txt", "plaintext"])
def test_command_lines_in_untagged_and_text_blocks(line: str, safety: str, lang: str) -> None:
    """A command line in a block without a shell tag is a step, known or not."""
    assert read(fence(line, lang)) == [("shell", safety, line)]


ENGLISH = [
    "Restart the service and check the logs afterwards.",
    "kill the process if it hangs",
    "make sure the queue drains",
    "ssh into the box and look around",
    "Check disk space on every node",
    "go to the dashboard",
    "NAME      READY   STATUS    RESTARTS",
    "api-1     1/1     Running   0",
    "tmpfs     1.9G     0   1.9G   0% /dev/shm",
    "Expected: the pod restarts within a minute",
    "resize2fs 1.46.5 (30-Dec-2021)\nThe filesystem is now 131071739 blocks long.",
    # seen in public runbooks: alert labels, expressions, log lines
    "alertname=KubeVirtCRModified\nseverity=warning",
    'persistentvolumeclaim="prometheus-k8s-db-0"',
    "up == 0",
    "subnet_capability = 2^[(32 - netmask) - (32 - hostPrefix)]",
    "conflict with: vm/test/testvm2, br1",
    'dial tcp A.B.C.D:443: i/o timeout"',
]


@pytest.mark.parametrize("text", ENGLISH)
def test_prose_and_output_in_text_blocks_are_not_steps(text: str) -> None:
    """English and printed output in a text block stay text (no false steps)."""
    assert read(fence(text, "text")) == []


PROSE = [
    ("First run `sudo gitlab-ctl status` and read it.", [("shell", "read-only")]),
    ("Restart with `systemctl restart foo`.", [("shell", "mutating")]),
    ("If it is still down, run `reboot`.", [("shell", "destructive")]),
    ("Drain it with `lb-drain api node-3` and wait.", [("shell", "unknown")]),
    ("Never run `terraform destroy` against prod.", []),
    ("Do not use `kubectl delete ns prod` for this.", []),
    ("Set `max_connections` to `200` in `postgresql.conf`.", []),
    ("The `kubectl` binary must be on your PATH.", []),
    ("Workers run as the `search-indexer` deployment.", []),
    ("Use the `--force` flag only once.", []),
    ("Look at `/var/log/syslog` and the `orders` table.", []),
    ("Export `NODE_ENV=production` before you start.", []),
    ("Prometheus is strict about the `Content-Type` header.", []),
    ("Use `oc logs` and `oc exec` to look inside.", []),
    ("Turn on file logging: `# ceph config set global log_to_file true`", [("shell", "mutating")]),
]


@pytest.mark.parametrize(("line", "expected"), PROSE)
def test_inline_commands_in_prose(line: str, expected: list[tuple[str, str]]) -> None:
    """Inline code in imperative prose is a step; names, values, paths and negated commands
    are not."""
    got = read(f"# Doc\n\n## Fix it\n\n{line}\n")
    assert [(k, s) for k, s, _ in got] == expected, got


def test_lists_of_inline_commands() -> None:
    doc = (
        "# Doc\n\n## Fix it\n\n1. `systemctl status api`\n2. Restart it: `systemctl restart api`\n"
        "3. `opsctl flush-cache --all`\n4. Tell the team in `#ops`.\n"
    )
    assert read(doc) == [
        ("shell", "read-only", "systemctl status api"),
        ("shell", "mutating", "systemctl restart api"),
        ("shell", "unknown", "opsctl flush-cache --all"),
    ]


def test_command_column_of_a_table() -> None:
    """Each row's inline-code command is a step titled by the row; other tables give none."""
    doc = (
        "# Doc\n\n## Fix it\n\n| Step | Command |\n|---|---|\n"
        "| Check | `systemctl status api` |\n| Restart | `sudo systemctl restart api` |\n"
        "| Wipe cache | `rm -rf /var/cache/api/*` |\n\n"
        "| Setting | Value |\n|---|---|\n| Heap | `31g` |\n| Mode | `cluster` |\n"
    )
    got = steps(doc)
    assert [(st.title, st.safety) for st in got] == [
        ("Check", "read-only"),
        ("Restart", "mutating"),
        ("Wipe cache", "destructive"),
    ]


INTERACTIVE = [
    ("tail -f /var/log/syslog", True),
    ("tail -n 100 /var/log/syslog", False),
    ("timeout 30 tail -f /var/log/syslog", False),
    ("journalctl -fu api", True),
    ("journalctl -u api -n 50 --no-pager", False),
    ("watch -n 5 kubectl get pods", True),
    ("kubectl logs -f deploy/api", True),
    ("kubectl logs --tail=200 deploy/api", False),
    ("kubectl exec -it api-0 -- bash", True),
    ("kubectl exec api-0 -- ls /data", False),
    ("kubectl edit deploy/api", True),
    ("kubectl get pods -w", True),
    ("kubectl port-forward svc/db 5432:5432", True),
    ("docker exec -it api sh", True),
    ("docker exec api nginx -t", False),
    ("docker stats", True),
    ("docker stats --no-stream", False),
    ("top", True),
    ("top -b -n 1", False),
    ("htop", True),
    ("less /var/log/syslog", True),
    ("vim /etc/hosts", True),
    ("psql -h db orders", True),
    ('psql -h db orders -c "SELECT 1"', False),
    ("redis-cli -h cache", True),
    ("redis-cli -h cache INFO", False),
    ("redis-cli MONITOR", True),
    ("ssh bastion", True),
    ("ssh bastion uptime", False),
    ("ping db-1", True),
    ("ping -c 3 db-1", False),
    ("sudo -i", True),
    ("crontab -e", True),
]


@pytest.mark.parametrize(("command", "interactive"), INTERACTIVE)
def test_interactive_and_unbounded_steps(command: str, interactive: bool) -> None:
    """A step that never ends or needs a terminal says so, with the reason."""
    (step,) = steps(fence(command, "bash"))
    assert step.interactive is interactive, step.interactive_reason
    assert bool(step.interactive_reason) is interactive


def test_lint_reports_interactive_and_unknown_commands() -> None:
    doc = fence("tail -f /var/log/app.log\norderctl drain --all", "bash")
    findings = lint([parse_runbook(doc, "doc.md")])
    codes = {(f.line, f.code) for f in findings}
    assert (6, "interactive-step") in codes
    assert (7, "unknown-safety") in codes
    (interactive,) = [f for f in findings if f.code == "interactive-step"]
    assert "follows output until stopped" in interactive.message


def test_export_in_diagnostics_changes_the_session() -> None:
    (step,) = steps(fence("export KUBECONFIG=/etc/k8s/prod.yaml", "bash"))
    assert (step.safety, step.kind) == ("mutating", "shell")
    assert "KUBECONFIG" in step.reason


BOUNDED = [
    ("tail -f /var/log/syslog", "tail -n 200 /var/log/syslog"),
    ("journalctl -fu api", "journalctl -n 200 --no-pager -u api"),
    ("kubectl -n x logs -f deploy/api", "kubectl -n x logs --tail=200 deploy/api"),
    ("kubectl logs -f x | grep -i error", "kubectl logs --tail=200 x | grep -i error"),
    ("docker logs -f api", "docker logs --tail 200 api"),
    ("kubectl get pods -w", "kubectl get pods"),
    ("watch -n 5 kubectl get pods", "kubectl get pods"),
    ("docker stats", "docker stats --no-stream"),
    ("ping db-1", "ping -c 5 db-1"),
    ("vmstat 1", "vmstat 1 5"),
    ("top", "top -b -n 1"),
    ("htop", ""),
    ("kubectl exec -it api-0 -- sh", ""),
    ("kubectl edit deploy/api", ""),
    ("psql -h db orders", ""),
]


@pytest.mark.parametrize(("command", "bounded"), BOUNDED)
def test_bounded_forms(command: str, bounded: str) -> None:
    """A follower has a form that ends by itself (what a run request runs); a terminal
    session or an editor has none."""
    (step,) = steps(fence(command, "bash"))
    assert step.interactive
    assert step.bounded == bounded

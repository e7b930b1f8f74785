"""classify(): kind, inner kind, executable and safety of single commands, read whole."""

from __future__ import annotations

import pytest

from opsbook.runbooks.classify import classify, looks_like_command

RO, MUT, DES, UNK = "read-only", "mutating", "destructive", "unknown"

# (command, fence language, kind, inner kind, safety)
CASES: list[tuple[str, str | None, str, str | None, str]] = [
    # kubectl: read the subcommand, not the first word
    ("kubectl get pods -n prod", "bash", "kubectl", None, RO),
    ("kubectl -n prod describe deploy/api", "bash", "kubectl", None, RO),
    ("kubectl logs deploy/api --since=10m --tail=100", "bash", "kubectl", None, RO),
    ("kubectl top nodes", "sh", "kubectl", None, RO),
    ("kubectl rollout status deploy/api", "bash", "kubectl", None, RO),
    ("kubectl rollout history deploy/api", "bash", "kubectl", None, RO),
    ("kubectl rollout undo deploy/api", "bash", "kubectl", None, MUT),
    ("kubectl rollout restart deploy/api", "bash", "kubectl", None, MUT),
    ("kubectl scale deploy/api --replicas=4", "bash", "kubectl", None, MUT),
    ("kubectl scale deploy/api --replicas=0", "bash", "kubectl", None, DES),
    ("kubectl patch deploy api -p '{\"spec\":{}}'", "bash", "kubectl", None, MUT),
    ("kubectl delete pod api-123", "bash", "kubectl", None, DES),
    ("kubectl delete pod api-123 --dry-run=client", "bash", "kubectl", None, RO),
    ("kubectl apply -f deploy.yaml", "bash", "kubectl", None, MUT),
    ("kubectl drain node-1 --ignore-daemonsets", "bash", "kubectl", None, MUT),
    ("kubectl exec -it deploy/api -- redis-cli ping", "bash", "kubectl", "redis", RO),
    ("kubectl exec deploy/api -n x -- redis-cli FLUSHALL", "bash", "kubectl", "redis", DES),
    ("kubectl exec -it api-0 -- /bin/sh", "bash", "kubectl", "shell", UNK),
    ("kubectl exec api-0 -- psql -c 'DELETE FROM jobs'", "bash", "kubectl", "sql", DES),
    ("oc get pods", "bash", "kubectl", None, RO),
    # docker, compose, nerdctl, podman
    ("docker ps -a", "bash", "docker", None, RO),
    ("docker logs api --tail 50", "bash", "docker", None, RO),
    ("docker restart api", "bash", "docker", None, MUT),
    ("docker stop api", "bash", "docker", None, MUT),
    ("docker rm -f api", "bash", "docker", None, DES),
    ("docker system prune -a --volumes", "bash", "docker", None, DES),
    ("docker volume rm pgdata", "bash", "docker", None, DES),
    ("docker volume ls", "bash", "docker", None, RO),
    ("docker exec redis redis-cli INFO memory", "bash", "docker", "redis", RO),
    ("docker compose exec -T db psql -U app -c 'SELECT 1'", "bash", "docker", "sql", RO),
    ("docker compose exec db psql -U app -c 'DROP TABLE t'", "bash", "docker", "sql", DES),
    ("docker-compose -f prod.yml restart web", "bash", "docker", None, MUT),
    ("docker compose down", "bash", "docker", None, MUT),
    ("docker compose down -v", "bash", "docker", None, DES),
    ("docker compose up -d", "bash", "docker", None, MUT),
    ("nerdctl --namespace ai compose ps", "bash", "docker", None, RO),
    ("podman ps", "bash", "docker", None, RO),
    # http clients
    ("curl -s http://localhost:8080/healthz", "bash", "http", None, RO),
    ("curl -X POST $API_BASE/admin/reindex", "bash", "http", None, MUT),
    ("curl -d '{\"a\":1}' $API_BASE/jobs", "bash", "http", None, MUT),
    ("curl -XDELETE http://es:9200/logs-2024", "bash", "http", None, DES),
    ("curl -I https://example.com", "bash", "http", None, RO),
    ("curl -X POST http://prom:9090/api/v1/admin/tsdb/delete_series", "bash", "http", None, DES),
    ("curl -s 'http://prom:9090/api/v1/query?query=up'", "bash", "http", "promql", RO),
    ("wget -qO- http://localhost/health", "bash", "http", None, RO),
    ("http GET :8080/status", "bash", "http", None, RO),
    ("http POST :8080/jobs name=x", "bash", "http", None, MUT),
    # SQL: psql -c and SQL text
    ('psql $DATABASE_URL -c "SELECT count(*) FROM pg_stat_activity;"', "bash", "sql", None, RO),
    ('psql -c "DELETE FROM sessions WHERE expired"', "bash", "sql", None, DES),
    ('psql -c "TRUNCATE audit"', "bash", "sql", None, DES),
    ('psql -c "CREATE INDEX CONCURRENTLY i ON t (a)"', "bash", "sql", None, MUT),
    ('psql -c "VACUUM ANALYZE orders"', "bash", "sql", None, MUT),
    ('psql -c "UPDATE users SET active = false"', "bash", "sql", None, DES),
    ('psql -c "UPDATE users SET active = false WHERE id = 4"', "bash", "sql", None, MUT),
    ("psql -h db -U app", "bash", "sql", None, UNK),
    ("SELECT pg_terminate_backend(pid) FROM pg_stat_activity", "sql", "sql", None, DES),
    ("SELECT pg_cancel_backend(42)", "sql", "sql", None, MUT),
    ("SELECT * FROM orders LIMIT 5", "sql", "sql", None, RO),
    ("EXPLAIN ANALYZE DELETE FROM t", "sql", "sql", None, DES),
    ("DROP TABLE old_audit", "postgresql", "sql", None, DES),
    ("ALTER TABLE t ADD COLUMN c int", "sql", "sql", None, MUT),
    ("ALTER TABLE t DROP COLUMN c", "sql", "sql", None, DES),
    ("SHOW max_connections", "sql", "sql", None, RO),
    ("WITH gone AS (DELETE FROM q RETURNING *) SELECT count(*) FROM gone", "sql", "sql", None, DES),
    # Redis
    ("redis-cli -u $REDIS_URL INFO", "bash", "redis", None, RO),
    ("redis-cli ping", "bash", "redis", None, RO),
    ("redis-cli FLUSHDB", "bash", "redis", None, DES),
    ("redis-cli -n 2 DEL queue:jobs", "bash", "redis", None, DES),
    ("redis-cli CONFIG SET maxmemory 2gb", "bash", "redis", None, MUT),
    ("redis-cli CONFIG GET maxmemory", "bash", "redis", None, RO),
    ("redis-cli --bigkeys", "bash", "redis", None, RO),
    ("redis-cli", "bash", "redis", None, UNK),
    ("redis-cli --scan --pattern 'tmp:*' | xargs redis-cli DEL", "bash", "redis", None, DES),
    ("redis-cli CLIENT KILL TYPE normal", "bash", "redis", None, DES),
    ("INFO replication", "redis", "redis", None, RO),
    ("FLUSHALL", "redis", "redis", None, DES),
    # Cypher
    ("cypher-shell -a $NEO4J_URI 'MATCH (n) RETURN count(n)'", "bash", "cypher", None, RO),
    ("MATCH (n:Tmp) DETACH DELETE n", "cypher", "cypher", None, DES),
    ("MERGE (s:Service {name: 'api'})", "cypher", "cypher", None, MUT),
    (
        "CREATE INDEX svc_name IF NOT EXISTS FOR (s:Service) ON (s.name)",
        "cypher",
        "cypher",
        None,
        MUT,
    ),
    ("MATCH (n) REMOVE n.tmp", "cypher", "cypher", None, DES),
    ("CALL dbms.components()", "cypher", "cypher", None, RO),
    ("CALL apoc.periodic.commit('x')", "cypher", "cypher", None, UNK),
    # PromQL
    ('rate(http_requests_total{code=~"5.."}[5m])', "promql", "promql", None, RO),
    ("up == 0", "promql", "promql", None, RO),
    ("histogram_quantile(0.99, rate(x_bucket[5m]))", None, "promql", None, RO),
    # python
    ('python3 -c "import redis; print(redis.Redis().ping())"', "bash", "python", None, RO),
    ("python manage.py migrate", "bash", "python", None, UNK),
    ("client.drop_collection('x')", "python", "python", None, DES),
    # shell utilities, wrappers, pipelines, env prefixes
    ("df -h", "bash", "shell", None, RO),
    ("tail -f /var/log/app.log | grep ERROR", "bash", "shell", None, RO),
    ("rm -rf /var/lib/app/cache", "bash", "shell", None, DES),
    ("sudo rm -rf /tmp/x", "bash", "shell", None, DES),
    ("sudo systemctl restart nginx", "bash", "shell", None, MUT),
    ("systemctl status nginx", "bash", "shell", None, RO),
    ("sudo -u postgres psql -c 'SELECT 1'", "bash", "sql", None, RO),
    ("PGPASSWORD=secret psql -h db -c 'DROP DATABASE app'", "bash", "sql", None, DES),
    ("env FOO=1 kubectl get pods", "bash", "kubectl", None, RO),
    ("watch -n 5 kubectl get pods", "bash", "kubectl", None, RO),
    ("journalctl -u api --since '10 min ago'", "bash", "shell", None, RO),
    ("find /tmp -name '*.log' -delete", "bash", "shell", None, DES),
    ("pg_dump app > backup.sql", "bash", "shell", None, MUT),
    ("tar -xzf backup.tgz -C /var/lib/app", "bash", "shell", None, DES),
    ("kill -HUP 1234", "bash", "shell", None, MUT),
    ("kill -9 1234", "bash", "shell", None, DES),
    ("helm rollback api 3", "bash", "shell", None, MUT),
    ("helm uninstall api", "bash", "shell", None, DES),
    ("helm status api", "bash", "shell", None, RO),
    ("./scripts/restore.sh", "bash", "shell", None, UNK),
    ("echo ok && kubectl delete ns scratch", "bash", "kubectl", None, DES),
    ("export LOG_LEVEL=debug", "bash", "shell", None, MUT),
    ("git reset --hard HEAD~1", "bash", "shell", None, DES),
    ("aws s3 ls s3://bucket", "bash", "shell", None, RO),
    ("aws ec2 terminate-instances --instance-ids i-1", "bash", "shell", None, DES),
    (
        "neo4j-admin database load neo4j --from-path=/b --overwrite-destination=true",
        "bash",
        "shell",
        None,
        DES,
    ),
    ("ssh bastion 'systemctl restart api'", "bash", "shell", None, MUT),
    ("bash -c 'redis-cli FLUSHDB'", "bash", "redis", None, DES),
    ("frobnicate --all", "bash", "shell", None, UNK),
    ("$ kubectl get pods", "console", "kubectl", None, RO),
    # shell control flow around real commands
    ("curl -fsS $API_BASE/healthz || exit 1", "bash", "http", None, RO),
    ("kubectl exec -it api-0 -- sh -c 'redis-cli FLUSHALL'", "bash", "kubectl", "redis", DES),
    (
        "for p in $(kubectl get pods -o name); do kubectl delete $p; done",
        "bash",
        "kubectl",
        None,
        DES,
    ),
    (
        "kubectl get pods | awk '{print $1}' | xargs kubectl delete pod",
        "bash",
        "kubectl",
        None,
        DES,
    ),
    ("if ! kubectl get ns x; then kubectl create ns x; fi", "bash", "kubectl", None, MUT),
    # wrappers holding a quoted command, kubectl alias, GitOps CLIs
    ("watch -n 5 'kubectl get pods'", "bash", "kubectl", None, RO),
    ("k get pods -A", "bash", "kubectl", None, RO),
    ("argocd app get api", "bash", "shell", None, RO),
    ("argocd app sync api", "bash", "shell", None, MUT),
    ("argocd app delete api", "bash", "shell", None, DES),
    # Elasticsearch/Kibana console requests
    ("GET _cat/indices?v", "console", "http", None, RO),
    ("DELETE /logs-2020", "console", "http", None, DES),
    # raw HTTP requests in an ```http block
    ("GET /api/v1/status HTTP/1.1", "http", "http", None, RO),
    ("DELETE /api/v1/sessions/42", "http", "http", None, DES),
    ("POST /api/v1/jobs", "http", "http", None, MUT),
]


@pytest.mark.parametrize(("command", "lang", "kind", "inner", "safety"), CASES)
def test_classify(
    command: str, lang: str | None, kind: str, inner: str | None, safety: str
) -> None:
    c = classify(command, lang)
    assert (c.kind, c.inner_kind, c.safety) == (kind, inner, safety), c.reason
    assert c.executable
    assert c.reason and "\n" not in c.reason


@pytest.mark.parametrize(
    ("text", "lang", "kind"),
    [
        ("const x = await client.get('a')", "typescript", "typescript"),
        ("const x = 1", "js", "typescript"),
        ("replicas: 3", "yaml", "yaml"),
        ('{"a": 1}', "json", "json"),
        ("maxmemory 2gb", "conf", "config"),
        ("[server]\nport = 80", "toml", "config"),
        ("Rails.cache.clear", "ruby", "ruby"),
        ("PONG", "text", "text"),
        ("We are investigating [ISSUE].", None, "text"),
        ("kubectl get pods", "mermaid", "text"),
    ],
)
def test_non_executable_kinds(text: str, lang: str | None, kind: str) -> None:
    c = classify(text, lang)
    assert (c.kind, c.executable, c.safety) == (kind, False, RO)
    assert c.reason


def test_unknown_fence_language_is_not_run() -> None:
    c = classify("do the thing", "brainfuck")
    assert not c.executable
    assert c.reason.startswith("unknown fence language")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("kubectl get pods -n prod", True),
        ("redis-cli ping", True),
        ("SELECT count(*) FROM t", True),
        ("./restore.sh --dry-run", True),
        ("kubectl", False),  # a tool name, not a command
        ("/api/health/database", False),
        ("REDIS_URL", False),
        ("ASSISTANT_ENABLED=false", False),
        ("bolt://localhost:7687", False),
        ("INFO", False),
    ],
)
def test_looks_like_command(text: str, expected: bool) -> None:
    assert looks_like_command(text) is expected

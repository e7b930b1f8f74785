"""A generated runbook of any length, one alert section repeated with its numbers changed: the
big-document case of the parser tests and of bench/parse.py."""

from __future__ import annotations

_SECTION = """## Service {i} error rate

**Alert:** `Service{i}HighErrorRate`
**Severity:** critical
**Threshold:** more than {p}% of requests fail for 5 minutes

Requests to service {i} fail. Follow the steps below and keep the incident channel updated
while you work through them, one at a time.

### Symptoms

- HTTP 5xx answers from /api/orders/{i}
- p95 latency above {ms} ms

### Diagnosis

1. Look at the pods: `kubectl get pods -n shop-{i}`
2. Check the database and the cache:
   ```bash
   # connections in use
   psql "$DATABASE_URL" -c "SELECT count(*) FROM pg_stat_activity WHERE state = 'active';"
   # cache health
   redis-cli -u $REDIS_URL INFO memory | grep used_memory_human
   kubectl logs deploy/api-{i} -n shop-{i} --since=10m \\
     | grep -c ERROR
   ```
3. Query the error ratio:
   ```promql
   sum(rate(http_requests_total{{job="api-{i}",code=~"5.."}}[5m]))
   ```

### Mitigation

**Rollback**: undo the last deploy if it started after the release.

```bash
kubectl rollout undo deploy/api-{i} -n shop-{i}
```

"""


def generated_runbook(lines: int) -> tuple[str, int]:
    """A runbook of at least ``lines`` lines, and how many sections it has."""
    per = _SECTION.count("\n")
    count = lines // per + 1
    text = "# Generated runbook\n\n" + "".join(
        _SECTION.format(i=i, p=i % 50, ms=100 + i % 900) for i in range(count)
    )
    return text, count

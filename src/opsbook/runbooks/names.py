"""Names and text helpers: GitHub heading slugs, alert-name detection and normalisation.

Kept apart from the parser because matching and lint need exactly the same rules.
"""

from __future__ import annotations

import functools
import re

_INLINE_CODE = re.compile(r"(`{1,10})([^`].{0,2000}?)\1", re.S)
_LINK = re.compile(r"!?\[([^\]\[]{0,500})\]\([^)\s]{0,2000}\)")
_REF_LINK = re.compile(r"\[([^\]\[]{1,500})\]\[[^\]\[]{0,200}\]")
_EMPHASIS = re.compile(
    r"(\*\*|__|~~)([^\n]{1,500}?)\1|(?<![\w*])\*(?!\s)([^*\n]{1,500}?)(?<!\s)\*(?![\w*])"
)
_HTML_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]{0,30}(?:\s[^<>]{0,500})?/?>")
_SPACES = re.compile(r"\s+")
_MARKUP = re.compile(r"[*_`\[\]<>~\\]")


def _code_text(m: re.Match[str]) -> str:
    return m.group(2).strip()


def _emphasis_text(m: re.Match[str]) -> str:
    return m.group(2) or m.group(3) or ""


@functools.lru_cache(maxsize=16384)
def plain(markdown: str) -> str:
    """Inline Markdown as plain text: emphasis, links and code markers removed, spaces folded."""
    if not _MARKUP.search(markdown):
        if "  " in markdown or "\n" in markdown or "\t" in markdown:
            return _SPACES.sub(" ", markdown).strip()
        return markdown.strip()
    text = markdown
    if "[" in text:
        text = _REF_LINK.sub(r"\1", _LINK.sub(r"\1", text))
    if "`" in text:
        text = _INLINE_CODE.sub(_code_text, text)
    for _ in range(3):
        if "*" not in text and "_" not in text and "~" not in text:
            break
        new = _EMPHASIS.sub(_emphasis_text, text)
        if new == text:
            break
        text = new
    if "<" in text:
        text = _HTML_TAG.sub("", text)
    text = text.replace("\\", "") if "\\" in text and "`" not in markdown else text
    return _SPACES.sub(" ", text).strip()


def code_spans(markdown: str) -> list[str]:
    """The contents of inline code spans in a piece of inline Markdown, in order."""
    return [m.group(2).strip() for m in _INLINE_CODE.finditer(markdown)]


_SLUG_DROP = re.compile(r"[^\w\- ]", re.UNICODE)


def github_slug(heading_text: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces → hyphens."""
    return _SLUG_DROP.sub("", heading_text.strip().lower()).replace(" ", "-")


class SlugRegistry:
    """Makes slugs unique the way GitHub does: the second ``foo`` becomes ``foo-1``."""

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}

    def claim(self, anchor: str) -> str:
        """An explicit ``{#anchor}`` as the slug, made unique only if it is already taken."""
        slug = anchor
        while slug in self._seen:
            self._seen[anchor] = self._seen.get(anchor, 0) + 1
            slug = f"{anchor}-{self._seen[anchor]}"
        self._seen[slug] = 0
        return slug

    def unique(self, heading_text: str) -> str:
        """A slug for the heading that no earlier call returned."""
        base = github_slug(heading_text) or "section"
        slug = base
        while slug in self._seen:
            self._seen[base] = self._seen.get(base, 0) + 1
            slug = f"{base}-{self._seen[base]}"
        self._seen[slug] = 0
        return slug


def normalize_key(name: str) -> str:
    """Matching key for names: ``HighErrorRate`` = ``High Error Rate`` = ``high-error-rate``."""
    return re.sub(r"[^0-9a-z]", "", name.lower())


_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+[0-9]*|[A-Z]+[0-9]*|[0-9]+")


def split_words(text: str) -> list[str]:
    """Words of a name or sentence, CamelCase split: ``HighRAGLatency`` → high, rag, latency."""
    return [w.lower() for w in _CAMEL.findall(text)]


_ALERT_TOKEN = re.compile(r"^[A-Za-z][A-Za-z0-9_:.\-]{2,120}$")
_HUMP = re.compile(r"[a-z0-9][A-Z]|[A-Z]{2,}[a-z]")
_NOT_ALERTS = frozenset(
    {
        "PostgreSQL",
        "MySQL",
        "GitHub",
        "GitLab",
        "JavaScript",
        "TypeScript",
        "OpenAI",
        "PagerDuty",
        "DevOps",
        "FastAPI",
        "GraphQL",
        "MongoDB",
        "RabbitMQ",
        "BullMQ",
        "OpsGenie",
        "Opsgenie",
        "StatusPage",
        "ConfigMap",
        "ConfigMaps",
        "YouTube",
        "LinkedIn",
        "WebSocket",
        "macOS",
        "iOS",
        "OAuth",
        "SendGrid",
        "CloudWatch",
        "CloudFlare",
        "Cloudflare",
        "ElastiCache",
        "DynamoDB",
        "PgBouncer",
        "TimescaleDB",
        "ClickHouse",
        "VictoriaMetrics",
        "OpenSearch",
        "ElasticSearch",
        "NodeJS",
        "VMware",
        "HashiCorp",
        "DataDog",
        "NewRelic",
        "FalkorDB",
        "SQLite",
        "PromQL",
        "LogQL",
        "HTTPie",
        "README",
        "TODO",
        "FAQ",
        "URL",
        "API",
        "SLO",
        "SLA",
        "MTTR",
        "MTTD",
        "OOMKilled",
        "CrashLoopBackOff",
        "ImagePullBackOff",
        "ErrImagePull",
        "StatefulSet",
        "DaemonSet",
        "ReplicaSet",
        "PodDisruptionBudget",
        "PodDisruptionBudgets",
        "NetworkPolicy",
        "PersistentVolume",
        "PersistentVolumeClaim",
        "Socket.IO",
        "SocketIO",
        # Kubernetes / OpenShift / Prometheus-operator resource kinds, written as headings
        "ServiceMonitor",
        "PodMonitor",
        "PrometheusRule",
        "PrometheusRules",
        "AlertmanagerConfig",
        "ThanosRuler",
        "PrometheusAgent",
        "ScrapeConfig",
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "RoleBinding",
        "CustomResourceDefinition",
        "HorizontalPodAutoscaler",
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
        "PersistentVolumeClaims",
        "PersistentVolumes",
        "StorageClass",
        "CronJob",
        "CronJobs",
        "IngressClass",
        "EndpointSlice",
        "MachineSet",
        "MachineConfig",
        "MachineConfigPool",
        "ClusterOperator",
        "ClusterVersion",
        "ClusterLogForwarder",
        "LokiStack",
        "OpenShift",
        "OpenStack",
        "KubeVirt",
        "VirtualMachine",
        "VirtualMachineInstance",
        "StatefulSets",
        "DaemonSets",
        "ReplicaSets",
        "NetworkPolicies",
        "ResourceQuota",
        "LimitRange",
        "PodSecurityPolicy",
    }
)


def looks_like_alert_name(token: str) -> bool:
    """True for identifiers written like alert names: ``MaestroServiceDown``, ``etcdNoLeader``,
    ``KubePodCrashLooping``, ``node_disk_full`` — not plain words or product names."""
    token = token.strip().strip("`")
    if not _ALERT_TOKEN.match(token) or token in _NOT_ALERTS:
        return False
    if "_" in token:
        return any(c.islower() for c in token) and not token.startswith("_")
    if "." in token or ":" in token or "-" in token:
        return False
    return bool(_HUMP.search(token)) and any(c.islower() for c in token)


_KEBAB_ID = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+){2,}$")
_NAME_SEPARATORS = re.compile(r"\s*(?:\||/|,)\s*")
_ID_CHARS = re.compile(r"[A-Za-z][\w:.\-]{1,120}")
_NAME_FOLLOWERS = frozenset({"alert", "alerts", "firing", "fires", "is"})


def looks_like_alert_id(token: str, spans: list[str] | tuple[str, ...] = ()) -> bool:
    """An alert name (``KubePodCrashLooping``, ``node_disk_full``), a kebab-case alert id of
    three or more parts (``edge-proxy-5xx-rate``), or any identifier written as inline code."""
    token = token.strip().strip("`")
    return (
        looks_like_alert_name(token)
        or bool(_KEBAB_ID.match(token))
        or (token in spans and bool(_ID_CHARS.fullmatch(token)))
    )


_ALERT_WORDS = frozenset(
    """down high low full slow lag lagging failed failing failure failures fails error errors
    errored missing stuck unavailable unreachable latency rate restarting restarts restarted
    crash crashing crashlooping looping degraded exhausted expiring expired expiry notready
    absent spike spikes saturation saturated budget burn burning timeout timeouts dropped drops
    overload overloaded pressure backlog behind stale throttled throttling rejected rejections
    denied flapping offline unhealthy reached exceeded exceeding usage utilization filling
    leader mismatch skew drift violation violations breach anomaly open detected critical
    warning stalled blocked corrupt corrupted unsynced outofsync split quorum evicted evictions
    killed oom oomkilled loss lost deadlock deadlocks bloat wraparound""".split()  # noqa: SIM905
)


def alert_like_in_heading(token: str, spans: list[str] | tuple[str, ...] = ()) -> bool:
    """Stricter than ``looks_like_alert_id`` for a name that is all a heading says: product
    and tool names (``PubSub``, ``BigQuery``, ``HAProxy``, ``set-server-state``,
    ``postgres_exporter``) are headings too. A CamelCase name of three or more words passes; a
    shorter one, a snake_case or a kebab-case one must hold a word alerts use (Down, High,
    Failed, Lag, Full …)."""
    token = token.strip().strip("`")
    if not looks_like_alert_id(token, spans):
        return False
    if "." in token:
        return False  # a file name (indexer_worker.rb), a host, a version
    if "_" in token or "-" in token:
        words = [w.lower() for w in re.split(r"[_\-]+", token) if w]
        return bool(_ALERT_WORDS.intersection(words))
    words = split_words(token)
    return len(words) >= 3 or _states(words)


def _states(words: list[str]) -> bool:
    """Some word says what went wrong: Down, Full, Lag …, ``…ed``/``…ing`` (VaultSealed,
    JobFailing), or No/Too (NoLeader, TooManyPods)."""
    return any(w in _ALERT_WORDS or (len(w) > 4 and w.endswith(("ed", "ing"))) for w in words) or (
        bool(words) and words[0] in ("no", "too", "not")
    )


def heading_alert_names(core: str, raw: str) -> list[str]:
    """Alert names a heading gives: ``AlertA | AlertB`` or ``AlertA / AlertB`` (all of them),
    a lone alert id, or an alert name followed by ``-``, ``:``, ``(`` or "alert"."""
    return list(_heading_alert_names(core, raw))


@functools.lru_cache(maxsize=8192)
def _heading_alert_names(core: str, raw: str) -> tuple[str, ...]:
    """``heading_alert_names`` remembered: the outline and the builder both ask, and runbooks
    repeat their headings (Diagnosis, Mitigation …)."""
    spans = code_spans(raw) if "`" in raw else []
    flat = core.replace("`", " ").strip()
    if not flat:
        return ()
    parts = [p.strip(" .") for p in _NAME_SEPARATORS.split(flat) if p.strip(" .")]
    if len(parts) >= 2 and all(alert_like_in_heading(p, spans) for p in parts):
        return tuple(parts)
    tokens = flat.split()
    whole = raw.strip()
    if len(spans) == 1 and whole[:1] == "`" and whole[-1:] == "`" and spans[0].islower():
        return ()  # "### `log_error`": a function, command or setting documented, not an alert
    if len(tokens) == 1 and _KEBAB_ID.match(tokens[0]):
        return (tokens[0],) if alert_like_in_heading(tokens[0]) else ()
    if tokens and tokens[0][-1:] in (":", ","):  # "KubeAPIDown: the API is unreachable"
        tokens = [tokens[0][:-1], ":", *tokens[1:]]
    if (
        tokens
        and alert_like_in_heading(tokens[0])
        and (
            len(tokens) == 1
            or tokens[1] in ("-", "–", "—", ":", "|")
            or tokens[1].lower() in _NAME_FOLLOWERS
            or tokens[1].startswith(("(", "["))
            or (spans and spans[0] == tokens[0])
        )
    ):
        return (tokens[0],)
    return ()

"""The redis executor: ``redis-cli`` lines and bare Redis commands sent with redis-py as argv
(``execute_command``), so a value is always exactly one argument. ``--latency`` is bounded to a
few seconds and summarised; INFO is parsed into a table."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from opsbook.executors.common import (
    Command,
    Unsupported,
    cap,
    first_command,
    now,
    result,
    split_commands,
    unavailable,
)
from opsbook.executors.models import Block, ExecContext, Resolved, StepResult, TableBlock, TextBlock
from opsbook.executors.ssrf import Refused, judge, url_host, with_host
from opsbook.executors.targets import given_in, refusal, refused, url_variable
from opsbook.runbooks.models import Step

URL_VARIABLES = ("REDIS_URL", "REDIS_URI", "CACHE_URL")
LATENCY_SECONDS = 2.0
SCAN_LIMIT = 1000
_STREAMING = {"MONITOR", "SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "SYNC", "PSYNC"}
_CLI_FLAGS = {
    "--raw",
    "--no-raw",
    "--no-auth-warning",
    "-c",
    "--tls",
    "-e",
    "--verbose",
    "-3",
    "-2",
}


@dataclass
class RedisCall:
    """What a ``redis-cli`` line asks for."""

    url: str | None = None
    host: str | None = None
    port: int | None = None
    db: int | None = None
    password: str | None = None
    username: str | None = None
    tls: bool = False
    mode: str = "command"  # command | latency | scan | bigkeys
    pattern: str | None = None
    args: list[str] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)
    """Template pieces of ``-u``/``-h``/``-p``/``-n`` (who gave which part of the target)."""


def parse_redis_cli(words: list[str], template: list[str] | None = None) -> RedisCall:
    """``redis-cli [-u URL | -h H -p P -n DB -a PASS] [--latency|--scan] CMD args…``."""
    call = RedisCall()
    template = template if template is not None else words
    i = 1

    def value(target: bool = False) -> str:
        nonlocal i
        i += 1
        if i >= len(words):
            raise Unsupported(f"redis-cli option {words[i - 1]} needs a value")
        if target and i < len(template):
            call.targets.append(template[i])
        return words[i]

    while i < len(words):
        w = words[i]
        if call.args:
            call.args.append(w)
        elif w == "-u":
            call.url = value(target=True)
        elif w == "-h":
            call.host = value(target=True)
        elif w == "-p":
            call.port = int(value(target=True))
        elif w == "-n":
            call.db = int(value(target=True))
        elif w in ("-a", "--pass"):
            call.password = value()
        elif w == "--user":
            call.username = value()
        elif w == "--tls":
            call.tls = True
        elif w in ("--latency", "--latency-history", "--latency-dist"):
            call.mode = "latency"
        elif w == "--scan":
            call.mode = "scan"
        elif w == "--pattern":
            call.pattern = value()
        elif w in ("--bigkeys", "--memkeys", "--hotkeys", "--keystats"):
            raise Unsupported(
                f"redis-cli {w} walks the whole keyspace; run it by hand off-peak, or use "
                "`redis-cli --scan --pattern …` (bounded)"
            )
        elif w in (
            "--stat",
            "--monitor",
            "--pipe",
            "--rdb",
            "--functions-rdb",
            "--replica",
            "-r",
            "-i",
        ):
            raise Unsupported(f"redis-cli {w} runs until stopped; run it by hand")
        elif w in ("--cacert", "--cert", "--key", "--sni", "--count", "--eval"):
            value()
        elif w in _CLI_FLAGS or w.startswith("-"):
            pass
        else:
            call.args.append(w)
        i += 1
    if call.args and call.args[0].upper() in _STREAMING:
        raise Unsupported(f"{call.args[0].upper()} streams until stopped; run it by hand")
    return call


@dataclass
class Target:
    """Where a Redis step connects, judged: a URL (pinned to the judged address) or host/port."""

    url: str | None
    host: str
    port: int


def target(call: RedisCall, resolved: Resolved, ctx: ExecContext) -> Target:
    """The judged target of a call; raises Refused (from a request, or a refused host) or
    LookupError. The URL comes from ``-u``, ``-h``/``-p`` or the config's REDIS_URL."""
    given = given_in(call.targets, resolved, ctx)
    url, from_config = call.url, False
    if url is None and call.host is None:
        name, url = url_variable(ctx, URL_VARIABLES)
        if name and ctx.source(name) == "request":
            given.append(name)
        from_config = url is not None
    if given:
        raise Refused(refusal("the Redis server a step connects to", given))
    if not url:
        host, port = call.host or "127.0.0.1", call.port or 6379
        return Target(None, judge(host, port, ctx, what="the Redis server")[1][0], port)
    if url.lower().startswith("unix://"):
        if not (from_config or ctx.allow_private_hosts):
            raise Refused("the step connects through a local socket; set REDIS_URL in the config")
        return Target(url, "", 0)
    raw, given_port = url_host(url)
    port = given_port or 6379
    address = judge(raw or "localhost", port, ctx, what="the Redis server")[1][0]
    tls = url.lower().startswith("rediss://")
    return Target(url if tls else with_host(url, address), address, port)


def _client(call: RedisCall, where: Target, ctx: ExecContext) -> Any:
    import redis

    opts: dict[str, Any] = {
        "socket_timeout": ctx.timeout,
        "socket_connect_timeout": min(ctx.timeout, 10.0),
    }
    if where.url:
        if call.db is not None:
            opts["db"] = call.db
        if call.password is not None:
            opts["password"] = call.password
        if call.username is not None:
            opts["username"] = call.username
        return redis.Redis.from_url(where.url, **opts)
    return redis.Redis(
        host=where.host,
        port=where.port,
        db=call.db or 0,
        password=call.password,
        username=call.username,
        ssl=call.tls,
        **opts,
    )


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def _flatten(data: dict[Any, Any], prefix: str = "") -> list[list[str]]:
    rows: list[list[str]] = []
    for key, value in data.items():
        name = f"{prefix}{_text(key)}"
        if isinstance(value, dict):
            rows += _flatten(value, name + ".")
        else:
            rows.append([name, _text(value)])
    return rows


def render_reply(args: list[str], reply: Any, limit: int) -> tuple[str, list[Block]]:
    """(summary, blocks) for a reply: INFO and hashes as tables, lists numbered, scalars as text."""
    name = args[0].upper() if args else ""
    if isinstance(reply, dict):
        rows = _flatten(reply)
        if name == "INFO":
            wanted = ("used_memory_human", "connected_clients", "redis_version", "role")
            known = {k: v for k, v in rows}
            parts = [f"{k}={known[k]}" for k in wanted if k in known]
            summary = ", ".join(parts) or f"{len(rows)} fields"
        else:
            summary = f"{len(rows)} fields"
        return summary, [TableBlock(["field", "value"], rows[:1000], len(rows) > 1000)]
    if isinstance(reply, list | tuple | set):
        items = [
            _text(v) if not isinstance(v, list | tuple) else " ".join(map(_text, v)) for v in reply
        ]
        table = TableBlock(
            ["#", "value"], [[str(i + 1), v] for i, v in enumerate(items[:1000])], len(items) > 1000
        )
        return f"{len(items)} item{'s' if len(items) != 1 else ''}", [table]
    if reply is None:
        return "(nil)", [TextBlock("(nil)")]
    if reply is True:
        word = "PONG" if name == "PING" else "OK"
        return word, [TextBlock(word)]
    text, _ = cap(_text(reply), limit)
    first = text.splitlines()[0] if text else '""'
    return (first if len(first) < 200 else first[:199] + "…"), [TextBlock(text or '""')]


def _latency(client: Any, ctx: ExecContext) -> tuple[str, list[Block]]:
    samples: list[float] = []
    deadline = time.monotonic() + min(LATENCY_SECONDS, ctx.timeout)
    while time.monotonic() < deadline:
        t0 = time.perf_counter()
        client.ping()
        samples.append((time.perf_counter() - t0) * 1000)
        time.sleep(0.01)
    avg = sum(samples) / len(samples)
    summary = (
        f"latency min {min(samples):.2f} ms, avg {avg:.2f} ms, max {max(samples):.2f} ms "
        f"over {len(samples)} PINGs"
    )
    rows = [
        ["min", f"{min(samples):.3f}"],
        ["avg", f"{avg:.3f}"],
        ["max", f"{max(samples):.3f}"],
        ["samples", str(len(samples))],
    ]
    return summary, [TableBlock(["latency ms", "value"], rows)]


def _scan(client: Any, pattern: str | None) -> tuple[str, list[Block]]:
    keys: list[str] = []
    truncated = False
    for key in client.scan_iter(match=pattern or "*", count=200):
        if len(keys) >= SCAN_LIMIT:
            truncated = True
            break
        keys.append(_text(key))
    more = f" (stopped at {SCAN_LIMIT})" if truncated else ""
    return f"{len(keys)} keys{more}", [TableBlock(["key"], [[k] for k in keys], truncated)]


def run_redis(
    call: RedisCall, resolved: Resolved, ctx: ExecContext, command: str, notes: list[Block]
) -> StepResult:
    """Judge the target, connect, run the call, close; connection problems are retryable."""
    import redis

    start = now()
    if call.mode == "command" and not call.args:
        return unavailable(
            "redis-cli without a command is an interactive session; run it by hand", start, command
        )
    try:
        where = target(call, resolved, ctx)
    except Refused as exc:
        return refused(str(exc), start, command)
    except LookupError as exc:
        return result("error", f"{exc}; check REDIS_URL", start, retryable=True, command=command)
    try:
        client = _client(call, where, ctx)
        try:
            if call.mode == "latency":
                summary, blocks = _latency(client, ctx)
            elif call.mode == "scan":
                summary, blocks = _scan(client, call.pattern)
            else:
                reply = client.execute_command(*call.args)
                summary, blocks = render_reply(call.args, reply, ctx.output_limit)
        finally:
            client.close()
    except redis.exceptions.TimeoutError as exc:
        return result(
            "timeout",
            f"Redis did not answer in time: {exc}",
            start,
            retryable=True,
            command=command,
        )
    except redis.exceptions.AuthenticationError as exc:
        return result(
            "error",
            f"Redis refused the credentials: {exc}; check the password",
            start,
            command=command,
        )
    except redis.exceptions.ConnectionError as exc:
        return result(
            "error", f"cannot connect to Redis: {exc}; check REDIS_URL and that the server is up",
            start, retryable=True, command=command,
        )  # fmt: skip
    except redis.exceptions.ResponseError as exc:
        return result("failed", f"Redis error: {exc}", start, command=command)
    except (redis.exceptions.RedisError, ValueError) as exc:
        return result("error", f"Redis call failed: {exc}", start, command=command)
    return result("ok", summary, start, blocks=[*blocks, *notes], command=command)


class RedisExecutor:
    """``redis-cli`` lines and bare Redis commands."""

    kind = "redis"

    def run(self, step: Step, resolved: Resolved, ctx: ExecContext) -> StepResult:
        start = now()
        try:
            command, notes = first_command(resolved)
            if command.words[0].rsplit("/", 1)[-1] == "redis-cli":
                call = parse_redis_cli(command.words, command.template)
            else:
                commands, _ = split_commands(resolved)
                if len(commands) > 1 and all(c.op_before == "\n" for c in commands[1:]):
                    return self._several(commands, resolved, ctx)
                call = RedisCall(args=list(command.words))
        except Unsupported as exc:
            return unavailable(str(exc), start, resolved.display)
        except ValueError as exc:
            return result(
                "failed",
                f"cannot read the redis-cli options: {exc}",
                start,
                command=resolved.display,
            )
        return run_redis(call, resolved, ctx, resolved.display, notes)

    def _several(self, commands: list[Command], resolved: Resolved, ctx: ExecContext) -> StepResult:
        """A block of bare Redis commands, one per line: run each, stop at the first failure."""
        start = now()
        display = resolved.display
        blocks: list[Block] = []
        last: StepResult | None = None
        for command in commands:
            last = run_redis(RedisCall(args=list(command.words)), resolved, ctx, display, [])
            blocks.append(TextBlock("> " + " ".join(command.shown)))
            blocks.extend(last.blocks)
            if last.status != "ok":
                break
        assert last is not None
        return result(
            last.status,
            last.summary,
            start,
            blocks=blocks,
            retryable=last.retryable,
            command=display,
        )

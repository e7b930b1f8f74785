"""The http executor: runbook ``curl``/``wget``/HTTPie lines sent with httpx, every hop guarded
(:mod:`opsbook.executors.ssrf`), the body capped; plus :func:`check_http` for health checks."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

import httpx

from opsbook.executors.common import (
    Command,
    Unsupported,
    cap,
    first_command,
    ms,
    now,
    result,
    unavailable,
)
from opsbook.executors.http_args import HttpRequest, parse_http_command
from opsbook.executors.models import Block, CodeBlock, ExecContext, Resolved, StepResult, TextBlock
from opsbook.executors.ssrf import Refused, check_url
from opsbook.runbooks.models import Step

_SHOWN_HEADERS = ("content-type", "content-length", "location", "retry-after", "server")
_MAX_REDIRECTS = 10


@dataclass
class HttpResponse:
    """What came back: status, reason, headers, (capped) body and latency of the last hop."""

    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
    truncated: bool
    latency_ms: float
    url: str
    hops: list[str] = field(default_factory=list)

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None


def _pinned_requests(
    client: httpx.Client, req: HttpRequest, url: str, ctx: ExecContext, given: Sequence[str]
) -> tuple[str, list[httpx.Request]]:
    """Requests to each judged address of ``url`` (DNS answered once, every address judged,
    then used), with the original Host header and TLS server name, so a rebinding DNS cannot
    slip past the guard. Returns the URL as normalised, and the requests."""
    checked = check_url(url, ctx, given=given)
    try:
        parsed = httpx.URL(checked.url)
    except httpx.InvalidURL as exc:
        raise Refused(f"invalid URL {url!r}: {exc}") from None
    headers = [(k, v) for k, v in req.headers if k.lower() != "host"]
    headers.append(("Host", parsed.netloc.decode("ascii")))
    extensions: dict[str, Any] = {}
    if parsed.scheme == "https" and checked.host.ip is None:
        extensions["sni_hostname"] = checked.host.name
    requests = []
    for address in checked.addresses:
        request = client.build_request(
            req.method,
            parsed.copy_with(host=address),
            headers=headers,
            content=req.body,
            extensions=extensions,
        )
        if req.auth:
            request = next(httpx.BasicAuth(*req.auth).auth_flow(request))
        requests.append(request)
    return checked.url, requests


def _send_first(client: httpx.Client, requests: list[httpx.Request]) -> httpx.Response:
    """Send to the first address that accepts the connection."""
    for request in requests[:-1]:
        try:
            return client.send(request, stream=True)
        except httpx.ConnectError:
            continue
    return client.send(requests[-1], stream=True)


_CREDENTIAL_HEADERS = ("authorization", "cookie", "proxy-authorization")


def _without_credentials(req: HttpRequest) -> HttpRequest:
    headers = [(k, v) for k, v in req.headers if k.lower() not in _CREDENTIAL_HEADERS]
    return HttpRequest(**{**req.__dict__, "headers": headers, "auth": None})


def send(
    req: HttpRequest, ctx: ExecContext, limit: int | None = None, given: Sequence[str] = ()
) -> HttpResponse:
    """Send ``req`` following redirects (when asked) with every hop judged again; raises
    Refused, LookupError or httpx errors. ``given`` names the request variables the first
    URL's host was built with (see :func:`opsbook.executors.ssrf.judge`)."""
    limit = ctx.output_limit if limit is None else limit
    budget = min(req.max_time or ctx.timeout, ctx.timeout)
    deadline = time.monotonic() + budget
    url = req.url
    hops: list[str] = []
    with httpx.Client(verify=req.verify, timeout=httpx.Timeout(budget), trust_env=False) as client:
        for _ in range(_MAX_REDIRECTS + 1):
            url, requests = _pinned_requests(client, req, url, ctx, given)
            given = ()  # later hops come from the server's answers, judged on their own
            started = time.monotonic()
            response = _send_first(client, requests)
            try:
                latency = (time.monotonic() - started) * 1000
                body, truncated = _read(response, limit, deadline, req)
            finally:
                response.close()
            location = response.headers.get("location")
            if req.follow and location and response.status_code in (301, 302, 303, 307, 308):
                hops.append(f"{response.status_code} → {location}")
                next_url = urljoin(url, location)
                if httpx.URL(next_url).netloc != httpx.URL(url).netloc:
                    req = _without_credentials(req)  # like curl: no credentials to another host
                url = next_url
                if response.status_code == 303 or (
                    response.status_code in (301, 302) and req.method == "POST"
                ):
                    req = HttpRequest(**{**req.__dict__, "method": "GET", "body": None})
                continue
            return HttpResponse(
                status=response.status_code,
                reason=response.reason_phrase,
                headers=list(response.headers.items()),
                body=body,
                truncated=truncated,
                latency_ms=latency,
                url=url,
                hops=hops,
            )
    raise Refused(f"more than {_MAX_REDIRECTS} redirects; stopped at {url}")


def _read(
    response: httpx.Response, limit: int, deadline: float, req: HttpRequest
) -> tuple[bytes, bool]:
    """Read up to ``limit`` bytes. A stream (``-N``) running past the deadline is cut and kept;
    any other body not complete by then is a timeout, as with ``curl -m``."""
    if req.method == "HEAD":
        return b"", False
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.iter_bytes():
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                return b"".join(chunks)[:limit], True
            if time.monotonic() > deadline:
                if not req.stream:
                    raise httpx.ReadTimeout("the body did not arrive within the time limit")
                return b"".join(chunks)[:limit], True
    except httpx.ReadTimeout:
        if not chunks or not req.stream:
            raise
        return b"".join(chunks)[:limit], True
    return b"".join(chunks), False


def _body_block(resp: HttpResponse, limit: int) -> Block | None:
    if not resp.body:
        return None
    text = resp.body.decode("utf-8", errors="replace")
    ctype = (resp.header("content-type") or "").lower()
    if "json" in ctype or text.lstrip().startswith(("{", "[")):
        try:
            text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
            language = "json"
        except ValueError:
            language = "json" if "json" in ctype else ""
    else:
        language = "html" if "html" in ctype else ""
    text, cut = cap(text, limit)
    if resp.truncated and not cut:
        text += f"\n… (body cut at {limit} bytes)"
    return CodeBlock(text, language)


def _write_out(template: str, resp: HttpResponse) -> str:
    return (
        template.replace("%{http_code}", str(resp.status))
        .replace("%{response_code}", str(resp.status))
        .replace("%{time_total}", f"{resp.latency_ms / 1000:.6f}")
        .replace("%{url_effective}", resp.url)
        .replace("\\n", "\n")
    )


def render(req: HttpRequest, resp: HttpResponse, ctx: ExecContext) -> list[Block]:
    """Status line, latency, a few headers (all with -v/-i) and the body as a code block."""
    lines = [f"HTTP {resp.status} {resp.reason}  ({ms(resp.latency_ms)})"]
    lines += [f"redirect {hop}" for hop in resp.hops]
    for key, value in resp.headers:
        if req.verbose or req.include or key.lower() in _SHOWN_HEADERS:
            lines.append(f"{key}: {value}")
    blocks: list[Block] = [TextBlock("\n".join(lines))]
    if req.write_out:
        blocks.append(TextBlock(_write_out(req.write_out, resp)))
    if not req.discard_body:
        body = _body_block(resp, ctx.output_limit)
        if body is not None:
            blocks.append(body)
    return blocks


def _failure(exc: Exception, start: float, command: str) -> StepResult:
    """Map a refusal or transport error to a result that says what to do next."""
    if isinstance(exc, Refused):
        return result("failed", f"refused: {exc}", start, command=command)
    if isinstance(exc, LookupError):
        return result(
            "error", f"{exc}; check the host name", start, retryable=True, command=command
        )
    if isinstance(exc, httpx.TimeoutException):
        return result(
            "timeout",
            f"no answer in time ({type(exc).__name__}); the service may be overloaded or down",
            start,
            retryable=True,
            command=command,
        )
    if isinstance(exc, httpx.ConnectError):
        return result(
            "error",
            f"cannot connect: {exc}; check that the service is up and the URL is right",
            start,
            retryable=True,
            command=command,
        )
    return result("error", f"HTTP request failed: {exc}", start, retryable=True, command=command)


def run_request(
    req: HttpRequest, ctx: ExecContext, command: str, given: Sequence[str] = ()
) -> StepResult:
    """Send one translated request and turn the response into a StepResult."""
    start = now()
    try:
        resp = send(req, ctx, given=given)
    except (Refused, LookupError, httpx.HTTPError) as exc:
        return _failure(exc, start, command)
    blocks = render(req, resp, ctx)
    summary = f"{req.method} → {resp.status} {resp.reason} in {ms(resp.latency_ms)}"
    if resp.body and not req.discard_body:
        summary += f" · {len(resp.body)} bytes"
    if req.fail and resp.status >= 400:
        return result(
            "failed",
            summary,
            start,
            blocks=blocks,
            retryable=resp.status >= 500 or resp.status in (408, 429),
            command=command,
        )
    return result("ok", summary, start, blocks=blocks, command=command)


_AUTHORITY = re.compile(r"^[^/?#]*?://[^/?#]*|^[^/?#]*")


def _host_given(command: Command, resolved: Resolved, ctx: ExecContext) -> list[str]:
    """Request variables whose values are in the scheme or host part of the URL: the command
    is read again with values as markers to see where each one landed."""
    requested = [i for i, name in enumerate(resolved.names) if ctx.source(name) == "request"]
    if not requested:
        return []
    try:
        template_url = parse_http_command(command.template).url
        slots = Resolved.slots(m.group(0)) if (m := _AUTHORITY.match(template_url)) else []
    except (Unsupported, ValueError):
        slots = [i for word in command.template for i in Resolved.slots(word)]
    return [resolved.names[i] for i in dict.fromkeys(slots) if i in requested]


class HttpExecutor:
    """``curl``/``wget``/HTTPie steps, translated and sent with httpx."""

    kind = "http"

    def run(self, step: Step, resolved: Resolved, ctx: ExecContext) -> StepResult:
        start = now()
        try:
            command, notes = first_command(resolved)
            req = parse_http_command(command.words)
        except Unsupported as exc:
            return unavailable(f"{exc}", start, resolved.display)
        except ValueError as exc:
            return result(
                "failed", f"cannot read the command: {exc}", start, command=resolved.display
            )
        res = run_request(req, ctx, resolved.display, _host_given(command, resolved, ctx))
        if notes:
            res = StepResult(
                res.status, res.summary, res.duration_ms, (*res.blocks, *notes),
                res.retryable, res.command,
            )  # fmt: skip
        return res


def _json_path(data: Any, path: str) -> Any:
    """``services.neo4j`` / ``items.0.name`` into parsed JSON; KeyError when absent."""
    for part in path.split("."):
        if isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        elif isinstance(data, dict) and part in data:
            data = data[part]
        else:
            raise KeyError(path)
    return data


def check_http(
    url: str,
    expect_status: int | Collection[int] = 200,
    max_latency_ms: float | None = None,
    json_path_equals: Mapping[str, Any] | None = None,
    body_contains: str | None = None,
    *,
    ctx: ExecContext | None = None,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
) -> StepResult:
    """A health check: GET ``url`` and assert status, latency, JSON values and body text.

    ``ok`` when every assertion holds; ``failed`` (retryable) naming each one that does not.
    """
    ctx = ctx or ExecContext()
    req = HttpRequest(method=method, url=url, headers=list((headers or {}).items()))
    start = now()
    try:
        resp = send(req, ctx)
    except (Refused, LookupError, httpx.HTTPError) as exc:
        return _failure(exc, start, f"{method} {url}")
    expected = {expect_status} if isinstance(expect_status, int) else set(expect_status)
    problems: list[str] = []
    if resp.status not in expected:
        problems.append(f"status {resp.status}, expected {'/'.join(map(str, sorted(expected)))}")
    if max_latency_ms is not None and resp.latency_ms > max_latency_ms:
        problems.append(f"latency {ms(resp.latency_ms)} over {ms(max_latency_ms)}")
    text = resp.body.decode("utf-8", errors="replace")
    if body_contains is not None and body_contains not in text:
        problems.append(f"body does not contain {body_contains!r}")
    if json_path_equals:
        try:
            data = json.loads(text)
        except ValueError:
            data = None
            problems.append("body is not JSON")
        if data is not None:
            for path, want in json_path_equals.items():
                try:
                    got = _json_path(data, path)
                except KeyError:
                    problems.append(f"{path} is missing")
                    continue
                if got != want:
                    problems.append(f"{path} is {got!r}, expected {want!r}")
    blocks = render(req, resp, ctx)
    if problems:
        return result(
            "failed",
            "unhealthy: " + "; ".join(problems),
            start,
            blocks=blocks,
            retryable=True,
            command=f"{method} {url}",
        )
    return result(
        "ok",
        f"healthy: {resp.status} {resp.reason} in {ms(resp.latency_ms)}",
        start,
        blocks=blocks,
        command=f"{method} {url}",
    )

"""Translate ``curl``, ``wget`` and HTTPie command lines into an :class:`HttpRequest`.

Nothing is shelled out: the http executor sends the request itself with httpx, so it can guard
every hop against SSRF, cap the body and redact secrets.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from urllib.parse import urlencode

from opsbook.executors.common import Unsupported


@dataclass
class HttpRequest:
    """One HTTP request as a runbook command meant it."""

    method: str = "GET"
    url: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes | None = None
    auth: tuple[str, str] | None = None
    fail: bool = False
    follow: bool = False
    verify: bool = True
    verbose: bool = False
    include: bool = False
    stream: bool = False
    max_time: float | None = None
    write_out: str | None = None
    discard_body: bool = False


_CURL_VALUE_SHORT = set("XdHumoAbewxrEKTFY")
_CURL_FLAG_SHORT = set("sSfvkLNIiGg#0123456q")
_CURL_LONG_VALUE = {
    "--request", "--data", "--data-raw", "--data-binary", "--data-ascii", "--data-urlencode",
    "--json", "--header", "--user", "--max-time", "--connect-timeout", "--output",
    "--user-agent", "--cookie", "--referer", "--write-out", "--url", "--retry",
    "--retry-delay", "--retry-max-time", "--proxy", "--cacert", "--cert", "--key",
    "--resolve", "--form", "--upload-file", "--config", "--range", "--limit-rate",
}  # fmt: skip


def _scheme(url: str) -> str:
    return url if "://" in url else "http://" + url


def _split_long(word: str) -> tuple[str, str | None]:
    if word.startswith("--") and "=" in word:
        name, _, value = word.partition("=")
        return name, value
    return word, None


def parse_curl(argv: list[str]) -> HttpRequest:
    """``curl`` options → request; raises Unsupported for files, proxies and uploads."""
    req = HttpRequest()
    data: list[str] = []
    get_mode = head = False
    explicit_method: str | None = None
    json_body = False
    i = 1
    args = argv

    def take() -> str:
        nonlocal i
        i += 1
        if i >= len(args):
            raise Unsupported(f"curl option {args[i - 1]} needs a value")
        return args[i]

    opts: list[tuple[str, str | None]] = []
    while i < len(args):
        word = args[i]
        if word == "--":
            opts.extend(("", w) for w in args[i + 1 :])
            break
        if word.startswith("--"):
            name, value = _split_long(word)
            if name in _CURL_LONG_VALUE and value is None:
                value = take()
            opts.append((name, value))
        elif word.startswith("-") and len(word) > 1:
            j = 1
            while j < len(word):
                ch = word[j]
                if ch in _CURL_VALUE_SHORT:
                    rest = word[j + 1 :]
                    opts.append(("-" + ch, rest if rest else take()))
                    break
                if ch not in _CURL_FLAG_SHORT:
                    raise Unsupported(f"curl option -{ch} is not supported; run this step by hand")
                opts.append(("-" + ch, None))
                j += 1
        else:
            opts.append(("", word))
        i += 1

    for name, value in opts:
        v = value or ""
        if name == "":
            req.url = req.url or v
        elif name == "--url":
            req.url = v
        elif name in ("-X", "--request"):
            explicit_method = v.upper()
        elif name in ("-d", "--data", "--data-raw", "--data-binary", "--data-ascii"):
            if v.startswith("@") and name != "--data-raw":
                raise Unsupported(
                    "curl reads the request body from a file (-d @file); run it by hand"
                )
            data.append(v)
        elif name == "--data-urlencode":
            key, sep, val = v.partition("=")
            data.append(urlencode({key: val}) if sep else urlencode({"": v})[1:])
        elif name == "--json":
            data.append(v)
            json_body = True
        elif name in ("-H", "--header"):
            key, _, val = v.partition(":")
            req.headers.append((key.strip(), val.strip()))
        elif name in ("-u", "--user"):
            user, _, password = v.partition(":")
            req.auth = (user, password)
        elif name in ("-A", "--user-agent"):
            req.headers.append(("User-Agent", v))
        elif name in ("-e", "--referer"):
            req.headers.append(("Referer", v))
        elif name in ("-b", "--cookie"):
            if "=" not in v:
                raise Unsupported("curl reads cookies from a file (-b file); run it by hand")
            req.headers.append(("Cookie", v))
        elif name in ("-f", "--fail", "--fail-with-body"):
            req.fail = True
        elif name in ("-L", "--location"):
            req.follow = True
        elif name in ("-k", "--insecure"):
            req.verify = False
        elif name in ("-v", "--verbose"):
            req.verbose = True
        elif name in ("-i", "--include"):
            req.include = True
        elif name in ("-N", "--no-buffer"):
            req.stream = True
        elif name in ("-I", "--head"):
            head = True
        elif name in ("-G", "--get"):
            get_mode = True
        elif name in ("-m", "--max-time"):
            req.max_time = float(v)
        elif name in ("-o", "--output"):
            if v != "/dev/null":
                raise Unsupported("curl writes to a file (-o FILE); run this step by hand")
            req.discard_body = True
        elif name in ("-w", "--write-out"):
            req.write_out = v
        elif name in ("-x", "--proxy", "-F", "--form", "-T", "--upload-file", "-K", "--config"):
            raise Unsupported(f"curl {name} is not supported by opsbook; run this step by hand")
        # -s -S --compressed --retry … change nothing we show
    if not req.url:
        raise Unsupported("curl has no URL")
    req.url = _scheme(req.url)
    if json_body:
        req.headers.append(("Content-Type", "application/json"))
        req.headers.append(("Accept", "application/json"))
    body = "&".join(data) if data else None
    if body is not None and get_mode:
        req.url += ("&" if "?" in req.url else "?") + body
        body = None
    if body is not None:
        req.body = body.encode()
        if not any(k.lower() == "content-type" for k, _ in req.headers):
            req.headers.append(("Content-Type", "application/x-www-form-urlencoded"))
    req.method = explicit_method or ("HEAD" if head else "POST" if body is not None else "GET")
    return req


def parse_wget(argv: list[str]) -> HttpRequest:
    """``wget -qO- URL`` and friends → request; writing to a file is refused."""
    req = HttpRequest(follow=True)
    i = 1
    to_stdout = False
    while i < len(argv):
        word = argv[i]
        name, value = _split_long(word)
        if name in ("-O", "--output-document") or word.startswith("-O") or word.startswith("-qO"):
            if value is None:
                value = word.split("O", 1)[1] if not word.startswith("--") else None
                if not value:
                    i += 1
                    value = argv[i] if i < len(argv) else ""
            if value not in ("-", "/dev/null"):
                raise Unsupported("wget writes to a file (-O FILE); run this step by hand")
            to_stdout = value == "-"
            req.discard_body = value == "/dev/null"
        elif name == "--header":
            value = value if value is not None else argv[(i := i + 1)]
            key, _, val = value.partition(":")
            req.headers.append((key.strip(), val.strip()))
        elif name in ("--post-data", "--body-data"):
            value = value if value is not None else argv[(i := i + 1)]
            req.body = value.encode()
            req.method = "POST" if req.method == "GET" else req.method
        elif name == "--method":
            req.method = (value if value is not None else argv[(i := i + 1)]).upper()
        elif name in ("-T", "--timeout"):
            req.max_time = float(value if value is not None else argv[(i := i + 1)])
        elif name == "--no-check-certificate":
            req.verify = False
        elif name == "--spider":
            req.method = "HEAD"
        elif word.startswith("-"):
            pass  # -q, -S, --quiet …
        else:
            req.url = word
        i += 1
    if not req.url:
        raise Unsupported("wget has no URL")
    if not to_stdout and not req.discard_body and req.method != "HEAD":
        raise Unsupported("wget without -O- saves to a file; use `wget -qO- URL` or curl")
    req.url = _scheme(req.url)
    return req


_HTTPIE_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}


def parse_httpie(argv: list[str]) -> HttpRequest:
    """HTTPie ``http [METHOD] URL [Header:v] [k=v] [k:=json] [q==v]`` → request."""
    req = HttpRequest(fail=False)
    positional: list[str] = []
    form = False
    i = 1
    while i < len(argv):
        word = argv[i]
        name, value = _split_long(word)
        if name in ("--follow", "-F"):
            req.follow = True
        elif name in ("-f", "--form"):
            form = True
        elif name == "--verify":
            req.verify = (value or "yes").lower() not in ("no", "false")
        elif name == "--timeout":
            req.max_time = float(value if value is not None else argv[(i := i + 1)])
        elif name in ("-a", "--auth"):
            value = value if value is not None else argv[(i := i + 1)]
            user, _, password = value.partition(":")
            req.auth = (user, password)
        elif name == "--check-status":
            req.fail = True
        elif name in ("-v", "--verbose"):
            req.verbose = True
        elif name == "--stream" or name == "-S":
            req.stream = True
        elif word.startswith("-"):
            pass
        else:
            positional.append(word)
        i += 1
    if positional and positional[0].upper() in _HTTPIE_METHODS:
        req.method = positional.pop(0).upper()
    if not positional:
        raise Unsupported("http (HTTPie) has no URL")
    url = positional.pop(0)
    if url.startswith(":"):
        url = "localhost" + url
    req.url = _scheme(url) if argv[0] != "https" or "://" in url else "https://" + url
    fields: dict[str, object] = {}
    query: list[tuple[str, str]] = []
    for item in positional:
        for sep in ("==", ":=", "=", ":"):
            if sep in item:
                key, _, val = item.partition(sep)
                if sep == "==":
                    query.append((key, val))
                elif sep == ":=":
                    fields[key] = json.loads(val)
                elif sep == "=":
                    fields[key] = val
                else:
                    req.headers.append((key, val))
                break
    if query:
        req.url += ("&" if "?" in req.url else "?") + urlencode(query)
    if fields:
        if form:
            req.body = urlencode({k: str(v) for k, v in fields.items()}).encode()
            req.headers.append(("Content-Type", "application/x-www-form-urlencoded"))
        else:
            req.body = json.dumps(fields).encode()
            req.headers.append(("Content-Type", "application/json"))
        if req.method == "GET" and not any(p.upper() == "GET" for p in argv[1:2]):
            req.method = "POST"
    return req


def parse_http_command(argv: list[str]) -> HttpRequest:
    """Dispatch on the program name: curl, wget, http/https (HTTPie)."""
    program = argv[0].rsplit("/", 1)[-1] if argv else ""
    if program == "curl":
        return parse_curl(argv)
    if program == "wget":
        return parse_wget(argv)
    if program in ("http", "https", "xh"):
        return parse_httpie(argv)
    raise Unsupported(f"{program or 'this command'} is not an HTTP client opsbook can translate")

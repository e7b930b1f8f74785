"""Contact URLs without their secrets, for logs, timelines and delivery details.

Contact URLs carry credentials (``mailtos://user:password@host``, ``slack://TokenA/TokenB/C``,
``json://host/hook?token=…``). :func:`mask_url` keeps what helps a person recognise the
contact (scheme, user, a host name) and hides the rest; :func:`scrub` removes every secret
piece of a URL from free text such as a library's log output (DESIGN §6.7).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, unquote

MASK = "***"
_HOSTNAME = re.compile(r"^(localhost|[\w-]+(\.[\w-]+)+|\[[0-9a-fA-F:.]+\])$")


def _parts(url: str) -> tuple[str, str, str, str, str, str]:
    """(scheme, user, password, host, path, query) of an Apprise-style URL."""
    scheme, _, rest = url.partition("://")
    netloc, _, tail = rest.partition("/")
    path, _, query = tail.partition("?")
    if "?" in netloc:
        netloc, _, query = netloc.partition("?")
    userinfo, at, host = netloc.rpartition("@")
    user, _, password = userinfo.partition(":") if at else ("", "", "")
    return scheme, user, password, host, path, query


def _safe_host(host: str) -> bool:
    return bool(_HOSTNAME.match(host.rsplit(":", 1)[0] if host.count(":") == 1 else host))


def mask_url(url: str) -> str:
    """``json://u:pw@hooks.example.com/abc?token=x`` → ``json://u:***@hooks.example.com/***?***``."""
    if "://" not in url:
        return MASK
    scheme, user, password, host, path, query = _parts(url)
    out = f"{scheme}://"
    if user:
        out += user + (f":{MASK}" if password else "") + "@"
    out += host if _safe_host(host) else MASK
    if path:
        out += "/" + MASK
    if query:
        out += "?" + MASK
    return out


def secret_parts(url: str) -> list[str]:
    """The pieces of ``url`` that may be secrets, longest first (for :func:`scrub`)."""
    if "://" not in url:
        return [url] if url else []
    _, user, password, host, path, query = _parts(url)
    pieces = {password, unquote(password)}
    if not _safe_host(host):
        pieces |= {host, user}
    for segment in path.split("/"):
        pieces |= {segment, unquote(segment)}
    try:
        pieces |= {v for _, v in parse_qsl(query, keep_blank_values=False)}
    except ValueError:
        pieces.add(query)
    return sorted((p for p in pieces if len(p) >= 4), key=len, reverse=True)


def scrub(text: str, url: str) -> str:
    """``text`` with ``url`` masked and every secret piece of it replaced by ``***``."""
    text = text.replace(url, mask_url(url))
    for piece in secret_parts(url):
        text = text.replace(piece, MASK)
    return text

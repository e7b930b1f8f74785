"""The guard of every connection a step makes (HTTP, PostgreSQL, Redis, graph, Prometheus).

Targets come from config only (DESIGN §6.9). The allow-list is built from the service's config
alone: ``execution.allowed_hosts`` (names, ``name:port``, IPs, CIDRs) plus the hosts named in
the config's variables and secrets; a request's variables never widen it. Then:

- cloud-metadata names and addresses are never called, whatever the config says;
- a host given by (or built with) a request variable is refused unless the config names it;
- when the allow-list is not empty, a host must be on it;
- loopback, private, link-local, unspecified, multicast, reserved and documentation ranges
  (IPv4 and IPv6, also inside IPv4-mapped, NAT64 and 6to4 addresses) are refused unless the
  config names that host or a CIDR holding the address.

Every notation is normalised first (octal ``0177.0.0.1``, hex ``0x7f.1``, decimal
``2130706433``, short ``127.1``, ``[::ffff:127.0.0.1]``, trailing dots, upper case,
percent-encoding, full-width digits) and judged; a malformed host is refused, never a crash.
DNS answers are judged one by one and the caller connects to the judged address.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
import socket
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import SplitResult, unquote, urlsplit

from opsbook.executors.models import ExecContext

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _nets(*rows: tuple[str, str]) -> tuple[tuple[IPNetwork, str], ...]:
    return tuple((ipaddress.ip_network(net), label) for net, label in rows)


_METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean …
        "169.254.170.2",  # AWS ECS task credentials
        "169.254.170.23",  # AWS EKS pod identity
        "fd00:ec2::254",  # AWS over IPv6
        "fd00:ec2::23",
        "100.100.100.200",  # Alibaba Cloud
        "168.63.129.16",  # Azure wire server
        "192.0.0.192",  # Oracle Cloud
    )
)
_METADATA_NAMES = frozenset(
    {
        "metadata.google.internal",
        "metadata.goog",
        "metadata",
        "instance-data",
        "instance-data.ec2.internal",
        "metadata.azure.internal",
        "metadata.tencentyun.com",
        "metadata.platformequinix.com",
    }
)
_V4_SPECIAL = _nets(
    ("0.0.0.0/8", "unspecified"),
    ("10.0.0.0/8", "private"),
    ("100.64.0.0/10", "shared (carrier-grade NAT)"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local"),
    ("172.16.0.0/12", "private"),
    ("192.0.0.0/24", "reserved"),
    ("192.0.2.0/24", "documentation"),
    ("192.88.99.0/24", "reserved"),
    ("192.168.0.0/16", "private"),
    ("198.18.0.0/15", "benchmarking"),
    ("198.51.100.0/24", "documentation"),
    ("203.0.113.0/24", "documentation"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved"),
)
_V6_SPECIAL = _nets(
    ("::/128", "unspecified"),
    ("::1/128", "loopback"),
    ("::/96", "reserved (IPv4-compatible)"),
    ("64:ff9b:1::/48", "private (local NAT64)"),
    ("100::/64", "reserved (discard)"),
    ("2001:db8::/32", "documentation"),
    ("2001::/23", "reserved (IETF protocols, Teredo)"),
    ("3fff::/20", "documentation"),
    ("fc00::/7", "private (unique local)"),
    ("fe80::/10", "link-local"),
    ("fec0::/10", "reserved (site-local)"),
    ("ff00::/8", "multicast"),
)
_GLOBAL_UNICAST = ipaddress.ip_network("2000::/3")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NUMBER = re.compile(r"(?:0x[0-9a-f]*|[0-9]+)")
_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")


class Refused(Exception):
    """The guard refuses this target; the message says why and how to allow it (when it can be)."""


@dataclass(frozen=True)
class Host:
    """A normalised host: ``name`` is the lower-case ASCII name, or the address as text."""

    name: str
    ip: IPAddress | None = None

    @property
    def for_url(self) -> str:
        return f"[{self.name}]" if isinstance(self.ip, ipaddress.IPv6Address) else self.name


def _ipv4_loose(name: str) -> ipaddress.IPv4Address | None:
    """inet_aton's reading of a numeric host (``0177.1``, ``0x7f000001``, ``127.1``), or None
    when the last label is not a number (a DNS name); Refused when it is numeric but invalid."""
    parts = name.split(".")
    if not _NUMBER.fullmatch(parts[-1]):
        return None
    bad = Refused(f"{name} is not a valid IPv4 address")
    if len(parts) > 4 or not all(_NUMBER.fullmatch(p) for p in parts):
        raise bad
    numbers = []
    for part in parts:
        if part.startswith("0x"):
            numbers.append(int(part[2:] or "0", 16))
        elif len(part) > 1 and part.startswith("0"):
            if not set(part) <= set("01234567"):
                raise bad
            numbers.append(int(part, 8))
        else:
            numbers.append(int(part))
    *head, last = numbers
    if any(n > 255 for n in head) or last >= 256 ** (5 - len(numbers)):
        raise bad
    value = last
    for i, n in enumerate(head):
        value += n << (8 * (3 - i))
    return ipaddress.IPv4Address(value)


def parse_host(raw: str) -> Host:
    """Normalise a host as written in a URL, a config value or a client option; Refused when it
    is neither a DNS name nor an address in any notation."""
    text = raw.strip()
    if "%" in text and not text.startswith("["):
        text = unquote(text)
    if text.startswith("[") or (":" in text and not text.startswith("[")):
        inner = text[1:-1] if text.startswith("[") and text.endswith("]") else text
        try:
            v6 = ipaddress.IPv6Address(unquote(inner).split("%", 1)[0])
        except ValueError:
            raise Refused(f"{raw!r} is not a valid IPv6 address") from None
        return Host(str(v6), v6)
    text = unicodedata.normalize("NFKC", text).lower()
    text = text[:-1] if text.endswith(".") else text
    if not text:
        raise Refused("the host is empty")
    if not text.isascii():
        try:
            text = text.encode("idna").decode("ascii")
        except UnicodeError:
            raise Refused(f"{raw!r} is not a valid host name") from None
    v4 = _ipv4_loose(text)
    if v4 is not None:
        return Host(str(v4), v4)
    if len(text) > 253 or not all(_LABEL.fullmatch(label) for label in text.split(".")):
        raise Refused(f"{raw!r} is not a valid host name")
    return Host(text)


def embedded_ipv4(addr: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address inside an IPv4-mapped, NAT64 or 6to4 IPv6 address."""
    if isinstance(addr, ipaddress.IPv4Address):
        return None
    if addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    if addr in _NAT64:
        return ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
    return addr.sixtofour


def is_metadata(addr: IPAddress) -> bool:
    inner = embedded_ipv4(addr)
    return addr in _METADATA or (inner is not None and inner in _METADATA)


def special(addr: IPAddress) -> str | None:
    """What kind of non-public address this is (``loopback``, ``private`` …), or None."""
    inner = embedded_ipv4(addr)
    if inner is not None:
        return special(inner)
    table = _V4_SPECIAL if isinstance(addr, ipaddress.IPv4Address) else _V6_SPECIAL
    for net, label in table:
        if addr in net:
            return label
    if isinstance(addr, ipaddress.IPv4Address):
        return "broadcast" if int(addr) == 0xFFFFFFFF else None
    return None if addr in _GLOBAL_UNICAST else "reserved (unallocated)"


@dataclass(frozen=True)
class AllowList:
    """What the service's config names: hosts (with or without a port) and networks."""

    names: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.names and not self.networks

    def names_host(self, host: Host, port: int | None) -> bool:
        if host.name in self.names or (port is not None and f"{host.name}:{port}" in self.names):
            return True
        return host.ip is not None and self.covers(host.ip)

    def covers(self, addr: IPAddress) -> bool:
        inner = embedded_ipv4(addr)
        return any(addr in net or (inner is not None and inner in net) for net in self.networks)


def _split_hostport(text: str) -> tuple[str, int | None]:
    """``host``, ``host:port``, ``[v6]:port`` or a bare IPv6 address."""
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise Refused(f"{text!r}: unclosed [ in the host")
        host, rest = text[: end + 1], text[end + 1 :]
    elif text.count(":") > 1:
        return text, None
    else:
        host, sep, port_text = text.partition(":")
        rest = sep + port_text
    if not rest or rest == ":":
        return host, None
    if not rest.startswith(":") or not rest[1:].isdigit() or not 0 < int(rest[1:]) < 65536:
        raise Refused(f"{text!r}: invalid port")
    return host, int(rest[1:])


def _entry(text: str, names: set[str], networks: list[IPNetwork]) -> None:
    """Add one ``allowed_hosts`` entry: a CIDR, an address, ``name`` or ``name:port``."""
    text = text.strip()
    if "/" in text:
        with contextlib.suppress(ValueError):
            networks.append(ipaddress.ip_network(text.strip("[]"), strict=False))
        return
    try:
        raw, port = _split_hostport(text)
        host = parse_host(raw)
    except Refused:
        return
    names.add(host.name if port is None else f"{host.name}:{port}")
    if host.ip is not None and port is None:
        networks.append(ipaddress.ip_network(host.ip))


def entry_problem(text: str) -> str | None:
    """Why an ``execution.allowed_hosts`` entry cannot be read (for config validation), or None."""
    entry = text.strip()
    if "/" in entry:
        try:
            ipaddress.ip_network(entry.strip("[]"), strict=False)
        except ValueError:
            return f"{text!r} is not a CIDR (for example 10.0.0.0/8 or fd00::/8)"
        return None
    try:
        raw, _ = _split_hostport(entry)
        parse_host(raw)
    except Refused as exc:
        return f"{text!r} is not a host, host:port, address or CIDR: {exc}"
    return None


_HOSTPORT = re.compile(r"^\[?([^\s/@\[\]]+?)\]?(?::\d+)?$")


def hosts_in(values: Iterable[str]) -> set[str]:
    """Normalised host names found in values: URLs (``redis://h:6379/0``) and ``host[:port]``."""
    hosts: set[str] = set()
    for value in values:
        for token in re.split(r"[\s,;]+", value.strip()):
            candidate: str | None = None
            if "://" in token:
                try:
                    candidate = _split_hostport(urlsplit(token).netloc.rpartition("@")[2])[0]
                except (ValueError, Refused):
                    continue
            else:
                m = _HOSTPORT.match(token)
                if m and ("." in m.group(1) or m.group(1) == "localhost" or ":" in token):
                    candidate = m.group(1) if not token.startswith("[") else f"[{m.group(1)}]"
            if not candidate:
                continue
            try:
                hosts.add(parse_host(candidate).name)
            except Refused:
                continue
    return hosts


def allow_list(ctx: ExecContext) -> AllowList:
    """The allow-list in force, from the config only: ``ctx.allowed_hosts`` plus the hosts in
    the config's variables and secrets (never in a request's variables)."""
    names: set[str] = set()
    networks: list[IPNetwork] = []
    for entry in ctx.allowed_hosts:
        _entry(entry, names, networks)
    for name in hosts_in(ctx.config_values()):
        _entry(name, names, networks)
    return AllowList(frozenset(names), tuple(networks))


def _resolve(host: Host, port: int) -> list[IPAddress]:
    if host.ip is not None:
        return [host.ip]
    try:
        infos = socket.getaddrinfo(host.name, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise LookupError(f"cannot resolve {host.name}: {getattr(exc, 'strerror', exc)}") from None
    out: list[IPAddress] = []
    for info in infos:
        try:
            addr = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        except ValueError:
            continue
        if addr not in out:
            out.append(addr)
    if not out:
        raise LookupError(f"cannot resolve {host.name}")
    return out


def _allow_hint(host: Host, port: int | None) -> str:
    shown = host.name if port is None else f"{host.for_url}:{port}"
    return f"name it in the service's execution.allowed_hosts (for example {shown!r}, or a CIDR)"


def judge(
    raw_host: str,
    port: int,
    ctx: ExecContext,
    *,
    given: Sequence[str] = (),
    what: str = "the host",
) -> tuple[Host, list[str]]:
    """Judge one target; returns the normalised host and the addresses to connect to (in
    order, every one judged), or raises Refused (LookupError when the name does not resolve).

    ``given`` names the request variables the host was built with, if any.
    """
    host = parse_host(raw_host)
    if host.name in _METADATA_NAMES or host.name.endswith(".metadata.google.internal"):
        raise Refused(f"{host.name} is a cloud-metadata host; opsbook never calls it")
    if host.ip is not None and is_metadata(host.ip):
        raise Refused(f"{host.name}: a cloud-metadata address; opsbook never calls it")
    allow = allow_list(ctx)
    named = allow.names_host(host, port)
    if given and not named:
        raise Refused(
            f"{what} a step connects to comes from the service's config; "
            f"{', '.join(dict.fromkeys(given))} was given in the request"
        )
    outside = not allow.networks if host.ip is None else not allow.covers(host.ip)
    if not named and not allow.empty and outside:
        kind = special(host.ip) if host.ip is not None else None
        raise Refused(
            f"host {host.name}{f' (a {kind} address)' if kind else ''} is not allowed for this "
            f"service: {_allow_hint(host, port)}, or use it in the service's variables, then run "
            "the step again"
        )
    try:
        addresses = _resolve(host, port)
    except LookupError:
        if named or allow.empty:
            raise
        raise Refused(  # unlisted and unresolvable: refused, whatever DNS may answer later
            f"host {host.name} is not allowed for this service: {_allow_hint(host, port)}"
        ) from None
    shown: list[str] = []
    for addr in addresses:
        via = "" if host.ip is not None else f"{host.name} resolves to "
        if is_metadata(addr):
            raise Refused(f"{via}{addr}: a cloud-metadata address; opsbook never calls it")
        covered = named or allow.covers(addr)
        if not covered and not allow.empty:
            raise Refused(
                f"host {host.name} is not allowed for this service: {_allow_hint(host, port)}"
            )
        kind = special(addr)
        if kind is not None and not covered and not ctx.allow_private_hosts:
            raise Refused(
                f"{via}{addr}: a {kind} address, refused unless the config names it; "
                f"{_allow_hint(host, port)}"
            )
        mapped = addr.ipv4_mapped if isinstance(addr, ipaddress.IPv6Address) else None
        text = str(mapped or addr)
        if text not in shown:
            shown.append(text)
    return host, shown


@dataclass(frozen=True)
class CheckedURL:
    """A judged http(s) URL: ``url`` rebuilt with the normalised host, and where to connect."""

    url: str
    host: Host
    port: int
    addresses: list[str]


def split_url(url: str) -> tuple[SplitResult, str, int | None]:
    """``urlsplit`` plus the raw host and port of its authority; Refused when malformed."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise Refused(f"invalid URL {url!r}: {exc}") from None
    raw, port = _split_hostport(parts.netloc.rpartition("@")[2])
    return parts, raw, port


def check_url(url: str, ctx: ExecContext, *, given: Sequence[str] = ()) -> CheckedURL:
    """Judge an http(s) URL (scheme, host in any notation, allow-list, every DNS answer)."""
    parts, raw, explicit = split_url(url)
    if parts.scheme not in ("http", "https"):
        raise Refused(f"only http and https URLs are called, not {parts.scheme or 'no scheme'}://")
    if not raw:
        raise Refused(f"the URL {url!r} has no host")
    port = explicit or (443 if parts.scheme == "https" else 80)
    host, addresses = judge(raw, port, ctx, given=given, what="the host")
    userinfo, at, _ = parts.netloc.rpartition("@")
    netloc = f"{userinfo}{at}{host.for_url}" + (f":{port}" if explicit else "")
    rebuilt = parts._replace(netloc=netloc).geturl()
    return CheckedURL(rebuilt, host, port, addresses)


def url_host(url: str) -> tuple[str, int | None]:
    """The raw host and port of a URL's authority (``redis://:pw@h:6379/0`` → ``h``, 6379)."""
    _, raw, port = split_url(url)
    return raw, port


def with_host(url: str, address: str) -> str:
    """``url`` with its host replaced by ``address`` (to connect to the judged address)."""
    parts, _, port = split_url(url)
    userinfo, at, _ = parts.netloc.rpartition("@")
    host = f"[{address}]" if ":" in address else address
    return parts._replace(netloc=f"{userinfo}{at}{host}" + (f":{port}" if port else "")).geturl()


def resolve_checked(host: str, port: int, ctx: ExecContext) -> list[str]:
    """Resolve ``host`` and judge every address it has; returns the addresses to try, in order."""
    return judge(host, port, ctx)[1]

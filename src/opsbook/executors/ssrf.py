"""The http executor's guard: never link-local or cloud metadata addresses (before and after DNS,
on every redirect), and only the hosts a service names when an allow-list applies."""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

from opsbook.executors.models import ExecContext

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_BLOCKED_NETS = [
    ipaddress.ip_network(n)
    for n in (
        "169.254.0.0/16",  # IPv4 link-local: AWS/GCP/Azure/OpenStack metadata 169.254.169.254
        "fe80::/10",  # IPv6 link-local
        "fd00:ec2::254/128",  # AWS metadata over IPv6
        "100.100.100.200/32",  # Alibaba Cloud metadata
        "0.0.0.0/8",  # "this host": reaches local services by the back door
        "::/128",
        "224.0.0.0/4",  # multicast
        "ff00::/8",
        "255.255.255.255/32",
    )
]
_BLOCKED_NAMES = {
    "metadata.google.internal",
    "metadata.goog",
    "metadata",
    "instance-data",
    "instance-data.ec2.internal",
    "metadata.azure.internal",
    "metadata.tencentyun.com",
    "metadata.platformequinix.com",
}
_HOSTPORT = re.compile(r"^\[?([A-Za-z0-9_.\-:]+?)\]?(?::\d+)?$")


class Refused(Exception):
    """The guard refuses this URL; the message says why and how to allow it (when it can be)."""


def _ip(host: str) -> IPAddress | None:
    try:
        addr = ipaddress.ip_address(host.strip("[]").split("%")[0])
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


def address_refusal(addr: IPAddress, *, allow_private: bool) -> str | None:
    """Why an address may not be contacted, or None."""
    if any(addr in net for net in _BLOCKED_NETS):
        return f"{addr} is a link-local or cloud-metadata address; opsbook never calls it"
    if not allow_private and (addr.is_private or addr.is_loopback):
        return f"{addr} is a private or loopback address and private hosts are not allowed here"
    return None


def hosts_in(values: Iterable[str]) -> set[str]:
    """Host names found in variable values: URLs (``redis://h:6379/0``) and ``host[:port]``."""
    hosts: set[str] = set()
    for value in values:
        for token in re.split(r"[\s,;]+", value.strip()):
            if "://" in token:
                try:
                    host = urlsplit(token).hostname
                except ValueError:
                    continue
                if host:
                    hosts.add(host.lower())
            else:
                m = _HOSTPORT.match(token)
                if m and ("." in m.group(1) or m.group(1) == "localhost" or _ip(m.group(1))):
                    hosts.add(m.group(1).lower())
    return hosts


def allowed_hosts(ctx: ExecContext) -> set[str]:
    """The allow-list in force: ``ctx.allowed_hosts`` or, when empty, hosts in the variables
    and secrets. Empty means no allow-list (only the metadata guard applies)."""
    if ctx.allowed_hosts:
        return {h.lower().strip("[]") for h in ctx.allowed_hosts}
    return hosts_in([*ctx.variables.values(), *ctx.secret_values()])


def check_url(url: str, ctx: ExecContext) -> tuple[str, int]:
    """Check scheme, name, literal address and allow-list; returns (host, port) or raises."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise Refused(f"invalid URL {url!r}: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise Refused(f"only http and https URLs are called, not {parts.scheme or 'no scheme'}://")
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        raise Refused(f"the URL {url!r} has no host")
    port = port or (443 if parts.scheme == "https" else 80)
    if host in _BLOCKED_NAMES or host.endswith(".metadata.google.internal"):
        raise Refused(f"{host} is a cloud-metadata host; opsbook never calls it")
    addr = _ip(host)
    if addr is not None:
        why = address_refusal(addr, allow_private=ctx.allow_private_hosts)
        if why:
            raise Refused(why)
    allowed = allowed_hosts(ctx)
    if allowed and host not in allowed and f"{host}:{port}" not in allowed:
        raise Refused(
            f"host {host} is not allowed for this service: add it to the service's variables "
            f"(for example API_BASE: {parts.scheme}://{host}{'' if parts.port is None else f':{port}'}) "
            "or to its allowed hosts, then run the step again"
        )
    return host, port


def resolve_checked(host: str, port: int, ctx: ExecContext) -> list[str]:
    """Resolve ``host`` and check every address it has; returns the addresses to try, in order."""
    addr = _ip(host)
    if addr is not None:
        return [str(addr)]
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise LookupError(f"cannot resolve {host}: {exc.strerror}") from None
    addresses: list[str] = []
    for info in infos:
        ip = _ip(str(info[4][0]))
        if ip is None:
            continue
        why = address_refusal(ip, allow_private=ctx.allow_private_hosts)
        if why:
            raise Refused(f"{host} resolves to {why}")
        if str(ip) not in addresses:
            addresses.append(str(ip))
    if not addresses:
        raise LookupError(f"cannot resolve {host}")
    return addresses

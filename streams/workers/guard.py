"""The SSRF guard: HTTP steps may not reach the engine's own network unless allowed.

A workflow author controls the URL of an HTTP step, so without a guard a step could read cloud
metadata (instance credentials) or internal services from inside the worker. Every address a
host name resolves to is checked, at connect time: `streams.workers.pinning` resolves the name
once, checks every address and connects to a checked one, so a name that re-resolves to an
internal address between check and connect (DNS rebinding) gets nowhere.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from urllib.parse import SplitResult, urlsplit

__all__ = ["Blocked", "IpAddress", "Resolver", "UrlGuard", "check_scheme", "resolve"]

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int | None], Awaitable[list[IpAddress]]]

# Cloud metadata endpoints that are not in a private or link-local range.
_METADATA = frozenset({
    ipaddress.ip_address("168.63.129.16"),   # Azure wire server
    ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
})


class Blocked(Exception):
    """The URL may not be requested (scheme, or an address the guard refuses)."""


class UrlGuard:
    """Refuses URLs that resolve to loopback, private, link-local, metadata or other
    non-public addresses, unless an address or network is allow-listed.

    Args:
        allow: Addresses or networks (CIDR) that may be reached anyway, e.g. ``"127.0.0.1"``
            in tests or ``"10.1.0.0/16"`` for an internal API a deployment trusts.
    """

    def __init__(self, allow: Iterable[str] = (), resolver: Resolver | None = None) -> None:
        self._allow: tuple[IpNetwork, ...] = tuple(
            ipaddress.ip_network(a, strict=False) for a in allow)
        self._resolve = resolver or resolve

    async def addresses(self, host: str, port: int | None) -> list[IpAddress]:
        """Resolve `host` once and return its addresses, all of which the guard accepts.

        Raises:
            Blocked: It does not resolve, or one of its addresses is refused.
        """
        found = await self._resolve(host, port)
        for address in found:
            if self.refuses(address):
                raise Blocked(f"{host} resolves to {address}, which is not allowed")
        return found

    def refuses(self, address: IpAddress) -> bool:
        """Whether the guard refuses one resolved address."""
        if any(address in network for network in self._allow):
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            return self.refuses(address.ipv4_mapped)
        return (address in _METADATA or not address.is_global or address.is_multicast
                or address.is_loopback or address.is_link_local or address.is_private
                or address.is_reserved or address.is_unspecified)

    async def check(self, url: str) -> None:
        """Return if `url` may be requested.

        Raises:
            Blocked: The scheme is not http(s), the host does not resolve, or it resolves to
                an address the guard refuses.
        """
        parts = check_scheme(url)
        assert parts.hostname is not None
        await self.addresses(parts.hostname, parts.port)


def check_scheme(url: str) -> SplitResult:
    """The parts of `url` if it is http(s) with a host.

    Raises:
        Blocked: Another scheme, or no host.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Blocked(f"only http and https URLs with a host may be requested: {url!r}")
    return parts


async def resolve(host: str, port: int | None) -> list[IpAddress]:
    """The addresses of `host` (itself if it is an address literal).

    Raises:
        Blocked: The name does not resolve.
    """
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port or 443, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise Blocked(f"{host} does not resolve: {exc}") from None
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]

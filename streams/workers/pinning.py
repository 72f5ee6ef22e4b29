"""An HTTP client whose every connection goes to an address the SSRF guard checked.

Checking a URL's host and then letting the HTTP library resolve it again leaves a window: a
name under an attacker's control can answer the check with a public address and the connect
with `169.254.169.254` (DNS rebinding). Here the connection itself resolves the name once,
checks every address and connects to a checked address; TLS still verifies the certificate
against the name (httpcore passes the origin's host as the server name, not the address).
Redirect targets open new connections, so they are checked the same way.
"""

from __future__ import annotations

from collections.abc import Iterable

import httpcore
import httpx
from httpcore import SOCKET_OPTION, AnyIOBackend, AsyncNetworkBackend, AsyncNetworkStream

from streams.workers.guard import UrlGuard

__all__ = ["GuardedBackend", "guarded_client"]


class GuardedBackend(AsyncNetworkBackend):
    """Opens TCP connections only to addresses `guard` accepts, resolving each name once."""

    def __init__(self, guard: UrlGuard, inner: AsyncNetworkBackend | None = None) -> None:
        self._guard = guard
        self._inner = inner or AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[SOCKET_OPTION] | None = None,
                          ) -> AsyncNetworkStream:
        addresses = await self._guard.addresses(host, port)
        failure: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(address), port, timeout=timeout, local_address=local_address,
                    socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc  # the next address of the name may answer
        assert failure is not None  # `addresses` raises rather than return nothing
        raise failure

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable[SOCKET_OPTION] | None = None,
                                  ) -> AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not reachable from HTTP steps")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _GuardedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, guard: UrlGuard, limits: httpx.Limits) -> None:
        super().__init__(limits=limits, trust_env=False)
        # httpx builds its pool without a way to pass a network backend; the pool it built is
        # replaced by the same pool with the guarded backend (httpx 0.28's `_pool` attribute).
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(guard))


def guarded_client(guard: UrlGuard, max_connections: int = 200) -> httpx.AsyncClient:
    """An `httpx.AsyncClient` for HTTP steps: guarded connections, no proxies from the
    environment (a proxy would connect on our behalf, past the guard), redirects left to the
    caller (it decides which headers may follow to another origin)."""
    limits = httpx.Limits(max_connections=max_connections,
                          max_keepalive_connections=max_connections // 4)
    return httpx.AsyncClient(transport=_GuardedTransport(guard, limits), trust_env=False,
                             follow_redirects=False)

"""The SSRF guard refuses the engine's own network unless allow-listed, also via redirects."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st

from schemas.tasks import TaskRequested
from streams.workers import ActionContext, Blocked, TaskError, UrlGuard, run_action

REFUSED = ["127.0.0.1", "10.0.0.5", "172.16.3.4", "192.168.1.1", "169.254.169.254",
           "100.100.100.200", "168.63.129.16", "0.0.0.0", "::1", "fd00:ec2::254", "fe80::1",
           "::ffff:127.0.0.1", "224.0.0.1"]


@pytest.mark.parametrize("address", REFUSED)
async def test_internal_and_metadata_addresses_are_refused(address: str) -> None:
    host = f"[{address}]" if ":" in address else address
    with pytest.raises(Blocked):
        await UrlGuard().check(f"http://{host}/latest/meta-data/")


async def test_public_addresses_pass_and_allow_lists_open_a_network() -> None:
    await UrlGuard().check("https://93.184.216.34/")
    await UrlGuard(["10.1.0.0/16"]).check("http://10.1.2.3/")
    with pytest.raises(Blocked):
        await UrlGuard(["10.1.0.0/16"]).check("http://10.2.0.1/")


@pytest.mark.parametrize("url", ["file:///etc/passwd", "gopher://x/", "http:///nohost"])
async def test_only_http_urls_with_a_host(url: str) -> None:
    with pytest.raises(Blocked):
        await UrlGuard().check(url)


async def test_names_are_checked_by_what_they_resolve_to() -> None:
    with pytest.raises(Blocked):
        await UrlGuard().check("http://localhost:8080/")


@given(st.ip_addresses())
def test_the_guard_lets_through_only_global_unicast_addresses(address: object) -> None:
    assert isinstance(address, ipaddress.IPv4Address | ipaddress.IPv6Address)
    if UrlGuard().refuses(address) is False:
        assert address.is_global and not address.is_multicast and not address.is_private


def task(url: str) -> TaskRequested:
    return TaskRequested(execution_id="ex", seq=3, task_id="ex:t3", step_id="call",
                         task_type="http", params={"url": url}, idempotency_key="ex:t3",
                         requested_at=datetime.now(UTC))


@pytest.fixture
async def redirector() -> AsyncIterator[str]:
    async def to_metadata(request: web.Request) -> web.Response:
        raise web.HTTPFound("http://169.254.169.254/latest/meta-data/")

    async def to_self(request: web.Request) -> web.Response:
        raise web.HTTPFound("/ok")

    async def ok(request: web.Request) -> web.Response:
        return web.json_response({"key": request.headers.get("Idempotency-Key")})

    app = web.Application()
    app.router.add_get("/to-metadata", to_metadata)
    app.router.add_get("/to-self", to_self)
    app.router.add_get("/ok", ok)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
    await runner.cleanup()


async def _publish(_: object) -> None:
    raise AssertionError("not used")


async def test_a_redirect_to_a_refused_address_is_not_followed(redirector: str) -> None:
    async with httpx.AsyncClient() as client:
        ctx = ActionContext(client, UrlGuard(["127.0.0.1"]), _publish)
        with pytest.raises(TaskError) as refused:
            await run_action(task(f"{redirector}/to-metadata"), ctx)
        assert refused.value.code == "ssrf_blocked" and not refused.value.retryable
        followed = await run_action(task(f"{redirector}/to-self"), ctx)
        assert followed["status"] == 200 and followed["body"] == {"key": "ex:t3"}


async def test_loopback_is_refused_without_the_allow_list(redirector: str) -> None:
    async with httpx.AsyncClient() as client:
        with pytest.raises(TaskError) as refused:
            await run_action(task(f"{redirector}/ok"), ActionContext(client, UrlGuard(), _publish))
    assert refused.value.code == "ssrf_blocked"

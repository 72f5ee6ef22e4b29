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
from streams.workers.guard import IpAddress
from streams.workers.pinning import guarded_client
from tests.support import serving

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


def task(url: str, headers: dict[str, str] | None = None) -> TaskRequested:
    params: dict[str, object] = {"url": url, **({"headers": headers} if headers else {})}
    return TaskRequested(execution_id="ex", seq=3, task_id="ex:t3", step_id="call",
                         task_type="http", params=params, idempotency_key="ex:t3",
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
    async with serving(app) as base_url:
        yield base_url


async def _publish(_: object) -> None:
    raise AssertionError("not used")


async def test_a_redirect_to_a_refused_address_is_not_followed(redirector: str) -> None:
    guard = UrlGuard(["127.0.0.1"])
    async with guarded_client(guard) as client:
        ctx = ActionContext(client, guard, _publish)
        with pytest.raises(TaskError) as refused:
            await run_action(task(f"{redirector}/to-metadata"), ctx)
        assert refused.value.code == "ssrf_blocked" and not refused.value.retryable
        followed = await run_action(task(f"{redirector}/to-self"), ctx)
        assert followed["status"] == 200 and followed["body"] == {"key": "ex:t3"}


async def test_loopback_is_refused_without_the_allow_list(redirector: str) -> None:
    async with guarded_client(UrlGuard()) as client:
        with pytest.raises(TaskError) as refused:
            await run_action(task(f"{redirector}/ok"), ActionContext(client, UrlGuard(), _publish))
    assert refused.value.code == "ssrf_blocked"


class Rebinding:
    """A name server under an attacker's control: a public address for the first question,
    loopback for every later one (the classic DNS-rebinding answer)."""

    def __init__(self, first: str, then: str) -> None:
        self.asked, self._first, self._then = 0, first, then

    async def __call__(self, host: str, port: int | None) -> list[IpAddress]:
        self.asked += 1
        return [ipaddress.ip_address(self._first if self.asked == 1 else self._then)]


async def test_the_connection_goes_to_the_address_that_was_checked(redirector: str) -> None:
    port = httpx.URL(redirector).port
    # `rebind.test` exists only in this resolver: reaching the server proves the connection
    # used the guard's answer, and one question per request leaves no window to rebind.
    resolver = Rebinding("127.0.0.1", "10.9.9.9")
    guard = UrlGuard(["127.0.0.1"], resolver=resolver)
    async with guarded_client(guard) as client:
        answer = await run_action(task(f"http://rebind.test:{port}/ok"),
                                  ActionContext(client, guard, _publish))
    assert answer["status"] == 200 and resolver.asked == 1


async def test_a_name_that_resolves_inside_is_refused_at_connect_time(redirector: str) -> None:
    port = httpx.URL(redirector).port
    guard = UrlGuard(resolver=Rebinding("169.254.169.254", "169.254.169.254"))
    async with guarded_client(guard) as client:
        with pytest.raises(TaskError) as refused:
            await run_action(task(f"http://innocent.test:{port}/ok"),
                             ActionContext(client, guard, _publish))
    assert refused.value.code == "ssrf_blocked" and "169.254.169.254" in refused.value.message


@pytest.fixture
async def two_origins() -> AsyncIterator[tuple[str, str]]:
    """Origin A redirects to origin B (another port) and to itself; B and A echo headers."""
    async def echo(request: web.Request) -> web.Response:
        return web.json_response({k.lower(): v for k, v in request.headers.items()})

    async def away(request: web.Request) -> web.Response:
        raise web.HTTPFound(f"{sites[1]}/echo")

    async def home(request: web.Request) -> web.Response:
        raise web.HTTPFound("/echo")

    def app() -> web.Application:
        served = web.Application()
        served.router.add_get("/echo", echo)
        served.router.add_get("/away", away)
        served.router.add_get("/home", home)
        return served

    sites: list[str] = []
    async with serving(app()) as a, serving(app()) as b:
        sites += [a, b]
        yield a, b


async def test_credentials_do_not_follow_a_redirect_to_another_origin(
    two_origins: tuple[str, str],
) -> None:
    a, _ = two_origins
    guard = UrlGuard(["127.0.0.1"])
    headers = {"Authorization": "Bearer t", "Cookie": "s=1", "X-Trace": "7"}
    async with guarded_client(guard) as client:
        ctx = ActionContext(client, guard, _publish)
        away = await run_action(task(f"{a}/away", headers=headers), ctx)
        home = await run_action(task(f"{a}/home", headers=headers), ctx)
    assert "authorization" not in away["body"] and "cookie" not in away["body"]
    assert away["body"]["x-trace"] == "7" and away["body"]["idempotency-key"] == "ex:t3"
    assert home["body"]["authorization"] == "Bearer t" and home["body"]["cookie"] == "s=1"

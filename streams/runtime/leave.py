"""A static member that stops cleanly leaves its group at once (LeaveGroup v3, KIP-345).

Static membership (`group_instance_id`, `streams.runtime.membership`) lets a worker that was
killed and restarted in place come back as the same member inside its session: its own
partitions, no rebalance. The protocol's other side is that a static member never sends
LeaveGroup when it closes, so a worker stopped for good (scaled in, SIGTERM) would keep its
partitions idle until its session expires. headwater wants both: a stop hands the partitions
over at once, as a dynamic member's does; a crash does not cost a rebalance.

The classic protocol allows it: LeaveGroup v3 names the members to remove by
`group_instance_id` (what the admin API's RemoveMembersFromConsumerGroup sends). aiokafka
implements LeaveGroup only up to v1 and skips it for static members, so the request is defined
here on aiokafka's own protocol types and sent to the group's coordinator through the
consumer's client (private attributes: `_client`, `_coordinator`; pinned by the test of this
module against a real broker).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiokafka.client import ConnectionGroup
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import Array, Int16, Int32, Schema, String

__all__ = ["leave_as_static_member"]

log = logging.getLogger(__name__)


class LeaveGroupResponse_v3(Response):  # type: ignore[misc]  # aiokafka is untyped here
    API_KEY = 13
    API_VERSION = 3
    SCHEMA = Schema(("throttle_time_ms", Int32), ("error_code", Int16),
                    ("members", Array(("member_id", String("utf-8")),
                                      ("group_instance_id", String("utf-8")),
                                      ("error_code", Int16))))


class LeaveGroupRequest_v3(RequestStruct):  # type: ignore[misc]
    API_KEY = 13
    API_VERSION = 3
    RESPONSE_TYPE = LeaveGroupResponse_v3
    SCHEMA = Schema(("group", String("utf-8")),
                    ("members", Array(("member_id", String("utf-8")),
                                      ("group_instance_id", String("utf-8")))))


class StaticLeave(Request[LeaveGroupRequest_v3]):  # type: ignore[misc]
    API_KEY = 13

    def __init__(self, group: str, member_id: str, instance_id: str) -> None:
        self._group, self._member_id, self._instance_id = group, member_id, instance_id

    def build(self, request_struct_class: type[LeaveGroupRequest_v3]) -> LeaveGroupRequest_v3:
        return request_struct_class(self._group, [(self._member_id, self._instance_id)])


async def leave_as_static_member(consumer: Any, group: str, instance_id: str,
                                 timeout_s: float = 5.0) -> bool:
    """Remove `consumer`'s static member `instance_id` from `group` now; True when the
    coordinator did. Best effort: False (logged) when it could not, and the partitions then move
    when the session expires, as before."""
    coordinator = getattr(consumer, "_coordinator", None)
    node = getattr(coordinator, "coordinator_id", None)
    if coordinator is None or node is None:
        return False
    member_id = getattr(coordinator, "member_id", "") or ""
    try:
        response = await asyncio.wait_for(consumer._client.send(
            node, StaticLeave(group, member_id, instance_id),
            group=ConnectionGroup.COORDINATION), timeout_s)
    except Exception as exc:  # an old broker, a lost coordinator: the session expires instead
        log.info("%s: could not leave as static member %s (%s: %s)", group, instance_id,
                 type(exc).__name__, exc)
        return False
    errors = [response.error_code, *(member[2] for member in response.members)]
    if any(errors):
        log.info("%s: leaving as static member %s answered errors %s", group, instance_id,
                 errors)
        return False
    return True

"""How a worker belongs to its consumer groups: a stable identity (static membership) and a
session timeout the broker accepts.

A worker's identity lives in its data folder, next to the state stores it fills: a worker
restarted on the same folder rejoins as the same static member and gets back, without a
rebalance, the partitions whose state it already holds. Two workers never share a folder
(their RocksDB stores lock it), so two live workers never share an identity.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import replace
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from streams.runtime.config import LoopConfig

__all__ = ["fit_to_broker", "worker_identity"]

log = logging.getLogger(__name__)
IDENTITY_FILE = "instance-id"
_STOCK_MIN_SESSION_MS = 6000  # Kafka's defaults of group.min/max.session.timeout.ms
_STOCK_MAX_SESSION_MS = 1_800_000
_bounds: dict[str, tuple[int, int]] = {}  # bootstrap -> the broker's session timeout bounds


def worker_identity(data_dir: Path) -> str:
    """The worker's static-membership id, made once and kept in `data_dir`."""
    path = data_dir / IDENTITY_FILE
    if path.exists():
        found = path.read_text().strip()
        if found:
            return found
    data_dir.mkdir(parents=True, exist_ok=True)
    made = f"worker-{uuid.uuid4().hex[:12]}"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(made + "\n")
    tmp.replace(path)  # atomic: a crash leaves the old file or the new one, never half
    return made


async def fit_to_broker(config: LoopConfig, bootstrap: str) -> LoopConfig:
    """`config` with its session timeout inside the range the broker accepts.

    A broker refuses a join whose session timeout is outside `group.min.session.timeout.ms`
    .. `group.max.session.timeout.ms`; reading them (DescribeConfigs) lets a worker use a short
    timeout where the broker allows it and still start on a stock broker (minimum 6 s).
    Unreadable (no permission, an old broker): the stock minimum is assumed.
    """
    if bootstrap not in _bounds:  # read once per process: every loop of a worker asks
        _bounds[bootstrap] = await _session_bounds(config, bootstrap)
    low, high = _bounds[bootstrap]
    fitted = min(max(config.session_timeout_ms, low), high)
    if fitted == config.session_timeout_ms:
        return config
    log.info("session timeout %d ms is outside the broker's %d..%d ms: using %d ms",
             config.session_timeout_ms, low, high, fitted)
    return replace(config, session_timeout_ms=fitted,
                   heartbeat_interval_ms=min(config.heartbeat_interval_ms, fitted // 3))


async def _session_bounds(config: LoopConfig, bootstrap: str) -> tuple[int, int]:
    admin = AIOKafkaAdminClient(**config.admin(bootstrap))
    names = ("group.min.session.timeout.ms", "group.max.session.timeout.ms")
    try:
        await admin.start()
        cluster = await admin.describe_cluster()
        node = cluster["brokers"][0]["node_id"]  # any broker: the setting is cluster-wide
        responses = await admin.describe_configs([ConfigResource(
            ConfigResourceType.BROKER, str(node), configs=dict.fromkeys(names))])
        values: dict[str, str] = {}
        for response in responses:
            for error, message, _type, _name, entries in response.resources:
                if error:
                    raise RuntimeError(f"DescribeConfigs error {error}: {message}")
                values.update((entry[0], entry[1]) for entry in entries)
        return (int(values.get(names[0]) or _STOCK_MIN_SESSION_MS),
                int(values.get(names[1]) or _STOCK_MAX_SESSION_MS))
    except Exception as exc:  # any failure: assume the stock bounds
        log.info("could not read the broker's session timeout bounds (%s); assuming %d ms",
                 exc, _STOCK_MIN_SESSION_MS)
        return _STOCK_MIN_SESSION_MS, _STOCK_MAX_SESSION_MS
    finally:
        await admin.close()

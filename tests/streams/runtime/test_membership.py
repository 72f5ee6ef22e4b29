"""Group membership: a worker's static identity and a session timeout the broker accepts."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from streams.runtime import LoopConfig, fit_to_broker, worker_identity


def test_a_worker_keeps_its_identity_across_restarts_and_two_folders_differ(tmp_path: Path) -> None:
    first = worker_identity(tmp_path / "a")
    assert worker_identity(tmp_path / "a") == first  # a restart on the same folder
    assert worker_identity(tmp_path / "b") != first


def test_group_consumers_get_the_membership_settings_and_replay_readers_none() -> None:
    config = LoopConfig(group_instance_id="worker-1", session_timeout_ms=4000,
                        heartbeat_interval_ms=1000)
    group = config.consumer("b:9092", "app.processor")
    assert group["group_instance_id"] == "worker-1"
    assert (group["session_timeout_ms"], group["heartbeat_interval_ms"]) == (4000, 1000)
    assert "group_instance_id" not in config.consumer("b:9092", None)


@pytest.mark.kafka
async def test_the_session_timeout_is_raised_to_what_the_broker_accepts(kafka_bootstrap: str) -> None:
    # The test broker allows sessions from 1 s (infra.kafka); a stock broker from 6 s.
    default = LoopConfig()
    fitted = await fit_to_broker(default, kafka_bootstrap)
    assert fitted.session_timeout_ms >= default.session_timeout_ms
    too_short = await fit_to_broker(replace(default, session_timeout_ms=10), kafka_bootstrap)
    assert too_short.session_timeout_ms >= 1000
    assert too_short.heartbeat_interval_ms * 3 <= too_short.session_timeout_ms


async def test_an_unreachable_broker_leaves_the_stock_minimum() -> None:
    fitted = await fit_to_broker(LoopConfig(client_options={"request_timeout_ms": 1000},
                                            session_timeout_ms=3000), "127.0.0.1:1")
    assert fitted.session_timeout_ms == 6000


def test_operators_choose_static_membership_and_the_session_in_the_settings(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`HEADWATER_STATIC_MEMBERSHIP` and `HEADWATER_SESSION_TIMEOUT_MS` reach every group
    consumer of the worker; heartbeats go at a third of the session, at most every 3 s."""
    from pydantic import ValidationError

    from headwater.settings import Settings
    from streams.app import AppConfig

    monkeypatch.setenv("HEADWATER_STATIC_MEMBERSHIP", "false")
    monkeypatch.setenv("HEADWATER_SESSION_TIMEOUT_MS", "4500")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    app = AppConfig(app_id="a", bootstrap="b:9092", topics={"commands": "hw.commands"},
                    data_dir=tmp_path, static_membership=settings.static_membership,
                    session_timeout_ms=settings.session_timeout_ms)
    engine = app.engine()
    assert not engine.static_membership
    group = engine.loop.consumer("b:9092", "a.processor")
    assert (group["session_timeout_ms"], group["heartbeat_interval_ms"]) == (4500, 1500)
    defaults = AppConfig(app_id="a", bootstrap="b:9092", topics={"commands": "hw.commands"},
                         data_dir=tmp_path).engine()
    assert defaults.static_membership  # the worker process is a static member by default
    assert (defaults.loop.session_timeout_ms, defaults.loop.heartbeat_interval_ms) == (10_000, 3000)

    monkeypatch.setenv("HEADWATER_SESSION_TIMEOUT_MS", "200")
    with pytest.raises(ValidationError, match="session_timeout_ms"):
        Settings(_env_file=None)  # type: ignore[call-arg]


@pytest.mark.kafka
async def test_a_static_member_that_stops_hands_its_partitions_over_at_once(
        kafka_bootstrap: str, hw_topics: dict[str, str]) -> None:
    """Static members never send LeaveGroup (KIP-345), so a worker stopped for good would keep
    its partitions idle for its whole session; the loop leaves with LeaveGroup v3 instead."""
    import time

    from tests.streams.kit import eventually
    from tests.streams.runtime.test_loop import Echo, running

    # A session far longer than the wait below: only the leave can move the partitions.
    config = LoopConfig(session_timeout_ms=60_000, heartbeat_interval_ms=1000)
    first = replace(config, group_instance_id="static-first")
    second = replace(config, group_instance_id="static-second")
    target = hw_topics["triggers"]
    async with running(kafka_bootstrap, hw_topics, Echo(target), "tasks", second) as staying:
        async with running(kafka_bootstrap, hw_topics, Echo(target), "tasks", first) as leaving:
            await eventually(lambda: leaving.owned and len(staying.owned) < 6, 60)
        stopped = time.monotonic()
        await eventually(lambda: len(staying.owned) == 6, 15)
        assert time.monotonic() - stopped < 15  # not the 60 s session

"""The whole example set again, over SASL_SSL with SCRAM and ACLs (`headwater kafka up --secure`).

Every part connects as the ``headwater`` user with the settings a user sets
(``HEADWATER_KAFKA_SECURITY_PROTOCOL`` and friends): the engine's loops and producer, the API
and its projector, the external echo worker, and the test's own clients. The scenarios and their
checks are those of `test_examples` (imported, so both stay one list).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from infra.kafka import LocalCluster
from tests.conftest import security_settings
from tests.streams.showcase import Showcase, showcase
from tests.streams.showcase_drive import dump, start_all
from tests.streams.test_examples import (  # noqa: F401 - collected here again, over SASL_SSL
    test_a_correlated_event_published_on_hw_triggers_resumes_the_waiting_execution,
    test_nothing_the_examples_did_became_a_dead_letter,
    test_the_example_rule_fires_on_a_matching_event,
    test_the_example_workflow_runs_to_completion_from_its_trigger,
)

pytestmark = [pytest.mark.kafka, pytest.mark.cluster]


@pytest.fixture(scope="module")
async def world(secure_cluster: LocalCluster, tmp_path_factory: pytest.TempPathFactory,
                ) -> AsyncIterator[Showcase]:
    secure = security_settings(secure_cluster, "headwater")
    async with showcase(secure_cluster.bootstrap, tmp_path_factory.mktemp("secure-examples"),
                        secure) as running:
        running.drivers = await start_all(running)
        yield running
        dump(running, tmp_path_factory.getbasetemp() / "secure-examples-showcase.txt")
        for task in running.drivers:
            task.cancel()
        await asyncio.gather(*running.drivers, return_exceptions=True)

import asyncio
from aiokafka.admin import AIOKafkaAdminClient

def test_topics_created(kafka_bootstrap, hw_topics):
    async def names():
        a = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap); await a.start()
        try: return set(await a.list_topics())
        finally: await a.close()
    assert set(hw_topics.values()) <= asyncio.run(names())

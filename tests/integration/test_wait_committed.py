"""`kafka_io.wait_committed` on a real broker: it returns only once the group
has committed everything on the topics, including records produced while it
waits."""

from __future__ import annotations

import threading
import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata

from streams.kafka import client as kafka_io
from streams.testing.harness import Harness


def test_wait_committed_waits_for_records_produced_while_it_waits(
    thresholds_harness: Harness,
) -> None:
    settings = thresholds_harness.settings
    topic = thresholds_harness.topics.policy_ticks
    tp = TopicPartition(topic, 0)
    group = f"{settings.app_id}-waiter"
    config = kafka_io.client_config(settings)
    producer = KafkaProducer(**config)
    committer = KafkaConsumer(**config, group_id=group, enable_auto_commit=False)

    def produce(n: int) -> None:
        for _ in range(n):
            producer.send(topic, b"x", partition=0)
        producer.flush()

    def commit(offset: int) -> None:
        committer.commit({tp: OffsetAndMetadata(offset, "", -1)})

    try:
        produce(10)
        commit(5)
        returned = threading.Event()

        def wait() -> None:
            kafka_io.wait_committed(settings, group, [topic], timeout=60)
            returned.set()

        waiter = threading.Thread(target=wait)
        waiter.start()
        time.sleep(1.0)  # the wait has read the topic's end (10) by now
        produce(5)  # the topic grows while the wait runs
        commit(10)  # everything it held when the wait began, not what came since
        assert not returned.wait(2.0)
        commit(15)
        waiter.join(30)
        assert returned.is_set()
    finally:
        producer.close()
        committer.close()

"""The topology as data: what the worker declares is what it lists."""

from __future__ import annotations

import pytest

from streams.config import Settings
from streams.config.topology import AGENTS, CROSSINGS, POLICY, topology
from streams.core.rules import Rules
from streams.engine.app import create_app

SETTINGS = Settings.from_env({"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1", "THRESHOLDS_APP_ID": "app"})


@pytest.fixture(scope="module")
def app() -> object:
    return create_app(SETTINGS, Rules())


def test_the_worker_declares_exactly_the_listed_tables_and_changelogs(app: object) -> None:
    declared = {
        name: table.changelog_topic.get_topic_name()
        for name, table in app.tables.items()  # type: ignore[attr-defined]
    }

    assert declared == {t.name: t.changelog.name for t in topology(SETTINGS).tables}


def test_each_agent_reads_exactly_its_listed_topics(app: object) -> None:
    declared = {
        name: set(agent.channel.topics)
        for name, agent in app.agents.items()  # type: ignore[attr-defined]
    }

    assert declared == {agent: set(topology(SETTINGS).inputs(agent)) for agent in AGENTS}


def test_every_topic_read_by_an_agent_has_its_dead_letters_listed_unless_internal() -> None:
    plan = topology(SETTINGS)
    names = {t.name for t in plan.topics}

    for topic in plan.topics:
        if topic.read_by and topic.kind != "internal":
            assert f"{topic.name}-dlq" in names, topic.name


def test_the_changelogs_are_compacted_and_every_other_topic_kept() -> None:
    plan = topology(SETTINGS)

    assert {t.config["cleanup.policy"] for t in plan.created() if t.kind == "changelog"} == {
        "compact"
    }
    assert {t.config["cleanup.policy"] for t in plan.topics} == {"delete"}
    assert all(t.config["retention.ms"] == "-1" for t in plan.created())


def test_the_policy_reads_the_crossings_the_crossing_agent_writes() -> None:
    plan = topology(SETTINGS)
    crossings = SETTINGS.topics.threshold_crossings

    assert crossings in plan.inputs(POLICY)
    assert CROSSINGS in next(t for t in plan.topics if t.name == crossings).written_by


def test_with_the_policy_off_only_the_crossing_agent_runs() -> None:
    settings = Settings.from_env(
        {
            "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",
            "THRESHOLDS_APP_ID": "off",
            "THRESHOLDS_POLICY": "off",
        }
    )

    app = create_app(settings, Rules())

    assert set(app.agents) == {CROSSINGS}

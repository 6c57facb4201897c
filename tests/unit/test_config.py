"""Loading the TOML configuration, and refusing a bad one in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.config import ConfigError, Settings, load_rules
from streams.core.rules import Phase


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def refusal(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_rules(write(tmp_path, text))
    message = str(info.value)
    assert "\n" not in message
    return message


def test_no_file_means_the_defaults() -> None:
    rules = load_rules(None).for_platform("weibo")

    assert (rules.thresholds, rules.hysteresis) == ((500_000, 1_000_000), 200)


def test_hysteresis_is_the_decimal_as_written(tmp_path: Path) -> None:
    rules = load_rules(write(tmp_path, "hysteresis = 0.0469\n"))

    assert rules.default.hysteresis == 469


def test_a_platform_table_inherits_every_key_it_does_not_set(tmp_path: Path) -> None:
    rules = load_rules(
        write(tmp_path, "hysteresis = 0.05\n[platforms.douyin]\nthresholds = [100]\n")
    )

    douyin = rules.for_platform("douyin")
    assert (douyin.thresholds, douyin.hysteresis) == ((100,), 500)


def test_the_spec_sample_configuration_loads(tmp_path: Path) -> None:
    rules = load_rules(Path("streams/samples/rollout.toml"))

    assert rules.for_platform("weibo").phases[0] == Phase(1_000_000, 1698796800 * 10**6, 30)


def test_a_platform_with_phases_enforces_only_those(tmp_path: Path) -> None:
    text = (
        "[[platforms.weibo.phases]]\nthreshold = 1_000_000\neffective_from = 2023-11-01T00:00:00Z\n"
    )

    rules = load_rules(write(tmp_path, text))

    assert [p.threshold for p in rules.for_platform("weibo").phases] == [1_000_000]
    assert [p.threshold for p in rules.for_platform("douyin").phases] == [500_000, 1_000_000]


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("hysteresis = 1.0\n", "hysteresis"),
        ("hysteresis = 0.00001\n", "hysteresis"),
        ("hysteresis = -0.1\n", "hysteresis"),
        ("hysteresis = true\n", "hysteresis"),
        ("thresholds = []\n", "thresholds"),
        ("thresholds = [1000, 500]\n", "thresholds"),
        ("thresholds = [0]\n", "thresholds"),
        ("thresholds = [1.5]\n", "thresholds"),
        ("colour = 1\n", "colour"),
        ("[platforms.Weibo]\n", "platforms.Weibo"),
        ("[platforms.weibo]\nhysteresis = 2\n", "platforms.weibo.hysteresis"),
        (
            "[[phases]]\nthreshold = 500000\neffective_from = 2023-11-01T00:00:00\n",
            "phases[0].effective_from",
        ),
        ("[[phases]]\nthreshold = 7\neffective_from = 2023-11-01T00:00:00Z\n", "phase threshold 7"),
        ("thresholds = [\n", "not valid TOML"),
    ],
)
def test_a_bad_file_is_refused_in_one_line_naming_the_key(
    tmp_path: Path, text: str, names: str
) -> None:
    assert names in refusal(tmp_path, text)


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_rules(tmp_path / "nope.toml")


def test_settings_come_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "KAFKA_BOOTSTRAP_SERVERS": "k:9092",
            "TOPIC_FOLLOWER_CHANGES": "fc",
            "TOPIC_PARTITIONS": "4",
        }
    )

    assert settings.bootstrap_servers == "k:9092"
    assert settings.topics.follower_changes_dlq == "fc-dlq"
    assert settings.partitions == 4


@pytest.mark.parametrize(
    "env",
    [
        {"TOPIC_PARTITIONS": "zero"},
        {"THRESHOLDS_STORE": "redis://"},
        {"TOPIC_THRESHOLD_CROSSINGS": "a b"},
        {"THRESHOLDS_FETCH_MAX_WAIT_MS": "0"},
    ],
)
def test_a_bad_environment_is_refused(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError):
        Settings.from_env(env)


def test_exactly_once_on_a_rocksdb_store_is_refused_at_start_up() -> None:
    env = {"PROCESSING_GUARANTEE": "exactly_once", "THRESHOLDS_STORE": "rocksdb://"}

    with pytest.raises(ConfigError, match="exactly_once needs THRESHOLDS_STORE=memory://"):
        Settings.from_env(env)


SECRET = "s3cr3t-pa55word"  # noqa: S105 - a test's made-up secret


def test_a_secret_can_come_from_a_mounted_file(tmp_path: Path) -> None:
    password, token = tmp_path / "password", tmp_path / "token"
    password.write_text(SECRET + "\n", encoding="utf-8")
    token.write_text("web-" + SECRET, encoding="utf-8")

    settings = Settings.from_env(
        {"KAFKA_SASL_PASSWORD_FILE": str(password), "THRESHOLDS_WEB_TOKEN_FILE": str(token)}
    )

    assert settings.security["KAFKA_SASL_PASSWORD"] == SECRET
    assert settings.web_token == "web-" + SECRET


def test_a_secret_never_appears_in_the_settings_repr() -> None:
    settings = Settings.from_env(
        {"KAFKA_SASL_PASSWORD": SECRET, "THRESHOLDS_WEB_TOKEN": "web-" + SECRET}
    )

    assert SECRET not in repr(settings)


@pytest.mark.parametrize(
    "env",
    [
        {"KAFKA_SASL_PASSWORD": SECRET, "KAFKA_SASL_PASSWORD_FILE": "/run/secrets/password"},
        {"KAFKA_SASL_PASSWORD_FILE": "/nonexistent/password"},
        {"THRESHOLDS_WEB_TOKEN_FILE": "/nonexistent/token"},
    ],
)
def test_a_secret_that_cannot_be_read_is_refused_without_it(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env(env)

    message = str(info.value)
    assert "_FILE" in message
    assert "\n" not in message
    assert SECRET not in message


def test_an_empty_secret_file_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "password"
    empty.write_text("\n", encoding="utf-8")

    with pytest.raises(ConfigError, match="is empty"):
        Settings.from_env({"KAFKA_SASL_PASSWORD_FILE": str(empty)})

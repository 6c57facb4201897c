"""Configuration, validated once at start-up: the TOML rules and the environment."""

from __future__ import annotations

from streams.config.rules_file import ConfigError, load_rules, parse_rules
from streams.config.settings import SECURITY_VARIABLES, Settings, Topics, read_secret

__all__ = [
    "SECURITY_VARIABLES",
    "ConfigError",
    "Settings",
    "Topics",
    "load_rules",
    "parse_rules",
    "read_secret",
]

"""The deployment files, checked offline: alert rules by their promtool unit
tests, Kubernetes manifests against the Kubernetes schemas, and both against
the worker's own settings."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from streams.config import Settings, load_rules
from streams.core.rules import Rules
from tests.support.debian import debian_program

ROOT = Path(__file__).parent.parent.parent
PROMETHEUS = ROOT / "deploy" / "prometheus"
K8S = ROOT / "deploy" / "k8s"
KUBERNETES_VERSION = "1.33.0"


def _promtool(*args: str, cwd: Path = PROMETHEUS) -> subprocess.CompletedProcess[str]:
    promtool = debian_program("promtool", "prometheus")
    return subprocess.run(
        [promtool, *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=120
    )


def _manifests() -> list[tuple[Path, dict[str, Any]]]:
    return [
        (path, doc)
        for path in sorted(K8S.glob("*.yaml"))
        for doc in yaml.safe_load_all(path.read_text())
        if doc
    ]


def _worker_container() -> dict[str, Any]:
    (statefulset,) = [d for _, d in _manifests() if d["kind"] == "StatefulSet"]
    container: dict[str, Any] = statefulset["spec"]["template"]["spec"]["containers"][0]
    return container


def test_the_alert_rules_are_valid() -> None:
    checked = _promtool("check", "rules", "alerts.yml")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_alert_rules_pass_their_promtool_unit_tests() -> None:
    tested = _promtool("test", "rules", "alerts.test.yml")
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_the_compose_prometheus_configuration_is_valid(tmp_path: Path) -> None:
    # the compose file mounts the rules at /etc/prometheus; here they sit beside it
    config = (PROMETHEUS / "prometheus.yml").read_text()
    (tmp_path / "prometheus.yml").write_text(config.replace("/etc/prometheus/", ""))
    (tmp_path / "alerts.yml").write_text((PROMETHEUS / "alerts.yml").read_text())
    checked = _promtool("check", "config", "prometheus.yml", cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize("path", sorted(K8S.glob("*.yaml")), ids=lambda p: p.name)
def test_each_kubernetes_manifest_is_valid_against_the_kubernetes_schemas(path: Path) -> None:
    for doc in yaml.safe_load_all(path.read_text()):
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_a_manifest_with_a_wrong_field_is_refused() -> None:
    (_, statefulset), *_ = [(p, d) for p, d in _manifests() if d["kind"] == "StatefulSet"]
    statefulset["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(statefulset, KUBERNETES_VERSION, strict=True)


def test_the_kubernetes_probes_ask_the_workers_health_and_readiness_on_its_port() -> None:
    container = _worker_container()
    (port,) = container["ports"]
    assert port["containerPort"] == Settings().web_port
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"


def test_the_kubernetes_workers_are_scraped_on_the_metrics_port() -> None:
    (statefulset,) = [d for _, d in _manifests() if d["kind"] == "StatefulSet"]
    annotations = statefulset["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == str(Settings().web_port)
    assert annotations["prometheus.io/path"] == "/metrics"


SECRET_FILES = ("KAFKA_SASL_PASSWORD_FILE", "KAFKA_SSL_CAFILE", "THRESHOLDS_WEB_TOKEN_FILE")


def _secret(variable: str) -> str:
    """What the test writes into the file `variable` names."""
    return f"{variable.lower()}-value"


def _with_secrets_in(env: dict[str, str], mount: str, folder: Path) -> dict[str, str]:
    """`env` with the secret files it names under `mount` written into `folder` instead."""
    moved = dict(env)
    for name in SECRET_FILES:
        assert env[name].startswith(mount + "/"), (name, env[name])
        local = folder / env[name].removeprefix(mount + "/")
        local.write_text(_secret(name) + "\n")
        moved[name] = str(local)
    return moved


def test_the_kubernetes_worker_environment_is_a_valid_configuration(tmp_path: Path) -> None:
    container = _worker_container()
    env = {e["name"]: e["value"] for e in container["env"] if "value" in e}
    env["THRESHOLDS_WEB_URL"] = env["THRESHOLDS_WEB_URL"].replace("$(POD_NAME)", "worker-0")
    (mount,) = [m["mountPath"] for m in container["volumeMounts"] if m["name"] == "secrets"]

    settings = Settings.from_env(_with_secrets_in(env, mount, tmp_path))

    assert settings.store == "rocksdb://"
    assert settings.web_url == "http://worker-0.follower-thresholds-workers:6066"
    assert settings.security["KAFKA_SASL_PASSWORD"] == _secret("KAFKA_SASL_PASSWORD_FILE")
    assert settings.web_token == _secret("THRESHOLDS_WEB_TOKEN_FILE")


def test_the_kubernetes_worker_reads_every_credential_from_a_mounted_secret() -> None:
    container = _worker_container()
    (statefulset,) = [d for _, d in _manifests() if d["kind"] == "StatefulSet"]
    volumes = {v["name"]: v for v in statefulset["spec"]["template"]["spec"]["volumes"]}
    names = {e["name"] for e in container["env"]}

    assert volumes["secrets"]["secret"]["secretName"] == "follower-thresholds"
    assert not names & {"KAFKA_SASL_PASSWORD", "THRESHOLDS_WEB_TOKEN"}
    assert all(not e.get("valueFrom", {}).get("secretKeyRef") for e in container["env"])


def test_the_secured_compose_worker_reads_every_credential_from_a_secret_file(
    tmp_path: Path,
) -> None:
    folder = ROOT / "deploy" / "compose"
    compose = yaml.safe_load((folder / "secured.yml").read_text())
    worker = compose["services"]["worker"]
    shell = {"KAFKA_BOOTSTRAP_SERVERS": "kafka-1:9093", "KAFKA_SASL_USERNAME": "worker"}
    env = {k: _compose_value(str(v), shell) for k, v in worker["environment"].items()}
    for name in SECRET_FILES:
        secret = env[name].removeprefix("/run/secrets/")
        assert secret in worker["secrets"], name
        assert secret in compose["secrets"], name

    settings = Settings.from_env(_with_secrets_in(env, "/run/secrets", tmp_path))

    assert settings.security["KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert settings.security["KAFKA_SASL_PASSWORD"] == _secret("KAFKA_SASL_PASSWORD_FILE")


def _compose_value(value: str, shell: dict[str, str]) -> str:
    """A compose value with its `${VAR:-default}` and `${VAR:?error}` read from `shell`."""

    def substitute(match: re.Match[str]) -> str:
        name, operator, rest = match.groups()
        if shell.get(name):
            return shell[name]
        assert operator == ":-", f"{name} must be set: {rest}"
        return str(rest)

    return re.sub(r"\$\{(\w+)(:-|:\?)([^}]*)\}", substitute, value)


def test_the_kubernetes_rules_configmap_loads(tmp_path: Path) -> None:
    (configmap,) = [d for _, d in _manifests() if d["kind"] == "ConfigMap"]
    rules = tmp_path / "thresholds.toml"
    rules.write_text(configmap["data"]["thresholds.toml"])
    assert load_rules(rules) == Rules()  # the defaults of SPEC.md, as its comment says


def test_the_compose_worker_is_healthy_only_when_ready_and_exposes_its_port() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    worker = compose["services"]["worker"]
    assert "http://localhost:6066/ready" in " ".join(worker["healthcheck"]["test"])
    assert "6066:6066" in worker["ports"]
    prometheus = compose["services"]["prometheus"]
    mounted = [v.split(":")[0] for v in prometheus["volumes"]]
    assert all((ROOT / m).is_file() for m in mounted), mounted

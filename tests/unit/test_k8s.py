"""deploy/k8s: the manifests are what the code declares, and valid, without a cluster.

Built-in kinds are validated with kubernetes-validate (it ships the Kubernetes schemas); the
Strimzi and CloudNativePG resources against the operators' CRD schemas in deploy/k8s/schemas.
The overlays are rendered by deploy/k8s/render.py (no kustomize binary is installable here).
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import re
import sys
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import jsonschema
import pytest

from runtime.platform import SERVICES, definition_of
from runtime.settings import ServiceSettings

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = ("dev", "prod")
KUBERNETES_VERSION = "1.33.0"
CUSTOM_KINDS = {
    ("kafka.strimzi.io/v1", "Kafka"),
    ("kafka.strimzi.io/v1", "KafkaNodePool"),
    ("kafka.strimzi.io/v1", "KafkaTopic"),
    ("postgresql.cnpg.io/v1", "Cluster"),
    ("postgresql.cnpg.io/v1", "Database"),
}


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"k8s_{name}", K8S / f"{name}.py")
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


generate = load("generate")
render = load("render")


@cache
def overlay(name: str) -> tuple[dict[str, Any], ...]:
    return tuple(render.render(K8S / "overlays" / name))


def find(name: str, kind: str, resource: str) -> dict[str, Any]:
    [found] = [r for r in overlay(name) if r["kind"] == kind and r["metadata"]["name"] == resource]
    return found


# ---------------------------------------------------------------- generated = the code


def test_generated_manifests_equal_what_the_code_declares() -> None:
    assert generate.drift() == [], "run: python deploy/k8s/generate.py"


def test_every_topic_is_a_kafka_topic_with_production_durability() -> None:
    topics = {
        r["spec"]["topicName"]: r["spec"] for r in overlay("prod") if r["kind"] == "KafkaTopic"
    }
    assert sorted(topics) == [spec.name for spec in generate.all_topics()]
    assert "frontdesk.checkin.tickets" in topics
    for spec in generate.all_topics():
        declared = topics[spec.name]
        assert declared["partitions"] == spec.partitions
        assert declared["replicas"] == 3
        assert declared["config"]["min.insync.replicas"] == "2"
        assert declared["config"]["unclean.leader.election.enable"] == "false"
        assert declared["config"]["retention.ms"] == str(spec.retention_ms)


# ---------------------------------------------------------------- valid manifests


@pytest.mark.parametrize("name", OVERLAYS)
def test_built_in_kinds_are_valid_kubernetes(name: str) -> None:
    import kubernetes_validate

    for resource in overlay(name):
        if (resource["apiVersion"], resource["kind"]) in CUSTOM_KINDS:
            continue
        kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("name", OVERLAYS)
def test_custom_resources_match_the_operators_schemas(name: str) -> None:
    for resource in overlay(name):
        key = (resource["apiVersion"], resource["kind"])
        if key not in CUSTOM_KINDS:
            continue
        group, version = key[0].split("/")
        schema = json.loads((K8S / "schemas" / f"{group}_{version}_{key[1]}.json").read_text())
        jsonschema.Draft7Validator(schema).validate(resource)


def test_schemas_catch_a_mistake() -> None:
    """The CRD schemas are not vacuous: a misspelled required field is refused."""
    schema = json.loads((K8S / "schemas" / "kafka.strimzi.io_v1_KafkaNodePool.json").read_text())
    pool = find("prod", "KafkaNodePool", "combined")
    broken = {**pool, "spec": {k: v for k, v in pool["spec"].items() if k != "roles"}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(schema).validate(broken)


@pytest.mark.parametrize("name", OVERLAYS)
def test_every_resource_is_in_the_overlays_namespace(name: str) -> None:
    namespace = {"dev": "frontdesk-dev", "prod": "frontdesk"}[name]
    assert {r["metadata"]["namespace"] for r in overlay(name)} == {namespace}


# ---------------------------------------------------------------- the services


@pytest.mark.parametrize("name", OVERLAYS)
@pytest.mark.parametrize("service", SERVICES)
def test_each_service_is_replicated_probed_bounded_and_protected(name: str, service: str) -> None:
    port = definition_of(service).default_port
    deployment = find(name, "Deployment", service)
    assert deployment["spec"]["replicas"] >= 2
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["ports"] == [{"name": "http", "containerPort": port, "protocol": "TCP"}]
    for bound in ("requests", "limits"):
        assert set(container["resources"][bound]) == {"cpu", "memory"}
    assert find(name, "Service", service)["spec"]["ports"][0]["port"] == port
    assert find(name, "PodDisruptionBudget", service)["spec"]["minAvailable"] == 1
    autoscaler = find(name, "HorizontalPodAutoscaler", service)["spec"]
    assert autoscaler["scaleTargetRef"]["name"] == service
    assert 2 <= autoscaler["minReplicas"] <= autoscaler["maxReplicas"]
    assert deployment["spec"]["replicas"] == autoscaler["minReplicas"]


def environment(name: str, service: str) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
    """(ConfigMap values, secret references) a service's container gets."""
    [container] = find(name, "Deployment", service)["spec"]["template"]["spec"]["containers"]
    [source] = container["envFrom"]
    config = find(name, "ConfigMap", source["configMapRef"]["name"])["data"]
    secrets = {item["name"]: item["valueFrom"]["secretKeyRef"] for item in container["env"]}
    return config, secrets


@pytest.mark.parametrize("service", SERVICES)
def test_every_setting_the_service_reads_is_configured_or_left_unset_on_purpose(
    service: str,
) -> None:
    read = {setting.name for setting in generate.settings_of(service)}
    assert {"FRONTDESK_HTTP_PORT", "FRONTDESK_KAFKA_REPLICATION_FACTOR", "PGPASSWORD"} <= read
    config, secrets = environment("prod", service)
    unset = set(generate.unset_settings(service))
    assert not set(config) & set(secrets), "a setting from both a ConfigMap and a Secret"
    assert read == (set(config) | set(secrets) | unset) - {
        name for name in config if name.startswith("OTEL_")
    }
    # only optional parties and credentials are left unset
    assert all(not name.endswith(("_KEY", "_SECRET")) for name in unset), unset
    assert secrets["PGPASSWORD"] == {"name": "frontdesk-db-app", "key": "password"}
    assert "FRONTDESK_JWT_SECRET" in secrets
    assert "FRONTDESK_JWT_SECRET" not in config


@pytest.mark.parametrize("service", SERVICES)
def test_the_production_environment_loads_and_is_durable(
    service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in list(os.environ):
        if variable.startswith(("FRONTDESK_", "PG", "OTEL_")):
            monkeypatch.delenv(variable)
    config, secrets = environment("prod", service)
    for variable, value in config.items():
        monkeypatch.setenv(variable, value)
    for variable in secrets:  # what the operator puts in the Secrets
        monkeypatch.setenv(variable, base64.b64encode(os.urandom(32)).decode())
    settings = ServiceSettings()
    assert settings.env == "production"
    assert settings.http_port == definition_of(service).default_port
    assert settings.kafka.replication_factor == 3
    assert settings.kafka.min_insync_replicas == 2
    assert settings.kafka.bootstrap_servers == "frontdesk-kafka-bootstrap:9092"
    assert settings.dsn(service).endswith(f"@frontdesk-db-rw:5432/{service}")


@pytest.mark.parametrize("service", SERVICES)
def test_the_dev_overlay_has_every_secret_the_deployments_name(service: str) -> None:
    _, secrets = environment("dev", service)
    generated = {
        r["metadata"]["name"]: set(r["data"]) for r in overlay("dev") if r["kind"] == "Secret"
    }
    for variable, ref in secrets.items():
        if ref["name"] == "frontdesk-db-app" or ref.get("optional"):
            continue  # made by CloudNativePG / may be absent
        assert ref["key"] in generated.get(ref["name"], set()), (variable, ref)
    assert not [r for r in overlay("prod") if r["kind"] == "Secret"], "no secrets in prod files"


# ---------------------------------------------------------------- the infrastructure


def test_kafka_is_three_kraft_nodes_that_refuse_unclean_elections() -> None:
    pool = find("prod", "KafkaNodePool", "combined")["spec"]
    assert pool["replicas"] == 3
    assert set(pool["roles"]) == {"controller", "broker"}
    config = find("prod", "Kafka", "frontdesk")["spec"]["kafka"]["config"]
    assert config["min.insync.replicas"] == 2
    assert config["default.replication.factor"] == 3
    assert config["unclean.leader.election.enable"] is False
    assert config["auto.create.topics.enable"] is False


def test_postgres_has_every_database_infra_sh_creates() -> None:
    infra = (ROOT / "deploy" / "infra.sh").read_text()
    match = re.search(r"FRONTDESK_DATABASES=\$\{FRONTDESK_DATABASES:-([^}]*)\}", infra)
    assert match
    cluster = find("prod", "Cluster", "frontdesk-db")["spec"]
    databases = {cluster["bootstrap"]["initdb"]["database"]} | {
        r["spec"]["name"] for r in overlay("prod") if r["kind"] == "Database"
    }
    assert databases == set(match.group(1).split())
    assert cluster["instances"] == 3
    assert cluster["minSyncReplicas"] >= 1


def test_the_collector_runs_the_compose_configuration() -> None:
    config = find("prod", "ConfigMap", "otel-collector-config")["data"]["config.yaml"]
    assert config == (ROOT / "deploy" / "otel" / "collector.yaml").read_text()
    assert {p["port"] for p in find("prod", "Service", "otel-collector")["spec"]["ports"]} == {
        4317,
        4318,
    }


# ---------------------------------------------------------------- the renderer


def test_strategic_merge_merges_named_items_and_replaces_the_rest() -> None:
    base = {"a": 1, "list": [1, 2], "containers": [{"name": "x", "image": "i", "port": 1}]}
    patch = {"list": [3], "containers": [{"name": "x", "image": "j"}, {"name": "y"}]}
    assert render.merge(base, patch) == {
        "a": 1,
        "list": [3],
        "containers": [{"name": "x", "image": "j", "port": 1}, {"name": "y"}],
    }


def test_the_renderer_refuses_what_it_does_not_implement(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources: []\nreplacements: []\n")
    with pytest.raises(ValueError, match="replacements"):
        render.render(tmp_path)


# ---------------------------------------------------------------- local ports (services.sh)


def test_services_sh_default_ports_are_the_services_own() -> None:
    script = (ROOT / "deploy" / "services.sh").read_text()
    assert "FRONTDESK_PORT_BASE:-8000" in script
    [listing] = re.findall(r"^SERVICES=\(([^)]*)\)", script, re.MULTILINE)
    offsets = dict(entry.split(":") for entry in listing.split())
    assert list(offsets) == list(SERVICES)
    for service, offset in offsets.items():
        assert 8000 + int(offset) == definition_of(service).default_port
    assert not re.search(r"--port \d|:\d{4}\b", script), "a hard-coded port in services.sh"


# ---------------------------------------------------------------- docker-compose, the same way


@pytest.mark.parametrize("service", SERVICES)
def test_compose_sets_only_settings_the_code_reads_and_kubernetes_configures(
    service: str,
) -> None:
    import yaml

    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    variables = set(compose["services"][service]["environment"]) - {"SERVICE"}
    read = {setting.name for setting in generate.settings_of(service)}
    unknown = {name for name in variables if not name.startswith("OTEL_")} - read
    assert not unknown, f"docker-compose.yml sets variables {service} does not read: {unknown}"
    # Kubernetes runs no sandboxes: the parties compose points at its sandboxes are left unset
    configured = set(environment("prod", service)[0]) | set(environment("prod", service)[1])
    unset = set(generate.unset_settings(service))
    assert variables <= configured | unset, variables - configured - unset

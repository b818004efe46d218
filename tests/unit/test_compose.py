"""docker-compose.yml, its Postgres init script and collector config agree with the code.

No Docker here: the files are parsed and checked against what the services really read
(runtime/settings.py), their default ports (the service definitions) and deploy/infra.sh.
"""

from __future__ import annotations

import importlib
import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic_settings import BaseSettings

from runtime.settings import KafkaSettings, ServiceSettings

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
INIT_DATABASES = ROOT / "deploy" / "postgres" / "init-databases.sh"
COLLECTOR = ROOT / "deploy" / "otel" / "collector.yaml"
INFRA = ROOT / "deploy" / "infra.sh"

SERVICES = ("checkin", "cases", "verification", "notifications")
INFRASTRUCTURE = ("kafka", "postgres", "otel-collector", "jaeger")
REQUIRED_ENVIRONMENT = (
    "FRONTDESK_KAFKA_BOOTSTRAP_SERVERS",
    "PGHOST",
    "PGPORT",
    "PGUSER",
    "PGPASSWORD",
    "FRONTDESK_JWT_SECRET",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_SERVICE_NAME",
    "FRONTDESK_HTTP_HOST",
)


# ---------------------------------------------------------------- helpers


def load_compose() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(document, dict), "docker-compose.yml is not a mapping"
    return document


def service(name: str) -> dict[str, Any]:
    services = load_compose()["services"]
    assert name in services, f"docker-compose.yml has no service {name!r}"
    return services[name]


def environment(definition: dict[str, Any]) -> dict[str, str]:
    """A service's environment as a dict, whether written as a mapping or KEY=VALUE list."""
    raw = definition.get("environment") or {}
    if isinstance(raw, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in raw)
    return {str(key): "" if value is None else str(value) for key, value in raw.items()}


def env_names(settings: type[BaseSettings]) -> set[str]:
    """The environment variables a settings class reads: each field's validation_alias, or
    env_prefix + field name (upper-cased; pydantic-settings matches case-insensitively).
    Nested settings models are read through their own class and are skipped here."""
    prefix = settings.model_config.get("env_prefix", "")
    names = set()
    for field_name, field in settings.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseSettings):
            continue
        alias = field.validation_alias
        if alias is not None:
            assert isinstance(alias, str), f"{settings.__name__}.{field_name}: alias {alias!r}"
            names.add(alias.upper())
        else:
            names.add(f"{prefix}{field_name}".upper())
    return names


def service_settings_classes() -> list[type[BaseSettings]]:
    """Each service's own settings (services/<name>/config.py), where it has some."""
    classes = []
    for service in SERVICES:
        try:
            module = importlib.import_module(f"services.{service}.config")
        except ModuleNotFoundError:
            continue
        classes += [
            value
            for value in vars(module).values()
            if isinstance(value, type)
            and issubclass(value, BaseSettings)
            and value is not BaseSettings
            and value.__module__ == module.__name__
        ]
    return classes


def variables_the_code_reads() -> set[str]:
    names = env_names(ServiceSettings) | env_names(KafkaSettings) | {"SERVICE"}
    for settings in service_settings_classes():
        names |= env_names(settings)
    return names


def is_read_by_the_code(name: str) -> bool:
    # OTEL_*: the OpenTelemetry SDK's standard variables (runtime/telemetry.py).
    # SERVICE: the Dockerfile's CMD picks the service module with it.
    return name in variables_the_code_reads() or name.startswith("OTEL_")


def published_ports(definition: dict[str, Any]) -> set[tuple[int, int]]:
    """(host port, container port) of every port a service publishes, in any syntax."""
    published = set()
    for entry in definition.get("ports") or []:
        if isinstance(entry, dict):
            target = int(entry["target"])
            published.add((int(entry["published"]) if "published" in entry else target, target))
            continue
        text = str(entry).split("/", 1)[0]
        parts = text.rsplit(":", 2)
        container = int(parts[-1])
        host = int(parts[-2]) if len(parts) >= 2 and parts[-2] else container
        published.add((host, container))
    return published


def default_port(name: str) -> int:
    module = importlib.import_module(f"services.{name}.bootstrap")
    return int(module.DEFINITION.default_port)


def shell_default_list(path: Path, variable: str) -> list[str]:
    """The words of ``VARIABLE=${VARIABLE:-a b c}`` in a shell script."""
    pattern = rf"^\s*{variable}=\$\{{{variable}:-([^}}]*)\}}"
    match = re.search(pattern, path.read_text(), re.MULTILINE)
    assert match, f"{path.relative_to(ROOT)} sets no default for {variable}"
    return match.group(1).split()


def compose_databases() -> list[str]:
    """The databases the postgres container's init script creates (its environment may
    override the script's default list)."""
    postgres = service("postgres")
    mounts = [str(volume) for volume in postgres.get("volumes") or []]
    assert any(
        mount.split(":")[0]
        in ("./deploy/postgres/init-databases.sh", "deploy/postgres/init-databases.sh")
        and mount.split(":")[1].startswith("/docker-entrypoint-initdb.d/")
        for mount in mounts
    ), f"init-databases.sh is not mounted into /docker-entrypoint-initdb.d: {mounts}"
    override = environment(postgres).get("FRONTDESK_DATABASES")
    if override:
        return override.split()
    return shell_default_list(INIT_DATABASES, "FRONTDESK_DATABASES")


# ---------------------------------------------------------------- the helpers themselves


def test_env_names_are_derived_from_the_settings_classes() -> None:
    names = variables_the_code_reads()
    # spot checks that the derivation follows pydantic-settings' rules
    assert {"FRONTDESK_HTTP_PORT", "FRONTDESK_KAFKA_BOOTSTRAP_SERVERS", "PGHOST"} <= names
    assert "FRONTDESK_KAFKA" not in names, "the nested kafka field is read by KafkaSettings"
    assert "FRONTDESK_PG_HOST" not in names, "aliased fields are read by their alias"


def test_a_misspelled_variable_is_not_read_by_the_code() -> None:
    for name in (
        "FRONTDESK_KAFKA_BOOTSTRAP_SERVER",
        "FRONTDESK_JWT_SECRETS",
        "PG_HOST",
        "KAFKA_BOOTSTRAP_SERVERS",
        "FRONTDESK_HTTPPORT",
    ):
        assert not is_read_by_the_code(name), name


def test_port_syntaxes_are_understood() -> None:
    definition = {
        "ports": [
            "8001:8001",
            "127.0.0.1:9000:9001",
            "7000",
            "6000:6001/tcp",
            {"target": 5000, "published": "5001"},
        ]
    }
    assert published_ports(definition) == {
        (8001, 8001),
        (9000, 9001),
        (7000, 7000),
        (6000, 6001),
        (5001, 5000),
    }


# ---------------------------------------------------------------- the services


@pytest.mark.parametrize("name", SERVICES)
def test_service_builds_the_project_image_and_runs_itself(name: str) -> None:
    definition = service(name)
    build = definition.get("build")
    context = build if isinstance(build, str) else (build or {}).get("context")
    assert context in (".", "./"), f"{name} does not build the project image: {build!r}"
    if isinstance(build, dict):
        assert build.get("dockerfile", "Dockerfile") == "Dockerfile"
    env = environment(definition)
    assert env.get("SERVICE") == name
    assert env.get("OTEL_SERVICE_NAME") == name


@pytest.mark.parametrize("name", SERVICES)
def test_service_publishes_its_default_port(name: str) -> None:
    definition = service(name)
    port = default_port(name)
    assert (port, port) in published_ports(definition)
    listens_on = environment(definition).get("FRONTDESK_HTTP_PORT")
    assert listens_on in (None, str(port)), f"{name} listens on {listens_on}, publishes {port}"


@pytest.mark.parametrize("name", SERVICES)
def test_service_waits_for_healthy_kafka_and_postgres(name: str) -> None:
    depends_on = service(name).get("depends_on")
    assert isinstance(depends_on, dict), f"{name}: depends_on needs conditions"
    for dependency in ("kafka", "postgres"):
        assert (depends_on.get(dependency) or {}).get("condition") == "service_healthy", (
            f"{name} does not wait for {dependency} to be healthy"
        )
        assert "healthcheck" in service(dependency), f"{dependency} has no healthcheck"


@pytest.mark.parametrize("name", SERVICES)
def test_service_environment_is_complete(name: str) -> None:
    env = environment(service(name))
    missing = [variable for variable in REQUIRED_ENVIRONMENT if not env.get(variable)]
    assert not missing, f"{name} does not set {missing}"
    # a container must listen on all interfaces to be reachable through its published port
    assert env["FRONTDESK_HTTP_HOST"] == "0.0.0.0"  # noqa: S104
    assert env["PGHOST"] == "postgres"
    assert env["FRONTDESK_KAFKA_BOOTSTRAP_SERVERS"].split(":")[0] == "kafka"
    assert "otel-collector" in env["OTEL_EXPORTER_OTLP_ENDPOINT"]


@pytest.mark.parametrize("name", SERVICES)
def test_service_environment_only_sets_variables_the_code_reads(name: str) -> None:
    unknown = sorted(
        variable for variable in environment(service(name)) if not is_read_by_the_code(variable)
    )
    assert not unknown, (
        f"{name} sets variables nothing reads (misspelled?): {unknown}; "
        "see runtime/settings.py for the names"
    )


@pytest.mark.parametrize("name", SERVICES)
def test_service_settings_load_from_its_environment(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The compose environment (with compose's ${VAR:-default} resolved) is valid settings."""
    for variable in list(os.environ):
        if variable.startswith(("FRONTDESK_", "PG", "OTEL_")):
            monkeypatch.delenv(variable)
    for variable, value in environment(service(name)).items():
        resolved = re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)
        monkeypatch.setenv(variable, resolved)
    settings = ServiceSettings()
    assert settings.http_port == default_port(name)
    assert settings.kafka.bootstrap_servers == "kafka:9092"
    assert settings.dsn(name).endswith(f"@postgres:5432/{name}")


# ---------------------------------------------------------------- the infrastructure


def test_infrastructure_services_exist() -> None:
    services = load_compose()["services"]
    missing = [name for name in INFRASTRUCTURE if name not in services]
    assert not missing, f"docker-compose.yml lacks {missing}"


def test_kafka_does_not_create_topics_on_its_own() -> None:
    env = environment(service("kafka"))
    assert env.get("KAFKA_AUTO_CREATE_TOPICS_ENABLE", "").lower() == "false"
    assert set(env.get("KAFKA_PROCESS_ROLES", "").split(",")) == {"broker", "controller"}
    assert "kafka:9092" in env.get("KAFKA_ADVERTISED_LISTENERS", "")


def test_postgres_init_script_creates_a_database_per_service() -> None:
    databases = compose_databases()
    missing = [name for name in SERVICES if name not in databases]
    assert not missing, f"no database for {missing}"
    assert INIT_DATABASES.stat().st_mode & 0o111, "init-databases.sh is not executable"


def test_infra_sh_and_compose_create_the_same_databases() -> None:
    assert sorted(shell_default_list(INFRA, "FRONTDESK_DATABASES")) == sorted(compose_databases())


def test_collector_config_sends_traces_to_jaeger() -> None:
    config = yaml.safe_load(COLLECTOR.read_text())
    pipelines = config["service"]["pipelines"]
    for pipeline in pipelines.values():
        for kind in ("receivers", "processors", "exporters"):
            for component in pipeline.get(kind, []):
                assert component in config.get(kind, {}), f"{kind} {component} is not defined"
    trace_exporters = pipelines["traces"]["exporters"]
    endpoints = [config["exporters"][exporter].get("endpoint", "") for exporter in trace_exporters]
    assert any(endpoint.split(":")[0] == "jaeger" for endpoint in endpoints), endpoints
    assert "jaeger" in load_compose()["services"]
    protocols = config["receivers"]["otlp"]["protocols"]
    # in a container the receivers must listen on all interfaces, not the default localhost
    assert protocols["http"]["endpoint"] == "0.0.0.0:4318"
    assert protocols["grpc"]["endpoint"] == "0.0.0.0:4317"


def test_collector_config_is_mounted_where_the_image_reads_it() -> None:
    collector = service("otel-collector")
    mounts = [str(volume) for volume in collector.get("volumes") or []]
    targets = {mount.split(":")[1] for mount in mounts if "deploy/otel/collector.yaml" in mount}
    assert targets, f"deploy/otel/collector.yaml is not mounted: {mounts}"
    command = " ".join(collector.get("command") or ["--config=/etc/otelcol-contrib/config.yaml"])
    assert any(target in command for target in targets), (targets, command)

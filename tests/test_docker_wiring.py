"""The docker/ deployment, checked without a Docker engine: parse the compose file and verify its wiring.

Services present with pinned images and healthchecks, every ``AIRFLOW__LINEAGE_PROVIDER__*`` variable a
declared option with a valid value, the transport pointing at the Marquez service and port, the example
DAGs mounted as the DAGs folder, and the Dockerfile installing this provider.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from airflow_lineage_provider import conf
from airflow_lineage_provider.get_provider_info import OPTIONS, SECTION

ROOT = Path(__file__).resolve().parents[1]
DOCKER = ROOT / "docker"
COMPOSE = DOCKER / "docker-compose.yml"
PREFIX = f"AIRFLOW__{SECTION.upper()}__"
AIRFLOW_SERVICES = {
    "airflow-api-server": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-triggerer": "triggerer",
}
LONG_RUNNING = [*AIRFLOW_SERVICES, "postgres", "marquez-api", "marquez-web"]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    return compose["services"]


def _env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(k): str(v) for k, v in env.items()}


def _published(service: dict[str, Any]) -> dict[int, int]:
    """container port -> host port."""
    ports = {}
    for spec in service.get("ports") or []:
        host, _, container = str(spec).rpartition(":")
        ports[int(container.split("/")[0])] = int(host)
    return ports


def test_all_services_present(services: dict[str, Any]) -> None:
    assert set(LONG_RUNNING) | {"airflow-init"} <= set(services)
    for name, command in AIRFLOW_SERVICES.items():
        assert services[name]["command"] == command, name
    init = " ".join(services["airflow-init"]["command"])
    assert "airflow db migrate" in init and "airflow-lineage doctor --no-send" in init


def test_images_are_pinned(services: dict[str, Any]) -> None:
    for name, service in services.items():
        image = service["image"]
        repo, _, tag = image.rpartition(":")
        assert repo and tag and tag != "latest" and re.search(r"\d", tag), f"{name}: unpinned image {image}"
    dockerfile = (DOCKER / "Dockerfile").read_text()
    base = re.search(r"^ARG AIRFLOW_IMAGE=(\S+)$", dockerfile, re.M)
    assert base, "the Dockerfile names its base image in ARG AIRFLOW_IMAGE"
    assert re.fullmatch(r"apache/airflow:3\.\d+\.\d+-python3\.\d+", base[1]), base[1]


def test_dockerfile_installs_this_provider(services: dict[str, Any]) -> None:
    dockerfile = (DOCKER / "Dockerfile").read_text()
    build = services["airflow-scheduler"]["build"]
    context = (COMPOSE.parent / build["context"]).resolve()
    assert context == ROOT and (context / build["dockerfile"]).resolve() == DOCKER / "Dockerfile"
    copied = re.findall(r"^COPY\s+(?:--\S+\s+)*(.+)\s+\S+$", dockerfile, re.M)
    sources = {src for line in copied for src in line.split()}
    assert {"pyproject.toml", "airflow_lineage_provider"} <= sources
    for src in sources:
        assert (context / src).exists(), f"Dockerfile copies {src}, missing from the build context"
    assert re.search(
        r'pip install .*"apache-airflow==\$\{AIRFLOW_VERSION\}" /opt/lineage-provider', dockerfile
    )
    ignore = (DOCKER / "Dockerfile.dockerignore").read_text().split()
    assert "*" in ignore and {f"!{src}" for src in sources} <= set(ignore)


def test_healthchecks(services: dict[str, Any]) -> None:
    for name in LONG_RUNNING:
        check = services[name].get("healthcheck") or {}
        assert check.get("test") and check["test"][0] in ("CMD", "CMD-SHELL"), f"{name} has no healthcheck"
    assert "8080/api/v2/version" in " ".join(services["airflow-api-server"]["healthcheck"]["test"])
    scheduler = services["airflow-scheduler"]
    assert _env(scheduler)["AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK"] == "True"
    assert "8974/health" in " ".join(scheduler["healthcheck"]["test"])
    assert "DagProcessorJob" in services["airflow-dag-processor"]["healthcheck"]["test"][1]
    assert "TriggererJob" in services["airflow-triggerer"]["healthcheck"]["test"][1]
    marquez_admin = _env(services["marquez-api"])["MARQUEZ_ADMIN_PORT"]
    assert f"localhost:{marquez_admin}/healthcheck" in services["marquez-api"]["healthcheck"]["test"][1]
    # start order: every depends_on names a service and a condition that service can satisfy
    for name, service in services.items():
        for dep, spec in (service.get("depends_on") or {}).items():
            assert dep in services and dep != name, f"{name} depends on {dep}"
            if spec["condition"] == "service_healthy":
                assert services[dep].get("healthcheck"), (
                    f"{name} waits for {dep} to be healthy: no healthcheck"
                )
            else:
                assert spec["condition"] == "service_completed_successfully" and dep == "airflow-init"


def test_lineage_settings_are_declared_options(services: dict[str, Any]) -> None:
    for name in AIRFLOW_SERVICES:
        env = _env(services[name])
        settings = {k[len(PREFIX) :].lower(): v for k, v in env.items() if k.startswith(PREFIX)}
        assert settings, f"{name} has no {PREFIX}* settings"
        unknown = set(settings) - set(OPTIONS)
        assert not unknown, f"{name}: {sorted(unknown)} are not options of [{SECTION}]"
        assert {"transport", "namespace", "spool_dir"} <= set(settings)
        assert (
            env["AIRFLOW__OPENLINEAGE__DISABLED"] == "True"
        )  # no duplicate events from the official provider


def test_settings_pass_the_providers_own_validation(
    services: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    env = _env(services["airflow-scheduler"])
    for key, value in env.items():
        if key.startswith(PREFIX):
            monkeypatch.setenv(key, value)
    conf.clear_cache()
    try:
        for option in (k[len(PREFIX) :].lower() for k in env if k.startswith(PREFIX)):
            conf.ACCESSORS[option]()  # raises ConfigError on a bad value
        transport = conf.transport()
    finally:
        monkeypatch.undo()
        conf.clear_cache()
    assert transport is not None and transport["type"] == "http"
    assert transport["url"] == "http://marquez-api:5000" and transport["endpoint"] == "api/v1/lineage"


def test_transport_reaches_marquez(services: dict[str, Any]) -> None:
    transport = json.loads(_env(services["airflow-scheduler"])[f"{PREFIX}TRANSPORT"])
    host, port = re.fullmatch(r"http://([\w-]+):(\d+)", transport["url"]).groups()  # type: ignore[union-attr]
    assert host == "marquez-api"
    marquez = _env(services["marquez-api"])
    assert port == marquez["MARQUEZ_PORT"]
    assert _published(services["marquez-api"])[int(port)] == int(port)
    web = _env(services["marquez-web"])
    assert (web["MARQUEZ_HOST"], web["MARQUEZ_PORT"]) == ("marquez-api", marquez["MARQUEZ_PORT"])
    assert _published(services["marquez-web"])[int(web["WEB_PORT"])] == 3000
    assert _published(services["airflow-api-server"])[8080] == 8080
    # one PostgreSQL service; its init script creates Marquez's and the examples' databases
    init_sql = "\n".join(p.read_text() for p in sorted((DOCKER / "postgres-init").glob("*.sql")))
    assert marquez["POSTGRES_HOST"] == "postgres"
    assert f"CREATE DATABASE {marquez['POSTGRES_DB']} OWNER {marquez['POSTGRES_USER']}" in init_sql
    assert "CREATE DATABASE orders" in init_sql


def test_examples_are_mounted_and_use_postgres(services: dict[str, Any]) -> None:
    for name in [*AIRFLOW_SERVICES, "airflow-init"]:
        service = services[name]
        mounts = {}
        for volume in service["volumes"]:
            source, target = str(volume).split(":")[:2]
            mounts[target] = source
        source = mounts.get("/opt/airflow/dags")
        assert source, f"{name} does not mount the DAGs folder"
        folder = (COMPOSE.parent / source).resolve()
        assert folder == ROOT / "dags" / "examples" and (folder / "orders_pipeline.py").is_file()
        env = _env(service)
        assert (
            env["AIRFLOW_CONN_ORDERS_DB"].startswith("postgresql://")
            and "@postgres:5432/orders" in env["AIRFLOW_CONN_ORDERS_DB"]
        )
        spool = env[f"{PREFIX}SPOOL_DIR"]
        assert mounts.get(spool), f"{name}: the spool dir {spool} is not on a volume (lost on restart)"
    postgres_mounts = {str(v).split(":")[1]: str(v).split(":")[0] for v in services["postgres"]["volumes"]}
    init_dir = (COMPOSE.parent / postgres_mounts["/docker-entrypoint-initdb.d"]).resolve()
    assert init_dir == DOCKER / "postgres-init"


def test_marquez_search_is_off_without_an_opensearch_service(services: dict[str, Any]) -> None:
    """Marquez's marquez.dev.yml (the image's configuration) has ``search.enabled: ${SEARCH_ENABLED:-true}``
    with host ``opensearch``: with no such service every lineage POST tries to index into a host that does
    not exist and logs an error with a stack trace per job and dataset (Marquez's own docker/up.sh sets
    SEARCH_ENABLED=false when it starts no search container)."""
    if any("opensearch" in str(service.get("image", "")) for service in services.values()):
        return
    assert _env(services["marquez-api"]).get("SEARCH_ENABLED") == "false"


def test_every_airflow_setting_is_an_option_airflow_declares(services: dict[str, Any]) -> None:
    """A misspelt or moved option (``AIRFLOW__CORE__SQL_ALCHEMY_CONN`` since 2.3, ``[webserver]`` options that
    went to ``[api]`` in 3.0) is silently ignored by Airflow: every ``AIRFLOW__<SECTION>__<KEY>`` must be one
    the Airflow under test declares (or this provider's; the official OpenLineage provider is not installed
    here, its one switch is listed)."""
    from airflow.configuration import conf as airflow_conf

    declared = airflow_conf.configuration_description
    others = {"openlineage": {"disabled"}}
    for name, service in services.items():
        for key in _env(service):
            if not key.startswith("AIRFLOW__"):
                continue
            section, _, option = key[len("AIRFLOW__") :].lower().partition("__")
            known = set((declared.get(section) or {}).get("options") or {}) | others.get(section, set())
            if section == SECTION:
                known |= set(OPTIONS)
            base = re.sub(r"_(cmd|secret)$", "", option)  # <option>_cmd / <option>_secret
            assert option in known or base in known, f"{name}: {key} is not an option of Airflow [{section}]"


def test_airflow_components_share_one_db_one_jwt_secret_and_reach_the_api_server(
    services: dict[str, Any],
) -> None:
    """Airflow 3 task runners talk to the API server's execution API with JWTs the scheduler signs: the URL
    must name the api-server service and its port, and every component must share the secret and the DB."""
    from urllib.parse import urlsplit

    envs = {name: _env(services[name]) for name in [*AIRFLOW_SERVICES, "airflow-init"]}
    for key in ("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__API_AUTH__JWT_SECRET"):
        values = {env.get(key) for env in envs.values()}
        assert len(values) == 1 and None not in values and "" not in values, (key, values)
    db = urlsplit(envs["airflow-scheduler"]["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    assert db.hostname == "postgres" and db.port == 5432 and db.path == "/airflow"
    url = urlsplit(envs["airflow-scheduler"]["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"])
    assert url.hostname == "airflow-api-server" and url.path == "/execution/"
    assert url.port in _published(services["airflow-api-server"])


def test_dockerfile_builds_on_the_airflow_the_tests_run(services: dict[str, Any]) -> None:
    """The image's Airflow and Python are the versions this suite tested, and the README names that image."""
    import airflow

    dockerfile = (DOCKER / "Dockerfile").read_text()
    base = re.search(r"^ARG AIRFLOW_IMAGE=(\S+)$", dockerfile, re.M)[1]  # type: ignore[index]
    expected = f"apache/airflow:{airflow.__version__}-python{sys.version_info[0]}.{sys.version_info[1]}"
    assert base == expected
    assert f"`{base}`" in (ROOT / "README.md").read_text()


def test_readme_docker_commands_match_the_compose_file(services: dict[str, Any]) -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Airflow + Marquez with Docker", 1)[1].split("\n## ", 1)[0]
    commands = re.search(r"```bash\n(.*?)```", section, re.S)[1]  # type: ignore[index]
    for line in filter(None, (line.split("#")[0].strip() for line in commands.splitlines())):
        file_arg = re.search(r"docker compose -f (\S+)", line)
        assert file_arg and (ROOT / file_arg[1]).resolve() == COMPOSE, line
        exec_ = re.search(r" exec (\S+) (\S+)", line)
        if exec_:
            assert exec_[1] in services, line
            assert exec_[2] in ("airflow", "airflow-lineage"), line
    for host_port in re.findall(r"<http://localhost:(\d+)>", section):
        assert any(int(host_port) in _published(s).values() for s in services.values()), host_port
    env = _env(services["airflow-scheduler"])
    namespace = re.search(r"namespace\s+`([^`]+)`\s+for\s+jobs,\s+`([^`]+)`\s+for\s+datasets", section)
    assert namespace, "the README names the job and dataset namespaces to look for in Marquez"
    assert namespace[1] == env[f"{PREFIX}NAMESPACE"]
    conn = env["AIRFLOW_CONN_ORDERS_DB"]
    assert namespace[2] == "postgres://" + conn.split("@", 1)[1].split("/", 1)[0], conn

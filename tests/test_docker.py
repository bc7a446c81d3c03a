"""The compose file is valid under the compose specification and wires what the README says:
PostgreSQL with a health check and a volume, optuna-dashboard, and workers that scale."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from tests.conftest import PROJECT_ROOT, unavailable

COMPOSE_FILE = PROJECT_ROOT / "docker" / "compose.yaml"


def compose_command() -> list[str]:
    docker = shutil.which("docker")
    if (
        docker
        and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0
    ):
        return [docker, "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    unavailable("neither `docker compose` nor `docker-compose` is installed")
    return []


@pytest.fixture(scope="module")
def resolved() -> dict:
    """The compose file as the compose tool reads it, validated against its schema."""
    result = subprocess.run(
        [*compose_command(), "-f", str(COMPOSE_FILE), "config"],
        capture_output=True,
        text=True,
        cwd=COMPOSE_FILE.parent,
        env={"PATH": "/usr/bin:/bin:/usr/local/bin", "HPO_DB_PASSWORD": "pw-from-env"},
    )
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def test_compose_file_is_valid_and_has_the_three_services(resolved):
    assert set(resolved["services"]) == {"postgres", "dashboard", "worker"}


def test_postgres_has_a_health_check_and_a_volume(resolved):
    postgres = resolved["services"]["postgres"]
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert any(v["target"] == "/var/lib/postgresql/data" for v in _volumes(postgres))
    assert "pgdata" in resolved["volumes"]


def test_every_hpo_service_reads_one_storage_url_from_the_environment(resolved):
    urls = {
        name: service["environment"]["HPO_STORAGE"]
        for name, service in resolved["services"].items()
        if name != "postgres"
    }
    assert set(urls) == {"dashboard", "worker"}
    assert len(set(urls.values())) == 1
    assert urls["worker"] == "postgresql+psycopg://hpo:pw-from-env@postgres:5432/hpo"
    assert resolved["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"] == "pw-from-env"


def test_workers_scale_and_wait_for_a_healthy_database(resolved):
    worker = resolved["services"]["worker"]
    # A fixed container name or host port would stop `--scale worker=N`.
    assert "container_name" not in worker and "ports" not in worker
    assert worker["command"][0] == "optimize"
    assert worker["depends_on"]["postgres"]["condition"] == "service_healthy"
    dashboard = resolved["services"]["dashboard"]
    assert dashboard["command"][0] == "dashboard"
    ports = [str(p.get("host_ip", "")) if isinstance(p, dict) else p for p in dashboard["ports"]]
    assert all("127.0.0.1" in p for p in ports)


def test_the_image_builds_cpu_torch_by_default_and_cuda_by_argument():
    dockerfile = (PROJECT_ROOT / "docker" / "Dockerfile").read_text()
    assert "ARG TORCH_VARIANT=cpu" in dockerfile
    assert "whl/cpu" in dockerfile
    raw = yaml.safe_load(COMPOSE_FILE.read_text())
    assert raw["services"]["worker"]["build"]["args"]["TORCH_VARIANT"].startswith("${")


def _volumes(service: dict) -> list[dict]:
    volumes = []
    for volume in service.get("volumes", []):
        if isinstance(volume, str):
            source, _, target = volume.partition(":")
            volume = {"source": source, "target": target.split(":")[0]}
        volumes.append(volume)
    return volumes

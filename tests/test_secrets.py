"""A database password given in a storage URL appears in no output, file, process list or
stored attribute."""

from __future__ import annotations

import json
import time
from pathlib import Path

import optuna
import pytest
from sqlalchemy.engine import make_url

from hpo.study.storage import mask_url
from tests.conftest import start_hpo, write_study
from tests.postgres import fresh_database

PASSWORD = "pw-Zq81-secret"


@pytest.fixture
def secret_url(postgres_server):
    with fresh_database(postgres_server, password_user=("hpo_secret_user", PASSWORD)) as url:
        assert PASSWORD in url
        yield url


def hpo(*args, cwd, env=None):
    return start_hpo(*args, cwd=cwd, env=env)


def command_lines_of_children(pid: int) -> list[str]:
    lines = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            ppid = int(next(x for x in status.splitlines() if x.startswith("PPid:")).split()[1])
            if ppid == pid:
                line = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                if line:  # a worker that just ended has none
                    lines.append(line)
        except (OSError, StopIteration, ValueError):
            continue
    return lines


def test_password_never_leaks(tmp_path, secret_url):
    study_file = write_study(tmp_path, data={"source": "builtin", "size": 600})
    outputs = []

    # Several workers: the URL reaches them through the environment, not the command line.
    run = hpo(
        "optimize",
        "--study",
        str(study_file),
        "--n-trials",
        "4",
        "--workers",
        "2",
        "--storage",
        secret_url,
        cwd=tmp_path,
    )
    children: list[str] = []
    while run.poll() is None:
        children += command_lines_of_children(run.pid)
        time.sleep(0.2)
    outputs += run.communicate()
    assert run.returncode == 0, outputs[-1]
    assert children and all("optimize" in line for line in children)

    for args, env in [
        (("best", "--study", str(study_file), "--storage", secret_url), None),
        (("best", "--study", str(study_file), "--json"), {"HPO_STORAGE": secret_url}),
        (("optimize", "--study", str(study_file), "--n-trials", "1"), {"HPO_STORAGE": secret_url}),
        # Failures print the URL they could not use: masked too.
        (("best", "--study", "nope", "--storage", secret_url), None),
        (
            ("best", "--study", "x", "--storage", secret_url.replace("127.0.0.1:", "127.0.0.1:1")),
            None,
        ),
        (("best", "--study", "x", "--storage", "postgresql+psycopg://u:" + PASSWORD + "@/x"), None),
    ]:
        process = hpo(*args, cwd=tmp_path, env=env)
        outputs += process.communicate(timeout=300)

    for text in outputs + children:
        assert PASSWORD not in text
    assert "***" in "".join(outputs)
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes(), path

    storage = optuna.storages.get_storage(secret_url)
    study = optuna.load_study(study_name="tiny", storage=storage)
    study_id = storage.get_study_id_from_name("tiny")
    stored = json.dumps(
        [study.user_attrs, storage.get_study_system_attrs(study_id)]
        + [[t.user_attrs, t.system_attrs] for t in study.get_trials()],
        default=str,
    )
    assert PASSWORD not in stored


SECRET = "Zq81secret"


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql+psycopg://hpo:{SECRET}@db.example.org:5432/hpo",
        f"postgresql+psycopg://hpo@db.example.org/hpo?password={SECRET}",
        f"postgresql+psycopg://hpo@db/hpo?sslmode=require&password={SECRET}&application_name=x",
        f"postgresql+psycopg://hpo@db/hpo?sslpassword={SECRET}",
        f"postgresql+psycopg://hpo@db/hpo?pass%77ord={SECRET}",
        f"postgresql+psycopg://hpo@db/hpo?PASSWORD={SECRET}",
        f"mysql+pymysql://hpo@db/hpo?passwd={SECRET}",
        f"postgresql+psycopg://hpo:{SECRET[:4]}%40{SECRET[4:]}@db/hpo",
        f"postgresql+psycopg://hpo:{SECRET[:4]}@{SECRET[4:]}@db/hpo",
        f"postgresql+psycopg://hpo:{SECRET[:4]}//{SECRET[4:]}@db/hpo",
        f"postgresql+psycopg://hpo@db:5432/hpo?password={SECRET[:4]}@{SECRET[4:]}",
        f"postgresql+psycopg://hpo:{SECRET}@db/hpo?password={SECRET}",
        f"hpo:{SECRET}@db/hpo",
    ],
    ids=[
        "user-password",
        "query",
        "query-among-others",
        "sslpassword",
        "encoded-name",
        "upper-case-name",
        "passwd",
        "encoded-at",
        "raw-at",
        "slashes",
        "query-with-at",
        "both",
        "no-scheme",
    ],
)
def test_every_form_of_password_is_masked(url):
    masked = mask_url(url)

    assert "***" in masked
    for fragment in (SECRET[:4], SECRET[4:]):
        assert fragment not in masked, masked


def test_password_as_a_query_parameter_never_leaks(tmp_path, secret_url):
    parsed = make_url(secret_url)
    url = parsed.set(password=None).update_query_dict({"password": PASSWORD})
    query_url = url.render_as_string(hide_password=False)
    assert f"password={PASSWORD}" in query_url
    study_file = write_study(tmp_path)
    storage = ("--storage", query_url)

    outputs = []
    for args in [
        ("optimize", "--study", str(study_file), "--n-trials", "1", *storage),
        ("studies", *storage),
        ("trials", "--study", "tiny", *storage),
        ("best", "--study", "tiny", "--json", *storage),
        ("report", "--study", "tiny", *storage),
        ("best", "--study", "nope", *storage),
    ]:
        process = hpo(*args, cwd=tmp_path)
        outputs += process.communicate(timeout=300)

    for text in outputs:
        assert PASSWORD not in text
    assert "password=***" in "".join(outputs)
    assert (tmp_path / "runs/tiny/report.html").is_file()
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes(), path

"""`hpo dashboard` serves optuna-dashboard on the study's store, on 127.0.0.1."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import optuna


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get_json(url: str, deadline: float):
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return json.loads(response.read())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def test_dashboard_lists_the_studies_of_the_store(tmp_path):
    storage = f"sqlite:///{tmp_path}/hpo.db"
    study = optuna.create_study(study_name="seen-in-dashboard", storage=storage)
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HPO_")}
    server = subprocess.Popen(
        [sys.executable, "-m", "hpo", "dashboard", "--storage", storage, "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        answer = get_json(f"http://127.0.0.1:{port}/api/studies", time.monotonic() + 60)
        names = [s["study_name"] for s in answer["study_summaries"]]
        assert names == ["seen-in-dashboard"]
        study_id = answer["study_summaries"][0]["study_id"]
        detail = get_json(f"http://127.0.0.1:{port}/api/studies/{study_id}", time.monotonic() + 10)
        assert len(detail["trials"]) == 3
        # Bound to loopback only unless told otherwise.
        listening = subprocess.run(
            ["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True
        ).stdout.splitlines()
        assert [line.split()[3] for line in listening] == [f"127.0.0.1:{port}"]
    finally:
        server.terminate()
        out, _ = server.communicate(timeout=30)
    assert f"http://127.0.0.1:{port}/" in out

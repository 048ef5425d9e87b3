"""The `tandem` command line, run as a user would (a real subprocess on a fresh data dir)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def run_cli(
    *args: str, env_extra: dict[str, str], input_text: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **env_extra}
    return subprocess.run(
        [sys.executable, "-m", "tandem", *args],
        capture_output=True,
        text=True,
        env=env,
        input=input_text,
        timeout=120,
        check=False,
    )


@pytest.fixture
def cli_env(tmp_path: Path, database_url: str) -> dict[str, str]:
    env = {"TANDEM_DATA_DIR": str(tmp_path / "data")}
    if database_url.startswith("postgresql"):
        env["TANDEM_DATABASE_URL"] = database_url
    return env


def test_workspace_create_and_list_json(cli_env: dict[str, str]) -> None:
    created = run_cli("workspace", "create", "Acme Support", "--json", env_extra=cli_env)
    assert created.returncode == 0, created.stderr
    workspace = json.loads(created.stdout)
    assert workspace["name"] == "Acme Support"
    assert workspace["widget_key"].startswith("wk_")
    listed = run_cli("workspace", "list", "--json", env_extra=cli_env)
    rows = json.loads(listed.stdout)
    assert [(r["id"], r["name"], r["widget_key"]) for r in rows] == [
        (workspace["id"], "Acme Support", workspace["widget_key"])
    ]
    if "TANDEM_DATABASE_URL" not in cli_env:
        assert (Path(cli_env["TANDEM_DATA_DIR"]) / "tandem.db").exists()


def test_duplicate_workspace_is_a_clean_error(cli_env: dict[str, str]) -> None:
    run_cli("workspace", "create", "Dup", env_extra=cli_env)
    again = run_cli("workspace", "create", "Dup", env_extra=cli_env)
    assert again.returncode == 2
    assert "already exists" in again.stderr
    assert "Traceback" not in again.stderr


def test_user_create_with_password_from_env(cli_env: dict[str, str]) -> None:
    run_cli("workspace", "create", "Team", env_extra=cli_env)
    env = {**cli_env, "TANDEM_NEW_PASSWORD": "a-good-password"}
    created = run_cli(
        "user",
        "create",
        "--workspace",
        "Team",
        "--email",
        "Ann@Team.test",
        "--name",
        "Ann",
        "--role",
        "supervisor",
        "--json",
        env_extra=env,
    )
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout) | {"id": None} == {
        "id": None,
        "email": "ann@team.test",
        "name": "Ann",
        "role": "supervisor",
        "workspace": "Team",
    }
    unknown = run_cli(
        "user", "create", "--workspace", "Nope", "--email", "b@x.test", "--name", "B", env_extra=env
    )
    assert unknown.returncode == 2
    assert "no workspace named 'Nope'" in unknown.stderr


def test_db_upgrade_is_idempotent(cli_env: dict[str, str]) -> None:
    for _ in range(2):
        result = run_cli("db", "upgrade", env_extra=cli_env)
        assert result.returncode == 0, result.stderr
        assert "up to date" in result.stdout


def test_production_refuses_placeholder_secret(cli_env: dict[str, str]) -> None:
    result = run_cli("workspace", "list", env_extra={**cli_env, "TANDEM_ENVIRONMENT": "production"})
    assert result.returncode != 0
    assert "TANDEM_SECRET_KEY" in result.stderr
    assert "Traceback" not in result.stderr


def test_train_then_list_promote_and_roll_back_model_versions(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    from tests.triage.training_data import EXAMPLES

    data = tmp_path / "examples.csv"
    lines = ["text,label"] + [f'"{t}",{intent}' for intent, ts in EXAMPLES.items() for t in ts]
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    run_cli("workspace", "create", "Shop", env_extra=cli_env)
    first = run_cli("train", "-w", "Shop", "--data", str(data), env_extra=cli_env)
    assert first.returncode == 0, first.stderr
    assert "Model version 1 is active for Shop." in first.stdout
    second = run_cli("train", "-w", "Shop", env_extra=cli_env)
    assert second.returncode == 0, second.stderr
    listed = run_cli("model", "list", "-w", "Shop", "--json", env_extra=cli_env)
    assert listed.returncode == 0, listed.stderr
    versions = {v["version"]: v for v in json.loads(listed.stdout)}
    assert versions[1]["promotion_reason"].startswith("first model")
    # Nothing new since version 1: no examples neither version has seen, so no promotion.
    assert versions[2]["trigger"] == "cli" and versions[2]["evaluation"]["held_out"] == 0
    assert versions[2]["status"] == "candidate"
    assert "stays a candidate" in second.stdout and "tandem model promote 2" in second.stdout
    back = run_cli("model", "rollback", "1", "-w", "Shop", "--reason", "test", env_extra=cli_env)
    assert back.returncode == 0 and "Model version 1 is active for Shop." in back.stdout
    missing = run_cli("model", "promote", "9", "-w", "Shop", env_extra=cli_env)
    assert missing.returncode == 2 and "no model version 9" in missing.stderr
    assert "Traceback" not in missing.stderr

"""Settings from the environment, and secrets generated once into the instance folder."""
import os
import stat
import threading

import pytest

from app.config import ConfigError, load_config, normalize_database_url, read_or_create_secret


@pytest.fixture
def clean_env(monkeypatch):
    for name in ("DATABASE_URL", "REDIS_URL", "EXECUTIONS_MODE", "SECRET_KEY", "ENCRYPTION_KEY",
                 "PUBLIC_URL", "SESSION_COOKIE_SECURE", "LOGIN_MAX_FAILURES"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_defaults_are_embedded_sqlite_and_inline(clean_env, tmp_path):
    config = load_config(str(tmp_path))
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/flowforge.db"
    assert config["EXECUTIONS_MODE"] == "inline"
    assert config["REDIS_URL"] == ""
    assert config["SESSION_COOKIE_HTTPONLY"] and config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_secrets_are_generated_once_with_mode_0600(clean_env, tmp_path):
    first = load_config(str(tmp_path))
    second = load_config(str(tmp_path))
    assert first["SECRET_KEY"] == second["SECRET_KEY"] and len(first["SECRET_KEY"]) > 40
    assert first["ENCRYPTION_KEY"] == second["ENCRYPTION_KEY"]
    for name in ("secret_key", "encryption_key"):
        assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == 0o600
    assert sorted(os.listdir(tmp_path)) == ["encryption_key", "secret_key"], "no temporary files left"


def test_concurrent_first_starts_agree_on_one_secret(tmp_path):
    results = []
    threads = [threading.Thread(target=lambda: results.append(
        read_or_create_secret(str(tmp_path), "secret_key", lambda: os.urandom(16).hex()))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(results)) == 1 and len(results) == 8


def test_environment_wins(clean_env, tmp_path):
    clean_env.setenv("SECRET_KEY", "from-env")
    clean_env.setenv("DATABASE_URL", "postgres://u@db.example/flowforge")
    clean_env.setenv("EXECUTIONS_MODE", "queue")
    clean_env.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    clean_env.setenv("SESSION_COOKIE_SECURE", "true")
    config = load_config(str(tmp_path))
    assert config["SECRET_KEY"] == "from-env"
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql://u@db.example/flowforge"
    assert config["EXECUTIONS_MODE"] == "queue" and config["SESSION_COOKIE_SECURE"] is True
    assert not (tmp_path / "secret_key").exists()


@pytest.mark.parametrize("env, message", [
    ({"EXECUTIONS_MODE": "cluster"}, "EXECUTIONS_MODE must be one of inline, queue, got 'cluster'"),
    ({"EXECUTIONS_MODE": "queue"}, "EXECUTIONS_MODE=queue needs REDIS_URL"),
    ({"LOGIN_MAX_FAILURES": "ten"}, "LOGIN_MAX_FAILURES must be a whole number, got 'ten'"),
])
def test_bad_settings_are_refused_with_a_message(clean_env, tmp_path, env, message):
    for name, value in env.items():
        clean_env.setenv(name, value)
    with pytest.raises(ConfigError, match=message):
        load_config(str(tmp_path))


def test_postgres_scheme_is_normalised():
    assert normalize_database_url("postgres://a/b") == "postgresql://a/b"
    assert normalize_database_url("sqlite:///x.db") == "sqlite:///x.db"

"""Reaching the real services the tests use (Redis, PostgreSQL, MariaDB on 127.0.0.1).

A test whose service is down is skipped with the reason, except under REQUIRE_SERVICES=1 (CI),
where it fails: CI must never pass by skipping.
"""
import os
import socket

import pytest

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def port_open(host, port):
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require(name, host, port):
    if port_open(host, port):
        return
    message = f"{name} is not reachable on {host}:{port}"
    if os.environ.get("REQUIRE_SERVICES") == "1":
        pytest.fail(f"{message} (REQUIRE_SERVICES=1)")
    pytest.skip(message)


def require_redis():
    require("Redis", "127.0.0.1", 6379)


def require_postgres():
    require("PostgreSQL", "127.0.0.1", 5432)

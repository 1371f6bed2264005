"""/healthz reports the database and Redis, and answers 503 when one is down."""
from tests import services
from tests.conftest import make_app


def test_healthy_without_redis(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ok", "database": "ok", "redis": "not configured", "executions_mode": "inline",
    }


def test_healthy_with_the_real_redis(sqlite_url):
    services.require_redis()
    app = make_app(sqlite_url, REDIS_URL=services.REDIS_URL)
    body = app.test_client().get("/healthz").get_json()
    assert body["redis"] == "ok" and body["status"] == "ok"


def test_redis_down_is_503(sqlite_url):
    app = make_app(sqlite_url, REDIS_URL="redis://127.0.0.1:1/0")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["redis"].startswith("down: ")
    assert response.get_json()["status"] == "error"


def test_database_down_is_503(tmp_path):
    app = make_app(f"sqlite:///{tmp_path}/missing-dir/none.db")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"].startswith("down: ")

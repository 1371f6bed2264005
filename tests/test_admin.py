"""The RQ dashboard at /admin/rq: owner and admins only, queue mode only."""
import pytest

from tests import services
from tests.conftest import create_user, make_app
from tests.helpers import login


@pytest.fixture
def queue_app(sqlite_url):
    services.require_redis()
    app = make_app(sqlite_url, EXECUTIONS_MODE="queue", REDIS_URL=services.REDIS_URL)
    create_user(app)
    create_user(app, "ada@example.com", "admin-password", role="admin", name="Ada")
    create_user(app, "mia@example.com", "member-password", role="member", name="Mia")
    return app


def client_for(app, email, password):
    client = app.test_client()
    assert login(client, email, password).status_code == 302
    return client


def test_admins_and_the_owner_see_the_dashboard(queue_app):
    for email, password in (("owner@example.com", "correct horse battery"), ("ada@example.com", "admin-password")):
        client = client_for(queue_app, email, password)
        response = client.get("/admin/rq/")
        assert response.status_code == 200
        assert "<title>RQ dashboard</title>" in response.get_data(as_text=True)
        assert client.get("/admin/rq/0/data/queues.json").status_code == 200


def test_members_are_refused(queue_app):
    member = client_for(queue_app, "mia@example.com", "member-password")
    assert member.get("/admin/rq/").status_code == 403
    assert member.get("/admin/rq/0/data/queues.json").status_code == 403


def test_anonymous_visitors_are_sent_to_the_login_page(queue_app):
    response = queue_app.test_client().get("/admin/rq/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_dashboards_posts_need_the_csrf_token_it_is_given(queue_app):
    client = client_for(queue_app, "ada@example.com", "admin-password")
    page = client.get("/admin/rq/")
    token = client.get_cookie("_csrf_token", path="/admin/rq")
    assert token is not None and "HttpOnly" not in page.headers.get("Set-Cookie", "")
    assert client.post("/admin/rq/queue/flowforge-test-empty/finished/empty").status_code == 400
    response = client.post("/admin/rq/queue/flowforge-test-empty/finished/empty", headers={"X-CSRFToken": token.value})
    assert response.status_code == 200


def test_requeue_all_is_post_only(queue_app):
    client = client_for(queue_app, "ada@example.com", "admin-password")
    assert client.get("/admin/rq/requeue/flowforge-test-empty").status_code == 405


def test_there_is_no_dashboard_in_inline_mode(owner_client):
    assert owner_client.get("/admin/rq/").status_code == 404

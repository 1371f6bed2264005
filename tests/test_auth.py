"""Setup, login, lock-out, CSRF and the login gate on every route."""
import re
from datetime import timedelta

import pytest
from flask import url_for

from app.extensions import db
from app.models import AuditLog, User
from tests.conftest import create_user
from tests.helpers import OWNER_EMAIL, OWNER_PASSWORD, csrf_token, login, post_form

PUBLIC_ENDPOINTS = {"static", "auth.setup", "auth.login", "health.healthz"}


def test_first_visit_goes_to_setup_and_creates_the_owner(client, app):
    response = client.get("/workflows")
    assert response.status_code == 302 and response.headers["Location"] == "/setup"
    assert client.get("/login").headers["Location"] == "/setup"
    response = post_form(client, "/setup", {
        "name": "Olive", "email": "Olive@Example.com", "password": OWNER_PASSWORD, "confirm": OWNER_PASSWORD,
    })
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    with app.app_context():
        owner = User.query.one()
        assert (owner.email, owner.role, owner.name) == ("olive@example.com", "owner", "Olive")
    assert client.get("/setup").headers["Location"] == "/login", "setup is closed once an owner exists"


def test_setup_refuses_bad_input_and_stores_nothing(client, app):
    response = post_form(client, "/setup", {"email": "a@b.c", "password": "short", "confirm": "short"})
    assert response.status_code == 200
    assert "at least 8 characters" in response.get_data(as_text=True)
    response = post_form(client, "/setup", {"email": "a@b.c", "password": OWNER_PASSWORD, "confirm": "different!!"})
    assert "The passwords differ." in response.get_data(as_text=True)
    with app.app_context():
        assert User.query.count() == 0


def test_login_and_logout(client, owner):
    response = login(client)
    assert response.status_code == 302 and response.headers["Location"] == "/workflows"
    assert client.get("/workflows").status_code == 200
    response = post_form(client, "/logout", page="/workflows")
    assert response.headers["Location"] == "/login"
    assert client.get("/workflows").status_code == 302


def test_wrong_password_is_refused_with_a_message(client, owner):
    response = login(client, password="not the password")
    assert response.status_code == 401
    assert "The email or the password is wrong." in response.get_data(as_text=True)
    assert client.get("/workflows").status_code == 302


def test_login_follows_next_but_never_off_site(client, owner):
    page = client.get("/workflows?tag=x").headers["Location"]
    assert page == "/login?next=/workflows?tag%3Dx"
    response = post_form(client, page, {"email": OWNER_EMAIL, "password": OWNER_PASSWORD})
    assert response.headers["Location"] == "/workflows?tag=x"
    other = post_form(client.application.test_client(), "/login?next=https://evil.example/",
                      {"email": OWNER_EMAIL, "password": OWNER_PASSWORD}, page="/login")
    assert other.headers["Location"] == "/workflows"


def test_disabled_user_cannot_log_in(client, app, owner):
    create_user(app, "mia@example.com", "member-password", role="member")
    with app.app_context():
        User.by_email("mia@example.com").disabled = True
        db.session.commit()
    assert login(client, "mia@example.com", "member-password").status_code == 401


def test_lockout_after_ten_failures_for_an_account(client, app, owner):
    for _ in range(10):
        assert login(client, password="guess").status_code == 401
    response = login(client)  # the right password no longer helps
    assert response.status_code == 429
    assert re.search(r"Too many failed logins .* Try again in 1[45] minutes\.", response.get_data(as_text=True))
    assert client.get("/workflows").status_code == 302
    _age_failures(app, minutes=16)
    assert login(client).status_code == 302, "the lock-out lifts after 15 minutes"


def test_lockout_counts_per_address_across_accounts(client, app, owner):
    for n in range(10):
        login(client, email=f"nobody{n}@example.com", password="guess")
    response = login(client)
    assert response.status_code == 429
    other_address = app.test_client()
    response = post_form(other_address, "/login", {"email": OWNER_EMAIL, "password": OWNER_PASSWORD},
                         environ_base={"REMOTE_ADDR": "10.9.8.7"})
    assert response.status_code == 302, "another address can still log in to the account"


def test_a_successful_login_resets_the_account_count(client, owner):
    for _ in range(9):
        login(client, password="guess")
    assert login(client).status_code == 302
    post_form(client, "/logout", page="/workflows")
    other = client.application.test_client()
    for _ in range(9):
        post_form(other, "/login", {"email": OWNER_EMAIL, "password": "guess"},
                  environ_base={"REMOTE_ADDR": "10.1.1.1"})
    response = post_form(other, "/login", {"email": OWNER_EMAIL, "password": OWNER_PASSWORD},
                         environ_base={"REMOTE_ADDR": "10.1.1.1"})
    assert response.status_code == 302


def _age_failures(app, minutes):
    with app.app_context():
        for entry in AuditLog.query.filter_by(action="login.failed"):
            entry.created_at -= timedelta(minutes=minutes)
        db.session.commit()


@pytest.mark.parametrize("url, data", [
    ("/login", {"email": OWNER_EMAIL, "password": OWNER_PASSWORD}),
    ("/workflows/new", {"name": "No token"}),
    ("/workflows/import", {"text": '{"name": "x", "nodes": []}'}),
    ("/logout", {}),
])
def test_forms_without_a_csrf_token_are_rejected(owner_client, app, url, data):
    response = owner_client.post(url, data=data)
    assert response.status_code == 400
    assert "security token" in response.get_data(as_text=True)
    with app.app_context():
        from app.models import Workflow

        assert Workflow.query.count() == 0


def test_csrf_token_from_another_session_is_rejected(owner_client, app):
    foreign = csrf_token(app.test_client())
    response = owner_client.post("/workflows/new", data={"name": "x", "csrf_token": foreign})
    assert response.status_code == 400


def test_every_route_but_the_public_ones_needs_login(app, owner):
    """Walk the URL map: every GET and every POST (even with a valid CSRF token) goes to login."""
    client = app.test_client()
    token = csrf_token(client)
    with app.test_request_context():
        rules = [(rule, url_for(rule.endpoint, **{arg: 1 for arg in rule.arguments}))
                 for rule in app.url_map.iter_rules() if rule.endpoint not in PUBLIC_ENDPOINTS]
    checked = set()
    for rule, url in rules:
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method, data={"csrf_token": token})
            assert response.status_code == 302, (method, url, response.status_code)
            assert response.headers["Location"].startswith("/login"), (method, url)
            checked.add(rule.endpoint)
    assert {"workflows.index", "workflows.save_json", "settings.users", "auth.logout"} <= checked
    assert len(checked) >= 18


def test_htmx_requests_are_sent_to_login_with_hx_redirect(app, owner):
    response = app.test_client().get("/workflows", headers={"HX-Request": "true"})
    assert response.status_code == 204
    assert response.headers["HX-Redirect"].startswith("/login")


def test_public_endpoints_answer_without_login(app, owner):
    client = app.test_client()
    assert client.get("/login").status_code == 200
    assert client.get("/healthz").status_code == 200
    assert client.get("/static/css/app.css").status_code == 200


def test_session_cookie_is_httponly_and_samesite(client, owner):
    response = login(client)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie

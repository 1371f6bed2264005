"""User management by the owner and admins, and a user's own password."""
import pytest

from app.extensions import db
from app.models import User
from tests.conftest import create_user
from tests.helpers import login, post_form


def text(response):
    return response.get_data(as_text=True)


def user_id(app, email):
    with app.app_context():
        return User.by_email(email).id


def test_owner_adds_a_user_who_can_then_log_in(owner_client, app):
    response = post_form(owner_client, "/settings/users", {
        "name": "Mia", "email": "Mia@Example.com", "role": "member", "password": "member-password",
    })
    assert response.status_code == 302
    assert "mia@example.com" in text(owner_client.get("/settings/users"))
    assert login(app.test_client(), "mia@example.com", "member-password").status_code == 302


@pytest.mark.parametrize("data, message", [
    ({"email": "owner@example.com", "role": "member", "password": "long-enough"}, "already exists"),
    ({"email": "x@example.com", "role": "member", "password": "short"}, "at least 8 characters"),
    ({"email": "x@example.com", "role": "owner", "password": "long-enough"}, "Not a valid choice"),
])
def test_adding_a_user_refuses_bad_input(owner_client, app, data, message):
    response = post_form(owner_client, "/settings/users", data)
    assert response.status_code == 200 and message in text(response)
    with app.app_context():
        assert User.query.count() == 1


def test_owner_resets_a_password_and_changes_a_role(owner_client, app):
    create_user(app, "mia@example.com", "member-password", role="member")
    url = f"/settings/users/{user_id(app, 'mia@example.com')}"
    response = post_form(owner_client, f"{url}/password", {"password": "brand-new-pass", "confirm": "brand-new-pass"}, page=url)
    assert response.status_code == 302
    assert login(app.test_client(), "mia@example.com", "member-password").status_code == 401
    assert login(app.test_client(), "mia@example.com", "brand-new-pass").status_code == 302
    post_form(owner_client, url, {"role": "admin"})
    with app.app_context():
        assert User.by_email("mia@example.com").role == "admin"
    response = post_form(owner_client, f"{url}/password", {"password": "x", "confirm": "x"}, page=url)
    assert response.status_code == 422 and "at least 8 characters" in text(response)


def test_disabling_a_user_locks_them_out(owner_client, app):
    create_user(app, "mia@example.com", "member-password", role="member")
    member = app.test_client()
    login(member, "mia@example.com", "member-password")
    assert member.get("/workflows").status_code == 200
    url = f"/settings/users/{user_id(app, 'mia@example.com')}"
    post_form(owner_client, url, {"role": "member", "disabled": "y"})
    assert member.get("/workflows").status_code == 302, "an open session ends when the user is disabled"


def test_members_cannot_manage_users(app, owner):
    create_user(app, "mia@example.com", "member-password", role="member")
    member = app.test_client()
    login(member, "mia@example.com", "member-password")
    assert member.get("/settings/users").status_code == 403
    assert member.get(f"/settings/users/{user_id(app, 'owner@example.com')}").status_code == 403


def test_admins_manage_members_but_not_the_owner(app, owner):
    create_user(app, "ada@example.com", "admin-password", role="admin")
    create_user(app, "mia@example.com", "member-password", role="member")
    admin = app.test_client()
    login(admin, "ada@example.com", "admin-password")
    assert admin.get(f"/settings/users/{user_id(app, 'mia@example.com')}").status_code == 200
    owner_url = f"/settings/users/{user_id(app, 'owner@example.com')}"
    assert admin.get(owner_url).status_code == 403
    response = post_form(admin, f"{owner_url}/password", {"password": "hijacked-pass", "confirm": "hijacked-pass"},
                         page="/settings/users")
    assert response.status_code == 403
    assert login(app.test_client(), "owner@example.com", "hijacked-pass").status_code == 401


def test_owner_role_cannot_be_changed(owner_client, app):
    url = f"/settings/users/{user_id(app, 'owner@example.com')}"
    post_form(owner_client, url, {"role": "member"}, page="/settings/account")
    with app.app_context():
        assert User.by_email("owner@example.com").role == "owner"


def test_change_own_password(owner_client, app):
    response = post_form(owner_client, "/settings/account", {"current": "wrong", "password": "new-password-1", "confirm": "new-password-1"})
    assert "That is not your current password." in text(response)
    response = post_form(owner_client, "/settings/account", {
        "current": "correct horse battery", "password": "new-password-1", "confirm": "new-password-1",
    })
    assert response.status_code == 302
    assert login(app.test_client(), password="new-password-1").status_code == 302
    with app.app_context():
        assert db.session.query(User).filter_by(email="owner@example.com").one().check_password("new-password-1")

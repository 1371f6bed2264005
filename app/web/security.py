"""Login is required everywhere by default; views opt out with @public."""
from functools import wraps

from flask import abort, current_app, jsonify, request, url_for
from flask_login import current_user

from app.extensions import db, login_manager
from app.models import User
from app.web import htmx


def public(view):
    """Mark a view as reachable without logging in (setup, login, health, public webhooks)."""
    view.is_public = True
    return view


def admin_required(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


@login_manager.user_loader
def load_user(user_id):
    user = db.session.get(User, int(user_id))
    return user if user and user.is_active else None


_HAS_USERS = "flowforge_has_users"


def has_users():
    """Whether the owner has been set up; once true it stays true, so one query per process."""
    if current_app.extensions.get(_HAS_USERS):
        return True
    found = db.session.query(User.id).limit(1).first() is not None
    current_app.extensions[_HAS_USERS] = found
    return found


def mark_has_users():
    current_app.extensions[_HAS_USERS] = True


def _is_public_endpoint():
    if request.endpoint in (None, "static"):
        return True
    view = current_app.view_functions.get(request.endpoint)
    return getattr(view, "is_public", False)


def _login_redirect(endpoint):
    target = url_for(endpoint, next=request.full_path.rstrip("?")) if endpoint == "auth.login" else url_for(endpoint)
    if request.accept_mimetypes.best == "application/json" and not htmx.is_htmx():
        return jsonify(error="Login required."), 401
    return htmx.redirect(target)


def enforce_login():
    """before_request hook: no users yet → setup; not logged in → login page."""
    if _is_public_endpoint():
        return None
    if not has_users():
        return _login_redirect("auth.setup")
    if not current_user.is_authenticated:
        return _login_redirect("auth.login")
    return None

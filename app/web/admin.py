"""The RQ dashboard at /admin/rq, for the owner and admins, in queue mode only.

rq-dashboard is a blueprint without authentication of its own; the app's login gate already
covers it, and the hook below narrows it to admins. Its templates name their endpoints
`rq_dashboard.*`, so it is registered as a top-level blueprint rather than nested in one of ours.
"""
from flask import abort, request
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

URL_PREFIX = "/admin/rq"
# The dashboard's JavaScript sends this cookie's value as X-CSRFToken with its POSTs (delete,
# requeue, empty), which Flask-WTF checks like a form's token; CSRF stays on for the dashboard.
CSRF_COOKIE = "_csrf_token"


def init_app(app):
    if app.config["EXECUTIONS_MODE"] != "queue":
        return  # no queue to show: /admin/rq stays a 404
    import rq_dashboard
    from rq_dashboard.web import setup_rq_connection

    app.config.setdefault("RQ_DASHBOARD_REDIS_URL", app.config["REDIS_URL"])
    # Creates a client only; nothing connects to Redis until a dashboard page asks.
    setup_rq_connection(app)
    app.register_blueprint(rq_dashboard.blueprint, url_prefix=URL_PREFIX)
    app.before_request(_admins_only)
    app.after_request(_csrf_cookie)


def _is_dashboard():
    return request.blueprint == "rq_dashboard"


def _admins_only():
    if not _is_dashboard():
        return
    if not (current_user.is_authenticated and current_user.is_admin):
        abort(403)
    # The dashboard also accepts GET for "requeue all", which CSRF protection does not cover and
    # a link on another site could trigger; its own page uses POST.
    if request.endpoint == "rq_dashboard.requeue_all" and request.method != "POST":
        abort(405)


def _csrf_cookie(response):
    if _is_dashboard() and current_user.is_authenticated:
        response.set_cookie(CSRF_COOKIE, generate_csrf(), path=URL_PREFIX, samesite="Lax",
                            secure=request.is_secure)
    return response

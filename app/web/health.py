"""`/healthz`: is the database (and Redis, when configured) reachable? 503 when not."""
from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from app.extensions import db
from app.web.security import public

bp = Blueprint("health", __name__)


def _database_state():
    try:
        db.session.execute(text("SELECT 1"))
        return "ok"
    except Exception as exc:  # any driver error means "down"; the message says which
        db.session.rollback()
        return f"down: {type(exc).__name__}"


def _redis_state(url):
    if not url:
        return "not configured"
    from redis import Redis

    try:
        Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2).ping()
        return "ok"
    except Exception as exc:  # connection, auth and timeout errors all mean "down"
        return f"down: {type(exc).__name__}"


@bp.route("/healthz")
@public
def healthz():
    checks = {"database": _database_state(), "redis": _redis_state(current_app.config["REDIS_URL"])}
    healthy = all(state in ("ok", "not configured") for state in checks.values())
    body = {"status": "ok" if healthy else "error", **checks,
            "executions_mode": current_app.config["EXECUTIONS_MODE"]}
    return jsonify(body), 200 if healthy else 503

"""Column helpers shared by the models."""
import secrets
import string
from datetime import datetime, timezone

from app.extensions import db

_ALPHABET = string.ascii_letters + string.digits


def utcnow():
    return datetime.now(timezone.utc).replace(tzinfo=None)


def new_id(length=16):
    """n8n-style opaque string id (workflows and credentials are addressed by these)."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def created_at_column():
    return db.Column(db.DateTime, nullable=False, default=utcnow)


def updated_at_column():
    return db.Column(db.DateTime, nullable=False, default=utcnow, onupdate=utcnow)

"""Instance-wide objects: variables, API keys and the audit log."""
import hashlib
import secrets

from app.extensions import db
from app.models.base import created_at_column, updated_at_column

API_KEY_PREFIX = "ffk_"


class Variable(db.Model):
    __tablename__ = "variables"

    id = db.Column(db.Integer, primary_key=True)
    key = db.Column(db.String(255), nullable=False, unique=True)
    value = db.Column(db.Text, nullable=False, default="")
    type = db.Column(db.String(16), nullable=False, default="string")
    created_at = created_at_column()
    updated_at = updated_at_column()


class ApiKey(db.Model):
    __tablename__ = "api_keys"

    id = db.Column(db.Integer, primary_key=True)
    user_id = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    label = db.Column(db.String(100), nullable=False, default="")
    # Only a hash is kept; the prefix lets a user recognise a key in the list.
    key_hash = db.Column(db.String(64), nullable=False, unique=True)
    prefix = db.Column(db.String(16), nullable=False)
    created_at = created_at_column()
    last_used_at = db.Column(db.DateTime)

    user = db.relationship("User")

    @staticmethod
    def hash_key(raw):
        # API keys are long random tokens, so a fast hash suffices (no dictionary to attack).
        return hashlib.sha256(raw.encode()).hexdigest()

    @classmethod
    def issue(cls, user, label=""):
        """Create a key for `user`; returns (row, raw key). The raw key is shown once only."""
        raw = API_KEY_PREFIX + secrets.token_urlsafe(32)
        row = cls(user_id=user.id, label=label, key_hash=cls.hash_key(raw), prefix=raw[:10])
        db.session.add(row)
        return row, raw

    @classmethod
    def find(cls, raw):
        return cls.query.filter_by(key_hash=cls.hash_key(raw or "")).first()


class AuditLog(db.Model):
    __tablename__ = "audit_log"

    id = db.Column(db.Integer, primary_key=True)
    created_at = created_at_column()
    user_id = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="SET NULL"))
    actor = db.Column(db.String(255))
    ip = db.Column(db.String(64))
    action = db.Column(db.String(64), nullable=False)
    target_type = db.Column(db.String(32))
    target_id = db.Column(db.String(64))
    detail = db.Column(db.JSON)
    __table_args__ = (
        db.Index("ix_audit_log_action_actor", "action", "actor", "created_at"),
        db.Index("ix_audit_log_action_ip", "action", "ip", "created_at"),
    )

    @classmethod
    def record(cls, action, user=None, actor=None, ip=None, target=None, **detail):
        entry = cls(
            action=action, user_id=user.id if user else None,
            actor=actor or (user.email if user else None), ip=ip,
            target_type=type(target).__tablename__ if target is not None else None,
            target_id=str(target.id) if target is not None else None,
            detail=detail or None,
        )
        db.session.add(entry)
        return entry

"""Stored credentials: the secret part is an encrypted blob, tagged with the key that made it."""
from app.extensions import db
from app.models.base import created_at_column, new_id, updated_at_column


class Credential(db.Model):
    __tablename__ = "credentials"

    id = db.Column(db.String(16), primary_key=True, default=new_id)
    name = db.Column(db.String(255), nullable=False)
    type = db.Column(db.String(128), nullable=False, index=True)
    encrypted_data = db.Column(db.LargeBinary, nullable=False)
    key_id = db.Column(db.String(32), nullable=False)
    owner_id = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    created_at = created_at_column()
    updated_at = updated_at_column()

"""Accounts and their roles."""
from flask_login import UserMixin
from werkzeug.security import check_password_hash, generate_password_hash

from app.extensions import db
from app.models.base import created_at_column, utcnow

ROLES = ("owner", "admin", "member")
MIN_PASSWORD_LENGTH = 8


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id = db.Column(db.Integer, primary_key=True)
    email = db.Column(db.String(255), nullable=False, unique=True)
    name = db.Column(db.String(255), nullable=False, default="")
    password_hash = db.Column(db.String(255), nullable=False)
    role = db.Column(db.String(16), nullable=False, default="member")
    disabled = db.Column(db.Boolean, nullable=False, default=False)
    created_at = created_at_column()
    last_login_at = db.Column(db.DateTime)

    @staticmethod
    def normalize_email(email):
        return (email or "").strip().lower()

    def set_password(self, password):
        self.password_hash = generate_password_hash(password, method="scrypt")

    def check_password(self, password):
        return check_password_hash(self.password_hash, password)

    @property
    def is_active(self):
        return not self.disabled

    @property
    def is_admin(self):
        return self.role in ("owner", "admin")

    def can_manage(self, other):
        """Owner manages everyone; admins manage everyone but the owner."""
        if self.role == "owner":
            return True
        return self.role == "admin" and other.role != "owner"

    def record_login(self):
        self.last_login_at = utcnow()

    @property
    def display_name(self):
        return self.name or self.email

    @classmethod
    def by_email(cls, email):
        return cls.query.filter_by(email=cls.normalize_email(email)).first()

    @classmethod
    def create(cls, email, password, name="", role="member"):
        """Validate and add a user to the session; raises ValueError with a user-facing message."""
        email = cls.normalize_email(email)
        if "@" not in email or len(email) < 3:
            raise ValueError("Enter a valid email address.")
        if role not in ROLES:
            raise ValueError(f"Role must be one of: {', '.join(ROLES)}.")
        if len(password or "") < MIN_PASSWORD_LENGTH:
            raise ValueError(f"The password needs at least {MIN_PASSWORD_LENGTH} characters.")
        if cls.by_email(email):
            raise ValueError(f"A user with the email {email} already exists.")
        user = cls(email=email, name=(name or "").strip(), role=role)
        user.set_password(password)
        db.session.add(user)
        return user

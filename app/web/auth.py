"""Owner setup, login (with lock-out after repeated failures) and logout."""
from datetime import timedelta
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from app.extensions import db
from app.models import AuditLog, User
from app.models.base import utcnow
from app.models.user import MIN_PASSWORD_LENGTH
from app.web.security import has_users, mark_has_users, public

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired()])
    password = PasswordField("Password", validators=[DataRequired()])
    remember = BooleanField("Keep me logged in")


class SetupForm(FlaskForm):
    name = StringField("Your name", validators=[Length(max=255)])
    email = EmailField("Email", validators=[DataRequired()])
    password = PasswordField("Password", validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH)])
    confirm = PasswordField("Repeat the password", validators=[EqualTo("password", "The passwords differ.")])


def client_ip():
    return request.remote_addr or "unknown"


def _failures_since(since, **match):
    query = AuditLog.query.filter_by(action="login.failed", **match).filter(AuditLog.created_at >= since)
    return query.order_by(AuditLog.created_at.desc())


def lockout_until(email, ip):
    """When the account or address may try again, or None when it is not locked out.

    Failures count within a sliding window; an account's count restarts at its last successful
    login, an address's does not (one valid account must not shield an address guessing others).
    """
    limit = current_app.config["LOGIN_MAX_FAILURES"]
    window = timedelta(minutes=current_app.config["LOGIN_LOCKOUT_MINUTES"])
    since = utcnow() - window
    last_success = (
        AuditLog.query.filter_by(action="login.succeeded", actor=email)
        .filter(AuditLog.created_at >= since).order_by(AuditLog.created_at.desc()).first()
    )
    account_since = max(since, last_success.created_at) if last_success else since
    until = None
    for failures in (_failures_since(account_since, actor=email), _failures_since(since, ip=ip)):
        oldest_that_counts = failures.offset(limit - 1).first()
        if oldest_that_counts is not None:
            candidate = oldest_that_counts.created_at + window
            until = max(until, candidate) if until else candidate
    return until


def _safe_next(target):
    """Only same-site paths: a login form must not become an open redirect."""
    if not target:
        return url_for("workflows.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("workflows.index")
    return target


@bp.route("/setup", methods=["GET", "POST"])
@public
def setup():
    if has_users():
        return redirect(url_for("auth.login"))
    form = SetupForm()
    if form.validate_on_submit():
        try:
            user = User.create(form.email.data, form.password.data, form.name.data, role="owner")
        except ValueError as exc:
            form.email.errors.append(str(exc))
        else:
            AuditLog.record("user.created", user=user, ip=client_ip(), role="owner")
            db.session.commit()
            mark_has_users()
            flash("Welcome to FlowForge. Your owner account is ready; log in to start.", "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/setup.html", form=form)


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    if not has_users():
        return redirect(url_for("auth.setup"))
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        email, ip = User.normalize_email(form.email.data), client_ip()
        until = lockout_until(email, ip)
        if until:
            minutes = max(1, int((until - utcnow()).total_seconds() // 60) + 1)
            form.form_errors.append(
                f"Too many failed logins for this account or address. Try again in {minutes} minute"
                f"{'s' if minutes != 1 else ''}."
            )
            status = 429
        else:
            user = User.by_email(email)
            if user and user.is_active and user.check_password(form.password.data):
                login_user(user, remember=form.remember.data)
                user.record_login()
                AuditLog.record("login.succeeded", user=user, ip=ip)
                db.session.commit()
                return redirect(_safe_next(request.args.get("next")))
            AuditLog.record("login.failed", actor=email, ip=ip)
            db.session.commit()
            form.form_errors.append("The email or the password is wrong.")
            status = 401
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
def logout():
    logout_user()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))

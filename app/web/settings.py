"""Settings: the user's own account, and user management for the owner and admins."""
from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length

from app.extensions import db
from app.models import AuditLog, User
from app.models.user import MIN_PASSWORD_LENGTH
from app.web.auth import client_ip
from app.web.security import admin_required

bp = Blueprint("settings", __name__, url_prefix="/settings")

ASSIGNABLE_ROLES = [SelectChoice("member", "Member"), SelectChoice("admin", "Admin")]


class NewUserForm(FlaskForm):
    name = StringField("Name", validators=[Length(max=255)])
    email = EmailField("Email", validators=[DataRequired()])
    role = SelectField("Role", choices=ASSIGNABLE_ROLES, default="member")
    password = PasswordField("Initial password", validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH)])


class EditUserForm(FlaskForm):
    role = SelectField("Role", choices=ASSIGNABLE_ROLES)
    disabled = BooleanField("Disabled (cannot log in)")


class PasswordForm(FlaskForm):
    password = PasswordField("New password", validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH)])
    confirm = PasswordField("Repeat it", validators=[EqualTo("password", "The passwords differ.")])


class ChangeOwnPasswordForm(PasswordForm):
    current = PasswordField("Current password", validators=[DataRequired()])


def _audit(action, target, **detail):
    AuditLog.record(action, user=current_user, ip=client_ip(), target=target, **detail)


@bp.route("/account", methods=["GET", "POST"])
def account():
    form = ChangeOwnPasswordForm()
    if form.validate_on_submit():
        if not current_user.check_password(form.current.data):
            form.current.errors.append("That is not your current password.")
        else:
            current_user.set_password(form.password.data)
            _audit("user.password_changed", current_user._get_current_object())
            db.session.commit()
            flash("Your password is changed.", "success")
            return redirect(url_for("settings.account"))
    return render_template("settings/account.html", form=form)


@bp.route("/users", methods=["GET", "POST"])
@admin_required
def users():
    form = NewUserForm()
    if form.validate_on_submit():
        try:
            user = User.create(form.email.data, form.password.data, form.name.data, role=form.role.data)
        except ValueError as exc:
            form.email.errors.append(str(exc))
        else:
            _audit("user.created", user, role=user.role)
            db.session.commit()
            flash(f"Added {user.email}. Give them their initial password.", "success")
            return redirect(url_for("settings.users"))
    return render_template("settings/users.html", users=User.query.order_by(User.email).all(), form=form)


def _managed_user_or_403(user_id):
    user = db.session.get(User, user_id) or abort(404)
    if not current_user.can_manage(user):
        abort(403)
    return user


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@admin_required
def edit_user(user_id):
    user = _managed_user_or_403(user_id)
    form = EditUserForm(obj=user)
    password_form = PasswordForm(formdata=None)
    if form.validate_on_submit():
        if user.role == "owner" or user.id == current_user.id:
            flash("The owner's role and your own account cannot be changed here.", "error")
        else:
            user.role, user.disabled = form.role.data, form.disabled.data
            _audit("user.updated", user, role=user.role, disabled=user.disabled)
            db.session.commit()
            flash(f"Saved {user.email}.", "success")
        return redirect(url_for("settings.edit_user", user_id=user.id))
    return render_template("settings/user_edit.html", user=user, form=form, password_form=password_form)


@bp.route("/users/<int:user_id>/password", methods=["POST"])
@admin_required
def reset_password(user_id):
    user = _managed_user_or_403(user_id)
    password_form = PasswordForm()
    if password_form.validate_on_submit():
        user.set_password(password_form.password.data)
        _audit("user.password_reset", user)
        db.session.commit()
        flash(f"The password of {user.email} is reset.", "success")
        return redirect(url_for("settings.edit_user", user_id=user.id))
    form = EditUserForm(formdata=None, obj=user)
    return render_template(
        "settings/user_edit.html", user=user, form=form, password_form=password_form
    ), 422

"""Workflows in the browser: list, create, import/export, rename, tags, JSON editing, history."""
import io
import json

from flask import Blueprint, abort, current_app, flash, render_template, request, send_file, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from sqlalchemy.orm import selectinload
from wtforms import HiddenField, IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from app.engine.registry import registry
from app.engine.workflow import Problem, WorkflowInvalid, iter_connections
from app.extensions import db
from app.models import AuditLog, Execution, Tag, Workflow
from app.models.workflow_store import (
    MAX_NAME_LENGTH, VersionConflict, create_workflow, duplicate_workflow, rename_workflow,
    import_workflows, restore_version, save_content,
)
from app.web import htmx
from app.web.auth import client_ip

bp = Blueprint("workflows", __name__)

SORTS = {
    "updated": (Workflow.updated_at.desc(), Workflow.id),
    "name": (Workflow.name.asc(), Workflow.id),
    "created": (Workflow.created_at.desc(), Workflow.id),
}


class NameForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=MAX_NAME_LENGTH)])


class TagsForm(FlaskForm):
    tags = StringField("Tags", description="Comma-separated, e.g. sales, nightly")


class JsonForm(FlaskForm):
    content = TextAreaField("Workflow JSON", validators=[DataRequired()])
    version = IntegerField(widget=HiddenField.widget)


class ImportForm(FlaskForm):
    file = FileField("Workflow file (.json)")
    text = TextAreaField("…or paste workflow JSON")


class ConfirmForm(FlaskForm):
    """A POST with nothing but its CSRF token: delete, duplicate, restore."""


def pretty_json(value):
    return json.dumps(value, indent=2, ensure_ascii=False)


def flash_warnings(workflow, warnings):
    """One banner for a workflow's warnings, however many nodes they concern."""
    if warnings:
        flash(f'"{workflow.name}" has {len(warnings)} warning{"s" if len(warnings) != 1 else ""}: '
              + " ".join(str(w) for w in warnings), "warning")


def _visible(query):
    if current_user.is_admin:
        return query
    return query.filter(Workflow.owner_id == current_user.id)


def get_workflow_or_404(workflow_id):
    workflow = _visible(Workflow.query.filter_by(id=workflow_id)).first()
    if workflow is None:
        abort(404)
    return workflow


def _audit(action, workflow, **detail):
    AuditLog.record(action, user=current_user, ip=client_ip(), target=workflow, **detail)


def _like_pattern(text):
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@bp.route("/")
def home():
    return htmx.redirect(url_for("workflows.index"))


@bp.route("/workflows")
def index():
    q = request.args.get("q", "").strip()
    tag = request.args.get("tag", "").strip()
    sort = request.args.get("sort", "updated")
    if sort not in SORTS:
        sort = "updated"
    query = _visible(Workflow.query).options(selectinload(Workflow.owner))
    if q:
        query = query.filter(Workflow.name.ilike(_like_pattern(q), escape="\\"))
    if tag:
        query = query.filter(Workflow.tags.any(Tag.name == tag))
    pagination = query.order_by(*SORTS[sort]).paginate(
        page=request.args.get("page", 1, type=int),
        per_page=current_app.config["WORKFLOWS_PER_PAGE"], error_out=False,
    )
    tags = [name for (name,) in db.session.query(Tag.name).order_by(Tag.name)]
    return htmx.page(
        "workflows/index.html", "workflows/_table.html", pagination=pagination, q=q, tag=tag,
        sort=sort, tags=tags, new_form=NameForm(),
    )


@bp.route("/workflows/new", methods=["POST"])
def create():
    form = NameForm()
    if not form.validate_on_submit():
        flash("Give the new workflow a name.", "error")
        return htmx.redirect(url_for("workflows.index"))
    workflow, _ = create_workflow({"name": form.name.data, "nodes": [], "connections": {}}, current_user)
    _audit("workflow.created", workflow)
    db.session.commit()
    return htmx.redirect(url_for("workflows.show", workflow_id=workflow.id))


def _read_import(form):
    """The JSON the user uploaded or pasted; raises WorkflowInvalid with a readable message."""
    upload = form.file.data
    raw = upload.read() if upload and upload.filename else b""
    source = "The file"
    if not raw.strip():
        raw, source = (form.text.data or "").encode(), "The pasted text"
    if not raw.strip():
        raise WorkflowInvalid([Problem("Choose a file or paste workflow JSON.")])
    try:
        return json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise WorkflowInvalid([Problem(f"{source} is not UTF-8 text.")]) from None
    except json.JSONDecodeError as exc:
        raise WorkflowInvalid([Problem(
            f"{source} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
        )]) from None


@bp.route("/workflows/import", methods=["GET", "POST"])
def import_():
    form = ImportForm()
    problems, status = [], 200
    if form.validate_on_submit():
        try:
            created = import_workflows(_read_import(form), current_user)
        except WorkflowInvalid as exc:
            db.session.rollback()
            problems, status = exc.problems, 422
        else:
            for workflow, _ in created:
                _audit("workflow.imported", workflow)
            db.session.commit()
            for workflow, warnings in created:
                flash(f'Imported "{workflow.name}".', "success")
                flash_warnings(workflow, warnings)
            if len(created) == 1:
                return htmx.redirect(url_for("workflows.show", workflow_id=created[0][0].id))
            return htmx.redirect(url_for("workflows.index"))
    elif request.method == "POST":
        status = 400
    return render_template("workflows/import.html", form=form, problems=problems), status


def _node_rows(workflow):
    rows = []
    for entry in workflow.nodes or []:
        rows.append({
            "name": entry.get("name"),
            "type": entry.get("type"),
            "version": entry.get("typeVersion", 1),
            "known": registry.resolve(entry.get("type", "")) is not None,
            "disabled": bool(entry.get("disabled")),
            "notes": entry.get("notes") or "",
        })
    return rows


def _render_show(workflow, json_form=None, problems=(), status=200):
    if json_form is None:
        json_form = JsonForm(formdata=None, content=pretty_json(workflow.content()), version=workflow.version)
    return render_template(
        "workflows/show.html", workflow=workflow, nodes=_node_rows(workflow),
        connections=list(iter_connections(workflow.connections or {})), json_form=json_form,
        name_form=NameForm(formdata=None, name=workflow.name),
        tags_form=TagsForm(formdata=None, tags=", ".join(t.name for t in workflow.tags)),
        confirm_form=ConfirmForm(), problems=problems, live_execution=_unfinished_execution(workflow),
    ), status


def _unfinished_execution(workflow):
    """The newest execution of this workflow that has not finished: its page follows it live."""
    return (Execution.query.filter_by(workflow_id=workflow.id)
            .filter(Execution.status.in_(("new", "queued", "running")))
            .order_by(Execution.id.desc()).first())


@bp.route("/workflows/<workflow_id>")
def show(workflow_id):
    return _render_show(get_workflow_or_404(workflow_id))


@bp.route("/workflows/<workflow_id>/json", methods=["POST"])
def save_json(workflow_id):
    workflow = get_workflow_or_404(workflow_id)
    form = JsonForm()
    if not form.validate_on_submit():
        return _render_show(workflow, form, [Problem("The workflow JSON is empty.")], 400)
    try:
        data = json.loads(form.content.data)
    except json.JSONDecodeError as exc:
        problem = Problem(f"Not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}.")
        return _render_show(workflow, form, [problem], 422)
    try:
        warnings = save_content(workflow, data, current_user, expected_version=form.version.data)
    except (WorkflowInvalid, VersionConflict) as exc:
        db.session.rollback()
        problems = exc.problems if isinstance(exc, WorkflowInvalid) else [Problem(str(exc))]
        return _render_show(workflow, form, problems, 409 if isinstance(exc, VersionConflict) else 422)
    _audit("workflow.updated", workflow, version=workflow.version)
    db.session.commit()
    flash(f"Saved as version {workflow.version}.", "success")
    flash_warnings(workflow, warnings)
    return htmx.redirect(url_for("workflows.show", workflow_id=workflow.id))


@bp.route("/workflows/<workflow_id>/rename", methods=["POST"])
def rename(workflow_id):
    workflow = get_workflow_or_404(workflow_id)
    form = NameForm()
    if not form.validate_on_submit():
        problem = Problem(f"The name must be 1 to {MAX_NAME_LENGTH} characters.")
        return _render_show(workflow, problems=[problem], status=422)
    try:
        rename_workflow(workflow, form.name.data, current_user)
    except WorkflowInvalid as exc:
        db.session.rollback()
        return _render_show(workflow, problems=exc.problems, status=422)
    _audit("workflow.renamed", workflow, name=workflow.name)
    db.session.commit()
    flash(f'Renamed to "{workflow.name}".', "success")
    return htmx.redirect(url_for("workflows.show", workflow_id=workflow.id))


@bp.route("/workflows/<workflow_id>/tags", methods=["POST"])
def set_tags(workflow_id):
    workflow = get_workflow_or_404(workflow_id)
    form = TagsForm()
    if not form.validate_on_submit():
        abort(400)
    workflow.set_tags((form.tags.data or "").split(","))
    db.session.commit()
    flash("Tags saved.", "success")
    return htmx.redirect(url_for("workflows.show", workflow_id=workflow.id))


@bp.route("/workflows/<workflow_id>/duplicate", methods=["POST"])
def duplicate(workflow_id):
    workflow = get_workflow_or_404(workflow_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    copy = duplicate_workflow(workflow, current_user)
    _audit("workflow.created", copy, duplicate_of=workflow.id)
    db.session.commit()
    flash(f'Created "{copy.name}".', "success")
    return htmx.redirect(url_for("workflows.show", workflow_id=copy.id))


@bp.route("/workflows/<workflow_id>/delete", methods=["GET", "POST"])
def delete(workflow_id):
    workflow = get_workflow_or_404(workflow_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        name = workflow.name
        _audit("workflow.deleted", workflow, name=name)
        db.session.delete(workflow)
        db.session.commit()
        flash(f'Deleted "{name}".', "success")
        return htmx.redirect(url_for("workflows.index"))
    return render_template("workflows/delete.html", workflow=workflow, form=form)


@bp.route("/workflows/<workflow_id>/export")
def export(workflow_id):
    workflow = get_workflow_or_404(workflow_id)
    body = json.dumps(workflow.to_n8n(), indent=2, ensure_ascii=False).encode()
    filename = "".join(c if c.isalnum() or c in "-_" else "_" for c in workflow.name)[:80] or "workflow"
    # send_file writes an ASCII filename plus RFC 5987 filename* for names beyond Latin-1.
    return send_file(io.BytesIO(body), mimetype="application/json", as_attachment=True,
                     download_name=f"{filename}.json")


@bp.route("/workflows/<workflow_id>/history")
def history(workflow_id):
    workflow = get_workflow_or_404(workflow_id)
    page = workflow.history.paginate(page=request.args.get("page", 1, type=int), per_page=50, error_out=False)
    return render_template("workflows/history.html", workflow=workflow, pagination=page, form=ConfirmForm())


@bp.route("/workflows/<workflow_id>/history/<int:version>")
def version(workflow_id, version):
    workflow = get_workflow_or_404(workflow_id)
    entry = workflow.history.filter_by(version=version).first_or_404()
    return render_template(
        "workflows/version.html", workflow=workflow, entry=entry,
        content=pretty_json(entry.content()), form=ConfirmForm(),
    )


@bp.route("/workflows/<workflow_id>/history/<int:version>/restore", methods=["POST"])
def restore(workflow_id, version):
    workflow = get_workflow_or_404(workflow_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        restore_version(workflow, version, current_user)
    except LookupError:
        abort(404)
    _audit("workflow.restored", workflow, restored=version, version=workflow.version)
    db.session.commit()
    flash(f"Restored version {version} as version {workflow.version}.", "success")
    return htmx.redirect(url_for("workflows.show", workflow_id=workflow.id))

"""Executions in the browser: run a workflow by hand, list executions, inspect one's run data.

Run data is stored in n8n's shape (`runData: {node: [runs]}`); this module turns it into plain
rows for the templates, so the templates never dig through that JSON themselves.
"""
import json
from dataclasses import dataclass, field

from flask import Blueprint, abort, flash, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import exists, or_, select
from sqlalchemy.orm import defer, lazyload, load_only, selectinload

from app.engine.registry import registry
from app.engine.states import NEW, QUEUED, RUNNING, TERMINAL
from app.engine.workflow import Workflow as WorkflowGraph, WorkflowInvalid
from app.extensions import db
from app.models import EXECUTION_STATUSES, AuditLog, Execution, Workflow
from app.models.base import utcnow
from app.runtime.dispatch import get_dispatcher
from app.runtime.executions import create_execution, request_cancel, should_save_data
from app.runtime.retry import (
    CHOICES as RETRY_CHOICES, CURRENT, RETRYABLE, RetryRefused, create_retry, retry_content,
)
from app.web import htmx
from app.web.auth import client_ip
from app.web.workflows import ConfirmForm, get_workflow_or_404

bp = Blueprint("executions", __name__)

PER_PAGE = 25
# Tables and JSON views show this many items; more would make pages of megabytes.
MAX_SHOWN_ITEMS = 100
MAX_CELL_CHARS = 200
# While an execution is in one of these states its page keeps polling for the result.
LIVE_STATUSES = frozenset({NEW, QUEUED, RUNNING})


# -- running a workflow ----------------------------------------------------------------------------

def _why_not_runnable(content):
    """Why the workflow cannot run, worded for a flash message; None when it can."""
    try:
        graph = WorkflowGraph.parse(content, registry)
    except WorkflowInvalid as exc:
        return f"The workflow is invalid and cannot run: {exc}"
    if not graph.nodes:
        return "The workflow has no nodes to run yet."
    if graph.unknown_nodes:
        names = ", ".join(f'"{node.name}" ({node.type})' for node in graph.unknown_nodes)
        return f"The workflow cannot run: it has nodes of unknown types: {names}."
    return None


@bp.route("/workflows/<workflow_id>/execute", methods=["POST"])
def execute(workflow_id):
    workflow = get_workflow_or_404(workflow_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    content = workflow.content()
    reason = _why_not_runnable(content)
    if reason:
        flash(reason, "error")
        return htmx.redirect(url_for("workflows.show", workflow_id=workflow.id))
    dispatcher = get_dispatcher()
    execution = create_execution(content, mode="manual", workflow=workflow, status=dispatcher.initial_status)
    db.session.commit()
    dispatcher.dispatch(execution.id, manual=True)
    return htmx.redirect(url_for("executions.show", execution_id=execution.id))


# -- who sees what ---------------------------------------------------------------------------------

def _visible(query):
    """Members see the executions of their own workflows; owner and admins see all."""
    if current_user.is_admin:
        return query
    return query.join(Workflow, Execution.workflow_id == Workflow.id).filter(
        Workflow.owner_id == current_user.id
    )


def get_execution_or_404(execution_id):
    execution = _visible(Execution.query.filter(Execution.id == execution_id)).first()
    if execution is None:
        abort(404)
    return execution


def _workflow_choices(selected):
    """(id, name) of the visible workflows that have executions, plus the selected one."""
    has_executions = exists().where(Execution.workflow_id == Workflow.id)
    query = db.session.query(Workflow.id, Workflow.name).filter(or_(has_executions, Workflow.id == selected))
    if not current_user.is_admin:
        query = query.filter(Workflow.owner_id == current_user.id)
    return query.order_by(Workflow.name, Workflow.id).all()


# -- the list --------------------------------------------------------------------------------------

@bp.route("/executions")
def index():
    workflow_id = request.args.get("workflow", "").strip()
    status = request.args.get("status", "").strip()
    if status not in EXECUTION_STATUSES:
        status = ""
    # The snapshot can be large and the list only needs the workflow's current name.
    query = _visible(Execution.query).options(
        defer(Execution.workflow_snapshot),
        selectinload(Execution.workflow).options(load_only(Workflow.id, Workflow.name), lazyload(Workflow.tags)),
    )
    if workflow_id:
        query = query.filter(Execution.workflow_id == workflow_id)
    if status:
        query = query.filter(Execution.status == status)
    pagination = query.order_by(Execution.id.desc()).paginate(
        page=request.args.get("page", 1, type=int), per_page=PER_PAGE, error_out=False,
    )
    return htmx.page(
        "executions/index.html", "executions/_table.html", pagination=pagination,
        # htmx.page takes `status` for the HTTP status, hence the longer names.
        selected_workflow=workflow_id, selected_status=status, statuses=EXECUTION_STATUSES,
        workflows=_workflow_choices(workflow_id), live_statuses=LIVE_STATUSES, form=ConfirmForm(),
    )


# -- one execution ---------------------------------------------------------------------------------

@dataclass
class Cell:
    text: str
    kind: str  # "text" for strings, "value" for JSON literals and structures, "missing"


@dataclass
class ItemsView:
    """A list of items as a table (columns = top-level json keys) and as pretty JSON."""
    label: str
    total: int
    columns: list
    rows: list
    json: str


@dataclass
class RunView:
    index: int
    status: str
    execution_time: int
    inputs: list
    outputs: list
    error: dict | None
    console: list = field(default_factory=list)


@dataclass
class NodeView:
    name: str
    type_label: str
    runs: list


def _cell(json_data, key):
    if key not in json_data:
        return Cell("", "missing")
    value = json_data[key]
    if isinstance(value, str):
        text, kind = value, "text"
    else:
        text, kind = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str), "value"
    if len(text) > MAX_CELL_CHARS:
        text = text[:MAX_CELL_CHARS - 1] + "…"
    return Cell(text, kind)


def _items_view(label, items):
    items = items or []
    shown = [item.get("json") if isinstance(item, dict) and isinstance(item.get("json"), dict) else {}
             for item in items[:MAX_SHOWN_ITEMS]]
    columns = list(dict.fromkeys(key for data in shown for key in data))
    rows = [[_cell(data, key) for key in columns] for data in shown]
    pretty = json.dumps(shown, indent=2, ensure_ascii=False, default=str)
    return ItemsView(label, len(items), columns, rows, pretty)


def _source_items(run_data, source):
    """The items `source` ({previousNode, previousNodeOutput, previousNodeRun}) points at."""
    runs = run_data.get(source.get("previousNode")) or []
    run_index = source.get("previousNodeRun") or 0
    if run_index >= len(runs):
        return []
    outputs = ((runs[run_index] or {}).get("data") or {}).get("main") or []
    output = source.get("previousNodeOutput") or 0
    return outputs[output] if output < len(outputs) else []


def _input_views(run_data, sources):
    views = []
    for index, source in enumerate(sources):
        label = f"Input {index + 1}" if len(sources) > 1 else "Input"
        if source:
            label += f" from {source.get('previousNode')}"
            views.append(_items_view(label, _source_items(run_data, source)))
    return views


def _output_labels(node, count):
    """Output names as the node type words them (If: true/false), the error output last."""
    node_type = registry.resolve(node.get("type") or "")
    names = getattr(node_type, "output_names", None)
    names = list(names) if isinstance(names, (list, tuple)) else []
    labels = [f"Output {names[i]}" if i < len(names) else f"Output {i + 1}" for i in range(count)]
    if count == 1 and not names:
        labels = ["Output"]
    if node.get("onError") == "continueErrorOutput" and count > 1:
        labels[-1] = "Error output"
    return labels


def _run_view(run_data, node, index, run):
    outputs = (run.get("data") or {}).get("main") or []
    labels = _output_labels(node, len(outputs))
    return RunView(
        index=index, status=run.get("executionStatus") or "success",
        execution_time=run.get("executionTime") or 0,
        inputs=_input_views(run_data, run.get("source") or []),
        outputs=[_items_view(label, items) for label, items in zip(labels, outputs)],
        error=run.get("error"), console=run.get("console") or [],
    )


def _type_label(node):
    node_type = registry.resolve(node.get("type") or "")
    return node_type.display_name if node_type and node_type.display_name else node.get("type") or ""


def _node_views(run_data, snapshot):
    """Every node that ran, in the order it first ran."""
    nodes = {node.get("name"): node for node in snapshot.get("nodes") or [] if isinstance(node, dict)}

    def first_start(entry):
        runs = entry[1] or [{}]
        return runs[0].get("startTime") or 0

    views = []
    for name, runs in sorted(run_data.items(), key=first_start):
        node = nodes.get(name, {})
        views.append(NodeView(name, _type_label(node), [
            _run_view(run_data, node, index, run) for index, run in enumerate(runs or [])
        ]))
    return views


def _error_summary(execution, data):
    error = (data or {}).get("error") or {}
    message = execution.error_message or error.get("message")
    if not message:
        return None
    node = error.get("node") or (execution.last_node if execution.status == "error" else None)
    return {"message": message, "description": error.get("description"), "node": node}


def _data_note(execution):
    """Why a finished execution has no run data to show, or None."""
    if execution.status not in TERMINAL or execution.data is not None:
        return None
    settings = (execution.workflow_snapshot or {}).get("settings")
    if not should_save_data(settings, execution.mode, execution.status):
        return ("Run data was not saved for this execution: the workflow's settings say not to keep it "
                "for this kind of execution. Only its status, timing and error are stored.")
    return "No run data is stored for this execution."


def _detail_context(execution):
    data = execution.data.value if execution.data is not None else None
    snapshot = execution.workflow_snapshot or {}
    return {
        "execution": execution, "snapshot_name": snapshot.get("name") or "Untitled workflow",
        "live": execution.status in LIVE_STATUSES, "error": _error_summary(execution, data),
        "data_note": _data_note(execution),
        "nodes": _node_views((data or {}).get("runData") or {}, snapshot),
        "max_items": MAX_SHOWN_ITEMS, "form": ConfirmForm(),
        "retryable": execution.status in RETRYABLE, "retries": _retry_ids(execution),
    }


def _retry_ids(execution):
    return db.session.scalars(
        select(Execution.id).where(Execution.retry_of == execution.id).order_by(Execution.id)
    ).all()


@bp.route("/executions/<int:execution_id>")
def show(execution_id):
    execution = get_execution_or_404(execution_id)
    return htmx.page("executions/show.html", "executions/_execution.html", **_detail_context(execution))


@bp.route("/executions/<int:execution_id>/stop", methods=["POST"])
def stop(execution_id):
    execution = get_execution_or_404(execution_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if execution.status in TERMINAL:
        flash(f"Execution #{execution.id} has already finished ({execution.status}).", "info")
    elif request_cancel(execution.id) == "canceled":
        flash(f"Execution #{execution.id} was canceled before it started.", "success")
    else:
        flash(f"Stopping execution #{execution.id}: it stops before its next node starts.", "success")
    return htmx.redirect(url_for("executions.show", execution_id=execution.id))


@bp.route("/executions/<int:execution_id>/retry", methods=["POST"])
def retry(execution_id):
    """Run a failed execution's workflow again, as it was (`original`) or as it is (`current`)."""
    execution = get_execution_or_404(execution_id)
    choice = request.form.get("workflow")
    if not ConfirmForm().validate_on_submit() or choice not in RETRY_CHOICES:
        abort(400)
    here = url_for("executions.show", execution_id=execution.id)
    try:
        content = retry_content(execution, use_current=choice == CURRENT)
    except RetryRefused as exc:
        flash(str(exc), "error")
        return htmx.redirect(here)
    reason = _why_not_runnable(content)
    if reason:
        flash(reason, "error")
        return htmx.redirect(here)
    dispatcher = get_dispatcher()
    new = create_retry(execution, status=dispatcher.initial_status, content=content)
    db.session.commit()
    dispatcher.dispatch(new.id, manual=True)
    return htmx.redirect(url_for("executions.show", execution_id=new.id))


def _list_url(target):
    """Where to go after a delete: a page of the executions list, never another site."""
    home = url_for("executions.index")
    return target if target and target.startswith(home) else home


@bp.route("/executions/<int:execution_id>/delete", methods=["GET", "POST"])
def delete(execution_id):
    execution = get_execution_or_404(execution_id)
    back = _list_url(request.values.get("next"))
    if execution.status not in TERMINAL:
        flash(f"Execution #{execution.id} has not finished; stop it before deleting it.", "error")
        return htmx.redirect(url_for("executions.show", execution_id=execution.id))
    form = ConfirmForm()
    if form.validate_on_submit():
        AuditLog.record("execution.deleted", user=current_user, ip=client_ip(), target=execution,
                        workflow_id=execution.workflow_id)
        db.session.delete(execution)
        db.session.commit()
        flash(f"Deleted execution #{execution_id}.", "success")
        return htmx.redirect(back)
    return render_template("executions/delete.html", execution=execution, form=form, next=back)


# -- formatting ------------------------------------------------------------------------------------

@bp.app_template_filter("elapsed_ms")
def elapsed_ms(execution):
    """How long an execution ran, or has been running so far; None when that is unknown."""
    if execution.started_at is None:
        return None
    if execution.stopped_at is None and execution.status in TERMINAL:
        return None  # ended without a recorded end (e.g. marked crashed by hand)
    end = execution.stopped_at or utcnow()
    return max(0, int((end - execution.started_at).total_seconds() * 1000))


@bp.app_template_filter("duration")
def duration(ms):
    if ms is None:
        return "—"
    if ms < 1000:
        return f"{ms} ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, seconds = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"

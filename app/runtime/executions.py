"""Stored executions: create the row, run it through the engine, store the result.

The execution row (with a snapshot of the workflow as it was) is written before anything runs, so
the database always knows about an execution; its run data goes to `execution_data`, compressed,
as far as the workflow's settings say to keep it.
"""
import logging
import threading

from flask import current_app
from sqlalchemy import update
from sqlalchemy.exc import SQLAlchemyError

from app.engine.context import CancelToken
from app.engine.errors import ExecutionError
from app.engine.execute import run_workflow
from app.engine.runner import ExecutionResult
from app.engine.states import CANCELED, NEW, QUEUED, RUNNING, WAITING, transition
from app.engine.workflow import WorkflowInvalid
from app.extensions import db
from app.models import Execution, ExecutionData, Workflow
from app.models.base import utcnow
from app.runtime.events import EventHooks, get_event_bus
from app.runtime.heartbeat import STOP_REASON, Heartbeat

log = logging.getLogger(__name__)

# Cancel tokens of executions running in this process, by execution id.
_running = {}
_running_lock = threading.Lock()


def create_execution(content, mode, workflow=None, status="new", retry_of=None):
    """A new execution row for `content` (the versioned workflow JSON); not committed."""
    snapshot = dict(content)
    if workflow is not None:
        snapshot.setdefault("id", workflow.id)
    execution = Execution(
        workflow_id=workflow.id if workflow is not None else None, mode=mode, status=status,
        workflow_snapshot=snapshot, retry_of=retry_of,
    )
    db.session.add(execution)
    return execution


def should_save_data(settings, mode, status):
    """n8n's workflow settings for what to keep (defaults: keep everything)."""
    settings = settings or {}
    if mode == "manual" and settings.get("saveManualExecutions") is False:
        return False
    key = "saveDataSuccessExecution" if status == "success" else "saveDataErrorExecution"
    return settings.get(key, "all") != "none"


def record_result(execution, result):
    """Store the engine's result on the execution (status, timing, error, run data)."""
    if execution.status != RUNNING:
        transition(execution, RUNNING)
    transition(execution, result.status)
    execution.stopped_at = utcnow()
    execution.last_node = result.last_node_executed
    execution.error_message = (result.error or {}).get("message")
    settings = (execution.workflow_snapshot or {}).get("settings")
    if should_save_data(settings, execution.mode, result.status):
        execution.data = ExecutionData(value=result.to_json())
    else:
        execution.data = None


def claim_execution(execution_id):
    """Move a `new` or `queued` execution to `running`; True only for the one caller that did.

    A conditional UPDATE rather than read-then-write: two workers handed the same job (RQ
    redelivers after a lost connection; DESIGN.md's reconciler re-enqueues) both try, the database
    lets exactly one row change happen, and the loser does nothing.
    """
    claimed = db.session.execute(
        update(Execution)
        .where(Execution.id == execution_id, Execution.status.in_((NEW, QUEUED)))
        .values(status=RUNNING, started_at=utcnow(), heartbeat_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return claimed.rowcount == 1


def run_execution(execution_id, start_node=None, destination_node=None, run_data=None):
    """Run a stored execution to its end in this thread; returns the ExecutionResult.

    Returns None without running anything when another caller has already claimed it.
    """
    if not claim_execution(execution_id):
        log.info("execution %s was already claimed; not running it again", execution_id)
        return None
    execution = db.session.get(Execution, execution_id)
    token = CancelToken()
    with _running_lock:
        _running[execution_id] = token
    heartbeat = Heartbeat(current_app._get_current_object(), execution_id, token,
                          current_app.config["EXECUTIONS_HEARTBEAT_S"])
    try:
        with heartbeat:
            result = _run_snapshot(execution, token, start_node, destination_node, run_data)
        record_result(execution, result)
        db.session.commit()
        return result
    finally:
        with _running_lock:
            _running.pop(execution_id, None)


def _run_snapshot(execution, token, start_node, destination_node, run_data):
    snapshot = execution.workflow_snapshot or {}
    meta = {"id": execution.workflow_id, "name": snapshot.get("name"), "active": False}
    if execution.workflow_id:
        workflow = db.session.get(Workflow, execution.workflow_id)
        meta["active"] = bool(workflow and workflow.active)
    try:
        return run_workflow(
            snapshot, mode=execution.mode, start_node=start_node, destination_node=destination_node,
            run_data=run_data, cancel_token=token, execution_id=str(execution.id), workflow_meta=meta,
            workflow_loader=load_workflow_json, hooks=EventHooks(get_event_bus(), execution.id),
        )
    except (WorkflowInvalid, ExecutionError) as exc:
        return ExecutionResult("error", {}, None, {"message": str(exc)})


def load_workflow_json(workflow_id):
    """A stored workflow's JSON for Execute Workflow nodes; None when missing or unreachable."""
    try:
        workflow = db.session.get(Workflow, str(workflow_id))
    except SQLAlchemyError:
        db.session.rollback()
        return None
    if workflow is None:
        return None
    return {**workflow.content(), "id": workflow.id}


def cancel_execution(execution_id):
    """Cancel an execution running in this process; True if it was found."""
    with _running_lock:
        token = _running.get(execution_id)
    if token is None:
        return False
    token.cancel(STOP_REASON)
    return True


def request_cancel(execution_id):
    """Stop an execution wherever it runs; returns its status afterwards, None when there is none.

    One that has not started is canceled right here, by a conditional update so that a worker
    claiming it at the same moment either wins (and sees the request) or finds nothing to claim.
    A running one gets `cancel_requested_at`, which its heartbeat reads within a second; the
    status stays `running` until the run itself stops and records `canceled`.
    """
    not_started = db.session.execute(
        update(Execution)
        .where(Execution.id == execution_id, Execution.status.in_((NEW, QUEUED, WAITING)))
        .values(status=CANCELED, stopped_at=utcnow(), cancel_requested_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if not_started.rowcount == 0:
        db.session.execute(
            update(Execution)
            .where(Execution.id == execution_id, Execution.status == RUNNING,
                   Execution.cancel_requested_at.is_(None))
            .values(cancel_requested_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    db.session.commit()
    # Here too, so a run in this process stops without waiting for its heartbeat.
    cancel_execution(execution_id)
    execution = db.session.get(Execution, execution_id)
    if execution is None:
        return None
    db.session.refresh(execution)
    return execution.status


def run_in_app(app, execution_id, **options):
    """Run one execution in its own app context (for threads and jobs); crashes are recorded."""
    with app.app_context():
        try:
            return run_execution(execution_id, **options)
        except Exception:
            log.exception("execution %s failed outside the engine", execution_id)
            db.session.rollback()
            _mark_crashed(execution_id)
        finally:
            db.session.remove()


def run_in_background(app, execution_id, **options):
    """Run in a daemon thread of its own, outside any concurrency limit."""
    thread = threading.Thread(target=run_in_app, args=(app, execution_id), kwargs=options,
                              name=f"execution-{execution_id}", daemon=True)
    thread.start()
    return thread


def _mark_crashed(execution_id):
    execution = db.session.get(Execution, execution_id)
    if execution is not None and execution.status == RUNNING:
        transition(execution, "crashed")
        execution.stopped_at = utcnow()
        db.session.commit()

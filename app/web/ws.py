"""Websockets: an execution's live events.

`/executions/<id>/events` streams JSON text messages: the execution's events from the event bus
(see app/runtime/events.py), first those published so far, then live ones; once the execution has
finished and its result is stored, one last message

    {"type": "executionResult", "status", "error", "lastNode", "durationMs",
     "nodes": {name: [{"status", "itemCounts", "durationMs", "error"?}, …]}}

and the server closes the connection. For an execution that had already finished when the client
connected, that last message is the only one. Who may watch: the same people who may open the
execution's page.
"""
import json
import logging
import threading
import time
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, request

from app.engine.states import TERMINAL
from app.extensions import db, sock
from app.models import Execution
from app.runtime.events import EXECUTION_FINISHED, Subscription, get_event_bus, node_finished_fields
from app.web.executions import elapsed_ms, get_execution_or_404

log = logging.getLogger(__name__)

bp = Blueprint("ws", __name__)

# A quiet stream looks at the database this often: a worker that died, or a run that failed before
# its first node, never publishes executionFinished.
IDLE_CHECK_S = 5
# executionFinished is published just before the result is committed; wait this long for it.
RESULT_WAIT_S = 10
POLL_S = 0.1


@bp.before_request
def check_access():
    """Refuse before the handshake: afterwards an HTTP status can no longer be sent."""
    if not _same_origin():
        abort(403)
    get_execution_or_404(request.view_args["execution_id"])
    # A stream may last long; it must not hold a database transaction open meanwhile.
    db.session.rollback()


def _same_origin():
    """Browsers send cookies with cross-site websocket handshakes too; only our pages may connect."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # not a browser
    allowed = {request.host, urlsplit(current_app.config.get("PUBLIC_URL") or "").netloc}
    return urlsplit(origin).netloc in allowed


@sock.route("/executions/<int:execution_id>/events", bp=bp)
def execution_events(ws, execution_id):
    if _stored_status(execution_id) not in TERMINAL:
        with _subscribe(execution_id) as events:
            for event in _until_finished(ws, events, execution_id):
                ws.send(json.dumps(event))
        if not _wait_until_stored(execution_id):
            return
    ws.send(json.dumps(_result_message(execution_id)))


class _Silent(Subscription):
    def get(self, timeout=None):
        threading.Event().wait(timeout)
        return None


def _subscribe(execution_id):
    """The bus's subscription; with the bus unreachable (Redis down), a silent one, so that the
    stream still ends with the stored result."""
    try:
        return get_event_bus().subscribe(execution_id)
    except Exception:
        log.warning("no live events for execution %s: the event bus is unreachable", execution_id, exc_info=True)
        return _Silent()


def _until_finished(ws, events, execution_id):
    """The subscription's events up to executionFinished; stops early when the client left or the
    database says the execution is over."""
    quiet_since = time.monotonic()
    while ws.connected:
        event = events.get(timeout=1)
        if event is not None:
            yield event
            if event["type"] == EXECUTION_FINISHED:
                return
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= IDLE_CHECK_S:
            if _stored_status(execution_id) in TERMINAL:
                return
            quiet_since = time.monotonic()


def _stored_status(execution_id):
    status = db.session.query(Execution.status).filter(Execution.id == execution_id).scalar()
    db.session.rollback()
    return status


def _wait_until_stored(execution_id):
    deadline = time.monotonic() + RESULT_WAIT_S
    while _stored_status(execution_id) not in TERMINAL:
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_S)
    return True


def _result_message(execution_id):
    execution = db.session.get(Execution, execution_id)
    data = (execution.data.value if execution.data is not None else None) or {}
    nodes = {
        name: [node_finished_fields(run.get("executionStatus") or "success",
                                    (run.get("data") or {}).get("main"),
                                    run.get("executionTime") or 0, run.get("error"))
               for run in runs or []]
        for name, runs in (data.get("runData") or {}).items()
    }
    message = {
        "type": "executionResult", "status": execution.status, "error": execution.error_message,
        "lastNode": execution.last_node, "durationMs": elapsed_ms(execution), "nodes": nodes,
    }
    db.session.rollback()
    return message

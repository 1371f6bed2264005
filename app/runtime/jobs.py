"""RQ job functions. They take ids only, so a job enqueued by an older deploy still runs."""
import threading

from flask import current_app, has_app_context

from app.runtime.executions import run_in_app

_app = None
_app_lock = threading.Lock()


def _get_app():
    """worker.py's app when it pushed one (forked jobs inherit it, so no app per fork); otherwise
    one app per process, made on the first job rather than at import."""
    global _app
    if has_app_context():
        return current_app._get_current_object()
    with _app_lock:
        if _app is None:
            from app import create_app

            _app = create_app()
        return _app


def run_execution_job(execution_id):
    """Run a stored execution; returns its final status, or None when another delivery had it."""
    result = run_in_app(_get_app(), execution_id)
    return result.status if result is not None else None

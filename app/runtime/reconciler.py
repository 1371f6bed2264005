"""The reconciler: the database is the record of what should happen, Redis and worker processes
only carry it out, so this periodically repairs what they lost (DESIGN.md).

- A `running` execution whose heartbeat is older than EXECUTIONS_CRASH_AFTER_S lost its process
  (kill -9, OOM, a host gone): it becomes `crashed`. With EXECUTIONS_REQUEUE_CRASHED it runs once
  more as a new execution (mode `retry`, `retry_of` the crashed one); a re-run of a crashed
  execution that crashes too is not run again, so a workflow that kills workers cannot loop.
- In queue mode, a `queued` execution older than EXECUTIONS_CRASH_AFTER_S whose job Redis no
  longer holds (Redis restarted without its data, the job was deleted) is enqueued again. A job
  that was only slow is left alone; one delivered twice runs once anyway, since running starts
  with a conditional claim.

It runs from a daemon thread in an inline-mode web process, from a periodic rq-scheduler job in
queue mode (`schedule_reconciler`), and as `flask executions reconcile`.
"""
import logging
from dataclasses import dataclass, field
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select, update

from app.engine.states import CRASHED, QUEUED, RUNNING
from app.extensions import db
from app.models import Execution
from app.models.base import utcnow
from app.runtime.dispatch import QueueDispatcher, get_dispatcher
from app.runtime.pruning import Periodic, schedule_periodic_job, start_lazily
from app.runtime.retry import create_retry

log = logging.getLogger(__name__)


@dataclass
class ReconcileResult:
    crashed: list = field(default_factory=list)
    rerun: list = field(default_factory=list)
    requeued: list = field(default_factory=list)


def reconcile(dispatcher=None):
    """One pass; returns the ids it crashed, the re-runs it started and the ids it re-enqueued."""
    dispatcher = dispatcher or get_dispatcher()
    config = current_app.config
    cutoff = utcnow() - timedelta(seconds=config["EXECUTIONS_CRASH_AFTER_S"])
    result = ReconcileResult()
    for execution_id in _silent_since(cutoff):
        if not _mark_crashed(execution_id, cutoff):
            continue
        result.crashed.append(execution_id)
        if config["EXECUTIONS_REQUEUE_CRASHED"]:
            rerun = _rerun(execution_id, dispatcher)
            if rerun is not None:
                result.rerun.append(rerun)
    if isinstance(dispatcher, QueueDispatcher):
        result.requeued = _requeue_lost(dispatcher, cutoff)
    return result


def _last_sign_of_life():
    return func.coalesce(Execution.heartbeat_at, Execution.started_at, Execution.created_at)


def _silent_since(cutoff):
    return db.session.scalars(
        select(Execution.id).where(Execution.status == RUNNING, _last_sign_of_life() < cutoff)
        .order_by(Execution.id)
    ).all()


def _mark_crashed(execution_id, cutoff):
    """True for the one reconciler that changed the row; a late heartbeat keeps it running."""
    changed = db.session.execute(
        update(Execution)
        .where(Execution.id == execution_id, Execution.status == RUNNING, _last_sign_of_life() < cutoff)
        .values(status=CRASHED, stopped_at=utcnow(),
                error_message="The process running this execution stopped responding")
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if changed.rowcount == 1:
        log.warning("execution %s had no heartbeat since before %s; marked crashed", execution_id, cutoff)
    return changed.rowcount == 1


def _rerun(execution_id, dispatcher):
    crashed = db.session.get(Execution, execution_id)
    db.session.refresh(crashed)
    if _is_rerun_of_crash(crashed):
        return None
    rerun = create_retry(crashed, status=dispatcher.initial_status)
    db.session.commit()
    dispatcher.dispatch(rerun.id)
    log.info("execution %s crashed; running it again as %s", execution_id, rerun.id)
    return rerun.id


def _is_rerun_of_crash(execution):
    if execution.retry_of is None:
        return False
    original = db.session.get(Execution, execution.retry_of)
    return original is not None and original.status == CRASHED


def _requeue_lost(dispatcher, cutoff):
    candidates = db.session.scalars(
        select(Execution.id).where(Execution.status == QUEUED, Execution.created_at < cutoff)
        .order_by(Execution.id)
    ).all()
    requeued = [execution_id for execution_id in candidates if not dispatcher.has_job(execution_id)]
    for execution_id in requeued:
        dispatcher.dispatch(execution_id)
        log.warning("execution %s was queued but Redis had no job for it; enqueued it again", execution_id)
    return requeued


def reconcile_and_log(dispatcher=None):
    """One scheduled run; failures are logged, never raised into the scheduler or thread."""
    try:
        return reconcile(dispatcher)
    except Exception:
        log.exception("reconciling executions failed")
        db.session.rollback()
        return None


# -- inline mode: a daemon thread in the web process ------------------------------------------------

_RECONCILER = "flowforge_reconciler"


def init_app(app):
    """Start the reconciler on the first request of an inline-mode app (interval 0: never)."""
    interval = app.config["EXECUTIONS_RECONCILE_INTERVAL_S"]
    if app.config["EXECUTIONS_MODE"] != "inline" or not interval:
        return
    start_lazily(app, _RECONCILER, lambda: Periodic(app, interval, reconcile_and_log, "execution-reconciler"))


# -- queue mode: a periodic rq-scheduler job --------------------------------------------------------

RECONCILE_JOB = "app.runtime.reconciler.reconcile_job"
_JOB_PREFIX = "flowforge-periodic-reconcile-"


def reconcile_job():
    """The RQ job. Lost jobs go back to Redis whatever EXECUTIONS_MODE the worker was started with."""
    result = reconcile_and_log(QueueDispatcher(current_app.config["REDIS_URL"]))
    return None if result is None else vars(result)


def schedule_reconciler(scheduler, app=None):
    """Register the reconciler with an rq_scheduler.Scheduler; returns its job id (None when off)."""
    interval = (app or current_app).config["EXECUTIONS_RECONCILE_INTERVAL_S"]
    return schedule_periodic_job(scheduler, RECONCILE_JOB, interval or None, _JOB_PREFIX)
